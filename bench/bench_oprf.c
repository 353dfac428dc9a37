/* The VOPRF's ceiling on this machine: libsodium's ristretto255 scalar
 * multiplications per second on every core, and medreg's own batch
 * evaluation (mr_oprf_evaluate, batches of 1024, proof included) on every
 * core, in process. Prints "bound_per_s evaluations_per_s". The service's
 * figure (bench/run.sh, through HTTPS) is compared with both.
 *   bench_oprf [SECONDS]       the two rates
 *   bench_oprf body KEY_ID N   a request body of N random blinded elements */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/crypto/oprf.h"
#include "latency.h"

#define BATCH 1024

typedef struct job {
    int evaluate; /* 0: bare scalar multiplications */
    double seconds;
    const uint8_t *sk, *pk;
    uint8_t (*in)[32];
    long done;
} job;

static void *run(void *arg)
{
    job *j = arg;
    uint8_t s[32], p[32], q[32], proof[64];
    uint8_t(*ev)[32] = malloc(BATCH * 32);
    crypto_core_ristretto255_scalar_random(s);
    crypto_core_ristretto255_random(p);
    double end = lat_now() + j->seconds;
    while (lat_now() < end) {
        if (j->evaluate) {
            if (mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, j->sk, j->pk, (const uint8_t(*)[32])j->in, BATCH, ev, NULL,
                                 proof, NULL) == MEDREG_OK)
                j->done += BATCH;
        } else {
            for (int i = 0; i < 256; i++)
                if (crypto_scalarmult_ristretto255(q, s, p) == 0)
                    j->done++;
        }
    }
    free(ev);
    return NULL;
}

static double measure(int evaluate, int threads, double seconds, const uint8_t *sk, const uint8_t *pk,
                      uint8_t (*in)[32])
{
    pthread_t t[256];
    job j[256];
    double t0 = lat_now();
    for (int i = 0; i < threads; i++) {
        j[i] = (job){evaluate, seconds, sk, pk, in, 0};
        pthread_create(&t[i], NULL, run, &j[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += j[i].done;
    }
    return (double)total / (lat_now() - t0);
}

static int body(uint32_t key_id, long n)
{
    printf("{\"key_id\":%u,\"blinded\":[", (unsigned)key_id);
    for (long i = 0; i < n; i++) {
        uint8_t p[32];
        char b64[64];
        crypto_core_ristretto255_random(p);
        sodium_bin2base64(b64, sizeof b64, p, sizeof p, sodium_base64_VARIANT_ORIGINAL);
        printf("%s\"%s\"", i ? "," : "", b64);
    }
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "body") && sodium_init() >= 0)
        return body((uint32_t)strtoul(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
    double seconds = argc > 1 ? strtod(argv[1], NULL) : 2;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    uint8_t seed[32], sk[32], pk[32];
    uint8_t(*in)[32] = malloc(BATCH * 32);
    if (sodium_init() < 0 || in == NULL || threads < 1 || threads > 256)
        return 1;
    randombytes_buf(seed, sizeof seed);
    if (mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, NULL, 0, sk, pk) != MEDREG_OK)
        return 1;
    for (int i = 0; i < BATCH; i++)
        crypto_core_ristretto255_random(in[i]);
    double bound = measure(0, (int)threads, seconds, sk, pk, in);
    double evals = measure(1, (int)threads, seconds, sk, pk, in);
    printf("%.0f %.0f\n", bound, evals);
    free(in);
    return 0;
}
