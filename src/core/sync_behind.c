#include "sync_behind.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bg_job.h"

struct mr_sync_behind {
    int fd;
    mr_bg_job *job;
};

static int sync_fd(void *arg)
{
    const mr_sync_behind *sb = arg;
    return fdatasync(sb->fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP;
}

medreg_err mr_sync_behind_start(int fd, mr_sync_behind **out)
{
    mr_sync_behind *sb = calloc(1, sizeof *sb);
    *out = NULL;
    if (sb == NULL)
        return MEDREG_ERR_NOMEM;
    sb->fd = fd;
    medreg_err rc = mr_bg_job_start(sync_fd, sb, &sb->job);
    if (rc != MEDREG_OK) {
        free(sb);
        return rc;
    }
    *out = sb;
    return MEDREG_OK;
}

void mr_sync_behind_ask(mr_sync_behind *sb) { mr_bg_job_ask(sb->job); }

medreg_err mr_sync_behind_stop(mr_sync_behind *sb)
{
    if (sb == NULL)
        return MEDREG_OK;
    medreg_err rc = mr_bg_job_stop(sb->job);
    free(sb);
    return rc;
}
