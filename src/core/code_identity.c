#include "code_identity.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAPS_LINES_MAX 65536 /* a process maps a few hundred */

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One executable mapping of maps' line as "path\n dev inode size mtime":
 * the mapped file as the kernel names it, with its size and time when the
 * path still leads to it (not when it was replaced meanwhile: " (deleted)",
 * or another file under its name). NULL for another mapping; *failed when
 * memory ran out. */
static char *file_of(char *line, int *failed)
{
    char *field[5], *path = strchr(line, '/'), *text = NULL, *end;
    struct stat sb;
    if (path == NULL)
        return NULL;
    path[-1] = 0; /* the fields before the path */
    path[strcspn(path, "\n")] = 0;
    char *at = line;
    for (size_t i = 0; i < 5; i++) { /* address, permissions, offset, device, inode */
        at += strspn(at, " ");
        field[i] = at;
        at += strcspn(at, " ");
        if (*at)
            *at++ = 0;
    }
    const char *perms = field[1], *dev = field[3];
    errno = 0;
    unsigned long long ino = strtoull(field[4], &end, 10);
    if (strchr(perms, 'x') == NULL || *dev == 0 || end == field[4] || *end || errno)
        return NULL;
    int n = stat(path, &sb) == 0 && (unsigned long long)sb.st_ino == ino
                ? asprintf(&text, "%s\n%s %llu %lld %lld.%09ld", path, dev, ino, (long long)sb.st_size,
                           (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec)
                : asprintf(&text, "%s\n%s %llu", path, dev, ino);
    if (n < 0) {
        *failed = 1;
        return NULL;
    }
    return text;
}

medreg_err mr_code_identity(uint8_t out[32])
{
    FILE *fp = fopen("/proc/self/maps", "re");
    if (fp == NULL)
        return MEDREG_ERR_IO;
    char *line = NULL, **files = NULL;
    size_t cap = 0, lines = 0, n = 0;
    int failed = 0;
    medreg_err rc = MEDREG_OK;
    while (rc == MEDREG_OK && getline(&line, &cap, fp) > 0) {
        char *f = ++lines > MAPS_LINES_MAX ? NULL : file_of(line, &failed);
        char **more = f != NULL && n % 64 == 0 ? reallocarray(files, n + 64, sizeof *files) : files;
        if (lines > MAPS_LINES_MAX)
            rc = MEDREG_ERR_TOOBIG;
        else if (failed || (f != NULL && more == NULL))
            rc = MEDREG_ERR_NOMEM;
        else if (f != NULL) {
            files = more;
            files[n++] = f;
            f = NULL;
        }
        free(f);
    }
    if (rc == MEDREG_OK && (ferror(fp) || n == 0))
        rc = MEDREG_ERR_IO;
    fclose(fp);
    free(line);
    /* in the order of their paths: the kernel lists them by address, which
     * differs from run to run */
    if (rc == MEDREG_OK) {
        crypto_hash_sha256_state st;
        crypto_hash_sha256_init(&st);
        qsort(files, n, sizeof *files, by_text);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(files[i], files[i - 1])) /* a file's next mapping */
                crypto_hash_sha256_update(&st, (const uint8_t *)files[i], strlen(files[i]) + 1);
        crypto_hash_sha256_final(&st, out);
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    return rc;
}
