/* RFC 6962/9162 Merkle hashing and proofs against the Certificate
 * Transparency test vectors (the eight-leaf corpus, its roots, inclusion
 * and consistency proofs), then every proof of every pair of small sizes
 * and random pairs of a 1,000-leaf tree, each made, verified, and then
 * altered in every way that must fail. */
#include <sodium.h>
#include <stdlib.h>

#include "../../../src/ledger/merkle.h"
#include "../check.h"

static const char *LEAVES[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"};
static const char *ROOTS[] = {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                              "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                              "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                              "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                              "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                              "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                              "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                              "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static void hx(const char *h, mr_hash out)
{
    size_t n = 0;
    if (sodium_hex2bin(out, MR_HASH_BYTES, h, strlen(h), NULL, &n, NULL) != 0 || n != MR_HASH_BYTES)
        abort();
}

static int eq_proof(const mr_hash *p, size_t n, const char *const *want, size_t wn)
{
    if (n != wn)
        return 0;
    for (size_t i = 0; i < n; i++) {
        mr_hash w;
        hx(want[i], w);
        if (memcmp(p[i], w, MR_HASH_BYTES))
            return 0;
    }
    return 1;
}

/* every proof for sizes up to n of the tree a, verified, then altered */
static void all_pairs(mr_leaf_array *a, uint64_t max)
{
    mr_hash roots[65], proof[MR_PROOF_MAX];
    size_t n;
    int ok = 1, bad_ok = 0;
    for (uint64_t s = 0; s <= max; s++) {
        mr_leaf_array t = {a->leaves, s};
        if (mr_merkle_range_hash(mr_leaf_array_subtree, &t, 0, s, roots[s]) != MEDREG_OK)
            ok = 0;
    }
    for (uint64_t s = 1; s <= max; s++)
        for (uint64_t i = 0; i < s; i++) {
            mr_leaf_array t = {a->leaves, s};
            ok &= mr_merkle_inclusion_proof(mr_leaf_array_subtree, &t, i, s, proof, &n) == MEDREG_OK;
            ok &= mr_merkle_verify_inclusion(i, s, a->leaves[i], (const mr_hash *)proof, n, roots[s]) == MEDREG_OK;
            /* another index, a shorter or longer proof, a flipped bit (another size may
             * verify where the shapes agree: the size always comes with its signed root) */
            bad_ok |= mr_merkle_verify_inclusion((i + 1) % s, s, a->leaves[i], (const mr_hash *)proof, n, roots[s]) ==
                          MEDREG_OK && s > 1;
            if (n > 0)
                bad_ok |= mr_merkle_verify_inclusion(i, s, a->leaves[i], (const mr_hash *)proof, n - 1, roots[s]) ==
                          MEDREG_OK;
            memcpy(proof[n], proof[0], MR_HASH_BYTES);
            bad_ok |= mr_merkle_verify_inclusion(i, s, a->leaves[i], (const mr_hash *)proof, n + 1, roots[s]) == MEDREG_OK;
            for (size_t k = 0; k < n; k++) {
                proof[k][k % 32] ^= 0x40;
                bad_ok |= mr_merkle_verify_inclusion(i, s, a->leaves[i], (const mr_hash *)proof, n, roots[s]) == MEDREG_OK;
                proof[k][k % 32] ^= 0x40;
            }
        }
    CHECK(ok);
    CHECK(!bad_ok);
    ok = 1;
    bad_ok = 0;
    for (uint64_t s = 1; s <= max; s++)
        for (uint64_t m = 1; m <= s; m++) {
            mr_leaf_array t = {a->leaves, s};
            ok &= mr_merkle_consistency_proof(mr_leaf_array_subtree, &t, m, s, proof, &n) == MEDREG_OK;
            ok &= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n, roots[m], roots[s]) == MEDREG_OK;
            if (m == s)
                continue;
            bad_ok |= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n, roots[s], roots[m]) == MEDREG_OK;
            bad_ok |= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n, roots[m - 1], roots[s]) == MEDREG_OK &&
                      m > 1;
            bad_ok |= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n - 1, roots[m], roots[s]) == MEDREG_OK;
            for (size_t k = 0; k < n; k++) {
                proof[k][(k * 7) % 32] ^= 1;
                bad_ok |= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n, roots[m], roots[s]) == MEDREG_OK;
                proof[k][(k * 7) % 32] ^= 1;
            }
        }
    CHECK(ok);
    CHECK(!bad_ok);
}

int main(void)
{
    mr_hash leaves[8], root, proof[MR_PROOF_MAX];
    uint8_t buf[16];
    size_t n;
    if (sodium_init() < 0)
        return 2;
    for (int i = 0; i < 8; i++) {
        size_t bl = 0;
        sodium_hex2bin(buf, sizeof buf, LEAVES[i], strlen(LEAVES[i]), NULL, &bl, NULL);
        mr_merkle_leaf_hash(buf, bl, leaves[i]);
    }
    mr_leaf_array a = {(const mr_hash *)leaves, 8};
    for (uint64_t s = 0; s <= 8; s++) {
        mr_hash want;
        mr_leaf_array t = {(const mr_hash *)leaves, s};
        hx(ROOTS[s], want);
        CHECK(mr_merkle_range_hash(mr_leaf_array_subtree, &t, 0, s, root) == MEDREG_OK &&
              memcmp(root, want, MR_HASH_BYTES) == 0);
    }

    /* the published proofs */
    static const char *incl_0_8[] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *incl_5_8[] = {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *cons_1_8[] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                                     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
    static const char *cons_6_8[] = {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"};
    static const char *cons_2_5[] = {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"};
    mr_hash r8, r6, r5, r2, r1;
    hx(ROOTS[8], r8);
    hx(ROOTS[6], r6);
    hx(ROOTS[5], r5);
    hx(ROOTS[2], r2);
    hx(ROOTS[1], r1);
    CHECK(mr_merkle_inclusion_proof(mr_leaf_array_subtree, &a, 0, 8, proof, &n) == MEDREG_OK &&
          eq_proof((const mr_hash *)proof, n, incl_0_8, 3));
    CHECK(mr_merkle_verify_inclusion(0, 8, leaves[0], (const mr_hash *)proof, n, r8) == MEDREG_OK);
    CHECK(mr_merkle_inclusion_proof(mr_leaf_array_subtree, &a, 5, 8, proof, &n) == MEDREG_OK &&
          eq_proof((const mr_hash *)proof, n, incl_5_8, 3));
    CHECK(mr_merkle_verify_inclusion(5, 8, leaves[5], (const mr_hash *)proof, n, r8) == MEDREG_OK);
    CHECK(mr_merkle_consistency_proof(mr_leaf_array_subtree, &a, 1, 8, proof, &n) == MEDREG_OK &&
          eq_proof((const mr_hash *)proof, n, cons_1_8, 3));
    CHECK(mr_merkle_verify_consistency(1, 8, (const mr_hash *)proof, n, r1, r8) == MEDREG_OK);
    CHECK(mr_merkle_consistency_proof(mr_leaf_array_subtree, &a, 6, 8, proof, &n) == MEDREG_OK &&
          eq_proof((const mr_hash *)proof, n, cons_6_8, 3));
    CHECK(mr_merkle_verify_consistency(6, 8, (const mr_hash *)proof, n, r6, r8) == MEDREG_OK);
    mr_leaf_array a5 = {(const mr_hash *)leaves, 5};
    CHECK(mr_merkle_consistency_proof(mr_leaf_array_subtree, &a5, 2, 5, proof, &n) == MEDREG_OK &&
          eq_proof((const mr_hash *)proof, n, cons_2_5, 2));
    CHECK(mr_merkle_verify_consistency(2, 5, (const mr_hash *)proof, n, r2, r5) == MEDREG_OK);
    CHECK(mr_merkle_verify_consistency(1, 1, NULL, 0, r1, r1) == MEDREG_OK);
    CHECK(mr_merkle_verify_consistency(1, 1, NULL, 0, r1, r2) == MEDREG_ERR_VERIFY);
    CHECK(mr_merkle_verify_consistency(8, 6, (const mr_hash *)proof, n, r8, r6) == MEDREG_ERR_VERIFY);
    CHECK(mr_merkle_verify_inclusion(8, 8, leaves[0], (const mr_hash *)proof, 3, r8) == MEDREG_ERR_VERIFY);
    CHECK(mr_merkle_inclusion_proof(mr_leaf_array_subtree, &a, 8, 8, proof, &n) == MEDREG_ERR_INVALID);

    all_pairs(&a, 8);

    /* a bigger tree: every pair up to 40, then random pairs up to 1,000 */
    enum { BIG = 1000 };
    mr_hash *big = malloc(BIG * sizeof *big);
    for (uint32_t i = 0; i < BIG; i++)
        mr_merkle_leaf_hash((const uint8_t *)&i, sizeof i, big[i]);
    mr_leaf_array b = {(const mr_hash *)big, BIG};
    all_pairs(&b, 40);
    int ok = 1;
    for (int t = 0; t < 300; t++) {
        uint64_t s = 1 + randombytes_uniform(BIG), m = 1 + randombytes_uniform((uint32_t)s), i = randombytes_uniform((uint32_t)s);
        mr_leaf_array bs = {(const mr_hash *)big, s};
        mr_hash rs, rm;
        ok &= mr_merkle_range_hash(mr_leaf_array_subtree, &bs, 0, s, rs) == MEDREG_OK;
        ok &= mr_merkle_range_hash(mr_leaf_array_subtree, &bs, 0, m, rm) == MEDREG_OK;
        ok &= mr_merkle_inclusion_proof(mr_leaf_array_subtree, &bs, i, s, proof, &n) == MEDREG_OK;
        ok &= mr_merkle_verify_inclusion(i, s, big[i], (const mr_hash *)proof, n, rs) == MEDREG_OK;
        ok &= mr_merkle_consistency_proof(mr_leaf_array_subtree, &bs, m, s, proof, &n) == MEDREG_OK;
        ok &= mr_merkle_verify_consistency(m, s, (const mr_hash *)proof, n, rm, rs) == MEDREG_OK;
    }
    CHECK(ok);
    free(big);
    return TEST_DONE();
}
