/* net.c — the client-facing NNG server (see net.h). */
#include "io/net.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

enum req_state { RECEIVING, QUEUED, HANDLING, SENDING };

struct sl_net_req {
    struct sl_net_server *s;
    nng_ctx ctx;
    nng_aio *aio;
    enum req_state state;
    nng_msg *msg;
    void *carry;             /* from the fast handler to the worker's */
    struct sl_net_req *next; /* in the worker queue */
};

struct sl_net_server {
    struct sl_net_options opt;
    nng_socket sock;
    struct sl_net_req *reqs;
    unsigned n_reqs;
    pthread_t *workers;
    unsigned n_workers;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sl_net_req *head, *tail; /* queued requests, FIFO */
    bool stopping;
};

static void enqueue(struct sl_net_server *s, struct sl_net_req *r)
{
    pthread_mutex_lock(&s->mu);
    r->next = NULL;
    if (s->tail) {
        s->tail->next = r;
    } else {
        s->head = r;
    }
    s->tail = r;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

static void on_aio(void *arg)
{
    struct sl_net_req *r = arg;
    int rv = nng_aio_result(r->aio);
    switch (r->state) {
    case RECEIVING:
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
            return;
        }
        if (rv != 0) {
            nng_ctx_recv(r->ctx, r->aio);
            return;
        }
        r->msg = nng_aio_get_msg(r->aio);
        if (r->s->opt.fast_handler) {
            nng_msg *m = r->msg;
            r->msg = NULL;
            r->state = HANDLING;
            r->carry = NULL;
            if (r->s->opt.fast_handler(r->s->opt.arg, r, nng_msg_body(m), nng_msg_len(m),
                                       &r->carry)) {
                nng_msg_free(m);
                return;
            }
            r->msg = m;
        }
        r->state = QUEUED;
        enqueue(r->s, r);
        return;
    case SENDING:
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(r->aio));
            if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
                return;
            }
        }
        r->state = RECEIVING;
        nng_ctx_recv(r->ctx, r->aio);
        return;
    default:
        SL_UNREACHABLE();
    }
}

static void *worker_main(void *arg)
{
    struct sl_net_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping) {
            pthread_cond_wait(&s->cond, &s->mu);
        }
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        struct sl_net_req *r = s->head;
        s->head = r->next;
        if (!s->head) {
            s->tail = NULL;
        }
        pthread_mutex_unlock(&s->mu);

        /* The reply may be sent, and the next request received into r->msg, before the handler
         * returns: take the message out first. */
        nng_msg *m = r->msg;
        void *carry = r->carry;
        r->msg = NULL;
        r->carry = NULL;
        r->state = HANDLING;
        s->opt.handler(s->opt.arg, r, nng_msg_body(m), nng_msg_len(m), carry);
        nng_msg_free(m);
    }
}

/* Answers prepared while deferring (sl_net_defer_begin), per thread. */
struct deferred {
    struct sl_net_req *r;
    nng_msg *m;
};
/* Beyond this many, answers go out at once (no allocation: nothing to free per thread). */
#define DEFERRED_MAX 512
static _Thread_local struct deferred tl_deferred[DEFERRED_MAX];
static _Thread_local size_t tl_n_deferred;
static _Thread_local bool tl_deferring;

static void send_now(struct sl_net_req *r, nng_msg *m)
{
    nng_aio_set_msg(r->aio, m);
    nng_ctx_send(r->ctx, r->aio);
}

void sl_net_defer_begin(void)
{
    tl_deferring = true;
}

void sl_net_defer_end(void)
{
    tl_deferring = false;
    for (size_t i = 0; i < tl_n_deferred; i++) {
        send_now(tl_deferred[i].r, tl_deferred[i].m);
    }
    tl_n_deferred = 0;
}

void sl_net_reply(struct sl_net_req *r, const void *data, size_t len)
{
    nng_msg *m = NULL;
    SL_ASSERT(r->state == HANDLING);
    if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, data, len) != 0) {
        /* No memory for the answer: drop it (the client times out and retries) and take the
         * next request. */
        if (m) {
            nng_msg_free(m);
        }
        r->state = RECEIVING;
        nng_ctx_recv(r->ctx, r->aio);
        return;
    }
    r->state = SENDING;
    if (tl_deferring && tl_n_deferred < DEFERRED_MAX) {
        tl_deferred[tl_n_deferred++] = (struct deferred){r, m};
        return;
    }
    send_now(r, m);
}

int sl_net_server_start(struct sl_net_server **out, const struct sl_net_options *opt, char *err,
                        size_t err_len)
{
    int rv;
    struct sl_net_server *s = sl_calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return SL_ENOMEM;
    }
    s->opt = *opt;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if ((rv = nng_rep0_open(&s->sock)) != 0) {
        snprintf(err, err_len, "cannot open an NNG rep socket: %s", nng_strerror(rv));
        goto fail_socket;
    }
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, opt->recv_bytes_max);
    s->reqs = sl_calloc(opt->contexts, sizeof(*s->reqs));
    s->workers = sl_calloc(opt->workers, sizeof(*s->workers));
    if (!s->reqs || !s->workers) {
        snprintf(err, err_len, "out of memory");
        goto fail_alloc;
    }
    for (unsigned i = 0; i < opt->contexts; i++) {
        struct sl_net_req *r = &s->reqs[i];
        r->s = s;
        if ((rv = nng_ctx_open(&r->ctx, s->sock)) != 0 ||
            (rv = nng_aio_alloc(&r->aio, on_aio, r)) != 0) {
            snprintf(err, err_len, "cannot set up NNG contexts: %s", nng_strerror(rv));
            goto fail_ctx;
        }
        s->n_reqs++;
    }
    if ((rv = nng_listen(s->sock, opt->url, NULL, 0)) != 0) {
        snprintf(err, err_len, "cannot listen on %s: %s", opt->url, nng_strerror(rv));
        goto fail_ctx;
    }
    for (unsigned i = 0; i < opt->workers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            snprintf(err, err_len, "cannot start worker threads");
            goto fail_workers;
        }
        s->n_workers++;
    }
    for (unsigned i = 0; i < s->n_reqs; i++) {
        s->reqs[i].state = RECEIVING;
        nng_ctx_recv(s->reqs[i].ctx, s->reqs[i].aio);
    }
    *out = s;
    return 0;

fail_workers:
    sl_net_server_stop(s);
    return SL_EIO;
fail_ctx:
fail_alloc:
    nng_close(s->sock);
    for (unsigned i = 0; i < s->n_reqs; i++) {
        nng_aio_free(s->reqs[i].aio);
    }
    sl_free(s->reqs);
    sl_free(s->workers);
fail_socket:
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    sl_free(s);
    return SL_EIO;
}

void sl_net_server_stop(struct sl_net_server *s)
{
    if (!s) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->n_workers; i++) {
        pthread_join(s->workers[i], NULL);
    }
    nng_close(s->sock);
    for (unsigned i = 0; i < s->n_reqs; i++) {
        nng_aio_stop(s->reqs[i].aio);
    }
    for (unsigned i = 0; i < s->n_reqs; i++) {
        if (s->reqs[i].carry && s->opt.free_carry) {
            s->opt.free_carry(s->reqs[i].carry);
        }
        if (s->reqs[i].msg) {
            nng_msg_free(s->reqs[i].msg);
        }
        nng_aio_free(s->reqs[i].aio);
    }
    sl_free(s->reqs);
    sl_free(s->workers);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    sl_free(s);
}
