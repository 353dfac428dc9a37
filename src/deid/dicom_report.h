/* The report of `medreg deid dicom` (medreg-deid-dicom-report/v1), written
 * and read one entry of "files" at a time: neither the run nor `deid
 * verify` holds the report of a million files whole. Reading walks the
 * top-level object token by token; every key and value in it is decoded by
 * jansson. */
#ifndef MR_DICOM_REPORT_H
#define MR_DICOM_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "../core/safety.h"

#define MR_DICOM_REPORT_FORMAT "medreg-deid-dicom-report/v1"

/* Entry i of "files" (a new reference), or NULL without memory. */
typedef json_t *(*mr_report_line_fn)(size_t i, void *ctx);

/* Write the report to path: head's fields, then "files", one line per
 * entry, each written as it is made, so a run of a million files is never
 * one JSON document in memory. It names input paths, which may be
 * identifying: the file is created anew with mode 0600 and synced with its
 * folder; on failure it is removed. */
MR_MUST_CHECK medreg_err mr_dicom_report_write(const char *path, json_t *head, size_t n, mr_report_line_fn line,
                                               void *ctx);

/* Called with each entry of "files" (an object; borrowed): anything but
 * MEDREG_OK stops the walk and is returned. */
typedef medreg_err (*mr_report_entry_fn)(json_t *entry, void *ctx);

/* Walk the report in fp: its "format" must be the one above and come
 * before "files". MEDREG_ERR_INVALID when fp holds no such report, why
 * then saying what and at which byte. */
MR_MUST_CHECK medreg_err mr_dicom_report_each(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap);

#endif
