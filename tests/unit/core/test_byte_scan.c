/* The word-at-a-time masks against byte-by-byte loops: every byte value at
 * every position of strings of every length up to 24 (whole words, a tail,
 * and both), on top of backgrounds that put carries next to the byte. */
#include "../check.h"
#include "../../../src/core/byte_scan.h"

static size_t count_eq(const char *p, size_t n, unsigned char c, int zero)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = mr_swar_load(p, i, n, 'a');
        k += (size_t)__builtin_popcountll(zero ? mr_swar_zero(x) : mr_swar_eq(x, c));
    }
    return k;
}

int main(void)
{
    static const unsigned char backgrounds[] = {'a', 0x00, 0x01, 0x7f, 0x80, 0xff, '\n' + 1, '\n' - 1};
    char s[24];
    size_t bad = 0, cases = 0;
    for (size_t bg = 0; bg < sizeof backgrounds; bg++)
        for (size_t n = 0; n <= sizeof s; n++)
            for (size_t at = 0; at < (n ? n : 1); at++)
                for (unsigned v = 0; v < 256; v++) {
                    memset(s, backgrounds[bg], sizeof s);
                    if (n)
                        s[at] = (char)v;
                    size_t zeros = 0, lfs = 0, commas = 0;
                    for (size_t i = 0; i < n; i++) {
                        zeros += s[i] == 0;
                        lfs += s[i] == '\n';
                        commas += s[i] == ',';
                    }
                    bad += count_eq(s, n, 0, 1) != zeros;
                    bad += count_eq(s, n, '\n', 0) != lfs;
                    bad += count_eq(s, n, ',', 0) != commas;
                    cases++;
                }
    CHECK(cases > 100000);
    CHECK(bad == 0);
    /* the padding of a tail is what the caller says, never memory beyond it */
    for (size_t n = 1; n < 8; n++) {
        const char *t = "abcdefg";
        uint64_t x = mr_swar_load(t, 0, n, 'z');
        CHECK(__builtin_popcountll(mr_swar_eq(x, 'z')) == (int)(8 - n));
        CHECK(__builtin_popcountll(mr_swar_eq(x, 'a')) == 1 && __builtin_popcountll(mr_swar_eq(x, t[n - 1])) == 1);
    }
    return TEST_DONE();
}
