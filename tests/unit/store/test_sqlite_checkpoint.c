/* Checkpoints in their own thread: under a steady stream of commits the WAL
 * stays bounded (SQLite's automatic checkpoints are off once the hook is
 * installed, so without the thread it would grow to the whole stream), the
 * pages reach the database file, and every committed row is there after a
 * reopen. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../../src/store/sqlite_checkpoint.h"
#include "../check.h"

#define ROWS 2000
#define PAGES 64

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "ckpt-test.db";
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    CHECK(sodium_init() >= 0);

    mr_sqlite_ckpt *k = NULL;
    CHECK(mr_sqlite_ckpt_start(path, PAGES, &k) == MEDREG_OK);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                           "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)", NULL, NULL, NULL) == SQLITE_OK);
    mr_sqlite_ckpt_watch(k, db);

    sqlite3_stmt *ins = NULL;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t (v) VALUES (?)", -1, &ins, NULL) == SQLITE_OK);
    uint8_t v[3000];
    long long wal_max = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < ROWS; i++) { /* one commit each, as the group committer does */
        randombytes_buf(v, sizeof v);
        sqlite3_bind_blob(ins, 1, v, sizeof v, SQLITE_STATIC);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
        long long w = file_size(wal);
        if (w > wal_max)
            wal_max = w;
    }
    sqlite3_finalize(ins);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* past the threshold every commit asks for a checkpoint; they run at
     * most every 100 ms (sqlite_checkpoint.c says why) */
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    long runs = mr_sqlite_ckpt_runs(k);
    CHECK(runs >= 1 && runs <= (long)(ms / 100) + 2);
    if (runs > (long)(ms / 100) + 2)
        fprintf(stderr, "%ld checkpoints in %.0f ms\n", runs, ms);
    /* the WAL restarts once a checkpoint has caught up: it stays within a
     * few thresholds (the writer's own checkpoint at twice the threshold
     * yields while the thread's is running), against ~8 MB unchecked */
    long long bound = (4 * PAGES + 16) * (4096 + 24) + 32;
    CHECK(wal_max > 0 && wal_max <= bound);
    if (wal_max > bound)
        fprintf(stderr, "WAL reached %lld bytes, bound %lld\n", wal_max, bound);
    /* the rows reached the database file itself */
    usleep(200 * 1000);
    CHECK(file_size(path) > (long long)ROWS * 3000 / 2);
    mr_sqlite_ckpt_stop(k);
    CHECK(sqlite3_close(db) == SQLITE_OK);

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *cnt = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM t", -1, &cnt, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(cnt) == SQLITE_ROW && sqlite3_column_int(cnt, 0) == ROWS);
    sqlite3_finalize(cnt);
    sqlite3_close(db);

    /* a stop right after a start, with nothing to do */
    CHECK(mr_sqlite_ckpt_start(path, PAGES, &k) == MEDREG_OK);
    mr_sqlite_ckpt_stop(k);
    /* a directory that does not exist */
    CHECK(mr_sqlite_ckpt_start("/nonexistent/dir/x.db", PAGES, &k) != MEDREG_OK && k == NULL);
    unlink(path);
    unlink(wal);
    return TEST_DONE();
}
