/* medreg pseudonymize csv: the offline CSV tool (docs/deid.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/secret.h"
#include "../deid/csv_deid.h"
#include "cli.h"

typedef struct progress {
    const mr_csv_report *rep;
    uint64_t size; /* of the input, 0 when unknown (a pipe) */
} progress;

static void show_progress(void *ctx, uint64_t rows)
{
    const progress *p = ctx;
    if (p->size == 0) {
        fprintf(stderr, "\r  %llu rows", (unsigned long long)rows);
        return;
    }
    /* the bytes read run a few batches ahead of the rows written */
    int pct = (int)(100 * (p->rep->bytes_in > p->size ? p->size : p->rep->bytes_in) / p->size);
    char bar[41];
    memset(bar, '#', (size_t)(pct * 40 / 100));
    memset(bar + pct * 40 / 100, ' ', (size_t)(40 - pct * 40 / 100));
    bar[40] = 0;
    fprintf(stderr, "\r  [%s] %3d%%  %llu rows", bar, pct, (unsigned long long)rows);
}

static FILE *create(const char *path, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    return fd < 0 ? NULL : fdopen(fd, "w");
}

/* fsync and close a written file; 0 on success */
static int finish_file(FILE *fp)
{
    int bad = fflush(fp) != 0 || fsync(fileno(fp)) != 0;
    return fclose(fp) != 0 || bad;
}

int cmd_pseudonymize(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"in", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"rejects", required_argument, NULL, 'r'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg pseudonymize csv --config TABLE.ini --key MODULE.key --in IN.csv --out OUT.csv\n"
        "                               [--rejects REJECTS.csv] [--report REPORT.json] [--threads N]\n"
        "  Every column of IN gets the role TABLE.ini gives it (docs/deid.md). OUT has a psn column\n"
        "  (the identity service's PSN for the module) and the kept and generalised columns; it is\n"
        "  written to OUT.tmp and renamed only when complete. Rows that cannot be processed go to\n"
        "  REJECTS (default OUT.rejects.csv) as line,reason; the report (default OUT.report.json)\n"
        "  counts rows and what was done to each column. N worker threads (default: one per core)\n"
        "  give the same bytes as one.\n";
    const char *cfg_path = NULL, *key_path = NULL, *in_path = NULL, *out_path = NULL, *rej_path = NULL,
               *rep_path = NULL;
    char *tmp = NULL, *rej_default = NULL, *rep_default = NULL, *err = NULL;
    mr_csv_config *cfg = NULL;
    uint8_t *key = NULL;
    size_t kl = 0;
    FILE *in = NULL, *out = NULL, *rej = NULL;
    mr_csv_report *rep = NULL;
    mr_psn_source src = {NULL, NULL, 0};
    int opt, code = EXIT_USAGE;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    (void)c;

    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL)
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': cfg_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'i': in_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'r': rej_path = optarg; break;
        case 'R': rep_path = optarg; break;
        case 't': threads = strtol(optarg, NULL, 10); break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "csv") != 0 || !cfg_path || !key_path || !in_path || !out_path || optind != argc ||
        threads < 1 || threads > 256) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    code = EXIT_LOCAL;
    if ((rep = calloc(1, sizeof *rep)) == NULL || asprintf(&tmp, "%s.tmp", out_path) < 0 || asprintf(&rej_default, "%s.rejects.csv", out_path) < 0 ||
        asprintf(&rep_default, "%s.report.json", out_path) < 0)
        goto out;
    if (!rej_path)
        rej_path = rej_default;
    if (!rep_path)
        rep_path = rep_default;
    if (mr_csv_config_load(cfg_path, &cfg, &err) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s\n", err ? err : "cannot read the configuration");
        goto out;
    }
    if (mr_secret_file_read(key_path, 32, 0, &key, &kl) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: the module key must be a 32-byte file of mode 0600 (medreg key new)\n", key_path);
        goto out;
    }
    if ((in = fopen(in_path, "rb")) == NULL) {
        fprintf(stderr, "medreg: %s: %s\n", in_path, strerror(errno));
        goto out;
    }
    if ((out = create(tmp, 0644)) == NULL || (rej = create(rej_path, 0600)) == NULL) {
        fprintf(stderr, "medreg: cannot create %s: %s\n", out ? rej_path : tmp, strerror(errno));
        goto out;
    }
    fputs("line,reason\r\n", rej);
    rep->rejects = rej;
    rep->threads = (unsigned)threads;
    struct stat st;
    progress prog = {rep, fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0};
    if (isatty(STDERR_FILENO)) {
        rep->progress = show_progress;
        rep->progress_ctx = &prog;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    src.key = key;
    medreg_err rc = mr_csv_deid(cfg, &src, in, out, rep, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rep->progress)
        fputc('\n', stderr);
    int bad_out = finish_file(out);
    out = NULL;
    int bad_rej = finish_file(rej);
    rej = NULL;
    if (rc != MEDREG_OK || bad_out || bad_rej) {
        fprintf(stderr, "medreg: %s: %s; no output was written\n", in_path,
                err ? err : bad_out || bad_rej ? "could not write the output" : medreg_strerror(rc));
        unlink(tmp);
        code = rc == MEDREG_ERR_INVALID ? EXIT_INVALID : EXIT_LOCAL;
        goto out;
    }
    if (rename(tmp, out_path) != 0) {
        fprintf(stderr, "medreg: cannot rename %s to %s: %s\n", tmp, out_path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_t *cols = json_array();
    for (size_t i = 0; i < cfg->n_cols; i++)
        json_array_append_new(cols, json_pack("{s:s,s:s,s:I}", "column", cfg->cols[i].name, "role", cfg->cols[i].kind,
                                              "values_removed_or_changed", (json_int_t)rep->changed[i]));
    json_t *report = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:s,s:f}", "input", in_path, "output", out_path,
                               "module", cfg->module->name, "rows", (json_int_t)rep->rows, "written",
                               (json_int_t)rep->written, "rejected", (json_int_t)rep->rejected, "columns", cols,
                               "rejects", rej_path, "seconds", secs);
    char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(report);
    if (text == NULL || mr_file_write(rep_path, text, strlen(text)) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write the report %s\n", rep_path);
        free(text);
        goto out;
    }
    free(text);
    printf("%llu rows: %llu written to %s, %llu rejected (see %s); report in %s\n", (unsigned long long)rep->rows,
           (unsigned long long)rep->written, out_path, (unsigned long long)rep->rejected, rej_path, rep_path);
    code = EXIT_OK;
out:
    if (out) {
        fclose(out);
        unlink(tmp);
    }
    if (rej)
        fclose(rej);
    if (in)
        fclose(in);
    mr_secret_free(key);
    mr_csv_config_free(cfg);
    free(err);
    free(tmp);
    free(rej_default);
    free(rep_default);
    free(rep);
    return code;
}
