#include "presence_pass.h"

#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/secret.h"

static const uint8_t MAGIC[4] = {'M', 'R', 'P', '1'};
static const char KEY_TAG[] = "medreg/presence-pass/v1";
#define BODY_MAX 256

static void pass_key(const uint8_t k[MR_TOKEN_KEY_BYTES], uint8_t out[crypto_secretbox_KEYBYTES])
{
    crypto_generichash(out, crypto_secretbox_KEYBYTES, (const uint8_t *)KEY_TAG, sizeof KEY_TAG - 1, k,
                       MR_TOKEN_KEY_BYTES);
}

medreg_err mr_pass_seal(const mr_presence_pass *p, const uint8_t k[MR_TOKEN_KEY_BYTES], char **out)
{
    medreg_err rc = MEDREG_OK;
    mr_writer w;
    uint8_t key[crypto_secretbox_KEYBYTES], *sealed = NULL;
    *out = NULL;
    mr_writer_init(&w, BODY_MAX);
    TRY(mr_write_bytes(&w, MAGIC, sizeof MAGIC));
    TRY(mr_write_lp(&w, p->module, strlen(p->module)));
    TRY(mr_write_u32(&w, p->key_id));
    TRY(mr_write_bytes(&w, p->psn, sizeof p->psn));
    TRY(mr_write_bytes(&w, p->physician, sizeof p->physician));
    TRY(mr_write_u64(&w, p->expires_at));
    TRY(mr_write_bytes(&w, p->nonce, sizeof p->nonce));
    size_t sl = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + w.len;
    ENSURE((sealed = malloc(sl)) != NULL, MEDREG_ERR_NOMEM);
    randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
    pass_key(k, key);
    crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, w.p, w.len, sealed, key);
    size_t bl = sodium_base64_ENCODED_LEN(sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    ENSURE((*out = malloc(bl)) != NULL, MEDREG_ERR_NOMEM);
    sodium_bin2base64(*out, bl, sealed, sl, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
out:
    mr_wipe(key, sizeof key);
    free(sealed);
    mr_writer_free(&w);
    return rc;
}

medreg_err mr_pass_open(const char *pass, const uint8_t k[MR_TOKEN_KEY_BYTES], mr_presence_pass *out)
{
    medreg_err rc = MEDREG_ERR_VERIFY;
    uint8_t sealed[MR_PASS_MAX_CHARS], plain[MR_PASS_MAX_CHARS], key[crypto_secretbox_KEYBYTES], magic[4];
    size_t sl = 0, n = 0;
    const uint8_t *s = NULL;
    memset(out, 0, sizeof *out);
    ENSURE(pass != NULL && strlen(pass) < MR_PASS_MAX_CHARS, MEDREG_ERR_VERIFY);
    ENSURE(sodium_base642bin(sealed, sizeof sealed, pass, strlen(pass), NULL, &sl, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
               sl > crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES,
           MEDREG_ERR_VERIFY);
    pass_key(k, key);
    size_t pl = sl - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    ENSURE(crypto_secretbox_open_easy(plain, sealed + crypto_secretbox_NONCEBYTES, sl - crypto_secretbox_NONCEBYTES,
                                      sealed, key) == 0,
           MEDREG_ERR_VERIFY);
    mr_reader r = mr_reader_of(plain, pl);
    ENSURE(mr_read_bytes(&r, magic, 4) == MEDREG_OK && memcmp(magic, MAGIC, 4) == 0, MEDREG_ERR_VERIFY);
    ENSURE(mr_read_lp(&r, MR_NAME_MAX, &s, &n) == MEDREG_OK && n > 0, MEDREG_ERR_VERIFY);
    for (size_t i = 0; i < n; i++)
        ENSURE(s[i] > 0x20 && s[i] < 0x7f, MEDREG_ERR_VERIFY);
    memcpy(out->module, s, n);
    ENSURE(mr_read_u32(&r, &out->key_id) == MEDREG_OK && mr_read_bytes(&r, out->psn, sizeof out->psn) == MEDREG_OK &&
               mr_read_bytes(&r, out->physician, sizeof out->physician) == MEDREG_OK &&
               mr_read_u64(&r, &out->expires_at) == MEDREG_OK &&
               mr_read_bytes(&r, out->nonce, sizeof out->nonce) == MEDREG_OK && mr_read_end(&r) == MEDREG_OK,
           MEDREG_ERR_VERIFY);
    rc = MEDREG_OK;
out:
    mr_wipe(key, sizeof key);
    mr_wipe(plain, sizeof plain);
    if (rc != MEDREG_OK)
        memset(out, 0, sizeof *out);
    return rc;
}
