/* What a file is that DCMTK cannot read. A CD or DVD export holds, beside
 * its images, a viewer program, an autorun file, an index page, a PDF
 * report: they are not damaged images, and counting them as such made
 * every export's run fail (exit 4), which teaches a user to ignore the
 * failure that matters. libmagic (the `file` command's library) names
 * them. A file that could still be DICOM stays a failure: one libmagic
 * calls DICOM or cannot name ("data"), and one whose first bytes could
 * start a dataset without the Part 10 header (group 0002 or 0008, in
 * either byte order), whatever libmagic calls it. */
#ifndef MR_FILE_KIND_H
#define MR_FILE_KIND_H

#include <stddef.h>

#include "../core/safety.h"

/* *other = 1 when path is certainly not DICOM, with libmagic's description
 * of it in name (cut to name_len); else 0. MEDREG_ERR_IO if it cannot be
 * read, MEDREG_ERR_NOMEM if libmagic cannot start. */
MR_MUST_CHECK medreg_err mr_file_not_dicom(const char *path, int *other, char *name, size_t name_len);

#endif
