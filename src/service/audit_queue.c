/* Stand-alone audit rows (reads, exports, refusals) go through the service's
 * group commit with the answer deferred (mr_resp_defer): a caller's row is
 * durable before its request is answered, rows that arrive together share
 * one commit, and no HTTP thread waits meanwhile. Rows that belong to a data
 * change are written in that change's own transaction instead (mr_audit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A row that outlives its handler (mr_resp_after_audit): one allocation,
 * the strings after the struct. */
typedef struct owned_row {
    audit_row row; /* first: insert_row takes the struct as its row */
    char text[];
} owned_row;

/* A read's row: no answer without it. */
static void audited(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    (void)s;
    (void)req;
    (void)state;
    if (rc == MEDREG_OK)
        return;
    if (resp->stream) {
        if (resp->stream_free)
            resp->stream_free(resp->stream_state);
        resp->stream = NULL;
        resp->stream_state = NULL;
        resp->stream_free = NULL;
    }
    mr_resp_error(resp, 503, "storage", "could not write the audit record: %s", medreg_strerror(rc));
}

/* A refusal's row: the refusal stands either way. */
static void refusal_audited(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    const owned_row *o = state;
    (void)s;
    (void)req;
    (void)resp;
    if (rc != MEDREG_OK)
        fprintf(stderr, "medregd: could not write the audit row of a refused %s: %s\n",
                o ? o->row.action : "request", medreg_strerror(rc));
}

static void defer_row(mr_response *resp, mr_then_fn then, const char *subject, const char *actor, const char *action,
                      const char *module, const char *target, const char *outcome, const char *detail)
{
    const char *in[7] = {subject, actor, action, module, target, outcome, detail};
    const char **out[7];
    size_t len[7], total = 0;
    for (size_t i = 0; i < 7; i++) {
        len[i] = in[i] ? strlen(in[i]) + 1 : 1;
        total += len[i];
    }
    owned_row *o = malloc(sizeof *o + total);
    if (o == NULL) {
        then(NULL, NULL, resp, MEDREG_ERR_NOMEM, NULL);
        return;
    }
    o->row.at = (int64_t)time(NULL);
    out[0] = &o->row.subject, out[1] = &o->row.actor, out[2] = &o->row.action, out[3] = &o->row.module;
    out[4] = &o->row.target, out[5] = &o->row.outcome, out[6] = &o->row.detail;
    char *p = o->text;
    for (size_t i = 0; i < 7; i++) {
        memcpy(p, in[i] ? in[i] : "", len[i]);
        *out[i] = p;
        p += len[i];
    }
    mr_resp_defer(resp, insert_row, then, o, free);
}

void mr_resp_after_audit(mr_response *resp, const char *subject, const char *actor, const char *action,
                         const char *module, const char *target, const char *outcome, const char *detail)
{
    defer_row(resp, audited, subject, actor, action, module, target, outcome, detail);
}

void mr_audit_refusal(mr_response *resp, const mr_request *req, const char *action, const char *module,
                      const char *target, const char *why)
{
    defer_row(resp, refusal_audited, "", req->caller.fpr, action, module, target, "refused", why);
}
