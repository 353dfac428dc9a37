/* libFuzzer: typed-in internal IDs. Anything accepted must re-parse to itself. */
#include <stdlib.h>
#include <string.h>

#include "medreg/pseudonym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[128], out[MEDREG_INTERNAL_ID_LEN + 1], again[MEDREG_INTERNAL_ID_LEN + 1];
    if (size >= sizeof in)
        return 0;
    memcpy(in, data, size);
    in[size] = 0;
    if (medreg_internal_id_parse(in, out) == MEDREG_OK) {
        if (medreg_internal_id_parse(out, again) != MEDREG_OK || strcmp(out, again) != 0)
            abort();
    }
    return 0;
}
