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
 * Invariants (sl_control_check_invariants): streams sorted by name, names unique; every shard's
 * group id < next_group and unique; the shards of a stream tile the hash-key space in order.
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include "core/buf.h"
#include "core/shard/hashkey.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The controller's own Raft group id; shard groups start after it. */
#define SL_CONTROL_GROUP 1

/* Format version of commands and snapshots below; bump it when either layout changes. */
#define SL_CONTROL_FORMAT_VERSION 1

#define SL_STREAM_NAME_BYTES_MAX 128

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
};

enum sl_control_op {
    SL_CONTROL_CREATE_STREAM = 1, /* name, created_ms, mode, retention_hours, shard_count,
                                     shard_limit */
    SL_CONTROL_SET_STATUS = 2,    /* name, created_ms, status */
    SL_CONTROL_REMOVE_STREAM = 3, /* name, created_ms */
    SL_CONTROL_SET_RETENTION = 4, /* name, created_ms, retention_hours */
};

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
 * than SL_STREAM_NAME_BYTES_MAX, an unknown op) or SL_ENOMEM. */
int sl_control_cmd_encode(const struct sl_control_cmd *cmd, struct sl_buf **out);

/* Decodes a command; SL_ECORRUPT when the bytes are not one. */
int sl_control_cmd_decode(const void *data, size_t len, struct sl_control_cmd *cmd);

/* Applies one committed command and returns its outcome, the same on every member:
 * 0; SL_EINUSE (CREATE of a name that exists); SL_ELIMIT (CREATE past shard_limit);
 * SL_ENOTFOUND (no stream of that name and creation time); SL_EINVAL (a transition the life
 * cycle above does not have). On success `*stream` (may be NULL) points at the stream the
 * command touched, or NULL after REMOVE_STREAM; the pointer is valid until the next apply or
 * restore. Aborts on allocation failure: a member that cannot apply must not diverge. */
int sl_control_apply(struct sl_control *c, const struct sl_control_cmd *cmd,
                     struct sl_stream **stream);

/* The stream named `name`, or NULL. */
struct sl_stream *sl_control_find(const struct sl_control *c, const char *name, size_t len);

/* Index of the first stream whose name sorts after `name` (ListStreams paging). */
size_t sl_control_after(const struct sl_control *c, const char *name, size_t len);

/* Shards of every stream that is not being deleted (what the shard limit counts). */
uint64_t sl_control_open_shards(const struct sl_control *c);

/* Streams in ON_DEMAND mode. */
uint32_t sl_control_on_demand_streams(const struct sl_control *c);

/* The whole table as a snapshot (a new buffer owned by the caller), and back: restore replaces
 * `c`'s contents. Returns 0, SL_ENOMEM, or (restore) SL_ECORRUPT leaving `c` unchanged. */
int sl_control_snapshot(const struct sl_control *c, struct sl_buf **out);
int sl_control_restore(struct sl_control *c, const void *data, size_t len);

/* Checks the invariants above with SL_ASSERT. */
void sl_control_check_invariants(const struct sl_control *c);

#endif
