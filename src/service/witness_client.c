/* The ledger asks its witnesses to cosign each new checkpoint (C2SP
 * tlog-witness): "old N", the consistency proof from N, the checkpoint.
 * A witness that has cosigned another size answers 409 with that size;
 * the ledger retries once from there. A returned cosignature is used only
 * if it verifies under the witness's configured key. Over mutual TLS with
 * the ledger's own certificate (libcurl). */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../ledger/log.h"
#include "service.h"

typedef struct reply {
    char *b;
    size_t n;
} reply;

static size_t take(char *p, size_t s, size_t n, void *u)
{
    reply *r = u;
    size_t k = s * n;
    if (r->n + k > 64 * 1024)
        return 0; /* a cosignature is a line; refuse a flood */
    char *b = realloc(r->b, r->n + k + 1);
    if (b == NULL)
        return 0;
    memcpy(b + r->n, p, k);
    r->b = b;
    r->n += k;
    r->b[r->n] = 0;
    return k;
}

/* one add-checkpoint request; the HTTP status, or 0 */
static long post(const mr_service *s, const char *url, const char *body, reply *r)
{
    char full[600];
    long status = 0;
    CURL *h = curl_easy_init();
    if (h == NULL)
        return 0;
    snprintf(full, sizeof full, "%s/add-checkpoint", url);
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_SSLCERT, s->cfg->tls_cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, s->cfg->tls_key);
    curl_easy_setopt(h, CURLOPT_CAINFO, s->cfg->client_ca);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

static char *request_body(mr_ledger *l, const char *note, uint64_t old, uint64_t size)
{
    mr_hash proof[MR_PROOF_MAX];
    size_t n = 0, len = 0;
    char *body = NULL;
    FILE *fp = open_memstream(&body, &len);
    if (fp == NULL)
        return NULL;
    fprintf(fp, "old %" PRIu64 "\n", old);
    if (old > 0 && old < size && mr_ledger_consistency_hashed(l, old, size, proof, &n) == MEDREG_OK)
        for (size_t i = 0; i < n; i++) {
            char *b = mr_base64(proof[i], MR_HASH_BYTES);
            fprintf(fp, "%s\n", b ? b : "");
            free(b);
        }
    fprintf(fp, "\n%s", note);
    fclose(fp);
    return body;
}

char *mr_witness_cosign(void *ctx, mr_ledger *l, const char *note, size_t len, uint64_t size)
{
    mr_service *s = ctx;
    char *lines = NULL;
    size_t total = 0;
    for (size_t i = 0; i < s->ledger_n_witnesses; i++) {
        uint64_t old = s->ledger_witness_last[i];
        long status = 0;
        reply r = {NULL, 0};
        for (int attempt = 0; attempt < 2; attempt++) {
            char *body = request_body(l, note, old, size);
            free(r.b);
            r.b = NULL;
            r.n = 0;
            status = body ? post(s, s->cfg->ledger_witness_urls[i], body, &r) : 0;
            free(body);
            if (status != 409 || r.b == NULL)
                break;
            /* the witness holds another size: start from it */
            char *end = NULL;
            unsigned long long have = strtoull(r.b, &end, 10);
            if (end == r.b || have > size)
                break;
            old = have;
        }
        if (status == 200 && r.b) {
            /* only a cosignature that verifies under the configured key */
            char *both = NULL;
            size_t tl = 0;
            int ok = 0;
            if (mr_note_add_line(note, len, r.b, &both) == MEDREG_OK &&
                mr_note_open(both, strlen(both), &s->ledger_witnesses[i], 1, &tl, &ok) == MEDREG_OK && ok) {
                char *grown = realloc(lines, total + r.n + 1);
                if (grown) {
                    memcpy(grown + total, r.b, r.n + 1);
                    lines = grown;
                    total += r.n;
                    s->ledger_witness_last[i] = size;
                }
            } else {
                fprintf(stderr, "medregd: ledger: witness %s sent a cosignature that does not verify\n",
                        s->cfg->ledger_witness_urls[i]);
            }
            free(both);
        } else {
            fprintf(stderr, "medregd: ledger: witness %s did not cosign checkpoint %" PRIu64 " (HTTP %ld)\n",
                    s->cfg->ledger_witness_urls[i], size, status);
        }
        free(r.b);
    }
    return lines;
}
