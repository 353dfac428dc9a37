/* Bounded byte buffers. Every untrusted byte string is read through an
 * mr_reader (each read checks the remaining length) and every wire structure
 * is built with an mr_writer that refuses to grow past its fixed maximum. */
#ifndef MR_BUF_H
#define MR_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h"

typedef struct mr_reader {
    const uint8_t *p;
    size_t len, off;
} mr_reader;

typedef struct mr_writer {
    uint8_t *p;
    size_t len, cap, max;
} mr_writer;

static inline mr_reader mr_reader_of(const void *p, size_t len)
{
    mr_reader r = {p, len, 0};
    return r;
}

MR_MUST_CHECK medreg_err mr_read_u8(mr_reader *r, uint8_t *v);
MR_MUST_CHECK medreg_err mr_read_u32(mr_reader *r, uint32_t *v);
MR_MUST_CHECK medreg_err mr_read_u64(mr_reader *r, uint64_t *v);
MR_MUST_CHECK medreg_err mr_read_bytes(mr_reader *r, void *dst, size_t n);
/* u32 length then bytes, at most max; *out points into the reader's memory. */
MR_MUST_CHECK medreg_err mr_read_lp(mr_reader *r, size_t max, const uint8_t **out, size_t *len);
/* The reader must be exhausted. */
MR_MUST_CHECK medreg_err mr_read_end(const mr_reader *r);

void mr_writer_init(mr_writer *w, size_t max);
/* Wipe and free the writer's memory. */
void mr_writer_free(mr_writer *w);
MR_MUST_CHECK medreg_err mr_write_u8(mr_writer *w, uint8_t v);
MR_MUST_CHECK medreg_err mr_write_u32(mr_writer *w, uint32_t v);
MR_MUST_CHECK medreg_err mr_write_u64(mr_writer *w, uint64_t v);
MR_MUST_CHECK medreg_err mr_write_bytes(mr_writer *w, const void *src, size_t n);
MR_MUST_CHECK medreg_err mr_write_lp(mr_writer *w, const void *src, size_t n);
/* libcurl's write callback (CURLOPT_WRITEFUNCTION) into the mr_writer given
 * as its data: past the writer's maximum, or without memory, it takes
 * nothing, and curl stops the transfer with an error. */
size_t mr_writer_take(char *p, size_t size, size_t n, void *writer);
/* End w's bytes with a NUL and hand them over as a string (*len without
 * the NUL); w is empty afterwards. */
MR_MUST_CHECK medreg_err mr_writer_string(mr_writer *w, char **out, size_t *len);

#endif
