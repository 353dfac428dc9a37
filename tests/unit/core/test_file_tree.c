/* The tree walk: regular files only, in the order of their whole paths
 * (a file "a.x" before the folder "a", whose files come before "a0"),
 * links passed over, empty folders nothing; one file as root is the walk;
 * a missing root, a folder gone during the walk, one too deep and an entry
 * that cannot be looked at are errors that name the folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "../../../src/core/file_tree.h"

static char root[] = "/tmp/medreg-tree-XXXXXX";

static void touch(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
}

static void folder(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CHECK(mkdir(p, 0700) == 0);
}

int main(void)
{
    mr_file_tree *t;
    const char *p;
    char want[512];
    CHECK(mkdtemp(root) != NULL);
    folder("a");
    touch("a/z");
    touch("a.x");
    touch("a0");
    folder("b");
    folder("b/c");
    touch("b/c/d");
    folder("e");
    folder("gone");
    char link[512];
    snprintf(link, sizeof link, "%s/l", root);
    CHECK(symlink("a.x", link) == 0);

    static const char *const order[] = {"a.x", "a/z", "a0", "b/c/d"};
    CHECK(mr_file_tree_open(root, &t) == MEDREG_OK);
    snprintf(want, sizeof want, "%s/gone", root);
    CHECK(rmdir(want) == 0); /* listed, then gone before the walk gets there */
    for (size_t i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s/%s", root, order[i]);
        CHECK(mr_file_tree_next(t, &p) == MEDREG_OK);
        CHECK_STR(p, want);
    }
    snprintf(want, sizeof want, "%s/gone", root);
    CHECK(mr_file_tree_next(t, &p) == MEDREG_ERR_IO && errno == ENOENT);
    CHECK_STR(p, want);
    mr_file_tree_free(t);

    /* the whole walk, to its end */
    size_t n = 0;
    CHECK(mr_file_tree_open(root, &t) == MEDREG_OK);
    while (mr_file_tree_next(t, &p) == MEDREG_OK && p != NULL)
        n++;
    CHECK(n == 4 && p == NULL);
    mr_file_tree_free(t);

    /* one file */
    snprintf(want, sizeof want, "%s/a0", root);
    CHECK(mr_file_tree_open(want, &t) == MEDREG_OK);
    CHECK(mr_file_tree_next(t, &p) == MEDREG_OK);
    CHECK_STR(p, want);
    CHECK(mr_file_tree_next(t, &p) == MEDREG_OK && p == NULL);
    mr_file_tree_free(t);

    snprintf(want, sizeof want, "%s/none", root);
    CHECK(mr_file_tree_open(want, &t) == MEDREG_ERR_NOTFOUND && t == NULL);

    /* 300 folders deep: refused at the 257th, named */
    char deep[1024];
    snprintf(deep, sizeof deep, "%s/e", root);
    for (int i = 0; i < 300; i++) {
        size_t len = strlen(deep);
        snprintf(deep + len, sizeof deep - len, "/d");
        CHECK(mkdir(deep, 0700) == 0);
    }
    CHECK(mr_file_tree_open(root, &t) == MEDREG_OK);
    medreg_err rc;
    while ((rc = mr_file_tree_next(t, &p)) == MEDREG_OK && p != NULL)
        ;
    CHECK(rc == MEDREG_ERR_TOOBIG && p != NULL && strlen(p) > strlen(root) + 2 * 255);
    mr_file_tree_free(t);

    /* an entry that cannot be looked at (its path longer than PATH_MAX,
     * its folder's not): the walk fails, naming the folder, rather than
     * pass a file over */
    char lng[PATH_MAX + 64], part[201];
    memset(part, 'x', 200);
    part[200] = 0;
    snprintf(lng, sizeof lng, "%s/long", root);
    CHECK(mkdir(lng, 0700) == 0);
    while (strlen(lng) + 201 < PATH_MAX - 20) {
        size_t at = strlen(lng);
        snprintf(lng + at, sizeof lng - at, "/%s", part);
        CHECK(mkdir(lng, 0700) == 0);
    }
    size_t pad = PATH_MAX - 12 - strlen(lng), at = strlen(lng); /* the folder's path: PATH_MAX - 12 bytes */
    part[pad - 1] = 0;
    snprintf(lng + at, sizeof lng - at, "/%s", part);
    CHECK(mkdir(lng, 0700) == 0 && strlen(lng) == PATH_MAX - 12);
    int dfd = open(lng, O_RDONLY | O_DIRECTORY);
    int ffd = dfd >= 0 ? openat(dfd, "0123456789ab", O_WRONLY | O_CREAT, 0600) : -1; /* path: PATH_MAX + 1 */
    CHECK(ffd >= 0);
    if (ffd >= 0)
        close(ffd);
    if (dfd >= 0)
        close(dfd);
    snprintf(want, sizeof want, "%s/long", root);
    CHECK(mr_file_tree_open(want, &t) == MEDREG_OK);
    while ((rc = mr_file_tree_next(t, &p)) == MEDREG_OK && p != NULL)
        ;
    CHECK(rc == MEDREG_ERR_IO && errno == ENAMETOOLONG && p != NULL && strlen(p) == PATH_MAX - 12);
    mr_file_tree_free(t);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    return TEST_DONE();
}
