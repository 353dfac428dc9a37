/* The CSV tool's PSN is the identity service's PSN: the same module key and
 * identifiers give the same 32 bytes (medreg_psn_derive over the module's
 * normalisation), whatever the spelling in the table. Configuration errors
 * name file and line.  usage: test_csv_deid MODULE.ini */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static char *run_src(const mr_csv_config *cfg, const mr_psn_source *src, const char *csv, mr_csv_report *rep)
{
    char *out = NULL;
    size_t len = 0;
    FILE *in = fmemopen((void *)csv, strlen(csv), "r"), *o = open_memstream(&out, &len);
    char *err = NULL;
    medreg_err rc = mr_csv_deid(cfg, src, in, o, rep, &err);
    fclose(in);
    fclose(o);
    if (rc != MEDREG_OK) {
        free(out);
        out = NULL;
    }
    free(err);
    return out;
}

/* Network-wide mode with the service's half played locally: collect, one
 * verified batch, lookup. The PSN is the VOPRF output's first half. */
static void test_network(const mr_csv_config *cfg)
{
    static const char csv[] = "fam,giv,dob,note\nM\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,a\n"
                              "MULLER,jurgen,1961-03-07,b\nSmith,Ann,1970-01-02,c\n";
    uint8_t seed[32] = {1}, sk[32], pk[32], other_sk[32], other_pk[32], proof[64], out64[64], b[32], bl[1][32],
            ev[1][32], ms[1024];
    mr_oprf_table *t = NULL;
    mr_csv_report rep;
    memset(&rep, 0, sizeof rep);
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, (const uint8_t *)"k", 1, sk, pk) == MEDREG_OK);
    seed[1] = 1;
    CHECK(mr_oprf_derive_key(MR_OPRF_MODE_VERIFIABLE, seed, 32, (const uint8_t *)"k", 1, other_sk, other_pk) ==
          MEDREG_OK);
    CHECK(mr_oprf_table_new(seed, MR_OPRF_TABLE_BLIND, &t) == MEDREG_OK);
    mr_psn_source collect = {NULL, t, 1}, use = {NULL, t, 0};
    char *o = run_src(cfg, &collect, csv, &rep);
    CHECK(o != NULL && strcmp(o, "psn,note\r\n") == 0); /* the first pass writes no row */
    free(o);
    CHECK(mr_oprf_table_count(t) == 2); /* two patients, three rows */
    memset(&rep, 0, sizeof rep);
    CHECK(run_src(cfg, &use, csv, &rep) == NULL); /* not evaluated yet: no output at all */

    uint8_t(*blinded)[32] = NULL, (*evald)[32] = NULL;
    size_t n = 0;
    n = mr_oprf_table_count(t);
    CHECK(n == 2 && mr_oprf_table_seal(t) == MEDREG_OK);
    blinded = calloc(n ? n : 1, 32);
    evald = calloc(n ? n : 1, 32);
    for (size_t i = 0; blinded && i < n; i++)
        memcpy(blinded[i], mr_oprf_table_request_at(t, i), 32);
    /* a server using another key is caught before anything is used */
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, other_sk, other_pk, (const uint8_t(*)[32])blinded, n, evald,
                           NULL, proof, NULL) == MEDREG_OK);
    CHECK(mr_oprf_table_complete(t, pk, (const uint8_t(*)[32])blinded, (const uint8_t(*)[32])evald, n, proof) ==
          MEDREG_ERR_VERIFY);
    CHECK(mr_oprf_table_missing(t) == 2);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])blinded, n, evald, NULL, proof,
                           NULL) == MEDREG_OK);
    CHECK(mr_oprf_table_complete(t, pk, (const uint8_t(*)[32])blinded, (const uint8_t(*)[32])evald, n, proof) ==
          MEDREG_OK);
    CHECK(mr_oprf_table_missing(t) == 0);
    memset(&rep, 0, sizeof rep);
    o = run_src(cfg, &use, csv, &rep);
    CHECK(o != NULL && rep.written == 3);

    /* the expected PSN, from a fresh blind straight through the OPRF */
    medreg_psn_field f[3] = {{"family_name", "muller"}, {"given_name", "jurgen"}, {"birth_date", "1961-03-07"}};
    size_t ml = 0;
    char hex[65];
    CHECK(medreg_psn_input(1, "hip", f, 3, ms, sizeof ms, &ml) == MEDREG_OK);
    CHECK(mr_oprf_blind(MR_OPRF_MODE_VERIFIABLE, ms, ml, NULL, b, bl[0]) == MEDREG_OK);
    CHECK(mr_oprf_evaluate(MR_OPRF_MODE_VERIFIABLE, sk, pk, (const uint8_t(*)[32])bl, 1, ev, NULL, proof, NULL) ==
          MEDREG_OK);
    CHECK(mr_oprf_finalize(ms, ml, b, ev[0], out64) == MEDREG_OK);
    sodium_bin2hex(hex, sizeof hex, out64, 32);
    /* both spellings of the first patient carry it */
    char *first = o ? strstr(o, hex) : NULL;
    CHECK(first != NULL && strstr(first + 64, hex) != NULL);
    free(o);
    free(blinded);
    free(evald);
    mr_oprf_table_free(t);
}

static char *run_n(const mr_csv_config *cfg, const uint8_t key[32], const char *csv, size_t csv_len,
                   mr_csv_report *rep);

static char *run(const mr_csv_config *cfg, const uint8_t key[32], const char *csv, mr_csv_report *rep)
{
    return run_n(cfg, key, csv, strlen(csv), rep);
}

/* the same for an input that may hold NUL bytes */
static char *run_n(const mr_csv_config *cfg, const uint8_t key[32], const char *csv, size_t csv_len,
                   mr_csv_report *rep)
{
    char *out = NULL;
    size_t len = 0;
    FILE *in = fmemopen((void *)csv, csv_len, "r"), *o = open_memstream(&out, &len);
    char *err = NULL;
    mr_psn_source src = {key, NULL, 0};
    medreg_err rc = mr_csv_deid(cfg, &src, in, o, rep, &err);
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

/* The test's four-column table with more [pseudonymize] lines (opts): the
 * configuration, or NULL */
static mr_csv_config *load_text(const char *ini)
{
    char path[256], *err = NULL;
    mr_csv_config *cfg = NULL;
    write_file("t.ini", ini);
    snprintf(path, sizeof path, "%s/t.ini", dir);
    if (mr_csv_config_load(path, &cfg, &err) != MEDREG_OK)
        fprintf(stderr, "configuration: %s\n", err ? err : "?");
    free(err);
    return cfg;
}

static mr_csv_config *load_with(const char *module, const char *opts)
{
    char ini[1024];
    snprintf(ini, sizeof ini,
             "[pseudonymize]\nmodule = %s\ndates = year\n%s[columns]\nfam = identifier family_name\n"
             "giv = identifier given_name\ndob = identifier birth_date\nnote = keep\n",
             module, opts);
    return load_text(ini);
}

/* That table run on csv[0..len): the output, or NULL if the configuration
 * or the run failed */
static char *run_with_n(const char *module, const char *opts, const uint8_t key[32], const char *csv, size_t len,
                        mr_csv_report *rep)
{
    mr_csv_config *cfg = load_with(module, opts);
    memset(rep, 0, sizeof *rep);
    char *out = cfg ? run_n(cfg, key, csv, len, rep) : NULL;
    mr_csv_config_free(cfg);
    return out;
}

static char *run_with(const char *module, const char *opts, const uint8_t key[32], const char *csv,
                      mr_csv_report *rep)
{
    return run_with_n(module, opts, key, csv, strlen(csv), rep);
}

/* cfg (NULL: nothing) run on csv with the rejects collected: the output, and
 * in *rejected the "line,reason" rows; the caller frees both */
static char *run_collecting(const mr_csv_config *cfg, const uint8_t key[32], const char *csv, mr_csv_report *rep,
                            char **rejected)
{
    size_t len = 0;
    *rejected = NULL;
    memset(rep, 0, sizeof *rep);
    rep->rejects = open_memstream(rejected, &len);
    char *out = cfg ? run(cfg, key, csv, rep) : NULL;
    fclose(rep->rejects);
    rep->rejects = NULL;
    return out;
}

/* The configuration text is refused, with a message holding needle */
static int refused(const char *ini, const char *needle)
{
    char path[256], *err = NULL;
    mr_csv_config *cfg = NULL;
    write_file("t.ini", ini);
    snprintf(path, sizeof path, "%s/t.ini", dir);
    int ok = mr_csv_config_load(path, &cfg, &err) == MEDREG_ERR_CONFIG && cfg == NULL && err && strstr(err, needle);
    if (!ok)
        fprintf(stderr, "configuration not refused with '%s': %s\n", needle, err ? err : "(accepted)");
    free(err);
    mr_csv_config_free(cfg);
    return ok;
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

    test_network(cfg);

    /* a row is written only if every field is UTF-8 without NUL, wherever
     * the bad byte sits: first or last field, first or later word, a tail */
    static const char bad[] = "fam,giv,dob,note\n"
                              "Meier,Anna,01.02.1970,ok\n"                  /* written */
                              "Me\0er,Anna,01.02.1970,x\n"                  /* NUL in an identifier */
                              "Meier,Anna,01.02.1970,a long note\0 here\n"  /* NUL in a kept field */
                              "Meier,Anna,01.02.1970,\xc3\n"                /* a cut sequence, at the end */
                              "Meier,Anna\xff,01.02.1970,x\n"               /* a byte never in UTF-8 */
                              "Meier,Anna,01.02.1970,\xce\xa0\xce\xb1\n"  /* written: Greek */
                              /* the bytes >= 0x80 checked as one span: a
                               * sequence cut at a field's end, valid text in a
                               * later field; a continuation byte after ASCII */
                              "M\xc3\xbcller\xc3,Anna,01.02.1970,\xce\xa0\n"
                              "Meier,\x80nna,01.02.1970,x\n"
                              "M\xc3\xbcller,Anna,01.02.1970,abcdefg\xce\xa0\n"; /* written: one across two words */
    memset(&rep, 0, sizeof rep);
    out = run_n(cfg, key, bad, sizeof bad - 1, &rep);
    CHECK(out != NULL && rep.rows == 9 && rep.written == 3 && rep.rejected == 6);
    free(out);

    /* the column set is checked against the header */
    memset(&rep, 0, sizeof rep);
    CHECK(run(cfg, key, "fam,giv,note\n", &rep) == NULL); /* an identifier column missing */
    CHECK(run(cfg, key, "fam,giv,dob,note,extra\n", &rep) == NULL); /* a column without a role */
    CHECK(run(cfg, key, "", &rep) == NULL);                         /* no header */
    mr_csv_config_free(cfg);

    /* a semicolon-separated table (as spreadsheets export it in much of
     * Europe): the same PSN; a comma is plain text, a semicolon is quoted */
    out = run_with(argv[1], "delimiter = semicolon\n", key,
                   "fam;giv;dob;note\nM\xc3\xbcller;J\xc3\xbcrgen;07.03.1961;a, b\n"
                   "M\xc3\xbcller;J\xc3\xbcrgen;07.03.1961;\"c;d\"\n",
                   &rep);
    snprintf(cmd, sizeof cmd, "psn;note\r\n%s;a, b\r\n%s;\"c;d\"\r\n", hex, hex);
    CHECK_STR(out, cmd);
    CHECK(rep.rows == 2 && rep.written == 2);
    free(out);
    /* tab-separated: an empty field stays a field (libcsv does not take the
     * delimiter for white space to trim) */
    out = run_with(argv[1], "delimiter = tab\n", key, "fam\tgiv\tdob\tnote\nM\xc3\xbcller\tJ\xc3\xbcrgen\t07.03.1961\t\n",
                   &rep);
    snprintf(cmd, sizeof cmd, "psn\tnote\r\n%s\t\"\"\r\n", hex);
    CHECK_STR(out, cmd);
    free(out);
    /* a Windows-1252 export (semicolons, as spreadsheets write it): the same
     * PSN, UTF-8 out; a byte the encoding leaves undefined rejects its row */
    out = run_with(argv[1], "delimiter = semicolon\nencoding = windows-1252\n", key,
                   "fam;giv;dob;note\nM\xfcller;J\xfcrgen;07.03.1961;5\x80\nM\xfcller;J\xfcrgen;07.03.1961;\x81\n", &rep);
    snprintf(cmd, sizeof cmd, "psn;note\r\n%s;5\xe2\x82\xac\r\n", hex);
    CHECK_STR(out, cmd);
    CHECK(rep.rows == 2 && rep.written == 1 && rep.rejected == 1);
    free(out);

    /* datetimes: a birth date at midnight (a database's datetime) is the
     * date; a date column keeps the time of day beside its shifted date, or
     * goes to the year */
    static const char timed[] = "fam,giv,dob,note,when\n"
                                "M\xc3\xbcller,J\xc3\xbcrgen,1961-03-07 00:00:00.000,a,2021-05-04 13:45\n"
                                "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,b,5/5/2021 1:45 PM\n"
                                "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,c,2021-05-04 25:00\n"  /* rejected */
                                "M\xc3\xbcller,J\xc3\xbcrgen,1961-03-07 08:00,d,2021-05-04\n"; /* rejected */
    out = run_with(argv[1], "[columns]\nwhen = date\n", key, timed, &rep);
    snprintf(cmd, sizeof cmd, "psn,note,when\r\n%s,a,2021\r\n%s,b,2021\r\n", hex, hex);
    CHECK_STR(out, cmd);
    CHECK(rep.rows == 4 && rep.written == 2 && rep.rejected == 2);
    free(out);
    out = run_with(argv[1], "dates = shift\n[columns]\nwhen = date\n", key, timed, &rep);
    {
        /* each row: 64 hex digits, the note, then "YYYY-MM-DD time" */
        const char *r1 = out ? strstr(out, "\r\n") : NULL, *r2 = r1 ? strstr(r1 + 2, "\r\n") : NULL;
        struct tm a = {0}, b = {0};
        CHECK(r1 && r2 && !strncmp(r1 + 66, ",a,", 3) && !strncmp(r2 + 66, ",b,", 3));
        CHECK(r1 && r2 && strptime(r1 + 69, "%Y-%m-%d", &a) && strptime(r2 + 69, "%Y-%m-%d", &b) &&
              strncmp(r1 + 69, "2021-05-04", 10) != 0);
        CHECK(timegm(&b) - timegm(&a) == 86400); /* one day apart, as in the input */
        CHECK(r1 && r2 && !strncmp(r1 + 79, " 13:45\r\n", 8) && !strncmp(r2 + 79, " 1:45 PM\r\n", 10));
    }
    free(out);

    /* ages: whole years or with a fraction (a decimal point or comma); the
     * whole years decide "90+" */
    static const char ages[] = "fam,giv,dob,note,age\n"
                               "Meier,Anna,01.02.1970,a,45\nMeier,Anna,01.02.1970,b,89.9\n"
                               "Meier,Anna,01.02.1970,c,\"89,99\"\nMeier,Anna,01.02.1970,d,90.0\n"
                               "Meier,Anna,01.02.1970,e,104\nMeier,Anna,01.02.1970,f,\n"
                               "Meier,Anna,01.02.1970,x,151\nMeier,Anna,01.02.1970,x,-1\nMeier,Anna,01.02.1970,x,+5\n"
                               "Meier,Anna,01.02.1970,x,45.\nMeier,Anna,01.02.1970,x,.5\nMeier,Anna,01.02.1970,x,1e2\n"
                               "Meier,Anna,01.02.1970,x,0045\nMeier,Anna,01.02.1970,x,45.5.5\n";
    out = run_with(argv[1], "[columns]\nage = age\n", key, ages, &rep);
    CHECK(out && strstr(out, ",a,45\r\n") && strstr(out, ",b,89.9\r\n") && strstr(out, ",c,\"89,99\"\r\n") &&
          strstr(out, ",d,90+\r\n") && strstr(out, ",e,90+\r\n") && strstr(out, ",f,\"\"\r\n") && !strstr(out, ",x,"));
    CHECK(rep.rows == 14 && rep.written == 6 && rep.rejected == 8);
    free(out);

    /* columns by position: headers an INI key cannot hold, an empty one, one
     * header twice; each position's header is checked, so another layout of
     * the export (an identifier where a kept column was) stops the run */
    static const char pos[] = "[columns by position]\n3 = keep : note\n4 = keep : a=b: c\n5 = keep : Date\n"
                              "6 = phone : Date\n7 = keep :\n";
    out = run_with(argv[1], pos, key, "fam,giv,note,a=b: c,Date,Date,,dob\nM\xc3\xbcller,J\xc3\xbcrgen,n,1,2,555,x,07.03.1961\n",
                   &rep);
    snprintf(cmd, sizeof cmd, "psn,note,a=b: c,Date,\"\"\r\n%s,n,1,2,x\r\n", hex);
    CHECK_STR(out, cmd);
    free(out);
    CHECK(run_with(argv[1], pos, key, "fam,giv,dob,a=b: c,Date,Date,,note\n", &rep) == NULL); /* dob where note was */
    CHECK(run_with(argv[1], "[columns by position]\n5 = keep : z\n", key, "fam,giv,dob,note\n", &rep) == NULL);
    CHECK(run_with(argv[1], "", key, "fam,giv,dob,note,note\n", &rep) == NULL); /* twice, by name */

    /* UTF-16 (as Windows tools write it) over more than one 64 KiB read, a
     * surrogate pair cut between two reads: converted whole */
    {
        static char u16[70000];
        size_t len = 0, rows = 0;
        const char *row = "Meier,Anna,01.02.1970,a\n", *text = "fam,giv,dob,note\n";
        u16[len++] = (char)0xFF, u16[len++] = (char)0xFE;
        for (;; text = row, rows++) {
            if (len + 2 * strlen(text) > 65534 - 2 * 40)
                break;
            for (const char *c = text; *c; c++)
                u16[len++] = *c, u16[len++] = 0;
        }
        for (const char *c = "Meier,Anna,01.02.1970,"; *c; c++)
            u16[len++] = *c, u16[len++] = 0;
        size_t xs = 0;
        for (; len < 65534; xs++)
            u16[len++] = 'x', u16[len++] = 0;
        memcpy(u16 + len, "\x3d\xd8\x00\xde\n\0", 6); /* U+1F600, its high half the last unit of the first read */
        len += 6;
        mr_csv_report r16;
        out = run_with_n(argv[1], "encoding = utf-16\n", key, u16, len, &r16);
        char tail[64];
        snprintf(tail, sizeof tail, "x\xf0\x9f\x98\x80\r\n");
        CHECK(out && r16.rows == rows && r16.written == rows && r16.rejected == 0 && xs > 0 &&
              strlen(out) > strlen(tail) && strcmp(out + strlen(out) - strlen(tail), tail) == 0);
        free(out);
    }

    /* no header row (as bcp and some lab systems export): every column by
     * position, the first row is data, the output is named as configured */
    {
        snprintf(ini, sizeof ini,
                 "[pseudonymize]\nmodule = %s\ndates = year\nheader = no\n[columns by position]\n"
                 "1 = identifier family_name\n2 = identifier given_name\n3 = identifier birth_date\n4 = keep : note\n"
                 "5 = date\n",
                 argv[1]);
        mr_csv_config *nh = load_text(ini);
        char *rejected = NULL;
        CHECK(nh != NULL);
        out = run_collecting(nh, key, "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,a,2021-05-04\nM\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,b\n",
                             &rep, &rejected);
        snprintf(cmd, sizeof cmd, "psn,note,column 5\r\n%s,a,2021\r\n", hex);
        CHECK_STR(out, cmd);
        CHECK(rep.rows == 2 && rep.written == 1 && rep.rejected == 1);
        CHECK(rejected && strstr(rejected, "2,fewer fields than configured")); /* lines count from the first row */
        free(rejected);
        free(out);
        memset(&rep, 0, sizeof rep);
        out = nh ? run(nh, key, "", &rep) : NULL; /* no row at all: the header alone */
        CHECK_STR(out, "psn,note,column 5\r\n");
        free(out);
        mr_csv_config_free(nh);
    }

    /* free text (the text role) is kept unless it holds one of the row's
     * removed values as whole words, whatever their case and diacritics */
    {
        snprintf(ini, sizeof ini,
                 "[pseudonymize]\nmodule = %s\ndates = year\n[columns]\nfam = identifier family_name\n"
                 "giv = identifier given_name\ndob = identifier birth_date\nphone = phone\nnotes = text\n",
                 argv[1]);
        mr_csv_config *tc = load_text(ini);
        char *rejected = NULL;
        out = run_collecting(tc, key,
                             "fam,giv,dob,phone,notes\n"
                             "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,+41 44 123,Pt. M\xc3\x9cLLER called\n" /* 2: rejected */
                             "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,+41 44 123,stable after 6 weeks\n"
                             "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,+41 44 123,Mullerian duct\n"     /* not a word of it */
                             "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,+41 44 123,call +41 44 123 today\n" /* 5: rejected */
                             "M\xc3\xbcller,J\xc3\xbcrgen,07.03.1961,+41 44 123,born 07.03.1961\n"     /* 6: rejected */
                             "Lee,Ann,07.03.1961,,Sleep study\n"
                             "Lee,Ann,07.03.1961,,seen with ann\n", /* 8: rejected */
                             &rep, &rejected);
        CHECK(out && rep.rows == 7 && rep.written == 3 && rep.rejected == 4);
        CHECK(out && strstr(out, ",stable after 6 weeks\r\n") && strstr(out, ",Mullerian duct\r\n") &&
              strstr(out, ",Sleep study\r\n"));
        CHECK(rejected && strstr(rejected, "2,free text holds this row's fam: notes") &&
              strstr(rejected, "5,free text holds this row's phone: notes") &&
              strstr(rejected, "6,free text holds this row's dob: notes") &&
              strstr(rejected, "8,free text holds this row's giv: notes"));
        free(rejected);
        free(out);
        mr_csv_config_free(tc);
    }

    /* configuration errors */
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns]\nfam = identifier family_name\n", argv[1]);
    CHECK(refused(ini, "the PSN needs all of them"));
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns]\nfam = identifier nope\n", argv[1]);
    CHECK(refused(ini, "not an identifier"));
    CHECK(refused("[pseudonymize]\nmodule = x\nencoding = ebcdic\n", "utf-8, windows-1252, iso-8859-1, iso-8859-15, utf-16, utf-16le or utf-16be"));
    CHECK(refused("[pseudonymize]\nmodule = x\ndelimiter = ;\n", "comma, semicolon, tab or pipe"));
    CHECK(refused("[pseudonymize]\nmodule = x\n[columns]\nfam = frobnicate\n", "t.ini:4: unknown role"));
    CHECK(refused("[columns by position]\n0 = keep : a\n", "a number from 1 to 512, not '0'"));
    CHECK(refused("[columns by position]\n07 = keep : a\n", "a number from 1 to 512"));
    CHECK(refused("[columns by position]\n513 = keep : a\n", "a number from 1 to 512"));
    CHECK(refused("[columns by position]\n2x = keep : a\n", "a number from 1 to 512"));
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns by position]\n3 = keep\n", argv[1]);
    CHECK(refused(ini, "write N = ROLE : HEADER (the header expected there): 'column 3'"));
    CHECK(refused("[pseudonymize]\nheader = maybe\n", "header must be yes"));
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\nheader = no\n[columns]\nnote = keep\n", argv[1]);
    CHECK(refused(ini, "every column needs its role by position, not by name: 'note'"));
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\nheader = no\n[columns by position]\n1 = keep\n3 = keep\n",
             argv[1]);
    CHECK(refused(ini, "the positions must be 1 to the number of columns"));
    CHECK(refused("[columns by position]\n3 = keep : a\n3 = phone : a\n", "t.ini:3: column listed twice: '3'"));
    CHECK(refused("[columns by position]\n3 = frobnicate : a\n", "unknown role"));
    snprintf(ini, sizeof ini, "[pseudonymize]\nmodule = %s\n[columns]\nnote = phone\n[columns by position]\n4 = keep : note\n",
             argv[1]);
    CHECK(refused(ini, "column 'note' is 'phone' by name and 'keep' at position 4"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return TEST_DONE();
}
