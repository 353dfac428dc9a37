/* libFuzzer: configuration files (INI, from outside the program): each
 * input is parsed as a module, as the CSV tool's table configuration and as
 * the DICOM tool's. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/config/module.h"
#include "../../src/deid/csv_deid.h"
#include "../../src/deid/dicom_deid.h"

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
    mr_csv_config *csv = NULL;
    err = NULL;
    if (mr_csv_config_load(path, &csv, &err) == MEDREG_OK && csv == NULL)
        abort();
    mr_csv_config_free(csv);
    free(err);
    mr_dicom_config *dcm = NULL;
    err = NULL;
    if (mr_dicom_config_load(path, &dcm, &err) == MEDREG_OK && dcm == NULL)
        abort();
    mr_dicom_config_free(dcm);
    free(err);
    close(fd);
    return 0;
}
