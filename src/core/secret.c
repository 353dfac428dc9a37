#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_io.h"

void mr_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        sodium_memzero(p, len);
}

int mr_ct_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

void mr_secret_free(void *p)
{
    if (p != NULL)
        sodium_free(p); /* sodium_free wipes before unmapping */
}

void mr_free_wiped(void *p)
{
    if (p != NULL)
        mr_wipe(p, malloc_usable_size(p));
    free(p);
}

void mr_json_wipe_freed(void)
{
    json_set_alloc_funcs(malloc, mr_free_wiped);
}

void mr_memory_private(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0);
}

medreg_err mr_bind_now(char **argv)
{
    if (getenv("LD_BIND_NOW") != NULL)
        return MEDREG_OK;
    if (setenv("LD_BIND_NOW", "1", 1) != 0)
        return MEDREG_ERR_IO;
    execv("/proc/self/exe", argv);
    unsetenv("LD_BIND_NOW");
    return MEDREG_ERR_IO;
}

medreg_err mr_secret_file_read(const char *path, size_t want, size_t max, uint8_t **out,
                               size_t *out_len)
{
    medreg_err rc = MEDREG_ERR_IO;
    uint8_t *buf = NULL;
    size_t len = 0, cap = want ? want : max;
    struct stat st;
    int fd = -1;

    *out = NULL;
    /* O_NONBLOCK: a FIFO is refused below, not waited on */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    ENSURE(fd >= 0, MEDREG_ERR_IO);
    ENSURE(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), MEDREG_ERR_IO);
    /* a key others can read is a key already lost: refuse it loudly */
    ENSURE((st.st_mode & 077) == 0, MEDREG_ERR_DENIED);
    buf = sodium_malloc(cap + 1);
    ENSURE(buf != NULL, MEDREG_ERR_NOMEM);
    TRY(mr_fd_read_all(fd, buf, cap, &len));
    ENSURE(want == 0 || len == want, MEDREG_ERR_INVALID);
    buf[len] = 0;
    *out = buf;
    if (out_len)
        *out_len = len;
    buf = NULL;
    rc = MEDREG_OK;
out:
    if (buf)
        sodium_free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

medreg_err mr_dir_sync(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof dir)
        return MEDREG_ERR_TOOBIG;
    if (n == 0)
        memcpy(dir, ".", 2);
    else
        memcpy(dir, path, n), dir[n] = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MEDREG_ERR_IO;
    /* a file system that cannot sync a directory has nothing to sync */
    int bad = fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP;
    close(fd);
    return bad ? MEDREG_ERR_IO : MEDREG_OK;
}

medreg_err mr_secret_file_create(const char *path, int *fd)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0)
        return errno == EEXIST ? MEDREG_ERR_EXISTS : MEDREG_ERR_IO;
    return MEDREG_OK;
}

medreg_err mr_secret_file_finish(const char *path, int fd, int ok)
{
    medreg_err rc = ok ? MEDREG_OK : MEDREG_ERR_IO;
    if (rc == MEDREG_OK && fsync(fd) != 0)
        rc = MEDREG_ERR_IO;
    close(fd);
    if (rc == MEDREG_OK)
        rc = mr_dir_sync(path);
    if (rc != MEDREG_OK)
        unlink(path);
    return rc;
}

medreg_err mr_secret_file_write(const char *path, const void *data, size_t len)
{
    int fd;
    medreg_err rc = mr_secret_file_create(path, &fd);
    if (rc != MEDREG_OK)
        return rc;
    rc = mr_fd_write_all(fd, data, len);
    medreg_err done = mr_secret_file_finish(path, fd, rc == MEDREG_OK);
    return rc != MEDREG_OK ? rc : done;
}

static medreg_err file_read(const char *path, size_t max, int regular_only, char **out, size_t *out_len)
{
    medreg_err rc = MEDREG_OK;
    char *buf = NULL;
    size_t len = 0;
    int fd;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO waits for a writer, which may never come */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? MEDREG_ERR_NOTFOUND : MEDREG_ERR_IO;
    struct stat st;
    ENSURE(fstat(fd, &st) == 0, MEDREG_ERR_IO);
    ENSURE(S_ISREG(st.st_mode) || !regular_only, MEDREG_ERR_INVALID);
    /* a pipe's reads wait for its writer's bytes again */
    ENSURE(S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0, MEDREG_ERR_IO);
    /* no more memory than the bytes need (max may be gigabytes): a regular
     * file's size is known, and one too large is refused before any read;
     * other files (a pipe) and one that grows while it is read take a
     * buffer that doubles */
    size_t cap = max < 65536 ? max : 65536;
    if (S_ISREG(st.st_mode)) {
        ENSURE((uint64_t)st.st_size <= max, MEDREG_ERR_TOOBIG);
        cap = (size_t)st.st_size;
    }
    ENSURE((buf = malloc(cap + 2)) != NULL, MEDREG_ERR_NOMEM);
    for (;;) {
        if (len == cap + 1) { /* a byte past cap: there is more */
            ENSURE(cap < max, MEDREG_ERR_TOOBIG);
            cap = max - cap <= cap + 1 ? max : cap * 2 + 1; /* the lesser of max and 2 cap + 1 */
            char *more = realloc(buf, cap + 2);
            ENSURE(more != NULL, MEDREG_ERR_NOMEM);
            buf = more;
        }
        ssize_t got = read(fd, buf + len, cap + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        ENSURE(got >= 0, MEDREG_ERR_IO);
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = 0;
    *out = buf;
    if (out_len)
        *out_len = len;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

medreg_err mr_file_read(const char *path, size_t max, char **out, size_t *out_len)
{
    return file_read(path, max, 0, out, out_len);
}

medreg_err mr_regular_file_read(const char *path, size_t max, char **out, size_t *out_len)
{
    return file_read(path, max, 1, out, out_len);
}

int mr_path_is_irregular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

medreg_err mr_files_digest(const char *const *paths, size_t n, size_t max, uint8_t out[32])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++) {
        char *text = NULL, len_line[32];
        size_t len = 0;
        medreg_err rc = paths[i] ? mr_file_read(paths[i], max, &text, &len) : MEDREG_ERR_NOTFOUND;
        if (rc != MEDREG_OK && rc != MEDREG_ERR_NOTFOUND)
            return rc;
        int k = snprintf(len_line, sizeof len_line, "\n%zu %d\n", len, rc == MEDREG_OK);
        crypto_hash_sha256_update(&st, (const uint8_t *)len_line, (size_t)k);
        crypto_hash_sha256_update(&st, (const uint8_t *)text, len);
        free(text);
    }
    crypto_hash_sha256_final(&st, out);
    return MEDREG_OK;
}

medreg_err mr_file_replace_begin(const char *path, char tmp[MR_TMP_PATH_MAX], int *fd)
{
    int n = snprintf(tmp, MR_TMP_PATH_MAX, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= MR_TMP_PATH_MAX)
        return MEDREG_ERR_TOOBIG;
    *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    return *fd < 0 ? MEDREG_ERR_IO : MEDREG_OK;
}

medreg_err mr_file_replace_end(const char *path, const char *tmp, int fd, int ok)
{
    medreg_err rc = ok ? MEDREG_OK : MEDREG_ERR_IO;
    if (rc == MEDREG_OK && fsync(fd) != 0)
        rc = MEDREG_ERR_IO;
    if (close(fd) != 0 && rc == MEDREG_OK)
        rc = MEDREG_ERR_IO;
    if (rc == MEDREG_OK && rename(tmp, path) != 0)
        rc = MEDREG_ERR_IO;
    if (rc != MEDREG_OK)
        unlink(tmp);
    else
        rc = mr_dir_sync(path);
    return rc;
}

medreg_err mr_file_write(const char *path, const void *data, size_t len)
{
    char tmp[MR_TMP_PATH_MAX];
    int fd = -1;
    medreg_err rc = mr_file_replace_begin(path, tmp, &fd);
    if (rc != MEDREG_OK)
        return rc;
    rc = mr_fd_write_all(fd, data, len);
    medreg_err end = mr_file_replace_end(path, tmp, fd, rc == MEDREG_OK);
    return rc != MEDREG_OK ? rc : end;
}
