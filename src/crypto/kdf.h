/* HKDF-SHA256 (RFC 5869) through OpenSSL's EVP_KDF. */
#ifndef MR_KDF_H
#define MR_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

MR_MUST_CHECK medreg_err mr_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                                        const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

#endif
