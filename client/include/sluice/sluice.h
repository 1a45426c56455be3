/* sluice.h — libsluice, the C client of a sluice cluster: stream administration, records in
 * (PutRecord, PutRecords, a batching producer) and records out (GetShardIterator, GetRecords,
 * a shard reader), over the protobuf-on-NNG API of proto/sluice.proto.
 *
 * Conventions that hold for every function below:
 *
 *  - Errors. Every fallible function returns an int: 0 (SLUICE_OK) or a negative SLUICE_E*
 *    code. The codes are the values of the server's error table (node/core/errors.h), so a code
 *    means the same thing on both sides. After a call fails, sluice_errmsg() returns a message
 *    describing that failure (the server's own message when the server refused the request).
 *    The message lives in thread-local storage: it belongs to the calling thread, survives until
 *    the next failing libsluice call on that thread, and is never touched by other threads.
 *
 *  - Memory. Strings passed in are borrowed for the duration of the call (the producer copies
 *    what it keeps). Results are either written into caller-provided structs (fixed size) or
 *    returned as one allocation `*out` that the caller frees with the matching *_free function;
 *    every `const char *` inside a result points into that allocation and stays valid until it
 *    is freed. On failure `*out` is set to NULL and nothing needs freeing. Free functions accept
 *    NULL.
 *
 *  - Threads. Every function may be called from any thread, concurrently with any other,
 *    except where its comment says otherwise: sluice_client_free, sluice_producer_close, and
 *    the sluice_reader_* functions (a reader belongs to one thread at a time; distinct readers
 *    are independent). A struct sluice_client multiplexes its callers' requests on one NNG
 *    socket per node, one NNG context per request. A result may be read by several threads but
 *    freed only once, after they are done. The producer runs its own threads (one timer, one
 *    per in-flight request) and calls the callback on them. Nothing here installs signal
 *    handlers or touches global state other than NNG's.
 *
 *  - Retries. Retryable failures (NOT_LEADER, BUSY, throughput exceeded, internal and I/O
 *    errors, timeouts and unreachable nodes) are retried up to `max_retries` times with
 *    exponential backoff and jitter; NOT_LEADER moves to the node in the server's leader hint at
 *    once. A retried PutRecord(s) whose first attempt timed out may have been applied, so writes
 *    are at-least-once, as in Kinesis.
 *
 *  - Timestamps are milliseconds since the Unix epoch; hash keys and sequence numbers are
 *    decimal strings, as on the Kinesis wire.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------------------------------- */

/* Equal to the SL_* codes of node/core/errors.h (libsluice checks this at compile time). */
#define SLUICE_OK           0
#define SLUICE_ENOMEM       (-1)  /* out of memory */
#define SLUICE_EINVAL       (-2)  /* InvalidArgumentException */
#define SLUICE_ENOTLEADER   (-3)  /* the node does not lead the group (retried) */
#define SLUICE_EBUSY        (-4)  /* a bounded queue is full: retry later */
#define SLUICE_ELIMIT       (-5)  /* LimitExceededException */
#define SLUICE_ENOTFOUND    (-6)  /* ResourceNotFoundException */
#define SLUICE_ESTALE       (-7)  /* the request refers to an outdated state */
#define SLUICE_ENOTCAUGHTUP (-8)  /* a replica has not caught up */
#define SLUICE_EIO          (-9)  /* InternalFailure: I/O error on the server */
#define SLUICE_ECORRUPT     (-10) /* stored data failed a consistency check */
#define SLUICE_EINUSE       (-11) /* ResourceInUseException */
#define SLUICE_EEXPIRED     (-12) /* ExpiredIteratorException */
#define SLUICE_EVALIDATION  (-13) /* ValidationException */
#define SLUICE_ESERIAL      (-14) /* SerializationException */
#define SLUICE_ETHROTTLED   (-15) /* ProvisionedThroughputExceededException */
#define SLUICE_ETOKEN       (-16) /* ExpiredNextTokenException */
#define SLUICE_EUNKNOWNOP   (-17) /* UnknownOperationException */
#define SLUICE_ETIMEDOUT    (-18) /* no answer within the request timeout */
#define SLUICE_EUNAVAILABLE (-19) /* no node could be reached */

/* The message of the last failing libsluice call made by the calling thread ("" if none).
 * Thread-safe; the string is the calling thread's and is overwritten by its next failure. */
const char *sluice_errmsg(void);

/* A short description of `err` ("not found"). Never NULL; thread-safe; static storage. */
const char *sluice_strerror(int err);

/* The name of `err` as a Kinesis client would see it ("ResourceNotFoundException"), or a
 * descriptive name for client-side conditions ("Timeout", "Unavailable", "NotLeader"). Never
 * NULL; thread-safe; static storage. */
const char *sluice_errname(int err);

/* Frees a string returned by libsluice (sluice_get_shard_iterator). NULL is ignored. */
void sluice_free(void *p);

/* ---- limits -------------------------------------------------------------------------------- */

#define SLUICE_PUT_RECORDS_MAX       500
#define SLUICE_PUT_RECORDS_BYTES_MAX (5 * 1048576) /* data + partition keys of one call */
#define SLUICE_RECORD_BYTES_MAX      1048576       /* data + partition key of one record */
#define SLUICE_PARTITION_KEY_MAX     256           /* characters */
#define SLUICE_GET_RECORDS_LIMIT_MAX 10000
/* Longest shard id and sequence number libsluice accepts from a server (without the NUL). */
#define SLUICE_SHARD_ID_MAX        128
#define SLUICE_SEQUENCE_NUMBER_MAX 128

/* ---- client -------------------------------------------------------------------------------- */

struct sluice_client;

struct sluice_options {
    uint32_t request_timeout_ms; /* one attempt of one request (default 10000) */
    uint32_t max_retries;        /* further attempts after a retryable failure (default 8) */
    uint32_t backoff_base_ms;    /* first backoff (default 100); doubles per retry ... */
    uint32_t backoff_max_ms;     /* ... up to this (default 2000); jitter: 50..100% of it */
};

/* Fills `o` with the defaults above. Thread-safe. */
void sluice_options_init(struct sluice_options *o);

/* Creates a client for the cluster whose nodes are listed in `nodes_csv`
 * ("tcp://10.0.0.1:4510,tcp://10.0.0.2:4510"; spaces around commas are ignored). Any node
 * will do: libsluice follows leader hints to nodes not in the list. `options` NULL means
 * defaults. Connections are made in the background; this call does not wait for them.
 * Returns SLUICE_EINVAL for an empty list or an address NNG does not accept. On success
 * `*out` belongs to the caller, who releases it with sluice_client_free. */
int sluice_client_new(const char *nodes_csv, const struct sluice_options *options,
                      struct sluice_client **out);

/* Closes connections and frees `c`. No other call on `c` (nor on producers or readers made
 * from it, which must be closed first) may be running or follow. NULL is ignored. */
void sluice_client_free(struct sluice_client *c);

/* ---- streams ------------------------------------------------------------------------------- */

enum sluice_stream_mode {
    SLUICE_PROVISIONED = 0,
    SLUICE_ON_DEMAND = 1,
};

enum sluice_stream_status {
    SLUICE_CREATING = 0,
    SLUICE_DELETING = 1,
    SLUICE_ACTIVE = 2,
    SLUICE_UPDATING = 3,
};

/* "PROVISIONED", "ACTIVE", ... ("UNKNOWN" for other values). Static storage. */
const char *sluice_stream_mode_name(int mode);
const char *sluice_stream_status_name(int status);

/* A shard. Absent parents and the ending sequence number of an open shard are NULL. */
struct sluice_shard {
    const char *shard_id;
    const char *parent_shard_id;
    const char *adjacent_parent_shard_id;
    const char *starting_hash_key;
    const char *ending_hash_key;
    const char *starting_sequence_number;
    const char *ending_sequence_number;
};

/* DescribeStream and DescribeStreamSummary. Fields a call does not return are 0 or NULL:
 * DescribeStream fills the shards (all of them, pages followed), DescribeStreamSummary the
 * counts. */
struct sluice_stream_description {
    const char *stream_name;
    const char *stream_arn;
    enum sluice_stream_status status;
    enum sluice_stream_mode mode;
    uint32_t retention_period_hours;
    int64_t creation_timestamp_ms;
    uint32_t open_shard_count;    /* summary */
    uint32_t consumer_count;      /* summary */
    uint32_t max_record_size_kib; /* summary */
    size_t n_shards;              /* describe */
    const struct sluice_shard *shards;
};

/* One stream of ListStreams. When the server sent names only, stream_arn is NULL and the
 * other fields are 0. */
struct sluice_stream_entry {
    const char *stream_name;
    const char *stream_arn;
    enum sluice_stream_status status;
    enum sluice_stream_mode mode;
    int64_t creation_timestamp_ms;
};

struct sluice_stream_list {
    size_t n_streams;
    const struct sluice_stream_entry *streams;
};

struct sluice_shard_list {
    size_t n_shards;
    const struct sluice_shard *shards;
};

struct sluice_limits {
    uint32_t shard_limit;
    uint32_t open_shard_count;
    uint32_t on_demand_stream_count;
    uint32_t on_demand_stream_count_limit;
};

/* CreateStream. `shard_count` 0 leaves it out (as ON_DEMAND requires). The stream starts
 * CREATING; sluice_wait_active waits for ACTIVE. Thread-safe. */
int sluice_create_stream(struct sluice_client *c, const char *stream, uint32_t shard_count,
                         enum sluice_stream_mode mode);

/* DeleteStream. Thread-safe. */
int sluice_delete_stream(struct sluice_client *c, const char *stream,
                         int enforce_consumer_deletion);

/* Polls DescribeStreamSummary (every 100 ms at first, then up to 1 s apart) until the stream
 * is ACTIVE: returns 0, or SLUICE_ETIMEDOUT after `timeout_ms`, or the error of a failing
 * call. Thread-safe. */
int sluice_wait_active(struct sluice_client *c, const char *stream, uint32_t timeout_ms);

/* Like sluice_wait_active, until the stream no longer exists (ResourceNotFound): after
 * DeleteStream, before the name may be created again. Thread-safe. */
int sluice_wait_deleted(struct sluice_client *c, const char *stream, uint32_t timeout_ms);

/* ListStreams, all pages. On success `*out` is the caller's; free with
 * sluice_stream_list_free. Thread-safe. */
int sluice_list_streams(struct sluice_client *c, struct sluice_stream_list **out);
void sluice_stream_list_free(struct sluice_stream_list *l);

/* DescribeStream (all shard pages) and DescribeStreamSummary. On success `*out` is the
 * caller's; free with sluice_stream_description_free. Thread-safe. */
int sluice_describe_stream(struct sluice_client *c, const char *stream,
                           struct sluice_stream_description **out);
int sluice_describe_stream_summary(struct sluice_client *c, const char *stream,
                                   struct sluice_stream_description **out);
void sluice_stream_description_free(struct sluice_stream_description *d);

/* ListShards, every page (the NextToken loop is done here): every shard within retention,
 * open and closed. Also refreshes the client's shard cache for `stream`. On success `*out` is
 * the caller's; free with sluice_shard_list_free. Thread-safe. */
int sluice_list_shards(struct sluice_client *c, const char *stream, struct sluice_shard_list **out);
void sluice_shard_list_free(struct sluice_shard_list *l);

/* IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod. Thread-safe. */
int sluice_increase_retention(struct sluice_client *c, const char *stream, uint32_t hours);
int sluice_decrease_retention(struct sluice_client *c, const char *stream, uint32_t hours);

/* DescribeLimits into `*out` (caller's storage). Thread-safe. */
int sluice_describe_limits(struct sluice_client *c, struct sluice_limits *out);

/* ---- tags ------------------------------------------------------------------------------------ */

/* A stream's tag. Keys have 1-128 characters and must not start with "aws:"; values 0-256
 * (NULL counts as ""). Letters, digits, spaces and _ . : / = + - @ only. */
struct sluice_tag {
    const char *key;
    const char *value;
};

struct sluice_tag_list {
    size_t n_tags;
    const struct sluice_tag *tags; /* sorted by key */
};

/* At most this many tags per stream, and per call. */
#define SLUICE_TAGS_MAX 50

/* AddTagsToStream: sets `n` (1-50) tags on `stream`; a key it has already gets the new value.
 * A stream keeps at most SLUICE_TAGS_MAX tags (SLUICE_EINVAL past that). Thread-safe. */
int sluice_add_tags(struct sluice_client *c, const char *stream, const struct sluice_tag *tags,
                    size_t n);

/* RemoveTagsFromStream: removes the tags with these `n` (1-50) keys; keys the stream does not
 * have are ignored. Thread-safe. */
int sluice_remove_tags(struct sluice_client *c, const char *stream, const char *const *keys,
                       size_t n);

/* ListTagsForStream, every page: all of the stream's tags. On success `*out` is the caller's;
 * free with sluice_tag_list_free. Thread-safe. */
int sluice_list_tags(struct sluice_client *c, const char *stream, struct sluice_tag_list **out);
void sluice_tag_list_free(struct sluice_tag_list *l);

/* ---- shard metadata cache ------------------------------------------------------------------ */

/* Writes to `shard_id` the id of the open shard of `stream` whose hash key range holds the
 * record's hash key: `explicit_hash_key` (a decimal string) when not NULL, else the MD5 of
 * `partition_key`. Uses the client's cached shard list, loading it with ListShards on first
 * use and reloading it once when no cached open shard holds the key (after a reshard).
 * Returns SLUICE_EINVAL for a malformed or out-of-range key, SLUICE_ENOTFOUND when no open
 * shard holds it even after the reload. Thread-safe. */
int sluice_route(struct sluice_client *c, const char *stream, const char *partition_key,
                 const char *explicit_hash_key, char shard_id[SLUICE_SHARD_ID_MAX + 1]);

/* Reloads the cached shard list of `stream` now (ListShards). Thread-safe. */
int sluice_refresh_shards(struct sluice_client *c, const char *stream);

/* ---- writing ------------------------------------------------------------------------------- */

/* One record to write. `partition_key` is a NUL-terminated UTF-8 string of 1..256 characters;
 * `explicit_hash_key` is NULL or a decimal string that overrides the key's MD5 for routing.
 * `data` may be NULL when `data_len` is 0. All borrowed for the call. */
struct sluice_record_in {
    const char *partition_key;
    const char *explicit_hash_key;
    const void *data;
    size_t data_len;
};

struct sluice_put_record_result {
    char shard_id[SLUICE_SHARD_ID_MAX + 1];
    char sequence_number[SLUICE_SEQUENCE_NUMBER_MAX + 1];
};

/* PutRecord. `sequence_number_for_ordering` NULL or a sequence number the new one must exceed.
 * The result goes to `*out` (caller's storage). Thread-safe. */
int sluice_put_record(struct sluice_client *c, const char *stream, const struct sluice_record_in *r,
                      const char *sequence_number_for_ordering,
                      struct sluice_put_record_result *out);

/* The outcome of one entry of PutRecords: `error` 0 with shard id and sequence number, or a
 * SLUICE_E* code with the server's Kinesis error name ("ProvisionedThroughputExceededException")
 * and message. */
struct sluice_put_records_entry {
    int error;
    const char *shard_id;
    const char *sequence_number;
    const char *error_code;
    const char *error_message;
};

struct sluice_put_records_result {
    uint32_t failed_record_count;
    size_t n_records; /* equals the number of records sent, in the same order */
    const struct sluice_put_records_entry *records;
};

/* PutRecords of `n` (1..500) records. The call as a whole is retried on retryable errors;
 * failed entries are not (the producer does that). Records are sent to the cached leader of
 * their shard when leaders are known, else in one request. On success (which includes partial
 * failure: check failed_record_count) `*out` is the caller's; free with
 * sluice_put_records_result_free. Thread-safe. */
int sluice_put_records(struct sluice_client *c, const char *stream,
                       const struct sluice_record_in *records, size_t n,
                       struct sluice_put_records_result **out);
void sluice_put_records_result_free(struct sluice_put_records_result *r);

/* ---- reading ------------------------------------------------------------------------------- */

enum sluice_iterator_type {
    SLUICE_AT_SEQUENCE_NUMBER = 0,
    SLUICE_AFTER_SEQUENCE_NUMBER = 1,
    SLUICE_TRIM_HORIZON = 2,
    SLUICE_LATEST = 3,
    SLUICE_AT_TIMESTAMP = 4,
};

/* "TRIM_HORIZON", ... ("UNKNOWN" for other values). Static storage. */
const char *sluice_iterator_type_name(int type);

/* Parses "TRIM_HORIZON", ... (exact, upper case) into `*out`; SLUICE_EINVAL otherwise. */
int sluice_iterator_type_parse(const char *s, enum sluice_iterator_type *out);

/* Where to start reading a shard: `sequence_number` for the *_SEQUENCE_NUMBER types,
 * `timestamp_ms` for AT_TIMESTAMP, neither otherwise. */
struct sluice_position {
    enum sluice_iterator_type type;
    const char *sequence_number;
    int64_t timestamp_ms;
};

/* GetShardIterator. On success `*iterator` is a NUL-terminated string the caller frees with
 * sluice_free. Thread-safe. */
int sluice_get_shard_iterator(struct sluice_client *c, const char *stream, const char *shard_id,
                              const struct sluice_position *pos, char **iterator);

struct sluice_record {
    const char *sequence_number;
    const char *partition_key;
    const void *data;
    size_t data_len;
    int64_t arrival_timestamp_ms;
};

/* One page of records. `next_shard_iterator` is NULL at the end of a closed shard. */
struct sluice_records {
    size_t n_records;
    const struct sluice_record *records;
    const char *next_shard_iterator;
    int64_t millis_behind_latest; /* 0 when caught up with the tip of the shard */
    int at_shard_end;             /* 1 when the shard is closed and this page ends it */
};

/* GetRecords with `limit` records at most (0 means the server's default, 10000). On success
 * `*out` is the caller's; free with sluice_records_free. Thread-safe. */
int sluice_get_records(struct sluice_client *c, const char *iterator, uint32_t limit,
                       struct sluice_records **out);
void sluice_records_free(struct sluice_records *r);

/* ---- producer ------------------------------------------------------------------------------ */

/* What happened to one record given to sluice_producer_put. Every pointer is valid only during
 * the callback. */
struct sluice_producer_result {
    void *user_ctx; /* as passed to sluice_producer_put */
    const char *stream;
    const char *partition_key;
    int error; /* 0: written */
    const char *shard_id;
    const char *sequence_number;
    const char *error_name;    /* failure: Kinesis error name, or sluice_errname(error) */
    const char *error_message; /* failure */
    uint32_t attempts;         /* PutRecords calls that carried this record */
    uint64_t latency_us;       /* from sluice_producer_put to this outcome */
};

/* Called once per record, on one of the producer's threads, never two calls at once. It must
 * not call sluice_producer_flush or sluice_producer_close; sluice_producer_put is allowed and
 * never blocks there (it returns SLUICE_EBUSY when the buffer is full). */
typedef void (*sluice_producer_callback)(void *arg, const struct sluice_producer_result *r);

struct sluice_producer_options {
    uint32_t batch_records_max; /* records per PutRecords (default and max 500) */
    size_t batch_bytes_max;     /* data + keys per PutRecords (default and max 5 MiB) */
    uint32_t linger_ms;         /* oldest buffered record waits at most this (default 100) */
    size_t buffered_bytes_max;  /* data + keys not yet acknowledged (default 64 MiB) */
    uint32_t in_flight_max;     /* concurrent PutRecords calls (default 4) */
    uint32_t attempts_max;      /* PutRecords calls per record at most (default 8) */
    uint32_t put_block_ms;      /* how long a full buffer blocks put (default 0: EBUSY now) */
    sluice_producer_callback callback; /* may be NULL */
    void *callback_arg;
};

struct sluice_producer;

/* Fills `o` with the defaults above. */
void sluice_producer_options_init(struct sluice_producer_options *o);

/* Starts a producer on `c` (which must outlive it) with one timer thread and `in_flight_max`
 * sender threads. `options` NULL means defaults. On success `*out` is the caller's; release it
 * with sluice_producer_close. */
int sluice_producer_new(struct sluice_client *c, const struct sluice_producer_options *options,
                        struct sluice_producer **out);

/* Buffers one record for `stream` (copied: the caller keeps its buffers) and returns at once.
 * The record is sent within linger_ms, or sooner when its stream's buffer fills a batch; its
 * outcome arrives through the callback with `user_ctx`.
 *
 * Delivery: a PutRecords call that fails as a whole is retried by the client (max_retries);
 * if it still fails, its records fail with that error. Entries that fail alone with a
 * retryable error (throttled, internal failure) are resent, in their original relative order,
 * after a backoff, until attempts_max calls have carried them. Order per partition key: a
 * batch is held back while a record with one of its keys is in flight or awaiting a retry, so
 * records of one key reach the server in put order (PutRecords itself may still apply a later
 * entry of a key when an earlier one was throttled in the same call).
 *
 * Returns SLUICE_EVALIDATION or SLUICE_EINVAL for a record the server would refuse (key not
 * 1-256 UTF-8 characters, data and key over 1 MiB, bad explicit hash key; no callback then),
 * SLUICE_EBUSY when buffered_bytes_max would be exceeded and put_block_ms passed without room,
 * SLUICE_EINVAL once sluice_producer_close has begun. Thread-safe. */
int sluice_producer_put(struct sluice_producer *p, const char *stream,
                        const struct sluice_record_in *r, void *user_ctx);

/* Sends everything buffered so far and blocks until each of those records has been
 * acknowledged or has failed, and its callback has returned. Records put meanwhile by other
 * threads are sent too but not waited for. Thread-safe (not from the callback). */
int sluice_producer_flush(struct sluice_producer *p);

/* Flushes, stops the threads and frees `p`. Must be called once, when no other call on `p`
 * is running. NULL is ignored. Returns the flush's result. */
int sluice_producer_close(struct sluice_producer *p);

/* ---- shard reader --------------------------------------------------------------------------
 *
 * A reader follows one shard, page by page. It is used by one thread at a time (any thread);
 * the client it reads through must outlive it. */

struct sluice_reader_options {
    const char *stream;
    const char *shard_id;
    struct sluice_position start;
    uint32_t limit; /* records per GetRecords (0: the server's default, 10000) */
};

struct sluice_reader;

/* Opens a reader on one shard: takes a shard iterator at `start`. Strings are copied. On
 * success `*out` is the caller's; release it with sluice_reader_close. */
int sluice_reader_open(struct sluice_client *c, const struct sluice_reader_options *options,
                       struct sluice_reader **out);

/* Reads the next page (one GetRecords call) into `*out` (the caller's; free with
 * sluice_records_free). The page may be empty while more records lie further on, so callers
 * loop; an empty page with millis_behind_latest 0 means caught up (pause before polling
 * again: a shard serves 5 GetRecords per second). The reader follows NextShardIterator; when
 * an iterator expires it takes a new one AFTER_SEQUENCE_NUMBER of the last record it returned
 * (or at the start position if none), so nothing is skipped or repeated. At the end of a
 * closed shard the page has at_shard_end set, and later calls return empty pages with it set.
 * One thread at a time. */
int sluice_reader_next(struct sluice_reader *r, struct sluice_records **out);

/* 1 once the reader has reached the end of its (closed) shard. */
int sluice_reader_at_end(const struct sluice_reader *r);

/* millis_behind_latest of the last page (-1 before the first). */
int64_t sluice_reader_millis_behind(const struct sluice_reader *r);

/* The sequence number of the last record returned ("" before the first). Valid until the next
 * call on `r`. */
const char *sluice_reader_last_sequence_number(const struct sluice_reader *r);

/* Frees `r`. NULL is ignored. */
void sluice_reader_close(struct sluice_reader *r);

#ifdef __cplusplus
}
#endif

#endif
