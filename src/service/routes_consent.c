/* The registry's half of the card consent protocol (seed 000 §5;
 * docs/protocol.md): sessions for enrollment, card replacement, consent and
 * revocation; the physicians' card certificates; grants; alarms.
 *
 * A session is opened by one request and finished by the next. Nothing
 * secret is kept between the two: the registry's ephemeral X25519 key is
 * derived from the session id and the registry's session secret. Every
 * finish either commits all of its effects in one transaction or none; a
 * refused finish closes the session as failed, and failed consents count
 * towards the physician's block. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../consent/consent.h"
#include "../crypto/psn_token.h"
#include "../core/encode.h"
#include "../core/secret.h"
#include "../crypto/hybrid.h"
#include "../crypto/presence_pass.h"
#include "../pki/cert_cache.h"
#include "../pki/pki.h"
#include "service.h"

#define MAX_CANDIDATES MR_CONSENT_MAX_CANDIDATES /* and the LIMIT of the query that finds them */
#define MONTH (30 * 86400)

/* audit: the patient's card opens their own history (medreg audit mine) */
typedef enum kind { K_ENROLL, K_REPLACE, K_CONSENT, K_REVOKE, K_AUDIT, K_NONE } kind;
static const char *const KINDS[] = {"enroll", "replace", "consent", "revoke", "audit"};
static const uint8_t PURPOSE[] = {MR_PURPOSE_ENROLL, MR_PURPOSE_REPLACE, MR_PURPOSE_ROTATE, MR_PURPOSE_ROTATE,
                                  MR_PURPOSE_ROTATE};

/* the kinds the patient's card answers (the others enroll a card) */
static int answering(kind k) { return k == K_CONSENT || k == K_REVOKE || k == K_AUDIT; }

static kind kind_of(const char *s)
{
    for (int i = 0; s && i < (int)K_NONE; i++)
        if (!strcmp(s, KINDS[i]))
            return (kind)i;
    return K_NONE;
}

/* Decode a base64 JSON string of at most cap bytes; 0 if absent or bad. */
static int unb64(json_t *v, uint8_t *out, size_t cap, size_t *len)
{
    return mr_unbase64(json_string_value(v), json_string_length(v), out, cap, len);
}

static int valid_session_id(const char *s)
{
    if (s == NULL || strlen(s) != 32)
        return 0;
    for (size_t i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Failed consents (and revocations) of physician inside the window: refused
 * finishes, and sessions left open past their expiry. */
static medreg_err failures(mr_service *s, mr_conn *c, const char *physician, int64_t now, int64_t *n)
{
    mr_rows *r = NULL;
    mr_param p[3] = {MR_TEXT(physician), MR_INT(now - (int64_t)s->cfg->consent_fail_window_s), MR_INT(now)};
    medreg_err rc = mr_conn_exec(c,
                                 "SELECT COUNT(*) FROM consent_sessions WHERE physician = $1"
                                 " AND status IN ('failed', 'open') AND created_at >= $2"
                                 " AND kind IN ('consent', 'revoke', 'audit') AND (status = 'failed' OR expires_at < $3)",
                                 p, 3, &r);
    *n = rc == MEDREG_OK ? mr_rows_int(r, 0, 0) : 0;
    mr_rows_free(r);
    return rc;
}

void mr_consent_key_get(mr_service *s, mr_request *req, mr_response *resp)
{
    (void)req;
    mr_resp_json(resp, 200,
                 json_pack("{s:s,s:s}", "cert", s->consent_cert_pem, "oaep",
                           s->consent_oaep == MR_OAEP_SHA256 ? "sha256" : "sha1"));
}

void mr_card_register(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"physician", "cert", NULL};
    json_t *j;
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    X509 *crt = NULL;
    unsigned char *der = NULL;
    char fpr[65];
    medreg_err rc;

    if (!mr_require_role(s, req, resp, "card_register", "admin", "", NULL))
        return;
    if ((j = mr_req_json(req, resp, allowed)) == NULL)
        return;
    const char *physician = json_string_value(json_object_get(j, "physician"));
    json_t *pem = json_object_get(j, "cert");
    if (!mr_is_lower_hex(physician, 64) || !json_is_string(pem) ||
        (crt = mr_cert_from_pem(json_string_value(pem), json_string_length(pem))) == NULL) {
        mr_resp_error(resp, 400, "invalid_field",
                      "'physician' must be a certificate fingerprint and 'cert' a PEM certificate");
        goto out;
    }
    if ((rc = mr_cert_verify_ca(s->client_ca_pem, crt)) != MEDREG_OK) {
        if (rc == MEDREG_ERR_EXPIRED)
            mr_resp_error(resp, 400, "card_expired", "the card certificate has expired (or is not valid yet)");
        else
            mr_resp_error(resp, 400, "invalid_certificate", "the card certificate is not issued by the trusted CA");
        goto out;
    }
    int dl = i2d_X509(crt, &der);
    if (dl <= 0 || mr_cert_fingerprint(crt, fpr) != MEDREG_OK) {
        mr_resp_error(resp, 500, "internal", "cannot encode the certificate");
        goto out;
    }
    rc = mr_db_acquire(s->db, &c);
    int is_physician = 0;
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_auth_has_role(c, physician, "physician", NULL, &is_physician);
    if (rc == MEDREG_OK && !is_physician) {
        mr_refuse(c, req, resp, 404, "not_found", "card_register", "", physician,
                  "no physician has this certificate fingerprint");
        goto out;
    }
    mr_param p[5] = {MR_TEXT(fpr), MR_TEXT(physician), MR_BLOB(der, (size_t)dl), MR_INT(time(NULL)),
                     MR_TEXT(req->caller.fpr)};
    /* a card taken out (mr_card_remove) is put back on its row; one in use is a conflict */
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "UPDATE card_certs SET physician = $2, cert = $3, created_at = $4, created_by = $5,"
                          " removed_at = NULL, removed_by = '' WHERE fpr = $1 AND removed_at IS NOT NULL RETURNING fpr",
                          p, 5, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) == 0)
        rc = mr_conn_exec(c, "INSERT INTO card_certs (fpr, physician, cert, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
                          p, 5, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit(c, req->caller.fpr, "card_register", "", fpr, "ok", physician);
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    mr_resp_json(resp, 201, json_pack("{s:s,s:s}", "card", fpr, "physician", physician));
out:
    OPENSSL_free(der);
    X509_free(crt);
    mr_rows_free(r);
    mr_db_release(s->db, c);
    json_decref(j);
}

/* DELETE /v1/cards/FPR: a physician's card that was lost or replaced
 * signs nothing more (enrollment, replacement, consent), at once. */
void mr_card_remove(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *fpr = req->params[0];
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    if (!mr_require_role(s, req, resp, "card_remove", "admin", "", NULL))
        return;
    if (!mr_is_lower_hex(fpr, 64)) {
        mr_resp_error(resp, 400, "invalid_path", "a card is named by its certificate's fingerprint (64 lowercase hex)");
        return;
    }
    mr_param p[3] = {MR_TEXT(fpr), MR_INT(time(NULL)), MR_TEXT(req->caller.fpr)};
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_begin(c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "UPDATE card_certs SET removed_at = $2, removed_by = $3 WHERE fpr = $1 AND removed_at IS NULL"
                          " RETURNING physician",
                          p, 3, &r);
    if (rc == MEDREG_OK && mr_rows_count(r) == 0) {
        mr_refuse(c, req, resp, 404, "not_found", "card_remove", "", fpr, "no registered card has this fingerprint");
        goto out;
    }
    if (rc == MEDREG_OK)
        rc = mr_audit(c, req->caller.fpr, "card_remove", "", fpr, "ok", mr_rows_text(r, 0, 0));
    if (rc == MEDREG_OK)
        rc = mr_conn_commit(c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    mr_resp_json(resp, 200, json_pack("{s:s,s:s}", "card", fpr, "physician", mr_rows_text(r, 0, 0)));
out:
    mr_rows_free(r);
    mr_db_release(s->db, c);
}

/* A session being opened: everything it reads and writes, in one
 * group-commit unit. A refusal writes nothing and is audited afterwards. */
typedef struct start_unit {
    mr_service *s;
    mr_relation rel; /* its strings point into this struct */
    kind k;
    int64_t now, expires;
    char module[MR_NAME_MAX + 1];
    char internal_id[MEDREG_INTERNAL_ID_LEN + 1];
    char physician[65];
    uint8_t sid[MR_SESSION_ID_BYTES];
    char sid_hex[33];
    uint8_t nonce[MR_CONSENT_NONCE_BYTES];
    mr_rows *cands; /* answering kinds: id, k2 of each live fingerprint */
    mr_refusal refused;
} start_unit;

static void start_unit_free(void *state)
{
    start_unit *u = state;
    if (u == NULL)
        return;
    mr_relation_clear(&u->rel);
    mr_rows_free(u->cands);
    free(u);
}

static medreg_err start_unit_run(mr_conn *c, void *arg)
{
    start_unit *u = arg;
    mr_rows *r = NULL;
    char ids[MAX_CANDIDATES * 33 + 1] = "";
    int64_t failed = 0;
    medreg_err rc = MEDREG_OK;

    u->refused.code = NULL;
    mr_rows_free(u->cands); /* a unit may run twice: alone after its batch failed */
    u->cands = NULL;
    if (answering(u->k))
        rc = failures(u->s, c, u->rel.physician, u->now, &failed);
    if (rc != MEDREG_OK)
        return rc;
    if (failed > (int64_t)u->s->cfg->consent_fail_max)
        return mr_refuse_later(&u->refused, 429, "consent_blocked",
                             "too many failed consent attempts: consent is blocked for this physician for now");
    rc = mr_relation_check(c, &u->rel);
    if (rc == MEDREG_OK && u->rel.refused.code != NULL)
        u->refused = u->rel.refused;
    if (rc != MEDREG_OK || u->refused.code != NULL)
        return rc;
    mr_param q[2] = {MR_TEXT(u->rel.module), MR_TEXT(u->rel.subject)};
    if (u->k == K_ENROLL) {
        rc = mr_conn_exec(c, "SELECT COUNT(*) FROM fingerprints WHERE module = $1 AND subject = $2 AND retired_at IS NULL",
                          q, 2, &r);
        int64_t n = rc == MEDREG_OK ? mr_rows_int(r, 0, 0) : 0;
        mr_rows_free(r);
        if (rc != MEDREG_OK)
            return rc;
        if (n > 0)
            return mr_refuse_later(&u->refused, 409, "already_enrolled",
                                 "this patient's card is already enrolled: ask for consent, or replace a lost card");
    } else if (answering(u->k)) {
        /* every live fingerprint of every subject with this PSN: collisions are real.
         * Written as IN (subquery) so that both engines start from the PSN index: as
         * a join, SQLite visited every fingerprint of the registry for each session. */
        rc = mr_conn_exec(c,
                          "SELECT f.id, f.k2 FROM fingerprints f WHERE f.module = $1 AND f.retired_at IS NULL"
                          " AND f.subject IN (SELECT t.subject FROM subjects t, subjects me WHERE me.subject = $2"
                          " AND t.module = $1 AND t.key_id = me.key_id AND t.psn = me.psn)"
                          " ORDER BY f.created_at, f.id LIMIT 16",
                          q, 2, &u->cands);
        if (rc != MEDREG_OK)
            return rc;
        if (mr_rows_count(u->cands) == 0)
            return mr_refuse_later(&u->refused, 404, "not_enrolled", "no card is enrolled for this patient");
        size_t off = 0;
        for (size_t i = 0; i < mr_rows_count(u->cands); i++) /* at most 16 ids of 32 characters: they fit */
            off += (size_t)snprintf(ids + off, sizeof ids - off, "%s%.32s", i ? "," : "",
                                    mr_rows_text(u->cands, i, 0));
    }
    rc = mr_relation_store(c, &u->rel);
    /* the session is about the patient the physician's internal ID names */
    mr_param p[10] = {MR_TEXT(u->sid_hex),         MR_TEXT(u->rel.module),  MR_TEXT(u->rel.physician),
                      MR_TEXT(KINDS[u->k]),        MR_TEXT(u->rel.internal_id), MR_TEXT(u->rel.subject),
                      MR_BLOB(u->nonce, sizeof u->nonce), MR_TEXT(ids), MR_INT(u->now), MR_INT(u->expires)};
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "INSERT INTO consent_sessions (id, module, physician, kind, internal_id, subject, nonce,"
                          " candidates, created_at, expires_at, status, reason) VALUES ($1, $2, $3, $4, $5, $6,"
                          " $7, $8, $9, $10, 'open', '')",
                          p, 10, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit_about(c, u->rel.subject, u->rel.physician, "consent_start", u->rel.module, u->sid_hex, "ok",
                            KINDS[u->k]);
    return rc;
}

/* After the commit: the session, and the candidates' K'' for an answer. */
static void start_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    start_unit *u = state;
    json_t *cands = NULL;
    uint8_t spk[32], ssk[32];
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (u->refused.code != NULL) {
        mr_refuse(NULL, req, resp, u->refused.status, u->refused.code, "consent_start", u->module, u->internal_id,
                  u->refused.message);
        return;
    }
    if (answering(u->k)) {
        cands = json_array();
        for (size_t i = 0; i < mr_rows_count(u->cands); i++) {
            size_t kl = 0;
            const uint8_t *k2 = mr_rows_blob(u->cands, i, 1, &kl);
            char *e = mr_base64(k2, kl);
            json_array_append_new(cands, json_pack("{s:s,s:s?}", "id", mr_rows_text(u->cands, i, 0), "k2", e));
            free(e);
        }
    }
    char spk_hex[65], nonce_hex[65];
    mr_consent_server_ephemeral(s->session_secret, u->sid, spk, ssk);
    mr_wipe(ssk, sizeof ssk);
    sodium_bin2hex(spk_hex, sizeof spk_hex, spk, sizeof spk);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, u->nonce, sizeof u->nonce);
    json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "session", u->sid_hex, "kind", KINDS[u->k], "module",
                            u->module, "internal_id", u->internal_id, "server_public", spk_hex, "expires_at",
                            (json_int_t)u->expires, "registry_oaep",
                            s->consent_oaep == MR_OAEP_SHA256 ? "sha256" : "sha1");
    if (cands) {
        json_object_set_new(out, "nonce", json_string(nonce_hex));
        json_object_set_new(out, "candidates", cands);
    }
    mr_resp_json(resp, 201, out);
}

void mr_consent_start(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"module", "kind", "internal_id", "psn_token", NULL};
    json_t *j = mr_req_json(req, resp, allowed);
    start_unit *u = NULL;
    const mr_module *m;

    if (j == NULL)
        return;
    if ((m = mr_body_module(s, j, resp, NULL)) == NULL)
        goto out;
    kind k = kind_of(json_string_value(json_object_get(j, "kind")));
    const char *iid = json_string_value(json_object_get(j, "internal_id"));
    json_t *tok = json_object_get(j, "psn_token");
    if (!mr_require_role(s, req, resp, "consent_start", "physician", m->name, NULL))
        goto out;
    if (k == K_NONE) {
        mr_resp_error(resp, 400, "invalid_field", "'kind' must be enroll, replace, consent, revoke or audit");
        goto out;
    }
    if (k == K_AUDIT && s->cfg->events_ledger == NULL) {
        mr_resp_error(resp, 409, "no_ledger", "this registry publishes no ledger: there is no history to show");
        goto out;
    }
    if ((u = calloc(1, sizeof *u)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    if (iid == NULL || medreg_internal_id_parse(iid, u->internal_id) != MEDREG_OK) {
        mr_resp_error(resp, 400, iid ? "invalid_field" : "missing_field", "'internal_id' must be an internal ID");
        goto out;
    }
    if (tok && (!json_is_string(tok) || json_string_length(tok) >= MR_TOKEN_MAX_CHARS)) {
        mr_resp_error(resp, 400, "invalid_field", "'psn_token' must be a token string");
        goto out;
    }
    snprintf(u->module, sizeof u->module, "%s", m->name);
    snprintf(u->physician, sizeof u->physician, "%s", req->caller.fpr);
    if (!mr_relation_open(s, req, resp, "consent_start", u->module, u->internal_id,
                          tok ? json_string_value(tok) : NULL, &u->rel))
        goto out;
    u->rel.physician = u->physician;
    u->s = s;
    u->k = k;
    u->now = (int64_t)time(NULL);
    u->expires = u->now + (int64_t)s->cfg->consent_session_ttl_s;
    randombytes_buf(u->sid, sizeof u->sid);
    randombytes_buf(u->nonce, sizeof u->nonce);
    sodium_bin2hex(u->sid_hex, sizeof u->sid_hex, u->sid, sizeof u->sid);
    mr_resp_defer(resp, start_unit_run, start_answer, u, start_unit_free);
    u = NULL;
out:
    start_unit_free(u);
    json_decref(j);
}

/* The session being finished (columns of the SELECT in consent_finish). */
typedef struct session {
    char id[33], module[MR_NAME_MAX + 1], internal_id[MEDREG_INTERNAL_ID_LEN + 1], subject[33];
    uint8_t sid[MR_SESSION_ID_BYTES], nonce[MR_CONSENT_NONCE_BYTES];
    char candidates[MAX_CANDIDATES * 33 + 1];
    kind k;
} session;

/* A refused finish: nothing of it is kept, the session closes as failed,
 * the failure is audited, and a physician who passes the threshold raises
 * the alarm; all of it one unit of the next group commit, answered once it
 * is durable (a physician failing over and over ties no HTTP thread up). */
typedef struct failing {
    mr_service *s;
    session se;
    char caller[65], code[48], message[400];
    int status;
    int64_t now;
} failing;

static medreg_err failing_run(mr_conn *c, void *arg)
{
    failing *f = arg;
    const session *se = &f->se;
    int64_t n = 0;
    mr_param p[3] = {MR_TEXT(se->id), MR_TEXT(f->code), MR_INT(f->now)};
    medreg_err rc = mr_conn_exec(c,
                                 "UPDATE consent_sessions SET status = 'failed', reason = $2, finished_at = $3"
                                 " WHERE id = $1 AND status = 'open'",
                                 p, 3, NULL);
    if (rc == MEDREG_OK)
        rc = mr_audit_about(c, se->subject, f->caller, answering(se->k) ? "consent_failure" : "enroll_failure",
                            se->module, se->id, "refused", f->code);
    if (rc == MEDREG_OK && answering(se->k))
        rc = failures(f->s, c, f->caller, f->now, &n);
    if (rc == MEDREG_OK && n == (int64_t)f->s->cfg->consent_fail_max + 1)
        rc = mr_audit(c, f->caller, "alarm", se->module, f->caller, "raised", "consent_blocked");
    return rc;
}

static void failing_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    const failing *f = state;
    (void)s;
    (void)req;
    if (rc != MEDREG_OK)
        mr_resp_db_error(resp, rc);
    else
        mr_resp_error(resp, f->status, f->code, "%s", f->message);
}

static void failing_free(void *state)
{
    if (state == NULL)
        return;
    mr_wipe(state, sizeof(failing));
    free(state);
}

static void fail(mr_service *s, mr_request *req, mr_response *resp, const session *se, int status, const char *code,
                 const char *message)
{
    failing *f = calloc(1, sizeof *f);
    if (f == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        return;
    }
    f->s = s;
    f->se = *se;
    f->status = status;
    f->now = (int64_t)time(NULL);
    snprintf(f->caller, sizeof f->caller, "%s", req->caller.fpr);
    snprintf(f->code, sizeof f->code, "%s", code);
    snprintf(f->message, sizeof f->message, "%s", message);
    mr_resp_defer(resp, failing_run, failing_answer, f, failing_free);
}

/* The new fingerprint of a finish: the physician's registered card signed
 * it, and it opens under the registry's key. */
typedef struct new_fp {
    uint8_t cpk[32], hk[32], *k2, sig[MR_SIG_MAX];
    size_t k2_len, sig_len;
    int alg;
    char card[65];
} new_fp;

static int check_fingerprint(mr_service *s, mr_conn *c, mr_request *req, json_t *fp, const session *se,
                             const uint8_t *terms, new_fp *out, const char **code, const char **why)
{
    uint8_t *k3b = NULL, *tbs = NULL;
    size_t k3l = 0, tl = 0;
    mr_rows *r = NULL;
    X509 *crt = NULL;
    int ok = 0;
    json_t *pem = json_object_get(fp, "card_cert");
    json_t *alg = json_object_get(fp, "sig_alg");
    *code = "invalid_fingerprint";
    *why = "'fingerprint' needs client_public (hex), k3 (base64), card_cert (PEM), sig_alg and signature";
    k3b = malloc(MR_HYBRID_MAX);
    if (!json_is_object(fp) || k3b == NULL || !mr_unhex_exact(json_string_value(json_object_get(fp, "client_public")), out->cpk, 32) ||
        !unb64(json_object_get(fp, "k3"), k3b, MR_HYBRID_MAX, &k3l) ||
        !unb64(json_object_get(fp, "signature"), out->sig, sizeof out->sig, &out->sig_len) ||
        !json_is_integer(alg) || json_integer_value(alg) < 1 || json_integer_value(alg) > 4 || !json_is_string(pem) ||
        (crt = mr_cert_cache_parse(s->card_certs, json_string_value(pem), json_string_length(pem))) == NULL)
        goto out;
    out->alg = (int)json_integer_value(alg);
    /* the physician's card: registered to this caller */
    *code = "card_not_registered";
    *why = "the physician's card certificate is not registered to you";
    if (mr_cert_fingerprint(crt, out->card) != MEDREG_OK)
        goto out;
    mr_param q[2] = {MR_TEXT(out->card), MR_TEXT(req->caller.fpr)};
    if (mr_conn_exec(c, "SELECT 1 FROM card_certs WHERE fpr = $1 AND physician = $2 AND removed_at IS NULL", q, 2,
                     &r) != MEDREG_OK ||
        mr_rows_count(r) != 1)
        goto out;
    /* valid when it signs, not only when it was registered */
    *code = "card_expired";
    *why = "the physician's card certificate has expired (or is not valid yet)";
    if (!mr_cert_valid_at(crt, time(NULL)))
        goto out;
    /* K''' opens under the registry's key, bound to this session and purpose */
    *code = "invalid_fingerprint";
    *why = "the fingerprint does not open under the registry's key for this session";
    if (mr_consent_server_fingerprint(s->consent, s->session_secret, se->sid, PURPOSE[se->k], out->cpk, k3b, k3l,
                                      out->hk, &out->k2, &out->k2_len) != MEDREG_OK)
        goto out;
    *code = "physician_signature";
    *why = "the physician's card signature over the fingerprint is not valid";
    if (mr_consent_physician_tbs(se->sid, PURPOSE[se->k], se->module, se->internal_id, out->k2, out->k2_len, out->cpk,
                                 terms, &tbs, &tl) != MEDREG_OK ||
        mr_sig_verify(X509_get0_pubkey(crt), (uint8_t)out->alg, tbs, tl, out->sig, out->sig_len) != MEDREG_OK)
        goto out;
    ok = 1;
out:
    free(k3b);
    free(tbs);
    mr_rows_free(r);
    X509_free(crt);
    return ok;
}

/* The grant terms as the answer binds them (docs/protocol.md, "Terms"):
 *   consent  grant;exclude=A,B;days=N
 *   revoke   revoke;grantee=FPR|all    revoke;grant=ID    expire;grant=ID;days=N
 *   audit    audit */
static int terms_string(const mr_module *m, kind k, json_t *terms, unsigned max_days, char *out, size_t cap,
                        char *excluded, size_t ecap, int64_t *days, const char **grantee, const char **grant)
{
    if (!json_is_object(terms))
        return 0;
    if (k == K_AUDIT) {
        snprintf(out, cap, "audit");
        return json_object_size(terms) == 0;
    }
    if (k == K_REVOKE) {
        const char *g = json_string_value(json_object_get(terms, "grantee"));
        const char *id = json_string_value(json_object_get(terms, "grant"));
        json_t *d = json_object_get(terms, "days");
        if (id) {
            /* one grant: revoke it, or set when it ends */
            if (g || !mr_is_lower_hex(id, 32) || (d && (!json_is_integer(d) || json_integer_value(d) < 1 ||
                                                  json_integer_value(d) > (json_int_t)max_days)))
                return 0;
            *grant = id;
            *days = d ? json_integer_value(d) : 0;
            if (d)
                snprintf(out, cap, "expire;grant=%s;days=%lld", id, (long long)*days);
            else
                snprintf(out, cap, "revoke;grant=%s", id);
            return 1;
        }
        if (g == NULL || d || (strcmp(g, "all") != 0 && !mr_is_lower_hex(g, 64)))
            return 0;
        *grantee = g;
        snprintf(out, cap, "revoke;grantee=%s", g);
        return 1;
    }
    json_t *ex = json_object_get(terms, "exclude"), *d = json_object_get(terms, "days");
    if (!json_is_array(ex) || !json_is_integer(d) || json_integer_value(d) < 1 ||
        json_integer_value(d) > (json_int_t)max_days || json_array_size(ex) > 32)
        return 0;
    *days = json_integer_value(d);
    excluded[0] = 0;
    size_t off = 0;
    /* categories of this module only, sorted and unique, as the client sent them */
    const char *prev = "";
    for (size_t i = 0; i < json_array_size(ex); i++) {
        const char *cat = json_string_value(json_array_get(ex, i));
        int known = 0;
        for (size_t g = 0; cat && g < m->n_groups; g++)
            known |= !strcmp(m->groups[g].category, cat);
        if (!known || strcmp(cat, prev) <= 0 || off + strlen(cat) + 2 > ecap)
            return 0;
        off += (size_t)snprintf(excluded + off, ecap - off, "%s%s", i ? "," : "", cat);
        prev = cat;
    }
    snprintf(out, cap, "grant;exclude=%s;days=%lld", excluded, (long long)*days);
    return 1;
}

/* The write phase of a finish, as one unit of a group commit: concurrent
 * finishes share a transaction (one fsync). A refusal found here (no
 * match, a fingerprint just used, an enrollment raced) is decided before
 * anything is written and reported in u->refused; an error after a write
 * makes the group commit run this unit again alone, where it rolls back. */
typedef struct finish_unit {
    /* in */
    const session *se;
    const new_fp *nf;
    const uint8_t *hk; /* H(K) of the answer (consent, revoke, audit) */
    const char *caller, *excluded, *grantee, *grant, *terms;
    int64_t days, now;
    unsigned replacements_max;
    /* out (reset on every run) */
    mr_refusal refused;
    char fp_id[33], subject[33], new_id[33], grant_id[33];
    int64_t expires;
    json_t *revoked;
} finish_unit;

/* Run an UPDATE of grants that returns the ids it changed; audit action
 * (with detail) about each, and list them in changed if given. */
static medreg_err update_grants(mr_conn *c, const finish_unit *u, const char *module, const char *sql,
                                const mr_param *p, size_t n, const char *action, const char *detail, json_t *changed)
{
    mr_rows *x = NULL;
    medreg_err rc = mr_conn_exec(c, sql, p, n, &x);
    for (size_t i = 0; rc == MEDREG_OK && i < mr_rows_count(x); i++) {
        rc = mr_audit_about(c, u->subject, u->caller, action, module, mr_rows_text(x, i, 0), "ok", detail);
        if (changed)
            json_array_append_new(changed, json_string(mr_rows_text(x, i, 0)));
    }
    mr_rows_free(x);
    return rc;
}

static medreg_err finish_unit_run(mr_conn *c, void *arg)
{
    finish_unit *u = arg;
    const session *se = u->se;
    mr_rows *x = NULL;
    medreg_err rc = MEDREG_OK;

    u->refused.code = NULL;
    json_decref(u->revoked);
    u->revoked = json_array();
    if (answering(se->k)) {
        /* compare with every candidate, no early exit */
        int matches = 0;
        char ids[sizeof se->candidates], *save = NULL;
        snprintf(ids, sizeof ids, "%s", se->candidates);
        for (char *id = strtok_r(ids, ",", &save); rc == MEDREG_OK && id; id = strtok_r(NULL, ",", &save)) {
            mr_param fq = MR_TEXT(id);
            mr_rows_free(x);
            x = NULL;
            rc = mr_conn_exec(c, "SELECT hk, subject FROM fingerprints WHERE id = $1 AND retired_at IS NULL", &fq, 1, &x);
            size_t hl = 0;
            const uint8_t *stored = rc == MEDREG_OK && mr_rows_count(x) ? mr_rows_blob(x, 0, 0, &hl) : NULL;
            if (stored && hl == 32 && mr_ct_equal(stored, u->hk, 32)) {
                matches++;
                snprintf(u->fp_id, sizeof u->fp_id, "%s", id);
                snprintf(u->subject, sizeof u->subject, "%s", mr_rows_text(x, 0, 1));
            }
        }
        TRY(rc);
        if (matches != 1) {
            mr_refuse_later(&u->refused, 403, "consent_refused",
                            "the patient's card did not answer for this patient: consent refused and logged");
            goto out;
        }
        /* one-time: the used fingerprint dies now, exactly once */
        mr_param rq[2] = {MR_TEXT(u->fp_id), MR_INT(u->now)};
        mr_rows_free(x);
        x = NULL;
        TRY(mr_conn_exec(c, "UPDATE fingerprints SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL RETURNING id",
                         rq, 2, &x));
        if (mr_rows_count(x) != 1) {
            mr_refuse_later(&u->refused, 403, "fingerprint_used", "this fingerprint has just been used");
            goto out;
        }
    } else {
        snprintf(u->subject, sizeof u->subject, "%s", se->subject);
        mr_param sq[3] = {MR_TEXT(se->module), MR_TEXT(se->subject), MR_INT(u->now)};
        if (se->k == K_REPLACE) {
            /* the lost card's fingerprints stop working */
            TRY(mr_conn_exec(c,
                             "UPDATE fingerprints SET retired_at = $3 WHERE module = $1 AND subject = $2 AND retired_at IS NULL",
                             sq, 3, NULL));
        } else {
            TRY(mr_conn_exec(c, "SELECT COUNT(*) FROM fingerprints WHERE module = $1 AND subject = $2 AND retired_at IS NULL",
                             sq, 2, &x));
            if (mr_rows_int(x, 0, 0) > 0) {
                mr_refuse_later(&u->refused, 409, "already_enrolled", "a card was enrolled for this patient meanwhile");
                goto out;
            }
        }
    }
    /* the new fingerprint */
    const new_fp *nf = u->nf;
    mr_random_id(u->new_id);
    mr_param ip[14] = {MR_TEXT(u->new_id),     MR_TEXT(se->module),       MR_TEXT(u->subject),
                       MR_BLOB(nf->hk, 32),    MR_BLOB(nf->k2, nf->k2_len), MR_TEXT(u->caller),
                       MR_TEXT(nf->card),      MR_INT(nf->alg),           MR_BLOB(nf->sig, nf->sig_len),
                       MR_BLOB(nf->cpk, 32),   MR_TEXT(se->id),           MR_INT(PURPOSE[se->k]),
                       MR_INT(se->k == K_REPLACE), MR_INT(u->now)};
    TRY(mr_conn_exec(c,
                     "INSERT INTO fingerprints (id, module, subject, hk, k2, physician, card_cert, physician_alg,"
                     " physician_sig, client_pk, session, purpose, replacement, created_at)"
                     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                     ip, 14, NULL));
    if (se->k == K_CONSENT) {
        /* a new consent replaces the physician's previous grant on the subject */
        mr_param gq[4] = {MR_TEXT(se->module), MR_TEXT(u->subject), MR_TEXT(u->caller), MR_INT(u->now)};
        TRY(update_grants(c, u, se->module,
                          "UPDATE grants SET revoked_at = $4, revoked_by = $3 WHERE module = $1 AND subject = $2"
                          " AND physician = $3 AND revoked_at IS NULL RETURNING id",
                          gq, 4, "revoke", "replaced by a new consent", NULL));
        mr_random_id(u->grant_id);
        u->expires = u->now + u->days * 86400;
        mr_param gp[9] = {MR_TEXT(u->grant_id), MR_TEXT(se->module), MR_TEXT(u->subject), MR_TEXT(u->caller),
                          MR_TEXT(u->excluded), MR_INT(u->now),      MR_INT(u->expires),  MR_TEXT(se->id),
                          MR_TEXT(u->terms)};
        TRY(mr_conn_exec(c,
                         "INSERT INTO grants (id, module, subject, physician, excluded, created_at, expires_at, session,"
                         " terms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                         gp, 9, NULL));
        /* the grant's whole state, so that it can be recomputed from the log alone */
        char detail[1200];
        snprintf(detail, sizeof detail, "grantee=%s;exclude=%s;expires=%lld", u->caller, u->excluded,
                 (long long)u->expires);
        TRY(mr_audit_about(c, u->subject, u->caller, "consent_success", se->module, se->id, "ok", u->fp_id));
        TRY(mr_audit_about(c, u->subject, u->caller, "grant", se->module, u->grant_id, "ok", detail));
    } else if (se->k == K_REVOKE && u->grant && u->days > 0) {
        /* the patient sets when one grant ends */
        int64_t until = u->now + u->days * 86400;
        mr_param gq[4] = {MR_TEXT(se->module), MR_TEXT(u->subject), MR_TEXT(u->grant), MR_INT(until)};
        char detail[40];
        snprintf(detail, sizeof detail, "expires=%lld", (long long)until);
        TRY(update_grants(c, u, se->module,
                          "UPDATE grants SET expires_at = $4 WHERE module = $1 AND subject = $2 AND id = $3"
                          " AND revoked_at IS NULL RETURNING id",
                          gq, 4, "grant_expiry", detail, u->revoked));
        TRY(mr_audit_about(c, u->subject, u->caller, "consent_success", se->module, se->id, "ok", u->fp_id));
    } else if (se->k == K_REVOKE) {
        mr_param gq[5] = {MR_TEXT(se->module), MR_TEXT(u->subject), MR_TEXT(u->grantee ? u->grantee : ""),
                          MR_INT(u->now), MR_TEXT(u->grant ? u->grant : "")};
        TRY(update_grants(c, u, se->module,
                          "UPDATE grants SET revoked_at = $4, revoked_by = 'patient' WHERE module = $1 AND subject = $2"
                          " AND revoked_at IS NULL AND ($3 = 'all' OR physician = $3 OR id = $5) RETURNING id",
                          gq, 5, "revoke", "patient present", u->revoked));
        TRY(mr_audit_about(c, u->subject, u->caller, "consent_success", se->module, se->id, "ok", u->fp_id));
    } else if (se->k == K_AUDIT) {
        TRY(mr_audit_about(c, u->subject, u->caller, "audit_view", se->module, se->id, "ok", u->fp_id));
    } else {
        TRY(mr_audit_about(c, u->subject, u->caller, se->k == K_ENROLL ? "enroll" : "card_replace", se->module,
                           u->new_id, "ok", se->k == K_REPLACE ? "replacement; identity checked by the physician" : ""));
    }
    if (se->k != K_ENROLL)
        TRY(mr_audit_about(c, u->subject, u->caller, "fingerprint_new", se->module, u->new_id, "ok",
                           se->k == K_REPLACE ? "replacement" : "rotation"));
    /* the session closes exactly once; if another request closed it, this unit fails and rolls back */
    mr_param up[2] = {MR_TEXT(se->id), MR_INT(u->now)};
    mr_rows_free(x);
    x = NULL;
    TRY(mr_conn_exec(c,
                     "UPDATE consent_sessions SET status = 'success', finished_at = $2 WHERE id = $1"
                     " AND status = 'open' RETURNING id",
                     up, 2, &x));
    ENSURE(mr_rows_count(x) == 1, MEDREG_ERR_CONFLICT);
    if (se->k == K_REPLACE) {
        /* more than N replacements by one physician in a month raises the alarm */
        mr_param aq[2] = {MR_TEXT(u->caller), MR_INT(u->now - MONTH)};
        mr_rows_free(x);
        x = NULL;
        TRY(mr_conn_exec(c, "SELECT COUNT(*) FROM fingerprints WHERE physician = $1 AND replacement = 1 AND created_at >= $2",
                         aq, 2, &x));
        if (mr_rows_int(x, 0, 0) == (int64_t)u->replacements_max + 1)
            TRY(mr_audit(c, u->caller, "alarm", se->module, u->caller, "raised", "replacements"));
    }
out:
    mr_rows_free(x);
    return rc;
}

/* A patient's history, for their own card (kind audit): their handle in the
 * ledger and the key of their events' details, the ledger indices of their
 * events, how many have not reached the ledger yet, their grants, and the
 * names of the physicians involved. The client proves every entry against
 * a checkpoint and decrypts it itself; the registry is trusted for the
 * names only (and medreg audit mine --scan checks that no entry is left out). */
/* A presence pass for the identity service: this physician, in front of
 * this patient's card, may see the identity-side events of the records with
 * the patient's PSN (src/crypto/presence_pass.h). */
static medreg_err identity_pass(mr_service *s, mr_conn *c, const char *module, const char *subject,
                                const char *physician, char **pass)
{
    mr_rows *r = NULL;
    mr_presence_pass p;
    medreg_err rc = MEDREG_OK;
    size_t pl = 0;
    *pass = NULL;
    memset(&p, 0, sizeof p);
    mr_param q = MR_TEXT(subject);
    TRY(mr_conn_exec(c, "SELECT key_id, psn FROM subjects WHERE subject = $1", &q, 1, &r));
    const uint8_t *psn = mr_rows_count(r) == 1 ? mr_rows_blob(r, 0, 1, &pl) : NULL;
    ENSURE(psn && pl == sizeof p.psn && mr_unhex_exact(physician, p.physician, sizeof p.physician), MEDREG_ERR_DB);
    snprintf(p.module, sizeof p.module, "%s", module);
    p.key_id = (uint32_t)mr_rows_int(r, 0, 0);
    memcpy(p.psn, psn, sizeof p.psn);
    p.expires_at = (uint64_t)time(NULL) + s->cfg->pass_ttl_s;
    randombytes_buf(p.nonce, sizeof p.nonce);
    rc = mr_pass_seal(&p, s->token_key, pass);
out:
    mr_wipe(&p, sizeof p);
    mr_rows_free(r);
    return rc;
}

static medreg_err patient_history(mr_service *s, const char *module, const char *subject, const char *physician,
                                  json_t **out)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    char *pass = NULL;
    medreg_err rc = MEDREG_OK;
    json_t *h = NULL, *grants = json_array(), *names = json_object();
    mr_param p[2] = {MR_TEXT(module), MR_TEXT(subject)};
    int64_t as_of = -1;
    *out = NULL;
    ENSURE(grants && names, MEDREG_ERR_NOMEM);
    TRY(mr_db_acquire(s->db, &c));
    TRY(mr_events_as_of(c, &as_of));
    TRY(mr_events_patient_source(s, c, module, subject, as_of, &h));
    mr_param pl[3] = {MR_TEXT(module), MR_TEXT(subject), MR_INT(as_of)};
    TRY(mr_conn_exec(c,
                     "SELECT (SELECT COUNT(*) FROM events WHERE module = $1 AND subject = $2)"
                     " + (SELECT COUNT(*) FROM ledger_shipped WHERE module = $1 AND subject = $2 AND idx > $3)",
                     pl, 3, &r));
    int64_t pending = mr_rows_int(r, 0, 0);
    mr_rows_free(r);
    r = NULL;
    TRY(mr_conn_exec(c,
                     "SELECT id, physician, excluded, created_at, expires_at, revoked_at FROM grants"
                     " WHERE module = $1 AND subject = $2 ORDER BY created_at, id LIMIT 1000",
                     p, 2, &r));
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        int64_t exp = mr_rows_int(r, i, 4);
        const char *state = !mr_rows_isnull(r, i, 5) ? "revoked" : exp <= now ? "expired" : "active";
        json_array_append_new(grants, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "id", mr_rows_text(r, i, 0), "physician",
                                                mr_rows_text(r, i, 1), "excluded", mr_rows_text(r, i, 2), "created_at",
                                                (json_int_t)mr_rows_int(r, i, 3), "expires_at", (json_int_t)exp,
                                                "state", state));
    }
    mr_rows_free(r);
    r = NULL;
    /* the physicians who know the patient: every actor of their events is one */
    TRY(mr_user_names(c,
                      "SELECT fpr, MIN(name) FROM users WHERE fpr IN"
                      " (SELECT physician FROM relations WHERE module = $1 AND subject = $2"
                      " UNION SELECT physician FROM grants WHERE module = $1 AND subject = $2) GROUP BY fpr",
                      p, 2, names));
    TRY(identity_pass(s, c, module, subject, physician, &pass));
    json_t *more = json_pack("{s:I,s:I,s:o,s:o,s:s}", "as_of", (json_int_t)as_of, "pending", (json_int_t)pending,
                             "grants", grants, "names", names, "identity_pass", pass);
    grants = names = NULL; /* "o" takes them, even when packing fails */
    ENSURE(more != NULL && json_object_update_new(h, more) == 0, MEDREG_ERR_NOMEM);
    *out = h;
    h = NULL;
out:
    free(pass);
    json_decref(h);
    json_decref(grants);
    json_decref(names);
    mr_rows_free(r);
    mr_db_release(s->db, c);
    return rc;
}

/* A finish across its group commit (mr_resp_defer): the unit and what it
 * points to. */
typedef struct finishing {
    json_t *body; /* grantee and grant point into it */
    session se;
    new_fp nf;
    uint8_t hk[32];
    char terms[1200], excluded[1100];
    char caller[65];
    finish_unit u;
} finishing;

static medreg_err finishing_run(mr_conn *c, void *arg)
{
    return finish_unit_run(c, &((finishing *)arg)->u);
}

static void finishing_free(void *state)
{
    finishing *f = state;
    if (f == NULL)
        return;
    free(f->nf.k2);
    json_decref(f->u.revoked);
    json_decref(f->body);
    mr_wipe(f, sizeof *f);
    free(f);
}

/* After the commit: the outcome, or the refusal the unit found. */
static void finish_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    finishing *f = state;
    const session *se = &f->se;
    if (rc == MEDREG_OK && f->u.refused.code != NULL) {
        fail(s, req, resp, se, f->u.refused.status, f->u.refused.code, f->u.refused.message);
        return;
    }
    if (rc == MEDREG_ERR_CONFLICT) {
        mr_resp_error(resp, 409, "session_closed", "this consent session is already finished: start a new one");
        mr_audit_refusal(resp, req, "consent_finish", se->module, se->id, "session already finished");
        return;
    }
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    json_t *result = json_pack("{s:s,s:s,s:s}", "status", "ok", "kind", KINDS[se->k], "fingerprint", f->u.new_id);
    if (se->k == K_CONSENT)
        json_object_set_new(result, "grant",
                            json_pack("{s:s,s:s,s:I}", "id", f->u.grant_id, "excluded", f->excluded, "expires_at",
                                      (json_int_t)f->u.expires));
    if (se->k == K_REVOKE)
        json_object_set_new(result, f->u.grant && f->u.days ? "updated" : "revoked",
                            json_integer((json_int_t)json_array_size(f->u.revoked)));
    if (se->k == K_AUDIT) {
        json_t *h = NULL;
        if ((rc = patient_history(s, se->module, f->u.subject, req->caller.fpr, &h)) != MEDREG_OK) {
            json_decref(result);
            mr_resp_db_error(resp, rc);
            return;
        }
        json_object_set_new(result, "history", h);
    }
    mr_resp_json(resp, 200, result);
}

void mr_consent_finish(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"fingerprint", "answer", "terms", "abandon", NULL};
    json_t *j = mr_req_json(req, resp, allowed);
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    finishing *f = NULL;
    const mr_module *m;
    const char *code = NULL, *why = NULL, *grantee = NULL, *grant = NULL;
    uint8_t nonce[32], terms_d[32], want_d[32], *m_ct = NULL;
    size_t m_len = 0;
    int64_t now = (int64_t)time(NULL), days = 0;
    medreg_err rc;

    if (j == NULL)
        return;
    if (!valid_session_id(req->params[0])) {
        mr_resp_error(resp, 404, "not_found", "no consent session has this id");
        goto out;
    }
    if ((f = calloc(1, sizeof *f)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    session *se = &f->se;
    /* the checks and the registry's private-key operations run before the
     * write transaction, so that they never hold the database's writer */
    rc = mr_db_acquire(s->db, &c);
    mr_param q = MR_TEXT(req->params[0]);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT module, physician, kind, internal_id, subject, nonce, candidates, expires_at, status"
                          " FROM consent_sessions WHERE id = $1",
                          &q, 1, &r);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    if (mr_rows_count(r) == 0) {
        mr_resp_error(resp, 404, "not_found", "no consent session has this id");
        goto out;
    }
    snprintf(se->id, sizeof se->id, "%s", req->params[0]);
    snprintf(se->module, sizeof se->module, "%s", mr_rows_text(r, 0, 0));
    snprintf(se->internal_id, sizeof se->internal_id, "%s", mr_rows_text(r, 0, 3));
    snprintf(se->subject, sizeof se->subject, "%s", mr_rows_text(r, 0, 4));
    snprintf(se->candidates, sizeof se->candidates, "%s", mr_rows_text(r, 0, 6));
    se->k = kind_of(mr_rows_text(r, 0, 2));
    size_t nl = 0, bl = 0;
    const uint8_t *np = mr_rows_blob(r, 0, 5, &nl);
    if (nl != sizeof se->nonce || se->k == K_NONE ||
        sodium_hex2bin(se->sid, sizeof se->sid, se->id, 32, NULL, &bl, NULL) != 0) {
        mr_resp_error(resp, 500, "internal", "a stored consent session is malformed");
        goto out;
    }
    memcpy(se->nonce, np, nl);
    if (strcmp(mr_rows_text(r, 0, 1), req->caller.fpr) != 0) {
        mr_refuse(c, req, resp, 403, "forbidden", "consent_finish", se->module, se->id,
                  "this consent session belongs to another physician");
        goto out;
    }
    int physician = 0;
    if ((rc = mr_auth_has_role(c, req->caller.fpr, "physician", se->module, &physician)) != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    if (!physician) { /* the role was removed since the session began */
        mr_refuse(c, req, resp, 403, "forbidden", "consent_finish", se->module, se->id,
                  "this operation needs the physician role in the session's module");
        goto out;
    }
    if (strcmp(mr_rows_text(r, 0, 8), "open") != 0) {
        mr_refuse(c, req, resp, 409, "session_closed", "consent_finish", se->module, se->id,
                  "this consent session is already finished: start a new one");
        goto out;
    }
    if ((m = mr_service_module(s, se->module, NULL)) == NULL) {
        mr_resp_error(resp, 409, "conflict", "the session's module is no longer configured");
        goto out;
    }
    if (mr_rows_int(r, 0, 7) < now) {
        fail(s, req, resp, se, 410, "session_expired", "the consent session has expired: start a new one");
        goto out;
    }
    json_t *ab = json_object_get(j, "abandon");
    if (ab) {
        const char *reason = json_string_value(ab);
        int ok = reason && strlen(reason) <= 40;
        for (size_t i = 0; ok && reason[i]; i++)
            ok = (reason[i] >= 'a' && reason[i] <= 'z') || reason[i] == '_';
        fail(s, req, resp, se, 403, ok ? reason : "abandoned", "the consent session was abandoned");
        goto out;
    }
    /* the terms first: the physician's card signed their digest too */
    if (answering(se->k)) {
        m_ct = malloc(MR_HYBRID_MAX);
        if (m_ct == NULL || !unb64(json_object_get(j, "answer"), m_ct, MR_HYBRID_MAX, &m_len) ||
            !terms_string(m, se->k, json_object_get(j, "terms"), s->cfg->grant_max_days, f->terms, sizeof f->terms,
                          f->excluded, sizeof f->excluded, &days, &grantee, &grant)) {
            fail(s, req, resp, se, 400, "invalid_answer",
                 "'answer' (base64) and 'terms' (exclude: sorted known categories, days; or grantee; or grant"
                 " [, days]; for audit {}) are required");
            goto out;
        }
        mr_consent_terms_digest(f->terms, want_d);
    }
    if (!check_fingerprint(s, c, req, json_object_get(j, "fingerprint"), se, answering(se->k) ? want_d : NULL, &f->nf,
                           &code, &why)) {
        fail(s, req, resp, se, 403, code, why);
        goto out;
    }
    if (answering(se->k)) {
        /* the patient's card opened one K'': the answer must hold that K and this nonce */
        if (mr_consent_server_answer(s->consent, se->sid, m_ct, m_len, f->hk, nonce, terms_d) != MEDREG_OK) {
            fail(s, req, resp, se, 403, "consent_refused", "the answer does not open under the registry's key");
            goto out;
        }
        if (!mr_ct_equal(nonce, se->nonce, sizeof nonce) || !mr_ct_equal(terms_d, want_d, 32)) {
            fail(s, req, resp, se, 403, "consent_refused", "the answer is not for this session or these terms");
            goto out;
        }
    }
    snprintf(f->caller, sizeof f->caller, "%s", req->caller.fpr);
    f->body = json_incref(j);
    f->u = (finish_unit){.se = se, .nf = &f->nf, .hk = f->hk, .caller = f->caller, .excluded = f->excluded,
                         .grantee = grantee, .grant = grant, .terms = f->terms, .days = days, .now = now,
                         .replacements_max = s->cfg->alarm_replacements_max};
    mr_resp_defer(resp, finishing_run, finish_answer, f, finishing_free);
    f = NULL;
out:
    free(m_ct);
    mr_wipe(nonce, sizeof nonce);
    finishing_free(f);
    mr_rows_free(r);
    mr_db_release(s->db, c); /* the unit runs on the committer's connection */
    json_decref(j);
}

medreg_err mr_grant_active(mr_conn *c, const char *module, const char *subject, const char *physician,
                           char grant_id[33], char **excluded, int *found)
{
    mr_rows *r = NULL;
    mr_param p[4] = {MR_TEXT(module), MR_TEXT(subject), MR_TEXT(physician), MR_INT(time(NULL))};
    medreg_err rc = mr_conn_exec(c,
                                 "SELECT id, excluded FROM grants WHERE module = $1 AND subject = $2 AND physician = $3"
                                 " AND revoked_at IS NULL AND expires_at > $4 ORDER BY created_at DESC LIMIT 1",
                                 p, 4, &r);
    *found = 0;
    *excluded = NULL;
    if (rc == MEDREG_OK && mr_rows_count(r) == 1) {
        snprintf(grant_id, 33, "%s", mr_rows_text(r, 0, 0));
        *excluded = strdup(mr_rows_text(r, 0, 1));
        if (*excluded == NULL)
            rc = MEDREG_ERR_NOMEM;
        else
            *found = 1;
    }
    mr_rows_free(r);
    return rc;
}

void mr_grants_list(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *module = mr_req_query(req, "module");
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    int admin = 0;
    if (module == NULL || mr_service_module(s, module, NULL) == NULL) {
        mr_resp_error(resp, 400, "invalid_query", "query 'module' must name a module of this registry");
        return;
    }
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_auth_has_role(c, req->caller.fpr, "admin", "", &admin);
    if (rc == MEDREG_OK && !admin)
        rc = mr_auth_has_role(c, req->caller.fpr, "monitor", "", &admin);
    mr_db_release(s->db, c);
    c = NULL;
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    /* a physician sees their own grants, named by their own internal IDs */
    if (!admin && !mr_require_role(s, req, resp, "grants_list", "physician", module, NULL))
        return;
    mr_param p[2] = {MR_TEXT(module), MR_TEXT(admin ? "" : req->caller.fpr)};
    rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK)
        rc = mr_conn_exec(c,
                          "SELECT g.id, g.physician, g.excluded, g.created_at, g.expires_at, g.revoked_at,"
                          " (SELECT MIN(rel.internal_id) FROM relations rel WHERE rel.module = g.module"
                          "  AND rel.subject = g.subject AND rel.physician = g.physician)"
                          " FROM grants g WHERE g.module = $1 AND ($2 = '' OR g.physician = $2)"
                          " ORDER BY g.created_at DESC LIMIT 1000",
                          p, 2, &r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        goto out;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < mr_rows_count(r); i++) {
        int64_t exp = mr_rows_int(r, i, 4);
        int revoked = !mr_rows_isnull(r, i, 5);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "id", mr_rows_text(r, i, 0),
                                             "physician", mr_rows_text(r, i, 1), "internal_id", mr_rows_text(r, i, 6),
                                             "excluded", mr_rows_text(r, i, 2), "created_at",
                                             (json_int_t)mr_rows_int(r, i, 3), "expires_at", (json_int_t)exp, "state",
                                             revoked ? "revoked" : exp <= (int64_t)time(NULL) ? "expired" : "active"));
    }
    mr_resp_json(resp, 200, json_pack("{s:o}", "grants", arr));
out:
    mr_rows_free(r);
}

/* The three alarms (seed 000 §5.4, §6), computed from the tables. The
 * windows are materialised first: grouped directly, SQLite preferred to
 * read a whole index in physician order over searching the window. */
static medreg_err alarms(mr_service *s, json_t *arr)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    int64_t now = (int64_t)time(NULL);
    medreg_err rc = MEDREG_OK;
    TRY(mr_db_acquire(s->db, &c));
    mr_param p1[3] = {MR_INT(now - (int64_t)s->cfg->consent_fail_window_s), MR_INT(now),
                      MR_INT(s->cfg->consent_fail_max)};
    TRY(mr_conn_exec(c,
                     "WITH w AS MATERIALIZED (SELECT physician, created_at FROM consent_sessions"
                     " WHERE kind IN ('consent', 'revoke', 'audit') AND created_at >= $1"
                     " AND (status = 'failed' OR (status = 'open' AND expires_at < $2)))"
                     " SELECT physician, COUNT(*), MAX(created_at) FROM w"
                     " GROUP BY physician HAVING COUNT(*) > $3 ORDER BY physician",
                     p1, 3, &r));
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:s}", "kind", "consent_blocked", "physician",
                                             mr_rows_text(r, i, 0), "count", (json_int_t)mr_rows_int(r, i, 1), "last_at",
                                             (json_int_t)mr_rows_int(r, i, 2), "message",
                                             "failed consent attempts above the limit: further attempts are blocked"));
    mr_rows_free(r);
    r = NULL;
    mr_param p2[1] = {MR_INT(now - (int64_t)s->cfg->alarm_idle_s)};
    TRY(mr_conn_exec(c,
                     "SELECT g.physician, g.id, g.created_at FROM grants g WHERE g.revoked_at IS NULL"
                     " AND g.created_at <= $1 AND NOT EXISTS (SELECT 1 FROM records r WHERE r.module = g.module"
                     " AND r.subject = g.subject AND r.physician = g.physician AND r.created_at >= g.created_at)"
                     " ORDER BY g.created_at LIMIT 1000",
                     p2, 1, &r));
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:I,s:s}", "kind", "access_without_data", "physician",
                                             mr_rows_text(r, i, 0), "grant", mr_rows_text(r, i, 1), "since",
                                             (json_int_t)mr_rows_int(r, i, 2), "message",
                                             "access was granted but no data has been entered for the patient since"));
    mr_rows_free(r);
    r = NULL;
    mr_param p3[2] = {MR_INT(now - MONTH), MR_INT(s->cfg->alarm_replacements_max)};
    TRY(mr_conn_exec(c,
                     "WITH w AS MATERIALIZED (SELECT physician FROM fingerprints WHERE replacement = 1"
                     " AND created_at >= $1)"
                     " SELECT physician, COUNT(*) FROM w GROUP BY physician HAVING COUNT(*) > $2 ORDER BY physician",
                     p3, 2, &r));
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s}", "kind", "replacements", "physician",
                                             mr_rows_text(r, i, 0), "count", (json_int_t)mr_rows_int(r, i, 1), "message",
                                             "more card replacements in 30 days than the limit"));
out:
    mr_rows_free(r);
    mr_db_release(s->db, c);
    return rc;
}

void mr_alarms_list(mr_service *s, mr_request *req, mr_response *resp)
{
    if (!mr_require_role(s, req, resp, "alarms", "admin", "", "monitor"))
        return;
    json_t *arr = json_array();
    medreg_err rc = alarms(s, arr);
    if (rc != MEDREG_OK) {
        json_decref(arr);
        mr_resp_db_error(resp, rc);
        return;
    }
    mr_resp_json(resp, 200, json_pack("{s:o}", "alarms", arr));
}

medreg_err mr_alarms_metrics(mr_service *s, void *out)
{
    FILE *fp = out;
    json_t *arr = json_array();
    static const char *const NAMES[] = {"consent_blocked", "access_without_data", "replacements"};
    medreg_err rc = alarms(s, arr);
    if (rc == MEDREG_OK) {
        fprintf(fp, "# HELP medreg_alarms Active alarms by kind (GET /v1/alarms lists them).\n"
                    "# TYPE medreg_alarms gauge\n");
        for (size_t k = 0; k < 3; k++) {
            size_t n = 0;
            for (size_t i = 0; i < json_array_size(arr); i++)
                n += !strcmp(json_string_value(json_object_get(json_array_get(arr, i), "kind")), NAMES[k]);
            fprintf(fp, "medreg_alarms{kind=\"%s\"} %zu\n", NAMES[k], n);
        }
    }
    json_decref(arr);
    return rc;
}
