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

typedef struct mr_dicom_report_writer mr_dicom_report_writer;

/* Start the report at path: head's fields, then "files", to which each
 * entry is added as its file is done, so a run of a million files is never
 * one JSON document in memory. It names input paths, which may be
 * identifying: it is written to path.partial (created anew, mode 0600;
 * one a killed run left is removed first), and only mr_dicom_report_end
 * puts it at path. */
MR_MUST_CHECK medreg_err mr_dicom_report_begin(const char *path, json_t *head, mr_dicom_report_writer **out);
/* One entry of "files" (an object; borrowed). */
MR_MUST_CHECK medreg_err mr_dicom_report_add(mr_dicom_report_writer *w, json_t *entry);
/* tail's fields (which JSON lets follow "files": the counts, known only
 * now) close the report; it is synced and renamed to path, replacing an
 * earlier report there in one step, and its folder synced. When writing
 * fails no .partial is left (and an earlier report is untouched). Frees w. */
MR_MUST_CHECK medreg_err mr_dicom_report_end(mr_dicom_report_writer *w, json_t *tail);
/* A run that failed: the .partial is removed, w freed (w may be NULL). */
void mr_dicom_report_discard(mr_dicom_report_writer *w);

/* A report read one entry at a time (deid verify; a run that resumes
 * from the report of an earlier one). */
typedef struct mr_dicom_report_reader mr_dicom_report_reader;

/* Read fp up to the first entry: "format" must be the one above and come
 * before "files". MEDREG_ERR_INVALID when fp holds no such report, why
 * then saying what and at which byte. fp stays the caller's. */
MR_MUST_CHECK medreg_err mr_dicom_report_open(FILE *fp, mr_dicom_report_reader **out, char *why, size_t cap);
/* The fields before "files" whose values are strings, objects or arrays
 * (borrowed). */
const json_t *mr_dicom_report_head(const mr_dicom_report_reader *r);
/* The next entry of "files" (an object; the caller's reference), or NULL
 * once the report has ended and what follows "files" has been checked. A
 * report cut short (a run killed while writing it) gives its whole entries,
 * then MEDREG_ERR_INVALID. */
MR_MUST_CHECK medreg_err mr_dicom_report_next(mr_dicom_report_reader *r, json_t **entry, char *why, size_t cap);
void mr_dicom_report_close(mr_dicom_report_reader *r);

/* Called with each entry of "files" (an object; borrowed): anything but
 * MEDREG_OK stops the walk and is returned. */
typedef medreg_err (*mr_report_entry_fn)(json_t *entry, void *ctx);

/* The whole report in fp, entry by entry, through the reader above. */
MR_MUST_CHECK medreg_err mr_dicom_report_each(FILE *fp, mr_report_entry_fn fn, void *ctx, char *why, size_t cap);

/* A path of an entry: the bytes of "in_hex" (or "out_hex") when there
 * are, else "in" itself (malloc'd); NULL when there is none, or when
 * "_hex" is not hex or holds a NUL. */
char *mr_dicom_report_path(const json_t *entry, const char *key);

#endif
