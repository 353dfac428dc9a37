/* Tokens: where a private key lives and the only operations the protocols
 * need from it. Two implementations behind one interface: a PKCS#11 token
 * (a smartcard through OpenSC, a SoftHSM2 token in tests, an HSM) named by a
 * PKCS#11 URI, and a PEM key file (mode 0600) for development. With PKCS#11
 * the private key never leaves the token: it signs, decrypts (RSA-OAEP) or
 * derives (ECDH) and hands back only the result. */
#ifndef MR_TOKEN_H
#define MR_TOKEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

typedef struct mr_token mr_token;

/* Signature algorithms, as they travel on the wire (docs/protocol.md). */
enum {
    MR_SIG_RSA_PSS_SHA256 = 1,   /* salt length 32, MGF1-SHA256 */
    MR_SIG_RSA_PKCS1_SHA256 = 2, /* for cards without PSS */
    MR_SIG_ECDSA_SHA256 = 3,     /* DER-encoded (r, s) */
    MR_SIG_ECDSA_SHA384 = 4
};

/* RSA-OAEP hash (MGF1 uses the same hash). */
enum { MR_OAEP_SHA1 = 1, MR_OAEP_SHA256 = 2 };

#define MR_SIG_MAX 512     /* RSA-4096 */
#define MR_ECDH_MAX 66     /* P-521 x-coordinate; we use at most P-384 */
#define MR_PIN_MAX 128

typedef struct mr_token_spec {
    /* "pkcs11:token=…[;object=…][?module-path=…]" or the path of a PEM key */
    const char *key;
    /* PEM certificate; for a key file, default: the key's path with ".key"
     * replaced by ".crt". For PKCS#11, default: the certificate on the token
     * with the key's CKA_ID. */
    const char *cert;
    const char *module;   /* PKCS#11 library when the URI names none */
    const char *pin_file; /* a 0600 file holding the PIN */
    const char *pin_env;  /* else this environment variable */
    const char *prompt;   /* else ask on the terminal with this prompt (NULL: never) */
} mr_token_spec;

/* Open the token and log in (PKCS#11). A refused PIN is never retried: it
 * returns MEDREG_ERR_PIN so that a card is not locked by a loop. *errmsg
 * (malloc'ed, may be NULL) says what failed. */
MR_MUST_CHECK medreg_err mr_token_open(const mr_token_spec *spec, mr_token **out, char **errmsg);
void mr_token_close(mr_token *t);

/* Borrowed; valid until mr_token_close. The certificate may be NULL when a
 * PKCS#11 token holds a key without one. */
X509 *mr_token_cert(const mr_token *t);
EVP_PKEY *mr_token_public_key(const mr_token *t);
/* SHA-256 of the token's public key as DER SubjectPublicKeyInfo, computed
 * when the token was opened (encoding a key is slow in OpenSSL 3). */
const uint8_t *mr_token_spki_sha256(const mr_token *t);
/* The same for any public key. */
MR_MUST_CHECK medreg_err mr_spki_sha256(EVP_PKEY *pub, uint8_t out[32]);
/* A short description for messages: "PKCS#11 token 'Patient 1' (EC P-256)". */
const char *mr_token_describe(const mr_token *t);

/* Sign msg with the token's preferred algorithm for its key (RSA: PSS, else
 * PKCS#1 v1.5; EC: ECDSA with SHA-256, SHA-384 for P-384). sig holds at
 * least MR_SIG_MAX bytes. */
MR_MUST_CHECK medreg_err mr_token_sign(mr_token *t, const uint8_t *msg, size_t len, uint8_t *alg,
                                       uint8_t *sig, size_t *sig_len);

/* RSA-OAEP decryption on the token. MEDREG_ERR_VERIFY when the ciphertext
 * does not decrypt under this key; MEDREG_ERR_INVALID when the token does
 * not support this hash. */
MR_MUST_CHECK medreg_err mr_token_decrypt_oaep(mr_token *t, int hash, const uint8_t *ct, size_t ct_len,
                                               uint8_t *pt, size_t pt_cap, size_t *pt_len);

/* ECDH on the token with an uncompressed peer point: the shared x-coordinate
 * into z (MR_ECDH_MAX bytes). */
MR_MUST_CHECK medreg_err mr_token_ecdh(mr_token *t, const uint8_t *peer, size_t peer_len, uint8_t *z,
                                       size_t *z_len);

/* The OAEP hash this token decrypts with: SHA-256 if it can, else SHA-1
 * (SoftHSM2 2.6 and many cards). Probed once with a test decryption. */
MR_MUST_CHECK medreg_err mr_token_oaep_hash(mr_token *t, int *hash);

/* Prove that the token decrypts (RSA-OAEP) or derives (ECDH) with its key:
 * a key imported without the usage flags fails here, at start-up, not at
 * the first patient. */
MR_MUST_CHECK medreg_err mr_token_selftest_decrypt(mr_token *t);

/* Verify a token signature with a public key. MEDREG_ERR_VERIFY on any
 * mismatch, including an algorithm that does not fit the key. */
MR_MUST_CHECK medreg_err mr_sig_verify(EVP_PKEY *pub, uint8_t alg, const uint8_t *msg, size_t len,
                                       const uint8_t *sig, size_t sig_len);

/* Read a PIN: from pin_file (0600), else $pin_env, else the terminal
 * (echo off) when prompt is set. Trailing newlines are dropped. */
MR_MUST_CHECK medreg_err mr_pin_read(const char *pin_file, const char *pin_env, const char *prompt,
                                     char pin[MR_PIN_MAX], char **errmsg);

#endif
