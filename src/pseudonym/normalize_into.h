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

/* The name rule (medreg_normalize's for a name) on text of any length, for
 * the CSV tool's free-text check; fast: 1 for the fast paths. */
MR_MUST_CHECK medreg_err mr_normalize_name_unicode(const uint8_t *in, size_t in_len, int fast, char **out);

/* A date with a time of day, "DATE TIME" (one or more spaces) or
 * "DATETTIME": 1 with the date in in[0..*date_len) and the time from
 * in[*time_at]; 0 when in has no such separator. */
int mr_datetime_split(const char *in, size_t len, size_t *date_len, size_t *time_at);

/* p[0..n) a time of day as databases and spreadsheets write it after a
 * date: H:MM, H:MM:SS or H:MM:SS.F (1 to 9 digits after '.' or ','), hours
 * 0-23, or 1-12 before AM or PM (either case, a space before it or not);
 * then Z or an offset ±HH, ±HHMM, ±HH:MM, or nothing. 1 if so, with
 * *midnight set for 00:00 or 12:00 AM and nothing after the minute but
 * zeros. */
int mr_time_of_day(const char *p, size_t n, int *midnight);

#endif
