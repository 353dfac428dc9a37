/* Durable output without a long wait at the end: a thread of its own calls
 * fdatasync on a file while the caller goes on writing it, whenever asked,
 * so that the caller's final fsync finds little left to write. On this
 * kind of file system the final fsync of a 100 MB file otherwise took
 * 50-130 ms however early its pages had been started with
 * sync_file_range, a tenth of a CSV run. (The thread is a bg_job.h.) */
#ifndef MR_SYNC_BEHIND_H
#define MR_SYNC_BEHIND_H

#include "safety.h"

typedef struct mr_sync_behind mr_sync_behind;

/* Start the thread for fd (not owned). */
MR_MUST_CHECK medreg_err mr_sync_behind_start(int fd, mr_sync_behind **out);
/* Ask for an fdatasync of what is written so far (flush stdio buffers
 * first); returns at once. Asks made while one runs are served by one more. */
void mr_sync_behind_ask(mr_sync_behind *sb);
/* Stop the thread and free sb. Returns MEDREG_ERR_IO if any fdatasync
 * failed: the error is reported once by the kernel, to whoever asked, so it
 * must not be lost here (a later fsync may well succeed). A file that cannot
 * be synced (a pipe, a terminal) is not an error. */
MR_MUST_CHECK medreg_err mr_sync_behind_stop(mr_sync_behind *sb);

#endif
