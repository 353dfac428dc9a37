/* Identifier normalisation (issue: foundation §3). Two physicians who type the
 * same patient differently must reach the same PSN, so every rule here is
 * deterministic and independent of locale. */
#include "medreg/pseudonym.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "../core/safety.h"
#include "../core/secret.h"
#include "normalize_into.h"


static void free_wiped(uint8_t *p, size_t len)
{
    mr_wipe(p, len);
    free(p);
}

/* Hangul conjoining jamo: with the combining marks gone, the only
 * characters NFC can join to the one before (every other second half of a
 * canonical composition is a mark); test_normalize checks every code point */
static int may_compose(ucs4_t uc)
{
    return (uc >= 0x1100 && uc <= 0x11ff) || (uc >= 0xa960 && uc <= 0xa97f) || (uc >= 0xd7b0 && uc <= 0xd7ff);
}

/* Person names: NFKD, drop combining marks (diacritics), drop punctuation,
 * full case folding, whitespace collapsed to one ASCII space, trimmed, NFC. */
medreg_err mr_normalize_name_unicode(const uint8_t *in, size_t in_len, int fast, char **out)
{
    medreg_err rc = MEDREG_OK;
    uint8_t *folded = NULL, *nfc = NULL, *buf = NULL;
    size_t folded_len = 0, nfc_len = 0, n = 0;
    const uint8_t *p, *end;
    int pending_space = 0, ascii = fast, compose = !fast;

    for (size_t i = 0; ascii && i < in_len; i++)
        ascii = in[i] < 0x80;
    if (ascii) {
        /* ASCII is its own NFKD and NFC, and its case folding is A-Z to a-z:
         * the same result without libunistring's transforms (test_normalize
         * compares both paths over all of ASCII) */
        folded = malloc(in_len ? in_len : 1);
        ENSURE(folded != NULL, MEDREG_ERR_NOMEM);
        for (size_t i = 0; i < in_len; i++)
            folded[i] = in[i] >= 'A' && in[i] <= 'Z' ? (uint8_t)(in[i] + 32) : in[i];
        folded_len = in_len;
    } else {
        /* case-fold with NFKD output: decomposes compatibility forms and accents */
        folded = u8_casefold(in, in_len, NULL, UNINORM_NFKD, NULL, &folded_len);
    }
    ENSURE(folded != NULL, MEDREG_ERR_INVALID);
    buf = malloc(folded_len + 1);
    ENSURE(buf != NULL, MEDREG_ERR_NOMEM);
    p = folded;
    end = folded + folded_len;
    while (p < end) {
        ucs4_t uc;
        int l = u8_mbtouc(&uc, p, (size_t)(end - p));
        ENSURE(l > 0 && uc != 0xfffd, MEDREG_ERR_INVALID);
        /* one table lookup: the character's own category, as a bit */
        uint32_t cat = uc_general_category(uc).bitmask;
        if ((cat & UC_CATEGORY_MASK_Z) || uc == '\t') {
            pending_space = (n > 0);
            p += l;
            continue;
        }
        if (cat & (UC_CATEGORY_MASK_Cc | UC_CATEGORY_MASK_Cs | UC_CATEGORY_MASK_Co)) {
            rc = MEDREG_ERR_INVALID;
            goto out;
        }
        if (cat & (UC_CATEGORY_MASK_M | UC_CATEGORY_MASK_P | UC_CATEGORY_MASK_Cf)) {
            p += l; /* diacritics, punctuation, zero-width formatting */
            continue;
        }
        compose |= may_compose(uc);
        if (pending_space) {
            buf[n++] = ' ';
            pending_space = 0;
        }
        memcpy(buf + n, p, (size_t)l);
        n += (size_t)l;
        p += l;
    }
    ENSURE(n > 0, MEDREG_ERR_INVALID);
    if (!compose) { /* already NFC */
        *out = malloc(n + 1);
        ENSURE(*out != NULL, MEDREG_ERR_NOMEM);
        memcpy(*out, buf, n);
        (*out)[n] = 0;
        goto out;
    }
    nfc = u8_normalize(UNINORM_NFC, buf, n, NULL, &nfc_len);
    ENSURE(nfc != NULL, MEDREG_ERR_NOMEM);
    *out = malloc(nfc_len + 1);
    ENSURE(*out != NULL, MEDREG_ERR_NOMEM);
    memcpy(*out, nfc, nfc_len);
    (*out)[nfc_len] = 0;
out:
    if (folded)
        free_wiped(folded, folded_len);
    if (buf)
        free_wiped(buf, folded_len + 1);
    if (nfc)
        free_wiped(nfc, nfc_len);
    return rc;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

/* Parse up to maxd digits at s[*i]; at least mind. */
static int take_digits(const char *s, size_t len, size_t *i, int mind, int maxd, int *val)
{
    int v = 0, k = 0;
    while (*i < len && k < maxd && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *val = v;
    return k >= mind;
}

int mr_datetime_split(const char *in, size_t len, size_t *date_len, size_t *time_at)
{
    size_t i = 0;
    while (i < len && in[i] != ' ' && in[i] != 'T')
        i++;
    if (i == len)
        return 0;
    *date_len = i;
    size_t j = i + 1;
    while (in[i] == ' ' && j < len && in[j] == ' ')
        j++;
    *time_at = j;
    return 1;
}

int mr_time_of_day(const char *p, size_t n, int *midnight)
{
    size_t i = 0;
    int h = 0, m = 0, sec = 0, frac_zero = 1, half = 0; /* half: 1 AM, 2 PM */
    if (!take_digits(p, n, &i, 1, 2, &h) || i >= n || p[i++] != ':' || !take_digits(p, n, &i, 2, 2, &m))
        return 0;
    if (i < n && p[i] == ':') {
        i++;
        if (!take_digits(p, n, &i, 2, 2, &sec))
            return 0;
        if (i < n && (p[i] == '.' || p[i] == ',')) {
            size_t from = ++i;
            for (; i < n && i - from < 9 && p[i] >= '0' && p[i] <= '9'; i++)
                frac_zero &= p[i] == '0';
            if (i == from)
                return 0;
        }
    }
    size_t k = i + (i < n && p[i] == ' ');
    int am = k < n && (p[k] == 'A' || p[k] == 'a'), pm = k < n && (p[k] == 'P' || p[k] == 'p');
    if ((am || pm) && k + 1 < n && (p[k + 1] == 'M' || p[k + 1] == 'm')) {
        half = am ? 1 : 2;
        i = k + 2;
    }
    if (i < n && p[i] == 'Z') {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-')) { /* an offset from UTC: ±HH, ±HHMM or ±HH:MM */
        int zh = 0, zm = 0;
        i++;
        if (!take_digits(p, n, &i, 2, 2, &zh) || zh > 14)
            return 0;
        int colon = i < n && p[i] == ':';
        i += (size_t)colon;
        if ((colon || i < n) && (!take_digits(p, n, &i, 2, 2, &zm) || zm > 59))
            return 0;
    }
    if (i != n || m > 59 || sec > 60 || (half ? h < 1 || h > 12 : h > 23))
        return 0;
    *midnight = (half ? half == 1 && h == 12 : h == 0) && m == 0 && sec == 0 && frac_zero;
    return 1;
}

/* Dates: YYYY-MM-DD, YYYYMMDD, DD.MM.YYYY, D.M.YYYY, DD-MM-YYYY and
 * DD/MM/YYYY (or MM/DD/YYYY when the module says so). Two-digit years are
 * refused: a birth year cannot be guessed safely. A time of day after the
 * date is taken only when it is midnight: databases export a date column
 * as a datetime at 00:00, and any other time would be a fact the PSN drops. */
static medreg_err normalize_date(const medreg_ident_rule *rule, const char *in, size_t in_len, char out[11])
{
    size_t b = 0, e = in_len, i;
    int y = 0, m = 0, d = 0, a = 0, c = 0;
    char sep;

    while (b < e && (in[b] == ' ' || in[b] == '\t'))
        b++;
    while (e > b && (in[e - 1] == ' ' || in[e - 1] == '\t'))
        e--;
    in += b;
    in_len = e - b;
    size_t date_len = 0, time_at = 0;
    int midnight = 0;
    if (mr_datetime_split(in, in_len, &date_len, &time_at)) {
        if (!mr_time_of_day(in + time_at, in_len - time_at, &midnight) || !midnight)
            return MEDREG_ERR_INVALID;
        in_len = date_len;
    }
    int compact = in_len == 8;
    for (i = 0; compact && i < 8; i++)
        if (in[i] < '0' || in[i] > '9')
            compact = 0;
    if (compact) {
        i = 0;
        take_digits(in, in_len, &i, 4, 4, &y);
        take_digits(in, in_len, &i, 2, 2, &m);
        take_digits(in, in_len, &i, 2, 2, &d);
    } else {
        i = 0;
        if (!take_digits(in, in_len, &i, 1, 4, &a) || i >= in_len)
            return MEDREG_ERR_INVALID;
        int first_len = (int)i;
        sep = in[i++];
        if (sep != '-' && sep != '.' && sep != '/')
            return MEDREG_ERR_INVALID;
        if (!take_digits(in, in_len, &i, 1, 2, &c) || i >= in_len || in[i] != sep)
            return MEDREG_ERR_INVALID;
        i++;
        int third;
        size_t before = i;
        if (!take_digits(in, in_len, &i, 1, 4, &third) || i != in_len)
            return MEDREG_ERR_INVALID;
        if (first_len == 4) { /* YYYY-MM-DD (also with . or /) */
            if (i - before > 2)
                return MEDREG_ERR_INVALID;
            y = a;
            m = c;
            d = third;
        } else {
            if (first_len > 2 || i - before != 4)
                return MEDREG_ERR_INVALID;
            y = third;
            if (sep == '/' && rule->slash_order == MEDREG_DATE_MDY) {
                m = a;
                d = c;
            } else {
                d = a;
                m = c;
            }
        }
    }
    if (y < 1800 || y > 2200 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return MEDREG_ERR_INVALID;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = 0;
    return MEDREG_OK;
}

static int alnum_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    return ch - 'A' + 10;
}

static int check_luhn(const char *s, size_t n)
{
    int sum = 0, dbl = 0;
    if (n < 2)
        return 0;
    for (size_t i = n; i-- > 0;) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        int v = s[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static int check_ean13(const char *s, size_t n)
{
    int sum = 0;
    if (n != 13)
        return 0;
    for (size_t i = 0; i < 13; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        sum += (s[i] - '0') * ((i % 2) ? 3 : 1);
    }
    return sum % 10 == 0;
}

static int check_mod97(const char *s, size_t n)
{
    unsigned r = 0;
    if (n < 3)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int v = alnum_value(s[i]);
        r = (v >= 10) ? (r * 100 + (unsigned)v) % 97 : (r * 10 + (unsigned)v) % 97;
    }
    return r == 1;
}

/* into out[0..in_len], which the caller wipes on failure */
static medreg_err normalize_code(const medreg_ident_rule *rule, const char *in, size_t in_len, char *out)
{
    size_t n = 0;
    int ok = 1;
    for (size_t i = 0; i < in_len; i++) {
        char ch = in[i];
        if (ch == ' ' || ch == '-' || ch == '.' || ch == '/' || ch == '\t')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) {
            ok = 0;
            break;
        }
        out[n++] = ch;
    }
    out[n] = 0;
    if (ok && n == 0)
        ok = 0;
    if (ok) {
        switch (rule->check) {
        case MEDREG_CHECK_NONE: break;
        case MEDREG_CHECK_LUHN: ok = check_luhn(out, n); break;
        case MEDREG_CHECK_EAN13: ok = check_ean13(out, n); break;
        case MEDREG_CHECK_MOD97: ok = check_mod97(out, n); break;
        default: ok = 0;
        }
    }
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

static medreg_err check_input(const medreg_ident_rule *rule, const char *in, size_t in_len)
{
    if (rule == NULL || in == NULL)
        return MEDREG_ERR_INVALID;
    if (in_len > MEDREG_IDENT_MAX)
        return MEDREG_ERR_TOOBIG;
    if (u8_check((const uint8_t *)in, in_len) != NULL || memchr(in, 0, in_len) != NULL)
        return MEDREG_ERR_INVALID;
    return MEDREG_OK;
}

/* Dates and codes into a buffer of the caller's (no allocation: the CSV tool
 * normalises several per row); anything else, or a code longer than the
 * buffer, is MEDREG_ERR_TOOBIG and goes through medreg_normalize. */
medreg_err mr_normalize_into(const medreg_ident_rule *rule, const char *in, size_t in_len, char *out, size_t cap)
{
    medreg_err rc = check_input(rule, in, in_len);
    if (rc != MEDREG_OK)
        return rc;
    if (rule->kind == MEDREG_IDENT_DATE && cap >= 11)
        rc = normalize_date(rule, in, in_len, out);
    else if (rule->kind == MEDREG_IDENT_CODE && cap > in_len)
        rc = normalize_code(rule, in, in_len, out);
    else
        return MEDREG_ERR_TOOBIG;
    if (rc != MEDREG_OK)
        mr_wipe(out, cap);
    return rc;
}

medreg_err medreg_normalize(const medreg_ident_rule *rule, const char *in, size_t in_len,
                            char **out)
{
    *out = NULL;
    if (rule != NULL && rule->kind == MEDREG_IDENT_NAME) {
        medreg_err rc = check_input(rule, in, in_len);
        return rc != MEDREG_OK ? rc : mr_normalize_name_unicode((const uint8_t *)in, in_len, 1, out);
    }
    if (rule == NULL || (rule->kind != MEDREG_IDENT_DATE && rule->kind != MEDREG_IDENT_CODE))
        return MEDREG_ERR_INVALID;
    if (in_len > MEDREG_IDENT_MAX) /* before the allocation; the other checks are mr_normalize_into's */
        return MEDREG_ERR_TOOBIG;
    size_t cap = rule->kind == MEDREG_IDENT_DATE ? 11 : in_len + 1;
    char *buf = malloc(cap);
    if (buf == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = mr_normalize_into(rule, in, in_len, buf, cap);
    if (rc != MEDREG_OK) {
        free(buf); /* wiped by mr_normalize_into */
        return rc;
    }
    *out = buf;
    return MEDREG_OK;
}
