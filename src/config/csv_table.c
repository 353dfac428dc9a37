#include "csv_table.h"

#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"

#define TABLE_MAX (1u << 20)

typedef struct reader {
    mr_table_row row;
    mr_table_row_fn fn;
    void *ctx;
    char why[200];
} reader;

static void on_cell(void *s, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->row.n < MR_TABLE_CELLS) {
        size_t n = len < MR_TABLE_CELL_MAX - 1 ? len : MR_TABLE_CELL_MAX - 1;
        r->row.cut |= len > n;
        if (n)
            memcpy(r->row.cell[r->row.n], s, n);
        r->row.cell[r->row.n][n] = 0;
    }
    r->row.n++;
}

static void on_row(int c, void *ctx)
{
    (void)c;
    reader *r = ctx;
    if (!r->why[0] && r->fn(r->ctx, &r->row, r->why, sizeof r->why) != 0 && !r->why[0])
        snprintf(r->why, sizeof r->why, "refused");
    r->row.n = 0;
    r->row.cut = 0;
}

int mr_table_refuse(char *why, size_t why_len, const char *what)
{
    snprintf(why, why_len, "%s", what);
    return -1;
}

medreg_err mr_table_read(const char *path, const char *what, mr_table_row_fn fn, void *ctx, char **errmsg)
{
    struct csv_parser csv;
    reader *r = calloc(1, sizeof *r);
    char *text = NULL;
    size_t len = 0;
    medreg_err rc = MEDREG_ERR_CONFIG;

    *errmsg = NULL;
    if (r == NULL || csv_init(&csv, CSV_STRICT | CSV_APPEND_NULL) != 0) {
        free(r);
        return MEDREG_ERR_NOMEM;
    }
    r->fn = fn;
    r->ctx = ctx;
    medreg_err frc = mr_regular_file_read(path, TABLE_MAX, &text, &len);
    if (frc != MEDREG_OK) {
        if (asprintf(errmsg,
                     frc == MEDREG_ERR_TOOBIG    ? "%s: larger than 1 MiB"
                     : frc == MEDREG_ERR_INVALID ? "%s: not a regular file, so not the %s"
                                                 : "%s: cannot read the %s",
                     path, what) < 0)
            *errmsg = NULL;
        goto out;
    }
    /* a line at a time: an error names its line, and a comment (which may
     * hold anything, quotes too) never reaches libcsv */
    for (size_t at = 0; at < len && !r->why[0];) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) + 1 : len - at;
        r->row.line++;
        if (text[at] != '#' && csv_parse(&csv, text + at, n, on_cell, on_row, r) != n && !r->why[0])
            snprintf(r->why, sizeof r->why, "%s", csv_strerror(csv_error(&csv)));
        at += n;
    }
    if (!r->why[0])
        csv_fini(&csv, on_cell, on_row, r);
    if (r->why[0]) {
        if (asprintf(errmsg, "%s:%lu: %s", path, r->row.line, r->why) < 0)
            *errmsg = NULL;
        goto out;
    }
    rc = MEDREG_OK;
out:
    csv_free(&csv);
    free(text);
    free(r);
    return rc;
}
