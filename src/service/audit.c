/* The events: every read, write, export and refusal, written in the same
 * transaction as what they describe (or through the group commit). Where a
 * service ships to a ledger, the table is its outbox (ledger_events.c):
 * each event, once the ledger holds it, leaves the table, and the ledger is
 * the audit trail. An event about a patient names the registry subject, so
 * that the patient's events share one handle and one key in the ledger. */
#include <stdio.h>
#include <time.h>

#include "service.h"

medreg_err mr_audit_insert(mr_conn *c, int64_t at, const char *subject, const char *actor, const char *action,
                           const char *module, const char *target, const char *outcome, const char *detail)
{
    mr_param p[8] = {MR_INT(at),          MR_TEXT(actor),   MR_TEXT(action),
                     MR_TEXT(module ? module : ""), MR_TEXT(target ? target : ""),
                     MR_TEXT(outcome),    MR_TEXT(detail ? detail : ""), MR_TEXT(subject ? subject : "")};
    return mr_conn_exec(c,
                        "INSERT INTO events (at, actor, action, module, target, outcome, detail, subject)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        p, 8, NULL);
}

medreg_err mr_audit_about(mr_conn *c, const char *subject, const char *actor, const char *action, const char *module,
                          const char *target, const char *outcome, const char *detail)
{
    if (!mr_conn_in_tx(c))
        return MEDREG_ERR_INVALID; /* stand-alone rows: mr_resp_after_audit */
    return mr_audit_insert(c, time(NULL), subject, actor, action, module, target, outcome, detail);
}

medreg_err mr_audit(mr_conn *c, const char *actor, const char *action, const char *module,
                    const char *target, const char *outcome, const char *detail)
{
    return mr_audit_about(c, "", actor, action, module, target, outcome, detail);
}
