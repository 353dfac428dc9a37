/* A PKCS#11 module that answers CKR_OK with lengths past the caller's
 * buffers (p11_liar.c, in front of SoftHSM2): every place medreg reads what
 * a token hands back must refuse it with an error, and read nothing past
 * its buffers (under AddressSanitizer an over-read fails the run). First
 * the same calls through the liar telling the truth, so that a refusal
 * below is the lie's doing and not the shim's.
 * usage: test_p11_liar LIAR_MODULE [PKCS11_MODULE] */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../src/core/secret.h"
#include "../../../src/pki/pki.h"
#include "../../../src/token/card.h"
#include "../../../src/token/key25519.h"
#include "../../../src/token/token.h"
#include "../check.h"
#include "../softhsm_scratch.h"

static const char *softhsm = "/usr/lib/softhsm/libsofthsm2.so";
static const char *liar;


static void lie(const char *what)
{
    if (what)
        setenv("P11_LIAR_LIE", what, 1);
    else
        unsetenv("P11_LIAR_LIE");
}

static medreg_err open_card(const char *label, mr_token **t)
{
    char uri[600];
    snprintf(uri, sizeof uri, "pkcs11:token=%s?module-path=%s", label, liar);
    mr_token_spec spec = {.key = uri, .pin_env = "TEST_PIN"};
    char *err = NULL;
    *t = NULL;
    medreg_err rc = mr_token_open(&spec, t, &err);
    if (rc != MEDREG_OK) /* the message a user would read */
        printf("  open %s (lie: %s): %s\n", label, getenv("P11_LIAR_LIE") ? getenv("P11_LIAR_LIE") : "none",
               err ? err : medreg_strerror(rc));
    free(err);
    return rc;
}

/* an RSA-OAEP (SHA-1, as SoftHSM2 2.6 does) ciphertext for the card */
static size_t encrypt_to(mr_token *t, const uint8_t *msg, size_t len, uint8_t *ct, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, mr_token_public_key(t), NULL);
    size_t n = cap;
    if (c == NULL || EVP_PKEY_encrypt_init(c) != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) != 1 ||
        EVP_PKEY_encrypt(c, ct, &n, msg, len) != 1)
        n = 0;
    EVP_PKEY_CTX_free(c);
    return n;
}

/* the uncompressed point of a fresh P-256 key */
static size_t peer_point(uint8_t *pt, size_t cap)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t n = 0;
    if (k == NULL || EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, cap, &n) != 1)
        n = 0;
    EVP_PKEY_free(k);
    return n;
}

static void rsa_card(void)
{
    static const char *const OPEN_LIES[] = {"attribute", "unavailable", "slots"};
    mr_token *t = NULL;
    uint8_t msg[32] = "a consent message", sig[MR_SIG_MAX], ct[512], pt[4096 + 1024], alg = 0;
    size_t sl = 0, ctl, ptl = 0;

    lie(NULL);
    CHECK(open_card("rsa", &t) == MEDREG_OK);
    if (t == NULL)
        return;
    CHECK(mr_token_sign(t, msg, sizeof msg, &alg, sig, &sl) == MEDREG_OK && sl == 256);
    CHECK(mr_sig_verify(mr_token_public_key(t), alg, msg, sizeof msg, sig, sl) == MEDREG_OK);
    CHECK((ctl = encrypt_to(t, msg, sizeof msg, ct, sizeof ct)) == 256);
    CHECK(mr_token_decrypt_oaep(t, MR_OAEP_SHA1, ct, ctl, pt, sizeof pt, &ptl) == MEDREG_OK && ptl == sizeof msg &&
          memcmp(pt, msg, sizeof msg) == 0);

    lie("signature"); /* 256 + 4096 bytes "signed" into a 512-byte buffer */
    sl = 0;
    CHECK(mr_token_sign(t, msg, sizeof msg, &alg, sig, &sl) == MEDREG_ERR_TOKEN && sl == 0);
    lie("plaintext"); /* 32 + 4096 bytes "decrypted", and the caller's buffer would hold them */
    ptl = 0;
    CHECK(mr_token_decrypt_oaep(t, MR_OAEP_SHA1, ct, ctl, pt, sizeof pt, &ptl) == MEDREG_ERR_TOKEN && ptl == 0);
    lie(NULL);
    CHECK(mr_token_decrypt_oaep(t, MR_OAEP_SHA1, ct, ctl, pt, sizeof pt, &ptl) == MEDREG_OK && ptl == sizeof msg);
    mr_token_close(t);

    /* opening reads the key's CKA_ID and the certificate's CKA_VALUE, and
     * the slot list before them */
    for (size_t i = 0; i < sizeof OPEN_LIES / sizeof OPEN_LIES[0]; i++) {
        lie(OPEN_LIES[i]);
        CHECK(open_card("rsa", &t) == MEDREG_ERR_TOKEN && t == NULL);
        mr_token_close(t);
    }
    lie(NULL);
}

static void ec_card(void)
{
    mr_token *t = NULL;
    uint8_t msg[32] = "a consent message", sig[MR_SIG_MAX], peer[133], z[MR_ECDH_MAX], alg = 0;
    size_t sl = 0, zl = 0, pl;

    lie(NULL);
    CHECK(open_card("ec", &t) == MEDREG_OK);
    if (t == NULL)
        return;
    CHECK((pl = peer_point(peer, sizeof peer)) == 65);
    CHECK(mr_token_sign(t, msg, sizeof msg, &alg, sig, &sl) == MEDREG_OK);
    CHECK(mr_sig_verify(mr_token_public_key(t), alg, msg, sizeof msg, sig, sl) == MEDREG_OK);
    CHECK(mr_token_ecdh(t, peer, pl, z, &zl) == MEDREG_OK && zl == 32);

    lie("signature"); /* r ‖ s of 64 + 4096 bytes */
    sl = 0;
    CHECK(mr_token_sign(t, msg, sizeof msg, &alg, sig, &sl) == MEDREG_ERR_TOKEN && sl == 0);
    lie("attribute"); /* the derived secret's CKA_VALUE */
    zl = 0;
    CHECK(mr_token_ecdh(t, peer, pl, z, &zl) != MEDREG_OK && zl == 0);
    lie("unavailable");
    CHECK(mr_token_ecdh(t, peer, pl, z, &zl) != MEDREG_OK && zl == 0);
    lie("short"); /* a secret one byte shorter than the curve's */
    CHECK(mr_token_ecdh(t, peer, pl, z, &zl) == MEDREG_ERR_CRYPTO && zl == 0);
    lie(NULL);
    CHECK(mr_token_ecdh(t, peer, pl, z, &zl) == MEDREG_OK && zl == 32);
    /* a key that derives something else than its certificate's public key
     * agrees on: a service checks its consent key this way before it serves */
    CHECK(mr_token_selftest_decrypt(t) == MEDREG_OK);
    lie("flip");
    CHECK(mr_token_selftest_decrypt(t) == MEDREG_ERR_VERIFY);
    lie(NULL);
    mr_token_close(t);
}

/* the X25519 key of a service: opening reads CKA_KEY_TYPE, CKA_ID,
 * CKA_EC_PARAMS and CKA_EC_POINT; agreeing reads the derived CKA_VALUE */
static void x25519_key(void)
{
    static const char *const LIES[] = {"attribute", "unavailable", "slots"};
    char uri[600], *err = NULL;
    snprintf(uri, sizeof uri, "pkcs11:token=service;object=seal?module-path=%s", liar);
    mr_token_spec spec = {.key = uri, .pin_env = "TEST_PIN"};
    mr_key25519 *k = NULL;
    uint8_t peer[32], z[32];

    lie(NULL);
    CHECK(mr_key25519_open(&spec, MR_KEY_X25519, &k, &err) == MEDREG_OK);
    free(err);
    err = NULL;
    if (k == NULL)
        return;
    crypto_box_keypair(peer, z);
    CHECK(mr_key25519_agree(k, peer, z) == MEDREG_OK);
    lie("attribute");
    CHECK(mr_key25519_agree(k, peer, z) != MEDREG_OK);
    lie(NULL);
    mr_key25519_close(k);

    for (size_t i = 0; i < sizeof LIES / sizeof LIES[0]; i++) {
        lie(LIES[i]);
        k = NULL;
        CHECK(mr_key25519_open(&spec, MR_KEY_X25519, &k, &err) == MEDREG_ERR_TOKEN && k == NULL);
        CHECK(err != NULL && strstr(err, "past the buffer") != NULL);
        printf("  X25519 key (lie: %s): %s\n", LIES[i], err ? err : "?");
        free(err);
        err = NULL;
        mr_key25519_close(k);
    }
    lie(NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_p11_liar LIAR_MODULE [PKCS11_MODULE]\n");
        return 2;
    }
    static char liar_path[4096];
    if (realpath(argv[1], liar_path) == NULL) { /* p11-kit loads a module by its full path */
        fprintf(stderr, "no module at %s\n", argv[1]);
        return 2;
    }
    liar = liar_path;
    if (argc > 2)
        softhsm = argv[2];
    if (access(softhsm, R_OK) != 0) {
        fprintf(stderr, "no PKCS#11 module at %s: skipped\n", softhsm);
        return 77;
    }
    CHECK(sodium_init() >= 0);
    if (!softhsm_scratch("p11-liar"))
        return 1;
    setenv("TEST_PIN", "1234", 1);
    setenv("P11_LIAR_MODULE", softhsm, 1);
    CHECK(mr_pki_init(path("pki")) == MEDREG_OK);

    /* the cards, made through SoftHSM2 itself; the module is never held
     * open by both paths at once */
    char *err = NULL, uri[600];
    mr_card_spec rsa = {softhsm, "rsa", "1234", "5678", "rsa2048", path("pki"), "card-rsa", NULL};
    mr_card_spec ec = {softhsm, "ec", "1234", "5678", "p256", path("pki"), "card-ec", NULL};
    CHECK(mr_card_init(&rsa, &err) == MEDREG_OK);
    free(err);
    err = NULL;
    CHECK(mr_card_init(&ec, &err) == MEDREG_OK);
    free(err);
    err = NULL;
    mr_card_spec service = {softhsm, "service", "1234", "5678", "p256", path("pki"), "service", NULL};
    CHECK(mr_card_init(&service, &err) == MEDREG_OK); /* a token for the X25519 key alone */
    free(err);
    err = NULL;
    snprintf(uri, sizeof uri, "pkcs11:token=service;object=seal?module-path=%s", softhsm);
    mr_token_spec seal = {.key = uri, .pin_env = "TEST_PIN"};
    uint8_t pk[32];
    CHECK(mr_key25519_generate(&seal, MR_KEY_X25519, pk, &err) == MEDREG_OK);
    free(err);
    err = NULL;

    /* card init reads the generated public key back (CKA_MODULUS and
     * CKA_PUBLIC_EXPONENT, or CKA_EC_POINT): once through the liar telling
     * the truth, then lying */
    mr_card_spec truth = {liar, "truth", "1234", "5678", "p256", path("pki"), "card-truth", path("truth.crt")};
    lie(NULL);
    CHECK(mr_card_init(&truth, &err) == MEDREG_OK);
    CHECK(access(path("truth.crt"), F_OK) == 0);
    free(err);
    err = NULL;
    static const char *const TYPES[] = {"rsa2048", "p256"};
    for (size_t i = 0; i < 2; i++) {
        mr_card_spec lied = {liar, i ? "lied-ec" : "lied-rsa", "1234", "5678", TYPES[i], path("pki"), "card-lied",
                             path("lied.crt")};
        lie("attribute");
        CHECK(mr_card_init(&lied, &err) == MEDREG_ERR_TOKEN && err && strstr(err, "public key back"));
        printf("  card init %s (lie: attribute): %s\n", TYPES[i], err ? err : "?");
        CHECK(access(path("lied.crt"), F_OK) != 0); /* no certificate for a key it could not read */
        free(err);
        err = NULL;
    }
    lie(NULL);

    rsa_card();
    ec_card();
    x25519_key();
    scratch_remove();
    return TEST_DONE();
}
