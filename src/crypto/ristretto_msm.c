/* Pippenger's bucket method over libdecaf's ristretto255 points.
 *
 * Each scalar is cut into signed windows of c bits (digits in
 * [-2^(c-1), 2^(c-1)]). For each window, from the top: the running sum is
 * doubled c times, every point is added to (or subtracted from) the bucket
 * of its digit's magnitude, and the buckets are folded as
 * Σ_b b·bucket_b = Σ_b (bucket_B + … + bucket_b) with two additions per
 * bucket. Points are taken in chunks so that memory stays bounded whatever
 * n is; chunk results add up. Nothing here is secret (see the header): no
 * wiping, and branches on the digits are fine. */
#include <decaf/point_255.h>
#include <stdlib.h>
#include <string.h>

#include "ristretto_msm.h"

#define CHUNK 4096   /* points decoded at once: 1 MiB of points */
#define SCALAR_BITS 256
#define WINDOW_MAX 12

/* Signed windows needed for c-bit digits of a 256-bit scalar, the carry
 * out of the top window included. */
static size_t windows_for(unsigned c)
{
    return (SCALAR_BITS + c - 1) / c + 1;
}

/* The window width with the fewest additions for m points: per window, m
 * additions into buckets and two per bucket to fold them. */
static unsigned window_for(size_t m)
{
    unsigned best = 2;
    size_t best_cost = (size_t)-1;
    for (unsigned c = 2; c <= WINDOW_MAX; c++) {
        size_t cost = windows_for(c) * (m + ((size_t)1 << c));
        if (cost < best_cost) {
            best_cost = cost;
            best = c;
        }
    }
    return best;
}

static unsigned bits_at(const uint8_t s[32], size_t bit, unsigned c)
{
    uint32_t v = 0;
    size_t byte = bit / 8;
    for (size_t k = 0; k < 3 && byte + k < 32; k++)
        v |= (uint32_t)s[byte + k] << (8 * k);
    return (v >> (bit % 8)) & ((1u << c) - 1);
}

static void recode(const uint8_t s[32], unsigned c, size_t w, int16_t *digit)
{
    int carry = 0;
    for (size_t j = 0; j < w; j++) {
        int v = (j * c < SCALAR_BITS ? (int)bits_at(s, j * c, c) : 0) + carry;
        carry = v > (1 << (c - 1));
        digit[j] = (int16_t)(carry ? v - (1 << c) : v);
    }
}

/* acc (if *acc_set) += p, else acc = p */
static void add_to(decaf_255_point_t acc, int *acc_set, const decaf_255_point_t p)
{
    if (*acc_set)
        decaf_255_point_add(acc, acc, p);
    else
        decaf_255_point_copy(acc, p);
    *acc_set = 1;
}

/* acc = Σ digit-weighted points of one chunk of m, windows from the top */
static void chunk_sum(decaf_255_point_t *pt, const int16_t *digit, size_t m, unsigned c, size_t w,
                      decaf_255_point_t *bucket, uint8_t *filled, decaf_255_point_t acc, int *acc_set)
{
    size_t nb = (size_t)1 << (c - 1);
    *acc_set = 0;
    for (size_t j = w; j-- > 0;) {
        if (*acc_set)
            for (unsigned k = 0; k < c; k++)
                decaf_255_point_double(acc, acc);
        memset(filled, 0, nb);
        for (size_t i = 0; i < m; i++) {
            int d = digit[i * w + j];
            if (d == 0)
                continue;
            size_t b = (size_t)(d > 0 ? d : -d) - 1;
            if (!filled[b]) {
                if (d > 0)
                    decaf_255_point_copy(bucket[b], pt[i]);
                else
                    decaf_255_point_negate(bucket[b], pt[i]);
                filled[b] = 1;
            } else if (d > 0) {
                decaf_255_point_add(bucket[b], bucket[b], pt[i]);
            } else {
                decaf_255_point_sub(bucket[b], bucket[b], pt[i]);
            }
        }
        decaf_255_point_t running, folded;
        int running_set = 0, folded_set = 0;
        for (size_t b = nb; b-- > 0;) {
            if (filled[b])
                add_to(running, &running_set, bucket[b]);
            if (running_set)
                add_to(folded, &folded_set, running);
        }
        if (folded_set)
            add_to(acc, acc_set, folded);
    }
}

medreg_err mr_ristretto_msm(const uint8_t (*points)[32], const uint8_t (*scalars)[32], size_t n, uint8_t out[32],
                            size_t *bad)
{
    medreg_err rc = MEDREG_OK;
    size_t first = n < CHUNK ? n : CHUNK;
    unsigned cmax = window_for(first); /* the widest window any chunk uses */
    size_t wmax = windows_for(2); /* the narrowest window has the most */
    decaf_255_point_t *pt = NULL, *bucket = NULL, total, part;
    int16_t *digit = NULL;
    uint8_t *filled = NULL;
    int total_set = 0, part_set;

    if (points == NULL || scalars == NULL || out == NULL || n == 0)
        return MEDREG_ERR_INVALID;
    /* decaf's points are 32-byte aligned (vector loads) */
    pt = aligned_alloc(32, first * sizeof *pt);
    bucket = aligned_alloc(32, ((size_t)1 << (cmax - 1)) * sizeof *bucket);
    digit = malloc(first * wmax * sizeof *digit);
    filled = malloc((size_t)1 << (cmax - 1));
    ENSURE(pt != NULL && bucket != NULL && digit != NULL && filled != NULL, MEDREG_ERR_NOMEM);

    for (size_t base = 0; base < n; base += CHUNK) {
        size_t m = n - base < CHUNK ? n - base : CHUNK;
        unsigned c = window_for(m);
        size_t w = windows_for(c);
        for (size_t i = 0; i < m; i++) {
            if (decaf_255_point_decode(pt[i], points[base + i], DECAF_FALSE) != DECAF_SUCCESS) {
                if (bad)
                    *bad = base + i;
                ENSURE(0, MEDREG_ERR_INVALID);
            }
            recode(scalars[base + i], c, w, digit + i * w);
        }
        chunk_sum(pt, digit, m, c, w, bucket, filled, part, &part_set);
        if (part_set)
            add_to(total, &total_set, part);
    }
    if (total_set)
        decaf_255_point_encode(out, total);
    else
        memset(out, 0, 32); /* every scalar zero: the identity */
out:
    free(pt);
    free(bucket);
    free(digit);
    free(filled);
    return rc;
}
