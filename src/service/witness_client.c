/* The ledger asks its witnesses to cosign each new checkpoint (C2SP
 * tlog-witness): "old N", the consistency proof from N, the checkpoint.
 * A witness that has cosigned another size answers 409 with that size;
 * the ledger retries once from there. A returned cosignature is used only
 * if it verifies under the witness's configured key. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "../ledger/log.h"
#include "service.h"

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
        char url[600], *r = NULL;
        size_t rn = 0;
        snprintf(url, sizeof url, "%s/add-checkpoint", s->cfg->ledger_witness_urls[i]);
        for (int attempt = 0; attempt < 2; attempt++) {
            char *body = request_body(l, note, old, size);
            free(r);
            r = NULL;
            /* a cosignature is a line: 64 KiB refuses a flood */
            status = body ? mr_service_post(s, url, NULL, body, 64 * 1024, 5000, &r, &rn) : 0;
            free(body);
            if (status != 409 || r == NULL)
                break;
            /* the witness holds another size: start from it */
            uint64_t have = 0;
            if (!mr_parse_u64(r, strcspn(r, "\n"), &have) || have > size)
                break;
            old = have;
        }
        if (status == 200 && r) {
            /* only a cosignature that verifies under the configured key */
            char *both = NULL;
            size_t tl = 0;
            int ok = 0;
            if (mr_note_add_line(note, len, r, &both) == MEDREG_OK &&
                mr_note_open(both, strlen(both), &s->ledger_witnesses[i], 1, &tl, &ok) == MEDREG_OK && ok) {
                char *grown = realloc(lines, total + rn + 1);
                if (grown) {
                    memcpy(grown + total, r, rn + 1);
                    lines = grown;
                    total += rn;
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
        free(r);
    }
    return lines;
}
