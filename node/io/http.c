/* http.c — the HTTP/1.1 + HTTP/2 server on libh2o-evloop (see http.h).
 *
 * Notes:
 * 1. Everything of h2o is touched on the loop thread only. Other threads reach it through one
 *    h2o multithread queue: sl_http_respond posts the answer, the loop sends it.
 * 2. A pending request (struct sl_http_req) has two owners: h2o's request (a slot in its memory
 *    pool whose dispose hook runs when h2o frees the request, for instance because the client
 *    went away) and the answer (dropped when the loop has sent it). Both drop their reference
 *    on the loop thread, so the count needs no atomics; `h2o` is NULL once h2o has freed its
 *    request, and an answer arriving after that is dropped.
 * 3. Requests still pending at stop are on the `live` list. Stopping is graceful, on the loop
 *    thread: stop accepting, answer every pending request 503 (nothing else will answer it
 *    now), ask h2o to close its connections (HTTP/1 after the answer under way, HTTP/2 with
 *    GOAWAY), and run the loop until they are closed, for at most STOP_WAIT_MS. Only then may
 *    h2o's context be disposed (it asserts that no connection is left); if a client holds its
 *    connection open past the wait, the context is left to the process's exit instead.
 */
#include "io/http.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <h2o.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STOP_WAIT_MS 2000
/* Connections served at once unless the options say otherwise: with every one a file
 * descriptor, a bound keeps clients from taking those the store needs. */
#define CONNS_MAX_DEFAULT 256
/* Requests one HTTP/2 connection may have in flight (h2o's default is 100). */
#define HTTP2_STREAMS_MAX 16

struct sl_http_req {
    h2o_multithread_message_t msg; /* first: the queue links it */
    struct sl_http_server *s;
    h2o_req_t *h2o;   /* NULL once h2o has freed the request (note 2) */
    atomic_bool gone; /* h2o freed it: its client went away (read by other threads) */
    bool answered;    /* an answer went to h2o (a late one is then dropped) */
    int refs;
    struct sl_http_req *prev, *next; /* live list (note 3) */
    /* The answer, filled by sl_http_respond on any thread. */
    int status;
    struct sl_http_header *headers; /* one allocation with the strings */
    size_t n_headers;
    void *body;
    size_t body_len;
};

struct handler {
    h2o_handler_t base;
    struct sl_http_server *s;
};

struct sl_http_server {
    struct sl_http_options opt;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    uint16_t port;
    size_t conns;   /* open client connections (loop thread) */
    bool accepting; /* the listener is being read (paused at conns_max or on EMFILE) */
    bool draining;  /* stop has begun: new requests are answered 503 */
    bool drained;   /* every connection closed at stop: the context may be disposed */
    h2o_timeout_entry_t retry_accept; /* after EMFILE and the like */
    h2o_multithread_message_t wake;   /* posted by stop; owned here, so no allocation */
    h2o_multithread_receiver_t answers;
    h2o_multithread_receiver_t wakeup;
    atomic_bool stopping;
    bool started; /* the loop thread */
    pthread_t thread;
    struct sl_http_req *live;
};

/* ---- pending requests (loop thread) ---- */

static void req_unref(struct sl_http_req *r)
{
    if (--r->refs > 0) {
        return;
    }
    if (r->prev) {
        r->prev->next = r->next;
    } else {
        r->s->live = r->next;
    }
    if (r->next) {
        r->next->prev = r->prev;
    }
    sl_free(r->headers);
    sl_free(r->body);
    sl_free(r);
}

static void on_h2o_dispose(void *slot)
{
    struct sl_http_req *r = *(struct sl_http_req **)slot;
    r->h2o = NULL;
    atomic_store(&r->gone, true);
    req_unref(r);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

static void send_answer(struct sl_http_req *r)
{
    h2o_req_t *req = r->h2o;
    r->answered = true;
    req->res.status = r->status;
    req->res.reason = reason(r->status);
    for (size_t i = 0; i < r->n_headers; i++) {
        const struct sl_http_header *h = &r->headers[i];
        h2o_add_header_by_str(&req->pool, &req->res.headers, h->name, h->name_len, 1, NULL,
                              h->value, h->value_len);
    }
    req->res.content_length = r->body_len;
    h2o_send_inline(req, r->body ? r->body : "", r->body_len); /* copies the body */
}

static void on_answers(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct sl_http_req *r = (struct sl_http_req *)m;
        if (r->h2o && !r->answered) {
            send_answer(r);
        }
        req_unref(r);
    }
}

static void on_wakeup(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_linklist_unlink(messages->next); /* the server's own `wake` */
    }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct sl_http_server *s = ((struct handler *)self)->s;
    if (s->draining) {
        req->res.status = 503;
        req->res.reason = "Service Unavailable";
        h2o_send_inline(req, H2O_STRLIT(""));
        return 0;
    }
    struct sl_http_req *r = sl_calloc(1, sizeof(*r));
    struct sl_http_header *hs =
        h2o_mem_alloc_pool(&req->pool, (req->headers.size + 1) * sizeof(*hs));
    struct sl_http_req **slot =
        r ? h2o_mem_alloc_shared(&req->pool, sizeof(*slot), on_h2o_dispose) : NULL;
    if (!r || !slot) {
        sl_free(r);
        req->res.status = 503;
        req->res.reason = "Service Unavailable";
        h2o_send_inline(req, H2O_STRLIT("out of memory\n"));
        return 0;
    }
    *slot = r;
    r->s = s;
    r->h2o = req;
    r->refs = 2; /* h2o's request and the answer (note 2) */
    r->next = s->live;
    if (s->live) {
        s->live->prev = r;
    }
    s->live = r;

    size_t n_headers = 0;
    bool has_length = false;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        hs[n_headers++] =
            (struct sl_http_header){h->name->base, h->name->len, h->value.base, h->value.len};
        has_length |= h->name == &H2O_TOKEN_CONTENT_LENGTH->buf;
    }
    /* h2o takes Content-Length out of the headers as it reads the body; put it back (the
     * length read), since clients sign it (SigV4). */
    char length[24];
    if (req->entity.base && !has_length) {
        int n = snprintf(length, sizeof(length), "%zu", req->entity.len);
        hs[n_headers++] = (struct sl_http_header){"content-length", 14, length, (size_t)n};
    }
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    struct sl_http_request view = {
        .method = req->method.base,
        .method_len = req->method.len,
        .path = req->path.base,
        .path_len = path_len,
        .query = path_len < req->path.len ? req->path.base + path_len + 1 : "",
        .query_len = path_len < req->path.len ? req->path.len - path_len - 1 : 0,
        .authority = req->authority.base,
        .authority_len = req->authority.len,
        .version = req->version,
        .headers = hs,
        .n_headers = n_headers,
        .body = req->entity.base ? req->entity.base : "",
        .body_len = req->entity.base ? req->entity.len : 0,
    };
    s->opt.handler(s->opt.arg, r, &view);
    return 0;
}

void sl_http_respond(struct sl_http_req *r, int status, const struct sl_http_header *headers,
                     size_t n_headers, const void *body, size_t len)
{
    size_t bytes = n_headers * sizeof(*headers);
    for (size_t i = 0; i < n_headers; i++) {
        bytes += headers[i].name_len + headers[i].value_len;
    }
    r->status = status;
    r->headers = bytes ? sl_malloc(bytes) : NULL;
    r->body = len ? sl_malloc(len) : NULL;
    if ((bytes && !r->headers) || (len && !r->body)) {
        sl_free(r->headers);
        sl_free(r->body);
        r->headers = NULL;
        r->body = NULL;
        r->n_headers = 0;
        r->body_len = 0;
        r->status = 503; /* out of memory: an empty answer says so */
    } else {
        char *strings = (char *)(r->headers + n_headers);
        for (size_t i = 0; i < n_headers; i++) {
            const struct sl_http_header *h = &headers[i];
            memcpy(strings, h->name, h->name_len);
            memcpy(strings + h->name_len, h->value, h->value_len);
            r->headers[i] =
                (struct sl_http_header){strings, h->name_len, strings + h->name_len, h->value_len};
            strings += h->name_len + h->value_len;
        }
        r->n_headers = n_headers;
        if (len) {
            memcpy(r->body, body, len);
        }
        r->body_len = len;
    }
    h2o_multithread_send_message(&r->s->answers, &r->msg);
}

/* ---- listening ---- */

static void accept_pause(struct sl_http_server *s)
{
    if (s->accepting && s->listener) {
        h2o_socket_read_stop(s->listener);
        s->accepting = false;
    }
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void accept_resume(struct sl_http_server *s)
{
    if (!s->accepting && s->listener && !s->draining && s->conns < s->opt.conns_max) {
        h2o_socket_read_start(s->listener, on_accept);
        s->accepting = true;
    }
}

static void on_retry_accept(h2o_timeout_entry_t *entry)
{
    struct sl_http_server *s =
        (struct sl_http_server *)((char *)entry - offsetof(struct sl_http_server, retry_accept));
    accept_resume(s);
}

static void on_conn_close(void *data)
{
    struct sl_http_server *s = data;
    s->conns--;
    accept_resume(s);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct sl_http_server *s = listener->data;
    if (err) {
        return;
    }
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (!sock) {
        /* Out of descriptors (or another accept failure): stop reading the listener, which
         * would otherwise stay readable and spin the loop, and try again in 100 ms. */
        accept_pause(s);
        if (!h2o_timeout_is_linked(&s->retry_accept)) {
            h2o_timeout_link(s->loop, &s->ctx.hundred_ms_timeout, &s->retry_accept);
        }
        return;
    }
    if (s->conns + 1 >= s->opt.conns_max) {
        accept_pause(s); /* resumed when one closes */
    }
    {
        /* h2o's server side leaves on_close to its user: it counts the connections. */
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = s;
        s->conns++;
        h2o_accept(&s->accept_ctx, sock);
    }
}

static int listen_on(struct sl_http_server *s, char *err, size_t err_len)
{
    const char *a = s->opt.listen;
    if (strncmp(a, "http://", 7) == 0) {
        a += 7;
    }
    const char *colon = strrchr(a, ':');
    if (!colon || colon == a || colon[1] == '\0' || strlen(a) > 255) {
        snprintf(err, err_len, "HTTP address '%s' is not HOST:PORT", s->opt.listen);
        return SL_EINVAL;
    }
    char host[256];
    memcpy(host, a, (size_t)(colon - a));
    host[colon - a] = '\0';
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        snprintf(err, err_len, "HTTP address '%s' is not an IPv4 address and port", s->opt.listen);
        return SL_EINVAL;
    }
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, err_len, "cannot listen on %s: %s", s->opt.listen, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return SL_EIO;
    }
    freeaddrinfo(ai);
    struct sockaddr_in bound;
    socklen_t bound_len = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0) {
        s->port = ntohs(bound.sin_port);
    }
    s->listener = h2o_evloop_socket_create(s->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    s->listener->data = s;
    h2o_socket_read_start(s->listener, on_accept);
    s->accepting = true;
    return SL_OK;
}

bool sl_http_client_gone(struct sl_http_req *r)
{
    return atomic_load(&r->gone);
}

uint16_t sl_http_server_port(const struct sl_http_server *s)
{
    return s->port;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Note 3. */
/* Answers 503 every request still waiting (nothing else will answer it now). */
static void refuse_pending(struct sl_http_server *s)
{
    for (struct sl_http_req *r = s->live; r; r = r->next) {
        if (r->h2o && !r->answered) {
            r->status = 503;
            send_answer(r);
        }
    }
}

static void drain(struct sl_http_server *s)
{
    s->draining = true;
    if (s->listener) {
        if (s->accepting) {
            h2o_socket_read_stop(s->listener);
        }
        h2o_socket_close(s->listener);
        s->listener = NULL;
    }
    if (h2o_timeout_is_linked(&s->retry_accept)) {
        h2o_timeout_unlink(&s->retry_accept);
    }
    /* Shutdown first, so that answers sent from now on close their HTTP/1 connections; idle
     * HTTP/1 connections are closed by a request timeout of zero (h2o 2.2's shutdown request
     * reaches only HTTP/2 ones). */
    h2o_context_request_shutdown(&s->ctx);
    s->ctx.http1.req_timeout.timeout = 0;
    uint64_t until = mono_ms() + STOP_WAIT_MS;
    while (s->conns > 0 && mono_ms() < until) {
        refuse_pending(s);
        h2o_evloop_run(s->loop, 10);
    }
    /* A few more rounds for what closing connections defer, and for queued messages. */
    for (int i = 0; i < 5; i++) {
        h2o_evloop_run(s->loop, 1);
    }
    s->drained = s->conns == 0;
    if (s->drained) {
        /* With no connection left, what remains linked are the context's own timers (the
         * graceful shutdown's): unlink them, as h2o_context_dispose insists. */
        h2o_timeout_t *timeouts[] = {
            &s->ctx.zero_timeout,
            &s->ctx.one_sec_timeout,
            &s->ctx.hundred_ms_timeout,
            &s->ctx.handshake_timeout,
            &s->ctx.http1.req_timeout,
            &s->ctx.http2.idle_timeout,
            &s->ctx.http2.graceful_shutdown_timeout,
            &s->ctx.proxy.io_timeout,
        };
        for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
            while (!h2o_linklist_is_empty(&timeouts[i]->_entries)) {
                h2o_timeout_unlink(
                    H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link, timeouts[i]->_entries.next));
            }
        }
    }
}

static void *loop_main(void *arg)
{
    struct sl_http_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        h2o_evloop_run(s->loop, INT32_MAX);
    }
    drain(s);
    return NULL;
}

int sl_http_server_start(struct sl_http_server **out, const struct sl_http_options *opt, char *err,
                         size_t err_len)
{
    *out = NULL;
    struct sl_http_server *s = sl_calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, err_len, "out of memory");
        return SL_ENOMEM;
    }
    s->opt = *opt;
    h2o_config_init(&s->config);
    s->config.max_request_entity_size = opt->body_bytes_max;
    s->config.http1.req_timeout = opt->idle_timeout_ms;
    s->config.http2.idle_timeout = opt->idle_timeout_ms;
    s->config.http2.max_concurrent_requests_per_connection = HTTP2_STREAMS_MAX;
    if (s->opt.conns_max == 0) {
        s->opt.conns_max = CONNS_MAX_DEFAULT;
    }
    s->retry_accept.cb = on_retry_accept;
    h2o_hostconf_t *host =
        h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    struct handler *h = (struct handler *)h2o_create_handler(path, sizeof(*h));
    h->base.on_req = on_req;
    h->s = s;
    s->loop = h2o_evloop_create();
    h2o_context_init(&s->ctx, s->loop, &s->config);
    h2o_multithread_register_receiver(s->ctx.queue, &s->answers, on_answers);
    h2o_multithread_register_receiver(s->ctx.queue, &s->wakeup, on_wakeup);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
    int rc = listen_on(s, err, err_len);
    if (rc == SL_OK) {
        if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
            snprintf(err, err_len, "cannot start the HTTP thread");
            rc = SL_EIO;
        }
        s->started = rc == SL_OK;
    }
    if (rc != SL_OK) {
        sl_http_server_stop(s);
        return rc;
    }
    *out = s;
    return SL_OK;
}

void sl_http_server_stop(struct sl_http_server *s)
{
    if (!s) {
        return;
    }
    atomic_store(&s->stopping, true);
    if (s->started) {
        /* Wake the loop so that it sees the flag. */
        h2o_multithread_send_message(&s->wakeup, &s->wake);
        pthread_join(s->thread, NULL);
    }
    if (!s->started) { /* the loop never ran: nothing was accepted */
        if (s->listener) {
            h2o_socket_read_stop(s->listener);
            h2o_socket_close(s->listener);
            s->listener = NULL;
        }
        s->drained = true;
    }
    if (!s->drained) {
        /* A client kept its connection past the wait: h2o cannot be torn down under it. */
        return;
    }
    while (s->live) {
        struct sl_http_req *r = s->live;
        s->live = r->next;
        sl_free(r->headers);
        sl_free(r->body);
        sl_free(r);
    }
    h2o_multithread_unregister_receiver(s->ctx.queue, &s->answers);
    h2o_multithread_unregister_receiver(s->ctx.queue, &s->wakeup);
    /* h2o 2.2's context keeps its message queue (88 bytes) after dispose; destroying it here
     * crashes in that version, so it is left (tests/lsan.supp). */
    h2o_context_dispose(&s->ctx);
    h2o_evloop_destroy(s->loop);
    h2o_config_dispose(&s->config);
    sl_free(s);
}
