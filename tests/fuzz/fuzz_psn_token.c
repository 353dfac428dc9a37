/* libFuzzer: PSN token parsing (untrusted tokens forwarded by physicians).
 * Inputs are sealed to a fixed key so the parser behind the AEAD is reached
 * too: the first byte chooses between opening the raw input and sealing it. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/crypto/psn_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t box_pk[32], box_sk[32], sign_pk[32], sign_sk[64];
    static int init;
    mr_psn_token t;
    if (!init) {
        if (sodium_init() < 0)
            abort();
        uint8_t seed[32] = {1};
        crypto_box_seed_keypair(box_pk, box_sk, seed);
        crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
        init = 1;
    }
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = 0;
    (void)mr_psn_token_open(s, box_sk, box_pk, sign_pk, &t);
    /* a structurally arbitrary body, validly sealed and signed */
    if (size > 0 && size < 1024) {
        uint8_t msg[2048], sealed[2048 + crypto_box_SEALBYTES];
        static const char tag[] = "medreg/psn-token/v1";
        memcpy(msg, tag, sizeof tag - 1);
        memcpy(msg + sizeof tag - 1, data, size);
        uint8_t body[2048];
        memcpy(body, data, size);
        crypto_sign_detached(body + size, NULL, msg, sizeof tag - 1 + size, sign_sk);
        crypto_box_seal(sealed, body, size + 64, box_pk);
        char b64[4200];
        sodium_bin2base64(b64, sizeof b64, sealed, size + 64 + crypto_box_SEALBYTES,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        (void)mr_psn_token_open(b64, box_sk, box_pk, sign_pk, &t);
    }
    free(s);
    return 0;
}
