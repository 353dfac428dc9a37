/* Text that compressed pixels carry beside the image. A JPEG or JPEG-LS
 * stream may hold comment segments (COM) and application segments (APPn:
 * Exif, XMP, ICC profiles, a scanner's notes), a JPEG 2000 codestream
 * comment marker segments (COM); no decoder needs them, and writers put
 * names, dates and accession numbers there. A DICOM profile looks at
 * attributes, never inside Pixel Data, so nothing else removes them.
 *
 * This walks the frames' marker segments (the entropy-coded data only as
 * far as finding where it ends) and writes each frame again without them.
 * Bytes only: the caller takes them out of the file's fragments and puts
 * the frames back (dicom_io.h). */
#ifndef MR_CODESTREAM_TEXT_H
#define MR_CODESTREAM_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/safety.h"

typedef struct mr_codestream_frames {
    uint8_t *bytes;   /* the frames, one after another, each unpadded (malloc'ed) */
    size_t n;
    size_t *frame_at; /* frame i is bytes[frame_at[i] .. frame_at[i + 1]), the last to n */
    size_t n_frames;
    unsigned long removed; /* segments left out, and runs of stray bytes between frames */
} mr_codestream_frames;

/* The frames of in (the compressed fragments of one Pixel Data, one after
 * another: a frame may span fragments), each a JPEG or JPEG-LS stream (SOI
 * to EOI) or a JPEG 2000 codestream (SOC to EOC), without their text.
 * Kept: every segment a decoder uses, and the application segments of fixed
 * form that carry none (JFIF without a thumbnail, Adobe's colour transform,
 * SPIFF's and JPEG-LS's colour transform "mrfx"). Between frames only zero
 * padding is expected; other bytes are left out and counted. out->removed
 * is 0 when in holds nothing to take out.
 *
 * MEDREG_ERR_INVALID, with why, when in is not such frames (another
 * compression, a frame cut short, a segment longer than what follows) or
 * holds text that cannot be taken out safely (a JPEG 2000 comment inside a
 * tile-part header when the main header lists tile-part lengths). */
MR_MUST_CHECK medreg_err mr_codestream_strip_text(const uint8_t *in, size_t n, mr_codestream_frames *out, char *why,
                                                  size_t why_len);
/* Wipes (the frames are a patient's image) and frees. */
void mr_codestream_frames_free(mr_codestream_frames *c);

#endif
