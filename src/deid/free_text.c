#include "free_text.h"

#include <string.h>
#include <unicase.h>
#include <unictype.h>
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
    if ((uint8_t)s[i] < 0x80) { /* as u8_mbtoucr reads it, without the call */
        *len = 1;
        return (uint8_t)s[i];
    }
    int k = u8_mbtoucr(&uc, (const uint8_t *)s + i, n - i);
    if (k > 0) {
        *len = (size_t)k;
        return uc;
    }
    *len = 1;
    return (uint8_t)s[i];
}

/* One case for comparing: the lower case of the upper case, so that
 * letters with two lower-case forms meet (Greek final sigma: "ς" and "σ"
 * both go to "Σ"), as Unicode's simple case folding would have them */
static ucs4_t fold(ucs4_t c)
{
    if (c < 0x80) /* the same, without two calls a character (a quarter of deid verify's time) */
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    return uc_tolower(uc_toupper(c));
}

int mr_text_casefind(const char *h, size_t hn, const char *v, size_t vn, size_t *at, size_t *len)
{
    for (size_t i = 0, step = 0; vn > 0 && i < hn; i += step) {
        size_t a = i, b = 0;
        while (a < hn && b < vn) {
            size_t la, lb;
            ucs4_t x = char_at(h, hn, a, &la), y = char_at(v, vn, b, &lb);
            if (fold(x) != fold(y))
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

/* The character that ends at s[i] (0 < i), read as char_at reads it */
static ucs4_t char_before(const char *s, size_t i)
{
    ucs4_t uc;
    if (u8_prev(&uc, (const uint8_t *)s + i, (const uint8_t *)s) != NULL)
        return uc;
    return (uint8_t)s[i - 1];
}

int mr_text_is_word(const char *h, size_t hn, size_t at, size_t len)
{
    size_t l;
    return (at == 0 || !uc_is_alnum(char_before(h, at))) &&
           (at + len >= hn || !uc_is_alnum(char_at(h, hn, at + len, &l)));
}
