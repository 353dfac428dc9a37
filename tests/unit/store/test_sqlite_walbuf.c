/* The WAL-buffering VFS: what one connection commits through it, another
 * connection (on SQLite's default VFS) sees at once, whole; transactions
 * larger than the buffer, transactions that spill pages to the WAL and write
 * them again, and rollbacks all come out right; the database passes its
 * integrity check after a reopen; and the buffer does its job: a commit of
 * many pages takes a few write calls, not two per page. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/store/sqlite_walbuf.h"
#include "../check.h"

static long long write_calls(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    long long n = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "syscw:", 6) == 0) {
            n = strtoll(line + 6, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return n;
}

static sqlite3 *open_db(const char *path, const char *vfs)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

static long long one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Insert n rows of random bytes (len each) in one transaction. */
static void insert_rows(sqlite3 *db, int n, int len, long long *sum)
{
    sqlite3_stmt *ins = NULL;
    uint8_t *v = malloc((size_t)len);
    CHECK(v != NULL);
    CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t (v, k) VALUES (?, ?)", -1, &ins, NULL) == SQLITE_OK);
    for (int i = 0; i < n; i++) {
        randombytes_buf(v, (size_t)len);
        long long k = v[0];
        sqlite3_bind_blob(ins, 1, v, len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, k);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
        *sum += k;
    }
    sqlite3_finalize(ins);
    CHECK(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    free(v);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "walbuf-test.db";
    char wal[512];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    CHECK(sodium_init() >= 0);
    CHECK(mr_walbuf_register() == MEDREG_OK);
    CHECK(mr_walbuf_register() == MEDREG_OK); /* once per process, then nothing */
    CHECK(sqlite3_vfs_find(MR_WALBUF_VFS) != NULL);
    CHECK(sqlite3_vfs_find(NULL) != sqlite3_vfs_find(MR_WALBUF_VFS)); /* not the default */

    sqlite3 *w = open_db(path, MR_WALBUF_VFS);
    sqlite3 *r = open_db(path, NULL);
    CHECK(sqlite3_exec(w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL, k INTEGER NOT NULL);"
                          "CREATE INDEX t_v ON t (v)",
                       NULL, NULL, NULL) == SQLITE_OK);
    long long rows = 0, sum = 0;

    /* small commits, each seen by the other connection at once */
    for (int i = 0; i < 50; i++) {
        insert_rows(w, 1, 100, &sum);
        rows++;
        CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);
        CHECK(one_int(r, "SELECT TOTAL(k) FROM t") == sum);
    }

    /* a commit of ~300 pages: several buffers' worth; few write calls.
     * With a page cache that holds the whole transaction: its ~2 MB are
     * about SQLite's default cache, which it may then spill to the WAL
     * page by page, reading some back between (how the random keys split
     * the index decides); spilling is tested below */
    CHECK(sqlite3_exec(w, "PRAGMA cache_size=-16384", NULL, NULL, NULL) == SQLITE_OK);
    long long before = write_calls();
    insert_rows(w, 300, 3000, &sum);
    long long calls = write_calls() - before;
    rows += 300;
    CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);
    CHECK(one_int(r, "SELECT TOTAL(k) FROM t") == sum);
    CHECK(before >= 0 && calls > 0 && calls < 40); /* SQLite alone: two per frame, over 600 */
    if (calls >= 40)
        fprintf(stderr, "a 300-page commit took %lld write calls\n", calls);

    /* a transaction larger than the page cache: pages spill to the WAL
     * and are written again before the commit */
    CHECK(sqlite3_exec(w, "PRAGMA cache_size=10", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(w,
                       "BEGIN IMMEDIATE; UPDATE t SET k = k + 1; UPDATE t SET k = k + 1;"
                       "UPDATE t SET k = k - 1; COMMIT",
                       NULL, NULL, NULL) == SQLITE_OK);
    sum += rows;
    CHECK(one_int(r, "SELECT TOTAL(k) FROM t") == sum);
    insert_rows(w, 200, 2000, &sum);
    rows += 200;
    CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);

    /* a rollback leaves nothing behind, and the next commit is whole */
    CHECK(sqlite3_exec(w, "BEGIN IMMEDIATE; DELETE FROM t; ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);
    insert_rows(w, 20, 500, &sum);
    rows += 20;

    /* the reader checkpoints what the writer wrote; the writer goes on */
    CHECK(sqlite3_wal_checkpoint_v2(r, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK);
    insert_rows(w, 100, 3000, &sum);
    rows += 100;
    CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);
    CHECK(sqlite3_close(w) == SQLITE_OK);
    CHECK(sqlite3_close(r) == SQLITE_OK);

    /* everything is there after a reopen, and the file is sound */
    r = open_db(path, NULL);
    CHECK(one_int(r, "SELECT COUNT(*) FROM t") == rows);
    CHECK(one_int(r, "SELECT TOTAL(k) FROM t") == sum);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
    sqlite3_close(r);
    unlink(path);
    unlink(wal);
    return TEST_DONE();
}
