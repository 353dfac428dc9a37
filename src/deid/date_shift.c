#include "date_shift.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#include "../core/secret.h"

long mr_date_shift_days(const uint8_t key[32], const uint8_t psn[32])
{
    uint8_t mac[32];
    crypto_auth_hmacsha256_state st;
    static const char tag[] = "medreg/date-shift/v1";
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)tag, sizeof tag - 1);
    crypto_auth_hmacsha256_update(&st, psn, 32);
    crypto_auth_hmacsha256_final(&st, mac);
    uint32_t v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    mr_wipe(&st, sizeof st);
    mr_wipe(mac, sizeof mac);
    long d = (long)(v % 730);
    return d < 365 ? -(d + 1) : d - 364;
}

int mr_date_shift_ymd(int y, int m, int d, long days, int *oy, int *om, int *od)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm;
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12; /* noon: no leap-second or boundary surprises */
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return 0;
    t += (time_t)days * 86400;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return 0;
    *oy = tm.tm_year + 1900;
    *om = tm.tm_mon + 1;
    *od = tm.tm_mday;
    return 1;
}
