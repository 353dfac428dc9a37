/* RFC 9497 OPRF/VOPRF with ristretto255-SHA512: the RFC's own test vectors
 * (Appendix A.1.1 OPRF mode, A.1.2 VOPRF mode, including the batch of two),
 * RFC 9380 K.3's expand_message_xmd(SHA-512) vectors, and the attacks a
 * client must catch: a server that evaluates with another key, swaps two
 * evaluations, or sends the identity or a non-canonical element (the top
 * bit set included). */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/crypto/oprf.h"

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    if (sodium_hex2bin(out, max, h, strlen(h), NULL, &n, NULL) != 0)
        return (size_t)-1;
    return n;
}

static int eq_hex(const uint8_t *got, size_t n, const char *want)
{
    uint8_t w[256];
    size_t wn = unhex(want, w, sizeof w);
    return wn == n && memcmp(got, w, n) == 0;
}

static const char SEED[] = "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3";
static const char KEY_INFO[] = "74657374206b6579"; /* "test key" */
static const char BLIND1[] = "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706";
static const char BLIND2[] = "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e";
static const char INPUT2[] = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

static void test_expand_xmd(void)
{
    static const uint8_t dst[] = "QUUX-V01-CS02-with-expander-SHA512-256";
    uint8_t out[128];
    CHECK(mr_oprf_expand_xmd((const uint8_t *)"", 0, dst, sizeof dst - 1, out, 32) == MEDREG_OK);
    CHECK(eq_hex(out, 32, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"));
    CHECK(mr_oprf_expand_xmd((const uint8_t *)"abc", 3, dst, sizeof dst - 1, out, 32) == MEDREG_OK);
    CHECK(eq_hex(out, 32, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"));
    CHECK(mr_oprf_expand_xmd((const uint8_t *)"abcdef0123456789", 16, dst, sizeof dst - 1, out, 32) == MEDREG_OK);
    CHECK(eq_hex(out, 32, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"));
    CHECK(mr_oprf_expand_xmd((const uint8_t *)"", 0, dst, sizeof dst - 1, out, 128) == MEDREG_OK);
    CHECK(eq_hex(out, 128,
                 "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921b052b62eaed99b46f72f2ef4cc96bf"
                 "af254ebbbec091e1a3b9e4fb5e5b619d2e0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d1"
                 "3d7eb00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"));
    CHECK(mr_oprf_expand_xmd((const uint8_t *)"", 0, dst, 0, out, 32) == MEDREG_ERR_INVALID);
}

/* A.1.1: OPRF mode, two single-element vectors */
static void test_oprf_mode(void)
{
    uint8_t seed[32], info[8], sk[32], pk[32], blind[32], b[32], bl[32], ev[1][32], out[64], in2[17];
    CHECK(unhex(SEED, seed, sizeof seed) == 32 && unhex(KEY_INFO, info, sizeof info) == 8);
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_BASE, seed, 32, info, 8, sk, pk) == MEDREG_OK);
    CHECK(eq_hex(sk, 32, "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e"));
    CHECK(unhex(BLIND1, b, sizeof b) == 32);

    static const uint8_t in1[1] = {0};
    CHECK(mr_oprf_blind(MR_OPRF_MODE_BASE, in1, 1, b, blind, bl) == MEDREG_OK);
    CHECK(eq_hex(bl, 32, "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c"));
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_BASE, sk, NULL, (const uint8_t(*)[32])bl, 1, ev, NULL, NULL, NULL) ==
          MEDREG_OK);
    CHECK(eq_hex(ev[0], 32, "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e"));
    CHECK(mr_oprf_finalize(in1, 1, blind, ev[0], out) == MEDREG_OK);
    CHECK(eq_hex(out, 64,
                 "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3ab9135e3bd69955851de4b1f9fe8a0"
                 "973396719b7912ba9ee8aa7d0b5e24bcf6"));

    CHECK(unhex(INPUT2, in2, sizeof in2) == 17);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_BASE, in2, 17, b, blind, bl) == MEDREG_OK);
    CHECK(eq_hex(bl, 32, "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418"));
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_BASE, sk, NULL, (const uint8_t(*)[32])bl, 1, ev, NULL, NULL, NULL) ==
          MEDREG_OK);
    CHECK(eq_hex(ev[0], 32, "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25"));
    CHECK(mr_oprf_finalize(in2, 17, blind, ev[0], out) == MEDREG_OK);
    CHECK(eq_hex(out, 64,
                 "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4f2a6413a6bf6fa5e19ba6348eb6739"
                 "34a722a7ede2e7621306d18951e7cf2c73"));
}

static const char VO_OUT1[] = "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d852769391413"
                              "9caee5bd03903af43a491351d23b430948dd50cde10d32b3c";
static const char VO_OUT2[] = "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f2"
                              "7afdd84f47719e480906d27ecd994985890e5f539e7ea74b6";

/* A.1.2: VOPRF mode, vectors 1 and 2 (batch of one) and 3 (batch of two) */
static void test_voprf_mode(void)
{
    uint8_t seed[32], info[8], sk[32], pk[32], b1[32], b2[32], pr[32], in2[17];
    uint8_t blind[2][32], bl[2][32], ev[2][32], proof[64], out[64];
    static const uint8_t in1[1] = {0};

    CHECK(unhex(SEED, seed, sizeof seed) == 32 && unhex(KEY_INFO, info, sizeof info) == 8);
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, info, 8, sk, pk) == MEDREG_OK);
    CHECK(eq_hex(sk, 32, "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909"));
    CHECK(eq_hex(pk, 32, "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e"));
    CHECK(unhex(BLIND1, b1, 32) == 32 && unhex(BLIND2, b2, 32) == 32 && unhex(INPUT2, in2, 17) == 17);

    /* vector 1 */
    CHECK(unhex("222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e", pr, 32) == 32);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, in1, 1, b1, blind[0], bl[0]) == MEDREG_OK);
    CHECK(eq_hex(bl[0], 32, "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945"));
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 1, ev, pr, proof, NULL) ==
          MEDREG_OK);
    CHECK(eq_hex(ev[0], 32, "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"));
    CHECK(eq_hex(proof, 64,
                 "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d4346421d17bf5117a2a1ff0fcb2a"
                 "759f58a539dfbe857a40bce4cf49ec600d"));
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 1, proof) == MEDREG_OK);
    CHECK(mr_oprf_finalize(in1, 1, blind[0], ev[0], out) == MEDREG_OK);
    CHECK(eq_hex(out, 64, VO_OUT1));

    /* vector 2 */
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, in2, 17, b1, blind[0], bl[0]) == MEDREG_OK);
    CHECK(eq_hex(bl[0], 32, "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c"));
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 1, ev, pr, proof, NULL) ==
          MEDREG_OK);
    CHECK(eq_hex(ev[0], 32, "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468"));
    CHECK(eq_hex(proof, 64,
                 "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a67154fabf031fd936051dec80b0b6a"
                 "e29c9503493dde7393b722eafdf5a50b02"));
    CHECK(mr_oprf_finalize(in2, 17, blind[0], ev[0], out) == MEDREG_OK);
    CHECK(eq_hex(out, 64, VO_OUT2));

    /* vector 3: a batch of two under one proof */
    CHECK(unhex("419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c", pr, 32) == 32);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, in1, 1, b1, blind[0], bl[0]) == MEDREG_OK);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, in2, 17, b2, blind[1], bl[1]) == MEDREG_OK);
    CHECK(eq_hex(bl[1], 32, "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654"));
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 2, ev, pr, proof, NULL) ==
          MEDREG_OK);
    CHECK(eq_hex(ev[0], 32, "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"));
    CHECK(eq_hex(ev[1], 32, "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a"));
    CHECK(eq_hex(proof, 64,
                 "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a5ab5337c8eb4ceae0494c2cf89529d"
                 "cf94572ed267473d567aeed6ab873dee08"));
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 2, proof) == MEDREG_OK);
    CHECK(mr_oprf_finalize(in1, 1, blind[0], ev[0], out) == MEDREG_OK && eq_hex(out, 64, VO_OUT1));
    CHECK(mr_oprf_finalize(in2, 17, blind[1], ev[1], out) == MEDREG_OK && eq_hex(out, 64, VO_OUT2));
    /* the same two in two steps, with one inversion for both blinds */
    uint8_t outs[2][64], nn[2][32];
    mr_oprf_unblind two[2] = {{blind[0], ev[0], nn[0]}, {blind[1], ev[1], nn[1]}};
    CHECK(mr_oprf_unblind_many(two, 2) == MEDREG_OK);
    CHECK(mr_oprf_finalize_unblinded(in1, 1, nn[0], outs[0]) == MEDREG_OK && eq_hex(outs[0], 64, VO_OUT1));
    CHECK(mr_oprf_finalize_unblinded(in2, 17, nn[1], outs[1]) == MEDREG_OK && eq_hex(outs[1], 64, VO_OUT2));

    /* attacks a verifying client must catch */
    uint8_t sw[2][32], p2[64];
    memcpy(sw[0], ev[1], 32);
    memcpy(sw[1], ev[0], 32);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])sw, 2, proof) == MEDREG_ERR_VERIFY);
    memcpy(p2, proof, 64);
    p2[5] ^= 1;
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 2, p2) == MEDREG_ERR_VERIFY);
    memset(p2 + 32, 0xff, 32); /* non-canonical s */
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev, 2, p2) == MEDREG_ERR_VERIFY);
    /* another key (a server singling this client out) with a valid proof for that key */
    uint8_t sk2[32], pk2[32], ev2[2][32], proof2[64];
    seed[0] ^= 1;
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, info, 8, sk2, pk2) == MEDREG_OK);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk2, pk2, (const uint8_t(*)[32])bl, 2, ev2, NULL, proof2,
                           NULL) == MEDREG_OK);
    CHECK(mr_oprf_verify(pk2, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev2, 2, proof2) == MEDREG_OK);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev2, 2, proof2) == MEDREG_ERR_VERIFY);
    /* a mixed batch: one element with the pinned key, one with another */
    memcpy(ev2[0], ev[0], 32);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])ev2, 2, proof) == MEDREG_ERR_VERIFY);
    /* the identity and junk are refused on both sides */
    uint8_t zero[1][32] = {{0}}, junk[1][32];
    memset(junk[0], 0xff, 32);
    size_t bad = 99;
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])zero, 1, ev, NULL, proof, &bad) ==
              MEDREG_ERR_INVALID &&
          bad == 0);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_BASE, sk, NULL, (const uint8_t(*)[32])junk, 1, ev, NULL, NULL, NULL) ==
          MEDREG_ERR_INVALID);
    CHECK(mr_oprf_finalize(in1, 1, blind[0], zero[0], out) == MEDREG_ERR_VERIFY);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])bl, (const uint8_t(*)[32])zero, 1, proof) == MEDREG_ERR_VERIFY);
    /* a valid element with bit 255 set: a second encoding of it that RFC 9496
     * refuses and libsodium 1.0.18 accepts (this case found by fuzz_oprf) */
    uint8_t high[2][32];
    memcpy(high, bl, sizeof high);
    high[1][31] |= 0x80;
    bad = 99;
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])high, 2, ev2, NULL, proof2, &bad) ==
              MEDREG_ERR_INVALID &&
          bad == 1);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])high, (const uint8_t(*)[32])ev, 2, proof) == MEDREG_ERR_VERIFY);
    memcpy(high[0], ev[0], 32);
    high[0][31] |= 0x80;
    CHECK(mr_oprf_finalize(in1, 1, blind[0], high[0], out) == MEDREG_ERR_VERIFY);

    /* a random round trip: the output does not depend on the blind */
    uint8_t o1[64], o2[64], rb[2][32], rbl[2][32];
    static const uint8_t msg[] = "medreg";
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, msg, 6, NULL, rb[0], rbl[0]) == MEDREG_OK);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, msg, 6, NULL, rb[1], rbl[1]) == MEDREG_OK);
    CHECK(memcmp(rbl[0], rbl[1], 32) != 0);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])rbl, 2, ev, NULL, proof, NULL) ==
          MEDREG_OK);
    CHECK(mr_oprf_verify(pk, (const uint8_t(*)[32])rbl, (const uint8_t(*)[32])ev, 2, proof) == MEDREG_OK);
    CHECK(mr_oprf_finalize(msg, 6, rb[0], ev[0], o1) == MEDREG_OK);
    CHECK(mr_oprf_finalize(msg, 6, rb[1], ev[1], o2) == MEDREG_OK);
    CHECK(memcmp(o1, o2, 64) == 0);
}

/* mr_oprf_unblind_many then mr_oprf_finalize_unblinded give what one
 * mr_oprf_finalize each gives, across its chunks, and refuse what finalize
 * refuses */
static void test_unblind_many(void)
{
    enum { N = 1500 };
    static uint8_t in[N][8], blind[N][32], ev[N][32], nn[N][32], one[N][64], two[N][64];
    static mr_oprf_unblind it[N];
    int same = 1;
    for (size_t i = 0; i < N; i++) {
        randombytes_buf(in[i], sizeof in[i]);
        crypto_core_ristretto255_scalar_random(blind[i]);
        crypto_core_ristretto255_random(ev[i]);
        it[i] = (mr_oprf_unblind){blind[i], ev[i], nn[i]};
        same &= mr_oprf_finalize(in[i], 1 + i % 8, blind[i], ev[i], one[i]) == MEDREG_OK;
    }
    CHECK(same);
    CHECK(mr_oprf_unblind_many(it, N) == MEDREG_OK);
    for (size_t i = 0; i < N; i++)
        same &= mr_oprf_finalize_unblinded(in[i], 1 + i % 8, nn[i], two[i]) == MEDREG_OK;
    CHECK(same && memcmp(one, two, sizeof one) == 0);
    memset(nn, 0, sizeof nn);
    CHECK(mr_oprf_unblind_many(it, 1) == MEDREG_OK &&
          mr_oprf_finalize_unblinded(in[0], 1, nn[0], two[0]) == MEDREG_OK && memcmp(one[0], two[0], 64) == 0);
    CHECK(mr_oprf_unblind_many(NULL, 0) == MEDREG_OK);
    CHECK(mr_oprf_finalize_unblinded(NULL, 1, nn[0], two[0]) == MEDREG_ERR_INVALID);
    CHECK(mr_oprf_finalize_unblinded(in[0], MR_OPRF_INPUT_MAX + 1, nn[0], two[0]) == MEDREG_ERR_INVALID);
    memset(ev[1200], 0, 32); /* the identity, in the second chunk */
    CHECK(mr_oprf_unblind_many(it, N) == MEDREG_ERR_VERIFY);
    crypto_core_ristretto255_random(ev[1200]);
    memset(blind[7], 0, 32); /* a zero blind: the product has no inverse */
    CHECK(mr_oprf_unblind_many(it, N) == MEDREG_ERR_CRYPTO);
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    test_expand_xmd();
    test_oprf_mode();
    test_voprf_mode();
    test_unblind_many();
    return TEST_DONE();
}
