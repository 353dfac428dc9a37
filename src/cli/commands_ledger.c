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

#include "../core/encode.h"
#include "../core/secret.h"
#include "../ledger/note.h"
#include "cli.h"

static int key_new(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL;
    int opt, code = EXIT_LOCAL;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'n')
            name = optarg;
        else if (opt == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (!name || !out || optind != argc)
        return EXIT_USAGE;
    uint8_t *seed = sodium_malloc(32);
    mr_note_signer s;
    char *skey = NULL, *vkey = NULL, *pub = NULL;
    memset(&s, 0, sizeof s);
    if (seed == NULL)
        return EXIT_LOCAL;
    randombytes_buf(seed, 32);
    if (mr_note_signer_from_seed(name, seed, &s) != MEDREG_OK) {
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
    return cli_call(c, SVC_LEDGER, "POST", "/v1/ledger/entries", body, NULL);
}

/* The ledger's reply body when the status is 200, else an exit code. */
static int fetch(const cli *c, const char *path, cli_reply *r)
{
    int code = cli_request(c, SVC_LEDGER, "GET", path, NULL, r);
    if (code != EXIT_OK)
        return code;
    if (r->status != 200)
        return cli_finish(c, r, NULL);
    return EXIT_OK;
}

static int read_hashes(json_t *arr, mr_hash *out, size_t *n)
{
    size_t i;
    json_t *h;
    *n = json_array_size(arr);
    if (!json_is_array(arr) || *n > MR_PROOF_MAX)
        return 0;
    json_array_foreach(arr, i, h) {
        size_t got = 0;
        if (!json_is_string(h) || !mr_unbase64(json_string_value(h), json_string_length(h), out[i], MR_HASH_BYTES, &got) ||
            got != MR_HASH_BYTES)
            return 0;
    }
    return 1;
}

/* open a note with v and parse its checkpoint; the origin must be the key's name */
static int open_checkpoint(const char *note, size_t len, const mr_note_verifier *v, mr_checkpoint *cp)
{
    size_t tl = 0;
    int ok = 0;
    return mr_note_open(note, len, v, 1, &tl, &ok) == MEDREG_OK && ok && mr_checkpoint_parse(note, tl, cp) == MEDREG_OK &&
           strcmp(cp->origin, v->name) == 0;
}

static int verify(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"state", required_argument, NULL, 's'},
                                         {"index", required_argument, NULL, 'i'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey_arg = NULL, *state = NULL, *index_arg = NULL;
    int opt, code;
    mr_note_verifier v;
    mr_checkpoint cp, old;
    cli_reply r = {0};
    char *vk = NULL, *prev = NULL;
    size_t prev_len = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'v': vkey_arg = optarg; break;
        case 's': state = optarg; break;
        case 'i': index_arg = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (!vkey_arg || optind != argc)
        return EXIT_USAGE;
    /* the key: given, or @FILE */
    if (vkey_arg[0] == '@') {
        size_t l = 0;
        if (mr_file_read(vkey_arg + 1, 1024, &vk, &l) != MEDREG_OK) {
            fprintf(stderr, "medreg: cannot read %s\n", vkey_arg + 1);
            return EXIT_LOCAL;
        }
        vk[strcspn(vk, "\r\n")] = 0;
    } else if ((vk = strdup(vkey_arg)) == NULL) {
        return EXIT_LOCAL;
    }
    if (mr_note_verifier_parse(vk, &v) != MEDREG_OK) {
        fprintf(stderr, "medreg: not a verifier key (NAME+ID+KEY)\n");
        free(vk);
        return EXIT_USAGE;
    }
    free(vk);
    if ((code = fetch(c, "/checkpoint", &r)) != EXIT_OK)
        return code;
    code = EXIT_FAILURE_;
    if (!open_checkpoint(r.body, r.len, &v, &cp)) {
        fprintf(stderr, "medreg: ledger: the checkpoint is not signed by %s: refused\n", v.name);
        goto out;
    }
    printf("checkpoint: %s, %" PRIu64 " entries, signature valid\n", cp.origin, cp.size);
    /* consistency with the last checkpoint this client trusted */
    if (state && mr_file_read(state, MR_NOTE_MAX, &prev, &prev_len) == MEDREG_OK) {
        cli_reply pr = {0};
        char path[96];
        mr_hash proof[MR_PROOF_MAX];
        size_t n = 0;
        if (!open_checkpoint(prev, prev_len, &v, &old)) {
            fprintf(stderr, "medreg: %s does not hold a checkpoint signed by %s\n", state, v.name);
            code = EXIT_LOCAL;
            goto out;
        }
        if (old.size > cp.size) {
            fprintf(stderr, "medreg: ledger: the log shrank from %" PRIu64 " to %" PRIu64
                            " entries: a rollback, refused\n", old.size, cp.size);
            goto out;
        }
        snprintf(path, sizeof path, "/v1/ledger/proof/consistency?old=%" PRIu64 "&size=%" PRIu64, old.size, cp.size);
        if ((code = fetch(c, path, &pr)) != EXIT_OK)
            goto out;
        json_t *j = json_loadb(pr.body, pr.len, 0, NULL);
        int ok = read_hashes(json_object_get(j, "hashes"), proof, &n) &&
                 mr_merkle_verify_consistency(old.size, cp.size, (const mr_hash *)proof, n, old.root, cp.root) ==
                     MEDREG_OK;
        json_decref(j);
        cli_reply_free(&pr);
        code = EXIT_FAILURE_;
        if (!ok) {
            fprintf(stderr, "medreg: ledger: checkpoint %" PRIu64 " is not consistent with the trusted checkpoint %" PRIu64
                            ": the log was rewritten or forked, refused\n", cp.size, old.size);
            goto out;
        }
        printf("consistent with the trusted checkpoint of %" PRIu64 " entries\n", old.size);
    }
    if (index_arg) {
        char *end = NULL, path[96];
        errno = 0;
        unsigned long long idx = strtoull(index_arg, &end, 10);
        cli_reply er = {0}, ir = {0};
        if (errno || end == index_arg || *end || idx >= cp.size) {
            fprintf(stderr, "medreg: --index must be below the checkpoint's size %" PRIu64 "\n", cp.size);
            code = EXIT_USAGE;
            goto out;
        }
        snprintf(path, sizeof path, "/v1/ledger/entries/%llu", idx);
        if ((code = fetch(c, path, &er)) != EXIT_OK)
            goto out;
        snprintf(path, sizeof path, "/v1/ledger/proof/inclusion?index=%llu&size=%" PRIu64, idx, cp.size);
        if ((code = fetch(c, path, &ir)) != EXIT_OK) {
            cli_reply_free(&er);
            goto out;
        }
        json_t *ej = json_loadb(er.body, er.len, 0, NULL), *ij = json_loadb(ir.body, ir.len, 0, NULL);
        const char *d64 = json_string_value(json_object_get(ej, "data"));
        size_t dl = 0, n = 0;
        uint8_t *data = d64 ? malloc(strlen(d64)) : NULL;
        mr_hash proof[MR_PROOF_MAX], leaf;
        int ok = data && mr_unbase64(d64, strlen(d64), data, strlen(d64), &dl) &&
                 read_hashes(json_object_get(ij, "hashes"), proof, &n);
        if (ok) {
            mr_merkle_leaf_hash(data, dl, leaf);
            ok = mr_merkle_verify_inclusion(idx, cp.size, leaf, (const mr_hash *)proof, n, cp.root) == MEDREG_OK;
        }
        free(data);
        json_decref(ej);
        json_decref(ij);
        cli_reply_free(&er);
        cli_reply_free(&ir);
        code = EXIT_FAILURE_;
        if (!ok) {
            fprintf(stderr, "medreg: ledger: entry %llu is not in the checkpoint's tree as served: refused\n", idx);
            goto out;
        }
        printf("entry %llu is included in the tree of %" PRIu64 " entries\n", idx, cp.size);
    }
    /* trust this checkpoint from now on */
    if (state && mr_file_write(state, r.body, r.len) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s\n", state);
        code = EXIT_LOCAL;
        goto out;
    }
    code = EXIT_OK;
out:
    free(prev);
    cli_reply_free(&r);
    return code;
}

int cmd_ledger(cli *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: medreg ledger key new --name ORIGIN --out FILE\n"
        "       medreg ledger append --data TEXT\n"
        "       medreg ledger checkpoint\n"
        "       medreg ledger verify --vkey KEY|@FILE [--state FILE] [--index N]\n"
        "  key new: a C2SP signed-note key for a ledger whose checkpoints name ORIGIN; FILE (0600)\n"
        "  holds the private key for medregd, FILE.pub the verifier key that clients configure.\n"
        "  verify: the newest checkpoint must be signed by KEY; with --state, it must be consistent\n"
        "  with the checkpoint kept there (then kept instead); with --index, that entry must be in it.\n"
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
        code = argc == 1 ? fetch(c, "/checkpoint", &r) : EXIT_USAGE;
        if (code == EXIT_OK)
            fwrite(r.body, 1, r.len, stdout);
        cli_reply_free(&r);
    } else if (!strcmp(sub, "verify")) {
        code = verify(c, argc, argv);
    }
    if (code == EXIT_USAGE)
        fputs(usage, stderr);
    return code;
}
