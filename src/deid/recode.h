/* Other encodings to UTF-8, for the CSV tool: a hospital's spreadsheet
 * export is often Windows-1252 or ISO 8859-1/-15 rather than UTF-8, and
 * Windows tools ("Unicode text", bcp -w, Out-File) write UTF-16. Through the
 * C library's iconv, chunk by chunk. */
#ifndef MR_RECODE_H
#define MR_RECODE_H

#include <stddef.h>

#include "../core/safety.h"

typedef struct mr_recode mr_recode;

/* encoding: windows-1252, iso-8859-1, iso-8859-15, utf-16 (the byte order
 * mark decides and is dropped; little-endian without one, as Windows writes
 * it), utf-16le or utf-16be (as written in the configuration).
 * MEDREG_ERR_NOTFOUND for any other name. */
MR_MUST_CHECK medreg_err mr_recode_open(const char *encoding, mr_recode **out);
/* in[0..n) as UTF-8 into out, which has room for 3n bytes (no character of
 * these encodings takes more); returns the bytes written, and in *used the
 * bytes of in consumed: all, but for a UTF-16 character cut at the end of in,
 * which the caller passes again before the next bytes; when last is set
 * (the end of the input), a cut character is converted as an invalid one.
 * A byte or UTF-16 unit the encoding leaves undefined becomes the byte 0xFF,
 * which is never valid UTF-8 (nor a delimiter, quote or line end), so its
 * row is rejected like any other invalid text. */
size_t mr_recode_chunk(mr_recode *r, const char *in, size_t n, int last, char *out, size_t *used);
void mr_recode_close(mr_recode *r);

#endif
