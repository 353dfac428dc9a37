#include "ini_file.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/secret.h"

/* Whether text can go to ini_parse_string as it is: else *why and *line
 * (from 1) say where it cannot. Debian's inih reads a line through a
 * buffer of INI_MAX_LINE (200) bytes and takes the rest of a longer one as
 * a line of its own (a value cut short, its tail a comment or an unknown
 * key), and a string ends at its first NUL: refused, not half-read. */
static int ini_text_ok(const char *text, size_t len, const char **why, int *line)
{
    *line = 1;
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i - start > MR_INI_LINE_MAX) {
                *why = "line longer than the 199 bytes an INI line may have (a list goes on over indented lines)";
                return 0;
            }
            start = i + 1;
            ++*line;
        } else if (text[i] == 0) {
            *why = "a NUL byte: not a text file";
            return 0;
        }
    }
    return 1;
}

medreg_err mr_ini_parse(const char *path, ini_handler handler, void *user, const char *err, char **errmsg)
{
    char *text = NULL;
    size_t len = 0;
    const char *why = NULL;
    int line = 0;
    medreg_err rc = mr_regular_file_read(path, MR_INI_FILE_MAX, &text, &len);
    if (rc != MEDREG_OK) {
        why = rc == MEDREG_ERR_INVALID ? "not a regular file"
              : rc == MEDREG_ERR_TOOBIG ? "larger than 1 MiB: not a configuration"
              : rc == MEDREG_ERR_NOMEM  ? medreg_strerror(rc)
                                        : strerror(errno);
    } else if (ini_text_ok(text, len, &why, &line)) {
        line = ini_parse_string(text, handler, user);
        why = line == 0 ? NULL : err[0] ? err : "syntax error";
    }
    free(text);
    if (why == NULL)
        return MEDREG_OK;
    if ((line > 0 ? asprintf(errmsg, "%s:%d: %s", path, line, why) : asprintf(errmsg, "%s: %s", path, why)) < 0)
        *errmsg = NULL;
    return MEDREG_ERR_CONFIG;
}

char *mr_ini_resolve(const char *dir, const char *v)
{
    char *p = NULL;
    if (v[0] == '/')
        return strdup(v);
    return asprintf(&p, "%s/%s", dir, v) < 0 ? NULL : p;
}

int mr_ini_refuse(char *err, size_t cap, const char *what, const char *v)
{
    snprintf(err, cap, "%s '%.64s'", what, v);
    return 0;
}

char *mr_ini_dir(const char *path)
{
    char *tmp = strdup(path), *dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);
    return dir;
}
