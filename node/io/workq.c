/* workq.c — a pool of threads running queued jobs (see workq.h). */
#include "io/workq.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <pthread.h>
#include <stddef.h>

struct sl_workq {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sl_workq_job *head, *tail; /* FIFO */
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;
};

static void *thread_main(void *arg)
{
    struct sl_workq *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->head && !q->stopping) {
            pthread_cond_wait(&q->cond, &q->mu);
        }
        if (q->stopping) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        struct sl_workq_job *job = q->head;
        q->head = job->next;
        if (!q->head) {
            q->tail = NULL;
        }
        pthread_mutex_unlock(&q->mu);
        job->run(job);
    }
}

int sl_workq_start(struct sl_workq **out, unsigned threads)
{
    *out = NULL;
    struct sl_workq *q = sl_calloc(1, sizeof(*q));
    if (!q || threads == 0 || !(q->threads = sl_calloc(threads, sizeof(*q->threads)))) {
        sl_free(q);
        return SL_ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cond, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&q->threads[i], NULL, thread_main, q) != 0) {
            sl_workq_free(q);
            return SL_EIO;
        }
        q->n_threads++;
    }
    *out = q;
    return SL_OK;
}

void sl_workq_push(struct sl_workq *q, struct sl_workq_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->stopping) {
        pthread_mutex_unlock(&q->mu);
        if (job->drop) {
            job->drop(job);
        }
        return;
    }
    if (q->tail) {
        q->tail->next = job;
    } else {
        q->head = job;
    }
    q->tail = job;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

void sl_workq_stop(struct sl_workq *q)
{
    if (!q) {
        return;
    }
    pthread_mutex_lock(&q->mu);
    bool joined = q->stopping;
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->mu);
    if (joined) {
        return;
    }
    for (unsigned i = 0; i < q->n_threads; i++) {
        pthread_join(q->threads[i], NULL);
    }
    /* No thread takes jobs any more, and pushes now drop at once: what is left was never
     * started. */
    pthread_mutex_lock(&q->mu);
    struct sl_workq_job *left = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (left) {
        struct sl_workq_job *job = left;
        left = job->next;
        if (job->drop) {
            job->drop(job);
        }
    }
}

void sl_workq_free(struct sl_workq *q)
{
    if (!q) {
        return;
    }
    sl_workq_stop(q);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    sl_free(q->threads);
    sl_free(q);
}
