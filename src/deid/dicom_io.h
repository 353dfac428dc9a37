/* DICOM files through DCMTK, behind a small C interface (dicom_dcmtk.cpp):
 * load, walk every element of the meta header and the dataset, depth
 * first into every sequence item, change or delete as a visitor decides,
 * read and set a few top-level values, save. No DICOM parsing here. */
#ifndef MR_DICOM_IO_H
#define MR_DICOM_IO_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mr_dcm_file mr_dcm_file;

/* One element as the visitor sees it. */
typedef struct mr_dcm_elem {
    uint16_t group, element;
    char vr[3];          /* "PN", "SQ", … */
    int in_meta;         /* the file meta header (group 0002) */
    int depth;           /* 0: top level; n: inside n sequences */
    const char *creator; /* private data elements: their private creator, else NULL */
    const char *value;   /* string VRs: the whole value, components split by '\\'; else NULL */
    const uint8_t *bytes; /* UN (a VR the dictionary does not know either): its bytes; else NULL */
    size_t n_bytes;
} mr_dcm_elem;

typedef enum mr_dcm_action {
    MR_DCM_KEEP = 0, /* a sequence is kept and its items are walked */
    MR_DCM_DELETE,   /* remove the element */
    MR_DCM_EMPTY,    /* keep it with an empty value (a sequence loses its items) */
    MR_DCM_REPLACE   /* set the value to *replacement (malloc'ed; the walk frees it) */
} mr_dcm_action;

typedef mr_dcm_action (*mr_dcm_visit)(void *ctx, const mr_dcm_elem *e, char **replacement);

typedef enum mr_dcm_load_mode {
    MR_DCM_WHOLE, /* a file to be written again: up to 4 MiB, read at once with one read() */
    MR_DCM_LAZY   /* a file only looked at: values over 4 KiB (pixels) read from it only if asked for */
} mr_dcm_load_mode;

/* Load a DICOM file (Part 10, or a bare dataset). On failure *why is a
 * malloc'ed description of DCMTK's error, or of the file's: one that
 * changes while it is read whole is refused; MEDREG_ERR_CONFLICT when
 * DCMTK read it but it cannot be taken for what it says (the same element
 * in its meta header and its dataset). */
MR_MUST_CHECK medreg_err mr_dcm_load(const char *path, mr_dcm_load_mode mode, mr_dcm_file **out, char **why);
/* The data dictionary files DCMTK reads when it starts, ':'-separated:
 * $DCMDICTPATH, else its built-in list. Outputs depend on them (the VR of
 * each element of an implicit-VR file), as on the code. */
const char *mr_dcm_dictionary_path(void);
void mr_dcm_free(mr_dcm_file *f);

/* DCMTK's conversion of the dataset's text to UTF-8 (ISO_IR 192), from
 * the character set(s) its Specific Character Set (0008,0005) names, code
 * extensions (ISO 2022) included; the element is updated. When it is absent
 * or empty, the text is read in assumed (a configuration's word for what
 * its files are), or, if NULL, left as it is; nothing to do for UTF-8.
 * MEDREG_ERR_INVALID, with *why, when a value is not text in that character
 * set or DCMTK cannot convert it. dicom_charset.h says who calls it, and what it adds. */
MR_MUST_CHECK medreg_err mr_dcm_to_utf8(mr_dcm_file *f, const char *assumed, char **why);
/* Can DCMTK convert text in the character set term (a value of (0008,0005))
 * to UTF-8? */
int mr_dcm_charset_known(const char *term);

/* Visit the meta header, then the dataset. MEDREG_ERR_INVALID if DCMTK
 * refuses a replacement value (*why says which element). */
MR_MUST_CHECK medreg_err mr_dcm_walk(mr_dcm_file *f, mr_dcm_visit fn, void *ctx, char **why);

/* A top-level dataset (or meta, group 0002) string value, malloc'ed in
 * *out; MEDREG_ERR_NOTFOUND when absent. */
MR_MUST_CHECK medreg_err mr_dcm_get(mr_dcm_file *f, uint16_t group, uint16_t element, char **out);
/* Is (group,element) present at the top level (dataset, or meta for 0002)? */
int mr_dcm_has(mr_dcm_file *f, uint16_t group, uint16_t element);
/* Set (insert or replace) a top-level string value. */
MR_MUST_CHECK medreg_err mr_dcm_put(mr_dcm_file *f, uint16_t group, uint16_t element, const char *value);
/* Replace the sequence (group,element) by items of three strings:
 * Code Value, Coding Scheme Designator, Code Meaning. */
MR_MUST_CHECK medreg_err mr_dcm_put_codes(mr_dcm_file *f, uint16_t group, uint16_t element,
                                          const char *const (*codes)[3], size_t n);

/* A region of an image: columns x .. x+width-1, rows y .. y+height-1. */
typedef struct mr_dcm_region {
    uint16_t x, y, width, height;
} mr_dcm_region;

/* Set every sample of the regions to 0, in every frame of the top-level
 * Pixel Data. Compressed pixels (JPEG, JPEG-LS, RLE) are decoded first and
 * the file is then written uncompressed (explicit VR little endian), with
 * no trace of the compressed form. 8 or 16 bits allocated, a photometric
 * interpretation with one value per sample and pixel (MONOCHROME1/2,
 * PALETTE COLOR, RGB, YBR_FULL), either planar configuration; anything
 * else, a codec DCMTK lacks, or pixel data shorter than its attributes say
 * is MEDREG_ERR_INVALID with *why and the pixels unchanged. */
MR_MUST_CHECK medreg_err mr_dcm_blank(mr_dcm_file *f, const mr_dcm_region *r, size_t n, char **why);

/* How many samples of the regions are not 0, in every frame (the check
 * of a blanking; compressed pixels are decoded in memory). Errors as
 * mr_dcm_blank's. */
MR_MUST_CHECK medreg_err mr_dcm_regions_nonzero(mr_dcm_file *f, const mr_dcm_region *r, size_t n,
                                                unsigned long *count, char **why);

/* The top-level Pixel Data, when it is not compressed: its length in
 * *have, and in *need what its attributes make of the image (Rows x
 * Columns x Samples per Pixel x Number of Frames x Bits Allocated / 8,
 * rounded up to an even length). MEDREG_ERR_NOTFOUND when there is none,
 * it is compressed, or those attributes are missing or odd (bits
 * allocated neither 1 nor a multiple of 8). */
MR_MUST_CHECK medreg_err mr_dcm_native_pixel_lengths(mr_dcm_file *f, uint64_t *have, uint64_t *need);
/* Cut the top-level Pixel Data (not compressed) to its first n bytes, n
 * even and no more than its length. */
MR_MUST_CHECK medreg_err mr_dcm_cut_pixels(mr_dcm_file *f, uint64_t n);

/* The top-level Pixel Data's compressed fragments, one after another (the
 * offset table left out: a frame may span fragments), in *bytes
 * (malloc'ed), and the transfer syntax's UID in xfer. *tables_ok: 1 when
 * the offset tables hold offsets alone (the basic one empty or ascending
 * from 0, each where a fragment starts; an extended one, if any, likewise,
 * with as many lengths, none beyond the fragments' bytes), 0 when they
 * hold anything else. MEDREG_ERR_NOTFOUND when there is no Pixel Data or
 * it is not encapsulated. */
MR_MUST_CHECK medreg_err mr_dcm_compressed_pixels(mr_dcm_file *f, uint8_t **bytes, size_t *n, char xfer[65],
                                                  int *tables_ok);
/* Replace the compressed fragments by one fragment per frame (frame i is
 * bytes[at[i] .. at[i + 1]), the last to n; padded to an even length),
 * with a basic offset table; an extended offset table (7FE0,0001-0002),
 * which would no longer fit, is removed. The transfer syntax stays. */
MR_MUST_CHECK medreg_err mr_dcm_put_compressed_frames(mr_dcm_file *f, const uint8_t *bytes, size_t n,
                                                      const size_t *at, size_t n_frames);

/* Write the file (the original transfer syntax), with a preamble of
 * zeros whatever the input's held, to path, which must not
 * exist yet: written to tmp (a name of this thread's own), then linked to
 * path, so path is whole or absent. Not flushed: a run of many files flushes once (syncfs).
 * MEDREG_ERR_EXISTS when path holds these very bytes already (nothing is
 * written); MEDREG_ERR_IO, with why, when it holds others. */
MR_MUST_CHECK medreg_err mr_dcm_save(mr_dcm_file *f, const char *path, const char *tmp, char **why);

#ifdef __cplusplus
}
#endif
#endif
