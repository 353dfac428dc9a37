/* medreg deid dicom (seed 002; docs/deid.md): PS3.15 Annex E's Basic
 * Application Level Confidentiality Profile and the configured options,
 * applied by DCMTK to every element of every sequence item and of the file
 * meta header; PatientName and PatientID become the PSN; UIDs are
 * remapped to 2.25.<128 bits of HMAC>, the same everywhere under one key
 * (the module key, or network-wide the patient's VOPRF output);
 * images that may carry burned-in text are quarantined; and an
 * independent check that no identifying value of an input survives in its
 * output. */
#ifndef MR_DICOM_DEID_H
#define MR_DICOM_DEID_H

#include <stdint.h>
#include <stdio.h>

#include "../config/module.h"
#include "../core/safety.h"
#include "dicom_io.h"
#include "dicom_profile.h"
#include "file_kind.h"
#include "oprf_table.h"
#include "pixel_rules.h"

#define MR_DCM_MAX_MODALITIES 16

/* Where an identifier of the module comes from in a DICOM file. */
typedef struct mr_dcm_source {
    uint16_t group, element;
    int component; /* person names: 0 family, 1 given, 2 middle; -1 the whole value */
} mr_dcm_source;

typedef struct mr_dcm_safe_private {
    char creator[65];
    uint16_t group;
    uint8_t offset; /* the element's low byte: (gggg,xxOO) under creator (gggg,00xx) */
} mr_dcm_safe_private;

typedef struct mr_dicom_config {
    char *path;
    mr_module *module;
    mr_dcm_profile *profile;
    unsigned options; /* MR_OPT_* */
    mr_dcm_source sources[MR_MAX_IDENTIFIERS]; /* in the module's identifier order */
    mr_dcm_safe_private *safe;
    size_t n_safe;
    char modalities[MR_DCM_MAX_MODALITIES][17]; /* quarantined unless Burned In Annotation is NO */
    size_t n_modalities;
    mr_pixel_rules pixel_rules; /* where burned-in text is blanked instead (pixel_rules.h) */
    const char *assumed_charset; /* what a file that declares no character set is written in; NULL: ASCII */
    char assumed_charset_buf[65];
    int keep_ages_over_89; /* ages_over_89 = keep: Patient's Age as written (else "090Y") */
    uint8_t digest[32]; /* SHA-256 of the bytes of every file it was read from */
    mr_file_kinds *kinds; /* libmagic's database, read once when needed (NULL: by each call) */
} mr_dicom_config;

/* Parse the configuration (INI; docs/deid.md). *errmsg names the file,
 * line and problem. */
MR_MUST_CHECK medreg_err mr_dicom_config_load(const char *path, mr_dicom_config **out, char **errmsg);
void mr_dicom_config_free(mr_dicom_config *c);

/* 2.25. followed by the decimal value of the first 128 bits of
 * HMAC-SHA256(key, "medreg/dicom-uid/v1" ‖ uid). */
void mr_dicom_uid_remap(const uint8_t key[32], const char *uid, size_t len, char out[65]);

typedef enum mr_dcm_outcome {
    MR_DCM_WRITTEN = 0,
    MR_DCM_QUARANTINED, /* de-identified, but the pixels may show text: for a person to check */
    MR_DCM_SKIPPED,     /* unreadable, or the PSN's identifiers are missing: nothing written */
    MR_DCM_DIRECTORY,   /* a DICOMDIR: never copied (it names every patient of the media, and its
                         * file references fit the input's layout, not the output's) */
    MR_DCM_NOT_DICOM    /* certainly no image (a viewer program, a PDF: file_kind.h): not copied */
} mr_dcm_outcome;
#define MR_DCM_N_OUTCOMES 5

typedef struct mr_dcm_result {
    mr_dcm_outcome outcome;
    char out_path[4096];
    char reason[256];
    unsigned long removed, emptied, replaced, uids, shifted, cleaned, blanked; /* blanked: pixel regions */
    unsigned long pixel_text; /* text segments taken out of compressed pixels (codestream_text.h) */
    unsigned long pixel_tail; /* bytes cut from the end of pixel data longer than its image */
    unsigned long ages; /* ages of 90 years or more written "090Y" */
    int already; /* written or quarantined: the same bytes were there already (a run again, an image twice) */
} mr_dcm_result;

/* De-identify one file into out_dir/<study>/<series>/<instance>.dcm (new
 * UIDs), or the same under quarantine_dir. The PSN, the UID key and the
 * date-shift key come from src (local or network-wide; in the collect pass
 * only the PSN input is recorded, and a file it would write is reported
 * WRITTEN). MEDREG_OK whatever the outcome (see res); an error only when
 * something beyond this file failed. */
/* Files are written under ROOT/.medreg-partial (ROOT: the output or the
 * quarantine folder, so that linking them into place never crosses a file
 * system), named by host, process and thread. Open it before a run: what
 * runs of this host no longer alive left there (a run killed half-way) is
 * removed. Close it after: removed if empty (another run may still write). */
#define MR_DICOM_PARTIAL ".medreg-partial"
MR_MUST_CHECK medreg_err mr_dicom_partial_open(const char *root);
void mr_dicom_partial_close(const char *root);

MR_MUST_CHECK medreg_err mr_dicom_deid_file(const mr_dicom_config *cfg, const mr_psn_source *src,
                                            const char *in_path, const char *out_dir, const char *quarantine_dir,
                                            mr_dcm_result *res);

/* Verify one pair: every identifying value of in_path (by the profile and
 * options, at any depth, private attributes and the meta header included)
 * is searched for in every element of out_path and in its raw bytes. Each
 * survivor is written to findings as "out_path,(gggg,eeee),what" (never
 * the value itself) and counted in *survivors. */
/* The direct identifiers verify looks for whatever the configured table
 * says ((group << 16) | element, *n of them): rows of table E.1-1 that no
 * option keeps or cleans (the patient's names, IDs, birth, address and
 * telephone, accession and admission numbers, the names of physicians and
 * staff). A table edited wrongly, or a classifier gone wrong, would blind
 * the de-identifier and the rule-driven search alike; not these. */
const uint32_t *mr_dicom_direct_identifiers(size_t *n);

MR_MUST_CHECK medreg_err mr_dicom_verify(const mr_dicom_config *cfg, const char *in_path, const char *out_path,
                                         FILE *findings, unsigned long *survivors);

#endif
