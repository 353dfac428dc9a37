/* Reading the report of `medreg deid dicom` (medreg-deid-dicom-report/v1)
 * one entry of "files" at a time: verifying a run of a million files never
 * holds its report whole. The top-level object is walked here, token by
 * token; every key and value in it is decoded by jansson. */
#ifndef MR_DICOM_REPORT_H
#define MR_DICOM_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "../core/safety.h"

#define MR_DICOM_REPORT_FORMAT "medreg-deid-dicom-report/v1"

/* Called with each entry of "files" (an object; borrowed): anything but
 * MEDREG_OK stops the walk and is returned. */
typedef medreg_err (*mr_report_entry_fn)(json_t *entry, void *ctx);

/* Walk the report in fp: its "format" must be the one above and come
 * before "files". MEDREG_ERR_INVALID when fp holds no such report, why
 * then saying what and at which byte. */
MR_MUST_CHECK medreg_err mr_dicom_report_each(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap);

#endif
