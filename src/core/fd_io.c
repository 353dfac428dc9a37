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
