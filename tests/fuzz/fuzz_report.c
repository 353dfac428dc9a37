/* A deid dicom report given to `medreg deid verify`: whatever its bytes,
 * the walk neither crashes nor hands on anything but whole objects. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/deid/dicom_report.h"

static medreg_err entry(json_t *e, void *ctx)
{
    (void)ctx;
    if (!json_is_object(e))
        abort();
    return MEDREG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (fp == NULL)
        return 0;
    medreg_err rc = mr_dicom_report_each(fp, entry, NULL, why, sizeof why);
    if (rc != MEDREG_OK && rc != MEDREG_ERR_INVALID)
        abort();
    if (rc == MEDREG_ERR_INVALID && why[0] == 0)
        abort(); /* every refusal says why */
    fclose(fp);
    return 0;
}
