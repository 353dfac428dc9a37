/* Parsers for what a hostile peer sends in the C2SP tlog protocols: a
 * witness's add-checkpoint request body, and an entry bundle. Both are
 * length-bounded (no NUL expected) and fuzzed (tests/fuzz/fuzz_note.c). */
#ifndef MR_TLOG_IO_H
#define MR_TLOG_IO_H

#include "merkle.h"

/* Lines of one base64 SHA-256 hash each, from p up to an empty line (at
 * most max): *n hashes, *after points past the empty line. */
MR_MUST_CHECK medreg_err mr_tlog_hash_lines(const char *p, const char *end, size_t max, mr_hash *proof, size_t *n,
                                            const char **after);

/* "old N\n", up to 63 base64 hash lines, an empty line, then the
 * checkpoint note (*note points into body). MEDREG_ERR_INVALID otherwise. */
MR_MUST_CHECK medreg_err mr_witness_request_parse(const char *body, size_t len, uint64_t *old, mr_hash *proof,
                                                  size_t *n, const char **note, size_t *note_len);

/* An entry bundle of exactly width entries (each a big-endian uint16
 * length and the bytes), nothing after: where each entry is in data. */
MR_MUST_CHECK medreg_err mr_bundle_entries(const uint8_t *data, size_t len, size_t width, const uint8_t **entries,
                                           size_t *lens);

#endif
