/* The closed set of control-flow macros used in medreg (see docs/style.md).
 *
 *   TRY(expr)          evaluate a medreg_err expression; on failure store it
 *                      in the local `rc` and jump to the local label `out`.
 *   ENSURE(cond, code) if cond is false, set rc = code and jump to `out`.
 *
 * Both assume the single-exit pattern: a local `medreg_err rc` and a label
 * `out:` that releases everything. No other macro may hide a goto or return. */
#ifndef MR_SAFETY_H
#define MR_SAFETY_H

#include "medreg/error.h"

#define TRY(expr)                                                              \
    do {                                                                       \
        medreg_err mr_try_rc_ = (expr);                                        \
        if (mr_try_rc_ != MEDREG_OK) {                                         \
            rc = mr_try_rc_;                                                   \
            goto out;                                                          \
        }                                                                      \
    } while (0)

#define ENSURE(cond, code)                                                     \
    do {                                                                       \
        if (!(cond)) {                                                         \
            rc = (code);                                                       \
            goto out;                                                          \
        }                                                                      \
    } while (0)

#define MR_MUST_CHECK MEDREG_MUST_CHECK
#define MR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
