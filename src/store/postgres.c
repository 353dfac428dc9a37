/* PostgreSQL engine (libpq): every statement is prepared once per
 * connection and executed with out-of-line parameters; results come back in
 * binary so that bytea needs no unescaping. */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "stmt_slots.h"

#define CACHE_SLOTS 128
#define MAX_PARAMS 32

/* type OIDs from pg_type.h (stable since PostgreSQL 7) */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

typedef struct pg_conn {
    PGconn *pg;
    const char *prepared[CACHE_SLOTS]; /* see stmt_slots.h */
    unsigned evict;
} pg_conn;

static void pg_disconnect(void *h)
{
    pg_conn *c = h;
    if (c == NULL)
        return;
    PQfinish(c->pg);
    free(c);
}

static medreg_err pg_open_shared(const char *url, void **shared)
{
    (void)url;
    *shared = NULL; /* the server does its own checkpoints */
    return MEDREG_OK;
}

static void pg_close_shared(void *shared) { (void)shared; }

static medreg_err pg_connect(const char *url, void *shared, void **out)
{
    (void)shared;
    pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MEDREG_ERR_NOMEM;
    c->pg = PQconnectdb(url);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        fprintf(stderr, "medreg: postgresql: %s", c->pg ? PQerrorMessage(c->pg) : "out of memory\n");
        pg_disconnect(c);
        return MEDREG_ERR_DB;
    }
    PGresult *res = PQexec(c->pg, "SET client_min_messages = warning");
    PQclear(res);
    *out = c;
    return MEDREG_OK;
}

static medreg_err result_error(PGconn *pg, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "23505") == 0)
        return MEDREG_ERR_EXISTS;
    fprintf(stderr, "medreg: postgresql: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
    return MEDREG_ERR_DB;
}

static int64_t be_int(const char *p, int len)
{
    uint64_t v = 0;
    for (int i = 0; i < len; i++)
        v = (v << 8) | (uint8_t)p[i];
    if (len < 8 && len > 0 && (v >> (len * 8 - 1)) & 1)
        v |= ~(uint64_t)0 << (len * 8); /* sign-extend */
    return (int64_t)v;
}

static medreg_err pg_exec(void *h, const char *sql, const mr_param *p, size_t n, mr_rows **rows)
{
    pg_conn *c = h;
    medreg_err rc = MEDREG_OK;
    PGresult *res = NULL;
    mr_rows *r = NULL;
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS], formats[MAX_PARAMS];
    char ints[MAX_PARAMS][24];
    char name[24];

    if (n > MAX_PARAMS)
        return MEDREG_ERR_INVALID;
    int hit;
    size_t slot = mr_stmt_slot(c->prepared, CACHE_SLOTS, sql, &c->evict, &hit);
    snprintf(name, sizeof name, "s%zu", slot);
    if (!hit) {
        if (c->prepared[slot] != NULL) {
            char dealloc[48];
            snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", name);
            PQclear(PQexec(c->pg, dealloc));
            c->prepared[slot] = NULL;
        }
        res = PQprepare(c->pg, name, sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = result_error(c->pg, res);
            goto out;
        }
        PQclear(res);
        res = NULL;
        c->prepared[slot] = sql;
    }
    for (size_t i = 0; i < n; i++) {
        formats[i] = 0;
        lengths[i] = 0;
        switch (p[i].type) {
        case MR_P_NULL: values[i] = NULL; break;
        case MR_P_TEXT: values[i] = p[i].ptr; break;
        case MR_P_BLOB:
            values[i] = p[i].len ? p[i].ptr : "";
            lengths[i] = (int)p[i].len;
            formats[i] = 1;
            break;
        case MR_P_INT:
            snprintf(ints[i], sizeof ints[i], "%lld", (long long)p[i].i);
            values[i] = ints[i];
            break;
        }
    }
    res = PQexecPrepared(c->pg, name, (int)n, values, lengths, formats, 1);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = result_error(c->pg, res);
        goto out;
    }
    if (rows) {
        int nf = PQnfields(res), nt = PQntuples(res);
        TRY(mr_rows_new((size_t)nf, &r));
        for (int t = 0; t < nt; t++)
            for (int f = 0; f < nf; f++) {
                if (PQgetisnull(res, t, f)) {
                    TRY(mr_rows_add_cell(r, 1, 0, 0, "", 0));
                    continue;
                }
                Oid type = PQftype(res, f);
                const char *v = PQgetvalue(res, t, f);
                int len = PQgetlength(res, t, f);
                if (type == OID_INT8 || type == OID_INT4 || type == OID_INT2 || type == OID_BOOL)
                    TRY(mr_rows_add_cell(r, 0, 1, be_int(v, len), "", 0));
                else
                    TRY(mr_rows_add_cell(r, 0, 0, 0, v, (size_t)len));
            }
        *rows = r;
        r = NULL;
    }
out:
    mr_rows_free(r);
    PQclear(res);
    return rc;
}

/* BEGIN/COMMIT/ROLLBACK and DDL go through the simple protocol. */
static medreg_err pg_exec_any(void *h, const char *sql, const mr_param *p, size_t n, mr_rows **rows)
{
    pg_conn *c = h;
    if (n == 0 && rows == NULL) {
        PGresult *res = PQexec(c->pg, sql);
        medreg_err rc = PQresultStatus(res) == PGRES_COMMAND_OK ? MEDREG_OK : result_error(c->pg, res);
        PQclear(res);
        return rc;
    }
    return pg_exec(h, sql, p, n, rows);
}

static medreg_err pg_script(void *h, const char *sql) { return pg_exec_any(h, sql, NULL, 0, NULL); }

const mr_engine_ops mr_postgres_ops = {pg_open_shared, pg_close_shared, pg_connect, pg_disconnect, pg_exec_any, pg_script};
