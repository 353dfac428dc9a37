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

/* The first place where v[0..vn) stands in h[0..hn), whatever the case of
 * its letters (character by character, each as the lower case of its upper
 * case, so Greek's final "ς" meets "Σ"): 1 with
 * its start and its length in h (in bytes: the case may change them), else
 * 0. Text that is not valid UTF-8 is read a byte at a time as Latin-1, which
 * is what DICOM's ISO_IR 100 text is, so "MÜLLER" holds "Müller" in both. */
int mr_text_casefind(const char *h, size_t hn, const char *v, size_t vn, size_t *at, size_t *len);

/* Is h[at, at+len) a word of its own: no letter or digit (any script)
 * right before or right after it? "Eva" in "CT Eva, hip" is; in
 * "Evaluation" it is not. */
int mr_text_is_word(const char *h, size_t hn, size_t at, size_t len);

#endif
