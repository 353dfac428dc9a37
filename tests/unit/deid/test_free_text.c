/* Whole words in normalised text: at the start, the end, between spaces;
 * never inside a longer word; a later whole occurrence after one that is
 * not; values of several words. Finding a value in any case: ASCII, UTF-8
 * (a capital umlaut), Latin-1 bytes (DICOM's ISO_IR 100), the span in the
 * text's own bytes. */
#include <string.h>

#include "../../../src/deid/free_text.h"
#include "../check.h"

static int holds(const char *t, const char *v) { return mr_text_holds(t, strlen(t), v, strlen(v)); }

int main(void)
{
    CHECK(holds("muller", "muller"));
    CHECK(holds("pt muller called", "muller"));
    CHECK(holds("muller called", "muller"));
    CHECK(holds("called muller", "muller"));
    CHECK(holds("mullerian duct then muller", "muller")); /* the second occurrence is a word */
    CHECK(holds("call 41 44 123 today", "41 44 123"));
    CHECK(!holds("mullerian duct", "muller"));
    CHECK(!holds("sleep study", "lee"));
    CHECK(!holds("41 44 1234", "41 44 123"));
    CHECK(!holds("mul", "muller"));
    CHECK(!holds("", "muller"));
    CHECK(!holds("muller", ""));

    size_t at = 9, len = 9;
    CHECK(mr_text_casefind("CT of MULLER", 12, "muller", 6, &at, &len) && at == 6 && len == 6);
    CHECK(mr_text_casefind("CT of M\xc3\x9cLLER hip", 16, "M\xc3\xbcller", 7, &at, &len) && at == 6 && len == 7);
    CHECK(mr_text_casefind("CT of M\xdcLLER", 12, "M\xfcller", 6, &at, &len) && at == 6 && len == 6); /* Latin-1 */
    CHECK(mr_text_casefind("J\xc3\xbcrgen", 7, "J\xc3\x9cRGEN", 7, &at, &len) && at == 0 && len == 7); /* at the end */
    CHECK(!mr_text_casefind("CT of Muller", 12, "M\xc3\xbcller", 7, &at, &len)); /* the umlaut still counts */
    /* Greek: "ΠΑΠΑΔΌΠΟΥΛΟΣ" for the name "Παπαδόπουλος", whose final sigma has a lower case of its own */
    const char *greek_upper = "CT \xce\xa0\xce\x91\xce\xa0\xce\x91\xce\x94\xce\x8c\xce\xa0\xce\x9f\xce\xa5\xce\x9b"
                              "\xce\x9f\xce\xa3 hip";
    const char *greek_name = "\xce\xa0\xce\xb1\xcf\x80\xce\xb1\xce\xb4\xcf\x8c\xcf\x80\xce\xbf\xcf\x85\xce\xbb"
                             "\xce\xbf\xcf\x82";
    CHECK(mr_text_casefind(greek_upper, strlen(greek_upper), greek_name, strlen(greek_name), &at, &len) && at == 3 &&
          len == 24);
    CHECK(!mr_text_casefind("Mu", 2, "Muller", 6, &at, &len));
    /* letters outside ASCII whose folding is an ASCII letter (the Kelvin
     * sign, the long s) meet it either way round: ASCII takes a shorter road */
    CHECK(mr_text_casefind("Dr \xe2\x84\xaa" "ELVIN", 11, "kelvin", 6, &at, &len) && at == 3 && len == 8);
    CHECK(mr_text_casefind("kelvin", 6, "\xe2\x84\xaa" "elvin", 8, &at, &len) && at == 0 && len == 6);
    CHECK(mr_text_casefind("Ka\xc5\xbfper", 7, "KASPER", 6, &at, &len) && at == 0 && len == 7);
    CHECK(!mr_text_casefind("anything", 8, "", 0, &at, &len));
    return TEST_DONE();
}
