/* A certificate's validity at the moment of use (mr_cert_valid_at): inside
 * notBefore..notAfter only, to the second, whatever was true when it was
 * registered. And the check at registration (mr_cert_verify_ca): a
 * certificate of the CA outside its validity is told apart (EXPIRED) from one
 * of another CA, expired or not (VERIFY). */
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <time.h>

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

/* A certificate for k named cn, signed by issuer (its key ik), or
 * self-signed when issuer is NULL; a CA when ca. */
static X509 *cert_by(EVP_PKEY *k, const char *cn, X509 *issuer, EVP_PKEY *ik, time_t from, time_t to, int ca)
{
    static long serial = 10;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    ASN1_TIME_set(X509_getm_notBefore(x), from);
    ASN1_TIME_set(X509_getm_notAfter(x), to);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    X509_set_pubkey(x, k);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, issuer ? ik : k, EVP_sha256());
    return x;
}

static void verify_ca(void)
{
    EVP_PKEY *ck = NULL, *ok = NULL, *k = NULL;
    CHECK(mr_key_generate("p256", &ck) == MEDREG_OK && mr_key_generate("p256", &ok) == MEDREG_OK &&
          mr_key_generate("p256", &k) == MEDREG_OK);
    const time_t now = time(NULL), day = 86400;
    X509 *ca = cert_by(ck, "ca", NULL, NULL, now - day, now + 3650 * day, 1);
    X509 *other = cert_by(ok, "other ca", NULL, NULL, now - day, now + 3650 * day, 1);
    char *pem = mr_cert_pem(ca);
    CHECK(pem != NULL);
    X509 *good = cert_by(k, "card", ca, ck, now - 3600, now + day, 0);
    X509 *expired = cert_by(k, "card", ca, ck, now - 2 * day, now - day, 0);
    X509 *later = cert_by(k, "card", ca, ck, now + day, now + 2 * day, 0);
    X509 *foreign = cert_by(k, "card", other, ok, now - 3600, now + day, 0);
    X509 *foreign_expired = cert_by(k, "card", other, ok, now - 2 * day, now - day, 0);
    X509 *self = cert_by(k, "card", NULL, NULL, now - 3600, now + day, 0);
    CHECK(mr_cert_verify_ca(pem, good) == MEDREG_OK);
    CHECK(mr_cert_verify_ca(pem, expired) == MEDREG_ERR_EXPIRED);
    CHECK(mr_cert_verify_ca(pem, later) == MEDREG_ERR_EXPIRED);
    CHECK(mr_cert_verify_ca(pem, foreign) == MEDREG_ERR_VERIFY);
    CHECK(mr_cert_verify_ca(pem, foreign_expired) == MEDREG_ERR_VERIFY); /* never "only expired" */
    CHECK(mr_cert_verify_ca(pem, self) == MEDREG_ERR_VERIFY);
    CHECK(mr_cert_verify_ca("no PEM here", good) == MEDREG_ERR_VERIFY);
    X509 *lapsed_ca = cert_by(ck, "ca", NULL, NULL, now - 2 * day, now - day, 1);
    char *lapsed_pem = mr_cert_pem(lapsed_ca);
    CHECK(lapsed_pem != NULL && mr_cert_verify_ca(lapsed_pem, good) == MEDREG_ERR_EXPIRED); /* the CA ran out */
    X509 *v[] = {ca, other, good, expired, later, foreign, foreign_expired, self, lapsed_ca};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        X509_free(v[i]);
    free(pem);
    free(lapsed_pem);
    EVP_PKEY_free(ck);
    EVP_PKEY_free(ok);
    EVP_PKEY_free(k);
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
    verify_ca();
    return TEST_DONE();
}
