#include "card.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pki/pki.h"
#include "p11_session.h"
#include "token_impl.h"

/* DER OIDs of the curves a card may carry (CKA_EC_PARAMS) */
static const uint8_t OID_P256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t OID_P384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t OID_BP256[] = {0x06, 0x09, 0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07};

static void pad32(CK_UTF8CHAR out[32], const char *s)
{
    memset(out, ' ', 32);
    memcpy(out, s, strlen(s) > 32 ? 32 : strlen(s));
}

static int find_slot(CK_FUNCTION_LIST *f, const char *label, int want_free, CK_SLOT_ID *slot)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    CK_TOKEN_INFO ti;
    CK_UTF8CHAR padded[32];
    pad32(padded, label ? label : "");
    if (mr_p11_slots_with_token(f, slots, &n) != CKR_OK)
        return 0;
    for (CK_ULONG i = 0; i < n; i++) {
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        int init = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
        if ((want_free && !init) || (!want_free && init && memcmp(ti.label, padded, 32) == 0)) {
            *slot = slots[i];
            return 1;
        }
    }
    return 0;
}

/* The public key of a freshly generated pair, read back from the token. */
static EVP_PKEY *read_public(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, const char *curve)
{
    uint8_t a[1024], b[1024];
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    ASN1_OCTET_STRING *os = NULL; /* the builder keeps pointers until to_param */
    if (curve == NULL) {
        CK_ATTRIBUTE at[2] = {{CKA_MODULUS, a, sizeof a}, {CKA_PUBLIC_EXPONENT, b, sizeof b}};
        if (mr_p11_get_attributes(f, s, pub, at, 2) != CKR_OK)
            goto out;
        n = BN_bin2bn(a, (int)at[0].ulValueLen, NULL);
        e = BN_bin2bn(b, (int)at[1].ulValueLen, NULL);
        if (!bld || !n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
    } else {
        CK_ATTRIBUTE at = {CKA_EC_POINT, a, sizeof a};
        if (mr_p11_get_attributes(f, s, pub, &at, 1) != CKR_OK || at.ulValueLen < 3)
            goto out;
        /* CKA_EC_POINT is a DER OCTET STRING around the point */
        const unsigned char *d = a;
        os = d2i_ASN1_OCTET_STRING(NULL, &d, (long)at.ulValueLen);
        if (os == NULL)
            goto out;
        int ok = bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
                 OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, ASN1_STRING_get0_data(os),
                                                  (size_t)ASN1_STRING_length(os));
        if (!ok)
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, curve ? "EC" : "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
out:
    BN_free(n);
    BN_free(e);
    ASN1_OCTET_STRING_free(os);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

medreg_err mr_card_init(const mr_card_spec *sp, char **errmsg)
{
    medreg_err rc = MEDREG_OK;
    CK_FUNCTION_LIST *f = NULL;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CK_SLOT_ID slot;
    CK_UTF8CHAR label[32];
    int initialized = 0;
    EVP_PKEY *pub = NULL;
    X509 *crt = NULL;
    unsigned char *der = NULL, *subj = NULL;
    const uint8_t *oid = NULL;
    size_t oid_len = 0;
    CK_ULONG bits = 0;
    const char *curve = NULL;

    *errmsg = NULL;
    if (!strcmp(sp->key_type, "rsa2048") || !strcmp(sp->key_type, "rsa3072") || !strcmp(sp->key_type, "rsa4096"))
        bits = (CK_ULONG)strtoul(sp->key_type + 3, NULL, 10);
    else if (!strcmp(sp->key_type, "p256"))
        oid = OID_P256, oid_len = sizeof OID_P256, curve = "prime256v1";
    else if (!strcmp(sp->key_type, "p384"))
        oid = OID_P384, oid_len = sizeof OID_P384, curve = "secp384r1";
    else if (!strcmp(sp->key_type, "brainpoolp256r1"))
        oid = OID_BP256, oid_len = sizeof OID_BP256, curve = "brainpoolP256r1";
    else
        return mr_token_fail(errmsg, MEDREG_ERR_INVALID, "unknown key type", sp->key_type);
    if (strlen(sp->label) == 0 || strlen(sp->label) > 32)
        return mr_token_fail(errmsg, MEDREG_ERR_INVALID, "a token label has 1 to 32 bytes", sp->label);
    if ((f = p11_kit_module_load(sp->module, 0)) == NULL)
        return mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "cannot load the PKCS#11 module", sp->module);
    if (p11_kit_module_initialize(f) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "the PKCS#11 module did not initialise", sp->module);
        goto out;
    }
    initialized = 1;
    if (find_slot(f, sp->label, 0, &slot)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_EXISTS, "a token with this label exists", sp->label);
        goto out;
    }
    if (!find_slot(f, NULL, 1, &slot)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "no free slot (uninitialised token) in", sp->module);
        goto out;
    }
    pad32(label, sp->label);
    if (f->C_InitToken(slot, (CK_UTF8CHAR_PTR)sp->so_pin, strlen(sp->so_pin), label) != CKR_OK ||
        !find_slot(f, sp->label, 0, &slot) || /* SoftHSM2 moves a new token to a new slot */
        f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)sp->so_pin, strlen(sp->so_pin)) != CKR_OK ||
        f->C_InitPIN(s, (CK_UTF8CHAR_PTR)sp->pin, strlen(sp->pin)) != CKR_OK || f->C_Logout(s) != CKR_OK ||
        f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)sp->pin, strlen(sp->pin)) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot initialise the token", sp->label);
        goto out;
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    uint8_t id[1] = {1};
    CK_BYTE exp[] = {1, 0, 1};
    CK_ATTRIBUTE pub_t[] = {{CKA_TOKEN, &yes, sizeof yes},        {CKA_VERIFY, &yes, sizeof yes},
                            {CKA_ENCRYPT, &yes, sizeof yes},      {CKA_ID, id, sizeof id},
                            {CKA_LABEL, (void *)sp->name, strlen(sp->name)},
                            bits ? (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits}
                                 : (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)oid, oid_len},
                            {CKA_PUBLIC_EXPONENT, exp, sizeof exp}};
    CK_ATTRIBUTE priv_t[] = {{CKA_TOKEN, &yes, sizeof yes},       {CKA_PRIVATE, &yes, sizeof yes},
                             {CKA_SENSITIVE, &yes, sizeof yes},   {CKA_EXTRACTABLE, &no, sizeof no},
                             {CKA_SIGN, &yes, sizeof yes},        {CKA_ID, id, sizeof id},
                             {CKA_LABEL, (void *)sp->name, strlen(sp->name)},
                             bits ? (CK_ATTRIBUTE){CKA_DECRYPT, &yes, sizeof yes}
                                  : (CK_ATTRIBUTE){CKA_DERIVE, &yes, sizeof yes}};
    CK_MECHANISM gen = {bits ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub, hpriv;
    /* an EC template has no public exponent */
    if (f->C_GenerateKeyPair(s, &gen, pub_t, bits ? 7 : 6, priv_t, 8, &hpub, &hpriv) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot generate a key pair on", sp->label);
        goto out;
    }
    if ((pub = read_public(f, s, hpub, curve)) == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot read the generated public key back from", sp->label);
        goto out;
    }
    if ((rc = mr_pki_certify(sp->pki_dir, sp->name, pub, &crt)) != MEDREG_OK) {
        mr_token_fail(errmsg, rc, "cannot certify the card key with the CA in", sp->pki_dir);
        goto out;
    }
    int dl = i2d_X509(crt, &der), sl = i2d_X509_NAME(X509_get_subject_name(crt), &subj);
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE cert_t[] = {{CKA_CLASS, &cls, sizeof cls},     {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
                             {CKA_TOKEN, &yes, sizeof yes},     {CKA_ID, id, sizeof id},
                             {CKA_LABEL, (void *)sp->name, strlen(sp->name)},
                             {CKA_SUBJECT, subj, (CK_ULONG)sl}, {CKA_VALUE, der, (CK_ULONG)dl}};
    CK_OBJECT_HANDLE hc;
    if (dl <= 0 || sl <= 0 || f->C_CreateObject(s, cert_t, 7, &hc) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot store the certificate on", sp->label);
        goto out;
    }
    if (sp->cert_out && (rc = mr_cert_write_pem(sp->cert_out, crt)) != MEDREG_OK)
        mr_token_fail(errmsg, rc, "cannot write", sp->cert_out);
out:
    OPENSSL_free(der);
    OPENSSL_free(subj);
    X509_free(crt);
    EVP_PKEY_free(pub);
    if (s != CK_INVALID_HANDLE) {
        f->C_Logout(s);
        f->C_CloseSession(s);
    }
    if (initialized)
        p11_kit_module_finalize(f);
    if (f)
        p11_kit_module_release(f);
    return rc;
}
