/* Who may call what: users are certificate fingerprints registered by an
 * administrator with a role, per module where the role is module-bound.
 * A removed role keeps its row (removed_at set) and grants nothing. */
#include <string.h>
#include <time.h>

#include "service.h"

medreg_err mr_auth_has_role(mr_conn *c, const char *fpr, const char *role, const char *module,
                            int *yes)
{
    mr_rows *r = NULL;
    mr_param p[3] = {MR_TEXT(fpr), MR_TEXT(role), MR_TEXT(module ? module : "")};
    medreg_err rc =
        module ? mr_conn_exec(c, "SELECT 1 FROM users WHERE fpr = $1 AND role = $2 AND module = $3 AND removed_at IS NULL",
                              p, 3, &r)
               : mr_conn_exec(c, "SELECT 1 FROM users WHERE fpr = $1 AND role = $2 AND removed_at IS NULL", p, 2, &r);
    *yes = rc == MEDREG_OK && mr_rows_count(r) > 0;
    mr_rows_free(r);
    return rc;
}

medreg_err mr_auth_known(mr_conn *c, const char *fpr, int *yes)
{
    mr_rows *r = NULL;
    mr_param p = MR_TEXT(fpr);
    medreg_err rc = mr_conn_exec(c, "SELECT 1 FROM users WHERE fpr = $1 AND removed_at IS NULL", &p, 1, &r);
    *yes = rc == MEDREG_OK && mr_rows_count(r) > 0;
    mr_rows_free(r);
    return rc;
}

int mr_require_role(mr_service *s, const mr_request *req, mr_response *resp, const char *action,
                    const char *role, const char *module, const char *global_alt)
{
    mr_conn *c = NULL;
    int yes = 0;
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_auth_has_role(c, req->caller.fpr, role, module, &yes);
    if (rc == MEDREG_OK && !yes && global_alt != NULL)
        rc = mr_auth_has_role(c, req->caller.fpr, global_alt, "", &yes);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return 0;
    }
    if (!yes) {
        mr_audit_refusal(resp, req, action, module, "", "role required");
        if (module[0])
            mr_resp_error(resp, 403, "forbidden", "this operation needs the %s role in module '%s'%s%s", role,
                          module, global_alt ? " or the role " : "", global_alt ? global_alt : "");
        else
            mr_resp_error(resp, 403, "forbidden", "this operation needs the %s role%s%s", role,
                          global_alt ? " or the role " : "", global_alt ? global_alt : "");
    }
    return yes;
}

medreg_err mr_user_insert(mr_conn *c, const char *fpr, const char *role, const char *module,
                          const char *name, const char *created_by)
{
    mr_rows *r = NULL;
    int64_t now = time(NULL);
    mr_param p[6] = {MR_TEXT(fpr),  MR_TEXT(role),  MR_TEXT(module),
                     MR_TEXT(name), MR_INT(now),    MR_TEXT(created_by)};
    /* a role that was removed is given back on its row (the key is the
     * fingerprint, role and module); an active one is a conflict */
    medreg_err rc = mr_conn_exec(c,
                                 "UPDATE users SET name = $4, created_at = $5, created_by = $6, removed_at = NULL,"
                                 " removed_by = '' WHERE fpr = $1 AND role = $2 AND module = $3"
                                 " AND removed_at IS NOT NULL RETURNING fpr",
                                 p, 6, &r);
    int restored = rc == MEDREG_OK && mr_rows_count(r) > 0;
    mr_rows_free(r);
    if (rc == MEDREG_OK && !restored)
        rc = mr_conn_exec(c,
                          "INSERT INTO users (fpr, role, module, name, created_at, created_by)"
                          " VALUES ($1, $2, $3, $4, $5, $6)",
                          p, 6, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit(c, created_by, "user_add", module, fpr, "ok", role);
    return rc;
}

medreg_err mr_user_remove(mr_conn *c, const char *fpr, const char *role, const char *module, const char *by,
                          mr_rows **removed, int *last_admin)
{
    mr_rows *r = NULL;
    *removed = NULL;
    *last_admin = 0;
    /* Lock the active administrators' rows before counting them: two
     * administrators removing each other at once must not both succeed
     * (PostgreSQL takes the rows' locks; SQLite's writer lock is held). */
    medreg_err rc = mr_conn_exec(c,
                                 "UPDATE users SET removed_by = removed_by WHERE role = 'admin' AND removed_at IS NULL"
                                 " /* scan: the administrators, a handful of rows */",
                                 NULL, 0, NULL);
    mr_param p[5] = {MR_TEXT(fpr), MR_TEXT(role), MR_TEXT(module), MR_INT(time(NULL)), MR_TEXT(by)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "UPDATE users SET removed_at = $4, removed_by = $5 WHERE fpr = $1 AND removed_at IS NULL"
                          " AND ($2 = '' OR role = $2) AND ($3 = '' OR module = $3) RETURNING role, module",
                          p, 5, &r);
    for (size_t i = 0; rc == MEDREG_OK && i < mr_rows_count(r); i++)
        rc = mr_audit(c, by, "user_remove", mr_rows_text(r, i, 1), fpr, "ok", mr_rows_text(r, i, 0));
    mr_rows *left = NULL;
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT COUNT(*) FROM users WHERE role = 'admin' AND removed_at IS NULL"
                          " /* scan: the administrators, a handful of rows */",
                          NULL, 0, &left);
    if (rc == MEDREG_OK)
        *last_admin = mr_rows_int(left, 0, 0) == 0;
    mr_rows_free(left);
    if (rc != MEDREG_OK) {
        mr_rows_free(r);
        return rc;
    }
    *removed = r;
    return MEDREG_OK;
}
