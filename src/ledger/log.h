/* The ledger's log (seed 003; docs/ledger.md): entries appended durably
 * with their index, sequenced into an RFC 9162 tree at a fixed interval,
 * and published as C2SP checkpoints (signed notes) and tlog-tiles. The
 * database holds the entries and the signed checkpoints; the tree's
 * hashes are rebuilt from the entries at start-up and must reproduce the
 * last checkpoint, so a changed or missing entry stops the ledger. */
#ifndef MR_LEDGER_LOG_H
#define MR_LEDGER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../store/db.h"
#include "merkle.h"
#include "note.h"

#define MR_LEDGER_ENTRY_MAX 65535 /* an entry bundle frames each entry with 2 bytes */
#define MR_LEDGER_TILE_WIDTH 256

typedef struct mr_ledger mr_ledger;

/* Rebuild the tree from db's entries and check it against the newest
 * checkpoint. *why (malloc'ed) says what does not match. The ledger takes
 * signer's key (a token session cannot be copied), even when it fails: the
 * caller's signer is left empty. */
MR_MUST_CHECK medreg_err mr_ledger_open(mr_db *db, const char *origin, mr_note_signer *signer, mr_ledger **out,
                                        char **why);
void mr_ledger_close(mr_ledger *l);

/* Store one entry inside the caller's transaction and give its index:
 * durable when that transaction commits. */
MR_MUST_CHECK medreg_err mr_ledger_append(mr_conn *c, const uint8_t *data, size_t len, int64_t now,
                                          uint64_t *index);

/* Called with each new checkpoint before it is stored: returns extra
 * signature lines (witnesses' cosignatures) to publish with it, malloc'ed,
 * or NULL. A failure publishes the checkpoint without them. */
typedef char *(*mr_cosign_fn)(void *ctx, mr_ledger *l, const char *note, size_t len, uint64_t size);
void mr_ledger_set_cosigner(mr_ledger *l, mr_cosign_fn fn, void *ctx);

/* A consistency proof up to any hashed size, published or about to be
 * (for the witnesses, before the checkpoint is published). */
MR_MUST_CHECK medreg_err mr_ledger_consistency_hashed(mr_ledger *l, uint64_t old_size, uint64_t size, mr_hash *proof,
                                                      size_t *n);

/* One sequencing step: take the stored entries past the tree (up to max),
 * grow the tree, sign and store a checkpoint. *added is how many. */
MR_MUST_CHECK medreg_err mr_ledger_integrate(mr_ledger *l, size_t max, size_t *added);

/* The newest signed checkpoint (malloc'ed note) and its size. */
MR_MUST_CHECK medreg_err mr_ledger_checkpoint(mr_ledger *l, char **note, size_t *len, uint64_t *size);

/* Proofs against the published tree (size <= the newest checkpoint's). */
MR_MUST_CHECK medreg_err mr_ledger_inclusion(mr_ledger *l, uint64_t index, uint64_t size, mr_hash *proof, size_t *n);
MR_MUST_CHECK medreg_err mr_ledger_consistency(mr_ledger *l, uint64_t old_size, uint64_t size, mr_hash *proof,
                                               size_t *n);

/* A C2SP tile: hashes of tree level 8·level (32 bytes each), or for
 * level -1 the entry bundle; width 1..256 (256: full). Only what the
 * newest checkpoint covers. malloc'ed. */
MR_MUST_CHECK medreg_err mr_ledger_tile(mr_ledger *l, int level, uint64_t index, unsigned width, uint8_t **data,
                                        size_t *len);

/* One stored entry (malloc'ed), if the newest checkpoint covers it. */
MR_MUST_CHECK medreg_err mr_ledger_entry(mr_ledger *l, uint64_t index, uint8_t **data, size_t *len);

#endif
