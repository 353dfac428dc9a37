/* Two administrators removing each other at the same moment
 * (mr_user_remove): the second transaction waits for the first, then finds
 * that it would remove the last administrator. On PostgreSQL that rests on
 * the lock mr_user_remove takes on the administrators' rows: without it both
 * transactions counted one administrator left, both committed, and none was
 * left. On SQLite the writer lock serialises them.
 *
 * usage: test_last_admin sqlite:PATH | postgresql://… (an empty database) */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/service/service.h"

static const char A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

typedef struct second {
    mr_db *db;
    medreg_err rc;
    int last_admin;
    size_t removed;
    atomic_int done;
} second;

/* B removes A, while A's removal of B is not committed yet. */
static void *remove_a(void *arg)
{
    second *x = arg;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    x->rc = mr_db_acquire(x->db, &c);
    if (x->rc == MEDREG_OK)
        x->rc = mr_conn_begin(c);
    if (x->rc == MEDREG_OK)
        x->rc = mr_user_remove(c, A, "", "", B, &r, &x->last_admin);
    x->removed = mr_rows_count(r);
    if (x->rc == MEDREG_OK && !x->last_admin)
        x->rc = mr_conn_commit(c);
    mr_rows_free(r);
    mr_db_release(x->db, c); /* rolls back what is not committed */
    atomic_store(&x->done, 1);
    return NULL;
}

static long active_admins(mr_db *db)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    long n = -1;
    if (mr_db_acquire(db, &c) == MEDREG_OK &&
        mr_conn_exec(c, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND removed_at IS NULL", NULL, 0, &r) ==
            MEDREG_OK)
        n = (long)mr_rows_int(r, 0, 0);
    mr_rows_free(r);
    mr_db_release(db, c);
    return n;
}

int main(int argc, char **argv)
{
    mr_db *db = NULL;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    int last = -1;
    if (argc != 2) {
        fprintf(stderr, "usage: test_last_admin DATABASE-URL\n");
        return 2;
    }
    CHECK(mr_db_open(argv[1], 3, &db) == MEDREG_OK);
    CHECK(mr_db_migrate(db, MR_SCHEMA_REGISTRY) == MEDREG_OK);
    CHECK(mr_db_acquire(db, &c) == MEDREG_OK);
    CHECK(mr_conn_begin(c) == MEDREG_OK);
    CHECK(mr_user_insert(c, A, "admin", "", "a", "bootstrap") == MEDREG_OK);
    CHECK(mr_user_insert(c, B, "admin", "", "b", "bootstrap") == MEDREG_OK);
    CHECK(mr_conn_commit(c) == MEDREG_OK);
    CHECK(active_admins(db) == 2);

    /* A removes B: one administrator (A) is left, as far as this transaction sees */
    CHECK(mr_conn_begin(c) == MEDREG_OK);
    CHECK(mr_user_remove(c, B, "", "", A, &r, &last) == MEDREG_OK);
    CHECK(mr_rows_count(r) == 1 && last == 0);
    mr_rows_free(r);
    r = NULL;

    second x = {.db = db};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, remove_a, &x) == 0);
    usleep(300 * 1000);
    CHECK(atomic_load(&x.done) == 0); /* B's removal of A waits for A's transaction */
    CHECK(mr_conn_commit(c) == MEDREG_OK);
    pthread_join(t, NULL);
    CHECK(x.rc == MEDREG_OK);
    CHECK(x.last_admin == 1); /* and then sees that A is the last administrator */
    CHECK(active_admins(db) == 1);

    /* once more, the other way round: A, the last one, cannot remove itself */
    CHECK(mr_conn_begin(c) == MEDREG_OK);
    CHECK(mr_user_remove(c, A, "admin", "", A, &r, &last) == MEDREG_OK);
    CHECK(mr_rows_count(r) == 1 && last == 1);
    mr_rows_free(r);
    mr_conn_rollback(c);
    CHECK(active_admins(db) == 1);

    mr_db_release(db, c);
    mr_db_close(db);
    return TEST_DONE();
}
