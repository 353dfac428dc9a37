/* Which code is running: what a run's output depends on besides its input,
 * key and configuration. A run of deid dicom may trust what an earlier run
 * wrote only if the same code wrote it: a rebuilt medreg, or a DCMTK that
 * was updated, may write other bytes (a de-identification that was fixed). */
#ifndef MR_CODE_IDENTITY_H
#define MR_CODE_IDENTITY_H

#include <stdint.h>

#include "safety.h"

/* SHA-256 over every file mapped executable into this process (the
 * program and each shared library, as /proc/self/maps lists them): its
 * path, device, inode, size and modification time. Any rebuild or update
 * changes it; a copy of the same files elsewhere does too, which only
 * costs work. MEDREG_ERR_IO when the list cannot be read. */
MR_MUST_CHECK medreg_err mr_code_identity(uint8_t out[32]);

#endif
