/* HTTPS with libcurl: mutual TLS with the user's certificate, the server
 * verified against the configured CA, HTTPS only, bounded replies. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "../core/buf.h"
#include "../core/fd_io.h"
#include "../core/secret.h"
#include "../core/encode.h"
#include "cli.h"

#define REPLY_MAX ((size_t)1 << 30) /* a reply held in memory (long lists); a download is not */
#define REFUSAL_MAX ((size_t)1 << 20) /* the error body of a download */

int cli_fingerprint_arg(const char *arg, char out[65])
{
    size_t n = 0;
    for (const char *p = arg; *p && n <= 64; p++)
        if (*p != ':')
            out[n < 64 ? n : 63] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p), n++;
    out[n < 64 ? n : 64] = 0;
    if (n != 64 || !mr_is_lower_hex(out, 64)) {
        fprintf(stderr, "medreg: --fingerprint must be a certificate's SHA-256 fingerprint (64 hex digits)\n");
        return 0;
    }
    return 1;
}

char *cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    return out;
}

void cli_reply_free(cli_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

struct cli_http {
    CURLSH *share;
    pthread_mutex_t lock; /* libcurl's rule for a share that threads may use */
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
    (void)h, (void)data, (void)access;
    pthread_mutex_lock(&((cli_http *)u)->lock);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h, (void)data;
    pthread_mutex_unlock(&((cli_http *)u)->lock);
}

cli_http *cli_http_new(void)
{
    cli_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    if ((h->share = curl_share_init()) == NULL ||
        curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        cli_http_free(h);
        return NULL;
    }
    return h;
}

void cli_http_free(cli_http *h)
{
    if (h == NULL)
        return;
    curl_share_cleanup(h->share); /* closes the kept connections */
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* Where a reply's body goes: memory, or, for a download that succeeds (2xx),
 * a descriptor or a stream as it arrives */
typedef struct reply_sink {
    mr_writer mem;
    CURL *h;
    int fd;    /* >= 0: the download's file */
    FILE *out; /* else, if set: the download's stream */
    size_t written, records; /* CSV records ended: line breaks outside quotes */
    int quoted;
    int write_failed, write_errno; /* the write's errno: curl's work after it may change errno */
    cli_bar bar;
} reply_sink;

/* the download's line: rows so far (the header is not one), and bytes */
static void download_progress(reply_sink *s, int last)
{
    char what[80];
    if (!s->bar.on)
        return;
    snprintf(what, sizeof what, "%zu rows, %.1f MB", s->records ? s->records - 1 : 0, (double)s->written / 1e6);
    cli_bar_draw(&s->bar, -1, what, last);
}

static size_t reply_take(char *p, size_t size, size_t n, void *u)
{
    reply_sink *s = u;
    long status = 0;
    if (s->fd < 0 && s->out == NULL)
        return mr_writer_take(p, size, n, &s->mem);
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return mr_writer_take(p, size, n, &s->mem);
    size_t len = size * n; /* curl's size is 1 */
    if ((s->fd >= 0 ? mr_fd_write_all(s->fd, p, len) != MEDREG_OK : fwrite(p, 1, len, s->out) != len)) {
        s->write_failed = 1;
        s->write_errno = errno;
        return 0;
    }
    s->written += len;
    /* a doubled quote inside a quoted field toggles twice */
    for (size_t i = 0; i < len; i++)
        if (p[i] == '"')
            s->quoted = !s->quoted;
        else if (p[i] == '\n' && !s->quoted)
            s->records++;
    download_progress(s, 0);
    return len;
}

static int request(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
                   reply_sink *sink, cli_reply *reply);

int cli_request(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
                cli_reply *reply)
{
    reply_sink sink = {.fd = -1};
    mr_writer_init(&sink.mem, REPLY_MAX + 1); /* and a NUL */
    return request(c, svc, method, path, body, &sink, reply);
}

int cli_download(const cli *c, cli_service svc, const char *path, const char *out, size_t *bytes, size_t *records,
                 cli_reply *reply)
{
    char tmp[MR_TMP_PATH_MAX];
    /* not over the rows themselves, when they go to this terminal */
    reply_sink sink = {.fd = -1, .out = stdout, .bar.on = isatty(STDERR_FILENO) && (out || !isatty(STDOUT_FILENO))};
    mr_writer_init(&sink.mem, REFUSAL_MAX + 1);
    memset(reply, 0, sizeof *reply);
    *bytes = *records = 0;
    if (out != NULL && mr_file_replace_begin(out, tmp, &sink.fd) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot write beside %s: %s\n", out, strerror(errno));
        return EXIT_LOCAL;
    }
    int code = request(c, svc, "GET", path, NULL, &sink, reply);
    int whole = code == EXIT_OK && reply->status >= 200 && reply->status < 300;
    if (whole && sink.bar.shown) {
        download_progress(&sink, 1);
        fputc('\n', stderr);
        sink.bar.shown = 0;
    }
    cli_bar_clear(&sink.bar); /* a cut download's line, before its message */
    if (sink.write_failed)
        fprintf(stderr, "medreg: cannot write %s: %s\n", out ? out : "the output", strerror(sink.write_errno));
    if (out != NULL && mr_file_replace_end(out, tmp, sink.fd, whole) != MEDREG_OK && whole) {
        fprintf(stderr, "medreg: cannot write %s: %s\n", out, strerror(errno));
        code = EXIT_LOCAL;
    }
    if (out == NULL && whole && !sink.write_failed && fflush(stdout) != 0) {
        fprintf(stderr, "medreg: cannot write the output: %s\n", strerror(errno));
        code = EXIT_LOCAL;
    }
    if (sink.write_failed)
        code = EXIT_LOCAL;
    *bytes = sink.written;
    *records = sink.records;
    return code;
}

static int request(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
                   reply_sink *sink, cli_reply *reply)
{
    static const char *const NAMES[][2] = {{"identity", "IDENTITY"}, {"registry", "REGISTRY"}, {"ledger", "LEDGER"}};
    const char *base = svc == SVC_IDENTITY ? c->identity_url : svc == SVC_REGISTRY ? c->registry_url : c->ledger_url;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = NULL, *payload = NULL;
    struct curl_slist *headers = NULL;
    int code = EXIT_NETWORK;
    CURL *h = NULL;
    int download = sink->fd >= 0 || sink->out != NULL;

    memset(reply, 0, sizeof *reply);
    if (base == NULL) {
        fprintf(stderr, "medreg: no %s service URL: use --%s URL or MEDREG_%s\n", NAMES[svc][0], NAMES[svc][0],
                NAMES[svc][1]);
        return EXIT_USAGE;
    }
    if (c->cert == NULL || c->key == NULL || c->cacert == NULL) {
        fprintf(stderr, "medreg: a client certificate, key and CA are needed: use --as PATH/NAME,"
                        " or --cert, --key and --cacert (or MEDREG_AS)\n");
        return EXIT_USAGE;
    }
    /* libcurl opens them itself: a FIFO there would hold the run for ever */
    const char *files[] = {c->cert, c->key, c->cacert};
    for (size_t i = 0; i < 3; i++)
        if (mr_path_is_irregular(files[i])) {
            fprintf(stderr, "medreg: %s: not a regular file\n", files[i]);
            return EXIT_LOCAL;
        }
    if (asprintf(&url, "%s%s", base, path) < 0)
        return EXIT_FAILURE_;
    h = sink->h = curl_easy_init();
    if (h == NULL)
        goto out;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
    curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (download) { /* as long as it takes, while data keeps coming */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 300L);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_take);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "medreg/0.1");
    if (c->http != NULL)
        curl_easy_setopt(h, CURLOPT_SHARE, c->http->share);
    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL)
            goto out;
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "medreg: %s: %s\n", base, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        reply->transient = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
                           rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
        if (rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE)
            code = EXIT_LOCAL;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
    if (mr_writer_string(&sink->mem, &reply->body, &reply->len) != MEDREG_OK)
        goto out;
    code = EXIT_OK;
out:
    if (payload) {
        /* request bodies carry identifiers */
        memset(payload, 0, strlen(payload));
        free(payload);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    mr_writer_free(&sink->mem);
    free(url);
    return code;
}

int cli_finish(const cli *c, cli_reply *r, void (*human)(const cli *c, json_t *j))
{
    int code = EXIT_OK;
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    if (r->status >= 200 && r->status < 300) {
        if (c->json || (human == NULL))
            fwrite(r->body, 1, r->len, stdout), fputc('\n', stdout);
        else if (j)
            human(c, j);
    } else {
        json_t *e = j ? json_object_get(j, "error") : NULL;
        const char *ecode = e ? json_string_value(json_object_get(e, "code")) : NULL;
        const char *msg = e ? json_string_value(json_object_get(e, "message")) : NULL;
        if (c->json)
            fwrite(r->body, 1, r->len, stdout), fputc('\n', stdout);
        fprintf(stderr, "medreg: refused (HTTP %ld %s): %s\n", r->status, ecode ? ecode : "error",
                msg ? msg : "no message");
        code = r->status == 401 || r->status == 403 || r->status == 429 ? EXIT_DENIED
               : r->status >= 500                   ? EXIT_SERVER
                                                    : EXIT_INVALID;
    }
    json_decref(j);
    cli_reply_free(r);
    return code;
}

int cli_add_pair(json_t *obj, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg || (size_t)(eq - arg) > 64) {
        fprintf(stderr, "medreg: '%s' is not NAME=VALUE\n", arg);
        return 0;
    }
    char name[65];
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    json_object_set_new(obj, name, json_string(eq + 1));
    return 1;
}

json_t *cli_json_arg(const char *arg)
{
    json_error_t err;
    json_t *j;
    if (strcmp(arg, "-") == 0) {
        j = json_loadf(stdin, JSON_REJECT_DUPLICATES, &err);
    } else if (arg[0] == '@') {
        j = json_load_file(arg + 1, JSON_REJECT_DUPLICATES, &err);
    } else {
        j = json_loads(arg, JSON_REJECT_DUPLICATES, &err);
    }
    if (j == NULL)
        fprintf(stderr, "medreg: invalid JSON (%s line %d): %s\n", arg[0] == '@' ? arg + 1 : "argument",
                err.line, err.text);
    return j;
}

int cli_parse_service(const char *s, cli_service *out)
{
    if (s && !strcmp(s, "identity")) {
        *out = SVC_IDENTITY;
        return 1;
    }
    if (s && !strcmp(s, "registry")) {
        *out = SVC_REGISTRY;
        return 1;
    }
    if (s && !strcmp(s, "ledger")) {
        *out = SVC_LEDGER;
        return 1;
    }
    fprintf(stderr, "medreg: --on must be identity, registry or ledger\n");
    return 0;
}

const char *cli_time(long long t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "%lld", t);
    return buf;
}

int cli_number(const char *opt, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "medreg: %s must be a whole number from %ld to %ld, not '%.32s'\n", opt, min, max, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_is_hex(const char *s, size_t len)
{
    size_t i;
    for (i = 0; i <= len && s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == len && s[i] == 0;
}

int cli_call(const cli *c, cli_service svc, const char *method, const char *path, json_t *body,
             void (*human)(const cli *c, json_t *j))
{
    cli_reply r;
    int code = cli_request(c, svc, method, path, body, &r);
    return code == EXIT_OK ? cli_finish(c, &r, human) : code;
}

int cli_read_token_file(const char *path, char **out)
{
    size_t len = 0;
    if (mr_file_read(path, 4096, out, &len) != MEDREG_OK) {
        fprintf(stderr, "medreg: cannot read the token file %s\n", path);
        return EXIT_LOCAL;
    }
    while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
        (*out)[--len] = 0;
    return EXIT_OK;
}

void cli_progress(int pct, const char *what)
{
    char bar[41];
    if (pct < 0) {
        fprintf(stderr, "\r  %s", what);
        return;
    }
    int full = (pct < 0 ? 0 : pct > 100 ? 100 : pct) * 40 / 100;
    memset(bar, '#', (size_t)full);
    memset(bar + full, ' ', (size_t)(40 - full));
    bar[40] = 0;
    fprintf(stderr, "\r  [%s] %3d%%  %s", bar, pct, what);
}

void cli_bar_draw(cli_bar *b, int pct, const char *what, int last)
{
    struct timespec now;
    if (!b->on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!last && b->shown &&
        (now.tv_sec - b->drawn.tv_sec) * 1000 + (now.tv_nsec - b->drawn.tv_nsec) / 1000000 < 200)
        return;
    cli_progress(pct, what);
    b->shown = 1;
    b->drawn = now;
}

void cli_bar_clear(cli_bar *b)
{
    if (b->shown) {
        /* medreg's own control sequence, past the terminal guard (tty_guard.h) */
        fflush(stderr);
        if (write(STDERR_FILENO, "\r\033[K", 4) != 4)
            fputc('\n', stderr);
    }
    b->shown = 0;
}

const char *cli_subcommand(int *argc, char ***argv, const char *usage)
{
    if (*argc < 2) {
        fputs(usage, stderr);
        return NULL;
    }
    const char *sub = (*argv)[1];
    (*argc)--;
    (*argv)++;
    return sub;
}
