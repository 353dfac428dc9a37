/* libFuzzer: configuration files (INI, from outside the program): each
 * input is parsed as a module, as the CSV tool's table configuration, as
 * the DICOM tool's, as its pixel rules (a CSV file), and as a service's
 * configuration (medregd --config). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/config/module.h"
#include "../../src/config/service_config.h"
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
    /* each parser: success only with a result, and whatever it returns freed */
#define PARSE_AS(type, load, release)                                                                                \
    do {                                                                                                             \
        type *x = NULL;                                                                                              \
        char *err = NULL;                                                                                            \
        if (load(path, &x, &err) == MEDREG_OK && x == NULL)                                                          \
            abort();                                                                                                 \
        release(x);                                                                                                  \
        free(err);                                                                                                   \
    } while (0)
    PARSE_AS(mr_module, mr_module_load, mr_module_free);
    PARSE_AS(mr_csv_config, mr_csv_config_load, mr_csv_config_free);
    PARSE_AS(mr_dicom_config, mr_dicom_config_load, mr_dicom_config_free);
    mr_service_config *sc = NULL;
    char *err = NULL;
    if (mr_service_config_load(path, MR_ROLE_NONE, &sc, &err) == MEDREG_OK && sc == NULL)
        abort();
    mr_service_config_free(sc);
    free(err);
    err = NULL;
    mr_pixel_rules rules;
    if (mr_pixel_rules_load(path, &rules, &err) == MEDREG_OK) {
        for (size_t i = 0; i < rules.n; i++) /* every region inside its image */
            if (rules.v[i].x + rules.v[i].width > rules.v[i].columns || rules.v[i].y + rules.v[i].height > rules.v[i].rows)
                abort();
        mr_pixel_rules_free(&rules);
    }
    free(err);
    close(fd);
    return 0;
}
