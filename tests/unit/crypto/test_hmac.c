/* HMAC-SHA256 with a reusable keyed context, against RFC 4231's test
 * vectors (cases 1, 2 and 6: a short key, a key shorter than the output,
 * a key longer than a block), and against the one-shot libsodium path for
 * many message lengths on one context: every reuse must start clean. */
#include <sodium.h>

#include "../check.h"
#include "../../../src/crypto/hmac.h"

static void hex(const uint8_t *p, char out[65]) { sodium_bin2hex(out, 65, p, 32); }

static void vector(const uint8_t *key, size_t key_len, const char *msg, const char *expect)
{
    mr_hmac *h = NULL;
    uint8_t mac[32];
    char got[65];
    /* the message in two parts: the split must not matter */
    size_t half = strlen(msg) / 2;
    const mr_hmac_part parts[] = {{msg, half}, {msg + half, strlen(msg) - half}};
    CHECK(mr_hmac_new(key, key_len, &h) == MEDREG_OK);
    for (int round = 0; round < 2; round++) { /* and the second use gives the first's MAC */
        memset(mac, 0, sizeof mac);
        CHECK(h && mr_hmac_parts(h, parts, 2, mac) == MEDREG_OK);
        hex(mac, got);
        CHECK_STR(got, expect);
    }
    memset(mac, 0, sizeof mac);
    CHECK(mr_hmac_once(key, key_len, parts, 2, mac) == MEDREG_OK);
    hex(mac, got);
    CHECK_STR(got, expect);
    mr_hmac_free(h);
}

int main(void)
{
    uint8_t k1[20], k6[131], key[32], msg[300], a[32], b[32];
    CHECK(sodium_init() >= 0);
    memset(k1, 0x0b, sizeof k1);
    memset(k6, 0xaa, sizeof k6);
    vector(k1, sizeof k1, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    vector((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    vector(k6, sizeof k6, "Test Using Larger Than Block-Size Key - Hash Key First",
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

    mr_hmac *h = NULL;
    randombytes_buf(key, sizeof key);
    randombytes_buf(msg, sizeof msg);
    CHECK(mr_hmac_new(key, sizeof key, &h) == MEDREG_OK);
    int differ = 0;
    for (size_t len = 0; h && len <= sizeof msg; len++) {
        const mr_hmac_part part = {msg, len};
        CHECK(mr_hmac_parts(h, &part, 1, a) == MEDREG_OK);
        CHECK(mr_hmac_once(key, sizeof key, &part, 1, b) == MEDREG_OK);
        differ += memcmp(a, b, 32) != 0;
    }
    CHECK(differ == 0);
    mr_hmac_free(h);
    mr_hmac_free(NULL);
    CHECK(mr_hmac_new(NULL, 32, &h) == MEDREG_ERR_INVALID && h == NULL);
    CHECK(mr_hmac_new(key, 0, &h) == MEDREG_ERR_INVALID && h == NULL);
    return TEST_DONE();
}
