/* Bare DICOM datasets in explicit VR little endian, written element by
 * element into a caller's buffer (which must be large enough): the inputs
 * of the DICOM unit tests. */
#ifndef MR_TEST_BARE_DATASET_H
#define MR_TEST_BARE_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bare_dataset {
    uint8_t *p;
    size_t len;
} bare_dataset;

static void bare_u16(bare_dataset *d, unsigned v)
{
    d->p[d->len++] = (uint8_t)v;
    d->p[d->len++] = (uint8_t)(v >> 8);
}

/* a short element: tag, VR, 2-byte length, value (padded to even with a space) */
static void bare_elem(bare_dataset *d, unsigned group, unsigned element, const char *vr, const void *v, size_t n)
{
    size_t padded = n + (n & 1);
    bare_u16(d, group);
    bare_u16(d, element);
    memcpy(d->p + d->len, vr, 2);
    d->len += 2;
    bare_u16(d, (unsigned)padded);
    memcpy(d->p + d->len, v, n);
    if (n & 1)
        d->p[d->len + n] = ' ';
    d->len += padded;
}

/* the head of the pixel data (7FE0,0010), OB or OW, claiming n bytes: the
 * value follows it */
static void bare_pixels_head(bare_dataset *d, const char *vr, uint32_t n)
{
    bare_u16(d, 0x7FE0);
    bare_u16(d, 0x0010);
    memcpy(d->p + d->len, vr, 2);
    d->len += 2;
    bare_u16(d, 0);
    bare_u16(d, n & 0xFFFF);
    bare_u16(d, n >> 16);
}

#endif
