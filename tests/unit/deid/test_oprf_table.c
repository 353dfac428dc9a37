/* The run's table (oprf_table.h) in its three modes: an IN_ORDER table, which
 * takes the answers by position and blinds nothing, gives every input the
 * same output as a BLIND table; its commitments are the same whatever order
 * the inputs came in, and change with the inputs; answers past the end,
 * given twice, or under another key are refused, nothing used; a PREPARE
 * table writes the same request as a BLIND one and takes no answers. The
 * same over more inputs than a block of entries holds, inserted in
 * opposite orders; and no input is taken once the entries are in order. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/deid/oprf_table.h"
#include "../check.h"

#define N 700 /* two batches of 512 and 188 below */
#define MANY 9000 /* three blocks of 4,096 entries, the index grown four times */

static void input(size_t i, char *s, size_t cap, size_t *len)
{
    *len = (size_t)snprintf(s, cap, "patient-%zu", i * 7919 % 100003);
}

/* The request a sealed table sends: its elements in key order, copied. */
static uint8_t (*request_of(mr_oprf_table *t, size_t *n))[32]
{
    uint8_t(*r)[32] = NULL;
    *n = mr_oprf_table_count(t);
    if (mr_oprf_table_seal(t) != MEDREG_OK || (r = calloc(*n ? *n : 1, 32)) == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        if (mr_oprf_table_request_at(t, i) != NULL)
            memcpy(r[i], mr_oprf_table_request_at(t, i), 32);
    return r;
}

static mr_oprf_table *filled(const uint8_t seed[32], mr_oprf_table_mode mode, int reverse, size_t n)
{
    mr_oprf_table *t = NULL;
    char s[64];
    size_t len;
    CHECK(mr_oprf_table_new(seed, mode, &t) == MEDREG_OK);
    for (size_t k = 0; t && k < n; k++) {
        input(reverse ? n - 1 - k : k, s, sizeof s, &len);
        CHECK(mr_oprf_table_add(t, (const uint8_t *)s, len) == MEDREG_OK);
        CHECK(mr_oprf_table_add(t, (const uint8_t *)s, len) == MEDREG_OK); /* seen twice, kept once */
    }
    return t;
}

/* Inputs 0 .. n-1 have an output in both tables, the same; *distinct (if
 * asked): no two inputs in a row have the same one. */
static int same_outputs(const mr_oprf_table *x, const mr_oprf_table *y, size_t n, int *distinct)
{
    uint8_t a[64], b[64], prev[64] = {0};
    int same = 1, differ = 1;
    for (size_t i = 0; i < n; i++) {
        char s[64];
        size_t len;
        input(i, s, sizeof s, &len);
        same &= mr_oprf_table_lookup(x, (const uint8_t *)s, len, a) == MEDREG_OK &&
                mr_oprf_table_lookup(y, (const uint8_t *)s, len, b) == MEDREG_OK && memcmp(a, b, 64) == 0;
        differ &= memcmp(a, prev, 64) != 0;
        memcpy(prev, a, 64);
    }
    if (distinct)
        *distinct = differ;
    return same;
}

/* MANY inputs: a PREPARE table's request answered by position into an
 * IN_ORDER table filled the other way round, and by element into a BLIND
 * one; both give every input the same output, and no two inputs in a row
 * the same one. */
static void many(const uint8_t seed[32], const uint8_t sk[32], const uint8_t pk[32])
{
    mr_oprf_table *lean = filled(seed, MR_OPRF_TABLE_PREPARE, 0, MANY);
    mr_oprf_table *fin = filled(seed, MR_OPRF_TABLE_IN_ORDER, 1, MANY);
    mr_oprf_table *online = filled(seed, MR_OPRF_TABLE_BLIND, 1, MANY);
    uint8_t e1[32], e2[32], r1[32], r2[32], proof[64], a[64];
    uint8_t(*req)[32] = calloc(MANY, 32), (*ev)[32] = calloc(MANY, 32), (*bl)[32] = NULL;
    size_t n = 0;
    CHECK(mr_oprf_table_digests(lean, e1, r1) == MEDREG_OK && mr_oprf_table_digests(fin, e2, NULL) == MEDREG_OK);
    CHECK(memcmp(e1, e2, 32) == 0);
    CHECK((bl = request_of(online, &n)) != NULL && n == MANY);
    CHECK(mr_oprf_table_digests(online, e2, r2) == MEDREG_OK && memcmp(e1, e2, 32) == 0 && memcmp(r1, r2, 32) == 0);
    for (size_t i = 0; req && i < MANY; i++)
        memcpy(req[i], mr_oprf_table_request_at(lean, i), 32);
    CHECK(memcmp(req, bl, (size_t)MANY * 32) == 0);
    /* once the entries are in order, no input comes in */
    const char *more = "patient-new";
    CHECK(mr_oprf_table_add(fin, (const uint8_t *)more, strlen(more)) == MEDREG_ERR_CONFLICT);
    CHECK(mr_oprf_table_count(fin) == MANY);
    /* batches that straddle the blocks' edges (4,096 and 8,192) */
    for (size_t off = 0; off < MANY; off += 3000) {
        CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])req + off, 3000, ev + off, NULL,
                               proof, NULL) == MEDREG_OK);
        CHECK(mr_oprf_table_complete_at(fin, pk, off, (const uint8_t(*)[32])req + off, (const uint8_t(*)[32])ev + off,
                                        3000, proof) == MEDREG_OK);
        CHECK(mr_oprf_table_complete(online, pk, (const uint8_t(*)[32])req + off, (const uint8_t(*)[32])ev + off, 3000,
                                     proof) == MEDREG_OK);
    }
    CHECK(mr_oprf_table_missing(fin) == 0 && mr_oprf_table_missing(online) == 0);
    int distinct = 0;
    CHECK(same_outputs(fin, online, MANY, &distinct) && distinct);
    CHECK(mr_oprf_table_lookup(fin, (const uint8_t *)more, strlen(more), a) == MEDREG_ERR_NOTFOUND);
    mr_oprf_table_free(lean);
    mr_oprf_table_free(fin);
    mr_oprf_table_free(online);
    free(req);
    free(ev);
    free(bl);
}

int main(void)
{
    uint8_t seed[32] = {7}, kseed[32] = {9}, sk[32], pk[32], osk[32], opk[32], proof[64], oproof[64];
    uint8_t entries[32], request[32], entries2[32], entries3[32], a[64], b[64];
    if (sodium_init() < 0)
        return 1;
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, kseed, 32, (const uint8_t *)"k", 1, sk, pk) == MEDREG_OK);
    kseed[0] = 10;
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, kseed, 32, (const uint8_t *)"k", 1, osk, opk) == MEDREG_OK);

    /* --prepare: a BLIND table, its request in key order and its commitments */
    mr_oprf_table *prep = filled(seed, MR_OPRF_TABLE_BLIND, 0, N);
    uint8_t(*bl)[32] = NULL, (*ev)[32] = calloc(N, 32);
    size_t n = 0;
    /* answers before the table is sealed are refused, the proof unread */
    CHECK(mr_oprf_table_complete(prep, pk, (const uint8_t(*)[32])ev, (const uint8_t(*)[32])ev, 1, proof) ==
          MEDREG_ERR_CONFLICT);
    CHECK((bl = request_of(prep, &n)) != NULL && n == N);
    CHECK(mr_oprf_table_digests(prep, entries, request) == MEDREG_OK);
    crypto_hash_sha256(a, (const uint8_t *)bl, n * 32);
    CHECK(memcmp(a, request, 32) == 0); /* the request's digest is over the elements as sent */
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 512, ev, NULL, proof, NULL) ==
          MEDREG_OK);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl + 512, N - 512, ev + 512, NULL,
                           oproof, NULL) == MEDREG_OK);
    /* the online way, for reference */
    CHECK(mr_oprf_table_complete(prep, pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) == MEDREG_OK);
    CHECK(mr_oprf_table_complete(prep, pk, (const uint8_t(*)[32])bl + 512, (const uint8_t(*)[32])ev + 512, N - 512,
                                 oproof) == MEDREG_OK);
    CHECK(mr_oprf_table_missing(prep) == 0);

    /* --prepare as medreg runs it: a PREPARE table (heads alone) gives the same
     * request and commitments, and takes no answers */
    mr_oprf_table *lean = filled(seed, MR_OPRF_TABLE_PREPARE, 1, N);
    size_t m0 = 1, same_request = 1;
    CHECK(mr_oprf_table_request_at(lean, 0) == NULL); /* not before the digests */
    CHECK(mr_oprf_table_digests(lean, entries2, a) == MEDREG_OK);
    CHECK(memcmp(entries, entries2, 32) == 0 && memcmp(a, request, 32) == 0);
    for (size_t i = 0; i < N; i++)
        same_request &= mr_oprf_table_request_at(lean, i) != NULL && memcmp(mr_oprf_table_request_at(lean, i), bl[i], 32) == 0;
    CHECK(same_request);
    CHECK(mr_oprf_table_request_at(lean, N) == NULL);
    CHECK(mr_oprf_table_complete(lean, pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_CONFLICT);
    CHECK(mr_oprf_table_complete_at(lean, pk, 0, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_CONFLICT);
    input(3, (char *)a, sizeof a, &m0);
    CHECK(mr_oprf_table_lookup(lean, a, m0, b) == MEDREG_ERR_NOTFOUND);
    CHECK(mr_oprf_table_missing(lean) == N);
    mr_oprf_table_free(lean);

    /* --finish: the same inputs in another order, IN_ORDER */
    mr_oprf_table *fin = filled(seed, MR_OPRF_TABLE_IN_ORDER, 1, N);
    CHECK(mr_oprf_table_seal(fin) == MEDREG_OK && mr_oprf_table_request_at(fin, 0) == NULL); /* nothing was blinded */
    CHECK(mr_oprf_table_digests(fin, entries2, request) == MEDREG_ERR_CONFLICT);
    CHECK(mr_oprf_table_digests(fin, entries2, NULL) == MEDREG_OK && memcmp(entries, entries2, 32) == 0);
    /* answers: under another key, past the end, then right, then again */
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, osk, opk, (const uint8_t(*)[32])bl, 512, ev, NULL, proof, NULL) ==
          MEDREG_OK);
    CHECK(mr_oprf_table_complete_at(fin, pk, 0, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_VERIFY);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 512, ev, NULL, proof, NULL) ==
          MEDREG_OK);
    CHECK(mr_oprf_table_complete_at(fin, pk, N - 100, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_CONFLICT);
    CHECK(mr_oprf_table_missing(fin) == N);
    CHECK(mr_oprf_table_complete_at(fin, pk, 512, (const uint8_t(*)[32])bl + 512, (const uint8_t(*)[32])ev + 512,
                                    N - 512, oproof) == MEDREG_OK);
    CHECK(mr_oprf_table_complete_at(fin, pk, 0, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_OK);
    CHECK(mr_oprf_table_missing(fin) == 0);
    CHECK(mr_oprf_table_complete_at(fin, pk, 0, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_CONFLICT); /* answered twice */
    CHECK(mr_oprf_table_complete(fin, pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 512, proof) ==
          MEDREG_ERR_CONFLICT); /* not the way of this mode */

    /* every input has the same output both ways */
    CHECK(same_outputs(prep, fin, N, NULL));

    /* one input fewer, or another seed: other commitments */
    mr_oprf_table *fewer = filled(seed, MR_OPRF_TABLE_IN_ORDER, 0, N - 1);
    CHECK(mr_oprf_table_digests(fewer, entries3, NULL) == MEDREG_OK && memcmp(entries, entries3, 32) != 0);
    seed[0] = 8;
    mr_oprf_table *other = filled(seed, MR_OPRF_TABLE_IN_ORDER, 0, N);
    CHECK(mr_oprf_table_digests(other, entries3, NULL) == MEDREG_OK && memcmp(entries, entries3, 32) != 0);
    mr_oprf_table *bad = NULL;
    CHECK(mr_oprf_table_new(seed, (mr_oprf_table_mode)3, &bad) == MEDREG_ERR_INVALID && bad == NULL);

    seed[0] = 7;
    many(seed, sk, pk);

    mr_oprf_table_free(prep);
    mr_oprf_table_free(fin);
    mr_oprf_table_free(fewer);
    mr_oprf_table_free(other);
    free(bl);
    free(ev);
    return TEST_DONE();
}
