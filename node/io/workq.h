/* workq.h — a pool of threads running queued jobs in arrival order: where requests that may
 * block on the disk are handled, whichever front end (NNG or HTTP) received them.
 *
 * Jobs are run by `threads` threads, first in, first out. A job is a function and its argument;
 * the queue holds them in a caller-provided struct sl_workq_job (no allocation per job), which
 * must stay alive until the job has started. Any thread may push.
 *
 *   sl_workq_start --> running --sl_workq_stop--> stopped --sl_workq_free--> gone
 *                               (jobs not started are handed to `drop`, the threads joined;
 *                                later pushes are dropped at once)
 */
#ifndef SL_IO_WORKQ_H
#define SL_IO_WORKQ_H

#include <stdbool.h>

struct sl_workq;

struct sl_workq_job {
    void (*run)(struct sl_workq_job *job);
    /* Called instead of run for a job still queued at sl_workq_stop (may be NULL). */
    void (*drop)(struct sl_workq_job *job);
    struct sl_workq_job *next; /* the queue's */
};

/* Starts `threads` (>= 1) threads. Returns 0, SL_ENOMEM or SL_EIO (threads could not start). */
int sl_workq_start(struct sl_workq **out, unsigned threads);

/* Queues `job`; it runs on one of the threads. After sl_workq_stop has begun, the job is
 * dropped at once (its `drop` is called on the calling thread). */
void sl_workq_push(struct sl_workq *q, struct sl_workq_job *job);

/* Lets the jobs that are running finish, drops the queued ones and joins the threads. The
 * queue stays valid: what is pushed later is dropped at once, so front ends still receiving
 * may push until they are stopped. NULL is ignored. */
void sl_workq_stop(struct sl_workq *q);

/* Frees a stopped queue (stopping it first if need be). No thread may push any more. NULL is
 * ignored. */
void sl_workq_free(struct sl_workq *q);

#endif
