/* Internal IDs: random, well-formed; every single-character error is caught
 * by the check character, and all but a small fraction (ISO 7064 hybrid
 * systems: "most", about 0.2 %) of adjacent transpositions. */
#include <sodium.h>
#include <stdlib.h>

#include "../check.h"
#include "medreg/pseudonym.h"

static const char ALPHA[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

int main(void)
{
    char id[MEDREG_INTERNAL_ID_LEN + 1], canon[MEDREG_INTERNAL_ID_LEN + 1], other[MEDREG_INTERNAL_ID_LEN + 1];
    CHECK(sodium_init() >= 0);
    CHECK(medreg_internal_id_new(id) == MEDREG_OK);
    CHECK(strlen(id) == MEDREG_INTERNAL_ID_LEN);
    CHECK(id[4] == '-' && id[9] == '-' && id[14] == '-');
    CHECK(medreg_internal_id_new(other) == MEDREG_OK);
    CHECK(strcmp(id, other) != 0);

    int undetected_sub = 0, undetected_swap = 0, swaps = 0;
    for (int round = 0; round < 200; round++) {
        CHECK(medreg_internal_id_new(id) == MEDREG_OK);
        CHECK(medreg_internal_id_parse(id, canon) == MEDREG_OK);
        CHECK_STR(canon, id);
        /* typed in lower case without dashes */
        char typed[32];
        size_t n = 0;
        for (size_t i = 0; id[i]; i++)
            if (id[i] != '-')
                typed[n++] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
        typed[n] = 0;
        CHECK(medreg_internal_id_parse(typed, canon) == MEDREG_OK);
        CHECK_STR(canon, id);
        /* every substitution of every character */
        for (size_t i = 0; i < n; i++) {
            char t[32];
            memcpy(t, typed, n + 1);
            for (size_t a = 0; a < 36; a++) {
                char ch = ALPHA[a];
                char orig = (char)(typed[i] >= 'a' && typed[i] <= 'z' ? typed[i] - 'a' + 'A' : typed[i]);
                if (ch == orig)
                    continue;
                t[i] = ch;
                if (medreg_internal_id_parse(t, canon) == MEDREG_OK)
                    undetected_sub++;
            }
        }
        /* adjacent transpositions */
        for (size_t i = 0; i + 1 < n; i++) {
            char t[32];
            memcpy(t, typed, n + 1);
            if (t[i] == t[i + 1])
                continue;
            char x = t[i];
            t[i] = t[i + 1];
            t[i + 1] = x;
            swaps++;
            if (medreg_internal_id_parse(t, canon) == MEDREG_OK)
                undetected_swap++;
        }
    }
    CHECK(undetected_sub == 0);
    CHECK(undetected_swap * 200 < swaps); /* under 0.5 % */
    CHECK(medreg_internal_id_parse("", canon) == MEDREG_ERR_INVALID);
    CHECK(medreg_internal_id_parse("ABCD-EFGH-IJKL", canon) == MEDREG_ERR_INVALID);
    CHECK(medreg_internal_id_parse("ABCD-EFGH-IJKL-MN", canon) == MEDREG_ERR_INVALID);
    CHECK(medreg_internal_id_parse("ABCD-EFGH-IJK!-M", canon) == MEDREG_ERR_INVALID);
    CHECK(medreg_internal_id_parse(NULL, canon) == MEDREG_ERR_INVALID);
    return TEST_DONE();
}
