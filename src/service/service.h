/* The running service: its configuration, keys, database and modules, and
 * the request/response types that route handlers see. */
#ifndef MR_SERVICE_H
#define MR_SERVICE_H

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/module.h"
#include "../config/service_config.h"
#include "../core/safety.h"
#include "../crypto/psn_token.h"
#include "../store/db.h"
#include "../store/group_commit.h"
#include "../token/tls_identity.h"

#define MR_MAX_ROUTES 48

typedef struct mr_service mr_service;
struct mr_service {
    mr_service_config *cfg;
    mr_db *db;
    mr_group_commit *commits; /* shared transactions for stand-alone writes */
    struct mr_work_pool *compute; /* CPU work handed off by the HTTP threads (mr_resp_compute) */
    mr_module *modules[MR_MAX_MODULES];
    size_t n_modules;
    /* identity: per-module PSN keys, token signing key, data-at-rest keys
     * (all in sodium_malloc'ed, mlock'ed memory) */
    uint8_t *module_keys[MR_MAX_MODULES];
    /* identity: per-module VOPRF key pairs for network-wide PSNs, derived
     * from the module key (docs/pseudonyms.md) */
    uint8_t *oprf_sk[MR_MAX_MODULES];
    uint8_t oprf_pk[MR_MAX_MODULES][32];
    struct mr_key25519 *signer; /* identity: signs PSN tokens (file or token) */
    uint8_t *seal_key; /* at-rest AEAD key, derived from data_key */
    uint8_t *index_key; /* blind search index key, derived from data_key */
    /* both: the PSN-token box key shared by identity service and registry
     * (src/crypto/psn_token.h); registry: the identity service's public key */
    uint8_t *token_key; /* MR_TOKEN_KEY_BYTES */
    uint8_t identity_pk[crypto_sign_PUBLICKEYBYTES];
    /* metrics: per route, per status class (1xx..5xx) */
    atomic_ulong requests[MR_MAX_ROUTES + 2][5];
    atomic_ulong request_us_total;
    atomic_ulong bytes_in;
    atomic_ulong connections; /* accepted; a client that keeps one open adds one */
    mr_tls_identity *tls; /* certificate and key (file or PKCS#11 token) */
    /* registry: the consent key (fingerprints and answers are sealed to it),
     * the OAEP hash it takes, and the secret consent sessions derive their
     * ephemeral keys from */
    struct mr_token *consent;
    int consent_oaep;
    uint8_t *session_secret; /* 32 bytes */
    char consent_cert_pem[16384];
    struct mr_cert_cache *card_certs; /* the physicians' card certificates, parsed */
    /* ledger: the log, integrated by the ticker thread every interval. identity and
     * registry: the same thread ships their events to the ledger. */
    struct mr_ledger *ledger;
    uint8_t *events_key; /* 32 bytes: event handles (ledger_events.c) */
    size_t events_round; /* events per request to the ledger; halved when it answers 413 (service.c) */
    void (*tick)(struct mr_service *s);
    unsigned tick_ms;
    pthread_t ticker;
    int ticker_running;
    pthread_mutex_t tick_lock;
    pthread_cond_t tick_wake;
    int tick_stop;
    /* ledger: the witnesses asked to cosign, and the size each last cosigned */
    struct mr_note_verifier *ledger_witnesses;
    uint64_t ledger_witness_last[MR_MAX_WITNESSES];
    size_t ledger_n_witnesses;
    /* witness: its cosigning key and the logs it follows */
    struct mr_note_signer *witness;
    struct mr_note_verifier *witness_logs;
    size_t witness_n_logs;
    char client_ca_pem[65536];
};

/* Load config-named keys, modules and database. */
MR_MUST_CHECK medreg_err mr_service_open(mr_service_config *cfg, mr_service **out, char **errmsg);
void mr_service_close(mr_service *s);
const mr_module *mr_service_module(const mr_service *s, const char *name, size_t *index);

typedef struct mr_caller {
    char fpr[65]; /* hex SHA-256 of the client certificate */
    char cn[128];
} mr_caller;

typedef struct mr_request {
    const char *method;
    const char *path;
    const char *params[2]; /* path parameters captured by '*' */
    const uint8_t *body;
    size_t body_len;
    void *conn; /* struct MHD_Connection *, for query arguments */
    /* without a connection (the route fuzzer): the query arguments as name,
     * value, name, value, …, NULL */
    const char *const *args;
    mr_caller caller;
} mr_request;

/* A streamed body: fill up to max bytes at buf; return the count, 0 at the
 * end, or -1 on an error (the connection is then closed mid-body, so a
 * client never mistakes a truncated stream for a complete one). */
typedef long (*mr_stream_fn)(void *state, char *buf, size_t max);

typedef struct mr_response mr_response;

/* An answer that may go out only once a group-commit unit is durable. The
 * handler does not wait for the commit (that would hold an HTTP thread, and
 * every connection it serves, for an fsync): it fills this in with
 * mr_resp_defer and returns; the HTTP layer queues unit(c, state), serves
 * other connections, and after the commit calls then(s, req, resp, rc,
 * state) on an HTTP thread to answer. then may defer again (a retry); the
 * HTTP layer frees state with free_state afterwards unless then deferred it
 * again, and also when the connection is gone before then could run. */
typedef void (*mr_then_fn)(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state);
typedef void (*mr_compute_fn)(mr_service *s, void *state);
typedef struct mr_deferred {
    mr_unit_fn unit;       /* a group-commit unit, run by the committer */
    mr_compute_fn compute; /* or CPU work, run by a compute thread */
    mr_then_fn then;
    void *state;
    void (*free_state)(void *state);
} mr_deferred;

struct mr_response {
    int status;
    char *body; /* malloc'ed */
    size_t len;
    const char *content_type;
    mr_stream_fn stream; /* when set, the body is produced by stream(stream_state, …) */
    void *stream_state;
    void (*stream_free)(void *state);
    mr_deferred defer; /* when defer.unit is set, status is not yet known */
};

/* Answer after unit commits (see mr_deferred). */
void mr_resp_defer(mr_response *resp, mr_unit_fn unit, mr_then_fn then, void *state, void (*free_state)(void *));
/* Answer after compute(s, state) has run on a compute thread; then gets
 * MEDREG_OK. For work of milliseconds (a batch of OPRF evaluations, of PSN
 * tokens): on the HTTP thread it would hold up every connection that thread
 * serves, while another core may be idle. */
void mr_resp_compute(mr_response *resp, mr_compute_fn compute, mr_then_fn then, void *state,
                     void (*free_state)(void *));
/* Answer with what resp holds once this stand-alone audit row is durable
 * (or with 503 if it could not be written): a read is never answered
 * without its audit row. The strings are copied. */
void mr_resp_after_audit(mr_response *resp, const char *subject, const char *actor,
                         const char *action, const char *module, const char *target, const char *outcome,
                         const char *detail);

/* Run resp's deferred unit or work here and now, then its then, until an
 * answer stands: what the HTTP layer does once the daemon is stopping, and
 * what a caller without a connection does. */
void mr_resp_settle(mr_service *s, mr_request *req, mr_response *resp);

/* Query argument, or NULL. */
const char *mr_req_query(const mr_request *req, const char *name);

/* Fill resp with the one error shape {"error":{"code":…,"message":…}}. */
void mr_resp_error(mr_response *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fill resp with a JSON document; takes ownership of j. */
void mr_resp_json(mr_response *resp, int status, json_t *j);

/* Parse the body as a JSON object whose keys are all in allowed (NULL-
 * terminated). On failure fills resp (400) and returns NULL. */
json_t *mr_req_json(const mr_request *req, mr_response *resp, const char *const *allowed);

/* The module a JSON body names in its "module" field; NULL after filling
 * resp (400: missing or unknown). index may be NULL. */
const mr_module *mr_body_module(const mr_service *s, json_t *body, mr_response *resp, size_t *index);

/* Roles: does the caller hold role for module ("" for a global role; NULL:
 * in any module), not removed? */
MR_MUST_CHECK medreg_err mr_auth_has_role(mr_conn *c, const char *fpr, const char *role,
                                          const char *module, int *yes);
/* Register a user and audit it, inside the caller's transaction; a removed
 * role is given back. MEDREG_ERR_EXISTS if the role is held already. */
MR_MUST_CHECK medreg_err mr_user_insert(mr_conn *c, const char *fpr, const char *role, const char *module,
                                        const char *name, const char *created_by);
/* Take fpr's active roles away (role and module "" match any) and audit
 * each, inside the caller's transaction (begun with mr_conn_begin). On
 * success *removed (owned) lists the roles taken, as rows (role, module),
 * and *last_admin says whether no active administrator is left, in which
 * case the caller rolls back. */
MR_MUST_CHECK medreg_err mr_user_remove(mr_conn *c, const char *fpr, const char *role, const char *module,
                                        const char *by, mr_rows **removed, int *last_admin);
/* Does the caller hold any role here? */
MR_MUST_CHECK medreg_err mr_auth_known(mr_conn *c, const char *fpr, int *yes);

/* May the caller do action? Yes if registered with role in module ("" for a
 * global role), or with the global role global_alt (may be NULL). On no,
 * fills resp (403) and audits the refusal; on a storage error, fills resp. */
int mr_require_role(mr_service *s, const mr_request *req, mr_response *resp, const char *action,
                    const char *role, const char *module, const char *global_alt);

/* Append one row to the audit table inside the caller's transaction, so that
 * it commits (or not) with the change it describes. */
MR_MUST_CHECK medreg_err mr_audit(mr_conn *c, const char *actor, const char *action,
                                  const char *module, const char *target, const char *outcome,
                                  const char *detail);
/* The same, for an event about a patient: subject is the registry's
 * subject, under which the patient later finds the event (medreg audit mine). */
MR_MUST_CHECK medreg_err mr_audit_about(mr_conn *c, const char *subject, const char *actor, const char *action,
                                        const char *module, const char *target, const char *outcome,
                                        const char *detail);
/* The row itself, on any connection (NULL strings are stored as ""). */
MR_MUST_CHECK medreg_err mr_audit_insert(mr_conn *c, int64_t at, const char *subject, const char *actor,
                                         const char *action, const char *module, const char *target,
                                         const char *outcome, const char *detail);
/* Answer with what resp holds (the refusal) once its audit row is durable,
 * without holding an HTTP thread meanwhile; a row that cannot be written is
 * logged and the refusal stands. */
void mr_audit_refusal(mr_response *resp, const mr_request *req, const char *action, const char *module,
                      const char *target, const char *why);

typedef void (*mr_handler)(mr_service *s, mr_request *req, mr_response *resp);

typedef struct mr_route {
    const char *method;
    const char *pattern; /* '/'-separated; '*' matches one segment */
    mr_handler handler;
    const char *name; /* metrics label */
} mr_route;

/* The routes of each role (common ones included). */
const mr_route *mr_identity_routes(size_t *n);
const mr_route *mr_ledger_routes(size_t *n);
const mr_route *mr_witness_routes(size_t *n);
/* POST body to url over mutual TLS with this service's certificate: the
 * HTTP status (0 when no answer came), the reply (malloc'ed, NUL-terminated,
 * at most max bytes) in *out. https_post.c */
long mr_service_post(const mr_service *s, const char *url, const char *content_type, const char *body, size_t max,
                     long timeout_ms, char **out, size_t *out_len);

/* identity, registry: ship the oldest (at most max) audit rows not yet in
 * the ledger, as events; MEDREG_ERR_TOOBIG when the ledger refused the
 * request as too large */
MR_MUST_CHECK medreg_err mr_events_ship(mr_service *s, size_t max, size_t *shipped);
/* A patient's handle in the ledger (hex) and the key of their events'
 * details, made if it does not exist yet. */
MR_MUST_CHECK medreg_err mr_events_patient(mr_service *s, mr_conn *c, const char *module, const char *subject,
                                           char handle_hex[33], uint8_t key[32]);
/* The newest ledger index this service has shipped (-1: none). The shipper
 * commits each batch at once, so every event up to it is in ledger_shipped,
 * and any later one is newer. */
MR_MUST_CHECK medreg_err mr_events_as_of(mr_conn *c, int64_t *as_of);
/* A patient's events for their own client (medreg audit mine): {handle,
 * key (base64), indices}, the ledger indices up to as_of. */
MR_MUST_CHECK medreg_err mr_events_patient_source(mr_service *s, mr_conn *c, const char *module,
                                                  const char *subject, int64_t as_of, json_t **out);
/* ledger: collect the witnesses' cosignatures of a new checkpoint (mr_cosign_fn) */
char *mr_witness_cosign(void *ctx, struct mr_ledger *l, const char *note, size_t len, uint64_t size);
/* identity: GET /v1/oprf/{module}, POST /v1/oprf/{module}/evaluate */
void mr_oprf_key_route(mr_service *s, mr_request *req, mr_response *resp);
void mr_oprf_evaluate_route(mr_service *s, mr_request *req, mr_response *resp);
const mr_route *mr_registry_routes(size_t *n);
extern const mr_route mr_common_routes[];
extern const size_t mr_n_common_routes;

/* The route of method and url among s's (common routes first, in the order
 * /metrics lists them), its index there in *ix, its path parameters in
 * req->params (copied into store). NULL when none matches: *ix is then the
 * count of routes ("unmatched") and resp holds 404, or 405 when another
 * method would match. */
const mr_route *mr_route_of(const mr_service *s, const char *method, const char *url, mr_request *req,
                            char store[2][128], mr_response *resp, size_t *ix);

/* Run the HTTPS server until *stop becomes non-zero. */
MR_MUST_CHECK medreg_err mr_http_serve(mr_service *s, volatile int *stop);

/* A refusal, possibly inside a transaction: roll back (nothing of the
 * request is stored), audit it on its own, answer status/code. */
void mr_refuse(mr_conn *c, const mr_request *req, mr_response *resp, int status, const char *code,
               const char *action, const char *module, const char *target, const char *message);
/* A refusal a group-commit unit decided before writing anything (code NULL:
 * none). The unit returns MEDREG_OK so that its batch commits the others;
 * its caller answers and audits the refusal afterwards. */
typedef struct mr_refusal {
    int status;
    const char *code, *message;
} mr_refusal;
/* Set *r; returns MEDREG_OK, for `return mr_refuse_later(…)` in a unit. */
medreg_err mr_refuse_later(mr_refusal *r, int status, const char *code, const char *message);

/* Registry: a physician's claim on one of their internal IDs, with or
 * without a PSN token, checked in three steps so that the costly part runs
 * outside the writer's lock and the writes share a group commit:
 *   mr_relation_open   - before any storage: the token's signature, sealing,
 *                        binding and expiry (refusals audited; returns 0
 *                        after filling resp);
 *   mr_relation_check  - inside the transaction, reads only: whose ID it is,
 *                        whether the token was used, which subject; a
 *                        refusal goes to `refused` and nothing is written;
 *   mr_relation_store  - inside the same transaction, after every check of
 *                        the request passed: the token spent, the subject and
 *                        relation created or relinked.
 * mr_relation_clear wipes the token. */
typedef struct mr_relation {
    const char *module, *internal_id, *physician; /* borrowed */
    int has_token;
    mr_psn_token token;
    char subject[33];
    int exists, relink, new_subject;
    mr_refusal refused;
} mr_relation;
int mr_relation_open(mr_service *s, mr_request *req, mr_response *resp, const char *action, const char *module,
                     const char *internal_id, const char *token_s, mr_relation *rel);
MR_MUST_CHECK medreg_err mr_relation_check(mr_conn *c, mr_relation *rel);
MR_MUST_CHECK medreg_err mr_relation_store(mr_conn *c, const mr_relation *rel);
void mr_relation_clear(mr_relation *rel);
/* Registry: the consent protocol's handlers (routes_consent.c). */
void mr_consent_key_get(mr_service *s, mr_request *req, mr_response *resp);
void mr_card_register(mr_service *s, mr_request *req, mr_response *resp);
void mr_card_remove(mr_service *s, mr_request *req, mr_response *resp);
void mr_consent_start(mr_service *s, mr_request *req, mr_response *resp);
void mr_consent_finish(mr_service *s, mr_request *req, mr_response *resp);
void mr_grants_list(mr_service *s, mr_request *req, mr_response *resp);
void mr_alarms_list(mr_service *s, mr_request *req, mr_response *resp);
void mr_events_keys_get(mr_service *s, mr_request *req, mr_response *resp);
void mr_events_patient_route(mr_service *s, mr_request *req, mr_response *resp);
/* Add to names (fingerprint → name) the rows (fpr, name) of the query sql
 * (with parameters p). sql is a string literal: the statement caches key on
 * its address (src/store/stmt_slots.h). */
MR_MUST_CHECK medreg_err mr_user_names(mr_conn *c, const char *sql, const mr_param *p, size_t n, json_t *names);
void mr_fhir_consents(mr_service *s, mr_request *req, mr_response *resp);
/* Registry: the active grant of physician on subject, if any: *grant_id
 * (33 bytes) and the excluded categories (comma-separated, malloc'ed). */
MR_MUST_CHECK medreg_err mr_grant_active(mr_conn *c, const char *module, const char *subject,
                                         const char *physician, char grant_id[33], char **excluded,
                                         int *found);
/* Registry: alarm counts for /metrics ("kind count" lines appended to fp). */
MR_MUST_CHECK medreg_err mr_alarms_metrics(mr_service *s, void *fp);

/* Standard responses for the database and permission cases. */
void mr_resp_db_error(mr_response *resp, medreg_err rc);

/* Render bytes as lowercase hex into a malloc'ed string (public data only). */
char *mr_hex(const uint8_t *p, size_t n);
/* Random id: 16 bytes as 32 hex characters. */
void mr_random_id(char out[33]);
/* The same, its first 48 bits the time in milliseconds and the other 80
 * random (as UUIDv7): rows keyed by it go to the end of every index instead
 * of a random page of each, so a commit writes a few pages, not one per row
 * and index. Only for keys whose creation time is no secret (it is stored
 * beside them anyway). */
void mr_ordered_id(char out[33]);

#endif
