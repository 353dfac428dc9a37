/* Single-byte encodings to UTF-8: each supported encoding's characters that
 * differ (the euro sign where each has one, the last byte), every byte of
 * Windows-1252 through, the bytes it leaves undefined copied raw, the 3n
 * bound, and names refused. */
#include <string.h>

#include "../../../src/deid/recode.h"
#include "../check.h"

static size_t conv(const char *enc, const char *in, size_t n, char *out)
{
    mr_recode *r = NULL;
    if (mr_recode_open(enc, &r) != MEDREG_OK)
        return (size_t)-1;
    size_t len = mr_recode_chunk(r, in, n, out);
    mr_recode_close(r);
    return len;
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
    /* undefined in Windows-1252: copied as they are, between defined bytes */
    n = conv("windows-1252", "a\x81" "b\x8d\x8f\x90\x9d" "c", 8, out);
    CHECK(n == 8 && memcmp(out, "a\x81" "b\x8d\x8f\x90\x9d" "c", 8) == 0);
    /* every byte value at once stays within 3n, and ASCII is unchanged */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    n = conv("windows-1252", all, 256, out);
    CHECK(n > 256 && n <= 3 * 256 && memcmp(out, all, 128) == 0);
    CHECK(conv("windows-1252", "", 0, out) == 0);
    mr_recode *r = NULL;
    CHECK(mr_recode_open("utf-16", &r) == MEDREG_ERR_NOTFOUND && r == NULL);
    CHECK(mr_recode_open("WINDOWS-1252", &r) == MEDREG_ERR_NOTFOUND); /* the configuration's names only */
    mr_recode_close(NULL);
    return TEST_DONE();
}
