/* A PKCS#11 token: any module loaded by path through p11-kit, the token
 * chosen by a PKCS#11 URI (RFC 7512), the key used in place. One session per
 * token, serialised by a mutex (a PKCS#11 session is not shared safely). */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "p11_session.h"
#include "token_impl.h"

typedef struct p11 {
    mr_p11_session ses;
    CK_OBJECT_HANDLE key;
} p11;

static medreg_err p11_sign(mr_token *t, uint8_t alg, const uint8_t *msg, size_t len, uint8_t *sig,
                           size_t *sig_len)
{
    p11 *p = t->impl;
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t digest[48], raw[MR_SIG_MAX];
    const uint8_t *in = msg;
    CK_ULONG inl = len, sl = sizeof raw;
    unsigned dl = 0;
    medreg_err rc;

    if (alg == MR_SIG_RSA_PSS_SHA256) {
        m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
        m.pParameter = &pss;
        m.ulParameterLen = sizeof pss;
    } else if (alg == MR_SIG_ECDSA_SHA256 || alg == MR_SIG_ECDSA_SHA384) {
        /* cards do raw ECDSA over a digest we compute */
        m.mechanism = CKM_ECDSA;
        if (EVP_Digest(msg, len, digest, &dl, alg == MR_SIG_ECDSA_SHA384 ? EVP_sha384() : EVP_sha256(), NULL) != 1)
            return MEDREG_ERR_CRYPTO;
        in = digest;
        inl = dl;
    }
    pthread_mutex_lock(&p->ses.mu);
    CK_RV rv = p->ses.f->C_SignInit(p->ses.s, &m, p->key);
    if (rv == CKR_OK)
        rv = p->ses.f->C_Sign(p->ses.s, (CK_BYTE_PTR)in, inl, raw, &sl);
    pthread_mutex_unlock(&p->ses.mu);
    if (rv == CKR_OK && sl > sizeof raw)
        rv = MR_CKR_PAST_BUFFER;
    if ((rc = mr_p11_error(rv, MEDREG_ERR_TOKEN)) != MEDREG_OK)
        return rc;
    if (m.mechanism != CKM_ECDSA) {
        memcpy(sig, raw, sl);
        *sig_len = sl;
        return MEDREG_OK;
    }
    /* PKCS#11 gives r ‖ s; the wire carries DER, as OpenSSL verifies it */
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(sl / 2), NULL), *s = BN_bin2bn(raw + sl / 2, (int)(sl / 2), NULL);
    unsigned char *der = sig;
    int dlen = -1;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL;
        dlen = i2d_ECDSA_SIG(es, NULL) <= MR_SIG_MAX ? i2d_ECDSA_SIG(es, &der) : -1;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    if (dlen <= 0)
        return MEDREG_ERR_CRYPTO;
    *sig_len = (size_t)dlen;
    return MEDREG_OK;
}

static medreg_err p11_decrypt_oaep(mr_token *t, int hash, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                                   size_t pt_cap, size_t *pt_len)
{
    p11 *p = t->impl;
    CK_RSA_PKCS_OAEP_PARAMS oaep = {hash == MR_OAEP_SHA256 ? CKM_SHA256 : CKM_SHA_1,
                                    hash == MR_OAEP_SHA256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1,
                                    CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
    uint8_t buf[512];
    CK_ULONG n = sizeof buf;
    CK_SESSION_INFO si;
    pthread_mutex_lock(&p->ses.mu);
    CK_RV rv = p->ses.f->C_DecryptInit(p->ses.s, &m, p->key);
    if (rv == CKR_OK)
        rv = p->ses.f->C_Decrypt(p->ses.s, (CK_BYTE_PTR)ct, ct_len, buf, &n);
    /* SoftHSM2 (and some cards) answer a padding failure with
     * CKR_GENERAL_ERROR: it is "not for this key" while the token is there */
    if (rv == CKR_GENERAL_ERROR && p->ses.f->C_GetSessionInfo(p->ses.s, &si) == CKR_OK)
        rv = CKR_ENCRYPTED_DATA_INVALID;
    pthread_mutex_unlock(&p->ses.mu);
    if (rv == CKR_OK && n > sizeof buf)
        rv = MR_CKR_PAST_BUFFER;
    medreg_err rc = mr_p11_error(rv, MEDREG_ERR_VERIFY);
    if (rc == MEDREG_OK && n > pt_cap)
        rc = MEDREG_ERR_TOOBIG;
    if (rc == MEDREG_OK) {
        memcpy(pt, buf, n);
        *pt_len = n;
    }
    mr_wipe(buf, sizeof buf);
    return rc;
}

static medreg_err p11_ecdh(mr_token *t, const uint8_t *peer, size_t peer_len, uint8_t *z, size_t *z_len)
{
    p11 *p = t->impl;
    CK_ECDH1_DERIVE_PARAMS params = {CKD_NULL, 0, NULL, peer_len, (CK_BYTE_PTR)peer};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ULONG vlen = (CK_ULONG)(EVP_PKEY_get_bits(t->pub) + 7) / 8;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},         {CKA_KEY_TYPE, &kt, sizeof kt},
                           {CKA_TOKEN, &no, sizeof no},           {CKA_SENSITIVE, &no, sizeof no},
                           {CKA_EXTRACTABLE, &yes, sizeof yes},   {CKA_VALUE_LEN, &vlen, sizeof vlen}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    uint8_t buf[MR_ECDH_MAX];
    CK_ATTRIBUTE get = {CKA_VALUE, buf, sizeof buf};
    if (vlen > MR_ECDH_MAX)
        return MEDREG_ERR_INVALID;
    pthread_mutex_lock(&p->ses.mu);
    CK_RV rv = p->ses.f->C_DeriveKey(p->ses.s, &m, p->key, tmpl, sizeof tmpl / sizeof tmpl[0], &h);
    if (rv == CKR_OK) {
        rv = mr_p11_get_attributes(p->ses.f, p->ses.s, h, &get, 1);
        p->ses.f->C_DestroyObject(p->ses.s, h);
    }
    pthread_mutex_unlock(&p->ses.mu);
    medreg_err rc = mr_p11_error(rv, MEDREG_ERR_VERIFY);
    if (rc == MEDREG_OK && get.ulValueLen != vlen)
        rc = MEDREG_ERR_CRYPTO;
    if (rc == MEDREG_OK) {
        memcpy(z, buf, vlen);
        *z_len = vlen;
    }
    mr_wipe(buf, sizeof buf);
    return rc;
}

static void p11_close(mr_token *t)
{
    p11 *p = t->impl;
    if (p == NULL)
        return;
    mr_p11_session_close(&p->ses);
    free(p);
    t->impl = NULL;
}

static const mr_token_ops P11_OPS = {p11_sign, p11_decrypt_oaep, p11_ecdh, p11_close};

medreg_err mr_token_pkcs11_open(const mr_token_spec *spec, mr_token *t, char **errmsg)
{
    medreg_err rc = MEDREG_OK;
    P11KitUri *uri = NULL;
    p11 *p = calloc(1, sizeof *p);
    uint8_t *val = NULL;

    if (p == NULL)
        return MEDREG_ERR_NOMEM;
    t->ops = &P11_OPS;
    if ((rc = mr_p11_session_open(spec, 0, &p->ses, &uri, errmsg)) != MEDREG_OK) {
        free(p);
        return rc;
    }
    t->impl = p;
    snprintf(t->desc, sizeof t->desc, "%s", p->ses.desc);
    if (mr_p11_find(&p->ses, uri, CKO_PRIVATE_KEY, NULL, 0, &p->key) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_NOTFOUND, "no private key matching the URI on", t->desc);
        goto out;
    }
    if (spec->cert) {
        if ((rc = mr_cert_read_pem(spec->cert, &t->cert)) != MEDREG_OK)
            mr_token_fail(errmsg, rc, "cannot read the certificate", spec->cert);
        goto out;
    }
    /* the certificate with the key's CKA_ID */
    uint8_t id[256];
    CK_ATTRIBUTE a = {CKA_ID, id, sizeof id};
    CK_OBJECT_HANDLE ch;
    CK_FUNCTION_LIST *f = p->ses.f;
    CK_RV rv = mr_p11_get_attributes(f, p->ses.s, p->key, &a, 1);
    if (rv != CKR_OK || mr_p11_find(&p->ses, uri, CKO_CERTIFICATE, id, a.ulValueLen, &ch) != CKR_OK) {
        rc = rv == MR_CKR_PAST_BUFFER ? mr_token_fail(errmsg, MEDREG_ERR_TOKEN, MR_P11_PAST_BUFFER_SAYS " on", t->desc)
                                      : mr_token_fail(errmsg, MEDREG_ERR_NOTFOUND, "no certificate for the key on",
                                                      t->desc);
        goto out;
    }
    CK_ATTRIBUTE v = {CKA_VALUE, NULL, 0};
    if (mr_p11_get_attributes(f, p->ses.s, ch, &v, 1) == CKR_OK && v.ulValueLen > 0 && v.ulValueLen < 65536 &&
        (val = malloc(v.ulValueLen)) != NULL) {
        v.pValue = val;
        const unsigned char *d = val;
        if ((rv = mr_p11_get_attributes(f, p->ses.s, ch, &v, 1)) == CKR_OK) /* the same length again */
            t->cert = d2i_X509(NULL, &d, (long)v.ulValueLen);
    }
    if (t->cert == NULL)
        rc = rv == MR_CKR_PAST_BUFFER
                 ? mr_token_fail(errmsg, MEDREG_ERR_TOKEN, MR_P11_PAST_BUFFER_SAYS " on", t->desc)
                 : mr_token_fail(errmsg, MEDREG_ERR_INVALID, "the certificate on the token is unreadable", t->desc);
out:
    free(val);
    p11_kit_uri_free(uri);
    return rc;
}
