#include "free_text.h"

#include <string.h>

int mr_text_holds(const char *t, size_t tn, const char *v, size_t vn)
{
    if (vn == 0)
        return 0;
    for (const char *p = t, *end = t + tn; (size_t)(end - p) >= vn;) {
        const char *hit = memmem(p, (size_t)(end - p), v, vn);
        if (hit == NULL)
            return 0;
        if ((hit == t || hit[-1] == ' ') && (hit + vn == end || hit[vn] == ' '))
            return 1;
        p = hit + 1;
    }
    return 0;
}
