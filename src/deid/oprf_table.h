/* Network-wide PSNs for the offline tools (docs/pseudonyms.md): the
 * distinct PSN inputs of a run, each blinded once, evaluated by the
 * identity service in verified batches (online, or through files), then
 * finalised, so that the rows can look their PSN up.
 *
 * Blinds are derived from a per-run secret seed and the input, so that a
 * run prepared on one day can be finished on another from the seed alone
 * (kept 0600 in the state file); the service sees only blinded elements. */
#ifndef MR_OPRF_TABLE_H
#define MR_OPRF_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"
#include "../crypto/oprf.h"

typedef struct mr_oprf_table mr_oprf_table;

/* How a table takes its answers. BLIND: every new input is blinded when it
 * is added, and an answer finds its input by the blinded element (online
 * runs, and --finish of a state file without the commitments of
 * mr_oprf_table_digests). IN_ORDER: inputs are only recorded, and an
 * answer is taken by its position in the request, which lists the inputs
 * in key order (mr_oprf_table_request_at's): a --finish whose request the
 * state file commits to needs no blinding again, the costlier half of its
 * work. PREPARE: every new input is blinded, and the table keeps its key
 * and blinded element alone, enough to write the request and its
 * commitments; it takes no answers. */
typedef enum { MR_OPRF_TABLE_BLIND = 0, MR_OPRF_TABLE_IN_ORDER = 1, MR_OPRF_TABLE_PREPARE = 2 } mr_oprf_table_mode;

MR_MUST_CHECK medreg_err mr_oprf_table_new(const uint8_t seed[32], mr_oprf_table_mode mode, mr_oprf_table **out);
/* Wipes every blind and unblinded element. */
void mr_oprf_table_free(mr_oprf_table *t);

/* Record one input (thread-safe); a new one is blinded at once.
 * MEDREG_ERR_CONFLICT once the table is sealed: every input comes first. */
MR_MUST_CHECK medreg_err mr_oprf_table_add(mr_oprf_table *t, const uint8_t *input, size_t len);
size_t mr_oprf_table_count(const mr_oprf_table *t);

/* Once every input is added: put the entries in the inputs' key order (a
 * keyed hash: it says nothing of the inputs), the request's order, and
 * make ready to take answers. mr_oprf_table_digests seals too. */
MR_MUST_CHECK medreg_err mr_oprf_table_seal(mr_oprf_table *t);

/* What --prepare commits to in the state file, so that --finish can take
 * the answers by position: entries, SHA-256 over the inputs' keys in key
 * order (which inputs, in which order: a changed configuration changes
 * them); and request, SHA-256 over the blinded elements in that order
 * (what the service was asked; BLIND and PREPARE tables only, NULL
 * otherwise). Call once every input is added. */
MR_MUST_CHECK medreg_err mr_oprf_table_digests(mr_oprf_table *t, uint8_t entries[32], uint8_t *request);

/* PREPARE and BLIND, once sealed: the request's element at position i (key
 * order), pointing into the table; NULL past the last. */
const uint8_t *mr_oprf_table_request_at(const mr_oprf_table *t, size_t i);

/* BLIND, once sealed: take one evaluated batch: verify its proof against
 * the pinned public key (MEDREG_ERR_VERIFY if it fails), then unblind each
 * of its elements, all or none. MEDREG_ERR_NOTFOUND for a blinded element
 * this table never made. Thread-safe: batches may be completed in parallel. */
MR_MUST_CHECK medreg_err mr_oprf_table_complete(mr_oprf_table *t, const uint8_t pk[MR_OPRF_ELEMENT_BYTES],
                                                const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                                const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                                const uint8_t proof[MR_OPRF_PROOF_BYTES]);
/* IN_ORDER, once sealed: take the evaluated batch that answers the request's elements
 * offset .. offset + n - 1, whose blinded elements the caller has checked
 * against the request's digest: verify its proof, then unblind each input
 * at those positions, all or none. Thread-safe for disjoint batches. */
MR_MUST_CHECK medreg_err mr_oprf_table_complete_at(mr_oprf_table *t, const uint8_t pk[MR_OPRF_ELEMENT_BYTES],
                                                   size_t offset, const uint8_t (*blinded)[MR_OPRF_ELEMENT_BYTES],
                                                   const uint8_t (*evaluated)[MR_OPRF_ELEMENT_BYTES], size_t n,
                                                   const uint8_t proof[MR_OPRF_PROOF_BYTES]);
/* How many inputs still lack an evaluation. */
size_t mr_oprf_table_missing(const mr_oprf_table *t);

/* The OPRF output of an input (thread-safe once complete):
 * MEDREG_ERR_NOTFOUND if it was never added or is not complete. */
MR_MUST_CHECK medreg_err mr_oprf_table_lookup(const mr_oprf_table *t, const uint8_t *input, size_t len,
                                              uint8_t out[MR_OPRF_OUTPUT_BYTES]);

/* Where the PSN comes from (docs/pseudonyms.md). Local: HMAC under the
 * module key, which also keys the date shift (and DICOM's UID remapping).
 * Network-wide: the VOPRF output of the same message, looked up in a
 * completed table; its first half is the PSN, its second half (never
 * written) keys what the module key would. A network run reads its input
 * twice: first with collect set, which only adds the PSN input of every row
 * or file that will be written to the table, and writes nothing. */
typedef struct mr_psn_source {
    const uint8_t *key;  /* 32 bytes: local mode */
    mr_oprf_table *oprf; /* network mode, when key is NULL */
    int collect;
} mr_psn_source;

#endif
