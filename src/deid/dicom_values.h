/* What the DICOM de-identifier and its independent check share: the rule
 * for one element, and a file's identifying values ("tokens"): collected
 * once, then cleaned out of free text or searched for in an output. */
#ifndef MR_DICOM_VALUES_H
#define MR_DICOM_VALUES_H

#include "codestream_text.h"
#include "dicom_deid.h"

/* The rule for e under cfg; *psn set for PatientName/PatientID at the top
 * level, which become the PSN. */
mr_dcm_rule mr_dicom_classify(const mr_dicom_config *cfg, const mr_dcm_elem *e, int *psn);

/* A DICOM string value equal to want, ignoring padding (spaces, NULs). */
int mr_dcm_value_equals(const char *value, const char *want);

/* The fixed value the de-identifier writes for a D of this VR
 * ("ANONYMIZED", "19000101", "0", …); NULL for binary VRs and sequences,
 * which are emptied. Never taken as an identifying value. */
const char *mr_dcm_dummy_for(const char *vr);

/* A value shorter than this (in bytes) counts only as a word or component
 * of its own, longer ones wherever they stand: "Eva" must not take the
 * "Eva" out of "Evaluation", while "Müller" goes from "Müllerstrasse" too. */
#define MR_DCM_SHORT_TOKEN 6

typedef struct mr_dcm_tokens {
    char **v; /* longest first, no duplicates */
    size_t n, cap;
} mr_dcm_tokens;

/* Every value of f whose rule removes, empties or replaces it, split into
 * its components (and a person name's parts), at any depth, the meta header
 * and private attributes included. with_dates also takes the dates the
 * profile shifts (for the check: an unshifted date is a survivor). Added
 * to what t holds already (zeroed at first); on failure t is freed. */
MR_MUST_CHECK medreg_err mr_dcm_collect_tokens(const mr_dicom_config *cfg, mr_dcm_file *f, int with_dates,
                                               mr_dcm_tokens *t);
/* Whether e is one of tags[] ((group << 16) | element) in the dataset. */
int mr_dcm_elem_listed(const mr_dcm_elem *e, const uint32_t *tags, size_t n_tags);

/* The same for the values of the elements tags[] ((group << 16) |
 * element, dataset only, at any depth), whatever the rules say. */
MR_MUST_CHECK medreg_err mr_dcm_collect_tokens_of(mr_dcm_file *f, const uint32_t *tags, size_t n_tags,
                                                  mr_dcm_tokens *t);
/* from's tokens added to t (copies); on failure t is freed. */
MR_MUST_CHECK medreg_err mr_dcm_tokens_add(mr_dcm_tokens *t, const mr_dcm_tokens *from);
void mr_dcm_tokens_free(mr_dcm_tokens *t);

/* text without any token of three or more characters (any case; a short
 * one only where it is a word of its own); malloc'ed, NULL when out of
 * memory. */
char *mr_dcm_tokens_clean(const mr_dcm_tokens *t, const char *text);

/* Does value hold a token, in any case: one of MR_DCM_SHORT_TOKEN bytes or
 * more anywhere (but a number, a token of digits alone, not inside a longer
 * number: a date inside the 39 random digits of a 2.25 UID is no date), a
 * shorter one of three or more as a word of its own, a two-byte one as a
 * whole component? As strict as the cleaning is. */
int mr_dcm_tokens_found(const mr_dcm_tokens *t, const char *value);

/* mr_dcm_tokens_found on n bytes of unknown meaning (a UN value), read as
 * text: NUL bytes as spaces. -1 when out of memory. */
int mr_dcm_tokens_found_bytes(const mr_dcm_tokens *t, const uint8_t *bytes, size_t n);

/* An age string (AS: "nnnD", "nnnW", "nnnM" or "nnnY", components split by
 * '\\') with every age of 90 years or more written "090Y", HIPAA Safe
 * Harbor's single category "90 or older" (AS has no way to say "or
 * older"); *changed when one was. MEDREG_ERR_INVALID for a value that is
 * not an age string: it may hold anything. *out is malloc'ed. */
MR_MUST_CHECK medreg_err mr_dcm_age_aggregate(const char *value, char **out, int *changed);

/* Whether a token is a number (ASCII digits alone): found only apart from
 * other digits. */
int mr_dcm_token_is_number(const char *token);

/* The frames of f's compressed pixels without their text, in *c
 * (codestream_text.h; c->removed: what was taken out, an offset table
 * that holds anything but offsets counted as one). MEDREG_ERR_NOTFOUND
 * when its pixels are not compressed, or compressed as RLE (runs of
 * samples: no segments) with offset tables that hold offsets alone;
 * MEDREG_ERR_INVALID, with why, when they cannot be looked through. */
MR_MUST_CHECK medreg_err mr_dcm_pixel_frames(mr_dcm_file *f, mr_codestream_frames *c, char *why, size_t why_len);

#endif
