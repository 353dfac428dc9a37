/* The identity service's and the registry's events, shipped to the ledger
 * (docs/ledger.md). The events table is an outbox: every event, once
 * durable, becomes one ledger entry, and leaves the table in the same
 * transaction that records its ledger index (ledger_shipped). Nothing is
 * lost while the ledger is away; an event may be sent twice after a crash
 * between the ledger's answer and our commit.
 *
 *   {"v":1,"type":ACTION,"module":M,"time":T,"actor":A,"subject":S,"details":D}
 *
 *   A = hex HMAC-SHA256(handle key, "actor" ‖ fingerprint)[:16]   an opaque actor
 *   S = hex HMAC-SHA256(handle key, "patient" ‖ module ‖ subject)[:16]  about a patient
 *     = hex HMAC-SHA256(handle key, "subject" ‖ module ‖ target)[:16]   otherwise
 *   D = base64(nonce ‖ XChaCha20-Poly1305(subject key, {actor, outcome, target, detail}, AAD S))
 *
 * The subject key is random, one per subject handle, kept in event_keys:
 * deleting it erases that subject's details while every checkpoint stays
 * verifiable. The ledger and its readers see no identifier, only which
 * kind of event happened, in which module, when, and which opaque actor
 * and subject handles recur. */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "service.h"

static void handle(const uint8_t key[32], const char *kind, const char *a, const char *b, char out[33],
                   uint8_t raw[16])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[32], z = 0;
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)a, strlen(a));
    crypto_auth_hmacsha256_update(&st, &z, 1);
    if (b)
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)b, strlen(b));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 33, mac, 16);
    if (raw)
        memcpy(raw, mac, 16);
    mr_wipe(&st, sizeof st);
}

/* the subject's key, made on first use (by whichever of the shipper and a
 * patient's audit session comes first: the loser of a race reads the
 * winner's key) */
static medreg_err subject_key(mr_conn *c, const uint8_t h[16], uint8_t key[32])
{
    mr_rows *r = NULL;
    mr_param q[1] = {MR_BLOB(h, 16)};
    medreg_err rc = MEDREG_OK;
    for (int round = 0; round < 2 && rc == MEDREG_OK; round++) {
        mr_rows_free(r);
        r = NULL;
        if ((rc = mr_conn_exec(c, "SELECT key FROM event_keys WHERE handle = $1", q, 1, &r)) != MEDREG_OK)
            break;
        if (mr_rows_count(r) == 1) {
            size_t kl = 0;
            const uint8_t *k = mr_rows_blob(r, 0, 0, &kl);
            if (kl == 32)
                memcpy(key, k, 32);
            else
                rc = MEDREG_ERR_DB;
            break;
        }
        if (round == 1) {
            rc = MEDREG_ERR_DB;
            break;
        }
        uint8_t fresh[32];
        randombytes_buf(fresh, sizeof fresh);
        mr_param p[3] = {MR_BLOB(h, 16), MR_BLOB(fresh, 32), MR_INT(time(NULL))};
        rc = mr_conn_exec(c, "INSERT INTO event_keys (handle, key, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                          p, 3, NULL);
        mr_wipe(fresh, sizeof fresh);
    }
    mr_rows_free(r);
    return rc;
}

medreg_err mr_events_patient(mr_service *s, mr_conn *c, const char *module, const char *subject, char handle_hex[33],
                             uint8_t key[32])
{
    uint8_t raw[16];
    handle(s->events_key, "patient", module, subject, handle_hex, raw);
    return subject_key(c, raw, key);
}

medreg_err mr_events_as_of(mr_conn *c, int64_t *as_of)
{
    mr_rows *r = NULL;
    medreg_err rc = mr_conn_exec(c, "SELECT COALESCE(MAX(idx), -1) FROM ledger_shipped", NULL, 0, &r);
    *as_of = rc == MEDREG_OK ? mr_rows_int(r, 0, 0) : -1;
    mr_rows_free(r);
    return rc;
}

medreg_err mr_events_patient_source(mr_service *s, mr_conn *c, const char *module, const char *subject,
                                    int64_t as_of, json_t **out)
{
    mr_rows *r = NULL;
    char handle_hex[33], *k64 = NULL;
    uint8_t key[32];
    json_t *idx = json_array();
    medreg_err rc = MEDREG_OK;
    mr_param p[3] = {MR_TEXT(module), MR_TEXT(subject), MR_INT(as_of)};
    *out = NULL;
    ENSURE(idx != NULL, MEDREG_ERR_NOMEM);
    TRY(mr_events_patient(s, c, module, subject, handle_hex, key));
    ENSURE((k64 = mr_base64(key, sizeof key)) != NULL, MEDREG_ERR_NOMEM);
    TRY(mr_conn_exec(c,
                     "SELECT idx FROM ledger_shipped WHERE module = $1 AND subject = $2 AND idx <= $3"
                     " ORDER BY idx LIMIT 100000",
                     p, 3, &r));
    for (size_t i = 0; i < mr_rows_count(r); i++)
        json_array_append_new(idx, json_integer(mr_rows_int(r, i, 0)));
    *out = json_pack("{s:s,s:s,s:o}", "handle", handle_hex, "key", k64, "indices", idx);
    idx = NULL;
    ENSURE(*out != NULL, MEDREG_ERR_NOMEM);
out:
    mr_wipe(key, sizeof key);
    if (k64) {
        mr_wipe(k64, strlen(k64));
        free(k64);
    }
    json_decref(idx);
    mr_rows_free(r);
    return rc;
}

/* An event's handles: the opaque actor, the subject (hex) and the
 * subject's raw handle, which names its key. */
typedef struct event_handles {
    char actor[33], subject[33];
    uint8_t sh[16];
} event_handles;

static void event_handles_of(const mr_service *s, const mr_rows *r, size_t i, event_handles *h)
{
    const char *module = mr_rows_text(r, i, 4), *target = mr_rows_text(r, i, 5), *patient = mr_rows_text(r, i, 8);
    handle(s->events_key, "actor", mr_rows_text(r, i, 2), NULL, h->actor, NULL);
    if (*patient)
        handle(s->events_key, "patient", module, patient, h->subject, h->sh);
    else
        handle(s->events_key, "subject", module, target, h->subject, h->sh);
}

/* The ledger entry of event row i, its details sealed with the subject's key. */
static char *event_json(const mr_rows *r, size_t i, const event_handles *h, const uint8_t key[32])
{
    char *details = NULL, *out = NULL;
    uint8_t *ct = NULL;
    json_t *plain = json_pack("{s:s,s:s,s:s,s:s}", "actor", mr_rows_text(r, i, 2), "outcome", mr_rows_text(r, i, 6),
                              "target", mr_rows_text(r, i, 5), "detail", mr_rows_text(r, i, 7));
    char *pt = plain ? json_dumps(plain, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(plain);
    size_t pl = pt ? strlen(pt) : 0;
    const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (pt && (ct = malloc(nb + pl + crypto_aead_xchacha20poly1305_ietf_ABYTES)) != NULL) {
        unsigned long long cl = 0;
        randombytes_buf(ct, nb);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ct + nb, &cl, (const uint8_t *)pt, pl,
                                                   (const uint8_t *)h->subject, 32, NULL, ct, key);
        details = mr_base64(ct, nb + (size_t)cl);
    }
    if (details) {
        json_t *e = json_pack("{s:i,s:s,s:s,s:I,s:s,s:s,s:s}", "v", 1, "type", mr_rows_text(r, i, 3), "module",
                              mr_rows_text(r, i, 4), "time", (json_int_t)mr_rows_int(r, i, 1), "actor", h->actor,
                              "subject", h->subject, "details", details);
        out = e ? json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(e);
    }
    if (pt) {
        mr_wipe(pt, pl);
        free(pt);
    }
    free(ct);
    free(details);
    return out;
}

/* POST the entries; their indices into idx (n of them) */
static medreg_err post(mr_service *s, json_t *entries, size_t n, int64_t *idx)
{
    char url[600], *payload = NULL, *reply = NULL;
    size_t reply_len = 0;
    long status = 0;
    medreg_err rc = MEDREG_ERR_NET;
    json_t *req = json_pack("{s:O}", "entries", entries), *j = NULL;
    payload = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (payload == NULL)
        goto out;
    snprintf(url, sizeof url, "%s/v1/ledger/entries", s->cfg->events_ledger);
    status = mr_service_post(s, url, "application/json", payload, 1u << 20, 10000, &reply, &reply_len);
    if (status == 413) {
        rc = MEDREG_ERR_TOOBIG;
        goto out;
    }
    if (status != 200 || (j = json_loadb(reply, reply_len, 0, NULL)) == NULL)
        goto out;
    json_t *ix = json_object_get(j, "indices");
    if (json_array_size(ix) != n)
        goto out;
    for (size_t i = 0; i < n; i++) { /* the entries' places, in order: anything else is no answer */
        json_t *v = json_array_get(ix, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (i > 0 && json_integer_value(v) <= idx[i - 1]))
            goto out;
        idx[i] = json_integer_value(v);
    }
    rc = MEDREG_OK;
out:
    if (rc != MEDREG_OK)
        fprintf(stderr, "medregd: events: the ledger at %s did not take %zu events (HTTP %ld); %s\n",
                s->cfg->events_ledger, n, status, rc == MEDREG_ERR_TOOBIG ? "sending fewer at a time" : "retrying");
    json_decref(j);
    free(reply);
    free(payload);
    return rc;
}

/* A round's writes go through the group commit, beside the requests' (in
 * transactions of their own they held the writer between the requests'
 * commits, and shipping cost registrations a third of their rate); the
 * sealing and the ledger's round trip happen outside any transaction. */
typedef struct keys_unit {
    const event_handles *h;
    uint8_t (*key)[32];
    size_t n;
} keys_unit;

static medreg_err keys_run(mr_conn *c, void *arg)
{
    const keys_unit *u = arg;
    medreg_err rc = MEDREG_OK;
    for (size_t i = 0; i < u->n && rc == MEDREG_OK; i++)
        rc = subject_key(c, u->h[i].sh, u->key[i]);
    return rc;
}

typedef struct shipped_unit {
    const mr_rows *r;
    const int64_t *idx;
    size_t n;
    int64_t now;
} shipped_unit;

static medreg_err shipped_run(mr_conn *c, void *arg)
{
    const shipped_unit *u = arg;
    medreg_err rc = MEDREG_OK;
    for (size_t i = 0; i < u->n && rc == MEDREG_OK; i++) {
        mr_param q[5] = {MR_INT(mr_rows_int(u->r, i, 0)), MR_INT(u->idx[i]), MR_INT(u->now),
                         MR_TEXT(mr_rows_text(u->r, i, 4)), MR_TEXT(mr_rows_text(u->r, i, 8))};
        rc = mr_conn_exec(c, "INSERT INTO ledger_shipped (seq, idx, at, module, subject) VALUES ($1, $2, $3, $4, $5)",
                          q, 5, NULL);
        if (rc == MEDREG_OK) /* the ledger holds it now: it leaves the outbox */
            rc = mr_conn_exec(c, "DELETE FROM events WHERE seq = $1", q, 1, NULL);
    }
    return rc;
}

/* one round: the oldest events of the outbox, to the ledger; *shipped */
medreg_err mr_events_ship(mr_service *s, size_t max, size_t *shipped)
{
    mr_conn *c = NULL;
    mr_rows *r = NULL;
    json_t *entries = json_array();
    event_handles *h = NULL;
    uint8_t(*key)[32] = NULL;
    int64_t *idx = NULL;
    size_t n = 0;
    medreg_err rc;
    *shipped = 0;
    if (entries == NULL)
        return MEDREG_ERR_NOMEM;
    if ((rc = mr_db_acquire(s->db, &c)) != MEDREG_OK)
        goto out;
    mr_param p[1] = {MR_INT((int64_t)max)};
    rc = mr_conn_exec(c,
                      "SELECT seq, at, actor, action, module, target, outcome, detail, subject FROM events"
                      " ORDER BY seq LIMIT $1 /* scan: the oldest first, LIMIT rows */",
                      p, 1, &r);
    mr_db_release(s->db, c);
    if (rc != MEDREG_OK || (n = mr_rows_count(r)) == 0)
        goto out;
    h = calloc(n, sizeof *h);
    key = calloc(n, sizeof *key);
    idx = calloc(n, sizeof *idx);
    if (h == NULL || key == NULL || idx == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        event_handles_of(s, r, i, &h[i]);
    /* the subject keys first: they must be durable before their ciphertexts leave */
    keys_unit ku = {h, key, n};
    if ((rc = mr_group_commit_run(s->commits, keys_run, &ku)) != MEDREG_OK)
        goto out;
    for (size_t i = 0; i < n && rc == MEDREG_OK; i++) {
        char *e = event_json(r, i, &h[i], key[i]);
        char *b = e ? mr_base64((const uint8_t *)e, strlen(e)) : NULL;
        rc = b && json_array_append_new(entries, json_string(b)) == 0 ? MEDREG_OK : MEDREG_ERR_NOMEM;
        free(e);
        free(b);
    }
    if (rc != MEDREG_OK || (rc = post(s, entries, n, idx)) != MEDREG_OK)
        goto out;
    shipped_unit su = {r, idx, n, (int64_t)time(NULL)};
    if ((rc = mr_group_commit_run(s->commits, shipped_run, &su)) == MEDREG_OK)
        *shipped = n;
out:
    if (key)
        mr_wipe(key, n * sizeof *key);
    free(key);
    free(h);
    free(idx);
    json_decref(entries);
    mr_rows_free(r);
    return rc;
}
