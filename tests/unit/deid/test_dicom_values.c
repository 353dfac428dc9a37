/* A file's identifying values out of free text, and found in an output, by
 * the same rules: a value of six bytes or more wherever it stands and in any
 * case; a shorter one of three or more only as a word of its own ("Eva"
 * leaves "Evaluation" alone, not "CT Eva, hip"); a two-byte one only as a
 * whole component, and never cleaned out of text. */
#include <stdlib.h>
#include <string.h>

#include "../../../src/deid/dicom_values.h"
#include "../check.h"

static char *last;

static char *clean(const mr_dcm_tokens *t, const char *text)
{
    free(last);
    last = mr_dcm_tokens_clean(t, text);
    return last;
}

int main(void)
{
    char *v[] = {"M\xc3\xbcller", "Eva", "PX"}; /* longest first, as collected */
    mr_dcm_tokens t = {v, 3, 3};

    CHECK_STR(clean(&t, "CT of M\xc3\x9cLLER hip"), "CT of  hip");
    CHECK_STR(clean(&t, "M\xc3\xbcllerstrasse 1"), "strasse 1"); /* long: anywhere */
    CHECK_STR(clean(&t, "Evaluation of hip"), "Evaluation of hip");
    CHECK_STR(clean(&t, "CT EVA, hip"), "CT , hip");
    CHECK_STR(clean(&t, "Eva-Maria"), "-Maria");
    CHECK_STR(clean(&t, "Evaluation for Eva"), "Evaluation for "); /* the word after the part */
    CHECK_STR(clean(&t, "Eva2 \xc3\xa9va Eva\xc3\xa9"), "Eva2 \xc3\xa9va Eva\xc3\xa9"); /* digits, letters beyond ASCII */
    CHECK_STR(clean(&t, "PX scan"), "PX scan");                                /* two bytes: not cleaned */

    CHECK(mr_dcm_tokens_found(&t, "Kontrolle M\xc3\x9cLLER"));
    CHECK(mr_dcm_tokens_found(&t, "CT eva hip"));
    CHECK(mr_dcm_tokens_found(&t, "Eva"));
    CHECK(!mr_dcm_tokens_found(&t, "Evaluation"));
    CHECK(!mr_dcm_tokens_found(&t, "Medieval"));
    CHECK(mr_dcm_tokens_found(&t, "AB\\px"));   /* a whole component */
    CHECK(!mr_dcm_tokens_found(&t, "PX scan")); /* not a component */
    CHECK(!mr_dcm_tokens_found(&t, "CT of hip"));
    free(last);
    return TEST_DONE();
}
