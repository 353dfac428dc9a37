/* Routes every role serves: health, metrics, users, whoami, audit, modules. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/encode.h"
#include "../pki/pki.h"
#include "service.h"

void mr_metrics_render(mr_service *s, mr_response *resp);

/* Every role's user roles. Module-bound roles need a module. */
static int role_allowed(mr_role svc_role, const char *role, int *module_bound)
{
    static const char *identity_roles[] = {"admin", "module_admin", "physician", "pseudonymizer", "monitor", NULL};
    static const char *registry_roles[] = {"admin", "physician", "researcher", "monitor", NULL};
    static const char *ledger_roles[] = {"admin", "appender", "monitor", NULL};
    static const char *witness_roles[] = {"admin", "monitor", NULL};
    const char **roles = svc_role == MR_ROLE_IDENTITY   ? identity_roles
                         : svc_role == MR_ROLE_REGISTRY ? registry_roles
                         : svc_role == MR_ROLE_LEDGER   ? ledger_roles
                                                        : witness_roles;
    for (size_t i = 0; roles[i] != NULL; i++)
        if (!strcmp(roles[i], role)) {
            *module_bound = strcmp(role, "admin") != 0 && strcmp(role, "monitor") != 0 && strcmp(role, "appender") != 0;
            return 1;
        }
    return 0;
}

static void healthz(mr_service *s, mr_request *req, mr_response *resp)
{
    (void)req;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c, "SELECT 1", NULL, 0, &r);
    mr_rows_free(r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_error(resp, 503, "storage", "database unavailable");
        return;
    }
    mr_resp_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "role", mr_role_name(s->cfg->role)));
}

static void metrics(mr_service *s, mr_request *req, mr_response *resp)
{
    if (!mr_require_role(s, req, resp, "metrics", "admin", "", "monitor"))
        return;
    mr_metrics_render(s, resp);
}

static void user_add(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"certificate", "fingerprint", "role", "module", "name", NULL};
    json_t *j = NULL;
    mr_conn *c = NULL;
    medreg_err rc;
    char fpr[65];
    int bound = 0;
    const char *role, *module, *name, *cert, *fp;

    if (!mr_require_role(s, req, resp, "user_add", "admin", "", NULL))
        return;
    j = mr_req_json(req, resp, allowed);
    if (j == NULL)
        return;
    role = json_string_value(json_object_get(j, "role"));
    module = json_string_value(json_object_get(j, "module"));
    name = json_string_value(json_object_get(j, "name"));
    cert = json_string_value(json_object_get(j, "certificate"));
    fp = json_string_value(json_object_get(j, "fingerprint"));
    if (role == NULL || !role_allowed(s->cfg->role, role, &bound)) {
        mr_resp_error(resp, 400, "invalid_field", "field 'role' must be a role of the %s service",
                      mr_role_name(s->cfg->role));
        goto out;
    }
    if (bound && (module == NULL || mr_service_module(s, module, NULL) == NULL)) {
        mr_resp_error(resp, 400, "invalid_field", "field 'module' must name a module of this service");
        goto out;
    }
    if (!bound && module != NULL && module[0] != 0) {
        mr_resp_error(resp, 400, "invalid_field", "role '%s' is not bound to a module", role);
        goto out;
    }
    if (cert != NULL) {
        if (mr_cert_fingerprint_pem(cert, strlen(cert), fpr) != MEDREG_OK) {
            mr_resp_error(resp, 400, "invalid_field", "field 'certificate' is not a PEM certificate");
            goto out;
        }
    } else if (mr_is_lower_hex(fp, 64)) {
        memcpy(fpr, fp, 65);
    } else {
        mr_resp_error(resp, 400, "missing_field",
                      "give 'certificate' (PEM) or 'fingerprint' (64 lowercase hex)");
        goto out;
    }
    if (name == NULL || strlen(name) == 0 || strlen(name) > 128) {
        mr_resp_error(resp, 400, "invalid_field", "field 'name' must be 1..128 characters");
        goto out;
    }
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_user_insert(c, fpr, role, bound ? module : "", name, req->caller.fpr);
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    mr_resp_json(resp, 201, json_pack("{s:s,s:s,s:s,s:s}", "fingerprint", fpr, "role", role, "module",
                                      bound ? module : "", "name", name));
out:
    mr_db_release(s->db, c);
    json_decref(j);
}

/* DELETE /v1/users/FPR[?role=R[&module=M]]: the holder of the certificate
 * loses those roles (all, without a query) at once, on every route. */
static void user_remove(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *fpr = req->params[0], *role = mr_req_query(req, "role"), *module = mr_req_query(req, "module");
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    int bound = 0, last_admin = 0;

    if (!mr_require_role(s, req, resp, "user_remove", "admin", "", NULL))
        return;
    if (!mr_is_lower_hex(fpr, 64)) {
        mr_resp_error(resp, 400, "invalid_path", "a user is named by a certificate fingerprint (64 lowercase hex)");
        return;
    }
    if (role != NULL && !role_allowed(s->cfg->role, role, &bound)) {
        mr_resp_error(resp, 400, "invalid_query", "query 'role' must be a role of the %s service",
                      mr_role_name(s->cfg->role));
        return;
    }
    if (module != NULL && (role == NULL || !bound || mr_service_module(s, module, NULL) == NULL)) {
        mr_resp_error(resp, 400, "invalid_query", "query 'module' needs a module-bound 'role' and a module of this service");
        return;
    }
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_user_remove(c, fpr, role ? role : "", module ? module : "", req->caller.fpr, &r, &last_admin);
    if (rc == MEDREG_OK && mr_rows_count(r) == 0) {
        mr_refuse(c, req, resp, 404, "not_found", "user_remove", module ? module : "", fpr,
                  "this certificate holds no such role here");
        goto out;
    }
    if (rc == MEDREG_OK && last_admin) {
        mr_refuse(c, req, resp, 409, "last_admin", "user_remove", "", fpr,
                  "the last administrator cannot be removed: register another one first");
        goto out;
    }
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s}", "role", mr_rows_text(r, i, 0), "module",
                                             mr_rows_text(r, i, 1)));
    mr_resp_json(resp, 200, json_pack("{s:s,s:o}", "fingerprint", fpr, "removed", arr));
out:
    mr_rows_free(r);
    mr_db_release(s->db, c);
}

static void user_list(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc;
    if (!mr_require_role(s, req, resp, "user_list", "admin", "", NULL))
        return;
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT fpr, role, module, name, created_at, removed_at, removed_by FROM users"
                          " ORDER BY name, role, module /* scan: every user, for an administrator */",
                          NULL, 0, &r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:I}", "fingerprint", mr_rows_text(r, i, 0), "role",
                              mr_rows_text(r, i, 1), "module", mr_rows_text(r, i, 2), "name", mr_rows_text(r, i, 3),
                              "created_at", (json_int_t)mr_rows_int(r, i, 4));
        if (!mr_rows_isnull(r, i, 5)) { /* kept for the record: the names in the audit trail */
            json_object_set_new(u, "removed_at", json_integer(mr_rows_int(r, i, 5)));
            json_object_set_new(u, "removed_by", json_string(mr_rows_text(r, i, 6)));
        }
        json_array_append_new(arr, u);
    }
    mr_rows_free(r);
    mr_resp_json(resp, 200, json_pack("{s:o}", "users", arr));
}

static void whoami(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    mr_param p = MR_TEXT(req->caller.fpr);
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c, "SELECT role, module FROM users WHERE fpr = $1 AND removed_at IS NULL ORDER BY role, module",
                          &p, 1, &r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (mr_rows_count(r) == 0) {
        mr_rows_free(r);
        mr_audit_refusal(resp, req, "whoami", "", "", "unregistered certificate");
        mr_resp_error(resp, 403, "forbidden", "this certificate is not registered here");
        return;
    }
    json_t *roles = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(roles, json_pack("{s:s,s:s}", "role", mr_rows_text(r, i, 0), "module",
                                               mr_rows_text(r, i, 1)));
    mr_rows_free(r);
    mr_resp_json(resp, 200, json_pack("{s:s,s:s,s:s,s:o}", "service", mr_role_name(s->cfg->role),
                                      "fingerprint", req->caller.fpr, "name", req->caller.cn, "roles", roles));
}

void mr_refuse(mr_conn *c, const mr_request *req, mr_response *resp, int status, const char *code,
               const char *action, const char *module, const char *target, const char *message)
{
    mr_conn_rollback(c);
    mr_resp_error(resp, status, code, "%s", message);
    mr_audit_refusal(resp, req, action, module, target, code);
}

medreg_err mr_refuse_later(mr_refusal *r, int status, const char *code, const char *message)
{
    r->status = status;
    r->code = code;
    r->message = message;
    return MEDREG_OK;
}

static void audit_list(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    const char *after_s = mr_req_query(req, "after"), *limit_s = mr_req_query(req, "limit");
    uint64_t after = 0, limit = 100;
    if (!mr_require_role(s, req, resp, "audit_list", "admin", "", NULL))
        return;
    /* digits only: "", " 5" or "5x" are mistakes to name, not 0 or 5 */
    if (after_s && (!mr_parse_u64(after_s, strlen(after_s), &after) || after > INT64_MAX)) {
        mr_resp_error(resp, 400, "invalid_query", "'after' must be a non-negative integer");
        return;
    }
    if (limit_s && (!mr_parse_u64(limit_s, strlen(limit_s), &limit) || limit < 1 || limit > 10000)) {
        mr_resp_error(resp, 400, "invalid_query", "'limit' must be 1..10000");
        return;
    }
    mr_param p[2] = {MR_INT(after), MR_INT(limit)};
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT seq, at, actor, action, module, target, outcome, detail FROM events"
                          " WHERE seq > $1 ORDER BY seq LIMIT $2",
                          p, 2, &r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(
            arr, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)mr_rows_int(r, i, 0),
                           "at", (json_int_t)mr_rows_int(r, i, 1), "actor", mr_rows_text(r, i, 2),
                           "action", mr_rows_text(r, i, 3), "module", mr_rows_text(r, i, 4), "target",
                           mr_rows_text(r, i, 5), "outcome", mr_rows_text(r, i, 6), "detail",
                           mr_rows_text(r, i, 7)));
    mr_rows_free(r);
    mr_resp_json(resp, 200, json_pack("{s:o}", "events", arr));
}

static const char *type_name(mr_field_type t)
{
    switch (t) {
    case MR_FT_TEXT: return "text";
    case MR_FT_INTEGER: return "integer";
    case MR_FT_DECIMAL: return "decimal";
    case MR_FT_DATE: return "date";
    case MR_FT_ENUM: return "enum";
    case MR_FT_BOOLEAN: return "boolean";
    }
    return "?";
}

static const char *kind_name(medreg_ident_kind k)
{
    return k == MEDREG_IDENT_NAME ? "name" : k == MEDREG_IDENT_DATE ? "date" : "code";
}

static void modules(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    int known = 0;
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_auth_known(c, req->caller.fpr, &known);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (!known) {
        mr_audit_refusal(resp, req, "modules", "", "", "unregistered certificate");
        mr_resp_error(resp, 403, "forbidden", "this certificate is not registered here");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_modules; i++) {
        const mr_module *m = s->modules[i];
        json_t *ids = json_array(), *fields = json_array();
        for (size_t k = 0; k < m->n_idents; k++)
            json_array_append_new(ids, json_pack("{s:s,s:s}", "name", m->idents[k].name, "kind",
                                                 kind_name(m->idents[k].rule.kind)));
        for (size_t k = 0; k < m->n_fields; k++) {
            const mr_field_def *f = &m->fields[k];
            json_t *fj = json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", f->name, "type", type_name(f->type),
                                   "group", f->group, "category", f->category, "required", f->required);
            if (f->unit[0])
                json_object_set_new(fj, "unit", json_string(f->unit));
            if (f->n_values) {
                json_t *vals = json_array();
                for (size_t v = 0; v < f->n_values; v++)
                    json_array_append_new(vals, json_string(f->values[v]));
                json_object_set_new(fj, "values", vals);
            }
            json_array_append_new(fields, fj);
        }
        json_t *mj = json_pack("{s:s,s:o}", "name", m->name, "fields", fields);
        /* only the identity service talks about identifiers */
        if (s->cfg->role == MR_ROLE_IDENTITY)
            json_object_set_new(mj, "identifiers", ids);
        else
            json_decref(ids);
        json_array_append_new(arr, mj);
    }
    mr_resp_json(resp, 200, json_pack("{s:o}", "modules", arr));
}

const mr_route mr_common_routes[] = {
    {"GET", "/healthz", healthz, "healthz"},
    {"GET", "/metrics", metrics, "metrics"},
    {"POST", "/v1/users", user_add, "user_add"},
    {"GET", "/v1/users", user_list, "user_list"},
    {"DELETE", "/v1/users/*", user_remove, "user_remove"},
    {"GET", "/v1/whoami", whoami, "whoami"},
    {"GET", "/v1/audit", audit_list, "audit"},
    {"GET", "/v1/modules", modules, "modules"},
};
const size_t mr_n_common_routes = sizeof mr_common_routes / sizeof mr_common_routes[0];
