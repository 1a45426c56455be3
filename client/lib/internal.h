/* internal.h — what the modules of libsluice share (not part of the public API).
 *
 *   util.c       error messages (thread-local), allocation glue for protobuf-c, clocks
 *   transport.c  the client: nodes, one NNG req0 socket per node, sl_call (retries, backoff,
 *                leader hints)
 *   cache.c      per-stream metadata: open shards by hash key range, learned shard leaders
 *   ops.c        one function per operation of proto/sluice.proto
 *   producer.c   batching producer (sluice_producer_*)
 *   reader.c     shard reader (sluice_reader_*)
 *
 * Locking: one mutex per client (c->mu) guards the node table and the metadata cache; it is
 * never held across a network call or an NNG call that may fire pipe callbacks (which take it).
 */
#ifndef SLUICE_INTERNAL_H
#define SLUICE_INTERNAL_H

#include "sluice/sluice.h"

#include "core/shard/hashkey.h"
#include "sluice.pb-c.h"

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- util.c ---- */

/* Room for one error message, NUL included; longer server messages are cut. */
#define SL_ERRMSG_MAX 1024

/* Sets the calling thread's error message (printf-style) and returns `err`. */
int sl_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True for the codes worth retrying the same request for (see sluice.h "Retries"). */
bool sl_retryable(int err);

/* Maps a Kinesis error name from a PutRecords entry to a code (SLUICE_EIO when unknown). */
int sl_err_from_kinesis_name(const char *name);

/* Maps a proto ErrorCode to a SLUICE_E* code. */
int sl_err_from_wire(int wire);

/* Checks records as the server would (partition key: UTF-8, 1-256 characters; data and key
 * within 1 MiB; explicit hash key: a decimal in [0, 2^128-1]) so that a bad record fails alone
 * and early. 0, or SLUICE_EVALIDATION / SLUICE_EINVAL with a Kinesis-style message naming
 * the fields ("records.N.member.partitionKey" when `many`). */
int sl_check_records(const struct sluice_record_in *recs, size_t n, bool many);

/* protobuf-c allocations go through sl_malloc. */
extern ProtobufCAllocator sl_pb_alloc;

/* A copy of `s` from sl_malloc (NULL in, or out of memory, gives NULL). */
char *sl_strdup(const char *s);

/* Monotonic clock. */
uint64_t sl_now_ms(void);
uint64_t sl_now_us(void);

/* Sleeps `ms` milliseconds (resuming after signals). */
void sl_sleep_ms(uint32_t ms);

/* The backoff before retry number `retry` (0 = first): min(max, base * 2^retry), scaled by a
 * random factor in [0.5, 1.0]. `rnd` is any 64 random bits. */
uint32_t sl_backoff_ms(uint32_t base_ms, uint32_t max_ms, uint32_t retry, uint64_t rnd);

/* ---- transport.c ---- */

struct sluice_client;

struct sl_node {
    struct sluice_client *client;
    char *addr;
    nng_socket sock;
    int pipes; /* connected pipes, under client->mu */
};

struct sl_leader {
    char shard_id[SLUICE_SHARD_ID_MAX + 1];
    int node;
};

struct sl_shard_meta {
    char shard_id[SLUICE_SHARD_ID_MAX + 1];
    sl_u128 start;
    sl_u128 end;
};

/* What the client knows about one stream. */
struct sl_stream_meta {
    struct sl_stream_meta *next;
    char *name;
    int node;                   /* node that last served a stream-wide request, or -1 */
    bool loaded;                /* `open` reflects a ListShards answer */
    struct sl_shard_meta *open; /* open shards, sorted by start */
    size_t n_open;
    struct sl_leader *leaders; /* learned shard leaders */
    size_t n_leaders, cap_leaders;
};

struct sluice_client {
    struct sluice_options opt;
    pthread_mutex_t mu;
    pthread_cond_t pipes_cv; /* some node's pipe count changed */
    struct sl_node **nodes;  /* never shrinks; entries are stable */
    size_t n_nodes, cap_nodes;
    size_t current; /* default node for requests with no better target */
    int control;    /* node that last served a control request, or -1 */
    struct sl_stream_meta *streams;
    atomic_uint_fast64_t next_request_id;
    atomic_uint_fast64_t rng;
};

/* Where a request should go: t NULL for control requests (streams, limits); a stream for
 * stream-wide data requests; a stream and a shard for single-shard ones. `via` (1 + a node
 * index; 0: none) names a node to try first, as when records are grouped by known leader. */
struct sl_target {
    const char *stream;
    const char *shard_id;
    int via;
};

/* sl_call flags. */
#define SL_CALL_RETURN_NOT_LEADER 1u /* hand NOT_LEADER back instead of following the hint */

/* Sends `req` (its request_id is overwritten) and waits for the answer, retrying as sluice.h
 * describes. On success returns 0 and `*resp` (an OK Response, the caller's: free with
 * sl_response_free). On failure returns the code with the thread's message set; with
 * SL_CALL_RETURN_NOT_LEADER, a NOT_LEADER answer returns SLUICE_ENOTLEADER at once. */
int sl_call(struct sluice_client *c, const struct sl_target *t, Sluice__Request *req,
            Sluice__Response **resp, unsigned flags);

void sl_response_free(Sluice__Response *r);

/* A 64-bit random value (splitmix64 over a shared counter). Thread-safe. */
uint64_t sl_client_random(struct sluice_client *c);

/* ---- ops.c ---- */

/* GetShardIterator (what sluice_get_shard_iterator does). */
int sl_get_shard_iterator(struct sluice_client *c, const char *stream, const char *shard_id,
                          const struct sluice_position *pos, char **iterator);

/* GetRecords sent towards `t` (a reader knows its stream and shard, hence their leader). */
int sl_get_records(struct sluice_client *c, const struct sl_target *t, const char *iterator,
                   uint32_t limit, struct sluice_records **out);

/* A page with no records (what a reader returns past the end of its shard). */
int sl_records_empty(bool at_shard_end, int64_t millis_behind, struct sluice_records **out);

/* ---- cache.c (all take c->mu themselves) ---- */

/* The stream's entry; created if `create`. Caller holds c->mu. NULL if absent or no memory. */
struct sl_stream_meta *sl_stream_meta(struct sluice_client *c, const char *stream, bool create);

void sl_stream_meta_free(struct sl_stream_meta *m);

/* Replaces the cached shard list of `stream` with the open ones among `shards`. */
int sl_cache_set_shards(struct sluice_client *c, const char *stream,
                        const struct sluice_shard *shards, size_t n);

/* Forgets everything about `stream` (it was not found). */
void sl_cache_forget(struct sluice_client *c, const char *stream);

/* True when some shard leader of `stream` has been learned. */
bool sl_cache_has_leaders(struct sluice_client *c, const char *stream);

/* The learned leader node of (stream, shard), or -1. Caller holds c->mu. */
int sl_cache_leader_locked(struct sluice_client *c, const char *stream, const char *shard_id);

/* Records `node` as the leader of (stream, shard). Caller holds c->mu. */
void sl_cache_set_leader_locked(struct sluice_client *c, const char *stream, const char *shard_id,
                                int node);

/* Clears every cached reference to `node` (it failed). Caller holds c->mu. */
void sl_cache_drop_node_locked(struct sluice_client *c, int node);

/* The hash key of a record: its explicit hash key, else MD5 of its partition key. */
int sl_record_hash_key(const char *partition_key, const char *explicit_hash_key, sl_u128 *out);

/* Routes `key` over the cached open shards of `stream` only (no network): 0 and the shard id,
 * or SLUICE_ENOTFOUND when the cache is not loaded or no open shard holds the key. */
int sl_cache_route(struct sluice_client *c, const char *stream, sl_u128 key,
                   char shard_id[SLUICE_SHARD_ID_MAX + 1]);

#endif
