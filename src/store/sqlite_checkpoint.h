/* SQLite checkpoints in a thread of their own.
 *
 * With SQLite's automatic checkpoints, the commit that crosses the WAL
 * threshold copies the whole WAL into the database and waits for its fsync:
 * one commit in a few hundred took 20 ms, and every request queued behind it
 * (group commit) waited too; that was the p99 of registrations. Here the
 * commit that crosses the threshold only wakes this thread, which runs a
 * PASSIVE checkpoint on its own connection while the writer goes on (at
 * most one per 100 ms: several hundred small ones a second, each with its
 * database fsync, delayed the commits' own fsyncs). At
 * twice the threshold the writer checkpoints inline (by then only what the
 * thread has not yet copied), so the WAL stays bounded and starts over (see
 * on_commit). */
#ifndef MR_SQLITE_CHECKPOINT_H
#define MR_SQLITE_CHECKPOINT_H

#include <sqlite3.h>

#include "../core/safety.h"

typedef struct mr_sqlite_ckpt mr_sqlite_ckpt;

/* Start the thread on its own connection to path; wake it once the WAL
 * holds `pages` pages. */
MR_MUST_CHECK medreg_err mr_sqlite_ckpt_start(const char *path, int pages, mr_sqlite_ckpt **out);
/* Change the threshold; before the first commit (it is read unlocked). */
void mr_sqlite_ckpt_set_pages(mr_sqlite_ckpt *k, int pages);
/* Stop the thread (a checkpoint asked for or in progress runs first). */
void mr_sqlite_ckpt_stop(mr_sqlite_ckpt *k);
/* How many checkpoints the thread has run (at most one per 100 ms). */
long mr_sqlite_ckpt_runs(mr_sqlite_ckpt *k);
/* Report db's commits to k (replaces SQLite's automatic checkpoints on db). */
void mr_sqlite_ckpt_watch(mr_sqlite_ckpt *k, sqlite3 *db);

#endif
