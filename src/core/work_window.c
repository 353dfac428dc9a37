#include "work_window.h"

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "work_pool.h"

typedef struct slot {
    mr_work w; /* first: the pool hands this back */
    struct mr_work_window *win;
    int done;
} slot;

struct mr_work_window {
    mr_work_pool *pool; /* NULL: items run as they are handed in */
    mr_window_run_fn run;
    mr_window_take_fn take;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t done;
    unsigned char *slots;
    size_t head, stride, item_size, cap, oldest, count;
    medreg_err err;
};

static slot *slot_at(mr_work_window *w, size_t i)
{
    return (slot *)(w->slots + (i % w->cap) * w->stride);
}

static void *item_of(mr_work_window *w, slot *s)
{
    return (unsigned char *)s + w->head;
}

static void run_slot(mr_work *work)
{
    slot *s = (slot *)work;
    mr_work_window *w = s->win;
    w->run(item_of(w, s), w->ctx);
    pthread_mutex_lock(&w->mu);
    s->done = 1;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
}

static void take_oldest(mr_work_window *w)
{
    slot *s = slot_at(w, w->oldest);
    pthread_mutex_lock(&w->mu);
    while (!s->done)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    medreg_err rc = w->take(item_of(w, s), w->ctx);
    if (w->err == MEDREG_OK)
        w->err = rc;
    w->oldest = (w->oldest + 1) % w->cap;
    w->count--;
}

medreg_err mr_work_window_start(unsigned threads, size_t item_size, mr_window_run_fn run, mr_window_take_fn take,
                                void *ctx, const char *name, mr_work_window **out)
{
    *out = NULL;
    if (threads < 1 || threads > 64 || item_size > (1u << 20))
        return MEDREG_ERR_INVALID;
    mr_work_window *w = calloc(1, sizeof *w);
    if (w == NULL)
        return MEDREG_ERR_NOMEM;
    size_t align = alignof(max_align_t);
    w->head = (sizeof(slot) + align - 1) / align * align;
    w->stride = (w->head + item_size + align - 1) / align * align;
    w->item_size = item_size;
    w->cap = 4 * (size_t)threads;
    w->run = run;
    w->take = take;
    w->ctx = ctx;
    if ((w->slots = calloc(w->cap, w->stride)) == NULL) {
        free(w);
        return MEDREG_ERR_NOMEM;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->done, NULL);
    if (threads > 1 && mr_work_pool_start(threads, name, &w->pool) != MEDREG_OK)
        w->pool = NULL; /* then one item at a time, here */
    *out = w;
    return MEDREG_OK;
}

medreg_err mr_work_window_next(mr_work_window *w, void **item)
{
    *item = NULL;
    if (w->count == w->cap)
        take_oldest(w);
    if (w->err != MEDREG_OK)
        return w->err;
    slot *s = slot_at(w, w->oldest + w->count);
    memset(s, 0, w->stride);
    s->win = w;
    s->w.fn = run_slot;
    *item = item_of(w, s);
    return MEDREG_OK;
}

void mr_work_window_submit(mr_work_window *w)
{
    slot *s = slot_at(w, w->oldest + w->count++);
    if (w->pool)
        mr_work_pool_submit(w->pool, &s->w);
    else
        run_slot(&s->w);
}

medreg_err mr_work_window_drain(mr_work_window *w)
{
    while (w->count > 0)
        take_oldest(w);
    return w->err;
}

void mr_work_window_free(mr_work_window *w)
{
    if (w == NULL)
        return;
    while (w->count > 0)
        take_oldest(w); /* the error was the caller's to ask for */
    mr_work_pool_stop(w->pool);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w->slots);
    free(w);
}
