/* Every SQL statement of the sources, planned against the empty schemas of
 * the four roles (made by the daemons' own migrations) with the rule the
 * daemons' checks use (src/store/sqlite_plan.h): none may read a whole
 * table unless it says why, and each must prepare against some schema.
 * The daemons check the statements the integration tests reach; this
 * covers the others.
 *
 * usage: extract_sql.py SRC | sqlite_plans DIR
 *   (stdin: one "file:line<TAB>statement" a line; DIR: where the four
 *   databases are made) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/store/db.h"
#include "../../../src/store/sqlite_plan.h"

#define MIN_STATEMENTS 50 /* fewer: the extraction broke, not the sources got better */

int main(int argc, char **argv)
{
    static const struct { const char *name; unsigned role; } roles[] = {
        {"identity", MR_SCHEMA_IDENTITY}, {"registry", MR_SCHEMA_REGISTRY},
        {"ledger", MR_SCHEMA_LEDGER},     {"witness", MR_SCHEMA_WITNESS}};
    enum { N_ROLES = sizeof roles / sizeof roles[0] };
    sqlite3 *dbs[N_ROLES] = {NULL};
    if (argc != 2) {
        fprintf(stderr, "usage: extract_sql.py SRC | sqlite_plans DIR\n");
        return 2;
    }
    for (size_t i = 0; i < N_ROLES; i++) {
        char path[4096], url[4200];
        mr_db *db = NULL;
        snprintf(path, sizeof path, "%s/plans-%s.db", argv[1], roles[i].name);
        snprintf(url, sizeof url, "sqlite:%s", path);
        unlink(path);
        medreg_err rc = mr_db_open(url, 1, &db);
        if (rc == MEDREG_OK)
            rc = mr_db_migrate(db, roles[i].role);
        mr_db_close(db);
        if (rc != MEDREG_OK || sqlite3_open_v2(path, &dbs[i], SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            fprintf(stderr, "sqlite_plans: %s: cannot make the %s schema\n", path, roles[i].name);
            return 1;
        }
    }
    char line[16384], why[160];
    int checked = 0, failed = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *sql = strchr(line, '\t');
        if (sql == NULL)
            continue;
        *sql++ = 0;
        int planned = 0;
        const char *err = "";
        for (size_t i = 0; i < N_ROLES; i++) {
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(dbs[i], sql, -1, &st, NULL) != SQLITE_OK) {
                err = sqlite3_errmsg(dbs[i]);
                continue;
            }
            sqlite3_finalize(st);
            planned = 1;
            if (mr_sqlite_plan_scans(dbs[i], sql, why, sizeof why)) {
                printf("FAIL %s: reads a whole table (%s): %s\n", line, why, sql);
                failed++;
                break;
            }
        }
        if (!planned) {
            printf("FAIL %s: prepares against no schema (%s): %s\n", line, err, sql);
            failed++;
        }
        checked++;
    }
    for (size_t i = 0; i < N_ROLES; i++)
        sqlite3_close(dbs[i]);
    printf("%d statements planned, %d failed\n", checked, failed);
    return failed || checked < MIN_STATEMENTS;
}
