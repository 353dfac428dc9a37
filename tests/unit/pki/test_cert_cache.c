/* The certificate cache: a hit is the same certificate, a miss parses, other
 * PEM text never returns a remembered certificate, garbage is refused, and
 * many threads evicting each other's entries never see a freed one. */
#include <openssl/pem.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../../src/pki/cert_cache.h"
#include "../../../src/pki/pki.h"
#include "../check.h"

#define N_CERTS 6

static char *pems[N_CERTS];
static char fprs[N_CERTS][65];

/* A self-signed certificate for a fresh key: enough for parsing. */
static char *make_pem(int i)
{
    EVP_PKEY *k = NULL;
    if (mr_key_generate("p256", &k) != MEDREG_OK)
        return NULL;
    X509 *x = X509_new();
    char cn[32];
    snprintf(cn, sizeof cn, "card %d", i);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), i + 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    char *pem = mr_cert_pem(x);
    if (mr_cert_fingerprint(x, fprs[i]) != MEDREG_OK)
        fprs[i][0] = 0;
    X509_free(x);
    EVP_PKEY_free(k);
    return pem;
}

typedef struct racer {
    mr_cert_cache *cc;
    int seed, bad;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    for (int n = 0; n < 3000; n++) {
        int i = (r->seed + n * 7) % N_CERTS;
        X509 *x = mr_cert_cache_parse(r->cc, pems[i], strlen(pems[i]));
        char f[65];
        if (x == NULL || mr_cert_fingerprint(x, f) != MEDREG_OK || strcmp(f, fprs[i]) != 0)
            r->bad++;
        X509_free(x);
    }
    return NULL;
}

int main(void)
{
    mr_cert_cache *cc = NULL;
    for (int i = 0; i < N_CERTS; i++) {
        pems[i] = make_pem(i);
        CHECK(pems[i] != NULL && fprs[i][0] != 0);
    }
    CHECK(mr_cert_cache_new(0, &cc) != MEDREG_OK);
    CHECK(mr_cert_cache_new(64, &cc) == MEDREG_OK);

    /* a miss parses; a hit is the very same certificate */
    X509 *a = mr_cert_cache_parse(cc, pems[0], strlen(pems[0]));
    X509 *b = mr_cert_cache_parse(cc, pems[0], strlen(pems[0]));
    CHECK(a != NULL && a == b);
    X509_free(a);
    X509_free(b);

    /* another certificate is never answered from the first's entry */
    X509 *c = mr_cert_cache_parse(cc, pems[1], strlen(pems[1]));
    char f[65] = "";
    CHECK(c != NULL && mr_cert_fingerprint(c, f) == MEDREG_OK);
    CHECK_STR(f, fprs[1]);
    X509_free(c);

    /* the same certificate, its PEM text one byte different (a trailing
     * newline): parsed again, same fingerprint */
    size_t l = strlen(pems[0]);
    char *longer = malloc(l + 2);
    memcpy(longer, pems[0], l);
    memcpy(longer + l, "\n", 2);
    X509 *d = mr_cert_cache_parse(cc, longer, l + 1);
    CHECK(d != NULL && mr_cert_fingerprint(d, f) == MEDREG_OK);
    CHECK_STR(f, fprs[0]);
    X509_free(d);
    free(longer);

    /* refused: garbage, a corrupted certificate, nothing, too much */
    CHECK(mr_cert_cache_parse(cc, "not a certificate", 17) == NULL);
    char *bad = strdup(pems[2]);
    bad[l / 2] = bad[l / 2] == 'A' ? 'B' : 'A';
    X509 *e = mr_cert_cache_parse(cc, bad, strlen(bad));
    CHECK(e == NULL || (mr_cert_fingerprint(e, f) == MEDREG_OK && strcmp(f, fprs[2]) != 0));
    X509_free(e);
    free(bad);
    CHECK(mr_cert_cache_parse(cc, NULL, 0) == NULL);
    CHECK(mr_cert_cache_parse(cc, pems[0], 1 << 16) == NULL);
    mr_cert_cache_free(cc);

    /* one slot, four threads, six certificates: constant eviction */
    CHECK(mr_cert_cache_new(1, &cc) == MEDREG_OK);
    pthread_t t[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){cc, i, 0};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(r[i].bad == 0);
    }
    mr_cert_cache_free(cc);
    for (int i = 0; i < N_CERTS; i++)
        free(pems[i]);
    return TEST_DONE();
}
