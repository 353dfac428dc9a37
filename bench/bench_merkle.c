/* Inclusion proofs verified per second on one core, in a tree of
 * 1,000,000 entries (about 20 hashes a proof), and consistency proofs
 * likewise. Prints "inclusion_per_s consistency_per_s". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/ledger/merkle.h"
#include "latency.h"

#define N 1000000u
#define PROOFS 256

typedef struct levels {
    mr_hash *l[21];
    uint64_t n[21];
} levels;

/* every complete subtree, precomputed: lookups in O(1) */
static medreg_err from_levels(void *ctx, unsigned level, uint64_t index, mr_hash out)
{
    const levels *lv = ctx;
    if (level > 20 || index >= lv->n[level])
        return MEDREG_ERR_INVALID;
    memcpy(out, lv->l[level][index], MR_HASH_BYTES);
    return MEDREG_OK;
}

int main(void)
{
    levels lv;
    memset(&lv, 0, sizeof lv);
    lv.l[0] = malloc((size_t)N * MR_HASH_BYTES);
    lv.n[0] = N;
    for (uint32_t i = 0; i < N; i++)
        mr_merkle_leaf_hash((const uint8_t *)&i, sizeof i, lv.l[0][i]);
    for (unsigned k = 1; k <= 20; k++) {
        lv.n[k] = lv.n[k - 1] / 2;
        lv.l[k] = malloc((size_t)(lv.n[k] ? lv.n[k] : 1) * MR_HASH_BYTES);
        for (uint64_t i = 0; i < lv.n[k]; i++)
            mr_merkle_node_hash(lv.l[k - 1][2 * i], lv.l[k - 1][2 * i + 1], lv.l[k][i]);
    }
    mr_hash root, old_root, (*incl)[MR_PROOF_MAX] = malloc(PROOFS * sizeof *incl), cons[MR_PROOF_MAX];
    size_t in_n[PROOFS], cn = 0;
    uint64_t idx[PROOFS], old = 654321;
    if (mr_merkle_range_hash(from_levels, &lv, 0, N, root) != MEDREG_OK ||
        mr_merkle_range_hash(from_levels, &lv, 0, old, old_root) != MEDREG_OK ||
        mr_merkle_consistency_proof(from_levels, &lv, old, N, cons, &cn) != MEDREG_OK)
        return 1;
    for (int i = 0; i < PROOFS; i++) {
        idx[i] = ((uint64_t)i * 3907) % N;
        if (mr_merkle_inclusion_proof(from_levels, &lv, idx[i], N, incl[i], &in_n[i]) != MEDREG_OK)
            return 1;
    }
    long ok = 0, done = 0;
    double t0 = lat_now();
    while (lat_now() - t0 < 1.5)
        for (int i = 0; i < PROOFS; i++, done++)
            ok += mr_merkle_verify_inclusion(idx[i], N, lv.l[0][idx[i]], (const mr_hash *)incl[i], in_n[i], root) ==
                  MEDREG_OK;
    double inc_rate = (double)done / (lat_now() - t0);
    long cdone = 0;
    t0 = lat_now();
    while (lat_now() - t0 < 1.0)
        for (int i = 0; i < 256; i++, cdone++)
            ok += mr_merkle_verify_consistency(old, N, (const mr_hash *)cons, cn, old_root, root) == MEDREG_OK;
    if (ok != done + cdone)
        return 1; /* every proof must verify */
    printf("%.0f %.0f\n", inc_rate, (double)cdone / (lat_now() - t0));
    return 0;
}
