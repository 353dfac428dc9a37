/* The ledger's log (log.h). The tree lives in memory as one array of
 * complete-subtree hashes per height, rebuilt from the stored entries at
 * start-up (about 64 bytes per entry): every proof and tile is a lookup.
 * `tree` may run ahead of `size` (the newest signed checkpoint) between an
 * integration's hashing and its checkpoint's commit; everything served
 * stays within `size`. */
#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/secret.h"

#define LEVELS 64
#define PAGE 10000 /* entries read per query */

struct mr_ledger {
    mr_db *db;
    char origin[MR_NOTE_NAME_MAX + 1];
    mr_note_signer signer;
    pthread_rwlock_t lock; /* levels, tree, size, note */
    pthread_mutex_t seq;   /* one integration at a time */
    mr_hash *lv[LEVELS];
    uint64_t cap[LEVELS];
    uint64_t tree; /* leaves hashed into lv */
    uint64_t size; /* leaves under the newest checkpoint */
    char *note;
    size_t note_len;
    mr_cosign_fn cosign;
    void *cosign_ctx;
};

void mr_ledger_set_cosigner(mr_ledger *l, mr_cosign_fn fn, void *ctx)
{
    l->cosign = fn;
    l->cosign_ctx = ctx;
}

/* the complete subtree (level, index), within the hashed tree */
static medreg_err subtree(void *ctx, unsigned level, uint64_t index, mr_hash out)
{
    const mr_ledger *l = ctx;
    if (level >= LEVELS || index >= (l->tree >> level))
        return MEDREG_ERR_NOTFOUND;
    memcpy(out, l->lv[level][index], MR_HASH_BYTES);
    return MEDREG_OK;
}

static medreg_err push(mr_hash **arr, uint64_t *cap, uint64_t n, const mr_hash h)
{
    if (n == *cap) {
        uint64_t c = *cap ? *cap * 2 : 1024;
        mr_hash *a = realloc(*arr, c * sizeof *a);
        if (a == NULL)
            return MEDREG_ERR_NOMEM;
        *arr = a;
        *cap = c;
    }
    memcpy((*arr)[n], h, MR_HASH_BYTES);
    return MEDREG_OK;
}

/* one more leaf: every subtree it completes is hashed too (write lock held) */
static medreg_err add_leaf(mr_ledger *l, const mr_hash leaf)
{
    medreg_err rc = push(&l->lv[0], &l->cap[0], l->tree, leaf);
    uint64_t n = l->tree + 1;
    for (unsigned h = 0; rc == MEDREG_OK && h + 1 < LEVELS && (n >> h) % 2 == 0 && (n >> h) > 0; h++) {
        mr_hash node;
        uint64_t i = (n >> h) - 2;
        mr_merkle_node_hash(l->lv[h][i], l->lv[h][i + 1], node);
        rc = push(&l->lv[h + 1], &l->cap[h + 1], (n >> (h + 1)) - 1, node);
    }
    if (rc == MEDREG_OK)
        l->tree = n;
    return rc;
}

/* hash and add the stored entries [from, from + max) that exist; *added */
static medreg_err load_entries(mr_ledger *l, mr_conn *c, uint64_t from, uint64_t max, size_t *added)
{
    medreg_err rc = MEDREG_OK;
    *added = 0;
    while (rc == MEDREG_OK && *added < max) {
        mr_rows *r = NULL;
        uint64_t want = max - *added < PAGE ? max - *added : PAGE;
        mr_param p[2] = {MR_INT(from + *added), MR_INT(want)};
        if ((rc = mr_conn_exec(c, "SELECT idx, data FROM ledger_entries WHERE idx >= $1 ORDER BY idx LIMIT $2", p, 2,
                               &r)) != MEDREG_OK)
            break;
        size_t n = mr_rows_count(r);
        for (size_t i = 0; i < n && rc == MEDREG_OK; i++) {
            size_t dl = 0;
            const uint8_t *d = mr_rows_blob(r, i, 1, &dl);
            if ((uint64_t)mr_rows_int(r, i, 0) != from + *added) {
                rc = MEDREG_ERR_CONFLICT; /* a gap: entries are numbered without holes */
                break;
            }
            mr_hash leaf;
            mr_merkle_leaf_hash(d, dl, leaf);
            pthread_rwlock_wrlock(&l->lock);
            rc = add_leaf(l, leaf);
            pthread_rwlock_unlock(&l->lock);
            if (rc == MEDREG_OK)
                (*added)++;
        }
        mr_rows_free(r);
        if (n < want)
            break;
    }
    return rc;
}

static medreg_err root_of(mr_ledger *l, uint64_t size, mr_hash root)
{
    return mr_merkle_range_hash(subtree, l, 0, size, root);
}

medreg_err mr_ledger_open(mr_db *db, const char *origin, mr_note_signer *signer, mr_ledger **out, char **why)
{
    mr_ledger *l = calloc(1, sizeof *l);
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc = MEDREG_OK;
    *out = NULL;
    *why = NULL;
    if (l == NULL) {
        mr_note_signer_clear(signer);
        return MEDREG_ERR_NOMEM;
    }
    l->db = db;
    snprintf(l->origin, sizeof l->origin, "%s", origin);
    l->signer = *signer; /* the ledger owns the key from here, whatever happens */
    memset(signer, 0, sizeof *signer);
    pthread_rwlock_init(&l->lock, NULL);
    pthread_mutex_init(&l->seq, NULL);
    if ((rc = mr_db_acquire(db, &c)) != MEDREG_OK)
        goto out;
    if ((rc = mr_conn_exec(c, "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1 /* scan: one row, the key's end */", NULL, 0, &r)) !=
        MEDREG_OK)
        goto out;
    if (mr_rows_count(r) == 1) {
        /* the newest checkpoint must be ours, and the entries must reproduce it */
        const char *note = mr_rows_text(r, 0, 1);
        size_t tl = 0;
        int ok = 0;
        mr_checkpoint cp;
        mr_hash root;
        size_t added = 0;
        if (mr_note_open(note, strlen(note), &l->signer.v, 1, &tl, &ok) != MEDREG_OK ||
            mr_checkpoint_parse(note, tl, &cp) != MEDREG_OK || strcmp(cp.origin, l->origin) != 0 ||
            cp.size != (uint64_t)mr_rows_int(r, 0, 0)) {
            if (asprintf(why, "the newest stored checkpoint is not signed by this ledger's key for %s", l->origin) < 0)
                *why = NULL;
            rc = MEDREG_ERR_VERIFY;
            goto out;
        }
        /* fewer entries than the checkpoint covers leave root_of without its subtrees */
        if ((rc = load_entries(l, c, 0, cp.size, &added)) != MEDREG_OK || root_of(l, cp.size, root) != MEDREG_OK ||
            memcmp(root, cp.root, MR_HASH_BYTES) != 0) {
            if (asprintf(why, "the stored entries do not reproduce checkpoint %" PRIu64 " (%zu entries read): "
                              "an entry was changed or removed", cp.size, added) < 0)
                *why = NULL;
            rc = MEDREG_ERR_VERIFY;
            goto out;
        }
        l->size = cp.size;
        if ((l->note = strdup(note)) == NULL) {
            rc = MEDREG_ERR_NOMEM;
            goto out;
        }
        l->note_len = strlen(note);
    }
    *out = l;
    l = NULL;
out:
    mr_rows_free(r);
    mr_db_release(db, c);
    mr_ledger_close(l);
    return rc;
}

void mr_ledger_close(mr_ledger *l)
{
    if (l == NULL)
        return;
    for (unsigned h = 0; h < LEVELS; h++)
        free(l->lv[h]);
    free(l->note);
    mr_note_signer_clear(&l->signer);
    pthread_rwlock_destroy(&l->lock);
    pthread_mutex_destroy(&l->seq);
    free(l);
}

medreg_err mr_ledger_append(mr_conn *c, const uint8_t *data, size_t len, int64_t now, uint64_t *index)
{
    mr_hash leaf;
    mr_rows *r = NULL;
    if (len > MR_LEDGER_ENTRY_MAX || (data == NULL && len))
        return MEDREG_ERR_TOOBIG;
    mr_merkle_leaf_hash(data, len, leaf);
    /* the next index inside the writer's transaction: no gaps, no reuse */
    mr_param p[3] = {MR_BLOB(data, len), MR_BLOB(leaf, MR_HASH_BYTES), MR_INT(now)};
    medreg_err rc = mr_conn_exec(c,
                                 "INSERT INTO ledger_entries (idx, data, leaf, at) VALUES "
                                 "((SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger_entries), $1, $2, $3) RETURNING idx",
                                 p, 3, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) != 1)
        rc = MEDREG_ERR_DB;
    if (rc == MEDREG_OK)
        *index = (uint64_t)mr_rows_int(r, 0, 0);
    mr_rows_free(r);
    return rc;
}

medreg_err mr_ledger_integrate(mr_ledger *l, size_t max, size_t *added)
{
    mr_conn *c = NULL;
    medreg_err rc;
    char *text = NULL, *note = NULL;
    size_t tl = 0;
    *added = 0;
    pthread_mutex_lock(&l->seq);
    if ((rc = mr_db_acquire(l->db, &c)) != MEDREG_OK)
        goto out;
    size_t n = 0;
    if ((rc = load_entries(l, c, l->tree, max, &n)) != MEDREG_OK)
        goto out;
    if (l->tree == l->size)
        goto out; /* nothing new: no new checkpoint */
    mr_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "%s", l->origin);
    cp.size = l->tree;
    pthread_rwlock_rdlock(&l->lock);
    rc = root_of(l, cp.size, cp.root);
    pthread_rwlock_unlock(&l->lock);
    if (rc != MEDREG_OK || (rc = mr_checkpoint_format(&cp, &text, &tl)) != MEDREG_OK ||
        (rc = mr_note_sign(text, tl, &l->signer, &note)) != MEDREG_OK)
        goto out;
    if (l->cosign) { /* witnesses cosign before the checkpoint is published */
        char *lines = l->cosign(l->cosign_ctx, l, note, strlen(note), cp.size), *both = NULL;
        if (lines && *lines && mr_note_add_line(note, strlen(note), lines, &both) == MEDREG_OK) {
            free(note);
            note = both;
        }
        free(lines);
    }
    /* published only once durable, and only over entries read from storage */
    mr_param p[3] = {MR_INT(cp.size), MR_TEXT(note), MR_INT(time(NULL))};
    if ((rc = mr_conn_begin(c)) != MEDREG_OK)
        goto out;
    rc = mr_conn_exec(c, "INSERT INTO ledger_checkpoints (size, note, at) VALUES ($1, $2, $3)", p, 3, NULL);
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_conn_rollback(c);
        goto out;
    }
    pthread_rwlock_wrlock(&l->lock);
    *added = (size_t)(cp.size - l->size);
    l->size = cp.size;
    free(l->note);
    l->note = note;
    l->note_len = strlen(note);
    note = NULL;
    pthread_rwlock_unlock(&l->lock);
out:
    free(text);
    free(note);
    mr_db_release(l->db, c);
    pthread_mutex_unlock(&l->seq);
    return rc;
}

medreg_err mr_ledger_checkpoint(mr_ledger *l, char **note, size_t *len, uint64_t *size)
{
    medreg_err rc = MEDREG_ERR_NOTFOUND;
    *note = NULL;
    pthread_rwlock_rdlock(&l->lock);
    if (l->note) {
        *note = malloc(l->note_len + 1);
        rc = *note ? MEDREG_OK : MEDREG_ERR_NOMEM;
        if (*note) {
            memcpy(*note, l->note, l->note_len + 1);
            *len = l->note_len;
            *size = l->size;
        }
    }
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

medreg_err mr_ledger_inclusion(mr_ledger *l, uint64_t index, uint64_t size, mr_hash *proof, size_t *n)
{
    medreg_err rc = MEDREG_ERR_NOTFOUND;
    pthread_rwlock_rdlock(&l->lock);
    if (size <= l->size && index < size)
        rc = mr_merkle_inclusion_proof(subtree, l, index, size, proof, n);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

/* a consistency proof up to the published tree, or up to the hashed one */
static medreg_err consistency(mr_ledger *l, int hashed, uint64_t old_size, uint64_t size, mr_hash *proof, size_t *n)
{
    medreg_err rc = MEDREG_ERR_NOTFOUND;
    pthread_rwlock_rdlock(&l->lock);
    if (size <= (hashed ? l->tree : l->size) && old_size <= size)
        rc = mr_merkle_consistency_proof(subtree, l, old_size, size, proof, n);
    pthread_rwlock_unlock(&l->lock);
    return rc;
}

medreg_err mr_ledger_consistency(mr_ledger *l, uint64_t old_size, uint64_t size, mr_hash *proof, size_t *n)
{
    return consistency(l, 0, old_size, size, proof, n);
}

medreg_err mr_ledger_consistency_hashed(mr_ledger *l, uint64_t old_size, uint64_t size, mr_hash *proof, size_t *n)
{
    return consistency(l, 1, old_size, size, proof, n);
}

medreg_err mr_ledger_tile(mr_ledger *l, int level, uint64_t index, unsigned width, uint8_t **data, size_t *len)
{
    medreg_err rc = MEDREG_ERR_NOTFOUND;
    *data = NULL;
    *len = 0;
    if (width < 1 || width > MR_LEDGER_TILE_WIDTH || level < -1 || level > 7 || index > (UINT64_MAX >> 9))
        return MEDREG_ERR_INVALID;
    uint64_t first = index * MR_LEDGER_TILE_WIDTH;
    if (level >= 0) {
        pthread_rwlock_rdlock(&l->lock);
        unsigned h = (unsigned)level * 8;
        uint64_t avail = h < LEVELS ? l->size >> h : 0;
        /* a tile exists at exactly its width: full, or the partial one of today */
        uint64_t have = avail > first ? avail - first : 0;
        if (have > MR_LEDGER_TILE_WIDTH)
            have = MR_LEDGER_TILE_WIDTH;
        if (have >= width && (*data = malloc((size_t)width * MR_HASH_BYTES)) != NULL) {
            memcpy(*data, l->lv[h][first], (size_t)width * MR_HASH_BYTES);
            *len = (size_t)width * MR_HASH_BYTES;
            rc = MEDREG_OK;
        } else if (have >= width) {
            rc = MEDREG_ERR_NOMEM;
        }
        pthread_rwlock_unlock(&l->lock);
        return rc;
    }
    /* an entry bundle: u16 length ‖ entry, for each entry */
    uint64_t size;
    pthread_rwlock_rdlock(&l->lock);
    size = l->size;
    pthread_rwlock_unlock(&l->lock);
    if (first >= size || size - first < width)
        return MEDREG_ERR_NOTFOUND;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    if ((rc = mr_db_acquire(l->db, &c)) != MEDREG_OK)
        return rc;
    mr_param p[2] = {MR_INT(first), MR_INT(first + width)};
    rc = mr_conn_exec(c, "SELECT idx, data FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx", p, 2, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) != width)
        rc = MEDREG_ERR_CONFLICT;
    size_t total = 0;
    for (size_t i = 0; rc == MEDREG_OK && i < width; i++) {
        size_t dl = 0;
        (void)mr_rows_blob(r, i, 1, &dl);
        total += 2 + dl;
    }
    if (rc == MEDREG_OK && (*data = malloc(total ? total : 1)) == NULL)
        rc = MEDREG_ERR_NOMEM;
    for (size_t i = 0, off = 0; rc == MEDREG_OK && i < width; i++) {
        size_t dl = 0;
        const uint8_t *d = mr_rows_blob(r, i, 1, &dl);
        (*data)[off] = (uint8_t)(dl >> 8);
        (*data)[off + 1] = (uint8_t)dl;
        if (dl)
            memcpy(*data + off + 2, d, dl);
        off += 2 + dl;
    }
    if (rc == MEDREG_OK)
        *len = total;
    mr_rows_free(r);
    mr_db_release(l->db, c);
    return rc;
}

medreg_err mr_ledger_entry(mr_ledger *l, uint64_t index, uint8_t **data, size_t *len)
{
    uint64_t size;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc;
    *data = NULL;
    pthread_rwlock_rdlock(&l->lock);
    size = l->size;
    pthread_rwlock_unlock(&l->lock);
    if (index >= size)
        return MEDREG_ERR_NOTFOUND;
    if ((rc = mr_db_acquire(l->db, &c)) != MEDREG_OK)
        return rc;
    mr_param p[1] = {MR_INT(index)};
    rc = mr_conn_exec(c, "SELECT data FROM ledger_entries WHERE idx = $1", p, 1, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) != 1)
        rc = MEDREG_ERR_NOTFOUND;
    if (rc == MEDREG_OK) {
        size_t dl = 0;
        const uint8_t *d = mr_rows_blob(r, 0, 0, &dl);
        if ((*data = malloc(dl ? dl : 1)) == NULL)
            rc = MEDREG_ERR_NOMEM;
        else {
            if (dl)
                memcpy(*data, d, dl);
            *len = dl;
        }
    }
    mr_rows_free(r);
    mr_db_release(l->db, c);
    return rc;
}
