/* Normalisation on real-world names in Latin, Greek, Cyrillic and CJK
 * scripts, dates in the common forms, and codes with check digits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "../../../src/pseudonym/normalize_into.h"
#include "medreg/pseudonym.h"

static const medreg_ident_rule NAME = {MEDREG_IDENT_NAME, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
static const medreg_ident_rule DATE = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
static const medreg_ident_rule DATE_US = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE, MEDREG_DATE_MDY};

static void expect(const medreg_ident_rule *r, const char *in, const char *want)
{
    char *out = NULL;
    medreg_err rc = medreg_normalize(r, in, strlen(in), &out);
    if (want == NULL) {
        CHECK(rc == MEDREG_ERR_INVALID || rc == MEDREG_ERR_TOOBIG);
        if (rc == MEDREG_OK)
            fprintf(stderr, "  input \"%s\" was accepted as \"%s\"\n", in, out);
    } else {
        CHECK(rc == MEDREG_OK);
        CHECK_STR(out, want);
    }
    free(out);
    /* the allocation-free path gives the same for dates and codes */
    if (r->kind != MEDREG_IDENT_NAME) {
        char buf[64];
        memset(buf, 'x', sizeof buf);
        rc = mr_normalize_into(r, in, strlen(in), buf, sizeof buf);
        if (want == NULL) {
            CHECK(rc == MEDREG_ERR_INVALID || rc == MEDREG_ERR_TOOBIG);
        } else if (strlen(in) < sizeof buf) {
            CHECK(rc == MEDREG_OK);
            CHECK_STR(buf, want);
        }
    }
}

medreg_err mr_normalize_name_unicode(const uint8_t *in, size_t in_len, int ascii_fast, char **out);

/* The ASCII fast path gives what libunistring's full path gives: every
 * single character, every pair, and many random strings. */
static void ascii_fast_path(void)
{
    unsigned char s[24];
    int mismatches = 0;
    unsigned long x = 88172645463325252ul;
    for (int k = 0; k < 128 * 128 + 200000; k++) {
        size_t n;
        if (k < 128) {
            s[0] = (unsigned char)k, n = 1;
        } else if (k < 128 * 128) {
            s[0] = (unsigned char)(k / 128), s[1] = (unsigned char)(k % 128), n = 2;
        } else {
            n = 1 + k % 20;
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: fixed, reproducible */
                s[i] = (unsigned char)(x % 128);
            }
        }
        char *a = NULL, *b = NULL;
        medreg_err ra = mr_normalize_name_unicode(s, n, 1, &a), rb = mr_normalize_name_unicode(s, n, 0, &b);
        if (ra != rb || (ra == MEDREG_OK && strcmp(a, b) != 0))
            mismatches++;
        free(a);
        free(b);
    }
    CHECK(mismatches == 0);
}

static size_t put_utf8(unsigned char *s, unsigned cp)
{
    if (cp < 0x80)
        return s[0] = (unsigned char)cp, 1;
    if (cp < 0x800)
        return s[0] = (unsigned char)(0xc0 | cp >> 6), s[1] = (unsigned char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000)
        return s[0] = (unsigned char)(0xe0 | cp >> 12), s[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
               s[2] = (unsigned char)(0x80 | (cp & 0x3f)), 3;
    return s[0] = (unsigned char)(0xf0 | cp >> 18), s[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
           s[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), s[3] = (unsigned char)(0x80 | (cp & 0x3f)), 4;
}

/* Skipping NFC when nothing can compose gives what the full path gives:
 * every code point alone, after a letter, and before a combining acute;
 * every code point of the Hangul blocks after every leading jamo. */
static void no_compose_fast_path(void)
{
    int mismatches = 0;
    for (unsigned cp = 1; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        unsigned char s[16];
        int hangul = (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xac00 && cp <= 0xd7ff);
        for (int form = 0; form < (hangul ? 3 + 19 : 3); form++) {
            size_t n = 0;
            if (form == 1)
                s[n++] = 'a';
            if (form >= 3)
                n += put_utf8(s + n, 0x1100 + (unsigned)(form - 3)); /* a leading jamo */
            n += put_utf8(s + n, cp);
            if (form == 2)
                n += put_utf8(s + n, 0x301);
            char *a = NULL, *b = NULL;
            medreg_err ra = mr_normalize_name_unicode(s, n, 1, &a), rb = mr_normalize_name_unicode(s, n, 0, &b);
            if (ra != rb || (ra == MEDREG_OK && strcmp(a, b) != 0)) {
                if (mismatches++ < 5)
                    fprintf(stderr, "fast path differs at U+%04X, form %d\n", cp, form);
            }
            free(a);
            free(b);
        }
    }
    CHECK(mismatches == 0);
}

int main(void)
{
    ascii_fast_path();
    no_compose_fast_path();
    /* Latin: diacritics, case, spacing, punctuation */
    expect(&NAME, "Jürgen Müller", "jurgen muller");
    expect(&NAME, " JÜRGEN  MÜLLER ", "jurgen muller");
    expect(&NAME, "Ju\xcc\x88rgen", "jurgen"); /* decomposed ü */
    expect(&NAME, "O'Brien", "obrien");
    expect(&NAME, "Anne-Sophie", "annesophie");
    expect(&NAME, "Strauß", "strauss");
    expect(&NAME, "François Lefèvre", "francois lefevre");
    expect(&NAME, "Łukasz Żółć", "łukasz zołc"); /* ł has no decomposition: kept */
    expect(&NAME, "Ørsted", "ørsted");
    expect(&NAME, "ＭＵＬＬＥＲ", "muller"); /* fullwidth compatibility forms */
    expect(&NAME, "Nguyễn Thị Minh Khai", "nguyen thi minh khai");
    expect(&NAME, "Dvořák\tAntonín", "dvorak antonin");
    expect(&NAME, "Zo\xe2\x80\x8b" "e", "zoe"); /* zero-width space dropped */
    /* Greek: accents removed, final sigma folded */
    expect(&NAME, "ΣΩΚΡΆΤΗΣ", "σωκρατησ");
    expect(&NAME, "Σωκράτης", "σωκρατησ");
    expect(&NAME, "Παπαδόπουλος", "παπαδοπουλοσ");
    /* Cyrillic: й and ё lose their marks like every diacritic */
    expect(&NAME, "Пётр Чайковский", "петр чаиковскии");
    expect(&NAME, "ПЁТР  ЧАЙКОВСКИЙ", "петр чаиковскии");
    /* CJK: unchanged apart from spacing; fullwidth space collapses */
    expect(&NAME, "山田 太郎", "山田 太郎");
    expect(&NAME, "山田\xe3\x80\x80太郎", "山田 太郎");
    expect(&NAME, "김민준", "김민준");
    /* refused */
    expect(&NAME, "", NULL);
    expect(&NAME, " .,'- ", NULL);
    expect(&NAME, "bad\x01name", NULL);
    expect(&NAME, "\xc3\x28", NULL); /* invalid UTF-8 */
    expect(&NAME, "\xed\xa0\x80", NULL); /* encoded surrogate */
    {
        char big[MEDREG_IDENT_MAX + 2];
        memset(big, 'a', sizeof big - 1);
        big[sizeof big - 1] = 0;
        expect(&NAME, big, NULL);
    }

    /* dates */
    expect(&DATE, "1961-03-07", "1961-03-07");
    expect(&DATE, "07.03.1961", "1961-03-07");
    expect(&DATE, "7.3.1961", "1961-03-07");
    expect(&DATE, " 19610307 ", "1961-03-07");
    expect(&DATE, "07/03/1961", "1961-03-07");
    expect(&DATE_US, "03/07/1961", "1961-03-07");
    expect(&DATE, "07-03-1961", "1961-03-07");
    expect(&DATE, "2000-02-29", "2000-02-29");
    expect(&DATE, "1900-02-29", NULL); /* not a leap year */
    expect(&DATE, "2023-02-29", NULL);
    expect(&DATE, "31.04.2020", NULL);
    expect(&DATE, "2020-13-01", NULL);
    expect(&DATE, "2020-00-10", NULL);
    expect(&DATE, "07.03.61", NULL); /* two-digit years are refused */
    expect(&DATE, "1961-3-7x", NULL);
    expect(&DATE, "1961/03", NULL);
    expect(&DATE, "tomorrow", NULL);
    expect(&DATE, "1799-12-31", NULL);
    /* a database's datetime at midnight is the date; any other time is not a birth date */
    expect(&DATE, "1961-03-07 00:00:00.000", "1961-03-07");
    expect(&DATE, "1961-03-07T00:00:00Z", "1961-03-07");
    expect(&DATE, "07.03.1961  00:00", "1961-03-07");
    expect(&DATE_US, "3/7/1961 12:00:00 AM", "1961-03-07");
    expect(&DATE, "1961-03-07 00:00:01", NULL);
    expect(&DATE, "1961-03-07 12:00 PM", NULL);
    expect(&DATE, "1961-03-07 00:00:00.0001", NULL);
    expect(&DATE, "1961-03-07 ", "1961-03-07"); /* trimmed: no time at all */
    expect(&DATE, "1961-03-07 0", NULL);
    expect(&DATE, "1961-03-07T", NULL);
    expect(&DATE, "19610307T000000", NULL);

    /* times of day after a date (the CSV tool keeps them beside a shifted date) */
    static const struct { const char *t; int ok, midnight; } TIMES[] = {
        {"13:45", 1, 0}, {"0:00", 1, 1}, {"23:59:60", 1, 0}, {"08:30:15.123456789", 1, 0}, {"08:30:15,5", 1, 0},
        {"1:45 PM", 1, 0}, {"12:00:00 am", 1, 1}, {"12:00PM", 1, 0}, {"00:00:00+01:00", 1, 1}, {"10:00-0530", 1, 0},
        {"10:00+02", 1, 0}, {"10:00Z", 1, 0},
        {"24:00", 0, 0}, {"13:45 PM", 0, 0}, {"0:00 AM", 0, 0}, {"10:60", 0, 0}, {"10:5", 0, 0}, {"10", 0, 0},
        {"10:00:61", 0, 0}, {"10:00:00.", 0, 0}, {"10:00:00.1234567890", 0, 0}, {"10:00+15", 0, 0},
        {"10:00+01:", 0, 0}, {"10:00+01:60", 0, 0}, {"10:00 XM", 0, 0}, {"10:00Zx", 0, 0}, {"", 0, 0}, {":00", 0, 0},
    };
    for (size_t i = 0; i < sizeof TIMES / sizeof TIMES[0]; i++) {
        int midnight = -1, ok = mr_time_of_day(TIMES[i].t, strlen(TIMES[i].t), &midnight);
        if (ok != TIMES[i].ok || (ok && midnight != TIMES[i].midnight))
            fprintf(stderr, "time of day '%s': %d/%d\n", TIMES[i].t, ok, midnight);
        CHECK(ok == TIMES[i].ok && (!ok || midnight == TIMES[i].midnight));
    }

    /* codes and check digits */
    medreg_ident_rule code = {MEDREG_IDENT_CODE, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
    expect(&code, "ab-12 34.x/y", "AB1234XY");
    expect(&code, "AB_12", NULL);
    code.check = MEDREG_CHECK_LUHN;
    expect(&code, "7992 7398 713", "79927398713");
    expect(&code, "79927398710", NULL);
    code.check = MEDREG_CHECK_EAN13;
    expect(&code, "756.1234.5678.97", "7561234567897"); /* the Swiss AHV example number */
    expect(&code, "756.1234.5678.98", NULL);
    code.check = MEDREG_CHECK_MOD97;
    expect(&code, "12345678-89", "1234567889");
    expect(&code, "1234567898", NULL);
    { /* mr_normalize_into leaves names, and codes that may not fit, to medreg_normalize */
        char small[8];
        const medreg_ident_rule code_rule = {MEDREG_IDENT_CODE, MEDREG_CHECK_NONE, MEDREG_DATE_DMY};
        CHECK(mr_normalize_into(&NAME, "Anna", 4, small, sizeof small) == MEDREG_ERR_TOOBIG);
        CHECK(mr_normalize_into(&code_rule, "12345678", 8, small, sizeof small) == MEDREG_ERR_TOOBIG);
        CHECK(mr_normalize_into(&code_rule, "1234-567", 8, small, sizeof small) == MEDREG_ERR_TOOBIG);
        CHECK(mr_normalize_into(&code_rule, "123-456", 7, small, sizeof small) == MEDREG_OK && !strcmp(small, "123456"));
        CHECK(mr_normalize_into(&DATE, "1.2.1990", 8, small, sizeof small) == MEDREG_ERR_TOOBIG);
        CHECK(mr_normalize_into(&code_rule, "12\xff", 3, small, sizeof small) == MEDREG_ERR_INVALID);
    }
    return TEST_DONE();
}
