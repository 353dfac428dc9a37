/* medreg ledger: keys, appends, and verification for everyone
 * (docs/ledger.md). `ledger verify` trusts nothing the ledger says that it
 * cannot check: the checkpoint's signature under the configured key, its
 * consistency with the last checkpoint this client trusted (kept in a
 * state file), and an entry's inclusion. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../ledger/note.h"
#include "../ledger/receipt.h"
#include "../ledger/tlog_io.h"
#include "../token/key25519.h"
#include "cli.h"
#include "ledger_client.h"

/* The Ed25519 pair made on a token; only the verifier key (OUT.pub) is
 * written, and printed. */
static int key_new_on_token(const char *name, uint8_t alg, const char *out, const char *token, const char *module,
                            const char *pin_file)
{
    mr_note_verifier v;
    uint8_t pk[32] = {0};
    char *vkey = NULL, *pub = NULL, line[400];
    int code;
    if (mr_note_verifier_make(name, alg, pk, &v) != MEDREG_OK) { /* the name, checked before the token is touched */
        fprintf(stderr, "medreg: '%s' is not a key name (no spaces, no '+', at most 255 bytes)\n", name);
        return EXIT_USAGE;
    }
    if ((code = cli_key25519_on_token(token, module, pin_file, 0, pk, "ledger key new")) != EXIT_OK)
        return code;
    code = EXIT_LOCAL;
    if (mr_note_verifier_make(name, alg, pk, &v) != MEDREG_OK)
        goto out;
    if (mr_note_verifier_format(&v, &vkey) != MEDREG_OK || asprintf(&pub, "%s.pub", out) < 0)
        goto out;
    snprintf(line, sizeof line, "%s\n", vkey);
    if (mr_file_write(pub, line, strlen(line)) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s\n", pub);
        goto out;
    }
    printf("%s\n", vkey);
    code = EXIT_OK;
out:
    free(vkey);
    free(pub);
    return code;
}

static int key_new(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"witness", no_argument, NULL, 'w'},
                                         {"token", required_argument, NULL, 't'},
                                         {"module", required_argument, NULL, 'm'},
                                         {"pin-file", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL, *token = NULL, *pin_file = NULL, *module = NULL;
    int opt, code = EXIT_LOCAL;
    uint8_t alg = MR_NOTE_ALG_ED25519;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'n')
            name = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'w')
            alg = MR_NOTE_ALG_COSIGNATURE; /* a witness's cosigning key */
        else if (opt == 't')
            token = optarg;
        else if (opt == 'm')
            module = optarg;
        else if (opt == 'p')
            pin_file = optarg;
        else
            return EXIT_USAGE;
    }
    if (!name || !out || optind != argc)
        return EXIT_USAGE;
    if (token)
        return key_new_on_token(name, alg, out, token, module, pin_file);
    uint8_t *seed = sodium_malloc(32);
    mr_note_signer s;
    char *skey = NULL, *vkey = NULL, *pub = NULL;
    memset(&s, 0, sizeof s);
    if (seed == NULL)
        return EXIT_LOCAL;
    randombytes_buf(seed, 32);
    if (mr_note_signer_from_seed(name, alg, seed, &s) != MEDREG_OK) {
        fprintf(stderr, "medreg: '%s' is not a key name (no spaces, no '+', at most 255 bytes)\n", name);
        goto out;
    }
    if (mr_note_signer_format(&s, seed, &skey) != MEDREG_OK || mr_note_verifier_format(&s.v, &vkey) != MEDREG_OK ||
        asprintf(&pub, "%s.pub", out) < 0)
        goto out;
    size_t sl = strlen(skey);
    skey[sl] = '\n';
    int ok = mr_secret_file_write(out, skey, sl + 1) == MEDREG_OK;
    skey[sl] = 0;
    char line[400];
    snprintf(line, sizeof line, "%s\n", vkey);
    if (!ok || mr_file_write(pub, line, strlen(line)) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot create %s (it must not exist) or %s\n", out, pub);
        goto out;
    }
    printf("%s\n", vkey);
    code = EXIT_OK;
out:
    if (skey) {
        mr_wipe(skey, strlen(skey));
        free(skey);
    }
    free(vkey);
    free(pub);
    mr_note_signer_clear(&s);
    sodium_free(seed);
    return code;
}

static int append(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'}, {NULL, 0, NULL, 0}};
    const char *data = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'd')
            data = optarg;
        else
            return EXIT_USAGE;
    }
    if (!data || optind != argc)
        return EXIT_USAGE;
    char *b = mr_base64((const uint8_t *)data, strlen(data));
    json_t *body = b ? json_pack("{s:[s]}", "entries", b) : NULL;
    free(b);
    if (body == NULL)
        return EXIT_LOCAL;
    int code = cli_call(c, SVC_LEDGER, "POST", "/v1/ledger/entries", body, NULL);
    json_decref(body);
    return code;
}

/* The verify and monitor options: a policy, and what each adds. */
typedef struct policy {
    cli_ledger_policy lp;
    const char *index;  /* verify: an entry to prove */
    int once;           /* monitor: one round */
    long interval;      /* monitor: seconds between rounds */
} policy;

static int parse_policy(int argc, char **argv, policy *p)
{
    static const struct option opts[] = {CLI_LEDGER_POLICY_OPTIONS,
                                         {"index", required_argument, NULL, 'i'},
                                         {"once", no_argument, NULL, 'o'},
                                         {"interval", required_argument, NULL, 'I'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    memset(p, 0, sizeof *p);
    cli_ledger_policy_init(&p->lp);
    p->interval = 10;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int taken = cli_ledger_policy_opt(&p->lp, opt, optarg);
        if (taken == 0)
            return 0;
        if (taken == 1)
            continue;
        switch (opt) {
        case 'i': p->index = optarg; break;
        case 'o': p->once = 1; break;
        case 'I':
            if (!cli_number("--interval", optarg, 1, 86400, &p->interval))
                return 0;
            break;
        default: return 0;
        }
    }
    return optind == argc && p->interval >= 1 && p->interval <= 86400 && cli_ledger_policy_done(&p->lp);
}

/* Prove entry index_arg in the tree of cp. */
static int check_inclusion(const cli *c, const mr_checkpoint *cp, const char *index_arg)
{
    char *end = NULL;
    errno = 0;
    unsigned long long idx = strtoull(index_arg, &end, 10);
    uint8_t *data = NULL;
    size_t len = 0;
    if (errno || end == index_arg || *end || idx >= cp->size) {
        fprintf(stderr, "medreg: --index must be below the checkpoint's size %" PRIu64 "\n", cp->size);
        return EXIT_USAGE;
    }
    int code = cli_ledger_entry(c, cp, idx, &data, &len);
    free(data);
    if (code == EXIT_OK)
        printf("entry %llu is included in the tree of %" PRIu64 " entries\n", idx, cp->size);
    return code;
}

static int verify(cli *c, int argc, char **argv)
{
    policy p;
    mr_checkpoint cp;
    cli_reply r = {0};
    if (!parse_policy(argc, argv, &p) || p.once)
        return EXIT_USAGE;
    int code = cli_ledger_checkpoint(c, &p.lp, 0, &r, &cp);
    if (code == EXIT_OK && p.index)
        code = check_inclusion(c, &cp, p.index);
    if (code == EXIT_OK)
        code = cli_ledger_trust(&p.lp, &r); /* trust this checkpoint from now on */
    cli_reply_free(&r);
    return code;
}

static int monitor(cli *c, int argc, char **argv)
{
    policy p;
    if (!parse_policy(argc, argv, &p) || p.index || p.lp.state == NULL)
        return EXIT_USAGE;
    for (;;) {
        mr_checkpoint cp;
        cli_reply r = {0};
        int code = cli_ledger_checkpoint(c, &p.lp, 0, &r, &cp);
        if (code == EXIT_OK)
            code = cli_ledger_replay(c, &cp, NULL, NULL);
        if (code == EXIT_OK) {
            printf("every entry of the %" PRIu64 " rebuilds the checkpoint, and every hash tile matches\n", cp.size);
            code = cli_ledger_trust(&p.lp, &r);
        }
        cli_reply_free(&r);
        fflush(stdout);
        if (code != EXIT_OK || p.once)
            return code;
        sleep((unsigned)p.interval);
    }
}

/* medreg ledger receipt --index N --out FILE: a C2SP tlog-proof for later,
 * offline checks (the proof is checked before it is written) */
static int receipt(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"index", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *index_arg = NULL, *out = NULL;
    int opt, code;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'i')
            index_arg = optarg;
        else if (opt == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (!index_arg || !out || optind != argc)
        return EXIT_USAGE;
    char *end = NULL, path[96], *text = NULL;
    unsigned long long idx = strtoull(index_arg, &end, 10);
    cli_reply cr = {0}, ir = {0};
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0;
    if (end == index_arg || *end)
        return EXIT_USAGE;
    if ((code = cli_ledger_fetch(c, "/checkpoint", &cr)) != EXIT_OK)
        return code;
    /* the size the proof is for: the checkpoint's second line */
    const char *nl = memchr(cr.body, '\n', cr.len);
    unsigned long long size = nl ? strtoull(nl + 1, NULL, 10) : 0;
    snprintf(path, sizeof path, "/v1/ledger/proof/inclusion?index=%llu&size=%llu", idx, size);
    if ((code = cli_ledger_fetch(c, path, &ir)) != EXIT_OK) {
        cli_reply_free(&cr);
        return code;
    }
    json_t *j = json_loadb(ir.body, ir.len, 0, NULL);
    code = EXIT_SERVER;
    if (cli_ledger_hashes(json_object_get(j, "hashes"), proof, &n) &&
        mr_receipt_format(idx, (const mr_hash *)proof, n, cr.body, cr.len, &text) == MEDREG_OK) {
        code = mr_file_write(out, text, strlen(text)) == MEDREG_OK ? EXIT_OK : EXIT_LOCAL;
        if (code == EXIT_OK)
            printf("receipt for entry %llu in the tree of %llu entries written to %s\n", idx, size, out);
    }
    free(text);
    json_decref(j);
    cli_reply_free(&cr);
    cli_reply_free(&ir);
    return code;
}

/* medreg ledger check-receipt: offline, against the keys and policy alone */
static int check_receipt(int argc, char **argv)
{
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"witness", required_argument, NULL, 'w'},
                                         {"quorum", required_argument, NULL, 'q'},
                                         {"data", required_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    mr_note_verifier v, w[16];
    size_t nw = 0;
    long quorum = -1;
    const char *vkey = NULL, *data = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'v': vkey = optarg; break;
        case 'w':
            if (nw == 16 || !cli_ledger_read_key(optarg, &w[nw]) || w[nw].alg != MR_NOTE_ALG_COSIGNATURE)
                return EXIT_USAGE;
            nw++;
            break;
        case 'q':
            if (!cli_number("--quorum", optarg, 0, 16, &quorum))
                return EXIT_USAGE;
            break;
        case 'd': data = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (quorum < 0)
        quorum = (long)nw;
    if (!vkey || !data || optind + 1 != argc || quorum > (long)nw || !cli_ledger_read_key(vkey, &v))
        return EXIT_USAGE;
    char *text = NULL;
    size_t len = 0;
    uint64_t idx = 0;
    if (mr_file_read(argv[optind], MR_NOTE_MAX + 8192, &text, &len) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot read %s\n", argv[optind]);
        return EXIT_LOCAL;
    }
    medreg_err rc = mr_receipt_verify(text, len, (const uint8_t *)data, strlen(data), &v, w, nw, (size_t)quorum, &idx);
    free(text);
    if (rc != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: %s\n", argv[optind],
                rc == MEDREG_ERR_INVALID ? "not a tlog-proof receipt"
                                         : "does not prove this entry under the log's key and the witness policy");
        return EXIT_FAILURE_;
    }
    printf("the entry is entry %" PRIu64 " of the log, signed and cosigned as the policy requires\n", idx);
    return EXIT_OK;
}

/* medreg ledger export DIR: the checkpoint, every tile and entry bundle,
 * as files any static web server can serve (C2SP tlog-tiles paths) */
static int export_tiles(cli *c, int argc, char **argv)
{
    if (argc != 2)
        return EXIT_USAGE;
    const char *dir = argv[1];
    cli_reply cr = {0};
    int code = cli_ledger_fetch(c, "/checkpoint", &cr);
    if (code != EXIT_OK)
        return code;
    const char *nl = memchr(cr.body, '\n', cr.len);
    uint64_t size = nl ? strtoull(nl + 1, NULL, 10) : 0, files = 0;
    for (int level = -1; level < 8 && code == EXIT_OK; level++) {
        uint64_t count = level < 0 ? size : size >> (8 * level);
        if (level > 0 && count == 0)
            break;
        for (uint64_t t = 0; t * 256 < count && code == EXIT_OK; t++) {
            uint64_t w = count - t * 256 < 256 ? count - t * 256 : 256;
            char rel[96], url[100], *path = NULL;
            cli_reply r = {0};
            if (mr_tile_path(level, t, (unsigned)w, rel, sizeof rel) != MEDREG_OK)
                return EXIT_LOCAL;
            snprintf(url, sizeof url, "/%s", rel);
            if ((code = cli_ledger_fetch(c, url, &r)) != EXIT_OK)
                break;
            if (asprintf(&path, "%s/%s", dir, rel) < 0)
                path = NULL;
            for (char *q = path ? path + strlen(dir) + 1 : NULL; q && *q; q++)
                if (*q == '/') {
                    *q = 0;
                    mkdir(path, 0755);
                    *q = '/';
                }
            if (path == NULL || mr_file_write(path, r.body, r.len) != MEDREG_OK) {
                fprintf(stderr, "medreg: cannot write %s\n", path ? path : dir);
                code = EXIT_LOCAL;
            }
            files++;
            free(path);
            cli_reply_free(&r);
        }
    }
    char *cpath = NULL;
    if (code == EXIT_OK && (asprintf(&cpath, "%s/checkpoint", dir) < 0 || mr_file_write(cpath, cr.body, cr.len) != MEDREG_OK))
        code = EXIT_LOCAL;
    if (code == EXIT_OK)
        printf("%" PRIu64 " tiles and bundles and the checkpoint of %" PRIu64 " entries written to %s\n", files, size, dir);
    free(cpath);
    cli_reply_free(&cr);
    return code;
}

int cmd_ledger(cli *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: medreg ledger key new --name ORIGIN --out FILE [--witness]\n"
        "                             [--token URI [--module LIB] [--pin-file F]]\n"
        "       medreg ledger append --data TEXT\n"
        "       medreg ledger checkpoint\n"
        "       medreg ledger verify --vkey KEY|@FILE [--state FILE] [--index N]\n"
        "                            [--witness KEY|@FILE ... [--quorum K]]\n"
        "       medreg ledger receipt --index N --out FILE.tlog-proof\n"
        "       medreg ledger check-receipt --vkey KEY [--witness KEY ... --quorum K] --data TEXT FILE\n"
        "       medreg ledger export DIR\n"
        "       medreg ledger events --on identity|registry --vkey KEY|@FILE [--module M] [--type T]\n"
        "       medreg ledger audit-state --module M --vkey KEY|@FILE [--witness ... --quorum K]\n"
        "                                 [--state FILE] [--wait SECONDS]   (with --registry)\n"
        "       medreg ledger monitor --vkey KEY|@FILE --state FILE [--witness ... --quorum K] [--once]\n"
        "                            [--interval SECONDS]\n"
        "  key new: a C2SP signed-note key for a ledger whose checkpoints name ORIGIN; FILE (0600)\n"
        "  holds the private key for medregd, FILE.pub the verifier key that clients configure.\n"
        "  --witness: a witness's cosigning key (C2SP tlog-cosignature) instead; NAME is the witness's.\n"
        "  --token 'pkcs11:token=T;object=LABEL': the Ed25519 pair is made on the token and never\n"
        "  leaves it; only FILE.pub is written, and medregd's signing_key is that URI (PIN from\n"
        "  --pin-file, $MEDREG_PKCS11_PIN or asked).\n"
        "  verify: the newest checkpoint must be signed by KEY; with --state, it must be consistent\n"
        "  with the checkpoint kept there (then kept instead); with --index, that entry must be in it;\n"
        "  with --witness, at least K (default: all) of those witnesses must have cosigned it.\n"
        "  monitor: follow the log (every --interval seconds, or --once): each checkpoint checked as\n"
        "  verify does, and every entry fetched and hashed again to rebuild its root and every hash tile.\n"
        "  receipt: a C2SP tlog-proof of one entry, checked offline later with check-receipt.\n"
        "  export: the checkpoint, tiles and entry bundles as files for any static web server.\n"
        "  events: a service's audit trail, read from the log (every entry, the root rebuilt) and\n"
        "  opened with the service's event keys (administrators, monitors).\n"
        "  audit-state: replay every grant, revoke and expiry of module M from the log (with the\n"
        "  registry's event keys: administrators, monitors) and compare with the registry's grants.\n"
        "  Exit 1 when the ledger fails a check.\n";
    const char *sub = cli_subcommand(&argc, &argv, usage);
    int code = EXIT_USAGE;
    if (sub == NULL)
        return EXIT_USAGE;
    if (!strcmp(sub, "key") && argc > 1 && !strcmp(argv[1], "new")) {
        argc--;
        argv++;
        code = key_new(argc, argv);
    } else if (!strcmp(sub, "append")) {
        code = append(c, argc, argv);
    } else if (!strcmp(sub, "checkpoint")) {
        cli_reply r = {0};
        code = argc == 1 ? cli_ledger_fetch(c, "/checkpoint", &r) : EXIT_USAGE;
        if (code == EXIT_OK)
            fwrite(r.body, 1, r.len, stdout);
        cli_reply_free(&r);
    } else if (!strcmp(sub, "verify")) {
        code = verify(c, argc, argv);
    } else if (!strcmp(sub, "monitor")) {
        code = monitor(c, argc, argv);
    } else if (!strcmp(sub, "receipt")) {
        code = receipt(c, argc, argv);
    } else if (!strcmp(sub, "check-receipt")) {
        code = check_receipt(argc, argv);
    } else if (!strcmp(sub, "events")) {
        code = cli_ledger_events(c, argc, argv);
    } else if (!strcmp(sub, "audit-state")) {
        code = cli_ledger_audit_state(c, argc, argv);
    } else if (!strcmp(sub, "export")) {
        mkdir(argc == 2 ? argv[1] : ".", 0755);
        code = export_tiles(c, argc, argv);
    }
    if (code == EXIT_USAGE)
        fputs(usage, stderr);
    return code;
}
