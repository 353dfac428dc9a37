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
#include "cli.h"

static int key_new(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"witness", no_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL;
    int opt, code = EXIT_LOCAL;
    uint8_t alg = MR_NOTE_ALG_ED25519;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'n')
            name = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'w')
            alg = MR_NOTE_ALG_COSIGNATURE; /* a witness's cosigning key */
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

/* a key given as text or @FILE (its first line) */
static int read_key(const char *arg, mr_note_verifier *v)
{
    char *k = NULL;
    size_t l = 0;
    if (arg[0] == '@') {
        if (mr_file_read(arg + 1, 1024, &k, &l) != MEDREG_OK)
            return 0;
        k[strcspn(k, "\r\n")] = 0;
    } else if ((k = strdup(arg)) == NULL) {
        return 0;
    }
    int ok = mr_note_verifier_parse(k, v) == MEDREG_OK;
    free(k);
    return ok;
}

/* how many of the witnesses cosigned the note (each cosignature that is
 * present must verify: a bad one makes the whole note fail) */
static int count_cosigners(const char *note, size_t len, const mr_note_verifier *log, const mr_note_verifier *w,
                           size_t nw, int *counted)
{
    mr_note_verifier all[1 + 16];
    int ok[1 + 16];
    size_t tl = 0;
    all[0] = *log;
    for (size_t i = 0; i < nw; i++)
        all[1 + i] = w[i];
    if (mr_note_open(note, len, all, 1 + nw, &tl, ok) != MEDREG_OK || !ok[0])
        return 0;
    *counted = 0;
    for (size_t i = 0; i < nw; i++)
        *counted += ok[1 + i];
    return 1;
}

/* What a client trusts: the log's key, the witnesses and how many must
 * cosign, and the checkpoint it trusted last (a state file). */
typedef struct policy {
    mr_note_verifier v, witnesses[16];
    size_t nw;
    long quorum;
    const char *state;
    const char *index;  /* verify: an entry to prove */
    int once;           /* monitor: one round */
    long interval;      /* monitor: seconds between rounds */
} policy;

static int parse_policy(int argc, char **argv, policy *p)
{
    static const struct option opts[] = {{"vkey", required_argument, NULL, 'v'},
                                         {"state", required_argument, NULL, 's'},
                                         {"index", required_argument, NULL, 'i'},
                                         {"witness", required_argument, NULL, 'w'},
                                         {"quorum", required_argument, NULL, 'q'},
                                         {"once", no_argument, NULL, 'o'},
                                         {"interval", required_argument, NULL, 'I'},
                                         {NULL, 0, NULL, 0}};
    const char *vkey = NULL;
    int opt;
    memset(p, 0, sizeof *p);
    p->quorum = -1;
    p->interval = 10;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'v': vkey = optarg; break;
        case 's': p->state = optarg; break;
        case 'i': p->index = optarg; break;
        case 'w':
            if (p->nw == 16 || !read_key(optarg, &p->witnesses[p->nw]) ||
                p->witnesses[p->nw].alg != MR_NOTE_ALG_COSIGNATURE) {
                fprintf(stderr, "medreg: --witness %s: not a witness's cosigning key (at most 16)\n", optarg);
                return 0;
            }
            p->nw++;
            break;
        case 'q': p->quorum = strtol(optarg, NULL, 10); break;
        case 'o': p->once = 1; break;
        case 'I': p->interval = strtol(optarg, NULL, 10); break;
        default: return 0;
        }
    }
    if (p->quorum < 0)
        p->quorum = (long)p->nw; /* by default, every configured witness */
    if (!vkey || optind != argc || p->quorum > (long)p->nw || p->interval < 1 || p->interval > 86400)
        return 0;
    if (!read_key(vkey, &p->v) || p->v.alg != MR_NOTE_ALG_ED25519) {
        fprintf(stderr, "medreg: --vkey: not a log's verifier key (NAME+ID+KEY, or @FILE)\n");
        return 0;
    }
    return 1;
}

/* The newest checkpoint into *r and *cp, if it is signed by the log,
 * cosigned as the policy says, and consistent with the trusted one. */
static int check_checkpoint(const cli *c, const policy *p, cli_reply *r, mr_checkpoint *cp)
{
    mr_checkpoint old;
    char *prev = NULL;
    size_t prev_len = 0;
    int code = fetch(c, "/checkpoint", r);
    if (code != EXIT_OK)
        return code;
    code = EXIT_FAILURE_;
    if (!open_checkpoint(r->body, r->len, &p->v, cp)) {
        fprintf(stderr, "medreg: ledger: the checkpoint is not signed by %s: refused\n", p->v.name);
        return code;
    }
    printf("checkpoint: %s, %" PRIu64 " entries, signature valid\n", cp->origin, cp->size);
    if (p->nw > 0) {
        int cosigned = 0;
        if (!count_cosigners(r->body, r->len, &p->v, p->witnesses, p->nw, &cosigned)) {
            fprintf(stderr, "medreg: ledger: a witness's cosignature on the checkpoint does not verify: refused\n");
            return code;
        }
        if (cosigned < p->quorum) {
            fprintf(stderr, "medreg: ledger: the checkpoint has %d of the %ld witness cosignatures the policy needs: "
                            "refused\n", cosigned, p->quorum);
            return code;
        }
        printf("cosigned by %d of %zu witnesses (policy: %ld)\n", cosigned, p->nw, p->quorum);
    }
    if (p->state == NULL || mr_file_read(p->state, MR_NOTE_MAX, &prev, &prev_len) != MEDREG_OK)
        return EXIT_OK; /* nothing trusted yet */
    cli_reply pr = {0};
    char path[96];
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0;
    if (!open_checkpoint(prev, prev_len, &p->v, &old)) {
        fprintf(stderr, "medreg: %s does not hold a checkpoint signed by %s\n", p->state, p->v.name);
        free(prev);
        return EXIT_LOCAL;
    }
    free(prev);
    if (old.size > cp->size) {
        fprintf(stderr, "medreg: ledger: the log shrank from %" PRIu64 " to %" PRIu64 " entries: a rollback, refused\n",
                old.size, cp->size);
        return code;
    }
    snprintf(path, sizeof path, "/v1/ledger/proof/consistency?old=%" PRIu64 "&size=%" PRIu64, old.size, cp->size);
    if ((code = fetch(c, path, &pr)) != EXIT_OK)
        return code;
    json_t *j = json_loadb(pr.body, pr.len, 0, NULL);
    int ok = read_hashes(json_object_get(j, "hashes"), proof, &n) &&
             mr_merkle_verify_consistency(old.size, cp->size, (const mr_hash *)proof, n, old.root, cp->root) ==
                 MEDREG_OK;
    json_decref(j);
    cli_reply_free(&pr);
    if (!ok) {
        fprintf(stderr, "medreg: ledger: checkpoint %" PRIu64 " is not consistent with the trusted checkpoint %" PRIu64
                        ": the log was rewritten or forked, refused\n", cp->size, old.size);
        return EXIT_FAILURE_;
    }
    printf("consistent with the trusted checkpoint of %" PRIu64 " entries\n", old.size);
    return EXIT_OK;
}

/* Prove entry index in the tree of cp. */
static int check_inclusion(const cli *c, const mr_checkpoint *cp, const char *index_arg)
{
    char *end = NULL, path[96];
    errno = 0;
    unsigned long long idx = strtoull(index_arg, &end, 10);
    cli_reply er = {0}, ir = {0};
    int code;
    if (errno || end == index_arg || *end || idx >= cp->size) {
        fprintf(stderr, "medreg: --index must be below the checkpoint's size %" PRIu64 "\n", cp->size);
        return EXIT_USAGE;
    }
    snprintf(path, sizeof path, "/v1/ledger/entries/%llu", idx);
    if ((code = fetch(c, path, &er)) != EXIT_OK)
        return code;
    snprintf(path, sizeof path, "/v1/ledger/proof/inclusion?index=%llu&size=%" PRIu64, idx, cp->size);
    if ((code = fetch(c, path, &ir)) != EXIT_OK) {
        cli_reply_free(&er);
        return code;
    }
    json_t *ej = json_loadb(er.body, er.len, 0, NULL), *ij = json_loadb(ir.body, ir.len, 0, NULL);
    const char *d64 = json_string_value(json_object_get(ej, "data"));
    size_t dl = 0, n = 0;
    uint8_t *data = d64 ? malloc(strlen(d64) + 1) : NULL;
    mr_hash proof[MR_PROOF_MAX], leaf;
    int ok = data && mr_unbase64(d64, strlen(d64), data, strlen(d64) + 1, &dl) &&
             read_hashes(json_object_get(ij, "hashes"), proof, &n);
    if (ok) {
        mr_merkle_leaf_hash(data, dl, leaf);
        ok = mr_merkle_verify_inclusion(idx, cp->size, leaf, (const mr_hash *)proof, n, cp->root) == MEDREG_OK;
    }
    free(data);
    json_decref(ej);
    json_decref(ij);
    cli_reply_free(&er);
    cli_reply_free(&ir);
    if (!ok) {
        fprintf(stderr, "medreg: ledger: entry %llu is not in the checkpoint's tree as served: refused\n", idx);
        return EXIT_FAILURE_;
    }
    printf("entry %llu is included in the tree of %" PRIu64 " entries\n", idx, cp->size);
    return EXIT_OK;
}

static int trust(const policy *p, const cli_reply *r)
{
    if (p->state && mr_file_write(p->state, r->body, r->len) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s\n", p->state);
        return EXIT_LOCAL;
    }
    return EXIT_OK;
}

static int verify(cli *c, int argc, char **argv)
{
    policy p;
    mr_checkpoint cp;
    cli_reply r = {0};
    if (!parse_policy(argc, argv, &p) || p.once)
        return EXIT_USAGE;
    int code = check_checkpoint(c, &p, &r, &cp);
    if (code == EXIT_OK && p.index)
        code = check_inclusion(c, &cp, p.index);
    if (code == EXIT_OK)
        code = trust(&p, &r); /* trust this checkpoint from now on */
    cli_reply_free(&r);
    return code;
}

/* Every entry the log serves, through the entry bundles, must rebuild the
 * checkpoint's root: the monitor checks all of it, not a sample. */
static int replay(const cli *c, const mr_checkpoint *cp)
{
    mr_hash *leaves = calloc(cp->size ? cp->size : 1, sizeof *leaves), root;
    int code = EXIT_OK;
    if (leaves == NULL)
        return EXIT_LOCAL;
    for (uint64_t t = 0; t * 256 < cp->size && code == EXIT_OK; t++) {
        uint64_t w = cp->size - t * 256 < 256 ? cp->size - t * 256 : 256;
        char path[96];
        cli_reply r = {0};
        if (mr_tile_path(-1, t, (unsigned)w, path + 1, sizeof path - 1) != MEDREG_OK) {
            code = EXIT_LOCAL;
            break;
        }
        path[0] = '/';
        if ((code = fetch(c, path, &r)) != EXIT_OK)
            break;
        if (mr_bundle_leaves((const uint8_t *)r.body, r.len, (size_t)w, leaves + t * 256) != MEDREG_OK) {
            fprintf(stderr, "medreg: ledger: entry bundle %" PRIu64 " is malformed: an invalid step\n", t);
            code = EXIT_FAILURE_;
        }
        cli_reply_free(&r);
    }
    mr_leaf_array a = {(const mr_hash *)leaves, cp->size};
    if (code == EXIT_OK && (mr_merkle_range_hash(mr_leaf_array_subtree, &a, 0, cp->size, root) != MEDREG_OK ||
                            memcmp(root, cp->root, MR_HASH_BYTES) != 0)) {
        fprintf(stderr, "medreg: ledger: the entries served do not rebuild checkpoint %" PRIu64 "'s root: an invalid step\n",
                cp->size);
        code = EXIT_FAILURE_;
    }
    /* and every hash tile served must hold the rebuilt tree's hashes */
    for (unsigned level = 0; code == EXIT_OK && level < 8 && (cp->size >> (8 * level)) > 0; level++) {
        uint64_t count = cp->size >> (8 * level);
        for (uint64_t t = 0; t * 256 < count && code == EXIT_OK; t++) {
            uint64_t w = count - t * 256 < 256 ? count - t * 256 : 256;
            char path[96];
            cli_reply r = {0};
            path[0] = '/';
            if (mr_tile_path((int)level, t, (unsigned)w, path + 1, sizeof path - 1) != MEDREG_OK ||
                (code = fetch(c, path, &r)) != EXIT_OK) {
                code = code == EXIT_OK ? EXIT_LOCAL : code;
                break;
            }
            int same = r.len == w * MR_HASH_BYTES;
            for (uint64_t k = 0; same && k < w; k++) {
                mr_hash h;
                same = mr_leaf_array_subtree(&a, 8 * level, t * 256 + k, h) == MEDREG_OK &&
                       memcmp(h, r.body + k * MR_HASH_BYTES, MR_HASH_BYTES) == 0;
            }
            if (!same) {
                fprintf(stderr, "medreg: ledger: hash tile %s does not hold the tree's hashes: an invalid step\n",
                        path + 1);
                code = EXIT_FAILURE_;
            }
            cli_reply_free(&r);
        }
    }
    free(leaves);
    return code;
}

static int monitor(cli *c, int argc, char **argv)
{
    policy p;
    if (!parse_policy(argc, argv, &p) || p.index || p.state == NULL)
        return EXIT_USAGE;
    for (;;) {
        mr_checkpoint cp;
        cli_reply r = {0};
        int code = check_checkpoint(c, &p, &r, &cp);
        if (code == EXIT_OK)
            code = replay(c, &cp);
        if (code == EXIT_OK) {
            printf("every entry of the %" PRIu64 " rebuilds the checkpoint, and every hash tile matches\n", cp.size);
            code = trust(&p, &r);
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
    if ((code = fetch(c, "/checkpoint", &cr)) != EXIT_OK)
        return code;
    /* the size the proof is for: the checkpoint's second line */
    const char *nl = memchr(cr.body, '\n', cr.len);
    unsigned long long size = nl ? strtoull(nl + 1, NULL, 10) : 0;
    snprintf(path, sizeof path, "/v1/ledger/proof/inclusion?index=%llu&size=%llu", idx, size);
    if ((code = fetch(c, path, &ir)) != EXIT_OK) {
        cli_reply_free(&cr);
        return code;
    }
    json_t *j = json_loadb(ir.body, ir.len, 0, NULL);
    code = EXIT_SERVER;
    if (read_hashes(json_object_get(j, "hashes"), proof, &n) &&
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
            if (nw == 16 || !read_key(optarg, &w[nw]) || w[nw].alg != MR_NOTE_ALG_COSIGNATURE)
                return EXIT_USAGE;
            nw++;
            break;
        case 'q': quorum = strtol(optarg, NULL, 10); break;
        case 'd': data = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (quorum < 0)
        quorum = (long)nw;
    if (!vkey || !data || optind + 1 != argc || quorum > (long)nw || !read_key(vkey, &v))
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
    int code = fetch(c, "/checkpoint", &cr);
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
            if ((code = fetch(c, url, &r)) != EXIT_OK)
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
        "       medreg ledger append --data TEXT\n"
        "       medreg ledger checkpoint\n"
        "       medreg ledger verify --vkey KEY|@FILE [--state FILE] [--index N]\n"
        "                            [--witness KEY|@FILE ... [--quorum K]]\n"
        "       medreg ledger receipt --index N --out FILE.tlog-proof\n"
        "       medreg ledger check-receipt --vkey KEY [--witness KEY ... --quorum K] --data TEXT FILE\n"
        "       medreg ledger export DIR\n"
        "       medreg ledger monitor --vkey KEY|@FILE --state FILE [--witness ... --quorum K] [--once]\n"
        "                            [--interval SECONDS]\n"
        "  key new: a C2SP signed-note key for a ledger whose checkpoints name ORIGIN; FILE (0600)\n"
        "  holds the private key for medregd, FILE.pub the verifier key that clients configure.\n"
        "  --witness: a witness's cosigning key (C2SP tlog-cosignature) instead; NAME is the witness's.\n"
        "  verify: the newest checkpoint must be signed by KEY; with --state, it must be consistent\n"
        "  with the checkpoint kept there (then kept instead); with --index, that entry must be in it;\n"
        "  with --witness, at least K (default: all) of those witnesses must have cosigned it.\n"
        "  monitor: follow the log (every --interval seconds, or --once): each checkpoint checked as\n"
        "  verify does, and every entry fetched and hashed again to rebuild its root and every hash tile.\n"
        "  receipt: a C2SP tlog-proof of one entry, checked offline later with check-receipt.\n"
        "  export: the checkpoint, tiles and entry bundles as files for any static web server.\n"
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
    } else if (!strcmp(sub, "monitor")) {
        code = monitor(c, argc, argv);
    } else if (!strcmp(sub, "receipt")) {
        code = receipt(c, argc, argv);
    } else if (!strcmp(sub, "check-receipt")) {
        code = check_receipt(argc, argv);
    } else if (!strcmp(sub, "export")) {
        mkdir(argc == 2 ? argv[1] : ".", 0755);
        code = export_tiles(c, argc, argv);
    }
    if (code == EXIT_USAGE)
        fputs(usage, stderr);
    return code;
}
