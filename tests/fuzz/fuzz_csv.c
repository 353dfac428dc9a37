/* libFuzzer: the offline CSV tool's input (a hospital's table: anything at
 * all). Each input is a whole file run through the pipeline with a fixed
 * configuration covering every action (one column by position), the delimiter and the encoding
 * chosen by the first byte; the module comes from
 * $MEDREG_FUZZ_MODULE (examples/hip.ini). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/deid/csv_deid.h"

static mr_csv_config *cfg;

static void init(void)
{
    char dir[] = "/tmp/medreg-fuzz-csv-XXXXXX", path[128], ini[1024], *err = NULL;
    const char *module = getenv("MEDREG_FUZZ_MODULE");
    if (sodium_init() < 0 || module == NULL || mkdtemp(dir) == NULL)
        abort();
    char *abs = realpath(module, NULL);
    snprintf(path, sizeof path, "%s/z.csv", dir);
    FILE *fp = fopen(path, "w");
    fputs("zip3\n036\n", fp);
    fclose(fp);
    snprintf(ini, sizeof ini,
             "[pseudonymize]\nmodule = %s\ndates = shift\nzip_restricted = z.csv\n[columns]\n"
             "a = identifier family_name\nb = identifier given_name\nc = identifier birth_date\n"
             "d = zip\ne = age\nf = date\ng = phone\n[columns by position]\n8 = keep : h\n",
             abs);
    free(abs);
    snprintf(path, sizeof path, "%s/t.ini", dir);
    fp = fopen(path, "w");
    fputs(ini, fp);
    fclose(fp);
    if (mr_csv_config_load(path, &cfg, &err) != MEDREG_OK)
        abort();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {7};
    if (cfg == NULL)
        init();
    if (size == 0)
        return 0;
    cfg->delim = ",;\t|"[data[0] & 3]; /* every delimiter the configuration offers */
    static const char *const ENC[] = {"", "windows-1252", "utf-16le", "utf-16"}; /* and a conversion */
    snprintf(cfg->encoding, sizeof cfg->encoding, "%s", ENC[data[0] >> 2 & 3]);
    char *out = NULL, *err = NULL;
    size_t len = 0;
    FILE *in = fmemopen((void *)data, size, "r"), *o = open_memstream(&out, &len);
    mr_csv_report rep;
    memset(&rep, 0, sizeof rep);
    mr_psn_source src = {key, NULL, 0};
    (void)mr_csv_deid(cfg, &src, in, o, &rep, &err);
    fclose(in);
    fclose(o);
    free(out);
    free(err);
    return 0;
}
