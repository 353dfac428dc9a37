/* The pixel rules file: header, comments (quotes in them too), empty lines,
 * quoted cells; a rule per region with its line; matching by modality, manufacturer and model
 * (exact, '*', or an empty cell for an absent value) and the exact size.
 * Refused, naming the line: another header, a region outside its image or
 * empty, a number that is not one, '*' as modality, a ragged row, an empty
 * file, a missing one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/deid/pixel_rules.h"
#include "../check.h"

static char path[] = "/tmp/medreg-pixel-rules-XXXXXX";
static char *err;

static medreg_err load(const char *text, mr_pixel_rules *r)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        return MEDREG_ERR_IO;
    free(err);
    err = NULL;
    return mr_pixel_rules_load(path, r, &err);
}

#define HEADER "modality,manufacturer,model,rows,columns,x,y,width,height\n"

static int refused(const char *text, const char *says)
{
    mr_pixel_rules r;
    return load(text, &r) == MEDREG_ERR_CONFIG && r.v == NULL && err != NULL && strstr(err, says) != NULL;
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    mr_pixel_rules r;
    CHECK(load(HEADER "# ACME's \"banner\", quotes and all\n\nUS,ACME Medical,*,480,640,0,0,640,48\n\"SC\",\"\",\"Model \"\"X\"\"\",32,64,2,3,4,5\r\n",
               &r) == MEDREG_OK);
    CHECK(r.n == 2);
    if (r.n == 2) {
        CHECK_STR(r.v[0].modality, "US");
        CHECK_STR(r.v[0].manufacturer, "ACME Medical");
        CHECK(r.v[0].rows == 480 && r.v[0].columns == 640 && r.v[0].width == 640 && r.v[0].height == 48);
        CHECK(r.v[0].line == 4); /* lines, the comment and the empty one counted */
        CHECK_STR(r.v[1].model, "Model \"X\"");
        CHECK(r.v[1].x == 2 && r.v[1].y == 3 && r.v[1].line == 5);

        CHECK(mr_pixel_rule_matches(&r.v[0], "US", "ACME Medical ", "Sonolayer", 480, 640)); /* padding ignored */
        CHECK(mr_pixel_rule_matches(&r.v[0], "US", "ACME Medical", NULL, 480, 640));
        CHECK(!mr_pixel_rule_matches(&r.v[0], "US", "ACME", "Sonolayer", 480, 640));
        CHECK(!mr_pixel_rule_matches(&r.v[0], "US", "ACME Medical", "Sonolayer", 600, 800)); /* another size */
        CHECK(!mr_pixel_rule_matches(&r.v[0], "CT", "ACME Medical", "Sonolayer", 480, 640));
        CHECK(!mr_pixel_rule_matches(&r.v[0], NULL, "ACME Medical", "Sonolayer", 480, 640));
        CHECK(mr_pixel_rule_matches(&r.v[1], "SC", NULL, "Model \"X\"", 32, 64));  /* empty cell: absent */
        CHECK(mr_pixel_rule_matches(&r.v[1], "SC", "", "Model \"X\"", 32, 64));    /* or empty */
        CHECK(!mr_pixel_rule_matches(&r.v[1], "SC", "ACME", "Model \"X\"", 32, 64));
    }
    mr_pixel_rules_free(&r);

    /* many rules: the table grows */
    size_t cap = 100 * 40 + 100;
    char *big = malloc(cap);
    if (big) {
        snprintf(big, cap, "%s", HEADER);
        for (int i = 0; i < 100; i++)
            snprintf(big + strlen(big), cap - strlen(big), "US,*,*,480,640,%d,0,1,1\n", i);
        CHECK(load(big, &r) == MEDREG_OK && r.n == 100 && r.v[99].x == 99 && r.v[99].line == 101);
        mr_pixel_rules_free(&r);
        free(big);
    }

    CHECK(refused("modality,maker,model,rows,columns,x,y,width,height\n", ":1: the header must be"));
    CHECK(refused(HEADER "US,*,*,480,640,600,0,41,10\n", ":2: the region must be inside"));
    CHECK(refused(HEADER "US,*,*,480,640,0,470,10,11\n", ":2: the region must be inside"));
    CHECK(refused(HEADER "US,*,*,480,640,0,0,0,10\n", "not empty"));
    CHECK(refused(HEADER "US,*,*,480,640,-1,0,10,10\n", "whole numbers"));
    CHECK(refused(HEADER "US,*,*,480,640,0x10,0,10,10\n", "whole numbers"));
    CHECK(refused(HEADER "US,*,*,480,70000,0,0,10,10\n", "whole numbers"));
    CHECK(refused(HEADER "*,*,*,480,640,0,0,10,10\n", "not '*'"));
    CHECK(refused(HEADER "US,*,*,480,640,0,0,10\n", "expected 9 columns"));
    CHECK(refused(HEADER "US,*,*,480,640,0,0,10,10,4\n", "expected 9 columns"));
    CHECK(refused("", "the header line is missing"));
    CHECK(refused(HEADER "US,\"ACME,*,480,640,0,0,10,10\n", "")); /* an unterminated quote */
    unlink(path);
    free(err);
    err = NULL;
    CHECK(mr_pixel_rules_load(path, &r, &err) == MEDREG_ERR_CONFIG && err && strstr(err, "cannot read"));
    free(err);
    return TEST_DONE();
}
