/* The multi-scalar sum against libsodium's own arithmetic: for batch sizes
 * on both sides of every window width and of the chunk boundary, scalars at
 * the edges of the recoding (0, 1, L-1, 2^255-1, every bit set), sums that
 * cancel to the identity, and the points it must refuse. */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/crypto/ristretto_msm.h"

/* Σ s_i·P_i the slow way: libsodium multiplies (reducing s_i mod L first,
 * as the sum must) and adds the encodings. */
static void reference(const uint8_t (*p)[32], const uint8_t (*s)[32], size_t n, uint8_t out[32])
{
    int have = 0;
    memset(out, 0, 32);
    for (size_t i = 0; i < n; i++) {
        uint8_t wide[64] = {0}, r[32], t[32];
        memcpy(wide, s[i], 32);
        crypto_core_ristretto255_scalar_reduce(r, wide);
        if (crypto_scalarmult_ristretto255(t, r, p[i]) != 0)
            continue; /* r == 0: the identity adds nothing */
        if (!have)
            memcpy(out, t, 32);
        else if (crypto_core_ristretto255_add(out, out, t) != 0)
            memset(out, 0, 32); /* libsodium's add cannot fail; keep the compiler honest */
        have = 1;
    }
}

static void fill_edge_scalar(uint8_t s[32], size_t i)
{
    static const uint8_t l_minus_1[32] = {0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                          0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                          0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
    memset(s, 0, 32);
    switch (i % 7) {
    case 0: crypto_core_ristretto255_scalar_random(s); break;
    case 1: s[0] = 1; break;
    case 2: break; /* zero */
    case 3: memcpy(s, l_minus_1, 32); break;
    case 4: memset(s, 0xff, 32); s[31] = 0x7f; break; /* 2^255 - 1, above L */
    case 5: memset(s, 0xff, 32); break;              /* every bit: the top carry */
    default: crypto_core_ristretto255_scalar_random(s); s[31] |= 0x0f; break;
    }
}

static int agrees(size_t n, int edges)
{
    uint8_t(*p)[32] = malloc(n * 32), (*s)[32] = malloc(n * 32), got[32], want[32];
    int ok = p != NULL && s != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        crypto_core_ristretto255_random(p[i]);
        if (edges)
            fill_edge_scalar(s[i], i);
        else
            crypto_core_ristretto255_scalar_random(s[i]);
    }
    if (ok) {
        reference((const uint8_t(*)[32])p, (const uint8_t(*)[32])s, n, want);
        ok = mr_ristretto_msm((const uint8_t(*)[32])p, (const uint8_t(*)[32])s, n, got, NULL) == MEDREG_OK &&
             memcmp(got, want, 32) == 0;
    }
    if (!ok)
        fprintf(stderr, "  n=%zu edges=%d disagrees\n", n, edges);
    free(p);
    free(s);
    return ok;
}

static void test_sizes(void)
{
    static const size_t sizes[] = {1, 2, 3, 5, 8, 17, 64, 100, 255, 1024, 4095, 4096, 4097, 9000};
    for (size_t i = 0; i < MR_ARRAY_LEN(sizes); i++) {
        CHECK(agrees(sizes[i], 0));
        CHECK(agrees(sizes[i], 1));
    }
}

/* s·P + (L-s)·P is the identity: all-zero encoding, not an error */
static void test_cancels(void)
{
    uint8_t p[2][32], s[2][32], out[32], zero[32] = {0};
    crypto_core_ristretto255_random(p[0]);
    memcpy(p[1], p[0], 32);
    crypto_core_ristretto255_scalar_random(s[0]);
    crypto_core_ristretto255_scalar_negate(s[1], s[0]);
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])p, (const uint8_t(*)[32])s, 2, out, NULL) == MEDREG_OK);
    CHECK(memcmp(out, zero, 32) == 0);
    memset(s, 0, sizeof s);
    memset(out, 0xaa, sizeof out);
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])p, (const uint8_t(*)[32])s, 2, out, NULL) == MEDREG_OK);
    CHECK(memcmp(out, zero, 32) == 0);
}

static void test_refuses(void)
{
    static uint8_t pts[5000][32], s[5000][32];
    uint8_t out[32];
    size_t bad = 0;
    for (size_t i = 0; i < 5000; i++) {
        crypto_core_ristretto255_random(pts[i]);
        crypto_core_ristretto255_scalar_random(s[i]);
    }
    memset(pts[3], 0, 32); /* the identity */
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])pts, (const uint8_t(*)[32])s, 5000, out, &bad) ==
          MEDREG_ERR_INVALID);
    CHECK(bad == 3);
    crypto_core_ristretto255_random(pts[3]);
    pts[4500][0] |= 1; /* an odd encoding is never canonical */
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])pts, (const uint8_t(*)[32])s, 5000, out, &bad) ==
          MEDREG_ERR_INVALID);
    CHECK(bad == 4500); /* in the second chunk */
    memset(pts[4500], 0xff, 32); /* not a field element */
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])pts, (const uint8_t(*)[32])s, 5000, out, NULL) ==
          MEDREG_ERR_INVALID);
    CHECK(mr_ristretto_msm((const uint8_t(*)[32])pts, (const uint8_t(*)[32])s, 0, out, NULL) == MEDREG_ERR_INVALID);
    CHECK(mr_ristretto_msm(NULL, (const uint8_t(*)[32])s, 1, out, NULL) == MEDREG_ERR_INVALID);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_sizes();
    test_cancels();
    test_refuses();
    return TEST_DONE();
}
