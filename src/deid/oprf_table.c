/* The run's distinct PSN inputs, their blinded elements and, once
 * evaluated, their unblinded elements. A tree (glibc tsearch) keyed by a
 * keyed BLAKE2b of the input finds an input; the entries in key order are
 * the request's order, and a copy sorted by blinded element matches the
 * service's answers (or, IN_ORDER, an answer's position does). No input is
 * kept: a lookup brings its input, and the output is Finalize's hash of the
 * input and the unblinded element. A run of 2^24 patients must fit a
 * hospital's desktop: an entry is 66 bytes (98 in a BLIND table). */
#include <pthread.h>
#include <search.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "oprf_table.h"

typedef struct oprf_entry {
    uint8_t key[32]; /* BLAKE2b(lookup key, input): the tree's order */
    /* PREPARE: the blinded element, all that the request needs. BLIND and
     * IN_ORDER: the blind (secret, from the seed) until the answer comes,
     * then the evaluated element unblinded (secret: the output is its hash
     * with the input). */
    uint8_t slot[32];
    uint8_t done, queued; /* queued: in the batch being completed */
    uint8_t blinded[];    /* BLIND: the blinded element, to match answers */
} oprf_entry;

struct mr_oprf_table {
    uint8_t *secrets; /* sodium_malloc: blind key ‖ lookup key */
    void *root;
    pthread_mutex_t lock;
    size_t count, missing;
    mr_oprf_table_mode mode;
    oprf_entry **by_key;     /* once every input is added (in_key_order) */
    oprf_entry **by_blinded; /* after mr_oprf_table_blinded */
};

static const uint8_t *entry_blinded(const mr_oprf_table *t, const oprf_entry *e)
{
    return t->mode == MR_OPRF_TABLE_PREPARE ? e->slot : e->blinded;
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(((const oprf_entry *)a)->key, ((const oprf_entry *)b)->key, 32);
}

/* by_blinded's order (BLIND tables only), and its search by an element */
static int cmp_blinded(const void *a, const void *b)
{
    return memcmp((*(oprf_entry *const *)a)->blinded, (*(oprf_entry *const *)b)->blinded, MR_OPRF_ELEMENT_BYTES);
}

static int is_blinded(const void *element, const void *b)
{
    return memcmp(element, (*(oprf_entry *const *)b)->blinded, MR_OPRF_ELEMENT_BYTES);
}

/* the secrets are in the fixed part; a blinded element is public */
static void entry_free(void *p)
{
    mr_wipe(p, sizeof(oprf_entry));
    free(p);
}

medreg_err mr_oprf_table_new(const uint8_t seed[32], mr_oprf_table_mode mode, mr_oprf_table **out)
{
    if (mode != MR_OPRF_TABLE_BLIND && mode != MR_OPRF_TABLE_IN_ORDER && mode != MR_OPRF_TABLE_PREPARE)
        return MEDREG_ERR_INVALID;
    mr_oprf_table *t = calloc(1, sizeof *t);
    if (t == NULL || (t->secrets = sodium_malloc(64)) == NULL) {
        free(t);
        return MEDREG_ERR_NOMEM;
    }
    /* two independent keys from the seed: one for blinds, one for lookups */
    crypto_kdf_derive_from_key(t->secrets, 32, 1, "mr-oprfb", seed);
    crypto_kdf_derive_from_key(t->secrets + 32, 32, 2, "mr-oprfl", seed);
    pthread_mutex_init(&t->lock, NULL);
    t->mode = mode;
    *out = t;
    return MEDREG_OK;
}

void mr_oprf_table_free(mr_oprf_table *t)
{
    if (t == NULL)
        return;
    tdestroy(t->root, entry_free);
    free(t->by_key);
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

medreg_err mr_oprf_table_add(mr_oprf_table *t, const uint8_t *input, size_t len)
{
    oprf_entry probe, *e = NULL;
    uint8_t blind[MR_OPRF_SCALAR_BYTES], used[MR_OPRF_SCALAR_BYTES];
    medreg_err rc = MEDREG_OK;

    if (len > MR_OPRF_INPUT_MAX)
        return MEDREG_ERR_TOOBIG;
    lookup_key(t, input, len, probe.key);
    pthread_mutex_lock(&t->lock);
    int known = tfind(&probe, &t->root, cmp_key) != NULL;
    pthread_mutex_unlock(&t->lock);
    if (known)
        return MEDREG_OK;

    /* blind outside the lock: the expensive part, in the caller's thread */
    if ((e = calloc(1, sizeof *e + (t->mode == MR_OPRF_TABLE_BLIND ? MR_OPRF_ELEMENT_BYTES : 0))) == NULL)
        return MEDREG_ERR_NOMEM;
    memcpy(e->key, probe.key, 32);
    rc = derive_blind(t, input, len, blind);
    if (rc == MEDREG_OK && t->mode != MR_OPRF_TABLE_IN_ORDER)
        rc = mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, input, len, blind, used,
                           t->mode == MR_OPRF_TABLE_PREPARE ? e->slot : e->blinded);
    if (t->mode != MR_OPRF_TABLE_PREPARE)
        memcpy(e->slot, blind, sizeof blind);
    mr_wipe(blind, sizeof blind);
    mr_wipe(used, sizeof used);
    if (rc != MEDREG_OK) {
        entry_free(e);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    oprf_entry **slot = tsearch(e, &t->root, cmp_key);
    if (slot == NULL) {
        rc = MEDREG_ERR_NOMEM;
    } else if (*slot == e) {
        t->count++;
        t->missing++;
        e = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    if (e) /* another thread added it meanwhile, or no memory */
        entry_free(e);
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

typedef struct walk {
    oprf_entry **out;
    size_t n;
} walk;

static void collect(const void *node, VISIT v, void *ctx)
{
    walk *w = ctx;
    if (v == postorder || v == leaf)
        w->out[w->n++] = *(oprf_entry *const *)node;
}

/* by_key: every entry, in key order (the tree's), once */
static medreg_err in_key_order(mr_oprf_table *t)
{
    if (t->by_key != NULL)
        return MEDREG_OK;
    if ((t->by_key = calloc(t->count ? t->count : 1, sizeof *t->by_key)) == NULL)
        return MEDREG_ERR_NOMEM;
    walk w = {t->by_key, 0};
    twalk_r(t->root, collect, &w);
    return MEDREG_OK;
}

medreg_err mr_oprf_table_blinded(mr_oprf_table *t, uint8_t (**out)[MR_OPRF_ELEMENT_BYTES], size_t *n)
{
    uint8_t(*arr)[MR_OPRF_ELEMENT_BYTES] = NULL;
    *out = NULL;
    *n = 0;
    if (t->mode != MR_OPRF_TABLE_BLIND)
        return MEDREG_ERR_CONFLICT;
    if (in_key_order(t) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    free(t->by_blinded);
    t->by_blinded = malloc((t->count ? t->count : 1) * sizeof *t->by_blinded);
    arr = calloc(t->count ? t->count : 1, sizeof *arr);
    if (t->by_blinded == NULL || arr == NULL) {
        free(arr);
        return MEDREG_ERR_NOMEM;
    }
    for (size_t i = 0; i < t->count; i++) {
        memcpy(arr[i], t->by_key[i]->blinded, MR_OPRF_ELEMENT_BYTES);
        t->by_blinded[i] = t->by_key[i];
    }
    qsort(t->by_blinded, t->count, sizeof *t->by_blinded, cmp_blinded);
    *out = arr;
    *n = t->count;
    return MEDREG_OK;
}

medreg_err mr_oprf_table_digests(mr_oprf_table *t, uint8_t entries[32], uint8_t *request)
{
    crypto_hash_sha256_state a, b;
    if (request != NULL && t->mode == MR_OPRF_TABLE_IN_ORDER)
        return MEDREG_ERR_CONFLICT;
    if (in_key_order(t) != MEDREG_OK)
        return MEDREG_ERR_NOMEM;
    crypto_hash_sha256_init(&a);
    crypto_hash_sha256_init(&b);
    for (size_t i = 0; i < t->count; i++) {
        crypto_hash_sha256_update(&a, t->by_key[i]->key, sizeof t->by_key[i]->key);
        if (request != NULL)
            crypto_hash_sha256_update(&b, entry_blinded(t, t->by_key[i]), MR_OPRF_ELEMENT_BYTES);
    }
    crypto_hash_sha256_final(&a, entries);
    if (request != NULL)
        crypto_hash_sha256_final(&b, request);
    return MEDREG_OK;
}

const uint8_t *mr_oprf_table_request_at(const mr_oprf_table *t, size_t i)
{
    if (t->mode != MR_OPRF_TABLE_PREPARE || t->by_key == NULL || i >= t->count)
        return NULL;
    return t->by_key[i]->slot;
}

/* Unblind the n entries that evaluated answers (one inversion for all
 * their blinds), all or none: each entry's blind becomes its unblinded
 * element and it is done. The caller holds the entries: queued (BLIND) or
 * at its own positions (IN_ORDER). */
static medreg_err unblind_entries(mr_oprf_table *t, oprf_entry *const *e, const uint8_t *const *evaluated, size_t n)
{
    medreg_err rc = MEDREG_OK;
    mr_oprf_unblind *items = malloc((n ? n : 1) * sizeof *items);
    uint8_t(*unblinded)[MR_OPRF_ELEMENT_BYTES] = sodium_malloc((n ? n : 1) * MR_OPRF_ELEMENT_BYTES);
    if (items == NULL || unblinded == NULL)
        rc = MEDREG_ERR_NOMEM;
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++)
        items[i] = (mr_oprf_unblind){e[i]->slot, evaluated[i], unblinded[i]};
    if (rc == MEDREG_OK)
        rc = mr_oprf_unblind_many(items, n);
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n; i++) {
        e[i]->queued = 0;
        if (rc != MEDREG_OK)
            continue; /* the blinds stay: the batch may come again */
        memcpy(e[i]->slot, unblinded[i], MR_OPRF_ELEMENT_BYTES);
        e[i]->done = 1;
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
    oprf_entry **which = malloc((n ? n : 1) * sizeof *which);
    size_t m = 0;
    if (ev == NULL || which == NULL) {
        free(ev);
        free(which);
        return MEDREG_ERR_NOMEM;
    }
    /* by_blinded is read-only now; an entry's flags change under the lock */
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++) {
        oprf_entry **hit = bsearch(blinded[i], t->by_blinded, t->count, sizeof *t->by_blinded, is_blinded);
        if (hit == NULL)
            rc = MEDREG_ERR_NOTFOUND;
        else if (!(*hit)->done && !(*hit)->queued) {
            (*hit)->queued = 1; /* an element sent twice is unblinded once */
            which[m] = *hit;
            ev[m++] = evaluated[i];
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (rc == MEDREG_OK) {
        rc = unblind_entries(t, which, ev, m);
    } else {
        pthread_mutex_lock(&t->lock);
        for (size_t k = 0; k < m; k++)
            which[k]->queued = 0;
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
    if (t->mode != MR_OPRF_TABLE_IN_ORDER || t->by_key == NULL || offset > t->count || n > t->count - offset)
        return MEDREG_ERR_CONFLICT;
    oprf_entry **at = t->by_key + offset;
    /* the positions are this batch's alone (no other thread touches them);
     * one answered already is refused before anything changes */
    for (size_t i = 0; i < n; i++)
        if (at[i]->done)
            return MEDREG_ERR_CONFLICT;
    if ((rc = mr_oprf_verify(pk, blinded, evaluated, n, proof)) != MEDREG_OK)
        return rc;
    const uint8_t **ev = malloc((n ? n : 1) * sizeof *ev);
    if (ev == NULL)
        return MEDREG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ev[i] = evaluated[i];
    rc = unblind_entries(t, at, ev, n);
    free(ev);
    return rc;
}

medreg_err mr_oprf_table_lookup(const mr_oprf_table *t, const uint8_t *input, size_t len,
                                uint8_t out[MR_OPRF_OUTPUT_BYTES])
{
    oprf_entry probe;
    if (t->mode == MR_OPRF_TABLE_PREPARE)
        return MEDREG_ERR_NOTFOUND;
    lookup_key(t, input, len, probe.key);
    /* read-only after completion: tfind does not modify the tree */
    oprf_entry *const *hit = tfind(&probe, &t->root, cmp_key);
    if (hit == NULL || !(*hit)->done)
        return MEDREG_ERR_NOTFOUND;
    return mr_oprf_finalize_unblinded(input, len, (*hit)->slot, out);
}
