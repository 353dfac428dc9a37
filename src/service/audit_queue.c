/* Group commit for audit rows that stand alone (reads, exports, refusals):
 * a caller's row is durable before its request is answered, but all rows
 * that arrive while one commit is in flight share the next commit, so N
 * concurrent readers cost one fsync, not N. Rows that belong to a data change
 * are written in that change's own transaction instead (mr_audit). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service.h"

typedef struct audit_entry {
    struct audit_entry *next;
    int64_t at;
    const char *actor, *action, *module, *target, *outcome, *detail; /* the caller's, until done */
    medreg_err rc;
    int done;
} audit_entry;

struct mr_audit_queue {
    mr_db *db;
    mr_conn *conn; /* dedicated: never competes with request handlers for the pool */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    audit_entry *head, *tail;
    int stop;
};

static void *writer(void *arg)
{
    mr_audit_queue *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == NULL && !q->stop)
            pthread_cond_wait(&q->work, &q->mu);
        if (q->head == NULL && q->stop)
            break;
        audit_entry *batch = q->head;
        q->head = q->tail = NULL;
        pthread_mutex_unlock(&q->mu);

        medreg_err rc = mr_conn_begin(q->conn);
        for (audit_entry *e = batch; e && rc == MEDREG_OK; e = e->next) {
            mr_param p[7] = {MR_INT(e->at),       MR_TEXT(e->actor),  MR_TEXT(e->action), MR_TEXT(e->module),
                             MR_TEXT(e->target),  MR_TEXT(e->outcome), MR_TEXT(e->detail)};
            rc = mr_conn_exec(q->conn,
                              "INSERT INTO audit (at, actor, action, module, target, outcome, detail)"
                              " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                              p, 7, NULL);
        }
        if (rc == MEDREG_OK)
            rc = mr_conn_commit(q->conn);
        else
            mr_conn_rollback(q->conn);

        pthread_mutex_lock(&q->mu);
        for (audit_entry *e = batch, *next; e; e = next) {
            next = e->next; /* read before done: the caller may return and free e */
            e->rc = rc;
            e->done = 1;
        }
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

medreg_err mr_audit_queue_new(mr_db *db, mr_audit_queue **out)
{
    mr_audit_queue *q = calloc(1, sizeof *q);
    *out = NULL;
    if (q == NULL)
        return MEDREG_ERR_NOMEM;
    q->db = db;
    medreg_err rc = mr_db_acquire(db, &q->conn);
    if (rc != MEDREG_OK) {
        free(q);
        return rc;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->work, NULL);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->thread, NULL, writer, q) != 0) {
        mr_db_release(db, q->conn);
        free(q);
        return MEDREG_ERR_NOMEM;
    }
    *out = q;
    return MEDREG_OK;
}

void mr_audit_queue_free(mr_audit_queue *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL); /* drains what is queued first */
    mr_db_release(q->db, q->conn);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->work);
    pthread_cond_destroy(&q->done);
    free(q);
}

medreg_err mr_audit_now(mr_service *s, const char *actor, const char *action, const char *module,
                        const char *target, const char *outcome, const char *detail)
{
    mr_audit_queue *q = s->audit_q;
    audit_entry e = {NULL, (int64_t)time(NULL), actor, action, module ? module : "", target ? target : "",
                     outcome, detail ? detail : "", MEDREG_OK, 0};
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = &e;
    else
        q->head = &e;
    q->tail = &e;
    pthread_cond_signal(&q->work);
    while (!e.done)
        pthread_cond_wait(&q->done, &q->mu);
    pthread_mutex_unlock(&q->mu);
    return e.rc;
}
