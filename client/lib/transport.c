/* transport.c — the client object, its nodes, and sl_call: where one request goes, how it
 * travels, and how it is retried.
 *
 * Each node has one NNG req0 socket, dialled in the background (NNG reconnects by itself).
 * A request opens its own NNG context on that socket, so any number of threads may have
 * requests outstanding on one node at once. Pipe notifications keep a count of live
 * connections per node, so that a request to a node that cannot be reached fails after a short
 * connect wait instead of the full request timeout, and the next attempt tries another node.
 *
 * Node choice for a request, first that applies: the learned leader of its shard, the node
 * that last served its stream, the node that last served a control request (for control
 * requests), the client's current node. A transport failure forgets every reference to the
 * failing node and moves the current node on; a NOT_LEADER answer with a hint records the
 * hinted node (added to the table if new) and retries there at once.
 */
#include "internal.h"

#include "core/alloc.h"

#include <nng/protocol/reqrep0/req.h>
#include <string.h>
#include <time.h>

/* Largest response accepted: a GetRecords page is at most 10 MiB of data plus keys. */
#define SL_RECV_BYTES_MAX ((size_t)64 << 20)
/* Nodes the client will learn about through hints, seeds included. */
#define SL_NODES_MAX 256
/* NOT_LEADER redirects followed without backoff within one call. */
#define SL_REDIRECTS_MAX 4
/* How long a request waits for a connection to its node before trying another one. */
#define SL_CONNECT_WAIT_MS 1000

void sluice_options_init(struct sluice_options *o)
{
    o->request_timeout_ms = 10000;
    o->max_retries = 8;
    o->backoff_base_ms = 100;
    o->backoff_max_ms = 2000;
}

uint64_t sl_client_random(struct sluice_client *c)
{
    uint64_t z =
        atomic_fetch_add(&c->rng, UINT64_C(0x9e3779b97f4a7c15)) + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void sl_response_free(Sluice__Response *r)
{
    if (r) {
        sluice__response__free_unpacked(r, &sl_pb_alloc);
    }
}

/* ---- per-thread aio ---- */

/* Each thread that makes calls keeps one aio (a call waits on it, so one per thread is
 * enough); it is freed when the thread exits. Saves an allocation and a teardown per call. */
static pthread_key_t aio_key;
static pthread_once_t aio_once = PTHREAD_ONCE_INIT;

static void aio_release(void *p)
{
    nng_aio_free(p);
}

static void aio_key_init(void)
{
    (void)pthread_key_create(&aio_key, aio_release);
}

static int thread_aio(nng_aio **out)
{
    pthread_once(&aio_once, aio_key_init);
    nng_aio *aio = pthread_getspecific(aio_key);
    if (aio == NULL) {
        int rv = nng_aio_alloc(&aio, NULL, NULL);
        if (rv != 0) {
            return rv;
        }
        if (pthread_setspecific(aio_key, aio) != 0) {
            nng_aio_free(aio);
            return NNG_ENOMEM;
        }
    }
    *out = aio;
    return 0;
}

/* ---- nodes ---- */

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    struct sl_node *n = arg;
    struct sluice_client *c = n->client;
    pthread_mutex_lock(&c->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        n->pipes++;
    } else if (ev == NNG_PIPE_EV_REM_POST && n->pipes > 0) {
        n->pipes--;
    }
    pthread_cond_broadcast(&c->pipes_cv);
    pthread_mutex_unlock(&c->mu);
}

static void node_close(struct sl_node *n)
{
    if (n == NULL) {
        return;
    }
    nng_close(n->sock); /* fires pipe events, which take client->mu: never call with it held */
    sl_free(n->addr);
    sl_free(n);
}

/* Opens a socket for `addr` and starts dialling it. Must not be called with c->mu held. */
static int node_open(struct sluice_client *c, const char *addr, struct sl_node **out)
{
    struct sl_node *n = sl_calloc(1, sizeof(*n));
    if (n == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    n->client = c;
    n->addr = sl_strdup(addr);
    if (n->addr == NULL) {
        sl_free(n);
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    int rv = nng_req0_open(&n->sock);
    if (rv != 0) {
        sl_free(n->addr);
        sl_free(n);
        return sl_fail(rv == NNG_ENOMEM ? SLUICE_ENOMEM : SLUICE_EIO, "nng_req0_open: %s",
                       nng_strerror(rv));
    }
    /* Resending is ours to decide (sl_call), not the socket's. */
    (void)nng_socket_set_ms(n->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    (void)nng_socket_set_size(n->sock, NNG_OPT_RECVMAXSZ, SL_RECV_BYTES_MAX);
    (void)nng_socket_set_ms(n->sock, NNG_OPT_RECONNMAXT, 1000);
    (void)nng_pipe_notify(n->sock, NNG_PIPE_EV_ADD_POST, pipe_event, n);
    (void)nng_pipe_notify(n->sock, NNG_PIPE_EV_REM_POST, pipe_event, n);
    rv = nng_dial(n->sock, addr, NULL, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
        node_close(n);
        return sl_fail(SLUICE_EINVAL, "cannot dial '%s': %s", addr, nng_strerror(rv));
    }
    *out = n;
    return 0;
}

static int node_find_locked(struct sluice_client *c, const char *addr)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (strcmp(c->nodes[i]->addr, addr) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Appends an open node; on failure the caller still owns it. Caller holds c->mu. */
static int node_append_locked(struct sluice_client *c, struct sl_node *n)
{
    if (c->n_nodes >= SL_NODES_MAX) {
        return SLUICE_ELIMIT;
    }
    int rc = sl_grow((void **)&c->nodes, &c->cap_nodes, c->n_nodes + 1, sizeof(*c->nodes));
    if (rc != 0) {
        return SLUICE_ENOMEM;
    }
    c->nodes[c->n_nodes] = n;
    return (int)c->n_nodes++;
}

/* The index of the node at `addr`, adding it if new; -1 if it cannot be added. */
static int node_index(struct sluice_client *c, const char *addr)
{
    pthread_mutex_lock(&c->mu);
    int i = node_find_locked(c, addr);
    pthread_mutex_unlock(&c->mu);
    if (i >= 0) {
        return i;
    }
    char saved[SL_ERRMSG_MAX];
    memcpy(saved, sluice_errmsg(), sizeof(saved)); /* keep the message of the NOT_LEADER */
    struct sl_node *n = NULL;
    int rc = node_open(c, addr, &n);
    sl_fail(0, "%s", saved);
    if (rc != 0) {
        return -1;
    }
    pthread_mutex_lock(&c->mu);
    i = node_find_locked(c, addr);
    if (i < 0) {
        i = node_append_locked(c, n);
        if (i >= 0) {
            n = NULL;
        }
    }
    pthread_mutex_unlock(&c->mu);
    node_close(n); /* lost a race, or the table is full */
    return i < 0 ? -1 : i;
}

/* ---- client ---- */

int sluice_client_new(const char *nodes_csv, const struct sluice_options *options,
                      struct sluice_client **out)
{
    *out = NULL;
    if (nodes_csv == NULL) {
        return sl_fail(SLUICE_EINVAL, "no node addresses given");
    }
    struct sluice_client *c = sl_calloc(1, sizeof(*c));
    if (c == NULL) {
        return sl_fail(SLUICE_ENOMEM, "out of memory");
    }
    if (options) {
        c->opt = *options;
    } else {
        sluice_options_init(&c->opt);
    }
    if (c->opt.request_timeout_ms == 0) {
        c->opt.request_timeout_ms = 10000;
    }
    if (c->opt.backoff_max_ms < c->opt.backoff_base_ms) {
        c->opt.backoff_max_ms = c->opt.backoff_base_ms;
    }
    c->control = -1;
    atomic_init(&c->next_request_id, 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_init(&c->rng, (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)c);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->pipes_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->mu, NULL);

    int rc = 0;
    const char *p = nodes_csv;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        p += len + (comma ? 1 : 0);
        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
            len--;
        }
        if (len == 0) {
            continue;
        }
        char addr[512];
        if (len >= sizeof(addr)) {
            rc = sl_fail(SLUICE_EINVAL, "node address too long: '%.*s...'", 40, s);
            goto fail;
        }
        memcpy(addr, s, len);
        addr[len] = '\0';
        if (node_find_locked(c, addr) >= 0) {
            continue; /* no other thread knows c yet */
        }
        struct sl_node *n = NULL;
        rc = node_open(c, addr, &n);
        if (rc != 0) {
            goto fail;
        }
        pthread_mutex_lock(&c->mu);
        int i = node_append_locked(c, n);
        pthread_mutex_unlock(&c->mu);
        if (i < 0) {
            node_close(n);
            rc = sl_fail(i, "too many node addresses");
            goto fail;
        }
    }
    if (c->n_nodes == 0) {
        rc = sl_fail(SLUICE_EINVAL, "no node addresses in '%s'", nodes_csv);
        goto fail;
    }
    *out = c;
    return 0;

fail:
    sluice_client_free(c);
    return rc;
}

void sluice_client_free(struct sluice_client *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_nodes; i++) {
        node_close(c->nodes[i]);
    }
    sl_free(c->nodes);
    while (c->streams) {
        struct sl_stream_meta *m = c->streams;
        c->streams = m->next;
        sl_stream_meta_free(m);
    }
    pthread_cond_destroy(&c->pipes_cv);
    pthread_mutex_destroy(&c->mu);
    sl_free(c);
}

/* ---- one attempt ---- */

static int nng_to_err(int rv)
{
    switch (rv) {
    case NNG_ETIMEDOUT:
        return SLUICE_ETIMEDOUT;
    case NNG_ENOMEM:
        return SLUICE_ENOMEM;
    default:
        return SLUICE_EUNAVAILABLE;
    }
}

static void deadline_after(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000u);
    ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Sends `req` to node `idx` and receives its answer (any error code) into `*resp`. Returns 0,
 * or a transport error with the message set. */
static int call_once(struct sluice_client *c, int idx, Sluice__Request *req,
                     Sluice__Response **resp)
{
    *resp = NULL;
    uint64_t start_ms = sl_now_ms();
    uint32_t timeout_ms = c->opt.request_timeout_ms;
    uint32_t wait_ms = timeout_ms < SL_CONNECT_WAIT_MS ? timeout_ms : SL_CONNECT_WAIT_MS;

    pthread_mutex_lock(&c->mu);
    struct sl_node *n = c->nodes[idx];
    if (n->pipes == 0) {
        struct timespec until;
        deadline_after(&until, wait_ms);
        while (n->pipes == 0) {
            if (pthread_cond_timedwait(&c->pipes_cv, &c->mu, &until) != 0) {
                break;
            }
        }
    }
    int pipes = n->pipes;
    pthread_mutex_unlock(&c->mu);
    if (pipes == 0) {
        return sl_fail(SLUICE_EUNAVAILABLE, "cannot connect to %s", n->addr);
    }

    uint64_t id = atomic_fetch_add(&c->next_request_id, 1);
    req->has_request_id = 1;
    req->request_id = id;
    size_t size = sluice__request__get_packed_size(req);
    nng_msg *msg = NULL;
    int rv = nng_msg_alloc(&msg, size);
    if (rv != 0) {
        return sl_fail(SLUICE_ENOMEM, "out of memory for a %zu-byte request", size);
    }
    sluice__request__pack(req, nng_msg_body(msg));

    nng_aio *aio = NULL;
    nng_ctx ctx;
    rv = thread_aio(&aio);
    if (rv != 0) {
        nng_msg_free(msg);
        return sl_fail(nng_to_err(rv), "nng_aio_alloc: %s", nng_strerror(rv));
    }
    rv = nng_ctx_open(&ctx, n->sock);
    if (rv != 0) {
        nng_msg_free(msg);
        return sl_fail(nng_to_err(rv), "%s: %s", n->addr, nng_strerror(rv));
    }
    nng_aio_set_timeout(aio, (nng_duration)timeout_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    rv = nng_aio_result(aio);
    if (rv != 0) {
        nng_msg_free(msg); /* not sent: still ours */
        goto transport_failed;
    }
    uint64_t spent = sl_now_ms() - start_ms;
    nng_aio_set_timeout(aio, spent < timeout_ms ? (nng_duration)(timeout_ms - spent) : 1);
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    rv = nng_aio_result(aio);
    if (rv != 0) {
        goto transport_failed;
    }
    nng_msg *reply = nng_aio_get_msg(aio);
    nng_aio_set_msg(aio, NULL);
    nng_ctx_close(ctx);

    size_t reply_len = nng_msg_len(reply);
    Sluice__Response *r = sluice__response__unpack(&sl_pb_alloc, reply_len, nng_msg_body(reply));
    nng_msg_free(reply);
    if (r == NULL) {
        return sl_fail(SLUICE_EIO, "%s: the response (%zu bytes) could not be decoded", n->addr,
                       reply_len);
    }
    if (!r->has_request_id || r->request_id != id) {
        sl_response_free(r);
        return sl_fail(SLUICE_EIO, "%s: the response answers another request", n->addr);
    }
    *resp = r;
    return 0;

transport_failed:
    nng_aio_set_msg(aio, NULL);
    nng_ctx_close(ctx);
    if (rv == NNG_ETIMEDOUT) {
        return sl_fail(SLUICE_ETIMEDOUT, "%s: no answer within %u ms", n->addr, timeout_ms);
    }
    return sl_fail(nng_to_err(rv), "%s: %s", n->addr, nng_strerror(rv));
}

/* ---- routing memory ---- */

static int pick_node(struct sluice_client *c, const struct sl_target *t)
{
    int idx = -1;
    pthread_mutex_lock(&c->mu);
    if (t && t->via > 0 && (size_t)t->via <= c->n_nodes) {
        idx = t->via - 1;
    } else if (t == NULL) {
        idx = c->control;
    } else if (t->stream) {
        struct sl_stream_meta *m = sl_stream_meta(c, t->stream, false);
        if (m) {
            if (t->shard_id) {
                idx = sl_cache_leader_locked(c, t->stream, t->shard_id);
            }
            if (idx < 0) {
                idx = m->node;
            }
        }
    }
    if (idx < 0 || (size_t)idx >= c->n_nodes) {
        idx = (int)c->current;
    }
    pthread_mutex_unlock(&c->mu);
    return idx;
}

/* Remembers that `node` serves `t` (-1: forget what served it). */
static void remember(struct sluice_client *c, const struct sl_target *t, int node)
{
    pthread_mutex_lock(&c->mu);
    if (t == NULL) {
        c->control = node;
    } else if (t->stream && t->shard_id) {
        sl_cache_set_leader_locked(c, t->stream, t->shard_id, node);
    } else if (t->stream) {
        struct sl_stream_meta *m = sl_stream_meta(c, t->stream, node >= 0);
        if (m) {
            m->node = node;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

static void node_failed(struct sluice_client *c, int node)
{
    pthread_mutex_lock(&c->mu);
    sl_cache_drop_node_locked(c, node);
    if (c->control == node) {
        c->control = -1;
    }
    if (c->current == (size_t)node) {
        c->current = (c->current + 1) % c->n_nodes;
    }
    pthread_mutex_unlock(&c->mu);
}

int sl_call(struct sluice_client *c, const struct sl_target *t, Sluice__Request *req,
            Sluice__Response **resp, unsigned flags)
{
    *resp = NULL;
    uint32_t retries = 0;
    uint32_t redirects = 0;
    uint32_t attempts = 0;
    struct sl_target local;
    if (t) {
        local = *t;
        t = &local;
    }
    for (;;) {
        int node = pick_node(c, t);
        Sluice__Response *r = NULL;
        attempts++;
        if (t) {
            local.via = 0; /* a suggestion for the first attempt only */
        }
        int err = call_once(c, node, req, &r);
        if (err == 0) {
            err = r->has_error ? sl_err_from_wire((int)r->error) : 0;
            if (err == 0) {
                remember(c, t, node);
                *resp = r;
                return 0;
            }
            sl_fail(err, "%s", r->error_message ? r->error_message : sluice_strerror(err));
            if (err == SLUICE_ENOTLEADER) {
                int hinted = -1;
                if (r->leader_hint && r->leader_hint[0]) {
                    hinted = node_index(c, r->leader_hint);
                }
                sl_response_free(r);
                if (flags & SL_CALL_RETURN_NOT_LEADER) {
                    return SLUICE_ENOTLEADER; /* the hint may be about any of its shards */
                }
                remember(c, t, hinted);
                if (hinted >= 0 && hinted != node && redirects < SL_REDIRECTS_MAX) {
                    redirects++;
                    continue;
                }
            } else {
                sl_response_free(r);
                if (!sl_retryable(err)) {
                    if (err == SLUICE_ENOTFOUND && t && t->stream) {
                        sl_cache_forget(c, t->stream);
                    }
                    return err;
                }
            }
        } else if (sl_retryable(err)) {
            node_failed(c, node);
        } else {
            return err;
        }
        if (retries >= c->opt.max_retries) {
            if (attempts > 1) {
                return sl_fail(err, "%s (gave up after %u attempts)", sluice_errmsg(), attempts);
            }
            return err;
        }
        sl_sleep_ms(sl_backoff_ms(c->opt.backoff_base_ms, c->opt.backoff_max_ms, retries,
                                  sl_client_random(c)));
        retries++;
    }
}
