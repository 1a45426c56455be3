/* control.h — the controller's state machine: every stream and its shards.
 *
 * The controller is a Raft group (group id SL_CONTROL_GROUP) whose log holds commands; every
 * member applies the same committed commands in the same order and so holds the same table.
 * Nothing here reads the clock or the configuration: whatever a decision depends on (creation
 * time, the cluster's shard limit) travels inside the command, so apply is deterministic.
 *
 * Stream life cycle and the command behind each transition:
 *
 *     CREATE_STREAM          SET_STATUS(ACTIVE)          SET_STATUS(DELETING)     REMOVE_STREAM
 *   ----------------> CREATING ---------------> ACTIVE ----------------------> DELETING ----> gone
 *                        |                                                        ^
 *                        +------------------- SET_STATUS(DELETING) ---------------+
 *
 * The node that leads the controller proposes SET_STATUS(ACTIVE) once every shard group of a
 * CREATING stream has a leader, and REMOVE_STREAM once the shard groups of a DELETING stream are
 * gone. Shard raft groups get ids from `next_group`, in shard order, when CREATE_STREAM applies.
 *
 * Besides its shards a stream carries what users set on it and nothing reads while writing:
 * tags (ADD_TAGS, REMOVE_TAGS) and a warm-throughput target (SET_WARM_THROUGHPUT).
 *
 * Invariants (sl_control_check_invariants): streams sorted by name, names unique; every shard's
 * group id < next_group and unique; the shards of a stream tile the hash-key space in order; a
 * stream's tags sorted by key, keys unique and non-empty, at most SL_TAGS_MAX of them.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include "core/buf.h"
#include "core/shard/hashkey.h"
#include "core/shard/validate.h" /* SL_TAG_KEY_CHARS_MAX, SL_TAG_VALUE_CHARS_MAX */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The controller's own Raft group id; shard groups start after it. */
#define SL_CONTROL_GROUP 1

/* Format version of commands and snapshots below; bump it when either layout changes. Decoding
 * takes every version up to this one (a node reads the logs and snapshots older nodes wrote).
 * Encoding writes the oldest version that holds what it writes, so that a table that never used
 * a newer feature stays readable by the sluiced before it. Version 2 added tags and the
 * warm-throughput target. */
#define SL_CONTROL_FORMAT_VERSION 2

/* The version an encoded command or snapshot says it has (0 when empty): when decoding fails,
 * one above SL_CONTROL_FORMAT_VERSION means a newer sluiced wrote it. */
static inline unsigned sl_control_version_of(const void *data, size_t len)
{
    return len > 0 ? *(const unsigned char *)data : 0;
}

#define SL_STREAM_NAME_BYTES_MAX 128

/* Tags: at most SL_TAGS_MAX per stream; keys of 1-128 characters, values of 0-256 (Kinesis
 * limits, in characters: the byte bounds allow any UTF-8). What a key may contain is the front
 * end's business (core/shard/validate.h); the table only keeps keys unique and sorted. */
#define SL_TAGS_MAX            50
#define SL_TAG_KEY_BYTES_MAX   (4 * SL_TAG_KEY_CHARS_MAX)
#define SL_TAG_VALUE_BYTES_MAX (4 * SL_TAG_VALUE_CHARS_MAX)

/* One tag. In a stream the table owns both strings and NUL-terminates them; in a command they
 * point into memory the caller keeps until encode or apply returns (decode points them into the
 * bytes it decodes), and need not be NUL-terminated; an empty value may be NULL. */
struct sl_tag {
    const char *key;
    const char *value;
    uint16_t key_len;
    uint16_t value_len;
};

/* Values equal the protobuf API's StreamStatus and StreamMode (proto/sluice.proto). */
enum sl_stream_status {
    SL_STREAM_CREATING = 0,
    SL_STREAM_DELETING = 1,
    SL_STREAM_ACTIVE = 2,
    SL_STREAM_UPDATING = 3,
};

enum sl_stream_mode {
    SL_STREAM_PROVISIONED = 0,
    SL_STREAM_ON_DEMAND = 1,
};

struct sl_shard_meta {
    uint32_t index; /* its id is shardId-<index, 12 digits> */
    uint64_t group; /* the Raft group holding its log */
    sl_u128 start;  /* hash-key range, inclusive */
    sl_u128 end;
    uint64_t created_ms;
};

struct sl_stream {
    char name[SL_STREAM_NAME_BYTES_MAX + 1]; /* NUL-terminated */
    uint32_t name_len;
    uint64_t created_ms; /* also tells incarnations of one name apart */
    uint8_t status;      /* enum sl_stream_status */
    uint8_t mode;        /* enum sl_stream_mode */
    uint32_t retention_hours;
    uint32_t n_shards;
    struct sl_shard_meta *shards; /* by index, tiling the hash-key space */
    uint32_t warm_mibps;          /* UpdateStreamWarmThroughput's target; 0 = none */
    uint32_t n_tags;
    struct sl_tag *tags; /* sorted by key, bytewise (a prefix first) */
};

enum sl_control_op {
    SL_CONTROL_CREATE_STREAM = 1, /* name, created_ms, mode, retention_hours, shard_count,
                                     shard_limit */
    SL_CONTROL_SET_STATUS = 2,    /* name, created_ms, status */
    SL_CONTROL_REMOVE_STREAM = 3, /* name, created_ms */
    SL_CONTROL_SET_RETENTION = 4, /* name, created_ms, retention_hours */
    SL_CONTROL_ADD_TAGS = 5,      /* name, created_ms, tags (a key given twice: the last wins) */
    SL_CONTROL_REMOVE_TAGS = 6,   /* name, created_ms, tags (their keys; absent keys are fine) */
    SL_CONTROL_SET_WARM_THROUGHPUT = 7, /* name, created_ms, warm_mibps */
};
#define SL_CONTROL_OP_LAST SL_CONTROL_SET_WARM_THROUGHPUT

/* One command: the payload of a controller log entry. Fields an op does not use are zero. */
struct sl_control_cmd {
    uint8_t op; /* enum sl_control_op */
    char name[SL_STREAM_NAME_BYTES_MAX + 1];
    uint32_t name_len;
    uint64_t created_ms;
    uint8_t mode;
    uint8_t status;
    uint32_t retention_hours;
    uint32_t shard_count;
    uint32_t shard_limit; /* CREATE_STREAM fails when the cluster would pass it */
    uint32_t warm_mibps;  /* CREATE_STREAM, SET_WARM_THROUGHPUT */
    uint32_t n_tags;      /* CREATE_STREAM, ADD_TAGS, REMOVE_TAGS */
    struct sl_tag tags[SL_TAGS_MAX];
};

struct sl_control {
    uint64_t next_group;
    size_t n_streams;
    size_t cap;
    struct sl_stream **streams; /* sorted by name */
};

/* An empty table: no streams, next_group = SL_CONTROL_GROUP + 1. */
void sl_control_init(struct sl_control *c);
void sl_control_close(struct sl_control *c);

/* Encodes `cmd` into a new buffer (owned by the caller). Returns 0, SL_EINVAL (a name longer
 * than SL_STREAM_NAME_BYTES_MAX, an unknown op, more than SL_TAGS_MAX tags, an empty key, a key
 * or value past its byte bound) or SL_ENOMEM. */
int sl_control_cmd_encode(const struct sl_control_cmd *cmd, struct sl_buf **out);

/* Points `cmd` at stream `s`: its name and creation time. */
void sl_control_cmd_target(struct sl_control_cmd *cmd, const struct sl_stream *s);

/* Decodes a command of any version up to SL_CONTROL_FORMAT_VERSION; SL_ECORRUPT when the bytes
 * are not one. The tags point into `data`. */
int sl_control_cmd_decode(const void *data, size_t len, struct sl_control_cmd *cmd);

/* Applies one committed command and returns its outcome, the same on every member:
 * 0; SL_EINUSE (CREATE of a name that exists); SL_ELIMIT (CREATE past shard_limit, or a
 * stream that would have more than SL_TAGS_MAX tags); SL_ENOTFOUND (no stream of that name and
 * creation time); SL_EINVAL (a transition the life cycle above does not have; changing a
 * DELETING stream). A command that fails changes nothing. On success `*stream` (may be NULL) points
 * at the stream the command touched, or NULL after REMOVE_STREAM; the pointer is valid until the
 * next apply or restore. Aborts on allocation failure: a member that cannot apply must not diverge.
 */
int sl_control_apply(struct sl_control *c, const struct sl_control_cmd *cmd,
                     struct sl_stream **stream);

/* The stream named `name`, or NULL. */
struct sl_stream *sl_control_find(const struct sl_control *c, const char *name, size_t len);

/* Index of the first stream whose name sorts after `name` (ListStreams paging). */
size_t sl_control_after(const struct sl_control *c, const char *name, size_t len);

/* Shards of every stream that is not being deleted (what the shard limit counts). */
uint64_t sl_control_open_shards(const struct sl_control *c);

/* The tag of stream `s` with key `key`, or NULL. */
const struct sl_tag *sl_stream_tag(const struct sl_stream *s, const char *key, size_t len);

/* Index of the first tag of `s` whose key sorts after `key` (ListTagsForStream paging). */
uint32_t sl_stream_tags_after(const struct sl_stream *s, const char *key, size_t len);

/* How many tags `s` would have after ADD_TAGS of `tags` (keys it has count once). */
uint32_t sl_stream_tags_after_add(const struct sl_stream *s, const struct sl_tag *tags, uint32_t n);

/* Streams in ON_DEMAND mode. */
uint32_t sl_control_on_demand_streams(const struct sl_control *c);

/* The whole table as a snapshot (a new buffer owned by the caller), and back: restore replaces
 * `c`'s contents and takes every version up to SL_CONTROL_FORMAT_VERSION. Returns 0, SL_ENOMEM,
 * or (restore) SL_ECORRUPT leaving `c` unchanged. */
int sl_control_snapshot(const struct sl_control *c, struct sl_buf **out);
int sl_control_restore(struct sl_control *c, const void *data, size_t len);

/* Checks the invariants above with SL_ASSERT. */
void sl_control_check_invariants(const struct sl_control *c);

#endif
