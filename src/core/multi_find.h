/* How often each of several byte strings occurs in a buffer, in one pass.
 *
 * deid verify looks for every identifying value of an input (tens of them)
 * in the raw bytes of its output (half a megabyte for a CT image): a memmem
 * per value read the output as many times, and was half of verify's time.
 * Here 4-byte pieces of the needles are hashed into a bitmap, the buffer is
 * probed every few bytes, and only a probe whose bit is set is compared with
 * the needles that have a piece of that hash (multi_find.c says why that
 * finds every occurrence). (Debian's multi-pattern matchers, Hyperscan among them,
 * exist for some architectures only.) */
#ifndef MR_MULTI_FIND_H
#define MR_MULTI_FIND_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h"

#define MR_MULTI_FIND_MIN 4 /* shorter needles are not looked for */

/* counts[i] += how many times needles[i] (lens[i] bytes; shorter than
 * MR_MULTI_FIND_MIN: not looked for) occurs in hay[0..n) ending in (from,
 * to]: an occurrence at `at` ends at at + lens[i]; overlapping ones count
 * each. A buffer read in pieces counts each occurrence in one piece: the
 * pieces overlap, and each counts what ends past the one before (from) and
 * before its own last byte (to = n - 1, so that the byte after is there)
 * but the last (to = n). k needles. apart (NULL: none): where apart[i] is
 * 1, an occurrence counts only with no ASCII digit right before or after
 * it (a number inside a longer number is another number); at either end
 * of hay it counts. MEDREG_ERR_NOMEM, counts unchanged. */
MR_MUST_CHECK medreg_err mr_multi_count(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens,
                                        const uint8_t *apart, size_t k, size_t from, size_t to, uint32_t *counts);

#endif
