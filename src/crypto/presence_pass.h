/* A presence pass: the registry's word to the identity service that a
 * patient's card has just answered in front of a physician (an `audit`
 * consent session), so that the identity service may show that physician the
 * patient's identity-side events (docs/ledger.md, "The patient's history").
 *
 *   body  = "MRP1" ‖ lp(module) ‖ u32 key_id ‖ psn[32] ‖ physician[32] ‖ u64 expires_at ‖ nonce[16]
 *   key   = BLAKE2b-256(key = K, "medreg/presence-pass/v1")   K: the PSN-token box key
 *   pass  = base64url(n ‖ XSalsa20-Poly1305(key, n, body)), n random (24 bytes)
 *
 * Only the registry and the identity service hold K; the physician carries
 * the pass but can neither read it (it names the PSN) nor make one. The
 * derived key keeps passes and PSN tokens apart. */
#ifndef MR_PRESENCE_PASS_H
#define MR_PRESENCE_PASS_H

#include <stdint.h>

#include "psn_token.h"

#define MR_PASS_MAX_CHARS 512

typedef struct mr_presence_pass {
    char module[MR_NAME_MAX + 1];
    uint32_t key_id;
    uint8_t psn[MEDREG_PSN_BYTES];
    uint8_t physician[MR_FPR_BYTES];
    uint64_t expires_at;
    uint8_t nonce[16];
} mr_presence_pass;

/* Seal p (its nonce must already be random) under the box key K. *out: malloc'ed. */
MR_MUST_CHECK medreg_err mr_pass_seal(const mr_presence_pass *p, const uint8_t k[MR_TOKEN_KEY_BYTES], char **out);
/* Open and parse a pass; any failure is MEDREG_ERR_VERIFY. Expiry, the
 * physician and one-time use are the caller's checks. */
MR_MUST_CHECK medreg_err mr_pass_open(const char *pass, const uint8_t k[MR_TOKEN_KEY_BYTES], mr_presence_pass *out);

#endif
