/* Group commit on a real engine: many threads' units share transactions,
 * each caller gets its own result, and a failing unit (a duplicate key) never
 * takes the others down with it. The same for units queued without waiting
 * (as the HTTP threads queue them): every one is called back once, on the
 * committer's thread, and the queue is run to the end when it is freed.
 *
 * usage: test_group_commit sqlite:PATH | postgresql://… (an empty database) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/store/group_commit.h"

#define THREADS 16
#define PER_THREAD 25

typedef struct job {
    mr_group_commit *g;
    int id;
    int ok, exists, other;
} job;

static medreg_err insert_subject(mr_conn *c, void *arg)
{
    const char *name = arg;
    mr_param p[5] = {MR_TEXT(name), MR_TEXT("hip"), MR_INT(1), MR_BLOB("x", 1), MR_INT(0)};
    return mr_conn_exec(c, "INSERT INTO subjects (subject, module, key_id, psn, created_at) VALUES ($1, $2, $3, $4, $5)",
                        p, 5, NULL);
}

static void *worker(void *arg)
{
    job *j = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char name[32];
        /* every fifth unit of thread 0 repeats the same key: only the first can succeed */
        if (j->id == 0 && i % 5 == 0)
            snprintf(name, sizeof name, "dup");
        else
            snprintf(name, sizeof name, "s-%d-%d", j->id, i);
        medreg_err rc = mr_group_commit_run(j->g, insert_subject, name);
        if (rc == MEDREG_OK)
            j->ok++;
        else if (rc == MEDREG_ERR_EXISTS)
            j->exists++;
        else
            j->other++;
    }
    return NULL;
}

/* Units queued from one thread without waiting, as an event loop does. */
#define QUEUED 200

typedef struct queued {
    mr_commit_unit u; /* first: done() gets &u */
    char name[32];
    pthread_t submitter;
    pthread_mutex_t *mu;
    int *called, *ok, *exists, *on_submitter;
} queued;

static void queued_done(mr_commit_unit *u, medreg_err rc)
{
    queued *q = (queued *)u;
    pthread_mutex_lock(q->mu);
    (*q->called)++;
    if (rc == MEDREG_OK)
        (*q->ok)++;
    else if (rc == MEDREG_ERR_EXISTS)
        (*q->exists)++;
    if (pthread_equal(pthread_self(), q->submitter))
        (*q->on_submitter)++;
    pthread_mutex_unlock(q->mu);
}

static int stored(mr_db *db, const char *like)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    int n = -1;
    mr_param p = MR_TEXT(like);
    if (mr_db_acquire(db, &c) == MEDREG_OK &&
        mr_conn_exec(c, "SELECT COUNT(*) FROM subjects WHERE subject LIKE $1", &p, 1, &r) == MEDREG_OK)
        n = (int)mr_rows_int(r, 0, 0);
    mr_rows_free(r);
    mr_db_release(db, c);
    return n;
}

static void submit_without_waiting(mr_db *db)
{
    static queued q[QUEUED];
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int called = 0, ok = 0, exists = 0, on_submitter = 0;
    mr_group_commit *g = NULL;
    CHECK(mr_group_commit_new(db, &g) == MEDREG_OK);
    if (g == NULL)
        return;
    for (int i = 0; i < QUEUED; i++) {
        q[i] = (queued){.u = {.fn = insert_subject, .done = queued_done},
                        .submitter = pthread_self(), .mu = &mu, .called = &called, .ok = &ok, .exists = &exists,
                        .on_submitter = &on_submitter};
        q[i].u.arg = q[i].name;
        /* every tenth repeats one key: only the first of them can succeed */
        if (i % 10 == 0)
            snprintf(q[i].name, sizeof q[i].name, "q-dup");
        else
            snprintf(q[i].name, sizeof q[i].name, "q-%d", i);
        mr_group_commit_submit(g, &q[i].u);
    }
    mr_group_commit_free(g); /* runs what is queued, then stops */
    CHECK(called == QUEUED);
    CHECK(exists == QUEUED / 10 - 1);
    CHECK(ok == QUEUED - (QUEUED / 10 - 1));
    CHECK(on_submitter == 0);
    CHECK(stored(db, "q-%") == ok);
}

int main(int argc, char **argv)
{
    mr_db *db = NULL;
    mr_group_commit *g = NULL;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    pthread_t t[THREADS];
    job jobs[THREADS];
    if (argc != 2) {
        fprintf(stderr, "usage: test_group_commit DATABASE-URL\n");
        return 2;
    }
    CHECK(mr_db_open(argv[1], 3, &db) == MEDREG_OK);
    if (db == NULL)
        return TEST_DONE();
    CHECK(mr_db_migrate(db, MR_SCHEMA_REGISTRY) == MEDREG_OK);
    CHECK(mr_group_commit_new(db, &g) == MEDREG_OK);
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){g, i, 0, 0, 0};
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    int ok = 0, exists = 0, other = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += jobs[i].ok;
        exists += jobs[i].exists;
        other += jobs[i].other;
    }
    mr_group_commit_free(g);
    const int dups = (PER_THREAD + 4) / 5;
    CHECK(other == 0);
    CHECK(exists == dups - 1);                         /* every repeat of "dup" but the first */
    CHECK(ok == THREADS * PER_THREAD - (dups - 1));    /* everybody else got through */
    CHECK(mr_db_acquire(db, &c) == MEDREG_OK);
    CHECK(mr_conn_exec(c, "SELECT COUNT(*) FROM subjects", NULL, 0, &r) == MEDREG_OK);
    CHECK(mr_rows_int(r, 0, 0) == ok);                 /* and exactly what was acknowledged is stored */
    mr_rows_free(r);
    mr_db_release(db, c);
    submit_without_waiting(db);
    mr_db_close(db);
    return TEST_DONE();
}
