/* A window over the stream: buf[pos..len) is read and not yet walked past;
 * line is the line of buf[pos]. A piece is found whole in the window with
 * json_walk's mr_json_value_at; when it runs past the window's end, what is
 * walked past is dropped, the window grows if it must (up to max_piece and
 * one read), and more is read. A value that ends exactly at the window's
 * end may go on (a number cut by the read), so it is taken only at the end
 * of the stream or once more follows it. */
#include "json_stream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_walk.h"

#define READ_BYTES (64 * 1024)

typedef struct window {
    const mr_json_source *src;
    char *buf;
    size_t cap, len, pos, max_piece;
    uint64_t base; /* the stream offset of buf[0] */
    int line, eof;
    char **err;
} window;

long mr_json_memory_read(void *memory, char *buf, size_t cap)
{
    mr_json_memory *m = memory;
    size_t n = m->len - m->at;
    if (n > cap)
        n = cap;
    if (m->step > 0 && n > m->step)
        n = m->step;
    memcpy(buf, m->text + m->at, n);
    m->at += n;
    return (long)n;
}

__attribute__((format(printf, 2, 3))) static medreg_err fail(window *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (w->err != NULL && *w->err == NULL && vasprintf(w->err, fmt, ap) < 0)
        *w->err = NULL;
    va_end(ap);
    return MEDREG_ERR_INVALID;
}

/* walk past buf[pos..to), counting its lines */
static void advance(window *w, size_t to)
{
    for (const char *p = w->buf + w->pos; (p = memchr(p, '\n', (size_t)(w->buf + to - p))) != NULL; p++)
        w->line++;
    w->pos = to;
}

/* drop what is walked past, grow if full, read once more */
static medreg_err more(window *w)
{
    if (w->pos > 0) {
        memmove(w->buf, w->buf + w->pos, w->len - w->pos);
        w->base += w->pos;
        w->len -= w->pos;
        w->pos = 0;
    }
    if (w->len == w->cap) {
        if (w->cap >= w->max_piece + READ_BYTES)
            return fail(w, "not JSON: line %d: a value longer than %zu bytes", w->line, w->max_piece);
        size_t cap = w->cap * 2 < w->max_piece + READ_BYTES ? w->cap * 2 : w->max_piece + READ_BYTES;
        char *b = realloc(w->buf, cap);
        if (b == NULL)
            return MEDREG_ERR_NOMEM;
        w->buf = b;
        w->cap = cap;
    }
    long got = w->src->read(w->src->ctx, w->buf + w->len, w->cap - w->len);
    if (got < 0)
        return MEDREG_ERR_IO;
    if (got == 0)
        w->eof = 1;
    w->len += (size_t)got;
    return MEDREG_OK;
}

/* Past white space to the next byte: 1 and *ch, 0 at the end of the
 * stream, or -1 and *rc on a failed read */
static int next_byte(window *w, char *ch, medreg_err *rc)
{
    for (;;) {
        advance(w, mr_json_skip_space(w->buf, w->len, w->pos));
        if (w->pos < w->len) {
            *ch = w->buf[w->pos];
            return 1;
        }
        if (w->eof)
            return 0;
        if ((*rc = more(w)) != MEDREG_OK)
            return -1;
    }
}

/* the value that starts at the next byte, whole in the window: *p, which
 * the caller walks past (advance to p's end) once it is used */
static medreg_err take(window *w, const char *what, mr_json_piece *p)
{
    medreg_err rc = MEDREG_OK;
    char ch;
    int r = next_byte(w, &ch, &rc);
    if (r < 0)
        return rc;
    if (r == 0)
        return fail(w, "not JSON: line %d: no whole JSON value", w->line);
    for (;;) {
        mr_json_span sp;
        if (mr_json_value_at(w->buf, w->len, w->pos, &sp) && (sp.end < w->len || w->eof)) {
            if (sp.end - sp.start > w->max_piece)
                return fail(w, "not JSON: line %d: a value longer than %zu bytes", w->line, w->max_piece);
            *p = (mr_json_piece){w->buf + sp.start, sp.end - sp.start, w->base + sp.start, w->line};
            return MEDREG_OK;
        }
        ch = w->buf[w->pos];
        if (ch == ',' || ch == ':' || ch == '}' || ch == ']')
            return fail(w, "not JSON: line %d: %s expected", w->line, what);
        if (w->eof)
            return fail(w, "not JSON: line %d: no whole JSON value", w->line);
        if ((rc = more(w)) != MEDREG_OK)
            return rc;
    }
}

/* the next byte must be one of those in want ("," and "}" say what is
 * expected): it is walked past and returned in *ch */
static medreg_err expect(window *w, const char *want, const char *what, char *ch)
{
    medreg_err rc = MEDREG_OK;
    int r = next_byte(w, ch, &rc);
    if (r < 0)
        return rc;
    if (r == 0)
        return fail(w, "not JSON: line %d: no whole JSON value", w->line);
    if (memchr(want, *ch, strlen(want)) == NULL) /* strchr would find a NUL byte in want */
        return fail(w, "not JSON: line %d: %s expected", w->line, what);
    advance(w, w->pos + 1);
    return MEDREG_OK;
}

/* the bulk array's elements, its '[' walked past */
static medreg_err elements(window *w, const mr_json_stream_fns *fns)
{
    medreg_err rc = MEDREG_OK;
    char ch;
    int r = next_byte(w, &ch, &rc);
    if (r < 0)
        return rc;
    if (r == 1 && ch == ']') {
        advance(w, w->pos + 1);
        return MEDREG_OK;
    }
    for (size_t i = 0;; i++) {
        mr_json_piece v;
        if ((rc = take(w, "a value", &v)) != MEDREG_OK || (rc = fns->element(fns->ctx, &v, i)) != MEDREG_OK)
            return rc;
        advance(w, (size_t)(v.offset - w->base) + v.len);
        if ((rc = expect(w, ",]", "',' or ']'", &ch)) != MEDREG_OK || ch == ']')
            return rc;
    }
}

medreg_err mr_json_stream_object(const mr_json_source *src, const char *big, size_t max_piece,
                                 const mr_json_stream_fns *fns, int *big_seen, char **err)
{
    window w = {src, NULL, READ_BYTES, 0, 0, max_piece, 0, 1, 0, err};
    size_t big_len = strlen(big);
    medreg_err rc = MEDREG_OK;
    char ch;
    int r;

    *big_seen = 0;
    if ((w.buf = malloc(w.cap)) == NULL)
        return MEDREG_ERR_NOMEM;
    if ((r = next_byte(&w, &ch, &rc)) < 0)
        goto out;
    if (r == 0 || ch != '{') {
        rc = r == 0 ? fail(&w, "not JSON: line %d: no whole JSON value", w.line) : fail(&w, "not a JSON object");
        goto out;
    }
    advance(&w, w.pos + 1);
    if ((r = next_byte(&w, &ch, &rc)) < 0)
        goto out;
    if (r == 1 && ch == '}') {
        advance(&w, w.pos + 1);
    } else {
        do {
            mr_json_piece k, v;
            char *key = NULL;
            int bulk = 0;
            if ((rc = take(&w, "a key", &k)) != MEDREG_OK)
                goto out;
            if (k.text[0] != '"') {
                rc = fail(&w, "not JSON: line %d: a key expected", k.line);
                goto out;
            }
            int is_big = !*big_seen && k.len == big_len + 2 && memcmp(k.text + 1, big, big_len) == 0;
            /* the window may slide before the value is whole: the key is kept apart */
            if ((key = malloc(k.len)) == NULL) {
                rc = MEDREG_ERR_NOMEM;
                goto out;
            }
            memcpy(key, k.text, k.len);
            advance(&w, (size_t)(k.offset - w.base) + k.len);
            k.text = key;
            rc = expect(&w, ":", "':'", &ch);
            if (rc == MEDREG_OK && is_big) {
                if ((r = next_byte(&w, &ch, &rc)) < 0)
                    goto next;
                bulk = r == 1 && ch == '[';
            }
            if (rc == MEDREG_OK && bulk) {
                advance(&w, w.pos + 1);
                *big_seen = 1;
                rc = elements(&w, fns);
            } else if (rc == MEDREG_OK && (rc = take(&w, "a value", &v)) == MEDREG_OK &&
                       (rc = fns->member(fns->ctx, &k, &v)) == MEDREG_OK) {
                advance(&w, (size_t)(v.offset - w.base) + v.len);
            }
        next:
            free(key);
            if (rc != MEDREG_OK || (rc = expect(&w, ",}", "',' or '}'", &ch)) != MEDREG_OK)
                goto out;
        } while (ch == ',');
    }
    if ((r = next_byte(&w, &ch, &rc)) < 0)
        goto out;
    if (r == 1)
        rc = fail(&w, "not JSON: line %d: end of file expected", w.line);
out:
    free(w.buf);
    return rc;
}
