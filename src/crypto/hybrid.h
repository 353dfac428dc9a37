/* Hybrid public-key encryption to a card's or a service's X.509 key, for
 * payloads larger than the key (docs/protocol.md, "Hybrid encryption"):
 *   RSA: a random 32-byte seed under RSA-OAEP (SHA-1 or SHA-256);
 *   EC:  ECIES, an ephemeral key on the recipient's curve, ECDH;
 * then HKDF-SHA256 gives an AES-256-GCM key and nonce, bound to the header
 * and the recipient's public key. Decryption goes through a token, so a
 * card's private key stays on the card. */
#ifndef MR_HYBRID_H
#define MR_HYBRID_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../token/token.h"

#define MR_HYBRID_MAX_PLAIN 8192
#define MR_HYBRID_MAX (MR_HYBRID_MAX_PLAIN + 1024)

/* Seal pt to `to`. oaep_hash (MR_OAEP_*) is used for RSA keys only. aad is
 * authenticated, not sent. *out is malloc'ed. */
MR_MUST_CHECK medreg_err mr_hybrid_seal(EVP_PKEY *to, int oaep_hash, const uint8_t *aad, size_t aad_len,
                                        const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len);

/* Known-answer tests only: the same with the randomness given (RSA: the
 * seed; EC: the ephemeral private key). OAEP itself stays randomised. */
MR_MUST_CHECK medreg_err mr_hybrid_seal_fixed(EVP_PKEY *to, int oaep_hash, const uint8_t seed[32],
                                              EVP_PKEY *ephemeral, const uint8_t *aad, size_t aad_len,
                                              const uint8_t *pt, size_t pt_len, uint8_t **out,
                                              size_t *out_len);

/* Open with the token holding the recipient key. MEDREG_ERR_VERIFY when ct
 * was not sealed to this key with this aad, or was altered. *pt is
 * malloc'ed; the caller wipes and frees it. */
MR_MUST_CHECK medreg_err mr_hybrid_open(mr_token *t, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                                        size_t ct_len, uint8_t **pt, size_t *pt_len);

#endif
