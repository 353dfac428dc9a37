/* The fuzzer's input as a file at path (the DICOM reader takes a path);
 * aborts when it cannot be written. */
#ifndef MR_FUZZ_INPUT_FILE_H
#define MR_FUZZ_INPUT_FILE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static void input_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
}

#endif
