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

/* A recipient: its public key (borrowed), the OAEP hash (MR_OAEP_*) for an
 * RSA key, and the SHA-256 of its SubjectPublicKeyInfo, which every seal
 * binds. Described once and sealed to many times: encoding a key takes
 * OpenSSL 3 about 80 us, and a full check of an EC key, a scalar
 * multiplication. */
typedef struct mr_hybrid_to {
    EVP_PKEY *key;
    int oaep_hash;
    uint8_t spki_sha256[32];
} mr_hybrid_to;

/* Describe key as a recipient: a supported RSA or EC key (checked in
 * full here, so that each seal need not). MEDREG_ERR_INVALID otherwise. */
MR_MUST_CHECK medreg_err mr_hybrid_to_key(EVP_PKEY *key, int oaep_hash, mr_hybrid_to *out);
/* The same for a token's key, which mr_token_open checked and digested. */
void mr_hybrid_to_token(mr_token *t, int oaep_hash, mr_hybrid_to *out);

/* Seal pt to `to`. aad is authenticated, not sent. *out is malloc'ed. */
MR_MUST_CHECK medreg_err mr_hybrid_seal(const mr_hybrid_to *to, const uint8_t *aad, size_t aad_len,
                                        const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len);

/* Known-answer tests only: the same with the randomness given (RSA: the
 * seed; EC: the ephemeral private key). OAEP itself stays randomised. */
MR_MUST_CHECK medreg_err mr_hybrid_seal_fixed(const mr_hybrid_to *to, const uint8_t seed[32], EVP_PKEY *ephemeral,
                                              const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                                              uint8_t **out, size_t *out_len);

/* Open with the token holding the recipient key. MEDREG_ERR_VERIFY when ct
 * was not sealed to this key with this aad, or was altered. *pt is
 * malloc'ed; the caller wipes and frees it. */
MR_MUST_CHECK medreg_err mr_hybrid_open(mr_token *t, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                                        size_t ct_len, uint8_t **pt, size_t *pt_len);

#endif
