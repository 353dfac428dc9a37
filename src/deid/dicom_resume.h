/* A run of deid dicom that takes up where an earlier one stopped, without
 * reading again what that one finished (docs/deid.md, "Runs that stop").
 *
 * An output is a function of its input's bytes, the key, the configuration
 * and the code. Each entry of the report therefore records its input's
 * identity (size, inode, modification and change times, seen alike before
 * and after it was read) and its output's, and the report's head a tag of
 * key, configuration, code, input and output folders. A later run under the
 * same tag trusts an entry when both identities are still what it records;
 * every other file is read and de-identified again. A stopped run's
 * REPORT.partial serves as well as a finished run's REPORT, so an archive
 * that grows is de-identified again at the cost of its new files, and inputs
 * that are gone since are named. */
#ifndef MR_DICOM_RESUME_H
#define MR_DICOM_RESUME_H

#include <jansson.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/safety.h"
#include "dicom_deid.h"

#define MR_DICOM_STAMP_MAX 112

/* The run's tag (64 hex digits and a NUL): BLAKE2b-256 keyed with key
 * (the module key; network-wide a hash of the pinned VOPRF key) over the
 * code that runs (code_identity.h), DCMTK's data dictionary, the
 * configuration's digest, and the input, output and quarantine as given.
 * MEDREG_ERR_IO (errno) when the code or the dictionary cannot be read. */
MR_MUST_CHECK medreg_err mr_dicom_resume_tag(const uint8_t key[32], const mr_dicom_config *cfg, const char *in,
                                             const char *out, const char *quarantine, char tag[65]);

typedef struct mr_dicom_resume mr_dicom_resume;

/* The earlier runs' reports: report.partial (a run was stopped: it is the
 * later), then report behind the .partial's last entry (the run before,
 * which the stopped one was taking up again), each only when it was made
 * under tag; or, when since is not NULL, that report alone (a run that
 * writes each report under a name of its own). *r is NULL when none is;
 * then why says why (else ""). */
MR_MUST_CHECK medreg_err mr_dicom_resume_open(const char *report, const char *since, const char *tag,
                                              const char *out, const char *quarantine, mr_dicom_resume **r,
                                              char *why, size_t cap);

/* The earlier run's entry for the input in, when it may stand for this
 * run's: its input unchanged, its outcome one that depends on the input
 * alone (written, quarantined, a DICOMDIR, not DICOM), its output where this
 * run writes and unchanged. The entry (the caller's reference)
 * says "not_read_again"; *entry is NULL when the file must be read. Asked in
 * the order of the walk (mr_file_tree's, which is the earlier report's). A
 * .partial cut short is taken up to there, and the report behind it. */
MR_MUST_CHECK medreg_err mr_dicom_resume_find(mr_dicom_resume *r, const char *in, json_t **entry);

/* The next entry of the earlier run, before in in the walk's order (or
 * anywhere, when in is NULL: the walk has ended), whose input the walk passed
 * by, so it is gone from the input, while its output is still there: the
 * entry (the caller's reference), its outcome now "gone"; NULL when there is
 * none. Asked before mr_dicom_resume_find for each input, until NULL. An
 * image withdrawn from the archive thus stays named in each later report for
 * as long as its output is in the output folder. */
MR_MUST_CHECK medreg_err mr_dicom_resume_gone(mr_dicom_resume *r, const char *in, json_t **entry);

/* r may be NULL. */
void mr_dicom_resume_close(mr_dicom_resume *r);

/* A file's identity as the report records it: size, inode, modification
 * and change times. 0 when it does not fit (it always does). */
int mr_dicom_file_stamp(const struct stat *sb, char stamp[MR_DICOM_STAMP_MAX]);

/* The identity of an input in stamp, from lstat before it was read (at
 * read_at, the real-time clock) and after: 1 when both agree and it had not
 * changed in the second before it was read (a change within the file
 * system's clock tick after the read would leave the same times); else 0,
 * and the entry gets no stamp (a later run reads the file again). */
int mr_dicom_input_stamp(const struct stat *before, const struct stat *after, const struct timespec *read_at,
                         char stamp[MR_DICOM_STAMP_MAX]);

#endif
