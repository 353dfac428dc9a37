/* libFuzzer: the HTTP API as the services' handlers see it. Every route of
 * the identity service, the registry and the ledger (the common ones
 * included) is reached through the same route lookup the HTTP layer uses, with a fuzzed
 * method, path, query and body, by each kind of caller: an administrator,
 * two physicians, a module administrator (also a pseudonymizer), a
 * researcher, a monitor (the ledger's appender) and a stranger whose certificate is from the
 * trusted CA but who holds no role. Answers that wait for a commit or for
 * the compute pool are settled in place (mr_resp_settle), and streamed
 * answers (exports) are read to their end.
 *
 * An input is one line, then the body:
 *   SERVICE CALLER METHOD PATH[?NAME=VALUE&…]\n BODY
 * SERVICE is i, r or l, CALLER a digit (the list above, in that order). In the
 * line and the body, placeholders stand for what the keys made at start
 * decide, which a static corpus cannot hold: @FPRn@ caller n's certificate
 * fingerprint; @CARD@ the PEM of a card certificate (JSON-escaped) and
 * @CARDFPR@ its fingerprint, @CARD2@ the PEM of the card registered to the
 * second physician; @IID@ and @IID2@ the internal IDs of one
 * patient at the first and the second physician, @PID@ the patient's id at
 * the identity service, @RID@ a record of theirs; @TOKEN@ a fresh PSN token
 * of that patient (the first physician registers them again for the input);
 * @SESSION@ a consent session the first physician has just started (a card
 * replacement), @CSESSION@ one the second physician has just started (a
 * consent): the patient's card is enrolled at start, through the client's
 * own protocol code with key-file cards.
 *
 * The services stand on SQLite in a folder made at start ($TMPDIR, else
 * /dev/shm where it is, for fast commits) and removed at exit, so state
 * accumulates from input to input as in a running service (a crash that
 * needs an earlier input's rows may not come back from its input alone),
 * and the databases grow: about 30 MB a minute. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config/service_config.h"
#include "../../src/consent/consent.h"
#include "../../src/core/encode.h"
#include "../../src/core/secret.h"
#include "../../src/ledger/note.h"
#include "../../src/pki/pki.h"
#include "../../src/service/service.h"
#include "rm_tree.h"

#define N_CALLERS 7
#define LINE_MAX_BYTES 1024
#define BODY_MAX (256 * 1024)
#define EXPANDED_MAX (BODY_MAX + 64 * 1024)

static const char *const names[N_CALLERS] = {"admin", "dr-a", "dr-b", "modadmin", "researcher", "monitor", "stranger"};
static mr_caller callers[N_CALLERS];
static mr_service *identity, *registry, *ledger;
static char *card_pem_json, *card2_pem_json; /* card certificates as the inside of a JSON string */
static char card_fpr[65], iid[2][64], pid[64], rid[64];
static char dir[256];
/* the placeholders whose values are made at start (the others are made
 * for each input: expand) */
typedef struct placeholder {
    char name[16];
    const char *value;
} placeholder;
static placeholder fixed[N_CALLERS + 8];
static size_t n_fixed;

static void remove_dir(void)
{
    rm_tree(dir);
}

static void need(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http: set-up failed: %s\n", what);
        abort();
    }
}

static char *read_all(const char *path)
{
    char *s = NULL;
    size_t n = 0;
    need(mr_file_read(path, 1 << 20, &s, &n) == MEDREG_OK, path);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    need(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, path);
}

/* One request as the HTTP layer makes it: the answer's status, and its
 * body in *answer when asked for (malloc'ed). */
static int call(mr_service *s, int who, const char *method, const char *url, const char *const *args,
                const uint8_t *body, size_t len, char **answer)
{
    mr_request req = {.method = method, .path = url, .body = body, .body_len = len, .args = args};
    mr_response resp = {0};
    char store[2][128];
    size_t ix;
    req.caller = callers[who];
    const mr_route *r = mr_route_of(s, method, url, &req, store, &resp, &ix);
    if (r != NULL) {
        r->handler(s, &req, &resp);
        mr_resp_settle(s, &req, &resp);
    }
    if (resp.stream != NULL) {
        char buf[4096];
        for (int i = 0; i < 100000 && resp.stream(resp.stream_state, buf, sizeof buf) > 0; i++)
            ;
        if (resp.stream_free != NULL)
            resp.stream_free(resp.stream_state);
    }
    if (answer != NULL) {
        *answer = resp.body;
        resp.body = NULL;
    }
    free(resp.body);
    return resp.status;
}

/* Give who role in module (again: one a fuzzed request removed); 0 when
 * it could not. */
static int add_role(mr_service *s, int who, const char *role, const char *module)
{
    mr_conn *c = NULL;
    medreg_err rc = mr_db_acquire(s->db, &c);
    if (rc == MEDREG_OK && (rc = mr_conn_begin(c)) == MEDREG_OK) {
        rc = mr_user_insert(c, callers[who].fpr, role, module, names[who], "fuzz");
        if (rc == MEDREG_OK)
            rc = mr_conn_commit(c);
        else
            mr_conn_rollback(c);
    }
    if (c != NULL)
        mr_db_release(s->db, c);
    return rc == MEDREG_OK || rc == MEDREG_ERR_EXISTS;
}

/* Every caller's roles, as at start. */
static int add_roles(void)
{
    int ok = 1;
    for (int s = 0; s < 2; s++) {
        mr_service *svc = s ? registry : identity;
        ok &= add_role(svc, 0, "admin", "");
        ok &= add_role(svc, 1, "physician", "hip");
        ok &= add_role(svc, 2, "physician", "hip");
    }
    ok &= add_role(identity, 3, "module_admin", "hip");
    ok &= add_role(identity, 3, "pseudonymizer", "hip");
    ok &= add_role(registry, 4, "researcher", "hip");
    ok &= add_role(registry, 5, "monitor", "");
    ok &= add_role(ledger, 0, "admin", "");
    ok &= add_role(ledger, 5, "appender", "");
    return ok;
}

static mr_service *open_service(const char *folder, const char *name, const char *text)
{
    char path[600];
    mr_service_config *cfg = NULL;
    mr_service *s = NULL;
    char *err = NULL;
    snprintf(path, sizeof path, "%s/%s.ini", folder, name);
    write_file(path, text);
    need(mr_service_config_load(path, MR_ROLE_NONE, &cfg, &err) == MEDREG_OK, err ? err : path);
    if (mr_service_open(cfg, &s, &err) != MEDREG_OK)
        need(0, err ? err : name);
    return s;
}

/* A string field of a JSON answer (of its array path0's first element
 * when path0 is given) into out; 0 when there is none that fits. */
static int field(const char *answer, const char *path0, const char *name, char *out, size_t cap)
{
    json_t *j = answer ? json_loads(answer, 0, NULL) : NULL, *o = j;
    if (path0 != NULL)
        o = json_array_get(json_object_get(j, path0), 0);
    const char *v = json_string_value(json_object_get(o, name));
    int ok = v != NULL && strlen(v) < cap;
    if (ok)
        snprintf(out, cap, "%s", v);
    json_decref(j);
    return ok;
}

/* A fresh PSN token of the one patient (token, cap), registered again by
 * physician who (1 or 2): the same internal ID as a rule, a new single-use
 * token. Inputs may take the physician's role or correct the patient's
 * name: then 0, or a new internal ID. */
static int fresh_token(int who, char *token, size_t cap)
{
    static const char body[] = "{\"module\":\"hip\",\"identifiers\":{\"family_name\":\"Fuzz\","
                               "\"given_name\":\"Erika\",\"birth_date\":\"1970-01-01\"}}";
    char *answer = NULL;
    int st = call(identity, who, "POST", "/v1/patients", NULL, (const uint8_t *)body, sizeof body - 1, &answer);
    int ok = (st == 200 || st == 201) && field(answer, NULL, "internal_id", iid[who - 1], sizeof iid[0]) &&
             field(answer, NULL, "psn_token", token, cap);
    free(answer);
    return ok;
}

/* POST body (taken; the internal ID of physician who (1 or 2) and a fresh
 * PSN token are set in it) to the registry as that physician; the answer
 * (malloc'ed) in *answer when asked for, else its string field name into
 * out. */
static int as_physician(int who, const char *url, json_t *body, const char *name, char *out, size_t cap,
                        char **answer)
{
    char token[1024], *text = NULL, *a = NULL;
    int ok = fresh_token(who, token, sizeof token);
    ok = ok && json_object_set_new(body, "internal_id", json_string(iid[who - 1])) == 0 &&
         json_object_set_new(body, "psn_token", json_string(token)) == 0 &&
         (text = json_dumps(body, JSON_COMPACT)) != NULL &&
         call(registry, who, "POST", url, NULL, (const uint8_t *)text, strlen(text), &a) == 201 &&
         (answer != NULL || field(a, NULL, name, out, cap));
    if (answer != NULL && ok)
        *answer = a;
    else
        free(a);
    free(text);
    json_decref(body);
    return ok;
}

/* A consent session just started: a card replacement by dr-a (who 1) or a
 * consent by dr-b (who 2). */
static int new_session(int who, char out[64])
{
    return as_physician(who, "/v1/consent/sessions",
                        json_pack("{s:s,s:s}", "module", "hip", "kind", who == 1 ? "replace" : "consent"), "session",
                        out, 64, NULL);
}

static mr_token *key_card(const char *pki, const char *name)
{
    char path[400], *err = NULL;
    mr_token *t = NULL;
    snprintf(path, sizeof path, "%s/%s.key", pki, name);
    mr_token_spec ts = {.key = path};
    need(mr_token_open(&ts, &t, &err) == MEDREG_OK, err ? err : path);
    return t;
}

/* The patient's card enrolled at dr-a, as a physician's client does it:
 * dr-a's card registered, a session started, the fingerprint made by the
 * two cards (key files) and sent. */
static void enroll_card(const char *pki)
{
    char *body = NULL, *answer = NULL, *text = NULL, path[128], cpk[65];
    uint8_t sid[MR_SESSION_ID_BYTES], spk[32];
    mr_fingerprint_msg fm;
    mr_hybrid_to to;
    memset(&fm, 0, sizeof fm);
    need(mr_pki_issue(pki, "patient", 0, NULL) == MEDREG_OK, "the patient's card");
    mr_token *patient = key_card(pki, "patient"), *physician = key_card(pki, "card");
    need(asprintf(&body, "{\"physician\":\"%s\",\"cert\":\"%s\"}", callers[1].fpr, card_pem_json) > 0 &&
             call(registry, 0, "POST", "/v1/cards", NULL, (const uint8_t *)body, strlen(body), NULL) == 201,
         "dr-a's card");
    free(body);
    need(asprintf(&body, "{\"physician\":\"%s\",\"cert\":\"%s\"}", callers[2].fpr, card2_pem_json) > 0 &&
             call(registry, 0, "POST", "/v1/cards", NULL, (const uint8_t *)body, strlen(body), NULL) == 201,
         "dr-b's card");
    need(as_physician(1, "/v1/consent/sessions", json_pack("{s:s,s:s}", "module", "hip", "kind", "enroll"), NULL,
                      NULL, 0, &answer),
         "an enrollment");
    json_t *st = json_loads(answer, 0, NULL);
    const char *session = json_string_value(json_object_get(st, "session"));
    mr_hybrid_to_token(registry->consent, registry->consent_oaep, &to);
    need(mr_unhex_exact(session, sid, sizeof sid) &&
             mr_unhex_exact(json_string_value(json_object_get(st, "server_public")), spk, sizeof spk) &&
             mr_consent_client_fingerprint(patient, physician, &to, sid, MR_PURPOSE_ENROLL, spk, "hip",
                                           json_string_value(json_object_get(st, "internal_id")), NULL,
                                           &fm) == MEDREG_OK,
         "the fingerprint");
    char *k3 = mr_base64(fm.k3, fm.k3_len), *sig = mr_base64(fm.physician_sig, fm.physician_sig_len);
    char *pem = mr_cert_pem(mr_token_cert(physician));
    sodium_bin2hex(cpk, sizeof cpk, fm.client_pk, sizeof fm.client_pk);
    json_t *fin = json_pack("{s:{s:s,s:s,s:s,s:i,s:s}}", "fingerprint", "client_public", cpk, "k3", k3, "card_cert",
                            pem, "sig_alg", (int)fm.physician_alg, "signature", sig);
    snprintf(path, sizeof path, "/v1/consent/sessions/%s", session);
    need(fin != NULL && (text = json_dumps(fin, JSON_COMPACT)) != NULL &&
             call(registry, 1, "POST", path, NULL, (const uint8_t *)text, strlen(text), NULL) == 200,
         "the enrollment's finish");
    json_decref(fin);
    json_decref(st);
    mr_fingerprint_msg_clear(&fm);
    free(text);
    free(pem);
    free(k3);
    free(sig);
    free(answer);
    free(body);
    mr_token_close(patient);
    mr_token_close(physician);
}

/* pki/name.crt as the inside of a JSON string (malloc'ed), its fingerprint in fpr */
static char *card_json(const char *pki, const char *name, char fpr[65])
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s.crt", pki, name);
    char *pem = read_all(path);
    need(mr_cert_fingerprint_pem(pem, strlen(pem), fpr) == MEDREG_OK, path);
    json_t *js = json_string(pem);
    char *dumped = json_dumps(js, JSON_ENCODE_ANY), *inside = NULL;
    need(dumped != NULL && (inside = strndup(dumped + 1, strlen(dumped) - 2)) != NULL, "a card's PEM");
    free(dumped);
    json_decref(js);
    free(pem);
    return inside;
}

static void init(void)
{
    char pki[300], path[600], *cfg = NULL;
    const char *tmp = getenv("TMPDIR");
    mr_json_wipe_freed(); /* as medregd does */
    snprintf(dir, sizeof dir, "%s/medreg-fuzz-XXXXXX",
             tmp && *tmp ? tmp : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    need(sodium_init() >= 0 && mkdtemp(dir) != NULL && atexit(remove_dir) == 0, "a folder");
    snprintf(pki, sizeof pki, "%s/pki", dir);
    need(mr_pki_init(pki) == MEDREG_OK, "the PKI");
    for (int i = 1; i < N_CALLERS; i++)
        need(mr_pki_issue(pki, names[i], 0, NULL) == MEDREG_OK, names[i]);
    need(mr_pki_issue(pki, "card", 0, NULL) == MEDREG_OK, "the card");
    for (int i = 0; i < N_CALLERS; i++) {
        snprintf(path, sizeof path, "%s/%s.crt", pki, names[i]);
        char *pem = read_all(path);
        need(mr_cert_fingerprint_pem(pem, strlen(pem), callers[i].fpr) == MEDREG_OK, path);
        snprintf(callers[i].cn, sizeof callers[i].cn, "%s", names[i]);
        free(pem);
    }
    card_pem_json = card_json(pki, "card", card_fpr);
    need(mr_pki_issue(pki, "card2", 0, NULL) == MEDREG_OK, "the second card");
    char card2_fpr[65];
    card2_pem_json = card_json(pki, "card2", card2_fpr);

    const char *module = getenv("MEDREG_FUZZ_MODULE");
    char *hip = read_all(module ? module : "examples/hip.ini");
    snprintf(path, sizeof path, "%s/hip.ini", dir);
    write_file(path, hip);
    free(hip);
    snprintf(path, sizeof path, "%s/hip.key", dir);
    need(mr_key_new(path) == MEDREG_OK, path);

    need(asprintf(&cfg,
                  "[service]\nrole = identity\nlisten = 127.0.0.1:1\ndatabase = sqlite:%s/identity.db\nsqlite_wal_mib = 4\n"
                  "tls_cert = %s/identity.crt\ntls_key = %s/identity.key\nclient_ca = %s/ca.crt\n"
                  "[identity]\nsigning_key = %s/identity.sign.key\nregistry_seal_public = %s/registry.seal.pub\n"
                  "data_key = %s/identity.data.key\ntoken_ttl = 600\n[modules]\nhip = %s/hip.ini\n",
                  dir, pki, pki, pki, pki, pki, pki, dir) > 0,
         "a configuration");
    identity = open_service(dir, "identity", cfg);
    free(cfg);
    need(asprintf(&cfg,
                  "[service]\nrole = registry\nlisten = 127.0.0.1:2\ndatabase = sqlite:%s/registry.db\nsqlite_wal_mib = 4\n"
                  "tls_cert = %s/registry.crt\ntls_key = %s/registry.key\nclient_ca = %s/ca.crt\n"
                  "[registry]\nseal_key = %s/registry.seal.key\nidentity_public = %s/identity.sign.pub\n"
                  "export_page = 2\nconsent_key = %s/registry-consent.key\nconsent_cert = %s/registry-consent.crt\n"
                  "consent_fail_max = 1000\nconsent_fail_window = 60\n"
                  "[modules]\nhip = %s/hip.ini\n",
                  dir, pki, pki, pki, pki, pki, pki, pki, dir) > 0,
         "a configuration");
    registry = open_service(dir, "registry", cfg);
    free(cfg);
    /* the ledger: its signing key, and a checkpoint every 50 ms by its own thread */
    uint8_t seed[32];
    mr_note_signer signer;
    char *skey = NULL;
    randombytes_buf(seed, sizeof seed);
    snprintf(path, sizeof path, "%s/ledger.skey", dir);
    need(mr_note_signer_from_seed("ledger.example/fuzz", MR_NOTE_ALG_ED25519, seed, &signer) == MEDREG_OK &&
             mr_note_signer_format(&signer, seed, &skey) == MEDREG_OK &&
             mr_secret_file_write(path, skey, strlen(skey)) == MEDREG_OK,
         "the ledger's key");
    mr_note_signer_clear(&signer);
    mr_wipe(seed, sizeof seed);
    mr_wipe(skey, strlen(skey));
    free(skey);
    need(asprintf(&cfg,
                  "[service]\nrole = ledger\nlisten = 127.0.0.1:3\ndatabase = sqlite:%s/ledger.db\nsqlite_wal_mib = 4\n"
                  "tls_cert = %s/identity.crt\ntls_key = %s/identity.key\nclient_ca = %s/ca.crt\n"
                  "[ledger]\norigin = ledger.example/fuzz\nsigning_key = %s\ninterval_ms = 50\n",
                  dir, pki, pki, pki, path) > 0,
         "a configuration");
    ledger = open_service(dir, "ledger", cfg);
    free(cfg);

    need(add_roles(), "the roles");
    char token[1024], *answer = NULL;
    need(fresh_token(2, token, sizeof token), "the patient at dr-b");
    need(call(identity, 3, "GET", "/v1/patients", (const char *const[]){"module", "hip", "field", "family_name",
                                                                         "value", "Fuzz", NULL},
              NULL, 0, &answer) == 200,
         "a search");
    need(field(answer, "patients", "id", pid, sizeof pid), "the patient's id");
    free(answer);
    need(as_physician(1, "/v1/records",
                 json_pack("{s:s,s:{s:s,s:s,s:s,s:i}}", "module", "hip", "data", "side", "left", "implant", "x",
                           "surgery_date", "2020-01-01", "harris_hip_score", 50),
                      "record_id", rid, sizeof rid, NULL),
         "a record");
    enroll_card(pki);
    for (int c = 0; c < N_CALLERS; c++) {
        snprintf(fixed[n_fixed].name, sizeof fixed[0].name, "@FPR%d@", c);
        fixed[n_fixed++].value = callers[c].fpr;
    }
    const placeholder more[] = {{"@CARDFPR@", card_fpr}, {"@CARD@", card_pem_json}, {"@CARD2@", card2_pem_json},
                                {"@IID@", iid[0]},        {"@IID2@", iid[1]},       {"@PID@", pid},
                                {"@RID@", rid}};
    for (size_t k = 0; k < MR_ARRAY_LEN(more); k++)
        fixed[n_fixed++] = more[k];
}

/* Append s[0..n) to out, growing it; 0 when it would pass EXPANDED_MAX. */
static int put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > EXPANDED_MAX)
        return 0;
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*out, c);
        if (b == NULL)
            return 0;
        *out = b;
        *cap = c;
    }
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = 0;
    return 1;
}

static int starts(const char *at, size_t rest, const char *name)
{
    size_t n = strlen(name);
    return rest >= n && memcmp(at, name, n) == 0;
}

/* text with its placeholders replaced (malloc'ed, NUL-terminated; *len
 * its length); NULL when too long. */
static char *expand(const char *text, size_t n, size_t *len)
{
    static const char *const session_names[2] = {"@SESSION@", "@CSESSION@"};
    char *out = NULL, token[1024] = "", sessions[2][64] = {"", ""};
    size_t cap = 0;
    *len = 0;
    int ok = put(&out, len, &cap, "", 0);
    /* before anything is put: the registration may give dr-a's @IID@ anew */
    if (memmem(text, n, "@TOKEN@", 7) != NULL && !fresh_token(1, token, sizeof token))
        token[0] = 0;
    for (size_t i = 0; ok && i < n;) {
        const char *at = memchr(text + i, '@', n - i), *v = "@";
        size_t upto = at ? (size_t)(at - text) : n, rest = n - upto, used = 1;
        ok = put(&out, len, &cap, text + i, upto - i);
        i = upto;
        if (!ok || at == NULL)
            break;
        for (size_t k = 0; k < n_fixed; k++)
            if (starts(at, rest, fixed[k].name)) {
                v = fixed[k].value;
                used = strlen(fixed[k].name);
            }
        if (starts(at, rest, "@TOKEN@")) {
            v = token;
            used = 7;
        }
        for (int who = 1; who <= 2; who++)
            if (starts(at, rest, session_names[who - 1])) {
                /* a physician may be blocked, or have lost the role: then empty */
                if (sessions[who - 1][0] == 0 && !new_session(who, sessions[who - 1]))
                    sessions[who - 1][0] = 0;
                v = sessions[who - 1];
                used = strlen(session_names[who - 1]);
            }
        ok = put(&out, len, &cap, v, strlen(v));
        i += used;
    }
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (identity == NULL)
        init();
    const uint8_t *nl = memchr(data, '\n', size < LINE_MAX_BYTES ? size : LINE_MAX_BYTES);
    if (nl == NULL || size - (size_t)(nl + 1 - data) > BODY_MAX)
        return 0;
    size_t line_len = 0, body_len = 0;
    char *line = expand((const char *)data, (size_t)(nl - data), &line_len);
    char *body = expand((const char *)nl + 1, size - (size_t)(nl + 1 - data), &body_len);
    char method[16], *sp, *url, *query;
    const char *args[2 * 8 + 1] = {NULL};
    int who;
    mr_service *s;

    /* "S C METHOD URL": a NUL inside cuts it, as it would cut a header */
    if (line == NULL || body == NULL || strlen(line) < 6 || strchr("irl", line[0]) == NULL || line[1] != ' ' ||
        line[2] < '0' || line[2] >= '0' + N_CALLERS || line[3] != ' ')
        goto out;
    s = line[0] == 'i' ? identity : line[0] == 'r' ? registry : ledger;
    who = line[2] - '0';
    sp = strchr(line + 4, ' ');
    if (sp == NULL || sp == line + 4 || (size_t)(sp - (line + 4)) >= sizeof method)
        goto out;
    memcpy(method, line + 4, (size_t)(sp - (line + 4)));
    method[sp - (line + 4)] = 0;
    url = sp + 1;
    if ((query = strchr(url, '?')) != NULL) {
        *query++ = 0;
        size_t n = 0;
        for (char *save = NULL, *pair = strtok_r(query, "&", &save); pair != NULL && n < 16;
             pair = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(pair, '=');
            if (eq != NULL)
                *eq++ = 0;
            args[n++] = pair;
            args[n++] = eq ? eq : "";
        }
    }
    (void)call(s, who, method, url, args, (const uint8_t *)body, body_len, NULL);
    if (strcmp(method, "DELETE") == 0) /* a role taken away: given back, so that later inputs reach as far */
        need(add_roles(), "the roles again");
out:
    free(line);
    free(body);
    return 0;
}
