#include "psn_token.h"

#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/secret.h"

static const uint8_t MAGIC[4] = {'M', 'R', 'T', '1'};
static const char SIG_TAG[] = "medreg/psn-token/v1";
#define BODY_MAX 512

static medreg_err encode_body(const mr_psn_token *t, mr_writer *w)
{
    medreg_err rc = MEDREG_OK;
    TRY(mr_write_bytes(w, MAGIC, sizeof MAGIC));
    TRY(mr_write_lp(w, t->module, strlen(t->module)));
    TRY(mr_write_lp(w, t->internal_id, strlen(t->internal_id)));
    TRY(mr_write_bytes(w, t->physician, MR_FPR_BYTES));
    TRY(mr_write_u32(w, t->key_id));
    TRY(mr_write_bytes(w, t->psn, MEDREG_PSN_BYTES));
    TRY(mr_write_u64(w, t->issued_at));
    TRY(mr_write_u64(w, t->expires_at));
    TRY(mr_write_bytes(w, t->nonce, MR_TOKEN_NONCE_BYTES));
out:
    return rc;
}

static medreg_err sign_input(const uint8_t *body, size_t len, mr_writer *w)
{
    medreg_err rc = MEDREG_OK;
    TRY(mr_write_bytes(w, SIG_TAG, sizeof SIG_TAG - 1));
    TRY(mr_write_bytes(w, body, len));
out:
    return rc;
}

medreg_err mr_psn_token_key(const uint8_t z[32], uint8_t key[MR_TOKEN_KEY_BYTES])
{
    static const uint8_t zero[16];
    if (sodium_is_zero(z, 32)) /* a low-order peer key */
        return MEDREG_ERR_CRYPTO;
    return crypto_core_hsalsa20(key, zero, z, NULL) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
}

medreg_err mr_psn_token_seal(const mr_psn_token *t, mr_key25519 *signer, const uint8_t key[MR_TOKEN_KEY_BYTES],
                             char **out)
{
    medreg_err rc = MEDREG_OK;
    mr_writer body, msg;
    uint8_t *sealed = NULL;
    size_t sealed_len;

    *out = NULL;
    mr_writer_init(&body, BODY_MAX + crypto_sign_BYTES);
    mr_writer_init(&msg, BODY_MAX + sizeof SIG_TAG);
    TRY(encode_body(t, &body));
    TRY(sign_input(body.p, body.len, &msg));
    uint8_t sig[crypto_sign_BYTES];
    TRY(mr_key25519_sign(signer, msg.p, msg.len, sig));
    TRY(mr_write_bytes(&body, sig, sizeof sig));
    sealed_len = crypto_box_NONCEBYTES + body.len + crypto_box_MACBYTES;
    sealed = malloc(sealed_len);
    ENSURE(sealed != NULL, MEDREG_ERR_NOMEM);
    randombytes_buf(sealed, crypto_box_NONCEBYTES);
    ENSURE(crypto_box_easy_afternm(sealed + crypto_box_NONCEBYTES, body.p, body.len, sealed, key) == 0,
           MEDREG_ERR_CRYPTO);
    size_t b64_len = sodium_base64_ENCODED_LEN(sealed_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *out = malloc(b64_len);
    ENSURE(*out != NULL, MEDREG_ERR_NOMEM);
    sodium_bin2base64(*out, b64_len, sealed, sealed_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
out:
    free(sealed);
    mr_writer_free(&body);
    mr_writer_free(&msg);
    return rc;
}

static int printable_name(const uint8_t *p, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return 0;
    return 1;
}

medreg_err mr_psn_token_open(const char *token, const uint8_t key[MR_TOKEN_KEY_BYTES],
                             const uint8_t identity_pk[crypto_sign_PUBLICKEYBYTES], mr_psn_token *out)
{
    medreg_err rc = MEDREG_ERR_VERIFY;
    uint8_t sealed[MR_TOKEN_MAX_CHARS];
    uint8_t plain[MR_TOKEN_MAX_CHARS];
    size_t sealed_len = 0, plain_len;
    mr_writer msg;
    mr_reader r;
    const uint8_t *s;
    size_t n;
    uint8_t magic[4];

    memset(out, 0, sizeof *out);
    mr_writer_init(&msg, BODY_MAX + sizeof SIG_TAG);
    ENSURE(token != NULL && strlen(token) < MR_TOKEN_MAX_CHARS, MEDREG_ERR_VERIFY);
    ENSURE(sodium_base642bin(sealed, sizeof sealed, token, strlen(token), NULL, &sealed_len, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0,
           MEDREG_ERR_VERIFY);
    ENSURE(sealed_len > crypto_box_NONCEBYTES + crypto_box_MACBYTES + crypto_sign_BYTES, MEDREG_ERR_VERIFY);
    plain_len = sealed_len - crypto_box_NONCEBYTES - crypto_box_MACBYTES;
    ENSURE(crypto_box_open_easy_afternm(plain, sealed + crypto_box_NONCEBYTES,
                                        sealed_len - crypto_box_NONCEBYTES, sealed, key) == 0,
           MEDREG_ERR_VERIFY);
    size_t body_len = plain_len - crypto_sign_BYTES;
    TRY(sign_input(plain, body_len, &msg));
    ENSURE(crypto_sign_verify_detached(plain + body_len, msg.p, msg.len, identity_pk) == 0,
           MEDREG_ERR_VERIFY);
    /* authentic from here on; still parse strictly */
    r = mr_reader_of(plain, body_len);
    ENSURE(mr_read_bytes(&r, magic, 4) == MEDREG_OK && memcmp(magic, MAGIC, 4) == 0, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_lp(&r, MR_NAME_MAX, &s, &n) == MEDREG_OK && printable_name(s, n, MR_NAME_MAX),
           MEDREG_ERR_VERIFY);
    memcpy(out->module, s, n);
    ENSURE(mr_read_lp(&r, MEDREG_INTERNAL_ID_LEN, &s, &n) == MEDREG_OK &&
               printable_name(s, n, MEDREG_INTERNAL_ID_LEN),
           MEDREG_ERR_VERIFY);
    memcpy(out->internal_id, s, n);
    ENSURE(mr_read_bytes(&r, out->physician, MR_FPR_BYTES) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_u32(&r, &out->key_id) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_bytes(&r, out->psn, MEDREG_PSN_BYTES) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_u64(&r, &out->issued_at) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_u64(&r, &out->expires_at) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_bytes(&r, out->nonce, MR_TOKEN_NONCE_BYTES) == MEDREG_OK, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_end(&r) == MEDREG_OK, MEDREG_ERR_VERIFY);
    rc = MEDREG_OK;
out:
    mr_wipe(plain, sizeof plain);
    mr_writer_free(&msg);
    if (rc != MEDREG_OK) {
        mr_wipe(out, sizeof *out);
        rc = MEDREG_ERR_VERIFY; /* no oracle: every failure looks the same */
    }
    return rc;
}
