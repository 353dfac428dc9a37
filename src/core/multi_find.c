#include "multi_find.h"

#include <stdlib.h>
#include <string.h>

#define BITMAP_BITS 16 /* 8 KiB: stays in the first-level cache */

static uint32_t hash4(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return (w * UINT32_C(0x9E3779B1)) >> (32 - BITMAP_BITS);
}

/* A 4-byte piece of a needle: its hash, the needle, where in it it starts. */
typedef struct piece {
    uint32_t h;
    uint32_t needle, at;
} piece;

static int by_hash(const void *a, const void *b)
{
    uint32_t x = ((const piece *)a)->h, y = ((const piece *)b)->h;
    return (x > y) - (x < y);
}

#define STRIDE_MAX 8 /* more pieces a needle for longer strides: no faster, measured */

/* With every needle at least `shortest` bytes long, any occurrence covers
 * s = shortest - 3 consecutive positions at which a 4-byte piece of its
 * first `shortest` bytes starts, and one of those is a multiple of s (or
 * of any smaller stride): so the bitmap holds the needles' pieces at
 * offsets 0 to s - 1, the scan looks only at every s-th position, and a
 * hit there is compared, for each piece of that hash, as an occurrence
 * starting the piece's offset before. */
static int digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

medreg_err mr_multi_count(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens,
                          const uint8_t *apart, size_t k, size_t from, size_t to, uint32_t *counts)
{
    uint64_t bits[(1u << BITMAP_BITS) / 64];
    size_t shortest = SIZE_MAX, longest = 0, looked = 0, n_pieces = 0;
    if (k > UINT32_MAX / STRIDE_MAX)
        return MEDREG_ERR_TOOBIG;
    to = to < n ? to : n;
    for (size_t i = 0; i < k; i++)
        if (lens[i] >= MR_MULTI_FIND_MIN && lens[i] <= to) {
            shortest = lens[i] < shortest ? lens[i] : shortest;
            longest = lens[i] > longest ? lens[i] : longest;
            looked++;
        }
    if (looked == 0 || from >= to)
        return MEDREG_OK;
    size_t stride = shortest - MR_MULTI_FIND_MIN + 1;
    stride = stride < STRIDE_MAX ? stride : STRIDE_MAX;
    piece *pieces = malloc(looked * stride * sizeof *pieces);
    if (pieces == NULL)
        return MEDREG_ERR_NOMEM;
    memset(bits, 0, sizeof bits);
    for (size_t i = 0; i < k; i++)
        if (lens[i] >= MR_MULTI_FIND_MIN && lens[i] <= to)
            for (size_t j = 0; j < stride; j++) {
                uint32_t h = hash4((const uint8_t *)needles[i] + j);
                bits[h / 64] |= UINT64_C(1) << (h % 64);
                pieces[n_pieces++] = (piece){h, (uint32_t)i, (uint32_t)j};
            }
    qsort(pieces, n_pieces, sizeof *pieces, by_hash);
    /* an occurrence ending past from starts past from - longest, and is seen
     * from the multiple of stride among its first stride positions */
    size_t start = from >= longest ? (from - longest) / stride * stride : 0;
    for (size_t p = start; p + MR_MULTI_FIND_MIN <= to; p += stride) {
        uint32_t h = hash4(hay + p);
        if (!((bits[h / 64] >> (h % 64)) & 1))
            continue;
        size_t lo = 0, hi = n_pieces; /* the first piece of hash h */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (pieces[mid].h < h)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < n_pieces && pieces[lo].h == h; lo++) {
            size_t i = pieces[lo].needle, at = p - pieces[lo].at;
            if (pieces[lo].at <= p && at + lens[i] > from && at + lens[i] <= to &&
                memcmp(hay + at, needles[i], lens[i]) == 0 &&
                !(apart && apart[i] && ((at > 0 && digit(hay[at - 1])) || (at + lens[i] < n && digit(hay[at + lens[i]])))))
                counts[i]++;
        }
    }
    free(pieces);
    return MEDREG_OK;
}
