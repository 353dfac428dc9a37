/* medreg oprf: the client half of network-wide PSNs (docs/deid.md).
 *   oprf key       fetch and pin a module's VOPRF public key
 *   oprf evaluate  have the identity service evaluate a prepared request
 *                  file (from an offline machine) into a response file
 * and the batch loop `pseudonymize csv` uses online. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/encode.h"
#include "../core/secret.h"
#include "../crypto/oprf.h"
#include "../deid/oprf_files.h"
#include "cli.h"

#define OPRF_BATCH 1024 /* the service's batch_max */
#define OPRF_RETRIES 3   /* a batch is sent again after 1, 2 and 4 s */

char *cli_oprf_file_load(const char *path, size_t *len)
{
    char *text = NULL;
    medreg_err rc = mr_file_read(path, MR_OPRF_FILE_MAX, &text, len);
    if (rc == MEDREG_ERR_TOOBIG)
        fprintf(stderr, "medreg: %s: larger than %zu bytes, more than any run makes\n", path, MR_OPRF_FILE_MAX);
    else if (rc != MEDREG_OK)
        fprintf(stderr, "medreg: %s: %s\n", path, rc == MEDREG_ERR_NOMEM ? medreg_strerror(rc) : strerror(errno));
    return rc == MEDREG_OK ? text : NULL;
}

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
    char *text = cli_oprf_file_load(path, &len), *err = NULL;
    int ok = text != NULL &&
             (mr_oprf_pin_parse(text, len, MR_OPRF_FORMAT_KEY, pin, &err) == MEDREG_OK || say(path, err));
    free(text);
    return ok;
}

/* One answered batch being taken by fn in a thread of its own, so that the
 * next request is on its way meanwhile: checking a proof and unblinding
 * cost the client about as long as the service takes to evaluate. Batches
 * reach fn one at a time and in order (each waits for the one before). */
typedef struct oprf_pending {
    pthread_t thread;
    int running, rc;
    cli_oprf_batch_fn fn;
    void *ctx;
    const uint8_t (*blinded)[32];
    uint8_t (*ev)[32];
    size_t k;
    uint8_t proof[64];
} oprf_pending;

static void *pending_run(void *arg)
{
    oprf_pending *p = arg;
    p->rc = p->fn(p->ctx, p->blinded, (const uint8_t(*)[32])p->ev, p->k, p->proof);
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

int cli_oprf_evaluate(const cli *c, const mr_oprf_pin *pin, const uint8_t (*blinded)[32], size_t n,
                      cli_oprf_batch_fn fn, void *ctx)
{
    char path[160], *mod = cli_escape(pin->module);
    oprf_pending slot[2];
    int code = EXIT_OK, failed = 0, bar = isatty(STDERR_FILENO);
    size_t batches = (n + OPRF_BATCH - 1) / OPRF_BATCH;
    char what[64];
    if (mod == NULL)
        return EXIT_LOCAL;
    snprintf(path, sizeof path, "/v1/oprf/%s/evaluate", mod);
    free(mod);
    memset(slot, 0, sizeof slot);
    for (size_t i = 0; i < 2; i++) {
        slot[i].fn = fn;
        slot[i].ctx = ctx;
        if ((slot[i].ev = calloc(OPRF_BATCH, 32)) == NULL) {
            free(slot[0].ev);
            return EXIT_LOCAL;
        }
    }
    for (size_t off = 0, b = 0; off < n && code == EXIT_OK; off += OPRF_BATCH, b ^= 1) {
        size_t k = n - off < OPRF_BATCH ? n - off : OPRF_BATCH;
        oprf_pending *p = &slot[b]; /* free: its batch was waited for before the last one started */
        json_t *arr = json_array(), *body = NULL;
        cli_reply r = {0};
        for (size_t i = 0; i < k; i++)
            json_array_append_new(arr, mr_json_base64(blinded[off + i], 32));
        body = json_pack("{s:I,s:o}", "key_id", (json_int_t)pin->key_id, "blinded", arr);
        /* an evaluation changes nothing at the service: a batch that got no
         * answer, or a busy one, is safely sent again */
        for (unsigned attempt = 0;; attempt++) {
            code = body ? cli_request(c, SVC_IDENTITY, "POST", path, body, &r) : EXIT_LOCAL;
            int busy = code == EXIT_OK && (r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504);
            if (attempt == OPRF_RETRIES || !(busy || (code == EXIT_NETWORK && r.transient)))
                break;
            fprintf(stderr, "%smedreg: batch %zu of %zu: %s; sending it again in %u s\n", bar ? "\n" : "",
                    off / OPRF_BATCH + 1, batches, busy ? "the identity service is busy" : "no answer", 1u << attempt);
            cli_reply_free(&r);
            sleep(1u << attempt);
        }
        json_decref(body);
        if (code != EXIT_OK)
            break;
        if (r.status != 200) {
            code = cli_finish(c, &r, NULL);
            break;
        }
        char *err = NULL;
        int ok = mr_oprf_answer_parse(r.body, r.len, k, p->ev, p->proof, &err) == MEDREG_OK ||
                 say("the identity service sent a malformed evaluation", err);
        cli_reply_free(&r);
        if (!ok) {
            code = EXIT_SERVER;
            break;
        }
        if (pending_wait(&slot[b ^ 1]) != 0) {
            failed = 1; /* fn said why */
            break;
        }
        p->blinded = blinded + off;
        p->k = k;
        pending_start(p);
        if (bar) { /* thousands of batches take minutes */
            snprintf(what, sizeof what, "%zu of %zu batches evaluated", off / OPRF_BATCH + 1, batches);
            cli_progress((int)(100 * (off + k) / n), what);
        }
        if (!p->running && p->rc != 0) {
            failed = 1;
            break;
        }
    }
    for (size_t i = 0; i < 2; i++)
        failed |= pending_wait(&slot[i]) != 0;
    if (bar && n > 0)
        fputc('\n', stderr);
    if (failed && code == EXIT_OK)
        code = EXIT_SERVER;
    free(slot[0].ev);
    free(slot[1].ev);
    return code;
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

static int cmd_oprf_evaluate(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"in", required_argument, NULL, 'i'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *in = NULL, *out = NULL;
    int opt, code = EXIT_LOCAL;
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
    mr_oprf_pin pin;
    mr_oprf_writer w;
    uint8_t(*bl)[32] = NULL;
    size_t n = 0, len = 0;
    char *text = cli_oprf_file_load(in, &len), *err = NULL;
    if (text == NULL)
        return EXIT_LOCAL;
    medreg_err rc = mr_oprf_request_parse(text, len, &pin, &bl, &n, &err);
    free(text);
    if (rc != MEDREG_OK) {
        say(in, err);
        return EXIT_LOCAL;
    }
    /* the response is written batch by batch as the service answers, and
     * appears at out only once whole */
    if (mr_oprf_writer_open(&w, out, &pin, MR_OPRF_FORMAT_RESPONSE) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", out, strerror(errno));
        free(bl);
        return EXIT_LOCAL;
    }
    eval_ctx e = {&pin, &w};
    code = cli_oprf_evaluate(c, &pin, (const uint8_t(*)[32])bl, n, append_batch, &e);
    if (mr_oprf_writer_close(&w, code == EXIT_OK) != MEDREG_OK && code == EXIT_OK) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", out, strerror(errno));
        code = EXIT_LOCAL;
    }
    if (code == EXIT_OK)
        printf("%zu elements evaluated by the identity service for module %s; take %s back to the offline machine\n",
               n, pin.module, out);
    free(bl);
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
