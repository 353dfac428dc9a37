/* The VOPRF client's inputs from elsewhere, parsed whole with jansson and
 * checked before use. Every element and proof is canonical base64 of its
 * exact size (sodium's decoder refuses stray bits); the bounds keep a
 * damaged or hostile file from making the tool allocate without end. */
#include "oprf_files.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../core/secret.h"

#define SUITE "ristretto255-SHA512"

/* 0, after saying why in *err. The words may quote the file (a format,
 * jansson's "near '…'"), which goes to a terminal: every byte but printable
 * ASCII becomes '?', so that a file cannot send escape sequences. */
__attribute__((format(printf, 2, 3))) static int fail(char **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err != NULL && *err == NULL && vasprintf(err, fmt, ap) < 0)
        *err = NULL; /* the first word stands */
    va_end(ap);
    for (char *c = err ? *err : NULL; c && *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return 0;
}

/* exactly n bytes of base64 */
static int get_b64(const json_t *j, uint8_t *out, size_t n)
{
    size_t got = 0;
    return json_is_string(j) && mr_unbase64(json_string_value(j), json_string_length(j), out, n, &got) && got == n;
}

static json_t *load(const char *text, size_t len, char **err)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        fail(err, "not JSON: line %d: %s", e.line, e.text);
    else if (!json_is_object(j)) {
        fail(err, "not a JSON object");
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int format_is(const json_t *j, const char *format, char **err)
{
    const char *f = json_string_value(json_object_get(j, "format"));
    if (f != NULL && strcmp(f, format) == 0)
        return 1;
    fail(err, "not a %s file (its format is %.64s)", format, f ? f : "missing");
    return 0;
}

/* module, key_id, suite and public_key */
static int read_pin(const json_t *j, mr_oprf_pin *pin, char **err)
{
    const json_t *m = json_object_get(j, "module"), *kid = json_object_get(j, "key_id");
    const char *suite = json_string_value(json_object_get(j, "suite"));
    if (!json_is_object(j))
        return fail(err, "the key is not a JSON object");
    if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) > MR_OPRF_MODULE_MAX ||
        strlen(json_string_value(m)) != json_string_length(m))
        return fail(err, "module is not a name of 1 to %d bytes", MR_OPRF_MODULE_MAX);
    if (!json_is_integer(kid) || json_integer_value(kid) < 0 || json_integer_value(kid) > UINT32_MAX)
        return fail(err, "key_id is not an integer from 0 to %u", (unsigned)UINT32_MAX);
    if (suite == NULL || strcmp(suite, SUITE) != 0)
        return fail(err, "suite is not " SUITE);
    if (!get_b64(json_object_get(j, "public_key"), pin->pk, sizeof pin->pk))
        return fail(err, "public_key is not %d bytes of base64", MR_OPRF_ELEMENT_BYTES);
    memcpy(pin->module, json_string_value(m), json_string_length(m) + 1);
    pin->key_id = (uint32_t)json_integer_value(kid);
    return 1;
}

int mr_oprf_pin_equal(const mr_oprf_pin *a, const mr_oprf_pin *b)
{
    return strcmp(a->module, b->module) == 0 && a->key_id == b->key_id && memcmp(a->pk, b->pk, sizeof a->pk) == 0;
}

json_t *mr_oprf_pin_json(const mr_oprf_pin *pin, const char *format)
{
    json_t *pk = mr_json_base64(pin->pk, sizeof pin->pk);
    if (format == NULL)
        return json_pack("{s:s,s:I,s:s,s:o}", "module", pin->module, "key_id", (json_int_t)pin->key_id, "suite",
                         SUITE, "public_key", pk);
    return json_pack("{s:s,s:s,s:I,s:s,s:o}", "format", format, "module", pin->module, "key_id",
                     (json_int_t)pin->key_id, "suite", SUITE, "public_key", pk);
}

medreg_err mr_oprf_pin_parse(const char *text, size_t len, const char *format, mr_oprf_pin *pin, char **err)
{
    mr_oprf_pin p;
    json_t *j = load(text, len, err);
    int ok = j != NULL && (format == NULL || format_is(j, format, err)) && read_pin(j, &p, err);
    json_decref(j);
    if (!ok)
        return MEDREG_ERR_INVALID;
    *pin = p;
    return MEDREG_OK;
}

/* n elements of arr (a JSON array) into out */
static int read_elements(const json_t *arr, size_t n, uint8_t (*out)[MR_OPRF_ELEMENT_BYTES], const char *what,
                         char **err)
{
    for (size_t i = 0; i < n; i++)
        if (!get_b64(json_array_get(arr, i), out[i], MR_OPRF_ELEMENT_BYTES))
            return fail(err, "%s[%zu] is not %d bytes of base64", what, i, MR_OPRF_ELEMENT_BYTES);
    return 1;
}

medreg_err mr_oprf_request_parse(const char *text, size_t len, mr_oprf_pin *pin,
                                 uint8_t (**blinded)[MR_OPRF_ELEMENT_BYTES], size_t *n, char **err)
{
    mr_oprf_pin p;
    uint8_t(*b)[MR_OPRF_ELEMENT_BYTES] = NULL;
    json_t *j = load(text, len, err), *arr = json_object_get(j, "blinded");
    size_t k = json_array_size(arr);
    medreg_err rc = MEDREG_ERR_INVALID;

    if (j == NULL || !format_is(j, MR_OPRF_FORMAT_REQUEST, err) || !read_pin(j, &p, err))
        goto out;
    if (!json_is_array(arr) || k > MR_OPRF_RUN_MAX) {
        fail(err, "blinded is not an array of at most %zu elements", MR_OPRF_RUN_MAX);
        goto out;
    }
    if ((b = malloc(k ? k * sizeof *b : 1)) == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    if (!read_elements(arr, k, b, "blinded", err))
        goto out;
    *pin = p;
    *blinded = b;
    *n = k;
    b = NULL;
    rc = MEDREG_OK;
out:
    free(b);
    json_decref(j);
    return rc;
}

void mr_oprf_response_free(mr_oprf_response *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_batches; i++) {
        free(r->batches[i].blinded);
        free(r->batches[i].evaluated);
    }
    free(r->batches);
    free(r);
}

static int read_batch(const json_t *bj, size_t i, size_t *total, mr_oprf_batch *b, char **err)
{
    const json_t *bl = json_object_get(bj, "blinded"), *ev = json_object_get(bj, "evaluated");
    size_t n = json_array_size(bl);
    if (!json_is_array(bl) || n == 0 || n > MR_OPRF_BATCH_MAX || !json_is_array(ev) || json_array_size(ev) != n)
        return fail(err, "batch %zu: blinded and evaluated are not two arrays of the same 1 to %d elements", i,
                    MR_OPRF_BATCH_MAX);
    if (n > MR_OPRF_RUN_MAX - *total)
        return fail(err, "batch %zu: more than %zu elements in all", i, MR_OPRF_RUN_MAX);
    *total += n;
    if (!get_b64(json_object_get(bj, "proof"), b->proof, sizeof b->proof))
        return fail(err, "batch %zu: proof is not %d bytes of base64", i, MR_OPRF_PROOF_BYTES);
    b->n = n;
    b->blinded = malloc(n * sizeof *b->blinded);
    b->evaluated = malloc(n * sizeof *b->evaluated);
    if (b->blinded == NULL || b->evaluated == NULL)
        return fail(err, "out of memory");
    char what[48];
    snprintf(what, sizeof what, "batch %zu: blinded", i);
    if (!read_elements(bl, n, b->blinded, what, err))
        return 0;
    snprintf(what, sizeof what, "batch %zu: evaluated", i);
    return read_elements(ev, n, b->evaluated, what, err);
}

medreg_err mr_oprf_response_parse(const char *text, size_t len, mr_oprf_response **out, char **err)
{
    json_t *j = load(text, len, err), *all = json_object_get(j, "batches");
    size_t nb = json_array_size(all), total = 0;
    mr_oprf_response *r = calloc(1, sizeof *r);
    medreg_err rc = MEDREG_ERR_INVALID;

    if (r == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    if (j == NULL || !format_is(j, MR_OPRF_FORMAT_RESPONSE, err) || !read_pin(j, &r->pin, err))
        goto out;
    if (!json_is_array(all) || nb > MR_OPRF_RUN_MAX) {
        fail(err, "batches is not an array of at most %zu batches", MR_OPRF_RUN_MAX);
        goto out;
    }
    if ((r->batches = calloc(nb ? nb : 1, sizeof *r->batches)) == NULL) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nb; i++) {
        r->n_batches = i + 1; /* what to free */
        if (!read_batch(json_array_get(all, i), i, &total, &r->batches[i], err))
            goto out;
    }
    *out = r;
    r = NULL;
    rc = MEDREG_OK;
out:
    mr_oprf_response_free(r);
    json_decref(j);
    return rc;
}

medreg_err mr_oprf_answer_parse(const char *text, size_t len, size_t n, uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES],
                                uint8_t proof[MR_OPRF_PROOF_BYTES], char **err)
{
    json_t *j = load(text, len, err), *ev = json_object_get(j, "evaluated");
    int ok = j != NULL;
    if (ok && (!json_is_array(ev) || json_array_size(ev) != n))
        ok = fail(err, "evaluated is not an array of %zu elements", n);
    if (ok && !get_b64(json_object_get(j, "proof"), proof, MR_OPRF_PROOF_BYTES))
        ok = fail(err, "proof is not %d bytes of base64", MR_OPRF_PROOF_BYTES);
    ok = ok && read_elements(ev, n, evaluated, "evaluated", err);
    json_decref(j);
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

medreg_err mr_oprf_state_parse(const char *text, size_t len, mr_oprf_state *st, char **err)
{
    json_t *j = load(text, len, err), *seed = json_object_get(j, "seed"), *n = json_object_get(j, "inputs");
    const char *sh = json_string_value(json_object_get(j, "input_sha256"));
    size_t got = 0;
    int ok = j != NULL && format_is(j, MR_OPRF_FORMAT_STATE, err);
    ok = ok && read_pin(json_object_get(j, "key"), &st->pin, err);
    if (ok && !get_b64(seed, st->seed, sizeof st->seed))
        ok = fail(err, "seed is not 32 bytes of base64");
    if (ok && (sh == NULL || strlen(sh) != 64 ||
               sodium_hex2bin(st->input_sha256, 32, sh, 64, NULL, &got, NULL) != 0 || got != 32))
        ok = fail(err, "input_sha256 is not 64 hexadecimal digits");
    if (ok && (!json_is_integer(n) || json_integer_value(n) < 0 || (size_t)json_integer_value(n) > MR_OPRF_RUN_MAX))
        ok = fail(err, "inputs is not a count from 0 to %zu", MR_OPRF_RUN_MAX);
    if (ok)
        st->inputs = (uint64_t)json_integer_value(n);
    if (json_is_string(seed)) /* jansson frees it unwiped */
        mr_wipe((char *)json_string_value(seed), json_string_length(seed));
    json_decref(j);
    if (!ok)
        mr_wipe(st, sizeof *st);
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

char *mr_oprf_state_text(const mr_oprf_state *st)
{
    char hex[65], *sd = mr_base64(st->seed, sizeof st->seed), *text = NULL;
    json_t *j = NULL;
    sodium_bin2hex(hex, sizeof hex, st->input_sha256, sizeof st->input_sha256);
    if (sd != NULL)
        j = json_pack("{s:s,s:o,s:s,s:s,s:I}", "format", MR_OPRF_FORMAT_STATE, "key",
                      mr_oprf_pin_json(&st->pin, MR_OPRF_FORMAT_KEY), "seed", sd, "input_sha256", hex, "inputs",
                      (json_int_t)st->inputs);
    if (j != NULL) {
        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_t *s = json_object_get(j, "seed"); /* jansson's copy */
        mr_wipe((char *)json_string_value(s), json_string_length(s));
    }
    json_decref(j);
    if (sd != NULL) {
        mr_wipe(sd, strlen(sd));
        free(sd);
    }
    return text;
}
