/* Table E.1-1, read with libcsv, resolved into one rule per attribute and
 * looked up by binary search. */
#include "dicom_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/csv_table.h"
#include "../core/encode.h"

static const struct {
    const char *name, *code, *meaning;
} OPTIONS[MR_DCM_N_OPTIONS] = {
    {"retain_safe_private", "113111", "Retain Safe Private Option"},
    {"retain_uids", "113110", "Retain UIDs Option"},
    {"retain_device_identity", "113109", "Retain Device Identity Option"},
    {"retain_institution_identity", "113112", "Retain Institution Identity Option"},
    {"retain_patient_characteristics", "113108", "Retain Patient Characteristics Option"},
    {"retain_longitudinal_full_dates", "113106", "Retain Longitudinal Temporal Information Full Dates Option"},
    {"retain_longitudinal_modified_dates", "113107",
     "Retain Longitudinal Temporal Information Modified Dates Option"},
    {"clean_descriptors", "113105", "Clean Descriptors Option"},
    {"clean_structured_content", "113104", "Clean Structured Content Option"},
    {"clean_graphics", "113103", "Clean Graphics Option"},
};

const char *mr_dcm_option_name(unsigned i)
{
    return i < MR_DCM_N_OPTIONS ? OPTIONS[i].name : NULL;
}

const char *mr_dcm_option_code(unsigned i)
{
    return i < MR_DCM_N_OPTIONS ? OPTIONS[i].code : NULL;
}

const char *mr_dcm_option_meaning(unsigned i)
{
    return i < MR_DCM_N_OPTIONS ? OPTIONS[i].meaning : NULL;
}

typedef struct rule_row {
    uint32_t tag; /* group << 16 | element */
    uint8_t rule;
} rule_row;

struct mr_dcm_profile {
    rule_row *rows;
    size_t n, cap;
    mr_dcm_rule curve, overlay_data, overlay_comments, private_rule;
};

#define N_COLS 14 /* tag, name, retired, basic, ten options */

typedef struct reader {
    mr_dcm_profile *p;
    unsigned options;
    int header_seen;
} reader;

static int basic_rule(const char *code, mr_dcm_rule *out)
{
    static const struct {
        const char *code;
        mr_dcm_rule rule;
    } MAP[] = {{"X", MR_RULE_REMOVE},   {"Z", MR_RULE_EMPTY},    {"D", MR_RULE_DUMMY},
               {"U", MR_RULE_UID},      {"K", MR_RULE_KEEP},     {"C", MR_RULE_CLEAN},
               {"Z/D", MR_RULE_DUMMY},  {"X/D", MR_RULE_DUMMY},  {"X/Z/D", MR_RULE_DUMMY},
               {"X/Z", MR_RULE_EMPTY},  {"X/Z/U*", MR_RULE_SEQ_UIDS}};
    for (size_t i = 0; i < MR_ARRAY_LEN(MAP); i++)
        if (!strcmp(MAP[i].code, code)) {
            *out = MAP[i].rule;
            return 1;
        }
    return 0;
}

static int on_row(void *ctx, const mr_table_row *row, char *why, size_t why_len)
{
    reader *r = ctx;
    if (row->n != N_COLS)
        return mr_table_refuse(why, why_len, "expected 14 columns");
    if (!r->header_seen) { /* the header names the option columns in order */
        r->header_seen = 1;
        for (unsigned i = 0; i < MR_DCM_N_OPTIONS; i++)
            if (strcmp(row->cell[4 + i], OPTIONS[i].name) != 0)
                return mr_table_refuse(why, why_len,
                                       "the header is not table E.1-1's (tag, name, retired, basic_profile, options)");
        return 0;
    }
    mr_dcm_rule rule;
    if (!basic_rule(row->cell[3], &rule))
        return mr_table_refuse(why, why_len, "unknown action code in basic_profile");
    /* an enabled option's K beats its C beats the basic profile */
    int keep = 0, clean = 0;
    for (unsigned i = 0; i < MR_DCM_N_OPTIONS; i++) {
        const char *cell = row->cell[4 + i];
        if (!(r->options & (1u << i)) || cell[0] == 0)
            continue;
        if (!strcmp(cell, "K"))
            keep = 1;
        else if (!strcmp(cell, "C"))
            clean = 1;
        else
            return mr_table_refuse(why, why_len, "an option's action must be K or C");
    }
    if (keep)
        rule = MR_RULE_KEEP;
    else if (clean)
        rule = MR_RULE_CLEAN;

    const char *tag = row->cell[0];
    uint8_t ge[4]; /* group, element: big-endian */
    char digits[9] = "";
    if (strlen(tag) == 11 && tag[0] == '(' && tag[5] == ',' && tag[10] == ')') {
        memcpy(digits, tag + 1, 4);
        memcpy(digits + 4, tag + 6, 4);
    }
    if (!strcmp(tag, "(50xx,xxxx)")) {
        r->p->curve = rule;
    } else if (!strcmp(tag, "(60xx,3000)")) {
        r->p->overlay_data = rule;
    } else if (!strcmp(tag, "(60xx,4000)")) {
        r->p->overlay_comments = rule;
    } else if (!strncmp(tag, "(gggg,eeee)", 11)) {
        r->p->private_rule = rule;
    } else if (mr_unhex_exact(digits, ge, 4)) {
        if (r->p->n == r->p->cap) {
            size_t cap = r->p->cap ? 2 * r->p->cap : 1024;
            rule_row *rows = realloc(r->p->rows, cap * sizeof *rows);
            if (rows == NULL)
                return mr_table_refuse(why, why_len, "out of memory");
            r->p->rows = rows;
            r->p->cap = cap;
        }
        uint32_t key = (uint32_t)ge[0] << 24 | (uint32_t)ge[1] << 16 | (uint32_t)ge[2] << 8 | ge[3];
        r->p->rows[r->p->n++] = (rule_row){key, (uint8_t)rule};
    } else {
        return mr_table_refuse(why, why_len, "the tag is not (gggg,eeee)");
    }
    return 0;
}

static int cmp_row(const void *a, const void *b)
{
    uint32_t x = ((const rule_row *)a)->tag, y = ((const rule_row *)b)->tag;
    return x < y ? -1 : x > y;
}

medreg_err mr_dcm_profile_load(const char *path, unsigned options, mr_dcm_profile **out, char **errmsg)
{
    mr_dcm_profile *p = calloc(1, sizeof *p);
    medreg_err rc = MEDREG_ERR_CONFIG;

    *out = NULL;
    *errmsg = NULL;
    if (p == NULL)
        return MEDREG_ERR_NOMEM;
    p->private_rule = MR_RULE_REMOVE;
    p->curve = p->overlay_data = p->overlay_comments = MR_RULE_REMOVE;
    if ((options & MR_OPT_RETAIN_LONGITUDINAL_FULL_DATES) && (options & MR_OPT_RETAIN_LONGITUDINAL_MODIFIED_DATES)) {
        if (asprintf(errmsg, "retain_longitudinal_full_dates and retain_longitudinal_modified_dates exclude "
                             "each other") < 0)
            *errmsg = NULL;
        goto out;
    }
    reader r = {p, options, 0};
    if ((rc = mr_table_read(path, "profile table", on_row, &r, errmsg)) != MEDREG_OK)
        goto out;
    if (p->n < 100) {
        rc = MEDREG_ERR_CONFIG;
        if (asprintf(errmsg, "%s: fewer than 100 attributes: not table E.1-1", path) < 0)
            *errmsg = NULL;
        goto out;
    }
    qsort(p->rows, p->n, sizeof *p->rows, cmp_row);
    *out = p;
    p = NULL;
    rc = MEDREG_OK;
out:
    mr_dcm_profile_free(p);
    return rc;
}

void mr_dcm_profile_free(mr_dcm_profile *p)
{
    if (p == NULL)
        return;
    free(p->rows);
    free(p);
}

size_t mr_dcm_profile_rows(const mr_dcm_profile *p)
{
    return p->n + 4;
}

mr_dcm_rule mr_dcm_profile_rule(const mr_dcm_profile *p, uint16_t group, uint16_t element)
{
    if (group & 1)
        return p->private_rule;
    if ((group & 0xFF00) == 0x5000)
        return p->curve;
    if ((group & 0xFF00) == 0x6000 && element == 0x3000)
        return p->overlay_data;
    if ((group & 0xFF00) == 0x6000 && element == 0x4000)
        return p->overlay_comments;
    rule_row key = {(uint32_t)group << 16 | element, 0};
    const rule_row *hit = bsearch(&key, p->rows, p->n, sizeof *p->rows, cmp_row);
    return hit ? (mr_dcm_rule)hit->rule : MR_RULE_KEEP;
}
