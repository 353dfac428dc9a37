/* The append-only audit table: every read, write, export and refusal.
 * (The ledger replaces it with a verifiable log in a later step.) */
#include <stdio.h>
#include <time.h>

#include "service.h"

medreg_err mr_audit(mr_conn *c, const char *actor, const char *action, const char *module,
                    const char *target, const char *outcome, const char *detail)
{
    if (!mr_conn_in_tx(c))
        return MEDREG_ERR_INVALID; /* stand-alone rows go through mr_audit_now */
    mr_param p[7] = {MR_INT(time(NULL)), MR_TEXT(actor),        MR_TEXT(action),
                     MR_TEXT(module ? module : ""), MR_TEXT(target ? target : ""),
                     MR_TEXT(outcome), MR_TEXT(detail ? detail : "")};
    return mr_conn_exec(c,
                        "INSERT INTO audit (at, actor, action, module, target, outcome, detail)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        p, 7, NULL);
}

void mr_audit_refusal(mr_service *s, const mr_request *req, const char *action, const char *module,
                      const char *target, const char *why)
{
    if (mr_audit_now(s, req->caller.fpr, action, module, target, "refused", why) != MEDREG_OK)
        fprintf(stderr, "medregd: could not write audit row for a refused %s\n", action);
}
