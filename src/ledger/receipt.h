/* Offline receipts: C2SP tlog-proof (https://c2sp.org/tlog-proof), the
 * entry's index, its inclusion proof and the (cosigned) checkpoint, in one
 * text a physician can keep and anyone can check later without the ledger:
 *
 *   c2sp.org/tlog-proof@v1
 *   index N
 *   <base64 hash>…
 *   <empty line>
 *   <the checkpoint note, verbatim> */
#ifndef MR_RECEIPT_H
#define MR_RECEIPT_H

#include "note.h"

/* malloc'ed */
MR_MUST_CHECK medreg_err mr_receipt_format(uint64_t index, const mr_hash *proof, size_t n, const char *note,
                                           size_t note_len, char **out);
/* *note points into text */
MR_MUST_CHECK medreg_err mr_receipt_parse(const char *text, size_t len, uint64_t *index, mr_hash *proof, size_t *n,
                                          const char **note, size_t *note_len);

/* Check a receipt for entry under the log's key and at least quorum of
 * the witnesses: MEDREG_OK, MEDREG_ERR_INVALID (malformed), or
 * MEDREG_ERR_VERIFY. *index is set. */
MR_MUST_CHECK medreg_err mr_receipt_verify(const char *text, size_t len, const uint8_t *entry, size_t entry_len,
                                           const mr_note_verifier *log, const mr_note_verifier *witnesses, size_t nw,
                                           size_t quorum, uint64_t *index);

#endif
