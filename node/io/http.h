/* http.h — the HTTP server every node runs for the Kinesis API: HTTP/1.1 with keep-alive and
 * HTTP/2 (cleartext, with prior knowledge, as the AWS SDK for JavaScript v3 speaks it) on one
 * port, on one event-loop thread of its own.
 *
 * It is Debian's libh2o-evloop underneath (docs/architecture.md says why); nothing of h2o shows
 * in this header. The server reads a whole request (bodies up to `body_bytes_max`, else 413)
 * and calls the handler on the loop thread with a view of it. The handler answers then or
 * later, from any thread, with exactly one sl_http_respond on the struct sl_http_req it was
 * given. If the client has gone by then, the answer is dropped quietly.
 *
 *   request:  received --handler--> pending --sl_http_respond--> sent (or dropped: client gone)
 *
 * Slow clients: h2o's timeouts apply (a request not complete within `idle_timeout_ms`, or a
 * connection idle that long, is closed).
 */
#ifndef SL_IO_HTTP_H
#define SL_IO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_http_server;
struct sl_http_req;

struct sl_http_header {
    const char *name; /* lower case as received (HTTP/2 sends them so; h2o lowers HTTP/1's) */
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* A received request. Valid only during the handler call: copy what is needed later. */
struct sl_http_request {
    const char *method;
    size_t method_len;
    const char *path; /* without the query */
    size_t path_len;
    const char *query; /* after '?', without it; empty when none */
    size_t query_len;
    const char *authority; /* Host (HTTP/1.1) or :authority (HTTP/2) */
    size_t authority_len;
    int version; /* 0x100, 0x101 or 0x200 */
    const struct sl_http_header *headers;
    size_t n_headers;
    const void *body;
    size_t body_len;
};

/* On the loop thread; must not block. */
typedef void (*sl_http_handler)(void *arg, struct sl_http_req *req,
                                const struct sl_http_request *r);

struct sl_http_options {
    const char *listen; /* IPv4-address:port, or http://IPv4-address:port; port 0: any */
    size_t body_bytes_max;
    uint32_t idle_timeout_ms;
    /* Connections served at once (0: 256); at the bound the server stops accepting until one
     * closes. It also stops for 100 ms when accept fails (out of descriptors). */
    size_t conns_max;
    sl_http_handler handler;
    void *arg;
};

/* Starts listening and the loop thread. Returns 0, or SL_EINVAL (bad address) / SL_EIO
 * (cannot listen) with the reason in `err`. */
int sl_http_server_start(struct sl_http_server **out, const struct sl_http_options *opt, char *err,
                         size_t err_len);

/* Whether the client of `req` has gone (its connection or stream closed): an answer would be
 * dropped, so work for it may be skipped. Any thread, until `req` is answered. */
bool sl_http_client_gone(struct sl_http_req *req);

/* The port the server listens on (the one chosen by the system when `listen` named port 0). */
uint16_t sl_http_server_port(const struct sl_http_server *s);

/* Answers `req` with `status`, the given headers (copied; Content-Length is added) and `len`
 * bytes of `body` (copied). Any thread; `req` must not be used again. */
void sl_http_respond(struct sl_http_req *req, int status, const struct sl_http_header *headers,
                     size_t n_headers, const void *body, size_t len);

/* Stops accepting, answers 503 to every request not answered yet (and to any arriving now),
 * closes every connection (waiting up to 2 s for them), stops the loop thread and frees
 * everything. No sl_http_respond may be called during or after this. NULL is ignored. */
void sl_http_server_stop(struct sl_http_server *s);

#endif
