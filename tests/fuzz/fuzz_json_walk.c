/* The JSON walk (json_walk.h) and stream (json_stream.h) that read the
 * offline VOPRF files a piece at a time: on any bytes they never read past
 * them, and they accept exactly what jansson accepts whole, with the same
 * value. */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/core/json_walk_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* one of the stream's read sizes an input (a byte at a time is slow on large ones) */
    if (!walk_same_at((const char *)data, size, size % ALL_STEPS, 1))
        abort();
    return 0;
}
