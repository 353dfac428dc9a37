#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>

#include "../core/secret.h"

struct mr_hmac {
    EVP_MAC_CTX *ctx;
};

medreg_err mr_hmac_new(const uint8_t *key, size_t key_len, mr_hmac **out)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
    mr_hmac *h = NULL;
    EVP_MAC *mac = NULL;

    *out = NULL;
    if (key == NULL || key_len == 0)
        return MEDREG_ERR_INVALID;
    if ((h = calloc(1, sizeof *h)) == NULL)
        return MEDREG_ERR_NOMEM;
    /* the provider keeps its own copy of the key, freed with
     * OPENSSL_secure_clear_free when the context is */
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (h->ctx = EVP_MAC_CTX_new(mac)) == NULL ||
        !EVP_MAC_init(h->ctx, key, key_len, params)) {
        EVP_MAC_free(mac);
        mr_hmac_free(h);
        return MEDREG_ERR_CRYPTO;
    }
    EVP_MAC_free(mac); /* the context holds its own reference */
    *out = h;
    return MEDREG_OK;
}

medreg_err mr_hmac_parts(mr_hmac *h, const mr_hmac_part *parts, size_t n, uint8_t mac[32])
{
    size_t len = 0;
    /* a NULL key restarts from the inner and outer states the key left,
     * which is what makes a message cost only its own blocks */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL))
        return MEDREG_ERR_CRYPTO;
    for (size_t i = 0; i < n; i++)
        if (parts[i].len && !EVP_MAC_update(h->ctx, parts[i].p, parts[i].len))
            return MEDREG_ERR_CRYPTO;
    if (!EVP_MAC_final(h->ctx, mac, &len, 32) || len != 32)
        return MEDREG_ERR_CRYPTO;
    return MEDREG_OK;
}

void mr_hmac_free(mr_hmac *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
    free(h);
}

medreg_err mr_hmac_once(const uint8_t *key, size_t key_len, const mr_hmac_part *parts, size_t n, uint8_t mac[32])
{
    crypto_auth_hmacsha256_state st;
    if (key == NULL || key_len == 0)
        return MEDREG_ERR_INVALID;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    for (size_t i = 0; i < n; i++)
        crypto_auth_hmacsha256_update(&st, parts[i].p, parts[i].len);
    crypto_auth_hmacsha256_final(&st, mac);
    mr_wipe(&st, sizeof st);
    return MEDREG_OK;
}
