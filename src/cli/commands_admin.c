/* medreg pki, key, health, whoami, user, audit, metrics, modules, study, stats. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "../pki/pki.h"
#include "cli.h"

static int local_error(const char *what, const char *path, medreg_err rc)
{
    fprintf(stderr, "medreg: %s %s: %s\n", what, path, medreg_strerror(rc));
    return EXIT_LOCAL;
}

int cmd_pki(cli *c, int argc, char **argv)
{
    (void)c;
    if (argc >= 3 && !strcmp(argv[1], "init") && argc == 3) {
        medreg_err rc = mr_pki_init(argv[2]);
        if (rc != MEDREG_OK)
            return local_error("cannot create the PKI in", argv[2], rc);
        printf("development PKI created in %s:\n"
               "  ca.crt ca.key                   the certificate authority (keep ca.key offline)\n"
               "  identity.crt identity.key       TLS certificate of the identity service\n"
               "  registry.crt registry.key       TLS certificate of the registry\n"
               "  registry-consent.crt/.key       the registry's consent key (docs/protocol.md)\n"
               "  admin.crt admin.key             a first administrator\n"
               "  identity.sign.key/.pub          Ed25519 key that signs PSN tokens\n"
               "  registry.seal.key/.pub          X25519 key PSN tokens are sealed to\n"
               "  identity.data.key               key for identifying data at rest\n",
               argv[2]);
        return EXIT_OK;
    }
    if (argc >= 4 && !strcmp(argv[1], "issue")) {
        int service = 0;
        const char *key_type = NULL;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--service"))
                service = 1;
            else if (!strcmp(argv[i], "--key-type") && i + 1 < argc)
                key_type = argv[++i];
            else {
                fputs("usage: medreg pki issue DIR NAME [--service] [--key-type TYPE]\n", stderr);
                return EXIT_USAGE;
            }
        }
        medreg_err rc = mr_pki_issue(argv[2], argv[3], service, key_type);
        if (rc != MEDREG_OK)
            return local_error("cannot issue a certificate in", argv[2], rc);
        printf("issued %s/%s.crt and %s/%s.key\n", argv[2], argv[3], argv[2], argv[3]);
        return EXIT_OK;
    }
    if (argc == 3 && !strcmp(argv[1], "fingerprint")) {
        char *pem = NULL, hex[65];
        size_t len = 0;
        medreg_err rc = mr_file_read(argv[2], 1 << 16, &pem, &len);
        if (rc == MEDREG_OK)
            rc = mr_cert_fingerprint_pem(pem, len, hex);
        free(pem);
        if (rc != MEDREG_OK)
            return local_error("cannot read the certificate", argv[2], rc);
        printf("%s\n", hex);
        return EXIT_OK;
    }
    fputs("usage: medreg pki init DIR | pki issue DIR NAME [--service] [--key-type TYPE] | pki fingerprint CERT\n", stderr);
    return EXIT_USAGE;
}

static const char KEY_USAGE[] =
    "usage: medreg key new FILE                 a module key (32 random bytes, mode 0600)\n"
    "       medreg key new-sign PREFIX [TOKEN]  Ed25519: signs PSN tokens (identity service)\n"
    "       medreg key new-seal PREFIX [TOKEN]  X25519: the registry's seal key, the identity\n"
    "                                           service's box key\n"
    "  without TOKEN: PREFIX.key (mode 0600) and PREFIX.pub, 32 raw bytes each\n"
    "  TOKEN: --token 'pkcs11:token=T;object=LABEL' [--module LIB] [--pin-file F]: the pair is\n"
    "         made on the token and never leaves it; only PREFIX.pub is written. PIN from\n"
    "         --pin-file, else $MEDREG_PKCS11_PIN, else asked. LIB: $MEDREG_PKCS11_MODULE or\n"
    "         SoftHSM2's.\n";

int cmd_key(cli *c, int argc, char **argv)
{
    (void)c;
    if (argc >= 3 && (!strcmp(argv[1], "new-sign") || !strcmp(argv[1], "new-seal"))) {
        int seal = !strcmp(argv[1], "new-seal");
        const char *token = NULL, *pin_file = NULL, *module = NULL;
        for (int i = 3; i < argc; i++) {
            if (i + 1 < argc && !strcmp(argv[i], "--token"))
                token = argv[++i];
            else if (i + 1 < argc && !strcmp(argv[i], "--module"))
                module = argv[++i];
            else if (i + 1 < argc && !strcmp(argv[i], "--pin-file"))
                pin_file = argv[++i];
            else {
                fputs(KEY_USAGE, stderr);
                return EXIT_USAGE;
            }
        }
        if (token == NULL) {
            medreg_err rc = mr_key_pair_new(argv[2], seal);
            if (rc != MEDREG_OK)
                return local_error("cannot write the key pair", argv[2], rc);
            printf("wrote %s.key (mode 0600) and %s.pub: an %s key pair\n", argv[2], argv[2],
                   seal ? "X25519 sealing" : "Ed25519 signing");
            return EXIT_OK;
        }
        uint8_t pk[32];
        char *pub = NULL;
        int code = cli_key25519_on_token(token, module, pin_file, seal, pk, argv[1]);
        if (code != EXIT_OK)
            return code;
        medreg_err rc = asprintf(&pub, "%s.pub", argv[2]) < 0 ? MEDREG_ERR_NOMEM : mr_file_write(pub, pk, sizeof pk);
        if (rc != MEDREG_OK) {
            free(pub);
            return local_error("cannot write the public key of the key made on the token to", argv[2], rc);
        }
        printf("made an %s key pair on the token (the private key never leaves it); wrote %s\n",
               seal ? "X25519" : "Ed25519", pub);
        free(pub);
        return EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "new") != 0) {
        fputs(KEY_USAGE, stderr);
        return EXIT_USAGE;
    }
    medreg_err rc = mr_key_new(argv[2]);
    if (rc != MEDREG_OK)
        return local_error("cannot write the key", argv[2], rc);
    printf("wrote a new 256-bit key to %s (mode 0600)\n", argv[2]);
    return EXIT_OK;
}

/* Parse "--on SERVICE" (and optional extras) for the simple GET commands. */
static int parse_on(int argc, char **argv, cli_service *svc, const char *usage)
{
    static const struct option opts[] = {{"on", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int opt, have = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'o') {
            if (!cli_parse_service(optarg, svc))
                return 0;
            have = 1;
        } else {
            fprintf(opt == 'h' ? stdout : stderr, "usage: %s\n", usage);
            return 0;
        }
    }
    if (!have || optind != argc) {
        fprintf(stderr, "usage: %s\n", usage);
        return 0;
    }
    return 1;
}

static int simple_get(cli *c, int argc, char **argv, const char *path, const char *usage,
                      void (*human)(const cli *, json_t *))
{
    cli_service svc;
    if (!parse_on(argc, argv, &svc, usage))
        return EXIT_USAGE;
    int code = cli_call(c, svc, "GET", path, NULL, human);
    return code;
}

static void print_health(const cli *c, json_t *j)
{
    (void)c;
    printf("%s service: %s\n", json_string_value(json_object_get(j, "role")),
           json_string_value(json_object_get(j, "status")));
}

int cmd_health(cli *c, int argc, char **argv)
{
    return simple_get(c, argc, argv, "/healthz", "medreg health --on identity|registry", print_health);
}

static void print_whoami(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *r;
    printf("%s (certificate SHA-256 %s) at the %s service:\n", json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "fingerprint")), json_string_value(json_object_get(j, "service")));
    json_array_foreach(json_object_get(j, "roles"), i, r) {
        const char *m = json_string_value(json_object_get(r, "module"));
        printf("  %s%s%s\n", json_string_value(json_object_get(r, "role")), m && m[0] ? " of module " : "",
               m ? m : "");
    }
}

int cmd_whoami(cli *c, int argc, char **argv)
{
    return simple_get(c, argc, argv, "/v1/whoami", "medreg whoami --on identity|registry", print_whoami);
}

static void print_users(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(j, "users"), i, u) {
        json_t *gone = json_object_get(u, "removed_at");
        char t[32];
        printf("%-24s %-13s %-12s %s%s%s\n", json_string_value(json_object_get(u, "name")),
               json_string_value(json_object_get(u, "role")), json_string_value(json_object_get(u, "module")),
               json_string_value(json_object_get(u, "fingerprint")), gone ? "  removed " : "",
               gone ? cli_time((long long)json_integer_value(gone), t) : "");
    }
}

static void print_user_removed(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "removed"), i, r) {
        const char *m = json_string_value(json_object_get(r, "module"));
        printf("removed the role %s%s%s from %s\n", json_string_value(json_object_get(r, "role")),
               m && m[0] ? " of module " : "", m ? m : "", json_string_value(json_object_get(j, "fingerprint")));
    }
}

/* medreg user remove: DELETE /v1/users/FPR[?role=R[&module=M]]; the
 * fingerprint from the certificate file or the command line. */
static int user_remove(cli *c, cli_service svc, const char *cert, const char *fp, const char *role,
                       const char *module)
{
    char fpr[65];
    if (cert != NULL) {
        char *pem = NULL;
        size_t len = 0;
        medreg_err rc = mr_file_read(cert, 1 << 16, &pem, &len);
        if (rc == MEDREG_OK)
            rc = mr_cert_fingerprint_pem(pem, len, fpr);
        free(pem);
        if (rc != MEDREG_OK)
            return local_error("cannot read a certificate from", cert, rc);
    } else if (!cli_fingerprint_arg(fp, fpr)) {
        return EXIT_USAGE;
    }
    char *er = role ? cli_escape(role) : NULL, *em = module ? cli_escape(module) : NULL, *path = NULL;
    int code = EXIT_FAILURE_;
    if ((role == NULL || er != NULL) && (module == NULL || em != NULL) &&
        asprintf(&path, "/v1/users/%s%s%s%s%s", fpr, er ? "?role=" : "", er ? er : "", em ? "&module=" : "",
                 em ? em : "") >= 0)
        code = cli_call(c, svc, "DELETE", path, NULL, print_user_removed);
    else
        fprintf(stderr, "medreg: out of memory\n");
    free(path);
    free(er);
    free(em);
    return code;
}

static void print_user_added(const cli *c, json_t *j)
{
    (void)c;
    const char *m = json_string_value(json_object_get(j, "module"));
    printf("registered %s as %s%s%s\n", json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "role")), m && m[0] ? " of module " : "", m ? m : "");
}

int cmd_user(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"on", required_argument, NULL, 'o'},
                                         {"cert-file", required_argument, NULL, 'f'},
                                         {"fingerprint", required_argument, NULL, 'p'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"module", required_argument, NULL, 'm'},
                                         {"name", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "medreg user add --on SERVICE --cert-file CERT --role ROLE [--module M] [--name NAME]\n"
        "       medreg user remove --on SERVICE (--cert-file CERT | --fingerprint HEX) [--role ROLE [--module M]]\n"
        "       medreg user list --on SERVICE";
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return simple_get(c, argc - 1, argv + 1, "/v1/users", usage, print_users);
    if (argc < 2 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "remove") != 0)) {
        fprintf(stderr, "usage: %s\n", usage);
        return EXIT_USAGE;
    }
    int removing = !strcmp(argv[1], "remove");
    const char *cert = NULL, *fp = NULL, *role = NULL, *module = NULL, *name = NULL;
    cli_service svc = SVC_REGISTRY;
    int have_svc = 0, opt;
    argc--;
    argv++;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            if (!cli_parse_service(optarg, &svc))
                return EXIT_USAGE;
            have_svc = 1;
            break;
        case 'f': cert = optarg; break;
        case 'p': fp = optarg; break;
        case 'r': role = optarg; break;
        case 'm': module = optarg; break;
        case 'n': name = optarg; break;
        default: fprintf(stderr, "usage: %s\n", usage); return EXIT_USAGE;
        }
    }
    int usable = removing ? (cert == NULL) != (fp == NULL) && (module == NULL || role != NULL) && name == NULL
                          : cert != NULL && fp == NULL && role != NULL;
    if (!have_svc || !usable || optind != argc) {
        fprintf(stderr, "usage: %s\n", usage);
        return EXIT_USAGE;
    }
    if (removing)
        return user_remove(c, svc, cert, fp, role, module);
    char *pem = NULL;
    size_t len = 0;
    medreg_err rc = mr_file_read(cert, 1 << 16, &pem, &len);
    if (rc != MEDREG_OK)
        return local_error("cannot read", cert, rc);
    char derived[256];
    if (name == NULL) {
        /* default display name: the file name without .crt */
        const char *b = strrchr(cert, '/');
        snprintf(derived, sizeof derived, "%s", b ? b + 1 : cert);
        char *dot = strstr(derived, ".crt");
        if (dot)
            *dot = 0;
        name = derived;
    }
    json_t *body = json_pack("{s:s,s:s,s:s}", "certificate", pem, "role", role, "name", name);
    free(pem);
    if (module)
        json_object_set_new(body, "module", json_string(module));
    int code = cli_call(c, svc, "POST", "/v1/users", body, print_user_added);
    json_decref(body);
    return code;
}

static void print_audit(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        char t[32];
        printf("%6lld %s %-16.16s %-17s %-8s %-10s %-34s %s\n",
               (long long)json_integer_value(json_object_get(e, "seq")),
               cli_time((long long)json_integer_value(json_object_get(e, "at")), t),
               json_string_value(json_object_get(e, "actor")), json_string_value(json_object_get(e, "action")),
               json_string_value(json_object_get(e, "outcome")), json_string_value(json_object_get(e, "module")),
               json_string_value(json_object_get(e, "target")), json_string_value(json_object_get(e, "detail")));
    }
}

#define AUDIT_USAGE                                                                                  \
    "usage: medreg audit --on SERVICE [--after N] [--limit N]   the audit rows (administrators)\n"     \
    "       medreg audit mine ...   a patient's own history, card present (medreg audit mine --help)\n"

int cmd_audit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"on", required_argument, NULL, 'o'},
                                         {"after", required_argument, NULL, 'a'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    const char *after = "0", *limit = "100";
    cli_service svc = SVC_REGISTRY;
    int have = 0, opt;
    if (argc > 1 && !strcmp(argv[1], "mine"))
        return cmd_audit_mine(c, argc - 1, argv + 1);
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            if (!cli_parse_service(optarg, &svc))
                return EXIT_USAGE;
            have = 1;
            break;
        case 'a': after = optarg; break;
        case 'l': limit = optarg; break;
        default: fputs(AUDIT_USAGE, stderr); return EXIT_USAGE;
        }
    }
    if (!have || optind != argc) {
        fputs(AUDIT_USAGE, stderr);
        return EXIT_USAGE;
    }
    char *ea = cli_escape(after), *el = cli_escape(limit), *path = NULL;
    if (ea == NULL || el == NULL || asprintf(&path, "/v1/audit?after=%s&limit=%s", ea, el) < 0)
        path = NULL;
    free(ea);
    free(el);
    if (path == NULL)
        return EXIT_FAILURE_;
    int code = cli_call(c, svc, "GET", path, NULL, print_audit);
    free(path);
    return code;
}

static void print_raw(const cli *c, json_t *j)
{
    (void)c;
    (void)j;
}

int cmd_metrics(cli *c, int argc, char **argv)
{
    cli_service svc;
    cli_reply r;
    if (!parse_on(argc, argv, &svc, "medreg metrics --on identity|registry"))
        return EXIT_USAGE;
    int code = cli_request(c, svc, "GET", "/metrics", NULL, &r);
    if (code != EXIT_OK)
        return code;
    if (r.status == 200) {
        fwrite(r.body, 1, r.len, stdout);
        cli_reply_free(&r);
        return EXIT_OK;
    }
    return cli_finish(c, &r, print_raw);
}

static void print_modules(const cli *c, json_t *j)
{
    (void)c;
    size_t i, k;
    json_t *m, *f;
    json_array_foreach(json_object_get(j, "modules"), i, m) {
        printf("module %s\n", json_string_value(json_object_get(m, "name")));
        json_array_foreach(json_object_get(m, "identifiers"), k, f)
            printf("  identifier %-20s %s\n", json_string_value(json_object_get(f, "name")),
                   json_string_value(json_object_get(f, "kind")));
        json_array_foreach(json_object_get(m, "fields"), k, f) {
            const char *unit = json_string_value(json_object_get(f, "unit"));
            printf("  field %-25s %-8s %-14s%s%s%s\n", json_string_value(json_object_get(f, "name")),
                   json_string_value(json_object_get(f, "type")), json_string_value(json_object_get(f, "category")),
                   json_is_true(json_object_get(f, "required")) ? " required" : "", unit ? " unit " : "",
                   unit ? unit : "");
        }
    }
}

int cmd_modules(cli *c, int argc, char **argv)
{
    return simple_get(c, argc, argv, "/v1/modules", "medreg modules --on identity|registry", print_modules);
}

static void print_study(const cli *c, json_t *j)
{
    (void)c;
    printf("study %s created in module %s\n", json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "module")));
}

int cmd_study(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"name", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *module = NULL, *name = NULL;
    int opt;
    if (argc < 2 || strcmp(argv[1], "create") != 0) {
        fputs("usage: medreg study create --module M --name STUDY\n", stderr);
        return EXIT_USAGE;
    }
    argc--;
    argv++;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'm')
            module = optarg;
        else if (opt == 'n')
            name = optarg;
        else
            return EXIT_USAGE;
    }
    if (module == NULL || name == NULL || optind != argc) {
        fputs("usage: medreg study create --module M --name STUDY\n", stderr);
        return EXIT_USAGE;
    }
    json_t *body = json_pack("{s:s,s:s}", "module", module, "name", name);
    int code = cli_call(c, SVC_REGISTRY, "POST", "/v1/studies", body, print_study);
    json_decref(body);
    return code;
}

static void print_stats(const cli *c, json_t *j)
{
    (void)c;
    size_t i;
    json_t *m;
    printf("%-16s %9s %9s %9s %10s %11s\n", "module", "subjects", "records", "versions", "relations", "physicians");
    json_array_foreach(json_object_get(j, "modules"), i, m) {
        printf("%-16s %9lld %9lld %9lld %10lld %11lld\n", json_string_value(json_object_get(m, "module")),
               (long long)json_integer_value(json_object_get(m, "subjects")),
               (long long)json_integer_value(json_object_get(m, "records")),
               (long long)json_integer_value(json_object_get(m, "versions")),
               (long long)json_integer_value(json_object_get(m, "relations")),
               (long long)json_integer_value(json_object_get(m, "physicians")));
    }
}

int cmd_stats(cli *c, int argc, char **argv)
{
    if (argc != 1) {
        fputs("usage: medreg stats\n", stderr);
        return EXIT_USAGE;
    }
    (void)argv;
    int code = cli_call(c, SVC_REGISTRY, "GET", "/v1/stats", NULL, print_stats);
    return code;
}
