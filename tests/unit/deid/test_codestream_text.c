/* Text out of compressed pixels, on streams built here byte by byte:
 * comments and free-form application segments go, what decoders use stays
 * byte for byte; marker-like bytes inside entropy-coded data (stuffed, or
 * JPEG-LS's) are data, not segments; a JPEG 2000 comment leaves its main
 * header or tile-part header, with the tile-part's length corrected; frames
 * that span fragments and padding between frames; and what is refused. */
#include <stdlib.h>
#include <string.h>

#include "../../../src/deid/codestream_text.h"
#include "../check.h"

typedef struct bytes {
    unsigned char b[512];
    size_t n;
} bytes;

static void put(bytes *s, const void *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

/* marker m with body p (length field added) */
static void seg(bytes *s, unsigned char m, const void *p, size_t n)
{
    unsigned char h[4] = {0xFF, m, (unsigned char)((n + 2) >> 8), (unsigned char)(n + 2)};
    put(s, h, 4);
    put(s, p, n);
}

static const unsigned char SOI[] = {0xFF, 0xD8}, EOI[] = {0xFF, 0xD9};
static const unsigned char JFIF[] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
static const unsigned char ADOBE[] = {'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 1};
static const unsigned char SOF3[] = {8, 0, 2, 0, 2, 1, 1, 0x11, 0};
static const unsigned char DHT[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
static const unsigned char SOS[] = {1, 1, 0, 1, 0, 0};
/* entropy-coded data with a stuffed 0xFF, a restart marker, and bytes that
 * read "FF FE" only to a walker that forgets the stuffing */
static const unsigned char SCAN[] = {0x12, 0xFF, 0x00, 0xFE, 0x00, 0x05, 'N', 'A', 'M', 0xFF, 0xD3, 0x34};
static const char NAME[] = "MUELLER^JUERGEN PID-4711";

/* a JPEG lossless stream; with_text: a comment and an Exif segment */
static void jpeg(bytes *s, int with_text)
{
    put(s, SOI, 2);
    seg(s, 0xE0, JFIF, sizeof JFIF);
    if (with_text) {
        seg(s, 0xFE, NAME, sizeof NAME - 1);
        seg(s, 0xE1, "Exif\0\0MUELLER", 13);
    }
    seg(s, 0xEE, ADOBE, sizeof ADOBE);
    seg(s, 0xC3, SOF3, sizeof SOF3);
    seg(s, 0xC4, DHT, sizeof DHT);
    seg(s, 0xDA, SOS, sizeof SOS);
    put(s, SCAN, sizeof SCAN);
    if (with_text)
        seg(s, 0xFE, "after the scan", 14);
    put(s, EOI, 2);
}

static int holds(const mr_codestream_frames *c, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= c->n; i++)
        if (memcmp(c->bytes + i, text, n) == 0)
            return 1;
    return 0;
}

static medreg_err strip(const bytes *s, mr_codestream_frames *c, char *why)
{
    return mr_codestream_strip_text(s->b, s->n, c, why, 160);
}

static void test_jpeg(void)
{
    bytes with = {0}, without = {0};
    mr_codestream_frames c;
    char why[160];
    jpeg(&with, 1);
    jpeg(&without, 0);
    CHECK(strip(&with, &c, why) == MEDREG_OK);
    CHECK(c.removed == 3 && c.n_frames == 1 && c.frame_at[0] == 0);
    CHECK(c.n == without.n && memcmp(c.bytes, without.b, c.n) == 0); /* JFIF, Adobe, tables, scan: as they were */
    CHECK(!holds(&c, "MUELLER"));
    mr_codestream_frames_free(&c);

    CHECK(strip(&without, &c, why) == MEDREG_OK); /* nothing to take out */
    CHECK(c.removed == 0 && c.n == without.n && memcmp(c.bytes, without.b, c.n) == 0);
    mr_codestream_frames_free(&c);

    /* a JFIF segment with a thumbnail, an ICC profile, an APP14 that is not
     * Adobe's: free form, taken out */
    bytes odd = {0};
    unsigned char thumb[17];
    memcpy(thumb, JFIF, sizeof JFIF);
    thumb[12] = 1, thumb[13] = 1, thumb[14] = 'M', thumb[15] = 'U', thumb[16] = 'E';
    put(&odd, SOI, 2);
    seg(&odd, 0xE0, thumb, sizeof thumb);
    seg(&odd, 0xE2, "ICC_PROFILE\0MUELLER", 19);
    seg(&odd, 0xEE, "MUELLERxxxxx", 12);
    seg(&odd, 0xC3, SOF3, sizeof SOF3);
    seg(&odd, 0xDA, SOS, sizeof SOS);
    put(&odd, SCAN, sizeof SCAN);
    put(&odd, EOI, 2);
    CHECK(strip(&odd, &c, why) == MEDREG_OK);
    CHECK(c.removed == 3 && !holds(&c, "MUE"));
    mr_codestream_frames_free(&c);
}

static void test_jpeg_ls(void)
{
    /* JPEG-LS: after 0xFF a byte below 0x80 is data, so "FF 7F" here is not
     * a marker and "FF FE" would be; the colour transform segment stays */
    static const unsigned char SOF55[] = {8, 0, 2, 0, 2, 1, 1, 0x11, 0};
    static const unsigned char LS_SCAN[] = {0x01, 0xFF, 0x7F, 0xFE, 0x00, 0x03, 0xFF, 0x10, 0x22};
    bytes s = {0};
    put(&s, SOI, 2);
    seg(&s, 0xE8, "mrfx\1", 5);
    seg(&s, 0xF7, SOF55, sizeof SOF55);
    seg(&s, 0xFE, NAME, sizeof NAME - 1);
    seg(&s, 0xDA, SOS, sizeof SOS);
    put(&s, LS_SCAN, sizeof LS_SCAN);
    put(&s, EOI, 2);
    mr_codestream_frames c;
    char why[160];
    CHECK(strip(&s, &c, why) == MEDREG_OK);
    CHECK(c.removed == 1 && c.n == s.n - (4 + sizeof NAME - 1) && !holds(&c, "MUELLER"));
    CHECK(holds(&c, "mrfx"));
    CHECK(c.n > sizeof LS_SCAN + 2 && memcmp(c.bytes + c.n - 2 - sizeof LS_SCAN, LS_SCAN, sizeof LS_SCAN) == 0);
    mr_codestream_frames_free(&c);
}

/* a JPEG 2000 codestream of one tile-part; comments in the main header and
 * (tile_comment) in the tile-part header; tlm: a TLM segment */
static void j2k(bytes *s, int main_comment, int tile_comment, int tlm, int psot_zero)
{
    static const unsigned char SOC[] = {0xFF, 0x4F}, SIZ[] = {0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                  0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                                                  7, 1, 1};
    static const unsigned char COD[] = {0, 0, 0, 1, 0, 0, 4, 4, 0, 0}, QCD[] = {0x20, 0x40};
    static const unsigned char DATA[] = {0x80, 0xFF, 0x7F, 0x11, 0xFF, 0x64, 0x00}; /* "FF 64" in data is data */
    put(s, SOC, 2);
    seg(s, 0x51, SIZ, sizeof SIZ);
    seg(s, 0x52, COD, sizeof COD);
    seg(s, 0x5C, QCD, sizeof QCD);
    if (tlm)
        seg(s, 0x55, "\0\x50\0\0\0\0", 6);
    if (main_comment)
        seg(s, 0x64, "\0\1MUELLER", 9);
    size_t sot = s->n;
    unsigned char SOT[] = {0, 0, 0, 0, 0, 0, 0, 1};
    seg(s, 0x90, SOT, sizeof SOT);
    if (tile_comment)
        seg(s, 0x64, "\0\1PID-4711", 10);
    static const unsigned char SOD[] = {0xFF, 0x93};
    put(s, SOD, 2);
    put(s, DATA, sizeof DATA);
    size_t psot = psot_zero ? 0 : s->n - sot;
    s->b[sot + 6] = (unsigned char)(psot >> 24), s->b[sot + 7] = (unsigned char)(psot >> 16);
    s->b[sot + 8] = (unsigned char)(psot >> 8), s->b[sot + 9] = (unsigned char)psot;
    put(s, EOI, 2); /* EOC: the same bytes */
}

static void test_j2k(void)
{
    mr_codestream_frames c;
    char why[160];
    for (int psot_zero = 0; psot_zero < 2; psot_zero++) {
        bytes with = {0}, without = {0};
        j2k(&with, 1, 1, 0, psot_zero);
        j2k(&without, 0, 0, 0, psot_zero);
        CHECK(strip(&with, &c, why) == MEDREG_OK);
        CHECK(c.removed == 2 && c.n == without.n && memcmp(c.bytes, without.b, c.n) == 0); /* Psot corrected */
        mr_codestream_frames_free(&c);
    }
    bytes tlm = {0};
    j2k(&tlm, 1, 0, 1, 0); /* a main-header comment beside TLM: fine */
    CHECK(strip(&tlm, &c, why) == MEDREG_OK && c.removed == 1);
    mr_codestream_frames_free(&c);
    tlm.n = 0;
    j2k(&tlm, 0, 1, 1, 0); /* in a tile-part header, with TLM: refused */
    CHECK(strip(&tlm, &c, why) == MEDREG_ERR_INVALID && strstr(why, "TLM") && c.bytes == NULL);
}

static void test_frames(void)
{
    /* three frames, JPEG and JPEG 2000, zero padding after one, stray bytes
     * (text) after another: frames found, the stray bytes counted and gone */
    bytes s = {0};
    mr_codestream_frames c;
    char why[160];
    jpeg(&s, 0);
    size_t second = s.n + 1;
    put(&s, "\0", 1);
    jpeg(&s, 1);
    size_t third = s.n;
    put(&s, "MUELLER", 7);
    j2k(&s, 0, 0, 0, 0);
    CHECK(strip(&s, &c, why) == MEDREG_OK);
    CHECK(c.n_frames == 3 && c.removed == 4 && !holds(&c, "MUELLER") && !holds(&c, "PID"));
    if (c.n_frames == 3) {
        bytes one = {0};
        jpeg(&one, 0);
        CHECK(c.frame_at[0] == 0 && c.frame_at[1] == one.n && c.frame_at[2] == 2 * one.n);
        CHECK(memcmp(c.bytes + c.frame_at[1], one.b, one.n) == 0);
    }
    (void)second;
    (void)third;
    mr_codestream_frames_free(&c);
}

static void test_refused(void)
{
    mr_codestream_frames c;
    char why[160];
    bytes s = {0};
    jpeg(&s, 1);
    for (size_t cut = 1; cut < s.n; cut++) { /* cut anywhere: refused, or a frame's end lost */
        bytes t = s;
        t.n = cut;
        medreg_err rc = strip(&t, &c, why);
        CHECK(rc == MEDREG_ERR_INVALID);
        CHECK(c.bytes == NULL && c.frame_at == NULL);
    }
    bytes mpeg = {0};
    put(&mpeg, "\0\0\1\xb3\x14\0\xf0\x13", 8);
    CHECK(strip(&mpeg, &c, why) == MEDREG_ERR_INVALID && strstr(why, "no JPEG"));
    bytes longer = {0};
    put(&longer, SOI, 2);
    put(&longer, "\xFF\xFE\x01\x00MUE", 7); /* says 256 bytes, has 3 */
    CHECK(strip(&longer, &c, why) == MEDREG_ERR_INVALID && strstr(why, "longer than"));
    /* a reserved marker (0x02-0xBF) taken for a segment: after a removed
     * comment it would be JPEG-LS data (once made output and input differ) */
    bytes reserved = {0};
    put(&reserved, SOI, 2);
    seg(&reserved, 0x78, "MUE", 3);
    put(&reserved, EOI, 2);
    CHECK(strip(&reserved, &c, why) == MEDREG_ERR_INVALID && strstr(why, "where none may"));
    bytes junk = {0};
    put(&junk, SOI, 2);
    put(&junk, "MUELLER", 7); /* bytes where a marker belongs */
    put(&junk, EOI, 2);
    CHECK(strip(&junk, &c, why) == MEDREG_ERR_INVALID);
}

int main(void)
{
    test_jpeg();
    test_jpeg_ls();
    test_j2k();
    test_frames();
    test_refused();
    return TEST_DONE();
}
