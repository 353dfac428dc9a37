/* The reading half of a ledger client (ledger_client.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../ledger/tlog_io.h"
#include "ledger_client.h"

void cli_ledger_policy_init(cli_ledger_policy *p)
{
    memset(p, 0, sizeof *p);
    p->quorum = -1;
}

int cli_ledger_policy_opt(cli_ledger_policy *p, int opt, const char *arg)
{
    switch (opt) {
    case 'v': p->vkey = arg; return 1;
    case 's': p->state = arg; return 1;
    case 'w':
        if (p->nw == 16 || !cli_ledger_read_key(arg, &p->witnesses[p->nw]) ||
            p->witnesses[p->nw].alg != MR_NOTE_ALG_COSIGNATURE) {
            fprintf(stderr, "medreg: --witness %s: not a witness's cosigning key (at most 16)\n", arg);
            return 0;
        }
        p->nw++;
        return 1;
    case 'q': return cli_number("--quorum", arg, 0, 16, &p->quorum);
    default: return -1;
    }
}

int cli_ledger_policy_done(cli_ledger_policy *p)
{
    if (p->quorum < 0)
        p->quorum = (long)p->nw; /* by default, every configured witness */
    if (!p->vkey || p->quorum > (long)p->nw)
        return 0;
    if (!cli_ledger_read_key(p->vkey, &p->v) || p->v.alg != MR_NOTE_ALG_ED25519) {
        fprintf(stderr, "medreg: --vkey: not a log's verifier key (NAME+ID+KEY, or @FILE)\n");
        return 0;
    }
    return 1;
}

/* The ledger's reply body when the status is 200, else an exit code. */
int cli_ledger_fetch(const cli *c, const char *path, cli_reply *r)
{
    int code = cli_request(c, SVC_LEDGER, "GET", path, NULL, r);
    if (code != EXIT_OK)
        return code;
    if (r->status != 200)
        return cli_finish(c, r, NULL);
    return EXIT_OK;
}

int cli_ledger_hashes(json_t *arr, mr_hash *out, size_t *n)
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

int cli_ledger_read_key(const char *arg, mr_note_verifier *v)
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

int cli_ledger_checkpoint(const cli *c, const cli_ledger_policy *p, int quiet, cli_reply *r, mr_checkpoint *cp)
{
    mr_checkpoint old;
    char *prev = NULL;
    size_t prev_len = 0;
    int code = cli_ledger_fetch(c, "/checkpoint", r);
    if (code != EXIT_OK)
        return code;
    code = EXIT_FAILURE_;
    if (!open_checkpoint(r->body, r->len, &p->v, cp)) {
        fprintf(stderr, "medreg: ledger: the checkpoint is not signed by %s: refused\n", p->v.name);
        return code;
    }
    if (!quiet)
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
        if (!quiet)
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
    if ((code = cli_ledger_fetch(c, path, &pr)) != EXIT_OK)
        return code;
    json_t *j = json_loadb(pr.body, pr.len, 0, NULL);
    int ok = cli_ledger_hashes(json_object_get(j, "hashes"), proof, &n) &&
             mr_merkle_verify_consistency(old.size, cp->size, (const mr_hash *)proof, n, old.root, cp->root) ==
                 MEDREG_OK;
    json_decref(j);
    cli_reply_free(&pr);
    if (!ok) {
        fprintf(stderr, "medreg: ledger: checkpoint %" PRIu64 " is not consistent with the trusted checkpoint %" PRIu64
                        ": the log was rewritten or forked, refused\n", cp->size, old.size);
        return EXIT_FAILURE_;
    }
    if (!quiet)
        printf("consistent with the trusted checkpoint of %" PRIu64 " entries\n", old.size);
    return EXIT_OK;
}

int cli_ledger_entry(const cli *c, const mr_checkpoint *cp, uint64_t idx, uint8_t **data, size_t *len)
{
    char path[96];
    cli_reply er = {0}, ir = {0};
    int code;
    *data = NULL;
    *len = 0;
    snprintf(path, sizeof path, "/v1/ledger/entries/%" PRIu64, idx);
    if ((code = cli_ledger_fetch(c, path, &er)) != EXIT_OK)
        return code;
    snprintf(path, sizeof path, "/v1/ledger/proof/inclusion?index=%" PRIu64 "&size=%" PRIu64, idx, cp->size);
    if ((code = cli_ledger_fetch(c, path, &ir)) != EXIT_OK) {
        cli_reply_free(&er);
        return code;
    }
    json_t *ej = json_loadb(er.body, er.len, 0, NULL), *ij = json_loadb(ir.body, ir.len, 0, NULL);
    const char *d64 = json_string_value(json_object_get(ej, "data"));
    size_t n = 0;
    uint8_t *d = d64 ? malloc(strlen(d64) + 1) : NULL;
    mr_hash proof[MR_PROOF_MAX], leaf;
    int ok = d && mr_unbase64(d64, strlen(d64), d, strlen(d64) + 1, len) &&
             cli_ledger_hashes(json_object_get(ij, "hashes"), proof, &n);
    if (ok) {
        mr_merkle_leaf_hash(d, *len, leaf);
        ok = mr_merkle_verify_inclusion(idx, cp->size, leaf, (const mr_hash *)proof, n, cp->root) == MEDREG_OK;
    }
    json_decref(ej);
    json_decref(ij);
    cli_reply_free(&er);
    cli_reply_free(&ir);
    if (!ok) {
        free(d);
        fprintf(stderr, "medreg: ledger: entry %" PRIu64 " is not in the checkpoint's tree as served: refused\n", idx);
        return EXIT_FAILURE_;
    }
    *data = d;
    return EXIT_OK;
}

int cli_ledger_trust(const cli_ledger_policy *p, const cli_reply *r)
{
    if (p->state && mr_file_write(p->state, r->body, r->len) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s\n", p->state);
        return EXIT_LOCAL;
    }
    return EXIT_OK;
}

int cli_ledger_replay(const cli *c, const mr_checkpoint *cp, cli_ledger_entry_fn fn, void *user)
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
        if ((code = cli_ledger_fetch(c, path, &r)) != EXIT_OK)
            break;
        const uint8_t *e[256];
        size_t el[256];
        if (mr_bundle_entries((const uint8_t *)r.body, r.len, (size_t)w, e, el) != MEDREG_OK) {
            fprintf(stderr, "medreg: ledger: entry bundle %" PRIu64 " is malformed: an invalid step\n", t);
            code = EXIT_FAILURE_;
        }
        for (uint64_t k = 0; code == EXIT_OK && k < w; k++) {
            mr_merkle_leaf_hash(e[k], el[k], leaves[t * 256 + k]);
            if (fn)
                fn(user, t * 256 + k, e[k], el[k]);
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
                (code = cli_ledger_fetch(c, path, &r)) != EXIT_OK) {
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

