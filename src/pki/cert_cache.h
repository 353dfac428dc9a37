/* Parsed certificates, remembered by the SHA-256 of their PEM text.
 *
 * A physician's card certificate arrives with every consent finish, and
 * OpenSSL 3 spends more time decoding one certificate (its public key goes
 * through the provider decoders) than the registry spends on the rest of the
 * request's cryptography. The same PEM bytes always parse to the same
 * certificate, so a hit is exact; what the caller checks about the
 * certificate (registration, signatures) it still checks every time. */
#ifndef MR_CERT_CACHE_H
#define MR_CERT_CACHE_H

#include <openssl/x509.h>
#include <stddef.h>

#include "../core/safety.h"

typedef struct mr_cert_cache mr_cert_cache;

/* A cache of `slots` certificates (direct-mapped: a newer one evicts). */
MR_MUST_CHECK medreg_err mr_cert_cache_new(size_t slots, mr_cert_cache **out);
void mr_cert_cache_free(mr_cert_cache *cc);

/* The certificate the PEM text (at most 64 KiB) holds, parsed or remembered,
 * or NULL when it holds none. The caller owns a reference: X509_free it.
 * Safe to call from many threads. */
X509 *mr_cert_cache_parse(mr_cert_cache *cc, const char *pem, size_t len);

#endif
