/* Load generator: N client threads, each with one keep-alive mutual-TLS
 * connection (libcurl), for S seconds. Prints "requests/s p50_ms p99_ms
 * errors"; the latencies are of requests on open connections (each
 * connection's first request, which also carries the TLS handshake, counts
 * in the rate only: 32 handshakes at once made 0.2 % of a run's requests
 * slow by up to 170 ms). Modes:
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
    int threads, batch;
    double seconds;
} opts;

typedef struct worker {
    const opts *o;
    int id;
    lat_log lat;
    long errors, items;
} worker;

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

static void *run(void *arg)
{
    worker *w = arg;
    const opts *o = w->o;
    CURL *h = curl_easy_init();
    char url[512], *body = malloc(1 << 20);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    long i = 0, i_done = 0;
    int is_get = !strcmp(o->mode, "read") || !strcmp(o->mode, "health");
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
    double end = lat_now() + o->seconds;
    while (lat_now() < end) {
        if (!strcmp(o->mode, "post")) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, o->body);
        } else if (!is_get) {
            char p[256];
            size_t off = 0;
            if (!strcmp(o->mode, "batch")) {
                off += (size_t)snprintf(body, 64, "{\"module\":\"hip\",\"patients\":[");
                for (int b = 0; b < o->batch; b++) {
                    patient_json(p, sizeof p, w->id, i++);
                    off += (size_t)snprintf(body + off, 300, "%s%s", b ? "," : "", p);
                }
                snprintf(body + off, 8, "]}");
            } else {
                patient_json(p, sizeof p, w->id, i++);
                snprintf(body, 400, "{\"module\":\"hip\",\"identifiers\":%s}", p);
            }
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        }
        double t0 = lat_now();
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status >= 300) {
            w->errors++;
            continue;
        }
        if (i_done++ > 0) /* the first request of a connection also carries its TLS handshake */
            lat_add(&w->lat, lat_now() - t0);
        w->items += !strcmp(o->mode, "batch") || !strcmp(o->mode, "post") ? o->batch : 1;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(body);
    return NULL;
}

int main(int argc, char **argv)
{
    opts o = {0};
    o.threads = 1;
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
    if (!o.url || !o.cert || !o.key || !o.cacert || o.threads < 1 || o.threads > 256) {
        fprintf(stderr, "usage: loadgen --url U --cert C --key K --cacert CA [--mode register|batch|read|health|post] "
                        "[--record ID] [--path P --body FILE] [--threads N] [--seconds S] [--batch B]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker *w = calloc((size_t)o.threads, sizeof *w);
    pthread_t *t = calloc((size_t)o.threads, sizeof *t);
    double t0 = lat_now();
    for (int i = 0; i < o.threads; i++) {
        w[i].o = &o;
        w[i].id = i + (int)(time(NULL) % 100000) * 1000;
        pthread_create(&t[i], NULL, run, &w[i]);
    }
    long errors = 0, items = 0;
    lat_log **logs = calloc((size_t)o.threads, sizeof *logs);
    for (int i = 0; i < o.threads; i++) {
        pthread_join(t[i], NULL);
        errors += w[i].errors;
        items += w[i].items;
        logs[i] = &w[i].lat;
    }
    lat_report(logs, (size_t)o.threads, (double)items, lat_now() - t0, errors);
    free(logs);
    free(o.body);
    free(w);
    free(t);
    curl_global_cleanup();
    return 0;
}
