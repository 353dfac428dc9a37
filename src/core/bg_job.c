#include "bg_job.h"

#include <pthread.h>
#include <stdlib.h>

struct mr_bg_job {
    mr_bg_fn fn;
    void *arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    unsigned long asked, served;
    int stop, failed;
};

static void *run(void *arg)
{
    mr_bg_job *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->asked == j->served && !j->stop)
            pthread_cond_wait(&j->wake, &j->mu);
        if (j->asked == j->served)
            break;
        unsigned long asked = j->asked;
        pthread_mutex_unlock(&j->mu);
        int bad = j->fn(j->arg) != 0;
        pthread_mutex_lock(&j->mu);
        j->failed |= bad;
        j->served = asked;
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

medreg_err mr_bg_job_start(mr_bg_fn fn, void *arg, mr_bg_job **out)
{
    mr_bg_job *j = calloc(1, sizeof *j);
    *out = NULL;
    if (j == NULL)
        return MEDREG_ERR_NOMEM;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->wake, NULL);
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->wake);
        free(j);
        return MEDREG_ERR_NOMEM;
    }
    *out = j;
    return MEDREG_OK;
}

void mr_bg_job_ask(mr_bg_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->asked++;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
}

medreg_err mr_bg_job_stop(mr_bg_job *j)
{
    if (j == NULL)
        return MEDREG_OK;
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    int failed = j->failed;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->wake);
    free(j);
    return failed ? MEDREG_ERR_IO : MEDREG_OK;
}
