/* DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile,
 * from the standard's table E.1-1 (data/dicom-ps3.15-table-e1-1.csv), with
 * the profile options the configuration enables: one action per attribute. */
#ifndef MR_DICOM_PROFILE_H
#define MR_DICOM_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

/* What happens to an attribute. The table's combined codes, which depend
 * on the IOD's attribute type, are resolved to the one that keeps any IOD
 * valid and is as private as removal: Z/D, X/D, X/Z/D become D; X/Z
 * becomes Z; X/Z/U* keeps the sequence and remaps the UIDs inside. */
typedef enum mr_dcm_rule {
    MR_RULE_KEEP = 0, /* not in the table, or K */
    MR_RULE_REMOVE,   /* X */
    MR_RULE_EMPTY,    /* Z */
    MR_RULE_DUMMY,    /* D: a fixed value of the VR */
    MR_RULE_UID,      /* U: remapped */
    MR_RULE_CLEAN,    /* C: dates shifted, text cleaned, sequences walked */
    MR_RULE_SEQ_UIDS  /* X/Z/U*: sequences walked, their UIDs remapped */
} mr_dcm_rule;

/* The ten profile options, in the table's column order. */
enum {
    MR_OPT_RETAIN_SAFE_PRIVATE = 1u << 0,
    MR_OPT_RETAIN_UIDS = 1u << 1,
    MR_OPT_RETAIN_DEVICE_IDENTITY = 1u << 2,
    MR_OPT_RETAIN_INSTITUTION_IDENTITY = 1u << 3,
    MR_OPT_RETAIN_PATIENT_CHARACTERISTICS = 1u << 4,
    MR_OPT_RETAIN_LONGITUDINAL_FULL_DATES = 1u << 5,
    MR_OPT_RETAIN_LONGITUDINAL_MODIFIED_DATES = 1u << 6,
    MR_OPT_CLEAN_DESCRIPTORS = 1u << 7,
    MR_OPT_CLEAN_STRUCTURED_CONTENT = 1u << 8,
    MR_OPT_CLEAN_GRAPHICS = 1u << 9
};
#define MR_DCM_N_OPTIONS 10

/* The option's name as the table's column and the configuration write it,
 * and its code in DICOM's CID 7050 (De-identification Method). */
const char *mr_dcm_option_name(unsigned bit_index);
const char *mr_dcm_option_code(unsigned bit_index);
const char *mr_dcm_option_meaning(unsigned bit_index);

typedef struct mr_dcm_profile mr_dcm_profile;

/* Read the table and resolve each row under options. *errmsg names the
 * file, line and problem. */
MR_MUST_CHECK medreg_err mr_dcm_profile_load(const char *path, unsigned options, mr_dcm_profile **out,
                                             char **errmsg);
void mr_dcm_profile_free(mr_dcm_profile *p);
size_t mr_dcm_profile_rows(const mr_dcm_profile *p);

/* The rule for a public attribute, including the repeating groups
 * (50xx,xxxx) and (60xx,3000/4000). Private attributes are the caller's
 * (the safe-private allow-list); this returns the table's private rule. */
mr_dcm_rule mr_dcm_profile_rule(const mr_dcm_profile *p, uint16_t group, uint16_t element);

#endif
