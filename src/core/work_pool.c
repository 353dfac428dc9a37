#include "work_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct mr_work_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    mr_work *head, *tail;
    int stop;
    unsigned n;
    char name[16];
    pthread_t threads[64];
};

static void *run(void *arg)
{
    mr_work_pool *p = arg;
    (void)pthread_setname_np(pthread_self(), p->name); /* for top -H, perf --comm */
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->head == NULL && !p->stop)
            pthread_cond_wait(&p->wake, &p->mu);
        mr_work *w = p->head;
        if (w == NULL)
            break; /* stopping, and nothing is left */
        p->head = w->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        w->fn(w);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

medreg_err mr_work_pool_start(unsigned threads, const char *name, mr_work_pool **out)
{
    *out = NULL;
    if (threads < 1 || threads > 64)
        return MEDREG_ERR_INVALID;
    mr_work_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return MEDREG_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    snprintf(p->name, sizeof p->name, "%s", name);
    for (; p->n < threads; p->n++)
        if (pthread_create(&p->threads[p->n], NULL, run, p) != 0) {
            mr_work_pool_stop(p);
            return MEDREG_ERR_NOMEM;
        }
    *out = p;
    return MEDREG_OK;
}

void mr_work_pool_submit(mr_work_pool *p, mr_work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void mr_work_pool_stop(mr_work_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    /* no thread could start (or none was): run what is left here */
    for (mr_work *w = p->head, *next; w; w = next) {
        next = w->next;
        w->fn(w);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p);
}
