/* RFC 9162 §2.1, written from the RFC's own algorithms; every function is
 * checked against the Certificate Transparency test vectors
 * (tests/unit/ledger/test_merkle.c). The log's hashes are public, so plain
 * comparisons are fine here. SHA-256 is OpenSSL's (SHA-NI where the CPU
 * has it): a verifier hashes dozens of 65-byte nodes per proof. */
#include "merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

void mr_merkle_leaf_hash(const uint8_t *data, size_t len, mr_hash out)
{
    static const uint8_t prefix = 0x00;
    uint8_t buf[1 + 512];
    if (len < sizeof buf) { /* the common case: no digest context */
        buf[0] = prefix;
        if (len)
            memcpy(buf + 1, data, len);
        SHA256(buf, 1 + len, out);
        return;
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned int ol = 0;
    if (m == NULL || !EVP_DigestInit_ex(m, EVP_sha256(), NULL) || !EVP_DigestUpdate(m, &prefix, 1) ||
        !EVP_DigestUpdate(m, data, len) || !EVP_DigestFinal_ex(m, out, &ol))
        memset(out, 0, MR_HASH_BYTES); /* out of memory only; an all-zero hash matches no tree */
    EVP_MD_CTX_free(m);
}

void mr_merkle_node_hash(const mr_hash left, const mr_hash right, mr_hash out)
{
    uint8_t buf[1 + 2 * MR_HASH_BYTES];
    buf[0] = 0x01;
    memcpy(buf + 1, left, MR_HASH_BYTES);
    memcpy(buf + 1 + MR_HASH_BYTES, right, MR_HASH_BYTES);
    SHA256(buf, sizeof buf, out);
}

/* the largest power of two smaller than n (n >= 2) */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static int is_pow2(uint64_t n)
{
    return n && !(n & (n - 1));
}

static unsigned log2u(uint64_t n)
{
    unsigned l = 0;
    while (n >>= 1)
        l++;
    return l;
}

medreg_err mr_merkle_range_hash(mr_subtree_fn fn, void *ctx, uint64_t begin, uint64_t end, mr_hash out)
{
    uint64_t n = end - begin;
    if (end < begin)
        return MEDREG_ERR_INVALID;
    if (n == 0) {
        SHA256((const uint8_t *)"", 0, out);
        return MEDREG_OK;
    }
    if (is_pow2(n) && begin % n == 0)
        return fn(ctx, log2u(n), begin >> log2u(n), out);
    uint64_t k = split_point(n);
    mr_hash l, r;
    medreg_err rc = mr_merkle_range_hash(fn, ctx, begin, begin + k, l);
    if (rc == MEDREG_OK)
        rc = mr_merkle_range_hash(fn, ctx, begin + k, end, r);
    if (rc == MEDREG_OK)
        mr_merkle_node_hash(l, r, out);
    return rc;
}

/* PATH(m, D[begin:end]), appended to proof */
static medreg_err path(mr_subtree_fn fn, void *ctx, uint64_t m, uint64_t begin, uint64_t end, mr_hash *proof,
                       size_t *n)
{
    if (end - begin <= 1)
        return MEDREG_OK;
    uint64_t k = split_point(end - begin);
    medreg_err rc;
    if (*n >= MR_PROOF_MAX)
        return MEDREG_ERR_TOOBIG;
    if (m < begin + k) {
        if ((rc = path(fn, ctx, m, begin, begin + k, proof, n)) != MEDREG_OK)
            return rc;
        return mr_merkle_range_hash(fn, ctx, begin + k, end, proof[(*n)++]);
    }
    if ((rc = path(fn, ctx, m, begin + k, end, proof, n)) != MEDREG_OK)
        return rc;
    return mr_merkle_range_hash(fn, ctx, begin, begin + k, proof[(*n)++]);
}

medreg_err mr_merkle_inclusion_proof(mr_subtree_fn fn, void *ctx, uint64_t index, uint64_t size, mr_hash *proof,
                                     size_t *n)
{
    *n = 0;
    if (index >= size)
        return MEDREG_ERR_INVALID;
    return path(fn, ctx, index, 0, size, proof, n);
}

/* SUBPROOF(m, D[begin:end], b), appended to proof */
static medreg_err subproof(mr_subtree_fn fn, void *ctx, uint64_t m, uint64_t begin, uint64_t end, int b,
                           mr_hash *proof, size_t *n)
{
    uint64_t size = end - begin;
    medreg_err rc;
    if (*n >= MR_PROOF_MAX)
        return MEDREG_ERR_TOOBIG;
    if (m == size) {
        if (b)
            return MEDREG_OK;
        return mr_merkle_range_hash(fn, ctx, begin, end, proof[(*n)++]);
    }
    uint64_t k = split_point(size);
    if (m <= k) {
        if ((rc = subproof(fn, ctx, m, begin, begin + k, b, proof, n)) != MEDREG_OK)
            return rc;
        return mr_merkle_range_hash(fn, ctx, begin + k, end, proof[(*n)++]);
    }
    if ((rc = subproof(fn, ctx, m - k, begin + k, end, 0, proof, n)) != MEDREG_OK)
        return rc;
    return mr_merkle_range_hash(fn, ctx, begin, begin + k, proof[(*n)++]);
}

medreg_err mr_merkle_consistency_proof(mr_subtree_fn fn, void *ctx, uint64_t old_size, uint64_t size, mr_hash *proof,
                                       size_t *n)
{
    *n = 0;
    if (old_size > size)
        return MEDREG_ERR_INVALID;
    if (old_size == 0 || old_size == size)
        return MEDREG_OK; /* nothing to prove */
    return subproof(fn, ctx, old_size, 0, size, 1, proof, n);
}

medreg_err mr_merkle_verify_inclusion(uint64_t index, uint64_t size, const mr_hash leaf, const mr_hash *proof,
                                      size_t n, const mr_hash root)
{
    if (index >= size || n > MR_PROOF_MAX)
        return MEDREG_ERR_VERIFY;
    uint64_t fn = index, sn = size - 1;
    mr_hash r;
    memcpy(r, leaf, MR_HASH_BYTES);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return MEDREG_ERR_VERIFY;
        if ((fn & 1) || fn == sn) {
            mr_merkle_node_hash(proof[i], r, r);
            if (!(fn & 1))
                while (!((fn & 1) || fn == 0)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mr_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, MR_HASH_BYTES) == 0 ? MEDREG_OK : MEDREG_ERR_VERIFY;
}

medreg_err mr_merkle_verify_consistency(uint64_t old_size, uint64_t size, const mr_hash *proof, size_t n,
                                        const mr_hash old_root, const mr_hash root)
{
    if (old_size > size || n > MR_PROOF_MAX)
        return MEDREG_ERR_VERIFY;
    if (old_size == size)
        return n == 0 && memcmp(old_root, root, MR_HASH_BYTES) == 0 ? MEDREG_OK : MEDREG_ERR_VERIFY;
    if (old_size == 0)
        return n == 0 ? MEDREG_OK : MEDREG_ERR_VERIFY; /* the empty tree is a prefix of every tree */
    if (n == 0)
        return MEDREG_ERR_VERIFY;
    /* RFC 9162 §2.1.4.2; a power-of-two first tree's hash heads the path */
    size_t start = 0;
    const uint8_t *first = proof[0];
    if (is_pow2(old_size))
        first = old_root;
    else
        start = 1;
    uint64_t fn = old_size - 1, sn = size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    mr_hash fr, sr;
    memcpy(fr, first, MR_HASH_BYTES);
    memcpy(sr, first, MR_HASH_BYTES);
    for (size_t i = start; i < n; i++) {
        if (sn == 0)
            return MEDREG_ERR_VERIFY;
        if ((fn & 1) || fn == sn) {
            mr_merkle_node_hash(proof[i], fr, fr);
            mr_merkle_node_hash(proof[i], sr, sr);
            if (!(fn & 1))
                while (!((fn & 1) || fn == 0)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            mr_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, old_root, MR_HASH_BYTES) == 0 && memcmp(sr, root, MR_HASH_BYTES) == 0
               ? MEDREG_OK
               : MEDREG_ERR_VERIFY;
}

medreg_err mr_leaf_array_subtree(void *ctx, unsigned level, uint64_t index, mr_hash out)
{
    const mr_leaf_array *a = ctx;
    uint64_t begin = index << level, width = (uint64_t)1 << level;
    if (level >= 63 || begin >= a->n || a->n - begin < width)
        return MEDREG_ERR_INVALID;
    if (level == 0) {
        memcpy(out, a->leaves[begin], MR_HASH_BYTES);
        return MEDREG_OK;
    }
    mr_hash l, r;
    medreg_err rc = mr_leaf_array_subtree(ctx, level - 1, index << 1, l);
    if (rc == MEDREG_OK)
        rc = mr_leaf_array_subtree(ctx, level - 1, (index << 1) | 1, r);
    if (rc == MEDREG_OK)
        mr_merkle_node_hash(l, r, out);
    return rc;
}
