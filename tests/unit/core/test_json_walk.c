/* The JSON walk (json_walk.h) against jansson: crafted texts at every edge
 * of strings, brackets and separators, then a hundred thousand mutations of
 * a file like the ones medreg walks; each accepted or refused alike, and
 * the same value when accepted. */
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
        if (!walk_same(buf, len) && differs++ < 5)
            fprintf(stderr, "  differs: %.*s\n", (int)len, buf);
    }
    CHECK(differs == 0);
    return TEST_DONE();
}
