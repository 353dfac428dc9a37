/* Stand-alone audit rows (reads, exports, refusals) go through the service's
 * group commit: a caller's row is durable before its request is answered,
 * but rows that arrive together share one commit. Rows that belong to a data
 * change are written in that change's own transaction instead (mr_audit). */
#include <time.h>

#include "service.h"

typedef struct audit_row {
    int64_t at;
    const char *actor, *action, *module, *target, *outcome, *detail;
} audit_row;

static medreg_err insert_row(mr_conn *c, void *arg)
{
    const audit_row *a = arg;
    mr_param p[7] = {MR_INT(a->at),       MR_TEXT(a->actor),   MR_TEXT(a->action), MR_TEXT(a->module),
                     MR_TEXT(a->target),  MR_TEXT(a->outcome), MR_TEXT(a->detail)};
    return mr_conn_exec(c,
                        "INSERT INTO audit (at, actor, action, module, target, outcome, detail)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        p, 7, NULL);
}

medreg_err mr_audit_now(mr_service *s, const char *actor, const char *action, const char *module,
                        const char *target, const char *outcome, const char *detail)
{
    audit_row a = {(int64_t)time(NULL), actor, action, module ? module : "", target ? target : "",
                   outcome, detail ? detail : ""};
    return mr_group_commit_run(s->commits, insert_row, &a);
}
