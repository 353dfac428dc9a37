/* medreg_normalize without an allocation, for callers that normalise many
 * short values (the CSV tool: several dates and codes per row). */
#ifndef MR_NORMALIZE_INTO_H
#define MR_NORMALIZE_INTO_H

#include "../core/safety.h"
#include "medreg/pseudonym.h"

/* A date or a code normalised into out[0..cap) (NUL-terminated), exactly as
 * medreg_normalize would. MEDREG_ERR_TOOBIG for a name, or a code that may
 * not fit (cap <= in_len): the caller uses medreg_normalize. On failure out
 * holds nothing. */
MR_MUST_CHECK medreg_err mr_normalize_into(const medreg_ident_rule *rule, const char *in, size_t in_len, char *out,
                                           size_t cap);

#endif
