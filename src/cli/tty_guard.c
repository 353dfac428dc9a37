#include "tty_guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many continuation bytes a lead byte announces; 0 for a byte that
 * cannot start a sequence (a continuation byte, C0/C1 overlongs, past
 * U+10FFFF). */
static size_t sequence_tail(unsigned char b)
{
    if (b >= 0xc2 && b <= 0xdf)
        return 1;
    if (b >= 0xe0 && b <= 0xef)
        return 2;
    if (b >= 0xf0 && b <= 0xf4)
        return 3;
    return 0;
}

/* A complete sequence: shown unless it encodes a C1 control (C2 80..9F) */
static void let_out(const unsigned char *seq, size_t n, char *out, size_t *o)
{
    if (n == 2 && seq[0] == 0xc2 && seq[1] <= 0x9f) {
        out[(*o)++] = '?';
        return;
    }
    memcpy(out + *o, seq, n);
    *o += n;
}

void cli_tty_clean(cli_tty_state *st, const char *in, size_t len, int last, char *out, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)in[i];
        if (st->need > 0) {
            if (b >= 0x80 && b <= 0xbf) {
                st->held[st->n++] = b;
                if (--st->need == 0) {
                    let_out(st->held, st->n, out, &o);
                    st->n = 0;
                }
                continue;
            }
            /* cut short: the part so far is not UTF-8 */
            out[o++] = '?';
            st->n = st->need = 0;
        }
        if (b < 0x80) {
            out[o++] = (b < 0x20 && b != '\t' && b != '\n' && b != '\r') || b == 0x7f ? '?' : (char)b;
        } else if ((st->need = sequence_tail(b)) > 0) {
            st->held[0] = b;
            st->n = 1;
        } else {
            out[o++] = '?';
        }
    }
    if (last && st->need > 0) {
        out[o++] = '?';
        st->n = st->need = 0;
    }
    *out_len = o;
}

typedef struct guard {
    int fd;
    cli_tty_state st;
} guard;

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t guard_write(void *cookie, const char *buf, size_t len)
{
    guard *g = cookie;
    char out[4096 + 4];
    for (size_t at = 0; at < len;) {
        size_t piece = len - at < 4096 ? len - at : 4096, n = 0;
        cli_tty_clean(&g->st, buf + at, piece, 0, out, &n);
        if (write_all(g->fd, out, n) != 0)
            return at > 0 ? (ssize_t)at : -1;
        at += piece;
    }
    return (ssize_t)len;
}

static int guard_close(void *cookie)
{
    guard *g = cookie;
    char out[8];
    size_t n = 0;
    cli_tty_clean(&g->st, "", 0, 1, out, &n);
    int rc = write_all(g->fd, out, n);
    free(g);
    return rc;
}

int cli_tty_guard(FILE **stream)
{
    int fd = fileno(*stream);
    if (fd < 0 || !isatty(fd))
        return 0;
    guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return -1;
    g->fd = fd;
    cookie_io_functions_t io = {.write = guard_write, .close = guard_close};
    FILE *f = fopencookie(g, "w", io);
    if (f == NULL) {
        free(g);
        return -1;
    }
    /* as the C library sets them up for a terminal */
    setvbuf(f, NULL, fd == STDERR_FILENO ? _IONBF : _IOLBF, fd == STDERR_FILENO ? 0 : BUFSIZ);
    fflush(*stream);
    *stream = f;
    return 0;
}

void cli_tty_unguard(FILE **stream, FILE *original)
{
    if (*stream == original)
        return;
    fclose(*stream); /* guard_close frees the guard */
    *stream = original;
}
