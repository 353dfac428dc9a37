/* PSN known-answer vectors. The expected values were computed with Python's
 * hmac module from the encoding in docs/pseudonyms.md: an independent second
 * implementation of the same specification. */
#include <sodium.h>

#include "../check.h"
#include "medreg/pseudonym.h"
#include "../../../src/pseudonym/psn_input.h"

static void hex(const uint8_t *p, char out[65]) { sodium_bin2hex(out, 65, p, 32); }

int main(void)
{
    uint8_t key[32], zero[32] = {0}, psn[32], psn2[32];
    char h[65];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    medreg_psn_field f[3] = {{"family_name", "muller"}, {"given_name", "jurgen"}, {"birth_date", "1961-03-07"}};

    CHECK(medreg_psn_derive(key, 1, "hip", f, 3, psn) == MEDREG_OK);
    hex(psn, h);
    CHECK_STR(h, "ed2309ae47367443ddfedb763a50fafd18c315bee9a350c9adeba7a4257a1cd5");
    CHECK(medreg_psn_derive(key, 2, "hip", f, 3, psn) == MEDREG_OK);
    hex(psn, h);
    CHECK_STR(h, "d7a4b618ac1f68dc65d22479138d97eb7ebe2af0fc2f5875bec87385c6e38bdf");
    CHECK(medreg_psn_derive(key, 1, "knee", f, 3, psn) == MEDREG_OK);
    hex(psn, h);
    CHECK_STR(h, "8c84aea977562487ea1cc8b9193ded02d11409d996a2aa2eb296b715b72bdbf1");
    CHECK(medreg_psn_derive(zero, 1, "m", NULL, 0, psn) == MEDREG_OK);
    hex(psn, h);
    CHECK_STR(h, "888cfab1565de55e94a86fc148f79d9f6d944fbd686a8398d886c4175099a9c6");
    /* the module key in a reused HMAC context: the same PSNs */
    mr_hmac *keyed = NULL;
    CHECK(mr_hmac_new(key, sizeof key, &keyed) == MEDREG_OK);
    for (int round = 0; keyed && round < 2; round++) {
        CHECK(mr_psn_derive_mac(keyed, 1, "hip", f, 3, psn) == MEDREG_OK);
        hex(psn, h);
        CHECK_STR(h, "ed2309ae47367443ddfedb763a50fafd18c315bee9a350c9adeba7a4257a1cd5");
        CHECK(mr_psn_derive_mac(keyed, 1, "knee", f, 3, psn) == MEDREG_OK);
        hex(psn, h);
        CHECK_STR(h, "8c84aea977562487ea1cc8b9193ded02d11409d996a2aa2eb296b715b72bdbf1");
    }
    CHECK(mr_psn_derive_mac(NULL, 1, "hip", f, 3, psn) == MEDREG_ERR_INVALID);
    mr_hmac_free(keyed);

    /* length prefixes make the encoding injective */
    medreg_psn_field a[2] = {{"x", "ab"}, {"y", "c"}};
    medreg_psn_field b[2] = {{"x", "a"}, {"y", "bc"}};
    CHECK(medreg_psn_derive(key, 1, "hip", a, 2, psn) == MEDREG_OK);
    CHECK(medreg_psn_derive(key, 1, "hip", b, 2, psn2) == MEDREG_OK);
    CHECK(memcmp(psn, psn2, 32) != 0);
    /* field names are bound too */
    medreg_psn_field c[2] = {{"y", "ab"}, {"x", "c"}};
    CHECK(medreg_psn_derive(key, 1, "hip", c, 2, psn2) == MEDREG_OK);
    CHECK(memcmp(psn, psn2, 32) != 0);
    /* another key, another PSN */
    CHECK(medreg_psn_derive(zero, 1, "hip", f, 3, psn2) == MEDREG_OK);
    CHECK(medreg_psn_derive(key, 1, "hip", f, 3, psn) == MEDREG_OK);
    CHECK(memcmp(psn, psn2, 32) != 0);
    /* bad arguments */
    CHECK(medreg_psn_derive(key, 1, NULL, f, 3, psn) == MEDREG_ERR_INVALID);
    medreg_psn_field bad[1] = {{"x", NULL}};
    CHECK(medreg_psn_derive(key, 1, "hip", bad, 1, psn) == MEDREG_ERR_INVALID);
    return TEST_DONE();
}
