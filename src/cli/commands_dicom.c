/* medreg deid dicom | verify: the DICOM half of the offline tool
 * (docs/deid.md). Files and folder trees, several files at once; a report
 * of every file's fate, which `deid verify` reads back. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../core/work_pool.h"
#include "../deid/dicom_deid.h"
#include "../deid/dicom_report.h"
#include "cli.h"

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

static int list_add(file_list *l, const char *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    return (l->v[l->n] = strdup(p)) != NULL && ++l->n;
}

static void list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under root (or root itself), sorted: the same tree
 * gives the same report. */
static int list_tree(const char *root, file_list *out)
{
    struct stat st;
    if (stat(root, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode))
        return list_add(out, root);
    /* nftw has no context pointer; a stack of folders needs no global list */
    file_list dirs = {0};
    int ok = list_add(&dirs, root);
    while (ok && dirs.n > 0) {
        char *dir = dirs.v[--dirs.n];
        DIR *d = opendir(dir);
        struct dirent *de;
        if (d == NULL) {
            free(dir);
            ok = 0;
            break;
        }
        while (ok && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *p = NULL;
            if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
                ok = 0;
                break;
            }
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                ok = list_add(&dirs, p);
            else if (S_ISREG(st.st_mode))
                ok = list_add(out, p);
            free(p);
        }
        closedir(d);
        free(dir);
    }
    list_free(&dirs);
    qsort(out->v, out->n, sizeof *out->v, by_name);
    return ok;
}

static int flush_tree(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ok = fd >= 0 && syncfs(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* What the report keeps of each file: a few hundred bytes, so that memory
 * grows with the number of files only by that, never with their size. */
typedef struct file_fate {
    mr_dcm_outcome outcome;
    char *out, *reason;
    unsigned long removed, emptied, replaced, uids, shifted, cleaned, blanked;
} file_fate;

typedef struct job {
    const mr_dicom_config *cfg;
    const mr_psn_source *src;
    const file_list *files;
    const char *out_dir, *quarantine;
    file_fate *results;
    atomic_size_t next;
    atomic_int failed; /* beyond one file: stop */
    atomic_size_t done;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->files->n || atomic_load(&j->failed))
            return NULL;
        mr_dcm_result *r = malloc(sizeof *r);
        file_fate *f = &j->results[i];
        if (r == NULL || mr_dicom_deid_file(j->cfg, j->src, j->files->v[i], j->out_dir, j->quarantine, r) != MEDREG_OK) {
            atomic_store(&j->failed, 1);
        } else {
            *f = (file_fate){r->outcome, r->out_path[0] ? strdup(r->out_path) : NULL,
                             r->reason[0] ? strdup(r->reason) : NULL, r->removed, r->emptied, r->replaced,
                             r->uids, r->shifted, r->cleaned, r->blanked};
        }
        free(r);
        atomic_fetch_add(&j->done, 1);
    }
}

/* Every file through the workers; 0 when the output cannot be written.
 * On a terminal this thread shows how many are done meanwhile: a folder
 * of thousands of images takes minutes. */
static int run_jobs(job *j, long threads, const char *doing)
{
    pthread_t tids[64];
    long started = 0;
    int show = isatty(STDERR_FILENO);
    if ((size_t)threads > j->files->n)
        threads = (long)j->files->n;
    for (long t = 0; t < threads; t++)
        started += pthread_create(&tids[started], NULL, worker, j) == 0;
    if (started == 0)
        worker(j);
    for (size_t done = 0; show;) {
        char what[80];
        done = atomic_load(&j->done);
        snprintf(what, sizeof what, "%zu of %zu files %s", done, j->files->n, doing);
        cli_progress((int)(100 * done / j->files->n), what);
        if (done >= j->files->n || atomic_load(&j->failed))
            break;
        nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
    }
    for (long t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    if (show)
        fputc('\n', stderr);
    return !atomic_load(&j->failed);
}

/* A network-wide run's first pass: every file read, the PSN input of
 * each that will be written collected, nothing written. */
typedef struct dicom_collect {
    const mr_dicom_config *cfg;
    const file_list *files;
    long threads;
} dicom_collect;

static int collect_dicom(void *ctx, mr_oprf_table *t)
{
    dicom_collect *dc = ctx;
    mr_psn_source collect = {NULL, t, 1};
    file_fate *fates = calloc(dc->files->n, sizeof *fates);
    if (fates == NULL)
        return EXIT_LOCAL;
    job j = {dc->cfg, &collect, dc->files, "", "", fates, 0, 0, 0};
    int ok = run_jobs(&j, dc->threads, "read");
    for (size_t i = 0; i < dc->files->n; i++) {
        free(fates[i].out);
        free(fates[i].reason);
    }
    free(fates);
    return ok ? EXIT_OK : EXIT_LOCAL;
}

/* What --finish checks it is given the same input as --prepare: each
 * file's path, size and modification time, in order. */
static int tree_digest(void *ctx, uint8_t out[32])
{
    const file_list *files = ((dicom_collect *)ctx)->files;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < files->n; i++) {
        struct stat sb;
        char line[64];
        if (stat(files->v[i], &sb) != 0)
            return 0;
        int n = snprintf(line, sizeof line, "\n%lld %lld.%09ld\n", (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                         sb.st_mtim.tv_nsec);
        crypto_hash_sha256_update(&st, (const uint8_t *)files->v[i], strlen(files->v[i]));
        crypto_hash_sha256_update(&st, (const uint8_t *)line, (size_t)n);
    }
    crypto_hash_sha256_final(&st, out);
    return 1;
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
static json_t *report_entry(const char *in, const file_fate *r)
{
    json_t *o = json_object();
    if (o == NULL || !report_path(o, "in", in) ||
        json_object_set_new(o, "outcome", json_string(outcome_name(r->outcome))) != 0 ||
        (r->out && !report_path(o, "out", r->out)) ||
        (r->reason && json_object_set_new(o, "reason", mr_json_path(r->reason)) != 0)) {
        json_decref(o);
        return NULL;
    }
    if (r->outcome == MR_DCM_WRITTEN || r->outcome == MR_DCM_QUARANTINED)
        json_object_set_new(o, "actions",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "removed", (json_int_t)r->removed, "emptied",
                                      (json_int_t)r->emptied, "replaced", (json_int_t)r->replaced, "uids_remapped",
                                      (json_int_t)r->uids, "dates_shifted", (json_int_t)r->shifted, "cleaned",
                                      (json_int_t)r->cleaned, "pixel_regions_blanked", (json_int_t)r->blanked));
    return o;
}

typedef struct report_src {
    const file_list *files;
    const file_fate *results;
} report_src;

static json_t *report_line(size_t i, void *ctx)
{
    const report_src *r = ctx;
    return report_entry(r->files->v[i], &r->results[i]);
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
                                         {NULL, 0, NULL, 0}};
    const char *cfg_path = NULL, *key_path = NULL, *in = NULL, *out = NULL, *quarantine = NULL, *rep_path = NULL;
    const char *pin_path = NULL, *prepare = NULL, *finish = NULL, *state_path = NULL;
    mr_oprf_table *table = NULL;
    mr_psn_source src = {NULL, NULL, 0};
    char *q_default = NULL, *rep_default = NULL, *err = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    mr_dicom_config *cfg = NULL;
    uint8_t *key = NULL;
    size_t kl = 0;
    file_list files = {0};
    file_fate *results = NULL;
    int opt, code = EXIT_LOCAL;

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
    if (!list_tree(in, &files) || files.n == 0) {
        fprintf(stderr, "medreg: %s: no files to read (%s)\n", in, errno ? strerror(errno) : "empty");
        goto out;
    }
    src.key = key;
    if (pin_path) {
        int prepared = 0;
        dicom_collect dc = {cfg, &files, threads};
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
    if ((results = calloc(files.n, sizeof *results)) == NULL)
        goto out;
    job j = {cfg, &src, &files, out, quarantine, results, 0, 0, 0};
    if (!run_jobs(&j, threads, "de-identified")) {
        fprintf(stderr, "medreg: stopped: the output folder cannot be written\n");
        goto out;
    }
    /* every output durable, once, before the report says it exists */
    if (!flush_tree(out) || !flush_tree(quarantine)) {
        fprintf(stderr, "medreg: cannot flush %s: %s\n", out, strerror(errno));
        goto out;
    }
    size_t counts[MR_DCM_N_OUTCOMES] = {0};
    for (size_t i = 0; i < files.n; i++)
        counts[results[i].outcome]++;
    json_t *head = json_pack("{s:s,s:o,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I}", "format", MR_DICOM_REPORT_FORMAT,
                             "config", mr_json_path(cfg_path), "psn", table ? "network" : "local", "output",
                             mr_json_path(out), "quarantine", mr_json_path(quarantine), "written",
                             (json_int_t)counts[0], "quarantined", (json_int_t)counts[1], "skipped",
                             (json_int_t)counts[2], "directories", (json_int_t)counts[3], "not_dicom",
                             (json_int_t)counts[4]);
    unlink(rep_path);
    report_src rs = {&files, results};
    int reported = head != NULL && mr_dicom_report_write(rep_path, head, files.n, report_line, &rs) == MEDREG_OK;
    json_decref(head);
    if (!reported) {
        fprintf(stderr, "medreg: cannot write the report %s\n", rep_path);
        goto out;
    }
    printf("%zu files: %zu written to %s, %zu quarantined in %s (burned-in text possible), %zu skipped", files.n,
           counts[0], out, counts[1], quarantine, counts[2]);
    if (counts[3])
        printf(", %zu DICOMDIR not copied (dcmmkdir makes one for the output)", counts[3]);
    if (counts[4])
        printf(", %zu not DICOM (programs, documents: not copied)", counts[4]);
    printf("; report in %s\n", rep_path);
    for (size_t i = 0; i < files.n; i++)
        if (results[i].outcome == MR_DCM_SKIPPED || results[i].outcome == MR_DCM_NOT_DICOM)
            fprintf(stderr, "medreg: %s %s: %s\n", results[i].outcome == MR_DCM_SKIPPED ? "skipped" : "left out",
                    files.v[i], results[i].reason ? results[i].reason : "?");
    /* a DICOMDIR, and a file that is no image at all, are left out by
     * design, not a failure */
    code = counts[2] ? EXIT_INVALID : EXIT_OK;
out:
    for (size_t i = 0; results && i < files.n; i++) {
        free(results[i].out);
        free(results[i].reason);
    }
    free(results);
    list_free(&files);
    mr_secret_free(key);
    mr_oprf_table_free(table);
    mr_dicom_config_free(cfg);
    free(err);
    free(q_default);
    free(rep_default);
    return code;
}

/* verify checks the report's pairs on every core and prints their findings
 * in the report's order: at most 4 per thread in flight, so memory stays
 * flat however long the report. */
typedef struct check {
    mr_work w; /* first: the pool hands this back */
    struct verify_run *run;
    char *in, *out;
    char *found; /* the findings, printed when this check is the oldest */
    size_t found_len;
    unsigned long n;
    medreg_err rc;
    int done;
} check;

typedef struct verify_run {
    const mr_dicom_config *cfg;
    mr_work_pool *pool; /* NULL: checked in place */
    pthread_mutex_t lock;
    pthread_cond_t finished;
    check *ring;
    size_t cap, oldest, count, checked;
    unsigned long total;
    FILE *report; /* on a terminal, the share of it read is the progress */
    long report_size;
    int bar; /* drawn: cleared before findings are printed */
    struct timespec drawn;
} verify_run;

/* At most five times a second: the progress bar by the report read so far. */
static void verify_progress(verify_run *v, int last)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!last && (now.tv_sec - v->drawn.tv_sec) * 1000 + (now.tv_nsec - v->drawn.tv_nsec) / 1000000 < 200)
        return;
    char what[64];
    long at = last ? v->report_size : ftell(v->report);
    snprintf(what, sizeof what, "%zu outputs checked", v->checked);
    cli_progress(v->report_size > 0 && at > 0 ? (int)(100.0 * (double)at / (double)v->report_size) : 0, what);
    v->bar = 1;
    v->drawn = now;
}

static void check_run(mr_work *w)
{
    check *k = (check *)w;
    verify_run *v = k->run;
    medreg_err rc = MEDREG_ERR_INVALID; /* an entry without both paths */
    FILE *fp = NULL;
    if (k->in && k->out && (fp = open_memstream(&k->found, &k->found_len)) == NULL)
        rc = MEDREG_ERR_NOMEM;
    if (fp != NULL) {
        rc = mr_dicom_verify(v->cfg, k->in, k->out, fp, &k->n);
        if (fclose(fp) != 0 && rc == MEDREG_OK)
            rc = MEDREG_ERR_NOMEM;
    }
    pthread_mutex_lock(&v->lock);
    k->rc = rc;
    k->done = 1;
    pthread_cond_broadcast(&v->finished);
    pthread_mutex_unlock(&v->lock);
}

/* Wait for the oldest check, print what it found, free its slot. */
static medreg_err retire_oldest(verify_run *v)
{
    check *k = &v->ring[v->oldest];
    pthread_mutex_lock(&v->lock);
    while (!k->done)
        pthread_cond_wait(&v->finished, &v->lock);
    pthread_mutex_unlock(&v->lock);
    medreg_err rc = k->rc;
    if ((rc != MEDREG_OK || k->found_len) && v->bar) {
        fputs("\r\033[K", stderr); /* the bar's line, for what is printed now */
        v->bar = 0;
    }
    if (rc == MEDREG_OK) {
        fwrite(k->found, 1, k->found_len, stdout);
        fflush(stdout);
        v->checked++;
        v->total += k->n;
    } else
        fprintf(stderr, "medreg: cannot check %s against %s: %s\n", k->out ? k->out : "?", k->in ? k->in : "?",
                medreg_strerror(rc));
    free(k->in);
    free(k->out);
    free(k->found);
    memset(k, 0, sizeof *k);
    v->oldest = (v->oldest + 1) % v->cap;
    v->count--;
    return rc;
}

/* A path of a report entry: the bytes of "in_hex" (or "out_hex") when
 * there are, else "in" itself; NULL when there is none, or when "_hex" is
 * not hex or holds a NUL. */
static char *entry_path(json_t *f, const char *key)
{
    char hex_key[16];
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    const char *hex = json_string_value(json_object_get(f, hex_key));
    const char *s = json_string_value(json_object_get(f, key));
    if (hex == NULL)
        return s ? strdup(s) : NULL;
    size_t n = strlen(hex) / 2;
    char *p = malloc(n + 1);
    if (p == NULL || !mr_unhex_exact(hex, (uint8_t *)p, n) || memchr(p, 0, n) != NULL) {
        free(p);
        return NULL;
    }
    p[n] = 0;
    return p;
}

static medreg_err verify_entry(json_t *f, void *ctx)
{
    verify_run *v = ctx;
    if (json_object_get(f, "out") == NULL)
        return MEDREG_OK; /* skipped: nothing was written */
    if (v->count == v->cap) {
        medreg_err rc = retire_oldest(v);
        if (rc != MEDREG_OK)
            return rc;
    }
    if (v->report != NULL)
        verify_progress(v, 0);
    check *k = &v->ring[(v->oldest + v->count++) % v->cap];
    *k = (check){.w.fn = check_run, .run = v, .in = entry_path(f, "in"), .out = entry_path(f, "out")};
    if (v->pool)
        mr_work_pool_submit(v->pool, &k->w);
    else
        check_run(&k->w);
    return MEDREG_OK;
}

static int cmd_deid_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    const char *cfg_path = NULL, *rep_path = NULL;
    mr_dicom_config *cfg = NULL;
    char *err = NULL, why[160];
    FILE *fp = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    verify_run v = {0};
    int opt, code = EXIT_LOCAL, sync_ready = 0;

    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'c')
            cfg_path = optarg;
        else if (opt == 'R')
            rep_path = optarg;
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
    struct stat st;
    if (isatty(STDERR_FILENO) && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
        v.report = fp;
        v.report_size = (long)st.st_size;
    }
    v.cap = 4 * (size_t)threads;
    if ((v.ring = calloc(v.cap, sizeof *v.ring)) == NULL || pthread_mutex_init(&v.lock, NULL) != 0)
        goto out;
    if (pthread_cond_init(&v.finished, NULL) != 0) {
        pthread_mutex_destroy(&v.lock);
        goto out;
    }
    sync_ready = 1;
    if (threads > 1 && mr_work_pool_start((unsigned)threads, "medreg-verify", &v.pool) != MEDREG_OK)
        v.pool = NULL; /* then one check at a time, here */
    /* entry by entry: the report of a large run is never held whole */
    medreg_err rc = mr_dicom_report_each(fp, verify_entry, &v, why, sizeof why);
    while (v.count > 0) { /* the checks still in flight, in order */
        medreg_err r = retire_oldest(&v);
        if (rc == MEDREG_OK)
            rc = r;
    }
    if (v.report != NULL && rc == MEDREG_OK) {
        verify_progress(&v, 1);
        fputc('\n', stderr);
    } else if (v.bar)
        fputc('\n', stderr);
    if (rc == MEDREG_ERR_INVALID && why[0]) {
        fprintf(stderr, "medreg: %s: not a report of medreg deid dicom: %s\n", rep_path, why);
        goto out;
    }
    if (rc != MEDREG_OK)
        goto out; /* retire_oldest said why */
    if (v.total) {
        fprintf(stderr, "medreg: %lu identifying values of the inputs survive in the outputs (listed above)\n",
                v.total);
        code = EXIT_FAILURE_;
    } else {
        printf("%zu outputs checked against their inputs: no identifying value survives\n", v.checked);
        code = EXIT_OK;
    }
out:
    mr_work_pool_stop(v.pool);
    if (sync_ready) {
        pthread_cond_destroy(&v.finished);
        pthread_mutex_destroy(&v.lock);
    }
    free(v.ring);
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
        "       medreg deid verify --config DICOM.ini --report REPORT.json [--threads N]\n"
        "  dicom: PS3.15 Annex E's Basic Profile and the configured options (docs/deid.md) on every\n"
        "  file under IN; outputs under OUT/<study>/<series>/<instance>.dcm with new UIDs; images that\n"
        "  may show burned-in text go to the quarantine (default OUT.quarantine), unless a pixel rule\n"
        "  of the configuration says where it is: then it is blanked and the image written. Text in\n"
        "  any DICOM character set is written as UTF-8. Unreadable files are skipped and listed\n"
        "  (exit 4); a DICOMDIR and files that are no DICOM at all (a CD's viewer, a PDF) are never\n"
        "  copied and listed apart. The report (default OUT.report.json, 0600) names every file's fate.\n"
        "  --key: local PSNs, UIDs and date shifts under the module key. --oprf-key: network-wide,\n"
        "  from the identity service's VOPRF (as for pseudonymize csv): online, or --prepare here,\n"
        "  `medreg oprf evaluate` elsewhere, --finish here; PSN, UIDs and dates then agree across\n"
        "  hospitals, keyed per patient by the VOPRF output.\n"
        "  verify: read each input again and fail (exit 1) if any of its identifying values survives\n"
        "  in its output: every element, every sequence, private attributes, meta header, raw bytes;\n"
        "  and where an output says its burned-in text is gone, that the pixel rules' regions are 0.\n"
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
