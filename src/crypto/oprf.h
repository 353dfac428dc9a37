/* RFC 9497 oblivious pseudorandom function, suite ristretto255-SHA512, in
 * the OPRF (base) and VOPRF (verifiable) modes, on libsodium's ristretto255.
 *
 * The client blinds an input, the server evaluates a batch of blinded
 * elements with its key (and, in VOPRF mode, proves with one DLEQ proof for
 * the whole batch that it used the key whose public half the client
 * holds), the client verifies, unblinds and finalises. The server never
 * sees an input; the client never learns the key. */
#ifndef MR_OPRF_H
#define MR_OPRF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

#define MR_OPRF_ELEMENT_BYTES 32
#define MR_OPRF_SCALAR_BYTES 32
#define MR_OPRF_PROOF_BYTES 64
#define MR_OPRF_OUTPUT_BYTES 64
/* Longest input Finalize can frame (a 2-byte length). */
#define MR_OPRF_INPUT_MAX 65535

typedef enum mr_oprf_mode {
    MR_OPRF_MODE_BASE = 0x00,
    MR_OPRF_MODE_VERIFIABLE = 0x01
} mr_oprf_mode;

/* RFC 9380 §5.3.1 expand_message_xmd with SHA-512; out_len <= 255 * 64,
 * dst_len 1..255. Exposed for the RFC 9380 known-answer tests. */
MR_MUST_CHECK medreg_err mr_oprf_expand_xmd(const uint8_t *msg, size_t msg_len, const uint8_t *dst,
                                            size_t dst_len, uint8_t *out, size_t out_len);

/* DeriveKeyPair (§3.2.1): a key pair from a secret seed and public info. */
MR_MUST_CHECK medreg_err mr_oprf_derive_key(mr_oprf_mode mode, const uint8_t *seed, size_t seed_len,
                                            const uint8_t *info, size_t info_len,
                                            uint8_t sk[MR_OPRF_SCALAR_BYTES], uint8_t pk[MR_OPRF_ELEMENT_BYTES]);

/* Blind (§3.3.1). blind_in: NULL for a fresh random blind (the normal
 * case), or a fixed scalar for the known-answer tests. blind receives the
 * scalar the client must keep (secret) for Finalize. */
MR_MUST_CHECK medreg_err mr_oprf_blind(mr_oprf_mode mode, const uint8_t *input, size_t input_len,
                                       const uint8_t *blind_in, uint8_t blind[MR_OPRF_SCALAR_BYTES],
                                       uint8_t blinded[MR_OPRF_ELEMENT_BYTES]);

/* BlindEvaluate (§3.3.1, §3.3.2) of n blinded elements. In VOPRF mode pk
 * and proof are required and one proof covers the batch; proof_random is
 * NULL (fresh) or a fixed scalar for the known-answer tests. A blinded
 * element that is not a canonical encoding of a group element other than
 * the identity gives MEDREG_ERR_INVALID and *bad its index. */
MR_MUST_CHECK medreg_err mr_oprf_evaluate(mr_oprf_mode mode, const uint8_t sk[MR_OPRF_SCALAR_BYTES],
                                          const uint8_t *pk, const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                          size_t n, uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES],
                                          const uint8_t *proof_random, uint8_t *proof, size_t *bad);

/* VerifyProof (§2.2.2) of a batch: MEDREG_ERR_VERIFY unless the server
 * evaluated every element with the key whose public half is pk. */
MR_MUST_CHECK medreg_err mr_oprf_verify(const uint8_t pk[MR_OPRF_ELEMENT_BYTES],
                                        const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                        const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                        const uint8_t proof[MR_OPRF_PROOF_BYTES]);

/* Finalize (§3.3.1): unblind one evaluated element and hash. */
MR_MUST_CHECK medreg_err mr_oprf_finalize(const uint8_t *input, size_t input_len,
                                          const uint8_t blind[MR_OPRF_SCALAR_BYTES],
                                          const uint8_t evaluated[MR_OPRF_ELEMENT_BYTES],
                                          uint8_t out[MR_OPRF_OUTPUT_BYTES]);

/* Finalize in two steps, for a caller that holds many elements for a
 * while: unblinding (the scalar work, done once per patient) keeps 32 bytes
 * a patient instead of the input and its blind; the hash with the input is
 * done when the input is at hand again. mr_oprf_finalize is the two in one. */
typedef struct mr_oprf_unblind {
    const uint8_t *blind;     /* MR_OPRF_SCALAR_BYTES */
    const uint8_t *evaluated; /* MR_OPRF_ELEMENT_BYTES */
    uint8_t *unblinded;       /* MR_OPRF_ELEMENT_BYTES, out: evaluated / blind (secret) */
} mr_oprf_unblind;

/* Unblind n evaluated elements with one scalar inversion for all their
 * blinds (Montgomery's trick) instead of one each: an inversion costs half
 * a scalar multiplication. unblinded may not overlap blind. On an error no
 * unblinded element is to be used. */
MR_MUST_CHECK medreg_err mr_oprf_unblind_many(const mr_oprf_unblind *items, size_t n);

/* The output of an input whose evaluated element is unblinded: Finalize's
 * hash (§3.3.1). */
MR_MUST_CHECK medreg_err mr_oprf_finalize_unblinded(const uint8_t *input, size_t input_len,
                                                    const uint8_t unblinded[MR_OPRF_ELEMENT_BYTES],
                                                    uint8_t out[MR_OPRF_OUTPUT_BYTES]);

#endif
