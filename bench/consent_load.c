/* Consent benchmark client: N threads, each with one keep-alive mutual-TLS
 * connection (OpenSSL and http-parser, not libcurl: tls_client.h), run
 * whole protocol rounds against the registry for S seconds and print
 * "rounds/s p50_ms p99_ms errors request_p50_ms request_p99_ms": a round's
 * latency includes the client's own card and protocol work between its two
 * requests, a request's is the registry's answer alone (sent to received,
 * which includes waiting for a core when the client shares the machine).
 * The cards are key files
 * (software tokens), so that the registry, not the card, is the bottleneck.
 *   enroll  start (with a fresh PSN token) + finish: one enrollment
 *   reid    start + card answer + finish on the thread's own patient: one
 *           re-identification (which also rotates the fingerprint)
 * Patients are registered at the identity service before the clock starts.
 * usage: consent_load --identity URL --registry URL --cert C --key K
 *        --cacert CA --patient-card KEY --physician-card KEY
 *        [--mode enroll|reid] [--threads N] [--seconds S] [--prepare N] */
#include <jansson.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/consent/consent.h"
#include "../src/core/encode.h"
#include "../src/crypto/hybrid.h"
#include "../src/pki/pki.h"
#include "latency.h"
#include "tls_client.h"

typedef struct opts {
    const char *identity, *registry, *cert, *key, *cacert, *patient, *physician, *mode;
    int threads, prepare;
    double seconds;
    mr_token *pcard, *dcard;
    mr_hybrid_to reg; /* the registry's consent key (its EVP_PKEY is ours) */
    bench_url iu, ru;
    SSL_CTX *tls;
} opts;

typedef struct worker {
    const opts *o;
    int id;
    bench_conn identity, registry;
    json_t *tokens; /* prepared [{internal_id, psn_token}] */
    lat_log lat, req; /* whole rounds; the registry's requests during the run */
    int timing;       /* in the timed run: log each request's latency */
    long errors;
} worker;

/* One request on one of the worker's connections (w->identity or
 * w->registry); the reply as JSON if 2xx. */
static json_t *call(worker *w, bench_conn *c, const char *path, json_t *body)
{
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int status = 0;
    double t0 = lat_now();
    int rc = bench_conn_call(c, b ? "POST" : "GET", path, b, &status);
    if (w->timing && rc == 0)
        lat_add(&w->req, lat_now() - t0);
    free(b);
    if (rc != 0 || status < 200 || status >= 300) {
        if (w->errors++ < 3)
            fprintf(stderr, "consent_load: %s: %d %s\n", path, status, rc != 0 ? "connection failed" : c->body);
        return NULL;
    }
    return json_loadb(c->body ? c->body : "", c->len, 0, NULL);
}

/* One whole round (kind enroll or consent); 0 on success. */
static int round_trip(worker *w, const char *kind, const char *iid, const char *token, const char *pem)
{
    const opts *o = w->o;
    int answering = !strcmp(kind, "consent"), ok = 0;
    uint8_t sid[16], spk[32], nonce[32], k[32], td[32], *m = NULL;
    size_t ml = 0;
    mr_fingerprint_msg fm;
    memset(&fm, 0, sizeof fm);
    json_t *body = json_pack("{s:s,s:s,s:s}", "module", "hip", "kind", kind, "internal_id", iid);
    if (token)
        json_object_set_new(body, "psn_token", json_string(token));
    json_t *st = call(w, &w->registry, "/v1/consent/sessions", body), *done = NULL;
    json_decref(body);
    body = NULL;
    if (st == NULL || !mr_unhex_exact(json_string_value(json_object_get(st, "session")), sid, 16) ||
        !mr_unhex_exact(json_string_value(json_object_get(st, "server_public")), spk, 32) ||
        (answering && !mr_unhex_exact(json_string_value(json_object_get(st, "nonce")), nonce, 32)))
        goto out;
    if (answering) {
        json_t *cand = json_array_get(json_object_get(st, "candidates"), 0);
        const char *e = json_string_value(json_object_get(cand, "k2"));
        uint8_t k2[MR_HYBRID_MAX];
        size_t kl = 0;
        if (e == NULL ||
            !mr_unbase64(e, strlen(e), k2, sizeof k2, &kl) ||
            mr_consent_client_open(o->pcard, k2, kl, k) != MEDREG_OK)
            goto out;
    }
    mr_consent_terms_digest("grant;exclude=;days=30", td);
    if (mr_consent_client_fingerprint(o->pcard, o->dcard, &o->reg, sid,
                                      answering ? MR_PURPOSE_ROTATE : MR_PURPOSE_ENROLL, spk, "hip",
                                      json_string_value(json_object_get(st, "internal_id")), answering ? td : NULL,
                                      &fm) != MEDREG_OK)
        goto out;
    char cpk[65], *k3 = mr_base64(fm.k3, fm.k3_len), *sig = mr_base64(fm.physician_sig, fm.physician_sig_len), *ans = NULL;
    sodium_bin2hex(cpk, sizeof cpk, fm.client_pk, 32);
    body = json_pack("{s:{s:s,s:s,s:s,s:i,s:s}}", "fingerprint", "client_public", cpk, "k3", k3, "card_cert", pem,
                     "sig_alg", (int)fm.physician_alg, "signature", sig);
    if (answering) {
        if (mr_consent_client_answer(&o->reg, sid, k, nonce, td, &m, &ml) == MEDREG_OK &&
            (ans = mr_base64(m, ml)) != NULL) {
            json_object_set_new(body, "answer", json_string(ans));
            json_object_set_new(body, "terms", json_pack("{s:[],s:i}", "exclude", "days", 30));
        }
    }
    free(k3);
    free(sig);
    free(ans);
    char path[96];
    snprintf(path, sizeof path, "/v1/consent/sessions/%s", json_string_value(json_object_get(st, "session")));
    done = call(w, &w->registry, path, body);
    ok = done != NULL;
out:
    mr_fingerprint_msg_clear(&fm);
    free(m);
    json_decref(st);
    json_decref(done);
    json_decref(body);
    return ok ? 0 : -1;
}

static void *run(void *arg)
{
    worker *w = arg;
    const opts *o = w->o;
    char *pem = mr_cert_pem(mr_token_cert(o->dcard));
    size_t next = 0;
    const char *own = NULL;
    if (!strcmp(o->mode, "reid")) {
        /* the thread's own patient, enrolled before the clock starts */
        json_t *p = json_array_get(w->tokens, next++);
        own = json_string_value(json_object_get(p, "internal_id"));
        if (round_trip(w, "enroll", own, json_string_value(json_object_get(p, "psn_token")), pem) != 0)
            own = NULL;
    }
    double end = lat_now() + o->seconds;
    w->timing = 1;
    while (lat_now() < end) {
        double t0 = lat_now();
        int rc;
        if (own) {
            rc = round_trip(w, "consent", own, NULL, pem);
        } else {
            json_t *p = json_array_get(w->tokens, next++);
            if (p == NULL)
                break; /* out of prepared patients */
            rc = round_trip(w, "enroll", json_string_value(json_object_get(p, "internal_id")),
                            json_string_value(json_object_get(p, "psn_token")), pem);
        }
        if (rc != 0)
            continue;
        lat_add(&w->lat, lat_now() - t0);
    }
    free(pem);
    return NULL;
}

static mr_token *card(const char *path)
{
    mr_token_spec ts = {.key = path};
    mr_token *t = NULL;
    char *err = NULL;
    if (mr_token_open(&ts, &t, &err) != MEDREG_OK)
        fprintf(stderr, "consent_load: %s: %s\n", path, err ? err : "cannot open");
    free(err);
    return t;
}

int main(int argc, char **argv)
{
    opts o = {.threads = 1, .seconds = 3, .prepare = 300, .mode = "enroll"};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--identity")) o.identity = v;
        else if (!strcmp(a, "--registry")) o.registry = v;
        else if (!strcmp(a, "--cert")) o.cert = v;
        else if (!strcmp(a, "--key")) o.key = v;
        else if (!strcmp(a, "--cacert")) o.cacert = v;
        else if (!strcmp(a, "--patient-card")) o.patient = v;
        else if (!strcmp(a, "--physician-card")) o.physician = v;
        else if (!strcmp(a, "--mode")) o.mode = v;
        else if (!strcmp(a, "--threads")) o.threads = (int)strtol(v, NULL, 10);
        else if (!strcmp(a, "--seconds")) o.seconds = atof(v);
        else if (!strcmp(a, "--prepare")) o.prepare = (int)strtol(v, NULL, 10);
    }
    if (!o.identity || !o.registry || !o.cert || !o.key || !o.cacert || !o.patient || !o.physician ||
        o.threads < 1 || o.threads > 256 || o.prepare < 1 || o.prepare > 1000 || sodium_init() < 0) {
        fprintf(stderr, "usage: consent_load --identity U --registry U --cert C --key K --cacert CA "
                        "--patient-card KEY --physician-card KEY [--mode enroll|reid] [--threads N] "
                        "[--seconds S] [--prepare N]\n");
        return 2;
    }
    if (bench_url_parse(o.identity, &o.iu) != 0 || bench_url_parse(o.registry, &o.ru) != 0) {
        fprintf(stderr, "consent_load: cannot use --identity %s or --registry %s\n", o.identity, o.registry);
        return 2;
    }
    int rc = 1;
    worker *w = calloc((size_t)o.threads, sizeof *w);
    pthread_t *t = calloc((size_t)o.threads, sizeof *t);
    lat_log **logs = calloc((size_t)o.threads, sizeof *logs), **req_logs = calloc((size_t)o.threads, sizeof *req_logs);
    if (w == NULL || t == NULL || logs == NULL || req_logs == NULL || (o.tls = bench_tls_context(o.cert, o.key, o.cacert)) == NULL ||
        (o.pcard = card(o.patient)) == NULL || (o.dcard = card(o.physician)) == NULL)
        goto out;
    for (int i = 0; i < o.threads; i++) {
        w[i].o = &o;
        w[i].id = i;
        bench_conn_init(&w[i].identity, &o.iu, o.tls);
        bench_conn_init(&w[i].registry, &o.ru, o.tls);
    }
    /* the registry's consent key, and patients for every thread */
    json_t *key = call(&w[0], &w[0].registry, "/v1/consent/key", NULL);
    const char *pem = json_string_value(json_object_get(key, "cert"));
    X509 *crt = pem ? mr_cert_from_pem(pem, strlen(pem)) : NULL;
    EVP_PKEY *reg = crt ? X509_get_pubkey(crt) : NULL;
    const char *oaep = json_string_value(json_object_get(key, "oaep"));
    X509_free(crt);
    if (reg == NULL || mr_hybrid_to_key(reg, oaep && !strcmp(oaep, "sha256") ? MR_OAEP_SHA256 : MR_OAEP_SHA1,
                                        &o.reg) != MEDREG_OK) {
        if (o.reg.key != reg) /* else freed below */
            EVP_PKEY_free(reg);
        json_decref(key);
        goto out;
    }
    json_decref(key);
    int per = !strcmp(o.mode, "reid") ? 1 : o.prepare;
    uint8_t run_id[4];
    randombytes_buf(run_id, sizeof run_id);
    for (int i = 0; i < o.threads; i++) {
        w[i].tokens = json_array();
        for (int from = 0; from < per; from += 400) { /* a batch stays under the body limit */
            json_t *pats = json_array();
            for (int p = from; p < per && p < from + 400; p++) {
                char given[48];
                snprintf(given, sizeof given, "G%02x%02x%02x%02xt%dp%d", run_id[0], run_id[1], run_id[2], run_id[3],
                         i, p);
                json_array_append_new(pats, json_pack("{s:s,s:s,s:s}", "family_name", "Consentbench", "given_name",
                                                      given, "birth_date", "1970-01-01"));
            }
            json_t *body = json_pack("{s:s,s:o}", "module", "hip", "patients", pats);
            json_t *r = call(&w[i], &w[i].identity, "/v1/patients/batch", body);
            json_decref(body);
            if (r == NULL)
                goto out;
            json_array_extend(w[i].tokens, json_object_get(r, "results"));
            json_decref(r);
        }
    }
    double t0 = lat_now();
    for (int i = 0; i < o.threads; i++)
        pthread_create(&t[i], NULL, run, &w[i]);
    long errors = 0;
    size_t rounds = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(t[i], NULL);
        errors += w[i].errors;
        rounds += w[i].lat.n;
        logs[i] = &w[i].lat;
        req_logs[i] = &w[i].req;
    }
    double elapsed = lat_now() - t0, p50, p99, rq50, rq99;
    lat_percentiles(logs, (size_t)o.threads, &p50, &p99);
    lat_percentiles(req_logs, (size_t)o.threads, &rq50, &rq99);
    printf("%.0f %.2f %.2f %ld %.2f %.2f\n", (double)rounds / elapsed, p50, p99, errors, rq50, rq99);
    rc = 0;
out:
    for (int i = 0; w && i < o.threads; i++) {
        bench_conn_free(&w[i].identity);
        bench_conn_free(&w[i].registry);
        json_decref(w[i].tokens);
        if (rc != 0) { /* else lat_percentiles freed them */
            free(w[i].lat.v);
            free(w[i].req.v);
        }
    }
    EVP_PKEY_free(o.reg.key);
    mr_token_close(o.pcard);
    mr_token_close(o.dcard);
    SSL_CTX_free(o.tls);
    free(logs);
    free(req_logs);
    free(t);
    free(w);
    return rc;
}
