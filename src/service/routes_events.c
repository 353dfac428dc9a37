/* The routes that read the services' events back (docs/ledger.md):
 * GET /v1/events/keys for administrators and monitors, and, at the identity
 * service, POST /v1/events/patient for a physician with a presence pass
 * from the registry (the patient's card has just answered). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../crypto/presence_pass.h"
#include "service.h"

/* GET /v1/events/keys (administrators and monitors): every
 * subject key, for medreg ledger audit-state, which recomputes the consent
 * state from the log alone, with how far the shipping has come ("pending":
 * consent events not in the ledger yet). It gives an administrator nothing
 * the audit rows do not already show them; an erased subject has no key. */
/* The keys are put into the answer only once the read's audit row is
 * durable: they are never in memory for an unaudited read. */
typedef struct keys_read {
    char actor[65];
    mr_rows *m, *r; /* shipped_max and pending; handle and key of each subject */
} keys_read;

static void keys_read_free(void *state)
{
    keys_read *k = state;
    if (k == NULL)
        return;
    mr_rows_free(k->m);
    mr_rows_free(k->r);
    free(k);
}

static medreg_err keys_read_audit(mr_conn *c, void *arg)
{
    const keys_read *k = arg;
    return mr_audit_insert(c, (int64_t)time(NULL), "", k->actor, "events_keys", "", "", "ok", "");
}

static void keys_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    const keys_read *k = state;
    (void)s;
    (void)req;
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *keys = json_object();
    for (size_t i = 0; keys && i < mr_rows_count(k->r); i++) {
        size_t hl = 0, kl = 0;
        const uint8_t *h = mr_rows_blob(k->r, i, 0, &hl), *key = mr_rows_blob(k->r, i, 1, &kl);
        char hex[33], *k64 = NULL;
        if (hl != 16 || kl != 32 || (k64 = mr_base64(key, kl)) == NULL)
            continue;
        sodium_bin2hex(hex, sizeof hex, h, hl);
        json_object_set_new(keys, hex, json_string(k64));
        mr_wipe(k64, strlen(k64));
        free(k64);
    }
    mr_resp_json(resp, 200, json_pack("{s:o,s:I,s:I}", "keys", keys, "shipped_max",
                                      (json_int_t)mr_rows_int(k->m, 0, 0), "pending",
                                      (json_int_t)mr_rows_int(k->m, 0, 1)));
}

void mr_events_keys_get(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    keys_read *k = NULL;
    if (!mr_require_role(s, req, resp, "events_keys", "admin", "", "monitor"))
        return;
    medreg_err rc = (k = calloc(1, sizeof *k)) ? mr_db_acquire(s->db, &c) : MEDREG_ERR_NOMEM;
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT (SELECT COALESCE(MAX(idx), -1) FROM ledger_shipped),"
                          " (SELECT COUNT(*) FROM events WHERE action IN ('grant', 'revoke', 'grant_expiry'))"
                          " /* scan: the outbox, the events not yet in the ledger */",
                          NULL, 0, &k->m);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c, "SELECT handle, key FROM event_keys ORDER BY handle /* scan: every key, for the monitor */", NULL, 0, &k->r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        keys_read_free(k);
        return;
    }
    snprintf(k->actor, sizeof k->actor, "%s", req->caller.fpr);
    mr_resp_defer(resp, keys_read_audit, keys_answer, k, keys_read_free);
}

medreg_err mr_user_names(mr_conn *c, const char *sql, const mr_param *p, size_t n, json_t *names)
{
    mr_rows *r = NULL;
    medreg_err rc = mr_conn_exec(c, sql, p, n, &r);
    if (rc == MEDREG_OK)
        for (size_t i = 0; i < mr_rows_count(r); i++)
            json_object_set_new(names, mr_rows_text(r, i, 0), json_string(mr_rows_text(r, i, 1)));
    mr_rows_free(r);
    return rc;
}

/* The identity records a pass names, each as {handle, key, indices,
 * pending}: the identity-side events about the patient (registrations,
 * views and corrections of the identity, relinks). Every such look is
 * itself an event about the patient. */
static medreg_err patient_sources(mr_service *s, mr_conn *c, const mr_presence_pass *p, const char *caller,
                                  json_t **out)
{
    mr_rows *r = NULL;
    medreg_err rc = MEDREG_OK;
    json_t *pats = json_array(), *names = json_object(), *one = NULL;
    int64_t as_of = -1;
    *out = NULL;
    ENSURE(pats && names, MEDREG_ERR_NOMEM);
    TRY(mr_events_as_of(c, &as_of));
    mr_param q[3] = {MR_TEXT(p->module), MR_INT(p->key_id), MR_BLOB(p->psn, sizeof p->psn)};
    TRY(mr_conn_exec(c, "SELECT id FROM patients WHERE module = $1 AND key_id = $2 AND psn = $3 ORDER BY id LIMIT 16",
                     q, 3, &r));
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        const char *pid = mr_rows_text(r, i, 0);
        TRY(mr_events_patient_source(s, c, p->module, pid, as_of, &one));
        ENSURE(json_array_append_new(pats, one) == 0, MEDREG_ERR_NOMEM);
        /* the physicians who registered this record, and the module's administrators */
        mr_param nq[2] = {MR_TEXT(p->module), MR_TEXT(pid)};
        TRY(mr_user_names(c,
                          "SELECT fpr, MIN(name) FROM users WHERE fpr IN"
                          " (SELECT physician FROM relations WHERE module = $1 AND patient_id = $2"
                          " UNION SELECT fpr FROM users WHERE role = 'module_admin' AND module = $1)"
                          " GROUP BY fpr /* scan: the users, who are few */",
                          nq, 2, names));
        TRY(mr_audit_about(c, pid, caller, "history_view", p->module, pid, "ok", "patient's card present"));
    }
    *out = json_pack("{s:I,s:o,s:o}", "as_of", (json_int_t)as_of, "patients", pats, "names", names);
    pats = names = NULL;
    ENSURE(*out != NULL, MEDREG_ERR_NOMEM);
out:
    json_decref(pats);
    json_decref(names);
    mr_rows_free(r);
    return rc;
}

void mr_events_patient_route(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "pass", NULL};
    json_t *j = mr_req_json(req, resp, allowed), *out = NULL;
    mr_conn *c = NULL;
    mr_presence_pass p;
    const mr_module *m;
    char fpr[65];
    medreg_err rc;
    memset(&p, 0, sizeof p);
    if (j == NULL)
        return;
    if ((m = mr_body_module(s, j, resp, NULL)) == NULL)
        goto done;
    if (!mr_require_role(s, req, resp, "events_patient", "physician", m->name, NULL))
        goto done;
    if (s->cfg->events_ledger == NULL) {
        mr_resp_error(resp, 409, "no_ledger", "this service publishes no ledger: there is no history to show");
        goto done;
    }
    if ((rc = mr_db_acquire(s->db, &c)) != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto done;
    }
    const char *why = NULL;
    if (mr_pass_open(json_string_value(json_object_get(j, "pass")), s->token_key, &p) != MEDREG_OK)
        why = "'pass' is not a presence pass from the registry";
    else if (strcmp(p.module, m->name) != 0)
        why = "the pass is for another module";
    else if (sodium_bin2hex(fpr, sizeof fpr, p.physician, sizeof p.physician), strcmp(fpr, req->caller.fpr) != 0)
        why = "the pass was issued to another physician";
    else if (p.expires_at < (uint64_t)time(NULL))
        why = "the pass has expired: the patient's card must answer again";
    if (why) {
        mr_refuse(c, req, resp, 403, "invalid_pass", "events_patient", m->name, "", why);
        goto done;
    }
    if ((rc = mr_conn_begin(c)) == MEDREG_OK) {
        mr_param u[2] = {MR_BLOB(p.nonce, sizeof p.nonce), MR_INT((int64_t)p.expires_at)};
        rc = mr_conn_exec(c, "INSERT INTO used_passes (nonce, expires_at) VALUES ($1, $2)", u, 2, NULL);
        if (rc == MEDREG_ERR_EXISTS) {
            mr_refuse(c, req, resp, 403, "pass_used", "events_patient", m->name, "",
                      "this pass was used already: the patient's card must answer again");
            goto done;
        }
    }
    if (rc == MEDREG_OK)
        rc = patient_sources(s, c, &p, req->caller.fpr, &out);
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_conn_rollback(c);
        json_decref(out);
        mr_resp_db_error(resp, rc);
        goto done;
    }
    mr_resp_json(resp, 200, out);
done:
    mr_wipe(&p, sizeof p);
    mr_db_release(s->db, c);
    json_decref(j);
}
