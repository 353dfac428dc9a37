/* What the load generators share: a monotonic clock, per-thread latency
 * logs, and the one output line "rate/s p50_ms p99_ms errors". */
#ifndef MR_BENCH_LATENCY_H
#define MR_BENCH_LATENCY_H

#include <stddef.h>

typedef struct lat_log {
    double *v; /* seconds */
    size_t n, cap;
} lat_log;

double lat_now(void);
void lat_add(lat_log *l, double seconds);
/* Merge the logs (freeing them) into the p50 and p99 of every logged
 * latency, in milliseconds (0 when nothing was logged). */
void lat_percentiles(lat_log *const *logs, size_t n_logs, double *p50_ms, double *p99_ms);
/* lat_percentiles, then print items/elapsed, the p50, the p99 and errors. */
void lat_report(lat_log *const *logs, size_t n_logs, double items, double elapsed, long errors);

#endif
