/* The development token: a PEM private key in a 0600 file, its certificate
 * beside it. Same operations as a card, done by OpenSSL in this process. */
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "token_impl.h"

static EVP_PKEY *priv(mr_token *t) { return t->impl; }

static medreg_err file_sign(mr_token *t, uint8_t alg, const uint8_t *msg, size_t len, uint8_t *sig,
                            size_t *sig_len)
{
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = alg == MR_SIG_ECDSA_SHA384 ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t sl = MR_SIG_MAX;
    int ok = ctx && EVP_DigestSignInit(ctx, &pctx, md, NULL, priv(t)) == 1;
    if (ok && alg == MR_SIG_RSA_PSS_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
    ok = ok && EVP_DigestSign(ctx, sig, &sl, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    *sig_len = ok ? sl : 0;
    return ok ? MEDREG_OK : MEDREG_ERR_CRYPTO;
}

static medreg_err file_decrypt_oaep(mr_token *t, int hash, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                                    size_t pt_cap, size_t *pt_len)
{
    const EVP_MD *md = hash == MR_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv(t), NULL);
    size_t n = pt_cap;
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1;
    medreg_err rc = ok ? MEDREG_OK : MEDREG_ERR_CRYPTO;
    if (ok && EVP_PKEY_decrypt(ctx, pt, &n, ct, ct_len) != 1)
        rc = MEDREG_ERR_VERIFY;
    EVP_PKEY_CTX_free(ctx);
    *pt_len = rc == MEDREG_OK ? n : 0;
    return rc;
}

static medreg_err file_ecdh(mr_token *t, const uint8_t *peer, size_t peer_len, uint8_t *z, size_t *z_len)
{
    medreg_err rc = MEDREG_ERR_VERIFY;
    EVP_PKEY *pk = EVP_PKEY_new();
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    size_t n = MR_ECDH_MAX;
    /* the peer is a point on our curve: copy the parameters, then set it.
     * The quick check (on the curve, not infinity, coordinates in range)
     * is the whole check on the supported curves, whose cofactor is 1;
     * OpenSSL's default check in derive_set_peer adds a multiplication by
     * the group order, which doubled the cost of every ECDH */
    if (pk && EVP_PKEY_copy_parameters(pk, priv(t)) == 1 &&
        EVP_PKEY_set1_encoded_public_key(pk, peer, peer_len) == 1 &&
        (chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) != NULL && EVP_PKEY_public_check_quick(chk) == 1 &&
        (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv(t), NULL)) != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
        EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) == 1 && EVP_PKEY_derive(ctx, z, &n) == 1)
        rc = MEDREG_OK;
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    *z_len = rc == MEDREG_OK ? n : 0;
    return rc;
}

static void file_close(mr_token *t) { EVP_PKEY_free(priv(t)); }

static const mr_token_ops FILE_OPS = {file_sign, file_decrypt_oaep, file_ecdh, file_close};

medreg_err mr_token_file_open(const mr_token_spec *spec, mr_token *t, char **errmsg)
{
    char *cert_path = NULL;
    EVP_PKEY *key = NULL;
    medreg_err rc = mr_key_read_pem(spec->key, &key);
    if (rc == MEDREG_ERR_INVALID)
        return mr_token_fail(errmsg, rc, "not a PEM private key", spec->key);
    if (rc != MEDREG_OK)
        return mr_token_fail(errmsg, rc, "cannot read the key file (it must be mode 0600)", spec->key);
    t->impl = key;
    t->ops = &FILE_OPS;
    if (spec->cert == NULL) {
        size_t kl = strlen(spec->key);
        if (kl > 4 && strcmp(spec->key + kl - 4, ".key") == 0 && asprintf(&cert_path, "%.*s.crt", (int)(kl - 4), spec->key) < 0)
            cert_path = NULL;
        if (cert_path == NULL)
            return mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "name the certificate of the key", spec->key);
    }
    const char *cp = spec->cert ? spec->cert : cert_path;
    rc = mr_cert_read_pem(cp, &t->cert);
    if (rc != MEDREG_OK)
        mr_token_fail(errmsg, rc, "cannot read the certificate", cp);
    snprintf(t->desc, sizeof t->desc, "key file %.120s", spec->key);
    free(cert_path);
    return rc;
}
