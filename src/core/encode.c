#include "encode.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

char *mr_base64(const uint8_t *p, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(cap);
    if (s)
        sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

int mr_unbase64(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    const char *end = NULL;
    return s && len <= (cap + 2) / 3 * 4 + 4 &&
           sodium_base642bin(out, cap, s, len, NULL, out_len, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
           end == s + len;
}

/* 0x0n in each byte of w (a nibble) to its hex digit: '0' + n, plus 39
 * more ('a' - '0' - 10) where n >= 10, which n + 6 carrying into bit 4
 * tells without a branch */
static uint64_t hex_digits(uint64_t w)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    uint64_t ten_up = ((w + 6 * ones) >> 4) & ones;
    return w + 0x30 * ones + ten_up * 39;
}

void mr_hex_into(char *out, const uint8_t *p, size_t n)
{
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 4 <= n; i += 4) {
        /* byte j of the four to the 16-bit lane j, then its high nibble to
         * the lane's first byte (written first) and its low to the second */
        uint64_t x = (uint64_t)p[i] | (uint64_t)p[i + 1] << 16 | (uint64_t)p[i + 2] << 32 | (uint64_t)p[i + 3] << 48;
        uint64_t w = hex_digits((x >> 4 & UINT64_C(0x000f000f000f000f)) | (x & UINT64_C(0x000f000f000f000f)) << 8);
        memcpy(out + 2 * i, &w, 8);
    }
#endif
    for (; i < n; i++) {
        uint64_t w = hex_digits((uint64_t)(p[i] >> 4) | (uint64_t)(p[i] & 15) << 8);
        out[2 * i] = (char)(w & 0xff);
        out[2 * i + 1] = (char)(w >> 8 & 0xff);
    }
}

int mr_is_lower_hex(const char *s, size_t len)
{
    if (s == NULL || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int mr_unhex_exact(const char *s, uint8_t *out, size_t want)
{
    size_t bl = 0;
    return s && strlen(s) == want * 2 && sodium_hex2bin(out, want, s, want * 2, NULL, &bl, NULL) == 0 && bl == want;
}

json_t *mr_json_base64(const uint8_t *p, size_t n)
{
    char *t = mr_base64(p, n);
    json_t *j = t ? json_string(t) : NULL;
    free(t);
    return j;
}

int mr_parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

int mr_is_utf8(const char *s) { return u8_check((const uint8_t *)s, strlen(s)) == NULL; }

json_t *mr_json_path(const char *path)
{
    size_t n = strlen(path), o = 0;
    if (mr_is_utf8(path))
        return json_stringn(path, n);
    char *t = n < SIZE_MAX / 3 ? malloc(3 * n + 1) : NULL;
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, (const uint8_t *)path + i, n - i);
        if (k > 0) {
            memcpy(t + o, path + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            memcpy(t + o, "\xef\xbf\xbd", 3); /* U+FFFD for one byte */
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(t, o);
    free(t);
    return j;
}
