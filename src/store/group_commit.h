/* Group commit: units of work from many threads run in one shared
 * transaction, so N concurrent writers cost one commit (one fsync) instead of
 * N. Each unit gets its own result once it is durable: if the shared
 * transaction fails, every unit is run again in a transaction of its own, so
 * one bad unit never fails the others. A caller either blocks until then
 * (mr_group_commit_run) or is called back (mr_group_commit_submit), which
 * lets an event-driven HTTP thread serve other connections meanwhile. */
#ifndef MR_GROUP_COMMIT_H
#define MR_GROUP_COMMIT_H

#include "db.h"

typedef struct mr_group_commit mr_group_commit;

/* One unit: runs inside a transaction on c; must not begin or commit. */
typedef medreg_err (*mr_unit_fn)(mr_conn *c, void *arg);

/* A unit queued without waiting: the caller owns its memory and keeps it
 * alive until done is called, on the committer thread, with the unit's
 * result. done must not block (it delays every later commit) and must not
 * queue on this group commit. */
typedef struct mr_commit_unit {
    struct mr_commit_unit *next; /* the queue's */
    mr_unit_fn fn;
    void *arg;
    void (*done)(struct mr_commit_unit *u, medreg_err rc);
    medreg_err rc; /* the queue's */
} mr_commit_unit;

/* Start the committer thread with a connection of its own from db. */
MR_MUST_CHECK medreg_err mr_group_commit_new(mr_db *db, mr_group_commit **out);
/* Run what is queued, then stop. */
void mr_group_commit_free(mr_group_commit *g);

/* Run fn(c, arg) in the next shared transaction; returns once it is
 * committed (or failed). Never call it while holding an open transaction. */
MR_MUST_CHECK medreg_err mr_group_commit_run(mr_group_commit *g, mr_unit_fn fn, void *arg);

/* Queue u for the next shared transaction and return at once. */
void mr_group_commit_submit(mr_group_commit *g, mr_commit_unit *u);

#endif
