/* The JSON walk (json_walk.h) and stream (json_stream.h) against jansson:
 * crafted texts at every edge of strings, brackets and separators, then a
 * hundred thousand mutations of a file like the ones medreg walks; each
 * accepted or refused alike, and the same value when accepted, whatever the
 * stream's read size. Then the stream's bounds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "json_walk_same.h"

static int same(const char *s)
{
    int ok = walk_same(s, strlen(s));
    if (!ok)
        fprintf(stderr, "  differs: %s\n", s);
    return ok;
}

static medreg_err count_member(void *ctx, const mr_json_piece *key, const mr_json_piece *value)
{
    (void)key;
    (void)value;
    ++*(size_t *)ctx;
    return MEDREG_OK;
}

static medreg_err count_element(void *ctx, const mr_json_piece *value, size_t index)
{
    (void)value;
    (void)index;
    ++*((size_t *)ctx + 1);
    return MEDREG_OK;
}

static long broken_read(void *ctx, char *buf, size_t cap)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    errno = EIO;
    return -1;
}

/* a file larger than every window, a piece longer than the bound, a read
 * that fails */
static void test_stream_bounds(void)
{
    size_t n = 200000, len = 0, counts[2] = {0, 0}, cap = 16 * n + 64;
    char *big = malloc(cap), *err = NULL;
    int seen = 0;
    CHECK(big != NULL);
    if (big == NULL)
        return;
    len += (size_t)snprintf(big, cap, "{\"a\":1,\"batches\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s\"%08zu\"", i ? "," : "", i);
    len += (size_t)snprintf(big + len, cap - len, "],\"z\":2}");
    mr_json_memory m = {big, len, 0, 0};
    mr_json_source src = {mr_json_memory_read, &m};
    mr_json_stream_fns fns = {count_member, count_element, counts};
    CHECK(mr_json_stream_object(&src, "batches", 64, &fns, &seen, &err) == MEDREG_OK && seen && err == NULL);
    CHECK(counts[0] == 2 && counts[1] == n);
    CHECK(walk_same_at(big, len, 0, 1)); /* and jansson agrees (read whole: a byte a read is slow here) */

    /* one element of 100,000 bytes: refused under a bound of 99,999, taken at 100,000 */
    len = (size_t)snprintf(big, cap, "{\"batches\":[\"");
    memset(big + len, 'x', 99998);
    len += 99998;
    len += (size_t)snprintf(big + len, cap - len, "\"]}");
    m = (mr_json_memory){big, len, 0, 0};
    CHECK(mr_json_stream_object(&src, "batches", 99999, &fns, &seen, &err) == MEDREG_ERR_INVALID && err &&
          strstr(err, "a value longer than 99999 bytes"));
    free(err);
    err = NULL;
    m = (mr_json_memory){big, len, 0, 0};
    CHECK(mr_json_stream_object(&src, "batches", 100000, &fns, &seen, &err) == MEDREG_OK);

    mr_json_source broken = {broken_read, NULL};
    CHECK(mr_json_stream_object(&broken, "batches", 64, &fns, &seen, &err) == MEDREG_ERR_IO && err == NULL);
    m = (mr_json_memory){"{\"a\":\n1 2}", 10, 0, 1};
    CHECK(mr_json_stream_object(&src, "batches", 64, &fns, &seen, &err) == MEDREG_ERR_INVALID && err &&
          strstr(err, "line 2: ',' or '}' expected"));
    free(err);
    free(big);
}

int main(void)
{
    static const char *const CASES[] = {
        "{}", "[]", "{ }", " [ ] ", "\"\"", "0", "-1.5e3", "true", "null", "nul", "tru e", "01",
        "{\"a\":1}", "{\"a\" : [1, 2, {\"b\": null}] , \"c\":\"d\"}", "\n{\r\n\t\"a\":\t1\n}\n",
        "[\"]\", \"}\", \"\\\"]\", \"\\\\\"]", "{\"a\\\"}\":\"[{\"}", "[\"\\u005d\"]", "{\"\\u0061\":1,\"a\":2}",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":2}}", "[{\"a\":1,\"a\":1}]",
        "{\"a\":1,}", "[1,]", "[,1]", "[,]", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{:1}", "{1:2}",
        "[1 2]", "[1,,2]", "{\"a\":1 \"b\":2}", "[1:2]", "{\"a\"::1}", "[}", "{]", "[[]", "[]]", "{\"a\":[}]",
        "[\"abc]", "[\"abc\\\"]", "\"\\", "{\"a\":1}x", "{\"a\":1} {}", "[1]]", "[1] ", "", " ", "[",
        "[1\"a\"]", "[\"a\"1]", "[\"a\"\"b\"]", "[truefalse]", "[true,false,null]", "[1e5,-0,0.5]",
        "[\"\x01\"]", "[\"\\u0000\"]", "[\"\xff\"]", "[\"\xc3\xa9\"]", "\xef\xbb\xbf{}", "[\"a\"\x00]",
        "{\"format\":\"medreg-oprf-response/v1\",\"batches\":[{\"blinded\":[\"x\"],\"proof\":\"y\"},[],{}]}",
        /* the stream's bulk array at its edges */
        "{\"batches\":[]}", "{\"batches\" : [ ] }", "{\"batches\":[1]}", "{\"batches\":[1,]}",
        "{\"batches\":[,1]}", "{\"batches\":[1 2]}", "{\"batches\":[1],\"batches\":[2]}",
        "{\"batches\":5,\"batches\":[2]}", "{\"batches\":[2],\"batches\":5}", "{\"batches\":{}}",
        "{\"batch\\u0065s\":[1,2]}", "{\"batches\":[1,2],\"a\":3}", "{\"a\":3,\"batches\":[[1],{\"b\":[]}]}",
        "{\"batches\":[1]", "{\"batches\":[1]}}", "{\"batches\":[\"]\"]}", "{\"batches\"[1]}",
        "{\"a\":1}\n\n", "{\"a\":12345}", "{\"a\":123 45}", "{\"a\":tru}", "{\"a\":nulls}",
        "{\n\"a\":\n[\n1\n]\n,\n\"batches\"\n:\n[\n{\n}\n,\n\"\\n\"\n]\n}",
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        CHECK(same(CASES[i]));
    CHECK(walk_same("[\"a\"\x00]", 6)); /* a NUL between pieces */
    CHECK(walk_same("{\"a\x00\":1}", 9));

    /* nesting at jansson's depth limit and one past it */
    static char deep[2 * 2050 + 1];
    for (int d = 2047; d <= 2049; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        CHECK(walk_same(deep, 2 * (size_t)d));
    }

    /* mutations: one to three bytes of a response-like file replaced by
     * bytes that matter to the structure */
    static const char SEED[] =
        "{\"format\": \"medreg-oprf-response/v1\", \"module\": \"hip\", \"key_id\": 7,\n"
        " \"batches\": [{\"blinded\": [\"AQgP\", \"Fh0k\"], \"evaluated\": [\"KzI5\", \"QEdO\"],\n"
        "   \"proof\": \"VVxj\\\"a\\\\\"}, {\"x\": [true, false, null, -1.5e-3, {}], \"y\": \"\\u00e9]\"}]}";
    static const char BYTES[] = "{}[]\",:\\ \n0-eatu\x00\xc3";
    unsigned long long state = 88172645463325252ull;
    char buf[sizeof SEED];
    int differs = 0;
    for (int round = 0; round < 100000; round++) {
        memcpy(buf, SEED, sizeof SEED);
        int edits = 1 + round % 3;
        for (int e = 0; e < edits; e++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            buf[state % (sizeof SEED - 1)] = BYTES[(state >> 32) % (sizeof BYTES - 1)];
        }
        size_t len = sizeof SEED - 1 - (round % 5 == 0 ? (state >> 40) % 8 : 0); /* sometimes cut short */
        if (!walk_same_at(buf, len, (size_t)round % ALL_STEPS, 1) && differs++ < 5) /* a read size a round */
            fprintf(stderr, "  differs: %.*s\n", (int)len, buf);
    }
    CHECK(differs == 0);
    test_stream_bounds();
    return TEST_DONE();
}
