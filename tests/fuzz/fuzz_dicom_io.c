/* The DICOM reader alone, fast: the same bytes loaded through both of
 * medreg's paths into DCMTK (MR_DCM_WHOLE: read at once and parsed from
 * memory through medreg's own stream and factory; MR_DCM_LAZY: DCMTK's file
 * stream), which must agree on whether the file parses and on what it
 * says; every element walked and kept; a file that parses written out and
 * read back on both paths, saying the same. fuzz_dicom runs the whole
 * de-identification on each input and so reaches the parser thirty times
 * a second; this harness reaches it hundreds of times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/deid/dicom_io.h"
#include "input_file.h"

/* top-level values that name the file: both paths must read them alike,
 * and they must survive a save and a load again */
static const uint16_t TAGS[][2] = {{0x0002, 0x0010}, {0x0008, 0x0018}, {0x0010, 0x0010}, {0x0010, 0x0020},
                                   {0x0020, 0x000d}, {0x0008, 0x0005}, {0x0028, 0x0010}};
#define NTAGS (sizeof TAGS / sizeof TAGS[0])

static mr_dcm_action keep(void *ctx, const mr_dcm_elem *e, char **replacement)
{
    (void)replacement;
    if (e->value != NULL)
        *(size_t *)ctx += strlen(e->value) + 1;
    return MR_DCM_KEEP;
}

static void values(mr_dcm_file *f, char *v[NTAGS])
{
    for (size_t i = 0; i < NTAGS; i++)
        if (mr_dcm_get(f, TAGS[i][0], TAGS[i][1], &v[i]) != MEDREG_OK)
            v[i] = NULL;
}

/* load path in mode: NULL when DCMTK refuses it; else its values in v */
static mr_dcm_file *load(const char *path, mr_dcm_load_mode mode, char *v[NTAGS])
{
    mr_dcm_file *f = NULL;
    char *why = NULL;
    medreg_err rc = mr_dcm_load(path, mode, &f, &why);
    free(why);
    if (rc != MEDREG_OK)
        return NULL;
    values(f, v);
    return f;
}

/* saved: b was read from what a's file was saved as. The meta header is
 * written anew (DCMTK names the transfer syntax it wrote, whatever UID the
 * input gave), and a dataset without a SOP Instance UID gets one of DCMTK's
 * (medreg never writes such a file: dicom_deid.c skips it); every other
 * value must be the same. */
static void same(char *const a[NTAGS], char *const b[NTAGS], int saved)
{
    for (size_t i = 0; i < NTAGS; i++)
        if (!(saved && (TAGS[i][0] == 0x0002 || a[i] == NULL)) &&
            ((a[i] == NULL) != (b[i] == NULL) || (a[i] != NULL && strcmp(a[i], b[i]) != 0))) {
            fprintf(stderr, "fuzz_dicom_io: (%04x,%04x) differs: '%s' / '%s'\n", TAGS[i][0], TAGS[i][1],
                    a[i] ? a[i] : "(none)", b[i] ? b[i] : "(none)");
            abort();
        }
}

static void clear(char *v[NTAGS])
{
    for (size_t i = 0; i < NTAGS; i++) {
        free(v[i]);
        v[i] = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[] = "/tmp/medreg-fuzz-dicom-io-XXXXXX";
    static int made;
    char in[128], out[128], tmp[128], *why = NULL;
    char *whole[NTAGS] = {0}, *lazy[NTAGS] = {0}, *again[NTAGS] = {0};
    if (!made && mkdtemp(dir) == NULL)
        abort();
    made = 1;
    snprintf(in, sizeof in, "%s/in.dcm", dir);
    snprintf(out, sizeof out, "%s/out.dcm", dir);
    snprintf(tmp, sizeof tmp, "%s/out.tmp", dir);
    input_file(in, data, size);

    mr_dcm_file *w = load(in, MR_DCM_WHOLE, whole), *l = load(in, MR_DCM_LAZY, lazy);
    if ((w == NULL) != (l == NULL)) {
        fprintf(stderr, "fuzz_dicom_io: the file parses on one path only (%s)\n", w ? "whole" : "lazy");
        abort();
    }
    if (w != NULL) {
        size_t text = 0;
        same(whole, lazy, 0);
        if (mr_dcm_walk(w, keep, &text, &why) != MEDREG_OK)
            abort(); /* nothing is replaced: nothing to refuse */
        free(why);
        why = NULL;
        /* the walk turns a NUL inside a text value into a space, and text
         * of unknown VR into its dictionary's VR: what is saved is the
         * file as walked */
        clear(whole);
        values(w, whole);
        /* what medreg writes, medreg (and so DCMTK) reads back, the same */
        unlink(out);
        if (mr_dcm_save(w, out, tmp, &why) == MEDREG_OK) {
            mr_dcm_file *a = load(out, MR_DCM_WHOLE, again);
            if (a == NULL) {
                fprintf(stderr, "fuzz_dicom_io: a written file does not load again\n");
                abort();
            }
            same(whole, again, 1);
            mr_dcm_free(a);
            clear(again);
            if ((a = load(out, MR_DCM_LAZY, again)) == NULL)
                abort();
            same(whole, again, 1);
            mr_dcm_free(a);
        }
        free(why);
        unlink(out);
        unlink(tmp);
    }
    mr_dcm_free(w);
    mr_dcm_free(l);
    clear(whole);
    clear(lazy);
    clear(again);
    return 0;
}
