/* The work pool: every piece submitted runs exactly once, on a pool
 * thread, also when submitted from many threads at once; work still queued
 * when the pool stops runs before stop returns; pieces run in parallel
 * (one blocks until another has started). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/core/work_pool.h"

#define PER_THREAD 2000
#define SUBMITTERS 4

typedef struct piece {
    mr_work w;
    atomic_int *runs;
    pthread_t submitter;
    int on_submitter;
} piece;

static void count(mr_work *w)
{
    piece *p = (piece *)w;
    p->on_submitter = pthread_equal(pthread_self(), p->submitter);
    atomic_fetch_add(p->runs, 1);
}

typedef struct submitter {
    mr_work_pool *pool;
    piece *pieces;
} submitter;

static void *submit_all(void *arg)
{
    submitter *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        s->pieces[i].submitter = pthread_self();
        mr_work_pool_submit(s->pool, &s->pieces[i].w);
    }
    return NULL;
}

/* two pieces that each wait for the other to have started: only threads
 * running at once finish them */
typedef struct meet {
    mr_work w;
    atomic_int *started;
    int met;
} meet;

static void rendezvous(mr_work *w)
{
    meet *m = (meet *)w;
    atomic_fetch_add(m->started, 1);
    for (int i = 0; i < 5000 && atomic_load(m->started) < 2; i++)
        usleep(1000);
    m->met = atomic_load(m->started) >= 2;
}

int main(void)
{
    mr_work_pool *pool = NULL;
    CHECK(mr_work_pool_start(0, "t", &pool) == MEDREG_ERR_INVALID && pool == NULL);
    CHECK(mr_work_pool_start(65, "t", &pool) == MEDREG_ERR_INVALID && pool == NULL);
    mr_work_pool_stop(NULL);

    /* many submitters at once */
    CHECK(mr_work_pool_start(3, "test-pool", &pool) == MEDREG_OK);
    atomic_int runs = 0;
    piece *pieces = calloc(SUBMITTERS * PER_THREAD, sizeof *pieces);
    submitter subs[SUBMITTERS];
    pthread_t t[SUBMITTERS];
    for (int i = 0; i < SUBMITTERS * PER_THREAD; i++)
        pieces[i] = (piece){.w = {.fn = count}, .runs = &runs};
    for (int i = 0; i < SUBMITTERS; i++) {
        subs[i] = (submitter){pool, pieces + i * PER_THREAD};
        pthread_create(&t[i], NULL, submit_all, &subs[i]);
    }
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(t[i], NULL);
    mr_work_pool_stop(pool); /* runs what is still queued */
    CHECK(atomic_load(&runs) == SUBMITTERS * PER_THREAD);
    int on_submitter = 0;
    for (int i = 0; i < SUBMITTERS * PER_THREAD; i++)
        on_submitter += pieces[i].on_submitter;
    CHECK(on_submitter == 0);
    free(pieces);

    /* in parallel */
    CHECK(mr_work_pool_start(2, "test-pool", &pool) == MEDREG_OK);
    atomic_int started = 0;
    meet a = {.w = {.fn = rendezvous}, .started = &started}, b = a;
    mr_work_pool_submit(pool, &a.w);
    mr_work_pool_submit(pool, &b.w);
    mr_work_pool_stop(pool);
    CHECK(a.met && b.met);
    return TEST_DONE();
}
