/* Free text kept in a research copy may name the patient ("Pt. Müller
 * called back"). The CSV tool's text role keeps a column like keep does, but
 * first looks in it for the same row's removed values (identifiers and the
 * Safe Harbor kinds): both in the name rule's normal form (case folded,
 * diacritics and punctuation gone, one space between words), as whole words.
 * A row whose text holds one is rejected, never written. */
#ifndef MR_FREE_TEXT_H
#define MR_FREE_TEXT_H

#include <stddef.h>

#define MR_TEXT_MIN 3 /* shorter values (initials, a side "L") would match too much */

/* Does t[0..tn) hold v[0..vn) as whole words: starting at t's start or after
 * a space, ending at its end or before a space? Both in normal form. */
int mr_text_holds(const char *t, size_t tn, const char *v, size_t vn);

#endif
