/* Both halves of the card consent protocol; message layouts in
 * docs/protocol.md. Every domain tag below is part of the wire format. */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/secret.h"
#include "../crypto/hybrid.h"
#include "../crypto/kdf.h"
#include "consent.h"

static const char TAG_K[] = "medreg/consent/v1";
static const char TAG_CARD[] = "medreg/consent/card/v1";
static const char TAG_K2[] = "medreg/consent/k2/v1";
static const char TAG_K3[] = "medreg/consent/k3/v1";
static const char TAG_ANSWER[] = "medreg/consent/answer/v1";
static const char TAG_PHYSICIAN[] = "medreg/consent/physician/v2";
static const char TAG_FP[] = "medreg/consent/fp/v1";
static const char TAG_EPH[] = "medreg/consent/eph/v1";

#define KPRIME_MAX (4 + MR_CONSENT_K_BYTES + MR_SIG_MAX)

void mr_fingerprint_msg_clear(mr_fingerprint_msg *m)
{
    free(m->k3);
    memset(m, 0, sizeof *m);
}

void mr_consent_hash_k(const uint8_t k[MR_CONSENT_K_BYTES], uint8_t hk[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)TAG_FP, sizeof TAG_FP - 1);
    crypto_hash_sha256_update(&st, k, MR_CONSENT_K_BYTES);
    crypto_hash_sha256_final(&st, hk);
    mr_wipe(&st, sizeof st);
}

void mr_consent_terms_digest(const char *terms, uint8_t out[32])
{
    crypto_hash_sha256(out, (const uint8_t *)terms, strlen(terms));
}

/* K = HKDF-SHA256(X25519 shared, TAG_K, sid ‖ purpose ‖ server pk ‖ client pk) */
static medreg_err derive_k(const uint8_t shared[32], const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                           const uint8_t spk[32], const uint8_t cpk[32], uint8_t k[MR_CONSENT_K_BYTES])
{
    uint8_t info[MR_SESSION_ID_BYTES + 1 + 64];
    memcpy(info, sid, MR_SESSION_ID_BYTES);
    info[MR_SESSION_ID_BYTES] = purpose;
    memcpy(info + MR_SESSION_ID_BYTES + 1, spk, 32);
    memcpy(info + MR_SESSION_ID_BYTES + 33, cpk, 32);
    return mr_hkdf_sha256(shared, 32, (const uint8_t *)TAG_K, sizeof TAG_K - 1, info, sizeof info, k,
                          MR_CONSENT_K_BYTES);
}

static medreg_err with_tag(const char *tag, size_t tag_len, const uint8_t *a, size_t a_len, uint8_t *out,
                           size_t cap, size_t *out_len)
{
    if (tag_len + a_len > cap)
        return MEDREG_ERR_TOOBIG;
    memcpy(out, tag, tag_len);
    memcpy(out + tag_len, a, a_len);
    *out_len = tag_len + a_len;
    return MEDREG_OK;
}

medreg_err mr_consent_physician_tbs(const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose, const char *module,
                                    const char *internal_id, const uint8_t *k2, size_t k2_len,
                                    const uint8_t client_pk[32], const uint8_t terms[32], uint8_t **out,
                                    size_t *out_len)
{
    static const uint8_t no_terms[32];
    medreg_err rc = MEDREG_OK;
    mr_writer w;
    uint8_t h[32];
    crypto_hash_sha256(h, k2, k2_len);
    mr_writer_init(&w, 1024);
    TRY(mr_write_bytes(&w, TAG_PHYSICIAN, sizeof TAG_PHYSICIAN - 1));
    TRY(mr_write_bytes(&w, sid, MR_SESSION_ID_BYTES));
    TRY(mr_write_u8(&w, purpose));
    TRY(mr_write_lp(&w, module, strlen(module)));
    TRY(mr_write_lp(&w, internal_id, strlen(internal_id)));
    TRY(mr_write_bytes(&w, h, 32));
    TRY(mr_write_bytes(&w, client_pk, 32));
    TRY(mr_write_bytes(&w, terms ? terms : no_terms, 32));
    *out = w.p;
    *out_len = w.len;
    return MEDREG_OK;
out:
    mr_writer_free(&w);
    return rc;
}

medreg_err mr_consent_client_fingerprint(mr_token *patient, mr_token *physician, const mr_hybrid_to *registry,
                                         const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                                         const uint8_t server_pk[32], const char *module, const char *internal_id,
                                         const uint8_t terms[32], mr_fingerprint_msg *out)
{
    medreg_err rc = MEDREG_OK;
    uint8_t csk[32], shared[32], k[MR_CONSENT_K_BYTES], tbs[64], kp[KPRIME_MAX];
    uint8_t sig[MR_SIG_MAX], alg = 0, *k2 = NULL, *ptbs = NULL;
    size_t sl = 0, tl = 0, k2_len = 0, ptbs_len = 0, kpl = 0;
    int card_hash = MR_OAEP_SHA1;
    uint8_t aad3[sizeof TAG_K3 - 1 + MR_SESSION_ID_BYTES];

    memset(out, 0, sizeof *out);
    randombytes_buf(csk, sizeof csk);
    crypto_scalarmult_base(out->client_pk, csk);
    ENSURE(crypto_scalarmult(shared, csk, server_pk) == 0, MEDREG_ERR_VERIFY); /* low-order server key */
    TRY(derive_k(shared, sid, purpose, server_pk, out->client_pk, k));
    /* the card signs K, then K' = 1 ‖ alg ‖ K ‖ u16 len ‖ sig goes to the card's own key */
    TRY(with_tag(TAG_CARD, sizeof TAG_CARD - 1, k, sizeof k, tbs, sizeof tbs, &tl));
    TRY(mr_token_sign(patient, tbs, tl, &alg, sig, &sl));
    kp[0] = 1;
    kp[1] = alg;
    memcpy(kp + 2, k, sizeof k);
    kp[34] = (uint8_t)(sl >> 8);
    kp[35] = (uint8_t)sl;
    memcpy(kp + 36, sig, sl);
    kpl = 36 + sl;
    if (EVP_PKEY_base_id(mr_token_public_key(patient)) == EVP_PKEY_RSA)
        TRY(mr_token_oaep_hash(patient, &card_hash));
    mr_hybrid_to card;
    mr_hybrid_to_token(patient, card_hash, &card);
    TRY(mr_hybrid_seal(&card, (const uint8_t *)TAG_K2, sizeof TAG_K2 - 1, kp, kpl, &k2, &k2_len));
    /* the physician's card vouches for this fingerprint */
    TRY(mr_consent_physician_tbs(sid, purpose, module, internal_id, k2, k2_len, out->client_pk, terms, &ptbs,
                                 &ptbs_len));
    TRY(mr_token_sign(physician, ptbs, ptbs_len, &out->physician_alg, out->physician_sig, &out->physician_sig_len));
    memcpy(aad3, TAG_K3, sizeof TAG_K3 - 1);
    memcpy(aad3 + sizeof TAG_K3 - 1, sid, MR_SESSION_ID_BYTES);
    TRY(mr_hybrid_seal(registry, aad3, sizeof aad3, k2, k2_len, &out->k3, &out->k3_len));
out:
    if (rc != MEDREG_OK)
        mr_fingerprint_msg_clear(out);
    mr_wipe(csk, sizeof csk);
    mr_wipe(shared, sizeof shared);
    mr_wipe(k, sizeof k);
    mr_wipe(tbs, sizeof tbs);
    mr_wipe(kp, sizeof kp);
    free(k2);
    free(ptbs);
    return rc;
}

medreg_err mr_consent_client_open(mr_token *patient, const uint8_t *k2, size_t k2_len, uint8_t k[MR_CONSENT_K_BYTES])
{
    uint8_t *kp = NULL, tbs[64];
    size_t kpl = 0, tl = 0;
    medreg_err rc = mr_hybrid_open(patient, (const uint8_t *)TAG_K2, sizeof TAG_K2 - 1, k2, k2_len, &kp, &kpl);
    if (rc != MEDREG_OK)
        return rc; /* VERIFY: not this card's; PIN/TOKEN: the card's problem */
    /* the card's own signature over K must be inside, or we return nothing */
    size_t sl = kpl >= 36 ? ((size_t)kp[34] << 8 | kp[35]) : 0;
    if (kpl < 36 || kp[0] != 1 || 36 + sl != kpl ||
        with_tag(TAG_CARD, sizeof TAG_CARD - 1, kp + 2, MR_CONSENT_K_BYTES, tbs, sizeof tbs, &tl) != MEDREG_OK ||
        mr_sig_verify(mr_token_public_key(patient), kp[1], tbs, tl, kp + 36, sl) != MEDREG_OK) {
        rc = MEDREG_ERR_DENIED;
    } else {
        memcpy(k, kp + 2, MR_CONSENT_K_BYTES);
    }
    mr_wipe(kp, kpl);
    mr_wipe(tbs, sizeof tbs);
    free(kp);
    return rc;
}

medreg_err mr_consent_client_answer(const mr_hybrid_to *registry, const uint8_t sid[MR_SESSION_ID_BYTES],
                                    const uint8_t k[MR_CONSENT_K_BYTES], const uint8_t nonce[MR_CONSENT_NONCE_BYTES],
                                    const uint8_t terms[32], uint8_t **m, size_t *m_len)
{
    uint8_t pt[1 + MR_CONSENT_K_BYTES + MR_CONSENT_NONCE_BYTES + 32];
    uint8_t aad[sizeof TAG_ANSWER - 1 + MR_SESSION_ID_BYTES];
    pt[0] = 1;
    memcpy(pt + 1, k, MR_CONSENT_K_BYTES);
    memcpy(pt + 1 + MR_CONSENT_K_BYTES, nonce, MR_CONSENT_NONCE_BYTES);
    memcpy(pt + 1 + MR_CONSENT_K_BYTES + MR_CONSENT_NONCE_BYTES, terms, 32);
    memcpy(aad, TAG_ANSWER, sizeof TAG_ANSWER - 1);
    memcpy(aad + sizeof TAG_ANSWER - 1, sid, MR_SESSION_ID_BYTES);
    medreg_err rc = mr_hybrid_seal(registry, aad, sizeof aad, pt, sizeof pt, m, m_len);
    mr_wipe(pt, sizeof pt);
    return rc;
}

medreg_err mr_consent_session_secret(mr_key25519 *seal, uint8_t out[32])
{
    static const char TAG_POINT[] = "medreg/consent-session-point/v1";
    static const char TAG_SECRET[] = "medreg/consent-session-secret/v1";
    uint8_t h[crypto_hash_sha512_BYTES], ed[32], point[32], z[32];
    crypto_hash_sha512(h, (const uint8_t *)TAG_POINT, sizeof TAG_POINT - 1);
    medreg_err rc = crypto_core_ed25519_from_uniform(ed, h) == 0 && crypto_sign_ed25519_pk_to_curve25519(point, ed) == 0
                        ? MEDREG_OK
                        : MEDREG_ERR_CRYPTO;
    if (rc == MEDREG_OK)
        rc = mr_key25519_agree(seal, point, z);
    if (rc == MEDREG_OK)
        crypto_generichash(out, 32, (const uint8_t *)TAG_SECRET, sizeof TAG_SECRET - 1, z, sizeof z);
    mr_wipe(z, sizeof z);
    return rc;
}

void mr_consent_server_ephemeral(const uint8_t secret[32], const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t pk[32],
                                 uint8_t sk[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, secret, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)TAG_EPH, sizeof TAG_EPH - 1);
    crypto_generichash_update(&st, sid, MR_SESSION_ID_BYTES);
    crypto_generichash_final(&st, sk, 32);
    crypto_scalarmult_base(pk, sk);
    mr_wipe(&st, sizeof st);
}

medreg_err mr_consent_server_fingerprint(mr_token *registry, const uint8_t secret[32],
                                         const uint8_t sid[MR_SESSION_ID_BYTES], uint8_t purpose,
                                         const uint8_t client_pk[32], const uint8_t *k3, size_t k3_len, uint8_t hk[32],
                                         uint8_t **k2, size_t *k2_len)
{
    medreg_err rc = MEDREG_OK;
    uint8_t spk[32], ssk[32], shared[32], k[MR_CONSENT_K_BYTES];
    uint8_t aad[sizeof TAG_K3 - 1 + MR_SESSION_ID_BYTES];
    *k2 = NULL;
    memcpy(aad, TAG_K3, sizeof TAG_K3 - 1);
    memcpy(aad + sizeof TAG_K3 - 1, sid, MR_SESSION_ID_BYTES);
    mr_consent_server_ephemeral(secret, sid, spk, ssk);
    ENSURE(crypto_scalarmult(shared, ssk, client_pk) == 0, MEDREG_ERR_VERIFY);
    TRY(derive_k(shared, sid, purpose, spk, client_pk, k));
    TRY(mr_hybrid_open(registry, aad, sizeof aad, k3, k3_len, k2, k2_len));
    mr_consent_hash_k(k, hk);
out:
    mr_wipe(ssk, sizeof ssk);
    mr_wipe(shared, sizeof shared);
    mr_wipe(k, sizeof k);
    return rc;
}

medreg_err mr_consent_server_answer(mr_token *registry, const uint8_t sid[MR_SESSION_ID_BYTES], const uint8_t *m,
                                    size_t m_len, uint8_t hk[32], uint8_t nonce[MR_CONSENT_NONCE_BYTES],
                                    uint8_t terms[32])
{
    uint8_t aad[sizeof TAG_ANSWER - 1 + MR_SESSION_ID_BYTES], *pt = NULL;
    size_t pl = 0;
    memcpy(aad, TAG_ANSWER, sizeof TAG_ANSWER - 1);
    memcpy(aad + sizeof TAG_ANSWER - 1, sid, MR_SESSION_ID_BYTES);
    medreg_err rc = mr_hybrid_open(registry, aad, sizeof aad, m, m_len, &pt, &pl);
    if (rc != MEDREG_OK)
        return rc == MEDREG_ERR_TOKEN || rc == MEDREG_ERR_NOMEM ? rc : MEDREG_ERR_VERIFY;
    if (pl != 1 + MR_CONSENT_K_BYTES + MR_CONSENT_NONCE_BYTES + 32 || pt[0] != 1) {
        rc = MEDREG_ERR_VERIFY;
    } else {
        mr_consent_hash_k(pt + 1, hk);
        memcpy(nonce, pt + 1 + MR_CONSENT_K_BYTES, MR_CONSENT_NONCE_BYTES);
        memcpy(terms, pt + 1 + MR_CONSENT_K_BYTES + MR_CONSENT_NONCE_BYTES, 32);
    }
    mr_wipe(pt, pl);
    free(pt);
    return rc;
}
