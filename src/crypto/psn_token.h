/* PSN tokens: how the identity service hands a PSN to the registry through
 * the physician, who can neither read nor forge it.
 *
 *   body   = "MRT1" ‖ lp(module) ‖ lp(internal_id) ‖ physician[32] ‖ u32 key_id ‖
 *            psn[32] ‖ u64 issued_at ‖ u64 expires_at ‖ nonce[16]
 *   sig    = Ed25519(identity signing key, "medreg/psn-token/v1" ‖ body)
 *   token  = base64url(n ‖ crypto_box_easy_afternm(body ‖ sig, n, K)), n random (24 bytes)
 *   K      = HSalsa20(X25519(identity box key, registry seal key)), as
 *            crypto_box_beforenm computes it
 *
 * The signature makes the token unforgeable, the box makes it unreadable to
 * everyone but the registry (and the identity service that made it), the
 * nonce makes it one-time. The identity service's box key is its own X25519
 * key (box_key) or, when the signing key is a file, that key's X25519 twin
 * (crypto_sign_ed25519_*_to_curve25519), so that a file set-up needs no extra
 * key file. K is computed once per process, on the token where the keys are
 * on tokens: a token costs one signature and one XSalsa20-Poly1305 pass, not
 * two X25519 operations. */
#ifndef MR_PSN_TOKEN_H
#define MR_PSN_TOKEN_H

#include <sodium.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../config/module.h"
#include "../token/key25519.h"

#define MR_FPR_BYTES 32 /* SHA-256 of a certificate's DER encoding */
#define MR_TOKEN_NONCE_BYTES 16
#define MR_TOKEN_MAX_CHARS 1024

typedef struct mr_psn_token {
    char module[MR_NAME_MAX + 1];
    char internal_id[MEDREG_INTERNAL_ID_LEN + 1];
    uint8_t physician[MR_FPR_BYTES];
    uint32_t key_id;
    uint8_t psn[MEDREG_PSN_BYTES];
    uint64_t issued_at, expires_at;
    uint8_t nonce[MR_TOKEN_NONCE_BYTES];
} mr_psn_token;

#define MR_TOKEN_KEY_BYTES crypto_box_BEFORENMBYTES

/* K from z, the X25519 agreement of the two services' keys (either side
 * computes the same z). Fails on an all-zero z: a low-order peer key. */
MR_MUST_CHECK medreg_err mr_psn_token_key(const uint8_t z[32], uint8_t key[MR_TOKEN_KEY_BYTES]);

/* Seal t (whose nonce must already be random). *out: malloc'ed base64url. */
MR_MUST_CHECK medreg_err mr_psn_token_seal(const mr_psn_token *t, mr_key25519 *signer,
                                           const uint8_t key[MR_TOKEN_KEY_BYTES], char **out);

/* Open and verify a token string: decrypts, checks the signature against
 * identity_pk and the encoding. Expiry and one-time use are the caller's
 * checks (they need a clock and the database). Any failure is VERIFY. */
MR_MUST_CHECK medreg_err mr_psn_token_open(const char *token, const uint8_t key[MR_TOKEN_KEY_BYTES],
                                           const uint8_t identity_pk[crypto_sign_PUBLICKEYBYTES],
                                           mr_psn_token *out);

#endif
