/* Reading a large JSON object a piece at a time, from a file or anything
 * else that gives bytes in order.
 *
 * The offline VOPRF files are one object with a few small members and one
 * bulk array (a million elements or more). json_walk.h finds the pieces of
 * a text held whole; this finds the same pieces in a window that slides
 * over the stream, so that what is held is one piece and one read, whatever
 * the size of the file. Each piece goes to a callback, which gives it to
 * jansson by itself; the walk checks the structure between the pieces. */
#ifndef MR_JSON_STREAM_H
#define MR_JSON_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h"

typedef struct mr_json_source {
    /* up to cap bytes into buf: how many, 0 at the end, -1 on a read error
     * (errno says which) */
    long (*read)(void *ctx, char *buf, size_t cap);
    void *ctx;
} mr_json_source;

/* A text in memory as a source, given at most step bytes a read (0: all
 * that fits), so that tests reach every place where a read can end. */
typedef struct mr_json_memory {
    const char *text;
    size_t len, at, step;
} mr_json_memory;
long mr_json_memory_read(void *memory, char *buf, size_t cap);

typedef struct mr_json_piece {
    const char *text; /* not NUL-terminated; valid during the callback only */
    size_t len;
    uint64_t offset; /* of text[0] in the stream */
    int line;        /* 1-based line of text[0], for messages */
} mr_json_piece;

typedef struct mr_json_stream_fns {
    /* a member of the object other than the bulk array: its key (a JSON
     * string, quotes included) and its value */
    medreg_err (*member)(void *ctx, const mr_json_piece *key, const mr_json_piece *value);
    /* the bulk array's next element */
    medreg_err (*element)(void *ctx, const mr_json_piece *value, size_t index);
    void *ctx;
} mr_json_stream_fns;

/* Walk the object that src holds: every member whose key is not exactly
 * "big" (written without escapes) goes to member(), and each element of the
 * member "big", if it is an array, to element() (one that is not an array
 * goes to member() like the others). *big_seen says whether it was an
 * array. No piece may be longer than max_piece bytes. Returns MEDREG_OK;
 * MEDREG_ERR_INVALID with *err (NULL on entry; malloc'ed) saying what is
 * wrong with the structure and at which line; MEDREG_ERR_IO (errno);
 * MEDREG_ERR_NOMEM; or what a callback returned (its words are its own). */
MR_MUST_CHECK medreg_err mr_json_stream_object(const mr_json_source *src, const char *big, size_t max_piece,
                                               const mr_json_stream_fns *fns, int *big_seen, char **err);

#endif
