#include "ini_file.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

medreg_err mr_ini_parse(const char *path, ini_handler handler, void *user, const char *err, char **errmsg)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        if (asprintf(errmsg, "%s: %s", path, strerror(errno)) < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    int line = ini_parse_file(fp, handler, user);
    fclose(fp);
    if (line != 0) {
        if (asprintf(errmsg, "%s:%d: %s", path, line, err[0] ? err : "syntax error") < 0)
            *errmsg = NULL;
        return MEDREG_ERR_CONFIG;
    }
    return MEDREG_OK;
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
