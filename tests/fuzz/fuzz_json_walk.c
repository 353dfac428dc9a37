/* The JSON walk (json_walk.h) that reads the offline VOPRF files a piece
 * at a time: on any bytes it never reads past them, and it accepts exactly
 * what jansson accepts whole, with the same value. */
#include <stdint.h>
#include <stdlib.h>

#include "../unit/core/json_walk_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!walk_same((const char *)data, size))
        abort();
    return 0;
}
