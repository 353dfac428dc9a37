/* A certificate's validity at the moment of use (mr_cert_valid_at): inside
 * notBefore..notAfter only, to the second, whatever was true when it was
 * registered. */
#include <openssl/x509.h>

#include "../../../src/pki/pki.h"
#include "../check.h"

/* A certificate valid from `from` to `to` (seconds since the epoch). */
static X509 *cert_between(EVP_PKEY *k, time_t from, time_t to)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    ASN1_TIME_set(X509_getm_notBefore(x), from);
    ASN1_TIME_set(X509_getm_notAfter(x), to);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"card", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    return x;
}

int main(void)
{
    EVP_PKEY *k = NULL;
    CHECK(mr_key_generate("p256", &k) == MEDREG_OK);
    const time_t t = 1800000000; /* 2027-01-15 */
    X509 *x = cert_between(k, t - 86400, t + 86400);
    CHECK(mr_cert_valid_at(x, t));
    CHECK(mr_cert_valid_at(x, t + 86399));
    CHECK(!mr_cert_valid_at(x, t + 86401)); /* expired since it was registered */
    CHECK(!mr_cert_valid_at(x, t - 86401)); /* not valid yet */
    CHECK(!mr_cert_valid_at(x, t + 10 * 365 * 86400));
    X509_free(x);
    x = cert_between(k, t + 60, t + 120); /* issued for later */
    CHECK(!mr_cert_valid_at(x, t));
    CHECK(mr_cert_valid_at(x, t + 90));
    X509_free(x);
    CHECK(!mr_cert_valid_at(NULL, t));
    EVP_PKEY_free(k);
    return TEST_DONE();
}
