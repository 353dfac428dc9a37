/* Bounded readers and writers: every read past the end and every write past
 * the maximum fails cleanly, also through libcurl's write callback. */
#include <stdlib.h>

#include "../check.h"
#include "../../../src/core/buf.h"

int main(void)
{
    uint8_t data[] = {0, 0, 0, 3, 'a', 'b', 'c', 0xff};
    mr_reader r = mr_reader_of(data, sizeof data);
    const uint8_t *p;
    size_t n;
    uint8_t b;
    uint32_t u;
    uint64_t q;
    CHECK(mr_read_lp(&r, 3, &p, &n) == MEDREG_OK && n == 3 && memcmp(p, "abc", 3) == 0);
    CHECK(mr_read_end(&r) == MEDREG_ERR_INVALID);
    CHECK(mr_read_u8(&r, &b) == MEDREG_OK && b == 0xff);
    CHECK(mr_read_end(&r) == MEDREG_OK);
    CHECK(mr_read_u8(&r, &b) == MEDREG_ERR_INVALID);
    r = mr_reader_of(data, sizeof data);
    CHECK(mr_read_lp(&r, 2, &p, &n) == MEDREG_ERR_INVALID); /* above the caller's bound */
    uint8_t lie[] = {0xff, 0xff, 0xff, 0xff, 'x'};
    r = mr_reader_of(lie, sizeof lie);
    CHECK(mr_read_lp(&r, SIZE_MAX, &p, &n) == MEDREG_ERR_INVALID); /* length beyond the data */
    r = mr_reader_of(data, 3);
    CHECK(mr_read_u32(&r, &u) == MEDREG_ERR_INVALID);
    CHECK(mr_read_u64(&r, &q) == MEDREG_ERR_INVALID);

    mr_writer w;
    mr_writer_init(&w, 10);
    CHECK(mr_write_u64(&w, 0x0102030405060708ull) == MEDREG_OK);
    CHECK(mr_write_u32(&w, 1) == MEDREG_ERR_TOOBIG);
    CHECK(mr_write_u8(&w, 9) == MEDREG_OK);
    CHECK(mr_write_lp(&w, "x", 1) == MEDREG_ERR_TOOBIG);
    CHECK(w.len == 9 && w.p[0] == 1 && w.p[7] == 8 && w.p[8] == 9);
    r = mr_reader_of(w.p, w.len);
    CHECK(mr_read_u64(&r, &q) == MEDREG_OK && q == 0x0102030405060708ull);
    mr_writer_free(&w);
    CHECK(w.p == NULL && w.len == 0);

    /* as libcurl's write callback: a reply of at most 8 bytes, then a NUL */
    char chunk[] = "abcdef", *str = NULL;
    mr_writer_init(&w, 8 + 1);
    CHECK(mr_writer_take(chunk, 1, 6, &w) == 6);
    CHECK(mr_writer_take(chunk, 2, 1, &w) == 2);
    CHECK(mr_writer_take(chunk, 1, 2, &w) == 0); /* 10 bytes: curl stops the transfer */
    CHECK(mr_writer_take(chunk, SIZE_MAX / 2, 3, &w) == 0); /* size x n overflows */
    CHECK(mr_writer_string(&w, &str, &n) == MEDREG_OK && n == 8 && strcmp(str, "abcdefab") == 0);
    CHECK(w.p == NULL && w.len == 0);
    free(str);
    mr_writer_init(&w, 1);
    CHECK(mr_writer_string(&w, &str, &n) == MEDREG_OK && n == 0 && str[0] == 0); /* an empty reply */
    free(str);
    mr_writer_init(&w, 2);
    CHECK(mr_writer_take(chunk, 1, 2, &w) == 2);
    CHECK(mr_writer_string(&w, &str, &n) == MEDREG_ERR_TOOBIG); /* no room for the NUL */
    mr_writer_free(&w);
    return TEST_DONE();
}
