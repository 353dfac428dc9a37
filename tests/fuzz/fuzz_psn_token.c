/* libFuzzer: PSN token and presence pass parsing (untrusted strings
 * forwarded by physicians). Each input is opened as it is, and also boxed
 * (and for a token signed) with fixed keys as an arbitrary body, so the
 * parser behind the AEAD and signature is reached. A pass that opens must
 * seal and open again to the same fields. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/crypto/presence_pass.h"
#include "../../src/crypto/psn_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t box_pk[32], box_sk[32], sign_pk[32], sign_sk[64], key[MR_TOKEN_KEY_BYTES];
    static int init;
    mr_psn_token t;
    if (!init) {
        if (sodium_init() < 0)
            abort();
        uint8_t seed[32] = {1};
        crypto_box_seed_keypair(box_pk, box_sk, seed);
        crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
        uint8_t xpk[32], z[32];
        if (crypto_sign_ed25519_pk_to_curve25519(xpk, sign_pk) != 0 || crypto_scalarmult(z, box_sk, xpk) != 0 ||
            mr_psn_token_key(z, key) != MEDREG_OK)
            abort();
        init = 1;
    }
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    (void)mr_psn_token_open(s, key, sign_pk, &t);
    /* a structurally arbitrary body, validly sealed and signed */
    if (size > 0 && size < 1024) {
        uint8_t msg[2048], sealed[crypto_box_NONCEBYTES + 2048 + crypto_box_MACBYTES];
        static const char tag[] = "medreg/psn-token/v1";
        memcpy(msg, tag, sizeof tag - 1);
        memcpy(msg + sizeof tag - 1, data, size);
        uint8_t body[2048];
        memcpy(body, data, size);
        crypto_sign_detached(body + size, NULL, msg, sizeof tag - 1 + size, sign_sk);
        randombytes_buf(sealed, crypto_box_NONCEBYTES);
        crypto_box_easy_afternm(sealed + crypto_box_NONCEBYTES, body, size + 64, sealed, key);
        char b64[4300];
        sodium_bin2base64(b64, sizeof b64, sealed, crypto_box_NONCEBYTES + size + 64 + crypto_box_MACBYTES,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        (void)mr_psn_token_open(b64, key, sign_pk, &t);
    }
    mr_presence_pass pp, again;
    (void)mr_pass_open(s, key, &pp);
    if (size > 0 && size < 400) {
        /* the pass's inner key, as presence_pass.c derives it */
        static const char ktag[] = "medreg/presence-pass/v1";
        uint8_t pk[crypto_secretbox_KEYBYTES], sealed[crypto_secretbox_NONCEBYTES + 400 + crypto_secretbox_MACBYTES];
        char b64[1024], *re = NULL;
        crypto_generichash(pk, sizeof pk, (const uint8_t *)ktag, sizeof ktag - 1, key, MR_TOKEN_KEY_BYTES);
        randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, data, size, sealed, pk);
        sodium_bin2base64(b64, sizeof b64, sealed, crypto_secretbox_NONCEBYTES + size + crypto_secretbox_MACBYTES,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (mr_pass_open(b64, key, &pp) == MEDREG_OK) {
            if (mr_pass_seal(&pp, key, &re) != MEDREG_OK || mr_pass_open(re, key, &again) != MEDREG_OK ||
                memcmp(&pp, &again, sizeof pp) != 0)
                abort(); /* what opens must round-trip */
            free(re);
        }
    }
    free(s);
    return 0;
}
