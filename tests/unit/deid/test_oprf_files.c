/* The files and answers of a network-wide run (oprf_files.h): what medreg
 * writes reads back the same, and every damaged or hostile variant is
 * refused with a message that says what and where, its out-parameters
 * untouched. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/core/encode.h"
#include "../../../src/core/secret.h"
#include "../../../src/deid/oprf_files.h"
#include "oprf_batch_same.h"
#include "../check.h"

static mr_oprf_pin the_pin(void)
{
    mr_oprf_pin p = {"hip", 7, {0}};
    for (int i = 0; i < 32; i++)
        p.pk[i] = (uint8_t)(i * 7 + 1);
    return p;
}

/* json (consumed) as compact text, malloc'ed */
static char *text_of(json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    return t;
}

/* parse s as a pin of format; 1 when refused with a message containing want */
static int pin_refused(const char *s, const char *format, const char *want)
{
    mr_oprf_pin p = the_pin(), before = p;
    char *err = NULL;
    int refused = mr_oprf_pin_parse(s, strlen(s), format, &p, &err) == MEDREG_ERR_INVALID && err != NULL &&
                  strstr(err, want) != NULL && mr_oprf_pin_equal(&p, &before);
    if (!refused)
        fprintf(stderr, "  %s: %s\n", s, err ? err : "(accepted)");
    free(err);
    return refused;
}

static int pin_ok(const char *s)
{
    mr_oprf_pin p;
    char *err = NULL;
    int ok = mr_oprf_pin_parse(s, strlen(s), NULL, &p, &err) == MEDREG_OK && err == NULL;
    free(err);
    return ok;
}

static void test_pin(void)
{
    mr_oprf_pin pin = the_pin(), back;
    char *err = NULL, *t = text_of(mr_oprf_pin_json(&pin, MR_OPRF_FORMAT_KEY));
    CHECK(t != NULL && !strncmp(t, "{\"format\":\"medreg-oprf-key/v1\",\"module\":\"hip\",\"key_id\":7,", 57));
    memset(&back, 0, sizeof back);
    CHECK(mr_oprf_pin_parse(t, strlen(t), MR_OPRF_FORMAT_KEY, &back, &err) == MEDREG_OK && err == NULL);
    CHECK(mr_oprf_pin_equal(&back, &pin));
    CHECK(pin_refused(t, MR_OPRF_FORMAT_REQUEST, "not a medreg-oprf-request/v1 file (its format is medreg-oprf-key/v1)"));
    free(t);

    /* the service's answer has no format */
    t = text_of(mr_oprf_pin_json(&pin, NULL));
    CHECK(t != NULL && strstr(t, "format") == NULL);
    CHECK(mr_oprf_pin_parse(t, strlen(t), NULL, &back, &err) == MEDREG_OK && mr_oprf_pin_equal(&back, &pin));
    CHECK(pin_refused(t, MR_OPRF_FORMAT_KEY, "its format is missing"));
    free(t);

    const char *pk = "AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o="; /* the_pin's */
    char s[512];
#define PIN(fmt, ...) (snprintf(s, sizeof s, fmt, __VA_ARGS__), s)
    CHECK(pin_ok(PIN("{\"module\":\"hip\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk)));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":7,\"public_key\":\"%s\"}", pk), NULL, "suite"));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":7,\"suite\":\"P256-SHA256\",\"public_key\":\"%s\"}", pk),
                      NULL, "suite is not ristretto255-SHA512"));
    CHECK(pin_refused(PIN("{\"module\":\"\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk),
                      NULL, "module"));
    CHECK(pin_refused(PIN("{\"module\":\"%065d\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}",
                          0, pk),
                      NULL, "module is not a name of 1 to 64 bytes"));
    CHECK(pin_ok(PIN("{\"module\":\"%064d\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}",
                           0, pk)));
    CHECK(pin_refused(PIN("{\"module\":\"h\\u0000ip\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}",
                          pk),
                      NULL, "not JSON")); /* jansson's own refusal */
    CHECK(pin_refused(PIN("{\"module\":7,\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk),
                      NULL, "module"));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":-1,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk),
                      NULL, "key_id is not an integer from 0 to 4294967295"));
    CHECK(pin_refused(
        PIN("{\"module\":\"hip\",\"key_id\":4294967296,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk), NULL,
        "key_id"));
    CHECK(pin_ok(PIN("{\"module\":\"hip\",\"key_id\":4294967295,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}",
                     pk)));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":\"7\",\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk),
                      NULL, "key_id"));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":7.0,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%s\"}", pk),
                      NULL, "key_id"));
    /* 31 bytes; then the last character with bits past the 32 bytes set
     * (a second spelling of the same key) */
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":\"%.40s\"}", pk),
                      NULL, "public_key is not 32 bytes of base64"));
    CHECK(pin_refused("{\"module\":\"hip\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\",\"public_key\":"
                      "\"AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09p=\"}",
                      NULL, "public_key"));
    CHECK(pin_refused(PIN("{\"module\":\"hip\",\"module\":\"knee\",\"key_id\":7,\"suite\":\"ristretto255-SHA512\","
                          "\"public_key\":\"%s\"}",
                          pk),
                      NULL, "duplicate object key"));
    /* what the file says is quoted for a terminal: no escape sequence passes */
    CHECK(pin_refused("{\"format\":\"\\u001b]0;owned\\u0007\\u009b31m\"}", MR_OPRF_FORMAT_KEY,
                      "(its format is ?]0;owned???31m)"));
    CHECK(pin_refused("{\"format\":\"\x1b\"}", MR_OPRF_FORMAT_KEY, "not JSON: line 1: control character 0x1b"));
    CHECK(pin_refused("[1,2]", NULL, "not a JSON object"));
    CHECK(pin_refused("{\"module\":", NULL, "not JSON: line 1"));
    CHECK(pin_refused("", NULL, "not JSON"));
#undef PIN
}

static json_t *elements(const uint8_t (*e)[32], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, mr_json_base64(e[i], 32));
    return a;
}

static void test_request(void)
{
    mr_oprf_pin pin = the_pin(), back;
    uint8_t el[3][32], (*got)[32] = NULL;
    size_t n = 0;
    char *err = NULL;
    randombytes_buf(el, sizeof el);
    json_t *j = mr_oprf_pin_json(&pin, MR_OPRF_FORMAT_REQUEST);
    json_object_set_new(j, "blinded", elements((const uint8_t(*)[32])el, 3));
    char *t = text_of(json_incref(j));
    CHECK(mr_oprf_request_parse(t, strlen(t), &back, &got, &n, &err) == MEDREG_OK && n == 3 && got &&
          !memcmp(got, el, sizeof el) && mr_oprf_pin_equal(&back, &pin));
    free(got);
    free(t);

    struct {
        json_t *blinded;
        const char *want;
    } bad[] = {
        {json_string("AAAA"), "blinded is not an array of at most 16777216 elements"},
        {json_pack("[s]", "AAAA"), "blinded[0] is not 32 bytes of base64"},
        {json_pack("[o,i]", mr_json_base64(el[0], 32), 5), "blinded[1] is not 32 bytes of base64"},
    };
    for (size_t i = 0; i < MR_ARRAY_LEN(bad); i++) {
        json_object_set_new(j, "blinded", bad[i].blinded);
        t = text_of(json_incref(j));
        got = NULL;
        n = 9;
        err = NULL;
        CHECK(mr_oprf_request_parse(t, strlen(t), &back, &got, &n, &err) == MEDREG_ERR_INVALID && got == NULL &&
              n == 9 && err && strstr(err, bad[i].want));
        if (err && !strstr(err, bad[i].want))
            fprintf(stderr, "  request %zu: %s\n", i, err);
        free(err);
        free(t);
    }
    /* an input without a patient: an empty request, which evaluates to an
     * empty response */
    json_object_set_new(j, "blinded", json_array());
    t = text_of(json_incref(j));
    got = NULL;
    n = 9;
    CHECK(mr_oprf_request_parse(t, strlen(t), &back, &got, &n, &err) == MEDREG_OK && n == 0 && got != NULL);
    free(got);
    free(t);
    json_object_del(j, "blinded");
    t = text_of(json_incref(j));
    err = NULL;
    CHECK(mr_oprf_request_parse(t, strlen(t), &back, &got, &n, &err) == MEDREG_ERR_INVALID && err &&
          strstr(err, "blinded"));
    free(err);
    free(t);
    json_decref(j);
}

static json_t *batch(const uint8_t (*b)[32], const uint8_t (*e)[32], size_t n, const uint8_t proof[64])
{
    return json_pack("{s:o,s:o,s:o}", "blinded", elements(b, n), "evaluated", elements(e, n), "proof",
                     mr_json_base64(proof, 64));
}

typedef struct walked {
    const char *text;
    size_t batches;
    int same;
} walked;

static medreg_err batch_where_said(void *ctx, size_t index, const mr_oprf_batch *b, uint64_t offset, size_t len)
{
    walked *w = ctx;
    w->same &= index == w->batches && batch_same_at(w->text, index, b, offset, len);
    w->batches++;
    return MEDREG_OK;
}

/* the response j (not consumed) refused with want in the message */
static int response_refused(json_t *j, const char *want)
{
    char *t = text_of(json_incref(j)), *err = NULL;
    mr_oprf_response sentinel, *r = &sentinel; /* must stay as it is */
    int refused = mr_oprf_response_parse(t, strlen(t), &r, &err) == MEDREG_ERR_INVALID && r == &sentinel && err &&
                  strstr(err, want);
    if (!refused)
        fprintf(stderr, "  response: %s\n", err ? err : "(accepted)");
    free(err);
    free(t);
    return refused;
}

static void test_response(void)
{
    mr_oprf_pin pin = the_pin();
    uint8_t b[5][32], e[5][32], proof[2][64];
    randombytes_buf(b, sizeof b);
    randombytes_buf(e, sizeof e);
    randombytes_buf(proof, sizeof proof);
    json_t *j = mr_oprf_pin_json(&pin, MR_OPRF_FORMAT_RESPONSE);
    json_object_set_new(j, "batches", json_pack("[o,o]", batch((const uint8_t(*)[32])b, (const uint8_t(*)[32])e, 3, proof[0]),
                                                batch((const uint8_t(*)[32])b + 3, (const uint8_t(*)[32])e + 3, 2, proof[1])));
    char *t = text_of(json_incref(j)), *err = NULL;
    mr_oprf_response *r = NULL;
    CHECK(mr_oprf_response_parse(t, strlen(t), &r, &err) == MEDREG_OK && r != NULL && err == NULL);
    if (r != NULL) {
        CHECK(mr_oprf_pin_equal(&r->pin, &pin) && r->n_batches == 2 && r->batches[0].n == 3 && r->batches[1].n == 2);
        CHECK(!memcmp(r->batches[0].blinded, b, 96) && !memcmp(r->batches[1].evaluated, e[3], 64));
        CHECK(!memcmp(r->batches[0].proof, proof[0], 64) && !memcmp(r->batches[1].proof, proof[1], 64));
    }
    mr_oprf_response_free(r);
    /* walked three bytes a read: each batch found again where the walk says it is */
    for (size_t step = 1; step <= 3; step++) {
        walked w = {t, 0, 1};
        mr_json_memory m = {t, strlen(t), 0, step};
        mr_json_source src = {mr_json_memory_read, &m};
        mr_oprf_pin p2;
        CHECK(mr_oprf_response_walk(&src, &p2, batch_where_said, &w, &err) == MEDREG_OK && err == NULL);
        CHECK(w.batches == 2 && w.same && mr_oprf_pin_equal(&p2, &pin));
    }
    free(t);

    json_t *b1 = json_array_get(json_object_get(j, "batches"), 1);
    json_t *ev = json_object_get(b1, "evaluated");
    json_array_set_new(ev, 1, json_string("AAAA"));
    CHECK(response_refused(j, "batch 1: evaluated[1] is not 32 bytes of base64"));
    json_array_remove(ev, 1);
    CHECK(response_refused(j, "batch 1: blinded and evaluated are not two arrays of the same 1 to 65535 elements"));
    json_object_set_new(b1, "evaluated", elements((const uint8_t(*)[32])e + 3, 2));
    json_object_set_new(b1, "proof", mr_json_base64(proof[1], 63));
    CHECK(response_refused(j, "batch 1: proof is not 64 bytes of base64"));
    json_object_set_new(b1, "proof", mr_json_base64(proof[1], 64));
    json_object_set_new(b1, "blinded", json_array());
    json_object_set_new(b1, "evaluated", json_array());
    CHECK(response_refused(j, "batch 1: blinded and evaluated"));
    json_array_set_new(json_object_get(j, "batches"), 1, json_string("x"));
    CHECK(response_refused(j, "batch 1"));

    /* one batch past the proof's bound: 65,536 elements */
    static uint8_t big[65536][32];
    json_object_set_new(j, "batches", json_pack("[o]", batch((const uint8_t(*)[32])big, (const uint8_t(*)[32])big,
                                                              65536, proof[0])));
    CHECK(response_refused(j, "batch 0: blinded and evaluated are not two arrays of the same 1 to 65535"));
    json_object_set_new(j, "batches", json_pack("[o]", batch((const uint8_t(*)[32])big, (const uint8_t(*)[32])big,
                                                              65535, proof[0])));
    t = text_of(json_incref(j));
    r = NULL;
    CHECK(mr_oprf_response_parse(t, strlen(t), &r, &err) == MEDREG_OK && r && r->batches[0].n == 65535);
    mr_oprf_response_free(r);
    free(t);

    json_object_set_new(j, "batches", json_array());
    t = text_of(json_incref(j));
    r = NULL;
    CHECK(mr_oprf_response_parse(t, strlen(t), &r, &err) == MEDREG_OK && r && r->n_batches == 0);
    mr_oprf_response_free(r);
    free(t);
    json_object_set_new(j, "batches", json_object());
    CHECK(response_refused(j, "batches is not an array of at most 16777216 batches"));
    json_object_set_new(j, "format", json_string(MR_OPRF_FORMAT_REQUEST));
    CHECK(response_refused(j, "not a medreg-oprf-response/v1 file"));
    json_decref(j);
}

static void test_answer(void)
{
    uint8_t e[2][32], proof[64], got[3][32], gp[64];
    randombytes_buf(e, sizeof e);
    randombytes_buf(proof, sizeof proof);
    char *t = text_of(json_pack("{s:o,s:o}", "evaluated", elements((const uint8_t(*)[32])e, 2), "proof",
                                mr_json_base64(proof, 64))),
         *err = NULL;
    CHECK(mr_oprf_answer_parse(t, strlen(t), 2, got, gp, &err) == MEDREG_OK && !memcmp(got, e, 64) &&
          !memcmp(gp, proof, 64));
    CHECK(mr_oprf_answer_parse(t, strlen(t), 3, got, gp, &err) == MEDREG_ERR_INVALID && err &&
          !strcmp(err, "evaluated is not an array of 3 elements"));
    free(err);
    free(t);
    t = text_of(json_pack("{s:o}", "evaluated", elements((const uint8_t(*)[32])e, 2)));
    err = NULL;
    CHECK(mr_oprf_answer_parse(t, strlen(t), 2, got, gp, &err) == MEDREG_ERR_INVALID && err &&
          !strcmp(err, "proof is not 64 bytes of base64"));
    free(err);
    free(t);
}

static void test_state(void)
{
    mr_oprf_state *st = sodium_malloc(sizeof *st), *back = sodium_malloc(sizeof *back);
    char *err = NULL;
    memset(st, 0, sizeof *st);
    st->pin = the_pin();
    randombytes_buf(st->seed, 32);
    randombytes_buf(st->input_sha256, 32);
    st->inputs = 2500;
    char *t = mr_oprf_state_text(st);
    CHECK(t != NULL && strstr(t, "\"format\": \"medreg-oprf-state/v1\"") && strstr(t, "\"inputs\": 2500"));
    CHECK(mr_oprf_state_parse(t, strlen(t), back, &err) == MEDREG_OK && mr_oprf_pin_equal(&back->pin, &st->pin) &&
          !memcmp(back->seed, st->seed, 32) && !memcmp(back->input_sha256, st->input_sha256, 32) &&
          back->inputs == 2500);

    json_t *j = json_loads(t, 0, NULL);
    mr_wipe(t, strlen(t));
    free(t);
    struct {
        const char *key;
        json_t *value;
        const char *want;
    } bad[] = {
        {"seed", json_string("AAAA"), "seed is not 32 bytes of base64"},
        {"input_sha256", json_string("00"), "input_sha256 is not 64 hexadecimal digits"},
        {"input_sha256",
         json_string("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"), "input_sha256"},
        {"inputs", json_integer(16777217), "inputs is not a count from 0 to 16777216"},
        {"inputs", json_integer(-1), "inputs"},
        {"key", json_string("hip"), "the key is not a JSON object"},
        {"format", json_string(MR_OPRF_FORMAT_KEY), "not a medreg-oprf-state/v1 file"},
    };
    for (size_t i = 0; i < MR_ARRAY_LEN(bad); i++) {
        json_t *c = json_deep_copy(j);
        json_object_set_new(c, bad[i].key, bad[i].value);
        t = text_of(c);
        err = NULL;
        memset(back, 0x55, sizeof *back);
        CHECK(mr_oprf_state_parse(t, strlen(t), back, &err) == MEDREG_ERR_INVALID && err &&
              strstr(err, bad[i].want) && sodium_is_zero((const unsigned char *)back, sizeof *back));
        if (err && !strstr(err, bad[i].want))
            fprintf(stderr, "  state %zu: %s\n", i, err);
        free(err);
        free(t);
    }
    json_decref(j);
    sodium_free(st);
    sodium_free(back);
}

/* the files as mr_oprf_writer makes them, a piece at a time: they read
 * back the same, appear only when closed with ok, and leave nothing when
 * not */
static void test_writer(void)
{
    char dir[] = "/tmp/medreg-oprf-writer-XXXXXX", path[256], *text = NULL, *err = NULL;
    mr_oprf_pin pin = the_pin(), back;
    mr_oprf_writer w;
    size_t len = 0, n = 0;
    uint8_t el[2500][32], (*got)[32] = NULL;
    CHECK(mkdtemp(dir) != NULL);
    randombytes_buf(el, sizeof el);
    snprintf(path, sizeof path, "%s/req.json", dir);

    CHECK(mr_oprf_writer_open(&w, path, &pin, MR_OPRF_FORMAT_REQUEST) == MEDREG_OK);
    for (size_t i = 0; i < 2500; i++)
        CHECK(mr_oprf_writer_element(&w, el[i]) == MEDREG_OK);
    CHECK(access(path, F_OK) != 0); /* not before it is whole */
    CHECK(mr_oprf_writer_close(&w, 1) == MEDREG_OK);
    CHECK(mr_file_read(path, MR_OPRF_FILE_MAX, &text, &len) == MEDREG_OK);
    CHECK(text && mr_oprf_request_parse(text, len, &back, &got, &n, &err) == MEDREG_OK && err == NULL);
    CHECK(n == 2500 && got && memcmp(got, el, sizeof el) == 0 && mr_oprf_pin_equal(&back, &pin));
    json_t *j = text ? json_loads(text, 0, NULL) : NULL; /* and jansson reads it whole the same */
    CHECK(json_array_size(json_object_get(j, "blinded")) == 2500);
    json_decref(j);
    free(text);
    free(got);

    /* a response of three batches, the last of one element */
    mr_oprf_response *r = NULL;
    uint8_t proof[3][64];
    randombytes_buf(proof, sizeof proof);
    snprintf(path, sizeof path, "%s/resp.json", dir);
    CHECK(mr_oprf_writer_open(&w, path, &pin, MR_OPRF_FORMAT_RESPONSE) == MEDREG_OK);
    CHECK(mr_oprf_writer_batch(&w, (const uint8_t(*)[32])el, (const uint8_t(*)[32])el + 1000, 1000, proof[0]) == MEDREG_OK);
    CHECK(mr_oprf_writer_batch(&w, (const uint8_t(*)[32])el + 2000, (const uint8_t(*)[32])el + 1000, 499, proof[1]) ==
          MEDREG_OK);
    CHECK(mr_oprf_writer_batch(&w, (const uint8_t(*)[32])el + 2499, (const uint8_t(*)[32])el, 1, proof[2]) == MEDREG_OK);
    CHECK(mr_oprf_writer_close(&w, 1) == MEDREG_OK);
    text = NULL;
    CHECK(mr_file_read(path, MR_OPRF_FILE_MAX, &text, &len) == MEDREG_OK);
    CHECK(text && mr_oprf_response_parse(text, len, &r, &err) == MEDREG_OK && err == NULL);
    CHECK(r && r->n_batches == 3 && r->batches[0].n == 1000 && r->batches[1].n == 499 && r->batches[2].n == 1);
    CHECK(r && memcmp(r->batches[1].blinded, el[2000], 499 * 32) == 0 &&
          memcmp(r->batches[1].evaluated, el[1000], 499 * 32) == 0 && memcmp(r->batches[2].proof, proof[2], 64) == 0);
    CHECK(r && mr_oprf_pin_equal(&r->pin, &pin));
    mr_oprf_response_free(r);
    free(text);

    /* closed without ok: no file, no temporary one */
    snprintf(path, sizeof path, "%s/failed.json", dir);
    CHECK(mr_oprf_writer_open(&w, path, &pin, MR_OPRF_FORMAT_RESPONSE) == MEDREG_OK);
    CHECK(mr_oprf_writer_batch(&w, (const uint8_t(*)[32])el, (const uint8_t(*)[32])el, 10, proof[0]) == MEDREG_OK);
    CHECK(mr_oprf_writer_close(&w, 0) == MEDREG_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | wc -l)\" = 2", dir); /* req.json and resp.json alone */
    CHECK(system(cmd) == 0);
    /* a folder that is not there; a format that has no bulk array */
    snprintf(path, sizeof path, "%s/no-dir/x.json", dir);
    CHECK(mr_oprf_writer_open(&w, path, &pin, MR_OPRF_FORMAT_REQUEST) != MEDREG_OK);
    snprintf(path, sizeof path, "%s/x.json", dir);
    CHECK(mr_oprf_writer_open(&w, path, &pin, MR_OPRF_FORMAT_STATE) == MEDREG_ERR_INVALID);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_pin();
    test_request();
    test_response();
    test_answer();
    test_state();
    test_writer();
    return TEST_DONE();
}
