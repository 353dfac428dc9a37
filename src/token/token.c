/* The token interface's common part: algorithm choice, the start-up proof
 * that key and certificate belong together, signature verification and PINs. */
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../core/secret.h"
#include "../pki/pki.h"
#include "token_impl.h"

medreg_err mr_token_fail(char **errmsg, medreg_err rc, const char *what, const char *detail)
{
    if (errmsg && *errmsg == NULL &&
        asprintf(errmsg, "%s%s%s", what, detail ? ": " : "", detail ? detail : "") < 0)
        *errmsg = NULL;
    return rc;
}

static void describe(mr_token *t)
{
    char where[sizeof t->desc];
    memcpy(where, t->desc, sizeof where);
    char kind[64] = "unknown key";
    if (EVP_PKEY_base_id(t->pub) == EVP_PKEY_RSA) {
        snprintf(kind, sizeof kind, "RSA-%d", EVP_PKEY_get_bits(t->pub));
    } else if (EVP_PKEY_base_id(t->pub) == EVP_PKEY_EC) {
        char group[48] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(t->pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &gl);
        snprintf(kind, sizeof kind, "EC %s", group);
    }
    snprintf(t->desc, sizeof t->desc, "%.120s (%s)", where, kind);
}

static int supported_key(EVP_PKEY *pub)
{
    if (EVP_PKEY_base_id(pub) == EVP_PKEY_RSA)
        return EVP_PKEY_get_bits(pub) >= 2048 && EVP_PKEY_get_bits(pub) <= 4096;
    if (EVP_PKEY_base_id(pub) == EVP_PKEY_EC) {
        char g[48] = "";
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof g, &gl) != 1)
            return 0;
        return strcmp(g, "prime256v1") == 0 || strcmp(g, "secp384r1") == 0 ||
               strcmp(g, "brainpoolP256r1") == 0;
    }
    return 0;
}

medreg_err mr_token_open(const mr_token_spec *spec, mr_token **out, char **errmsg)
{
    medreg_err rc;
    mr_token *t = calloc(1, sizeof *t);
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    if (t == NULL)
        return MEDREG_ERR_NOMEM;
    if (spec->key == NULL)
        rc = mr_token_fail(errmsg, MEDREG_ERR_CONFIG, "no key or token named", NULL);
    else if (strncmp(spec->key, "pkcs11:", 7) == 0)
        rc = mr_token_pkcs11_open(spec, t, errmsg);
    else
        rc = mr_token_file_open(spec, t, errmsg);
    if (rc != MEDREG_OK)
        goto fail;
    if (t->cert == NULL || (t->pub = X509_get0_pubkey(t->cert)) == NULL) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "no certificate for the key", t->desc);
        goto fail;
    }
    describe(t);
    if (!supported_key(t->pub)) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID,
                           "unsupported key (RSA 2048-4096, EC P-256, P-384, brainpoolP256r1)", t->desc);
        goto fail;
    }
    /* the full check, once: what is sealed to this key later skips it */
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, t->pub, NULL);
    int valid = chk != NULL && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!valid) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_INVALID, "the certificate's public key is not valid", t->desc);
        goto fail;
    }
    if ((rc = mr_spki_sha256(t->pub, t->spki_sha256)) != MEDREG_OK) {
        mr_token_fail(errmsg, rc, "the public key could not be encoded", t->desc);
        goto fail;
    }
    /* prove that the key and the certificate belong together, once */
    uint8_t probe[32], sig[MR_SIG_MAX], alg = 0;
    size_t sl = 0;
    if (RAND_bytes(probe, sizeof probe) != 1) {
        rc = MEDREG_ERR_CRYPTO;
        goto fail;
    }
    rc = mr_token_sign(t, probe, sizeof probe, &alg, sig, &sl);
    if (rc != MEDREG_OK) {
        mr_token_fail(errmsg, rc, "the token could not sign", t->desc);
        goto fail;
    }
    if (mr_sig_verify(t->pub, alg, probe, sizeof probe, sig, sl) != MEDREG_OK) {
        rc = mr_token_fail(errmsg, MEDREG_ERR_VERIFY, "the certificate does not match the key", t->desc);
        goto fail;
    }
    *out = t;
    return MEDREG_OK;
fail:
    mr_token_close(t);
    return rc;
}

void mr_token_close(mr_token *t)
{
    if (t == NULL)
        return;
    if (t->ops && t->ops->close)
        t->ops->close(t);
    X509_free(t->cert); /* t->pub is the certificate's */
    free(t);
}

X509 *mr_token_cert(const mr_token *t) { return t->cert; }
EVP_PKEY *mr_token_public_key(const mr_token *t) { return t->pub; }
const uint8_t *mr_token_spki_sha256(const mr_token *t) { return t->spki_sha256; }

medreg_err mr_spki_sha256(EVP_PKEY *pub, uint8_t out[32])
{
    unsigned char *der = NULL;
    unsigned dl = 0;
    int len = i2d_PUBKEY(pub, &der);
    int ok = len > 0 && EVP_Digest(der, (size_t)len, out, &dl, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    return ok ? MEDREG_OK : MEDREG_ERR_CRYPTO;
}
const char *mr_token_describe(const mr_token *t) { return t->desc; }

medreg_err mr_token_sign(mr_token *t, const uint8_t *msg, size_t len, uint8_t *alg, uint8_t *sig,
                         size_t *sig_len)
{
    medreg_err rc;
    if (EVP_PKEY_base_id(t->pub) == EVP_PKEY_RSA) {
        if (!t->no_pss) {
            rc = t->ops->sign(t, MR_SIG_RSA_PSS_SHA256, msg, len, sig, sig_len);
            if (rc != MEDREG_ERR_INVALID) {
                *alg = MR_SIG_RSA_PSS_SHA256;
                return rc;
            }
            t->no_pss = 1; /* a card without PSS: PKCS#1 v1.5 from now on */
        }
        *alg = MR_SIG_RSA_PKCS1_SHA256;
    } else {
        *alg = EVP_PKEY_get_bits(t->pub) > 256 ? MR_SIG_ECDSA_SHA384 : MR_SIG_ECDSA_SHA256;
    }
    return t->ops->sign(t, *alg, msg, len, sig, sig_len);
}

medreg_err mr_token_decrypt_oaep(mr_token *t, int hash, const uint8_t *ct, size_t ct_len, uint8_t *pt,
                                 size_t pt_cap, size_t *pt_len)
{
    if (EVP_PKEY_base_id(t->pub) != EVP_PKEY_RSA || (hash != MR_OAEP_SHA1 && hash != MR_OAEP_SHA256))
        return MEDREG_ERR_INVALID;
    if ((int)ct_len != EVP_PKEY_get_size(t->pub))
        return MEDREG_ERR_VERIFY;
    return t->ops->decrypt_oaep(t, hash, ct, ct_len, pt, pt_cap, pt_len);
}

medreg_err mr_token_ecdh(mr_token *t, const uint8_t *peer, size_t peer_len, uint8_t *z, size_t *z_len)
{
    if (EVP_PKEY_base_id(t->pub) != EVP_PKEY_EC)
        return MEDREG_ERR_INVALID;
    return t->ops->ecdh(t, peer, peer_len, z, z_len);
}

/* Encrypt a random probe to the token's own key with this OAEP hash and
 * ask the token to take it back: MEDREG_OK when it returns the probe. */
static medreg_err oaep_probe(mr_token *t, int hash)
{
    uint8_t probe[16], ct[512], pt[512];
    size_t ctl = sizeof ct, ptl = 0;
    const EVP_MD *md = hash == MR_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, t->pub, NULL);
    medreg_err rc = MEDREG_ERR_CRYPTO;
    if (RAND_bytes(probe, sizeof probe) == 1 && ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 && EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 && EVP_PKEY_encrypt(ctx, ct, &ctl, probe, sizeof probe) == 1)
        rc = t->ops->decrypt_oaep(t, hash, ct, ctl, pt, sizeof pt, &ptl);
    if (rc == MEDREG_OK && (ptl != sizeof probe || memcmp(pt, probe, ptl) != 0))
        rc = MEDREG_ERR_VERIFY;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

medreg_err mr_token_oaep_hash(mr_token *t, int *hash)
{
    if (EVP_PKEY_base_id(t->pub) != EVP_PKEY_RSA)
        return MEDREG_ERR_INVALID;
    if (t->oaep_hash == 0) {
        /* SHA-256 if the token takes a SHA-256 probe back, else SHA-1 */
        medreg_err rc = oaep_probe(t, MR_OAEP_SHA256);
        if (rc == MEDREG_OK)
            t->oaep_hash = MR_OAEP_SHA256;
        else if (rc == MEDREG_ERR_INVALID || rc == MEDREG_ERR_VERIFY)
            t->oaep_hash = MR_OAEP_SHA1;
        else
            return rc; /* PIN, token gone: not a property of the card */
    }
    *hash = t->oaep_hash;
    return MEDREG_OK;
}

medreg_err mr_sig_verify(EVP_PKEY *pub, uint8_t alg, const uint8_t *msg, size_t len, const uint8_t *sig,
                         size_t sig_len)
{
    const EVP_MD *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int is_rsa = EVP_PKEY_base_id(pub) == EVP_PKEY_RSA;
    switch (alg) {
    case MR_SIG_RSA_PSS_SHA256:
    case MR_SIG_RSA_PKCS1_SHA256:
        if (!is_rsa)
            return MEDREG_ERR_VERIFY;
        md = EVP_sha256();
        break;
    case MR_SIG_ECDSA_SHA256:
    case MR_SIG_ECDSA_SHA384:
        if (EVP_PKEY_base_id(pub) != EVP_PKEY_EC)
            return MEDREG_ERR_VERIFY;
        md = alg == MR_SIG_ECDSA_SHA256 ? EVP_sha256() : EVP_sha384();
        break;
    default:
        return MEDREG_ERR_VERIFY;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pub) == 1;
    if (ok && alg == MR_SIG_RSA_PSS_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
    else if (ok && alg == MR_SIG_RSA_PKCS1_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? MEDREG_OK : MEDREG_ERR_VERIFY;
}

static medreg_err pin_from_tty(const char *prompt, char pin[MR_PIN_MAX])
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios old, quiet;
    size_t n = 0;
    medreg_err rc = MEDREG_ERR_IO;
    if (fd < 0)
        return MEDREG_ERR_IO;
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        if (write(fd, prompt, strlen(prompt)) >= 0 && tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
            char ch;
            rc = MEDREG_OK;
            while (read(fd, &ch, 1) == 1 && ch != '\n') {
                if (n + 1 >= MR_PIN_MAX) {
                    rc = MEDREG_ERR_TOOBIG;
                    continue;
                }
                pin[n++] = ch;
            }
            pin[n] = 0;
            tcsetattr(fd, TCSAFLUSH, &old);
            if (write(fd, "\n", 1) < 0)
                rc = rc == MEDREG_OK ? MEDREG_OK : rc;
        }
    }
    close(fd);
    if (rc != MEDREG_OK)
        mr_wipe(pin, MR_PIN_MAX);
    return rc;
}

medreg_err mr_pin_read(const char *pin_file, const char *pin_env, const char *prompt, char pin[MR_PIN_MAX],
                       char **errmsg)
{
    memset(pin, 0, MR_PIN_MAX);
    if (pin_file) {
        uint8_t *p = NULL;
        size_t len = 0;
        if (mr_secret_file_read(pin_file, 0, MR_PIN_MAX - 1, &p, &len) != MEDREG_OK)
            return mr_token_fail(errmsg, MEDREG_ERR_CONFIG,
                                 "cannot read the PIN file (it must exist, be mode 0600 and short)", pin_file);
        while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
            len--;
        memcpy(pin, p, len);
        mr_secret_free(p);
        return MEDREG_OK;
    }
    const char *env = pin_env ? getenv(pin_env) : NULL;
    if (env) {
        if (strlen(env) >= MR_PIN_MAX)
            return mr_token_fail(errmsg, MEDREG_ERR_TOOBIG, "the PIN in the environment is too long", pin_env);
        memcpy(pin, env, strlen(env));
        return MEDREG_OK;
    }
    if (prompt && pin_from_tty(prompt, pin) == MEDREG_OK)
        return MEDREG_OK;
    return mr_token_fail(errmsg, MEDREG_ERR_PIN, "no PIN: give a PIN file, set the environment variable",
                         pin_env ? pin_env : "(none)");
}

/* ECDH with an ephemeral key: the token's result must equal OpenSSL's. */
static medreg_err selftest_ecdh(mr_token *t)
{
    EVP_PKEY *e = NULL;
    EVP_PKEY_CTX *ctx = NULL, *gen = EVP_PKEY_CTX_new_from_pkey(NULL, t->pub, NULL);
    uint8_t *point = NULL, z1[MR_ECDH_MAX], z2[MR_ECDH_MAX];
    size_t l1 = sizeof z1, l2 = 0, pl = 0;
    medreg_err rc = MEDREG_ERR_CRYPTO;
    if (gen == NULL || EVP_PKEY_keygen_init(gen) != 1 || EVP_PKEY_keygen(gen, &e) != 1)
        goto out;
    EVP_PKEY_set_utf8_string_param(e, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
    if ((pl = EVP_PKEY_get1_encoded_public_key(e, &point)) == 0 ||
        (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, e, NULL)) == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, t->pub) != 1 || EVP_PKEY_derive(ctx, z1, &l1) != 1)
        goto out;
    rc = t->ops->ecdh(t, point, pl, z2, &l2);
    if (rc == MEDREG_OK && (l1 != l2 || !mr_ct_equal(z1, z2, l1)))
        rc = MEDREG_ERR_VERIFY;
out:
    mr_wipe(z1, sizeof z1);
    mr_wipe(z2, sizeof z2);
    OPENSSL_free(point);
    EVP_PKEY_free(e);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX_free(gen);
    return rc;
}

medreg_err mr_token_selftest_decrypt(mr_token *t)
{
    if (EVP_PKEY_base_id(t->pub) == EVP_PKEY_EC)
        return selftest_ecdh(t);
    int hash = 0;
    medreg_err rc = mr_token_oaep_hash(t, &hash);
    return rc == MEDREG_OK ? oaep_probe(t, hash) : rc;
}
