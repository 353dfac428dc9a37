#include "file_kind.h"

#include <fcntl.h>
#include <magic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* the first tag of a bare dataset: (0002,xxxx) or (0008,xxxx), little or
 * big endian */
static int may_start_dataset(const uint8_t *b, ssize_t n)
{
    if (n < 4)
        return 0;
    uint16_t le = (uint16_t)(b[0] | b[1] << 8), be = (uint16_t)(b[0] << 8 | b[1]);
    return le == 0x0002 || le == 0x0008 || be == 0x0002 || be == 0x0008;
}

medreg_err mr_file_not_dicom(const char *path, int *other, char *name, size_t name_len)
{
    uint8_t head[4];
    *other = 0;
    if (name_len)
        name[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MEDREG_ERR_IO;
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n < 0)
        return MEDREG_ERR_IO;
    if (may_start_dataset(head, n))
        return MEDREG_OK;
    /* one libmagic per call: a magic_t is not to be shared between
     * threads, and only files DCMTK refused come here */
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
    if (m == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = MEDREG_OK;
    if (magic_load(m, NULL) != 0) {
        rc = MEDREG_ERR_NOMEM;
        goto out;
    }
    const char *mime = magic_file(m, path);
    if (mime == NULL || !strcmp(mime, "application/dicom") || !strcmp(mime, "application/octet-stream"))
        goto out;
    const char *what = magic_setflags(m, MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR) == 0 ? magic_file(m, path) : NULL;
    /* its kind, without the details after it ("PDF document", not its version) */
    snprintf(name, name_len, "%.*s", (int)strcspn(what ? what : mime, ","), what ? what : mime);
    *other = 1;
out:
    magic_close(m);
    return rc;
}
