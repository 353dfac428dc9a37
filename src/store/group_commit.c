#include "group_commit.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>

/* A blocking caller's unit lives on its stack until its semaphore is
 * posted. The committer calls back without holding the queue's mutex: woken
 * callers then go straight back to their requests instead of queueing for
 * the mutex one by one (with a condition variable each wake-up cost a second
 * sleep and wake on the mutex, most of the futex calls under load). glibc
 * allows a semaphore to be destroyed as soon as sem_wait has returned. */
typedef mr_commit_unit unit;

typedef struct waiting_unit {
    unit u; /* first: done() gets &u */
    sem_t posted;
} waiting_unit;

struct mr_group_commit {
    mr_db *db;
    mr_conn *conn; /* dedicated: never competes with request handlers for the pool */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;
    unit *head, *tail;
    int stop;
};

static medreg_err run_alone(mr_conn *c, unit *u)
{
    medreg_err rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = u->fn(c, u->arg);
    if (rc == MEDREG_OK)
        return mr_conn_commit(c);
    mr_conn_rollback(c);
    return rc;
}

static void run_batch(mr_conn *c, unit *batch)
{
    medreg_err rc = mr_conn_begin(c);
    for (unit *u = batch; u && rc == MEDREG_OK; u = u->next)
        rc = u->fn(c, u->arg);
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    else
        mr_conn_rollback(c);
    for (unit *u = batch; u; u = u->next)
        u->rc = rc;
    if (rc != MEDREG_OK && batch->next != NULL)
        for (unit *u = batch; u; u = u->next)
            u->rc = run_alone(c, u); /* find the bad unit; keep the good ones */
}

static void *committer(void *arg)
{
    mr_group_commit *g = arg;
    (void)pthread_setname_np(pthread_self(), "medreg-commit"); /* for top -H, perf --comm */
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (g->head == NULL && !g->stop)
            pthread_cond_wait(&g->work, &g->mu);
        if (g->head == NULL)
            break;
        unit *batch = g->head;
        g->head = g->tail = NULL;
        pthread_mutex_unlock(&g->mu);
        run_batch(g->conn, batch);
        for (unit *u = batch, *next; u; u = next) {
            next = u->next; /* read first: once called back, the caller may free u */
            u->done(u, u->rc);
        }
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

medreg_err mr_group_commit_new(mr_db *db, mr_group_commit **out)
{
    mr_group_commit *g = calloc(1, sizeof *g);
    *out = NULL;
    if (g == NULL)
        return MEDREG_ERR_NOMEM;
    g->db = db;
    medreg_err rc = mr_db_acquire_writer(db, &g->conn);
    if (rc != MEDREG_OK) {
        free(g);
        return rc;
    }
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->work, NULL);
    if (pthread_create(&g->thread, NULL, committer, g) != 0) {
        mr_db_release(db, g->conn);
        free(g);
        return MEDREG_ERR_NOMEM;
    }
    *out = g;
    return MEDREG_OK;
}

void mr_group_commit_free(mr_group_commit *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    mr_db_release(g->db, g->conn);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->work);
    free(g);
}

void mr_group_commit_submit(mr_group_commit *g, mr_commit_unit *u)
{
    u->next = NULL;
    u->rc = MEDREG_OK;
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = u;
    else
        g->head = u;
    g->tail = u;
    pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->mu);
}

static void post_waiter(mr_commit_unit *u, medreg_err rc)
{
    waiting_unit *w = (waiting_unit *)u;
    w->u.rc = rc;
    sem_post(&w->posted);
}

medreg_err mr_group_commit_run(mr_group_commit *g, mr_unit_fn fn, void *arg)
{
    waiting_unit w = {.u = {.fn = fn, .arg = arg, .done = post_waiter}};
    if (sem_init(&w.posted, 0, 0) != 0)
        return MEDREG_ERR_IO;
    mr_group_commit_submit(g, &w.u);
    while (sem_wait(&w.posted) != 0 && errno == EINTR)
        ;
    sem_destroy(&w.posted);
    return w.u.rc;
}
