#include "csv_out.h"

#include <csv.h>

void mr_csv_field(FILE *fp, const char *s, size_t n)
{
    int plain = n > 0 && s[0] != ' ' && s[n - 1] != ' ';
    for (size_t i = 0; plain && i < n; i++)
        plain = s[i] != ',' && s[i] != '"' && s[i] != '\r' && s[i] != '\n' && s[i] != 0;
    if (plain)
        fwrite(s, 1, n, fp);
    else
        csv_fwrite(fp, s, n);
}
