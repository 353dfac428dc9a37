#include "recode.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mr_recode {
    iconv_t cd;
    size_t unit; /* bytes per code unit: 1, or 2 for UTF-16 */
    int sniff;   /* utf-16: the byte order mark, if any, is still to be read */
};

/* a character takes at most 3 bytes of UTF-8 per byte of input (1 byte to
 * 3; 2 bytes of UTF-16 to 3; a surrogate pair's 4 to 4): the 3n bound */
static const struct {
    const char *name, *iconv_name;
    size_t unit;
} SUPPORTED[] = {{"windows-1252", "WINDOWS-1252", 1}, {"iso-8859-1", "ISO-8859-1", 1},
                 {"iso-8859-15", "ISO-8859-15", 1}, {"utf-16", "UTF-16LE", 2},
                 {"utf-16le", "UTF-16LE", 2},       {"utf-16be", "UTF-16BE", 2}};

medreg_err mr_recode_open(const char *encoding, mr_recode **out)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof SUPPORTED / sizeof SUPPORTED[0]; i++) {
        if (strcmp(encoding, SUPPORTED[i].name) != 0)
            continue;
        mr_recode *r = malloc(sizeof *r);
        if (r == NULL)
            return MEDREG_ERR_NOMEM;
        if ((r->cd = iconv_open("UTF-8", SUPPORTED[i].iconv_name)) == (iconv_t)-1) {
            free(r);
            return MEDREG_ERR_NOTFOUND;
        }
        r->unit = SUPPORTED[i].unit;
        r->sniff = !strcmp(encoding, "utf-16");
        *out = r;
        return MEDREG_OK;
    }
    return MEDREG_ERR_NOTFOUND;
}

size_t mr_recode_chunk(mr_recode *r, const char *in, size_t n, int last, char *out, size_t *used)
{
    char *ip = (char *)in, *op = out;
    size_t il = n, ol = 3 * n;
    if (r->sniff && n >= 2) { /* glibc's "UTF-16" would take the machine's byte order without a mark */
        int be = (uint8_t)in[0] == 0xFE && (uint8_t)in[1] == 0xFF, le = (uint8_t)in[0] == 0xFF && (uint8_t)in[1] == 0xFE;
        iconv_t cd = be ? iconv_open("UTF-8", "UTF-16BE") : (iconv_t)-1;
        r->sniff = 0;
        if (cd != (iconv_t)-1) {
            iconv_close(r->cd);
            r->cd = cd;
        }
        if (be || le)
            ip += 2, il -= 2;
    }
    while (il > 0) {
        if (iconv(r->cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == EINVAL && !last)
            break; /* a character cut at the end: it comes again with the next bytes */
        if (errno != EILSEQ && errno != EINVAL)
            break; /* E2BIG: cannot happen within 3n */
        size_t skip = il < r->unit ? il : r->unit;
        *op++ = (char)0xFF; /* undefined, or cut at the very end: invalid as UTF-8 */
        ip += skip;
        il -= skip;
        ol--;
    }
    *used = (size_t)(ip - in);
    return (size_t)(op - out);
}

void mr_recode_close(mr_recode *r)
{
    if (r == NULL)
        return;
    iconv_close(r->cd);
    free(r);
}
