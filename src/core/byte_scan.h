/* Scanning short byte strings eight bytes at a time in a 64-bit word
 * (SWAR). The CSV tool looks at every field of every row several times (is
 * it plain ASCII, does it need quoting, how many newlines does it hold);
 * fields are a few bytes long, gcc does not vectorise byte loops at -O2, and
 * these loops were a tenth of its time. Every mask here is exact: 0x80 in
 * precisely the bytes that match, so counting them with a popcount is
 * correct too. */
#ifndef MR_BYTE_SCAN_H
#define MR_BYTE_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MR_SWAR_LOW7 UINT64_C(0x7f7f7f7f7f7f7f7f)
#define MR_SWAR_HIGH UINT64_C(0x8080808080808080)
#define MR_SWAR_ONES UINT64_C(0x0101010101010101)

/* 0x80 in each byte of x that is zero */
static inline uint64_t mr_swar_zero(uint64_t x)
{
    return ~(((x & MR_SWAR_LOW7) + MR_SWAR_LOW7) | x | MR_SWAR_LOW7);
}

/* 0x80 in each byte of x equal to c */
static inline uint64_t mr_swar_eq(uint64_t x, unsigned char c)
{
    return mr_swar_zero(x ^ (MR_SWAR_ONES * c));
}

/* The word at p[i..i+8), or the n - i < 8 bytes left with pad after them.
 * Byte order does not matter to the masks above. */
static inline uint64_t mr_swar_load(const char *p, size_t i, size_t n, unsigned char pad)
{
    uint64_t x;
    size_t r = n - i;
    if (r >= 8) {
        memcpy(&x, p + i, 8);
        return x;
    }
    /* the tail in pieces of constant size, put together in a register (a
     * memcpy of r bytes is a call; bytes stored into x and x loaded whole
     * stall the load until the stores retire) */
    unsigned shift = 0;
    x = 0;
    if (r & 4) {
        uint32_t v;
        memcpy(&v, p + i, 4);
        x = v;
        shift = 32;
    }
    if (r & 2) {
        uint16_t v;
        memcpy(&v, p + i + (r & 4), 2);
        x |= (uint64_t)v << shift;
        shift += 16;
    }
    if (r & 1) {
        x |= (uint64_t)(unsigned char)p[i + r - 1] << shift;
        shift += 8;
    }
    if (shift < 64) /* r > 0: never 64 */
        x |= (MR_SWAR_ONES * pad) << shift;
    return x;
}

#endif
