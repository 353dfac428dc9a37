/* libFuzzer: module configuration files. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/config/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = memfd_create("module.ini", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    mr_module *m = NULL;
    char *err = NULL;
    if (mr_module_load(path, &m, &err) == MEDREG_OK && m == NULL)
        abort();
    mr_module_free(m);
    free(err);
    close(fd);
    return 0;
}
