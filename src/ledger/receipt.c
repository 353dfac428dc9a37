#include "receipt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/encode.h"
#include "tlog_io.h"

static const char HEADER[] = "c2sp.org/tlog-proof@v1\n";

medreg_err mr_receipt_format(uint64_t index, const mr_hash *proof, size_t n, const char *note, size_t note_len,
                             char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    *out = NULL;
    if (fp == NULL)
        return MEDREG_ERR_NOMEM;
    fprintf(fp, "%sindex %" PRIu64 "\n", HEADER, index);
    for (size_t i = 0; i < n; i++) {
        char *b = mr_base64(proof[i], MR_HASH_BYTES);
        fprintf(fp, "%s\n", b ? b : "");
        free(b);
    }
    fputc('\n', fp);
    fwrite(note, 1, note_len, fp);
    if (fclose(fp) != 0) {
        free(buf);
        return MEDREG_ERR_NOMEM;
    }
    *out = buf;
    return MEDREG_OK;
}

medreg_err mr_receipt_parse(const char *text, size_t len, uint64_t *index, mr_hash *proof, size_t *n,
                            const char **note, size_t *note_len)
{
    const char *p = text, *end = text + len, *nl;
    *n = 0;
    if (len < sizeof HEADER || len > MR_NOTE_MAX + 8192 || memcmp(text, HEADER, sizeof HEADER - 1) != 0)
        return MEDREG_ERR_INVALID;
    p += sizeof HEADER - 1;
    /* an "extra" line is allowed and not trusted */
    if ((size_t)(end - p) > 6 && memcmp(p, "extra ", 6) == 0) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            return MEDREG_ERR_INVALID;
        p = nl + 1;
    }
    if ((size_t)(end - p) < 7 || memcmp(p, "index ", 6) != 0 || (nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
        return MEDREG_ERR_INVALID;
    uint64_t v = 0;
    const char *d = p + 6;
    if (nl == d || (nl - d > 1 && *d == '0'))
        return MEDREG_ERR_INVALID;
    for (; d < nl; d++) {
        if (*d < '0' || *d > '9' || v > (UINT64_MAX - 9) / 10)
            return MEDREG_ERR_INVALID;
        v = v * 10 + (uint64_t)(*d - '0');
    }
    *index = v;
    if (mr_tlog_hash_lines(nl + 1, end, MR_PROOF_MAX, proof, n, note) != MEDREG_OK)
        return MEDREG_ERR_INVALID;
    *note_len = (size_t)(end - *note);
    return MEDREG_OK;
}

medreg_err mr_receipt_verify(const char *text, size_t len, const uint8_t *entry, size_t entry_len,
                             const mr_note_verifier *log, const mr_note_verifier *witnesses, size_t nw, size_t quorum,
                             uint64_t *index)
{
    mr_hash proof[MR_PROOF_MAX], leaf;
    size_t n = 0, note_len = 0, tl = 0, cosigned = 0;
    const char *note = NULL;
    mr_note_verifier all[1 + 16];
    int ok[1 + 16];
    mr_checkpoint cp;
    medreg_err rc;
    if (nw > 16 || quorum > nw)
        return MEDREG_ERR_INVALID;
    if ((rc = mr_receipt_parse(text, len, index, proof, &n, &note, &note_len)) != MEDREG_OK)
        return rc;
    all[0] = *log;
    for (size_t i = 0; i < nw; i++)
        all[1 + i] = witnesses[i];
    if ((rc = mr_note_open(note, note_len, all, 1 + nw, &tl, ok)) != MEDREG_OK)
        return rc == MEDREG_ERR_INVALID ? rc : MEDREG_ERR_VERIFY;
    if (!ok[0] || mr_checkpoint_parse(note, tl, &cp) != MEDREG_OK || strcmp(cp.origin, log->name) != 0)
        return MEDREG_ERR_VERIFY;
    for (size_t i = 0; i < nw; i++)
        cosigned += (size_t)ok[1 + i];
    if (cosigned < quorum)
        return MEDREG_ERR_VERIFY;
    mr_merkle_leaf_hash(entry, entry_len, leaf);
    return mr_merkle_verify_inclusion(*index, cp.size, leaf, (const mr_hash *)proof, n, cp.root);
}
