#include "dicom_charset.h"

#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"
#include "dicom_values.h"

/* the Japanese terms of (0008,0005), as bits */
enum { JP_IR6 = 1, JP_IR13 = 2, JP_IR87 = 4, JP_IR159 = 8 };

/* term [p, p+n) without its padding, as a JP_ bit; 0 if not Japanese */
static unsigned japanese_term(const char *p, size_t n, int first)
{
    while (n && p[0] == ' ')
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
        n--;
    static const struct {
        const char *term;
        unsigned bit;
    } T[] = {{"ISO 2022 IR 6", JP_IR6}, {"ISO 2022 IR 13", JP_IR13}, {"ISO 2022 IR 87", JP_IR87},
             {"ISO 2022 IR 159", JP_IR159}};
    if (n == 0)
        return first ? JP_IR6 : 0; /* an empty first value: the default repertoire */
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (strlen(T[i].term) == n && memcmp(T[i].term, p, n) == 0)
            return T[i].bit;
    return 0;
}

/* the terms of charset as JP_ bits (*first: the first value's), or 0 if one
 * is not Japanese */
static unsigned japanese_terms(const char *charset, unsigned *first)
{
    unsigned all = 0;
    *first = 0;
    for (const char *p = charset;;) {
        size_t n = strcspn(p, "\\");
        unsigned bit = japanese_term(p, n, p == charset);
        if (bit == 0)
            return 0;
        if (p == charset)
            *first = bit;
        all |= bit;
        if (p[n] == 0)
            return all;
        p += n + 1;
    }
}

int mr_dicom_charset_japanese(const char *charset)
{
    unsigned first;
    return (japanese_terms(charset, &first) & (JP_IR13 | JP_IR87 | JP_IR159)) != 0;
}

/* what G0 (bytes 0x21-0x7E) stands for; G1 (0xA1-0xDF) is half-width katakana or nothing */
enum g0_set { G0_ASCII, G0_ROMAN, G0_JISX0208, G0_JISX0212 };

static int is_delimiter(uint8_t b, int person_name)
{
    return b == '\r' || b == '\n' || b == '\t' || b == '\f' || b == '\\' || (person_name && (b == '^' || b == '='));
}

/* in[*i] is ESC: the designation it makes, if the charset declared it */
static int escape(const uint8_t *in, size_t n, size_t *i, unsigned declared, enum g0_set *g0, int *kana)
{
    static const struct {
        const char *seq;
        unsigned needs;
        int g0; /* -1: G1 katakana */
    } E[] = {{"(B", 0, G0_ASCII},        {"(J", JP_IR13, G0_ROMAN},     {"$B", JP_IR87, G0_JISX0208},
             {"$@", JP_IR87, G0_JISX0208}, {"$(D", JP_IR159, G0_JISX0212}, {")I", JP_IR13, -1}};
    for (size_t k = 0; k < sizeof E / sizeof E[0]; k++) {
        size_t l = strlen(E[k].seq);
        if (n - *i - 1 < l || memcmp(in + *i + 1, E[k].seq, l) != 0)
            continue;
        if (E[k].needs && !(declared & E[k].needs))
            return 0;
        if (E[k].g0 < 0)
            *kana = 1;
        else
            *g0 = (enum g0_set)E[k].g0;
        *i += 1 + l;
        return 1;
    }
    return 0;
}

/* the value rewritten in EUC-JP: ASCII as itself (JIS X 0201 Roman too:
 * it differs from ASCII in two symbols only, '¥' and '‾', kept as '\\' and
 * '~' so that the delimiter stays one), JIS X 0208 with both bytes' high
 * bits set, JIS X 0212 the same after 0x8F, a half-width katakana after 0x8E */
static medreg_err to_euc_jp(const uint8_t *in, size_t n, unsigned declared, unsigned first, int person_name,
                            uint8_t *euc, size_t *used)
{
    const enum g0_set g0_start = first == JP_IR13 ? G0_ROMAN : G0_ASCII;
    const int kana_start = first == JP_IR13;
    enum g0_set g0 = g0_start;
    int kana = kana_start;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t b = in[i];
        if (b == 0x1B) {
            if (!escape(in, n, &i, declared, &g0, &kana))
                return MEDREG_ERR_INVALID;
            continue;
        }
        if ((g0 == G0_JISX0208 || g0 == G0_JISX0212) && b >= 0x21 && b <= 0x7E) {
            if (i + 1 >= n || in[i + 1] < 0x21 || in[i + 1] > 0x7E)
                return MEDREG_ERR_INVALID; /* half a character */
            if (g0 == G0_JISX0212)
                euc[o++] = 0x8F;
            euc[o++] = b | 0x80;
            euc[o++] = in[i + 1] | 0x80;
            i += 2;
            continue;
        }
        if (b >= 0x80) {
            if (!kana || b < 0xA1 || b > 0xDF)
                return MEDREG_ERR_INVALID;
            euc[o++] = 0x8E;
            euc[o++] = b;
            i++;
            continue;
        }
        if (b == 0)
            return MEDREG_ERR_INVALID;
        /* a control character, a space, or G0 in one byte */
        euc[o++] = b;
        i++;
        if ((g0 == G0_ASCII || g0 == G0_ROMAN || b < 0x21) && is_delimiter(b, person_name)) {
            g0 = g0_start;
            kana = kana_start;
        }
    }
    *used = o;
    return MEDREG_OK;
}

medreg_err mr_dicom_japanese_to_utf8(const char *charset, const char *value, size_t n, int person_name, char **out)
{
    unsigned first, declared = japanese_terms(charset, &first);
    *out = NULL;
    if (declared == 0)
        return MEDREG_ERR_INVALID;
    if (n > SIZE_MAX / 3 - 1)
        return MEDREG_ERR_TOOBIG;
    /* EUC-JP takes at most 3 bytes for 2 of input (JIS X 0212), 2 for 1
     * (katakana); UTF-8 at most 3 for every EUC-JP character's 2 or 3, and
     * 3 for a katakana's 2: 3n bounds both */
    uint8_t *euc = malloc(2 * n + 1);
    char *utf8 = malloc(3 * n + 1);
    size_t used = 0;
    medreg_err rc = MEDREG_ERR_NOMEM;
    if (euc == NULL || utf8 == NULL)
        goto out;
    if ((rc = to_euc_jp((const uint8_t *)value, n, declared, first, person_name, euc, &used)) != MEDREG_OK)
        goto out;
    iconv_t cd = iconv_open("UTF-8", "EUC-JP");
    if (cd == (iconv_t)-1) {
        rc = MEDREG_ERR_INVALID;
        goto out;
    }
    char *ip = (char *)euc, *op = utf8;
    size_t il = used, ol = 3 * n;
    /* a code no character has (an unassigned JIS row) stops iconv: refused */
    rc = iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0 ? MEDREG_ERR_INVALID : MEDREG_OK;
    iconv_close(cd);
    if (rc == MEDREG_OK) {
        *op = 0;
        *out = utf8;
        utf8 = NULL;
    }
out:
    if (euc)
        mr_wipe(euc, 2 * n + 1);
    if (utf8)
        mr_wipe(utf8, 3 * n + 1);
    free(euc);
    free(utf8);
    return rc;
}

typedef struct convert_ctx {
    const char *charset;
    int failed, nomem, nested_charset;
} convert_ctx;

static mr_dcm_action convert(void *arg, const mr_dcm_elem *e, char **rep)
{
    convert_ctx *c = arg;
    static const char *const TEXT_VRS[] = {"SH", "LO", "ST", "LT", "PN", "UC", "UT"};
    if (e->in_meta || e->value == NULL)
        return MR_DCM_KEEP;
    if (e->depth > 0 && e->group == 0x0008 && e->element == 0x0005 && strcmp(e->value, c->charset) != 0) {
        c->nested_charset = 1; /* an item with a character set of its own: not followed here */
        return MR_DCM_KEEP;
    }
    int text = 0;
    for (size_t i = 0; i < sizeof TEXT_VRS / sizeof TEXT_VRS[0]; i++)
        text |= !strcmp(e->vr, TEXT_VRS[i]);
    size_t n = strlen(e->value), k = 0;
    while (k < n && e->value[k] != 0x1B && (uint8_t)e->value[k] < 0x80)
        k++;
    if (!text || k == n)
        return MR_DCM_KEEP; /* ASCII reads the same in UTF-8 */
    medreg_err rc = mr_dicom_japanese_to_utf8(c->charset, e->value, n, !strcmp(e->vr, "PN"), rep);
    if (rc == MEDREG_OK)
        return MR_DCM_REPLACE;
    c->failed |= rc == MEDREG_ERR_INVALID || rc == MEDREG_ERR_TOOBIG;
    c->nomem |= rc == MEDREG_ERR_NOMEM;
    return MR_DCM_KEEP;
}

medreg_err mr_dicom_text_to_utf8(mr_dcm_file *f, const char *assumed, char **why)
{
    char *charset = NULL;
    *why = NULL;
    if (mr_dcm_get(f, 0x0008, 0x0005, &charset) != MEDREG_OK || charset == NULL || mr_dcm_value_equals(charset, "")) {
        free(charset);
        charset = assumed ? strdup(assumed) : NULL; /* nothing declared: what the configuration says */
        if (assumed && charset == NULL)
            return MEDREG_ERR_NOMEM;
    }
    if (charset == NULL || !mr_dicom_charset_japanese(charset)) {
        free(charset);
        return mr_dcm_to_utf8(f, assumed, why);
    }
    convert_ctx c = {charset, 0, 0, 0};
    medreg_err rc = mr_dcm_walk(f, convert, &c, why);
    if (rc == MEDREG_OK && c.nomem)
        rc = MEDREG_ERR_NOMEM;
    if (rc == MEDREG_OK && (c.failed || c.nested_charset)) {
        char msg[200];
        snprintf(msg, sizeof msg, "its text cannot be read in its character set '%.60s'%s", charset,
                 c.nested_charset ? ": a sequence item declares a character set of its own" : "");
        *why = strdup(msg);
        rc = MEDREG_ERR_INVALID;
    }
    if (rc == MEDREG_OK)
        rc = mr_dcm_put(f, 0x0008, 0x0005, "ISO_IR 192");
    free(charset);
    return rc;
}
