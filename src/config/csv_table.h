/* The small CSV tables a configuration names (DICOM's profile table, the
 * pixel rules, the safe private attributes), read one way: whole (at most
 * 1 MiB), RFC 4180 through libcsv, a line at a time so that an error names
 * its line as "FILE:LINE: problem" (the ini files' shape); a line that
 * starts with '#' is a comment, and empty lines are skipped. */
#ifndef MR_CSV_TABLE_H
#define MR_CSV_TABLE_H

#include <stddef.h>

#include "../core/safety.h"

#define MR_TABLE_CELLS 16    /* cells kept per row; a row may have more */
#define MR_TABLE_CELL_MAX 80 /* bytes kept per cell, the NUL included */

typedef struct mr_table_row {
    unsigned long line; /* the line the row ends on */
    size_t n;           /* cells in the row */
    int cut;            /* a kept cell was longer than MR_TABLE_CELL_MAX - 1 bytes */
    char cell[MR_TABLE_CELLS][MR_TABLE_CELL_MAX];
} mr_table_row;

/* One row: 0 to go on; otherwise write why into why (why_len bytes) and
 * return non-zero, which stops the reading at this row. */
typedef int (*mr_table_row_fn)(void *ctx, const mr_table_row *row, char *why, size_t why_len);

/* A callback's refusal: writes what into why and returns -1. */
int mr_table_refuse(char *why, size_t why_len, const char *what);

/* Read the table at path, each row through fn. what names the table in the
 * message when the file cannot be read. MEDREG_ERR_CONFIG with *errmsg
 * (malloc'ed) on any failure, MEDREG_ERR_NOMEM without memory. */
MR_MUST_CHECK medreg_err mr_table_read(const char *path, const char *what, mr_table_row_fn fn, void *ctx,
                                       char **errmsg);

#endif
