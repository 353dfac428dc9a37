/* medreg oprf: the client half of network-wide PSNs (docs/deid.md).
 *   oprf key       fetch and pin a module's VOPRF public key
 *   oprf evaluate  have the identity service evaluate a prepared request
 *                  file (from an offline machine) into a response file
 * and the batch loop `pseudonymize csv` uses online. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/fd_io.h"
#include "../core/secret.h"
#include "../crypto/oprf.h"
#include "../deid/oprf_files.h"
#include "cli.h"

#define OPRF_BATCH 1024 /* the service's batch_max */
#define OPRF_RETRIES 3   /* a batch is sent again after 1, 2 and 4 s */

/* "medreg: WHERE: ERR", err freed; 0 */
static int say(const char *where, char *err)
{
    fprintf(stderr, "medreg: %s: %s\n", where, err ? err : "out of memory");
    free(err);
    return 0;
}

int cli_oprf_pin_load(const char *path, mr_oprf_pin *pin)
{
    size_t len = 0;
    char *text = NULL, *err = NULL;
    medreg_err rc = mr_file_read(path, MR_OPRF_PIN_FILE_MAX, &text, &len);
    if (rc == MEDREG_ERR_TOOBIG)
        fprintf(stderr, "medreg: %s: larger than %zu bytes: not a pin file (`medreg oprf key` writes one)\n", path,
                MR_OPRF_PIN_FILE_MAX);
    else if (rc != MEDREG_OK)
        fprintf(stderr, "medreg: %s: %s\n", path, rc == MEDREG_ERR_NOMEM ? medreg_strerror(rc) : strerror(errno));
    int ok = rc == MEDREG_OK &&
             (mr_oprf_pin_parse(text, len, MR_OPRF_FORMAT_KEY, pin, &err) == MEDREG_OK || say(path, err));
    free(text);
    return ok;
}

int cli_oprf_file_open(const char *path)
{
    struct stat sb;
    /* O_NONBLOCK: a pipe is refused below, not waited on (it changes nothing for a file) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &sb) != 0)
        fprintf(stderr, "medreg: %s: %s\n", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        fprintf(stderr, "medreg: %s: not a regular file\n", path);
    else if ((uint64_t)sb.st_size > MR_OPRF_FILE_MAX)
        fprintf(stderr, "medreg: %s: larger than %zu bytes, more than any run makes\n", path, MR_OPRF_FILE_MAX);
    else
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* One batch: gathered into blinded (k elements), sent, then its answer
 * taken by fn in a thread of its own, so that the next request is on its
 * way meanwhile: checking a proof and unblinding cost the client about as
 * long as the service takes to evaluate. Batches reach fn one at a time
 * and in order (each waits for the one before). */
typedef struct oprf_pending {
    pthread_t thread;
    int running, rc;
    cli_oprf_batch_fn fn;
    void *ctx;
    uint8_t (*blinded)[32], (*ev)[32];
    size_t k;
    uint8_t proof[64];
} oprf_pending;

static void *pending_run(void *arg)
{
    oprf_pending *p = arg;
    p->rc = p->fn(p->ctx, (const uint8_t(*)[32])p->blinded, (const uint8_t(*)[32])p->ev, p->k, p->proof);
    return NULL;
}

/* fn's answer for the batch in p (0 when there is none) */
static int pending_wait(oprf_pending *p)
{
    if (!p->running)
        return 0;
    pthread_join(p->thread, NULL);
    p->running = 0;
    return p->rc;
}

static void pending_start(oprf_pending *p)
{
    p->rc = 0;
    p->running = pthread_create(&p->thread, NULL, pending_run, p) == 0;
    if (!p->running) /* no thread: take it here and now */
        pending_run(p);
}

/* The batch loop, fed an element at a time (from the run's table, or from
 * a request file as it is read): oprf_eval_begin, oprf_eval_add for each
 * element in order (a full batch is sent), oprf_eval_send for the last
 * batch, then oprf_eval_end for the exit code. */
typedef struct oprf_eval {
    const cli *c;
    const mr_oprf_pin *pin;
    char path[160];
    oprf_pending slot[2];
    size_t b, sent, n; /* b: the slot of the next batch; sent of n elements */
    int code, failed, bar;
} oprf_eval;

static int oprf_eval_begin(oprf_eval *e, const cli *c, const mr_oprf_pin *pin, size_t n, cli_oprf_batch_fn fn,
                           void *ctx)
{
    char *mod = cli_escape(pin->module);
    memset(e, 0, sizeof *e);
    e->c = c;
    e->pin = pin;
    e->n = n;
    e->bar = isatty(STDERR_FILENO);
    e->code = EXIT_LOCAL;
    if (mod == NULL)
        return 0;
    snprintf(e->path, sizeof e->path, "/v1/oprf/%s/evaluate", mod);
    free(mod);
    for (size_t i = 0; i < 2; i++) {
        e->slot[i].fn = fn;
        e->slot[i].ctx = ctx;
        if ((e->slot[i].ev = calloc(OPRF_BATCH, 32)) == NULL || (e->slot[i].blinded = calloc(OPRF_BATCH, 32)) == NULL)
            return 0;
    }
    e->code = EXIT_OK;
    return 1;
}

/* Send the batch gathered in the current slot (none: nothing to do). 1 to
 * go on, 0 once the run has failed (oprf_eval_end says how). */
static int oprf_eval_send(oprf_eval *e)
{
    oprf_pending *p = &e->slot[e->b]; /* free: its batch was waited for before the last one started */
    size_t batches = (e->n + OPRF_BATCH - 1) / OPRF_BATCH, at = e->sent / OPRF_BATCH + 1, k = p->k;
    char what[64];
    if (e->code != EXIT_OK || e->failed)
        return 0;
    if (k == 0)
        return 1;
    json_t *arr = json_array(), *body = NULL;
    cli_reply r = {0};
    for (size_t i = 0; i < k; i++)
        json_array_append_new(arr, mr_json_base64(p->blinded[i], 32));
    body = json_pack("{s:I,s:o}", "key_id", (json_int_t)e->pin->key_id, "blinded", arr);
    /* an evaluation changes nothing at the service: a batch that got no
     * answer, or a busy one, is safely sent again */
    for (unsigned attempt = 0;; attempt++) {
        e->code = body ? cli_request(e->c, SVC_IDENTITY, "POST", e->path, body, &r) : EXIT_LOCAL;
        int busy = e->code == EXIT_OK && (r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504);
        if (attempt == OPRF_RETRIES || !(busy || (e->code == EXIT_NETWORK && r.transient)))
            break;
        fprintf(stderr, "%smedreg: batch %zu of %zu: %s; sending it again in %u s\n", e->bar ? "\n" : "", at, batches,
                busy ? "the identity service is busy" : "no answer", 1u << attempt);
        cli_reply_free(&r);
        sleep(1u << attempt);
    }
    json_decref(body);
    if (e->code != EXIT_OK)
        return 0;
    if (r.status != 200) {
        e->code = cli_finish(e->c, &r, NULL);
        return 0;
    }
    char *err = NULL;
    int ok = mr_oprf_answer_parse(r.body, r.len, k, p->ev, p->proof, &err) == MEDREG_OK ||
             say("the identity service sent a malformed evaluation", err);
    cli_reply_free(&r);
    if (!ok) {
        e->code = EXIT_SERVER;
        return 0;
    }
    if (pending_wait(&e->slot[e->b ^ 1]) != 0) {
        e->failed = 1; /* fn said why */
        return 0;
    }
    pending_start(p);
    e->sent += k;
    e->b ^= 1;
    e->slot[e->b].k = 0; /* waited for above: the next batch gathers there */
    if (e->bar) { /* thousands of batches take minutes */
        snprintf(what, sizeof what, "%zu of %zu batches evaluated", at, batches);
        cli_progress((int)(100 * e->sent / (e->n ? e->n : 1)), what);
    }
    if (!p->running && p->rc != 0) {
        e->failed = 1;
        return 0;
    }
    return 1;
}

/* Gather one element; a full batch is sent. 1 to go on, 0 once the run
 * has failed. */
static int oprf_eval_add(oprf_eval *e, const uint8_t element[32])
{
    oprf_pending *p = &e->slot[e->b];
    if (e->code != EXIT_OK || e->failed)
        return 0;
    memcpy(p->blinded[p->k++], element, 32);
    return p->k < OPRF_BATCH || oprf_eval_send(e);
}

static int oprf_eval_end(oprf_eval *e)
{
    for (size_t i = 0; i < 2; i++) {
        e->failed |= pending_wait(&e->slot[i]) != 0;
        free(e->slot[i].ev);
        free(e->slot[i].blinded);
    }
    if (e->bar && e->n > 0)
        fputc('\n', stderr);
    if (e->failed && e->code == EXIT_OK)
        e->code = EXIT_SERVER;
    return e->code;
}

int cli_oprf_evaluate(const cli *c, const mr_oprf_pin *pin, cli_oprf_element_fn at, const void *src, size_t n,
                      cli_oprf_batch_fn fn, void *ctx)
{
    oprf_eval e;
    if (oprf_eval_begin(&e, c, pin, n, fn, ctx)) {
        int go = 1;
        for (size_t i = 0; i < n && go; i++) {
            const uint8_t *element = at(src, i);
            if (element == NULL)
                e.code = EXIT_LOCAL;
            go = element != NULL && oprf_eval_add(&e, element);
        }
        if (go)
            (void)oprf_eval_send(&e); /* oprf_eval_end says how it went */
    }
    return oprf_eval_end(&e);
}

static int cmd_oprf_key(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"module", required_argument, NULL, 'm'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *module = NULL, *out = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'm')
            module = optarg;
        else if (opt == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (module == NULL || out == NULL || optind != argc)
        return EXIT_USAGE;
    char path[160], *mod = cli_escape(module);
    if (mod == NULL)
        return EXIT_LOCAL;
    snprintf(path, sizeof path, "/v1/oprf/%s", mod);
    free(mod);
    cli_reply r = {0};
    int code = cli_request(c, SVC_IDENTITY, "GET", path, NULL, &r);
    if (code != EXIT_OK)
        return code;
    if (r.status != 200)
        return cli_finish(c, &r, NULL);
    mr_oprf_pin pin;
    char *text = NULL, *err = NULL;
    if (mr_oprf_pin_parse(r.body, r.len, NULL, &pin, &err) != MEDREG_OK) {
        say("the identity service sent a malformed key", err);
        code = EXIT_SERVER;
    } else {
        json_t *f = mr_oprf_pin_json(&pin, MR_OPRF_FORMAT_KEY);
        text = f ? json_dumps(f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(f);
        if (text == NULL || mr_file_write(out, text, strlen(text)) != MEDREG_OK) {
            fprintf(stderr, "medreg: cannot write %s\n", out);
            code = EXIT_LOCAL;
        } else {
            char hex[65];
            for (int i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", pin.pk[i]);
            /* compare this with the value the registry operator publishes */
            printf("module %s, key_id %u: VOPRF public key %s pinned in %s\n", pin.module, (unsigned)pin.key_id, hex,
                   out);
        }
    }
    free(text);
    cli_reply_free(&r);
    return code;
}

typedef struct eval_ctx {
    const mr_oprf_pin *pin;
    mr_oprf_writer *w;
} eval_ctx;

static int append_batch(void *ctx, const uint8_t (*blinded)[32], const uint8_t (*evaluated)[32], size_t n,
                        const uint8_t proof[64])
{
    eval_ctx *e = ctx;
    /* catch a wrong key here already; the offline machine checks again */
    if (mr_oprf_verify(e->pin->pk, blinded, evaluated, n, proof) != MEDREG_OK) {
        fprintf(stderr, "medreg: the identity service's proof does not verify against the pinned key\n");
        return -1;
    }
    if (mr_oprf_writer_batch(e->w, blinded, evaluated, n, proof) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", e->w->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The request file's second reading: its elements gathered into batches
 * and each batch sent as it fills */
typedef struct feed {
    oprf_eval *e;
    size_t seen;
} feed;

static medreg_err count_element(void *ctx, size_t index, const uint8_t e[32])
{
    (void)index;
    (void)e;
    ++*(size_t *)ctx;
    return MEDREG_OK;
}

static medreg_err feed_element(void *ctx, size_t index, const uint8_t e[32])
{
    feed *f = ctx;
    (void)index;
    f->seen++;
    return oprf_eval_add(f->e, e) ? MEDREG_OK : MEDREG_ERR_NET; /* oprf_eval_end says why */
}

/* The request, walked from its start: 1, or 0 after saying why */
static int walk_request(const char *in, int fd, mr_oprf_pin *pin, mr_oprf_element_fn each, void *ctx)
{
    char *err = NULL;
    mr_fd_bounded f = {fd, MR_OPRF_FILE_MAX};
    mr_json_source src = {mr_fd_read_bounded, &f};
    medreg_err rc = lseek(fd, 0, SEEK_SET) == 0 ? mr_oprf_request_walk(&src, pin, each, ctx, &err) : MEDREG_ERR_IO;
    if (rc == MEDREG_ERR_NET)
        return 0;
    if (rc != MEDREG_OK) {
        fprintf(stderr, "medreg: %s: %s\n", in, err ? err : rc == MEDREG_ERR_IO ? strerror(errno) : medreg_strerror(rc));
        free(err);
        return 0;
    }
    return 1;
}

/* The request is read twice and never whole: first checked to its end
 * (nothing is sent for a damaged file, and the response needs the pin
 * first), then sent a batch at a time as it is read again; the response is
 * written batch by batch as the service answers, and appears at out only
 * once whole. */
static int cmd_oprf_evaluate(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"in", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *in = NULL, *out = NULL;
    int opt, code = EXIT_LOCAL, fd;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'i')
            in = optarg;
        else if (opt == 'o')
            out = optarg;
        else
            return EXIT_USAGE;
    }
    if (in == NULL || out == NULL || optind != argc)
        return EXIT_USAGE;
    mr_oprf_pin pin, again;
    mr_oprf_writer w;
    size_t n = 0;
    if ((fd = cli_oprf_file_open(in)) < 0)
        return EXIT_LOCAL;
    if (!walk_request(in, fd, &pin, count_element, &n)) {
        close(fd);
        return EXIT_LOCAL;
    }
    if (mr_oprf_writer_open(&w, out, &pin, MR_OPRF_FORMAT_RESPONSE) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", out, strerror(errno));
        close(fd);
        return EXIT_LOCAL;
    }
    oprf_eval e;
    eval_ctx ec = {&pin, &w};
    feed f = {&e, 0};
    int began = oprf_eval_begin(&e, c, &pin, n, append_batch, &ec); /* e is set up either way */
    if (began && walk_request(in, fd, &again, feed_element, &f)) {
        if (f.seen != n || !mr_oprf_pin_equal(&pin, &again)) {
            fprintf(stderr, "medreg: %s changed while it was read; no response is written\n", in);
        } else {
            (void)oprf_eval_send(&e); /* the last batch; oprf_eval_end says how it went */
            code = EXIT_OK;
        }
    }
    int eval = oprf_eval_end(&e);
    if (eval != EXIT_OK) /* the service's or the batch's failure says more than the reading's */
        code = eval;
    close(fd);
    if (mr_oprf_writer_close(&w, code == EXIT_OK) != MEDREG_OK && code == EXIT_OK) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", out, strerror(errno));
        code = EXIT_LOCAL;
    }
    if (code == EXIT_OK)
        printf("%zu elements evaluated by the identity service for module %s; take %s back to the offline machine\n",
               n, pin.module, out);
    return code;
}

int cmd_oprf(cli *c, int argc, char **argv)
{
    static const char usage[] =
        "usage: medreg oprf key --module M --out PIN.json\n"
        "       medreg oprf evaluate --in REQUEST.json --out RESPONSE.json\n"
        "  key: fetch module M's VOPRF public key from the identity service and pin it in PIN.json\n"
        "  (pseudonymizer role). evaluate: on an online machine, have the identity service evaluate a\n"
        "  request written by `pseudonymize csv --prepare` on an offline one; every batch's proof is\n"
        "  checked against the request's key; a batch that gets no answer or a busy one is sent\n"
        "  again after 1, 2 and 4 s.\n";
    const char *sub = cli_subcommand(&argc, &argv, usage);
    int code;
    if (sub == NULL)
        return EXIT_USAGE;
    if (!strcmp(sub, "key"))
        code = cmd_oprf_key(c, argc, argv);
    else if (!strcmp(sub, "evaluate"))
        code = cmd_oprf_evaluate(c, argc, argv);
    else
        code = EXIT_USAGE;
    if (code == EXIT_USAGE)
        fputs(usage, stderr);
    return code;
}
