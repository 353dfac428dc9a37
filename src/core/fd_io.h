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

/* Read len bytes at offset; MEDREG_ERR_IO (errno set; EIO if the file
 * ends first) when a read fails. */
MR_MUST_CHECK medreg_err mr_fd_pread_all(int fd, void *buf, size_t len, uint64_t offset);

/* A file read in order to at most left bytes more, for mr_json_source:
 * mr_fd_read_bounded gives up to cap bytes, 0 at the end, -1 on a failed
 * read or past the bound (errno EFBIG). */
typedef struct mr_fd_bounded {
    int fd;
    uint64_t left;
} mr_fd_bounded;
long mr_fd_read_bounded(void *file, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
