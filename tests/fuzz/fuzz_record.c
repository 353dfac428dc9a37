/* libFuzzer: a JSON request body validated against the example module's
 * schema, as the registry does for every record. */
#include <jansson.h>
#include <stdlib.h>

#include "../../src/config/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mr_module *m;
    if (m == NULL) {
        char *err = NULL;
        const char *p = getenv("MEDREG_FUZZ_MODULE");
        if (mr_module_load(p ? p : "examples/hip.ini", &m, &err) != MEDREG_OK)
            abort();
    }
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (j) {
        const char *field, *why;
        (void)mr_module_validate_record(m, j, &field, &why);
        json_decref(j);
    }
    return 0;
}
