/* Syncing a file behind its writer: asks while writing, a pipe (which
 * cannot be synced, and is no error), and a failed fdatasync, which must
 * reach the caller of stop. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../src/core/sync_behind.h"
#include "../check.h"

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "sync-behind-test.out";
    static char block[65536];
    mr_sync_behind *sb = NULL;

    /* a file written while syncs are asked for: every byte there */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(mr_sync_behind_start(fd, &sb) == MEDREG_OK);
    for (int i = 0; i < 64; i++) {
        memset(block, 'a' + i % 26, sizeof block);
        CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
        if (i % 8 == 7)
            mr_sync_behind_ask(sb);
    }
    CHECK(mr_sync_behind_stop(sb) == MEDREG_OK);
    CHECK(close(fd) == 0);
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    long n = 0;
    int ok = 1, c;
    while (fp && (c = fgetc(fp)) != EOF) {
        ok &= c == 'a' + (int)(n / (long)sizeof block) % 26;
        n++;
    }
    CHECK(n == 64L * (long)sizeof block && ok);
    if (fp)
        fclose(fp);
    unlink(path);

    /* a pipe cannot be synced: not an error */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(mr_sync_behind_start(p[1], &sb) == MEDREG_OK);
    mr_sync_behind_ask(sb);
    CHECK(mr_sync_behind_stop(sb) == MEDREG_OK);
    close(p[0]);
    close(p[1]);

    /* a sync that fails is reported by stop, even after later asks */
    fd = open("/dev/null", O_WRONLY);
    CHECK(fd >= 0);
    close(fd); /* fdatasync on it now fails (EBADF) */
    CHECK(mr_sync_behind_start(fd, &sb) == MEDREG_OK);
    mr_sync_behind_ask(sb);
    mr_sync_behind_ask(sb);
    CHECK(mr_sync_behind_stop(sb) == MEDREG_ERR_IO);

    /* nothing asked, nothing to report */
    CHECK(mr_sync_behind_start(1, &sb) == MEDREG_OK);
    CHECK(mr_sync_behind_stop(sb) == MEDREG_OK);
    CHECK(mr_sync_behind_stop(NULL) == MEDREG_OK);

    return TEST_DONE();
}
