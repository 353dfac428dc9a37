/* Load generator: N clients (--threads N), each one keep-alive mutual-TLS
 * connection with one request in flight (libcurl), for S seconds, driven by
 * L event-loop threads (--loops, default 2) as wrk and h2load drive theirs.
 * With a thread per client, 32 client threads shared the 2 cores' run queue
 * with the service and its group committer, which then waited twice as
 * long for a CPU as it ran: registrations at 32 clients measured 5-20 %
 * lower, p99 1-3 ms higher (reads the same).
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
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latency.h"

typedef struct opts {
    const char *url, *cert, *key, *cacert, *mode, *record, *path;
    char *body; /* post mode */
    int threads, loops, batch;
    double seconds;
} opts;

/* One client: one keep-alive connection with one request in flight. */
typedef struct client {
    CURL *h;
    int id;
    long made; /* patients made so far */
    long done; /* requests answered */
    char *body; /* register and batch modes */
    double t0;
} client;

/* One event loop: drives its share of the clients from one thread. */
typedef struct loop {
    const opts *o;
    client *clients;
    int n;
    lat_log lat;
    long errors, items;
} loop;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static void patient_json(char *buf, size_t cap, int id, long i)
{
    snprintf(buf, cap,
             "{\"family_name\":\"Bench%dx%ld\",\"given_name\":\"Load\",\"birth_date\":\"19%02ld-%02ld-%02ld\"}",
             id, i, 30 + i % 60, 1 + i % 12, 1 + i % 28);
}

/* Set c's next request up: a fresh patient, or batch, each time. */
static void next_request(const opts *o, client *c)
{
    char p[256];
    if (!strcmp(o->mode, "post")) {
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, o->body);
    } else if (!strcmp(o->mode, "batch")) {
        size_t off = (size_t)snprintf(c->body, 64, "{\"module\":\"hip\",\"patients\":[");
        for (int b = 0; b < o->batch; b++) {
            patient_json(p, sizeof p, c->id, c->made++);
            off += (size_t)snprintf(c->body + off, 300, "%s%s", b ? "," : "", p);
        }
        snprintf(c->body + off, 8, "]}");
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
    } else if (!strcmp(o->mode, "register")) {
        patient_json(p, sizeof p, c->id, c->made++);
        snprintf(c->body, 400, "{\"module\":\"hip\",\"identifiers\":%s}", p);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body);
    }
    c->t0 = lat_now();
}

static CURL *new_handle(const opts *o, struct curl_slist *hdr, client *c)
{
    char url[512];
    CURL *h = curl_easy_init();
    if (h == NULL)
        return NULL;
    if (!strcmp(o->mode, "read"))
        snprintf(url, sizeof url, "%s/v1/records/%s", o->url, o->record);
    else if (!strcmp(o->mode, "health"))
        snprintf(url, sizeof url, "%s/healthz", o->url);
    else if (!strcmp(o->mode, "batch"))
        snprintf(url, sizeof url, "%s/v1/patients/batch", o->url);
    else if (!strcmp(o->mode, "post"))
        snprintf(url, sizeof url, "%s%s", o->url, o->path);
    else
        snprintf(url, sizeof url, "%s/v1/patients", o->url);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
    curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_PRIVATE, c);
    return h;
}

static void finished(loop *l, client *c, CURLMsg *msg)
{
    const opts *o = l->o;
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    if (msg->data.result != CURLE_OK || status >= 300) {
        l->errors++;
        return;
    }
    if (c->done++ > 0) /* the first request of a connection also carries its TLS handshake */
        lat_add(&l->lat, lat_now() - c->t0);
    l->items += !strcmp(o->mode, "batch") || !strcmp(o->mode, "post") ? o->batch : 1;
}

static void *run(void *arg)
{
    loop *l = arg;
    const opts *o = l->o;
    CURLM *m = curl_multi_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    double end = lat_now() + o->seconds;
    int running = 0, active = 0;

    for (int k = 0; k < l->n; k++) {
        client *c = &l->clients[k];
        c->body = malloc(1 << 20);
        c->h = new_handle(o, hdr, c);
        if (c->body == NULL || c->h == NULL) {
            l->errors++;
            continue;
        }
        next_request(o, c);
        curl_multi_add_handle(m, c->h);
        active++;
    }
    while (active > 0) {
        CURLMsg *msg;
        int left;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            client *c = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            finished(l, c, msg);
            curl_multi_remove_handle(m, c->h);
            if (lat_now() < end) { /* the handle keeps its connection */
                next_request(o, c);
                curl_multi_add_handle(m, c->h);
            } else {
                active--;
            }
        }
        if (active > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int k = 0; k < l->n; k++) {
        curl_easy_cleanup(l->clients[k].h);
        free(l->clients[k].body);
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
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
            if (fp && fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
                (o.body = calloc(1, (size_t)n + 1)) != NULL && fread(o.body, 1, (size_t)n, fp) != (size_t)n)
                n = -1;
            if (fp)
                fclose(fp);
            if (n <= 0) {
                fprintf(stderr, "loadgen: cannot read %s\n", argv[i + 1]);
                return 2;
            }
        }
    }
    if (!strcmp(o.mode, "post") && (!o.body || !o.path))
        o.url = NULL; /* usage */
    if (!o.url || !o.cert || !o.key || !o.cacert || o.threads < 1 || o.threads > 256 || o.loops < 1 || o.loops > 64) {
        fprintf(stderr, "usage: loadgen --url U --cert C --key K --cacert CA [--mode register|batch|read|health|post] "
                        "[--record ID] [--path P --body FILE] [--threads N] [--loops L] [--seconds S] [--batch B]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
    curl_global_cleanup();
    return 0;
}
