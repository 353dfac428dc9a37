/* JPEG (ITU-T T.81, and T.87 for JPEG-LS) and JPEG 2000 (T.800 Annex A)
 * marker segments, walked to leave out the text ones (codestream_text.h). */
#include "codestream_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct walk {
    const uint8_t *p;
    size_t n, at; /* reading p[at ..] */
    uint8_t *out;
    size_t used; /* out never outgrows n: segments are only left out */
    unsigned long removed;
    char *why;
    size_t why_len;
    size_t frame; /* counted from 1, for messages */
} walk;

static medreg_err refuse(walk *w, const char *what)
{
    snprintf(w->why, w->why_len, "frame %zu of the compressed pixels: %s", w->frame, what);
    return MEDREG_ERR_INVALID;
}

static void keep(walk *w, size_t from, size_t to)
{
    memcpy(w->out + w->used, w->p + from, to - from);
    w->used += to - from;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The marker segment at w->at (0xFF, marker, 2-byte length that counts
 * itself): *end is where it ends. */
static medreg_err segment(walk *w, size_t *end)
{
    if (w->n - w->at < 4)
        return refuse(w, "it ends inside a marker segment");
    unsigned len = be16(w->p + w->at + 2);
    if (len < 2 || len > w->n - w->at - 2)
        return refuse(w, "a marker segment is longer than what follows it");
    *end = w->at + 2 + len;
    return MEDREG_OK;
}

/* Application segments of a fixed form, none with room for text: what a
 * decoder may need (the colour transform, JFIF's or Adobe's, JPEG-LS's
 * "mrfx"), or SPIFF's header. Everything else in APP0-APP15 is free form. */
static int fixed_app_segment(uint8_t marker, const uint8_t *body, size_t n)
{
    return (marker == 0xE0 && n == 14 && memcmp(body, "JFIF\0", 5) == 0 && body[12] == 0 && body[13] == 0) ||
           (marker == 0xEE && n == 12 && memcmp(body, "Adobe", 5) == 0) ||
           (marker == 0xE8 && n == 5 && memcmp(body, "mrfx", 4) == 0) ||
           (marker == 0xE8 && n == 30 && memcmp(body, "SPIFF\0", 6) == 0);
}

/* Entropy-coded data after a start of scan, up to the next marker that is
 * not a restart: in JPEG a 0xFF of the data is followed by a stuffed 0x00,
 * in JPEG-LS by a byte below 0x80. */
static medreg_err jpeg_scan(walk *w, int ls)
{
    size_t from = w->at;
    for (;;) {
        const uint8_t *ff = memchr(w->p + w->at, 0xFF, w->n - w->at);
        if (ff == NULL || (size_t)(ff - w->p) + 1 >= w->n)
            return refuse(w, "it ends inside its entropy-coded data");
        w->at = (size_t)(ff - w->p);
        uint8_t next = w->p[w->at + 1];
        if ((ls ? next < 0x80 : next == 0x00) || (next >= 0xD0 && next <= 0xD7))
            w->at += 2;
        else if (next == 0xFF)
            w->at += 1; /* fill bytes before a marker */
        else
            break;
    }
    keep(w, from, w->at);
    return MEDREG_OK;
}

/* A JPEG or JPEG-LS stream from SOI (at w->at) to EOI. */
static medreg_err jpeg_frame(walk *w)
{
    int ls = 0;
    keep(w, w->at, w->at + 2);
    w->at += 2;
    for (;;) {
        if (w->n - w->at < 2)
            return refuse(w, "it has no end of image");
        if (w->p[w->at] != 0xFF)
            return refuse(w, "bytes stand between two marker segments");
        uint8_t m = w->p[w->at + 1];
        if (m == 0xFF) {
            w->at++; /* a fill byte */
            continue;
        }
        if (m == 0xD9) {
            keep(w, w->at, w->at + 2);
            w->at += 2;
            return MEDREG_OK;
        }
        if (m == 0x01) { /* TEM: a marker alone, harmless */
            keep(w, w->at, w->at + 2);
            w->at += 2;
            continue;
        }
        /* 0x02-0xBF are reserved (and in JPEG-LS data, not markers): one
         * taken for a segment here would be data once a comment before it
         * is gone (found by fuzz_codestream) */
        if (m < 0xC0 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7))
            return refuse(w, "a marker stands where none may");
        size_t end;
        medreg_err rc = segment(w, &end);
        if (rc != MEDREG_OK)
            return rc;
        const uint8_t *body = w->p + w->at + 4;
        size_t body_n = end - w->at - 4;
        if (m == 0xFE || (m >= 0xE0 && m <= 0xEF && !fixed_app_segment(m, body, body_n)))
            w->removed++;
        else
            keep(w, w->at, end);
        if (m == 0xF7)
            ls = 1; /* SOF55: the frame is JPEG-LS */
        w->at = end;
        if (m == 0xDA && (rc = jpeg_scan(w, ls)) != MEDREG_OK)
            return rc;
    }
}

/* A JPEG 2000 codestream from SOC (at w->at) to EOC: the main header, then
 * tile-parts, each a header of marker segments (SOT first, SOD last) and
 * Psot bytes in all (0: up to EOC). A comment taken out of a tile-part
 * header shortens its Psot; the tile-part lengths a TLM segment of the main
 * header lists are not rewritten, so there it is refused. */
static medreg_err j2k_frame(walk *w)
{
    int tlm = 0;
    keep(w, w->at, w->at + 2);
    w->at += 2;
    for (;;) { /* the main header */
        if (w->n - w->at < 2 || w->p[w->at] != 0xFF)
            return refuse(w, "its main header is cut short or malformed");
        uint8_t m = w->p[w->at + 1];
        if (m == 0x90)
            break;
        if (m == 0xD9)
            return refuse(w, "it has no tile-part");
        size_t end;
        medreg_err rc = segment(w, &end);
        if (rc != MEDREG_OK)
            return rc;
        if (m == 0x64)
            w->removed++;
        else
            keep(w, w->at, end);
        tlm |= m == 0x55;
        w->at = end;
    }
    for (;;) { /* tile-parts */
        if (w->n - w->at < 2 || w->p[w->at] != 0xFF)
            return refuse(w, "it has no end of codestream");
        if (w->p[w->at + 1] == 0xD9) {
            keep(w, w->at, w->at + 2);
            w->at += 2;
            return MEDREG_OK;
        }
        if (w->p[w->at + 1] != 0x90 || w->n - w->at < 12 || be16(w->p + w->at + 2) != 10)
            return refuse(w, "a tile-part does not start with a start of tile-part (SOT)");
        size_t start = w->at, psot_at = w->used + 6, left_out = 0;
        uint32_t psot = be32(w->p + w->at + 6);
        if (psot != 0 && (psot < 14 || psot > w->n - w->at))
            return refuse(w, "a tile-part is longer than what follows it");
        keep(w, w->at, w->at + 12);
        w->at += 12;
        for (;;) { /* its header, to the start of data */
            if (w->n - w->at < 2 || w->p[w->at] != 0xFF)
                return refuse(w, "a tile-part header is cut short or malformed");
            uint8_t m = w->p[w->at + 1];
            if (m == 0x93)
                break;
            size_t end;
            medreg_err rc = segment(w, &end);
            if (rc != MEDREG_OK)
                return rc;
            if (psot != 0 && end > start + psot)
                return refuse(w, "a tile-part header runs past its tile-part");
            if (m == 0x64 && tlm)
                return refuse(w, "a comment in a tile-part header, whose length the main header lists (TLM)");
            if (m == 0x64) {
                w->removed++;
                left_out += end - w->at;
            } else {
                keep(w, w->at, end);
            }
            w->at = end;
        }
        size_t data_end;
        if (psot != 0) {
            data_end = start + psot;
            if (data_end < w->at + 2)
                return refuse(w, "a tile-part ends inside its header");
            uint32_t shorter = psot - (uint32_t)left_out;
            w->out[psot_at] = (uint8_t)(shorter >> 24);
            w->out[psot_at + 1] = (uint8_t)(shorter >> 16);
            w->out[psot_at + 2] = (uint8_t)(shorter >> 8);
            w->out[psot_at + 3] = (uint8_t)shorter;
        } else {
            /* the last tile-part: to EOC, which its data cannot hold (a
             * 0xFF there is followed by a byte below 0x90) */
            size_t i = w->at + 2;
            while (i + 1 < w->n && !(w->p[i] == 0xFF && w->p[i + 1] == 0xD9))
                i++;
            if (i + 1 >= w->n)
                return refuse(w, "it has no end of codestream");
            data_end = i;
        }
        keep(w, w->at, data_end);
        w->at = data_end;
    }
}

/* SOI; or SOC and SIZ, which must follow it */
static int frame_starts(const uint8_t *p, size_t n)
{
    return (n >= 2 && p[0] == 0xFF && p[1] == 0xD8) || (n >= 4 && be32(p) == 0xFF4FFF51u);
}

medreg_err mr_codestream_strip_text(const uint8_t *in, size_t n, mr_codestream_frames *out, char *why,
                                    size_t why_len)
{
    memset(out, 0, sizeof *out);
    walk w = {in, n, 0, malloc(n ? n : 1), 0, 0, why, why_len, 0};
    size_t cap = 0;
    medreg_err rc = w.out ? MEDREG_OK : MEDREG_ERR_NOMEM;
    while (rc == MEDREG_OK) {
        /* between frames: zero padding (a frame's last fragment is padded
         * to an even length); anything else is left out, once counted */
        size_t stray = w.at;
        while (w.at < n && in[w.at] == 0)
            w.at++;
        while (w.at < n && !frame_starts(in + w.at, n - w.at))
            w.at++;
        for (size_t i = stray; i < w.at; i++)
            if (in[i] != 0) {
                w.removed++;
                break;
            }
        if (w.at == n)
            break;
        if (out->n_frames == cap) {
            size_t *more = realloc(out->frame_at, (cap ? 2 * cap : 8) * sizeof *more);
            if (more == NULL) {
                rc = MEDREG_ERR_NOMEM;
                break;
            }
            out->frame_at = more;
            cap = cap ? 2 * cap : 8;
        }
        out->frame_at[out->n_frames++] = w.used;
        w.frame = out->n_frames;
        rc = in[w.at + 1] == 0xD8 ? jpeg_frame(&w) : j2k_frame(&w);
    }
    if (rc == MEDREG_OK && out->n_frames == 0) {
        snprintf(why, why_len, "the compressed pixels hold no JPEG, JPEG-LS or JPEG 2000 frame");
        rc = MEDREG_ERR_INVALID;
    }
    out->bytes = w.out;
    out->n = w.used;
    out->removed = w.removed;
    if (rc != MEDREG_OK)
        mr_codestream_frames_free(out);
    return rc;
}

void mr_codestream_frames_free(mr_codestream_frames *c)
{
    if (c->bytes)
        sodium_memzero(c->bytes, c->n);
    free(c->bytes);
    free(c->frame_at);
    memset(c, 0, sizeof *c);
}
