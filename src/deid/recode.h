/* Single-byte encodings to UTF-8, for the CSV tool: a hospital's spreadsheet
 * export is often Windows-1252 or ISO 8859-1/-15 rather than UTF-8. Through
 * the C library's iconv; stateless, so a file converts chunk by chunk. */
#ifndef MR_RECODE_H
#define MR_RECODE_H

#include <stddef.h>

#include "../core/safety.h"

typedef struct mr_recode mr_recode;

/* encoding: windows-1252, iso-8859-1 or iso-8859-15 (as written in the
 * configuration). MEDREG_ERR_NOTFOUND for any other name. */
MR_MUST_CHECK medreg_err mr_recode_open(const char *encoding, mr_recode **out);
/* in[0..n) as UTF-8 into out, which has room for 3n bytes (no character of
 * these encodings takes more); returns the bytes written. A byte the
 * encoding leaves undefined is copied as it is: a lone byte >= 0x80 is never
 * valid UTF-8, so its row is rejected like any other invalid text. */
size_t mr_recode_chunk(mr_recode *r, const char *in, size_t n, char *out);
void mr_recode_close(mr_recode *r);

#endif
