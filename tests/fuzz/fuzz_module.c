/* libFuzzer: configuration files (INI, from outside the program): each
 * input is parsed as a module, as the CSV tool's table configuration, as
 * the DICOM tool's, as its pixel rules (a CSV file), and as a service's
 * configuration (medregd --config). */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "../../src/config/module.h"
#include "../../src/config/service_config.h"
#include "../../src/deid/csv_deid.h"
#include "../../src/deid/dicom_deid.h"
#include "rm_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a file of its own in a folder of its own: the paths a configuration
     * names are taken relative to its folder, and under /proc/self/fd
     * "module = 5" named the sanitizer's pipe to its symbolizer, whose
     * reading then waited for ever */
    char dir[] = "/tmp/medreg-fuzz-module-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/module.ini", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
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
    rm_tree(dir);
    return 0;
}
