/* Materialised result sets: a flat array of cells, each owning its bytes. */
#include <stdlib.h>
#include <string.h>

#include "db.h"

typedef struct cell {
    uint8_t *p; /* always NUL-terminated */
    size_t len;
    int64_t iv;
    int is_null, is_int;
} cell;

struct mr_rows {
    size_t ncols, ncells, cap;
    cell *cells;
};

medreg_err mr_rows_new(size_t ncols, mr_rows **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return MEDREG_ERR_NOMEM;
    (*out)->ncols = ncols;
    return MEDREG_OK;
}

medreg_err mr_rows_add_cell(mr_rows *r, int is_null, int is_int, int64_t iv, const void *p,
                            size_t len)
{
    if (r->ncells == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        cell *c = realloc(r->cells, cap * sizeof *c);
        if (c == NULL)
            return MEDREG_ERR_NOMEM;
        r->cells = c;
        r->cap = cap;
    }
    cell *c = &r->cells[r->ncells];
    memset(c, 0, sizeof *c);
    c->is_null = is_null;
    c->is_int = is_int;
    c->iv = iv;
    c->p = malloc(len + 1);
    if (c->p == NULL)
        return MEDREG_ERR_NOMEM;
    if (len)
        memcpy(c->p, p, len);
    c->p[len] = 0;
    c->len = len;
    r->ncells++;
    return MEDREG_OK;
}

static const cell *at(const mr_rows *r, size_t row, size_t col)
{
    size_t i = row * r->ncols + col;
    return (r && col < r->ncols && i < r->ncells) ? &r->cells[i] : NULL;
}

size_t mr_rows_count(const mr_rows *r) { return r && r->ncols ? r->ncells / r->ncols : 0; }

int mr_rows_isnull(const mr_rows *r, size_t row, size_t col)
{
    const cell *c = at(r, row, col);
    return c == NULL || c->is_null;
}

const char *mr_rows_text(const mr_rows *r, size_t row, size_t col)
{
    const cell *c = at(r, row, col);
    return c ? (const char *)c->p : "";
}

const uint8_t *mr_rows_blob(const mr_rows *r, size_t row, size_t col, size_t *len)
{
    const cell *c = at(r, row, col);
    *len = c ? c->len : 0;
    return c ? c->p : NULL;
}

int64_t mr_rows_int(const mr_rows *r, size_t row, size_t col)
{
    const cell *c = at(r, row, col);
    if (c == NULL || c->is_null)
        return 0;
    if (c->is_int)
        return c->iv;
    return strtoll((const char *)c->p, NULL, 10);
}

void mr_rows_free(mr_rows *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ncells; i++) {
        /* results may hold sealed identifying data: wipe as we free */
        memset(r->cells[i].p, 0, r->cells[i].len);
        free(r->cells[i].p);
    }
    free(r->cells);
    free(r);
}
