/* For the tests that make SoftHSM2 cards: a scratch folder of the test's
 * own, paths in it, and SoftHSM2 pointed at a token folder inside it
 * (SOFTHSM2_CONF), so that no test sees another's tokens. */
#ifndef MR_TEST_SOFTHSM_SCRATCH_H
#define MR_TEST_SOFTHSM_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

/* dir/name; each result stays valid for the next three calls */
static inline char *path(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* make /tmp/medreg-WHAT-XXXXXX and the SoftHSM2 configuration in it: 0 on failure */
static inline int softhsm_scratch(const char *what)
{
    snprintf(dir, sizeof dir, "/tmp/medreg-%.20s-XXXXXX", what);
    if (mkdtemp(dir) == NULL || mkdir(path("tokens"), 0700) != 0)
        return 0;
    FILE *fp = fopen(path("softhsm2.conf"), "w");
    if (fp == NULL)
        return 0;
    fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", path("tokens"));
    return fclose(fp) == 0 && setenv("SOFTHSM2_CONF", path("softhsm2.conf"), 1) == 0;
}

/* remove the scratch folder and all in it */
static inline void scratch_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
