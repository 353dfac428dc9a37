#include "pixel_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/csv_table.h"
#include "../core/encode.h"
#include "dicom_values.h"

#define N_COLS 9
#define CELL_MAX 65
#define MAX_RULES 4096

static const char *const HEADER[N_COLS] = {"modality", "manufacturer", "model", "rows", "columns",
                                           "x",        "y",            "width", "height"};

typedef struct reader {
    mr_pixel_rules *out;
    int header_seen;
} reader;

/* a whole number from 0 to 65535 */
static int u16(const char *s, uint16_t *out)
{
    uint64_t v = 0;
    if (!mr_parse_u64(s, strlen(s), &v) || v > 0xFFFF)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

static int on_row(void *ctx, const mr_table_row *row, char *why, size_t why_len)
{
    reader *r = ctx;
    int too_long = row->cut;
    for (size_t i = 0; i < N_COLS && i < row->n; i++)
        too_long |= strlen(row->cell[i]) >= CELL_MAX;
    if (row->n != N_COLS || too_long) {
        snprintf(why, why_len, "expected %d columns of at most %d characters", N_COLS, CELL_MAX - 1);
        return -1;
    }
    if (!r->header_seen) {
        r->header_seen = 1;
        for (size_t i = 0; i < N_COLS; i++)
            if (strcmp(row->cell[i], HEADER[i]) != 0) {
                return mr_table_refuse(why, why_len,
                                       "the header must be modality,manufacturer,model,rows,columns,x,y,width,height");
            }
        return 0;
    }
    mr_pixel_rule p;
    memset(&p, 0, sizeof p);
    p.line = row->line;
    if (row->cell[0][0] == 0 || strlen(row->cell[0]) > 16 || !strcmp(row->cell[0], "*")) {
        return mr_table_refuse(why, why_len, "a modality (US, SC, …) of up to 16 characters; not '*'");
    }
    snprintf(p.modality, sizeof p.modality, "%.16s", row->cell[0]); /* checked: at most 16 */
    snprintf(p.manufacturer, sizeof p.manufacturer, "%.64s", row->cell[1]); /* checked: at most 64 */
    snprintf(p.model, sizeof p.model, "%.64s", row->cell[2]);
    if (!u16(row->cell[3], &p.rows) || !u16(row->cell[4], &p.columns) || !u16(row->cell[5], &p.x) ||
        !u16(row->cell[6], &p.y) || !u16(row->cell[7], &p.width) || !u16(row->cell[8], &p.height)) {
        return mr_table_refuse(why, why_len,
                               "rows, columns, x, y, width and height are whole numbers up to 65535");
    }
    if (p.rows == 0 || p.columns == 0 || p.width == 0 || p.height == 0 || (unsigned)p.x + p.width > p.columns ||
        (unsigned)p.y + p.height > p.rows) {
        return mr_table_refuse(why, why_len,
                               "the region must be inside the image (x + width <= columns, y + height <= rows) and "
                               "not empty");
    }
    if (r->out->n == MAX_RULES) {
        snprintf(why, why_len, "more than %d regions", MAX_RULES);
        return -1;
    }
    if ((r->out->n & (r->out->n - 1)) == 0 && r->out->n >= 16) { /* full at 16, 32, 64, … */
        mr_pixel_rule *v = realloc(r->out->v, 2 * r->out->n * sizeof *v);
        if (v == NULL) {
            return mr_table_refuse(why, why_len, "out of memory");
        }
        r->out->v = v;
    }
    r->out->v[r->out->n++] = p;
    return 0;
}

medreg_err mr_pixel_rules_load(const char *path, mr_pixel_rules *out, char **errmsg)
{
    reader r = {out, 0};
    memset(out, 0, sizeof *out);
    *errmsg = NULL;
    if ((out->v = calloc(16, sizeof *out->v)) == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = mr_table_read(path, "pixel rules", on_row, &r, errmsg);
    if (rc == MEDREG_OK && !r.header_seen) {
        rc = MEDREG_ERR_CONFIG;
        if (asprintf(errmsg, "%s: empty: the header line is missing", path) < 0)
            *errmsg = NULL;
    }
    if (rc != MEDREG_OK)
        mr_pixel_rules_free(out);
    return rc;
}

void mr_pixel_rules_free(mr_pixel_rules *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* "*": anything; an empty cell: the attribute absent or empty */
static int text_matches(const char *want, const char *value)
{
    return !strcmp(want, "*") || (value == NULL ? want[0] == 0 : mr_dcm_value_equals(value, want));
}

int mr_pixel_rule_matches(const mr_pixel_rule *r, const char *modality, const char *manufacturer, const char *model,
                          unsigned rows, unsigned columns)
{
    return modality != NULL && mr_dcm_value_equals(modality, r->modality) &&
           text_matches(r->manufacturer, manufacturer) && text_matches(r->model, model) && rows == r->rows &&
           columns == r->columns;
}

medreg_err mr_pixel_rules_for(const mr_pixel_rules *rules, mr_dcm_file *f, mr_dcm_region **out, size_t *n,
                              unsigned long *line)
{
    static const uint16_t TAGS[5][2] = {{0x0008, 0x0060}, {0x0008, 0x0070}, {0x0008, 0x1090}, {0x0028, 0x0010},
                                        {0x0028, 0x0011}}; /* modality, manufacturer, model, rows, columns */
    char *v[5] = {NULL};
    medreg_err rc = MEDREG_OK;
    *out = NULL;
    *n = 0;
    *line = 0;
    if (rules->n == 0)
        return MEDREG_OK;
    for (size_t i = 0; i < 5; i++)
        if (mr_dcm_get(f, TAGS[i][0], TAGS[i][1], &v[i]) == MEDREG_ERR_NOMEM)
            rc = MEDREG_ERR_NOMEM;
    uint64_t size[2] = {0, 0}; /* rows, columns: US values, as DCMTK prints them; 0 matches no rule */
    for (size_t i = 0; i < 2; i++)
        if (v[3 + i] == NULL || !mr_parse_u64(v[3 + i], strlen(v[3 + i]), &size[i]) || size[i] > 0xFFFF)
            size[i] = 0;
    for (size_t i = 0; rc == MEDREG_OK && i < rules->n; i++) {
        const mr_pixel_rule *r = &rules->v[i];
        if (!mr_pixel_rule_matches(r, v[0], v[1], v[2], (unsigned)size[0], (unsigned)size[1]))
            continue;
        if (*n == 0 && (*out = malloc(rules->n * sizeof **out)) == NULL) {
            rc = MEDREG_ERR_NOMEM;
            break;
        }
        if (*n == 0)
            *line = r->line;
        (*out)[(*n)++] = (mr_dcm_region){r->x, r->y, r->width, r->height};
    }
    for (size_t i = 0; i < 5; i++)
        free(v[i]);
    return rc;
}
