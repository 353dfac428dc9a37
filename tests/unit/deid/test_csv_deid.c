/* The CSV tool's PSN is the identity service's PSN: the same module key and
 * identifiers give the same 32 bytes (medreg_psn_derive over the module's
 * normalisation), whatever the spelling in the table. Configuration errors
 * name file and line.  usage: test_csv_deid MODULE.ini */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/csv_deid.h"
#include "../check.h"
#include "medreg/pseudonym.h"

static char dir[] = "/tmp/medreg-csv-XXXXXX";

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    fputs(text, fp);
    fclose(fp);
}

static char *run(const mr_csv_config *cfg, const uint8_t key[32], const char *csv, mr_csv_report *rep)
{
    char *out = NULL;
    size_t len = 0;
    FILE *in = fmemopen((void *)csv, strlen(csv), "r"), *o = open_memstream(&out, &len);
    char *err = NULL;
    medreg_err rc = mr_csv_deid(cfg, key, in, o, rep, &err);
    fclose(in);
    fclose(o);
    if (rc != MEDREG_OK) {
        fprintf(stderr, "mr_csv_deid: %s\n", err ? err : "?");
        free(out);
        out = NULL;
    }
    free(err);
    return out;
}

int main(int argc, char **argv)
{
    if (argc != 2 || sodium_init() < 0 || mkdtemp(dir) == NULL)
        return 2;
    char cfg_path[256], *err = NULL, cmd[300];
    snprintf(cfg_path, sizeof cfg_path, "%s/t.ini", dir);
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[pseudonymize]\nmodule = %s\ndates = year\n[columns]\nfam = identifier family_name\n"
             "giv = identifier given_name\ndob = identifier birth_date\nnote = keep\n",
             argv[1]);
    write_file("t.ini", ini);
    mr_csv_config *cfg = NULL;
    CHECK(mr_csv_config_load(cfg_path, &cfg, &err) == MEDREG_OK);
    free(err);
    if (cfg == NULL)
        return TEST_DONE();

    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    mr_csv_report rep;
    memset(&rep, 0, sizeof rep);
    char *out = run(cfg, key, "fam,giv,dob,note\n\"M\xc3\xbcller\",J\xc3\xbcrgen,07.03.1961,a\n", &rep);
    CHECK(out != NULL);
    /* the same derivation the identity service runs (tests/unit/pseudonym: the KAT) */
    medreg_psn_field f[3] = {{"family_name", "muller"}, {"given_name", "jurgen"}, {"birth_date", "1961-03-07"}};
    uint8_t psn[32];
    char hex[65];
    CHECK(medreg_psn_derive(key, 1, "hip", f, 3, psn) == MEDREG_OK);
    sodium_bin2hex(hex, sizeof hex, psn, sizeof psn);
    CHECK_STR(hex, "ed2309ae47367443ddfedb763a50fafd18c315bee9a350c9adeba7a4257a1cd5");
    CHECK(out && strstr(out, hex) != NULL);
    CHECK(out && strncmp(out, "psn,note\r\n", 10) == 0);
    CHECK(rep.rows == 1 && rep.written == 1 && rep.rejected == 0);
    free(out);

    /* the column set is checked against the header */
    memset(&rep, 0, sizeof rep);
    CHECK(run(cfg, key, "fam,giv,note\n", &rep) == NULL); /* an identifier column missing */
    CHECK(run(cfg, key, "fam,giv,dob,note,extra\n", &rep) == NULL); /* a column without a role */
    CHECK(run(cfg, key, "", &rep) == NULL);                         /* no header */
    mr_csv_config_free(cfg);

    /* configuration errors */
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns]\nfam = identifier family_name\n", argv[1]);
    write_file("t.ini", ini);
    err = NULL;
    CHECK(mr_csv_config_load(cfg_path, &cfg, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "the PSN needs all of them"));
    free(err);
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns]\nfam = identifier nope\n", argv[1]);
    write_file("t.ini", ini);
    err = NULL;
    CHECK(mr_csv_config_load(cfg_path, &cfg, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "not an identifier"));
    free(err);
    write_file("t.ini", "[pseudonymize]\nmodule = x\n[columns]\nfam = frobnicate\n");
    err = NULL;
    CHECK(mr_csv_config_load(cfg_path, &cfg, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "t.ini:4") && strstr(err, "unknown role"));
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_DONE();
}
