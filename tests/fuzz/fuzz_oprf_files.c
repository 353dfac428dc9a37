/* The files and answers of a network-wide run (oprf_files.h), which arrive
 * from other machines: the first byte chooses the parser (pin file, the
 * service's key, request, response, the service's answer to a batch of
 * 1 to 4, state), the rest is the text. None may crash or leak, each
 * refusal says why, and what one accepts is within its bounds and reads
 * back the same once written again. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/secret.h"
#include "../../src/deid/oprf_files.h"
#include "../unit/deid/oprf_batch_same.h"

/* a response's walk: each batch is where the walk says its text is */
typedef struct placed {
    const char *text;
    size_t batches;
} placed;

static medreg_err batch_in_place(void *ctx, size_t index, const mr_oprf_batch *b, uint64_t offset, size_t len)
{
    placed *p = ctx;
    if (!batch_same_at(p->text, index, b, offset, len))
        abort();
    p->batches++;
    return MEDREG_OK;
}

/* the pin written again (with format) parses to itself */
static void pin_round_trip(const mr_oprf_pin *pin, const char *format)
{
    json_t *j = mr_oprf_pin_json(pin, format);
    char *t = json_dumps(j, JSON_COMPACT), *err = NULL;
    mr_oprf_pin back;
    if (t == NULL || mr_oprf_pin_parse(t, strlen(t), format, &back, &err) != MEDREG_OK || !mr_oprf_pin_equal(&back, pin))
        abort();
    free(t);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        mr_json_wipe_freed(); /* as medreg does */
        ready = 1;
    }
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1, n = 0;
    char *err = NULL;
    medreg_err rc;
    mr_oprf_pin pin;

    switch (data[0] % 6) {
    case 0:
    case 1: {
        const char *format = data[0] % 6 == 0 ? MR_OPRF_FORMAT_KEY : NULL;
        rc = mr_oprf_pin_parse(text, len, format, &pin, &err);
        if (rc == MEDREG_OK)
            pin_round_trip(&pin, format);
        break;
    }
    case 2: {
        uint8_t(*blinded)[MR_OPRF_ELEMENT_BYTES] = NULL;
        rc = mr_oprf_request_parse(text, len, &pin, &blinded, &n, &err);
        if (rc == MEDREG_OK && (blinded == NULL || n > MR_OPRF_RUN_MAX))
            abort();
        if (rc == MEDREG_OK)
            pin_round_trip(&pin, MR_OPRF_FORMAT_REQUEST);
        free(blinded);
        break;
    }
    case 3: {
        mr_oprf_response *r = NULL;
        rc = mr_oprf_response_parse(text, len, &r, &err);
        if (rc == MEDREG_OK) {
            size_t total = 0;
            if (r == NULL || r->n_batches > MR_OPRF_RUN_MAX)
                abort();
            for (size_t i = 0; i < r->n_batches; i++) {
                if (r->batches[i].n == 0 || r->batches[i].n > MR_OPRF_BATCH_MAX)
                    abort();
                total += r->batches[i].n;
            }
            if (total > MR_OPRF_RUN_MAX)
                abort();
        }
        /* read a few bytes at a time, the walk agrees with the parse */
        placed pl = {text, 0};
        mr_json_memory m = {text, len, 0, (size_t)(data[0] / 6 % 7) + 1};
        mr_json_source src = {mr_json_memory_read, &m};
        char *e2 = NULL;
        mr_oprf_pin p2;
        medreg_err walked = mr_oprf_response_walk(&src, &p2, batch_in_place, &pl, &e2);
        if ((walked == MEDREG_OK) != (rc == MEDREG_OK) ||
            (rc == MEDREG_OK && (pl.batches != r->n_batches || !mr_oprf_pin_equal(&p2, &r->pin))))
            abort();
        free(e2);
        mr_oprf_response_free(r);
        break;
    }
    case 4: {
        uint8_t ev[4][MR_OPRF_ELEMENT_BYTES], proof[MR_OPRF_PROOF_BYTES];
        rc = mr_oprf_answer_parse(text, len, (size_t)(data[0] / 6 % 4) + 1, ev, proof, &err);
        break;
    }
    default: {
        mr_oprf_state *st = sodium_malloc(sizeof *st), *back = sodium_malloc(sizeof *back);
        if (st == NULL || back == NULL)
            abort();
        rc = mr_oprf_state_parse(text, len, st, &err);
        if (rc == MEDREG_OK) {
            char *t = mr_oprf_state_text(st), *e2 = NULL;
            if (t == NULL || mr_oprf_state_parse(t, strlen(t), back, &e2) != MEDREG_OK ||
                !mr_oprf_pin_equal(&back->pin, &st->pin) || memcmp(back->seed, st->seed, 32) ||
                memcmp(back->input_sha256, st->input_sha256, 32) || back->inputs != st->inputs ||
                back->ordered != st->ordered || memcmp(back->entries_sha256, st->entries_sha256, 32) ||
                memcmp(back->request_sha256, st->request_sha256, 32))
                abort();
            mr_wipe(t, strlen(t));
            free(t);
        }
        sodium_free(st);
        sodium_free(back);
        break;
    }
    }
    if ((rc == MEDREG_ERR_INVALID) != (err != NULL) || (rc != MEDREG_OK && rc != MEDREG_ERR_INVALID))
        abort(); /* a refusal says why; nothing else fails on input */
    for (const char *c = err; c && *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            abort(); /* and never with a byte a terminal would take for a command */
    free(err);
    return 0;
}
