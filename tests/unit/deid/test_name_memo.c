/* The normalisation memo gives exactly what medreg_normalize gives: for
 * values seen again, after evictions (far more values than slots), for one
 * value under two rules (the rule is part of what is remembered), for
 * values too long to remember, and for values normalisation refuses. */
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "../../../src/deid/name_memo.h"

static int same(mr_name_memo *m, const medreg_ident_rule *rule, const char *in)
{
    char got[MR_MEMO_VALUE_MAX + 1], *want = NULL;
    medreg_err rw = medreg_normalize(rule, in, strlen(in), &want);
    medreg_err rg = mr_name_memo_normalize(m, rule, in, strlen(in), got);
    int ok = rg == MEDREG_ERR_TOOBIG ? rw != MEDREG_OK || strlen(want) > MR_MEMO_VALUE_MAX || strlen(in) > MR_MEMO_VALUE_MAX
                                     : rg == rw && (rw != MEDREG_OK || strcmp(got, want) == 0);
    free(want);
    return ok;
}

int main(void)
{
    const medreg_ident_rule name = {MEDREG_IDENT_NAME, MEDREG_CHECK_NONE, MEDREG_DATE_DMY},
                            dmy = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE, MEDREG_DATE_DMY},
                            mdy = {MEDREG_IDENT_DATE, MEDREG_CHECK_NONE, MEDREG_DATE_MDY};
    mr_name_memo *m = NULL;
    char v[128];
    int bad = 0;
    CHECK(mr_name_memo_new(&m) == MEDREG_OK && m != NULL);
    if (m == NULL)
        return TEST_DONE();
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 20000; i++) { /* five times the slots */
            snprintf(v, sizeof v, "Müller-%d Zoë", i % (round ? 20000 : 50));
            bad += !same(m, &name, v);
        }
    CHECK(bad == 0);
    /* one value, two rules: 03/04/2001 is the 3rd of April or the 4th of March */
    CHECK(same(m, &dmy, "03/04/2001") && same(m, &mdy, "03/04/2001") && same(m, &dmy, "03/04/2001"));
    char a[MR_MEMO_VALUE_MAX + 1], b[MR_MEMO_VALUE_MAX + 1];
    CHECK(mr_name_memo_normalize(m, &dmy, "03/04/2001", 10, a) == MEDREG_OK &&
          mr_name_memo_normalize(m, &mdy, "03/04/2001", 10, b) == MEDREG_OK && strcmp(a, b) != 0);
    /* too long to remember: the caller normalises itself */
    memset(v, 'a', 100);
    v[100] = 0;
    CHECK(mr_name_memo_normalize(m, &name, v, 100, a) == MEDREG_ERR_TOOBIG);
    /* short, but longer once normalised (a ligature of 18 letters) */
    CHECK(mr_name_memo_normalize(m, &name, "\xef\xb7\xba\xef\xb7\xba\xef\xb7\xba\xef\xb7\xba", 12, a) ==
          MEDREG_ERR_TOOBIG);
    /* refused values stay refused, also the second time */
    for (int round = 0; round < 2; round++) {
        CHECK(mr_name_memo_normalize(m, &name, "", 0, a) == MEDREG_ERR_INVALID);
        CHECK(mr_name_memo_normalize(m, &dmy, "31/02/2001", 10, a) == MEDREG_ERR_INVALID);
        CHECK(mr_name_memo_normalize(m, &name, "---", 3, a) == MEDREG_ERR_INVALID);
    }
    mr_name_memo_free(m);
    mr_name_memo_free(NULL);
    return TEST_DONE();
}
