#include "fd_io.h"

#include <errno.h>
#include <unistd.h>

medreg_err mr_fd_read_all(int fd, uint8_t *buf, size_t max, size_t *len)
{
    size_t n = 0;
    *len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MEDREG_ERR_IO;
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max)
            return MEDREG_ERR_TOOBIG;
    }
    *len = n;
    return MEDREG_OK;
}

medreg_err mr_fd_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO; /* no progress: neither success nor a stale errno */
        if (w <= 0)
            return MEDREG_ERR_IO;
        p += w;
        len -= (size_t)w;
    }
    return MEDREG_OK;
}

medreg_err mr_fd_pread_all(int fd, void *buf, size_t len, uint64_t offset)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)offset);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = EIO; /* the file ends before: it changed since it was walked */
        if (r <= 0)
            return MEDREG_ERR_IO;
        p += r;
        len -= (size_t)r;
        offset += (uint64_t)r;
    }
    return MEDREG_OK;
}

long mr_fd_read_bounded(void *file, char *buf, size_t cap)
{
    mr_fd_bounded *f = file;
    for (;;) {
        ssize_t r = read(f->fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0 && (uint64_t)r > f->left) {
            errno = EFBIG; /* it grew past its bound while it was read */
            return -1;
        }
        if (r > 0)
            f->left -= (uint64_t)r;
        return (long)r;
    }
}
