#include "dicom_values.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/secret.h"
#include "dicom_io.h"
#include "free_text.h"

int mr_dcm_value_equals(const char *value, const char *want)
{
    size_t a = 0, b = strlen(value), n = strlen(want);
    while (a < b && value[a] == ' ')
        a++;
    while (b > a && (value[b - 1] == ' ' || value[b - 1] == 0))
        b--;
    return b - a == n && memcmp(value + a, want, n) == 0;
}

static const struct {
    const char *vr, *value;
} DUMMY[] = {{"DA", "19000101"}, {"TM", "000000"}, {"DT", "19000101000000"}, {"AS", "000Y"}, {"DS", "0"},
             {"IS", "0"},        {"US", "0"},      {"SS", "0"},             {"UL", "0"},   {"SL", "0"},
             {"FL", "0"},        {"FD", "0"},      {"UV", "0"},             {"SV", "0"},   {"PN", "ANONYMIZED"},
             {"CS", "ANONYMIZED"}, {"AE", "ANONYMIZED"}, {"SH", "ANONYMIZED"}, {"LO", "ANONYMIZED"},
             {"ST", "ANONYMIZED"}, {"LT", "ANONYMIZED"}, {"UT", "ANONYMIZED"}, {"UC", "ANONYMIZED"},
             {"UR", ""}};

const char *mr_dcm_dummy_for(const char *vr)
{
    for (size_t i = 0; i < MR_ARRAY_LEN(DUMMY); i++)
        if (!strcmp(DUMMY[i].vr, vr))
            return DUMMY[i].value;
    return NULL; /* binary VRs, sequences: emptied */
}

/* A dummy is what the de-identifier writes itself: in an input (a file
 * another tool de-identified, "ANONYMIZED" as the institution) it names
 * no one, and as a token it would fail every output that gets it again. */
static int is_dummy(const char *p, size_t len)
{
    for (size_t i = 0; i < MR_ARRAY_LEN(DUMMY); i++)
        if (strlen(DUMMY[i].value) == len && strncasecmp(DUMMY[i].value, p, len) == 0)
            return 1;
    return 0;
}

static int add(mr_dcm_tokens *t, const char *p, size_t len)
{
    while (len && (*p == ' ' || *p == 0))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == 0))
        len--;
    if (len < 2 || is_dummy(p, len))
        return 1; /* "M", "F": too short to mean anything alone */
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **v = realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return 0;
        t->v = v;
        t->cap = cap;
    }
    if ((t->v[t->n] = strndup(p, len)) == NULL)
        return 0;
    t->n++;
    return 1;
}

/* components split by '\\'; person names also by '^' and '=' */
static int add_value(mr_dcm_tokens *t, const char *v, int person_name)
{
    const char *seps = person_name ? "\\^=" : "\\";
    for (const char *p = v;;) {
        size_t len = strcspn(p, seps);
        if (!add(t, p, len))
            return 0;
        if (p[len] == 0)
            break;
        p += len + 1;
    }
    return 1;
}

typedef struct collect_ctx {
    const mr_dicom_config *cfg; /* by the rules, or */
    const uint32_t *tags;       /* these elements, whatever the rules say */
    size_t n_tags;
    mr_dcm_tokens *t;
    int with_dates, nomem;
} collect_ctx;

int mr_dcm_elem_listed(const mr_dcm_elem *e, const uint32_t *tags, size_t n_tags)
{
    uint32_t tag = (uint32_t)e->group << 16 | e->element;
    for (size_t i = 0; i < n_tags; i++)
        if (tags[i] == tag)
            return !e->in_meta;
    return 0;
}

static mr_dcm_action collect(void *arg, const mr_dcm_elem *e, char **rep)
{
    collect_ctx *c = arg;
    int psn = 0, take;
    (void)rep;
    if (e->value == NULL)
        return MR_DCM_KEEP;
    if (c->tags) {
        take = mr_dcm_elem_listed(e, c->tags, c->n_tags);
    } else {
        mr_dcm_rule r = mr_dicom_classify(c->cfg, e, &psn);
        int date = !strcmp(e->vr, "DA") || !strcmp(e->vr, "DT");
        take = psn || (r != MR_RULE_KEEP && r != MR_RULE_CLEAN) || (c->with_dates && r == MR_RULE_CLEAN && date);
    }
    if (take && !add_value(c->t, e->value, !strcmp(e->vr, "PN")))
        c->nomem = 1;
    return MR_DCM_KEEP; /* look only; every item is walked */
}

static int longest_first(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? 1 : -1) : strcmp(x, y);
}

/* the tokens longest first, without duplicates */
static void tidy(mr_dcm_tokens *t)
{
    qsort(t->v, t->n, sizeof *t->v, longest_first);
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (k > 0 && !strcmp(t->v[k - 1], t->v[i])) {
            mr_wipe(t->v[i], strlen(t->v[i]));
            free(t->v[i]);
            continue;
        }
        t->v[k++] = t->v[i];
    }
    t->n = k;
}

/* the walk of either, then tidy */
static medreg_err collect_walk(collect_ctx c, mr_dcm_file *f)
{
    mr_dcm_tokens *t = c.t;
    char *why = NULL;
    medreg_err rc = mr_dcm_walk(f, collect, &c, &why);
    free(why);
    if (rc == MEDREG_OK && c.nomem)
        rc = MEDREG_ERR_NOMEM;
    if (rc != MEDREG_OK) {
        mr_dcm_tokens_free(t);
        return rc;
    }
    tidy(t);
    return MEDREG_OK;
}

medreg_err mr_dcm_collect_tokens(const mr_dicom_config *cfg, mr_dcm_file *f, int with_dates, mr_dcm_tokens *t)
{
    return collect_walk((collect_ctx){cfg, NULL, 0, t, with_dates, 0}, f);
}

medreg_err mr_dcm_collect_tokens_of(mr_dcm_file *f, const uint32_t *tags, size_t n_tags, mr_dcm_tokens *t)
{
    if (tags == NULL || n_tags == 0)
        return MEDREG_ERR_INVALID;
    return collect_walk((collect_ctx){NULL, tags, n_tags, t, 0, 0}, f);
}

medreg_err mr_dcm_tokens_add(mr_dcm_tokens *t, const mr_dcm_tokens *from)
{
    for (size_t i = 0; i < from->n; i++)
        if (!add(t, from->v[i], strlen(from->v[i]))) {
            mr_dcm_tokens_free(t);
            return MEDREG_ERR_NOMEM;
        }
    tidy(t);
    return MEDREG_OK;
}

void mr_dcm_tokens_free(mr_dcm_tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        mr_wipe(t->v[i], strlen(t->v[i]));
        free(t->v[i]);
    }
    free(t->v);
    memset(t, 0, sizeof *t);
}

char *mr_dcm_tokens_clean(const mr_dcm_tokens *t, const char *text)
{
    char *out = strdup(text);
    if (out == NULL)
        return NULL;
    size_t len = strlen(out);
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->v[i]), from = 0, at, hit;
        if (n < 3)
            break; /* longest first */
        /* in any case: "MÜLLER" in a description goes with the name "Müller" */
        while (mr_text_casefind(out + from, len - from, t->v[i], n, &at, &hit)) {
            from += at;
            if (n < MR_DCM_SHORT_TOKEN && !mr_text_is_word(out, len, from, hit)) {
                from += hit; /* part of another word */
                continue;
            }
            memmove(out + from, out + from + hit, len - from - hit + 1);
            len -= hit;
        }
    }
    return out;
}

/* v (n bytes, 3 or more) as a word of its own somewhere in value */
static int word_in(const char *value, size_t len, const char *v, size_t n)
{
    size_t from = 0, at, hit;
    while (mr_text_casefind(value + from, len - from, v, n, &at, &hit)) {
        if (mr_text_is_word(value, len, from + at, hit))
            return 1;
        from += at + hit;
    }
    return 0;
}

int mr_dcm_token_is_number(const char *token)
{
    return token[0] != 0 && token[strspn(token, "0123456789")] == 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

medreg_err mr_dcm_age_aggregate(const char *value, char **out, int *changed)
{
    size_t len = strlen(value);
    char *o = malloc(len + 1), *w = o;
    *out = NULL;
    *changed = 0;
    if (o == NULL)
        return MEDREG_ERR_NOMEM;
    for (const char *p = value;;) {
        const char *end = strchr(p, '\\');
        size_t a = 0, b = end ? (size_t)(end - p) : strlen(p);
        while (a < b && (p[a] == ' ' || p[a] == 0))
            a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == 0))
            b--;
        if (b > a) {
            if (b - a != 4 || !is_digit(p[a]) || !is_digit(p[a + 1]) || !is_digit(p[a + 2]) ||
                p[a + 3] == 0 || strchr("DWMY", p[a + 3]) == NULL) {
                free(o);
                return MEDREG_ERR_INVALID;
            }
            /* 999 months, weeks or days are all under 90 years */
            int over = p[a + 3] == 'Y' && (p[a] - '0') * 100 + (p[a + 1] - '0') * 10 + (p[a + 2] - '0') >= 90;
            memcpy(w, over ? "090Y" : p + a, 4);
            *changed |= over && memcmp(p + a, "090Y", 4) != 0;
            w += 4;
        }
        if (end == NULL)
            break;
        *w++ = '\\';
        p = end + 1;
    }
    *w = 0;
    *out = o;
    return MEDREG_OK;
}

/* the number v (n digits) somewhere in value, not inside a longer one */
static int number_in(const char *value, size_t len, const char *v, size_t n)
{
    for (const char *p = value; (p = memmem(p, len - (size_t)(p - value), v, n)) != NULL; p++)
        if ((p == value || !is_digit(p[-1])) && (p + n == value + len || !is_digit(p[n])))
            return 1;
    return 0;
}

int mr_dcm_tokens_found(const mr_dcm_tokens *t, const char *value)
{
    size_t len = strlen(value);
    for (size_t i = 0; i < t->n; i++) {
        size_t n = strlen(t->v[i]);
        size_t at, hit;
        if (n >= MR_DCM_SHORT_TOKEN && mr_dcm_token_is_number(t->v[i]) ? number_in(value, len, t->v[i], n)
            : n >= MR_DCM_SHORT_TOKEN                                  ? mr_text_casefind(value, len, t->v[i], n, &at, &hit)
                                                                       : n >= 3 && word_in(value, len, t->v[i], n))
            return 1;
    }
    /* two-byte tokens: only a whole component */
    for (const char *p = value;;) {
        size_t clen = strcspn(p, "\\^=");
        for (size_t i = 0; i < t->n; i++) {
            size_t n = strlen(t->v[i]);
            const char *q = p;
            size_t l = clen;
            while (l && *q == ' ')
                q++, l--;
            while (l && (q[l - 1] == ' ' || q[l - 1] == 0))
                l--;
            size_t at = 0, hit = 0;
            if (n < 3 && mr_text_casefind(q, l, t->v[i], n, &at, &hit) && at == 0 && hit == l)
                return 1;
        }
        if (p[clen] == 0)
            break;
        p += clen + 1;
    }
    return 0;
}

medreg_err mr_dcm_pixel_frames(mr_dcm_file *f, mr_codestream_frames *c, char *why, size_t why_len)
{
    static const char RLE[] = "1.2.840.10008.1.2.5";
    uint8_t *bytes = NULL;
    size_t n = 0;
    char xfer[65] = "";
    int tables_ok = 0;
    memset(c, 0, sizeof *c);
    medreg_err rc = mr_dcm_compressed_pixels(f, &bytes, &n, xfer, &tables_ok);
    if (rc == MEDREG_ERR_INVALID)
        snprintf(why, why_len, "DCMTK cannot give its compressed pixels");
    if (rc == MEDREG_OK && strcmp(xfer, RLE) == 0 && !tables_ok) {
        snprintf(why, why_len, "its offset table holds more than offsets");
        rc = MEDREG_ERR_INVALID; /* RLE frames are not walked, so not written anew */
    } else if (rc == MEDREG_OK && strcmp(xfer, RLE) == 0) {
        rc = MEDREG_ERR_NOTFOUND;
    }
    if (rc == MEDREG_OK)
        rc = mr_codestream_strip_text(bytes, n, c, why, why_len);
    if (rc == MEDREG_OK && !tables_ok)
        c->removed++; /* an offset table that holds more than offsets: written anew */
    if (bytes)
        mr_wipe(bytes, n);
    free(bytes);
    return rc;
}

int mr_dcm_tokens_found_bytes(const mr_dcm_tokens *t, const uint8_t *bytes, size_t n)
{
    char *text = malloc(n + 1);
    if (text == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        text[i] = bytes[i] ? (char)bytes[i] : ' ';
    text[n] = 0;
    int found = mr_dcm_tokens_found(t, text);
    mr_wipe(text, n);
    free(text);
    return found;
}
