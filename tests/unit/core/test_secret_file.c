/* Files that hold secrets and files replaced atomically: modes, refusals,
 * no temporary file left behind, and the directory sync that makes a new
 * name durable (its errors included). Runs in a fresh directory of its own. */
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../src/core/secret.h"
#include "../check.h"

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

int main(void)
{
    char dir[] = "secret-file-test.XXXXXX";
    CHECK(sodium_init() >= 0); /* secrets are read into sodium_malloc'ed memory */
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    CHECK(mkdir("sub", 0700) == 0);

    /* a secret file: 0600, never over an existing one, read back whole */
    const uint8_t key[32] = {1, 2, 3};
    CHECK(mr_secret_file_write("sub/k.key", key, sizeof key) == MEDREG_OK);
    CHECK(mode_of("sub/k.key") == 0600);
    CHECK(mr_secret_file_write("sub/k.key", key, sizeof key) == MEDREG_ERR_EXISTS);
    uint8_t *back = NULL;
    size_t n = 0;
    CHECK(mr_secret_file_read("sub/k.key", 32, 0, &back, &n) == MEDREG_OK && n == 32 && back &&
          memcmp(back, key, 32) == 0);
    mr_secret_free(back);
    /* a key others can read is refused; one of the wrong length too */
    CHECK(chmod("sub/k.key", 0640) == 0);
    CHECK(mr_secret_file_read("sub/k.key", 32, 0, &back, &n) == MEDREG_ERR_DENIED && back == NULL);
    CHECK(chmod("sub/k.key", 0600) == 0);
    CHECK(mr_secret_file_read("sub/k.key", 31, 0, &back, &n) == MEDREG_ERR_TOOBIG && back == NULL);
    CHECK(mr_secret_file_read("sub/k.key", 33, 0, &back, &n) == MEDREG_ERR_INVALID && back == NULL);
    /* a FIFO named as a key is refused, not waited on for a writer */
    CHECK(mkfifo("sub/fifo", 0600) == 0);
    CHECK(mr_secret_file_read("sub/fifo", 32, 0, &back, &n) == MEDREG_ERR_IO && back == NULL);
    /* in a directory that does not exist: an error, nothing made */
    CHECK(mr_secret_file_write("none/k.key", key, sizeof key) == MEDREG_ERR_IO);

    /* a public file replaced atomically: the new bytes, no temporary left */
    CHECK(mr_file_write("pub.txt", "old", 3) == MEDREG_OK);
    CHECK(mr_file_write("pub.txt", "new text", 8) == MEDREG_OK);
    char *text = NULL;
    CHECK(mr_file_read("pub.txt", 100, &text, &n) == MEDREG_OK && n == 8 && text && !strcmp(text, "new text"));
    free(text);
    CHECK(mr_file_read("pub.txt", 4, &text, &n) == MEDREG_ERR_TOOBIG);
    CHECK(mr_file_read("pub.txt", 8, &text, &n) == MEDREG_OK && n == 8 && !strcmp(text, "new text"));
    free(text);
    /* a file far larger than the bound (sparse: no disk) is refused from its
     * size, before any memory is taken for it; a large bound costs a small
     * file no more memory than it needs (a terabyte: no malloc gives that) */
    int sp = open("sparse.json", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(sp >= 0 && ftruncate(sp, (off_t)1 << 33) == 0 && close(sp) == 0);
    CHECK(mr_file_read("sparse.json", (size_t)1 << 32, &text, &n) == MEDREG_ERR_TOOBIG && text == NULL);
    CHECK(mr_file_read("pub.txt", (size_t)1 << 40, &text, &n) == MEDREG_OK && n == 8);
    free(text);
    unlink("sparse.json");
    /* a pipe: its size is not known, the buffer grows; exactly max bytes
     * pass, one more is too many */
    for (size_t extra = 0; extra < 2; extra++) {
        const size_t max = 200001;
        int pfd[2];
        CHECK(pipe(pfd) == 0);
        pid_t writer = fork();
        if (writer == 0) {
            static char chunk[4096];
            memset(chunk, 'x', sizeof chunk);
            close(pfd[0]);
            for (size_t left = max + extra; left > 0;) {
                size_t k = left < sizeof chunk ? left : sizeof chunk;
                if (write(pfd[1], chunk, k) != (ssize_t)k)
                    _exit(1);
                left -= k;
            }
            _exit(0);
        }
        close(pfd[1]);
        char dev[64];
        snprintf(dev, sizeof dev, "/dev/fd/%d", pfd[0]);
        text = NULL;
        n = 0;
        medreg_err rc = mr_file_read(dev, max, &text, &n);
        close(pfd[0]);
        CHECK(extra == 0 ? rc == MEDREG_OK && n == max && text[0] == 'x' && text[max - 1] == 'x' && text[max] == 0
                         : rc == MEDREG_ERR_TOOBIG && text == NULL);
        free(text);
        int status = 0;
        waitpid(writer, &status, 0);
    }
    /* a FIFO nobody writes to reads as empty (opening it would wait for a
     * writer); a file a configuration names must be a regular one: a FIFO,
     * a device that never ends and a folder are refused unread */
    CHECK(mr_file_read("sub/fifo", 100, &text, &n) == MEDREG_OK && n == 0 && text && !text[0]);
    free(text);
    const char *irregular[] = {"sub/fifo", "/dev/zero", "sub"};
    for (size_t i = 0; i < 3; i++) {
        text = NULL;
        CHECK(mr_regular_file_read(irregular[i], 100, &text, &n) == MEDREG_ERR_INVALID && text == NULL);
        CHECK(mr_path_is_irregular(irregular[i]));
    }
    CHECK(mr_regular_file_read("pub.txt", 100, &text, &n) == MEDREG_OK && n == 8 && !strcmp(text, "new text"));
    free(text);
    CHECK(!mr_path_is_irregular("pub.txt") && !mr_path_is_irregular("none/x"));
    char tmp[64];
    snprintf(tmp, sizeof tmp, "pub.txt.tmp.%ld", (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    CHECK(mode_of("pub.txt") == 0644);
    CHECK(mr_file_write("none/pub.txt", "x", 1) == MEDREG_ERR_IO);

    /* the directory of a name: relative, nested, at the root, missing, too long */
    CHECK(mr_dir_sync("pub.txt") == MEDREG_OK);
    CHECK(mr_dir_sync("sub/k.key") == MEDREG_OK);
    CHECK(mr_dir_sync("/etc") == MEDREG_OK);
    CHECK(mr_dir_sync("none/x") == MEDREG_ERR_IO);
    CHECK(mr_dir_sync("pub.txt/x") == MEDREG_ERR_IO); /* a file is no directory */
    static char long_path[5000];
    memset(long_path, 'a', sizeof long_path - 3);
    memcpy(long_path + sizeof long_path - 3, "/x", 3);
    CHECK(mr_dir_sync(long_path) == MEDREG_ERR_TOOBIG);

    /* a digest of several files: their order, an empty file against one that is not there, and a
     * file above the bound (an error, not absent) all tell */
    uint8_t d1[32], d2[32];
    CHECK(mr_file_write("sub/a", "a", 1) == MEDREG_OK && mr_file_write("sub/e", "", 0) == MEDREG_OK);
    const char *ae[] = {"sub/a", "sub/e"}, *ea[] = {"sub/e", "sub/a"}, *an[] = {"sub/a", "sub/none"},
               *anull[] = {"sub/a", NULL};
    CHECK(mr_files_digest(ae, 2, 16, d1) == MEDREG_OK && mr_files_digest(ea, 2, 16, d2) == MEDREG_OK &&
          memcmp(d1, d2, 32) != 0);
    CHECK(mr_files_digest(an, 2, 16, d2) == MEDREG_OK && memcmp(d1, d2, 32) != 0);
    CHECK(mr_files_digest(anull, 2, 16, d1) == MEDREG_OK && memcmp(d1, d2, 32) == 0);
    CHECK(mr_file_write("sub/e", "xy", 2) == MEDREG_OK && mr_files_digest(ae, 2, 1, d1) == MEDREG_ERR_TOOBIG);
    CHECK(unlink("sub/a") == 0 && unlink("sub/e") == 0);

    CHECK(unlink("sub/k.key") == 0 && unlink("sub/fifo") == 0 && rmdir("sub") == 0 && unlink("pub.txt") == 0);
    CHECK(chdir("..") == 0 && rmdir(dir) == 0);

    /* jansson frees through mr_free_wiped once asked to, and still works */
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    mr_json_wipe_freed();
    json_get_alloc_funcs(&m, &f);
    CHECK(m == malloc && f == mr_free_wiped);
    json_t *j = json_pack("{s:s}", "seed", "c2VjcmV0");
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    CHECK(t != NULL && !strcmp(t, "{\"seed\":\"c2VjcmV0\"}"));
    free(t);
    json_decref(j);
    mr_free_wiped(NULL);
    return TEST_DONE();
}
