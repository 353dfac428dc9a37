/* The walk's promise, checked against jansson: walking a text down to its
 * scalars and strings, each piece parsed by jansson alone, accepts exactly
 * the texts jansson accepts whole (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)
 * and gives the same value. Shared by the unit test and the fuzzer. */
#ifndef MR_JSON_WALK_SAME_H
#define MR_JSON_WALK_SAME_H

#include <jansson.h>
#include <string.h>

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

/* 1 when the walk and jansson agree on text */
static int walk_same(const char *text, size_t len)
{
    json_t *whole = json_loadb(text, len, WALK_FLAGS, NULL), *walked = walk_text(text, len);
    int same = (whole == NULL && walked == NULL) || (whole != NULL && walked != NULL && json_equal(whole, walked));
    json_decref(whole);
    json_decref(walked);
    return same;
}

#endif
