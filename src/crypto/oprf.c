/* RFC 9497 (OPRF, VOPRF) with ristretto255-SHA512 on libsodium (and the
 * proof's sums on libdecaf: ristretto_msm.h).
 *
 * libsodium gives the group (ristretto255 encoding, the one-way map from
 * 64 uniform bytes, scalar arithmetic) and SHA-512; it has no
 * expand_message_xmd (RFC 9380) in the version Debian 12 ships, so that
 * dozen lines is here, checked against RFC 9380's vectors. Every element
 * received is deserialised with the identity rejected (§2.1: an identity
 * element would let a malicious peer learn nothing useful but would break
 * the proof's soundness argument). Secrets (key, blind, proof nonce) live in
 * stack buffers wiped before return. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "oprf.h"
#include "ristretto_msm.h"

#define SUITE "ristretto255-SHA512"
#define CONTEXT_MAX 32 /* "OPRFV1-" ‖ mode ‖ "-" ‖ SUITE = 28 bytes */
#define DST_MAX 64

typedef struct oprf_ctx {
    uint8_t context[CONTEXT_MAX];
    size_t context_len;
} oprf_ctx;

static void ctx_init(oprf_ctx *c, mr_oprf_mode mode)
{
    static const char prefix[] = "OPRFV1-";
    size_t n = sizeof prefix - 1;
    memcpy(c->context, prefix, n);
    c->context[n++] = (uint8_t)mode;
    c->context[n++] = '-';
    memcpy(c->context + n, SUITE, sizeof SUITE - 1);
    c->context_len = n + sizeof SUITE - 1;
}

/* dst = label ‖ contextString */
static size_t ctx_dst(const oprf_ctx *c, const char *label, uint8_t dst[DST_MAX])
{
    size_t n = strlen(label);
    memcpy(dst, label, n);
    memcpy(dst + n, c->context, c->context_len);
    return n + c->context_len;
}

static void put_u16(uint8_t b[2], size_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

medreg_err mr_oprf_expand_xmd(const uint8_t *msg, size_t msg_len, const uint8_t *dst, size_t dst_len,
                              uint8_t *out, size_t out_len)
{
    static const uint8_t z_pad[128]; /* SHA-512 block size */
    crypto_hash_sha512_state st;
    uint8_t b0[crypto_hash_sha512_BYTES], bi[crypto_hash_sha512_BYTES], lib[2], dl, idx;
    size_t ell;

    if (dst == NULL || dst_len == 0 || dst_len > 255 || out == NULL || out_len == 0 ||
        (msg == NULL && msg_len != 0))
        return MEDREG_ERR_INVALID;
    ell = (out_len + crypto_hash_sha512_BYTES - 1) / crypto_hash_sha512_BYTES;
    if (ell > 255 || out_len > 65535)
        return MEDREG_ERR_TOOBIG;
    dl = (uint8_t)dst_len;
    put_u16(lib, out_len);

    /* b_0 = H(Z_pad ‖ msg ‖ I2OSP(len, 2) ‖ 0x00 ‖ DST') */
    idx = 0;
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, z_pad, sizeof z_pad);
    crypto_hash_sha512_update(&st, msg, msg_len);
    crypto_hash_sha512_update(&st, lib, 2);
    crypto_hash_sha512_update(&st, &idx, 1);
    crypto_hash_sha512_update(&st, dst, dst_len);
    crypto_hash_sha512_update(&st, &dl, 1);
    crypto_hash_sha512_final(&st, b0);

    /* b_i = H((b_0 XOR b_{i-1}) ‖ I2OSP(i, 1) ‖ DST'), b_1 with b_0 alone */
    memset(bi, 0, sizeof bi);
    for (size_t i = 1; i <= ell; i++) {
        uint8_t x[crypto_hash_sha512_BYTES];
        for (size_t j = 0; j < sizeof x; j++)
            x[j] = b0[j] ^ bi[j];
        idx = (uint8_t)i;
        crypto_hash_sha512_init(&st);
        crypto_hash_sha512_update(&st, x, sizeof x);
        crypto_hash_sha512_update(&st, &idx, 1);
        crypto_hash_sha512_update(&st, dst, dst_len);
        crypto_hash_sha512_update(&st, &dl, 1);
        crypto_hash_sha512_final(&st, bi);
        size_t off = (i - 1) * crypto_hash_sha512_BYTES;
        size_t take = out_len - off < sizeof bi ? out_len - off : sizeof bi;
        memcpy(out + off, bi, take);
        mr_wipe(x, sizeof x);
    }
    mr_wipe(b0, sizeof b0);
    mr_wipe(bi, sizeof bi);
    mr_wipe(&st, sizeof st);
    return MEDREG_OK;
}

/* HashToScalar with DST = label ‖ contextString over the concatenation of
 * parts (a list ending with a NULL pointer). */
typedef struct part {
    const uint8_t *p;
    size_t n;
} part;

static medreg_err hash_to_scalar(const oprf_ctx *c, const char *label, const part *parts, size_t n_parts,
                                 uint8_t scalar[MR_OPRF_SCALAR_BYTES])
{
    uint8_t dst[DST_MAX], wide[64], *msg = NULL;
    size_t len = 0, off = 0, dlen = ctx_dst(c, label, dst);
    medreg_err rc;
    for (size_t i = 0; i < n_parts; i++)
        len += parts[i].n;
    /* every transcript here is a few hundred bytes at most */
    uint8_t stackbuf[512];
    msg = len <= sizeof stackbuf ? stackbuf : sodium_malloc(len);
    if (msg == NULL)
        return MEDREG_ERR_NOMEM;
    for (size_t i = 0; i < n_parts; i++) {
        if (parts[i].n)
            memcpy(msg + off, parts[i].p, parts[i].n);
        off += parts[i].n;
    }
    rc = mr_oprf_expand_xmd(msg, len, dst, dlen, wide, sizeof wide);
    if (rc == MEDREG_OK)
        crypto_core_ristretto255_scalar_reduce(scalar, wide);
    mr_wipe(wide, sizeof wide);
    mr_wipe(msg, len);
    if (msg != stackbuf)
        sodium_free(msg);
    return rc;
}

static medreg_err hash_to_group(const oprf_ctx *c, const uint8_t *input, size_t input_len,
                                uint8_t element[MR_OPRF_ELEMENT_BYTES])
{
    uint8_t dst[DST_MAX], wide[crypto_core_ristretto255_HASHBYTES];
    size_t dlen = ctx_dst(c, "HashToGroup-", dst);
    medreg_err rc = mr_oprf_expand_xmd(input, input_len, dst, dlen, wide, sizeof wide);
    if (rc == MEDREG_OK && crypto_core_ristretto255_from_hash(element, wide) != 0)
        rc = MEDREG_ERR_CRYPTO;
    mr_wipe(wide, sizeof wide);
    if (rc == MEDREG_OK && sodium_is_zero(element, MR_OPRF_ELEMENT_BYTES))
        rc = MEDREG_ERR_INVALID; /* InvalidInputError: cannot happen but is checked */
    return rc;
}

/* DeserializeElement: canonical and not the identity. RFC 9496 §4.3.1
 * refuses any encoding >= p, so one with the top bit set; libsodium 1.0.18
 * (Debian 12's) ignores that bit and would give two encodings one element,
 * so it is checked here first. */
static int element_ok(const uint8_t e[MR_OPRF_ELEMENT_BYTES])
{
    return (e[MR_OPRF_ELEMENT_BYTES - 1] & 0x80) == 0 && crypto_core_ristretto255_is_valid_point(e) &&
           !sodium_is_zero(e, MR_OPRF_ELEMENT_BYTES);
}

/* DeserializeScalar: canonical (< L). */
static int scalar_canonical(const uint8_t s[MR_OPRF_SCALAR_BYTES])
{
    uint8_t wide[64] = {0}, r[MR_OPRF_SCALAR_BYTES];
    memcpy(wide, s, MR_OPRF_SCALAR_BYTES);
    crypto_core_ristretto255_scalar_reduce(r, wide);
    int ok = sodium_memcmp(r, s, MR_OPRF_SCALAR_BYTES) == 0;
    mr_wipe(wide, sizeof wide);
    mr_wipe(r, sizeof r);
    return ok;
}

medreg_err mr_oprf_derive_key(mr_oprf_mode mode, const uint8_t *seed, size_t seed_len, const uint8_t *info,
                              size_t info_len, uint8_t sk[MR_OPRF_SCALAR_BYTES], uint8_t pk[MR_OPRF_ELEMENT_BYTES])
{
    oprf_ctx c;
    uint8_t ilen[2], counter = 0;
    medreg_err rc = MEDREG_ERR_CRYPTO;

    if (seed == NULL || seed_len < 32 || (info == NULL && info_len) || info_len > 65535)
        return MEDREG_ERR_INVALID;
    ctx_init(&c, mode);
    put_u16(ilen, info_len);
    for (unsigned i = 0; i <= 255; i++) {
        counter = (uint8_t)i;
        part parts[] = {{seed, seed_len}, {ilen, 2}, {info, info_len}, {&counter, 1}};
        rc = hash_to_scalar(&c, "DeriveKeyPair", parts, MR_ARRAY_LEN(parts), sk);
        if (rc != MEDREG_OK)
            break;
        if (!sodium_is_zero(sk, MR_OPRF_SCALAR_BYTES)) {
            rc = crypto_scalarmult_ristretto255_base(pk, sk) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
            break;
        }
        rc = MEDREG_ERR_CRYPTO; /* DeriveKeyPairError after 256 zero scalars */
    }
    if (rc != MEDREG_OK)
        mr_wipe(sk, MR_OPRF_SCALAR_BYTES);
    return rc;
}

medreg_err mr_oprf_blind(mr_oprf_mode mode, const uint8_t *input, size_t input_len, const uint8_t *blind_in,
                         uint8_t blind[MR_OPRF_SCALAR_BYTES], uint8_t blinded[MR_OPRF_ELEMENT_BYTES])
{
    oprf_ctx c;
    uint8_t p[MR_OPRF_ELEMENT_BYTES];
    medreg_err rc;

    if ((input == NULL && input_len) || input_len > MR_OPRF_INPUT_MAX)
        return MEDREG_ERR_INVALID;
    ctx_init(&c, mode);
    if (blind_in != NULL) {
        if (!scalar_canonical(blind_in) || sodium_is_zero(blind_in, MR_OPRF_SCALAR_BYTES))
            return MEDREG_ERR_INVALID;
        memcpy(blind, blind_in, MR_OPRF_SCALAR_BYTES);
    } else {
        crypto_core_ristretto255_scalar_random(blind); /* never zero */
    }
    rc = hash_to_group(&c, input, input_len, p);
    if (rc == MEDREG_OK && crypto_scalarmult_ristretto255(blinded, blind, p) != 0)
        rc = MEDREG_ERR_CRYPTO;
    mr_wipe(p, sizeof p);
    if (rc != MEDREG_OK)
        mr_wipe(blind, MR_OPRF_SCALAR_BYTES);
    return rc;
}

/* ComputeComposites (§2.2.1): M = Σ d_i·C_i, and, for the verifier,
 * Z = Σ d_i·D_i. The prover passes z == NULL and computes Z = k·M itself
 * (ComputeCompositesFast). The weights d_i and the elements are public, so
 * the sums are taken in one variable-time pass each (ristretto_msm.h):
 * about a fifth of the cost of a scalar multiplication per element. */
static medreg_err composites(const oprf_ctx *c, const uint8_t pk[MR_OPRF_ELEMENT_BYTES],
                             const uint8_t (*cs)[MR_OPRF_ELEMENT_BYTES], const uint8_t (*ds)[MR_OPRF_ELEMENT_BYTES],
                             size_t n, uint8_t m[MR_OPRF_ELEMENT_BYTES], uint8_t *z)
{
    uint8_t dst[DST_MAX], seed[crypto_hash_sha512_BYTES], l32[2], l64[2], ldst[2], idx[2];
    uint8_t(*d)[MR_OPRF_SCALAR_BYTES] = NULL;
    size_t dlen = ctx_dst(c, "Seed-", dst);
    crypto_hash_sha512_state st;
    medreg_err rc = MEDREG_OK;

    d = malloc(n * sizeof *d);
    if (d == NULL)
        return MEDREG_ERR_NOMEM;
    put_u16(l32, MR_OPRF_ELEMENT_BYTES);
    put_u16(l64, sizeof seed);
    put_u16(ldst, dlen);
    crypto_hash_sha512_init(&st);
    crypto_hash_sha512_update(&st, l32, 2);
    crypto_hash_sha512_update(&st, pk, MR_OPRF_ELEMENT_BYTES);
    crypto_hash_sha512_update(&st, ldst, 2);
    crypto_hash_sha512_update(&st, dst, dlen);
    crypto_hash_sha512_final(&st, seed);

    for (size_t i = 0; i < n && rc == MEDREG_OK; i++) {
        static const uint8_t composite[] = "Composite";
        put_u16(idx, i);
        part parts[] = {{l64, 2}, {seed, sizeof seed}, {idx, 2},    {l32, 2}, {cs[i], MR_OPRF_ELEMENT_BYTES},
                        {l32, 2}, {ds[i], MR_OPRF_ELEMENT_BYTES}, {composite, sizeof composite - 1}};
        rc = hash_to_scalar(c, "HashToScalar-", parts, MR_ARRAY_LEN(parts), d[i]);
    }
    if (rc == MEDREG_OK)
        rc = mr_ristretto_msm(cs, (const uint8_t(*)[MR_OPRF_SCALAR_BYTES])d, n, m, NULL);
    if (rc == MEDREG_OK && z != NULL)
        rc = mr_ristretto_msm(ds, (const uint8_t(*)[MR_OPRF_SCALAR_BYTES])d, n, z, NULL);
    if (rc == MEDREG_ERR_INVALID)
        rc = MEDREG_ERR_CRYPTO; /* the callers checked every element before */
    free(d);
    return rc;
}

/* c = HashToScalar(lp(B) ‖ lp(M) ‖ lp(Z) ‖ lp(t2) ‖ lp(t3) ‖ "Challenge") */
static medreg_err challenge(const oprf_ctx *c, const uint8_t *b, const uint8_t *m, const uint8_t *z,
                            const uint8_t *t2, const uint8_t *t3, uint8_t out[MR_OPRF_SCALAR_BYTES])
{
    static const uint8_t label[] = "Challenge";
    uint8_t l32[2];
    put_u16(l32, MR_OPRF_ELEMENT_BYTES);
    part parts[] = {{l32, 2}, {b, 32},  {l32, 2}, {m, 32},  {l32, 2}, {z, 32},
                    {l32, 2}, {t2, 32}, {l32, 2}, {t3, 32}, {label, sizeof label - 1}};
    return hash_to_scalar(c, "HashToScalar-", parts, MR_ARRAY_LEN(parts), out);
}

medreg_err mr_oprf_evaluate(mr_oprf_mode mode, const uint8_t sk[MR_OPRF_SCALAR_BYTES], const uint8_t *pk,
                            const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES], size_t n,
                            uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], const uint8_t *proof_random,
                            uint8_t *proof, size_t *bad)
{
    oprf_ctx c;
    uint8_t m[MR_OPRF_ELEMENT_BYTES], z[MR_OPRF_ELEMENT_BYTES], t2[MR_OPRF_ELEMENT_BYTES],
        t3[MR_OPRF_ELEMENT_BYTES], r[MR_OPRF_SCALAR_BYTES], ch[MR_OPRF_SCALAR_BYTES], ck[MR_OPRF_SCALAR_BYTES];
    medreg_err rc = MEDREG_OK;

    if (sk == NULL || blinded == NULL || evaluated == NULL || n == 0 || n > 65535 ||
        (mode == MR_OPRF_MODE_VERIFIABLE && (pk == NULL || proof == NULL)))
        return MEDREG_ERR_INVALID;
    ctx_init(&c, mode);
    /* crypto_scalarmult_ristretto255 refuses a non-canonical encoding (but
     * for the top bit: element_ok) and the identity (whose product is the
     * identity): DeserializeElement's checks without decoding twice */
    for (size_t i = 0; i < n; i++) {
        if ((blinded[i][MR_OPRF_ELEMENT_BYTES - 1] & 0x80) != 0 ||
            crypto_scalarmult_ristretto255(evaluated[i], sk, blinded[i]) != 0) {
            if (bad)
                *bad = i;
            return MEDREG_ERR_INVALID;
        }
    }
    if (mode != MR_OPRF_MODE_VERIFIABLE)
        return MEDREG_OK;

    /* GenerateProof(k, G, pkS, C, D) */
    if (proof_random != NULL) {
        if (!scalar_canonical(proof_random) || sodium_is_zero(proof_random, MR_OPRF_SCALAR_BYTES))
            return MEDREG_ERR_INVALID;
        memcpy(r, proof_random, sizeof r);
    } else {
        crypto_core_ristretto255_scalar_random(r);
    }
    rc = composites(&c, pk, blinded, (const uint8_t(*)[MR_OPRF_ELEMENT_BYTES])evaluated, n, m, NULL);
    if (rc == MEDREG_OK &&
        (crypto_scalarmult_ristretto255(z, sk, m) != 0 || crypto_scalarmult_ristretto255_base(t2, r) != 0 ||
         crypto_scalarmult_ristretto255(t3, r, m) != 0))
        rc = MEDREG_ERR_CRYPTO;
    if (rc == MEDREG_OK)
        rc = challenge(&c, pk, m, z, t2, t3, ch);
    if (rc == MEDREG_OK) {
        crypto_core_ristretto255_scalar_mul(ck, ch, sk);
        memcpy(proof, ch, MR_OPRF_SCALAR_BYTES);
        crypto_core_ristretto255_scalar_sub(proof + MR_OPRF_SCALAR_BYTES, r, ck);
    }
    mr_wipe(r, sizeof r);
    mr_wipe(ck, sizeof ck);
    return rc;
}

medreg_err mr_oprf_verify(const uint8_t pk[MR_OPRF_ELEMENT_BYTES], const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                          const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                          const uint8_t proof[MR_OPRF_PROOF_BYTES])
{
    oprf_ctx c;
    uint8_t m[MR_OPRF_ELEMENT_BYTES], z[MR_OPRF_ELEMENT_BYTES], t2[MR_OPRF_ELEMENT_BYTES],
        t3[MR_OPRF_ELEMENT_BYTES], a[MR_OPRF_ELEMENT_BYTES], b[MR_OPRF_ELEMENT_BYTES], expect[MR_OPRF_SCALAR_BYTES];
    if (pk == NULL || blinded == NULL || evaluated == NULL || proof == NULL || n == 0 || n > 65535)
        return MEDREG_ERR_INVALID;
    const uint8_t *pc = proof, *ps = proof + MR_OPRF_SCALAR_BYTES; /* after the NULL check: no offset from NULL */
    if (!element_ok(pk) || !scalar_canonical(pc) || !scalar_canonical(ps))
        return MEDREG_ERR_VERIFY;
    for (size_t i = 0; i < n; i++)
        if (!element_ok(blinded[i]) || !element_ok(evaluated[i]))
            return MEDREG_ERR_VERIFY;
    ctx_init(&c, MR_OPRF_MODE_VERIFIABLE);
    if (composites(&c, pk, blinded, evaluated, n, m, z) != MEDREG_OK)
        return MEDREG_ERR_VERIFY;
    /* t2 = s·G + c·pkS, t3 = s·M + c·Z */
    if (crypto_scalarmult_ristretto255_base(a, ps) != 0 || crypto_scalarmult_ristretto255(b, pc, pk) != 0 ||
        crypto_core_ristretto255_add(t2, a, b) != 0 || crypto_scalarmult_ristretto255(a, ps, m) != 0 ||
        crypto_scalarmult_ristretto255(b, pc, z) != 0 || crypto_core_ristretto255_add(t3, a, b) != 0)
        return MEDREG_ERR_VERIFY;
    if (challenge(&c, pk, m, z, t2, t3, expect) != MEDREG_OK)
        return MEDREG_ERR_VERIFY;
    return sodium_memcmp(expect, pc, MR_OPRF_SCALAR_BYTES) == 0 ? MEDREG_OK : MEDREG_ERR_VERIFY;
}

/* bytes below a caller's frame that one scalar multiplication of libsodium
 * writes (its table of eight points and their temporaries take about 2 KiB) */
#define UNBLIND_STACK 8192

/* An evaluated element unblinded with the blind's inverse at hand. */
static medreg_err unblind_inverted(const uint8_t inv[MR_OPRF_SCALAR_BYTES],
                                   const uint8_t evaluated[MR_OPRF_ELEMENT_BYTES],
                                   uint8_t unblinded[MR_OPRF_ELEMENT_BYTES])
{
    if (evaluated == NULL || unblinded == NULL)
        return MEDREG_ERR_INVALID;
    if (!element_ok(evaluated))
        return MEDREG_ERR_VERIFY;
    medreg_err rc = crypto_scalarmult_ristretto255(unblinded, inv, evaluated) == 0 ? MEDREG_OK : MEDREG_ERR_CRYPTO;
    /* libsodium's encoding of the result tests its sign on a copy in bytes
     * on the stack (fe25519_isnegative), left there: half the time the
     * unblinded element itself (unit.wipe). Its frames lie within this. */
    sodium_stackzero(UNBLIND_STACK);
    return rc;
}

medreg_err mr_oprf_finalize_unblinded(const uint8_t *input, size_t input_len,
                                      const uint8_t unblinded[MR_OPRF_ELEMENT_BYTES], uint8_t out[MR_OPRF_OUTPUT_BYTES])
{
    static const uint8_t label[] = "Finalize";
    uint8_t l[2];
    crypto_hash_sha512_state st;

    if ((input == NULL && input_len) || input_len > MR_OPRF_INPUT_MAX || unblinded == NULL || out == NULL)
        return MEDREG_ERR_INVALID;
    crypto_hash_sha512_init(&st);
    put_u16(l, input_len);
    crypto_hash_sha512_update(&st, l, 2);
    crypto_hash_sha512_update(&st, input, input_len);
    put_u16(l, MR_OPRF_ELEMENT_BYTES);
    crypto_hash_sha512_update(&st, l, 2);
    crypto_hash_sha512_update(&st, unblinded, MR_OPRF_ELEMENT_BYTES);
    crypto_hash_sha512_update(&st, label, sizeof label - 1);
    crypto_hash_sha512_final(&st, out);
    mr_wipe(&st, sizeof st);
    return MEDREG_OK;
}

medreg_err mr_oprf_finalize(const uint8_t *input, size_t input_len, const uint8_t blind[MR_OPRF_SCALAR_BYTES],
                            const uint8_t evaluated[MR_OPRF_ELEMENT_BYTES], uint8_t out[MR_OPRF_OUTPUT_BYTES])
{
    uint8_t inv[MR_OPRF_SCALAR_BYTES], nn[MR_OPRF_ELEMENT_BYTES];
    medreg_err rc;

    if (blind == NULL || (input == NULL && input_len) || input_len > MR_OPRF_INPUT_MAX || out == NULL)
        return MEDREG_ERR_INVALID;
    rc = crypto_core_ristretto255_scalar_invert(inv, blind) == 0 ? unblind_inverted(inv, evaluated, nn)
                                                                  : MEDREG_ERR_CRYPTO;
    if (rc == MEDREG_OK)
        rc = mr_oprf_finalize_unblinded(input, input_len, nn, out);
    mr_wipe(inv, sizeof inv);
    mr_wipe(nn, sizeof nn);
    return rc;
}

/* Montgomery's trick, a chunk at a time: prefix[i] = b_0·…·b_i, one
 * inversion of the whole product, then each inverse from the running
 * inverse and the prefix before it. Every value here is secret (products
 * of blinds) and is wiped. */
#define UNBLIND_CHUNK 1024
medreg_err mr_oprf_unblind_many(const mr_oprf_unblind *items, size_t n)
{
    uint8_t(*prefix)[MR_OPRF_SCALAR_BYTES] = NULL, run[MR_OPRF_SCALAR_BYTES], inv[MR_OPRF_SCALAR_BYTES];
    medreg_err rc = MEDREG_OK;

    if (items == NULL && n)
        return MEDREG_ERR_INVALID;
    if (n == 0)
        return MEDREG_OK;
    if ((prefix = malloc((n < UNBLIND_CHUNK ? n : UNBLIND_CHUNK) * sizeof *prefix)) == NULL)
        return MEDREG_ERR_NOMEM;
    for (size_t base = 0; base < n && rc == MEDREG_OK; base += UNBLIND_CHUNK) {
        size_t m = n - base < UNBLIND_CHUNK ? n - base : UNBLIND_CHUNK;
        const mr_oprf_unblind *it = items + base;
        for (size_t i = 0; i < m && rc == MEDREG_OK; i++) {
            if (it[i].blind == NULL)
                rc = MEDREG_ERR_INVALID;
            else if (i == 0)
                memcpy(prefix[0], it[0].blind, MR_OPRF_SCALAR_BYTES);
            else
                crypto_core_ristretto255_scalar_mul(prefix[i], prefix[i - 1], it[i].blind);
        }
        /* a zero blind (never made by mr_oprf_blind) makes the product zero */
        if (rc == MEDREG_OK && crypto_core_ristretto255_scalar_invert(run, prefix[m - 1]) != 0)
            rc = MEDREG_ERR_CRYPTO;
        for (size_t i = m; i-- > 0 && rc == MEDREG_OK;) {
            if (i > 0) {
                crypto_core_ristretto255_scalar_mul(inv, run, prefix[i - 1]); /* 1 / b_i */
                crypto_core_ristretto255_scalar_mul(run, run, it[i].blind);   /* 1 / (b_0…b_{i-1}) */
            } else {
                memcpy(inv, run, sizeof inv);
            }
            rc = unblind_inverted(inv, it[i].evaluated, it[i].unblinded);
        }
        mr_wipe(prefix, m * sizeof *prefix);
    }
    mr_wipe(run, sizeof run);
    mr_wipe(inv, sizeof inv);
    free(prefix);
    return rc;
}
