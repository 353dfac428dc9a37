/* medreg deid dicom | verify: the DICOM half of the offline tool
 * (docs/deid.md). Files and folder trees, several files at once; a report
 * of every file's fate, which `deid verify` reads back. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../core/file_tree.h"
#include "../core/work_window.h"
#include "../deid/dicom_deid.h"
#include "../deid/dicom_report.h"
#include "../deid/dicom_resume.h"
#include "cli.h"

/* Why the walk of the input stopped. */
static void tree_failed(const char *in, const char *where, medreg_err rc)
{
    if (rc == MEDREG_ERR_TOOBIG)
        fprintf(stderr, "medreg: %s: folders nested deeper than 256\n", where ? where : in);
    else if (rc == MEDREG_ERR_NOTFOUND)
        fprintf(stderr, "medreg: %s: no such file or folder\n", in);
    else if (rc == MEDREG_ERR_INVALID)
        fprintf(stderr, "medreg: %s: neither a regular file nor a folder\n", in);
    else
        fprintf(stderr, "medreg: %s: cannot read it: %s\n", where ? where : in, errno ? strerror(errno) : "?");
}

/* How many files the walk of in gives. Run before anything is written, it
 * finds a folder that cannot be read while there is nothing to undo, and
 * gives the progress bar its whole. */
static int count_tree(const char *in, size_t *n)
{
    mr_file_tree *t;
    const char *p = NULL;
    medreg_err rc = mr_file_tree_open(in, &t);
    *n = 0;
    while (rc == MEDREG_OK && (rc = mr_file_tree_next(t, &p)) == MEDREG_OK && p != NULL)
        (*n)++;
    if (rc != MEDREG_OK)
        tree_failed(in, p, rc);
    else if (*n == 0)
        fprintf(stderr, "medreg: %s: no files to read\n", in);
    mr_file_tree_free(t);
    return rc == MEDREG_OK && *n > 0;
}

/* Would path (a file or folder, which need not exist yet) lie in the
 * folder root, or be it? Then a run writing there would walk into what it
 * writes and read its own outputs back as inputs. */
static int lies_inside(const char *root, const char *path)
{
    size_t len = strlen(path);
    char *r = realpath(root, NULL), *p = NULL, *at = malloc(len + 2);
    int inside = 0;
    if (at != NULL)
        memcpy(at, path, len + 1);
    /* what does not exist yet: the nearest folder above it that does */
    while (r != NULL && at != NULL && (p = realpath(at, NULL)) == NULL && errno == ENOENT) {
        char *slash = strrchr(at, '/');
        if (!strcmp(at, ".") || !strcmp(at, "/"))
            break; /* not even these: nothing to compare */
        if (slash == NULL)
            memcpy(at, ".", 2); /* room for it: len + 2 */
        else if (slash == at)
            at[1] = 0;
        else
            *slash = 0;
    }
    if (r != NULL && p != NULL) {
        size_t n = strlen(r);
        inside = strncmp(p, r, n) == 0 && (p[n] == '/' || p[n] == 0 || n == 1);
    }
    free(r);
    free(p);
    free(at);
    return inside;
}

static int flush_tree(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok = fd >= 0 && syncfs(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* One file in the window: its path, and what became of it. */
typedef struct dcm_item {
    char *in;
    json_t *prior; /* an earlier run's entry that stands for this file: nothing to do */
    mr_dcm_result res;
    char in_stat[MR_DICOM_STAMP_MAX];  /* "" when the input may have changed while it was read */
    char out_stat[MR_DICOM_STAMP_MAX]; /* "" without an output */
    medreg_err rc;
} dcm_item;

/* A pass over the tree: the collect pass of a network-wide run (report
 * NULL, nothing written), or the de-identification. */
typedef struct dcm_pass {
    const mr_dicom_config *cfg;
    const mr_psn_source *src;
    const char *out_dir, *quarantine, *doing;
    mr_dicom_report_writer *report;
    mr_dicom_resume *resume; /* the earlier run's report, or NULL */
    int read_all;            /* trust none of its entries (it still says which inputs are gone) */
    size_t counts[MR_DCM_N_OUTCOMES], done, total, already, not_read, gone;
    cli_bar bar;
} dcm_pass;

static void dcm_run(void *item, void *ctx)
{
    dcm_item *it = item;
    dcm_pass *d = ctx;
    struct timespec at;
    struct stat before, after, out;
    if (it->prior != NULL)
        return;
    /* the input's identity, for a later run to know it unchanged */
    int seen = d->report != NULL && clock_gettime(CLOCK_REALTIME, &at) == 0 && lstat(it->in, &before) == 0;
    it->rc = mr_dicom_deid_file(d->cfg, d->src, it->in, d->out_dir, d->quarantine, &it->res);
    it->in_stat[0] = 0;
    if (seen && it->rc == MEDREG_OK && lstat(it->in, &after) == 0)
        mr_dicom_input_stamp(&before, &after, &at, it->in_stat);
    it->out_stat[0] = 0;
    if (seen && it->res.out_path[0] && lstat(it->res.out_path, &out) == 0)
        mr_dicom_file_stamp(&out, it->out_stat);
}

static const char *outcome_name(mr_dcm_outcome o)
{
    return o == MR_DCM_WRITTEN        ? "written"
           : o == MR_DCM_QUARANTINED ? "quarantined"
           : o == MR_DCM_SKIPPED     ? "skipped"
           : o == MR_DCM_DIRECTORY   ? "directory"
                                     : "not_dicom";
}

/* A path of the report: "in" (or "out") for people; when it is not UTF-8,
 * also "in_hex" with its bytes, which deid verify opens. */
static int report_path(json_t *o, const char *key, const char *path)
{
    char hex_key[16];
    if (json_object_set_new(o, key, mr_json_path(path)) != 0)
        return 0;
    if (mr_is_utf8(path))
        return 1;
    size_t n = strlen(path);
    char *hex = malloc(2 * n + 1);
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    int ok = hex != NULL && json_object_set_new(o, hex_key, json_string(sodium_bin2hex(hex, 2 * n + 1,
                                                                                     (const uint8_t *)path, n))) == 0;
    free(hex);
    return ok;
}

/* One file's line of the report. */
static json_t *report_entry(const dcm_item *it)
{
    const char *in = it->in;
    const mr_dcm_result *r = &it->res;
    json_t *o = json_object();
    if (o == NULL || !report_path(o, "in", in) ||
        json_object_set_new(o, "outcome", json_string(outcome_name(r->outcome))) != 0 ||
        (r->out_path[0] && !report_path(o, "out", r->out_path)) ||
        (r->reason[0] && json_object_set_new(o, "reason", mr_json_path(r->reason)) != 0)) {
        json_decref(o);
        return NULL;
    }
    if (r->already)
        json_object_set_new(o, "already_there", json_true());
    if (it->in_stat[0])
        json_object_set_new(o, "in_stat", json_string(it->in_stat));
    if (it->out_stat[0])
        json_object_set_new(o, "out_stat", json_string(it->out_stat));
    if (r->outcome == MR_DCM_WRITTEN || r->outcome == MR_DCM_QUARANTINED)
        json_object_set_new(o, "actions",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "removed", (json_int_t)r->removed,
                                      "emptied", (json_int_t)r->emptied, "replaced", (json_int_t)r->replaced,
                                      "uids_remapped", (json_int_t)r->uids, "dates_shifted", (json_int_t)r->shifted,
                                      "cleaned", (json_int_t)r->cleaned, "pixel_regions_blanked",
                                      (json_int_t)r->blanked, "pixel_text_removed", (json_int_t)r->pixel_text,
                                      "pixel_bytes_past_image_removed", (json_int_t)r->pixel_tail,
                                      "ages_over_89_aggregated", (json_int_t)r->ages));
    return o;
}

/* In the tree's order: the file's line of the report, its count, and on
 * stderr a file that was skipped or left out. */
static medreg_err dcm_take(void *item, void *ctx)
{
    dcm_item *it = item;
    dcm_pass *d = ctx;
    medreg_err rc = it->rc;
    const char *o = it->prior ? json_string_value(json_object_get(it->prior, "outcome")) : NULL;
    if (o != NULL && !strcmp(o, "gone")) {
        /* an input of the earlier run the walk passed by: its output stays, and is named */
        char *in = mr_dicom_report_path(it->prior, "in"), *out = mr_dicom_report_path(it->prior, "out");
        cli_bar_clear(&d->bar);
        fprintf(stderr, "medreg: gone from the input since the earlier run: %s; its output stays: %s\n",
                in ? in : "?", out ? out : "?");
        free(in);
        free(out);
        rc = mr_dicom_report_add(d->report, it->prior);
        json_decref(it->prior);
        d->gone++;
        return rc;
    }
    if (it->prior != NULL) {
        /* what the earlier run did with this file stands */
        it->res.outcome = MR_DCM_NOT_DICOM; /* one of the four resume trusts, by its name in the report */
        for (int k = 0; k < MR_DCM_N_OUTCOMES; k++)
            if (!strcmp(o, outcome_name((mr_dcm_outcome)k)))
                it->res.outcome = (mr_dcm_outcome)k;
        rc = mr_dicom_report_add(d->report, it->prior);
        json_decref(it->prior);
        d->not_read++;
    } else if (rc == MEDREG_OK && d->report != NULL) {
        json_t *e = report_entry(it);
        rc = e != NULL ? mr_dicom_report_add(d->report, e) : MEDREG_ERR_NOMEM;
        json_decref(e);
        if (it->res.outcome == MR_DCM_SKIPPED || it->res.outcome == MR_DCM_NOT_DICOM) {
            cli_bar_clear(&d->bar);
            fprintf(stderr, "medreg: %s %s: %s\n", it->res.outcome == MR_DCM_SKIPPED ? "skipped" : "left out",
                    it->in, it->res.reason[0] ? it->res.reason : "?");
        }
    }
    if (rc == MEDREG_OK) {
        d->counts[it->res.outcome]++;
        d->already += it->res.already != 0;
        d->done++;
        char what[80];
        snprintf(what, sizeof what, "%zu of %zu files %s", d->done, d->total, d->doing);
        cli_bar_draw(&d->bar, d->total ? (int)(100 * (d->done > d->total ? d->total : d->done) / d->total) : 0,
                     what, 0);
    }
    free(it->in);
    return rc;
}

/* The earlier run's inputs the walk passed by before p (all that are left
 * when p is NULL), through the window in their place in the order, whose
 * outputs are still there. */
static medreg_err pass_gone(dcm_pass *d, mr_work_window *w, const char *p)
{
    for (;;) {
        json_t *gone;
        dcm_item *it;
        medreg_err rc = mr_dicom_resume_gone(d->resume, p, &gone);
        if (rc != MEDREG_OK || gone == NULL)
            return rc;
        if ((rc = mr_work_window_next(w, (void **)&it)) != MEDREG_OK) {
            json_decref(gone);
            return rc;
        }
        memset(it, 0, sizeof *it);
        it->prior = gone;
        mr_work_window_submit(w);
    }
}

/* Every file of the tree through the window, several at once, taken in
 * the tree's order; 0 when the output cannot be written or the tree read. */
static int run_pass(dcm_pass *d, const char *in, long threads)
{
    mr_work_window *w = NULL;
    mr_file_tree *t = NULL;
    const char *p = NULL;
    medreg_err rc = mr_work_window_start((unsigned)threads, sizeof(dcm_item), dcm_run, dcm_take, d, "medreg-deid", &w);
    if (rc == MEDREG_OK && (rc = mr_file_tree_open(in, &t)) != MEDREG_OK)
        tree_failed(in, NULL, rc);
    while (rc == MEDREG_OK) {
        dcm_item *it;
        if ((rc = mr_file_tree_next(t, &p)) != MEDREG_OK) {
            tree_failed(in, p, rc); /* now, while errno says why */
            break;
        }
        if ((rc = pass_gone(d, w, p)) != MEDREG_OK || p == NULL ||
            (rc = mr_work_window_next(w, (void **)&it)) != MEDREG_OK)
            break; /* the end, or a file that could not be written (the caller says so) */
        memset(it, 0, sizeof *it);
        if ((it->in = strdup(p)) == NULL || (rc = mr_dicom_resume_find(d->resume, p, &it->prior)) != MEDREG_OK) {
            free(it->in);
            rc = rc != MEDREG_OK ? rc : MEDREG_ERR_NOMEM;
            break;
        }
        if (d->read_all) {
            json_decref(it->prior);
            it->prior = NULL;
        }
        mr_work_window_submit(w);
    }
    int walked = rc == MEDREG_OK;
    medreg_err drained = w ? mr_work_window_drain(w) : MEDREG_OK;
    mr_work_window_free(w);
    mr_file_tree_free(t);
    if (d->bar.shown) {
        char what[80];
        snprintf(what, sizeof what, "%zu files %s", d->done, d->doing);
        cli_bar_draw(&d->bar, 100, what, 1);
        fputc('\n', stderr);
    }
    return walked && drained == MEDREG_OK;
}

/* A network-wide run's first pass: every file read, the PSN input of
 * each that will be written collected, nothing written. */
typedef struct dicom_collect {
    const mr_dicom_config *cfg;
    const char *in;
    size_t total;
    long threads;
} dicom_collect;

static int collect_dicom(void *ctx, mr_oprf_table *t)
{
    dicom_collect *dc = ctx;
    mr_psn_source collect = {NULL, t, 1};
    dcm_pass d = {.cfg = dc->cfg, .src = &collect, .out_dir = "", .quarantine = "", .doing = "read",
                  .total = dc->total, .bar.on = isatty(STDERR_FILENO)};
    return run_pass(&d, dc->in, dc->threads) ? EXIT_OK : EXIT_LOCAL;
}

/* What --finish checks it is given the same input as --prepare: each
 * file's path, size and modification time, in order. */
static int tree_digest(void *ctx, uint8_t out[32])
{
    const dicom_collect *dc = ctx;
    crypto_hash_sha256_state st;
    mr_file_tree *t;
    const char *p;
    medreg_err rc = mr_file_tree_open(dc->in, &t);
    crypto_hash_sha256_init(&st);
    while (rc == MEDREG_OK && (rc = mr_file_tree_next(t, &p)) == MEDREG_OK && p != NULL) {
        struct stat sb;
        char line[64];
        if (stat(p, &sb) != 0) {
            rc = MEDREG_ERR_IO;
            break;
        }
        int n = snprintf(line, sizeof line, "\n%lld %lld.%09ld\n", (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                         sb.st_mtim.tv_nsec);
        crypto_hash_sha256_update(&st, (const uint8_t *)p, strlen(p));
        crypto_hash_sha256_update(&st, (const uint8_t *)line, (size_t)n);
    }
    mr_file_tree_free(t);
    crypto_hash_sha256_final(&st, out);
    return rc == MEDREG_OK;
}

/* The run's tag (dicom_resume.h), keyed with the module key, or
 * network-wide with a hash of the pin file, which names the VOPRF key that
 * makes every PSN, UID and date shift. */
static int resume_tag(const uint8_t *key, const char *pin_path, const mr_dicom_config *cfg, const char *in,
                      const char *out, const char *quarantine, char tag[65])
{
    uint8_t pin_hash[32];
    if (key == NULL) {
        char *pin = NULL;
        size_t len = 0;
        if (mr_file_read(pin_path, 1u << 20, &pin, &len) != MEDREG_OK) {
            fprintf(stderr, "medreg: %s: %s\n", pin_path, strerror(errno));
            return 0;
        }
        crypto_hash_sha256(pin_hash, (const uint8_t *)pin, len);
        free(pin);
    }
    medreg_err rc = mr_dicom_resume_tag(key ? key : pin_hash, cfg, in, out, quarantine, tag);
    if (rc == MEDREG_ERR_NOMEM) {
        fprintf(stderr, "medreg: %s\n", medreg_strerror(rc));
        return 0;
    }
    if (rc != MEDREG_OK) {
        /* which code runs cannot be told (no /proc): a tag no run shares,
         * so nothing is taken up, and every file is read */
        uint8_t none[32];
        randombytes_buf(none, sizeof none);
        sodium_bin2hex(tag, 65, none, sizeof none);
        fprintf(stderr, "medreg: every file is read: which code runs cannot be told here (/proc/self/maps)\n");
    }
    return 1;
}

static int cmd_deid_dicom(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
                                         {"oprf-key", required_argument, NULL, 'p'},
                                         {"prepare", required_argument, NULL, 'P'},
                                         {"finish", required_argument, NULL, 'F'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"in", required_argument, NULL, 'i'},     {"out", required_argument, NULL, 'o'},
                                         {"quarantine", required_argument, NULL, 'q'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"read-all", no_argument, NULL, 'A'},
                                         {"since", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    const char *cfg_path = NULL, *key_path = NULL, *in = NULL, *out = NULL, *quarantine = NULL, *rep_path = NULL;
    const char *pin_path = NULL, *prepare = NULL, *finish = NULL, *state_path = NULL, *since = NULL;
    mr_oprf_table *table = NULL;
    mr_psn_source src = {NULL, NULL, 0};
    char *q_default = NULL, *rep_default = NULL, *err = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    mr_dicom_config *cfg = NULL;
    uint8_t *key = NULL;
    size_t kl = 0;
    mr_dicom_report_writer *report = NULL;
    json_t *head = NULL, *tail = NULL;
    mr_dicom_resume *resume = NULL;
    char tag[65], why[256] = "";
    size_t total = 0;
    int opt, code = EXIT_LOCAL, partial = 0, read_all = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': cfg_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'p': pin_path = optarg; break;
        case 'P': prepare = optarg; break;
        case 'F': finish = optarg; break;
        case 'S': state_path = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quarantine = optarg; break;
        case 'R': rep_path = optarg; break;
        case 'A': read_all = 1; break;
        case 's': since = optarg; break;
        case 't':
            if (!cli_number("--threads", optarg, 1, 64, &threads))
                return EXIT_USAGE;
            break;
        default: return EXIT_USAGE;
        }
    }
    if (!cfg_path || !in || (!out && !prepare) || optind != argc || threads < 1 || threads > 64 ||
        !key_path == !pin_path || (key_path && (prepare || finish || state_path)) || (prepare && finish) ||
        (!!(prepare || finish) != !!state_path))
        return EXIT_USAGE;
    if (out && (asprintf(&q_default, "%s.quarantine", out) < 0 || asprintf(&rep_default, "%s.report.json", out) < 0))
        goto out;
    if (!quarantine)
        quarantine = q_default;
    if (!rep_path)
        rep_path = rep_default;
    if (mr_dicom_config_load(cfg_path, &cfg, &err) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s\n", err ? err : "cannot read the configuration");
        goto out;
    }
    if (key_path && mr_secret_file_read(key_path, 32, 0, &key, &kl) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: the module key must be a 32-byte file of mode 0600 (medreg key new)\n", key_path);
        goto out;
    }
    struct stat in_st;
    if (out && stat(in, &in_st) == 0 && S_ISDIR(in_st.st_mode) &&
        (lies_inside(in, out) || lies_inside(in, quarantine) || lies_inside(in, rep_path))) {
        fprintf(stderr, "medreg: the output, quarantine and report must lie outside the input folder %s: the run "
                        "would read what it writes\n", in);
        goto out;
    }
    if (since != NULL && access(since, R_OK) != 0) {
        fprintf(stderr, "medreg: --since %s: %s\n", since, strerror(errno)); /* a name mistyped: not a whole run */
        goto out;
    }
    /* before anything else is loaded into the process: the network-wide
     * pass may load modules (a PKCS#11 provider of the TLS library) that
     * --finish does not, and the tag names every library mapped */
    if (out && !resume_tag(key, pin_path, cfg, in, out, quarantine, tag))
        goto out;
    if (!count_tree(in, &total))
        goto out;
    src.key = key;
    if (pin_path) {
        int prepared = 0;
        dicom_collect dc = {cfg, in, total, threads};
        cli_network_run run = {pin_path, prepare, finish, state_path, in, tree_digest, collect_dicom, &dc};
        code = cli_network_psns(c, cfg->module, &run, &table, &prepared);
        if (code != EXIT_OK || prepared)
            goto out;
        code = EXIT_LOCAL;
        src.oprf = table;
    }
    if ((mkdir(out, 0755) != 0 && errno != EEXIST) || (mkdir(quarantine, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "medreg: cannot create %s or %s: %s\n", out, quarantine, strerror(errno));
        goto out;
    }
    partial = 1; /* files are written there first; what a killed run left is removed */
    if (mr_dicom_partial_open(out) != MEDREG_OK || mr_dicom_partial_open(quarantine) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot prepare %s/%s or %s/%s: %s\n", out, MR_DICOM_PARTIAL, quarantine,
                MR_DICOM_PARTIAL, strerror(errno));
        goto out;
    }
    /* what an earlier run into the same folders did and may stand: read
     * before the report is begun, which removes a REPORT.partial */
    if (mr_dicom_resume_open(rep_path, since, tag, out, quarantine, &resume, why, sizeof why) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot read the earlier report %s: %s\n", since ? since : rep_path, strerror(errno));
        goto out;
    }
    if (why[0] && !read_all)
        fprintf(stderr, "medreg: every file is read: %s\n", why);
    /* the report is written as the files are done, under REPORT.partial
     * until the end, when it replaces an earlier one; its counts follow the
     * files */
    head = json_pack("{s:s,s:o,s:s,s:o,s:o,s:s}", "format", MR_DICOM_REPORT_FORMAT, "config", mr_json_path(cfg_path),
                     "psn", table ? "network" : "local", "output", mr_json_path(out), "quarantine",
                     mr_json_path(quarantine), "resume", tag);
    if (head == NULL || mr_dicom_report_begin(rep_path, head, &report) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write the report %s.partial: %s\n", rep_path, strerror(errno));
        goto out;
    }
    dcm_pass d = {.cfg = cfg, .src = &src, .out_dir = out, .quarantine = quarantine, .doing = "de-identified",
                  .report = report, .resume = resume, .read_all = read_all, .total = total,
                  .bar.on = isatty(STDERR_FILENO)};
    if (!run_pass(&d, in, threads)) {
        fprintf(stderr, "medreg: stopped: the output folder or the report cannot be written\n");
        goto out;
    }
    /* every output durable, once, before the report says it exists */
    if (!flush_tree(out) || !flush_tree(quarantine)) {
        fprintf(stderr, "medreg: cannot flush %s: %s\n", out, strerror(errno));
        goto out;
    }
    const size_t *n = d.counts;
    tail = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "written", (json_int_t)n[0], "quarantined",
                     (json_int_t)n[1], "skipped", (json_int_t)n[2], "directories", (json_int_t)n[3], "not_dicom",
                     (json_int_t)n[4], "already_there", (json_int_t)d.already, "not_read_again",
                     (json_int_t)d.not_read, "gone", (json_int_t)d.gone);
    medreg_err ended = MEDREG_ERR_NOMEM;
    if (tail != NULL) {
        ended = mr_dicom_report_end(report, tail);
        report = NULL; /* freed by end, whatever it returns */
    }
    if (ended != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write the report %s: %s\n", rep_path, medreg_strerror(ended));
        goto out;
    }
    printf("%zu files: %zu written to %s, %zu quarantined in %s (burned-in text possible), %zu skipped", d.done,
           n[0], out, n[1], quarantine, n[2]);
    if (d.already)
        printf(" (%zu of the written and quarantined were there already, the same bytes: a run again, or an image "
               "twice in the input)", d.already);
    if (d.not_read)
        printf("; %zu not read again: unchanged since the earlier run's report", d.not_read);
    if (n[3])
        printf(", %zu DICOMDIR not copied (dcmmkdir makes one for the output)", n[3]);
    if (n[4])
        printf(", %zu not DICOM (programs, documents: not copied)", n[4]);
    if (d.gone)
        printf(", %zu gone from the input since the earlier run whose outputs stay (named on stderr and in the report: "
               "remove them if the images were withdrawn)", d.gone);
    printf("; report in %s\n", rep_path);
    /* a DICOMDIR, and a file that is no image at all, are left out by
     * design, not a failure */
    code = n[2] ? EXIT_INVALID : EXIT_OK;
out:
    if (partial) {
        mr_dicom_partial_close(out);
        mr_dicom_partial_close(quarantine);
    }
    mr_dicom_report_discard(report);
    mr_dicom_resume_close(resume);
    json_decref(head);
    json_decref(tail);
    mr_secret_free(key);
    mr_oprf_table_free(table);
    mr_dicom_config_free(cfg);
    free(err);
    free(q_default);
    free(rep_default);
    return code;
}

/* verify checks the report's pairs on every core (a work window) and
 * prints their findings in the report's order. */
typedef struct check {
    char *in, *out;
    char *found; /* the findings, printed when this check is taken */
    size_t found_len;
    unsigned long n;
    medreg_err rc;
} check;

typedef struct verify_run {
    const mr_dicom_config *cfg;
    mr_work_window *window;
    size_t checked, gone, not_again;
    int new_only; /* not the outputs a run took from an earlier one as they stood */
    unsigned long total;
    FILE *report; /* the share of it read is the progress */
    long report_size;
    cli_bar bar;
} verify_run;

static void check_run(void *item, void *ctx)
{
    check *k = item;
    verify_run *v = ctx;
    medreg_err rc = MEDREG_ERR_INVALID; /* an entry without both paths */
    FILE *fp = NULL;
    if (k->in && k->out && (fp = open_memstream(&k->found, &k->found_len)) == NULL)
        rc = MEDREG_ERR_NOMEM;
    if (fp != NULL) {
        rc = mr_dicom_verify(v->cfg, k->in, k->out, fp, &k->n);
        if (fclose(fp) != 0 && rc == MEDREG_OK)
            rc = MEDREG_ERR_NOMEM;
    }
    k->rc = rc;
}

/* In the report's order: print what the check found. */
static medreg_err check_take(void *item, void *ctx)
{
    check *k = item;
    verify_run *v = ctx;
    medreg_err rc = k->rc;
    if (rc != MEDREG_OK || k->found_len)
        cli_bar_clear(&v->bar); /* the bar's line, for what is printed now */
    if (rc == MEDREG_OK) {
        fwrite(k->found, 1, k->found_len, stdout);
        fflush(stdout);
        v->checked++;
        v->total += k->n;
    } else
        fprintf(stderr, "medreg: cannot check %s against %s: %s\n", k->out ? k->out : "?", k->in ? k->in : "?",
                medreg_strerror(rc));
    if (v->bar.on) {
        char what[64];
        long at = ftell(v->report);
        snprintf(what, sizeof what, "%zu outputs checked", v->checked);
        cli_bar_draw(&v->bar, v->report_size > 0 && at > 0 ? (int)(100.0 * (double)at / (double)v->report_size) : 0,
                     what, 0);
    }
    free(k->in);
    free(k->out);
    free(k->found);
    return rc;
}

static medreg_err verify_entry(json_t *f, void *ctx)
{
    verify_run *v = ctx;
    check *k;
    if (json_object_get(f, "out") == NULL)
        return MEDREG_OK; /* skipped: nothing was written */
    const char *outcome = json_string_value(json_object_get(f, "outcome"));
    if (outcome != NULL && !strcmp(outcome, "gone")) {
        v->gone++; /* its input is gone: nothing to check it against */
        return MEDREG_OK;
    }
    if (v->new_only && json_is_true(json_object_get(f, "not_read_again"))) {
        v->not_again++;
        return MEDREG_OK;
    }
    medreg_err rc = mr_work_window_next(v->window, (void **)&k);
    if (rc != MEDREG_OK)
        return rc;
    k->in = mr_dicom_report_path(f, "in");
    k->out = mr_dicom_report_path(f, "out");
    mr_work_window_submit(v->window);
    return MEDREG_OK;
}

static int cmd_deid_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"new-only", no_argument, NULL, 'N'},
                                         {NULL, 0, NULL, 0}};
    const char *cfg_path = NULL, *rep_path = NULL;
    mr_dicom_config *cfg = NULL;
    char *err = NULL, why[160];
    FILE *fp = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    verify_run v = {0};
    int opt, code = EXIT_LOCAL;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'c')
            cfg_path = optarg;
        else if (opt == 'R')
            rep_path = optarg;
        else if (opt == 'N')
            v.new_only = 1;
        else if (opt != 't' || !cli_number("--threads", optarg, 1, 64, &threads))
            return EXIT_USAGE;
    }
    if (!cfg_path || !rep_path || optind != argc)
        return EXIT_USAGE;
    if (threads < 1 || threads > 64)
        threads = threads < 1 ? 1 : 64;
    if (mr_dicom_config_load(cfg_path, &cfg, &err) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s\n", err ? err : "cannot read the configuration");
        goto out;
    }
    if ((fp = fopen(rep_path, "r")) == NULL) {
        fprintf(stderr, "medreg: %s: %s\n", rep_path, strerror(errno));
        goto out;
    }
    v.cfg = cfg;
    v.report = fp;
    struct stat st;
    if (isatty(STDERR_FILENO) && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
        v.bar.on = 1;
        v.report_size = (long)st.st_size;
    }
    if (mr_work_window_start((unsigned)threads, sizeof(check), check_run, check_take, &v, "medreg-verify",
                             &v.window) != MEDREG_OK)
        goto out;
    /* entry by entry: the report of a large run is never held whole */
    medreg_err rc = mr_dicom_report_each(fp, verify_entry, &v, why, sizeof why);
    medreg_err drained = mr_work_window_drain(v.window); /* the checks still in flight, in order */
    if (rc == MEDREG_OK)
        rc = drained;
    if (v.bar.shown) {
        if (rc == MEDREG_OK) {
            char what[64];
            snprintf(what, sizeof what, "%zu outputs checked", v.checked);
            cli_bar_draw(&v.bar, 100, what, 1);
        }
        fputc('\n', stderr);
    }
    if (rc == MEDREG_ERR_INVALID && why[0]) {
        fprintf(stderr, "medreg: %s: not a report of medreg deid dicom: %s\n", rep_path, why);
        goto out;
    }
    if (rc != MEDREG_OK)
        goto out; /* check_take said why */
    if (v.total) {
        fprintf(stderr, "medreg: %lu identifying values of the inputs survive in the outputs (listed above)\n",
                v.total);
        code = EXIT_FAILURE_;
    } else {
        printf("%zu outputs checked against their inputs: no identifying value survives\n", v.checked);
        if (v.gone)
            printf("%zu outputs not checked: their inputs are gone since an earlier run (they were checked then, "
                   "if that run was verified)\n", v.gone);
        if (v.not_again)
            printf("%zu outputs not checked again (--new-only): the run took them from an earlier run's report, "
                   "input and output unchanged; they were checked if that run was verified\n", v.not_again);
        code = EXIT_OK;
    }
out:
    mr_work_window_free(v.window);
    if (fp)
        fclose(fp);
    mr_dicom_config_free(cfg);
    free(err);
    return code;
}

int cmd_deid(cli *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: medreg deid dicom --config DICOM.ini --in FILE|FOLDER --out FOLDER\n"
        "           (--key MODULE.key | --oprf-key PIN.json [--prepare REQUEST.json --state STATE.json |\n"
        "                                                    --finish RESPONSE.json --state STATE.json])\n"
        "           [--quarantine FOLDER] [--report REPORT.json] [--threads N]\n"
        "           [--since EARLIER.json] [--read-all]\n"
        "       medreg deid verify --config DICOM.ini --report REPORT.json [--threads N] [--new-only]\n"
        "  dicom: PS3.15 Annex E's Basic Profile and the configured options (docs/deid.md) on every\n"
        "  file under IN; outputs under OUT/<study>/<series>/<instance>.dcm with new UIDs; images that\n"
        "  may show burned-in text go to the quarantine (default OUT.quarantine), unless a pixel rule\n"
        "  of the configuration says where it is: then it is blanked and the image written. Text in\n"
        "  any DICOM character set is written as UTF-8. Ages of 90 years or more become 090Y (Safe\n"
        "  Harbor's \"90 or older\"; ages_over_89 = keep in the configuration keeps them). Beyond\n"
        "  the attributes: the preamble is zeroed, bytes past the image in pixel data are cut,\n"
        "  comments and application segments leave compressed pixels (JPEG, JPEG-LS, JPEG 2000;\n"
        "  other compressions are quarantined).\n"
        "  Unreadable files are skipped and listed (exit 4); a DICOMDIR and files that are no DICOM\n"
        "  at all (a CD's viewer, a PDF) are never copied and listed apart. The report (default\n"
        "  OUT.report.json, 0600) names every file's fate; it is REPORT.partial until the run has\n"
        "  ended. The tree is walked as it is de-identified.\n"
        "  An output already there with the same bytes counts as written: a run that was stopped can\n"
        "  be run again into the same folder; other bytes under an output's name are never replaced.\n"
        "  A run again does not read a file the earlier report (REPORT.partial or REPORT) says was done\n"
        "  under the same key, configuration and medreg, when the file and its output are unchanged;\n"
        "  --since: that earlier report instead (runs that keep each report under a name of their own).\n"
        "  --read-all reads every file. Inputs of the earlier run gone since are named with their\n"
        "  outputs, which stay (outcome gone), for as long as the outputs are there.\n"
        "  --key: local PSNs, UIDs and date shifts under the module key. --oprf-key: network-wide,\n"
        "  from the identity service's VOPRF (as for pseudonymize csv): online, or --prepare here,\n"
        "  `medreg oprf evaluate` elsewhere, --finish here; PSN, UIDs and dates then agree across\n"
        "  hospitals, keyed per patient by the VOPRF output.\n"
        "  verify: read each input again and fail (exit 1) if any of its identifying values (by the\n"
        "  profile, and the direct identifiers whatever the profile says) survives in its output:\n"
        "  every element, every sequence, private attributes, meta header, raw bytes;\n"
        "  and where an output says its burned-in text is gone, that the pixel rules' regions are 0;\n"
        "  and that its preamble is zeros, its pixel data no longer than its image, its compressed\n"
        "  pixels without text segments, and its ages no more than 090Y (unless kept).\n"
        "  --new-only: only the outputs this run wrote, not those it took as they stood from an earlier\n"
        "  run (check each run so, and every output is checked once).\n"
        "  Both use N threads (default: one per core); verify prints its findings in the report's order.\n";
    const char *sub = cli_subcommand(&argc, &argv, usage);
    int code;
    if (sub == NULL)
        return EXIT_USAGE;
    if (!strcmp(sub, "dicom"))
        code = cmd_deid_dicom(c, argc, argv);
    else if (!strcmp(sub, "verify"))
        code = cmd_deid_verify(argc, argv);
    else
        code = EXIT_USAGE;
    if (code == EXIT_USAGE)
        fputs(usage, stderr);
    return code;
}
