/* libFuzzer: the offline CSV tool's input (a hospital's table: anything at
 * all). Each input is a whole file run through the pipeline with a fixed
 * configuration covering every action (one column by position, free text), with a
 * header row or without, the delimiter and the encoding chosen by the first
 * byte; the module comes from
 * $MEDREG_FUZZ_MODULE (examples/hip.ini). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/deid/csv_deid.h"

static mr_csv_config *cfg, *cfg_no_header;

static mr_csv_config *load(const char *dir, const char *ini)
{
    char path[128], *err = NULL;
    mr_csv_config *c = NULL;
    snprintf(path, sizeof path, "%s/t.ini", dir);
    FILE *fp = fopen(path, "w");
    fputs(ini, fp);
    fclose(fp);
    if (mr_csv_config_load(path, &c, &err) != MEDREG_OK)
        abort();
    return c;
}

static void init(void)
{
    char dir[] = "/tmp/medreg-fuzz-csv-XXXXXX", path[128], ini[1024];
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
             "d = zip\ne = age\nf = date\ng = phone\n[columns by position]\n8 = text : h\n",
             abs);
    cfg = load(dir, ini);
    snprintf(ini, sizeof ini, /* the same columns in a table without a header row */
             "[pseudonymize]\nmodule = %s\ndates = shift\nzip_restricted = z.csv\nheader = no\n[columns by position]\n"
             "1 = identifier family_name\n2 = identifier given_name\n3 = identifier birth_date\n"
             "4 = zip\n5 = age\n6 = date\n7 = phone\n8 = text : h\n",
             abs);
    cfg_no_header = load(dir, ini);
    free(abs);
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
    mr_csv_config *c = data[0] & 16 ? cfg_no_header : cfg; /* a header row or none */
    c->delim = ",;\t|"[data[0] & 3];                        /* every delimiter the configuration offers */
    static const char *const ENC[] = {"", "windows-1252", "utf-16le", "utf-16"}; /* and a conversion */
    snprintf(c->encoding, sizeof c->encoding, "%s", ENC[data[0] >> 2 & 3]);
    char *out = NULL, *err = NULL;
    size_t len = 0;
    FILE *in = fmemopen((void *)data, size, "r"), *o = open_memstream(&out, &len);
    mr_csv_report rep;
    memset(&rep, 0, sizeof rep);
    mr_psn_source src = {key, NULL, 0};
    (void)mr_csv_deid(c, &src, in, o, &rep, &err);
    fclose(in);
    fclose(o);
    free(out);
    free(err);
    return 0;
}
