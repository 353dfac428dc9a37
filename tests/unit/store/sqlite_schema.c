/* Make an empty SQLite database with one role's schema, through the same
 * migrations the daemons run (for tests/unit/store/check_plans.py).
 * usage: sqlite_schema PATH identity|registry|ledger|witness */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/store/db.h"

int main(int argc, char **argv)
{
    static const struct { const char *name; unsigned role; } roles[] = {
        {"identity", MR_SCHEMA_IDENTITY}, {"registry", MR_SCHEMA_REGISTRY},
        {"ledger", MR_SCHEMA_LEDGER},     {"witness", MR_SCHEMA_WITNESS}};
    unsigned role = 0;
    for (size_t i = 0; argc == 3 && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(argv[2], roles[i].name) == 0)
            role = roles[i].role;
    if (role == 0) {
        fprintf(stderr, "usage: sqlite_schema PATH identity|registry|ledger|witness\n");
        return 2;
    }
    char url[4096];
    mr_db *db = NULL;
    unlink(argv[1]);
    snprintf(url, sizeof url, "sqlite:%s", argv[1]);
    medreg_err rc = mr_db_open(url, 1, &db);
    if (rc == MEDREG_OK)
        rc = mr_db_migrate(db, role);
    mr_db_close(db);
    if (rc != MEDREG_OK) {
        fprintf(stderr, "sqlite_schema: %s: %s\n", argv[1], medreg_strerror(rc));
        return 1;
    }
    return 0;
}
