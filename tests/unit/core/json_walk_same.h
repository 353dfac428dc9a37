/* The walk's promise, checked against jansson: walking a text down to its
 * scalars and strings, each piece parsed by jansson alone, accepts exactly
 * the texts jansson accepts whole (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)
 * and gives the same value; so does the stream, for objects, whatever the
 * size of its reads. Shared by the unit test and the fuzzer. */
#ifndef MR_JSON_WALK_SAME_H
#define MR_JSON_WALK_SAME_H

#include <jansson.h>
#include <string.h>

#include "../../../src/core/json_stream.h"
#include "../../../src/core/json_walk.h"

#define WALK_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/* the value at span, walked; NULL if refused */
static json_t *walk_value(const char *text, mr_json_span sp, int depth)
{
    mr_json_cursor c;
    mr_json_span k, v;
    size_t where;
    int r;
    char open = text[sp.start];
    if (open != '{' && open != '[')
        return json_loadb(text + sp.start, sp.end - sp.start, WALK_FLAGS, NULL);
    if (depth >= 2048 || !mr_json_enter(text, sp, open, &c)) /* jansson's depth limit */
        return NULL;
    json_t *out = open == '{' ? json_object() : json_array();
    while (out != NULL && (r = mr_json_next(&c, &k, &v, &where)) == 1) {
        json_t *key = open == '{' ? json_loadb(text + k.start, k.end - k.start, WALK_FLAGS, NULL) : NULL;
        json_t *val = walk_value(text, v, depth + 1);
        int ok = val != NULL;
        if (open == '{')
            ok = ok && json_is_string(key) && json_object_get(out, json_string_value(key)) == NULL &&
                 json_object_set(out, json_string_value(key), val) == 0;
        else
            ok = ok && json_array_append(out, val) == 0;
        json_decref(key);
        json_decref(val);
        if (!ok) {
            json_decref(out);
            out = NULL;
        }
    }
    if (out != NULL && r < 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

static json_t *walk_text(const char *text, size_t len)
{
    mr_json_span all;
    if (!mr_json_value_at(text, len, 0, &all))
        return NULL;
    return mr_json_skip_space(text, len, all.end) == len ? walk_value(text, all, 0) : NULL;
}

/* The stream (json_stream.h) on the same text: the members and the bulk
 * array "batches" put together again, each piece through jansson alone, and
 * every piece where its offset and line say it is. */
typedef struct streamed {
    const char *text;
    json_t *obj, *bulk;
    int bulk_seen, misplaced;
} streamed;

static int piece_in_place(const streamed *st, const mr_json_piece *p)
{
    return memcmp(st->text + p->offset, p->text, p->len) == 0 && p->line == mr_json_line(st->text, p->offset);
}

static medreg_err streamed_member(void *ctx, const mr_json_piece *key, const mr_json_piece *value)
{
    streamed *st = ctx;
    json_t *k = json_loadb(key->text, key->len, WALK_FLAGS, NULL), *v = json_loadb(value->text, value->len, WALK_FLAGS, NULL);
    const char *name = json_string_value(k);
    int ok = name != NULL && v != NULL && json_object_get(st->obj, name) == NULL &&
             !(st->bulk_seen && strcmp(name, "batches") == 0) && json_object_set(st->obj, name, v) == 0;
    st->misplaced |= !piece_in_place(st, key) || !piece_in_place(st, value);
    json_decref(k);
    json_decref(v);
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

static medreg_err streamed_element(void *ctx, const mr_json_piece *value, size_t index)
{
    streamed *st = ctx;
    json_t *v = json_loadb(value->text, value->len, WALK_FLAGS, NULL);
    int ok = v != NULL && index == json_array_size(st->bulk) && json_array_append(st->bulk, v) == 0;
    st->misplaced |= !piece_in_place(st, value);
    json_decref(v);
    return ok ? MEDREG_OK : MEDREG_ERR_INVALID;
}

/* the object streamed from text, step bytes a read (0: as many as fit); NULL if refused */
static json_t *stream_text(const char *text, size_t len, size_t step, int *misplaced)
{
    streamed st = {text, json_object(), json_array(), 0, 0};
    mr_json_memory m = {text, len, 0, step};
    mr_json_source src = {mr_json_memory_read, &m};
    mr_json_stream_fns fns = {streamed_member, streamed_element, &st};
    char *err = NULL;
    medreg_err rc = mr_json_stream_object(&src, "batches", (size_t)1 << 20, &fns, &st.bulk_seen, &err);
    free(err);
    if (rc == MEDREG_OK && st.bulk_seen &&
        (json_object_get(st.obj, "batches") != NULL || json_object_set(st.obj, "batches", st.bulk) != 0))
        rc = MEDREG_ERR_INVALID;
    json_decref(st.bulk);
    *misplaced = st.misplaced;
    if (rc != MEDREG_OK) {
        json_decref(st.obj);
        return NULL;
    }
    return st.obj;
}

/* Read sizes for the stream: whole, a byte, two, seven at a time */
static const size_t STREAM_STEPS[] = {0, 1, 2, 7};
#define ALL_STEPS 4

/* 1 when the walk, the stream (at the read sizes STREAM_STEPS[first..first
 * + n)) and jansson agree on text; the stream takes objects alone, and
 * jansson's own depth limit, which the stream's pieces meet two levels
 * later, is not its to match */
static int walk_same_at(const char *text, size_t len, size_t first, size_t n)
{
    json_error_t e;
    json_t *whole = json_loadb(text, len, WALK_FLAGS, &e), *walked = walk_text(text, len);
    int same = (whole == NULL && walked == NULL) || (whole != NULL && walked != NULL && json_equal(whole, walked));
    int too_deep = whole == NULL && json_error_code(&e) == json_error_stack_overflow;
    for (size_t i = first; i < first + n && i < ALL_STEPS && same; i++) {
        int misplaced = 0;
        json_t *s = stream_text(text, len, STREAM_STEPS[i], &misplaced);
        if (json_is_object(whole))
            same = s != NULL && json_equal(whole, s);
        else
            same = s == NULL || too_deep;
        same = same && !misplaced;
        json_decref(s);
    }
    json_decref(whole);
    json_decref(walked);
    return same;
}

/* every read size (inline: a user of walk_same_at alone gets no warning) */
static inline int walk_same(const char *text, size_t len)
{
    return walk_same_at(text, len, 0, ALL_STEPS);
}

#endif
