/* The work window: items are taken in the order they were handed in,
 * whichever thread finished first; never more than 4 per thread are in
 * flight; the first error a take returns stops the handing in and is what
 * drain says, yet every item handed in is still taken; with one thread
 * items run on the caller's thread. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/core/work_window.h"

typedef struct item {
    size_t i;
    unsigned long square;
    pthread_t ran_on;
    char *owned; /* freed by take: a leak under ASan if one is never taken */
} item;

typedef struct run {
    size_t next_taken, fail_at;
    atomic_size_t in_flight, most;
} run;

static void work(void *p, void *ctx)
{
    item *it = p;
    run *r = ctx;
    size_t now = atomic_fetch_add(&r->in_flight, 1) + 1, most = atomic_load(&r->most);
    while (now > most && !atomic_compare_exchange_weak(&r->most, &most, now))
        ;
    if (it->i % 7 == 0)
        usleep(200); /* some finish late: the order must not follow them */
    it->square = (unsigned long)it->i * it->i;
    it->ran_on = pthread_self();
    atomic_fetch_sub(&r->in_flight, 1);
}

static medreg_err take(void *p, void *ctx)
{
    item *it = p;
    run *r = ctx;
    int in_order = it->i == r->next_taken && it->square == (unsigned long)it->i * it->i;
    r->next_taken++;
    free(it->owned);
    if (!in_order)
        return MEDREG_ERR_INVALID;
    return r->fail_at && it->i == r->fail_at ? MEDREG_ERR_IO : MEDREG_OK;
}

static size_t hand_in(mr_work_window *w, size_t n, medreg_err *rc)
{
    size_t handed = 0;
    for (size_t i = 0; i < n; i++) {
        item *it;
        if ((*rc = mr_work_window_next(w, (void **)&it)) != MEDREG_OK)
            break;
        CHECK(it != NULL && it->owned == NULL && it->square == 0); /* zeroed */
        it->i = i;
        it->owned = malloc(16);
        mr_work_window_submit(w);
        handed++;
    }
    medreg_err d = mr_work_window_drain(w);
    if (*rc == MEDREG_OK)
        *rc = d;
    return handed;
}

int main(void)
{
    mr_work_window *w;
    run r = {0};
    medreg_err rc;

    CHECK(mr_work_window_start(4, sizeof(item), work, take, &r, "test-window", &w) == MEDREG_OK);
    CHECK(hand_in(w, 5000, &rc) == 5000 && rc == MEDREG_OK && r.next_taken == 5000);
    CHECK(atomic_load(&r.most) >= 2 && atomic_load(&r.most) <= 16); /* in parallel, within the window */
    mr_work_window_free(w);

    /* an error stops the handing in; what was in flight is still taken */
    r = (run){.fail_at = 300};
    CHECK(mr_work_window_start(2, sizeof(item), work, take, &r, "test-window", &w) == MEDREG_OK);
    size_t handed = hand_in(w, 5000, &rc);
    CHECK(rc == MEDREG_ERR_IO && handed > 300 && handed <= 300 + 9 && r.next_taken == handed);
    CHECK(mr_work_window_next(w, &(void *){NULL}) == MEDREG_ERR_IO); /* and stays */
    mr_work_window_free(w);

    /* one thread: on the caller's, in order */
    r = (run){0};
    CHECK(mr_work_window_start(1, sizeof(item), work, take, &r, "test-window", &w) == MEDREG_OK);
    item *it;
    CHECK(mr_work_window_next(w, (void **)&it) == MEDREG_OK);
    it->i = 0;
    mr_work_window_submit(w);
    CHECK(pthread_equal(it->ran_on, pthread_self()) && it->square == 0 + 0);
    CHECK(mr_work_window_drain(w) == MEDREG_OK && r.next_taken == 1);
    mr_work_window_free(w);

    CHECK(mr_work_window_start(0, sizeof(item), work, take, &r, "x", &w) == MEDREG_ERR_INVALID && w == NULL);
    CHECK(mr_work_window_start(65, sizeof(item), work, take, &r, "x", &w) == MEDREG_ERR_INVALID);
    mr_work_window_free(NULL);
    return TEST_DONE();
}
