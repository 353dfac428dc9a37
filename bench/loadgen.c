/* Load generator: N clients (--threads N), each one keep-alive mutual-TLS
 * connection with one request in flight, for S seconds, driven by L
 * event-loop threads (--loops, default 2) as wrk and h2load drive theirs.
 *
 * It shares the machine's cores with the service it measures, so it talks
 * TLS through OpenSSL and reads responses with http-parser, as wrk does,
 * not through libcurl (tls_client.h says why). Each request's bytes are
 * made once per request, each response is parsed as it arrives, and a
 * connection that fails is made again (and counted as an error).
 *
 * Prints "requests/s p50_ms p99_ms errors"; the latencies are of requests
 * on open connections (each connection's first request, which also carries
 * the TLS handshake, counts in the rate only: 32 handshakes at once made
 * 0.2 % of a run's requests slow by up to 170 ms). Modes:
 *   register  POST /v1/patients with a fresh patient each time
 *   batch     POST /v1/patients/batch with B fresh patients each time
 *             (throughput counts patients)
 *   read      GET  /v1/records/RECORD_ID
 *   health    GET  /healthz (the HTTP + TLS ceiling, one trivial query)
 *   post      POST the body of --body FILE to --path P; each request
 *             counts --batch items (e.g. OPRF evaluations) */
#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"
#include "tls_client.h"

enum { MAX_FAILS = 3 }; /* a client whose connection fails this often in a row stops */

typedef struct opts {
    const char *url, *cert, *key, *cacert, *mode, *record, *path;
    char *body; /* post mode */
    char target[512];
    int threads, loops, batch;
    double seconds;
    SSL_CTX *tls;
    bench_url u;
} opts;

typedef enum { C_HANDSHAKE, C_WRITE, C_READ } cstate;

/* One client: one keep-alive connection with one request in flight. */
typedef struct client {
    int id, fd, fails;
    uint32_t events; /* what epoll waits for on fd */
    SSL *ssl;
    cstate state;
    http_parser parser;
    int complete, keep_alive;
    long made; /* patients made so far */
    long done; /* requests answered on this connection */
    char *req; /* the request's bytes */
    size_t req_len, req_off, req_cap;
    double t0;
} client;

/* One event loop: drives its share of the clients from one thread. */
typedef struct loop {
    const opts *o;
    client *clients;
    int n, ep;
    lat_log lat;
    long errors, items;
} loop;

static int on_complete(http_parser *p)
{
    client *c = p->data;
    c->complete = 1;
    c->keep_alive = http_should_keep_alive(p);
    return 0;
}

static const http_parser_settings parser_settings = {.on_message_complete = on_complete};

static int patient_json(char *buf, size_t cap, int id, long i)
{
    return snprintf(buf, cap,
                    "{\"family_name\":\"Bench%dx%ld\",\"given_name\":\"Load\",\"birth_date\":\"19%02ld-%02ld-%02ld\"}",
                    id, i, 30 + i % 60, 1 + i % 12, 1 + i % 28);
}

/* Make c's next request: a fresh patient, or batch, each time. */
static int next_request(const opts *o, client *c)
{
    char p[256];
    size_t body_off, off;
    const char *method = !strcmp(o->mode, "read") || !strcmp(o->mode, "health") ? "GET" : "POST";
    /* the header, with room for Content-Length filled in below */
    off = (size_t)snprintf(c->req, c->req_cap, "%s %s HTTP/1.1\r\nHost: %s:%s\r\n", method, o->target, o->u.host, o->u.port);
    if (!strcmp(method, "GET")) {
        off += (size_t)snprintf(c->req + off, c->req_cap - off, "\r\n");
        c->req_off = 0;
        c->req_len = off;
        c->state = C_WRITE;
        c->t0 = lat_now();
        return 0;
    }
    /* POST: write the body after a fixed-width header slot, then the header before it */
    body_off = 512;
    off = body_off;
    if (!strcmp(o->mode, "post")) {
        size_t n = strlen(o->body);
        if (body_off + n > c->req_cap)
            return -1;
        memcpy(c->req + off, o->body, n);
        off += n;
    } else if (!strcmp(o->mode, "batch")) {
        off += (size_t)snprintf(c->req + off, c->req_cap - off, "{\"module\":\"hip\",\"patients\":[");
        for (int b = 0; b < o->batch; b++) {
            patient_json(p, sizeof p, c->id, c->made++);
            off += (size_t)snprintf(c->req + off, c->req_cap - off, "%s%s", b ? "," : "", p);
        }
        off += (size_t)snprintf(c->req + off, c->req_cap - off, "]}");
    } else {
        patient_json(p, sizeof p, c->id, c->made++);
        off += (size_t)snprintf(c->req + off, c->req_cap - off, "{\"module\":\"hip\",\"identifiers\":%s}", p);
    }
    if (off >= c->req_cap)
        return -1;
    char head[512];
    int hn = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", method, o->target, o->u.host, o->u.port, off - body_off);
    if (hn <= 0 || (size_t)hn > body_off)
        return -1;
    /* slide the header in front of the body; the request starts at req + req_off */
    memcpy(c->req + body_off - (size_t)hn, head, (size_t)hn);
    c->req_off = body_off - (size_t)hn;
    c->req_len = off;
    c->state = C_WRITE;
    c->t0 = lat_now();
    return 0;
}

static void disconnect(client *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* Open c's connection and start its handshake; its first request follows. */
static int connect_client(loop *l, client *c)
{
    const opts *o = l->o;
    int one = 1;
    c->fd = socket(o->u.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&o->u.addr, o->u.addr_len) != 0 && errno != EINPROGRESS)
        goto fail;
    if ((c->ssl = bench_tls_session(o->tls, c->fd, o->u.host)) == NULL)
        goto fail;
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->done = 0;
    c->state = C_HANDSHAKE;
    c->events = EPOLLOUT | EPOLLIN;
    struct epoll_event ev = {.events = c->events, .data.ptr = c};
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        goto fail;
    return 0;
fail:
    disconnect(c);
    return -1;
}

/* Wait for what OpenSSL needs next (a change of interest is a system call:
 * made only when it changes). */
static void want(loop *l, client *c, int ssl_want)
{
    uint32_t events = ssl_want == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
    if (events == c->events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

/* The connection failed or ended: count it, and make a new one unless the
 * run is over or this client keeps failing. Returns whether c is still on. */
static int reconnect(loop *l, client *c, int failed, int more)
{
    disconnect(c);
    if (failed) {
        l->errors++;
        c->fails++;
    }
    if (!more || c->fails >= MAX_FAILS)
        return 0;
    if (connect_client(l, c) != 0) {
        l->errors++;
        return 0;
    }
    return 1;
}

/* An OpenSSL call on c returned r, not done: wait for what it needs
 * (0: c stays active), or the connection failed and is made again (1: c
 * is finished). */
static int stalled(loop *l, client *c, int r, double end)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        want(l, c, e);
        return 0;
    }
    return !reconnect(l, c, 1, lat_now() < end);
}

/* Drive c as far as it goes without blocking. Returns 0 while c is active,
 * 1 when it is finished. */
static int step(loop *l, client *c, double end)
{
    const opts *o = l->o;
    char buf[16384];
    for (;;) {
        int r;
        switch (c->state) {
        case C_HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r != 1)
                return stalled(l, c, r, end);
            if (next_request(o, c) != 0)
                return !reconnect(l, c, 1, 0);
            want(l, c, SSL_ERROR_WANT_READ);
            break;
        case C_WRITE:
            r = SSL_write(c->ssl, c->req + c->req_off, (int)(c->req_len - c->req_off));
            if (r <= 0)
                return stalled(l, c, r, end);
            c->req_off += (size_t)r;
            if (c->req_off < c->req_len)
                break;
            c->state = C_READ;
            c->complete = 0;
            want(l, c, SSL_ERROR_WANT_READ);
            return 0; /* the answer comes later: no read that would only say "not yet" */
        case C_READ:
            r = SSL_read(c->ssl, buf, sizeof buf);
            if (r <= 0)
                return stalled(l, c, r, end);
            if (http_parser_execute(&c->parser, &parser_settings, buf, (size_t)r) != (size_t)r ||
                HTTP_PARSER_ERRNO(&c->parser) != HPE_OK)
                return !reconnect(l, c, 1, lat_now() < end);
            if (!c->complete)
                break;
            if (c->parser.status_code >= 300) {
                l->errors++;
            } else {
                c->fails = 0;
                if (c->done > 0) /* the first request of a connection also carries its TLS handshake */
                    lat_add(&l->lat, lat_now() - c->t0);
                l->items += !strcmp(o->mode, "batch") || !strcmp(o->mode, "post") ? o->batch : 1;
            }
            c->done++;
            if (lat_now() >= end) {
                disconnect(c);
                return 1;
            }
            if (!c->keep_alive)
                return !reconnect(l, c, 0, 1);
            if (next_request(o, c) != 0)
                return !reconnect(l, c, 1, 0);
            break;
        }
    }
}

static void *run(void *arg)
{
    loop *l = arg;
    const opts *o = l->o;
    double end = lat_now() + o->seconds;
    int active = 0;
    struct epoll_event evs[64];

    l->ep = epoll_create1(EPOLL_CLOEXEC);
    for (int k = 0; k < l->n; k++) {
        client *c = &l->clients[k];
        c->fd = -1;
        c->req_cap = (size_t)1 << 20;
        c->req = malloc(c->req_cap);
        if (l->ep < 0 || c->req == NULL || connect_client(l, c) != 0) {
            l->errors++;
            continue;
        }
        active++;
    }
    while (active > 0) {
        int n = epoll_wait(l->ep, evs, 64, 100);
        for (int i = 0; i < n; i++)
            if (step(l, evs[i].data.ptr, end))
                active--;
        if (n == 0 && lat_now() > end + 30) /* a service that stopped answering */
            break;
    }
    for (int k = 0; k < l->n; k++) {
        disconnect(&l->clients[k]);
        free(l->clients[k].req);
    }
    if (l->ep >= 0)
        close(l->ep);
    return NULL;
}

int main(int argc, char **argv)
{
    opts o = {0};
    o.threads = 1;
    o.loops = 2;
    o.seconds = 3;
    o.batch = 100;
    o.mode = "register";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) o.url = argv[i + 1];
        else if (!strcmp(argv[i], "--cert")) o.cert = argv[i + 1];
        else if (!strcmp(argv[i], "--key")) o.key = argv[i + 1];
        else if (!strcmp(argv[i], "--cacert")) o.cacert = argv[i + 1];
        else if (!strcmp(argv[i], "--mode")) o.mode = argv[i + 1];
        else if (!strcmp(argv[i], "--record")) o.record = argv[i + 1];
        else if (!strcmp(argv[i], "--threads")) o.threads = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--loops")) o.loops = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--batch")) o.batch = (int)strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seconds")) o.seconds = strtod(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--path")) o.path = argv[i + 1];
        else if (!strcmp(argv[i], "--body")) {
            FILE *fp = fopen(argv[i + 1], "rb");
            long n = -1;
            if (fp && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && n < (1 << 20) - 1024 &&
                fseek(fp, 0, SEEK_SET) == 0 && (o.body = calloc(1, (size_t)n + 1)) != NULL &&
                fread(o.body, 1, (size_t)n, fp) != (size_t)n)
                n = -1;
            if (fp)
                fclose(fp);
            if (n <= 0 || o.body == NULL) {
                fprintf(stderr, "loadgen: cannot read %s (at most 1 MiB)\n", argv[i + 1]);
                return 2;
            }
        }
    }
    const char *m = o.mode;
    int known = !strcmp(m, "register") || !strcmp(m, "batch") || !strcmp(m, "read") || !strcmp(m, "health") ||
                !strcmp(m, "post");
    if (!known || (!strcmp(m, "post") && (!o.body || !o.path)) || (!strcmp(m, "read") && !o.record))
        o.url = NULL; /* usage */
    if (!o.url || !o.cert || !o.key || !o.cacert || o.threads < 1 || o.threads > 256 || o.loops < 1 ||
        o.loops > 64 || o.batch < 1 || o.batch > 5000) {
        fprintf(stderr, "usage: loadgen --url https://HOST:PORT --cert C --key K --cacert CA "
                        "[--mode register|batch|read|health|post] "
                        "[--record ID] [--path P --body FILE] [--threads N] [--loops L] [--seconds S] [--batch B]\n");
        return 2;
    }
    if (!strcmp(m, "read"))
        snprintf(o.target, sizeof o.target, "/v1/records/%s", o.record);
    else if (!strcmp(m, "health"))
        snprintf(o.target, sizeof o.target, "/healthz");
    else if (!strcmp(m, "batch"))
        snprintf(o.target, sizeof o.target, "/v1/patients/batch");
    else if (!strcmp(m, "post"))
        snprintf(o.target, sizeof o.target, "%s", o.path);
    else
        snprintf(o.target, sizeof o.target, "/v1/patients");
    if (bench_url_parse(o.url, &o.u) != 0) {
        fprintf(stderr, "loadgen: cannot use --url %s\n", o.url);
        return 2;
    }
    if ((o.tls = bench_tls_context(o.cert, o.key, o.cacert)) == NULL)
        return 2;
    if (o.loops > o.threads)
        o.loops = o.threads;
    client *clients = calloc((size_t)o.threads, sizeof *clients);
    loop *l = calloc((size_t)o.loops, sizeof *l);
    pthread_t *t = calloc((size_t)o.loops, sizeof *t);
    lat_log **logs = calloc((size_t)o.loops, sizeof *logs);
    if (!clients || !l || !t || !logs) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    for (int i = 0; i < o.threads; i++)
        clients[i].id = i + (int)(time(NULL) % 100000) * 1000;
    double t0 = lat_now();
    for (int i = 0, first = 0; i < o.loops; i++) {
        l[i].o = &o;
        l[i].n = o.threads / o.loops + (i < o.threads % o.loops);
        l[i].clients = clients + first;
        first += l[i].n;
        pthread_create(&t[i], NULL, run, &l[i]);
    }
    long errors = 0, items = 0;
    for (int i = 0; i < o.loops; i++) {
        pthread_join(t[i], NULL);
        errors += l[i].errors;
        items += l[i].items;
        logs[i] = &l[i].lat;
    }
    lat_report(logs, (size_t)o.loops, (double)items, lat_now() - t0, errors);
    free(logs);
    free(o.body);
    free(clients);
    free(l);
    free(t);
    SSL_CTX_free(o.tls);
    return 0;
}
