/* Whole reads and writes on a file descriptor: the loops every caller of
 * read() and write() on a regular file needs (short counts, EINTR). */
#ifndef MR_FD_IO_H
#define MR_FD_IO_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read fd to its end into buf, which holds max + 1 bytes: *len bytes read.
 * MEDREG_ERR_TOOBIG when it holds more than max; MEDREG_ERR_IO (errno set)
 * when a read fails. */
MR_MUST_CHECK medreg_err mr_fd_read_all(int fd, uint8_t *buf, size_t max, size_t *len);

/* Write all len bytes; MEDREG_ERR_IO (errno set; EIO for a write that
 * makes no progress) when one fails. */
MR_MUST_CHECK medreg_err mr_fd_write_all(int fd, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
