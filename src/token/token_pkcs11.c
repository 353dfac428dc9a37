/* A PKCS#11 token: any module loaded by path through p11-kit, the token
 * chosen by a PKCS#11 URI (RFC 7512), the key used in place. One session per
 * token, serialised by a mutex (a PKCS#11 session is not shared safely). */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "token_impl.h"

typedef struct p11 {
    CK_FUNCTION_LIST *f;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    int initialized, session_open;
    pthread_mutex_t mu;
} p11;

/* The PKCS#11 return values that mean "the card is gone" */
static medreg_err map_rv(CK_RV rv, medreg_err otherwise)
{
    switch (rv) {
    case CKR_OK: return MEDREG_OK;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED: return MEDREG_ERR_PIN;
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_GENERAL_ERROR: return MEDREG_ERR_TOKEN;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID: return MEDREG_ERR_INVALID;
    default: return otherwise;
    }
}

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
    pthread_mutex_lock(&p->mu);
    CK_RV rv = p->f->C_SignInit(p->s, &m, p->key);
    if (rv == CKR_OK)
        rv = p->f->C_Sign(p->s, (CK_BYTE_PTR)in, inl, raw, &sl);
    pthread_mutex_unlock(&p->mu);
    if ((rc = map_rv(rv, MEDREG_ERR_TOKEN)) != MEDREG_OK)
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
    pthread_mutex_lock(&p->mu);
    CK_RV rv = p->f->C_DecryptInit(p->s, &m, p->key);
    if (rv == CKR_OK)
        rv = p->f->C_Decrypt(p->s, (CK_BYTE_PTR)ct, ct_len, buf, &n);
    /* SoftHSM2 (and some cards) answer a padding failure with
     * CKR_GENERAL_ERROR: it is "not for this key" while the token is there */
    if (rv == CKR_GENERAL_ERROR && p->f->C_GetSessionInfo(p->s, &si) == CKR_OK)
        rv = CKR_ENCRYPTED_DATA_INVALID;
    pthread_mutex_unlock(&p->mu);
    medreg_err rc = map_rv(rv, MEDREG_ERR_VERIFY);
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
    pthread_mutex_lock(&p->mu);
    CK_RV rv = p->f->C_DeriveKey(p->s, &m, p->key, tmpl, sizeof tmpl / sizeof tmpl[0], &h);
    if (rv == CKR_OK) {
        rv = p->f->C_GetAttributeValue(p->s, h, &get, 1);
        p->f->C_DestroyObject(p->s, h);
    }
    pthread_mutex_unlock(&p->mu);
    medreg_err rc = map_rv(rv, MEDREG_ERR_VERIFY);
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
    if (p->session_open) {
        p->f->C_Logout(p->s);
        p->f->C_CloseSession(p->s);
    }
    if (p->initialized)
        p11_kit_module_finalize(p->f);
    if (p->f)
        p11_kit_module_release(p->f);
    pthread_mutex_destroy(&p->mu);
    free(p);
    t->impl = NULL;
}

static const mr_token_ops P11_OPS = {p11_sign, p11_decrypt_oaep, p11_ecdh, p11_close};

/* The first object of class cls that matches the URI's object attributes
 * (id=, object=) and, when id is given, has that CKA_ID. */
static CK_RV find_object(p11 *p, P11KitUri *uri, CK_OBJECT_CLASS cls, const uint8_t *id, CK_ULONG id_len,
                         CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE tmpl[4];
    CK_ULONG n = 0, found = 0;
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    if (id) {
        tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
    } else {
        CK_ATTRIBUTE *a = p11_kit_uri_get_attribute(uri, CKA_ID);
        if (a)
            tmpl[n++] = *a;
        if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL)
            tmpl[n++] = *a;
    }
    CK_RV rv = p->f->C_FindObjectsInit(p->s, tmpl, n);
    if (rv != CKR_OK)
        return rv;
    rv = p->f->C_FindObjects(p->s, out, 1, &found);
    p->f->C_FindObjectsFinal(p->s);
    if (rv == CKR_OK && found == 0)
        return CKR_OBJECT_HANDLE_INVALID;
    return rv;
}

medreg_err mr_token_pkcs11_open(const mr_token_spec *spec, mr_token *t, char **errmsg)
{
    medreg_err rc = MEDREG_OK;
    P11KitUri *uri = p11_kit_uri_new();
    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG n_slots = 64;
    CK_TOKEN_INFO ti;
    char pin[MR_PIN_MAX];
    int have = 0;
    p11 *p = calloc(1, sizeof *p);
    uint8_t *val = NULL;

    memset(pin, 0, sizeof pin);
    if (p == NULL || uri == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    pthread_mutex_init(&p->mu, NULL);
    t->impl = p;
    t->ops = &P11_OPS;
    if (p11_kit_uri_parse(spec->key, P11_KIT_URI_FOR_ANY, uri) != P11_KIT_URI_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "not a valid PKCS#11 URI", spec->key);
        goto out;
    }
    const char *module = p11_kit_uri_get_module_path(uri);
    if (module == NULL)
        module = spec->module;
    if (module == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "no PKCS#11 module: add ?module-path=… to the URI",
                           spec->key);
        goto out;
    }
    p->f = p11_kit_module_load(module, 0);
    if (p->f == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "cannot load the PKCS#11 module", module);
        goto out;
    }
    if (p11_kit_module_initialize(p->f) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "the PKCS#11 module did not initialise", module);
        goto out;
    }
    p->initialized = 1;
    if (p->f->C_GetSlotList(CK_TRUE, slots, &n_slots) != CKR_OK)
        n_slots = 0;
    for (CK_ULONG i = 0; i < n_slots && !have; i++)
        if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && (ti.flags & CKF_TOKEN_INITIALIZED) &&
            p11_kit_uri_match_token_info(uri, &ti) == 1) {
            slot = slots[i];
            have = 1;
        }
    if (!have) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "no token present matches", spec->key);
        goto out;
    }
    snprintf(t->desc, sizeof t->desc, "PKCS#11 token '%.*s'", (int)p11_kit_space_strlen(ti.label, 32), ti.label);
    if (p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &p->s) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, "cannot open a session on", t->desc);
        goto out;
    }
    p->session_open = 1;
    if (ti.flags & CKF_LOGIN_REQUIRED) {
        if ((rc = mr_pin_read(spec->pin_file, spec->pin_env, spec->prompt, pin, errmsg)) != MEDREG_OK)
            goto out;
        CK_RV rv = p->f->C_Login(p->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
        mr_wipe(pin, sizeof pin);
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            rc = mr_token_fail(errmsg, map_rv(rv, MEDREG_ERR_TOKEN),
                               rv == CKR_PIN_LOCKED ? "the token is locked (too many wrong PINs)"
                                                    : "the token refused the PIN (not retried)",
                               t->desc);
            goto out;
        }
    }
    if (find_object(p, uri, CKO_PRIVATE_KEY, NULL, 0, &p->key) != CKR_OK) {
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
    if (p->f->C_GetAttributeValue(p->s, p->key, &a, 1) != CKR_OK ||
        find_object(p, uri, CKO_CERTIFICATE, id, a.ulValueLen, &ch) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_NOTFOUND, "no certificate for the key on", t->desc);
        goto out;
    }
    CK_ATTRIBUTE v = {CKA_VALUE, NULL, 0};
    if (p->f->C_GetAttributeValue(p->s, ch, &v, 1) == CKR_OK && v.ulValueLen > 0 && v.ulValueLen < 65536 &&
        (val = malloc(v.ulValueLen)) != NULL) {
        v.pValue = val;
        const unsigned char *d = val;
        if (p->f->C_GetAttributeValue(p->s, ch, &v, 1) == CKR_OK)
            t->cert = d2i_X509(NULL, &d, (long)v.ulValueLen);
    }
    if (t->cert == NULL)
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "the certificate on the token is unreadable", t->desc);
out:
    mr_wipe(pin, sizeof pin);
    free(val);
    if (uri)
        p11_kit_uri_free(uri);
    return rc;
}
