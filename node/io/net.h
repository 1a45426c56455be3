/* net.h — the client-facing NNG server: many requests in flight, answered in any order.
 *
 * A rep0 socket listens on a tcp:// address with `contexts` NNG contexts, so that many requests
 * (from one connection or many) are outstanding at once. Each received request is handed to the
 * handler on a thread of the node's work queue (io/workq.h; never on NNG's own callback
 * threads, so a handler may block on disk reads). The handler answers, then or later and from any
 * thread, with exactly one sl_net_reply on the struct sl_net_req it was given; until then that
 * context takes no new request.
 *
 *   context:  RECEIVING --request--> QUEUED --worker--> HANDLING --sl_net_reply--> SENDING
 *                 ^                                                                   |
 *                 +------------------------- reply sent or dropped -------------------+
 */
#ifndef SL_IO_NET_H
#define SL_IO_NET_H

#include <stdbool.h>
#include <stddef.h>

struct sl_net_server;
struct sl_net_req;
struct sl_workq;

/* Called on a work-queue thread with the request's bytes, which stay valid only until it returns,
 * and what the fast handler left in `carry` (NULL without one): the handler then owns it. */
typedef void (*sl_net_handler)(void *arg, struct sl_net_req *req, const void *data, size_t len,
                               void *carry);

/* Optional: called first, on NNG's own callback thread, for requests that can be handled
 * without blocking (no disk reads). Returns true when it took the request (it then answers
 * with sl_net_reply as usual), false to pass it on to a worker, with `*carry` (NULL on entry)
 * handed to the worker's handler: what it has already worked out, such as the decoded
 * request. Saves two thread hand-offs on the write path. */
typedef bool (*sl_net_fast_handler)(void *arg, struct sl_net_req *req, const void *data, size_t len,
                                    void **carry);

struct sl_net_options {
    const char *url;        /* e.g. tcp://127.0.0.1:4510 */
    unsigned contexts;      /* requests in flight at once */
    struct sl_workq *workq; /* where handlers run; must outlive the server */
    size_t recv_bytes_max;  /* larger messages close their connection (NNG's rule) */
    sl_net_handler handler;
    sl_net_fast_handler fast_handler; /* may be NULL */
    void (*free_carry)(void *carry);  /* frees a carry whose request is dropped at stop */
    void *arg;
};

/* Starts listening. Returns 0, or SL_EIO with the reason in `err` (address in use, bad URL). */
int sl_net_server_start(struct sl_net_server **out, const struct sl_net_options *opt, char *err,
                        size_t err_len);

/* Sends `len` bytes at `data` (copied) as the answer to `req`, which must not be used again.
 * Any thread. */
void sl_net_reply(struct sl_net_req *req, const void *data, size_t len);

/* Between these two calls, sl_net_reply calls made by this thread prepare their answer but
 * send it only at sl_net_defer_end: a thread that answers many requests while holding a lock
 * (the writer thread) sends them after releasing it. */
void sl_net_defer_begin(void);
void sl_net_defer_end(void);

/* Closes the socket and frees everything. Stop the work queue first (no handler may be running
 * or start later). Requests whose reply has not been sent by then are dropped: the caller must
 * not call sl_net_reply after this returns. */
void sl_net_server_stop(struct sl_net_server *s);

#endif
