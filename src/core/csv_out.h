/* Writing RFC 4180 fields: quoted (through libcsv) only when they need it. */
#ifndef MR_CSV_OUT_H
#define MR_CSV_OUT_H

#include <stddef.h>
#include <stdio.h>

void mr_csv_field(FILE *fp, const char *s, size_t n);
/* The same into dst, which has room for 2n + 2 bytes, for fields separated
 * by sep (',' in RFC 4180); returns the bytes written. */
size_t mr_csv_field_buf(char *dst, const char *s, size_t n, char sep);

#endif
