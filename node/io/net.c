/* net.c — the client-facing NNG server (see net.h). */
#include "io/net.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "io/workq.h"

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
    struct sl_workq_job job; /* QUEUED: in the work queue */
};

struct sl_net_server {
    struct sl_net_options opt;
    nng_socket sock;
    struct sl_net_req *reqs;
    unsigned n_reqs;
};

/* On a work-queue thread. */
static void run_request(struct sl_workq_job *job)
{
    struct sl_net_req *r = (struct sl_net_req *)((char *)job - offsetof(struct sl_net_req, job));
    struct sl_net_server *s = r->s;
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
        r->job.run = run_request;
        r->job.drop = NULL; /* stays QUEUED: sl_net_server_stop frees its message and carry */
        sl_workq_push(r->s->opt.workq, &r->job);
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
    if ((rv = nng_rep0_open(&s->sock)) != 0) {
        snprintf(err, err_len, "cannot open an NNG rep socket: %s", nng_strerror(rv));
        goto fail_socket;
    }
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, opt->recv_bytes_max);
    s->reqs = sl_calloc(opt->contexts, sizeof(*s->reqs));
    if (!s->reqs) {
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
    for (unsigned i = 0; i < s->n_reqs; i++) {
        s->reqs[i].state = RECEIVING;
        nng_ctx_recv(s->reqs[i].ctx, s->reqs[i].aio);
    }
    *out = s;
    return 0;

fail_ctx:
fail_alloc:
    nng_close(s->sock);
    for (unsigned i = 0; i < s->n_reqs; i++) {
        nng_aio_free(s->reqs[i].aio);
    }
    sl_free(s->reqs);
fail_socket:
    sl_free(s);
    return SL_EIO;
}

void sl_net_server_stop(struct sl_net_server *s)
{
    if (!s) {
        return;
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
    sl_free(s);
}
