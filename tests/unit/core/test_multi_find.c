/* mr_multi_count against a plain count, needle by needle: random bytes with
 * needles planted at the start, at the very end, overlapping each other,
 * sharing their first four bytes (one bit of the bitmap for several), one
 * longer than the haystack, one shorter than four bytes (never looked
 * for), and needles that are absent; then over many random haystacks and
 * needle sets drawn from a small alphabet, where partial and overlapping
 * matches are everywhere, whole and in windows; and read in overlapping
 * pieces as deid verify reads a file, every occurrence counted once. */
#include <stdlib.h>
#include <string.h>

#include "../../../src/core/multi_find.h"
#include "../check.h"

static int digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Occurrences ending in (from, to], counted one position at a time. */
static uint32_t plain_count(const uint8_t *hay, size_t n, const char *needle, size_t len, int apart, size_t from,
                            size_t to)
{
    uint32_t c = 0;
    if (len < MR_MULTI_FIND_MIN)
        return 0;
    for (size_t at = 0; at + len <= n; at++)
        if (at + len > from && at + len <= to && memcmp(hay + at, needle, len) == 0 &&
            !(apart && ((at > 0 && digit(hay[at - 1])) || (at + len < n && digit(hay[at + len])))))
            c++;
    return c;
}

static int agrees(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens, const uint8_t *apart,
                  size_t k, size_t from, size_t to)
{
    uint32_t counts[64] = {0};
    if (mr_multi_count(hay, n, needles, lens, apart, k, from, to, counts) != MEDREG_OK)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (counts[i] != plain_count(hay, n, needles[i], lens[i], apart && apart[i], from, to < n ? to : n))
            return 0;
    return 1;
}

/* hay read in pieces of `piece` bytes, each behind the last longest + 1 of
 * the one before, counted as dicom_verify.c's raw scan counts: the same
 * as the whole at once. */
static int pieces_agree(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens,
                        const uint8_t *apart, size_t k, size_t piece)
{
    static uint8_t buf[1 << 14];
    uint32_t whole[64] = {0}, parts[64] = {0};
    size_t longest = 0, have = 0, from = 0, at = 0;
    for (size_t i = 0; i < k; i++)
        longest = lens[i] > longest ? lens[i] : longest;
    if (mr_multi_count(hay, n, needles, lens, apart, k, 0, n, whole) != MEDREG_OK)
        return 0;
    for (;;) {
        size_t got = n - at < piece ? n - at : piece;
        if (got == 0) {
            if (mr_multi_count(buf, have, needles, lens, apart, k, from, have, parts) != MEDREG_OK)
                return 0;
            break;
        }
        memcpy(buf + have, hay + at, got);
        at += got;
        have += got;
        if (mr_multi_count(buf, have, needles, lens, apart, k, from, have - 1, parts) != MEDREG_OK)
            return 0;
        size_t keep = have < longest + 1 ? have : longest + 1;
        memmove(buf, buf + have - keep, keep);
        from = keep - 1;
        have = keep;
    }
    return memcmp(whole, parts, sizeof whole) == 0;
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
    memcpy(hay + 7000, "Mueller^Juergen", 15);
    memcpy(hay + 9000, "PID-4711PID-47119", 17);
    memcpy(hay + 20000, "ab", 2);
    memcpy(hay + sizeof hay - 10, "tail-of-it", 10);
    uint32_t counts[8] = {0};
    CHECK(mr_multi_count(hay, sizeof hay, needles, lens, NULL, 8, 0, sizeof hay, counts) == MEDREG_OK);
    CHECK(counts[0] == 1 && counts[1] == 2 && counts[2] == 2 && counts[3] == 2 && counts[4] == 1 && counts[7] == 1);
    CHECK(counts[5] == 0); /* too short to be looked for */
    CHECK(counts[6] == 0);
    CHECK(agrees(hay, sizeof hay, needles, lens, NULL, 8, 0, sizeof hay));
    /* a window: what ends at 5015 (the first name) is in (5014, 9000], not in (5015, ...] */
    CHECK(agrees(hay, sizeof hay, needles, lens, NULL, 8, 5014, 9000));
    CHECK(agrees(hay, sizeof hay, needles, lens, NULL, 8, 5015, 9017));
    /* a haystack shorter than every needle, and one of none */
    CHECK(agrees(hay, 3, needles, lens, NULL, 8, 0, 3));
    CHECK(agrees(hay, 0, needles, lens, NULL, 8, 0, 0));
    const char *whole[] = {"tail-of-it"};
    size_t whole_len[] = {10};
    CHECK(agrees((const uint8_t *)"tail-of-it", 10, whole, whole_len, NULL, 1, 0, 10));
    CHECK(agrees((const uint8_t *)"tail-of-it", 10, whole, whole_len, NULL, 1, 0, 9));

    /* a number apart from other digits only; at either end of the
     * haystack it counts */
    const char *num[] = {"20210504"};
    size_t num_len[] = {8};
    uint8_t yes = 1;
    uint32_t c1 = 0;
    static const char *const INSIDE = "2.25.124034365447612122021050459191796096596";
    CHECK(mr_multi_count((const uint8_t *)INSIDE, strlen(INSIDE), num, num_len, &yes, 1, 0, 99, &c1) == MEDREG_OK &&
          c1 == 0);
    CHECK(mr_multi_count((const uint8_t *)INSIDE, strlen(INSIDE), num, num_len, NULL, 1, 0, 99, &c1) == MEDREG_OK &&
          c1 == 1);
    static const char *const APART[] = {"x20210504.", "20210504", "a 20210504", "20210504 b", "9920210504 20210504"};
    for (size_t i = 0; i < 5; i++) {
        c1 = 0;
        CHECK(mr_multi_count((const uint8_t *)APART[i], strlen(APART[i]), num, num_len, &yes, 1, 0, 99, &c1) ==
                  MEDREG_OK &&
              c1 == 1);
    }

    /* small alphabet (digits among it): many partial and overlapping matches */
    int same = 1, same_pieces = 1;
    for (int round = 0; round < 2000; round++) {
        static char store[32][24];
        const char *ns[32];
        size_t ls[32], k = 1 + (size_t)rand() % 32, n = (size_t)rand() % 3000;
        uint8_t ap[32];
        for (size_t i = 0; i < n; i++)
            hay[i] = (uint8_t)("ab1"[rand() % 3]);
        for (size_t i = 0; i < k; i++) {
            ls[i] = 2 + (size_t)rand() % 20;
            if (n > ls[i] && rand() % 2) /* taken from the haystack */
                memcpy(store[i], hay + (size_t)rand() % (n - ls[i]), ls[i]);
            else
                for (size_t j = 0; j < ls[i]; j++)
                    store[i][j] = "ab1"[rand() % 3];
            ns[i] = store[i];
            ap[i] = (uint8_t)(rand() % 2);
        }
        size_t from = n ? (size_t)rand() % n : 0, to = from + (size_t)rand() % (n + 1);
        same = same && agrees(hay, n, ns, ls, NULL, k, 0, n) && agrees(hay, n, ns, ls, ap, k, 0, n) &&
               agrees(hay, n, ns, ls, ap, k, from, to);
        same_pieces = same_pieces && pieces_agree(hay, n, ns, ls, ap, k, 1 + (size_t)rand() % 64);
    }
    CHECK(same);
    CHECK(same_pieces);
    return TEST_DONE();
}
