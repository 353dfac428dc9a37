/* Reading an INI file through inih with one error shape: "FILE: cause" when
 * it cannot be opened, "FILE:LINE: problem" when a line is refused. */
#ifndef MR_INI_FILE_H
#define MR_INI_FILE_H

#include <ini.h>

#include "../core/safety.h"

/* The bounds of an INI file: its size, and a line's length without its
 * line break. */
#define MR_INI_FILE_MAX (1u << 20)
#define MR_INI_LINE_MAX 199

/* Parse path with handler (a regular file, text within the bounds above); a handler that refuses a line writes why into
 * err (read once parsing stops). MEDREG_ERR_CONFIG with *errmsg (malloc'ed)
 * on failure. */
MR_MUST_CHECK medreg_err mr_ini_parse(const char *path, ini_handler handler, void *user, const char *err,
                                      char **errmsg);

/* The folder of the INI file at path, malloc'ed: its relative paths are
 * taken from there. */
char *mr_ini_dir(const char *path);

/* A path from an INI file: v itself if absolute, else taken relative to
 * dir (the file's own folder). malloc'ed; NULL when out of memory. */
char *mr_ini_resolve(const char *dir, const char *v);

/* A handler's refusal: writes "what 'v'" into err (cap bytes) and returns
 * 0, which tells inih to stop at this line. */
int mr_ini_refuse(char *err, size_t cap, const char *what, const char *v);

#endif
