#include "sqlite_checkpoint.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../core/bg_job.h"

/* At most one checkpoint per this many milliseconds. Past the threshold
 * the thread is asked after every commit; run each time, it copied a
 * hundred pages and synced the database file several hundred times a
 * second, and those syncs queued on the disk before the commits' own: 1-2 %
 * of the group commits of registrations at 32 clients took 8-40 ms. Spaced
 * out, each copies more pages once (a page written by many commits is
 * copied once): 4 alternated runs each, 5,470 -> 6,470 registrations/s,
 * p99 15.8 -> 12.3 ms, the service's CPU per registration 204 -> 182 us;
 * reads unchanged. */
#define CKPT_MIN_GAP_MS 100

struct mr_sqlite_ckpt {
    sqlite3 *db; /* the thread's own connection */
    int pages;
    mr_bg_job *job;
    struct timespec last; /* the end of the last checkpoint */
    _Atomic long runs;
};

static void wait_for_gap(const struct timespec *last)
{
    struct timespec now, until = *last;
    until.tv_nsec += (long)CKPT_MIN_GAP_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec < until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec < until.tv_nsec))
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
            ; /* the deadline is absolute: sleep on */
}

static int checkpoint(void *arg)
{
    mr_sqlite_ckpt *k = arg;
    int log = 0, done = 0;
    wait_for_gap(&k->last);
    int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        fprintf(stderr, "medreg: sqlite: checkpoint: %s\n", sqlite3_errmsg(k->db));
    clock_gettime(CLOCK_MONOTONIC, &k->last);
    atomic_fetch_add(&k->runs, 1);
    return 0; /* a failed checkpoint is retried at the next threshold */
}

/* SQLite's WAL hook: after each commit, with the WAL's size in pages.
 *
 * The WAL starts over only when a writer begins a transaction while every
 * frame is in the database; a busy writer always begins its next one before
 * the thread is done. So under steady writes the thread copies the new
 * frames after each commit while the WAL grows to twice the threshold, and
 * then the writer copies the few it has not (the WAL starts over at its next
 * transaction). Making the writer do that as soon as the thread had caught
 * up kept the WAL smaller but put a 6-15 ms copy and database fsync into the
 * commit path every cycle: registrations' p99 rose from 17 to 22 ms. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    mr_sqlite_ckpt *k = arg;
    if (pages >= 2 * k->pages) {
        /* checkpoint here, as SQLite would */
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= k->pages) {
        mr_bg_job_ask(k->job);
    }
    return SQLITE_OK;
}

medreg_err mr_sqlite_ckpt_start(const char *path, int pages, mr_sqlite_ckpt **out)
{
    mr_sqlite_ckpt *k = calloc(1, sizeof *k);
    *out = NULL;
    if (k == NULL)
        return MEDREG_ERR_NOMEM;
    k->pages = pages;
    /* WAL: the database may be new; FULL: the checkpoint syncs the WAL
     * before it writes the database */
    if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(k->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(k->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "medreg: sqlite: checkpoint connection to %s: %s\n", path,
                k->db ? sqlite3_errmsg(k->db) : "out of memory");
        sqlite3_close_v2(k->db);
        free(k);
        return MEDREG_ERR_DB;
    }
    sqlite3_busy_timeout(k->db, 15000);
    medreg_err rc = mr_bg_job_start(checkpoint, k, &k->job);
    if (rc != MEDREG_OK) {
        sqlite3_close_v2(k->db);
        free(k);
        return rc;
    }
    *out = k;
    return MEDREG_OK;
}

void mr_sqlite_ckpt_stop(mr_sqlite_ckpt *k)
{
    if (k == NULL)
        return;
    if (mr_bg_job_stop(k->job) != MEDREG_OK) /* never: checkpoint() reports its own errors */
        fprintf(stderr, "medreg: sqlite: checkpoint thread failed\n");
    sqlite3_close_v2(k->db);
    free(k);
}

long mr_sqlite_ckpt_runs(mr_sqlite_ckpt *k) { return atomic_load(&k->runs); }

void mr_sqlite_ckpt_set_pages(mr_sqlite_ckpt *k, int pages) { k->pages = pages; }

void mr_sqlite_ckpt_watch(mr_sqlite_ckpt *k, sqlite3 *db) { sqlite3_wal_hook(db, on_commit, k); }
