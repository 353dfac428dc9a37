/* Stand-alone audit rows (reads, exports, refusals) go through the service's
 * group commit: a caller's row is durable before its request is answered,
 * but rows that arrive together share one commit. Rows that belong to a data
 * change are written in that change's own transaction instead (mr_audit). */
#include <time.h>

#include "service.h"

typedef struct audit_row {
    int64_t at;
    const char *subject, *actor, *action, *module, *target, *outcome, *detail;
} audit_row;

static medreg_err insert_row(mr_conn *c, void *arg)
{
    const audit_row *a = arg;
    return mr_audit_insert(c, a->at, a->subject, a->actor, a->action, a->module, a->target, a->outcome, a->detail);
}

medreg_err mr_audit_now_about(mr_service *s, const char *subject, const char *actor, const char *action,
                              const char *module, const char *target, const char *outcome, const char *detail)
{
    audit_row a = {(int64_t)time(NULL), subject, actor, action, module, target, outcome, detail};
    return mr_group_commit_run(s->commits, insert_row, &a);
}

medreg_err mr_audit_now(mr_service *s, const char *actor, const char *action, const char *module,
                        const char *target, const char *outcome, const char *detail)
{
    return mr_audit_now_about(s, "", actor, action, module, target, outcome, detail);
}
