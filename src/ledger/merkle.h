/* RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, and the
 * inclusion and consistency proofs of §2.1.3 and §2.1.4: made from any
 * store of complete subtree hashes, and verified with nothing but the
 * proof. SHA-256 throughout. */
#ifndef MR_MERKLE_H
#define MR_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

#define MR_HASH_BYTES 32
/* A proof for a tree of up to 2^63 leaves has at most 63 (inclusion) or
 * 64 (consistency) hashes. */
#define MR_PROOF_MAX 64

typedef uint8_t mr_hash[MR_HASH_BYTES];

/* SHA-256(0x00 ‖ data) */
void mr_merkle_leaf_hash(const uint8_t *data, size_t len, mr_hash out);
/* SHA-256(0x01 ‖ left ‖ right) */
void mr_merkle_node_hash(const mr_hash left, const mr_hash right, mr_hash out);

/* The hash of the complete subtree at height `level` (0: a leaf) whose
 * leftmost leaf is index << level. A source of these is all a tree needs:
 * a vector of leaf hashes, or stored tiles. */
typedef medreg_err (*mr_subtree_fn)(void *ctx, unsigned level, uint64_t index, mr_hash out);

/* MTH(D[begin:end]) from complete subtrees; the empty tree's hash is
 * SHA-256(""). */
MR_MUST_CHECK medreg_err mr_merkle_range_hash(mr_subtree_fn fn, void *ctx, uint64_t begin, uint64_t end,
                                              mr_hash out);

/* PATH(index, D[0:size]) and PROOF(old_size, D[0:size]) (RFC 9162
 * §2.1.3.1, §2.1.4.1) into proof (MR_PROOF_MAX entries); *n is set. */
MR_MUST_CHECK medreg_err mr_merkle_inclusion_proof(mr_subtree_fn fn, void *ctx, uint64_t index, uint64_t size,
                                                   mr_hash *proof, size_t *n);
MR_MUST_CHECK medreg_err mr_merkle_consistency_proof(mr_subtree_fn fn, void *ctx, uint64_t old_size, uint64_t size,
                                                     mr_hash *proof, size_t *n);

/* RFC 9162 §2.1.3.2 and §2.1.4.2: MEDREG_OK, or MEDREG_ERR_VERIFY for a
 * wrong or malformed proof (never anything that depends on where it
 * failed). */
MR_MUST_CHECK medreg_err mr_merkle_verify_inclusion(uint64_t index, uint64_t size, const mr_hash leaf,
                                                    const mr_hash *proof, size_t n, const mr_hash root);
MR_MUST_CHECK medreg_err mr_merkle_verify_consistency(uint64_t old_size, uint64_t size, const mr_hash *proof,
                                                      size_t n, const mr_hash old_root, const mr_hash root);

/* A subtree source over an array of leaf hashes (tests, small trees). */
typedef struct mr_leaf_array {
    const mr_hash *leaves;
    uint64_t n;
} mr_leaf_array;
medreg_err mr_leaf_array_subtree(void *ctx, unsigned level, uint64_t index, mr_hash out);

#endif
