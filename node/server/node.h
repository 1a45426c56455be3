/* node.h — one running sluiced: the store, the controller and shard Raft groups, the threads
 * that drive them, and what operation handlers (ops.c) may ask of them.
 *
 * Threads:
 *   - request workers (io/net.c) run the handlers in ops.c;
 *   - the loop thread ticks every group, activates new streams, finishes deletions, trims
 *     expired records;
 *   - the writer thread group-commits: it takes every write queued by every group and writes
 *     them as one synced RocksDB WriteBatch, then starts on the next;
 *   - the applier thread reports each write durable to its group, applies what committed and
 *     answers the requests that were waiting for it.
 * Everything below `mu` is guarded by it; RocksDB reads (GetRecords, AT_TIMESTAMP searches) run
 * without it.
 *
 * A write's path: handler -> propose (under mu) -> writer queue -> one fsync for everything
 * queued -> sl_raft_persisted -> committed entries applied -> the handler's request answered
 * from the applier thread.
 */
#ifndef SL_SERVER_NODE_H
#define SL_SERVER_NODE_H

#include "core/control/control.h"
#include "core/raft/raft.h"
#include "core/shard/clock_guard.h"
#include "io/net.h"
#include "io/store.h"
#include "server/config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct node;

/* Called under node->mu when the entry a proposal made is applied (`err` 0) or lost (`err`
 * < 0); `index` and `term` identify the entry. For controller proposals `result` is what
 * sl_control_apply returned. */
typedef void (*sl_waiter_fn)(struct node *n, void *arg, int err, int result, uint64_t index);

struct waiter {
    uint64_t index;
    uint64_t term;
    sl_waiter_fn fn;
    void *arg;
    struct waiter *next;
};

/* One Raft group hosted here: the controller, or one shard's log. */
struct group {
    uint64_t id;
    struct sl_raft *raft;
    bool is_control;
    /* Shard groups: which shard this is. */
    char stream[SL_STREAM_NAME_BYTES_MAX + 1];
    uint64_t stream_created_ms;
    uint32_t shard_index;
    /* Shard groups: the log as readers see it (committed and applied). */
    uint64_t applied;         /* highest applied index */
    uint64_t first_index;     /* lowest retained index */
    uint64_t tip_arrival_ms;  /* arrival of the newest applied record entry, 0: none */
    uint64_t last_arrival_ms; /* arrival given to the newest proposed entry (monotone) */
    struct waiter *waiters, *waiters_tail; /* in index order */
    /* Writes: the term and vote last queued, the last write id queued and the last one the
     * store reported durable (see drive: commit-only writes). */
    uint64_t written_term, written_vote;
    uint64_t queued_write_id, durable_write_id;
};

struct writer_job {
    uint64_t group;
    uint64_t write_id;
};

struct node {
    struct sl_config cfg;
    struct sl_store *store;
    struct sl_store_identity identity;
    struct sl_workq *workq; /* handlers that may block on the disk, from every front end */
    struct sl_net_server *net;
    struct sl_http_server *http;  /* NULL without an HTTP API */
    atomic_uint http_in_flight;   /* Kinesis requests received and not yet finished */
    struct sl_sigv4_creds *creds; /* NULL: HTTP requests are not authenticated */

    pthread_mutex_t mu;
    struct sl_control control;
    struct group **groups; /* by group id; NULL where none */
    size_t groups_cap;
    uint64_t control_applied;
    uint64_t control_snapshot_index;
    bool orphans_checked;
    atomic_bool stopping; /* read without mu by the request handlers */

    /* Writer: writes queued since the last fsync (guarded by wmu, taken after mu). */
    pthread_mutex_t wmu;
    pthread_cond_t wcond;
    struct sl_store_batch *wpending;
    struct writer_job *wjobs;
    size_t wjobs_n, wjobs_cap;
    bool wstop;
    pthread_t writer;

    /* Applier: writes the writer made durable, to report to their groups (guarded by amu). The
     * writer starts its next write while the applier applies and answers the previous one. */
    pthread_mutex_t amu;
    pthread_cond_t acond;
    struct writer_job *ajobs;
    size_t ajobs_n, ajobs_cap;
    bool astop;
    pthread_t applier;

    struct sl_clock_guard retention_clock; /* loop thread only */

    pthread_mutex_t loop_mu;
    pthread_cond_t loop_cond;
    bool loop_stop;
    pthread_t loop;
};

/* Opens the store, boots every group, starts the writer, loop and network threads. Returns 0 or
 * -1 with the reason in `err`. */
int sl_node_start(struct node **out, const struct sl_config *cfg, char *err, size_t err_len);

/* Stops taking requests, drops unanswered ones, stops the threads, closes the store. */
void sl_node_stop(struct node *n);

/* ---- for handlers (ops.c), all under n->mu ---------------------------------------------- */

/* The group with this id, or NULL. */
struct group *sl_node_group(struct node *n, uint64_t id);

/* Proposes `data` (one reference taken) to group `g` and, on success, calls `fn(arg)` once the
 * entry is applied or lost. Errors as sl_raft_propose; `fn` is then never called. */
int sl_node_propose(struct node *n, struct group *g, struct sl_buf *data, sl_waiter_fn fn,
                    void *arg, uint64_t *index);

/* Encodes and proposes a controller command (see sl_node_propose). */
int sl_node_propose_control(struct node *n, const struct sl_control_cmd *cmd, sl_waiter_fn fn,
                            void *arg);

/* The first entry of shard group `group` in [lo, hi] that holds records: its index and arrival
 * time; false when there is none (or it cannot be read). Reads the store: call without mu. */
bool sl_node_first_record(struct node *n, uint64_t group, uint64_t lo, uint64_t hi, uint64_t *index,
                          uint64_t *arrival_ms);

/* First index in [lo, hi] of shard group `group` whose record entry arrived at or after `ms`
 * (entries without records count as arriving with the next record entry); hi + 1 when none.
 * A binary search over the store (arrival times are monotone in a shard): call without mu. */
uint64_t sl_node_find_arrival(struct node *n, uint64_t group, uint64_t lo, uint64_t hi,
                              uint64_t ms);

/* Where a request's answer goes: back through the front end that received it. `send` is
 * called once per request, on any thread, possibly under n->mu, and must not block; it keeps
 * nothing of `resp` after returning. `resp` NULL means the request will not be answered (the
 * node is stopping): the sink frees what it holds for it. */
struct Sluice__Response;
struct sl_answer_to {
    void (*send)(void *to, const struct Sluice__Response *resp);
    /* Optional: whether the client has gone, so that queued work for it may be skipped (the
     * request is then dropped through send(to, NULL)). Any thread. */
    bool (*gone)(void *to);
    void *to;
};

/* The request handlers given to io/net.c (ops.c): writes on the network thread, the rest on
 * a worker. */
void sl_ops_handle(void *arg, struct sl_net_req *req, const void *data, size_t len, void *carry);
bool sl_ops_handle_fast(void *arg, struct sl_net_req *req, const void *data, size_t len,
                        void **carry);
void sl_ops_free_request(void *rq);

/* For front ends that decode requests themselves (the Kinesis HTTP API): handles `rq` (a
 * decoded request, still the caller's) and answers through `to`. Writes are handled at once on
 * the calling thread, which must therefore not hold n->mu; the rest on the work queue. `done`
 * is called once the handler has finished with `rq` (then or later, on any thread). */
struct Sluice__Request;
void sl_ops_submit(struct node *n, const struct Sluice__Request *rq, struct sl_answer_to to,
                   void (*done)(void *arg), void *done_arg);

#endif
