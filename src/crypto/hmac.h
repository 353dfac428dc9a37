/* HMAC-SHA256 under one key, many messages. The key is absorbed once (its
 * two padded blocks hashed once, not per message) and each message costs
 * only its own blocks, on OpenSSL's SHA-256 (SHA-NI/AVX2 where the CPU has
 * them: three times libsodium's portable code). One context per thread. */
#ifndef MR_HMAC_H
#define MR_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

typedef struct mr_hmac mr_hmac;

/* One part of a message: the MAC is over the parts' concatenation. */
typedef struct mr_hmac_part {
    const void *p;
    size_t len;
} mr_hmac_part;

/* A context keyed with key[0..key_len); the key is copied, and wiped with
 * the context. */
MR_MUST_CHECK medreg_err mr_hmac_new(const uint8_t *key, size_t key_len, mr_hmac **out);

/* mac = HMAC-SHA256(key, parts[0] || ... || parts[n-1]) */
MR_MUST_CHECK medreg_err mr_hmac_parts(mr_hmac *h, const mr_hmac_part *parts, size_t n, uint8_t mac[32]);

void mr_hmac_free(mr_hmac *h);

/* The same MAC under a key used once (libsodium: no context to set up). */
MR_MUST_CHECK medreg_err mr_hmac_once(const uint8_t *key, size_t key_len, const mr_hmac_part *parts, size_t n,
                                      uint8_t mac[32]);

#endif
