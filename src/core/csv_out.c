#include "csv_out.h"

#include <csv.h>
#include <string.h>

#include "byte_scan.h"

/* No quoting needed (spaces at either end would be trimmed by a reader
 * such as libcsv; a tab too, where it is not the separator) */
static int plain(const char *s, size_t n, char sep)
{
    uint64_t special = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = mr_swar_load(s, i, n, 'a');
        special |= mr_swar_eq(x, (unsigned char)sep) | mr_swar_eq(x, '"') | mr_swar_eq(x, '\r') |
                   mr_swar_eq(x, '\n') | mr_swar_zero(x);
    }
    return n > 0 && s[0] != ' ' && s[n - 1] != ' ' && s[0] != '\t' && s[n - 1] != '\t' && !special;
}

void mr_csv_field(FILE *fp, const char *s, size_t n)
{
    if (plain(s, n, ','))
        fwrite(s, 1, n, fp);
    else
        csv_fwrite(fp, s, n);
}

size_t mr_csv_field_buf(char *dst, const char *s, size_t n, char sep)
{
    if (plain(s, n, sep)) {
        memcpy(dst, s, n);
        return n;
    }
    return csv_write(dst, 2 * n + 2, s, n);
}
