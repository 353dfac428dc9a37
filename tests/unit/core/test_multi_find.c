/* mr_multi_find against memmem, needle by needle: random bytes with needles
 * planted at the start, at the very end, overlapping each other, sharing
 * their first four bytes (one bit of the bitmap for several), one longer
 * than the haystack, one shorter than four bytes (never looked for), and
 * needles that are absent; then over many random haystacks and needle sets
 * drawn from a small alphabet, where partial matches are everywhere. */
#include <stdlib.h>
#include <string.h>

#include "../../../src/core/multi_find.h"
#include "../check.h"

static int agrees(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens, size_t k)
{
    uint8_t found[64] = {0};
    if (mr_multi_find(hay, n, needles, lens, NULL, k, found) != MEDREG_OK)
        return 0;
    for (size_t i = 0; i < k; i++) {
        int want = lens[i] >= MR_MULTI_FIND_MIN && memmem(hay, n, needles[i], lens[i]) != NULL;
        if (found[i] != want)
            return 0;
    }
    return 1;
}

int main(void)
{
    static uint8_t hay[1 << 16];
    srand(7);
    for (size_t i = 0; i < sizeof hay; i++)
        hay[i] = (uint8_t)rand();
    const char *needles[] = {"19610307", "Mueller^Juergen", "PID-4711", "Muell", "PID-47119", "ab", "never here",
                             "tail-of-it"};
    size_t lens[8];
    for (int i = 0; i < 8; i++)
        lens[i] = strlen(needles[i]);
    memcpy(hay, "19610307", 8);
    memcpy(hay + 5000, "Mueller^Juergen", 15);
    memcpy(hay + 9000, "PID-4711PID-47119", 17);
    memcpy(hay + 20000, "ab", 2);
    memcpy(hay + sizeof hay - 10, "tail-of-it", 10);
    uint8_t found[8] = {0};
    CHECK(mr_multi_find(hay, sizeof hay, needles, lens, NULL, 8, found) == MEDREG_OK);
    CHECK(found[0] && found[1] && found[2] && found[3] && found[4] && found[7]);
    CHECK(!found[5]); /* too short to be looked for */
    CHECK(!found[6]);
    CHECK(agrees(hay, sizeof hay, needles, lens, 8));
    /* a haystack shorter than every needle, and one of none */
    CHECK(agrees(hay, 3, needles, lens, 8));
    CHECK(agrees(hay, 0, needles, lens, 8));
    const char *whole[] = {"tail-of-it"};
    size_t whole_len[] = {10};
    CHECK(agrees((const uint8_t *)"tail-of-it", 10, whole, whole_len, 1));

    /* a number apart from other digits only; at either end of the
     * haystack it counts */
    const char *num[] = {"20210504"};
    size_t num_len[] = {8};
    uint8_t yes = 1, f1 = 0;
    static const char *const INSIDE = "2.25.124034365447612122021050459191796096596";
    CHECK(mr_multi_find((const uint8_t *)INSIDE, strlen(INSIDE), num, num_len, &yes, 1, &f1) == MEDREG_OK && !f1);
    CHECK(mr_multi_find((const uint8_t *)INSIDE, strlen(INSIDE), num, num_len, NULL, 1, &f1) == MEDREG_OK && f1);
    static const char *const APART[] = {"x20210504.", "20210504", "a 20210504", "20210504 b", "9920210504 20210504"};
    for (size_t i = 0; i < 5; i++) {
        f1 = 0;
        CHECK(mr_multi_find((const uint8_t *)APART[i], strlen(APART[i]), num, num_len, &yes, 1, &f1) == MEDREG_OK && f1);
    }

    /* small alphabet: many partial matches */
    int same = 1;
    for (int round = 0; round < 2000; round++) {
        static char store[32][24];
        const char *ns[32];
        size_t ls[32], k = 1 + (size_t)rand() % 32, n = (size_t)rand() % 3000;
        for (size_t i = 0; i < n; i++)
            hay[i] = (uint8_t)('a' + rand() % 3);
        for (size_t i = 0; i < k; i++) {
            ls[i] = 2 + (size_t)rand() % 20;
            if (n > ls[i] && rand() % 2) /* taken from the haystack */
                memcpy(store[i], hay + (size_t)rand() % (n - ls[i]), ls[i]);
            else
                for (size_t j = 0; j < ls[i]; j++)
                    store[i][j] = (char)('a' + rand() % 3);
            ns[i] = store[i];
        }
        same = same && agrees(hay, n, ns, ls, k);
    }
    CHECK(same);
    return TEST_DONE();
}
