#include "tlog_io.h"

#include <string.h>

#include "../core/encode.h"

medreg_err mr_tlog_hash_lines(const char *p, const char *end, size_t max, mr_hash *proof, size_t *n,
                              const char **after)
{
    const char *nl;
    *n = 0;
    for (; p < end && *p != '\n'; p = nl + 1) {
        size_t got = 0;
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL || *n >= max ||
            !mr_unbase64(p, (size_t)(nl - p), proof[*n], MR_HASH_BYTES, &got) || got != MR_HASH_BYTES)
            return MEDREG_ERR_INVALID;
        (*n)++;
    }
    if (p >= end)
        return MEDREG_ERR_INVALID;
    *after = p + 1;
    return MEDREG_OK;
}

medreg_err mr_witness_request_parse(const char *body, size_t len, uint64_t *old, mr_hash *proof, size_t *n,
                                    const char **note, size_t *note_len)
{
    const char *end = body + len, *p, *nl;
    uint64_t v = 0;
    *n = 0;
    if (len < 6 || memcmp(body, "old ", 4) != 0 || (nl = memchr(body, '\n', len)) == NULL || nl == body + 4)
        return MEDREG_ERR_INVALID;
    /* decimal, no leading zero unless "0" */
    if (nl - (body + 4) > 1 && body[4] == '0')
        return MEDREG_ERR_INVALID;
    for (p = body + 4; p < nl; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return MEDREG_ERR_INVALID;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *old = v;
    /* the proof lines, until the empty line (at most 63, RFC 6962 depth) */
    if (mr_tlog_hash_lines(nl + 1, end, 63, proof, n, note) != MEDREG_OK)
        return MEDREG_ERR_INVALID;
    *note_len = (size_t)(end - *note);
    return MEDREG_OK;
}

medreg_err mr_bundle_entries(const uint8_t *data, size_t len, size_t width, const uint8_t **entries, size_t *lens)
{
    size_t off = 0;
    for (size_t i = 0; i < width; i++) {
        if (len - off < 2)
            return MEDREG_ERR_INVALID;
        size_t l = (size_t)data[off] << 8 | data[off + 1];
        if (len - off - 2 < l)
            return MEDREG_ERR_INVALID;
        entries[i] = data + off + 2;
        lens[i] = l;
        off += 2 + l;
    }
    return off == len ? MEDREG_OK : MEDREG_ERR_INVALID; /* nothing after the last entry */
}
