#include "hybrid.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "kdf.h"

/* header: 'M' 'R' 'H' version kind param u16-encap-length encap */
#define HDR_FIXED 8
enum { KIND_RSA = 1, KIND_EC = 2 };
static const char *const CURVES[] = {NULL, "prime256v1", "secp384r1", "brainpoolP256r1"};

static int curve_id(EVP_PKEY *k)
{
    char g[48] = "";
    size_t gl = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof g, &gl) != 1)
        return 0;
    for (int i = 1; i < 4; i++)
        if (strcmp(g, CURVES[i]) == 0)
            return i;
    return 0;
}

/* key ‖ nonce = HKDF-SHA256(ikm, salt, "medreg/hybrid/v1" ‖ header ‖ SHA-256(recipient SPKI)) */
static medreg_err derive(const uint8_t spki_sha256[32], const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                         size_t salt_len, const uint8_t *hdr, size_t hdr_len, uint8_t okm[44])
{
    static const char tag[] = "medreg/hybrid/v1";
    uint8_t info[sizeof tag - 1 + 1024 + 32];
    if (hdr_len > 1024)
        return MEDREG_ERR_CRYPTO;
    memcpy(info, tag, sizeof tag - 1);
    memcpy(info + sizeof tag - 1, hdr, hdr_len);
    memcpy(info + sizeof tag - 1 + hdr_len, spki_sha256, 32);
    return mr_hkdf_sha256(ikm, ikm_len, salt, salt_len, info, sizeof tag - 1 + hdr_len + 32, okm, 44);
}

static medreg_err gcm(int enc, const uint8_t okm[44], const uint8_t *aad1, size_t aad1_len, const uint8_t *aad2,
                      size_t aad2_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t tag[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l = 0, ok = c && EVP_CipherInit_ex2(c, EVP_aes_256_gcm(), okm, okm + 32, enc, NULL) == 1 &&
                    EVP_CipherUpdate(c, NULL, &l, aad1, (int)aad1_len) == 1 &&
                    (aad2_len == 0 || EVP_CipherUpdate(c, NULL, &l, aad2, (int)aad2_len) == 1) &&
                    (in_len == 0 || EVP_CipherUpdate(c, out, &l, in, (int)in_len) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(c, out + l, &l) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? MEDREG_OK : (enc ? MEDREG_ERR_CRYPTO : MEDREG_ERR_VERIFY);
}

medreg_err mr_hybrid_to_key(EVP_PKEY *key, int oaep_hash, mr_hybrid_to *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx != NULL && (EVP_PKEY_base_id(key) == EVP_PKEY_RSA || curve_id(key) != 0) &&
             EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return MEDREG_ERR_INVALID;
    out->key = key;
    out->oaep_hash = oaep_hash;
    return mr_spki_sha256(key, out->spki_sha256);
}

void mr_hybrid_to_token(mr_token *t, int oaep_hash, mr_hybrid_to *out)
{
    out->key = mr_token_public_key(t);
    out->oaep_hash = oaep_hash;
    memcpy(out->spki_sha256, mr_token_spki_sha256(t), 32);
}

static medreg_err seal(const mr_hybrid_to *rcpt, const uint8_t *fixed_seed, EVP_PKEY *fixed_eph, const uint8_t *aad,
                       size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len)
{
    EVP_PKEY *to = rcpt->key;
    int oaep_hash = rcpt->oaep_hash;
    uint8_t hdr[HDR_FIXED + 1024], ikm[MR_ECDH_MAX > 32 ? MR_ECDH_MAX : 32], okm[44];
    size_t encap_len = 0, ikm_len = 0;
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    medreg_err rc = MEDREG_ERR_CRYPTO;
    uint8_t *buf = NULL;

    *out = NULL;
    if (pt_len > MR_HYBRID_MAX_PLAIN)
        return MEDREG_ERR_TOOBIG;
    memcpy(hdr, "MRH\x01", 4);
    if (EVP_PKEY_base_id(to) == EVP_PKEY_RSA) {
        const EVP_MD *md = oaep_hash == MR_OAEP_SHA256 ? EVP_sha256() : EVP_sha1();
        if (oaep_hash != MR_OAEP_SHA1 && oaep_hash != MR_OAEP_SHA256)
            return MEDREG_ERR_INVALID;
        hdr[4] = KIND_RSA;
        hdr[5] = (uint8_t)oaep_hash;
        ikm_len = 32;
        if (fixed_seed)
            memcpy(ikm, fixed_seed, 32);
        else if (RAND_bytes(ikm, 32) != 1)
            goto out;
        encap_len = sizeof hdr - HDR_FIXED;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, to, NULL);
        if (!ctx || EVP_PKEY_encrypt_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
            EVP_PKEY_encrypt(ctx, hdr + HDR_FIXED, &encap_len, ikm, 32) != 1)
            goto out;
    } else if (EVP_PKEY_base_id(to) == EVP_PKEY_EC && curve_id(to) != 0) {
        hdr[4] = KIND_EC;
        hdr[5] = (uint8_t)curve_id(to);
        if (fixed_eph) {
            eph = fixed_eph;
        } else {
            /* on the recipient's own parameters: 16 us, by the curve's name 26 */
            EVP_PKEY_CTX *gen = EVP_PKEY_CTX_new_from_pkey(NULL, to, NULL);
            int made = gen && EVP_PKEY_keygen_init(gen) == 1 && EVP_PKEY_keygen(gen, &eph) == 1;
            EVP_PKEY_CTX_free(gen);
            if (!made)
                goto out;
        }
        if (curve_id(eph) != hdr[5])
            goto out;
        EVP_PKEY_set_utf8_string_param(eph, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
        encap_len = EVP_PKEY_get1_encoded_public_key(eph, &buf);
        if (encap_len == 0 || encap_len > sizeof hdr - HDR_FIXED)
            goto out;
        memcpy(hdr + HDR_FIXED, buf, encap_len);
        ikm_len = sizeof ikm;
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL);
        /* no check of the recipient's key on every seal (a scalar
         * multiplication): mr_hybrid_to_key or mr_token_open did it */
        if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, to, 0) != 1 ||
            EVP_PKEY_derive(ctx, ikm, &ikm_len) != 1)
            goto out;
    } else {
        rc = MEDREG_ERR_INVALID;
        goto out;
    }
    hdr[6] = (uint8_t)(encap_len >> 8);
    hdr[7] = (uint8_t)encap_len;
    size_t hl = HDR_FIXED + encap_len;
    /* RSA: no salt (the seed is uniform); EC: the ephemeral point */
    if ((rc = derive(rcpt->spki_sha256, ikm, ikm_len, hdr + HDR_FIXED, hdr[4] == KIND_EC ? encap_len : 0, hdr, hl,
                     okm)) != MEDREG_OK)
        goto out;
    *out = malloc(hl + pt_len + 16);
    if (*out == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    memcpy(*out, hdr, hl);
    rc = gcm(1, okm, hdr, hl, aad, aad_len, pt, pt_len, *out + hl, *out + hl + pt_len);
    *out_len = hl + pt_len + 16;
out:
    if (rc != MEDREG_OK) {
        free(*out);
        *out = NULL;
    }
    OPENSSL_free(buf);
    if (eph != fixed_eph)
        EVP_PKEY_free(eph);
    EVP_PKEY_CTX_free(ctx);
    mr_wipe(ikm, sizeof ikm);
    mr_wipe(okm, sizeof okm);
    return rc;
}

medreg_err mr_hybrid_seal(const mr_hybrid_to *to, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
                          uint8_t **out, size_t *out_len)
{
    return seal(to, NULL, NULL, aad, aad_len, pt, pt_len, out, out_len);
}

medreg_err mr_hybrid_seal_fixed(const mr_hybrid_to *to, const uint8_t seed[32], EVP_PKEY *ephemeral,
                                const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t **out,
                                size_t *out_len)
{
    return seal(to, seed, ephemeral, aad, aad_len, pt, pt_len, out, out_len);
}

medreg_err mr_hybrid_open(mr_token *t, const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len,
                          uint8_t **pt, size_t *pt_len)
{
    EVP_PKEY *to = mr_token_public_key(t);
    uint8_t ikm[512], okm[44];
    size_t ikm_len = 0;
    medreg_err rc;

    *pt = NULL;
    if (ct_len < HDR_FIXED + 16 || ct_len > MR_HYBRID_MAX || memcmp(ct, "MRH\x01", 4) != 0)
        return MEDREG_ERR_VERIFY;
    size_t encap_len = ((size_t)ct[6] << 8) | ct[7];
    if (encap_len == 0 || HDR_FIXED + encap_len + 16 > ct_len)
        return MEDREG_ERR_VERIFY;
    const uint8_t *encap = ct + HDR_FIXED;
    size_t hl = HDR_FIXED + encap_len, body = ct_len - hl - 16;
    if (ct[4] == KIND_RSA && EVP_PKEY_base_id(to) == EVP_PKEY_RSA) {
        rc = mr_token_decrypt_oaep(t, ct[5], encap, encap_len, ikm, sizeof ikm, &ikm_len);
        if (rc == MEDREG_OK && ikm_len != 32)
            rc = MEDREG_ERR_VERIFY;
    } else if (ct[4] == KIND_EC && EVP_PKEY_base_id(to) == EVP_PKEY_EC && ct[5] == curve_id(to)) {
        rc = mr_token_ecdh(t, encap, encap_len, ikm, &ikm_len);
    } else {
        return MEDREG_ERR_VERIFY; /* not sealed to a key of this kind */
    }
    if (rc == MEDREG_OK)
        rc = derive(mr_token_spki_sha256(t), ikm, ikm_len, encap, ct[4] == KIND_EC ? encap_len : 0, ct, hl, okm);
    if (rc == MEDREG_OK && (*pt = malloc(body ? body : 1)) == NULL)
        rc = MEDREG_ERR_NOMEM;
    uint8_t tag[16];
    memcpy(tag, ct + hl + body, 16);
    if (rc == MEDREG_OK)
        rc = gcm(0, okm, ct, hl, aad, aad_len, ct + hl, body, *pt, tag);
    if (rc != MEDREG_OK) {
        if (*pt)
            mr_wipe(*pt, body);
        free(*pt);
        *pt = NULL;
    } else {
        *pt_len = body;
    }
    mr_wipe(ikm, sizeof ikm);
    mr_wipe(okm, sizeof okm);
    return rc;
}
