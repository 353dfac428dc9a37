/* How many write+fsync pairs per second this machine's disk sustains: the
 * ceiling for one-transaction-per-request commits with synchronous=FULL. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "fsync-bench.tmp";
    double secs = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[4096] = {0};
    struct timespec a, b;
    long n = 0;
    if (fd < 0) {
        perror(path);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    do {
        if (pwrite(fd, buf, sizeof buf, (off_t)(n % 256) * 4096) != sizeof buf || fsync(fd) != 0) {
            perror("fsync");
            return 1;
        }
        n++;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
    close(fd);
    unlink(path);
    printf("%.0f\n", (double)n / ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9));
    return 0;
}
