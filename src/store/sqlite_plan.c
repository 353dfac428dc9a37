#include "sqlite_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if item is one of list's entries, each ended by ';' */
static int within_list(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; (p = strstr(p, item)) != NULL; p++)
        if ((p == list || p[-1] == ';') && p[n] == ';')
            return 1;
    return 0;
}

int mr_sqlite_plan_scans(sqlite3 *db, const char *sql, char *why, size_t cap)
{
    static const char prefix[] = "EXPLAIN QUERY PLAN ";
    if (strstr(sql, "/* scan:") != NULL)
        return 0;
    size_t n = strlen(sql);
    char *q = malloc(sizeof prefix + n);
    sqlite3_stmt *st = NULL;
    int scans = 0;
    if (q == NULL) {
        snprintf(why, cap, "out of memory");
        return 1;
    }
    memcpy(q, prefix, sizeof prefix - 1);
    memcpy(q + sizeof prefix - 1, sql, n + 1);
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, cap, "no plan: %s", sqlite3_errmsg(db));
        scans = 1;
    }
    /* a CTE or subquery, materialised from searches, is read whole */
    char made[512] = "";
    while (!scans && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        if (d && (strncmp(d, "MATERIALIZE ", 12) == 0 || strncmp(d, "CO-ROUTINE ", 11) == 0)) {
            size_t used = strlen(made);
            snprintf(made + used, sizeof made - used, "SCAN %s;", strchr(d, ' ') + 1);
        } else if (d && ((strncmp(d, "SCAN ", 5) == 0 && strncmp(d, "SCAN CONSTANT ROW", 17) != 0 &&
                          !within_list(made, d)) ||
                         strstr(d, "AUTOMATIC") != NULL)) {
            snprintf(why, cap, "%s", d);
            scans = 1;
        }
    }
    sqlite3_finalize(st);
    free(q);
    return scans;
}
