#include "kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <pthread.h>

/* Fetching an algorithm takes OpenSSL 3's global store lock; under load
 * that lock, not the hash, was the cost. The fetched HKDF is immutable and
 * shared, set once. */
static EVP_KDF *hkdf;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;
static void fetch_hkdf(void) { hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL); }

medreg_err mr_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    pthread_once(&hkdf_once, fetch_hkdf);
    EVP_KDF_CTX *k = hkdf ? EVP_KDF_CTX_new(hkdf) : NULL;
    OSSL_PARAM p[5];
    size_t n = 0;
    p[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    if (salt_len > 0) /* RFC 5869: no salt means HashLen zeros, OpenSSL's default */
        p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len > 0)
        p[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    p[n] = OSSL_PARAM_construct_end();
    int ok = k && EVP_KDF_derive(k, out, out_len, p) == 1;
    EVP_KDF_CTX_free(k); /* clears its key material */
    return ok ? MEDREG_OK : MEDREG_ERR_CRYPTO;
}
