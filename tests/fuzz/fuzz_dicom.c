/* Whatever a hospital's folder holds goes through DCMTK's parser and then
 * medreg's walk, the profile and the independent check. Nothing may crash
 * or leave a half-written file. The same bytes also go, as one value, through
 * the Japanese ISO 2022 decoder (the first byte picks the character set and
 * whether it is a person name); what it accepts must be valid UTF-8. And
 * the pixel blanking and its check run on whatever image DCMTK reads:
 * after a blanking, the check must find the regions at 0. Uses examples/deid/dicom.ini (run from the
 * source tree, as scripts/fuzz.sh does). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unistr.h>

#include "../../src/deid/dicom_charset.h"
#include "../../src/deid/dicom_deid.h"
#include "input_file.h"
#include "rm_tree.h"

static void blank(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/medreg-fuzz-blank-XXXXXX", *why = NULL;
    int fd = mkstemp(path);
    mr_dcm_file *f = NULL;
    if (fd < 0)
        abort();
    close(fd);
    input_file(path, data, size);
    if (mr_dcm_load(path, MR_DCM_WHOLE, &f, &why) == MEDREG_OK) {
        static const mr_dcm_region r[2] = {{0, 0, 8, 8}, {3, 1, 65535, 2}}; /* the second leaves any image */
        unsigned long left = 0;
        free(why);
        why = NULL;
        if (mr_dcm_blank(f, r, 2, &why) == MEDREG_OK) {
            free(why);
            why = NULL;
            if (mr_dcm_regions_nonzero(f, r, 2, &left, &why) != MEDREG_OK || left != 0)
                abort();
        }
        mr_dcm_free(f);
    }
    free(why);
    unlink(path);
}

static void japanese(const uint8_t *data, size_t size)
{
    static const char *const CHARSETS[] = {"\\ISO 2022 IR 87", "ISO 2022 IR 13\\ISO 2022 IR 87",
                                           "\\ISO 2022 IR 87\\ISO 2022 IR 159", "ISO 2022 IR 13"};
    char *u = NULL;
    if (size == 0)
        return;
    if (mr_dicom_japanese_to_utf8(CHARSETS[data[0] & 3], (const char *)data + 1, size - 1, data[0] >> 7, &u) ==
        MEDREG_OK) {
        if (u == NULL || u8_check((const uint8_t *)u, strlen(u)) != NULL)
            abort();
        free(u);
    }
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
    japanese(data, size);
    blank(data, size);
    char dir[] = "/tmp/medreg-fuzz-dicom-XXXXXX", in[600], out[600], q[600];
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(in, sizeof in, "%s/in.dcm", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(q, sizeof q, "%s/q", dir);
    input_file(in, data, size);
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
