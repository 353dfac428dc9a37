#include "file_tree.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 256

/* One folder on the way down: its entries sorted, a folder's name with a
 * '/' behind it. That makes sorting the names of one folder the same as
 * sorting the whole paths: "a/x" comes after "a.b" because '/' does. */
typedef struct level {
    char *dir;
    char **names;
    size_t n, next;
} level;

struct mr_file_tree {
    level lv[MAX_DEPTH];
    size_t depth;
    char *file; /* root was one file: the walk, not yet given */
    char *path;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void level_free(level *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->dir);
    memset(l, 0, sizeof *l);
}

/* Push dir (taken) as the deepest level, its entries read and sorted; on
 * failure dir becomes t->path, for the caller's message. */
static medreg_err descend(mr_file_tree *t, char *dir)
{
    level *l = &t->lv[t->depth];
    size_t cap = 0;
    DIR *d = t->depth < MAX_DEPTH ? opendir(dir) : NULL;
    if (d == NULL) {
        t->path = dir;
        return t->depth < MAX_DEPTH ? MEDREG_ERR_IO : MEDREG_ERR_TOOBIG;
    }
    l->dir = dir;
    medreg_err rc = MEDREG_OK;
    while (rc == MEDREG_OK) {
        struct stat st;
        errno = 0; /* readdir's end and its failure differ only by errno */
        struct dirent *de = readdir(d);
        if (de == NULL) {
            rc = errno != 0 ? MEDREG_ERR_IO : MEDREG_OK;
            break;
        }
        char *p = NULL;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
            rc = MEDREG_ERR_NOMEM;
            break;
        }
        int gone = lstat(p, &st) != 0;
        free(p);
        if (gone && errno != ENOENT) {
            rc = MEDREG_ERR_IO; /* never a file passed over unsaid */
            break;
        }
        int kind = gone ? 0 : S_ISDIR(st.st_mode) ? 2 : S_ISREG(st.st_mode) ? 1 : 0;
        if (kind == 0)
            continue; /* a link, a device, or gone meanwhile */
        if (l->n == cap) {
            size_t c = cap ? 2 * cap : 64;
            char **v = realloc(l->names, c * sizeof *v);
            if (v == NULL) {
                rc = MEDREG_ERR_NOMEM;
                break;
            }
            l->names = v;
            cap = c;
        }
        if (asprintf(&l->names[l->n], "%s%s", de->d_name, kind == 2 ? "/" : "") < 0) {
            rc = MEDREG_ERR_NOMEM;
            break;
        }
        l->n++;
    }
    int saved = errno;
    closedir(d);
    if (rc != MEDREG_OK) {
        t->path = l->dir;
        l->dir = NULL;
        level_free(l);
        errno = saved;
        return rc;
    }
    if (l->n > 1)
        qsort(l->names, l->n, sizeof *l->names, by_name);
    t->depth++;
    return MEDREG_OK;
}

medreg_err mr_file_tree_open(const char *root, mr_file_tree **out)
{
    struct stat st;
    *out = NULL;
    if (stat(root, &st) != 0)
        return errno == ENOENT ? MEDREG_ERR_NOTFOUND : MEDREG_ERR_IO;
    mr_file_tree *t = calloc(1, sizeof *t);
    if (t == NULL)
        return MEDREG_ERR_NOMEM;
    medreg_err rc = MEDREG_OK;
    char *p = strdup(root);
    if (p == NULL)
        rc = MEDREG_ERR_NOMEM;
    else if (S_ISREG(st.st_mode))
        t->file = p;
    else if (S_ISDIR(st.st_mode))
        rc = descend(t, p);
    else {
        free(p);
        errno = EINVAL;
        rc = MEDREG_ERR_INVALID;
    }
    if (rc != MEDREG_OK) {
        int saved = errno;
        mr_file_tree_free(t);
        errno = saved;
        return rc;
    }
    *out = t;
    return MEDREG_OK;
}

medreg_err mr_file_tree_next(mr_file_tree *t, const char **path)
{
    *path = NULL;
    free(t->path);
    t->path = NULL;
    if (t->file != NULL) {
        *path = t->path = t->file;
        t->file = NULL;
        return MEDREG_OK;
    }
    while (t->depth > 0) {
        level *l = &t->lv[t->depth - 1];
        if (l->next == l->n) {
            level_free(l);
            t->depth--;
            continue;
        }
        char *name = l->names[l->next++];
        size_t len = strlen(name);
        int is_dir = name[len - 1] == '/';
        char *p = NULL;
        if (asprintf(&p, "%s/%.*s", l->dir, (int)(len - (size_t)is_dir), name) < 0)
            return MEDREG_ERR_NOMEM;
        if (!is_dir) {
            *path = t->path = p;
            return MEDREG_OK;
        }
        medreg_err rc = descend(t, p);
        if (rc != MEDREG_OK) {
            *path = t->path; /* the folder */
            return rc;
        }
    }
    return MEDREG_OK;
}

void mr_file_tree_free(mr_file_tree *t)
{
    if (t == NULL)
        return;
    while (t->depth > 0)
        level_free(&t->lv[--t->depth]);
    free(t->file);
    free(t->path);
    free(t);
}
