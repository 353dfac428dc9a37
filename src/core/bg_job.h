/* One job run by a thread of its own whenever asked: asks made while it
 * runs are served by one more run, so a caller never waits for it. Used for
 * SQLite checkpoints and for syncing a file behind its writer. */
#ifndef MR_BG_JOB_H
#define MR_BG_JOB_H

#include "safety.h"

typedef struct mr_bg_job mr_bg_job;

/* The job: 0 when it succeeded. */
typedef int (*mr_bg_fn)(void *arg);

/* Start the thread for fn(arg) (arg not owned). */
MR_MUST_CHECK medreg_err mr_bg_job_start(mr_bg_fn fn, void *arg, mr_bg_job **out);
/* Ask for a run; returns at once. */
void mr_bg_job_ask(mr_bg_job *j);
/* Serve an ask still pending, stop the thread, free j. MEDREG_ERR_IO if any
 * run failed. j may be NULL. */
MR_MUST_CHECK medreg_err mr_bg_job_stop(mr_bg_job *j);

#endif
