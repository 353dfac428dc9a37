/* The reader of the small configuration tables: line numbers through
 * comments, blank lines, CRLF and quoted newlines; cells cut and counted;
 * a callback's refusal and libcsv's own as FILE:LINE; files that cannot be
 * read or are too large. */
#include <stdlib.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/config/csv_table.h"

typedef struct seen {
    char log[2048];
    int refuse_at; /* refuse the row ending on this line */
} seen;

static int record(void *ctx, const mr_table_row *row, char *why, size_t why_len)
{
    seen *s = ctx;
    size_t at = strlen(s->log);
    snprintf(s->log + at, sizeof s->log - at, "%lu:%zu%s", row->line, row->n, row->cut ? ":cut" : "");
    for (size_t i = 0; i < row->n && i < MR_TABLE_CELLS; i++) {
        at = strlen(s->log);
        snprintf(s->log + at, sizeof s->log - at, "[%s]", row->cell[i]);
    }
    at = strlen(s->log);
    snprintf(s->log + at, sizeof s->log - at, ";");
    if ((unsigned long)s->refuse_at == row->line) {
        snprintf(why, why_len, "not this one");
        return -1;
    }
    return 0;
}

static char path[64];

static medreg_err read_text(const char *text, seen *s, char **err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return MEDREG_ERR_IO;
    fputs(text, f);
    fclose(f);
    return mr_table_read(path, "test table", record, s, err);
}

int main(void)
{
    char *err = NULL;
    seen s;
    snprintf(path, sizeof path, "/tmp/test_csv_table.%d.csv", (int)getpid());

    memset(&s, 0, sizeof s);
    CHECK(read_text("a,b\n# a comment, \"with a quote\n\nc, d ,\"e\nf\"\r\ng\n", &s, &err) == MEDREG_OK);
    CHECK_STR(s.log, "1:2[a][b];5:3[c][d][e\nf];6:1[g];");
    free(err);

    memset(&s, 0, sizeof s);
    s.refuse_at = 3;
    err = NULL;
    CHECK(read_text("a\nb\nc\nd\n", &s, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, ":3: not this one") && strncmp(err, path, strlen(path)) == 0);
    CHECK_STR(s.log, "1:1[a];2:1[b];3:1[c];"); /* nothing after the refusal */
    free(err);

    memset(&s, 0, sizeof s);
    err = NULL;
    CHECK(read_text("ok\nx\"y\n", &s, &err) == MEDREG_ERR_CONFIG); /* a quote inside a bare cell */
    CHECK(err && strstr(err, ":2: "));
    free(err);

    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char text[512];
    snprintf(text, sizeof text, "%s,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", big);
    memset(&s, 0, sizeof s);
    err = NULL;
    CHECK(read_text(text, &s, &err) == MEDREG_OK);
    CHECK(strncmp(s.log, "1:18:cut[", 9) == 0); /* 18 cells counted, 16 kept, the first cut */
    free(err);

    err = NULL;
    unlink(path);
    CHECK(mr_table_read(path, "test table", record, &s, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "cannot read the test table"));
    free(err);

    FILE *f = fopen(path, "wb");
    for (int i = 0; f && i < (1 << 20) / 8 + 1; i++)
        fputs("a,b,c,d\n", f);
    if (f)
        fclose(f);
    err = NULL;
    CHECK(mr_table_read(path, "test table", record, &s, &err) == MEDREG_ERR_CONFIG);
    CHECK(err && strstr(err, "larger than 1 MiB"));
    free(err);
    unlink(path);
    return TEST_DONE();
}
