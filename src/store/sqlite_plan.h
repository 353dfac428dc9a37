/* Whether a statement's plan reads a whole table: one rule, used by the
 * SQLite engine's checks and by the test that plans every statement. */
#ifndef MR_SQLITE_PLAN_H
#define MR_SQLITE_PLAN_H

#include <sqlite3.h>
#include <stddef.h>

/* 1 if the plan of sql on db visits every row of a table or an index, or
 * builds an automatic index, with the plan's line in why; 0 if every table
 * is searched by a key (a CTE or subquery materialised from searches may
 * be read whole). A request must cost the same with ten rows as with ten
 * million, and one statement that scans (a join SQLite ordered the wrong
 * way round) is invisible in tests with a handful of rows. A statement
 * that must scan says why in a comment that starts with "scan:" (an
 * administrator's list, the outbox in order). Without sqlite_stat1
 * (medreg runs no ANALYZE) a plan depends on the schema only, not on the
 * rows. The SQLite engine applies this to every statement it prepares when
 * MEDREG_SQLITE_CHECKS=1 (the integration tests), and
 * tests/unit/store/sqlite_plans.c to every statement in the sources. */
int mr_sqlite_plan_scans(sqlite3 *db, const char *sql, char *why, size_t cap);

#endif
