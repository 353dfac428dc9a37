/* libFuzzer: identifier normalisation (untrusted identifiers from HTTP),
 * and the allocation-free path of the CSV tool, which must agree with it. */
#include <stdlib.h>
#include <string.h>

#include "../../src/pseudonym/normalize_into.h"
#include "medreg/pseudonym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    medreg_ident_rule r = {(medreg_ident_kind)(1 + data[0] % 3), (medreg_check_rule)((data[0] >> 2) % 4),
                           (medreg_date_order)((data[0] >> 4) & 1)};
    char *out = NULL, buf[64];
    medreg_err rc = medreg_normalize(&r, (const char *)data + 1, size - 1, &out);
    medreg_err rc_into = mr_normalize_into(&r, (const char *)data + 1, size - 1, buf, sizeof buf);
    if (rc_into != MEDREG_ERR_TOOBIG && (rc_into != rc || (rc == MEDREG_OK && strcmp(buf, out) != 0)))
        abort();
    if (rc == MEDREG_OK) {
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
