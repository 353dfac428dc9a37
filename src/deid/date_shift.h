/* The per-patient keyed date shift shared by the CSV and DICOM tools: every
 * date of one patient moves by the same number of days, so intervals stay;
 * the offset cannot be computed without the key. */
#ifndef MR_DATE_SHIFT_H
#define MR_DATE_SHIFT_H

#include <stdint.h>

#include "../crypto/hmac.h"

/* *days = HMAC-SHA256(key, "medreg/date-shift/v1" ‖ PSN) mapped to 1..365
 * days earlier or later, never 0; under keyed when it is set (the key in a
 * context, for many patients), else under key (32 bytes, used once). */
MR_MUST_CHECK medreg_err mr_date_shift_days(mr_hmac *keyed, const uint8_t *key, const uint8_t psn[32], long *days);

/* Move the calendar date y-m-d by days: 1 with *oy, *om, *od set; 0 for an
 * impossible date (and for years outside 1..9999 after the move). */
int mr_date_shift_ymd(int y, int m, int d, long days, int *oy, int *om, int *od);

#endif
