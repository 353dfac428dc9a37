#include "cert_cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"

typedef struct slot {
    uint8_t key[32]; /* SHA-256 of the PEM text */
    X509 *crt;       /* NULL: empty */
} slot;

struct mr_cert_cache {
    pthread_mutex_t mu;
    size_t n;
    slot *slots;
};

medreg_err mr_cert_cache_new(size_t slots, mr_cert_cache **out)
{
    mr_cert_cache *cc = calloc(1, sizeof *cc);
    *out = NULL;
    if (cc == NULL || slots == 0 || (cc->slots = calloc(slots, sizeof *cc->slots)) == NULL) {
        free(cc);
        return MEDREG_ERR_NOMEM;
    }
    cc->n = slots;
    pthread_mutex_init(&cc->mu, NULL);
    *out = cc;
    return MEDREG_OK;
}

void mr_cert_cache_free(mr_cert_cache *cc)
{
    if (cc == NULL)
        return;
    for (size_t i = 0; i < cc->n; i++)
        X509_free(cc->slots[i].crt);
    pthread_mutex_destroy(&cc->mu);
    free(cc->slots);
    free(cc);
}

X509 *mr_cert_cache_parse(mr_cert_cache *cc, const char *pem, size_t len)
{
    uint8_t key[32];
    if (pem == NULL || len == 0 || len >= (1 << 16))
        return NULL;
    crypto_hash_sha256(key, (const unsigned char *)pem, len);
    /* the first 4 bytes of a SHA-256 choose the slot as well as any hash would */
    size_t at = (size_t)(((uint64_t)key[0] << 24 | (uint64_t)key[1] << 16 | (uint64_t)key[2] << 8 | key[3]) % cc->n);
    slot *sl = &cc->slots[at];
    X509 *crt = NULL;
    pthread_mutex_lock(&cc->mu);
    if (sl->crt != NULL && sodium_memcmp(sl->key, key, 32) == 0 && X509_up_ref(sl->crt) == 1)
        crt = sl->crt;
    pthread_mutex_unlock(&cc->mu);
    if (crt != NULL)
        return crt;
    /* parse outside the lock: it is the slow part */
    if ((crt = mr_cert_from_pem(pem, len)) == NULL || X509_up_ref(crt) != 1) {
        X509_free(crt);
        return NULL;
    }
    pthread_mutex_lock(&cc->mu);
    X509 *old = sl->crt;
    memcpy(sl->key, key, 32);
    sl->crt = crt; /* the cache's reference; the caller holds the other */
    pthread_mutex_unlock(&cc->mu);
    X509_free(old);
    return crt;
}
