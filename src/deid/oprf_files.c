/* The VOPRF client's inputs from elsewhere, checked before use. Every
 * element and proof is canonical base64 of its exact size (sodium's decoder
 * refuses stray bits); the bounds keep a damaged or hostile file from making
 * the tool allocate without end. A file is walked a member and an element at
 * a time (json_walk.h), each piece parsed by jansson alone: a response of a
 * million patients, whole in jansson's values, took twice the memory of its
 * own elements decoded. */
#include "oprf_files.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../core/fd_io.h"
#include "../core/json_stream.h"
#include "../core/json_walk.h"
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

/* One piece of text (a key, a value) through jansson, its refusal placed
 * at the piece's line in the whole text */
static json_t *load_piece(const char *text, mr_json_span sp, char **err)
{
    json_error_t e;
    json_t *j = json_loadb(text + sp.start, sp.end - sp.start, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        fail(err, "not JSON: line %d: %s", mr_json_line(text, sp.start) + e.line - 1, e.text);
    return j;
}

/* The object text is, member by member (the small files: a pin, a state,
 * the service's answer; the bulk files are streamed) */
static json_t *load(const char *text, size_t len, char **err)
{
    mr_json_span all, k, v;
    mr_json_cursor c;
    size_t where = 0, after;
    int r = 0;
    json_t *obj = NULL, *key = NULL;

    if (!mr_json_value_at(text, len, 0, &all)) {
        fail(err, "not JSON: line %d: no whole JSON value", mr_json_line(text, len));
        return NULL;
    }
    if ((after = mr_json_skip_space(text, len, all.end)) < len) {
        fail(err, "not JSON: line %d: end of file expected", mr_json_line(text, after));
        return NULL;
    }
    if (!mr_json_enter(text, all, '{', &c)) {
        fail(err, "not a JSON object");
        return NULL;
    }
    if ((obj = json_object()) == NULL)
        return NULL;
    while ((r = mr_json_next(&c, &k, &v, &where)) == 1) {
        json_t *val = NULL;
        if ((key = load_piece(text, k, err)) == NULL)
            goto bad;
        const char *name = json_string_value(key);
        if (json_object_get(obj, name) != NULL) {
            fail(err, "not JSON: line %d: duplicate object key", mr_json_line(text, k.start));
            goto bad;
        }
        if ((val = load_piece(text, v, err)) == NULL)
            goto bad;
        if (json_object_set_new(obj, name, val) != 0)
            goto bad;
        json_decref(key);
        key = NULL;
    }
    if (r < 0) {
        fail(err, "not JSON: line %d: ',' or '}' expected", mr_json_line(text, where));
        goto bad;
    }
    return obj;
bad:
    json_decref(key);
    json_decref(obj);
    return NULL;
}


/* the value of a file's "format" (NULL if it has none) names format */
static int format_value_is(const json_t *value, const char *format, char **err)
{
    const char *f = json_string_value(value);
    if (f != NULL && strcmp(f, format) == 0)
        return 1;
    fail(err, "not a %s file (its format is %.64s)", format, f ? f : "missing");
    return 0;
}

static int format_is(const json_t *j, const char *format, char **err)
{
    return format_value_is(json_object_get(j, "format"), format, err);
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

void mr_oprf_batch_clear(mr_oprf_batch *b)
{
    free(b->blinded);
    free(b->evaluated);
    memset(b, 0, sizeof *b);
}

void mr_oprf_response_free(mr_oprf_response *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_batches; i++)
        mr_oprf_batch_clear(&r->batches[i]);
    free(r->batches);
    free(r);
}

/* batch i of the response, from its JSON value; *total counts the
 * elements so far (bounded by MR_OPRF_RUN_MAX) */
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

/* a piece of a streamed file through jansson, its refusal placed at the
 * piece's line */
static json_t *load_streamed(const mr_json_piece *p, char **err)
{
    json_error_t e;
    json_t *j = json_loadb(p->text, p->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        fail(err, "not JSON: line %d: %s", p->line + e.line - 1, e.text);
    return j;
}

static medreg_err batch_from(json_t *bj, size_t i, size_t *total, mr_oprf_batch *b, char **err)
{
    memset(b, 0, sizeof *b);
    if (bj != NULL && read_batch(bj, i, total, b, err))
        return MEDREG_OK;
    mr_oprf_batch_clear(b);
    return MEDREG_ERR_INVALID;
}

medreg_err mr_oprf_batch_parse(const char *text, size_t len, size_t index, mr_oprf_batch *b, char **err)
{
    size_t total = 0;
    json_t *bj = load_piece(text, (mr_json_span){0, len}, err);
    medreg_err rc = batch_from(bj, index, &total, b, err);
    json_decref(bj);
    return rc;
}

/* The walk of a request or a response: its small members into an object
 * (the pin's fields, checked once the walk is over; the format at once, so
 * that another kind of file is named before its bulk is read), and each
 * element of its bulk array (big) decoded by element() */
typedef struct bulk_walk {
    const char *format, *big;
    json_t *members;
    int big_seen; /* the stream's: big was an array */
    size_t total; /* elements (a response's: in all its batches) */
    medreg_err (*element)(struct bulk_walk *bw, json_t *value, size_t index);
    void *each; /* the caller's mr_oprf_element_fn or mr_oprf_batch_fn, with ctx */
    void *ctx;
    const mr_json_piece *piece; /* the element's, during element() */
    char **err;
} bulk_walk;

static medreg_err bulk_member(void *ctx, const mr_json_piece *key, const mr_json_piece *value)
{
    bulk_walk *bw = ctx;
    json_t *k = load_streamed(key, bw->err), *v = NULL;
    medreg_err rc = MEDREG_ERR_INVALID;
    const char *name = json_string_value(k);
    if (name == NULL)
        goto out;
    if (json_object_get(bw->members, name) != NULL || (bw->big_seen && strcmp(name, bw->big) == 0)) {
        fail(bw->err, "not JSON: line %d: duplicate object key", key->line);
        goto out;
    }
    if ((v = load_streamed(value, bw->err)) == NULL)
        goto out;
    if (strcmp(name, "format") == 0 && !format_value_is(v, bw->format, bw->err))
        goto out;
    rc = json_object_set_new(bw->members, name, v) == 0 ? MEDREG_OK : MEDREG_ERR_NOMEM;
    v = NULL;
out:
    json_decref(k);
    json_decref(v);
    return rc;
}

static medreg_err bulk_element(void *ctx, const mr_json_piece *value, size_t index)
{
    bulk_walk *bw = ctx;
    json_t *v = load_streamed(value, bw->err);
    bw->piece = value;
    medreg_err rc = v != NULL ? bw->element(bw, v, index) : MEDREG_ERR_INVALID;
    json_decref(v);
    return rc;
}

static medreg_err walk_bulk(const mr_json_source *src, bulk_walk *bw, size_t max_piece, const char *what,
                            mr_oprf_pin *pin)
{
    mr_json_stream_fns fns = {bulk_member, bulk_element, bw};
    mr_oprf_pin p;
    medreg_err rc = MEDREG_ERR_NOMEM;
    if ((bw->members = json_object()) == NULL)
        goto out;
    if ((rc = mr_json_stream_object(src, bw->big, max_piece, &fns, &bw->big_seen, bw->err)) != MEDREG_OK)
        goto out;
    rc = MEDREG_ERR_INVALID;
    if (!format_is(bw->members, bw->format, bw->err) || !read_pin(bw->members, &p, bw->err))
        goto out;
    if (!bw->big_seen) {
        fail(bw->err, "%s is not an array of at most %zu %s", bw->big, MR_OPRF_RUN_MAX, what);
        goto out;
    }
    *pin = p;
    rc = MEDREG_OK;
out:
    json_decref(bw->members);
    return rc;
}

static medreg_err response_batch(bulk_walk *bw, json_t *value, size_t index)
{
    mr_oprf_batch b;
    medreg_err rc = batch_from(value, index, &bw->total, &b, bw->err);
    if (rc == MEDREG_OK)
        rc = ((mr_oprf_batch_fn)bw->each)(bw->ctx, index, &b, bw->piece->offset, bw->piece->len);
    mr_oprf_batch_clear(&b);
    return rc;
}

medreg_err mr_oprf_response_walk(const mr_json_source *src, mr_oprf_pin *pin, mr_oprf_batch_fn each, void *ctx,
                                 char **err)
{
    bulk_walk bw = {MR_OPRF_FORMAT_RESPONSE, "batches", NULL, 0, 0, response_batch, (void *)each, ctx, NULL, err};
    return walk_bulk(src, &bw, MR_OPRF_BATCH_TEXT_MAX, "batches", pin);
}

static medreg_err request_element(bulk_walk *bw, json_t *value, size_t index)
{
    uint8_t e[MR_OPRF_ELEMENT_BYTES];
    if (index >= MR_OPRF_RUN_MAX)
        return fail(bw->err, "blinded is not an array of at most %zu elements", MR_OPRF_RUN_MAX), MEDREG_ERR_INVALID;
    if (!get_b64(value, e, sizeof e))
        return fail(bw->err, "blinded[%zu] is not %d bytes of base64", index, MR_OPRF_ELEMENT_BYTES),
               MEDREG_ERR_INVALID;
    bw->total++;
    return ((mr_oprf_element_fn)bw->each)(bw->ctx, index, e);
}

medreg_err mr_oprf_request_walk(const mr_json_source *src, mr_oprf_pin *pin, mr_oprf_element_fn each, void *ctx,
                                char **err)
{
    bulk_walk bw = {MR_OPRF_FORMAT_REQUEST, "blinded", NULL, 0, 0, request_element, (void *)each, ctx, NULL, err};
    return walk_bulk(src, &bw, MR_OPRF_ELEMENT_TEXT_MAX, "elements", pin);
}

/* mr_oprf_request_parse's each(): every element, in an array that doubles */
typedef struct element_list {
    uint8_t (*e)[MR_OPRF_ELEMENT_BYTES];
    size_t n;
} element_list;

static medreg_err keep_element(void *ctx, size_t index, const uint8_t e[MR_OPRF_ELEMENT_BYTES])
{
    element_list *l = ctx;
    if ((index & (index + 1)) == 0) { /* 0, 1, 3, 7, …: double the room */
        uint8_t(*more)[MR_OPRF_ELEMENT_BYTES] = realloc(l->e, 2 * (index + 1) * sizeof *more);
        if (more == NULL)
            return MEDREG_ERR_NOMEM;
        l->e = more;
    }
    memcpy(l->e[index], e, MR_OPRF_ELEMENT_BYTES);
    l->n = index + 1;
    return MEDREG_OK;
}

medreg_err mr_oprf_request_parse(const char *text, size_t len, mr_oprf_pin *pin,
                                 uint8_t (**blinded)[MR_OPRF_ELEMENT_BYTES], size_t *n, char **err)
{
    mr_json_memory m = {text, len, 0, 0};
    mr_json_source src = {mr_json_memory_read, &m};
    element_list l = {NULL, 0};
    mr_oprf_pin p;
    medreg_err rc = mr_oprf_request_walk(&src, &p, keep_element, &l, err);
    if (rc != MEDREG_OK) {
        free(l.e);
        return rc;
    }
    *pin = p;
    *blinded = l.e != NULL ? l.e : malloc(1); /* none: still an array to free */
    *n = l.n;
    if (*blinded == NULL)
        return MEDREG_ERR_NOMEM;
    return MEDREG_OK;
}

/* mr_oprf_response_parse's each(): a copy of every batch */
static medreg_err keep_batch(void *ctx, size_t index, const mr_oprf_batch *b, uint64_t offset, size_t len)
{
    mr_oprf_response *r = ctx;
    (void)offset;
    (void)len;
    if ((index & (index + 1)) == 0) { /* 0, 1, 3, 7, …: double the room */
        mr_oprf_batch *more = realloc(r->batches, 2 * (index + 1) * sizeof *more);
        if (more == NULL)
            return MEDREG_ERR_NOMEM;
        r->batches = more;
    }
    mr_oprf_batch *c = &r->batches[index];
    memset(c, 0, sizeof *c);
    r->n_batches = index + 1;
    c->blinded = malloc(b->n * sizeof *c->blinded);
    c->evaluated = malloc(b->n * sizeof *c->evaluated);
    if (c->blinded == NULL || c->evaluated == NULL)
        return MEDREG_ERR_NOMEM;
    memcpy(c->blinded, b->blinded, b->n * sizeof *c->blinded);
    memcpy(c->evaluated, b->evaluated, b->n * sizeof *c->evaluated);
    memcpy(c->proof, b->proof, sizeof c->proof);
    c->n = b->n;
    return MEDREG_OK;
}

medreg_err mr_oprf_response_parse(const char *text, size_t len, mr_oprf_response **out, char **err)
{
    mr_json_memory m = {text, len, 0, 0};
    mr_json_source src = {mr_json_memory_read, &m};
    mr_oprf_response *r = calloc(1, sizeof *r);
    if (r == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = mr_oprf_response_walk(&src, &r->pin, keep_batch, r, err);
    if (rc != MEDREG_OK) {
        mr_oprf_response_free(r);
        return rc;
    }
    *out = r;
    return MEDREG_OK;
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

/* 64 hexadecimal digits into out; 0 if j is not that */
static int get_hex32(const json_t *j, uint8_t out[32])
{
    const char *h = json_string_value(j);
    size_t got = 0;
    return h != NULL && json_string_length(j) == 64 && sodium_hex2bin(out, 32, h, 64, NULL, &got, NULL) == 0 &&
           got == 32;
}

medreg_err mr_oprf_state_parse(const char *text, size_t len, mr_oprf_state *st, char **err)
{
    json_t *j = load(text, len, err), *seed = json_object_get(j, "seed"), *n = json_object_get(j, "inputs");
    const json_t *es = json_object_get(j, "entries_sha256"), *rs = json_object_get(j, "request_sha256");
    int ok = j != NULL && format_is(j, MR_OPRF_FORMAT_STATE, err);
    ok = ok && read_pin(json_object_get(j, "key"), &st->pin, err);
    if (ok && !get_b64(seed, st->seed, sizeof st->seed))
        ok = fail(err, "seed is not 32 bytes of base64");
    if (ok && !get_hex32(json_object_get(j, "input_sha256"), st->input_sha256))
        ok = fail(err, "input_sha256 is not 64 hexadecimal digits");
    if (ok && (!json_is_integer(n) || json_integer_value(n) < 0 || (size_t)json_integer_value(n) > MR_OPRF_RUN_MAX))
        ok = fail(err, "inputs is not a count from 0 to %zu", MR_OPRF_RUN_MAX);
    if (ok)
        st->inputs = (uint64_t)json_integer_value(n);
    /* both commitments, or (a file of an older medreg) neither */
    st->ordered = es != NULL || rs != NULL;
    memset(st->entries_sha256, 0, sizeof st->entries_sha256);
    memset(st->request_sha256, 0, sizeof st->request_sha256);
    if (ok && st->ordered && (!get_hex32(es, st->entries_sha256) || !get_hex32(rs, st->request_sha256)))
        ok = fail(err, "entries_sha256 and request_sha256 are not both 64 hexadecimal digits");
    json_decref(j);
    if (!ok)
        mr_wipe(st, sizeof *st);
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

char *mr_oprf_state_text(const mr_oprf_state *st)
{
    char hex[65], ehex[65], rhex[65], *sd = mr_base64(st->seed, sizeof st->seed), *text = NULL;
    json_t *j = NULL;
    sodium_bin2hex(hex, sizeof hex, st->input_sha256, sizeof st->input_sha256);
    sodium_bin2hex(ehex, sizeof ehex, st->entries_sha256, sizeof st->entries_sha256);
    sodium_bin2hex(rhex, sizeof rhex, st->request_sha256, sizeof st->request_sha256);
    if (sd != NULL)
        j = json_pack("{s:s,s:o,s:s,s:s,s:I}", "format", MR_OPRF_FORMAT_STATE, "key",
                      mr_oprf_pin_json(&st->pin, MR_OPRF_FORMAT_KEY), "seed", sd, "input_sha256", hex, "inputs",
                      (json_int_t)st->inputs);
    if (j != NULL && st->ordered &&
        (json_object_set_new(j, "entries_sha256", json_string(ehex)) != 0 ||
         json_object_set_new(j, "request_sha256", json_string(rhex)) != 0)) {
        json_decref(j);
        j = NULL;
    }
    if (j != NULL)
        text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (sd != NULL) {
        mr_wipe(sd, strlen(sd));
        free(sd);
    }
    return text;
}

#define WRITER_BUF ((size_t)1 << 20)

/* append n bytes, writing the buffer out when it is full */
static medreg_err put(mr_oprf_writer *w, const char *p, size_t n)
{
    if (w->failed)
        return MEDREG_ERR_IO;
    if (w->len + n > WRITER_BUF) {
        if (mr_fd_write_all(w->fd, w->buf, w->len) != MEDREG_OK) {
            w->failed = 1;
            return MEDREG_ERR_IO;
        }
        w->len = 0;
    }
    if (n > WRITER_BUF) { /* not for these files' pieces, but correct anyway */
        medreg_err rc = mr_fd_write_all(w->fd, p, n);
        w->failed = rc != MEDREG_OK;
        return rc;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return MEDREG_OK;
}

/* a quoted base64 string (its alphabet needs no JSON escape) */
static medreg_err put_b64(mr_oprf_writer *w, const uint8_t *b, size_t n)
{
    char q[132];
    if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) + 2 > sizeof q)
        return MEDREG_ERR_INVALID;
    q[0] = '"';
    sodium_bin2base64(q + 1, sizeof q - 2, b, n, sodium_base64_VARIANT_ORIGINAL);
    size_t l = strlen(q);
    q[l++] = '"';
    return put(w, q, l);
}

medreg_err mr_oprf_writer_open(mr_oprf_writer *w, const char *path, const mr_oprf_pin *pin, const char *format)
{
    int request = strcmp(format, MR_OPRF_FORMAT_REQUEST) == 0;
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->path = path;
    if (!request && strcmp(format, MR_OPRF_FORMAT_RESPONSE) != 0)
        return MEDREG_ERR_INVALID;
    json_t *head = mr_oprf_pin_json(pin, format);
    char *text = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(head);
    medreg_err rc = text == NULL || (w->buf = malloc(WRITER_BUF)) == NULL ? MEDREG_ERR_NOMEM : MEDREG_OK;
    if (rc == MEDREG_OK)
        rc = mr_file_replace_begin(path, w->tmp, &w->fd);
    if (rc == MEDREG_OK) { /* the pin's object, open for the bulk array */
        rc = put(w, text, strlen(text) - 1);
        if (rc == MEDREG_OK)
            rc = put(w, request ? ",\"blinded\":[" : ",\"batches\":[", strlen(",\"blinded\":["));
    }
    free(text);
    if (rc != MEDREG_OK) {
        if (w->fd >= 0 && mr_file_replace_end(path, w->tmp, w->fd, 0) != MEDREG_OK)
            rc = MEDREG_ERR_IO; /* removing it: nothing more to say */
        free(w->buf);
        memset(w, 0, sizeof *w);
        w->fd = -1;
    }
    return rc;
}

medreg_err mr_oprf_writer_element(mr_oprf_writer *w, const uint8_t e[MR_OPRF_ELEMENT_BYTES])
{
    medreg_err rc = w->count++ > 0 ? put(w, ",", 1) : MEDREG_OK;
    return rc == MEDREG_OK ? put_b64(w, e, MR_OPRF_ELEMENT_BYTES) : rc;
}

medreg_err mr_oprf_writer_batch(mr_oprf_writer *w, const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                const uint8_t proof[MR_OPRF_PROOF_BYTES])
{
    medreg_err rc = w->count++ > 0 ? put(w, ",", 1) : MEDREG_OK;
    if (rc == MEDREG_OK)
        rc = put(w, "{\"blinded\":[", 12);
    for (size_t i = 0; rc == MEDREG_OK && i < n; i++)
        if ((rc = i > 0 ? put(w, ",", 1) : MEDREG_OK) == MEDREG_OK)
            rc = put_b64(w, blinded[i], MR_OPRF_ELEMENT_BYTES);
    if (rc == MEDREG_OK)
        rc = put(w, "],\"evaluated\":[", 15);
    for (size_t i = 0; rc == MEDREG_OK && i < n; i++)
        if ((rc = i > 0 ? put(w, ",", 1) : MEDREG_OK) == MEDREG_OK)
            rc = put_b64(w, evaluated[i], MR_OPRF_ELEMENT_BYTES);
    if (rc == MEDREG_OK)
        rc = put(w, "],\"proof\":", 10);
    if (rc == MEDREG_OK)
        rc = put_b64(w, proof, MR_OPRF_PROOF_BYTES);
    return rc == MEDREG_OK ? put(w, "}", 1) : rc;
}

medreg_err mr_oprf_writer_close(mr_oprf_writer *w, int ok)
{
    if (w->fd < 0)
        return MEDREG_ERR_INVALID;
    medreg_err rc = ok && !w->failed ? put(w, "]}\n", 3) : MEDREG_ERR_IO;
    if (rc == MEDREG_OK)
        rc = mr_fd_write_all(w->fd, w->buf, w->len);
    medreg_err end = mr_file_replace_end(w->path, w->tmp, w->fd, rc == MEDREG_OK);
    free(w->buf);
    w->buf = NULL;
    w->fd = -1;
    return ok ? (rc != MEDREG_OK ? rc : end) : MEDREG_OK;
}
