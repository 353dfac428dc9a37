/* Time from an acknowledged append to its inclusion in a published
 * checkpoint: append one entry, poll /checkpoint every 5 ms until its tree
 * covers the index. Prints "p50_ms p99_ms max_ms" over N appends.
 * usage: ledger_latency URL CERT KEY CACERT N */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "latency.h"

typedef struct buf {
    char b[8192];
    size_t n;
} buf;

static size_t take(char *p, size_t s, size_t n, void *u)
{
    buf *b = u;
    size_t k = s * n;
    if (k > sizeof b->b - 1 - b->n)
        k = sizeof b->b - 1 - b->n;
    memcpy(b->b + b->n, p, k);
    b->n += k;
    b->b[b->n] = 0;
    return s * n;
}

static int get(CURL *h, const char *url, const char *post, buf *out)
{
    out->n = 0;
    out->b[0] = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (post)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    else
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    long status = 0;
    if (curl_easy_perform(h) != CURLE_OK)
        return 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status == 200;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    int n = (int)strtol(argv[5], NULL, 10);
    char url_append[512], url_cp[512];
    snprintf(url_append, sizeof url_append, "%s/v1/ledger/entries", argv[1]);
    snprintf(url_cp, sizeof url_cp, "%s/checkpoint", argv[1]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_SSLCERT, argv[2]);
    curl_easy_setopt(h, CURLOPT_SSLKEY, argv[3]);
    curl_easy_setopt(h, CURLOPT_CAINFO, argv[4]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
    buf b;
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    double *lat = calloc((size_t)n, sizeof *lat);
    int got = 0;
    for (int i = 0; i < n; i++) {
        if (!get(h, url_append, "{\"entries\":[\"bGF0ZW5jeQ==\"]}", &b))
            continue;
        double t0 = lat_now();
        const char *p = strstr(b.b, "[");
        unsigned long long idx = p ? strtoull(p + 1, NULL, 10) : 0;
        for (;;) {
            if (get(h, url_cp, NULL, &b)) {
                const char *nl = strchr(b.b, '\n');
                if (nl && strtoull(nl + 1, NULL, 10) > idx)
                    break;
            }
            if (lat_now() - t0 > 10)
                break;
            usleep(5000);
        }
        lat[got++] = (lat_now() - t0) * 1000;
        usleep((useconds_t)(137000 * (i % 7))); /* spread the appends over the interval */
    }
    qsort(lat, (size_t)got, sizeof *lat, cmp);
    if (got == 0)
        return 1;
    printf("%.0f %.0f %.0f\n", lat[got / 2], lat[(got * 99) / 100 < got ? (got * 99) / 100 : got - 1], lat[got - 1]);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(lat);
    return 0;
}
