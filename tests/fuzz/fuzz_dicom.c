/* Whatever a hospital's folder holds goes through DCMTK's parser and then
 * medreg's walk, the profile and the independent check. Nothing may crash
 * or leave a half-written file. Uses examples/deid/dicom.ini (run from the
 * source tree, as scripts/fuzz.sh does). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/deid/dicom_deid.h"

static void rm_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mr_dicom_config *cfg;
    static const uint8_t key[32] = {9};
    if (cfg == NULL) {
        char *err = NULL;
        if (mr_dicom_config_load("examples/deid/dicom.ini", &cfg, &err) != MEDREG_OK) {
            fprintf(stderr, "fuzz_dicom: %s\n", err ? err : "?");
            abort();
        }
    }
    char dir[] = "/tmp/medreg-fuzz-dicom-XXXXXX", in[600], out[600], q[600];
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(in, sizeof in, "%s/in.dcm", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(q, sizeof q, "%s/q", dir);
    int fd = open(in, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    mr_dcm_result res;
    mr_psn_source src = {key, NULL, 0};
    if (mr_dicom_deid_file(cfg, &src, in, out, q, &res) == MEDREG_OK &&
        (res.outcome == MR_DCM_WRITTEN || res.outcome == MR_DCM_QUARANTINED)) {
        unsigned long n = 0;
        (void)mr_dicom_verify(cfg, in, res.out_path, NULL, &n);
    }
    rm_tree(dir);
    return 0;
}
