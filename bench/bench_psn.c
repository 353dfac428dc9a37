/* PSN derivations per second next to raw HMAC-SHA256 of the same bytes by
 * OpenSSL (the named baseline): the derivation should cost at most 2x. */
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "latency.h"
#include "medreg/pseudonym.h"

int main(void)
{
    uint8_t key[32] = {7}, psn[32];
    medreg_psn_field f[3] = {{"family_name", "muller"}, {"given_name", "jurgen"}, {"birth_date", "1961-03-07"}};
    /* the exact bytes the PSN MACs (docs/pseudonyms.md) */
    uint8_t msg[256];
    size_t n = 0;
    const char *tag = "medreg/psn/v1";
    memcpy(msg, tag, strlen(tag));
    n = strlen(tag);
#define U32(v) do { msg[n++] = (uint8_t)((v) >> 24); msg[n++] = (uint8_t)((v) >> 16); msg[n++] = (uint8_t)((v) >> 8); msg[n++] = (uint8_t)(v); } while (0)
#define LP(s) do { size_t l_ = strlen(s); U32(l_); memcpy(msg + n, s, l_); n += l_; } while (0)
    U32(1);
    LP("hip");
    U32(3);
    for (int i = 0; i < 3; i++) {
        LP(f[i].name);
        LP(f[i].value);
    }
    const long iters = 300000;
    unsigned int len;
    double t0 = lat_now();
    for (long i = 0; i < iters; i++)
        HMAC(EVP_sha256(), key, 32, msg, n, psn, &len);
    double hmac_rate = (double)iters / (lat_now() - t0);
    t0 = lat_now();
    for (long i = 0; i < iters; i++)
        if (medreg_psn_derive(key, 1, "hip", f, 3, psn) != MEDREG_OK)
            return 1;
    double psn_rate = (double)iters / (lat_now() - t0);
    printf("%.0f %.0f\n", psn_rate, hmac_rate);
    return 0;
}
