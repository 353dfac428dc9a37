/* Other encodings to UTF-8: each single-byte encoding's characters that
 * differ (the euro sign where each has one, the last byte), every byte of
 * Windows-1252 through, the bytes it leaves undefined marked invalid, the 3n
 * bound; UTF-16 in both byte orders, its byte order mark, a character cut
 * between chunks, a lone surrogate; and names refused. */
#include <string.h>

#include "../../../src/deid/recode.h"
#include "../check.h"

/* in[0..n) in one chunk, the end of the input */
static size_t conv(const char *enc, const char *in, size_t n, char *out)
{
    mr_recode *r = NULL;
    size_t used = 0;
    if (mr_recode_open(enc, &r) != MEDREG_OK)
        return (size_t)-1;
    size_t len = mr_recode_chunk(r, in, n, 1, out, &used);
    mr_recode_close(r);
    return used == n ? len : (size_t)-1;
}

int main(void)
{
    char out[3 * 256 + 8];
    size_t n = conv("windows-1252", "M\xfcller 5\x80", 9, out);
    CHECK(n == 12 && memcmp(out, "M\xc3\xbcller 5\xe2\x82\xac", 12) == 0);
    n = conv("iso-8859-1", "\xa4\xff", 2, out); /* the currency sign, y with diaeresis */
    CHECK(n == 4 && memcmp(out, "\xc2\xa4\xc3\xbf", 4) == 0);
    n = conv("iso-8859-15", "\xa4", 1, out); /* the euro sign in Latin-9 */
    CHECK(n == 3 && memcmp(out, "\xe2\x82\xac", 3) == 0);
    /* undefined in Windows-1252: each becomes 0xFF, between defined bytes */
    n = conv("windows-1252", "a\x81" "b\x8d\x8f\x90\x9d" "c", 8, out);
    CHECK(n == 8 && memcmp(out, "a\xff" "b\xff\xff\xff\xff" "c", 8) == 0);
    /* every byte value at once stays within 3n, and ASCII is unchanged */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    n = conv("windows-1252", all, 256, out);
    CHECK(n > 256 && n <= 3 * 256 && memcmp(out, all, 128) == 0);
    CHECK(conv("windows-1252", "", 0, out) == 0);

    /* UTF-16: the byte order mark decides (little-endian as Windows writes
     * it, or big-endian), little-endian without one; a character outside the BMP */
    n = conv("utf-16", "\xff\xfe" "M\0\xfc\0;\0", 8, out);
    CHECK(n == 4 && memcmp(out, "M\xc3\xbc;", 4) == 0);
    n = conv("utf-16", "\xfe\xff" "\0M\0\xfc", 6, out);
    CHECK(n == 3 && memcmp(out, "M\xc3\xbc", 3) == 0);
    n = conv("utf-16", "M\0\xfc\0", 4, out);
    CHECK(n == 3 && memcmp(out, "M\xc3\xbc", 3) == 0);
    n = conv("utf-16le", "\xff\xfe" "a\0", 4, out); /* the mark becomes UTF-8's, which the CSV tool skips */
    CHECK(n == 4 && memcmp(out, "\xef\xbb\xbf" "a", 4) == 0);
    n = conv("utf-16be", "\xd8\x3d\xde\x00", 4, out); /* U+1F600 as a surrogate pair: 4 bytes to 4 */
    CHECK(n == 4 && memcmp(out, "\xf0\x9f\x98\x80", 4) == 0);
    /* a lone surrogate, and an odd byte at the very end: 0xFF, never a quote or a delimiter */
    n = conv("utf-16le", "a\0\x00\xdc" "b\0" "\"", 7, out);
    CHECK(n == 4 && memcmp(out, "a\xff" "b\xff", 4) == 0);
    /* a surrogate pair and a unit cut between chunks come whole with the next */
    mr_recode *r = NULL;
    size_t used = 0;
    CHECK(mr_recode_open("utf-16be", &r) == MEDREG_OK);
    n = mr_recode_chunk(r, "\0x\xd8\x3d\xde", 5, 0, out, &used);
    CHECK(n == 1 && out[0] == 'x' && used == 2);
    n = mr_recode_chunk(r, "\xd8\x3d\xde\x00\0y\0", 7, 0, out, &used);
    CHECK(n == 5 && memcmp(out, "\xf0\x9f\x98\x80y", 5) == 0 && used == 6);
    mr_recode_close(r);

    CHECK(mr_recode_open("utf-32", &r) == MEDREG_ERR_NOTFOUND && r == NULL);
    CHECK(mr_recode_open("WINDOWS-1252", &r) == MEDREG_ERR_NOTFOUND); /* the configuration's names only */
    mr_recode_close(NULL);
    return TEST_DONE();
}
