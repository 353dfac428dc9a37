/* Who may call what: users are certificate fingerprints registered by an
 * administrator with a role, per module where the role is module-bound. */
#include <string.h>

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
