/* Module files: the example loads; each kind of mistake is refused with a
 * message naming the file, the line (where inih knows it) and the problem;
 * record validation accepts and rejects what the schema says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/config/module.h"

static char dir[] = "/tmp/medreg-test-module-XXXXXX";

static void expect_load_error(const char *path, const char *fragment)
{
    mr_module *m = NULL;
    char *err = NULL;
    CHECK(mr_module_load(path, &m, &err) == MEDREG_ERR_CONFIG);
    CHECK(m == NULL);
    CHECK(err != NULL && strstr(err, path) != NULL);
    CHECK(err != NULL && strstr(err, fragment) != NULL);
    if (err && !strstr(err, fragment))
        fprintf(stderr, "  message was: %s\n  wanted: %s\n", err, fragment);
    free(err);
}

static void expect_error_n(const char *text, size_t len, const char *fragment)
{
    char path[256];
    snprintf(path, sizeof path, "%s/bad.ini", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL && fwrite(text, 1, len, fp) == len);
    fclose(fp);
    expect_load_error(path, fragment);
}

static void expect_error(const char *text, const char *fragment)
{
    expect_error_n(text, strlen(text), fragment);
}

static const char HEAD[] = "[module]\nname = t\n[identifier n]\nkind = name\n[group g]\ncategory = c\n";

int main(int argc, char **argv)
{
    mr_module *m = NULL;
    char *err = NULL;
    const char *example = argc > 1 ? argv[1] : "examples/hip.ini";
    CHECK(mkdtemp(dir) != NULL);

    CHECK(mr_module_load(example, &m, &err) == MEDREG_OK);
    CHECK(m != NULL && strcmp(m->name, "hip") == 0 && m->n_idents == 3 && m->key_id == 1);
    if (m) {
        const mr_field_def *f = mr_module_field(m, "depression_screen");
        CHECK(f && strcmp(f->category, "mental-health") == 0 && f->type == MR_FT_ENUM && f->n_values == 2);
        const char *field, *why;
        json_t *ok = json_pack("{s:s,s:s,s:s,s:i,s:f,s:b}", "side", "left", "implant", "Zweymüller",
                               "surgery_date", "2020-02-29", "harris_hip_score", 77, "weight", 81.5,
                               "revision", 0);
        CHECK(mr_module_validate_record(m, ok, &field, &why) == MEDREG_OK);
        json_decref(ok);
        /* tab and line breaks, and any other script, are text */
        ok = json_pack("{s:s,s:s,s:s}", "side", "left", "implant", "Corail\tKA\r\nΠαπαδόπουλος \u00a0 \u00a9",
                       "surgery_date", "2020-02-29");
        CHECK(mr_module_validate_record(m, ok, &field, &why) == MEDREG_OK);
        json_decref(ok);
        struct { const char *json, *field; } bad[] = {
            {"{\"implant\":\"x\",\"surgery_date\":\"2020-01-01\"}", "side"},
            {"{\"side\":\"up\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\"}", "side"},
            {"{\"side\":\"left\",\"implant\":3,\"surgery_date\":\"2020-01-01\"}", "implant"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-02-30\"}", "surgery_date"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"01.01.2020\"}", "surgery_date"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\",\"harris_hip_score\":101}", "harris_hip_score"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\",\"harris_hip_score\":7.5}", "harris_hip_score"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\",\"weight\":\"80\"}", "weight"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\",\"revision\":1}", "revision"},
            {"{\"side\":\"left\",\"implant\":\"x\",\"surgery_date\":\"2020-01-01\",\"name\":\"Müller\"}", "name"},
            {"{\"side\":null,\"implant\":\"x\",\"surgery_date\":\"2020-01-01\"}", "side"},
            /* commands for the reader's terminal: ESC (OSC 52 writes the
             * clipboard), BEL, DEL, C1's CSI (U+009B) */
            {"{\"side\":\"left\",\"implant\":\"\\u001b]52;c;cm0gLXJmIH4=\\u0007\",\"surgery_date\":\"2020-01-01\"}", "implant"},
            {"{\"side\":\"left\",\"implant\":\"x\\u007f\",\"surgery_date\":\"2020-01-01\"}", "implant"},
            {"{\"side\":\"left\",\"implant\":\"\\u009b31mx\",\"surgery_date\":\"2020-01-01\"}", "implant"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            json_t *j = json_loads(bad[i].json, 0, NULL);
            field = why = NULL;
            CHECK(mr_module_validate_record(m, j, &field, &why) == MEDREG_ERR_INVALID);
            CHECK_STR(field, bad[i].field);
            json_decref(j);
        }
        json_t *arr = json_array();
        CHECK(mr_module_validate_record(m, arr, &field, &why) == MEDREG_ERR_INVALID);
        json_decref(arr);
    }
    mr_module_free(m);

    char buf[1024];
    expect_error("[module]\nname = Bad Name\n", ":2: module name");
    expect_error("[module]\nname = t\ncolour = red\n", ":3: unknown key 'colour'");
    expect_error("[module]\nname = t\n[identifier n]\nkind = nickname\n", ":4: kind 'nickname'");
    expect_error("[module]\nname = t\n[identifier n]\nkind = date\nslash_order = ymd\n", ":5: slash_order");
    expect_error("[module]\nname = t\n[identifier n]\nkind = code\ncheck = crc\n", ":5: check 'crc'");
    expect_error("[module]\nname = t\n[identifier n]\nkind = name\n[identifier n]\nkind = name\n", ":6: [identifier n]: kind set twice");
    expect_error("[module]\nname = t\n[widget w]\nx = 1\n", ":4: unknown section [widget w]");
    expect_error("[module]\nname = t\nkey_id = 0\n", ":3: key_id");
    expect_error("[module]\nname = t\nthis line has no equals sign\n", ":3:");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = g\ntype = float\n", HEAD);
    expect_error(buf, ":9: type 'float'");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = g\ntype = integer\nmin = ten\n", HEAD);
    expect_error(buf, ":10: min 'ten'");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = g\ntype = integer\nrequired = maybe\n", HEAD);
    expect_error(buf, ":10: required 'maybe'");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = h\ntype = integer\n", HEAD);
    expect_error(buf, "[field f]: group 'h' is not defined");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = g\ntype = enum\n", HEAD);
    expect_error(buf, "[field f]: an enum needs 'values'");
    snprintf(buf, sizeof buf, "%s[field f]\ngroup = g\ntype = integer\nmin = 5\nmax = 1\n", HEAD);
    expect_error(buf, "[field f]: min is greater than max");
    expect_error("[module]\nname = t\n[identifier n]\nkind = name\n", "no [field ...] section");
    expect_error("[identifier n]\nkind = name\n", "'name' is missing");
    expect_error("[module]\nname = t\n", "no [identifier ...] section");
    CHECK(mr_module_load("/nonexistent/x.ini", &m, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "/nonexistent/x.ini") != NULL);
    free(err);

    /* what is no text file is refused before it is read: a FIFO (nobody
     * writes to it: opening it for reading would wait for ever), a device
     * that never ends, a folder; then text inih would read otherwise than
     * it stands: a NUL byte (the rest unread), a line past inih's buffer
     * (its tail a line of its own), more than a configuration holds */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.ini", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    expect_load_error(fifo, "not a regular file");
    expect_load_error("/dev/zero", "not a regular file");
    expect_load_error(dir, "not a regular file");
    expect_error_n("[module]\nname = t\0\ncolour = red\n", 27, ":2: a NUL byte");
    char *line = malloc(1u << 21);
    CHECK(line != NULL);
    /* 199 bytes pass (the error is then the module's own), 200 do not */
    for (int n = 199; n <= 200; n++) {
        int k = snprintf(line, 300, "[module]\nname = t\ndescription = ");
        memset(line + k, 'a', (size_t)n - (size_t)(k - 18));
        snprintf(line + k + n - (k - 18), 300, "\n[identifier n]\n");
        expect_error(line, n == 199 ? "unknown key 'description'" : ":3: line longer than the 199 bytes");
    }
    memset(line, '#', (1u << 20) + 1);
    line[(1u << 20) + 1] = 0;
    expect_error(line, "larger than 1 MiB");
    free(line);
    /* a list longer than a line goes on over indented lines: the values of
     * every line, in order */
    {
        char ok_path[300];
        snprintf(ok_path, sizeof ok_path, "%s/long.ini", dir);
        FILE *fp = fopen(ok_path, "w");
        CHECK(fp != NULL);
        fprintf(fp, "%s[field f]\ngroup = g\ntype = enum\nvalues = a, b,\n  c, d\n  e\n", HEAD);
        fclose(fp);
        m = NULL;
        err = NULL;
        CHECK(mr_module_load(ok_path, &m, &err) == MEDREG_OK);
        const mr_field_def *f = m ? mr_module_field(m, "f") : NULL;
        CHECK(f && f->n_values == 5 && !strcmp(f->values[2], "c") && !strcmp(f->values[4], "e"));
        mr_module_free(m);
        free(err);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return TEST_DONE();
}
