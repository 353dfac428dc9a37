/* The PSN message in a caller's stack buffer, or on the heap when long
 * NFKD expansions make it larger: the common case allocates nothing. */
#ifndef MR_PSN_INPUT_H
#define MR_PSN_INPUT_H

#include "../core/safety.h"
#include "../crypto/hmac.h"
#include "medreg/pseudonym.h"

/* *msg is stack, or a heap buffer; release it with mr_psn_input_release
 * after success (on failure *msg is stack and holds nothing to keep). */
MR_MUST_CHECK medreg_err mr_psn_input_buf(uint32_t key_id, const char *module, const medreg_psn_field *fields,
                                          size_t n_fields, uint8_t *stack, size_t stack_cap, uint8_t **msg,
                                          size_t *len);
/* Wipe the message (it is identifying) and free it if it is on the heap. */
void mr_psn_input_release(uint8_t *msg, size_t len, const uint8_t *stack);

/* medreg_psn_derive under a module key already in an HMAC context: the
 * key's padded blocks are not hashed again for every patient. */
MR_MUST_CHECK medreg_err mr_psn_derive_mac(mr_hmac *module_key, uint32_t key_id, const char *module,
                                           const medreg_psn_field *fields, size_t n_fields,
                                           uint8_t psn[MEDREG_PSN_BYTES]);

/* The module's VOPRF key pair for network-wide PSNs:
 * DeriveKeyPair(seed = module key, info = "medreg/oprf/v1" ‖ u32(key_id) ‖ lp(module)). */
MR_MUST_CHECK medreg_err mr_psn_oprf_key(const uint8_t module_key[MEDREG_PSN_KEY_BYTES], uint32_t key_id,
                                         const char *module, uint8_t sk[32], uint8_t pk[32]);

#endif
