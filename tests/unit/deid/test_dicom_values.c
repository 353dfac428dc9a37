/* A file's identifying values out of free text, and found in an output, by
 * the same rules: a value of six bytes or more wherever it stands and in any
 * case; a shorter one of three or more only as a word of its own ("Eva"
 * leaves "Evaluation" alone, not "CT Eva, hip"); a two-byte one only as a
 * whole component, and never cleaned out of text. And ages over 89 years
 * written as Safe Harbor's single category. */
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

    /* a number (a date, an ID of digits) is found apart from other digits
     * only: the 39 random digits of a 2.25 UID may hold any date, once in a
     * few hundred thousand UIDs, and that is no survivor */
    char *nv[] = {"20210504", "M\xc3\xbcller"};
    mr_dcm_tokens nt = {nv, 2, 2};
    CHECK(mr_dcm_token_is_number("20210504") && !mr_dcm_token_is_number("2021-05-04") && !mr_dcm_token_is_number(""));
    CHECK(!mr_dcm_tokens_found(&nt, "2.25.124034365447612122021050459191796096596"));
    CHECK(!mr_dcm_tokens_found(&nt, "320210504"));
    CHECK(!mr_dcm_tokens_found(&nt, "202105041"));
    CHECK(mr_dcm_tokens_found(&nt, "20210504"));
    CHECK(mr_dcm_tokens_found(&nt, "Study of 20210504"));
    CHECK(mr_dcm_tokens_found(&nt, "ID20210504X"));   /* letters around it: still the number */
    CHECK(mr_dcm_tokens_found(&nt, "1.2.20210504.9")); /* in a UID, between its dots */
    CHECK(mr_dcm_tokens_found(&nt, "3202105041 20210504"));
    CHECK(mr_dcm_tokens_found(&nt, "12M\xc3\xbcller34")); /* a name is found anywhere */

    /* ages: 90 years or more become Safe Harbor's "90 or older" */
    static const struct {
        const char *in, *out;
        int changed;
    } AGES[] = {{"089Y", "089Y", 0},  {"090Y", "090Y", 0},  {"091Y", "090Y", 1},       {"105Y ", "090Y", 1},
                {"999Y", "090Y", 1},  {"999M", "999M", 0},  {"999W", "999W", 0},       {"030D", "030D", 0},
                {"", "", 0},          {"045Y\\095Y", "045Y\\090Y", 1}, {" 090Y", "090Y", 0}};
    for (size_t i = 0; i < sizeof AGES / sizeof AGES[0]; i++) {
        char *a = NULL;
        int changed = -1;
        CHECK(mr_dcm_age_aggregate(AGES[i].in, &a, &changed) == MEDREG_OK);
        CHECK_STR(a, AGES[i].out);
        CHECK(changed == AGES[i].changed);
        free(a);
    }
    /* anything else may hold anything: refused, the caller empties it */
    static const char *const NOT_AGES[] = {"95", "95Y", "0950Y", "95 years", "09 Y", "095y", "095A", "M\xc3\xbcller",
                                           "045Y\\old"};
    for (size_t i = 0; i < sizeof NOT_AGES / sizeof NOT_AGES[0]; i++) {
        char *a = (char *)"untouched";
        int changed = -1;
        CHECK(mr_dcm_age_aggregate(NOT_AGES[i], &a, &changed) == MEDREG_ERR_INVALID && a == NULL);
    }
    free(last);
    return TEST_DONE();
}
