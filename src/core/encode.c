#include "encode.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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
