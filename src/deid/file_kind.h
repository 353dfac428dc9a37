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

/* libmagic's compiled database, read once and shared by every thread.
 * magic_load reads the whole database (8 MB) for each handle, 3 ms of the
 * 5 it took to name one file; a handle is not to be shared between threads,
 * but many may stand on one database in memory (magic_load_buffers). It is
 * read when the first file needs it, under the object's lock. */
typedef struct mr_file_kinds mr_file_kinds;

MR_MUST_CHECK medreg_err mr_file_kinds_open(mr_file_kinds **out);
void mr_file_kinds_free(mr_file_kinds *k);
/* Read the database now, if not yet, from where libmagic looks ($MAGIC,
 * else its default path list): 1 when it is shared; 0 when it cannot be
 * read that way (a text magic file with rules of its own, a folder of
 * them, no compiled database), and each call then loads it as the `file`
 * command does. */
int mr_file_kinds_shared(mr_file_kinds *k);

/* *other = 1 when path is certainly not DICOM, with libmagic's description
 * of it in name (cut to name_len); else 0. kinds may be NULL (the database
 * loaded by this call). MEDREG_ERR_IO if it cannot be read,
 * MEDREG_ERR_NOMEM if libmagic cannot start. */
MR_MUST_CHECK medreg_err mr_file_not_dicom(mr_file_kinds *kinds, const char *path, int *other, char *name,
                                           size_t name_len);

#endif
