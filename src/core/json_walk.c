#include "json_walk.h"

#include <string.h>

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

size_t mr_json_skip_space(const char *text, size_t len, size_t at)
{
    while (at < len && is_ws(text[at]))
        at++;
    return at;
}

/* the index after the string that opens at t[at] ('"'), or 0 */
static size_t string_end(const char *t, size_t len, size_t at)
{
    for (size_t i = at + 1; i < len; i++) {
        if (t[i] == '\\')
            i++; /* the escaped character, whatever it is: jansson checks it */
        else if (t[i] == '"')
            return i + 1;
    }
    return 0;
}

int mr_json_value_at(const char *text, size_t len, size_t at, mr_json_span *span)
{
    at = mr_json_skip_space(text, len, at);
    if (at >= len)
        return 0;
    size_t i = at, depth = 0;
    char ch = text[at];
    if (ch == '"') {
        i = string_end(text, len, at);
    } else if (ch == '{' || ch == '[') {
        for (i = at; i < len; i++) {
            if (text[i] == '"') {
                size_t e = string_end(text, len, i);
                if (e == 0)
                    return 0;
                i = e - 1;
            } else if (text[i] == '{' || text[i] == '[') {
                depth++;
            } else if (text[i] == '}' || text[i] == ']') {
                if (--depth == 0)
                    break;
            }
        }
        i = i < len ? i + 1 : 0; /* a mismatched pair ('[}') is jansson's to refuse */
    } else if (ch == ',' || ch == ':' || ch == '}' || ch == ']') {
        return 0;
    } else {
        while (i < len && !is_ws(text[i]) && text[i] != ',' && text[i] != ']' && text[i] != '}' && text[i] != ':')
            i++;
    }
    if (i == 0)
        return 0;
    span->start = at;
    span->end = i;
    return 1;
}

int mr_json_enter(const char *text, mr_json_span span, char open, mr_json_cursor *c)
{
    if (span.end < span.start + 2 || text[span.start] != open || text[span.end - 1] != (open == '{' ? '}' : ']'))
        return 0;
    c->text = text;
    c->at = span.start + 1;
    c->end = span.end - 1;
    c->close = open == '{' ? '}' : ']';
    c->count = 0;
    return 1;
}

int mr_json_next(mr_json_cursor *c, mr_json_span *key, mr_json_span *value, size_t *where)
{
    size_t at = mr_json_skip_space(c->text, c->end, c->at);
    if (at >= c->end) {
        c->at = at;
        return 0;
    }
    if (c->count > 0) {
        if (c->text[at] != ',')
            goto bad;
        at++;
    }
    if (c->close == '}') {
        mr_json_span k;
        if (!mr_json_value_at(c->text, c->end, at, &k) || c->text[k.start] != '"')
            goto bad;
        at = mr_json_skip_space(c->text, c->end, k.end);
        if (at >= c->end || c->text[at] != ':')
            goto bad;
        at++;
        if (key)
            *key = k;
    }
    if (!mr_json_value_at(c->text, c->end, at, value))
        goto bad;
    c->at = value->end;
    c->count++;
    return 1;
bad:
    *where = mr_json_skip_space(c->text, c->end, at);
    return -1;
}

int mr_json_line(const char *text, size_t at)
{
    int line = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + at - p))) != NULL; p++)
        line++;
    return line;
}
