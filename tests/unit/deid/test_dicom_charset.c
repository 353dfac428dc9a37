/* Japanese text under ISO 2022 in UTF-8: JIS X 0208 kanji in a person name's
 * ideographic group, half-width katakana (JIS X 0201) in G1, JIS X 0212;
 * the return to the first value's sets at a delimiter; and what is refused:
 * an escape to a set the charset does not declare, a byte no designated set
 * holds, half a character, a code no character has. Which charsets take
 * this path, and which DCMTK's. */
#include <stdlib.h>
#include <string.h>

#include "../../../src/deid/dicom_charset.h"
#include "../check.h"

#define YAMADA "\xe5\xb1\xb1\xe7\x94\xb0" /* 山田 */
#define TAROU "\xe5\xa4\xaa\xe9\x83\x8e"  /* 太郎 */

static char *got;

static medreg_err conv(const char *charset, const char *value, int person_name)
{
    free(got);
    got = NULL;
    return mr_dicom_japanese_to_utf8(charset, value, strlen(value), person_name, &got);
}

int main(void)
{
    CHECK(mr_dicom_charset_japanese("\\ISO 2022 IR 87"));
    CHECK(mr_dicom_charset_japanese("ISO 2022 IR 13\\ISO 2022 IR 87"));
    CHECK(mr_dicom_charset_japanese("ISO 2022 IR 6\\ISO 2022 IR 87\\ISO 2022 IR 159 "));
    CHECK(mr_dicom_charset_japanese("ISO 2022 IR 13"));
    CHECK(!mr_dicom_charset_japanese("ISO 2022 IR 6"));
    CHECK(!mr_dicom_charset_japanese("\\ISO 2022 IR 149")); /* Korean: DCMTK's */
    CHECK(!mr_dicom_charset_japanese("ISO_IR 192"));
    CHECK(!mr_dicom_charset_japanese("ISO 2022 IR 87\\ISO 2022 IR 100"));
    CHECK(!mr_dicom_charset_japanese("\\\\ISO 2022 IR 87")); /* an empty value after the first */

    const char *jp = "\\ISO 2022 IR 87";
    CHECK(conv(jp, "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", 1) == MEDREG_OK);
    CHECK_STR(got, "Yamada^Tarou=" YAMADA "^" TAROU);
    CHECK(conv(jp, "CT \x1b$B;3ED\x1b(B follow-up", 0) == MEDREG_OK);
    CHECK_STR(got, "CT " YAMADA " follow-up");
    CHECK(conv(jp, "\x1b$@;3ED\x1b(B", 0) == MEDREG_OK); /* JIS C 6226-1978's designation, read as JIS X 0208 */
    CHECK_STR(got, YAMADA);
    /* 0x5C inside a two-byte character is not the value delimiter: "ボ" is 0x25 0x5C */
    CHECK(conv(jp, "\x1b$B%\\\x1b(B\\x", 0) == MEDREG_OK);
    CHECK_STR(got, "\xe3\x83\x9c\\x");

    /* half-width katakana in G1 from the first value, across a '^' */
    CHECK(conv("ISO 2022 IR 13\\ISO 2022 IR 87", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3", 1) == MEDREG_OK);
    CHECK_STR(got, "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3");
    /* designated by an escape, G1 holds until a person name's '^' returns to the first value's sets */
    const char *later = "\\ISO 2022 IR 13\\ISO 2022 IR 87";
    CHECK(conv(later, "\x1b)I\xd4^\xd4", 0) == MEDREG_OK);
    CHECK(conv(later, "\x1b)I\xd4^\xd4", 1) == MEDREG_ERR_INVALID);
    CHECK(conv(later, "\x1b)I\xd4\r\n\xd4", 0) == MEDREG_ERR_INVALID); /* a line break too */

    /* JIS X 0212 (0x30 0x21 is U+4E02), only where declared */
    CHECK(conv("\\ISO 2022 IR 87\\ISO 2022 IR 159", "\x1b$(D0!\x1b(B", 0) == MEDREG_OK);
    CHECK_STR(got, "\xe4\xb8\x82");
    CHECK(conv(jp, "\x1b$(D0!\x1b(B", 0) == MEDREG_ERR_INVALID);

    CHECK(conv(jp, "\x1b)I\xd4", 0) == MEDREG_ERR_INVALID);       /* katakana not declared */
    CHECK(conv(jp, "\x1b(J\\", 0) == MEDREG_ERR_INVALID);         /* nor JIS X 0201 Roman */
    CHECK(conv(jp, "\x1b$)C\xb0\xa1", 0) == MEDREG_ERR_INVALID);  /* Korean's escape */
    CHECK(conv(jp, "M\xfcller", 0) == MEDREG_ERR_INVALID);         /* Latin-1 has no place here */
    CHECK(conv(jp, "\x1b$B;3E", 0) == MEDREG_ERR_INVALID);         /* half a character */
    CHECK(conv(jp, "\x1b$B/!\x1b(B", 0) == MEDREG_ERR_INVALID);    /* row 15: no character */
    CHECK(conv(jp, "\x1b", 0) == MEDREG_ERR_INVALID);              /* an escape cut short */
    CHECK(conv("ISO_IR 100", "x", 0) == MEDREG_ERR_INVALID);       /* not Japanese */
    free(got);
    got = NULL;
    CHECK(mr_dicom_japanese_to_utf8(jp, "a\0b", 3, 0, &got) == MEDREG_ERR_INVALID && got == NULL);
    CHECK(conv(jp, "", 0) == MEDREG_OK);
    CHECK_STR(got, "");
    free(got);
    return TEST_DONE();
}
