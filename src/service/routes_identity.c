/* The identity service (architecture: "identity"; seed 000 §2): patients'
 * identifying data, encrypted at rest, the PSN, internal IDs, PSN tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/secret.h"
#include "../crypto/psn_token.h"
#include "service.h"

#define SEAL_MAX 8192

typedef struct patient_input {
    char *norm[MR_MAX_IDENTIFIERS];
    medreg_psn_field fields[MR_MAX_IDENTIFIERS];
    json_t *original; /* borrowed */
    uint8_t psn[MEDREG_PSN_BYTES];
    uint8_t digest[MR_MAX_IDENTIFIERS][32]; /* the search index's, per identifier */
    /* the rows of a new patient and of a new relation, made before the
     * shared transaction (the group commit runs its units one after another,
     * so work done there is work every queued request waits for); unused if
     * they exist */
    char new_id[33];
    uint8_t *sealed;
    size_t sealed_len;
    char new_internal_id[MEDREG_INTERNAL_ID_LEN + 1];
} patient_input;

static void patient_input_clear(patient_input *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in->norm[i]) {
            mr_wipe(in->norm[i], strlen(in->norm[i]));
            free(in->norm[i]);
        }
    }
    free(in->sealed);
    mr_wipe(in, sizeof *in);
}

/* blind index: keyed BLAKE2b over module ‖ field ‖ normalised value */
static void index_digest(mr_service *s, const char *module, const char *field, const char *value,
                         uint8_t out[32])
{
    crypto_generichash_state st;
    uint8_t z = 0;
    crypto_generichash_init(&st, s->index_key, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)module, strlen(module));
    crypto_generichash_update(&st, &z, 1);
    crypto_generichash_update(&st, (const uint8_t *)field, strlen(field));
    crypto_generichash_update(&st, &z, 1);
    crypto_generichash_update(&st, (const uint8_t *)value, strlen(value));
    crypto_generichash_final(&st, out, 32);
}

/* Validate and normalise every identifier of m from the JSON object ids;
 * derive the PSN and the search index's digests. Fills resp (400, naming
 * the field) on failure. */
static int read_identifiers(mr_service *s, size_t mi, json_t *ids, patient_input *in,
                            mr_response *resp)
{
    const mr_module *m = s->modules[mi];
    const char *key;
    json_t *v;

    if (!json_is_object(ids)) {
        mr_resp_error(resp, 400, "missing_field", "field 'identifiers' must be an object");
        return 0;
    }
    json_object_foreach(ids, key, v) {
        if (mr_module_ident(m, key) == NULL) {
            mr_resp_error(resp, 400, "unknown_field", "'identifiers.%.64s' is not an identifier of module '%s'",
                          key, m->name);
            return 0;
        }
    }
    for (size_t i = 0; i < m->n_idents; i++) {
        json_t *x = json_object_get(ids, m->idents[i].name);
        if (x == NULL || json_is_null(x)) {
            mr_resp_error(resp, 400, "missing_field", "identifier 'identifiers.%s' is required",
                          m->idents[i].name);
            return 0;
        }
        if (!json_is_string(x)) {
            mr_resp_error(resp, 400, "invalid_field", "identifier 'identifiers.%s' must be a string",
                          m->idents[i].name);
            return 0;
        }
        medreg_err rc = medreg_normalize(&m->idents[i].rule, json_string_value(x), json_string_length(x),
                                         &in->norm[i]);
        if (rc != MEDREG_OK) {
            const char *why = m->idents[i].rule.kind == MEDREG_IDENT_DATE
                                  ? "is not a valid date (use YYYY-MM-DD, DD.MM.YYYY or YYYYMMDD)"
                              : m->idents[i].rule.kind == MEDREG_IDENT_CODE
                                  ? "is not a valid code (letters and digits; check digit must match)"
                                  : "is empty or not valid text";
            mr_resp_error(resp, 400, "invalid_field", "identifier 'identifiers.%s' %s",
                          m->idents[i].name, rc == MEDREG_ERR_TOOBIG ? "is too long" : why);
            return 0;
        }
        in->fields[i].name = m->idents[i].name;
        in->fields[i].value = in->norm[i];
        index_digest(s, m->name, in->fields[i].name, in->norm[i], in->digest[i]);
    }
    in->original = ids;
    if (medreg_psn_derive(s->module_keys[mi], m->key_id, m->name, in->fields, m->n_idents, in->psn) !=
        MEDREG_OK) {
        mr_resp_error(resp, 500, "internal", "pseudonym derivation failed");
        return 0;
    }
    return 1;
}

/* identifiers at rest: XChaCha20-Poly1305, AD = patient id ‖ module */
static medreg_err seal_identifiers(mr_service *s, const char *pid, const char *module,
                                   const patient_input *in, size_t n, uint8_t **out, size_t *out_len)
{
    medreg_err rc = MEDREG_OK;
    json_t *norm = json_object(), *doc = NULL;
    char *plain = NULL, *ad = NULL;
    uint8_t *ct = NULL;
    size_t plen;

    *out = NULL;
    ENSURE(norm != NULL, MEDREG_ERR_NOMEM);
    for (size_t i = 0; i < n; i++)
        json_object_set_new(norm, in->fields[i].name, json_string(in->norm[i]));
    doc = json_pack("{s:O,s:O}", "original", in->original, "normalized", norm);
    ENSURE(doc != NULL, MEDREG_ERR_NOMEM);
    plain = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    ENSURE(plain != NULL, MEDREG_ERR_NOMEM);
    plen = strlen(plain);
    ENSURE(plen < SEAL_MAX, MEDREG_ERR_TOOBIG);
    ENSURE(asprintf(&ad, "%s\n%s", pid, module) > 0, MEDREG_ERR_NOMEM);
    ct = malloc(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plen + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    ENSURE(ct != NULL, MEDREG_ERR_NOMEM);
    randombytes_buf(ct, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
                                               (const uint8_t *)plain, plen, (const uint8_t *)ad,
                                               strlen(ad), NULL, ct, s->seal_key);
    *out = ct;
    *out_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
    ct = NULL;
out:
    if (plain) {
        mr_wipe(plain, strlen(plain));
        free(plain);
    }
    free(ad);
    free(ct);
    json_decref(norm);
    json_decref(doc);
    return rc;
}

static json_t *open_identifiers(mr_service *s, const char *pid, const char *module, const uint8_t *ct,
                                size_t len)
{
    const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    char *ad = NULL;
    uint8_t *plain = NULL;
    unsigned long long plen = 0;
    json_t *j = NULL;
    if (len < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES || asprintf(&ad, "%s\n%s", pid, module) < 0)
        return NULL;
    plain = malloc(len);
    if (plain && crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, ct + nb, len - nb,
                                                            (const uint8_t *)ad, strlen(ad), ct,
                                                            s->seal_key) == 0)
        j = json_loadb((const char *)plain, (size_t)plen, 0, NULL);
    if (plain) {
        mr_wipe(plain, len);
        free(plain);
    }
    free(ad);
    return j;
}

/* The search index of a patient's identifiers; replace = 0 for a new
 * patient, who has none to remove yet. */
static medreg_err write_index(mr_conn *c, const char *module, const char *pid, const patient_input *in, size_t n,
                              int replace)
{
    medreg_err rc = MEDREG_OK;
    mr_param del = MR_TEXT(pid);
    if (replace)
        TRY(mr_conn_exec(c, "DELETE FROM patient_index WHERE patient_id = $1", &del, 1, NULL));
    for (size_t i = 0; i < n; i++) {
        mr_param p[4] = {MR_TEXT(module), MR_TEXT(in->fields[i].name), MR_BLOB(in->digest[i], 32), MR_TEXT(pid)};
        TRY(mr_conn_exec(c,
                         "INSERT INTO patient_index (module, field, digest, patient_id) VALUES ($1, $2, $3, $4)",
                         p, 4, NULL));
    }
out:
    return rc;
}

/* Find or create the patient and the caller's relation (inside the caller's
 * transaction). */
static medreg_err register_one(mr_service *s, mr_conn *c, size_t mi, const patient_input *in,
                               const char *physician, char internal_id[MEDREG_INTERNAL_ID_LEN + 1],
                               int *new_relation)
{
    medreg_err rc = MEDREG_OK;
    const mr_module *m = s->modules[mi];
    mr_rows *r = NULL;
    char pid[33];
    int64_t now = time(NULL);

    mr_param q[3] = {MR_TEXT(m->name), MR_INT(m->key_id), MR_BLOB(in->psn, MEDREG_PSN_BYTES)};
    TRY(mr_conn_exec(c, "SELECT id FROM patients WHERE module = $1 AND key_id = $2 AND psn = $3", q, 3, &r));
    int new_patient = mr_rows_count(r) == 0;
    if (!new_patient) {
        snprintf(pid, sizeof pid, "%s", mr_rows_text(r, 0, 0));
    } else {
        snprintf(pid, sizeof pid, "%s", in->new_id);
        mr_param p[7] = {MR_TEXT(pid),   MR_TEXT(m->name), MR_INT(m->key_id), MR_BLOB(in->psn, MEDREG_PSN_BYTES),
                         MR_BLOB(in->sealed, in->sealed_len), MR_INT(now), MR_INT(now)};
        TRY(mr_conn_exec(c,
                         "INSERT INTO patients (id, module, key_id, psn, sealed, created_at, updated_at)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                         p, 7, NULL));
        TRY(write_index(c, m->name, pid, in, m->n_idents, 0));
    }
    mr_rows_free(r);
    r = NULL;
    mr_param rq[3] = {MR_TEXT(m->name), MR_TEXT(physician), MR_TEXT(pid)};
    if (!new_patient) /* a patient made just now has no relation yet */
        TRY(mr_conn_exec(c,
                         "SELECT internal_id FROM relations WHERE module = $1 AND physician = $2 AND patient_id = $3",
                         rq, 3, &r));
    *new_relation = mr_rows_count(r) == 0;
    if (!*new_relation) {
        snprintf(internal_id, MEDREG_INTERNAL_ID_LEN + 1, "%s", mr_rows_text(r, 0, 0));
    } else {
        snprintf(internal_id, MEDREG_INTERNAL_ID_LEN + 1, "%s", in->new_internal_id);
        mr_param p[5] = {MR_TEXT(m->name), MR_TEXT(physician), MR_TEXT(pid), MR_TEXT(internal_id), MR_INT(now)};
        TRY(mr_conn_exec(c,
                         "INSERT INTO relations (module, physician, patient_id, internal_id, created_at)"
                         " VALUES ($1, $2, $3, $4, $5)",
                         p, 5, NULL));
    }
    TRY(mr_audit_about(c, pid, physician, "patient_register", m->name, internal_id, "ok",
                       *new_relation ? "new relation" : "existing relation"));
out:
    mr_rows_free(r);
    return rc;
}

/* The rows of the patient and of the caller's relation, should they be new
 * (see patient_input). */
static int prepare_new_patient(mr_service *s, size_t mi, patient_input *in, mr_response *resp)
{
    const mr_module *m = s->modules[mi];
    mr_ordered_id(in->new_id); /* stays in the identity service; created_at is beside it */
    medreg_err rc = medreg_internal_id_new(in->new_internal_id);
    if (rc == MEDREG_OK)
        rc = seal_identifiers(s, in->new_id, m->name, in, m->n_idents, &in->sealed, &in->sealed_len);
    if (rc == MEDREG_ERR_TOOBIG)
        mr_resp_error(resp, 400, "invalid_field", "the identifiers together exceed %d bytes", SEAL_MAX);
    else if (rc != MEDREG_OK)
        mr_resp_error(resp, 500, "internal", "could not seal the identifiers");
    return rc == MEDREG_OK;
}

static medreg_err renew_internal_ids(patient_input *in, size_t n)
{
    medreg_err rc = MEDREG_OK;
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++)
        rc = medreg_internal_id_new(in[i].new_internal_id);
    return rc;
}

/* One request's registrations (one, or a batch), across their group
 * commit: they run as one unit, so all or nothing (a failed unit is rolled
 * back alone, group_commit.h), and concurrent requests share a commit: each
 * page they touch is written to the log once per commit, not once per
 * request. In transactions of their own, batches queued for the writer one
 * by one, and 32 clients stored fewer patients per second than one (5,500
 * against 6,700; now 10,000). */
typedef struct registrations {
    mr_service *s;
    size_t mi, n;
    int single; /* POST /v1/patients: answer with the one result */
    int retried;
    json_t *body;
    char physician[65];
    patient_input *in;
    char (*internal_ids)[MEDREG_INTERNAL_ID_LEN + 1];
    int *new_relations;
    char **tokens; /* after the commit */
    medreg_err tokens_rc;
} registrations;

static void registrations_free(void *state)
{
    registrations *r = state;
    if (r == NULL)
        return;
    for (size_t i = 0; r->in && i < r->n; i++)
        patient_input_clear(&r->in[i], MR_MAX_IDENTIFIERS);
    free(r->in);
    free(r->internal_ids);
    free(r->new_relations);
    for (size_t i = 0; r->tokens && i < r->n; i++)
        free(r->tokens[i]);
    free(r->tokens);
    json_decref(r->body);
    free(r);
}

static registrations *registrations_new(mr_service *s, size_t mi, size_t n, const mr_request *req, json_t *body)
{
    registrations *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->s = s;
    r->mi = mi;
    r->n = n;
    r->body = json_incref(body);
    snprintf(r->physician, sizeof r->physician, "%s", req->caller.fpr);
    r->in = calloc(n, sizeof *r->in);
    r->internal_ids = calloc(n, sizeof *r->internal_ids);
    r->new_relations = calloc(n, sizeof *r->new_relations);
    r->tokens = calloc(n, sizeof *r->tokens);
    if (!r->in || !r->internal_ids || !r->new_relations || !r->tokens) {
        registrations_free(r);
        return NULL;
    }
    return r;
}

static medreg_err registrations_run(mr_conn *c, void *arg)
{
    registrations *r = arg;
    medreg_err rc = MEDREG_OK;
    for (size_t i = 0; i < r->n && rc == MEDREG_OK; i++)
        rc = register_one(r->s, c, r->mi, &r->in[i], r->physician, r->internal_ids[i], &r->new_relations[i]);
    return rc;
}

static medreg_err issue_token(mr_service *s, const mr_module *m, const char *internal_id,
                              const uint8_t psn[MEDREG_PSN_BYTES], const char *fpr, char **token)
{
    mr_psn_token t;
    size_t bl = 0;
    medreg_err rc;
    memset(&t, 0, sizeof t);
    snprintf(t.module, sizeof t.module, "%s", m->name);
    snprintf(t.internal_id, sizeof t.internal_id, "%s", internal_id);
    if (sodium_hex2bin(t.physician, sizeof t.physician, fpr, 64, NULL, &bl, NULL) != 0 || bl != 32)
        return MEDREG_ERR_INVALID;
    t.key_id = m->key_id;
    memcpy(t.psn, psn, sizeof t.psn);
    t.issued_at = (uint64_t)time(NULL);
    t.expires_at = t.issued_at + s->cfg->token_ttl_s;
    randombytes_buf(t.nonce, sizeof t.nonce);
    rc = mr_psn_token_seal(&t, s->signer, s->token_key, token);
    mr_wipe(&t, sizeof t);
    return rc;
}

/* The PSN tokens of a committed request: about 100 us each (a sealed box
 * and a signature), so a batch's run on a compute thread (mr_resp_compute):
 * a batch of 1,000 held its HTTP thread, and every connection it serves,
 * for a tenth of a second. */
static void registrations_tokens(mr_service *s, void *state)
{
    registrations *r = state;
    const mr_module *m = s->modules[r->mi];
    r->tokens_rc = MEDREG_OK;
    for (size_t i = 0; i < r->n && r->tokens_rc == MEDREG_OK; i++)
        if (r->tokens[i] == NULL)
            r->tokens_rc = issue_token(s, m, r->internal_ids[i], r->in[i].psn, r->physician, &r->tokens[i]);
}

/* The answer: the internal IDs and PSN tokens. It never says whether the
 * patient was already known to the module: that would tell one physician
 * about another's patients. */
static void registrations_reply(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    registrations *r = state;
    const mr_module *m = s->modules[r->mi];
    (void)req;
    (void)rc; /* compute work always completes */
    if (r->tokens_rc != MEDREG_OK) {
        mr_resp_error(resp, 500, "internal", "could not seal a PSN token");
        return;
    }
    json_int_t expires = (json_int_t)(time(NULL) + s->cfg->token_ttl_s);
    json_t *results = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(results, json_pack("{s:s,s:s,s:b}", "internal_id", r->internal_ids[i], "psn_token",
                                                 r->tokens[i], "new_relation", r->new_relations[i]));
    if (r->single) {
        json_t *one = json_array_get(results, 0);
        json_object_set_new(one, "module", json_string(m->name));
        json_object_set_new(one, "token_expires_at", json_integer(expires));
        mr_resp_json(resp, r->new_relations[0] ? 201 : 200, json_incref(one));
    } else {
        mr_resp_json(resp, 200, json_pack("{s:s,s:I,s:O}", "module", m->name, "token_expires_at", expires, "results",
                                          results));
    }
    json_decref(results);
}

/* After the commit. */
static void registrations_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    registrations *r = state;
    /* two physicians registering one new patient at once: the loser retries
     * and finds it (with a new internal ID, should that have been the clash) */
    if (rc == MEDREG_ERR_EXISTS && !r->retried && (rc = renew_internal_ids(r->in, r->n)) == MEDREG_OK) {
        r->retried = 1;
        mr_resp_defer(resp, registrations_run, registrations_answer, r, registrations_free);
        return;
    }
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (r->n > 1) {
        mr_resp_compute(resp, registrations_tokens, registrations_reply, r, registrations_free);
        return;
    }
    /* one token costs less than the hand-over to a compute thread and back */
    registrations_tokens(s, r);
    registrations_reply(s, req, resp, MEDREG_OK, r);
}

static void patient_register(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "identifiers", NULL};
    json_t *j = mr_req_json(req, resp, allowed);
    registrations *r = NULL;
    size_t mi = 0;
    const mr_module *m;

    if (j == NULL)
        return;
    if ((m = mr_body_module(s, j, resp, &mi)) == NULL ||
        !mr_require_role(s, req, resp, "patient_register", "physician", m->name, NULL))
        goto out;
    if ((r = registrations_new(s, mi, 1, req, j)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    r->single = 1;
    if (!read_identifiers(s, mi, json_object_get(j, "identifiers"), &r->in[0], resp) ||
        !prepare_new_patient(s, mi, &r->in[0], resp))
        goto out;
    /* concurrent registrations share one transaction (group commit) */
    mr_resp_defer(resp, registrations_run, registrations_answer, r, registrations_free);
    r = NULL;
out:
    registrations_free(r);
    json_decref(j);
}

#define BATCH_MAX 1000

/* POST /v1/patients/batch: many registrations in one transaction (one
 * commit, one fsync), all or nothing; each item is validated before any is
 * stored, and an error names the item. */
static void patient_register_batch(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "patients", NULL};
    json_t *j = mr_req_json(req, resp, allowed), *arr, *item;
    registrations *r = NULL;
    size_t mi = 0, n = 0, i;
    const mr_module *m;

    if (j == NULL)
        return;
    arr = json_object_get(j, "patients");
    if ((m = mr_body_module(s, j, resp, &mi)) == NULL ||
        !mr_require_role(s, req, resp, "patient_register", "physician", m->name, NULL))
        goto out;
    n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > BATCH_MAX) {
        mr_resp_error(resp, 400, "invalid_field", "field 'patients' must be an array of 1..%d identifier objects",
                      BATCH_MAX);
        goto out;
    }
    if ((r = registrations_new(s, mi, n, req, j)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    json_array_foreach(arr, i, item) {
        if (!read_identifiers(s, mi, item, &r->in[i], resp) || !prepare_new_patient(s, mi, &r->in[i], resp)) {
            /* prefix the message with the item's index */
            json_t *e = json_loads(resp->body, 0, NULL);
            const char *code = json_string_value(json_object_get(json_object_get(e, "error"), "code"));
            const char *msg = json_string_value(json_object_get(json_object_get(e, "error"), "message"));
            char copy[400];
            snprintf(copy, sizeof copy, "%s", msg ? msg : "");
            mr_resp_error(resp, resp->status, code ? code : "invalid_field", "patients[%zu]: %s", i, copy);
            json_decref(e);
            goto out;
        }
    }
    mr_resp_defer(resp, registrations_run, registrations_answer, r, registrations_free);
    r = NULL;
out:
    registrations_free(r);
    json_decref(j);
}

static json_t *patient_json(mr_service *s, mr_conn *c, const char *pid, const char *module,
                            const uint8_t *sealed, size_t sealed_len, int64_t created, int64_t updated)
{
    json_t *ids = open_identifiers(s, pid, module, sealed, sealed_len);
    mr_rows *r = NULL;
    mr_param p = MR_TEXT(pid);
    json_t *rel = json_array();
    if (mr_conn_exec(c, "SELECT internal_id, created_at FROM relations WHERE patient_id = $1 ORDER BY created_at",
                     &p, 1, &r) == MEDREG_OK)
        for (size_t i = 0; i < mr_rows_count(r); i++)
            json_array_append_new(rel, json_pack("{s:s,s:I}", "internal_id", mr_rows_text(r, i, 0),
                                                 "created_at", (json_int_t)mr_rows_int(r, i, 1)));
    mr_rows_free(r);
    return json_pack("{s:s,s:s,s:o,s:I,s:I,s:o}", "id", pid, "module", module, "identifiers",
                     ids ? ids : json_null(), "created_at", (json_int_t)created, "updated_at",
                     (json_int_t)updated, "relations", rel);
}

static void patient_search(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *module = mr_req_query(req, "module"), *field = mr_req_query(req, "field"),
               *value = mr_req_query(req, "value");
    size_t mi = 0;
    const mr_module *m;
    const mr_ident_def *d;
    char *norm = NULL;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc;
    uint8_t digest[32];

    if (module == NULL || (m = mr_service_module(s, module, &mi)) == NULL) {
        mr_resp_error(resp, 400, "invalid_query", "query 'module' must name a module of this service");
        return;
    }
    if (!mr_require_role(s, req, resp, "patient_search", "module_admin", module, NULL))
        return;
    if (field == NULL || (d = mr_module_ident(m, field)) == NULL || value == NULL) {
        mr_resp_error(resp, 400, "invalid_query", "queries 'field' (an identifier) and 'value' are required");
        return;
    }
    if (medreg_normalize(&d->rule, value, strlen(value), &norm) != MEDREG_OK) {
        mr_resp_error(resp, 400, "invalid_query", "'value' is not a valid %s", field);
        return;
    }
    index_digest(s, module, field, norm, digest);
    mr_wipe(norm, strlen(norm));
    free(norm);
    mr_param p[3] = {MR_TEXT(module), MR_TEXT(field), MR_BLOB(digest, 32)};
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT p.id, p.sealed, p.created_at, p.updated_at FROM patient_index i"
                          " JOIN patients p ON p.id = i.patient_id"
                          " WHERE i.module = $1 AND i.field = $2 AND i.digest = $3 ORDER BY p.created_at LIMIT 100",
                          p, 3, &r);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        size_t sl;
        const uint8_t *sealed = mr_rows_blob(r, i, 1, &sl);
        json_array_append_new(arr, patient_json(s, c, mr_rows_text(r, i, 0), module, sealed, sl,
                                                mr_rows_int(r, i, 2), mr_rows_int(r, i, 3)));
    }
    char detail[64];
    snprintf(detail, sizeof detail, "field=%s results=%zu", field, mr_rows_count(r));
    mr_resp_json(resp, 200, json_pack("{s:o}", "patients", arr));
    mr_resp_after_audit(resp, "", req->caller.fpr, "patient_search", module, "", "ok", detail);
out:
    mr_rows_free(r);
    mr_db_release(s->db, c);
}

/* Load a patient row and check the caller is module_admin of its module. */
static int load_patient(mr_request *req, mr_response *resp, mr_conn *c, const char *action,
                        mr_rows **r)
{
    mr_param p = MR_TEXT(req->params[0]);
    medreg_err rc = mr_conn_exec(c, "SELECT id, module, sealed, created_at, updated_at, key_id, psn FROM patients WHERE id = $1",
                                 &p, 1, r);
    int yes = 0;
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return 0;
    }
    if (mr_rows_count(*r) == 1)
        rc = mr_auth_has_role(c, req->caller.fpr, "module_admin", mr_rows_text(*r, 0, 1), &yes);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return 0;
    }
    if (!yes) {
        /* the same answer whether the patient exists or not */
        mr_resp_error(resp, 403, "forbidden", "no patient you may administer has this id");
        mr_audit_refusal(resp, req, action, "", req->params[0], "not module_admin");
        return 0;
    }
    return 1;
}

static void patient_view(mr_service *s, mr_request *req, mr_response *resp)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (load_patient(req, resp, c, "patient_view", &r)) {
        size_t sl;
        const uint8_t *sealed = mr_rows_blob(r, 0, 2, &sl);
        const char *module = mr_rows_text(r, 0, 1);
        json_t *pj = patient_json(s, c, req->params[0], module, sealed, sl, mr_rows_int(r, 0, 3),
                                  mr_rows_int(r, 0, 4));
        mr_resp_json(resp, 200, pj);
        mr_resp_after_audit(resp, req->params[0], req->caller.fpr, "patient_view", module, req->params[0], "ok", "");
    }
    mr_rows_free(r);
    mr_db_release(s->db, c);
}

static void patient_correct(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"identifiers", "relink", "reason", NULL};
    json_t *j = NULL;
    mr_conn *c = NULL;
    mr_rows *r = NULL, *dup = NULL;
    patient_input in;
    uint8_t *sealed = NULL;
    size_t sealed_len = 0, mi = 0;
    medreg_err rc;
    char module[MR_NAME_MAX + 1];

    memset(&in, 0, sizeof in);
    j = mr_req_json(req, resp, allowed);
    if (j == NULL)
        return;
    json_t *relink_j = json_object_get(j, "relink");
    json_t *reason_j = json_object_get(j, "reason");
    if ((relink_j && !json_is_boolean(relink_j)) ||
        (reason_j && (!json_is_string(reason_j) || json_string_length(reason_j) > 200))) {
        mr_resp_error(resp, 400, "invalid_field", "'relink' must be a boolean and 'reason' a string of at most 200 bytes");
        goto out;
    }
    rc = mr_db_acquire(s->db, &c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    /* the permission check (and its audit row on refusal) comes before the
     * transaction; the row is read again inside it */
    if (!load_patient(req, resp, c, "patient_correct", &r))
        goto out;
    mr_rows_free(r);
    r = NULL;
    rc = mr_conn_begin(c);
    if (rc == MEDREG_OK) {
        mr_param idp = MR_TEXT(req->params[0]);
        rc = mr_conn_exec(c, "SELECT id, module, sealed, created_at, updated_at, key_id, psn FROM patients WHERE id = $1",
                          &idp, 1, &r);
    }
    if (rc != MEDREG_OK || mr_rows_count(r) != 1) {
        mr_resp_db_error(resp, rc != MEDREG_OK ? rc : MEDREG_ERR_DB);
        goto out;
    }
    snprintf(module, sizeof module, "%s", mr_rows_text(r, 0, 1));
    if (mr_service_module(s, module, &mi) == NULL) {
        mr_resp_error(resp, 409, "conflict", "the patient's module is no longer configured");
        goto out;
    }
    if (!read_identifiers(s, mi, json_object_get(j, "identifiers"), &in, resp))
        goto out;
    size_t old_len;
    const uint8_t *old_psn = mr_rows_blob(r, 0, 6, &old_len);
    int psn_changed = old_len != MEDREG_PSN_BYTES || !mr_ct_equal(old_psn, in.psn, MEDREG_PSN_BYTES) ||
                      (uint32_t)mr_rows_int(r, 0, 5) != s->modules[mi]->key_id;
    if (psn_changed && !json_is_true(relink_j)) {
        mr_resp_error(resp, 409, "relink_required",
                      "this correction changes the patient's pseudonym: repeat it with \"relink\": true");
        goto out;
    }
    if (psn_changed) {
        mr_param q[3] = {MR_TEXT(module), MR_INT(s->modules[mi]->key_id), MR_BLOB(in.psn, MEDREG_PSN_BYTES)};
        rc = mr_conn_exec(c, "SELECT id FROM patients WHERE module = $1 AND key_id = $2 AND psn = $3", q, 3, &dup);
        if (rc != MEDREG_OK) {
            mr_resp_db_error(resp, rc);
            goto out;
        }
        if (mr_rows_count(dup) > 0) {
            mr_resp_error(resp, 409, "psn_conflict",
                          "another patient of this module has these identifiers; merging is not supported");
            goto out;
        }
    }
    rc = seal_identifiers(s, req->params[0], module, &in, s->modules[mi]->n_idents, &sealed, &sealed_len);
    if (rc == MEDREG_OK) {
        mr_param p[5] = {MR_BLOB(sealed, sealed_len), MR_INT(s->modules[mi]->key_id),
                         MR_BLOB(in.psn, MEDREG_PSN_BYTES), MR_INT(time(NULL)), MR_TEXT(req->params[0])};
        rc = mr_conn_exec(c, "UPDATE patients SET sealed = $1, key_id = $2, psn = $3, updated_at = $4 WHERE id = $5",
                          p, 5, NULL);
    }
    if (rc == MEDREG_OK)
        rc = write_index(c, module, req->params[0], &in, s->modules[mi]->n_idents, 1);
    if (rc == MEDREG_OK)
        rc = mr_audit_about(c, req->params[0], req->caller.fpr, psn_changed ? "patient_relink" : "patient_correct",
                            module, req->params[0], "ok", reason_j ? json_string_value(reason_j) : "");
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    mr_resp_json(resp, 200, json_pack("{s:s,s:b}", "id", req->params[0], "relinked", psn_changed));
out:
    if (c) {
        mr_conn_rollback(c);
        mr_db_release(s->db, c);
    }
    mr_rows_free(r);
    mr_rows_free(dup);
    free(sealed);
    patient_input_clear(&in, MR_MAX_IDENTIFIERS);
    json_decref(j);
}

static const mr_route ROUTES[] = {
    {"POST", "/v1/patients", patient_register, "patient_register"},
    {"POST", "/v1/patients/batch", patient_register_batch, "patient_register_batch"},
    {"GET", "/v1/patients", patient_search, "patient_search"},
    {"GET", "/v1/patients/*", patient_view, "patient_view"},
    {"PUT", "/v1/patients/*", patient_correct, "patient_correct"},
    {"GET", "/v1/oprf/*", mr_oprf_key_route, "oprf_key"},
    {"GET", "/v1/events/keys", mr_events_keys_get, "events_keys"},
    {"POST", "/v1/events/patient", mr_events_patient_route, "events_patient"},
    {"POST", "/v1/oprf/*/evaluate", mr_oprf_evaluate_route, "oprf_evaluate"},
};

const mr_route *mr_identity_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}
