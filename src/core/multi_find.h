/* Which of several byte strings occur in a buffer, in one pass over it.
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

/* found[i] = 1 where needles[i] (lens[i] bytes, at least MR_MULTI_FIND_MIN)
 * occurs in hay[0..n); k needles. found[i] already 1 stays so and is not
 * looked for (a buffer read in pieces: the caller zeroes found once).
 * apart (NULL: none): where apart[i] is 1, an occurrence counts only with
 * no ASCII digit right before or after it (a number inside a longer number
 * is another number); at either end of hay it counts. MEDREG_ERR_NOMEM,
 * found unchanged. */
MR_MUST_CHECK medreg_err mr_multi_find(const uint8_t *hay, size_t n, const char *const *needles, const size_t *lens,
                                       const uint8_t *apart, size_t k, uint8_t *found);

#endif
