/* Long-term pseudonym (architecture: "PSN"). Length-prefixing every part
 * makes the encoding injective: ("ab","c") and ("a","bc") never collide; the
 * domain tag keeps this MAC apart from every other use of the key; the key id
 * is inside the MAC so a PSN names the key generation that made it. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "../core/safety.h"
#include "../core/secret.h"
#include "medreg/pseudonym.h"

static const char PSN_TAG[] = "medreg/psn/v1";

static int put_u32(EVP_MAC_CTX *ctx, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return EVP_MAC_update(ctx, b, 4);
}

static int put_lp(EVP_MAC_CTX *ctx, const char *s)
{
    size_t n = strlen(s);
    return n <= UINT32_MAX && put_u32(ctx, (uint32_t)n) && EVP_MAC_update(ctx, (const uint8_t *)s, n);
}

medreg_err medreg_psn_derive(const uint8_t key[MEDREG_PSN_KEY_BYTES], uint32_t key_id,
                             const char *module, const medreg_psn_field *fields, size_t n_fields,
                             uint8_t psn[MEDREG_PSN_BYTES])
{
    medreg_err rc = MEDREG_ERR_CRYPTO;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    size_t out_len = 0;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                            OSSL_PARAM_construct_end()};

    ENSURE(key && module && (fields || n_fields == 0) && n_fields <= UINT32_MAX, MEDREG_ERR_INVALID);
    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    ENSURE(mac != NULL, MEDREG_ERR_CRYPTO);
    ctx = EVP_MAC_CTX_new(mac);
    ENSURE(ctx != NULL, MEDREG_ERR_NOMEM);
    ENSURE(EVP_MAC_init(ctx, key, MEDREG_PSN_KEY_BYTES, params), MEDREG_ERR_CRYPTO);
    ENSURE(EVP_MAC_update(ctx, (const uint8_t *)PSN_TAG, sizeof PSN_TAG - 1), MEDREG_ERR_CRYPTO);
    ENSURE(put_u32(ctx, key_id) && put_lp(ctx, module) && put_u32(ctx, (uint32_t)n_fields),
           MEDREG_ERR_CRYPTO);
    for (size_t i = 0; i < n_fields; i++) {
        ENSURE(fields[i].name && fields[i].value, MEDREG_ERR_INVALID);
        ENSURE(put_lp(ctx, fields[i].name) && put_lp(ctx, fields[i].value), MEDREG_ERR_CRYPTO);
    }
    ENSURE(EVP_MAC_final(ctx, psn, &out_len, MEDREG_PSN_BYTES) && out_len == MEDREG_PSN_BYTES,
           MEDREG_ERR_CRYPTO);
    rc = MEDREG_OK;
out:
    EVP_MAC_CTX_free(ctx); /* OpenSSL cleanses the HMAC key schedule on free */
    EVP_MAC_free(mac);
    return rc;
}
