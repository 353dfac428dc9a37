/* The tree walk: regular files only, in the order of their whole paths
 * (a file "a.x" before the folder "a", whose files come before "a0"),
 * links passed over, empty folders nothing; one file as root is the walk;
 * a missing root, a folder gone during the walk and one too deep are
 * errors that name it. */
#include <errno.h>
#include <fcntl.h>
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

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    return TEST_DONE();
}
