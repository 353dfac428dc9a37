/* A witness (C2SP tlog-witness): POST /add-checkpoint with "old N", a
 * consistency proof and a checkpoint. The witness cosigns (C2SP
 * tlog-cosignature) only a checkpoint signed by a log it follows and
 * consistent with the last one it cosigned for that log; the check and the
 * update are one atomic step (a group-commit unit), so two racing
 * requests can never roll its view back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/encode.h"
#include "../ledger/note.h"
#include "../ledger/tlog_io.h"
#include "service.h"

typedef struct witness_unit {
    const mr_checkpoint *cp;
    const char *note;
    uint64_t old;
    const mr_hash *proof;
    size_t n;
    int status;          /* the HTTP answer when not 200 */
    uint64_t stored;     /* for 409 */
} witness_unit;

static medreg_err witness_run(mr_conn *c, void *arg)
{
    witness_unit *u = arg;
    mr_rows *r = NULL;
    uint64_t size = 0;
    mr_hash root;
    mr_param q[1] = {MR_TEXT(u->cp->origin)};
    medreg_err rc = mr_conn_exec(c, "SELECT size, root FROM witness_state WHERE origin = $1", q, 1, &r);
    if (rc != MEDREG_OK)
        return rc;
    int known = mr_rows_count(r) == 1;
    if (known) {
        size_t rl = 0;
        const uint8_t *rb = mr_rows_blob(r, 0, 1, &rl);
        size = (uint64_t)mr_rows_int(r, 0, 0);
        if (rl != MR_HASH_BYTES)
            rc = MEDREG_ERR_DB;
        else
            memcpy(root, rb, MR_HASH_BYTES);
    }
    mr_rows_free(r);
    if (rc != MEDREG_OK)
        return rc;
    u->stored = size;
    if (u->old != size) {
        u->status = 409; /* the client must start from what this witness cosigned */
        return MEDREG_OK;
    }
    if (known && u->old == u->cp->size && memcmp(root, u->cp->root, MR_HASH_BYTES) != 0) {
        u->status = 409; /* same size, another root: a fork */
        return MEDREG_OK;
    }
    if (known && u->old < u->cp->size &&
        mr_merkle_verify_consistency(u->old, u->cp->size, u->proof, u->n, root, u->cp->root) != MEDREG_OK) {
        u->status = 422;
        return MEDREG_OK;
    }
    if (!known && u->n != 0) {
        u->status = 422; /* from zero, the proof is empty */
        return MEDREG_OK;
    }
    mr_param p[5] = {MR_TEXT(u->cp->origin), MR_INT(u->cp->size), MR_BLOB(u->cp->root, MR_HASH_BYTES),
                     MR_TEXT(u->note), MR_INT(time(NULL))};
    if (known)
        rc = mr_conn_exec(c, "UPDATE witness_state SET size = $2, root = $3, note = $4, at = $5 WHERE origin = $1", p,
                          5, NULL);
    else
        rc = mr_conn_exec(c, "INSERT INTO witness_state (origin, size, root, note, at) VALUES ($1, $2, $3, $4, $5)",
                          p, 5, NULL);
    if (rc == MEDREG_OK)
        u->status = 200;
    return rc;
}

static void text(mr_response *resp, int status, const char *type, char *body)
{
    resp->status = status;
    resp->body = body;
    resp->len = body ? strlen(body) : 0;
    resp->content_type = type;
}

static void add_checkpoint(mr_service *s, mr_request *req, mr_response *resp)
{
    const char *b = (const char *)req->body, *p = NULL;
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0, tl = 0, note_len = 0;
    uint64_t old = 0;
    mr_checkpoint cp;
    char *line = NULL;
    int verified[MR_MAX_WITNESSES] = {0};

    if (mr_witness_request_parse(b, req->body_len, &old, proof, &n, &p, &note_len) != MEDREG_OK)
        goto bad;
    int known = -1;
    for (size_t i = 0; i < s->witness_n_logs; i++) {
        size_t ol = strlen(s->witness_logs[i].name);
        if (note_len > ol && memcmp(p, s->witness_logs[i].name, ol) == 0 && p[ol] == '\n')
            known = (int)i;
    }
    if (known < 0) {
        mr_resp_error(resp, 404, "unknown_log", "this witness does not follow that log");
        return;
    }
    /* one verifier: the note opens only when the log's key signed it */
    if (mr_note_open(p, note_len, &s->witness_logs[known], 1, &tl, verified) != MEDREG_OK) {
        mr_resp_error(resp, 403, "forbidden", "the checkpoint is not signed by the log's key");
        return;
    }
    /* its origin, the first line, is the log's name (matched above) */
    if (mr_checkpoint_parse(p, tl, &cp) != MEDREG_OK)
        goto bad;
    if (old > cp.size) {
        mr_resp_error(resp, 400, "bad_request", "old size above the checkpoint's size");
        return;
    }
    /* the body is not NUL-terminated: copy by length */
    char *note = malloc(note_len + 1);
    if (note) {
        memcpy(note, p, note_len);
        note[note_len] = 0;
    }
    witness_unit u = {&cp, note, old, (const mr_hash *)proof, n, 0, 0};
    medreg_err rc = note ? mr_group_commit_run(s->commits, witness_run, &u) : MEDREG_ERR_NOMEM;
    free(note);
    if (rc != MEDREG_OK) {
        mr_resp_db_error(resp, rc);
        return;
    }
    if (u.status == 409) {
        char *body = NULL;
        if (asprintf(&body, "%" PRIu64 "\n", u.stored) < 0)
            body = NULL;
        text(resp, 409, "text/x.tlog.size", body);
        return;
    }
    if (u.status == 422) {
        mr_resp_error(resp, 422, "inconsistent", "the consistency proof does not verify");
        return;
    }
    /* persisted: now the cosignature */
    if (mr_note_cosign(p, tl, s->witness, (uint64_t)time(NULL), &line) != MEDREG_OK) {
        mr_resp_error(resp, 500, "internal", "could not cosign");
        return;
    }
    text(resp, 200, "text/plain; charset=utf-8", line);
    return;
bad:
    mr_resp_error(resp, 400, "bad_request", "the body must be 'old N', proof lines, an empty line, a checkpoint");
}

static const mr_route ROUTES[] = {
    {"POST", "/add-checkpoint", add_checkpoint, "add_checkpoint"},
};

const mr_route *mr_witness_routes(size_t *n)
{
    *n = sizeof ROUTES / sizeof ROUTES[0];
    return ROUTES;
}
