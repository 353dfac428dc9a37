/* A worker's memory of identifiers it has already normalised. Names repeat
 * (a hospital's patients share a few thousand family and given names) and
 * their Unicode normalisation is the costliest step of a CSV row, so a
 * worker keeps the last result per slot of a direct-mapped table. It holds
 * identifying data: mr_name_memo_free wipes it. */
#ifndef MR_NAME_MEMO_H
#define MR_NAME_MEMO_H

#include <stddef.h>

#include "../core/safety.h"
#include "medreg/pseudonym.h"

#define MR_MEMO_VALUE_MAX 63 /* longer values are normalised every time */

typedef struct mr_name_memo mr_name_memo;

MR_MUST_CHECK medreg_err mr_name_memo_new(mr_name_memo **out);
void mr_name_memo_free(mr_name_memo *m);

/* medreg_normalize(rule, in, in_len) into out[MR_MEMO_VALUE_MAX + 1] when
 * both fit, from the memory or computed and remembered. MEDREG_ERR_TOOBIG
 * when they do not fit (the caller normalises without the memory); any
 * other error is medreg_normalize's. */
MR_MUST_CHECK medreg_err mr_name_memo_normalize(mr_name_memo *m, const medreg_ident_rule *rule, const char *in,
                                                size_t in_len, char out[MR_MEMO_VALUE_MAX + 1]);

#endif
