/* mr_hex_into against libsodium's sodium_bin2hex: every byte value in every
 * position of a word, and random strings of every length up to 70 (whole
 * words, a tail, both). mr_parse_u64: what strtoul would have taken and a
 * number from outside must not be (a space, a sign, nothing, a leading
 * zero, one past 2^64 - 1). mr_json_path: a file name that is not UTF-8
 * still makes a JSON string. */
#include <jansson.h>
#include <sodium.h>

#include "../check.h"
#include "../../../src/core/encode.h"

static int same(const uint8_t *p, size_t n)
{
    char want[2 * 70 + 1], got[2 * 70 + 1];
    memset(got, '#', sizeof got);
    sodium_bin2hex(want, sizeof want, p, n);
    mr_hex_into(got, p, n);
    return memcmp(got, want, 2 * n) == 0 && got[2 * n] == '#';
}

int main(void)
{
    uint8_t p[70];
    size_t bad = 0;
    CHECK(sodium_init() >= 0);
    for (unsigned v = 0; v < 256; v++)
        for (size_t at = 0; at < 8; at++) {
            memset(p, 0x5a, 8);
            p[at] = (uint8_t)v;
            bad += !same(p, 8);
        }
    for (size_t n = 0; n <= sizeof p; n++)
        for (int round = 0; round < 20; round++) {
            randombytes_buf(p, sizeof p);
            bad += !same(p, n);
        }
    CHECK(bad == 0);

    uint64_t v = 7;
    CHECK(mr_parse_u64("0", 1, &v) && v == 0);
    CHECK(mr_parse_u64("4711", 4, &v) && v == 4711);
    CHECK(mr_parse_u64("18446744073709551615", 20, &v) && v == UINT64_MAX);
    CHECK(mr_parse_u64("12x", 2, &v) && v == 12); /* only the n bytes given */
    v = 7;
    static const char *const BAD[] = {"", " 5", "5 ", "+5", "-1", "05", "5x", "0x10", "18446744073709551616",
                                      "99999999999999999999", "123456789012345678901"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
        CHECK(!mr_parse_u64(BAD[i], strlen(BAD[i]), &v) && v == 7);
    /* file names for reports: UTF-8 as it is, other bytes shown as U+FFFD */
    json_t *j = mr_json_path("in/M\xc3\xbcller.dcm");
    CHECK(j && strcmp(json_string_value(j), "in/M\xc3\xbcller.dcm") == 0 && mr_is_utf8("in/M\xc3\xbcller.dcm"));
    json_decref(j);
    j = mr_json_path("in/M\xfcller\xc3.dcm"); /* Latin-1, and a cut sequence */
    CHECK(j && strcmp(json_string_value(j), "in/M\xef\xbf\xbdller\xef\xbf\xbd.dcm") == 0 &&
          !mr_is_utf8("in/M\xfcller.dcm"));
    json_decref(j);
    j = mr_json_path("\xff\xfe");
    CHECK(j && strcmp(json_string_value(j), "\xef\xbf\xbd\xef\xbf\xbd") == 0);
    json_decref(j);
    return TEST_DONE();
}
