/* A response's walk says where each batch's text is: read there again by
 * mr_oprf_batch_parse, it must be the same batch. Shared by the unit test
 * and the fuzzer. */
#ifndef MR_OPRF_BATCH_SAME_H
#define MR_OPRF_BATCH_SAME_H

#include <stdlib.h>
#include <string.h>

#include "../../../src/deid/oprf_files.h"

static int batch_same_at(const char *text, size_t index, const mr_oprf_batch *b, uint64_t offset, size_t len)
{
    mr_oprf_batch again = {0};
    char *err = NULL;
    int same = mr_oprf_batch_parse(text + offset, len, index, &again, &err) == MEDREG_OK && again.n == b->n &&
               !memcmp(again.blinded, b->blinded, b->n * 32) && !memcmp(again.evaluated, b->evaluated, b->n * 32) &&
               !memcmp(again.proof, b->proof, sizeof b->proof);
    mr_oprf_batch_clear(&again);
    free(err);
    return same;
}

#endif
