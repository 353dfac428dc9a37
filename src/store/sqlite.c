/* SQLite engine: WAL, synchronous=FULL (an acknowledged commit is on disk),
 * foreign keys on, a small prepared-statement cache per connection,
 * checkpoints in a thread of their own (sqlite_checkpoint.h), WAL frames
 * written in large writes (sqlite_walbuf.h, which needs synchronous=FULL). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sqlite_checkpoint.h"
#include "sqlite_plan.h"
#include "sqlite_walbuf.h"
#include "stmt_slots.h"

#define CACHE_SLOTS 64
#define MAX_PARAMS 32 /* as the PostgreSQL engine */

typedef struct sqlite_conn {
    sqlite3 *db;
    const char *cache_sql[CACHE_SLOTS]; /* see stmt_slots.h */
    sqlite3_stmt *cache_st[CACHE_SLOTS];
    /* $i's bind index per cached statement, looked up once: SQLite numbers
     * "$1".."$n" in order of appearance, and a lookup by name per bind
     * showed in the profiles */
    unsigned char param_index[CACHE_SLOTS][MAX_PARAMS];
    unsigned evict;
    int checks; /* MEDREG_SQLITE_CHECKS: see sqlite_plan.h and get_stmt */
} sqlite_conn;

static void sqlite_disconnect(void *h)
{
    sqlite_conn *c = h;
    if (c == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        sqlite3_finalize(c->cache_st[i]);
    sqlite3_close_v2(c->db);
    free(c);
}

/* A 32 MiB WAL between checkpoints, not SQLite's 4 MiB: index pages dirtied
 * by many commits go back to the database once per checkpoint
 * (registrations +20 %, measured with bench/loadgen). A service may set
 * another (mr_db_set_wal_mib). */
#define CHECKPOINT_PAGES 8000

static medreg_err sqlite_open_shared(const char *path, void **shared)
{
    /* SQLite counts its memory under one process-wide mutex by default: the
     * connections of 32 request threads queued on it. Settable only before
     * SQLite's first use, so a later call fails harmlessly. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (mr_walbuf_register() != MEDREG_OK) {
        fprintf(stderr, "medreg: sqlite: cannot register the %s VFS\n", MR_WALBUF_VFS);
        return MEDREG_ERR_DB;
    }
    mr_sqlite_ckpt *k = NULL;
    medreg_err rc = mr_sqlite_ckpt_start(path, CHECKPOINT_PAGES, &k);
    *shared = k;
    return rc;
}

static void sqlite_close_shared(void *shared) { mr_sqlite_ckpt_stop(shared); }

static medreg_err sqlite_connect(const char *path, void *shared, void **out)
{
    static const char *pragmas[] = {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                                    "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON",
                                    "PRAGMA cache_size=-2048" /* 2 MiB per connection; the OS page cache does the rest */};
    sqlite_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MEDREG_ERR_NOMEM;
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, MR_WALBUF_VFS) !=
        SQLITE_OK) {
        fprintf(stderr, "medreg: sqlite: cannot open %s: %s\n", path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite_disconnect(c);
        return MEDREG_ERR_DB;
    }
    sqlite3_busy_timeout(c->db, 15000);
    for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++)
        if (sqlite3_exec(c->db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "medreg: sqlite: %s: %s\n", pragmas[i], sqlite3_errmsg(c->db));
            sqlite_disconnect(c);
            return MEDREG_ERR_DB;
        }
    mr_sqlite_ckpt_watch(shared, c->db);
    const char *cp = getenv("MEDREG_SQLITE_CHECKS");
    c->checks = cp != NULL && strcmp(cp, "1") == 0;
    *out = c;
    return MEDREG_OK;
}

/* The slot of sql's statement on c, prepared on first use; -1 if it
 * cannot be prepared. */
static int get_stmt(sqlite_conn *c, const char *sql)
{
    int hit;
    size_t i = mr_stmt_slot(c->cache_sql, CACHE_SLOTS, sql, &c->evict, &hit);
    if (hit && c->checks && strcmp(sqlite3_sql(c->cache_st[i]), sql) != 0) {
        /* the cache keys on the text's address: text built at run time
         * could come back at the address of another statement */
        fprintf(stderr, "medreg: sqlite: statement text changed at one address (not a literal?): %s\n", sql);
        return -1;
    }
    if (hit)
        return (int)i;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "medreg: sqlite: prepare failed: %s\n", sqlite3_errmsg(c->db));
        return -1;
    }
    char why[160];
    if (c->checks && mr_sqlite_plan_scans(c->db, sql, why, sizeof why)) {
        fprintf(stderr, "medreg: sqlite: statement scans (%s): %s\n", why, sql);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(c->cache_st[i]);
    c->cache_sql[i] = sql;
    c->cache_st[i] = st;
    for (size_t k = 0; k < MAX_PARAMS; k++) {
        char name[8];
        snprintf(name, sizeof name, "$%zu", k + 1);
        c->param_index[i][k] = (unsigned char)sqlite3_bind_parameter_index(st, name);
    }
    return (int)i;
}

static medreg_err sqlite_exec(void *h, const char *sql, const mr_param *p, size_t n, mr_rows **rows)
{
    sqlite_conn *c = h;
    medreg_err rc = MEDREG_OK;
    mr_rows *r = NULL;
    int s;
    if (n > MAX_PARAMS)
        return MEDREG_ERR_INVALID;
    int slot = get_stmt(c, sql);

    if (slot < 0)
        return MEDREG_ERR_DB;
    sqlite3_stmt *st = c->cache_st[slot];
    for (size_t i = 0; i < n; i++) {
        int idx = c->param_index[slot][i];
        if (idx == 0)
            continue;
        switch (p[i].type) {
        case MR_P_NULL: s = sqlite3_bind_null(st, idx); break;
        case MR_P_TEXT: s = sqlite3_bind_text(st, idx, p[i].ptr, -1, SQLITE_STATIC); break;
        case MR_P_BLOB:
            s = sqlite3_bind_blob(st, idx, p[i].len ? p[i].ptr : "", (int)p[i].len, SQLITE_STATIC);
            break;
        case MR_P_INT: s = sqlite3_bind_int64(st, idx, p[i].i); break;
        default: s = SQLITE_MISUSE;
        }
        ENSURE(s == SQLITE_OK, MEDREG_ERR_DB);
    }
    int ncols = sqlite3_column_count(st);
    if (rows)
        TRY(mr_rows_new((size_t)ncols, &r));
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (r == NULL)
            continue;
        for (int col = 0; col < ncols; col++) {
            int t = sqlite3_column_type(st, col);
            if (t == SQLITE_NULL) {
                TRY(mr_rows_add_cell(r, 1, 0, 0, "", 0));
            } else if (t == SQLITE_INTEGER) {
                TRY(mr_rows_add_cell(r, 0, 1, sqlite3_column_int64(st, col), "", 0));
            } else {
                const void *b = t == SQLITE_BLOB ? sqlite3_column_blob(st, col)
                                                 : (const void *)sqlite3_column_text(st, col);
                TRY(mr_rows_add_cell(r, 0, 0, 0, b, (size_t)sqlite3_column_bytes(st, col)));
            }
        }
    }
    if (s != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(c->db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
            rc = MEDREG_ERR_EXISTS;
        } else {
            fprintf(stderr, "medreg: sqlite: %s\n", sqlite3_errmsg(c->db));
            rc = MEDREG_ERR_DB;
        }
        goto out;
    }
    if (rows) {
        *rows = r;
        r = NULL;
    }
out:
    mr_rows_free(r);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static medreg_err sqlite_script(void *h, const char *sql)
{
    sqlite_conn *c = h;
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "medreg: sqlite: %s\n", err ? err : sqlite3_errmsg(c->db));
        sqlite3_free(err);
        return MEDREG_ERR_DB;
    }
    return MEDREG_OK;
}

const mr_engine_ops mr_sqlite_ops = {sqlite_open_shared, sqlite_close_shared, sqlite_connect,
                                     sqlite_disconnect,  sqlite_exec,         sqlite_script};
