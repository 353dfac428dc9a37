#include "recode.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

struct mr_recode {
    iconv_t cd;
};

/* every supported encoding takes one byte per character: that is what makes
 * the 3n bound and the chunk-by-chunk conversion safe */
static const struct {
    const char *name, *iconv_name;
} SUPPORTED[] = {{"windows-1252", "WINDOWS-1252"}, {"iso-8859-1", "ISO-8859-1"}, {"iso-8859-15", "ISO-8859-15"}};

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
        *out = r;
        return MEDREG_OK;
    }
    return MEDREG_ERR_NOTFOUND;
}

size_t mr_recode_chunk(mr_recode *r, const char *in, size_t n, char *out)
{
    char *ip = (char *)in, *op = out;
    size_t il = n, ol = 3 * n;
    while (il > 0) {
        if (iconv(r->cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno != EILSEQ && errno != EINVAL)
            break; /* E2BIG: cannot happen within 3n */
        *op++ = *ip++; /* undefined here: kept, and invalid as UTF-8 */
        il--;
        ol--;
    }
    return (size_t)(op - out);
}

void mr_recode_close(mr_recode *r)
{
    if (r == NULL)
        return;
    iconv_close(r->cd);
    free(r);
}
