#include "pki.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/secret.h"

#define DAYS_CA 3650
#define DAYS_LEAF 825

static int valid_cn(const char *s)
{
    size_t n = 0;
    if (s == NULL || s[0] == 0)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return n <= 64 && s[0] != '.';
}

static char *path_join(const char *dir, const char *name, const char *ext)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s%s", dir, name, ext) < 0)
        return NULL;
    return p;
}

static medreg_err write_key_pem(const char *path, EVP_PKEY *key)
{
    medreg_err rc = MEDREG_ERR_CRYPTO;
    BIO *b = BIO_new(BIO_s_secmem());
    BUF_MEM *m = NULL;
    if (b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1 &&
        BIO_get_mem_ptr(b, &m) == 1)
        rc = mr_secret_file_write(path, m->data, m->length);
    BIO_free(b); /* secmem BIO: freed memory is cleansed */
    return rc;
}

static medreg_err write_cert_pem(const char *path, X509 *crt)
{
    medreg_err rc = MEDREG_ERR_CRYPTO;
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *m = NULL;
    if (b && PEM_write_bio_X509(b, crt) == 1 && BIO_get_mem_ptr(b, &m) == 1)
        rc = mr_file_write(path, m->data, m->length);
    BIO_free(b);
    return rc;
}

static int add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return 0;
    int ok = X509_add_ext(crt, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Build and sign a certificate. issuer NULL = self-signed CA. */
static medreg_err make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                            int kind /* 0 ca, 1 person, 2 service */, X509 **out)
{
    medreg_err rc = MEDREG_ERR_CRYPTO;
    X509 *crt = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn = NULL;

    *out = NULL;
    ENSURE(crt && name, MEDREG_ERR_NOMEM);
    ENSURE(RAND_bytes(serial, sizeof serial) == 1, MEDREG_ERR_CRYPTO);
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    ENSURE(bn && (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL, MEDREG_ERR_CRYPTO);
    ENSURE(X509_set_version(crt, 2) && X509_set_serialNumber(crt, sn), MEDREG_ERR_CRYPTO);
    ENSURE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"medreg", -1,
                                      -1, 0) &&
               X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                          -1, 0),
           MEDREG_ERR_CRYPTO);
    ENSURE(X509_set_subject_name(crt, name), MEDREG_ERR_CRYPTO);
    ENSURE(X509_set_issuer_name(crt, issuer ? X509_get_subject_name(issuer) : name),
           MEDREG_ERR_CRYPTO);
    ENSURE(X509_gmtime_adj(X509_getm_notBefore(crt), -3600) &&
               X509_gmtime_adj(X509_getm_notAfter(crt), 86400L * (kind == 0 ? DAYS_CA : DAYS_LEAF)),
           MEDREG_ERR_CRYPTO);
    ENSURE(X509_set_pubkey(crt, key), MEDREG_ERR_CRYPTO);
    X509 *iss = issuer ? issuer : crt;
    ENSURE(add_ext(crt, iss, NID_subject_key_identifier, "hash"), MEDREG_ERR_CRYPTO);
    if (kind == 0) {
        ENSURE(add_ext(crt, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
                   add_ext(crt, iss, NID_key_usage, "critical,keyCertSign,cRLSign"),
               MEDREG_ERR_CRYPTO);
    } else {
        ENSURE(add_ext(crt, iss, NID_authority_key_identifier, "keyid:always") &&
                   add_ext(crt, iss, NID_basic_constraints, "critical,CA:FALSE") &&
                   add_ext(crt, iss, NID_key_usage,
                           EVP_PKEY_base_id(key) == EVP_PKEY_RSA ? "critical,digitalSignature,keyEncipherment"
                                                                 : "critical,digitalSignature,keyAgreement"),
               MEDREG_ERR_CRYPTO);
        if (kind == 2)
            ENSURE(add_ext(crt, iss, NID_ext_key_usage, "serverAuth,clientAuth") &&
                       add_ext(crt, iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"),
                   MEDREG_ERR_CRYPTO);
        else
            ENSURE(add_ext(crt, iss, NID_ext_key_usage, "clientAuth"), MEDREG_ERR_CRYPTO);
    }
    ENSURE(X509_sign(crt, issuer_key ? issuer_key : key, EVP_sha256()) > 0, MEDREG_ERR_CRYPTO);
    *out = crt;
    crt = NULL;
    rc = MEDREG_OK;
out:
    X509_free(crt);
    X509_NAME_free(name);
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    return rc;
}

int mr_cert_valid_at(const X509 *crt, time_t now)
{
    time_t t = now;
    return crt != NULL && X509_cmp_time(X509_get0_notBefore(crt), &t) < 0 &&
           X509_cmp_time(X509_get0_notAfter(crt), &t) > 0;
}

X509 *mr_cert_from_pem(const char *pem, size_t len)
{
    BIO *b = pem && len > 0 && len < (1 << 16) ? BIO_new_mem_buf(pem, (int)len) : NULL;
    X509 *crt = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return crt;
}

medreg_err mr_cert_read_pem(const char *path, X509 **out)
{
    char *pem = NULL;
    size_t len = 0;
    *out = NULL;
    medreg_err rc = mr_file_read(path, 1 << 16, &pem, &len);
    if (rc != MEDREG_OK)
        return rc;
    *out = mr_cert_from_pem(pem, len);
    free(pem);
    return *out ? MEDREG_OK : MEDREG_ERR_INVALID;
}

medreg_err mr_key_read_pem(const char *path, EVP_PKEY **out)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    *out = NULL;
    medreg_err rc = mr_secret_file_read(path, 0, 1 << 16, &pem, &len);
    if (rc != MEDREG_OK)
        return rc;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    *out = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    mr_secret_free(pem);
    return *out ? MEDREG_OK : MEDREG_ERR_INVALID;
}

static medreg_err load_ca(const char *dir, X509 **crt, EVP_PKEY **key)
{
    medreg_err rc = MEDREG_OK;
    char *cp = path_join(dir, "ca", ".crt"), *kp = path_join(dir, "ca", ".key");

    *crt = NULL;
    *key = NULL;
    ENSURE(cp && kp, MEDREG_ERR_NOMEM);
    TRY(mr_cert_read_pem(cp, crt));
    TRY(mr_key_read_pem(kp, key));
out:
    free(cp);
    free(kp);
    if (rc != MEDREG_OK) {
        X509_free(*crt);
        EVP_PKEY_free(*key);
        *crt = NULL;
        *key = NULL;
    }
    return rc;
}

medreg_err mr_key_generate(const char *type, EVP_PKEY **out)
{
    static const struct { const char *name; unsigned rsa_bits; const char *curve; } TYPES[] = {
        {"rsa2048", 2048, NULL}, {"rsa3072", 3072, NULL}, {"rsa4096", 4096, NULL},
        {"p256", 0, "P-256"},   {"p384", 0, "P-384"},    {"brainpoolp256r1", 0, "brainpoolP256r1"},
    };
    *out = NULL;
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(type, TYPES[i].name) == 0) {
            *out = TYPES[i].curve ? EVP_EC_gen(TYPES[i].curve) : EVP_RSA_gen(TYPES[i].rsa_bits);
            return *out ? MEDREG_OK : MEDREG_ERR_CRYPTO;
        }
    return MEDREG_ERR_INVALID;
}

medreg_err mr_pki_certify(const char *dir, const char *name, EVP_PKEY *pub, X509 **out)
{
    medreg_err rc = MEDREG_OK;
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    *out = NULL;
    ENSURE(valid_cn(name), MEDREG_ERR_INVALID);
    TRY(load_ca(dir, &ca, &ca_key));
    TRY(make_cert(name, pub, ca, ca_key, 1, out));
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

medreg_err mr_cert_write_pem(const char *path, X509 *crt) { return write_cert_pem(path, crt); }

medreg_err mr_pki_issue(const char *dir, const char *name, int service, const char *key_type)
{
    medreg_err rc = MEDREG_OK;
    X509 *ca = NULL, *crt = NULL;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    char *cp = NULL, *kp = NULL;

    ENSURE(valid_cn(name), MEDREG_ERR_INVALID);
    TRY(load_ca(dir, &ca, &ca_key));
    TRY(mr_key_generate(key_type ? key_type : "p256", &key));
    TRY(make_cert(name, key, ca, ca_key, service ? 2 : 1, &crt));
    cp = path_join(dir, name, ".crt");
    kp = path_join(dir, name, ".key");
    ENSURE(cp && kp, MEDREG_ERR_NOMEM);
    TRY(write_key_pem(kp, key));
    TRY(write_cert_pem(cp, crt));
out:
    X509_free(ca);
    X509_free(crt);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    free(cp);
    free(kp);
    return rc;
}

static medreg_err write_pair(const char *prefix, const uint8_t *sk, size_t sk_len, const uint8_t *pk,
                             size_t pk_len)
{
    medreg_err rc = MEDREG_OK;
    char *skp = NULL, *pkp = NULL;
    if (asprintf(&skp, "%s.key", prefix) < 0)
        skp = NULL;
    if (asprintf(&pkp, "%s.pub", prefix) < 0)
        pkp = NULL;
    ENSURE(skp && pkp, MEDREG_ERR_NOMEM);
    TRY(mr_secret_file_write(skp, sk, sk_len));
    TRY(mr_file_write(pkp, pk, pk_len));
out:
    free(skp);
    free(pkp);
    return rc;
}

medreg_err mr_key_pair_new(const char *prefix, int seal)
{
    medreg_err rc = MEDREG_OK;
    uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t xsk[crypto_box_SECRETKEYBYTES], xpk[crypto_box_PUBLICKEYBYTES];
    if (seal) {
        /* X25519: PSN tokens are sealed to it */
        crypto_box_keypair(xpk, xsk);
        rc = write_pair(prefix, xsk, sizeof xsk, xpk, sizeof xpk);
    } else {
        /* Ed25519: the file holds the 32-byte seed */
        randombytes_buf(seed, sizeof seed);
        crypto_sign_seed_keypair(pk, sk, seed);
        rc = write_pair(prefix, seed, sizeof seed, pk, sizeof pk);
    }
    mr_wipe(seed, sizeof seed);
    mr_wipe(sk, sizeof sk);
    mr_wipe(xsk, sizeof xsk);
    return rc;
}

medreg_err mr_pki_init(const char *dir)
{
    medreg_err rc = MEDREG_OK;
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    char *cp = NULL, *kp = NULL, *sign = NULL, *seal = NULL, *dk = NULL;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return MEDREG_ERR_IO;
    cp = path_join(dir, "ca", ".crt");
    kp = path_join(dir, "ca", ".key");
    sign = path_join(dir, "identity.sign", "");
    seal = path_join(dir, "registry.seal", "");
    dk = path_join(dir, "identity.data", ".key");
    ENSURE(cp && kp && sign && seal && dk, MEDREG_ERR_NOMEM);
    ca_key = EVP_EC_gen("P-256");
    ENSURE(ca_key != NULL, MEDREG_ERR_CRYPTO);
    TRY(make_cert("medreg development CA", ca_key, NULL, NULL, 0, &ca));
    TRY(write_key_pem(kp, ca_key)); /* O_EXCL: an existing CA is never overwritten */
    TRY(write_cert_pem(cp, ca));
    TRY(mr_pki_issue(dir, "identity", 1, NULL));
    TRY(mr_pki_issue(dir, "registry", 1, NULL));
    /* the registry's consent key: fingerprints and consent answers are sealed to it */
    TRY(mr_pki_issue(dir, "registry-consent", 0, NULL));
    TRY(mr_pki_issue(dir, "admin", 0, NULL));
    TRY(mr_key_pair_new(sign, 0));
    TRY(mr_key_pair_new(seal, 1));
    TRY(mr_key_new(dk));
out:
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    free(cp);
    free(kp);
    free(sign);
    free(seal);
    free(dk);
    return rc;
}

medreg_err mr_key_new(const char *path)
{
    uint8_t k[32];
    randombytes_buf(k, sizeof k);
    medreg_err rc = mr_secret_file_write(path, k, sizeof k);
    mr_wipe(k, sizeof k);
    return rc;
}

medreg_err mr_cert_fingerprint_pem(const char *pem, size_t len, char hex[65])
{
    X509 *crt = mr_cert_from_pem(pem, len);
    medreg_err rc = crt ? mr_cert_fingerprint(crt, hex) : MEDREG_ERR_INVALID;
    X509_free(crt);
    return rc;
}

medreg_err mr_cert_verify_ca(const char *ca_pem, X509 *crt)
{
    medreg_err rc = MEDREG_ERR_VERIFY;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    BIO *b = BIO_new_mem_buf(ca_pem, -1);
    X509 *ca;
    int n = 0;
    if (store == NULL || ctx == NULL || b == NULL)
        goto out;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        n += X509_STORE_add_cert(store, ca) == 1;
        X509_free(ca);
    }
    ERR_clear_error(); /* the end of the PEM bundle */
    if (n > 0 && X509_STORE_CTX_init(ctx, store, crt, NULL) == 1 && X509_verify_cert(ctx) == 1)
        rc = MEDREG_OK;
    else if (n > 0 && (X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_HAS_EXPIRED ||
                       X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CERT_NOT_YET_VALID)) {
        /* the CA's, only outside its validity, if it verifies with the time left out */
        X509_STORE_CTX_cleanup(ctx);
        if (X509_STORE_CTX_init(ctx, store, crt, NULL) == 1) {
            X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
            if (X509_verify_cert(ctx) == 1)
                rc = MEDREG_ERR_EXPIRED;
        }
    }
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    BIO_free(b);
    return rc;
}

medreg_err mr_cert_fingerprint(X509 *crt, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (X509_digest(crt, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
        return MEDREG_ERR_CRYPTO;
    sodium_bin2hex(hex, 65, md, 32);
    return MEDREG_OK;
}

char *mr_cert_pem(X509 *crt)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *m = NULL;
    char *pem = NULL;
    if (b && PEM_write_bio_X509(b, crt) == 1 && BIO_get_mem_ptr(b, &m) == 1 && (pem = malloc(m->length + 1)) != NULL) {
        memcpy(pem, m->data, m->length);
        pem[m->length] = 0;
    }
    BIO_free(b);
    return pem;
}
