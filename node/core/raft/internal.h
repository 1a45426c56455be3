/* internal.h — the state of one group, shared by the files of the consensus core only.
 *
 *   raft.c         lifecycle, the persistence contract (writes, held messages, durable index),
 *                  updates, step dispatch, ticks, role transitions, invariants
 *   election.c     PreVote, votes, CheckQuorum lease, leadership transfer
 *   replication.c  proposals, AppendEntries, heartbeats, commit, snapshots, compaction
 *   membership.c   configurations: encoding, history, quorum arithmetic (pure data)
 *   change.c       sl_raft_change: one-server membership changes
 *
 * Invariants of struct sl_raft (sl_raft_check_invariants):
 *   R1. snap.index == log.snap_index <= applied <= commit <= log.last.
 *   R2. durable <= log.last; durable is the last index that is both on disk and equal to the
 *       in-memory entry (a pending write may still replace a suffix, or a whole log when it
 *       installs a snapshot).
 *   R3. peers[] lists exactly the members of the configuration in force, in its order.
 *   R4. role == LEADER  <=>  leader == id; a leader is a voter; for every member but itself
 *       match < next <= log.last + 1, and at most inflight_msgs_max APPENDs with entries in
 *       flight (the empty gap checks are not counted), whose last indexes increase within
 *       (match, next).
 *   R5. write_durable <= write_last; pending writes and held messages wait for ids in
 *       (write_durable, write_last + 1], in order.
 */
#ifndef SL_RAFT_INTERNAL_H
#define SL_RAFT_INTERNAL_H

#include "core/rand.h"
#include "core/raft/log.h"
#include "core/raft/membership.h"
#include "core/raft/raft.h"

enum sl_raft_progress_state {
    SL_RAFT_PROBE = 0,     /* find where the logs agree: one APPEND at a time */
    SL_RAFT_REPLICATE = 1, /* stream APPENDs, up to inflight_msgs_max unacknowledged */
    SL_RAFT_SNAPSHOT = 2,  /* a snapshot is on its way; wait */
};

enum sl_raft_vote_state {
    SL_RAFT_VOTE_NONE = 0,
    SL_RAFT_VOTE_GRANTED = 1,
    SL_RAFT_VOTE_REJECTED = 2,
};

/* What the leader knows of one member (including itself), and a candidate's tally. */
struct sl_raft_progress {
    uint64_t id;
    uint8_t role;  /* enum sl_raft_member_role */
    uint8_t state; /* enum sl_raft_progress_state */
    uint8_t vote;  /* enum sl_raft_vote_state */
    bool probe_sent;
    bool recent_active;
    uint64_t match;       /* highest index known replicated (durably) on the member */
    uint64_t next;        /* next index to send */
    uint64_t round_start; /* REPLICATE: first index sent in this round; older replies are stale */
    /* REPLICATE: last index of each APPEND in flight, oldest first, a ring of
     * opt.inflight_msgs_max slots (allocated on the first REPLICATE, owned by the progress). */
    uint64_t *inflight;
    uint32_t inflight_start;
    uint32_t inflight_count;
    uint64_t snapshot_index;
    uint32_t snapshot_ticks;
};

/* A write handed out and not yet reported durable. */
struct sl_raft_pending_write {
    uint64_t id;
    uint64_t stale_from; /* first index whose disk content the write replaces, 0 if none */
    uint64_t last_after; /* the last log index once the write is applied */
};

/* A message that may leave only once write `write_id` is durable. */
struct sl_raft_held_msg {
    uint64_t write_id;
    struct sl_raft_msg msg;
};

struct sl_raft {
    struct sl_raft_options opt;
    struct sl_rand rand;

    /* State that is persisted (it counts once durable). */
    uint64_t term;
    uint64_t vote;
    uint64_t commit;
    struct sl_raft_log log;
    struct sl_raft_config_history configs;
    struct sl_raft_snapshot snap; /* owns a reference to snap.data */

    /* Volatile state. */
    uint64_t applied;
    enum sl_raft_role role;
    uint64_t leader;
    uint32_t election_elapsed;
    uint32_t heartbeat_elapsed;
    uint32_t randomized_timeout;
    struct sl_raft_progress peers[SL_RAFT_MEMBERS_MAX];
    uint32_t n_peers;

    /* Candidate: the write that makes its own vote durable. */
    uint64_t self_vote_write;
    /* Leader: index of its NOOP (first entry of its term), transfer, proposal window. */
    uint64_t term_start;
    uint64_t transfer_to;
    uint32_t transfer_elapsed;
    bool transfer_sent;
    uint64_t uncommitted_bytes;
    bool bcast_pending;

    /* Durability. */
    uint64_t write_last;
    uint64_t write_durable;
    uint64_t durable;
    struct sl_raft_pending_write *pending;
    size_t n_pending;
    size_t cap_pending;

    /* The write being collected for the next update. */
    bool w_hard;           /* term or vote changed: messages must wait for it */
    bool w_commit;         /* only the commit hint changed: nothing waits for it */
    bool w_snap;           /* snap changed */
    uint64_t w_truncate;   /* 0, or the lowest index below w_from whose entry was replaced */
    uint64_t w_stale_from; /* 0, or the lowest index whose disk content the write replaces
                              (w_truncate, or lower for a snapshot that resets the log) */
    uint64_t w_from;       /* first index not yet handed out in a write */

    /* A received snapshot: the state machine is restored once its write is durable. */
    bool restore_wait;      /* restored once write restore_write is durable */
    uint64_t restore_write; /* 0 at boot: the stored snapshot is durable already */

    /* Outputs. */
    struct sl_raft_msg *out;
    size_t n_out;
    size_t cap_out;
    struct sl_raft_held_msg *held;
    size_t n_held;
    size_t cap_held;
};

static inline bool sl_raft_is_broken(const struct sl_raft *r, uint32_t bit)
{
#ifdef SL_RAFT_BROKEN
    return (r->opt.broken & bit) != 0;
#else
    (void)r;
    (void)bit;
    return false;
#endif
}

/* raft.c */
const struct sl_raft_config *sl_raft__config(const struct sl_raft *r);
struct sl_raft_progress *sl_raft__progress(struct sl_raft *r, uint64_t id);
/* A message of `type` to `to` in the current term, zeroed otherwise; queued by sl_raft__send. */
struct sl_raft_msg sl_raft__msg(const struct sl_raft *r, uint8_t type, uint64_t to);
/* Queues `m` (takes ownership): out now, or held until what it reflects is durable. */
void sl_raft__send(struct sl_raft *r, struct sl_raft_msg *m);
void sl_raft__become_follower(struct sl_raft *r, uint64_t term, uint64_t leader);
void sl_raft__become_leader(struct sl_raft *r);
void sl_raft__reset_election_timer(struct sl_raft *r);
/* Sets the commit index (never backwards) and notes the write. */
void sl_raft__set_commit(struct sl_raft *r, uint64_t commit);
/* Rebuilds peers[] from the configuration in force. */
void sl_raft__apply_config(struct sl_raft *r);
/* Appends entries to the log (leader's proposals and follower's replicated entries), updating
 * the configuration history for CONFIG entries. The log and history must have room. */
void sl_raft__append(struct sl_raft *r, const struct sl_raft_entry *e);
/* Drops entries >= from, undoing their configurations. */
void sl_raft__truncate(struct sl_raft *r, uint64_t from);
/* Notes that the write being collected replaces what the disk holds from `index` on: `durable`
 * drops below it until that write is durable. */
void sl_raft__stale_from(struct sl_raft *r, uint64_t index);

/* election.c */
void sl_raft__campaign(struct sl_raft *r, bool pre, bool transfer);
void sl_raft__handle_vote_request(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_vote_response(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_timeout_now(struct sl_raft *r, const struct sl_raft_msg *m);
/* Candidate: counts a vote (or its own, from == id) and moves on if decided. */
void sl_raft__record_vote(struct sl_raft *r, uint64_t from, bool granted);
/* Leader, every election timeout: steps down when a quorum was not heard from. */
void sl_raft__check_quorum(struct sl_raft *r);
/* Leader: sends TIMEOUT_NOW if the transfer target is caught up. */
void sl_raft__maybe_finish_transfer(struct sl_raft *r, struct sl_raft_progress *pr);

/* replication.c */
/* Puts `pr` in PROBE from `next`, forgetting what was in flight. */
void sl_raft__probe(struct sl_raft_progress *pr, uint64_t next);
/* Sends one APPEND (or the snapshot) if the follower's state and window allow; returns whether
 * a message went out. */
bool sl_raft__send_append(struct sl_raft *r, struct sl_raft_progress *pr);
/* Sends APPENDs to `pr` until its state or window stops it. */
void sl_raft__send_appends(struct sl_raft *r, struct sl_raft_progress *pr);
void sl_raft__bcast_append(struct sl_raft *r);
void sl_raft__bcast_heartbeat(struct sl_raft *r);
void sl_raft__maybe_commit(struct sl_raft *r);
void sl_raft__handle_append(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_append_response(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_heartbeat(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_heartbeat_response(struct sl_raft *r, const struct sl_raft_msg *m);
void sl_raft__handle_snapshot(struct sl_raft *r, const struct sl_raft_msg *m);
/* Leader: appends entries of its term (room is reserved first: on SL_ENOMEM nothing changed). */
int sl_raft__leader_append(struct sl_raft *r, uint8_t type, struct sl_buf *const *data, size_t n,
                           uint64_t *first_index);

#endif
