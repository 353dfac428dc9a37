/* The independent check: it trusts nothing the de-identifier recorded. It
 * reads the input again, takes every value the profile says must not
 * survive, and the direct identifiers whatever the profile says (the
 * patient's names, IDs, birth, address; the staff's names), and looks for
 * each in every element of the output (meta header, private attributes and
 * every sequence item included) and in the output's raw bytes, which also
 * covers values DCMTK would not show as text; and where an output says its
 * burned-in text is gone, it reads the pixels of the regions the pixel
 * rules give for the input; and that compressed pixels carry no text
 * segments, pixel data nothing past its image, the preamble zeros, and no
 * age stands above Safe Harbor's "90 or older" (090Y). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/multi_find.h"
#include "../core/secret.h"
#include "dicom_charset.h"
#include "dicom_values.h"
#include "pixel_rules.h"

/* The input's values by element, padding trimmed, sorted: "kGGGGEEEE|v"
 * for those the profile keeps, "dGGGGEEEE|v" for the dates it shifts.
 *
 * Kept: a Study ID "400" is an identifying value, and so was the Window
 * Width beside it, "400"; a department "CT", and so was the Modality; a
 * Study Description "PELVIS" (removed by the basic profile), and so was
 * the Body Part Examined. A value found in an output element that holds
 * just what the input held there, the profile keeping it, is that
 * element's own value, not a survivor: the de-identifier does what the
 * profile says. But for a direct identifier's value of MR_DCM_SHORT_TOKEN
 * bytes or more (a patient ID in a kept code string: a profile that keeps
 * it is wrong), and never in a direct identifier's own element.
 *
 * Shifted: every date of the input is an identifying value, and one moved
 * by the patient's shift may land on another (a study date and a content
 * date as many days apart as the shift). A date the profile shifts is a
 * survivor where the output holds the input's own date there, unshifted;
 * equal to another of the input's dates, it is one shifted onto it. */
typedef struct in_values {
    const mr_dicom_config *cfg;
    char **v;
    size_t n, cap;
    int nomem;
} in_values;

static int direct_identifier(const mr_dcm_elem *e);

/* a date the profile shifts, not empty (an empty one shows nothing) */
static int shifted_date(const mr_dcm_elem *e, mr_dcm_rule r)
{
    return r == MR_RULE_CLEAN && (!strcmp(e->vr, "DA") || !strcmp(e->vr, "DT")) && e->value &&
           e->value[strspn(e->value, " \\")] != 0;
}

static char *value_key(char kind, const mr_dcm_elem *e)
{
    const char *v = e->value;
    size_t a = 0, b = strlen(v);
    while (a < b && v[a] == ' ')
        a++;
    while (b > a && (v[b - 1] == ' ' || v[b - 1] == 0))
        b--;
    char *k = NULL;
    return asprintf(&k, "%c%04X%04X|%.*s", kind, e->group, e->element, (int)(b - a), v + a) < 0 ? NULL : k;
}

static int push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (s == NULL)
        return 0;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        char **nv = realloc(*v, c * sizeof *nv);
        if (nv == NULL) {
            free(s);
            return 0;
        }
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = s;
    return 1;
}

static mr_dcm_action note_value(void *arg, const mr_dcm_elem *e, char **rep)
{
    in_values *k = arg;
    int psn = 0;
    (void)rep;
    if (e->value == NULL || direct_identifier(e))
        return MR_DCM_KEEP;
    mr_dcm_rule r = mr_dicom_classify(k->cfg, e, &psn);
    char kind = psn ? 0 : r == MR_RULE_KEEP ? 'k' : shifted_date(e, r) ? 'd' : 0;
    if (kind && !push(&k->v, &k->n, &k->cap, value_key(kind, e)))
        k->nomem = 1;
    return MR_DCM_KEEP;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mr_wipe(v[i], strlen(v[i]));
        free(v[i]);
    }
    free(v);
}

typedef struct scan_ctx {
    const mr_dicom_config *cfg;
    const mr_dcm_tokens *t;            /* every identifying value of the input */
    const mr_dcm_tokens *direct;       /* the direct identifiers' */
    mr_dcm_tokens long_direct;         /* direct's first ones (longest first), of MR_DCM_SHORT_TOKEN bytes or more */
    const in_values *in;
    char **explained; /* output values where a value found is no survivor (kept as they were, shifted dates) */
    size_t n_explained, cap_explained;
    const char *out_path;
    FILE *findings;
    unsigned long found;
    int nomem;
} scan_ctx;

/* Does the output element hold what the input held there (kind 'k' or 'd')? */
static int as_it_was(scan_ctx *s, char kind, const mr_dcm_elem *e)
{
    char *key = value_key(kind, e);
    if (key == NULL) {
        s->nomem = 1;
        return 0;
    }
    int hit = bsearch(&key, s->in->v, s->in->n, sizeof *s->in->v, by_string) != NULL;
    mr_wipe(key, strlen(key));
    free(key);
    return hit;
}

/* An output value in which a value found is no survivor: the raw scan
 * passes over as many of its occurrences as these values hold (but for a
 * direct identifier's). */
static void explain(scan_ctx *s, const char *v)
{
    if (!push(&s->explained, &s->n_explained, &s->cap_explained, strdup(v)))
        s->nomem = 1;
}

static mr_dcm_action scan(void *arg, const mr_dcm_elem *e, char **rep)
{
    scan_ctx *s = arg;
    int psn = 0, found = 0;
    (void)rep;
    mr_dcm_rule r = e->value ? mr_dicom_classify(s->cfg, e, &psn) : MR_RULE_KEEP;
    if (e->value && shifted_date(e, r)) {
        found = as_it_was(s, 'd', e);
        if (!found && mr_dcm_tokens_found(s->t, e->value))
            explain(s, e->value); /* a date shifted onto another */
    } else if (e->value && mr_dcm_tokens_found(s->t, e->value)) {
        found = !as_it_was(s, 'k', e) || mr_dcm_tokens_found(&s->long_direct, e->value);
        if (!found)
            explain(s, e->value); /* kept as it was */
    }
    if (found || (e->bytes && mr_dcm_tokens_found_bytes(s->t, e->bytes, e->n_bytes) != 0)) {
        s->found++;
        if (s->findings)
            fprintf(s->findings, "%s,(%04X,%04X),an identifying value of the input survives in this element\n",
                    s->out_path, e->group, e->element);
    }
    /* an age over 89 identifies under HIPAA Safe Harbor whatever the input
     * said: checked in the output alone */
    char *aged = NULL;
    int changed = 0;
    if (e->value && !strcmp(e->vr, "AS") && !s->cfg->keep_ages_over_89) {
        medreg_err rc = mr_dcm_age_aggregate(e->value, &aged, &changed);
        s->nomem |= rc == MEDREG_ERR_NOMEM;
        if (rc == MEDREG_ERR_INVALID || changed) {
            s->found++;
            if (s->findings)
                fprintf(s->findings, "%s,(%04X,%04X),%s\n", s->out_path, e->group, e->element,
                        changed ? "an age over 90 years (ages_over_89 = aggregate writes 090Y)"
                                : "an age string that is no age");
        }
        free(aged);
    }
    return MR_DCM_KEEP;
}

/* An output that says its burned-in text is gone (Burned In Annotation NO,
 * where the input did not say so) must have every region the pixel rules
 * give for the input at 0. */
static medreg_err check_blanked(const mr_dicom_config *cfg, mr_dcm_file *in, mr_dcm_file *out, const char *out_path,
                                FILE *findings, unsigned long *found)
{
    char *in_says = NULL, *out_says = NULL, *why = NULL;
    mr_dcm_region *r = NULL;
    size_t n = 0;
    unsigned long line = 0, nonzero = 0;
    medreg_err rc = MEDREG_OK;
    int claims = mr_dcm_get(out, 0x0028, 0x0301, &out_says) == MEDREG_OK && mr_dcm_value_equals(out_says, "NO") &&
                 !(mr_dcm_get(in, 0x0028, 0x0301, &in_says) == MEDREG_OK && mr_dcm_value_equals(in_says, "NO"));
    if (claims && (rc = mr_pixel_rules_for(&cfg->pixel_rules, in, &r, &n, &line)) == MEDREG_OK && n > 0 &&
        (mr_dcm_regions_nonzero(out, r, n, &nonzero, &why) != MEDREG_OK || nonzero > 0)) {
        (*found)++;
        if (findings)
            fprintf(findings, "%s,pixels,the regions of the pixel rule of line %lu are not blank (%s)\n", out_path, line,
                    why ? why : "samples other than 0");
    }
    free(in_says);
    free(out_says);
    free(why);
    free(r);
    return rc;
}

/* Compressed pixels must carry no comment or free-form application
 * segment, and offset tables nothing but offsets (the de-identifier takes
 * every one out, mr_dcm_pixel_frames counts them): the search for values
 * misses one whose text a fragment's end cuts in two, or that is in
 * another character set. Pixels that cannot be looked through are left to
 * that search (their file is in the quarantine, saying why). */
static medreg_err check_pixel_text(mr_dcm_file *out, const char *out_path, FILE *findings, unsigned long *found)
{
    mr_codestream_frames c;
    char why[160];
    medreg_err rc = mr_dcm_pixel_frames(out, &c, why, sizeof why);
    if (rc == MEDREG_OK && c.removed > 0) {
        (*found)++;
        if (findings)
            fprintf(findings,
                    "%s,(7FE0,0010),the compressed pixels carry text: %lu comment, application segment or offset "
                    "table that is no image\n",
                    out_path, c.removed);
    }
    mr_codestream_frames_free(&c);
    return rc == MEDREG_ERR_NOMEM ? rc : MEDREG_OK;
}

/* Pixel data (not compressed) no longer than its image: bytes past it
 * are shown by no viewer and may hold anything. */
static void check_pixel_tail(mr_dcm_file *out, const char *out_path, FILE *findings, unsigned long *found)
{
    uint64_t have = 0, need = 0;
    if (mr_dcm_native_pixel_lengths(out, &have, &need) == MEDREG_OK && have > need) {
        (*found)++;
        if (findings)
            fprintf(findings, "%s,(7FE0,0010),%llu bytes past the image in the pixel data\n", out_path,
                    (unsigned long long)(have - need));
    }
}

/* A Part 10 file's preamble, the 128 bytes before "DICM", must be zeros:
 * a writer may fill it as it likes (a TIFF header, a name), and only a
 * value of the input would be found there by the search below. */
static medreg_err check_preamble(const char *out_path, FILE *findings, unsigned long *found)
{
    uint8_t head[132];
    int fd = open(out_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MEDREG_ERR_IO;
    ssize_t n = pread(fd, head, sizeof head, 0);
    close(fd);
    if (n < 0)
        return MEDREG_ERR_IO;
    int used = 0;
    for (size_t i = 0; n == (ssize_t)sizeof head && memcmp(head + 128, "DICM", 4) == 0 && i < 128; i++)
        used |= head[i];
    if (used) {
        (*found)++;
        if (findings)
            fprintf(findings, "%s,preamble,the file preamble holds bytes other than 0\n", out_path);
    }
    return MEDREG_OK;
}

static const uint32_t DIRECT[] = {
    0x00080050, /* Accession Number */
    0x00080090, /* Referring Physician's Name */
    0x00080092, /* Referring Physician's Address */
    0x00080094, /* Referring Physician's Telephone Numbers */
    0x0008009C, /* Consulting Physician's Name */
    0x00081048, /* Physician(s) of Record */
    0x00081050, /* Performing Physician's Name */
    0x00081060, /* Name of Physician(s) Reading Study */
    0x00081070, /* Operators' Name */
    0x00100010, /* Patient's Name */
    0x00100012, /* Name to Use */
    0x00100020, /* Patient ID */
    0x00100030, /* Patient's Birth Date */
    0x00100032, /* Patient's Birth Time */
    0x00101000, /* Other Patient IDs */
    0x00101001, /* Other Patient Names */
    0x00101005, /* Patient's Birth Name */
    0x00101040, /* Patient's Address */
    0x00101050, /* Insurance Plan Identification */
    0x00101060, /* Patient's Mother's Birth Name */
    0x00101090, /* Medical Record Locator */
    0x00102154, /* Patient's Telephone Numbers */
    0x00102155, /* Patient's Telecom Information */
    0x00102297, /* Responsible Person */
    0x00321032, /* Requesting Physician */
    0x00380010, /* Admission ID */
    0x00400006, /* Scheduled Performing Physician's Name */
    0x00401010, /* Names of Intended Recipients of Results */
    0x00404037, /* Human Performer's Name */
    0x0040A075, /* Verifying Observer Name */
    0x0040A123, /* Person Name */
};

const uint32_t *mr_dicom_direct_identifiers(size_t *n)
{
    *n = MR_ARRAY_LEN(DIRECT);
    return DIRECT;
}

static int direct_identifier(const mr_dcm_elem *e)
{
    return mr_dcm_elem_listed(e, DIRECT, MR_ARRAY_LEN(DIRECT));
}

/* How many of the raw scan's occurrences of each token the element scan
 * explained: those in output values kept as they were or dates shifted
 * onto another (but for a direct identifier's value, never explained).
 * A value that occurs in the raw bytes more often than there is still
 * found somewhere else, such as a binary value or bytes no element holds. */
static medreg_err count_explained(const scan_ctx *s, const mr_dcm_tokens *t, const size_t *lens, const uint8_t *apart,
                                  uint32_t *counts)
{
    for (size_t i = 0; i < s->n_explained; i++) {
        size_t n = strlen(s->explained[i]);
        medreg_err rc = mr_multi_count((const uint8_t *)s->explained[i], n, (const char *const *)t->v, lens, apart,
                                       t->n, 0, n, counts);
        if (rc != MEDREG_OK)
            return rc;
    }
    for (size_t i = 0; i < t->n; i++)
        for (size_t j = 0; j < s->direct->n; j++)
            if (!strcmp(s->direct->v[j], t->v[i]))
                counts[i] = 0;
    return MEDREG_OK;
}

#define RAW_PIECE (1u << 20)

/* How often each token (lens[i] bytes; 0: not looked for) occurs in the
 * file's raw bytes, into counts. Read a MiB at a time, each behind the
 * last longest + 1 bytes of the one before (a value across two pieces is
 * whole in the second, with the byte before it: a number must not be part
 * of a longer one): outputs can be large, and a mapping of the file would
 * die of SIGBUS if the file were cut while it is read. An empty file is an
 * error, as it cannot be an output. */
static medreg_err raw_scan(const char *path, const mr_dcm_tokens *t, const size_t *lens, const uint8_t *apart,
                           uint32_t *counts)
{
    size_t longest = 0, have = 0, total = 0, from = 0;
    for (size_t i = 0; i < t->n; i++)
        longest = lens[i] > longest ? lens[i] : longest;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = fd >= 0 ? malloc(RAW_PIECE + longest + 1) : NULL;
    medreg_err rc = fd < 0 ? MEDREG_ERR_IO : buf == NULL ? MEDREG_ERR_NOMEM : MEDREG_OK;
    while (rc == MEDREG_OK) {
        ssize_t n = read(fd, buf + have, RAW_PIECE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 || total == 0 ? MEDREG_ERR_IO : MEDREG_OK;
            /* what ends at the file's last byte: its end is known now */
            if (rc == MEDREG_OK && longest > 0)
                rc = mr_multi_count(buf, have, (const char *const *)t->v, lens, apart, t->n, from, have, counts);
            break;
        }
        have += (size_t)n;
        total += (size_t)n;
        /* what ends before the last byte read: the byte after it is known */
        if (longest > 0 &&
            (rc = mr_multi_count(buf, have, (const char *const *)t->v, lens, apart, t->n, from, have - 1, counts)) !=
                MEDREG_OK)
            break;
        size_t keep = longest == 0 ? 0 : have < longest + 1 ? have : longest + 1;
        memmove(buf, buf + have - keep, keep);
        from = keep == 0 ? 0 : keep - 1; /* the last byte read, counted by nothing yet */
        have = keep;
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

medreg_err mr_dicom_verify(const mr_dicom_config *cfg, const char *in_path, const char *out_path, FILE *findings,
                           unsigned long *survivors)
{
    mr_dcm_file *in = NULL, *out = NULL;
    mr_dcm_tokens t, direct;
    in_values iv = {0};
    scan_ctx s = {0};
    char *why = NULL;
    size_t *lens = NULL;
    uint32_t *raw = NULL, *known = NULL;
    uint8_t *apart = NULL;
    medreg_err rc;

    memset(&t, 0, sizeof t);
    memset(&direct, 0, sizeof direct);
    *survivors = 0;
    /* the input's values as its bytes hold them and, converted, as UTF-8:
     * an output may keep either (another tool's output keeps the input's
     * character set; medreg writes UTF-8) */
    if ((rc = mr_dcm_load(in_path, MR_DCM_LAZY, &in, &why)) != MEDREG_OK ||
        (rc = mr_dcm_collect_tokens(cfg, in, 1, &t)) != MEDREG_OK ||
        (rc = mr_dcm_collect_tokens_of(in, DIRECT, MR_ARRAY_LEN(DIRECT), &direct)) != MEDREG_OK ||
        (rc = mr_dicom_text_to_utf8(in, cfg->assumed_charset, &why)) != MEDREG_OK ||
        (rc = mr_dcm_collect_tokens(cfg, in, 1, &t)) != MEDREG_OK ||
        (rc = mr_dcm_collect_tokens_of(in, DIRECT, MR_ARRAY_LEN(DIRECT), &direct)) != MEDREG_OK ||
        (rc = mr_dcm_tokens_add(&t, &direct)) != MEDREG_OK)
        goto out;
    free(why);
    why = NULL;
    if ((rc = mr_dcm_load(out_path, MR_DCM_LAZY, &out, &why)) != MEDREG_OK ||
        (rc = mr_dicom_text_to_utf8(out, cfg->assumed_charset, &why)) != MEDREG_OK)
        goto out;
    /* what the input keeps and shifts, read in UTF-8 as the output is */
    iv.cfg = cfg;
    if ((rc = mr_dcm_walk(in, note_value, &iv, &why)) != MEDREG_OK)
        goto out;
    if (iv.nomem) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    qsort(iv.v, iv.n, sizeof *iv.v, by_string);
    s = (scan_ctx){cfg, &t, &direct, {direct.v, 0, 0}, &iv, NULL, 0, 0, out_path, findings, 0, 0};
    while (s.long_direct.n < direct.n && strlen(direct.v[s.long_direct.n]) >= MR_DCM_SHORT_TOKEN)
        s.long_direct.n++;
    rc = mr_dcm_walk(out, scan, &s, &why);
    if (rc == MEDREG_OK && s.nomem)
        rc = MEDREG_ERR_NOMEM;
    if (rc != MEDREG_OK)
        goto out;
    if (t.n > 0 && ((lens = malloc(t.n * sizeof *lens)) == NULL || (raw = calloc(t.n, sizeof *raw)) == NULL ||
                    (known = calloc(t.n, sizeof *known)) == NULL || (apart = malloc(t.n)) == NULL)) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < t.n; i++) {
        lens[i] = strlen(t.v[i]);
        lens[i] = lens[i] >= MR_DCM_SHORT_TOKEN ? lens[i] : 0; /* a short one only as a whole value, above */
        apart[i] = (uint8_t)mr_dcm_token_is_number(t.v[i]);
    }
    if ((rc = raw_scan(out_path, &t, lens, apart, raw)) != MEDREG_OK ||
        (rc = count_explained(&s, &t, lens, apart, known)) != MEDREG_OK)
        goto out;
    for (size_t i = 0; i < t.n; i++)
        if (raw[i] > known[i]) {
            s.found++;
            if (findings)
                fprintf(findings, "%s,raw bytes,an identifying value of the input survives in the file's bytes\n",
                        out_path);
        }
    if ((rc = check_blanked(cfg, in, out, out_path, findings, &s.found)) != MEDREG_OK ||
        (rc = check_pixel_text(out, out_path, findings, &s.found)) != MEDREG_OK ||
        (rc = check_preamble(out_path, findings, &s.found)) != MEDREG_OK)
        goto out;
    check_pixel_tail(out, out_path, findings, &s.found);
    *survivors = s.found;
out:
    free(lens);
    free(raw);
    free(known);
    free(apart);
    mr_dcm_tokens_free(&t);
    strings_free(iv.v, iv.n);
    strings_free(s.explained, s.n_explained);
    mr_dcm_tokens_free(&direct);
    free(why);
    mr_dcm_free(in);
    mr_dcm_free(out);
    return rc;
}
