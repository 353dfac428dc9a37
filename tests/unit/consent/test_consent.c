/* The token interface on SoftHSM2 cards (RSA, EC P-256, P-384,
 * brainpoolP256r1) and on key files; hybrid encryption against vectors from
 * an independent implementation; both halves of the consent protocol,
 * including the refusals the protocol depends on.
 * usage: test_consent VECTOR_DIR [PKCS11_MODULE] */
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../src/consent/consent.h"
#include "../../../src/core/secret.h"
#include "../../../src/crypto/hybrid.h"
#include "../../../src/pki/pki.h"
#include "../../../src/token/card.h"
#include "../check.h"
#include "../softhsm_scratch.h"

static const char *module = "/usr/lib/softhsm/libsofthsm2.so";
static char pki[200];

static mr_token *open_token(const char *key, const char *cert, const char *pin_env)
{
    mr_token_spec spec = {.key = key, .cert = cert, .pin_env = pin_env};
    mr_token *t = NULL;
    char *err = NULL;
    medreg_err rc = mr_token_open(&spec, &t, &err);
    if (rc != MEDREG_OK)
        fprintf(stderr, "open %s: %s (%s)\n", key, err ? err : "?", medreg_strerror(rc));
    free(err);
    return t;
}

/* SoftHSM2 offers a new free slot only when nothing in the process holds
 * the module open, so every card is made before any is opened */
static void make_card(const char *label, const char *type)
{
    mr_card_spec cs = {module, label, "1234", "5678", type, pki, "card-holder", NULL};
    char *err = NULL;
    medreg_err rc = mr_card_init(&cs, &err);
    if (rc != MEDREG_OK)
        fprintf(stderr, "card init %s: %s\n", label, err ? err : "?");
    free(err);
    CHECK(rc == MEDREG_OK);
}

static mr_token *card(const char *label)
{
    char uri[256];
    snprintf(uri, sizeof uri, "pkcs11:token=%s?module-path=%s", label, module);
    return open_token(uri, NULL, "TEST_PIN");
}

/* copy a committed key to a 0600 file (git keeps no modes) */
static char *private_copy(const char *vectors, const char *name)
{
    char src[512], *data = NULL;
    size_t len = 0;
    snprintf(src, sizeof src, "%s/%s", vectors, name);
    if (mr_file_read(src, 1 << 16, &data, &len) != MEDREG_OK)
        return NULL;
    char *dst = path(name);
    unlink(dst);
    medreg_err rc = mr_secret_file_write(dst, data, len);
    free(data);
    return rc == MEDREG_OK ? dst : NULL;
}

static size_t read_hex(const char *vectors, const char *name, uint8_t *out, size_t cap)
{
    char p[512], *hex = NULL;
    size_t len = 0, bl = 0;
    snprintf(p, sizeof p, "%s/%s", vectors, name);
    if (mr_file_read(p, 1 << 16, &hex, &len) != MEDREG_OK)
        return 0;
    if (sodium_hex2bin(out, cap, hex, len, "\n", &bl, NULL) != 0)
        bl = 0;
    free(hex);
    return bl;
}

static const char PT[] = "medreg hybrid known-answer plaintext";
static const char AAD[] = "medreg/kat/aad";

static void test_vectors(const char *vectors)
{
    uint8_t want[2048], *ct = NULL, *pt = NULL;
    size_t wl, cl = 0, pl = 0;
    char cert[512];

    /* ECIES: our sealing with the same ephemeral key gives the same bytes */
    snprintf(cert, sizeof cert, "%s/ec-p256.crt", vectors);
    mr_token *ec = open_token(private_copy(vectors, "ec-p256.key"), cert, NULL);
    char *eph_path = private_copy(vectors, "ec-p256-ephemeral.key");
    FILE *fp = eph_path ? fopen(eph_path, "r") : NULL;
    EVP_PKEY *eph = fp ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) : NULL;
    if (fp)
        fclose(fp);
    CHECK(ec != NULL && eph != NULL);
    wl = read_hex(vectors, "ec-p256.ct.hex", want, sizeof want);
    CHECK(wl > 0);
    if (ec && eph) {
        mr_hybrid_to to;
        mr_hybrid_to_token(ec, 0, &to);
        CHECK(mr_hybrid_seal_fixed(&to, NULL, eph, (const uint8_t *)AAD, strlen(AAD), (const uint8_t *)PT, strlen(PT),
                                   &ct, &cl) == MEDREG_OK);
        CHECK(cl == wl && ct && memcmp(ct, want, wl) == 0);
        free(ct);
        CHECK(mr_hybrid_open(ec, (const uint8_t *)AAD, strlen(AAD), want, wl, &pt, &pl) == MEDREG_OK);
        CHECK(pl == strlen(PT) && pt && memcmp(pt, PT, pl) == 0);
        free(pt);
        /* described from the bare key, the same recipient */
        mr_hybrid_to bare;
        CHECK(mr_hybrid_to_key(mr_token_public_key(ec), 0, &bare) == MEDREG_OK &&
              memcmp(bare.spki_sha256, to.spki_sha256, 32) == 0);
        /* ECDH takes points of the curve only: the ephemeral point, then the
         * same with y changed (off the curve), infinity, garbage */
        uint8_t point[65], z[MR_ECDH_MAX];
        size_t zl = 0;
        CHECK(wl > 8 + 65 && want[8] == 4);
        memcpy(point, want + 8, 65);
        CHECK(mr_token_ecdh(ec, point, 65, z, &zl) == MEDREG_OK && zl == 32);
        point[64] ^= 1;
        CHECK(mr_token_ecdh(ec, point, 65, z, &zl) != MEDREG_OK);
        CHECK(mr_token_ecdh(ec, (const uint8_t *)"", 1, z, &zl) != MEDREG_OK);
        memset(point, 0xff, sizeof point);
        point[0] = 4;
        CHECK(mr_token_ecdh(ec, point, 65, z, &zl) != MEDREG_OK);
    }
    EVP_PKEY_free(eph);
    mr_token_close(ec);

    /* RSA: ciphertexts made elsewhere open to the known plaintext */
    snprintf(cert, sizeof cert, "%s/rsa-2048.crt", vectors);
    mr_token *rsa = open_token(private_copy(vectors, "rsa-2048.key"), cert, NULL);
    CHECK(rsa != NULL);
    for (int h = 1; rsa && h <= 2; h++) {
        char name[64];
        snprintf(name, sizeof name, "rsa-2048-oaep%d.ct.hex", h);
        wl = read_hex(vectors, name, want, sizeof want);
        CHECK(wl > 0);
        CHECK(mr_hybrid_open(rsa, (const uint8_t *)AAD, strlen(AAD), want, wl, &pt, &pl) == MEDREG_OK);
        CHECK(pl == strlen(PT) && pt && memcmp(pt, PT, pl) == 0);
        free(pt);
        pt = NULL;
        want[wl - 1] ^= 1; /* the tag */
        CHECK(mr_hybrid_open(rsa, (const uint8_t *)AAD, strlen(AAD), want, wl, &pt, &pl) == MEDREG_ERR_VERIFY);
    }
    mr_token_close(rsa);
}

/* sign, seal/open, tamper, and the whole protocol between one card and a registry key */
static void exercise(mr_token *patient, mr_token *other, mr_token *physician, mr_token *registry)
{
    uint8_t sig[MR_SIG_MAX], alg = 0, secret[32], sid[16], hk[32], hk2[32], k[32], nonce[32], n2[32];
    uint8_t terms[32], t2[32], *ct = NULL, *pt = NULL, *k2 = NULL, *m = NULL;
    size_t sl = 0, cl = 0, pl = 0, k2l = 0, ml = 0;
    int card_hash = MR_OAEP_SHA1, reg_hash = MR_OAEP_SHA1;
    static const uint8_t msg[] = "message";

    if (patient == NULL || other == NULL || physician == NULL || registry == NULL) {
        CHECK(0);
        return;
    }
    CHECK(mr_token_sign(patient, msg, sizeof msg, &alg, sig, &sl) == MEDREG_OK);
    CHECK(mr_sig_verify(mr_token_public_key(patient), alg, msg, sizeof msg, sig, sl) == MEDREG_OK);
    CHECK(mr_sig_verify(mr_token_public_key(other), alg, msg, sizeof msg, sig, sl) == MEDREG_ERR_VERIFY);
    sig[sl / 2] ^= 1;
    CHECK(mr_sig_verify(mr_token_public_key(patient), alg, msg, sizeof msg, sig, sl) == MEDREG_ERR_VERIFY);

    if (EVP_PKEY_base_id(mr_token_public_key(patient)) == EVP_PKEY_RSA)
        CHECK(mr_token_oaep_hash(patient, &card_hash) == MEDREG_OK);
    if (EVP_PKEY_base_id(mr_token_public_key(registry)) == EVP_PKEY_RSA)
        CHECK(mr_token_oaep_hash(registry, &reg_hash) == MEDREG_OK);
    mr_hybrid_to to_card, to_registry;
    mr_hybrid_to_token(patient, card_hash, &to_card);
    mr_hybrid_to_token(registry, reg_hash, &to_registry);
    CHECK(mr_hybrid_seal(&to_card, msg, 3, msg, sizeof msg, &ct, &cl) == MEDREG_OK);
    CHECK(mr_hybrid_open(patient, msg, 3, ct, cl, &pt, &pl) == MEDREG_OK && pl == sizeof msg);
    free(pt);
    CHECK(mr_hybrid_open(patient, msg, 2, ct, cl, &pt, &pl) == MEDREG_ERR_VERIFY);  /* other context */
    CHECK(mr_hybrid_open(other, msg, 3, ct, cl, &pt, &pl) != MEDREG_OK);           /* other card */
    for (size_t i = 0; i < cl; i += cl / 7 + 1) {                                    /* any bit */
        ct[i] ^= 0x10;
        CHECK(mr_hybrid_open(patient, msg, 3, ct, cl, &pt, &pl) != MEDREG_OK);
        ct[i] ^= 0x10;
    }
    free(ct);

    /* enrollment */
    mr_fingerprint_msg fm;
    randombytes_buf(secret, 32);
    randombytes_buf(sid, 16);
    uint8_t spk[32], ssk[32];
    mr_consent_server_ephemeral(secret, sid, spk, ssk);
    CHECK(mr_consent_client_fingerprint(patient, physician, &to_registry, sid, MR_PURPOSE_ENROLL, spk, "hip", "ABCD-EFGH-JKLM-N", NULL, &fm) == MEDREG_OK);
    CHECK(mr_consent_server_fingerprint(registry, secret, sid, MR_PURPOSE_ENROLL, fm.client_pk, fm.k3, fm.k3_len, hk,
                                        &k2, &k2l) == MEDREG_OK);
    /* the physician's signature verifies over what the server reconstructs */
    uint8_t *tbs = NULL;
    size_t tl = 0;
    CHECK(mr_consent_physician_tbs(sid, MR_PURPOSE_ENROLL, "hip", "ABCD-EFGH-JKLM-N", k2, k2l, fm.client_pk, NULL,
                                   &tbs, &tl) == MEDREG_OK);
    CHECK(mr_sig_verify(mr_token_public_key(physician), fm.physician_alg, tbs, tl, fm.physician_sig,
                        fm.physician_sig_len) == MEDREG_OK);
    free(tbs);
    /* and over nothing else: other terms than the ones signed fail */
    uint8_t other_terms[32] = {1};
    CHECK(mr_consent_physician_tbs(sid, MR_PURPOSE_ENROLL, "hip", "ABCD-EFGH-JKLM-N", k2, k2l, fm.client_pk,
                                   other_terms, &tbs, &tl) == MEDREG_OK);
    CHECK(mr_sig_verify(mr_token_public_key(physician), fm.physician_alg, tbs, tl, fm.physician_sig,
                        fm.physician_sig_len) != MEDREG_OK);
    free(tbs);
    /* K''' is bound to its session and to the purpose */
    uint8_t sid2[16], *x = NULL;
    size_t xl = 0;
    memcpy(sid2, sid, 16);
    sid2[0] ^= 1;
    CHECK(mr_consent_server_fingerprint(registry, secret, sid2, MR_PURPOSE_ENROLL, fm.client_pk, fm.k3, fm.k3_len,
                                        hk2, &x, &xl) != MEDREG_OK);
    CHECK(mr_consent_server_fingerprint(registry, secret, sid, MR_PURPOSE_REPLACE, fm.client_pk, fm.k3, fm.k3_len,
                                        hk2, &x, &xl) == MEDREG_OK &&
          !mr_ct_equal(hk, hk2, 32));
    free(x);
    fm.k3[fm.k3_len / 2] ^= 1;
    CHECK(mr_consent_server_fingerprint(registry, secret, sid, MR_PURPOSE_ENROLL, fm.client_pk, fm.k3, fm.k3_len, hk2,
                                        &x, &xl) != MEDREG_OK);
    mr_fingerprint_msg_clear(&fm);

    /* re-identification: only the card opens K'', the answer matches H(K) */
    CHECK(mr_consent_client_open(other, k2, k2l, k) != MEDREG_OK);
    CHECK(mr_consent_client_open(patient, k2, k2l, k) == MEDREG_OK);
    uint8_t hk_client[32];
    mr_consent_hash_k(k, hk_client);
    CHECK(mr_ct_equal(hk_client, hk, 32));
    randombytes_buf(nonce, 32);
    mr_consent_terms_digest("grant;exclude=;days=30", terms);
    CHECK(mr_consent_client_answer(&to_registry, sid, k, nonce, terms, &m, &ml) == MEDREG_OK);
    CHECK(mr_consent_server_answer(registry, sid, m, ml, hk2, n2, t2) == MEDREG_OK);
    CHECK(mr_ct_equal(hk2, hk, 32) && mr_ct_equal(n2, nonce, 32) && mr_ct_equal(t2, terms, 32));
    CHECK(mr_consent_server_answer(registry, sid2, m, ml, hk2, n2, t2) == MEDREG_ERR_VERIFY); /* replay elsewhere */
    m[ml - 20] ^= 4;
    CHECK(mr_consent_server_answer(registry, sid, m, ml, hk2, n2, t2) == MEDREG_ERR_VERIFY);
    free(m);
    k2[k2l / 2] ^= 1; /* a flipped K'' opens nowhere */
    CHECK(mr_consent_client_open(patient, k2, k2l, k) != MEDREG_OK);
    free(k2);

    /* a server-made K'' sealed to the card's public key, without the card's
     * signature inside: the card opens it, the client refuses it */
    uint8_t fake[36 + 64];
    memset(fake, 7, sizeof fake);
    fake[0] = 1;
    fake[1] = alg;
    fake[34] = 0;
    fake[35] = 64;
    CHECK(mr_hybrid_seal(&to_card, (const uint8_t *)"medreg/consent/k2/v1", 20, fake, sizeof fake, &k2, &k2l) ==
          MEDREG_OK);
    CHECK(mr_consent_client_open(patient, k2, k2l, k) == MEDREG_ERR_DENIED);
    free(k2);
    mr_wipe(k, sizeof k);
    mr_wipe(ssk, sizeof ssk);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_consent VECTOR_DIR [PKCS11_MODULE]\n");
        return 2;
    }
    if (argc > 2)
        module = argv[2];
    CHECK(sodium_init() >= 0);
    CHECK(softhsm_scratch("consent"));
    test_vectors(argv[1]);

    if (access(module, R_OK) != 0) {
        fprintf(stderr, "no PKCS#11 module at %s: card tests skipped\n", module);
        return TEST_DONE() ? 1 : 77;
    }
    setenv("TEST_PIN", "1234", 1);
    snprintf(pki, sizeof pki, "%s", path("pki"));
    CHECK(mr_pki_init(pki) == MEDREG_OK);

    /* card tokens of every supported kind; the physician's card is EC */
    mr_card_spec cs = {module, "physician", "1234", "5678", "p256", pki, "dr-test", NULL};
    char *err = NULL;
    CHECK(mr_card_init(&cs, &err) == MEDREG_OK);
    free(err);
    cs.label = "physician"; /* the same label again is refused */
    CHECK(mr_card_init(&cs, &err) == MEDREG_ERR_EXISTS);
    free(err);
    static const char *const TYPES[] = {"rsa2048", "p256", "p384", "brainpoolp256r1"};
    for (size_t i = 0; i < 4; i++) {
        char l[32];
        snprintf(l, sizeof l, "patient-%s", TYPES[i]);
        make_card(l, TYPES[i]);
        snprintf(l, sizeof l, "other-%s", TYPES[i]);
        make_card(l, TYPES[i]);
    }
    char uri[512];
    snprintf(uri, sizeof uri, "pkcs11:token=physician?module-path=%s", module);
    mr_token *physician = open_token(uri, NULL, "TEST_PIN");

    /* the registry's key: a key file, EC and RSA */
    CHECK(mr_pki_issue(pki, "reg-ec", 0, "p256") == MEDREG_OK);
    CHECK(mr_pki_issue(pki, "reg-rsa", 0, "rsa2048") == MEDREG_OK);
    char rk[600], rr[600];
    snprintf(rk, sizeof rk, "%s/reg-ec.key", pki);
    snprintf(rr, sizeof rr, "%s/reg-rsa.key", pki);
    mr_token *reg_ec = open_token(rk, NULL, NULL), *reg_rsa = open_token(rr, NULL, NULL);

    for (size_t i = 0; i < 4; i++) {
        char l1[32], l2[32];
        snprintf(l1, sizeof l1, "patient-%s", TYPES[i]);
        snprintf(l2, sizeof l2, "other-%s", TYPES[i]);
        mr_token *p = card(l1), *o = card(l2);
        fprintf(stderr, "card %s\n", p ? mr_token_describe(p) : "(none)");
        exercise(p, o, physician, i % 2 ? reg_rsa : reg_ec);
        mr_token_close(p);
        mr_token_close(o);
    }
    /* a key-file card works the same way */
    CHECK(mr_pki_issue(pki, "filecard", 0, "rsa3072") == MEDREG_OK);
    CHECK(mr_pki_issue(pki, "filecard2", 0, "rsa3072") == MEDREG_OK);
    char f1[600], f2[600];
    snprintf(f1, sizeof f1, "%s/filecard.key", pki);
    snprintf(f2, sizeof f2, "%s/filecard2.key", pki);
    mr_token *fc = open_token(f1, NULL, NULL), *fc2 = open_token(f2, NULL, NULL);
    exercise(fc, fc2, physician, reg_ec);
    mr_token_close(fc);
    mr_token_close(fc2);

    /* a wrong PIN is one clear error, never retried (log-in state is per
     * process in PKCS#11, so nothing else may hold the token open) */
    mr_token_close(physician);
    physician = NULL;
    setenv("WRONG_PIN", "9999", 1);
    mr_token_spec bad = {.key = uri, .pin_env = "WRONG_PIN"};
    mr_token *t = NULL;
    err = NULL;
    CHECK(mr_token_open(&bad, &t, &err) == MEDREG_ERR_PIN && t == NULL);
    CHECK(err && strstr(err, "PIN"));
    free(err);
    /* a certificate that names the holder but carries another key */
    char wrong_cert[600];
    snprintf(wrong_cert, sizeof wrong_cert, "%s/filecard2.crt", pki);
    mr_token_spec mism = {.key = f1, .cert = wrong_cert};
    err = NULL;
    CHECK(mr_token_open(&mism, &t, &err) == MEDREG_ERR_VERIFY);
    free(err);

    mr_token_close(physician);
    mr_token_close(reg_ec);
    mr_token_close(reg_rsa);
    scratch_remove();
    return TEST_DONE();
}
