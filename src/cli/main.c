/* medreg: the command-line client for physicians, administrators, auditors
 * and researchers. */
#include <curl/curl.h>
#include <getopt.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/secret.h"
#include "cli.h"
#include "tty_guard.h"

static const char HELP[] =
    "usage: medreg [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "medreg talks to the identity service and the registry over mutual TLS.\n"
    "\n"
    "global options (before COMMAND; each has an environment variable):\n"
    "  --identity URL     identity service, e.g. https://127.0.0.1:7443   MEDREG_IDENTITY\n"
    "  --registry URL     registry, e.g. https://127.0.0.1:7444           MEDREG_REGISTRY\n"
    "  --ledger URL       ledger, e.g. https://127.0.0.1:7445             MEDREG_LEDGER\n"
    "  --as PATH/NAME     use PATH/NAME.crt, PATH/NAME.key, PATH/ca.crt   MEDREG_AS\n"
    "  --cert FILE        client certificate (PEM)                        MEDREG_CERT\n"
    "  --key FILE         client private key (PEM, mode 0600)             MEDREG_KEY\n"
    "  --cacert FILE      CA that signed the servers' certificates        MEDREG_CACERT\n"
    "  --json             print the servers' JSON replies unchanged\n"
    "  -h, --help         this text; 'medreg COMMAND --help' for a command\n"
    "\n"
    "commands:\n"
    "  pki init DIR                 make a development CA, service certificates and keys\n"
    "  pki issue DIR NAME [--service]  issue a certificate for a person (or a service)\n"
    "  pki fingerprint CERT         print a certificate's SHA-256 fingerprint\n"
    "  key new FILE                 write a new random module key (mode 0600)\n"
    "  key new-sign PREFIX [--token URI]   Ed25519 key pair PREFIX.key/.pub (identity service),\n"
    "                               or made on a PKCS#11 token (only PREFIX.pub written)\n"
    "  key new-seal PREFIX [--token URI]   X25519 key pair (registry seal key, identity box key)\n"
    "  health --on SERVICE          check that a service is up (no certificate needed)\n"
    "  whoami --on SERVICE          who the service thinks you are, and your roles\n"
    "  user add --on SERVICE --cert-file CERT --role ROLE [--module M] [--name NAME]\n"
    "  user remove --on SERVICE (--cert-file CERT | --fingerprint HEX) [--role ROLE [--module M]]\n"
    "                               take roles away (all, without --role), at once and\n"
    "                               on every route; the last administrator stays\n"
    "  user list --on SERVICE       registered users, removed roles marked (administrators)\n"
    "  audit --on SERVICE [--after N] [--limit N]   the events table: the whole audit trail, or\n"
    "                               with a ledger, the events not in it yet (administrators)\n"
    "  metrics --on SERVICE         Prometheus metrics (administrators, monitors)\n"
    "  modules --on SERVICE         the modules a service hosts, with their schema\n"
    "  patient register --module M --id NAME=VALUE... [--token-out FILE]\n"
    "                               register a patient (physicians): prints the internal\n"
    "                               ID; the PSN token goes to FILE or stdout\n"
    "  patient register-batch --module M --file PATIENTS.json   up to 1000 at once,\n"
    "                               all or none (one line each: internal ID, token)\n"
    "  patient search --module M --field NAME --value VALUE   (module administrators)\n"
    "  patient show ID              identifying data of a patient (module administrators)\n"
    "  patient correct ID --id NAME=VALUE... [--relink] [--reason TEXT]\n"
    "  record add --module M --internal-id ID [--token T | --token-file F] --data JSON\n"
    "                               file a record (JSON may be @FILE or - for stdin)\n"
    "  record correct RECORD_ID --data JSON   file a new version of a record\n"
    "  record list --module M [--internal-id ID]   your records (latest versions)\n"
    "  record show RECORD_ID        every version of one of your records\n"
    "  study create --module M --name STUDY   (registry administrators)\n"
    "  export --module M --study STUDY [--spreadsheet] [-o FILE]   study extract as CSV (researchers)\n"
    "  stats                        counts per module (registry administrators)\n"
    "  card init --label L --name CN --pki DIR [--key-type T]   make a SoftHSM2 card\n"
    "  card show --card CARD        what a card holds (PKCS#11 URI or key file)\n"
    "  card register --physician-cert CERT --card-cert CARD.crt   (registry admins)\n"
    "  card remove --card-cert CARD.crt | --fingerprint HEX   a lost physician's card (registry admins)\n"
    "  consent enroll|replace --module M --internal-id ID --patient-card C --physician-card C\n"
    "                               enroll the patient's card (replace: the old one is lost)\n"
    "  consent request --module M --internal-id ID --patient-card C --physician-card C\n"
    "                  [--exclude CATEGORY,...] [--days N]   the patient consents, in person\n"
    "  consent revoke --module M --internal-id ID ... [--grantee FPR|all | --grant G]\n"
    "  consent expire --module M --internal-id ID ... --grant G --days N   a grant's new end\n"
    "  audit mine --module M --internal-id ID CARDS --vkey KEY [--scan]   the patient's own\n"
    "                               history from the ledger, each event proven (card present)\n"
    "  grants --module M [--fhir]   grants (yours; all for administrators; --fhir: FHIR R4 Consent\n"
    "                               and Provenance with the physician's card signature)\n"
    "  alarms                       consent alarms (registry administrators, monitors)\n"
    "  pseudonymize csv --config T.ini --key K --in IN.csv --out OUT.csv   offline: a PSN column,\n"
    "                               Safe Harbor identifiers removed or generalised (docs/deid.md)\n"
    "  pseudonymize csv ... --oprf-key PIN [--prepare REQ --state ST | --finish RESP --state ST]\n"
    "                               network-wide PSNs from the identity service's VOPRF\n"
    "  oprf key --module M --out PIN        pin a module's VOPRF public key (pseudonymizers)\n"
    "  oprf evaluate --in REQ --out RESP    evaluate a --prepare'd request for an offline machine\n"
    "  deid dicom --config D.ini --key K --in DIR --out DIR   PS3.15 Annex E de-identification\n"
    "  deid dicom ... --oprf-key PIN [--prepare REQ --state ST | --finish RESP --state ST]\n"
    "                               network-wide PSNs, dates and UIDs from the identity service's VOPRF\n"
    "  deid verify --config D.ini --report R.json   no identifying value of an input survives\n"
    "  ledger key new --name ORIGIN --out FILE [--token URI]   a ledger signing key (prints the\n"
    "                               verifier key); with --token made on a PKCS#11 token\n"
    "  ledger append --data TEXT    append an entry (services: role appender)\n"
    "  ledger checkpoint            the newest signed checkpoint\n"
    "  ledger verify --vkey KEY [--state FILE] [--index N] [--witness KEY... --quorum K]\n"
    "                               check the checkpoint's signature, its witnesses' cosignatures,\n"
    "                               its consistency with the last one trusted, an entry's inclusion\n"
    "  ledger monitor --vkey KEY --state FILE [--once]   follow the log; rebuild every checkpoint\n"
    "                               from every entry; exit 1 on a fork or an invalid step\n"
    "  ledger events --on SERVICE --vkey KEY [--module M] [--type T]   a service's audit trail,\n"
    "                               read from the ledger and opened with its keys (administrators)\n"
    "  ledger audit-state --module M --vkey KEY   recompute the consent state from the log and\n"
    "                               compare it with the registry's (administrators)\n"
    "\n"
    "roles: identity service: admin, module_admin, physician, pseudonymizer, monitor;\n"
    "       registry: admin, physician, researcher, monitor.\n"
    "\n"
    "exit status: 0 ok; 1 other failure; 2 usage; 3 refused (401/403); 4 request\n"
    "rejected (other 4xx); 5 server error (5xx); 6 network or TLS failure;\n"
    "7 local file, key or certificate problem.\n";

static void set_as(cli *c, const char *prefix)
{
    char tmp[4096];
    snprintf(c->as_cert, sizeof c->as_cert, "%s.crt", prefix);
    snprintf(c->as_key, sizeof c->as_key, "%s.key", prefix);
    snprintf(tmp, sizeof tmp, "%s", prefix);
    snprintf(c->as_ca, sizeof c->as_ca, "%s/ca.crt", dirname(tmp));
    c->cert = c->as_cert;
    c->key = c->as_key;
    c->cacert = c->as_ca;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"identity", required_argument, NULL, 'i'},
                                         {"registry", required_argument, NULL, 'r'},
                                         {"ledger", required_argument, NULL, 'L'},
                                         {"as", required_argument, NULL, 'a'},
                                         {"cert", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"cacert", required_argument, NULL, 'C'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const struct { const char *name; int (*fn)(cli *, int, char **); } cmds[] = {
        {"pki", cmd_pki},         {"key", cmd_key},       {"health", cmd_health},
        {"whoami", cmd_whoami},   {"user", cmd_user},     {"audit", cmd_audit},
        {"metrics", cmd_metrics}, {"modules", cmd_modules}, {"patient", cmd_patient},
        {"record", cmd_record},   {"study", cmd_study},   {"export", cmd_export},
        {"stats", cmd_stats},     {"card", cmd_card},     {"consent", cmd_consent},
        {"grants", cmd_grants},   {"alarms", cmd_alarms}, {"pseudonymize", cmd_pseudonymize}, {"oprf", cmd_oprf}, {"deid", cmd_deid}, {"ledger", cmd_ledger}};
    cli c;
    int opt;

    memset(&c, 0, sizeof c);
    c.identity_url = getenv("MEDREG_IDENTITY");
    c.registry_url = getenv("MEDREG_REGISTRY");
    c.ledger_url = getenv("MEDREG_LEDGER");
    c.cert = getenv("MEDREG_CERT");
    c.key = getenv("MEDREG_KEY");
    c.cacert = getenv("MEDREG_CACERT");
    if (getenv("MEDREG_AS"))
        set_as(&c, getenv("MEDREG_AS"));
    /* '+': stop at the command; its own options follow it */
    while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (opt) {
        case 'i': c.identity_url = optarg; break;
        case 'r': c.registry_url = optarg; break;
        case 'L': c.ledger_url = optarg; break;
        case 'a': set_as(&c, optarg); break;
        case 'c': c.cert = optarg; break;
        case 'k': c.key = optarg; break;
        case 'C': c.cacert = optarg; break;
        case 'j': c.json = 1; break;
        case 'h': fputs(HELP, stdout); return EXIT_OK;
        default: fputs(HELP, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(HELP, stderr);
        return EXIT_USAGE;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "medreg: library initialisation failed\n");
        return EXIT_FAILURE_;
    }
    mr_json_wipe_freed();
    c.http = cli_http_new();
    int code = -1;
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmds[i].name, name)) {
            optind++;
            /* commands parse their own options from a fresh getopt state */
            int sub_argc = argc - optind + 1;
            char **sub_argv = argv + optind - 1;
            optind = 0;
            int help = 0;
            for (int a = 1; a < sub_argc; a++)
                help |= !strcmp(sub_argv[a], "--help") || !strcmp(sub_argv[a], "-h");
            if (help) {
                /* every command prints its usage when called bare; --help sends it to stdout */
                fflush(stderr);
                dup2(STDOUT_FILENO, STDERR_FILENO);
                if (!strcmp(name, "stats"))
                    puts("usage: medreg stats\n  counts per module (registry administrators)");
                else if (!strcmp(name, "alarms"))
                    (void)cmds[i].fn(&c, 2, sub_argv); /* a wrong arity prints its usage */
                else
                    (void)cmds[i].fn(&c, 1, sub_argv);
                code = EXIT_OK;
                break;
            }
            code = cmds[i].fn(&c, sub_argc, sub_argv);
            break;
        }
    if (code < 0) {
        fprintf(stderr, "medreg: unknown command '%s' (see medreg --help)\n", name);
        code = EXIT_USAGE;
    }
    cli_http_free(c.http);
    curl_global_cleanup();
    return code;
}

int main(int argc, char **argv)
{
    FILE *out = stdout, *err = stderr;
    /* the client holds module keys, PINs and K as well: no core dumps */
    mr_memory_private();
    /* before anything is printed: what reaches a terminal cannot command it */
    if (cli_tty_guard(&stdout) != 0 || cli_tty_guard(&stderr) != 0) {
        fputs("medreg: cannot guard the terminal's output\n", stderr);
        return EXIT_FAILURE_;
    }
    int code = run(argc, argv);
    cli_tty_unguard(&stdout, out);
    cli_tty_unguard(&stderr, err);
    return code;
}
