/* The registry (architecture: "registry"; seed 000 §2): anonymous records
 * under random subject handles, filed by physicians through their internal
 * IDs, immutable and versioned; study extracts for researchers. */
#include <csv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/csv_out.h"
#include "../core/secret.h"
#include "../crypto/psn_token.h"
#include "service.h"

/* A refusal found before any storage: audited on its own. */
static int refuse_early(mr_request *req, mr_response *resp, const char *action, const char *module,
                        const char *internal_id, const char *code, const char *message)
{
    mr_refuse(NULL, req, resp, 403, code, action, module, internal_id, message);
    return 0;
}

int mr_relation_open(mr_service *s, mr_request *req, mr_response *resp, const char *action, const char *module,
                     const char *internal_id, const char *token_s, mr_relation *rel)
{
    memset(rel, 0, sizeof *rel);
    rel->module = module;
    rel->internal_id = internal_id;
    rel->physician = req->caller.fpr;
    if (token_s == NULL)
        return 1;
    /* the token: authentic, fresh, for this module, ID and physician (used once: mr_relation_check) */
    if (mr_psn_token_open(token_s, s->token_key, s->identity_pk, &rel->token) != MEDREG_OK)
        return refuse_early(req, resp, action, module, internal_id, "invalid_token", "the PSN token is not valid");
    uint8_t caller[32];
    size_t bl = 0;
    if (sodium_hex2bin(caller, 32, req->caller.fpr, 64, NULL, &bl, NULL) != 0 || bl != 32 ||
        strcmp(rel->token.module, module) != 0 || strcmp(rel->token.internal_id, internal_id) != 0 ||
        !mr_ct_equal(rel->token.physician, caller, 32)) {
        mr_relation_clear(rel);
        return refuse_early(req, resp, action, module, internal_id, "token_mismatch",
                            "the PSN token was issued for another module, internal ID or physician");
    }
    if (rel->token.expires_at <= (uint64_t)time(NULL)) {
        mr_relation_clear(rel);
        return refuse_early(req, resp, action, module, internal_id, "token_expired",
                            "the PSN token has expired; register the patient again for a fresh one");
    }
    rel->has_token = 1;
    return 1;
}

void mr_relation_clear(mr_relation *rel) { mr_wipe(&rel->token, sizeof rel->token); }

medreg_err mr_relation_check(mr_conn *c, mr_relation *rel)
{
    mr_rows *r = NULL;
    mr_param q[2] = {MR_TEXT(rel->module), MR_TEXT(rel->internal_id)};

    rel->refused.code = NULL;
    rel->exists = rel->relink = rel->new_subject = 0;
    medreg_err rc =
        mr_conn_exec(c, "SELECT physician, subject FROM relations WHERE module = $1 AND internal_id = $2", q, 2, &r);
    if (rc != MEDREG_OK)
        goto out;
    if ((rel->exists = mr_rows_count(r) > 0)) {
        if (strcmp(mr_rows_text(r, 0, 0), rel->physician) != 0) {
            rc = mr_refuse_later(&rel->refused, 403, "forbidden", "this internal ID is not one of yours");
            goto out;
        }
        snprintf(rel->subject, sizeof rel->subject, "%s", mr_rows_text(r, 0, 1));
    }
    if (!rel->has_token) {
        if (!rel->exists)
            rc = mr_refuse_later(&rel->refused, 400, "psn_token_required",
                                  "the first record of a patient needs the PSN token from the identity service");
        goto out;
    }
    mr_rows_free(r);
    r = NULL;
    mr_param u[1] = {MR_BLOB(rel->token.nonce, sizeof rel->token.nonce)};
    rc = mr_conn_exec(c, "SELECT 1 FROM used_tokens WHERE nonce = $1", u, 1, &r);
    if (rc != MEDREG_OK)
        goto out;
    if (mr_rows_count(r) > 0) {
        rc = mr_refuse_later(&rel->refused, 403, "token_replayed", "this PSN token has already been used");
        goto out;
    }
    mr_rows_free(r);
    r = NULL;
    if (rel->exists) {
        /* a later token for a known relation: the identity service may have relinked the patient */
        mr_param p[4] = {MR_INT(rel->token.key_id), MR_BLOB(rel->token.psn, sizeof rel->token.psn),
                         MR_TEXT(rel->subject), MR_TEXT(rel->module)};
        rc = mr_conn_exec(c, "SELECT 1 FROM subjects WHERE key_id = $1 AND psn = $2 AND subject = $3 AND module = $4",
                          p, 4, &r);
        rel->relink = rc == MEDREG_OK && mr_rows_count(r) == 0;
        goto out;
    }
    mr_param p[3] = {MR_TEXT(rel->module), MR_INT(rel->token.key_id), MR_BLOB(rel->token.psn, sizeof rel->token.psn)};
    rc = mr_conn_exec(c,
                      "SELECT subject FROM subjects WHERE module = $1 AND key_id = $2 AND psn = $3"
                      " ORDER BY created_at LIMIT 1",
                      p, 3, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) > 0) {
        snprintf(rel->subject, sizeof rel->subject, "%s", mr_rows_text(r, 0, 0));
    } else if (rc == MEDREG_OK) {
        mr_random_id(rel->subject);
        rel->new_subject = 1;
    }
out:
    mr_rows_free(r);
    return rc;
}

medreg_err mr_relation_store(mr_conn *c, const mr_relation *rel)
{
    if (!rel->has_token)
        return MEDREG_OK;
    int64_t now = (int64_t)time(NULL);
    mr_param u[2] = {MR_BLOB(rel->token.nonce, sizeof rel->token.nonce), MR_INT(rel->token.expires_at)};
    medreg_err rc = mr_conn_exec(c, "INSERT INTO used_tokens (nonce, expires_at) VALUES ($1, $2)", u, 2, NULL);
    if (rc == MEDREG_OK && rel->relink) {
        mr_param p[4] = {MR_INT(rel->token.key_id), MR_BLOB(rel->token.psn, sizeof rel->token.psn),
                         MR_TEXT(rel->subject), MR_TEXT(rel->module)};
        rc = mr_conn_exec(c, "UPDATE subjects SET key_id = $1, psn = $2 WHERE subject = $3 AND module = $4", p, 4,
                          NULL);
        if (rc == MEDREG_OK)
            rc = mr_audit_about(c, rel->subject, rel->physician, "subject_relink", rel->module, rel->internal_id,
                                "ok", "");
    }
    if (rc == MEDREG_OK && rel->new_subject) {
        mr_param n[5] = {MR_TEXT(rel->subject), MR_TEXT(rel->module), MR_INT(rel->token.key_id),
                         MR_BLOB(rel->token.psn, sizeof rel->token.psn), MR_INT(now)};
        rc = mr_conn_exec(c,
                          "INSERT INTO subjects (subject, module, key_id, psn, created_at) VALUES ($1, $2, $3, $4, $5)",
                          n, 5, NULL);
    }
    if (rc == MEDREG_OK && !rel->exists) {
        mr_param n[5] = {MR_TEXT(rel->module), MR_TEXT(rel->internal_id), MR_TEXT(rel->physician),
                         MR_TEXT(rel->subject), MR_INT(now)};
        rc = mr_conn_exec(c,
                          "INSERT INTO relations (module, internal_id, physician, subject, created_at)"
                          " VALUES ($1, $2, $3, $4, $5)",
                          n, 5, NULL);
    }
    return rc;
}

static int validate_data(const mr_module *m, json_t *data, mr_response *resp)
{
    const char *field = NULL, *why = NULL;
    if (data == NULL) {
        mr_resp_error(resp, 400, "missing_field", "field 'data' is required");
        return 0;
    }
    if (mr_module_validate_record(m, data, &field, &why) != MEDREG_OK) {
        if (field)
            mr_resp_error(resp, 400, "invalid_field", "data.%.64s %s", field, why);
        else
            mr_resp_error(resp, 400, "invalid_field", "%s", why);
        return 0;
    }
    return 1;
}

/* A new record: its relation checked and, with a token, created, in the same
 * group-commit unit (nothing of a refused request is written). */
typedef struct record_unit {
    mr_relation rel; /* its strings point into this struct */
    char *data;
    char module[MR_NAME_MAX + 1];
    char internal_id[MEDREG_INTERNAL_ID_LEN + 1];
    char physician[65];
    char record_id[33];
} record_unit;

static void record_unit_free(void *state)
{
    record_unit *u = state;
    if (u == NULL)
        return;
    mr_relation_clear(&u->rel);
    free(u->data);
    free(u);
}

static medreg_err record_unit_run(mr_conn *c, void *arg)
{
    record_unit *u = arg;
    medreg_err rc = mr_relation_check(c, &u->rel);
    if (rc != MEDREG_OK || u->rel.refused.code != NULL)
        return rc;
    rc = mr_relation_store(c, &u->rel);
    mr_param p[8] = {MR_TEXT(u->record_id), MR_INT(1), MR_TEXT(u->rel.module), MR_TEXT(u->rel.subject),
                     MR_TEXT(u->rel.internal_id), MR_TEXT(u->rel.physician), MR_INT(time(NULL)), MR_TEXT(u->data)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "INSERT INTO records (record_id, version, module, subject, internal_id, physician, created_at,"
                          " data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                          p, 8, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit_about(c, u->rel.subject, u->rel.physician, "record_write", u->rel.module, u->record_id, "ok",
                            "version 1");
    return rc;
}

static void record_added(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    record_unit *u = state;
    (void)s;
    if (rc != MEDREG_OK)
        mr_resp_db_error(resp, rc);
    else if (u->rel.refused.code != NULL)
        mr_refuse(NULL, req, resp, u->rel.refused.status, u->rel.refused.code, "record_write", u->module,
                  u->internal_id, u->rel.refused.message);
    else
        mr_resp_json(resp, 201, json_pack("{s:s,s:i,s:s,s:s}", "record_id", u->record_id, "version", 1, "module",
                                          u->module, "internal_id", u->internal_id));
}

static void record_add(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "internal_id", "psn_token", "data", NULL};
    json_t *j = mr_req_json(req, resp, allowed);
    record_unit *u = NULL;
    const mr_module *m;

    if (j == NULL)
        return;
    const char *iid = json_string_value(json_object_get(j, "internal_id"));
    json_t *tok = json_object_get(j, "psn_token");
    if ((m = mr_body_module(s, j, resp, NULL)) == NULL)
        goto out;
    if (!mr_require_role(s, req, resp, "record_write", "physician", m->name, NULL))
        goto out;
    if ((u = calloc(1, sizeof *u)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    snprintf(u->module, sizeof u->module, "%s", m->name);
    snprintf(u->physician, sizeof u->physician, "%s", req->caller.fpr);
    if (iid == NULL || medreg_internal_id_parse(iid, u->internal_id) != MEDREG_OK) {
        mr_resp_error(resp, 400, iid ? "invalid_field" : "missing_field",
                      "field 'internal_id' must be an internal ID (its check character did not match)");
        goto out;
    }
    if (tok && (!json_is_string(tok) || json_string_length(tok) >= MR_TOKEN_MAX_CHARS)) {
        mr_resp_error(resp, 400, "invalid_field", "field 'psn_token' must be a token string");
        goto out;
    }
    if (!validate_data(m, json_object_get(j, "data"), resp))
        goto out;
    u->data = json_dumps(json_object_get(j, "data"), JSON_COMPACT | JSON_SORT_KEYS);
    if (u->data == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    if (!mr_relation_open(s, req, resp, "record_write", u->module, u->internal_id,
                          tok ? json_string_value(tok) : NULL, &u->rel))
        goto out;
    u->rel.physician = u->physician;
    mr_random_id(u->record_id);
    mr_resp_defer(resp, record_unit_run, record_added, u, record_unit_free);
    u = NULL;
out:
    record_unit_free(u);
    json_decref(j);
}

/* Every version of the record named in the path (oldest first), if it was
 * filed under one of the caller's internal IDs, or, when grant is given, if
 * the caller holds an active grant on its subject (grant->id is then set).
 * Columns: record_id, version, module, internal_id, created_at, data,
 * physician, subject. Returns 0 after filling resp: 404 when there is no
 * such record, 403 (audited) when the caller may not see it. */
typedef struct grant_view {
    char id[33];
    char *excluded; /* comma-separated categories the patient withheld */
} grant_view;

static int load_record(mr_conn *c, mr_request *req, mr_response *resp, const char *action,
                       mr_rows **r, grant_view *grant)
{
    mr_param q[2] = {MR_TEXT(req->params[0]), MR_TEXT(req->caller.fpr)};
    /* the caller's physician role in the record's module in the same
     * statement: one read per request on this hot path */
    medreg_err rc = mr_conn_exec(c,
                                 "SELECT r.record_id, r.version, r.module, r.internal_id, r.created_at, r.data,"
                                 " rel.physician, r.subject, CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.fpr = $2"
                                 " AND u.role = 'physician' AND u.module = r.module AND u.removed_at IS NULL)"
                                 " THEN 1 ELSE 0 END FROM records r"
                                 " JOIN relations rel ON rel.module = r.module AND rel.internal_id = r.internal_id"
                                 " WHERE r.record_id = $1 ORDER BY r.version",
                                 q, 2, r);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return 0;
    }
    if (mr_rows_count(*r) == 0) {
        mr_resp_error(resp, 404, "not_found", "no record has this id");
        return 0;
    }
    if (mr_rows_int(*r, 0, 8) != 1) { /* never registered here, or the role was removed */
        mr_refuse(c, req, resp, 403, "forbidden", action, mr_rows_text(*r, 0, 2), req->params[0],
                  "this operation needs the physician role in the record's module");
        return 0;
    }
    if (strcmp(mr_rows_text(*r, 0, 6), req->caller.fpr) == 0)
        return 1;
    int found = 0;
    if (grant) {
        rc = mr_grant_active(c, mr_rows_text(*r, 0, 2), mr_rows_text(*r, 0, 7), req->caller.fpr, grant->id,
                             &grant->excluded, &found);
        if (rc != MEDREG_OK) {
            mr_resp_db_error(resp, rc);
            return 0;
        }
    }
    if (!found) {
        mr_refuse(c, req, resp, 403, "forbidden", action, mr_rows_text(*r, 0, 2), req->params[0],
                  "this record was not filed under one of your internal IDs, and the patient has not consented");
        return 0;
    }
    return 1;
}

/* Drop the fields of the categories the patient withheld (and any field the
 * schema does not know); name the withheld categories. */
static json_t *filter_data(const mr_module *m, json_t *data, const char *excluded, json_t *withheld)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(data, key, v) {
        const mr_field_def *f = m ? mr_module_field(m, key) : NULL;
        int hide = f == NULL;
        if (f) {
            size_t cl = strlen(f->category);
            for (const char *p = excluded; *p && !hide; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
                hide = strcspn(p, ",") == cl && strncmp(p, f->category, cl) == 0;
            }
        }
        if (!hide) {
            json_object_set(out, key, v);
            continue;
        }
        const char *cat = f ? f->category : "unknown";
        int listed = 0;
        for (size_t i = 0; i < json_array_size(withheld); i++)
            listed |= !strcmp(json_string_value(json_array_get(withheld, i)), cat);
        if (!listed)
            json_array_append_new(withheld, json_string(cat));
    }
    return out;
}

/* A correction: the next version of a record, numbered inside the group
 * commit's transaction (the caller's right to it was checked before: a
 * record's owner never changes). */
typedef struct version_unit {
    char record_id[33], module[MR_NAME_MAX + 1], subject[33], internal_id[MEDREG_INTERNAL_ID_LEN + 1];
    char physician[65];
    char *data;
    int64_t version; /* set by the unit */
} version_unit;

static void version_unit_free(void *state)
{
    version_unit *u = state;
    if (u == NULL)
        return;
    free(u->data);
    free(u);
}

static medreg_err version_unit_run(mr_conn *c, void *arg)
{
    version_unit *u = arg;
    mr_rows *r = NULL;
    mr_param q = MR_TEXT(u->record_id);
    medreg_err rc = mr_conn_exec(c, "SELECT MAX(version) FROM records WHERE record_id = $1", &q, 1, &r);
    if (rc == MEDREG_OK)
        u->version = mr_rows_int(r, 0, 0) + 1;
    mr_rows_free(r);
    mr_param p[8] = {MR_TEXT(u->record_id), MR_INT(u->version), MR_TEXT(u->module), MR_TEXT(u->subject),
                     MR_TEXT(u->internal_id), MR_TEXT(u->physician), MR_INT(time(NULL)), MR_TEXT(u->data)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "INSERT INTO records (record_id, version, module, subject, internal_id, physician, created_at, data)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                          p, 8, NULL);
    char detail[32];
    snprintf(detail, sizeof detail, "version %lld", (long long)u->version);
    if (rc == MEDREG_OK)
        rc = mr_audit_about(c, u->subject, u->physician, "record_correct", u->module, u->record_id, "ok", detail);
    return rc;
}

static void version_stored(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    const version_unit *u = state;
    (void)s;
    (void)req;
    if (rc != MEDREG_OK)
        mr_resp_db_error(resp, rc);
    else
        mr_resp_json(resp, 201, json_pack("{s:s,s:I}", "record_id", u->record_id, "version", (json_int_t)u->version));
}

static void record_version(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"data", NULL};
    json_t *j = mr_req_json(req, resp, allowed);
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    version_unit *u = NULL;
    const mr_module *m;
    medreg_err rc;

    if (j == NULL)
        return;
    if ((rc = mr_db_acquire(s->db, &c)) != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    if (!load_record(c, req, resp, "record_correct", &r, NULL))
        goto out;
    m = mr_service_module(s, mr_rows_text(r, 0, 2), NULL);
    if (m == NULL) {
        mr_resp_error(resp, 409, "conflict", "the record's module is no longer configured");
        goto out;
    }
    if (!validate_data(m, json_object_get(j, "data"), resp))
        goto out;
    if ((u = calloc(1, sizeof *u)) == NULL ||
        (u->data = json_dumps(json_object_get(j, "data"), JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    snprintf(u->record_id, sizeof u->record_id, "%s", req->params[0]);
    snprintf(u->module, sizeof u->module, "%s", m->name);
    snprintf(u->subject, sizeof u->subject, "%s", mr_rows_text(r, 0, 7));
    snprintf(u->internal_id, sizeof u->internal_id, "%s", mr_rows_text(r, 0, 3));
    snprintf(u->physician, sizeof u->physician, "%s", req->caller.fpr);
    mr_resp_defer(resp, version_unit_run, version_stored, u, version_unit_free);
    u = NULL;
out:
    version_unit_free(u);
    mr_rows_free(r);
    mr_db_release(s->db, c);
    json_decref(j);
}

/* One record version. Another physician's record (shown under a grant)
 * carries no internal ID and only the categories the patient granted. */
static json_t *record_json(const mr_service *s, const mr_rows *r, size_t i, const grant_view *grant)
{
    json_t *data = json_loads(mr_rows_text(r, i, 5), 0, NULL);
    json_t *j = json_pack("{s:s,s:I,s:s,s:I}", "record_id", mr_rows_text(r, i, 0), "version",
                          (json_int_t)mr_rows_int(r, i, 1), "module", mr_rows_text(r, i, 2), "created_at",
                          (json_int_t)mr_rows_int(r, i, 4));
    if (grant == NULL) {
        json_object_set_new(j, "internal_id", json_string(mr_rows_text(r, i, 3)));
        json_object_set_new(j, "own", json_true());
        json_object_set_new(j, "data", data ? data : json_null());
        return j;
    }
    json_t *withheld = json_array();
    json_t *shown = filter_data(mr_service_module(s, mr_rows_text(r, i, 2), NULL), data, grant->excluded, withheld);
    json_decref(data);
    json_object_set_new(j, "own", json_false());
    json_object_set_new(j, "grant", json_string(grant->id));
    json_object_set_new(j, "data", shown);
    json_object_set_new(j, "withheld", withheld);
    return j;
}

/* Only characters that need no escaping in a JSON string. */
static int plain_json_text(const char *v)
{
    return v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.:")] == '\0';
}

/* The caller's own record, every version, written straight from the rows:
 * the data column holds the compact, key-sorted JSON this service printed
 * when it stored the version (record_add, record_version), so it is copied
 * instead of parsed and printed again, which was a tenth of a read's CPU.
 * The output is byte for byte what record_json and mr_resp_json give. Returns
 * 0, leaving resp alone, when a value is not plain text (the caller then
 * takes the general path). */
static int own_record_text(const mr_rows *r, mr_response *resp)
{
    char *body = NULL;
    size_t len = 0;
    for (size_t i = 0; i < mr_rows_count(r); i++)
        if (!plain_json_text(mr_rows_text(r, i, 0)) || !plain_json_text(mr_rows_text(r, i, 2)) ||
            !plain_json_text(mr_rows_text(r, i, 3)))
            return 0;
    FILE *fp = open_memstream(&body, &len);
    if (fp == NULL)
        return 0;
    fprintf(fp, "{\"record_id\":\"%s\",\"versions\":[", mr_rows_text(r, 0, 0));
    for (size_t i = 0; i < mr_rows_count(r); i++)
        fprintf(fp, "%s{\"created_at\":%lld,\"data\":%s,\"internal_id\":\"%s\",\"module\":\"%s\",\"own\":true,"
                    "\"record_id\":\"%s\",\"version\":%lld}",
                i ? "," : "", (long long)mr_rows_int(r, i, 4), mr_rows_text(r, i, 5), mr_rows_text(r, i, 3),
                mr_rows_text(r, i, 2), mr_rows_text(r, i, 0), (long long)mr_rows_int(r, i, 1));
    fputs("]}", fp);
    if (fclose(fp) != 0 || body == NULL) {
        free(body);
        return 0;
    }
    free(resp->body);
    resp->status = 200;
    resp->body = body;
    resp->len = len;
    resp->content_type = "application/json";
    return 1;
}

static void record_list(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *module = mr_req_query(req, "module"), *iid = mr_req_query(req, "internal_id");
    char internal_id[MEDREG_INTERNAL_ID_LEN + 1] = "", subject[33] = "";
    mr_conn *c = NULL;
    mr_rows *r = NULL, *others = NULL;
    grant_view grant = {"", NULL};
    medreg_err rc;

    if (module == NULL || mr_service_module(s, module, NULL) == NULL) {
        mr_resp_error(resp, 400, "invalid_query", "query 'module' must name a module of this registry");
        return;
    }
    if (iid && medreg_internal_id_parse(iid, internal_id) != MEDREG_OK) {
        mr_resp_error(resp, 400, "invalid_query", "query 'internal_id' is not a valid internal ID");
        return;
    }
    if (!mr_require_role(s, req, resp, "record_read", "physician", module, NULL))
        return;
    rc = mr_db_acquire(s->db, &c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (iid) {
        mr_param q[2] = {MR_TEXT(module), MR_TEXT(internal_id)};
        rc = mr_conn_exec(c, "SELECT physician, subject FROM relations WHERE module = $1 AND internal_id = $2", q, 2, &r);
        if (rc == MEDREG_OK && (mr_rows_count(r) == 0 || strcmp(mr_rows_text(r, 0, 0), req->caller.fpr) != 0)) {
            mr_refuse(c, req, resp, 403, "forbidden", "record_read", module, internal_id,
                   "this internal ID is not one of yours");
            goto out;
        }
        /* with the patient's consent, the other physicians' records of this patient too */
        int found = 0;
        if (rc == MEDREG_OK) {
            snprintf(subject, sizeof subject, "%s", mr_rows_text(r, 0, 1));
            rc = mr_grant_active(c, module, subject, req->caller.fpr, grant.id, &grant.excluded, &found);
        }
        if (rc == MEDREG_OK && found) {
            mr_param g[3] = {MR_TEXT(module), MR_TEXT(subject), MR_TEXT(req->caller.fpr)};
            rc = mr_conn_exec(c,
                              "SELECT r.record_id, r.version, r.module, '', r.created_at, r.data FROM records r"
                              " WHERE r.module = $1 AND r.subject = $2 AND r.physician <> $3"
                              " AND r.version = (SELECT MAX(v.version) FROM records v WHERE v.record_id = r.record_id)"
                              " ORDER BY r.created_at, r.record_id LIMIT 10000",
                              g, 3, &others);
        }
        mr_rows_free(r);
        r = NULL;
    }
    /* the latest version of every record filed under the caller's internal IDs */
    mr_param p[3] = {MR_TEXT(module), MR_TEXT(req->caller.fpr), MR_TEXT(internal_id)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT r.record_id, r.version, r.module, r.internal_id, r.created_at, r.data FROM records r"
                          " JOIN relations rel ON rel.module = r.module AND rel.internal_id = r.internal_id"
                          " WHERE r.module = $1 AND rel.physician = $2 AND ($3 = '' OR r.internal_id = $3)"
                          " AND r.version = (SELECT MAX(v.version) FROM records v WHERE v.record_id = r.record_id)"
                          " ORDER BY r.created_at, r.record_id LIMIT 10000",
                          p, 3, &r);
    if (rc == MEDREG_OK) {
        char detail[96];
        if (others)
            snprintf(detail, sizeof detail, "list %zu own, %zu under grant %s", mr_rows_count(r),
                     mr_rows_count(others), grant.id);
        else
            snprintf(detail, sizeof detail, "list %zu", mr_rows_count(r));
        json_t *arr = json_array();
        for (size_t i = 0; i < mr_rows_count(r); i++)
            json_array_append_new(arr, record_json(s, r, i, NULL));
        for (size_t i = 0; others && i < mr_rows_count(others); i++)
            json_array_append_new(arr, record_json(s, others, i, &grant));
        mr_resp_json(resp, 200, json_pack("{s:o}", "records", arr));
        mr_resp_after_audit(resp, iid ? subject : "", req->caller.fpr, "record_read", module, internal_id, "ok",
                            detail);
    } else {
        mr_resp_db_error(resp, rc);
    }
out:
    free(grant.excluded);
    mr_rows_free(r);
    mr_rows_free(others);
    mr_db_release(s->db, c);
}

static void record_get(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    grant_view grant = {"", NULL};
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    if (!load_record(c, req, resp, "record_read", &r, &grant))
        goto out;
    mr_db_release(s->db, c);
    c = NULL;
    char detail[64] = "";
    if (grant.excluded)
        snprintf(detail, sizeof detail, "under grant %s", grant.id);
    if (grant.excluded != NULL || !own_record_text(r, resp)) {
        json_t *versions = json_array();
        for (size_t i = 0; i < mr_rows_count(r); i++)
            json_array_append_new(versions, record_json(s, r, i, grant.excluded ? &grant : NULL));
        mr_resp_json(resp, 200, json_pack("{s:s,s:o}", "record_id", req->params[0], "versions", versions));
    }
    mr_resp_after_audit(resp, mr_rows_text(r, 0, 7), req->caller.fpr, "record_read", mr_rows_text(r, 0, 2),
                        req->params[0], "ok", detail);
out:
    free(grant.excluded);
    mr_rows_free(r);
    mr_db_release(s->db, c);
}

static int valid_study_name(const char *n)
{
    size_t i;
    if (n == NULL || n[0] == 0)
        return 0;
    for (i = 0; n[i]; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= '0' && n[i] <= '9') ||
              n[i] == '-' || n[i] == '_' || n[i] == '.'))
            return 0;
    return i <= 64;
}

static void study_create(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "name", NULL};
    json_t *j;
    mr_conn *c = NULL;
    uint8_t key[32];
    medreg_err rc;

    if (!mr_require_role(s, req, resp, "study_create", "admin", "", NULL))
        return;
    j = mr_req_json(req, resp, allowed);
    if (j == NULL)
        return;
    const char *module = json_string_value(json_object_get(j, "module"));
    const char *name = json_string_value(json_object_get(j, "name"));
    if (module == NULL || mr_service_module(s, module, NULL) == NULL || !valid_study_name(name)) {
        mr_resp_error(resp, 400, "invalid_field",
                      "'module' must name a module and 'name' be 1..64 of A-Z a-z 0-9 . _ -");
        goto out;
    }
    randombytes_buf(key, sizeof key);
    mr_param p[5] = {MR_TEXT(module), MR_TEXT(name), MR_BLOB(key, sizeof key), MR_INT(time(NULL)),
                     MR_TEXT(req->caller.fpr)};
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "INSERT INTO studies (module, name, study_key, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
                          p, 5, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit(c, req->caller.fpr, "study_create", module, name, "ok", "");
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK)
        mr_resp_db_error(resp, rc);
    else
        mr_resp_json(resp, 201, json_pack("{s:s,s:s}", "module", module, "name", name));
out:
    mr_wipe(key, sizeof key);
    mr_db_release(s->db, c);
    json_decref(j);
}

/* study pseudonym = HMAC-SHA256(study key, "medreg/study/v1" ‖ 0 ‖ kind ‖ 0 ‖ id), first 16 bytes */
static void study_pseudonym(const uint8_t key[32], const char *kind, const char *id, char out[33])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[32], z = 0;
    static const char tag[] = "medreg/study/v1";
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_auth_hmacsha256_update(&st, &z, 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)kind, strlen(kind));
    crypto_auth_hmacsha256_update(&st, &z, 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)id, strlen(id));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 33, mac, 16);
    mr_wipe(&st, sizeof st);
}


/* Whether a spreadsheet would read a text cell as a formula (CSV
 * injection): it starts with '=', '+', '-' or '@', or with a tab or a CR
 * (which some spreadsheets skip before looking). */
static int formula_like(const char *t, size_t n)
{
    return n > 0 && strchr("=+-@\t\r", t[0]) != NULL;
}

/* for_spreadsheet: a text cell that a spreadsheet would evaluate gets a
 * leading apostrophe, which spreadsheets take as "text" and do not show */
static int csv_value(FILE *fp, json_t *v, int for_spreadsheet)
{
    char *s = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        const char *t = json_string_value(v);
        size_t n = json_string_length(v);
        if (!for_spreadsheet || !formula_like(t, n)) {
            mr_csv_field(fp, t, n);
            return 0;
        }
        if ((s = malloc(n + 1)) == NULL)
            return -1; /* never the cell undefanged */
        s[0] = '\'';
        memcpy(s + 1, t, n);
        mr_csv_field(fp, s, n + 1);
        free(s);
        return 0;
    }
    s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL)
        return -1;
    mr_csv_field(fp, s, strlen(s));
    free(s);
    return 0;
}

/* A study extract is streamed page by page (keyset paging on subject and
 * record id, both immutable), so memory stays flat however large the module;
 * each page takes a pool connection only while it is read. */
typedef struct export_state {
    mr_service *s;
    const mr_module *m;
    uint8_t key[32];
    char last_subject[33], last_record[33];
    char study[65];      /* for the log line of an export that stops */
    unsigned long rows;  /* sent so far */
    char *buf;
    size_t len, off;
    int header_done, done;
    int for_spreadsheet; /* cells=spreadsheet */
} export_state;

static void export_free(void *p)
{
    export_state *st = p;
    if (st == NULL)
        return;
    mr_wipe(st->key, sizeof st->key);
    free(st->buf);
    free(st);
}

/* Render the next page into st->buf. Returns 0 on success, -1 on error. */
static int export_page(export_state *st)
{
    const mr_module *m = st->m;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    FILE *fp;
    int rc = -1;

    free(st->buf);
    st->buf = NULL;
    st->len = st->off = 0;
    fp = open_memstream(&st->buf, &st->len);
    if (fp == NULL)
        return -1;
    if (!st->header_done) {
        /* no internal IDs, no physicians, no registry handles: only study-specific pseudonyms */
        fputs("subject,record,version,recorded_on", fp);
        for (size_t f = 0; f < m->n_fields; f++) {
            fputc(',', fp);
            mr_csv_field(fp, m->fields[f].name, strlen(m->fields[f].name));
        }
        fputs("\r\n", fp);
        st->header_done = 1;
    }
    mr_param p[4] = {MR_TEXT(m->name), MR_TEXT(st->last_subject), MR_TEXT(st->last_record),
                     MR_INT(st->s->cfg->export_page)};
    if (mr_db_acquire(st->s->db, &c) != MEDREG_OK)
        goto out;
    if (mr_conn_exec(c,
                     "SELECT r.subject, r.record_id, r.version, r.created_at, r.data FROM records r"
                     " WHERE r.module = $1"
                     " AND r.version = (SELECT MAX(v.version) FROM records v WHERE v.record_id = r.record_id)"
                     " AND (r.subject, r.record_id) > ($2, $3)"
                     " ORDER BY r.subject, r.record_id LIMIT $4",
                     p, 4, &r) != MEDREG_OK)
        goto out;
    mr_db_release(st->s->db, c);
    c = NULL;
    size_t n = mr_rows_count(r);
    for (size_t i = 0; i < n; i++) {
        char sp[33], rp[33], day[16];
        time_t t = (time_t)mr_rows_int(r, i, 3);
        struct tm tm;
        study_pseudonym(st->key, "subject", mr_rows_text(r, i, 0), sp);
        study_pseudonym(st->key, "record", mr_rows_text(r, i, 1), rp);
        gmtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        fprintf(fp, "%s,%s,%lld,%s", sp, rp, (long long)mr_rows_int(r, i, 2), day);
        json_t *data = json_loads(mr_rows_text(r, i, 4), 0, NULL);
        int bad = data == NULL; /* a stored record that is not JSON: the extract stops, cut */
        for (size_t f = 0; f < m->n_fields && !bad; f++) {
            fputc(',', fp);
            bad = csv_value(fp, json_object_get(data, m->fields[f].name), st->for_spreadsheet) != 0;
        }
        json_decref(data);
        if (bad)
            goto out;
        st->rows++;
        fputs("\r\n", fp);
    }
    if (n > 0) {
        snprintf(st->last_subject, sizeof st->last_subject, "%s", mr_rows_text(r, n - 1, 0));
        snprintf(st->last_record, sizeof st->last_record, "%s", mr_rows_text(r, n - 1, 1));
    }
    if (n < (size_t)st->s->cfg->export_page)
        st->done = 1;
    rc = 0;
out:
    if (fclose(fp) != 0)
        rc = -1;
    mr_rows_free(r);
    mr_db_release(st->s->db, c);
    return rc;
}

static long export_read(void *p, char *buf, size_t max)
{
    export_state *st = p;
    while (st->off == st->len) {
        if (st->done)
            return 0;
        if (export_page(st) != 0) {
            /* the client sees a body cut short and keeps no file; the
             * operator sees why here */
            fprintf(stderr,
                    "medregd: an export of module %s, study %s, stopped after %lu records: the database could not "
                    "be read, or a stored record does not parse\n",
                    st->m->name, st->study, st->rows);
            return -1;
        }
    }
    size_t n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    return (long)n;
}

static void export_csv(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *module = mr_req_query(req, "module"), *study = mr_req_query(req, "study"),
               *cells = mr_req_query(req, "cells");
    const mr_module *m;
    mr_conn *c = NULL;
    mr_rows *k = NULL;
    export_state *st = NULL;
    medreg_err rc;

    if (module == NULL || (m = mr_service_module(s, module, NULL)) == NULL || !valid_study_name(study)) {
        mr_resp_error(resp, 400, "invalid_query", "queries 'module' (a module) and 'study' (a study name) are required");
        return;
    }
    if (cells != NULL && strcmp(cells, "exact") != 0 && strcmp(cells, "spreadsheet") != 0) {
        mr_resp_error(resp, 400, "invalid_query", "query 'cells' is 'exact' (the default) or 'spreadsheet'");
        return;
    }
    if (!mr_require_role(s, req, resp, "export", "researcher", module, "admin"))
        return;
    rc = mr_db_acquire(s->db, &c);
    mr_param q[2] = {MR_TEXT(module), MR_TEXT(study)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c, "SELECT study_key FROM studies WHERE module = $1 AND name = $2", q, 2, &k);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    size_t kl = 0;
    const uint8_t *kp = mr_rows_blob(k, 0, 0, &kl);
    if (mr_rows_count(k) != 1 || kl != 32) {
        mr_resp_error(resp, 404, "not_found", "module '%s' has no study '%s'", module, study);
        goto out;
    }
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    st->s = s;
    st->m = m;
    st->for_spreadsheet = cells != NULL && strcmp(cells, "spreadsheet") == 0;
    snprintf(st->study, sizeof st->study, "%s", study); /* a valid study name: 1 to 64 of [A-Za-z0-9._-] */
    memcpy(st->key, kp, 32);
    /* the export is on record before a single row leaves */
    char detail[112];
    snprintf(detail, sizeof detail, "study=%s%s", study, st->for_spreadsheet ? " cells=spreadsheet" : "");
    resp->status = 200;
    resp->content_type = "text/csv; charset=utf-8";
    resp->stream = export_read;
    resp->stream_state = st;
    resp->stream_free = export_free;
    st = NULL;
    mr_resp_after_audit(resp, "", req->caller.fpr, "export", module, study, "ok", detail);
out:
    export_free(st);
    mr_rows_free(k);
}

static void stats(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    json_t *arr = json_array();
    if (!mr_require_role(s, req, resp, "stats", "admin", "", NULL)) {
        json_decref(arr);
        return;
    }
    medreg_err rc = mr_db_acquire(s->db, &c);
    for (size_t i = 0; rc == MEDREG_OK && i < s->n_modules; i++) {
        mr_rows *r = NULL;
        mr_param p = MR_TEXT(s->modules[i]->name);
        rc = mr_conn_exec(c,
                          "SELECT (SELECT COUNT(*) FROM subjects WHERE module = $1),"
                          " (SELECT COUNT(DISTINCT record_id) FROM records WHERE module = $1),"
                          " (SELECT COUNT(*) FROM records WHERE module = $1),"
                          " (SELECT COUNT(*) FROM relations WHERE module = $1),"
                          " (SELECT COUNT(DISTINCT physician) FROM relations WHERE module = $1)",
                          &p, 1, &r);
        if (rc == MEDREG_OK)
            json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "module", s->modules[i]->name,
                                                 "subjects", (json_int_t)mr_rows_int(r, 0, 0), "records",
                                                 (json_int_t)mr_rows_int(r, 0, 1), "versions",
                                                 (json_int_t)mr_rows_int(r, 0, 2), "relations",
                                                 (json_int_t)mr_rows_int(r, 0, 3), "physicians",
                                                 (json_int_t)mr_rows_int(r, 0, 4)));
        mr_rows_free(r);
    }
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        json_decref(arr);
        mr_resp_db_error(resp, rc);
        return;
    }
    mr_resp_json(resp, 200, json_pack("{s:o}", "modules", arr));
}

static const mr_route ROUTES[] = {
    {"POST", "/v1/records", record_add, "record_add"},
    {"GET", "/v1/records", record_list, "record_list"},
    {"GET", "/v1/records/*", record_get, "record_get"},
    {"POST", "/v1/records/*/versions", record_version, "record_version"},
    {"POST", "/v1/studies", study_create, "study_create"},
    {"GET", "/v1/export", export_csv, "export"},
    {"GET", "/v1/stats", stats, "stats"},
    {"GET", "/v1/consent/key", mr_consent_key_get, "consent_key"},
    {"POST", "/v1/cards", mr_card_register, "card_register"},
    {"DELETE", "/v1/cards/*", mr_card_remove, "card_remove"},
    {"POST", "/v1/consent/sessions", mr_consent_start, "consent_start"},
    {"POST", "/v1/consent/sessions/*", mr_consent_finish, "consent_finish"},
    {"GET", "/v1/grants", mr_grants_list, "grants"},
    {"GET", "/v1/alarms", mr_alarms_list, "alarms"},
    {"GET", "/v1/events/keys", mr_events_keys_get, "events_keys"},
    {"GET", "/v1/fhir/Consent", mr_fhir_consents, "fhir_consent"},
};

const mr_route *mr_registry_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}
