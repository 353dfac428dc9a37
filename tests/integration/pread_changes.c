/* A file that changes under its reader, for integration.deid_oprf: loaded
 * with LD_PRELOAD, every pread(2) on a descriptor open on the file that
 * MEDREG_TEST_CHANGED_FILE names returns its bytes with the first letter
 * of the first blinded element it holds changed, as if the file had
 * been written between a first reading with read(2) and a second with
 * pread(2). `--finish` reads each batch of a response again that way. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT, memmem */
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int is_the_file(int fd)
{
    const char *name = getenv("MEDREG_TEST_CHANGED_FILE");
    char link[64], open_as[PATH_MAX], wanted[PATH_MAX];
    ssize_t n;
    if (name == NULL || realpath(name, wanted) == NULL)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if ((n = readlink(link, open_as, sizeof open_as - 1)) < 0)
        return 0;
    open_as[n] = 0;
    return strcmp(open_as, wanted) == 0;
}

/* the first character of the first blinded element, which carries six
 * whole bits of it (a later one might be a padding character) */
static void change(void *buf, ssize_t got)
{
    char *b = buf, *end = b + (got > 0 ? got : 0), *at;
    if ((at = memmem(b, (size_t)(end - b), "\"blinded\"", 9)) == NULL ||
        (at = memchr(at + 9, '[', (size_t)(end - at - 9))) == NULL ||
        (at = memchr(at, '"', (size_t)(end - at))) == NULL || at + 1 >= end)
        return;
    at[1] = at[1] == 'A' ? 'B' : 'A';
}

/* exported whatever the build hides by default: the dynamic linker must see them */
__attribute__((visibility("default"))) ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
    ssize_t (*next)(int, void *, size_t, off_t) = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
    ssize_t got = next(fd, buf, count, offset);
    if (is_the_file(fd))
        change(buf, got);
    return got;
}

__attribute__((visibility("default"))) ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
    return pread(fd, buf, count, offset);
}
