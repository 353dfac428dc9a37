#include "csv_out.h"

#include <csv.h>
#include <string.h>

/* No quoting needed. Counted without an early exit so that the loop
 * vectorises: most fields are short and plain, and this runs on each. */
static int plain(const char *s, size_t n)
{
    unsigned special = 0;
    for (size_t i = 0; i < n; i++)
        special |= (unsigned)(s[i] == ',') | (unsigned)(s[i] == '"') | (unsigned)(s[i] == '\r') |
                   (unsigned)(s[i] == '\n') | (unsigned)(s[i] == 0);
    return n > 0 && s[0] != ' ' && s[n - 1] != ' ' && !special;
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
