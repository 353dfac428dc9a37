#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"

medreg_err mr_read_bytes(mr_reader *r, void *dst, size_t n)
{
    if (n > r->len - r->off)
        return MEDREG_ERR_INVALID;
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return MEDREG_OK;
}

medreg_err mr_read_u8(mr_reader *r, uint8_t *v) { return mr_read_bytes(r, v, 1); }

medreg_err mr_read_u32(mr_reader *r, uint32_t *v)
{
    uint8_t b[4];
    medreg_err rc = mr_read_bytes(r, b, 4);
    if (rc == MEDREG_OK)
        *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return rc;
}

medreg_err mr_read_u64(mr_reader *r, uint64_t *v)
{
    uint32_t hi, lo;
    medreg_err rc = mr_read_u32(r, &hi);
    if (rc == MEDREG_OK)
        rc = mr_read_u32(r, &lo);
    if (rc == MEDREG_OK)
        *v = (uint64_t)hi << 32 | lo;
    return rc;
}

medreg_err mr_read_lp(mr_reader *r, size_t max, const uint8_t **out, size_t *len)
{
    uint32_t n;
    medreg_err rc = mr_read_u32(r, &n);
    if (rc != MEDREG_OK)
        return rc;
    if (n > max || n > r->len - r->off)
        return MEDREG_ERR_INVALID;
    *out = r->p + r->off;
    *len = n;
    r->off += n;
    return MEDREG_OK;
}

medreg_err mr_read_end(const mr_reader *r) { return r->off == r->len ? MEDREG_OK : MEDREG_ERR_INVALID; }

void mr_writer_init(mr_writer *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void mr_writer_free(mr_writer *w)
{
    if (w->p) {
        mr_wipe(w->p, w->cap);
        free(w->p);
    }
    memset(w, 0, sizeof *w);
}

medreg_err mr_write_bytes(mr_writer *w, const void *src, size_t n)
{
    if (n > w->max - w->len)
        return MEDREG_ERR_TOOBIG;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        if (cap > w->max)
            cap = w->max;
        uint8_t *p = malloc(cap);
        if (p == NULL)
            return MEDREG_ERR_NOMEM;
        if (w->p) {
            memcpy(p, w->p, w->len);
            mr_wipe(w->p, w->cap); /* never leave a secret copy behind on growth */
            free(w->p);
        }
        w->p = p;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
    return MEDREG_OK;
}

medreg_err mr_write_u8(mr_writer *w, uint8_t v) { return mr_write_bytes(w, &v, 1); }

medreg_err mr_write_u32(mr_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return mr_write_bytes(w, b, 4);
}

medreg_err mr_write_u64(mr_writer *w, uint64_t v)
{
    medreg_err rc = mr_write_u32(w, (uint32_t)(v >> 32));
    return rc == MEDREG_OK ? mr_write_u32(w, (uint32_t)v) : rc;
}

medreg_err mr_write_lp(mr_writer *w, const void *src, size_t n)
{
    if (n > UINT32_MAX)
        return MEDREG_ERR_TOOBIG;
    medreg_err rc = mr_write_u32(w, (uint32_t)n);
    return rc == MEDREG_OK ? mr_write_bytes(w, src, n) : rc;
}

size_t mr_writer_take(char *p, size_t size, size_t n, void *writer)
{
    if (size != 0 && n > SIZE_MAX / size)
        return 0;
    return mr_write_bytes(writer, p, size * n) == MEDREG_OK ? size * n : 0;
}

medreg_err mr_writer_string(mr_writer *w, char **out, size_t *len)
{
    medreg_err rc = mr_write_u8(w, 0);
    if (rc != MEDREG_OK)
        return rc;
    *out = (char *)w->p;
    *len = w->len - 1;
    memset(w, 0, sizeof *w);
    return MEDREG_OK;
}
