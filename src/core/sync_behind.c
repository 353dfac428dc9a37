#include "sync_behind.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct mr_sync_behind {
    int fd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    unsigned long asked, served;
    int stop, failed;
};

static void *run(void *arg)
{
    mr_sync_behind *sb = arg;
    pthread_mutex_lock(&sb->mu);
    for (;;) {
        while (sb->asked == sb->served && !sb->stop)
            pthread_cond_wait(&sb->wake, &sb->mu);
        if (sb->asked == sb->served)
            break;
        unsigned long asked = sb->asked;
        pthread_mutex_unlock(&sb->mu);
        int bad = fdatasync(sb->fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP;
        pthread_mutex_lock(&sb->mu);
        sb->failed |= bad;
        sb->served = asked;
    }
    pthread_mutex_unlock(&sb->mu);
    return NULL;
}

medreg_err mr_sync_behind_start(int fd, mr_sync_behind **out)
{
    mr_sync_behind *sb = calloc(1, sizeof *sb);
    *out = NULL;
    if (sb == NULL)
        return MEDREG_ERR_NOMEM;
    sb->fd = fd;
    pthread_mutex_init(&sb->mu, NULL);
    pthread_cond_init(&sb->wake, NULL);
    if (pthread_create(&sb->thread, NULL, run, sb) != 0) {
        pthread_mutex_destroy(&sb->mu);
        pthread_cond_destroy(&sb->wake);
        free(sb);
        return MEDREG_ERR_NOMEM;
    }
    *out = sb;
    return MEDREG_OK;
}

void mr_sync_behind_ask(mr_sync_behind *sb)
{
    pthread_mutex_lock(&sb->mu);
    sb->asked++;
    pthread_cond_signal(&sb->wake);
    pthread_mutex_unlock(&sb->mu);
}

medreg_err mr_sync_behind_stop(mr_sync_behind *sb)
{
    if (sb == NULL)
        return MEDREG_OK;
    pthread_mutex_lock(&sb->mu);
    sb->stop = 1;
    pthread_cond_signal(&sb->wake);
    pthread_mutex_unlock(&sb->mu);
    pthread_join(sb->thread, NULL);
    int failed = sb->failed;
    pthread_mutex_destroy(&sb->mu);
    pthread_cond_destroy(&sb->wake);
    free(sb);
    return failed ? MEDREG_ERR_IO : MEDREG_OK;
}
