#include "date_shift.h"

#include <string.h>

#include "../core/secret.h"

medreg_err mr_date_shift_days(mr_hmac *keyed, const uint8_t *key, const uint8_t psn[32], long *days)
{
    static const char tag[] = "medreg/date-shift/v1";
    const mr_hmac_part parts[] = {{tag, sizeof tag - 1}, {psn, 32}};
    uint8_t mac[32];
    medreg_err rc = keyed ? mr_hmac_parts(keyed, parts, 2, mac) : mr_hmac_once(key, 32, parts, 2, mac);
    if (rc != MEDREG_OK)
        return rc;
    uint32_t v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    mr_wipe(mac, sizeof mac);
    long d = (long)(v % 730);
    *days = d < 365 ? -(d + 1) : d - 364;
    return MEDREG_OK;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (the
 * civil-calendar algorithms of H. Hinnant, "chrono-Compatible Low-Level Date
 * Algorithms"): exact for every year 1..9999, and without the C library's
 * time-zone machinery, which cost a tenth of the CSV tool's time. */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int mr_date_shift_ymd(int y, int m, int d, long days, int *oy, int *om, int *od)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap) || days < -4000000 || days > 4000000)
        return 0;
    long ny, nm, nd;
    civil_from_days(days_from_civil(y, m, d) + days, &ny, &nm, &nd);
    if (ny < 1 || ny > 9999)
        return 0;
    *oy = (int)ny;
    *om = (int)nm;
    *od = (int)nd;
    return 1;
}
