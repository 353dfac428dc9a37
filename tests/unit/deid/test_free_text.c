/* Whole words in normalised text: at the start, the end, between spaces;
 * never inside a longer word; a later whole occurrence after one that is
 * not; values of several words. */
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
    return TEST_DONE();
}
