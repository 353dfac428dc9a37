/* medreg pseudonymize csv: the offline CSV tool (docs/deid.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/fd_io.h"
#include "../core/secret.h"
#include "../deid/csv_deid.h"
#include "../deid/oprf_files.h"
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
    char what[48];
    snprintf(what, sizeof what, "%llu rows", (unsigned long long)rows);
    cli_progress((int)(100 * (p->rep->bytes_in > p->size ? p->size : p->rep->bytes_in) / p->size), what);
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

static int sha256_file(FILE *fp, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    uint8_t b[65536];
    size_t n;
    crypto_hash_sha256_init(&st);
    rewind(fp);
    while ((n = fread(b, 1, sizeof b, fp)) > 0)
        crypto_hash_sha256_update(&st, b, n);
    crypto_hash_sha256_final(&st, out);
    int ok = !ferror(fp);
    rewind(fp);
    return ok;
}

/* the request's element i, read from the table as each batch is sent */
static const uint8_t *table_element(const void *t, size_t i)
{
    return mr_oprf_table_request_at(t, i);
}

/* Why a batch's answers were not taken (where, e.g. "batch 3: ", first):
 * 0, or -1 after saying why. */
static int say_completed(medreg_err rc, const char *where)
{
    if (rc == MEDREG_ERR_VERIFY)
        fprintf(stderr, "medreg: %sthe evaluation's proof does not verify against the pinned key: it was made with "
                        "another key or altered; nothing was used\n", where);
    else if (rc == MEDREG_ERR_NOTFOUND)
        fprintf(stderr, "medreg: %sthe evaluation answers elements this run never blinded\n", where);
    else if (rc != MEDREG_OK)
        fprintf(stderr, "medreg: %scannot finish the evaluation: %s\n", where, medreg_strerror(rc));
    return rc == MEDREG_OK ? 0 : -1;
}

static int complete_batch(void *ctx, const uint8_t (*blinded)[32], const uint8_t (*evaluated)[32], size_t n,
                          const uint8_t proof[64])
{
    mr_oprf_pin *pin = ((void **)ctx)[0];
    mr_oprf_table *t = ((void **)ctx)[1];
    return say_completed(mr_oprf_table_complete(t, pin->pk, blinded, evaluated, n, proof), "");
}

/* The response file of `oprf evaluate`, read twice and never whole. The
 * first reading checks all of it a batch at a time and notes where each
 * batch is, its elements' place in the request and a digest of its blinded
 * elements; nothing is used unless all of it is good (and, for a table
 * that takes the answers by position, unless it answers exactly the
 * request the state file commits to). The second reads each batch again
 * from where it is, on every core (an offline machine finishing a large
 * table has nothing else to do; the batches are independent), refuses one
 * that is not what the first reading saw, and completes it. */
typedef struct batch_place {
    uint64_t offset, first; /* its text in the file; its first element's place in the request */
    uint32_t len, n;
    uint8_t blinded_sha256[32];
} batch_place;

typedef struct response_index {
    batch_place *at;
    size_t n, cap, total, patients;
    crypto_hash_sha256_state request; /* every blinded element, in order */
} response_index;

static medreg_err note_batch(void *ctx, size_t index, const mr_oprf_batch *b, uint64_t offset, size_t len)
{
    response_index *x = ctx;
    (void)index;
    if (b->n > x->patients - x->total)
        return MEDREG_ERR_TOOBIG; /* more answers than the run has patients */
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        batch_place *at = realloc(x->at, cap * sizeof *at);
        if (at == NULL)
            return MEDREG_ERR_NOMEM;
        x->at = at;
        x->cap = cap;
    }
    batch_place *p = &x->at[x->n++];
    *p = (batch_place){offset, x->total, (uint32_t)len, (uint32_t)b->n, {0}};
    crypto_hash_sha256(p->blinded_sha256, (const uint8_t *)b->blinded, b->n * sizeof *b->blinded);
    crypto_hash_sha256_update(&x->request, (const uint8_t *)b->blinded, b->n * sizeof *b->blinded);
    x->total += b->n;
    return MEDREG_OK;
}

typedef struct finish_work {
    const char *path;
    int fd;
    mr_oprf_pin *pin;
    mr_oprf_table *t;
    const response_index *x;
    int by_position; /* an IN_ORDER table: x->at[i].first says where batch i's answers go */
    size_t next;
    int failed;
    pthread_mutex_t lock;
} finish_work;

static int finish_batch(finish_work *w, size_t i, char **buf, size_t *cap)
{
    const batch_place *p = &w->x->at[i];
    mr_oprf_batch b = {0};
    char *err = NULL;
    uint8_t sha[32];
    if (*cap < p->len) {
        char *more = realloc(*buf, p->len);
        if (more == NULL) {
            fprintf(stderr, "medreg: batch %zu: out of memory\n", i);
            return 0;
        }
        *buf = more;
        *cap = p->len;
    }
    if (mr_fd_pread_all(w->fd, *buf, p->len, p->offset) != MEDREG_OK) { /* EIO too if it was cut short */
        fprintf(stderr, "medreg: %s: batch %zu cannot be read again: %s; nothing was used\n", w->path, i,
                strerror(errno));
        return 0;
    }
    int same = mr_oprf_batch_parse(*buf, p->len, i, &b, &err) == MEDREG_OK && b.n == p->n;
    if (same) {
        crypto_hash_sha256(sha, (const uint8_t *)b.blinded, b.n * sizeof *b.blinded);
        same = mr_ct_equal(sha, p->blinded_sha256, 32);
    }
    free(err);
    if (!same) {
        fprintf(stderr, "medreg: %s changed while it was read (batch %zu); nothing was used\n", w->path, i);
        mr_oprf_batch_clear(&b);
        return 0;
    }
    char where[48];
    snprintf(where, sizeof where, "batch %zu: ", i);
    medreg_err rc = w->by_position ? mr_oprf_table_complete_at(w->t, w->pin->pk, p->first,
                                                               (const uint8_t(*)[32])b.blinded,
                                                               (const uint8_t(*)[32])b.evaluated, b.n, b.proof)
                                   : mr_oprf_table_complete(w->t, w->pin->pk, (const uint8_t(*)[32])b.blinded,
                                                            (const uint8_t(*)[32])b.evaluated, b.n, b.proof);
    mr_oprf_batch_clear(&b);
    return say_completed(rc, where) == 0;
}

static void *finish_thread(void *arg)
{
    finish_work *w = arg;
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t i = w->next++;
        int stop = w->failed || i >= w->x->n;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        if (!finish_batch(w, i, &buf, &cap)) {
            pthread_mutex_lock(&w->lock);
            w->failed = 1;
            pthread_mutex_unlock(&w->lock);
        }
    }
    free(buf);
    return NULL;
}

static int finish_from_file(const char *path, mr_oprf_pin *pin, mr_oprf_table *t, const mr_oprf_state *st)
{
    response_index x = {.patients = mr_oprf_table_count(t)};
    finish_work w = {path, -1, pin, t, &x, st->ordered, 0, 0, PTHREAD_MUTEX_INITIALIZER};
    mr_oprf_pin rpin;
    char *err = NULL;
    uint8_t d[32];
    int ok = 0;

    crypto_hash_sha256_init(&x.request);
    if ((w.fd = cli_oprf_file_open(path)) < 0)
        goto out;
    mr_fd_bounded f = {w.fd, MR_OPRF_FILE_MAX};
    mr_json_source src = {mr_fd_read_bounded, &f};
    medreg_err rc = mr_oprf_response_walk(&src, &rpin, note_batch, &x, &err);
    if (rc == MEDREG_ERR_TOOBIG)
        fprintf(stderr, "medreg: %s answers more elements than the run's %zu patients; nothing was used\n", path,
                x.patients);
    else if (rc != MEDREG_OK)
        fprintf(stderr, "medreg: %s: %s\n", path,
                err ? err : rc == MEDREG_ERR_IO ? strerror(errno) : medreg_strerror(rc));
    if (rc != MEDREG_OK)
        goto out;
    if (!mr_oprf_pin_equal(&rpin, pin)) {
        fprintf(stderr, "medreg: %s was made for another module or key than the pinned one\n", path);
        goto out;
    }
    crypto_hash_sha256_final(&x.request, d);
    if (st->ordered && (x.total != x.patients || !mr_ct_equal(d, st->request_sha256, 32))) {
        fprintf(stderr, "medreg: %s does not answer the request that was prepared with this state file (%zu elements "
                        "for %zu patients, or other ones); nothing was used\n", path, x.total, x.patients);
        goto out;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores < 1 ? 1 : cores > 64 ? 64 : (size_t)cores, started = 0;
    pthread_t th[64];
    if (nt > x.n)
        nt = x.n;
    for (size_t k = 1; k < nt; k++) /* and this thread */
        if (pthread_create(&th[started], NULL, finish_thread, &w) == 0)
            started++;
    finish_thread(&w);
    for (size_t k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    ok = !w.failed;
out:
    if (w.fd >= 0)
        close(w.fd);
    free(err);
    free(x.at);
    pthread_mutex_destroy(&w.lock);
    return ok;
}

/* The CSV tool's first pass: the whole table through the de-identifier,
 * collecting each written row's PSN input, to /dev/null. */
typedef struct csv_collect {
    const mr_csv_config *cfg;
    FILE *in;
    const char *in_path;
    unsigned threads;
} csv_collect;

static int digest_csv(void *ctx, uint8_t out[32])
{
    return sha256_file(((csv_collect *)ctx)->in, out);
}

static int collect_csv(void *ctx, mr_oprf_table *t)
{
    csv_collect *cc = ctx;
    mr_psn_source collect = {NULL, t, 1};
    mr_csv_report *rep = calloc(1, sizeof *rep);
    FILE *null = fopen("/dev/null", "w");
    char *err = NULL;
    int code = EXIT_LOCAL;
    if (rep && null) {
        rep->threads = cc->threads;
        if (mr_csv_deid(cc->cfg, &collect, cc->in, null, rep, &err) != MEDREG_OK) {
            fprintf(stderr, "medreg: %s: %s; no output was written\n", cc->in_path, err ? err : "cannot read the input");
            code = EXIT_INVALID;
        } else {
            code = EXIT_OK;
        }
    }
    rewind(cc->in);
    if (null)
        fclose(null);
    free(err);
    free(rep);
    return code;
}

int cli_network_psns(cli *c, const mr_module *module, const cli_network_run *run, mr_oprf_table **table,
                     int *prepared)
{
    const char *pin_path = run->pin_path, *prepare = run->prepare, *finish = run->finish, *state_path = run->state_path,
               *in_path = run->in_path;
    mr_oprf_pin pin;
    mr_oprf_state *st = sodium_malloc(sizeof *st); /* its seed makes every blind */
    char *err = NULL, *text = NULL;
    uint8_t *st_raw = NULL;
    size_t st_len = 0, n = 0;
    int code = EXIT_LOCAL;

    *prepared = 0;
    if (st == NULL)
        goto out;
    memset(st, 0, sizeof *st);
    if (!cli_oprf_pin_load(pin_path, &pin))
        goto out;
    if (strcmp(pin.module, module->name) != 0 || pin.key_id != module->key_id) {
        fprintf(stderr, "medreg: %s pins module %s key %u, the configuration is for module %s key %u\n", pin_path,
                pin.module, (unsigned)pin.key_id, module->name, (unsigned)module->key_id);
        goto out;
    }
    uint8_t digest[32];
    if (!run->digest(run->ctx, digest)) {
        fprintf(stderr, "medreg: %s: %s\n", in_path, strerror(errno));
        goto out;
    }
    if (finish) {
        if (mr_secret_file_read(state_path, 0, 4096, &st_raw, &st_len) != MEDREG_OK) {
            fprintf(stderr, "medreg: %s: not a state file of mode 0600 written by --prepare\n", state_path);
            goto out;
        }
        if (mr_oprf_state_parse((const char *)st_raw, st_len, st, &err) != MEDREG_OK) {
            fprintf(stderr, "medreg: %s: %s\n", state_path, err ? err : "out of memory");
            goto out;
        }
        if (!mr_oprf_pin_equal(&st->pin, &pin)) {
            fprintf(stderr, "medreg: %s was prepared with another pinned key\n", state_path);
            goto out;
        }
        if (!mr_ct_equal(st->input_sha256, digest, 32)) {
            fprintf(stderr, "medreg: %s is not the input that was prepared (SHA-256 differs)\n", in_path);
            code = EXIT_INVALID;
            goto out;
        }
    } else {
        randombytes_buf(st->seed, sizeof st->seed);
        st->pin = pin;
        memcpy(st->input_sha256, digest, 32);
    }
    /* a --finish whose state commits to the request takes the answers by
     * position and blinds nothing again */
    mr_oprf_table_mode mode = prepare                  ? MR_OPRF_TABLE_PREPARE
                              : finish && st->ordered ? MR_OPRF_TABLE_IN_ORDER
                                                      : MR_OPRF_TABLE_BLIND;
    if (mr_oprf_table_new(st->seed, mode, table) != MEDREG_OK)
        goto out;
    if ((code = run->collect(run->ctx, *table)) != EXIT_OK)
        goto out;
    code = EXIT_LOCAL;
    if (mode == MR_OPRF_TABLE_IN_ORDER) {
        uint8_t entries[32];
        n = mr_oprf_table_count(*table);
        if (mr_oprf_table_digests(*table, entries, NULL) != MEDREG_OK)
            goto out;
        if (n != st->inputs || !mr_ct_equal(entries, st->entries_sha256, 32)) {
            fprintf(stderr, "medreg: %s: its %zu distinct patients are not the %llu that %s was prepared for (is the "
                            "configuration the same?); no output was written\n",
                    in_path, n, (unsigned long long)st->inputs, state_path);
            code = EXIT_INVALID;
            goto out;
        }
    } else {
        n = mr_oprf_table_count(*table);
        if (mr_oprf_table_seal(*table) != MEDREG_OK)
            goto out;
    }
    if (prepare && n > MR_OPRF_RUN_MAX) {
        fprintf(stderr, "medreg: %s: %zu distinct patients, more than the %zu one request may carry; split the input\n",
                in_path, n, MR_OPRF_RUN_MAX);
        code = EXIT_INVALID;
        goto out;
    }
    if (prepare) {
        mr_oprf_writer w;
        st->inputs = n;
        st->ordered = 1;
        if (mr_oprf_table_digests(*table, st->entries_sha256, st->request_sha256) != MEDREG_OK)
            goto out;
        medreg_err wr = mr_oprf_writer_open(&w, prepare, &pin, MR_OPRF_FORMAT_REQUEST);
        if (wr == MEDREG_OK) {
            for (size_t i = 0; wr == MEDREG_OK && i < n; i++)
                wr = mr_oprf_writer_element(&w, mr_oprf_table_request_at(*table, i));
            medreg_err closed = mr_oprf_writer_close(&w, wr == MEDREG_OK);
            wr = wr == MEDREG_OK ? closed : wr;
        }
        if (wr != MEDREG_OK) {
            fprintf(stderr, "medreg: cannot write %s: %s\n", prepare, strerror(errno));
            goto out;
        }
        text = mr_oprf_state_text(st);
        if (text == NULL || mr_secret_file_write(state_path, text, strlen(text)) != MEDREG_OK) {
            fprintf(stderr, "medreg: cannot create %s (it must not exist yet)\n", state_path);
            unlink(prepare);
            goto out;
        }
        printf("%zu distinct patients blinded into %s; evaluate it with `medreg oprf evaluate` on a machine that\n"
               "reaches the identity service, then run again with --finish RESPONSE --state %s\n",
               n, prepare, state_path);
        *prepared = 1;
        code = EXIT_OK;
        goto out;
    }
    if (finish) {
        if (!finish_from_file(finish, &pin, *table, st)) {
            code = EXIT_INVALID;
            goto out;
        }
    } else if (n > 0) {
        code = cli_oprf_evaluate(c, &pin, table_element, *table, n, complete_batch, (void *[]){&pin, *table});
        if (code != EXIT_OK)
            goto out;
    }
    if (mr_oprf_table_missing(*table) != 0) {
        fprintf(stderr, "medreg: %zu patients of the input have no evaluation; no output was written\n",
                mr_oprf_table_missing(*table));
        code = EXIT_INVALID;
        goto out;
    }
    code = EXIT_OK;
out:
    if (text) {
        mr_wipe(text, strlen(text));
        free(text);
    }
    if (st_raw)
        mr_secret_free(st_raw);
    free(err);
    mr_secret_free(st);
    return code;
}

int cmd_pseudonymize(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"oprf-key", required_argument, NULL, 'p'},
                                         {"prepare", required_argument, NULL, 'P'},
                                         {"finish", required_argument, NULL, 'F'},
                                         {"state", required_argument, NULL, 'S'},
                                         {"in", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"rejects", required_argument, NULL, 'r'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"threads", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    static const char usage[] =
        "usage: medreg pseudonymize csv --config TABLE.ini --in IN.csv --out OUT.csv\n"
        "           (--key MODULE.key | --oprf-key PIN.json [--prepare REQUEST.json --state STATE.json |\n"
        "                                                    --finish RESPONSE.json --state STATE.json])\n"
        "           [--rejects REJECTS.csv] [--report REPORT.json] [--threads N]\n"
        "  Every column of IN (- for standard input, with --key) gets the role TABLE.ini gives it,\n"
        "  by header or by position (docs/deid.md). OUT has a psn column and the kept and\n"
        "  generalised columns; it is written to OUT.tmp and renamed only when complete. Rows that\n"
        "  cannot be processed go to REJECTS (default OUT.rejects.csv) as line,reason; the report\n"
        "  (default OUT.report.json) counts rows and what was done to each column. N threads\n"
        "  (default: one per core, the reading thread among them) give the same bytes as one.\n"
        "  --key: local PSNs under the module key, equal to the identity service's PSNs.\n"
        "  --oprf-key: network-wide PSNs, the identity service's VOPRF of the same message, blinded so\n"
        "  that the service never sees an identifier; PIN.json comes from `medreg oprf key`. Online by\n"
        "  default (--identity); offline: --prepare writes the blinded request and a 0600 state file,\n"
        "  `medreg oprf evaluate` turns the request into a response elsewhere, --finish completes.\n"
        "  Online, a batch that gets no answer or a busy one is sent again after 1, 2 and 4 s.\n";
    const char *cfg_path = NULL, *key_path = NULL, *pin_path = NULL, *prepare = NULL, *finish = NULL,
               *state_path = NULL, *in_path = NULL, *out_path = NULL, *rej_path = NULL, *rep_path = NULL;
    char *tmp = NULL, *rej_default = NULL, *rep_default = NULL, *err = NULL;
    mr_csv_config *cfg = NULL;
    uint8_t *key = NULL;
    size_t kl = 0;
    FILE *in = NULL, *out = NULL, *rej = NULL;
    mr_csv_report *rep = NULL;
    mr_psn_source src = {NULL, NULL, 0};
    mr_oprf_table *table = NULL;
    int opt, code = EXIT_USAGE;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);

    const char *sub = cli_subcommand(&argc, &argv, usage);
    if (sub == NULL)
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': cfg_path = optarg; break;
        case 'k': key_path = optarg; break;
        case 'p': pin_path = optarg; break;
        case 'P': prepare = optarg; break;
        case 'F': finish = optarg; break;
        case 'S': state_path = optarg; break;
        case 'i': in_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'r': rej_path = optarg; break;
        case 'R': rep_path = optarg; break;
        case 't':
            if (!cli_number("--threads", optarg, 1, 256, &threads))
                return EXIT_USAGE;
            break;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "csv") != 0 || !cfg_path || !in_path || (!out_path && !prepare) || optind != argc ||
        threads < 1 || threads > 256 || !key_path == !pin_path || (key_path && (prepare || finish || state_path)) ||
        (prepare && finish) || (!!(prepare || finish) != !!state_path)) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    code = EXIT_LOCAL;
    if ((rep = calloc(1, sizeof *rep)) == NULL)
        goto out;
    if (mr_csv_config_load(cfg_path, &cfg, &err) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s\n", err ? err : "cannot read the configuration");
        goto out;
    }
    if (key_path && mr_secret_file_read(key_path, 32, 0, &key, &kl) != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: the module key must be a 32-byte file of mode 0600 (medreg key new)\n", key_path);
        goto out;
    }
    /* "-": standard input, so that a table can be streamed in (zcat, an export) */
    if ((in = strcmp(in_path, "-") ? fopen(in_path, "rb") : fdopen(dup(STDIN_FILENO), "rb")) == NULL) {
        fprintf(stderr, "medreg: %s: %s\n", in_path, strerror(errno));
        goto out;
    }
    struct stat st;
    int regular = fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pin_path) {
        int prepared = 0;
        if (!regular) {
            fprintf(stderr, "medreg: %s: network-wide PSNs read the input twice; it must be a regular file\n",
                    in_path);
            goto out;
        }
        csv_collect cc = {cfg, in, in_path, (unsigned)threads};
        cli_network_run run = {pin_path, prepare, finish, state_path, in_path, digest_csv, collect_csv, &cc};
        code = cli_network_psns(c, cfg->module, &run, &table, &prepared);
        if (code != EXIT_OK || prepared)
            goto out;
        code = EXIT_LOCAL;
        src.oprf = table;
    } else {
        src.key = key;
    }
    if (asprintf(&tmp, "%s.tmp", out_path) < 0 || asprintf(&rej_default, "%s.rejects.csv", out_path) < 0 ||
        asprintf(&rep_default, "%s.report.json", out_path) < 0)
        goto out;
    if (!rej_path)
        rej_path = rej_default;
    if (!rep_path)
        rep_path = rep_default;
    if ((out = create(tmp, 0644)) == NULL || (rej = create(rej_path, 0600)) == NULL) {
        fprintf(stderr, "medreg: cannot create %s: %s\n", out ? rej_path : tmp, strerror(errno));
        goto out;
    }
    fputs("line,reason\r\n", rej);
    rep->rejects = rej;
    rep->threads = (unsigned)threads;
    progress prog = {rep, regular ? (uint64_t)st.st_size : 0};
    if (isatty(STDERR_FILENO)) {
        rep->progress = show_progress;
        rep->progress_ctx = &prog;
    }
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
    if (mr_dir_sync(out_path) != MEDREG_OK || mr_dir_sync(rej_path) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot make the names of %s and %s durable: %s\n", out_path, rej_path,
                strerror(errno));
        goto out;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_t *cols = json_array();
    for (size_t i = 0; i < cfg->n_cols; i++)
        json_array_append_new(cols, json_pack("{s:s,s:s,s:I}", "column", cfg->cols[i].label, "role", cfg->cols[i].kind,
                                              "values_removed_or_changed", (json_int_t)rep->changed[i]));
    json_t *report = json_pack("{s:o,s:o,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:f}", "input", mr_json_path(in_path), "output",
                               mr_json_path(out_path), "module", cfg->module->name, "psn", table ? "network" : "local",
                               "rows", (json_int_t)rep->rows, "written", (json_int_t)rep->written, "rejected",
                               (json_int_t)rep->rejected, "columns", cols, "rejects", mr_json_path(rej_path), "seconds",
                               secs);
    if (table)
        json_object_set_new(report, "distinct_patients", json_integer((json_int_t)mr_oprf_table_count(table)));
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
    mr_oprf_table_free(table);
    mr_secret_free(key);
    mr_csv_config_free(cfg);
    free(err);
    free(tmp);
    free(rej_default);
    free(rep_default);
    free(rep);
    return code;
}
