/* libFuzzer: identifier normalisation (untrusted identifiers from HTTP). */
#include <stdlib.h>

#include "medreg/pseudonym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    medreg_ident_rule r = {(medreg_ident_kind)(1 + data[0] % 3), (medreg_check_rule)((data[0] >> 2) % 4),
                           (medreg_date_order)((data[0] >> 4) & 1)};
    char *out = NULL;
    if (medreg_normalize(&r, (const char *)data + 1, size - 1, &out) == MEDREG_OK) {
        /* normalisation is idempotent for names and codes */
        char *again = NULL;
        if (r.kind != MEDREG_IDENT_DATE || 1) {
            size_t n = 0;
            while (out[n])
                n++;
            if (medreg_normalize(&r, out, n, &again) == MEDREG_OK && r.kind != MEDREG_IDENT_DATE) {
                size_t i = 0;
                while (out[i] && out[i] == again[i])
                    i++;
                if (out[i] != again[i])
                    abort();
            }
        }
        free(again);
    }
    free(out);
    return 0;
}
