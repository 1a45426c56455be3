/* membership.h — configurations: their encoding in CONFIG entries, the history of
 * configurations in the log, and quorum arithmetic.
 *
 * Encoding of a configuration (the payload of an SL_RAFT_ENTRY_CONFIG entry), little-endian,
 * version SL_RAFT_CONFIG_VERSION:
 *
 *   offset  size  field
 *   0       1     version (1)
 *   1       4     n, number of members (<= SL_RAFT_MEMBERS_MAX)
 *   5       9*n   members: id (8 bytes, != 0, distinct), role (1 byte: 1 voter, 2 learner)
 *
 * Bump SL_RAFT_CONFIG_VERSION when the layout changes; decoders refuse versions they do not
 * know.
 *
 * History: a configuration takes effect as soon as its entry is appended, and an uncommitted one
 * is undone when its entry is truncated, so the core keeps every configuration from the one in
 * force at the snapshot onward: items[0].index <= snap_index, later items are CONFIG entries of
 * the retained log, and the last item is the configuration in force.
 */
#ifndef SL_RAFT_MEMBERSHIP_H
#define SL_RAFT_MEMBERSHIP_H

#include "core/raft/raft.h"

/* Encodes `c` into a new buffer (`*out`, one reference for the caller). SL_ENOMEM. */
int sl_raft_config_encode(const struct sl_raft_config *c, struct sl_buf **out);

/* Decodes `len` bytes into `*c`. SL_EINVAL for anything malformed (wrong version or size, too
 * many members, id 0, duplicate ids, unknown role). */
int sl_raft_config_decode(const void *data, size_t len, struct sl_raft_config *c);

/* SL_OK when `c` is well formed (the rules of sl_raft_config_decode), else SL_EINVAL. */
int sl_raft_config_validate(const struct sl_raft_config *c);

/* The member `id` of `c`, or NULL. */
const struct sl_raft_member *sl_raft_config_find(const struct sl_raft_config *c, uint64_t id);

/* Whether `id` is a voter in `c`. */
bool sl_raft_config_is_voter(const struct sl_raft_config *c, uint64_t id);

/* Number of voters in `c`. */
uint32_t sl_raft_config_voters(const struct sl_raft_config *c);

/* Votes (or replicas) needed for a majority of `c`'s voters. */
uint32_t sl_raft_config_quorum(const struct sl_raft_config *c);

struct sl_raft_config_item {
    uint64_t index;
    struct sl_raft_config config;
};

struct sl_raft_config_history {
    struct sl_raft_config_item *items;
    size_t n;
    size_t cap;
};

/* Starts the history with `c` in force at `index` (the snapshot). SL_ENOMEM. */
int sl_raft_history_init(struct sl_raft_config_history *h, uint64_t index,
                         const struct sl_raft_config *c);
void sl_raft_history_close(struct sl_raft_config_history *h);

/* Makes room for `extra` more items so that sl_raft_history_push cannot fail. SL_ENOMEM. */
int sl_raft_history_reserve(struct sl_raft_config_history *h, size_t extra);

/* Adds `c`, appended at `index` (> the last item's index); room must be reserved. */
void sl_raft_history_push(struct sl_raft_config_history *h, uint64_t index,
                          const struct sl_raft_config *c);

/* Undoes every configuration appended at or after `from`; returns whether any was undone. */
bool sl_raft_history_truncate(struct sl_raft_config_history *h, uint64_t from);

/* The configuration in force at `index` and the index it came from. */
const struct sl_raft_config_item *sl_raft_history_at(const struct sl_raft_config_history *h,
                                                     uint64_t index);

/* Forgets items no longer needed once the log is compacted up to `index`. */
void sl_raft_history_compact(struct sl_raft_config_history *h, uint64_t index);

/* Replaces everything with `c` in force at `index` (snapshot installed). Cannot fail. */
void sl_raft_history_reset(struct sl_raft_config_history *h, uint64_t index,
                           const struct sl_raft_config *c);

static inline const struct sl_raft_config_item *
sl_raft_history_current(const struct sl_raft_config_history *h)
{
    return &h->items[h->n - 1];
}

#endif
