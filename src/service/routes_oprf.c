/* Network-wide PSNs (seed 002; docs/pseudonyms.md): the identity service
 * evaluates the RFC 9497 VOPRF of blinded PSN messages for hospitals'
 * offline tools. It never sees an identifier, only ristretto255 elements,
 * and proves for every batch that it used the module's published key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../crypto/oprf.h"
#include "service.h"

/* A batch of 1024 elements in base64 is about 48 KiB: within the default
 * request limit, and one proof amortises over many elements. */
#define OPRF_BATCH_MAX 1024

static const mr_module *path_module(mr_service *s, mr_request *req, mr_response *resp, size_t *mi)
{
    const mr_module *m = mr_service_module(s, req->params[0], mi);
    if (m == NULL)
        mr_resp_error(resp, 404, "not_found", "no module '%.64s'", req->params[0]);
    return m;
}


/* GET /v1/oprf/{module}: the public key clients pin. Public, but only to
 * callers the service knows. */
void mr_oprf_key_route(mr_service *s, mr_request *req, mr_response *resp)
{
    size_t mi = 0;
    const mr_module *m = path_module(s, req, resp, &mi);
    if (m == NULL || !mr_require_role(s, req, resp, "oprf_key", "pseudonymizer", m->name, "admin"))
        return;
    mr_resp_json(resp, 200,
                 json_pack("{s:s,s:I,s:s,s:s,s:o,s:i}", "module", m->name, "key_id", (json_int_t)m->key_id, "suite",
                           "ristretto255-SHA512", "mode", "VOPRF", "public_key", mr_json_base64(s->oprf_pk[mi], 32),
                           "batch_max", OPRF_BATCH_MAX));
}

/* A batch on its way through a compute thread: 1,024 evaluations and
 * their proof are about 120 ms of CPU, which on an HTTP thread held up
 * every other connection it serves (two clients' batches on one thread ran
 * one after the other: half the rate, in one benchmark run out of two). */
typedef struct oprf_batch {
    size_t mi, n, bad;
    uint8_t (*in)[32], (*ev)[32], proof[MR_OPRF_PROOF_BYTES];
    medreg_err rc;
} oprf_batch;

static void oprf_batch_free(void *state)
{
    oprf_batch *b = state;
    if (b == NULL)
        return;
    free(b->in);
    free(b->ev);
    free(b);
}

static void oprf_batch_evaluate(mr_service *s, void *state)
{
    oprf_batch *b = state;
    b->rc = mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, s->oprf_sk[b->mi], s->oprf_pk[b->mi],
                             (const uint8_t(*)[32])b->in, b->n, b->ev, NULL, b->proof, &b->bad);
}

static void oprf_batch_answer(mr_service *s, mr_request *req, mr_response *resp, medreg_err rc, void *state)
{
    oprf_batch *b = state;
    const mr_module *m = s->modules[b->mi];
    json_t *out = NULL;
    char detail[64];
    (void)rc; /* compute work always completes */
    if (b->rc != MEDREG_OK) {
        mr_resp_error(resp, 400, "invalid_field", "blinded[%zu] is not a ristretto255 element", b->bad);
        return;
    }
    if ((out = json_array()) == NULL)
        goto nomem;
    for (size_t i = 0; i < b->n; i++)
        if (json_array_append_new(out, mr_json_base64(b->ev[i], 32)) != 0)
            goto nomem;
    mr_resp_json(resp, 200,
                 json_pack("{s:s,s:I,s:O,s:o}", "module", m->name, "key_id", (json_int_t)m->key_id, "evaluated", out,
                           "proof", mr_json_base64(b->proof, sizeof b->proof)));
    json_decref(out);
    /* who evaluated how many, never what */
    snprintf(detail, sizeof detail, "%zu elements", b->n);
    mr_resp_after_audit(resp, "", req->caller.fpr, "oprf_evaluate", m->name, "", "ok", detail);
    return;
nomem:
    json_decref(out);
    mr_resp_error(resp, 500, "internal", "out of memory");
}

/* POST /v1/oprf/{module}/evaluate {"key_id": n, "blinded": [base64, …]} */
void mr_oprf_evaluate_route(mr_service *s, mr_request *req, mr_response *resp)
{
    static const char *const allowed[] = {"key_id", "blinded", NULL};
    json_t *j = NULL, *arr, *item;
    size_t mi = 0, n, i;
    oprf_batch *b = NULL;
    const mr_module *m = path_module(s, req, resp, &mi);

    if (m == NULL || !mr_require_role(s, req, resp, "oprf_evaluate", "pseudonymizer", m->name, NULL))
        return;
    if ((j = mr_req_json(req, resp, allowed)) == NULL)
        return;
    json_t *kid = json_object_get(j, "key_id");
    if (!json_is_integer(kid) || json_integer_value(kid) != (json_int_t)m->key_id) {
        mr_resp_error(resp, 409, "key_id_mismatch", "module '%s' evaluates with key_id %u", m->name,
                      (unsigned)m->key_id);
        goto out;
    }
    arr = json_object_get(j, "blinded");
    n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0 || n > OPRF_BATCH_MAX) {
        mr_resp_error(resp, 400, "invalid_field", "field 'blinded' must be an array of 1..%d elements",
                      OPRF_BATCH_MAX);
        goto out;
    }
    if ((b = calloc(1, sizeof *b)) == NULL || (b->in = calloc(n, sizeof *b->in)) == NULL ||
        (b->ev = calloc(n, sizeof *b->ev)) == NULL) {
        mr_resp_error(resp, 500, "internal", "out of memory");
        goto out;
    }
    b->mi = mi;
    b->n = n;
    json_array_foreach(arr, i, item) {
        size_t got = 0;
        if (!json_is_string(item) ||
            !mr_unbase64(json_string_value(item), json_string_length(item), b->in[i], 32, &got) || got != 32) {
            mr_resp_error(resp, 400, "invalid_field", "blinded[%zu] must be 32 bytes in base64", i);
            goto out;
        }
    }
    mr_resp_compute(resp, oprf_batch_evaluate, oprf_batch_answer, b, oprf_batch_free);
    b = NULL;
out:
    oprf_batch_free(b);
    json_decref(j);
}
