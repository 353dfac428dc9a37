/* The SQLite engine's statement checks (MEDREG_SQLITE_CHECKS, on in the
 * integration tests): a statement whose plan reads a whole table fails
 * unless it says why it scans; one that searches by a key, or reads a
 * window it materialised from a search, runs; and text that changes at
 * one address (the statement cache's key) fails instead of running the
 * statement cached for the old text.
 *
 * usage: test_sqlite_checks PATH (removed first) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/store/db.h"

static medreg_err run(mr_conn *c, const char *sql, const mr_param *p, size_t n)
{
    mr_rows *r = NULL;
    medreg_err rc = mr_conn_exec(c, sql, p, n, &r);
    mr_rows_free(r);
    return rc;
}

static void open_db(const char *path, mr_db **db, mr_conn **c)
{
    char url[512];
    snprintf(url, sizeof url, "sqlite:%s", path);
    CHECK(mr_db_open(url, 1, db) == MEDREG_OK);
    CHECK(mr_db_migrate(*db, MR_SCHEMA_REGISTRY) == MEDREG_OK);
    CHECK(mr_db_acquire(*db, c) == MEDREG_OK);
}

int main(int argc, char **argv)
{
    mr_db *db = NULL;
    mr_conn *c = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: test_sqlite_checks PATH\n");
        return 2;
    }
    unlink(argv[1]);
    setenv("MEDREG_SQLITE_CHECKS", "1", 1);
    open_db(argv[1], &db, &c);
    mr_param id = MR_TEXT("x"), two[2] = {MR_TEXT("hip"), MR_TEXT("s")};

    /* a key, or a key's range */
    CHECK(run(c, "SELECT hk FROM fingerprints WHERE id = $1", &id, 1) == MEDREG_OK);
    CHECK(run(c, "SELECT id FROM fingerprints WHERE module = $1 AND subject = $2 AND retired_at IS NULL", two, 2) ==
          MEDREG_OK);
    /* a column without an index: every row */
    CHECK(run(c, "SELECT id FROM fingerprints WHERE hk = $1", &id, 1) == MEDREG_ERR_DB);
    /* a join SQLite starts from the wrong side: every fingerprint for one PSN
     * (the form the consent sessions once used) */
    CHECK(run(c,
              "SELECT f.id FROM fingerprints f JOIN subjects t ON t.subject = f.subject WHERE t.module = $1"
              " AND f.retired_at IS NULL AND t.psn = (SELECT psn FROM subjects WHERE subject = $2)",
              two, 2) == MEDREG_ERR_DB);
    /* the same question driven by the PSN index */
    CHECK(run(c,
              "SELECT f.id FROM fingerprints f WHERE f.module = $1 AND f.retired_at IS NULL AND f.subject IN"
              " (SELECT t.subject FROM subjects t, subjects me WHERE me.subject = $2 AND t.module = $1"
              " AND t.key_id = me.key_id AND t.psn = me.psn)",
              two, 2) == MEDREG_OK);
    /* a window, materialised from a search, then grouped */
    mr_param since = MR_INT(0);
    CHECK(run(c,
              "WITH w AS MATERIALIZED (SELECT physician FROM fingerprints WHERE replacement = 1 AND created_at >= $1)"
              " SELECT physician, COUNT(*) FROM w GROUP BY physician",
              &since, 1) == MEDREG_OK);
    /* a scan that says why */
    CHECK(run(c, "SELECT COUNT(*) FROM fingerprints /* scan: a test */", NULL, 0) == MEDREG_OK);

    /* text that changes at one address */
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT 1 FROM users WHERE fpr = $1");
    CHECK(run(c, sql, &id, 1) == MEDREG_OK);
    CHECK(run(c, sql, &id, 1) == MEDREG_OK); /* cached, the same text */
    snprintf(sql, sizeof sql, "SELECT 2 FROM users WHERE fpr = $1");
    CHECK(run(c, sql, &id, 1) == MEDREG_ERR_DB);
    mr_db_release(db, c);
    mr_db_close(db);

    /* without the setting, a scan runs (the checks are for tests) */
    unsetenv("MEDREG_SQLITE_CHECKS");
    open_db(argv[1], &db, &c);
    CHECK(run(c, "SELECT id FROM fingerprints WHERE hk = $1", &id, 1) == MEDREG_OK);
    mr_db_release(db, c);
    mr_db_close(db);
    return TEST_DONE();
}
