#include "csv_out.h"

#include <csv.h>
#include <string.h>

static int plain(const char *s, size_t n)
{
    int ok = n > 0 && s[0] != ' ' && s[n - 1] != ' ';
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] != ',' && s[i] != '"' && s[i] != '\r' && s[i] != '\n' && s[i] != 0;
    return ok;
}

void mr_csv_field(FILE *fp, const char *s, size_t n)
{
    if (plain(s, n))
        fwrite(s, 1, n, fp);
    else
        csv_fwrite(fp, s, n);
}

size_t mr_csv_field_buf(char *dst, const char *s, size_t n)
{
    if (plain(s, n)) {
        memcpy(dst, s, n);
        return n;
    }
    return csv_write(dst, 2 * n + 2, s, n);
}
