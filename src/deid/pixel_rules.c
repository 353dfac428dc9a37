#include "pixel_rules.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "dicom_values.h"

#define N_COLS 9
#define CELL_MAX 65
#define MAX_RULES 4096

static const char *const HEADER[N_COLS] = {"modality", "manufacturer", "model", "rows", "columns",
                                           "x",        "y",            "width", "height"};

typedef struct reader {
    mr_pixel_rules *out;
    char cells[N_COLS][CELL_MAX];
    size_t col;
    int too_long, header_seen;
    unsigned long line; /* the line being read */
    char why[160];
} reader;

static void on_cell(void *s, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->col < N_COLS) {
        r->too_long |= len >= CELL_MAX;
        size_t n = len < CELL_MAX - 1 ? len : CELL_MAX - 1;
        memcpy(r->cells[r->col], s, n);
        r->cells[r->col][n] = 0;
    }
    r->col++;
}

/* a whole number from 0 to 65535 */
static int u16(const char *s, uint16_t *out)
{
    uint64_t v = 0;
    if (!mr_parse_u64(s, strlen(s), &v) || v > 0xFFFF)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

static void on_row(int c, void *ctx)
{
    (void)c;
    reader *r = ctx;
    size_t ncols = r->col;
    r->col = 0;
    if (r->why[0])
        return;
    if (ncols != N_COLS || r->too_long) {
        snprintf(r->why, sizeof r->why, "expected %d columns of at most %d characters", N_COLS, CELL_MAX - 1);
        return;
    }
    if (!r->header_seen) {
        r->header_seen = 1;
        for (size_t i = 0; i < N_COLS; i++)
            if (strcmp(r->cells[i], HEADER[i]) != 0)
                snprintf(r->why, sizeof r->why, "the header must be modality,manufacturer,model,rows,columns,x,y,"
                                                "width,height");
        return;
    }
    mr_pixel_rule p;
    memset(&p, 0, sizeof p);
    p.line = r->line;
    if (r->cells[0][0] == 0 || strlen(r->cells[0]) > 16 || !strcmp(r->cells[0], "*")) {
        snprintf(r->why, sizeof r->why, "a modality (US, SC, …) of up to 16 characters; not '*'");
        return;
    }
    snprintf(p.modality, sizeof p.modality, "%.16s", r->cells[0]); /* checked: at most 16 */
    snprintf(p.manufacturer, sizeof p.manufacturer, "%s", r->cells[1]);
    snprintf(p.model, sizeof p.model, "%s", r->cells[2]);
    if (!u16(r->cells[3], &p.rows) || !u16(r->cells[4], &p.columns) || !u16(r->cells[5], &p.x) ||
        !u16(r->cells[6], &p.y) || !u16(r->cells[7], &p.width) || !u16(r->cells[8], &p.height)) {
        snprintf(r->why, sizeof r->why, "rows, columns, x, y, width and height are whole numbers up to 65535");
        return;
    }
    if (p.rows == 0 || p.columns == 0 || p.width == 0 || p.height == 0 || (unsigned)p.x + p.width > p.columns ||
        (unsigned)p.y + p.height > p.rows) {
        snprintf(r->why, sizeof r->why, "the region must be inside the image (x + width <= columns, y + height <= "
                                        "rows) and not empty");
        return;
    }
    if (r->out->n == MAX_RULES) {
        snprintf(r->why, sizeof r->why, "more than %d regions", MAX_RULES);
        return;
    }
    if ((r->out->n & (r->out->n - 1)) == 0 && r->out->n >= 16) { /* full at 16, 32, 64, … */
        mr_pixel_rule *v = realloc(r->out->v, 2 * r->out->n * sizeof *v);
        if (v == NULL) {
            snprintf(r->why, sizeof r->why, "out of memory");
            return;
        }
        r->out->v = v;
    }
    r->out->v[r->out->n++] = p;
}

medreg_err mr_pixel_rules_load(const char *path, mr_pixel_rules *out, char **errmsg)
{
    struct csv_parser csv;
    reader *r = calloc(1, sizeof *r);
    char *text = NULL;
    size_t len = 0;
    medreg_err rc = MEDREG_ERR_CONFIG;

    memset(out, 0, sizeof *out);
    *errmsg = NULL;
    out->v = calloc(16, sizeof *out->v);
    if (r == NULL || out->v == NULL || csv_init(&csv, CSV_STRICT | CSV_APPEND_NULL) != 0) {
        free(r);
        mr_pixel_rules_free(out);
        return MEDREG_ERR_NOMEM;
    }
    r->out = out;
    medreg_err frc = mr_file_read(path, 1u << 20, &text, &len);
    if (frc != MEDREG_OK)
        snprintf(r->why, sizeof r->why, frc == MEDREG_ERR_TOOBIG ? "larger than 1 MiB" : "cannot read the pixel rules");
    /* a line at a time, so that an error names its line and a comment
     * (which may hold anything, quotes too) never reaches libcsv */
    for (size_t at = 0; text && at < len && !r->why[0];) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) + 1 : len - at;
        r->line++;
        if (text[at] != '#' && csv_parse(&csv, text + at, n, on_cell, on_row, r) != n && !r->why[0])
            snprintf(r->why, sizeof r->why, "%s", csv_strerror(csv_error(&csv)));
        at += n;
    }
    if (text && !r->why[0])
        csv_fini(&csv, on_cell, on_row, r);
    if (text && !r->why[0] && !r->header_seen)
        snprintf(r->why, sizeof r->why, "empty: the header line is missing");
    if (r->why[0]) {
        int ok = r->line ? asprintf(errmsg, "%s:%lu: %s", path, r->line, r->why) : asprintf(errmsg, "%s: %s", path, r->why);
        if (ok < 0)
            *errmsg = NULL;
        mr_pixel_rules_free(out);
    } else {
        rc = MEDREG_OK;
    }
    csv_free(&csv);
    free(text);
    free(r);
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
