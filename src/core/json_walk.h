/* Walking a JSON text a piece at a time.
 *
 * jansson parses a whole text into values, which for a file of a million
 * base64 strings is several times the file in memory. A walk finds the
 * members of an object and the elements of an array as byte ranges, by
 * their brackets, quotes and commas alone, so that each piece can be given
 * to jansson by itself (which checks it) and freed before the next. The
 * walk checks the structure between the pieces: a text that jansson would
 * refuse is refused by the walk or by jansson on a piece. */
#ifndef MR_JSON_WALK_H
#define MR_JSON_WALK_H

#include <stddef.h>

typedef struct mr_json_span {
    size_t start, end; /* text[start..end) */
} mr_json_span;

typedef struct mr_json_cursor {
    const char *text;
    size_t at, end; /* the container's inside still to walk: text[at..end) */
    char close;          /* '}' or ']' */
    int count;           /* pieces so far */
} mr_json_cursor;

/* The value that starts at text[at] after any white space. Returns 1 and
 * *span, or 0 if no value starts there (or a string or bracket does not
 * close before len). Scalars (numbers, true, false, null) end at the next
 * ',', ']', '}' or white space; jansson checks them. */
int mr_json_value_at(const char *text, size_t len, size_t at, mr_json_span *span);

/* Enter the object ('{') or array ('[') that span is. 0 if it is not one. */
int mr_json_enter(const char *text, mr_json_span span, char open, mr_json_cursor *c);

/* The next piece of the container: for an object its key (the span of a
 * string) and value, for an array the element in *value (key unused, may
 * be NULL). Returns 1 for a piece, 0 at the end, -1 if the text between
 * pieces is not ',' (or ':' after a key) and white space; *where is then
 * the offset of the fault. */
int mr_json_next(mr_json_cursor *c, mr_json_span *key, mr_json_span *value, size_t *where);

/* The first offset from at on that is not JSON white space (len if none):
 * after a whole text, anything but len is data after it. */
size_t mr_json_skip_space(const char *text, size_t len, size_t at);

/* The 1-based line of text[at], for messages. */
int mr_json_line(const char *text, size_t at);

#endif
