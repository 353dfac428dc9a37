/* The report is written and read entry by entry: what the writer makes
 * (mode 0600, under .partial until it ends, then over an earlier report
 * in one step, which a failed run leaves whole) reads back; the layout medreg writes, a compact one and one reindented by jq read alike; a
 * report cut anywhere, out of order, or with anything else is refused with
 * the byte, and the entries before the fault are the only ones seen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/deid/dicom_report.h"

typedef struct seen {
    size_t n;
    char ins[8][32];
    size_t stop_at; /* 0: never */
} seen;

static medreg_err take(json_t *e, void *ctx)
{
    seen *s = ctx;
    const char *in = json_string_value(json_object_get(e, "in"));
    if (s->n < 8)
        snprintf(s->ins[s->n], sizeof s->ins[0], "%s", in ? in : "?");
    s->n++;
    return s->stop_at && s->n == s->stop_at ? MEDREG_ERR_IO : MEDREG_OK;
}

static medreg_err walk(const char *text, size_t len, seen *s, char *why)
{
    memset(s, 0, sizeof *s);
    FILE *fp = fmemopen((void *)text, len, "r");
    if (fp == NULL)
        return MEDREG_ERR_IO;
    medreg_err rc = mr_dicom_report_each(fp, take, s, why, 160);
    fclose(fp);
    return rc;
}

static const char WRITTEN[] = /* as deid dicom writes it */
    "{\n  \"format\": \"medreg-deid-dicom-report/v1\",\n  \"config\": \"d.ini\",\n  \"written\": 2,\n"
    "  \"quarantined\": 0,\n  \"files\": [\n"
    "    {\"in\": \"in/1.dcm\", \"outcome\": \"written\", \"out\": \"o/1.dcm\", \"actions\": {\"removed\": 9}},\n"
    "    {\"in\": \"in/\\\"odd\\\" ],}\\u00e9.dcm\", \"outcome\": \"written\", \"out\": \"o/2.dcm\"},\n"
    "    {\"in\": \"in/x.txt\", \"outcome\": \"not_dicom\", \"reason\": \"not DICOM\"}\n  ]\n}\n";
static const char COMPACT[] = "{\"format\":\"medreg-deid-dicom-report/v1\",\"files\":[{\"in\":\"a\"},{\"in\":\"b\"}],"
                              "\"written\":-1.5e3,\"ok\":true,\"x\":null,\"o\":{\"files\":[1]}}";
static const char JQ[] = "{\n  \"format\": \"medreg-deid-dicom-report/v1\",\n  \"written\": 1,\n  \"files\": [\n"
                         "    {\n      \"in\": \"a\",\n      \"actions\": {\n        \"removed\": 9\n      }\n    }\n"
                         "  ],\n  \"psn\": \"local\"\n}\n";

static medreg_err write_report(const char *path, json_t *head, json_t *tail, size_t n, size_t fail_at)
{
    mr_dicom_report_writer *w;
    medreg_err rc = mr_dicom_report_begin(path, head, &w);
    for (size_t i = 0; rc == MEDREG_OK && i < n; i++) {
        char in[32];
        snprintf(in, sizeof in, "in/%zu \"q\".dcm", i);
        json_t *e = i + 1 == fail_at ? json_string("not an object") : json_pack("{s:s,s:s}", "in", in, "outcome", "written");
        if (mr_dicom_report_add(w, e) != MEDREG_OK)
            rc = MEDREG_ERR_IO;
        json_decref(e);
    }
    if (rc == MEDREG_OK)
        return mr_dicom_report_end(w, tail);
    mr_dicom_report_discard(w);
    return rc;
}

/* Written entry by entry, read back by the walk; the counts that follow
 * "files" are in the JSON too. */
static void round_trip(void)
{
    char dir[] = "/tmp/medreg-report-XXXXXX", path[64], partial[80], why[160];
    seen s;
    memset(&s, 0, sizeof s);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/r.json", dir);
    snprintf(partial, sizeof partial, "%s.partial", path);
    json_t *head = json_pack("{s:s,s:{s:i}}", "format", MR_DICOM_REPORT_FORMAT, "nested", "x", 1);
    json_t *tail = json_pack("{s:i,s:i}", "written", 3, "skipped", 0);

    /* while it is written it is only the .partial, 0600 */
    mr_dicom_report_writer *w;
    struct stat st;
    CHECK(mr_dicom_report_begin(path, head, &w) == MEDREG_OK);
    CHECK(access(path, F_OK) != 0 && stat(partial, &st) == 0 && (st.st_mode & 0777) == 0600);
    mr_dicom_report_discard(w);
    CHECK(access(path, F_OK) != 0 && access(partial, F_OK) != 0);

    CHECK(write_report(path, head, tail, 3, 0) == MEDREG_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && access(partial, F_OK) != 0);
    FILE *fp = fopen(path, "r");
    CHECK(fp && mr_dicom_report_each(fp, take, &s, why, sizeof why) == MEDREG_OK && s.n == 3 &&
          strcmp(s.ins[2], "in/2 \"q\".dcm") == 0);
    if (fp)
        fclose(fp);
    json_error_t je;
    json_t *whole = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    CHECK(json_integer_value(json_object_get(whole, "written")) == 3 &&
          json_integer_value(json_object_get(json_object_get(whole, "nested"), "x")) == 1 &&
          json_array_size(json_object_get(whole, "files")) == 3);
    json_decref(whole);
    /* a run that fails leaves the earlier report whole; one that ends replaces it */
    CHECK(write_report(path, head, tail, 3, 2) == MEDREG_ERR_IO && access(partial, F_OK) != 0);
    memset(&s, 0, sizeof s);
    fp = fopen(path, "r");
    CHECK(fp && mr_dicom_report_each(fp, take, &s, why, sizeof why) == MEDREG_OK && s.n == 3);
    if (fp)
        fclose(fp);
    CHECK(unlink(path) == 0);
    /* an entry that cannot be written: no report at all */
    CHECK(write_report(path, head, tail, 3, 2) == MEDREG_ERR_IO && access(path, F_OK) != 0 &&
          access(partial, F_OK) != 0);
    /* a .partial a killed run left is no obstacle */
    FILE *stale = fopen(partial, "w");
    CHECK(stale != NULL);
    if (stale)
        fclose(stale);
    CHECK(write_report(path, head, tail, 3, 0) == MEDREG_OK && access(partial, F_OK) != 0);
    CHECK(write_report(path, head, tail, 0, 0) == MEDREG_OK); /* no files, over the last one */
    memset(&s, 0, sizeof s);
    fp = fopen(path, "r");
    CHECK(fp && mr_dicom_report_each(fp, take, &s, why, sizeof why) == MEDREG_OK && s.n == 0);
    if (fp)
        fclose(fp);
    unlink(path);
    rmdir(dir);
    json_decref(head);
    json_decref(tail);
}

/* The reader under the walk: the head's fields before "files" are there
 * to ask for (those after it are not: a run's counts); a report cut inside
 * an entry (a killed run's .partial) gives the whole entries, then says it
 * is cut; at the end NULL, again and again. */
static void reader(void)
{
    char why[160];
    mr_dicom_report_reader *r = NULL;
    json_t *e = NULL;
    FILE *fp = fmemopen((void *)WRITTEN, sizeof WRITTEN - 1, "r");
    CHECK(fp && mr_dicom_report_open(fp, &r, why, sizeof why) == MEDREG_OK);
    if (r == NULL)
        return;
    const json_t *head = mr_dicom_report_head(r);
    CHECK_STR(json_string_value(json_object_get(head, "config")), "d.ini");
    CHECK(json_object_get(head, "written") == NULL && json_object_get(head, "files") == NULL);
    size_t n = 0;
    while (mr_dicom_report_next(r, &e, why, sizeof why) == MEDREG_OK && e != NULL) {
        n++;
        json_decref(e);
    }
    CHECK(n == 3 && e == NULL && mr_dicom_report_next(r, &e, why, sizeof why) == MEDREG_OK && e == NULL);
    mr_dicom_report_close(r);
    fclose(fp);

    const char *third = strstr(WRITTEN, "in/x.txt");
    fp = fmemopen((void *)WRITTEN, (size_t)(third - WRITTEN), "r");
    CHECK(fp && mr_dicom_report_open(fp, &r, why, sizeof why) == MEDREG_OK);
    n = 0;
    medreg_err rc;
    while ((rc = mr_dicom_report_next(r, &e, why, sizeof why)) == MEDREG_OK && e != NULL) {
        n++;
        json_decref(e);
    }
    CHECK(n == 2 && rc == MEDREG_ERR_INVALID && why[0] != 0 && e == NULL);
    mr_dicom_report_close(r);
    fclose(fp);
    /* refused at the head: nothing to close */
    fp = fmemopen((void *)"{\"files\": []}", 13, "r");
    CHECK(fp && mr_dicom_report_open(fp, &r, why, sizeof why) == MEDREG_ERR_INVALID && r == NULL);
    fclose(fp);
}

int main(void)
{
    round_trip();
    seen s;
    char why[160];
    CHECK(walk(WRITTEN, sizeof WRITTEN - 1, &s, why) == MEDREG_OK && s.n == 3);
    CHECK(strcmp(s.ins[0], "in/1.dcm") == 0 && strcmp(s.ins[1], "in/\"odd\" ],}\xc3\xa9.dcm") == 0 &&
          strcmp(s.ins[2], "in/x.txt") == 0);
    CHECK(walk(COMPACT, sizeof COMPACT - 1, &s, why) == MEDREG_OK && s.n == 2 && strcmp(s.ins[1], "b") == 0);
    CHECK(walk(JQ, sizeof JQ - 1, &s, why) == MEDREG_OK && s.n == 1 && strcmp(s.ins[0], "a") == 0);
    static const char EMPTY[] = "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [ ]}";
    CHECK(walk(EMPTY, sizeof EMPTY - 1, &s, why) == MEDREG_OK && s.n == 0);

    /* the callback stops the walk, and its error is the result */
    memset(&s, 0, sizeof s);
    FILE *fp = fmemopen((void *)WRITTEN, sizeof WRITTEN - 1, "r");
    s.stop_at = 2;
    CHECK(fp && mr_dicom_report_each(fp, take, &s, why, sizeof why) == MEDREG_ERR_IO && s.n == 2);
    fclose(fp);

    /* cut anywhere: refused, and never an entry that was not whole */
    size_t cuts = 0;
    for (size_t len = 0; len + 1 < sizeof WRITTEN - 1; len++) {
        if (walk(WRITTEN, len, &s, why) != MEDREG_ERR_INVALID || why[0] == 0 || s.n > 3)
            break;
        cuts++;
    }
    CHECK(cuts == sizeof WRITTEN - 2); /* the last cut only drops the final newline: still whole */
    CHECK(walk(WRITTEN, sizeof WRITTEN - 2, &s, why) == MEDREG_OK);

    static const char *const BAD[] = {
        "[]",
        "{}",
        "{\"files\": []}",                                                      /* no format */
        "{\"files\": [], \"format\": \"medreg-deid-dicom-report/v1\"}",         /* files first */
        "{\"format\": \"medreg-deid-csv-report/v1\", \"files\": []}",           /* another report */
        "{\"format\": 1, \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"format\": \"medreg-deid-dicom-report/v1\", \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [], \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\"}",                        /* no files */
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": {}}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [\"in\"]}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [{\"in\": \"a\"} {\"in\": \"b\"}]}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [{\"in\": \"a\"},]}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": []} {}",    /* something follows */
        "{\"format\": \"medreg-deid-dicom-report/v1\" \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", files: []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"n\": 1;2, \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"n\": , \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"n\": {\"a\": }, \"files\": []}",
        "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [{\"in\": \"a\", \"in\": \"b\"}]}",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        medreg_err rc = walk(BAD[i], strlen(BAD[i]), &s, why);
        if (rc != MEDREG_ERR_INVALID || why[0] == 0)
            fprintf(stderr, "not refused: %s\n", BAD[i]);
        CHECK(rc == MEDREG_ERR_INVALID && why[0] != 0);
    }
    CHECK(walk(BAD[3], strlen(BAD[3]), &s, why) == MEDREG_ERR_INVALID && strstr(why, "before") != NULL &&
          strstr(why, "byte") != NULL);
    reader();
    return TEST_DONE();
}
