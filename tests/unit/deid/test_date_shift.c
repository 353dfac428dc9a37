/* The date shift's calendar arithmetic against the C library's timegm and
 * gmtime (an independent computation): every year 1..9999, every month,
 * every tenth day (the invalid 29th–31st included), shifts across the whole
 * ±365-day range and beyond; and the per-patient shift stays in its range. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../src/deid/date_shift.h"
#include "../check.h"

int main(void)
{
    static const long shifts[] = {-4000, -730, -365, -60, -1, 0, 1, 59, 365, 366, 4000};
    long differ = 0, n = 0;
    for (int y = 1; y <= 9999; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d += 10)
                for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
                    struct tm tm, o;
                    memset(&tm, 0, sizeof tm);
                    tm.tm_year = y - 1900, tm.tm_mon = m - 1, tm.tm_mday = d, tm.tm_hour = 12;
                    time_t t = timegm(&tm) + (time_t)shifts[i] * 86400;
                    int want = tm.tm_mday == d && gmtime_r(&t, &o) != NULL && o.tm_year + 1900 >= 1 &&
                               o.tm_year + 1900 <= 9999;
                    int oy = 0, om = 0, od = 0, got = mr_date_shift_ymd(y, m, d, shifts[i], &oy, &om, &od);
                    n++;
                    if (got != want || (got && (oy != o.tm_year + 1900 || om != o.tm_mon + 1 || od != o.tm_mday)))
                        differ++;
                }
    CHECK(n > 1000000);
    CHECK(differ == 0);
    int y, m, d;
    CHECK(!mr_date_shift_ymd(2023, 2, 29, 0, &y, &m, &d)); /* not a date */
    CHECK(!mr_date_shift_ymd(9999, 12, 31, 1, &y, &m, &d)); /* beyond year 9999 */
    CHECK(mr_date_shift_ymd(2024, 2, 28, 1, &y, &m, &d) && y == 2024 && m == 2 && d == 29);
    uint8_t key[32] = {1}, psn[32];
    mr_hmac *keyed = NULL;
    CHECK(mr_hmac_new(key, sizeof key, &keyed) == MEDREG_OK);
    for (int i = 0; i < 1000; i++) {
        long s = 0, s2 = 1;
        memset(psn, i & 0xff, sizeof psn);
        psn[1] = (uint8_t)(i >> 8);
        CHECK(mr_date_shift_days(NULL, key, psn, &s) == MEDREG_OK);
        CHECK(s != 0 && s >= -365 && s <= 365);
        /* the key in a context gives the same shift as the key used once */
        CHECK(mr_date_shift_days(keyed, NULL, psn, &s2) == MEDREG_OK && s2 == s);
    }
    mr_hmac_free(keyed);
    return TEST_DONE();
}
