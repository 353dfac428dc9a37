#include "free_text.h"

#include <string.h>
#include <unicase.h>
#include <unistr.h>

int mr_text_holds(const char *t, size_t tn, const char *v, size_t vn)
{
    if (vn == 0)
        return 0;
    for (const char *p = t, *end = t + tn; (size_t)(end - p) >= vn;) {
        const char *hit = memmem(p, (size_t)(end - p), v, vn);
        if (hit == NULL)
            return 0;
        if ((hit == t || hit[-1] == ' ') && (hit + vn == end || hit[vn] == ' '))
            return 1;
        p = hit + 1;
    }
    return 0;
}

/* The character at s[i] (i < n) and its length: a UTF-8 sequence, or a lone
 * byte as the Latin-1 character of that value */
static ucs4_t char_at(const char *s, size_t n, size_t i, size_t *len)
{
    ucs4_t uc;
    int k = u8_mbtoucr(&uc, (const uint8_t *)s + i, n - i);
    if (k > 0) {
        *len = (size_t)k;
        return uc;
    }
    *len = 1;
    return (uint8_t)s[i];
}

int mr_text_casefind(const char *h, size_t hn, const char *v, size_t vn, size_t *at, size_t *len)
{
    for (size_t i = 0, step = 0; vn > 0 && i < hn; i += step) {
        size_t a = i, b = 0;
        while (a < hn && b < vn) {
            size_t la, lb;
            ucs4_t x = char_at(h, hn, a, &la), y = char_at(v, vn, b, &lb);
            if (uc_tolower(x) != uc_tolower(y))
                break;
            a += la;
            b += lb;
        }
        if (b == vn) {
            *at = i;
            *len = a - i;
            return 1;
        }
        char_at(h, hn, i, &step);
    }
    return 0;
}
