#include "latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double lat_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void lat_add(lat_log *l, double seconds)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        double *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return; /* a lost sample, not a lost run */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = seconds;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void lat_percentiles(lat_log *const *logs, size_t n_logs, double *p50_ms, double *p99_ms)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n_logs; i++)
        total += logs[i]->n;
    double *all = malloc((total ? total : 1) * sizeof *all);
    for (size_t i = 0; i < n_logs; i++) {
        lat_log *l = logs[i];
        if (all && l->n)
            memcpy(all + k, l->v, l->n * sizeof *all);
        k += l->n;
        free(l->v);
        memset(l, 0, sizeof *l);
    }
    if (all && total)
        qsort(all, total, sizeof *all, cmp);
    *p50_ms = all && total ? all[total / 2] * 1e3 : 0.0;
    *p99_ms = all && total ? all[(size_t)((double)total * 0.99)] * 1e3 : 0.0;
    free(all);
}

void lat_report(lat_log *const *logs, size_t n_logs, double items, double elapsed, long errors)
{
    double p50, p99;
    lat_percentiles(logs, n_logs, &p50, &p99);
    printf("%.0f %.2f %.2f %ld\n", items / elapsed, p50, p99, errors);
}
