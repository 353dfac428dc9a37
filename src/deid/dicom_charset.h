/* A DICOM file's text in UTF-8, whatever character set it was written in.
 *
 * Every later step compares text: the PSN's identifiers with the identity
 * service's (UTF-8), a description with the patient's name, an output with
 * its input. So the dataset is converted once, right after loading, and its
 * Specific Character Set (0008,0005) becomes ISO_IR 192.
 *
 * DCMTK converts every character set DICOM defines, except that, built on
 * the C library's iconv (as Debian builds it), it has no converter for
 * Japanese JIS X 0208 and JIS X 0212 under ISO 2022 (ISO 2022 IR 87 and
 * IR 159): the character sets of nearly every Japanese patient name. Those
 * are converted here: the ISO 2022 escape sequences are followed (PS3.5
 * 6.1.2.5 and Annex H) and each character rewritten in EUC-JP, the same
 * character sets without escapes, which iconv then reads. No table of
 * characters lives here. */
#ifndef MR_DICOM_CHARSET_H
#define MR_DICOM_CHARSET_H

#include <stddef.h>

#include "dicom_io.h"

/* Convert f's dataset to UTF-8 (above); a file that declares no character
 * set is read in assumed (the configuration's assume_character_set), or
 * left as it is if that is NULL. MEDREG_ERR_INVALID, with a malloc'ed *why,
 * for a value that is not text in the character set, or a character set
 * neither DCMTK nor this file knows. */
MR_MUST_CHECK medreg_err mr_dicom_text_to_utf8(mr_dcm_file *f, const char *assumed, char **why);

/* Is charset (the whole value of (0008,0005)) Japanese in ISO 2022: every
 * term ISO 2022 IR 6, IR 13, IR 87 or IR 159 (or an empty first value),
 * with IR 13, IR 87 or IR 159 among them? (DCMTK also refuses IR 13 as
 * the only term.) */
int mr_dicom_charset_japanese(const char *charset);

/* One value (n bytes) under such a charset, in UTF-8 (malloc'ed, NUL
 * ended). At a line break, a tab, a '\\' between values (and for a person
 * name at '^' and '=') the character sets return to the first value's, as
 * PS3.5 6.1.2.5.3 requires. MEDREG_ERR_INVALID for an escape sequence to a
 * character set the charset does not declare, or a byte no designated set
 * holds. */
MR_MUST_CHECK medreg_err mr_dicom_japanese_to_utf8(const char *charset, const char *value, size_t n, int person_name,
                                                   char **out);

#endif
