/* mr_dcm_blank and its check on the layouts the integration test's
 * img2dcm images do not have: 16 bits allocated, colour planes one after
 * the other (planar configuration 1), several frames, a region past the
 * edge; the written file is read back and every sample must be 0 exactly
 * inside the region, by positions computed here. And what it refuses:
 * pixel data shorter than its attributes say, a photometric interpretation
 * with shared chroma, 32 bits, no rows. Each image is a bare dataset in
 * explicit VR little endian, written here element by element, every
 * sample 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/dicom_io.h"
#include "../check.h"
#include "bare_dataset.h"

static uint8_t buf[1 << 16];
static bare_dataset ds = {buf, 0};

static void us(unsigned element, unsigned v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    bare_elem(&ds, 0x0028, element, "US", b, 2);
}

static char path[64], out_path[64]; /* this process's own, in main */

/* rows x cols, spp samples, bits allocated, planar, frames; the pixel data
 * holds `have` samples (all 1); 0 when the file cannot be written */
static int image(unsigned rows, unsigned cols, unsigned spp, unsigned bits, unsigned planar, unsigned frames,
                 const char *photometric, size_t have)
{
    char nf[16];
    ds.len = 0;
    bare_elem(&ds, 0x0008, 0x0060, "CS", "US", 2);
    us(0x0002, spp);
    bare_elem(&ds, 0x0028, 0x0004, "CS", photometric, strlen(photometric));
    if (spp > 1)
        us(0x0006, planar);
    snprintf(nf, sizeof nf, "%u", frames);
    bare_elem(&ds, 0x0028, 0x0008, "IS", nf, strlen(nf));
    us(0x0010, rows);
    us(0x0011, cols);
    us(0x0100, bits);
    us(0x0101, bits);
    us(0x0102, bits - 1);
    us(0x0103, 0);
    size_t bytes = have * bits / 8, padded = bytes + (bytes & 1);
    if (ds.len + 12 + padded > sizeof buf)
        return 0;
    bare_pixels_head(&ds, bits == 8 ? "OB" : "OW", (uint32_t)padded);
    uint8_t *px = buf + ds.len;
    for (size_t i = 0; i < have; i++) {
        if (bits == 8)
            px[i] = 1;
        else if (bits == 16)
            px[2 * i] = 1, px[2 * i + 1] = 0;
        else
            memcpy(px + 4 * i, "\1\0\0\0", 4);
    }
    if (bytes & 1)
        px[bytes] = 0;
    ds.len += padded;
    FILE *f = fopen(path, "wb");
    return f && fwrite(buf, 1, ds.len, f) == ds.len && fclose(f) == 0;
}

typedef struct layout {
    unsigned rows, cols, spp, bits, planar, frames;
} layout;

/* Is every sample of the written file's pixel data 0 exactly inside r
 * (computed here, not by the code under test)? The pixel data is the last
 * element, so it ends the file. */
static int zero_exactly_in(const layout *l, const mr_dcm_region *r)
{
    size_t plane = (size_t)l->rows * l->cols, per_frame = plane * l->spp, n = per_frame * l->frames;
    size_t bytes = l->bits / 8, total = n * bytes, padded = total + (total & 1);
    static uint8_t file[1 << 17];
    FILE *f = fopen(out_path, "rb");
    size_t got = f ? fread(file, 1, sizeof file, f) : 0;
    if (f)
        fclose(f);
    if (got < padded)
        return 0;
    const uint8_t *px = file + got - padded;
    for (size_t i = 0; i < n; i++) {
        size_t in_frame = i % per_frame, x, y;
        if (l->planar) {
            y = (in_frame % plane) / l->cols;
            x = (in_frame % plane) % l->cols;
        } else {
            y = (in_frame / l->spp) / l->cols;
            x = (in_frame / l->spp) % l->cols;
        }
        int inside = x >= r->x && x < (size_t)r->x + r->width && y >= r->y && y < (size_t)r->y + r->height;
        int zero = px[i * bytes] == 0 && (bytes == 1 || px[i * bytes + 1] == 0);
        if (zero != inside)
            return 0;
    }
    return 1;
}

/* blank r in the image; count what the check finds left in r; write it */
static medreg_err run(const mr_dcm_region *r, unsigned long *in_r)
{
    mr_dcm_file *f = NULL;
    char *why = NULL;
    medreg_err rc = mr_dcm_load(path, MR_DCM_WHOLE, &f, &why);
    free(why);
    why = NULL;
    if (rc != MEDREG_OK)
        return MEDREG_ERR_IO; /* the test's own file: never a refusal to count */
    rc = mr_dcm_blank(f, r, 1, &why);
    if (rc == MEDREG_OK && mr_dcm_regions_nonzero(f, r, 1, in_r, &why) != MEDREG_OK)
        rc = MEDREG_ERR_IO;
    free(why);
    why = NULL;
    unlink(out_path);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
    if (rc == MEDREG_OK && mr_dcm_save(f, out_path, tmp, &why) != MEDREG_OK)
        rc = MEDREG_ERR_IO;
    free(why);
    mr_dcm_free(f);
    return rc;
}

#define IMAGE(l, photometric, have) image((l).rows, (l).cols, (l).spp, (l).bits, (l).planar, (l).frames, photometric, have)

int main(void)
{
    unsigned long in_r = 99;
    const mr_dcm_region r = {1, 2, 3, 4}; /* 3 wide, 4 high */
    snprintf(path, sizeof path, "/tmp/medreg-blank-%ld.dcm", (long)getpid());
    snprintf(out_path, sizeof out_path, "/tmp/medreg-blank-%ld.out.dcm", (long)getpid());

    /* 16 bits, monochrome, 3 frames of 8 rows x 6 columns */
    layout mono16 = {8, 6, 1, 16, 0, 3};
    CHECK(IMAGE(mono16, "MONOCHROME2", 3 * 48));
    CHECK(run(&r, &in_r) == MEDREG_OK && in_r == 0 && zero_exactly_in(&mono16, &r));

    /* RGB, planes one after the other, 2 frames */
    layout planes = {8, 6, 3, 8, 1, 2};
    CHECK(IMAGE(planes, "RGB", 2 * 48 * 3));
    CHECK(run(&r, &in_r) == MEDREG_OK && in_r == 0 && zero_exactly_in(&planes, &r));

    /* RGB, samples side by side, 16 bits */
    layout rgb16 = {8, 6, 3, 16, 0, 1};
    CHECK(IMAGE(rgb16, "RGB", 48 * 3));
    CHECK(run(&r, &in_r) == MEDREG_OK && in_r == 0 && zero_exactly_in(&rgb16, &r));

    /* a region reaching past the image is cut at its edge */
    const mr_dcm_region past = {4, 5, 60000, 60000}, cut = {4, 5, 2, 3};
    layout mono8 = {8, 6, 1, 8, 0, 1};
    CHECK(IMAGE(mono8, "MONOCHROME1", 48));
    CHECK(run(&past, &in_r) == MEDREG_OK && in_r == 0 && zero_exactly_in(&mono8, &cut));

    /* refused */
    CHECK(IMAGE(mono16, "MONOCHROME2", 2 * 48)); /* claims 3 frames, holds 2 */
    CHECK(run(&r, &in_r) == MEDREG_ERR_INVALID);
    CHECK(IMAGE(rgb16, "YBR_FULL_422", 48 * 3));
    CHECK(run(&r, &in_r) == MEDREG_ERR_INVALID);
    layout mono32 = {8, 6, 1, 32, 0, 1};
    CHECK(IMAGE(mono32, "MONOCHROME2", 48));
    CHECK(run(&r, &in_r) == MEDREG_ERR_INVALID);
    layout empty = {0, 6, 1, 8, 0, 1};
    CHECK(IMAGE(empty, "MONOCHROME2", 0));
    CHECK(run(&r, &in_r) == MEDREG_ERR_INVALID);

    unlink(path);
    unlink(out_path);
    return TEST_DONE();
}
