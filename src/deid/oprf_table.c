/* The run's distinct PSN inputs, their blinded elements and, once
 * evaluated, their unblinded elements. No input is kept: an entry is a
 * keyed BLAKE2b of its input, one 32-byte slot and a flag byte (and, in a
 * BLIND table, the blinded element that matches the service's answer); a
 * lookup brings its input, and the output is Finalize's hash of the input
 * and the unblinded element.
 *
 * A run of 2^24 patients must fit a hospital's desktop, so the entries lie
 * packed in blocks (65 bytes each, 97 in a BLIND table), found while they
 * are collected through an open-addressing index of 4-byte positions. Once
 * every input is in, the entries are sorted in place into key order (the
 * request's order, and the positions IN_ORDER answers name) and the index
 * is dropped: a lookup is then a binary search. A glibc tree took about
 * 120 bytes an entry (its node, a pointer array and malloc's rounding). */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "oprf_table.h"

/* an entry's fields, at these offsets of its stride */
enum {
    KEY = 0,  /* BLAKE2b(lookup key, input): the sort order */
    SLOT = 32, /* PREPARE: the blinded element, all the request needs. BLIND
                * and IN_ORDER: the blind (secret, from the seed) until the
                * answer comes, then the evaluated element unblinded (secret:
                * the output is its hash with the input). */
    FLAGS = 64,
    BLINDED = 65, /* BLIND: the blinded element, to match answers */
    LEAN_STRIDE = 65,
    BLIND_STRIDE = 65 + MR_OPRF_ELEMENT_BYTES
};
enum { DONE = 1, QUEUED = 2 }; /* QUEUED: in the batch being completed */

#define BLOCK_SHIFT 12 /* 4,096 entries a block: 260 or 388 KiB */
#define BLOCK_ENTRIES ((size_t)1 << BLOCK_SHIFT)
#define INDEX_FIRST 1024
#define ENTRIES_MAX ((size_t)UINT32_MAX - 1) /* the index holds position + 1 */

struct mr_oprf_table {
    uint8_t *secrets; /* sodium_malloc: blind key ‖ lookup key */
    pthread_mutex_t lock;
    mr_oprf_table_mode mode;
    size_t stride;
    uint8_t **blocks;
    size_t nblocks, blocks_cap;
    size_t count, missing;
    uint32_t *index; /* while collecting: position + 1, or 0 for none */
    size_t index_cap; /* a power of two, at most 3/4 full */
    int sorted;       /* in key order: the index is gone, no entry comes */
    uint32_t *by_blinded; /* BLIND, once sealed: positions in element order */
};

static uint8_t *entry_at(const mr_oprf_table *t, size_t i)
{
    return t->blocks[i >> BLOCK_SHIFT] + (i & (BLOCK_ENTRIES - 1)) * t->stride;
}

static const uint8_t *entry_blinded(const mr_oprf_table *t, const uint8_t *e)
{
    return e + (t->mode == MR_OPRF_TABLE_PREPARE ? SLOT : BLINDED);
}

medreg_err mr_oprf_table_new(const uint8_t seed[32], mr_oprf_table_mode mode, mr_oprf_table **out)
{
    if (mode != MR_OPRF_TABLE_BLIND && mode != MR_OPRF_TABLE_IN_ORDER && mode != MR_OPRF_TABLE_PREPARE)
        return MEDREG_ERR_INVALID;
    mr_oprf_table *t = calloc(1, sizeof *t);
    if (t == NULL || (t->secrets = sodium_malloc(64)) == NULL ||
        (t->index = calloc(INDEX_FIRST, sizeof *t->index)) == NULL) {
        if (t != NULL && t->secrets != NULL)
            sodium_free(t->secrets);
        free(t);
        return MEDREG_ERR_NOMEM;
    }
    /* two independent keys from the seed: one for blinds, one for lookups */
    crypto_kdf_derive_from_key(t->secrets, 32, 1, "mr-oprfb", seed);
    crypto_kdf_derive_from_key(t->secrets + 32, 32, 2, "mr-oprfl", seed);
    pthread_mutex_init(&t->lock, NULL);
    t->mode = mode;
    t->stride = mode == MR_OPRF_TABLE_BLIND ? BLIND_STRIDE : LEAN_STRIDE;
    t->index_cap = INDEX_FIRST;
    *out = t;
    return MEDREG_OK;
}

void mr_oprf_table_free(mr_oprf_table *t)
{
    if (t == NULL)
        return;
    for (size_t b = 0; b < t->nblocks; b++) {
        mr_wipe(t->blocks[b], BLOCK_ENTRIES * t->stride); /* the slots are secret */
        free(t->blocks[b]);
    }
    free(t->blocks);
    free(t->index);
    free(t->by_blinded);
    sodium_free(t->secrets);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static void lookup_key(const mr_oprf_table *t, const uint8_t *input, size_t len, uint8_t key[32])
{
    crypto_generichash(key, 32, input, len, t->secrets + 32, 32);
}

/* the input's blind, from the seed: the same on the day of --prepare and
 * on the day of --finish */
static medreg_err derive_blind(const mr_oprf_table *t, const uint8_t *input, size_t len,
                               uint8_t r[MR_OPRF_SCALAR_BYTES])
{
    uint8_t wide[64];
    crypto_generichash(wide, sizeof wide, input, len, t->secrets, 32);
    crypto_core_ristretto255_scalar_reduce(r, wide);
    mr_wipe(wide, sizeof wide);
    return sodium_is_zero(r, MR_OPRF_SCALAR_BYTES) ? MEDREG_ERR_CRYPTO : MEDREG_OK;
}

/* The index's cell for key: the one that holds its entry, or the empty one
 * where it would go. The keys are uniform (a keyed hash), so their first
 * bytes are the hash. */
static uint32_t *index_cell(const mr_oprf_table *t, uint32_t *index, size_t cap, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    for (size_t i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (index[i] == 0 || memcmp(entry_at(t, index[i] - 1) + KEY, key, 32) == 0)
            return &index[i];
}

static medreg_err index_grow(mr_oprf_table *t)
{
    size_t cap = t->index_cap * 2;
    uint32_t *index = calloc(cap, sizeof *index);
    if (index == NULL)
        return MEDREG_ERR_NOMEM;
    for (size_t i = 0; i < t->index_cap; i++)
        if (t->index[i] != 0)
            *index_cell(t, index, cap, entry_at(t, t->index[i] - 1) + KEY) = t->index[i];
    free(t->index);
    t->index = index;
    t->index_cap = cap;
    return MEDREG_OK;
}

/* Under the lock: copy entry e in as the last, unless its key is there. */
static medreg_err append(mr_oprf_table *t, const uint8_t *e)
{
    if (t->count >= ENTRIES_MAX)
        return MEDREG_ERR_TOOBIG;
    if ((t->count + 1) * 4 > t->index_cap * 3 && index_grow(t) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    uint32_t *cell = index_cell(t, t->index, t->index_cap, e + KEY);
    if (*cell != 0)
        return MEDREG_OK; /* another thread added it meanwhile */
    if ((t->count >> BLOCK_SHIFT) == t->nblocks) {
        if (t->nblocks == t->blocks_cap) {
            size_t cap = t->blocks_cap ? t->blocks_cap * 2 : 16;
            uint8_t **blocks = realloc(t->blocks, cap * sizeof *blocks);
            if (blocks == NULL)
                return MEDREG_ERR_NOMEM;
            t->blocks = blocks;
            t->blocks_cap = cap;
        }
        if ((t->blocks[t->nblocks] = malloc(BLOCK_ENTRIES * t->stride)) == NULL)
            return MEDREG_ERR_NOMEM;
        t->nblocks++;
    }
    memcpy(entry_at(t, t->count), e, t->stride);
    *cell = (uint32_t)++t->count;
    t->missing++;
    return MEDREG_OK;
}

medreg_err mr_oprf_table_add(mr_oprf_table *t, const uint8_t *input, size_t len)
{
    uint8_t e[BLIND_STRIDE] = {0};
    uint8_t blind[MR_OPRF_SCALAR_BYTES], used[MR_OPRF_SCALAR_BYTES];
    medreg_err rc = MEDREG_OK;

    if (len > MR_OPRF_INPUT_MAX)
        return MEDREG_ERR_TOOBIG;
    lookup_key(t, input, len, e + KEY);
    pthread_mutex_lock(&t->lock);
    int sorted = t->sorted, known = !sorted && *index_cell(t, t->index, t->index_cap, e + KEY) != 0;
    pthread_mutex_unlock(&t->lock);
    if (sorted)
        return MEDREG_ERR_CONFLICT;
    if (known)
        return MEDREG_OK;

    /* blind outside the lock: the expensive part, in the caller's thread */
    rc = derive_blind(t, input, len, blind);
    if (rc == MEDREG_OK && t->mode != MR_OPRF_TABLE_IN_ORDER)
        rc = mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, input, len, blind, used,
                           e + (t->mode == MR_OPRF_TABLE_PREPARE ? SLOT : BLINDED));
    if (t->mode != MR_OPRF_TABLE_PREPARE)
        memcpy(e + SLOT, blind, sizeof blind);
    if (rc == MEDREG_OK) {
        pthread_mutex_lock(&t->lock);
        rc = t->sorted ? MEDREG_ERR_CONFLICT : append(t, e);
        pthread_mutex_unlock(&t->lock);
    }
    mr_wipe(blind, sizeof blind);
    mr_wipe(used, sizeof used);
    mr_wipe(e, sizeof e);
    return rc;
}

size_t mr_oprf_table_count(const mr_oprf_table *t)
{
    return t->count;
}

size_t mr_oprf_table_missing(const mr_oprf_table *t)
{
    return t->missing;
}

typedef struct order_by {
    const mr_oprf_table *t;
    size_t field; /* KEY, or where the blinded element is */
} order_by;

static int cmp_positions(const void *a, const void *b, void *ctx)
{
    const order_by *o = ctx;
    return memcmp(entry_at(o->t, *(const uint32_t *)a) + o->field, entry_at(o->t, *(const uint32_t *)b) + o->field,
                  32);
}

/* Positions 0 .. count - 1 sorted by a field: malloc'ed. The index, if
 * any, is dropped once they are allocated: sorting needs a copy of them,
 * and the index is no longer needed. */
static medreg_err sorted_positions(mr_oprf_table *t, size_t field, uint32_t **out)
{
    order_by o = {t, field};
    if ((*out = malloc((t->count ? t->count : 1) * sizeof **out)) == NULL)
        return MEDREG_ERR_NOMEM;
    free(t->index);
    t->index = NULL;
    for (size_t i = 0; i < t->count; i++)
        (*out)[i] = (uint32_t)i;
    qsort_r(*out, t->count, sizeof **out, cmp_positions, &o);
    return MEDREG_OK;
}

/* Put the entries in key order, once every input is added: entry i moves
 * to where order says, following each cycle of the permutation with one
 * entry in hand, so no second copy of the table is ever made. */
static medreg_err in_key_order(mr_oprf_table *t)
{
    uint32_t *order = NULL;
    uint8_t held[BLIND_STRIDE];
    if (t->sorted)
        return MEDREG_OK;
    if (sorted_positions(t, KEY, &order) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    t->sorted = 1; /* the index is gone: no entry comes any more */
    for (size_t i = 0; i < t->count; i++) {
        if (order[i] == i)
            continue;
        /* position j takes the entry at order[j], until the cycle closes */
        memcpy(held, entry_at(t, i), t->stride);
        size_t j = i;
        while (order[j] != i) {
            size_t from = order[j];
            memcpy(entry_at(t, j), entry_at(t, from), t->stride);
            order[j] = (uint32_t)j;
            j = from;
        }
        memcpy(entry_at(t, j), held, t->stride);
        order[j] = (uint32_t)j;
    }
    mr_wipe(held, sizeof held);
    free(order);
    return MEDREG_OK;
}

/* Binary search for the entry whose field is target, over the entries
 * themselves (key order) or through positions sorted by that field. */
static uint8_t *find_sorted(const mr_oprf_table *t, const uint32_t *positions, size_t field, const uint8_t *target)
{
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint8_t *e = entry_at(t, positions ? positions[mid] : mid);
        int c = memcmp(target, e + field, 32);
        if (c == 0)
            return e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

medreg_err mr_oprf_table_seal(mr_oprf_table *t)
{
    if (in_key_order(t) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    /* a BLIND table finds an answer's entry by its blinded element */
    if (t->mode == MR_OPRF_TABLE_BLIND && t->by_blinded == NULL &&
        sorted_positions(t, BLINDED, &t->by_blinded) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    return MEDREG_OK;
}

medreg_err mr_oprf_table_digests(mr_oprf_table *t, uint8_t entries[32], uint8_t *request)
{
    crypto_hash_sha256_state a, b;
    if (request != NULL && t->mode == MR_OPRF_TABLE_IN_ORDER)
        return MEDREG_ERR_CONFLICT;
    if (mr_oprf_table_seal(t) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    crypto_hash_sha256_init(&a);
    crypto_hash_sha256_init(&b);
    for (size_t i = 0; i < t->count; i++) {
        const uint8_t *e = entry_at(t, i);
        crypto_hash_sha256_update(&a, e + KEY, 32);
        if (request != NULL)
            crypto_hash_sha256_update(&b, entry_blinded(t, e), MR_OPRF_ELEMENT_BYTES);
    }
    crypto_hash_sha256_final(&a, entries);
    if (request != NULL)
        crypto_hash_sha256_final(&b, request);
    return MEDREG_OK;
}

const uint8_t *mr_oprf_table_request_at(const mr_oprf_table *t, size_t i)
{
    if (t->mode == MR_OPRF_TABLE_IN_ORDER || !t->sorted || i >= t->count)
        return NULL;
    return entry_blinded(t, entry_at(t, i));
}

/* Unblind the n entries that evaluated answers (one inversion for all
 * their blinds), all or none: each entry's blind becomes its unblinded
 * element and it is done. The caller holds the entries: queued (BLIND) or
 * at its own positions (IN_ORDER). */
static medreg_err unblind_entries(mr_oprf_table *t, uint8_t *const *e, const uint8_t *const *evaluated, size_t n)
{
    medreg_err rc = MEDREG_OK;
    mr_oprf_unblind *items = malloc((n ? n : 1) * sizeof *items);
    uint8_t(*unblinded)[MR_OPRF_ELEMENT_BYTES] = sodium_malloc((n ? n : 1) * MR_OPRF_ELEMENT_BYTES);
    if (items == NULL || unblinded == NULL)
        rc = MEDREG_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++)
        items[i] = (mr_oprf_unblind){e[i] + SLOT, evaluated[i], unblinded[i]};
    if (rc == MEDREG_OK)
        rc = mr_oprf_unblind_many(items, n);
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n; i++) {
        e[i][FLAGS] &= (uint8_t)~QUEUED;
        if (rc != MEDREG_OK)
            continue; /* the blinds stay: the batch may come again */
        memcpy(e[i] + SLOT, unblinded[i], MR_OPRF_ELEMENT_BYTES);
        e[i][FLAGS] |= DONE;
        t->missing--;
    }
    pthread_mutex_unlock(&t->lock);
    if (unblinded)
        sodium_free(unblinded); /* wipes them */
    free(items);
    return rc;
}

medreg_err mr_oprf_table_complete(mr_oprf_table *t, const uint8_t pk[MR_OPRF_ELEMENT_BYTES],
                                  const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                  const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                  const uint8_t proof[MR_OPRF_PROOF_BYTES])
{
    medreg_err rc;
    if (t->mode != MR_OPRF_TABLE_BLIND || t->by_blinded == NULL)
        return MEDREG_ERR_CONFLICT;
    /* nothing is used before the whole batch's proof holds */
    if ((rc = mr_oprf_verify(pk, blinded, evaluated, n, proof)) != MEDREG_OK)
        return rc;
    const uint8_t **ev = malloc((n ? n : 1) * sizeof *ev);
    uint8_t **which = malloc((n ? n : 1) * sizeof *which);
    size_t m = 0;
    if (ev == NULL || which == NULL) {
        free(ev);
        free(which);
        return MEDREG_ERR_NOMEM;
    }
    /* the order is read-only now; an entry's flags change under the lock */
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++) {
        uint8_t *hit = find_sorted(t, t->by_blinded, BLINDED, blinded[i]);
        if (hit == NULL)
            rc = MEDREG_ERR_NOTFOUND;
        else if (!(hit[FLAGS] & (DONE | QUEUED))) {
            hit[FLAGS] |= QUEUED; /* an element sent twice is unblinded once */
            which[m] = hit;
            ev[m++] = evaluated[i];
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (rc == MEDREG_OK) {
        rc = unblind_entries(t, which, ev, m);
    } else {
        pthread_mutex_lock(&t->lock);
        for (size_t k = 0; k < m; k++)
            which[k][FLAGS] &= (uint8_t)~QUEUED;
        pthread_mutex_unlock(&t->lock);
    }
    free(ev);
    free(which);
    return rc;
}

medreg_err mr_oprf_table_complete_at(mr_oprf_table *t, const uint8_t pk[MR_OPRF_ELEMENT_BYTES], size_t offset,
                                     const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                     const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                     const uint8_t proof[MR_OPRF_PROOF_BYTES])
{
    medreg_err rc;
    if (t->mode != MR_OPRF_TABLE_IN_ORDER || !t->sorted || offset > t->count || n > t->count - offset)
        return MEDREG_ERR_CONFLICT;
    /* the positions are this batch's alone (no other thread touches them);
     * one answered already is refused before anything changes */
    for (size_t i = 0; i < n; i++)
        if (entry_at(t, offset + i)[FLAGS] & DONE)
            return MEDREG_ERR_CONFLICT;
    if ((rc = mr_oprf_verify(pk, blinded, evaluated, n, proof)) != MEDREG_OK)
        return rc;
    const uint8_t **ev = malloc((n ? n : 1) * sizeof *ev);
    uint8_t **at = malloc((n ? n : 1) * sizeof *at);
    if (ev == NULL || at == NULL) {
        free(ev);
        free(at);
        return MEDREG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ev[i] = evaluated[i];
        at[i] = entry_at(t, offset + i);
    }
    rc = unblind_entries(t, at, ev, n);
    free(ev);
    free(at);
    return rc;
}

medreg_err mr_oprf_table_lookup(const mr_oprf_table *t, const uint8_t *input, size_t len,
                                uint8_t out[MR_OPRF_OUTPUT_BYTES])
{
    uint8_t key[32];
    if (t->mode == MR_OPRF_TABLE_PREPARE || !t->sorted)
        return MEDREG_ERR_NOTFOUND;
    lookup_key(t, input, len, key);
    /* read-only after completion */
    const uint8_t *hit = find_sorted(t, NULL, KEY, key);
    if (hit == NULL || !(hit[FLAGS] & DONE))
        return MEDREG_ERR_NOTFOUND;
    return mr_oprf_finalize_unblinded(input, len, hit + SLOT, out);
}
