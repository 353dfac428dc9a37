#include "db.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_checkpoint.h"

struct mr_conn {
    void *handle;
    int busy;
    int in_tx;
    const mr_engine_ops *ops;
    mr_db *db;
};

struct mr_db {
    mr_engine engine;
    const mr_engine_ops *ops;
    void *shared; /* the engine's, for all connections */
    mr_conn *conns;
    unsigned n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* SQLite has one writer at a time; queueing writers on a mutex here
     * replaces SQLite's busy-wait sleeps, which cost tens of milliseconds */
    pthread_mutex_t write_mu;
};

void mr_db_set_wal_mib(mr_db *db, unsigned mib)
{
    if (db->engine == MR_ENGINE_SQLITE && mib > 0)
        mr_sqlite_ckpt_set_pages(db->shared, (int)(mib * 256)); /* pages of 4 KiB, SQLite's default */
}

medreg_err mr_db_open(const char *url, unsigned pool_size, mr_db **out)
{
    medreg_err rc = MEDREG_OK;
    mr_db *db = NULL;

    *out = NULL;
    ENSURE(url != NULL && pool_size >= 1 && pool_size <= 256, MEDREG_ERR_INVALID);
    db = calloc(1, sizeof *db);
    ENSURE(db != NULL, MEDREG_ERR_NOMEM);
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    if (strncmp(url, "sqlite:", 7) == 0) {
        db->engine = MR_ENGINE_SQLITE;
        db->ops = &mr_sqlite_ops;
        url += 7;
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        db->engine = MR_ENGINE_POSTGRES;
        db->ops = &mr_postgres_ops;
    } else {
        rc = MEDREG_ERR_CONFIG;
        goto out;
    }
    db->conns = calloc(pool_size, sizeof *db->conns);
    ENSURE(db->conns != NULL, MEDREG_ERR_NOMEM);
    TRY(db->ops->open_shared(url, &db->shared));
    for (unsigned i = 0; i < pool_size; i++) {
        db->conns[i].ops = db->ops;
        db->conns[i].db = db;
        TRY(db->ops->connect(url, db->shared, &db->conns[i].handle));
        db->n++;
    }
    *out = db;
    db = NULL;
out:
    mr_db_close(db);
    return rc;
}

void mr_db_close(mr_db *db)
{
    if (db == NULL)
        return;
    for (unsigned i = 0; i < db->n; i++)
        db->ops->disconnect(db->conns[i].handle);
    if (db->shared)
        db->ops->close_shared(db->shared);
    free(db->conns);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->write_mu);
    pthread_cond_destroy(&db->cv);
    free(db);
}

mr_engine mr_db_engine(const mr_db *db) { return db->engine; }

medreg_err mr_db_acquire(mr_db *db, mr_conn **out)
{
    pthread_mutex_lock(&db->mu);
    for (;;) {
        for (unsigned i = 0; i < db->n; i++)
            if (!db->conns[i].busy) {
                db->conns[i].busy = 1;
                pthread_mutex_unlock(&db->mu);
                *out = &db->conns[i];
                return MEDREG_OK;
            }
        pthread_cond_wait(&db->cv, &db->mu);
    }
}

/* On SQLite the writer gets an 8 MiB page cache, not 2: the index pages
 * that registrations touch outgrow 2 MiB at some 50,000 patients, and a
 * writer's cache survives its own commits (other connections' caches are
 * reset by every commit). Batches of registrations into a database of
 * 60,000 patients: +17-24 %, 3 alternated runs; the service's RSS +7 MiB. */
medreg_err mr_db_acquire_writer(mr_db *db, mr_conn **out)
{
    medreg_err rc = mr_db_acquire(db, out);
    if (rc == MEDREG_OK && db->engine == MR_ENGINE_SQLITE &&
        (rc = mr_conn_script(*out, "PRAGMA cache_size=-8192")) != MEDREG_OK) {
        mr_db_release(db, *out);
        *out = NULL;
    }
    return rc;
}

void mr_db_release(mr_db *db, mr_conn *c)
{
    if (c == NULL)
        return;
    if (c->in_tx)
        mr_conn_rollback(c); /* a forgotten transaction never leaks into the next request */
    pthread_mutex_lock(&db->mu);
    c->busy = 0;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

medreg_err mr_conn_exec(mr_conn *c, const char *sql, const mr_param *params, size_t n_params,
                        mr_rows **rows)
{
    if (rows)
        *rows = NULL;
    return c->ops->exec(c->handle, sql, params, n_params, rows);
}

medreg_err mr_conn_script(mr_conn *c, const char *sql) { return c->ops->script(c->handle, sql); }

int mr_conn_in_tx(const mr_conn *c) { return c->in_tx; }

static int is_sqlite(const mr_conn *c) { return c->ops == &mr_sqlite_ops; }

medreg_err mr_conn_begin(mr_conn *c)
{
    medreg_err rc;
    if (is_sqlite(c)) {
        /* every transaction may write: take the writer lock, then SQLite's, up front */
        pthread_mutex_lock(&c->db->write_mu);
        rc = c->ops->exec(c->handle, "BEGIN IMMEDIATE", NULL, 0, NULL);
        if (rc != MEDREG_OK)
            pthread_mutex_unlock(&c->db->write_mu);
    } else {
        rc = c->ops->exec(c->handle, "BEGIN", NULL, 0, NULL);
    }
    if (rc == MEDREG_OK)
        c->in_tx = 1;
    return rc;
}

static void end_tx(mr_conn *c)
{
    if (c->in_tx && is_sqlite(c))
        pthread_mutex_unlock(&c->db->write_mu);
    c->in_tx = 0;
}

medreg_err mr_conn_commit(mr_conn *c)
{
    medreg_err rc = c->ops->exec(c->handle, "COMMIT", NULL, 0, NULL);
    if (rc != MEDREG_OK)
        (void)c->ops->exec(c->handle, "ROLLBACK", NULL, 0, NULL);
    end_tx(c);
    return rc;
}

void mr_conn_rollback(mr_conn *c)
{
    if (c == NULL)
        return;
    if (c->in_tx)
        (void)c->ops->exec(c->handle, "ROLLBACK", NULL, 0, NULL);
    end_tx(c);
}
