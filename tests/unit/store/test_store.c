/* The storage interface on a real engine: migrations are idempotent, the
 * audit table and records are append-only in the database itself, unique
 * violations map to EXISTS, a rolled-back transaction leaves nothing, and
 * blobs, text, integers and NULLs survive the round trip.
 *
 * usage: test_store sqlite:PATH | postgresql://… (an empty database) */
#include <stdlib.h>

#include "../check.h"
#include "../../../src/store/db.h"

int main(int argc, char **argv)
{
    mr_db *db = NULL;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: test_store DATABASE-URL\n");
        return 2;
    }
    CHECK(mr_db_open(argv[1], 2, &db) == MEDREG_OK);
    if (db == NULL)
        return TEST_DONE();
    CHECK(mr_db_migrate(db, MR_SCHEMA_REGISTRY) == MEDREG_OK);
    CHECK(mr_db_migrate(db, MR_SCHEMA_REGISTRY) == MEDREG_OK); /* idempotent */
    CHECK(mr_db_acquire(db, &c) == MEDREG_OK);

    CHECK(mr_conn_exec(c, "SELECT COUNT(*) FROM schema_version", NULL, 0, &r) == MEDREG_OK);
    CHECK(mr_rows_int(r, 0, 0) == 13); /* the registry's steps: 1, 3, 6, 9, 10, 11, 12, 14, 16, 17, 18, 19 and 20 */
    mr_rows_free(r);
    r = NULL;

    /* events: insert works; update is refused by the database, and so is
     * delete until the ledger holds the event */
    mr_param a[7] = {MR_INT(1), MR_TEXT("x"), MR_TEXT("test"), MR_TEXT(""), MR_TEXT(""), MR_TEXT("ok"), MR_TEXT("")};
    CHECK(mr_conn_exec(c, "INSERT INTO events (at, actor, action, module, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       a, 7, NULL) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "UPDATE events SET outcome = 'refused'", NULL, 0, NULL) != MEDREG_OK);
    CHECK(mr_conn_exec(c, "DELETE FROM events", NULL, 0, NULL) != MEDREG_OK);
    CHECK(mr_conn_exec(c, "SELECT outcome, seq FROM events", NULL, 0, &r) == MEDREG_OK);
    CHECK(mr_rows_count(r) == 1);
    CHECK_STR(mr_rows_text(r, 0, 0), "ok");
    mr_param shipped[2] = {MR_INT(mr_rows_int(r, 0, 1)), MR_INT(7)};
    mr_rows_free(r);
    r = NULL;
    CHECK(mr_conn_exec(c, "INSERT INTO ledger_shipped (seq, idx, at) VALUES ($1, $2, 0)", shipped, 2, NULL) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "DELETE FROM events", NULL, 0, NULL) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "SELECT COUNT(*) FROM events", NULL, 0, &r) == MEDREG_OK);
    CHECK(mr_rows_int(r, 0, 0) == 0);
    mr_rows_free(r);
    r = NULL;

    /* blobs with NUL bytes, text with UTF-8, integers beyond 32 bits */
    uint8_t blob[5] = {0, 1, 0, 0xff, 7};
    mr_param s[5] = {MR_TEXT("s1"), MR_TEXT("hip"), MR_INT(5000000000LL), MR_BLOB(blob, 5), MR_INT(-3)};
    CHECK(mr_conn_exec(c, "INSERT INTO subjects (subject, module, key_id, psn, created_at) VALUES ($1, $2, $3, $4, $5)",
                       s, 5, NULL) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "INSERT INTO subjects (subject, module, key_id, psn, created_at) VALUES ($1, $2, $3, $4, $5)",
                       s, 5, NULL) == MEDREG_ERR_EXISTS);
    mr_param q = MR_TEXT("s1");
    CHECK(mr_conn_exec(c, "SELECT key_id, psn, created_at, module FROM subjects WHERE subject = $1", &q, 1, &r) == MEDREG_OK);
    size_t bl = 0;
    const uint8_t *bp = mr_rows_blob(r, 0, 1, &bl);
    CHECK(mr_rows_int(r, 0, 0) == 5000000000LL && mr_rows_int(r, 0, 2) == -3);
    CHECK(bl == 5 && memcmp(bp, blob, 5) == 0);
    CHECK_STR(mr_rows_text(r, 0, 3), "hip");
    mr_rows_free(r);
    r = NULL;

    /* records are immutable */
    mr_param rec[8] = {MR_TEXT("r1"), MR_INT(1), MR_TEXT("hip"), MR_TEXT("s1"), MR_TEXT("I"), MR_TEXT("p"), MR_INT(1),
                       MR_TEXT("{\"name\":\"Jürgen\"}")};
    CHECK(mr_conn_exec(c, "INSERT INTO records (record_id, version, module, subject, internal_id, physician, created_at, data)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", rec, 8, NULL) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "UPDATE records SET data = '{}'", NULL, 0, NULL) != MEDREG_OK);
    CHECK(mr_conn_exec(c, "DELETE FROM records", NULL, 0, NULL) != MEDREG_OK);
    CHECK(mr_conn_exec(c, "INSERT INTO records (record_id, version, module, subject, internal_id, physician, created_at, data)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", rec, 8, NULL) == MEDREG_ERR_EXISTS);
    /* a foreign key to a missing subject is refused */
    mr_param orphan[8] = {MR_TEXT("r2"), MR_INT(1), MR_TEXT("hip"), MR_TEXT("nobody"), MR_TEXT("I"), MR_TEXT("p"),
                          MR_INT(1), MR_TEXT("{}")};
    CHECK(mr_conn_exec(c, "INSERT INTO records (record_id, version, module, subject, internal_id, physician, created_at, data)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", orphan, 8, NULL) != MEDREG_OK);

    /* a rolled-back transaction leaves nothing */
    CHECK(mr_conn_begin(c) == MEDREG_OK);
    mr_param s2[5] = {MR_TEXT("s2"), MR_TEXT("hip"), MR_INT(1), MR_BLOB(blob, 5), MR_INT(0)};
    CHECK(mr_conn_exec(c, "INSERT INTO subjects (subject, module, key_id, psn, created_at) VALUES ($1, $2, $3, $4, $5)",
                       s2, 5, NULL) == MEDREG_OK);
    mr_conn_rollback(c);
    q = MR_TEXT("s2");
    CHECK(mr_conn_exec(c, "SELECT 1 FROM subjects WHERE subject = $1", &q, 1, &r) == MEDREG_OK);
    CHECK(mr_rows_count(r) == 0);
    mr_rows_free(r);
    r = NULL;
    /* NULL parameters and NULL results */
    mr_param n1[2] = {MR_NULLP, MR_TEXT("s1")};
    CHECK(mr_conn_exec(c, "SELECT $1, subject FROM subjects WHERE subject = $2", n1, 2, &r) == MEDREG_OK);
    CHECK(mr_rows_count(r) == 1 && mr_rows_isnull(r, 0, 0) && !mr_rows_isnull(r, 0, 1));
    mr_rows_free(r);
    r = NULL;
    /* a statement error is reported, not crashed on */
    CHECK(mr_conn_exec(c, "SELECT no_such_column FROM subjects", NULL, 0, &r) == MEDREG_ERR_DB);
    mr_db_release(db, c);
    mr_db_close(db);
    CHECK(mr_db_open("mysql://nope", 1, &db) == MEDREG_ERR_CONFIG);
    return TEST_DONE();
}
