/* Storage: one interface, two engines (SQLite, PostgreSQL).
 *
 * SQL is written once with $1, $2, … placeholders and the portable types of
 * migrations.c; both engines run it unchanged. Every connection comes from a
 * small pool; a request holds one connection for its whole transaction. */
#ifndef MR_DB_H
#define MR_DB_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

typedef struct mr_db mr_db;
typedef struct mr_conn mr_conn;
typedef struct mr_rows mr_rows;

typedef enum mr_engine { MR_ENGINE_SQLITE = 1, MR_ENGINE_POSTGRES = 2 } mr_engine;

typedef enum mr_ptype { MR_P_NULL = 0, MR_P_TEXT, MR_P_BLOB, MR_P_INT } mr_ptype;

typedef struct mr_param {
    mr_ptype type;
    const void *ptr; /* TEXT: NUL-terminated; BLOB: len bytes */
    size_t len;
    int64_t i;
} mr_param;

#define MR_TEXT(s) ((mr_param){MR_P_TEXT, (s), 0, 0})
#define MR_BLOB(p, n) ((mr_param){MR_P_BLOB, (p), (n), 0})
#define MR_INT(v) ((mr_param){MR_P_INT, NULL, 0, (int64_t)(v)})
#define MR_NULLP ((mr_param){MR_P_NULL, NULL, 0, 0})

/* url: "sqlite:PATH" or "postgresql://…" (a libpq connection URI). */
MR_MUST_CHECK medreg_err mr_db_open(const char *url, unsigned pool_size, mr_db **out);
void mr_db_close(mr_db *db);
/* SQLite: let the WAL grow to about mib MiB before checkpoints begin
 * (sqlite_checkpoint.h); call before the first write. PostgreSQL: nothing. */
void mr_db_set_wal_mib(mr_db *db, unsigned mib);
mr_engine mr_db_engine(const mr_db *db);

/* Schemas: the tables each role owns (plus users and audit, shared by all). */
#define MR_SCHEMA_IDENTITY 1u
#define MR_SCHEMA_REGISTRY 2u
#define MR_SCHEMA_LEDGER 4u
#define MR_SCHEMA_WITNESS 8u
#define MR_SCHEMA_ALL 0xffu

/* Apply every migration for roles not yet applied (one transaction each). */
MR_MUST_CHECK medreg_err mr_db_migrate(mr_db *db, unsigned roles);

MR_MUST_CHECK medreg_err mr_db_acquire(mr_db *db, mr_conn **out);
/* A connection kept by one long-lived writer (the group committer). */
MR_MUST_CHECK medreg_err mr_db_acquire_writer(mr_db *db, mr_conn **out);
void mr_db_release(mr_db *db, mr_conn *c);

MR_MUST_CHECK medreg_err mr_conn_script(mr_conn *c, const char *sql);
/* Transactions. On SQLite, begin also takes the database's writer lock (held
 * until commit or rollback); every write outside a transaction must be made
 * through one. */
MR_MUST_CHECK medreg_err mr_conn_begin(mr_conn *c);
int mr_conn_in_tx(const mr_conn *c);
MR_MUST_CHECK medreg_err mr_conn_commit(mr_conn *c);
void mr_conn_rollback(mr_conn *c); /* c may be NULL: nothing to undo */

/* Run one statement. sql must be a string literal: its address keys the
 * per-connection prepared-statement cache. rows may be NULL when no result
 * is wanted. A unique constraint violation returns MEDREG_ERR_EXISTS. */
MR_MUST_CHECK medreg_err mr_conn_exec(mr_conn *c, const char *sql, const mr_param *params,
                                      size_t n_params, mr_rows **rows);

size_t mr_rows_count(const mr_rows *r);
int mr_rows_isnull(const mr_rows *r, size_t row, size_t col);
/* Text columns: NUL-terminated; never NULL (empty string for SQL NULL). */
const char *mr_rows_text(const mr_rows *r, size_t row, size_t col);
const uint8_t *mr_rows_blob(const mr_rows *r, size_t row, size_t col, size_t *len);
int64_t mr_rows_int(const mr_rows *r, size_t row, size_t col);
void mr_rows_free(mr_rows *r);

/* Internal: engines implement this table. */
typedef struct mr_engine_ops {
    /* what the engine's connections to one database share (may be NULL) */
    medreg_err (*open_shared)(const char *url, void **shared);
    void (*close_shared)(void *shared);
    medreg_err (*connect)(const char *url, void *shared, void **handle);
    void (*disconnect)(void *handle);
    medreg_err (*exec)(void *handle, const char *sql, const mr_param *p, size_t n, mr_rows **rows);
    /* several statements, no parameters, never cached (migrations) */
    medreg_err (*script)(void *handle, const char *sql);
} mr_engine_ops;

extern const mr_engine_ops mr_sqlite_ops;
extern const mr_engine_ops mr_postgres_ops;

/* Result sets are materialised; engines build them with these. */
MR_MUST_CHECK medreg_err mr_rows_new(size_t ncols, mr_rows **out);
MR_MUST_CHECK medreg_err mr_rows_add_cell(mr_rows *r, int is_null, int is_int, int64_t iv,
                                          const void *p, size_t len);

#endif
