/* libFuzzer: the fragments of compressed pixels (codestream_text.h). What
 * is accepted is frames in order, no longer than the input; walked again it
 * is accepted as it is, with nothing more to take out. */
#include <stdlib.h>
#include <string.h>

#include "../../src/deid/codestream_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mr_codestream_frames c, again;
    char why[160];
    if (mr_codestream_strip_text(data, size, &c, why, sizeof why) != MEDREG_OK) {
        if (c.bytes != NULL || c.frame_at != NULL || c.n_frames != 0 || memchr(why, 0, sizeof why) == NULL)
            abort();
        return 0;
    }
    if (c.n > size || c.n_frames == 0 || c.frame_at[0] != 0)
        abort();
    for (size_t i = 1; i < c.n_frames; i++)
        if (c.frame_at[i] <= c.frame_at[i - 1] || c.frame_at[i] >= c.n)
            abort();
    if (mr_codestream_strip_text(c.bytes, c.n, &again, why, sizeof why) != MEDREG_OK || again.removed != 0 ||
        again.n != c.n || memcmp(again.bytes, c.bytes, c.n) != 0 || again.n_frames != c.n_frames ||
        memcmp(again.frame_at, c.frame_at, c.n_frames * sizeof *c.frame_at) != 0)
        abort();
    mr_codestream_frames_free(&again);
    mr_codestream_frames_free(&c);
    return 0;
}
