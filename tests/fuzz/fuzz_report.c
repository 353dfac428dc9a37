/* A deid dicom report given to `medreg deid verify`, or found beside a run
 * that takes up an earlier one: whatever its bytes, the walk neither crashes
 * nor hands on anything but whole objects; and taken up alongside a walk
 * of a few names (some there, some not), it hands on only entries that
 * name them, marked as not read again, or entries of names the walk passed
 * by, marked gone. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/deid/dicom_report.h"
#include "../../src/deid/dicom_resume.h"

static medreg_err entry(json_t *e, void *ctx)
{
    (void)ctx;
    if (!json_is_object(e))
        abort();
    return MEDREG_OK;
}

static void check(json_t *e, const char *outcome_is, const char *in)
{
    if (e == NULL)
        return;
    const char *o = json_string_value(json_object_get(e, "outcome"));
    char *p = mr_dicom_report_path(e, "in");
    if (outcome_is ? (o == NULL || strcmp(o, outcome_is)) : !json_is_true(json_object_get(e, "not_read_again")))
        abort();
    if (in != NULL && (p == NULL || strcmp(p, in)))
        abort();
    free(p);
    json_decref(e);
}

/* The same bytes as the report of an earlier run (its "resume" must be 64
 * zeros, as in the corpus), in a folder of their own. */
static void resume(const uint8_t *data, size_t size)
{
    static const char *const WALK[] = {"in/1.dcm", "in/2.dcm", "in/b", "in/x.txt", "report.json"};
    static const char TAG[] = "0000000000000000000000000000000000000000000000000000000000000000";
    char dir[] = "/tmp/medreg-fuzz-report-XXXXXX", cwd[4096], why[256];
    if (getcwd(cwd, sizeof cwd) == NULL || mkdtemp(dir) == NULL || chdir(dir) != 0)
        abort();
    FILE *fp = fopen("report.json", "w");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort();
    if (mkdir("in", 0700) != 0 || mkdir("o", 0700) != 0 || (fp = fopen("in/1.dcm", "w")) == NULL || fclose(fp) != 0 ||
        (fp = fopen("o/1.dcm", "w")) == NULL || fclose(fp) != 0)
        abort();
    mr_dicom_resume *r = NULL;
    json_t *e;
    if (mr_dicom_resume_open("report.json", NULL, TAG, "o", "q", &r, why, sizeof why) != MEDREG_OK)
        abort();
    for (size_t i = 0; r != NULL && i <= sizeof WALK / sizeof WALK[0]; i++) {
        const char *in = i < sizeof WALK / sizeof WALK[0] ? WALK[i] : NULL;
        do {
            if (mr_dicom_resume_gone(r, in, &e) != MEDREG_OK)
                abort();
            check(e, "gone", NULL);
        } while (e != NULL);
        if (in != NULL) {
            if (mr_dicom_resume_find(r, in, &e) != MEDREG_OK)
                abort();
            check(e, NULL, in);
        }
    }
    mr_dicom_resume_close(r);
    unlink("in/1.dcm");
    unlink("o/1.dcm");
    rmdir("in");
    rmdir("o");
    unlink("report.json");
    if (chdir(cwd) != 0 || rmdir(dir) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[160];
    if (size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "r");
    if (fp == NULL)
        return 0;
    medreg_err rc = mr_dicom_report_each(fp, entry, NULL, why, sizeof why);
    if (rc != MEDREG_OK && rc != MEDREG_ERR_INVALID)
        abort();
    if (rc == MEDREG_ERR_INVALID && why[0] == 0)
        abort(); /* every refusal says why */
    fclose(fp);
    resume(data, size);
    return 0;
}
