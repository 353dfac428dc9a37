/* A few threads that run queued pieces of work, first in first out. The
 * HTTP threads hand them what takes many milliseconds of CPU (a batch of
 * OPRF evaluations, of PSN tokens): an HTTP thread serves many connections,
 * and every one of them would wait behind such a request. */
#ifndef MR_WORK_POOL_H
#define MR_WORK_POOL_H

#include "safety.h"

/* One piece of work, owned by the caller until fn has run; fn may free it. */
typedef struct mr_work {
    void (*fn)(struct mr_work *w);
    struct mr_work *next; /* the pool's */
} mr_work;

typedef struct mr_work_pool mr_work_pool;

/* Start threads (1..64) named name (at most 15 characters). */
MR_MUST_CHECK medreg_err mr_work_pool_start(unsigned threads, const char *name, mr_work_pool **out);
/* Queue w; returns at once. */
void mr_work_pool_submit(mr_work_pool *p, mr_work *w);
/* Run what is still queued, stop the threads, free p. p may be NULL. */
void mr_work_pool_stop(mr_work_pool *p);

#endif
