/* test_workq.c — the work queue runs jobs in order, on its own threads, and drops what it did
 * not start when stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/errors.h"
#include "io/workq.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct job {
    struct sl_workq_job base;
    int id;
    int *order;
    atomic_int *ran;
    atomic_int *dropped;
    pthread_t *thread;
    /* Blocks the job until released (a gate); `started` is set first. */
    pthread_mutex_t *gate;
    atomic_int *started;
};

static void run(struct sl_workq_job *j)
{
    struct job *job = (struct job *)j;
    if (job->started) {
        atomic_store(job->started, 1);
    }
    if (job->gate) {
        pthread_mutex_lock(job->gate);
        pthread_mutex_unlock(job->gate);
    }
    if (job->thread) {
        *job->thread = pthread_self();
    }
    int at = atomic_fetch_add(job->ran, 1);
    if (job->order) {
        job->order[at] = job->id;
    }
}

static void drop(struct sl_workq_job *j)
{
    struct job *job = (struct job *)j;
    atomic_fetch_add(job->dropped, 1);
}

static struct job make(int id, int *order, atomic_int *ran, atomic_int *dropped)
{
    return (struct job){.base = {.run = run, .drop = drop},
                        .id = id,
                        .order = order,
                        .ran = ran,
                        .dropped = dropped};
}

static void test_one_thread_runs_jobs_in_arrival_order(void **state)
{
    (void)state;
    struct sl_workq *q;
    assert_int_equal(sl_workq_start(&q, 1), SL_OK);
    enum { N = 1000 };
    static struct job jobs[N];
    static int order[N];
    atomic_int ran = 0, dropped = 0;
    for (int i = 0; i < N; i++) {
        jobs[i] = make(i, order, &ran, &dropped);
        sl_workq_push(q, &jobs[i].base);
    }
    /* Stop drops only what never started, so wait for all of them first. */
    while (atomic_load(&ran) < N) {
        sched_yield();
    }
    sl_workq_free(q);
    for (int i = 0; i < N; i++) {
        assert_int_equal(order[i], i);
    }
    assert_int_equal(dropped, 0);
}

static void test_jobs_run_on_the_queue_threads_not_the_pusher(void **state)
{
    (void)state;
    struct sl_workq *q;
    assert_int_equal(sl_workq_start(&q, 3), SL_OK);
    atomic_int ran = 0, dropped = 0;
    pthread_t where;
    struct job j = make(0, NULL, &ran, &dropped);
    j.thread = &where;
    sl_workq_push(q, &j.base);
    while (atomic_load(&ran) < 1) {
        sched_yield();
    }
    assert_false(pthread_equal(where, pthread_self()));
    sl_workq_free(q);
}

static void *stop_main(void *q)
{
    sl_workq_free(q);
    return NULL;
}

static void test_stop_drops_queued_jobs_and_lets_the_running_one_finish(void **state)
{
    (void)state;
    struct sl_workq *q;
    assert_int_equal(sl_workq_start(&q, 1), SL_OK);
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate);
    atomic_int ran = 0, dropped = 0;
    atomic_int started = 0;
    struct job blocker = make(0, NULL, &ran, &dropped);
    blocker.gate = &gate;
    blocker.started = &started;
    struct job queued[5];
    sl_workq_push(q, &blocker.base);
    for (int i = 0; i < 5; i++) {
        queued[i] = make(i + 1, NULL, &ran, &dropped);
        sl_workq_push(q, &queued[i].base);
    }
    /* Once the one thread is held in the blocker, stop; release the blocker while stop waits. */
    while (!atomic_load(&started)) {
        sched_yield();
    }
    pthread_t stopper;
    assert_int_equal(pthread_create(&stopper, NULL, stop_main, q), 0);
    pthread_mutex_unlock(&gate);
    pthread_join(stopper, NULL);
    /* The blocker ran; of the five queued, each either ran before the stop or was dropped. */
    assert_int_equal(ran + dropped, 6);
    assert_true(ran >= 1);
}

static void test_push_after_stop_is_dropped_at_once(void **state)
{
    (void)state;
    struct sl_workq *q;
    assert_int_equal(sl_workq_start(&q, 2), SL_OK);
    sl_workq_stop(q);
    atomic_int ran = 0, dropped = 0;
    struct job late = make(0, NULL, &ran, &dropped);
    sl_workq_push(q, &late.base); /* a front end still receiving, as at a node's stop */
    assert_int_equal(dropped, 1);
    assert_int_equal(ran, 0);
    sl_workq_free(q);
    assert_int_equal(ran, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_thread_runs_jobs_in_arrival_order),
        cmocka_unit_test(test_jobs_run_on_the_queue_threads_not_the_pusher),
        cmocka_unit_test(test_stop_drops_queued_jobs_and_lets_the_running_one_finish),
        cmocka_unit_test(test_push_after_stop_is_dropped_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
