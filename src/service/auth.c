/* Who may call what: users are certificate fingerprints registered by an
 * administrator with a role, per module where the role is module-bound. */
#include <string.h>
#include <time.h>

#include "service.h"

medreg_err mr_auth_has_role(mr_conn *c, const char *fpr, const char *role, const char *module,
                            int *yes)
{
    mr_rows *r = NULL;
    mr_param p[3] = {MR_TEXT(fpr), MR_TEXT(role), MR_TEXT(module ? module : "")};
    medreg_err rc = mr_conn_exec(c,
                                 "SELECT 1 FROM users WHERE fpr = $1 AND role = $2 AND module = $3",
                                 p, 3, &r);
    *yes = rc == MEDREG_OK && mr_rows_count(r) > 0;
    mr_rows_free(r);
    return rc;
}

medreg_err mr_auth_known(mr_conn *c, const char *fpr, int *yes)
{
    mr_rows *r = NULL;
    mr_param p = MR_TEXT(fpr);
    medreg_err rc = mr_conn_exec(c, "SELECT 1 FROM users WHERE fpr = $1", &p, 1, &r);
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
    mr_param p[6] = {MR_TEXT(fpr),  MR_TEXT(role),       MR_TEXT(module),
                     MR_TEXT(name), MR_INT(time(NULL)),  MR_TEXT(created_by)};
    medreg_err rc = mr_conn_exec(c,
                                 "INSERT INTO users (fpr, role, module, name, created_at, created_by)"
                                 " VALUES ($1, $2, $3, $4, $5, $6)",
                                 p, 6, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit(c, created_by, "user_add", module, fpr, "ok", role);
    return rc;
}
