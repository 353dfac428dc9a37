#include "key25519.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "p11_session.h"
#include "token_impl.h"

#ifndef CKK_EC_MONTGOMERY /* PKCS#11 3.0; older headers lack them */
#define CKK_EC_MONTGOMERY 0x41UL
#endif
#ifndef CKM_EC_MONTGOMERY_KEY_PAIR_GEN
#define CKM_EC_MONTGOMERY_KEY_PAIR_GEN 0x1056UL
#endif

struct mr_key25519 {
    mr_key25519_kind kind;
    uint8_t pk[32];
    uint8_t *sk; /* in memory: sodium_malloc'ed (Ed25519: 64 bytes, X25519: 32) */
    mr_p11_session *ses;
    CK_OBJECT_HANDLE key;
    char desc[128];
};

/* CKA_EC_PARAMS of Curve25519 keys: the RFC 8410 OIDs, or the printable
 * curve names that SoftHSM2 and OpenSC also accept. SoftHSM2 2.6 keeps X25519
 * keys under CKK_EC_EDWARDS; PKCS#11 3.0 tokens under CKK_EC_MONTGOMERY. */
static const uint8_t OID_ED25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t OID_X25519[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};
static const uint8_t NAME_ED25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};
static const uint8_t NAME_X25519[] = {0x13, 0x0a, 'c', 'u', 'r', 'v', 'e', '2', '5', '5', '1', '9'};

static int params_are(const uint8_t *p, size_t n, const uint8_t *oid, size_t oid_n, const uint8_t *name,
                      size_t name_n)
{
    return (n == oid_n && memcmp(p, oid, n) == 0) || (n == name_n && memcmp(p, name, n) == 0);
}

/* CKA_EC_POINT: the 32 bytes, bare or in a DER OCTET STRING */
static int raw_point(const uint8_t *p, CK_ULONG n, uint8_t pk[32])
{
    if (n == 32)
        memcpy(pk, p, 32);
    else if (n == 34 && p[0] == 0x04 && p[1] == 0x20)
        memcpy(pk, p + 2, 32);
    else
        return 0;
    return 1;
}

static const char *kind_name(mr_key25519_kind kind) { return kind == MR_KEY_ED25519 ? "Ed25519" : "X25519"; }

medreg_err mr_key25519_from_bytes(mr_key25519_kind kind, const uint8_t secret[32], mr_key25519 **out)
{
    mr_key25519 *k = calloc(1, sizeof *k);
    *out = NULL;
    if (k == NULL)
        return MEDREG_ERR_NOMEM;
    k->kind = kind;
    k->sk = sodium_malloc(kind == MR_KEY_ED25519 ? crypto_sign_SECRETKEYBYTES : crypto_box_SECRETKEYBYTES);
    if (k->sk == NULL) {
        free(k);
        return MEDREG_ERR_NOMEM;
    }
    if (kind == MR_KEY_ED25519) {
        crypto_sign_seed_keypair(k->pk, k->sk, secret);
    } else {
        memcpy(k->sk, secret, 32);
        crypto_scalarmult_base(k->pk, k->sk);
    }
    snprintf(k->desc, sizeof k->desc, "%s key in memory", kind_name(kind));
    *out = k;
    return MEDREG_OK;
}

void mr_key25519_close(mr_key25519 *k)
{
    if (k == NULL)
        return;
    mr_secret_free(k->sk);
    if (k->ses) {
        mr_p11_session_close(k->ses);
        free(k->ses);
    }
    free(k);
}

mr_key25519_kind mr_key25519_type(const mr_key25519 *k) { return k->kind; }
const uint8_t *mr_key25519_public(const mr_key25519 *k) { return k->pk; }
int mr_key25519_on_token(const mr_key25519 *k) { return k->ses != NULL; }
const char *mr_key25519_describe(const mr_key25519 *k) { return k->desc; }

medreg_err mr_key25519_sign(mr_key25519 *k, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    if (k->kind != MR_KEY_ED25519)
        return MEDREG_ERR_INVALID;
    if (k->sk)
        return crypto_sign_detached(sig, NULL, msg, len, k->sk) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    CK_ULONG sl = 64;
    pthread_mutex_lock(&k->ses->mu);
    CK_RV rv = k->ses->f->C_SignInit(k->ses->s, &m, k->key);
    if (rv == CKR_OK)
        rv = k->ses->f->C_Sign(k->ses->s, (CK_BYTE_PTR)msg, len, sig, &sl);
    pthread_mutex_unlock(&k->ses->mu);
    medreg_err rc = mr_p11_error(rv, MEDREG_ERR_TOKEN);
    return rc == MEDREG_OK && sl != 64 ? MEDREG_ERR_CRYPTO : rc;
}

medreg_err mr_key25519_agree_public(const mr_key25519 *k, uint8_t pk[32])
{
    if (k->kind == MR_KEY_X25519) {
        memcpy(pk, k->pk, 32);
        return MEDREG_OK;
    }
    if (k->sk == NULL)
        return MEDREG_ERR_INVALID;
    return crypto_sign_ed25519_pk_to_curve25519(pk, k->pk) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
}

static medreg_err token_agree(mr_key25519 *k, const uint8_t peer[32], uint8_t z[32])
{
    CK_ECDH1_DERIVE_PARAMS params = {CKD_NULL, 0, NULL, 32, (CK_BYTE_PTR)peer};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ULONG vlen = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},       {CKA_KEY_TYPE, &kt, sizeof kt},
                           {CKA_TOKEN, &no, sizeof no},         {CKA_SENSITIVE, &no, sizeof no},
                           {CKA_EXTRACTABLE, &yes, sizeof yes}, {CKA_VALUE_LEN, &vlen, sizeof vlen}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ATTRIBUTE get = {CKA_VALUE, z, 32};
    pthread_mutex_lock(&k->ses->mu);
    CK_RV rv = k->ses->f->C_DeriveKey(k->ses->s, &m, k->key, tmpl, sizeof tmpl / sizeof tmpl[0], &h);
    if (rv == CKR_OK) {
        rv = mr_p11_get_attributes(k->ses->f, k->ses->s, h, &get, 1);
        k->ses->f->C_DestroyObject(k->ses->s, h);
    }
    pthread_mutex_unlock(&k->ses->mu);
    if (rv == CKR_KEY_TYPE_INCONSISTENT || rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
        return MEDREG_ERR_INVALID;
    medreg_err rc = mr_p11_error(rv, MEDREG_ERR_CRYPTO);
    if (rc == MEDREG_OK && get.ulValueLen != 32)
        rc = MEDREG_ERR_CRYPTO;
    return rc;
}

medreg_err mr_key25519_agree(mr_key25519 *k, const uint8_t peer[32], uint8_t z[32])
{
    medreg_err rc = MEDREG_OK;
    if (k->sk == NULL) {
        rc = k->kind == MR_KEY_X25519 ? token_agree(k, peer, z) : MEDREG_ERR_INVALID;
    } else if (k->kind == MR_KEY_X25519) {
        rc = crypto_scalarmult(z, k->sk, peer) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
    } else {
        uint8_t xsk[crypto_scalarmult_curve25519_BYTES];
        rc = crypto_sign_ed25519_sk_to_curve25519(xsk, k->sk) == 0 && crypto_scalarmult(z, xsk, peer) == 0
                 ? MEDREG_OK
                 : MEDREG_ERR_CRYPTO;
        mr_wipe(xsk, sizeof xsk);
    }
    if (rc == MEDREG_OK && sodium_is_zero(z, 32))
        rc = MEDREG_ERR_CRYPTO; /* a low-order peer: no secret in z */
    if (rc != MEDREG_OK)
        mr_wipe(z, 32);
    return rc;
}

/* Prove the key against its public key: a signature that verifies, or an
 * agreement with a fresh key pair that matches the one computed outside. */
static medreg_err selftest(mr_key25519 *k)
{
    uint8_t msg[32], sig[64], esk[32], epk[32], z1[32], z2[32];
    medreg_err rc;
    randombytes_buf(msg, sizeof msg);
    if (k->kind == MR_KEY_ED25519) {
        if ((rc = mr_key25519_sign(k, msg, sizeof msg, sig)) != MEDREG_OK)
            return rc;
        return crypto_sign_verify_detached(sig, msg, sizeof msg, k->pk) == 0 ? MEDREG_OK : MEDREG_ERR_VERIFY;
    }
    crypto_box_keypair(epk, esk);
    rc = mr_key25519_agree(k, epk, z1);
    if (rc == MEDREG_OK && (crypto_scalarmult(z2, esk, k->pk) != 0 || !mr_ct_equal(z1, z2, 32)))
        rc = MEDREG_ERR_VERIFY;
    mr_wipe(esk, sizeof esk);
    mr_wipe(z1, sizeof z1);
    mr_wipe(z2, sizeof z2);
    return rc;
}

static medreg_err open_file(const mr_token_spec *spec, mr_key25519_kind kind, mr_key25519 **out, char **errmsg)
{
    uint8_t *secret = NULL;
    medreg_err rc = mr_secret_file_read(spec->key, 32, 0, &secret, NULL);
    if (rc != MEDREG_OK) {
        if (errmsg && asprintf(errmsg, "%s: cannot read a 32-byte %s key: %s%s", spec->key, kind_name(kind),
                     medreg_strerror(rc), rc == MEDREG_ERR_DENIED ? " (key files must be mode 0600)" : "") < 0)
            *errmsg = NULL;
        return rc;
    }
    rc = mr_key25519_from_bytes(kind, secret, out);
    mr_secret_free(secret);
    if (rc == MEDREG_OK)
        snprintf((*out)->desc, sizeof (*out)->desc, "%s key file %.100s", kind_name(kind), spec->key);
    return rc;
}

static medreg_err open_token(const mr_token_spec *spec, mr_key25519_kind kind, mr_key25519 *k, char **errmsg)
{
    P11KitUri *uri = NULL;
    medreg_err rc;
    k->ses = calloc(1, sizeof *k->ses);
    if (k->ses == NULL)
        return MEDREG_ERR_NOMEM;
    if ((rc = mr_p11_session_open(spec, 0, k->ses, &uri, errmsg)) != MEDREG_OK) {
        free(k->ses);
        k->ses = NULL;
        return rc;
    }
    snprintf(k->desc, sizeof k->desc, "%s key on %.80s", kind_name(kind), k->ses->desc);
    CK_FUNCTION_LIST *f = k->ses->f;
    CK_SESSION_HANDLE s = k->ses->s;
    CK_KEY_TYPE kt = 0;
    uint8_t id[256], params[64], point[64];
    CK_ATTRIBUTE at[2] = {{CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_ID, id, sizeof id}};
    CK_OBJECT_HANDLE pub;
    if (mr_p11_find(k->ses, uri, CKO_PRIVATE_KEY, NULL, 0, &k->key) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_NOTFOUND, "no private key matching the URI on", k->ses->desc);
        goto out;
    }
    CK_RV rv = mr_p11_get_attributes(f, s, k->key, at, 2);
    if (rv == MR_CKR_PAST_BUFFER) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_TOKEN, MR_P11_PAST_BUFFER_SAYS " on", k->ses->desc);
        goto out;
    }
    if (rv != CKR_OK || (kt != CKK_EC_EDWARDS && kt != CKK_EC_MONTGOMERY)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "not a Curve25519 key (CKK_EC_EDWARDS or CKK_EC_MONTGOMERY) on",
                           k->ses->desc);
        goto out;
    }
    /* the public key: the object with the private key's CKA_ID, else the URI's */
    if ((at[1].ulValueLen == 0 || mr_p11_find(k->ses, uri, CKO_PUBLIC_KEY, id, at[1].ulValueLen, &pub) != CKR_OK) &&
        mr_p11_find(k->ses, uri, CKO_PUBLIC_KEY, NULL, 0, &pub) != CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_NOTFOUND, "no public key beside the private key on", k->ses->desc);
        goto out;
    }
    CK_ATTRIBUTE pa[2] = {{CKA_EC_PARAMS, params, sizeof params}, {CKA_EC_POINT, point, sizeof point}};
    if ((rv = mr_p11_get_attributes(f, s, pub, pa, 2)) != CKR_OK) {
        rc = mr_token_fail(errmsg, rv == MR_CKR_PAST_BUFFER ? MEDREG_ERR_TOKEN : MEDREG_ERR_INVALID,
                           rv == MR_CKR_PAST_BUFFER ? MR_P11_PAST_BUFFER_SAYS " on" : "unreadable public key on",
                           k->ses->desc);
        goto out;
    }
    int ed = params_are(params, pa[0].ulValueLen, OID_ED25519, sizeof OID_ED25519, NAME_ED25519, sizeof NAME_ED25519);
    int x = params_are(params, pa[0].ulValueLen, OID_X25519, sizeof OID_X25519, NAME_X25519, sizeof NAME_X25519);
    if ((kind == MR_KEY_ED25519 && !ed) || (kind == MR_KEY_X25519 && !x)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID,
                           kind == MR_KEY_ED25519 ? "the key is not an Ed25519 key" : "the key is not an X25519 key",
                           k->ses->desc);
        goto out;
    }
    if (!raw_point(point, pa[1].ulValueLen, k->pk)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "the public key's CKA_EC_POINT is not 32 bytes on",
                           k->ses->desc);
        goto out;
    }
out:
    p11_kit_uri_free(uri);
    return rc;
}

medreg_err mr_key25519_open(const mr_token_spec *spec, mr_key25519_kind kind, mr_key25519 **out, char **errmsg)
{
    medreg_err rc;
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (spec->key == NULL)
        return mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "no key or token named", NULL);
    if (strncmp(spec->key, "pkcs11:", 7) != 0) {
        rc = open_file(spec, kind, out, errmsg);
    } else {
        mr_key25519 *k = calloc(1, sizeof *k);
        if (k == NULL)
            return MEDREG_ERR_NOMEM;
        k->kind = kind;
        rc = open_token(spec, kind, k, errmsg);
        if (rc == MEDREG_OK)
            *out = k;
        else
            mr_key25519_close(k);
    }
    if (rc != MEDREG_OK)
        return rc;
    if ((rc = selftest(*out)) != MEDREG_OK) {
        mr_token_fail(errmsg, rc,
                      rc == MEDREG_ERR_VERIFY ? "the key does not match its public key"
                      : kind == MR_KEY_ED25519 ? "the key cannot sign (it needs CKA_SIGN and CKM_EDDSA)"
                                               : "the key cannot agree (it needs CKA_DERIVE and CKM_ECDH1_DERIVE)",
                      (*out)->desc);
        mr_key25519_close(*out);
        *out = NULL;
    }
    return rc;
}

medreg_err mr_key25519_generate(const mr_token_spec *spec, mr_key25519_kind kind, uint8_t pk[32], char **errmsg)
{
    mr_p11_session ses;
    P11KitUri *uri = NULL;
    medreg_err rc;
    *errmsg = NULL;
    if (spec->key == NULL || strncmp(spec->key, "pkcs11:", 7) != 0)
        return mr_token_fail(errmsg, MEDREG_ERR_INVALID, "not a PKCS#11 URI", spec->key);
    if ((rc = mr_p11_session_open(spec, 1, &ses, &uri, errmsg)) != MEDREG_OK)
        return rc;
    CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(uri, CKA_LABEL);
    CK_OBJECT_HANDLE h;
    if (label == NULL || label->ulValueLen == 0 || label->ulValueLen > 64) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "the URI needs object=LABEL (1 to 64 bytes) for the new key",
                           spec->key);
        goto out;
    }
    if (mr_p11_find(&ses, uri, CKO_PRIVATE_KEY, NULL, 0, &h) == CKR_OK ||
        mr_p11_find(&ses, uri, CKO_PUBLIC_KEY, NULL, 0, &h) == CKR_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_EXISTS, "a key with this label is already on", ses.desc);
        goto out;
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE_TYPE use = kind == MR_KEY_ED25519 ? CKA_SIGN : CKA_DERIVE;
    CK_ATTRIBUTE_TYPE puse = kind == MR_KEY_ED25519 ? CKA_VERIFY : CKA_DERIVE;
    uint8_t id[8];
    randombytes_buf(id, sizeof id); /* links the two halves */
    const uint8_t *oid = kind == MR_KEY_ED25519 ? OID_ED25519 : OID_X25519;
    CK_KEY_TYPE kt = CKK_EC_MONTGOMERY;
    CK_ATTRIBUTE pub_t[] = {{CKA_TOKEN, &yes, sizeof yes},      {puse, &yes, sizeof yes},
                            {CKA_ID, id, sizeof id},            {CKA_LABEL, label->pValue, label->ulValueLen},
                            {CKA_EC_PARAMS, (void *)oid, 5},    {CKA_KEY_TYPE, &kt, sizeof kt}};
    CK_ATTRIBUTE priv_t[] = {{CKA_TOKEN, &yes, sizeof yes},     {CKA_PRIVATE, &yes, sizeof yes},
                             {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_EXTRACTABLE, &no, sizeof no},
                             {use, &yes, sizeof yes},           {CKA_ID, id, sizeof id},
                             {CKA_LABEL, label->pValue, label->ulValueLen}, {CKA_KEY_TYPE, &kt, sizeof kt}};
    CK_MECHANISM gen = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub, hpriv;
    CK_RV rv = CKR_MECHANISM_INVALID;
    if (kind == MR_KEY_X25519) {
        gen.mechanism = CKM_EC_MONTGOMERY_KEY_PAIR_GEN;
        rv = ses.f->C_GenerateKeyPair(ses.s, &gen, pub_t, 6, priv_t, 8, &hpub, &hpriv);
        gen.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
    }
    if (rv == CKR_MECHANISM_INVALID) {
        kt = CKK_EC_EDWARDS;
        rv = ses.f->C_GenerateKeyPair(ses.s, &gen, pub_t, 6, priv_t, 8, &hpub, &hpriv);
    }
    uint8_t point[64];
    CK_ATTRIBUTE pa = {CKA_EC_POINT, point, sizeof point};
    if (rv != CKR_OK || mr_p11_get_attributes(ses.f, ses.s, hpub, &pa, 1) != CKR_OK ||
        !raw_point(point, pa.ulValueLen, pk)) {
        rc = mr_token_fail(errmsg, rv == CKR_OK ? MEDREG_ERR_TOKEN : mr_p11_error(rv, MEDREG_ERR_TOKEN),
                           kind == MR_KEY_ED25519 ? "cannot make an Ed25519 key pair (CKM_EC_EDWARDS_KEY_PAIR_GEN) on"
                                                  : "cannot make an X25519 key pair on",
                           ses.desc);
        goto out;
    }
out:
    p11_kit_uri_free(uri);
    mr_p11_session_close(&ses);
    return rc;
}
