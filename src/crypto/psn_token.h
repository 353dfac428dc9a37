/* PSN tokens: how the identity service hands a PSN to the registry through
 * the physician, who can neither read nor forge it.
 *
 *   body   = "MRT1" ‖ lp(module) ‖ lp(internal_id) ‖ physician[32] ‖ u32 key_id ‖
 *            psn[32] ‖ u64 issued_at ‖ u64 expires_at ‖ nonce[16]
 *   sig    = Ed25519(identity signing key, "medreg/psn-token/v1" ‖ body)
 *   token  = crypto_box_seal(body ‖ sig, registry X25519 public key), base64url
 *
 * The signature makes the token unforgeable, the sealed box makes it
 * unreadable to everyone but the registry, the nonce makes it one-time. */
#ifndef MR_PSN_TOKEN_H
#define MR_PSN_TOKEN_H

#include <sodium.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../config/module.h"

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

/* Seal t (whose nonce must already be random). *out: malloc'ed base64url. */
MR_MUST_CHECK medreg_err mr_psn_token_seal(const mr_psn_token *t,
                                           const uint8_t sign_sk[crypto_sign_SECRETKEYBYTES],
                                           const uint8_t registry_pk[crypto_box_PUBLICKEYBYTES],
                                           char **out);

/* Open and verify a token string: decrypts, checks the signature against
 * identity_pk and the encoding. Expiry and one-time use are the caller's
 * checks (they need a clock and the database). Any failure is VERIFY. */
MR_MUST_CHECK medreg_err mr_psn_token_open(const char *token,
                                           const uint8_t registry_sk[crypto_box_SECRETKEYBYTES],
                                           const uint8_t registry_pk[crypto_box_PUBLICKEYBYTES],
                                           const uint8_t identity_pk[crypto_sign_PUBLICKEYBYTES],
                                           mr_psn_token *out);

#endif
