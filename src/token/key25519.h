/* The services' own Curve25519 keys: the identity service's Ed25519 key that
 * signs PSN tokens, and the X25519 keys from which the identity service and
 * the registry agree on the PSN-token box key. Each lives either in a 0600
 * file of 32 raw bytes (an Ed25519 seed or an X25519 secret, as libsodium
 * keeps them) or on a PKCS#11 token, where it signs (CKM_EDDSA) or agrees
 * (CKM_ECDH1_DERIVE) without leaving it. Unlike mr_token, these keys carry
 * no certificate: the peer pins the raw public key. */
#ifndef MR_KEY25519_H
#define MR_KEY25519_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

typedef struct mr_key25519 mr_key25519;

typedef enum { MR_KEY_ED25519 = 1, MR_KEY_X25519 = 2 } mr_key25519_kind;

/* spec->key is a file path or a "pkcs11:" URI (spec->cert is ignored). The
 * key is proven at once: a signature verified against its public key, or an
 * agreement compared with one computed outside the token. */
MR_MUST_CHECK medreg_err mr_key25519_open(const mr_token_spec *spec, mr_key25519_kind kind, mr_key25519 **out,
                                          char **errmsg);
/* A key held in memory, from its 32-byte seed (Ed25519) or secret (X25519). */
MR_MUST_CHECK medreg_err mr_key25519_from_bytes(mr_key25519_kind kind, const uint8_t secret[32],
                                                mr_key25519 **out);
void mr_key25519_close(mr_key25519 *k);

/* Make a key pair on the token spec->key names, labelled with the URI's
 * object= (required, and not yet on the token): private, sensitive, never
 * extractable, for signing (Ed25519) or agreeing (X25519) only. X25519 is
 * made as PKCS#11 3.0 says (CKM_EC_MONTGOMERY_KEY_PAIR_GEN), else as
 * SoftHSM2 2.6 does (an Edwards-mechanism pair on the X25519 curve). pk: the
 * raw public key. */
MR_MUST_CHECK medreg_err mr_key25519_generate(const mr_token_spec *spec, mr_key25519_kind kind, uint8_t pk[32],
                                              char **errmsg);

mr_key25519_kind mr_key25519_type(const mr_key25519 *k);
/* Ed25519 or X25519 public key, as the kind says. */
const uint8_t *mr_key25519_public(const mr_key25519 *k);
/* Whether the key is on a token (1) or in memory (0). */
int mr_key25519_on_token(const mr_key25519 *k);
const char *mr_key25519_describe(const mr_key25519 *k);

/* Ed25519 signature (RFC 8032, pure) of msg. */
MR_MUST_CHECK medreg_err mr_key25519_sign(mr_key25519 *k, const uint8_t *msg, size_t len, uint8_t sig[64]);

/* X25519 with peer: z = X25519(secret, peer). An X25519 key does it wherever
 * it lives; an Ed25519 key in memory does it with its birationally equivalent
 * X25519 twin (crypto_sign_ed25519_sk_to_curve25519), an Ed25519 key on a
 * token cannot (MEDREG_ERR_INVALID). A low-order peer (all-zero z) is
 * MEDREG_ERR_CRYPTO. */
MR_MUST_CHECK medreg_err mr_key25519_agree(mr_key25519 *k, const uint8_t peer[32], uint8_t z[32]);

/* The X25519 public key that mr_key25519_agree uses: the key's own, or an
 * Ed25519 key's twin. MEDREG_ERR_INVALID for an Ed25519 key on a token. */
MR_MUST_CHECK medreg_err mr_key25519_agree_public(const mr_key25519 *k, uint8_t pk[32]);

#endif
