/* A run trusts an earlier run's entry only when nothing it depends on has
 * changed: the tag (key, configuration, code, folders), the input's
 * identity, the output's place and size, an outcome that depends on the
 * input alone. Each check here tries one way to make a run trust what it
 * must not; a .partial cut short, or out of order, is trusted up to there. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/core/code_identity.h"
#include "../../../src/core/encode.h"
#include "../../../src/deid/dicom_report.h"
#include "../../../src/deid/dicom_resume.h"

static char dir[] = "/tmp/medreg-resume-XXXXXX";

static void put(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

/* What a run that read the file now would record. */
static void stamp(const char *name, char out[MR_DICOM_STAMP_MAX])
{
    struct stat sb;
    struct timespec later;
    clock_gettime(CLOCK_REALTIME, &later);
    later.tv_sec += 10;
    CHECK(lstat(name, &sb) == 0 && mr_dicom_input_stamp(&sb, &sb, &later, out) == 1);
}

static json_t *entry(const char *in, const char *outcome, const char *out, int stamped)
{
    char st[MR_DICOM_STAMP_MAX] = "";
    json_t *e = json_pack("{s:s,s:s,s:b}", "in", mr_is_utf8(in) ? in : "?", "outcome", outcome, "already_there", 1);
    if (stamped)
        stamp(in, st);
    if (st[0])
        json_object_set_new(e, "in_stat", json_string(st));
    if (out) {
        struct stat sb;
        char os[MR_DICOM_STAMP_MAX] = "0 0 0.000000000 0.000000000"; /* of a file that is not there */
        if (lstat(out, &sb) == 0)
            CHECK(mr_dicom_file_stamp(&sb, os));
        json_object_set_new(e, "out", json_string(out));
        json_object_set_new(e, "out_stat", json_string(os));
    }
    return e;
}

static void write_report(const char *path, const char *tag, json_t **entries, size_t n)
{
    json_t *head = json_pack("{s:s,s:s}", "format", MR_DICOM_REPORT_FORMAT, "resume", tag), *tail = json_object();
    mr_dicom_report_writer *w;
    CHECK(mr_dicom_report_begin(path, head, &w) == MEDREG_OK);
    for (size_t i = 0; i < n; i++)
        CHECK(mr_dicom_report_add(w, entries[i]) == MEDREG_OK);
    CHECK(mr_dicom_report_end(w, tail) == MEDREG_OK);
    json_decref(head);
    json_decref(tail);
}

/* The earlier inputs r says are gone before in (NULL: the end), as
 * "name name ...", compared with want; each says "gone" and has its output. */
static int gone(mr_dicom_resume *r, const char *in, const char *want)
{
    char names[256] = "";
    size_t n = 0;
    json_t *e;
    while (mr_dicom_resume_gone(r, in, &e) == MEDREG_OK && e != NULL) {
        const char *name = json_string_value(json_object_get(e, "in"));
        CHECK_STR(json_string_value(json_object_get(e, "outcome")), "gone");
        CHECK(json_object_get(e, "out") != NULL && json_object_get(e, "in_stat") == NULL);
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? " " : "", name ? name : "?");
        json_decref(e);
    }
    if (strcmp(names, want))
        fprintf(stderr, "gone before %s: \"%s\", wanted \"%s\"\n", in ? in : "the end", names, want);
    return !strcmp(names, want);
}

/* Is in trusted by r (asked in the walk's order)? */
static int found(mr_dicom_resume *r, const char *in)
{
    json_t *e = NULL;
    CHECK(mr_dicom_resume_find(r, in, &e) == MEDREG_OK);
    int ok = e != NULL;
    if (e != NULL) /* it says this run did not read it, and not what the earlier run found */
        CHECK(json_is_true(json_object_get(e, "not_read_again")) && json_object_get(e, "already_there") == NULL);
    json_decref(e);
    return ok;
}

static void stamps(void)
{
    struct stat a;
    char s[MR_DICOM_STAMP_MAX];
    memset(&a, 0, sizeof a);
    a.st_mode = S_IFREG | 0644;
    a.st_size = 100;
    a.st_ino = 7;
    a.st_ctim.tv_sec = a.st_mtim.tv_sec = 1000;
    struct stat b = a;
    struct timespec at = {1005, 0};
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 1 && s[0] != 0);
    at.tv_sec = 1001; /* changed a second before it was read, and within the second before */
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 1);
    a.st_ctim.tv_nsec = b.st_ctim.tv_nsec = 1;
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0 && s[0] == 0);
    at.tv_sec = 1002;
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 1);
    a.st_ctim.tv_sec = b.st_ctim.tv_sec = 1001;
    a.st_ctim.tv_nsec = b.st_ctim.tv_nsec = 900000000;
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0); /* 1001.9 is not a second before 1002.0 */
    a.st_ctim = b.st_ctim = (struct timespec){1000, 0};
    at.tv_sec = 1005;
    b.st_size = 101; /* written while it was read */
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0 && s[0] == 0);
    b = a;
    b.st_ino = 8; /* another file put under its name */
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0);
    b = a;
    b.st_ctim.tv_nsec = 1; /* its metadata changed (a touch -d back to the same mtime) */
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0);
    b = a;
    a.st_mode = S_IFLNK | 0777;
    b.st_mode = a.st_mode;
    CHECK(mr_dicom_input_stamp(&a, &b, &at, s) == 0);
}

static void tags(void)
{
    mr_dicom_config cfg;
    memset(&cfg, 0, sizeof cfg);
    uint8_t k1[32] = {1}, k2[32] = {2};
    char t1[65], t2[65];
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t1) == MEDREG_OK && strlen(t1) == 64);
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t2) == MEDREG_OK && !strcmp(t1, t2));
    CHECK(mr_dicom_resume_tag(k2, &cfg, "in", "out", "q", t2) == MEDREG_OK && strcmp(t1, t2));
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "ou", "tq", t2) == MEDREG_OK && strcmp(t1, t2));
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in2", "out", "q", t2) == MEDREG_OK && strcmp(t1, t2));
    cfg.digest[31] = 1;
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t2) == MEDREG_OK && strcmp(t1, t2));
    cfg.digest[31] = 0;
    /* DCMTK's data dictionary: another file, or the same file changed */
    char dic[] = "/tmp/medreg-dic-XXXXXX";
    int fd = mkstemp(dic);
    CHECK(fd >= 0 && write(fd, "(0010,0010) PN PatientName 1 DICOM\n", 35) == 35);
    setenv("DCMDICTPATH", dic, 1);
    char t3[65];
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t2) == MEDREG_OK && strcmp(t1, t2));
    CHECK(write(fd, "(0010,0020) LO PatientID 1 DICOM\n", 33) == 33);
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t3) == MEDREG_OK && strcmp(t2, t3));
    close(fd);
    unlink(dic);
    unsetenv("DCMDICTPATH");
    CHECK(mr_dicom_resume_tag(k1, &cfg, "in", "out", "q", t2) == MEDREG_OK && !strcmp(t1, t2));
}

/* The code's identity is the same in another process of the same program,
 * whose libraries lie elsewhere in memory (the kernel lists them by
 * address). */
static void identity(const char *self)
{
    uint8_t here[32], there[32] = {0};
    CHECK(mr_code_identity(here) == MEDREG_OK);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        execl(self, self, "--identity", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], there, sizeof there);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(n == 32 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !memcmp(here, there, 32));
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--identity")) {
        uint8_t id[32];
        return mr_code_identity(id) == MEDREG_OK && write(1, id, 32) == 32 ? 0 : 1;
    }
    stamps();
    tags();
    identity(argv[0]);

    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0);
    CHECK(mkdir("in", 0755) == 0 && mkdir("out", 0755) == 0 && mkdir("out/x", 0755) == 0 && mkdir("q", 0755) == 0 &&
          mkdir("elsewhere", 0755) == 0);
    const char *names[] = {"in/a", "in/b", "in/c", "in/d", "in/e", "in/f", "in/g", "in/h", "in/i", "in/j",
                           "in/k\xe9"};
    for (size_t i = 0; i < MR_ARRAY_LEN(names); i++)
        put(names[i], names[i]);
    put("out/x/a.dcm", "12345");
    put("out/x/b.dcm", "12345");
    put("out/x/d.dcm", "12345");
    put("elsewhere/g.dcm", "12345");
    put("out/h.dcm", "12345");
    put("q/i.dcm", "12345");
    put("out/x/j.dcm", "12345");
    put("out/x/a2.dcm", "12345");
    put("q/a3.dcm", "12345");
    put("out/x/l.dcm", "12345");
    char tag[65], other[65];
    mr_dicom_config cfg;
    memset(&cfg, 0, sizeof cfg);
    uint8_t key[32] = {9};
    CHECK(mr_dicom_resume_tag(key, &cfg, "in", "out", "q", tag) == MEDREG_OK);
    key[0] = 8;
    CHECK(mr_dicom_resume_tag(key, &cfg, "in", "out", "q", other) == MEDREG_OK);

    json_t *e[] = {
        entry("in/a", "written", "out/x/a.dcm", 1),     /* trusted */
        entry("in/a2", "written", "out/x/a2.dcm", 0),   /* its input is gone, its output there */
        entry("in/a3", "gone", "q/a3.dcm", 0),          /* gone already, its output still there */
        entry("in/a4", "written", "out/x/a4.dcm", 0),   /* its input and its output gone */
        entry("in/a5", "skipped", NULL, 0),             /* its input gone, nothing was written */
        entry("in/b", "written", "out/x/b.dcm", 1),     /* its input changes below */
        entry("in/c", "written", "out/x/c.dcm", 1),     /* its output is gone */
        entry("in/d", "written", "out/x/d.dcm", 1),     /* its output changes below */
        entry("in/e", "not_dicom", NULL, 1),            /* trusted: no output */
        entry("in/f", "skipped", NULL, 1),              /* skipped: may go otherwise now */
        entry("in/g", "written", "elsewhere/g.dcm", 1), /* an output outside out/ */
        entry("in/h", "written", "out/../out/h.dcm", 1),
        entry("in/i", "quarantined", "q/i.dcm", 1), /* trusted, in the quarantine */
        entry("in/j", "written", "out/x/j.dcm", 0), /* no stamp: it changed while it was read */
        entry("in/k\xe9", "not_dicom", NULL, 1),   /* a Latin-1 name: found by its bytes */
        entry("in/l", "written", "out/x/l.dcm", 0),  /* gone, the last */
    };
    /* as deid dicom writes a name that is not UTF-8: shown with U+FFFD, its bytes in in_hex */
    json_object_set_new(e[14], "in", json_string("in/k\xef\xbf\xbd"));
    json_object_set_new(e[14], "in_hex", json_string("696e2f6be9"));
    write_report("r.json", tag, e, MR_ARRAY_LEN(e));
    sleep(1); /* in/b's and out/x/d.dcm's times move on */
    put("in/b", "in/B");
    put("out/x/d.dcm", "54321"); /* edited in place, to the same size */

    mr_dicom_resume *r = NULL;
    char why[256];
    CHECK(mr_dicom_resume_open("r.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL &&
          why[0] == 0);
    CHECK(!found(r, "in/0")); /* new, before the first */
    CHECK(found(r, "in/a"));
    CHECK(gone(r, "in/b", "in/a2 in/a3")); /* the walk passed them by */
    CHECK(!found(r, "in/b"));
    CHECK(!found(r, "in/c"));
    CHECK(!found(r, "in/d"));
    CHECK(found(r, "in/e"));
    CHECK(!found(r, "in/f"));
    CHECK(!found(r, "in/g"));
    CHECK(!found(r, "in/h"));
    CHECK(found(r, "in/i"));
    CHECK(!found(r, "in/j"));
    CHECK(!found(r, "in/k")); /* new */
    CHECK(found(r, "in/k\xe9"));
    CHECK(gone(r, NULL, "in/l")); /* the walk has ended */
    mr_dicom_resume_close(r);

    /* the walk passes some by (removed from the input): the rest still found */
    CHECK(mr_dicom_resume_open("r.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL);
    CHECK(found(r, "in/e") && found(r, "in/i"));
    mr_dicom_resume_close(r);

    /* --since: that report alone, whatever lies under the run's own name */
    CHECK(mr_dicom_resume_open("none.json", "r.json", tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL);
    CHECK(found(r, "in/a") && found(r, "in/i"));
    mr_dicom_resume_close(r);
    CHECK(mr_dicom_resume_open("r.json", "none.json", tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r == NULL);

    /* another tag (key, configuration, code, folders): nothing, and why */
    CHECK(mr_dicom_resume_open("r.json", NULL, other, "out", "q", &r, why, sizeof why) == MEDREG_OK && r == NULL &&
          strstr(why, "another key") != NULL);
    /* no earlier report: nothing, silently */
    CHECK(mr_dicom_resume_open("none.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r == NULL &&
          why[0] == 0);
    /* no report of deid dicom */
    put("bad.json", "{\"format\": \"medreg-deid-csv-report/v1\", \"files\": []}");
    CHECK(mr_dicom_resume_open("bad.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r == NULL &&
          strstr(why, "no report") != NULL);

    /* a killed run's .partial goes before the report up to where it was
     * cut, and the report behind it: here the .partial says in/e was
     * skipped (so it is read), the report trusted from in/i on */
    json_object_set_new(e[8], "outcome", json_string("skipped"));
    write_report("p.json", tag, e, MR_ARRAY_LEN(e));
    json_object_set_new(e[8], "outcome", json_string("not_dicom"));
    char *text = NULL;
    size_t len = 0;
    FILE *fp = fopen("p.json", "r");
    CHECK(fp != NULL);
    if (fp) {
        text = malloc(1 << 16);
        len = fread(text, 1, 1 << 16, fp);
        fclose(fp);
    }
    const char *cut = text ? strstr(text, "\"in/i\"") : NULL;
    CHECK(cut != NULL && len > 0);
    int fd = open("r.json.partial", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && cut != NULL && write(fd, text, (size_t)(cut - text)) == cut - text);
    close(fd);
    CHECK(mr_dicom_resume_open("r.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL);
    CHECK(found(r, "in/a") && !found(r, "in/e") && found(r, "in/i") && found(r, "in/k\xe9"));
    CHECK(gone(r, NULL, "in/l"));
    mr_dicom_resume_close(r);
    /* a .partial cut before its first entry (killed at once), or of
     * another tag (a run with another configuration was stopped): the
     * report alone */
    fd = open("r.json.partial", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, text, 20) == 20);
    close(fd);
    CHECK(mr_dicom_resume_open("r.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL);
    CHECK(found(r, "in/a") && found(r, "in/e") && found(r, "in/i"));
    mr_dicom_resume_close(r);
    write_report("r.json.partial", other, e, 1);
    CHECK(mr_dicom_resume_open("r.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL &&
          why[0] == 0);
    CHECK(found(r, "in/a") && found(r, "in/e"));
    mr_dicom_resume_close(r);
    CHECK(access("r.json.partial", F_OK) == 0);
    unlink("r.json.partial");
    /* neither: why gives the .partial's reason */
    put("bad.json.partial", "{\"format\": \"medreg-deid-dicom-report/v1\", \"files\": [");
    CHECK(mr_dicom_resume_open("bad.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r == NULL &&
          strstr(why, "bad.json.partial was made for another input") != NULL);

    /* out of order (not what a walk writes): an entry behind the one
     * before it is passed over, and the rest still taken */
    json_t *swapped[] = {e[8], e[0], e[12]};
    write_report("s.json", tag, swapped, 3);
    CHECK(mr_dicom_resume_open("s.json", NULL, tag, "out", "q", &r, why, sizeof why) == MEDREG_OK && r != NULL);
    CHECK(!found(r, "in/a") && found(r, "in/e") && found(r, "in/i"));
    mr_dicom_resume_close(r);

    for (size_t i = 0; i < MR_ARRAY_LEN(e); i++)
        json_decref(e[i]);
    free(text);
    (void)len;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(chdir("/") == 0 && system(cmd) == 0);
    return TEST_DONE();
}
