/* Group commit: units of work from many threads run in one shared
 * transaction, so N concurrent writers cost one commit (one fsync) instead of
 * N. Each caller blocks until its unit is durable and gets its own result: if
 * the shared transaction fails, every unit is run again in a transaction of
 * its own, so one bad unit never fails the others. */
#ifndef MR_GROUP_COMMIT_H
#define MR_GROUP_COMMIT_H

#include "db.h"

typedef struct mr_group_commit mr_group_commit;

/* One unit: runs inside a transaction on c; must not begin or commit. */
typedef medreg_err (*mr_unit_fn)(mr_conn *c, void *arg);

/* Start the committer thread with a connection of its own from db. */
MR_MUST_CHECK medreg_err mr_group_commit_new(mr_db *db, mr_group_commit **out);
/* Run what is queued, then stop. */
void mr_group_commit_free(mr_group_commit *g);

/* Run fn(c, arg) in the next shared transaction; returns once it is
 * committed (or failed). Never call it while holding an open transaction. */
MR_MUST_CHECK medreg_err mr_group_commit_run(mr_group_commit *g, mr_unit_fn fn, void *arg);

#endif
