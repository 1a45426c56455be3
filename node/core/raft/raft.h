/* raft.h — the consensus core: one Raft group as a pure, deterministic state machine.
 *
 * sluice replicates every shard's log and the controller's metadata with this one core, many
 * groups per node (multi-raft). The core never touches a socket, a file, a clock or a random
 * device. The caller feeds it inputs and carries out the outputs it collects:
 *
 *   inputs (calls)                          outputs (collected, taken with sl_raft_update_take)
 *   ----------------------------------      ---------------------------------------------------
 *   sl_raft_step      a message arrived     write     hard state, snapshot, log truncation and
 *   sl_raft_tick      one tick of time                entries to make durable, in order
 *   sl_raft_persisted writes up to id W     msgs      messages to send, already safe to send
 *                     are durable           restore   a received snapshot to load (durable)
 *   sl_raft_propose   new entries           committed entries to apply, in index order
 *   sl_raft_transfer  leadership transfer
 *   sl_raft_change    membership change
 *   sl_raft_compact   drop a log prefix
 *
 * Roles and the function behind each transition (every role may also step down to FOLLOWER on
 * seeing a higher term: become_follower):
 *
 *                 election timeout                 prevote quorum
 *   FOLLOWER ----------------------> PRECANDIDATE -----------------> CANDIDATE
 *     ^  ^      (campaign, prevote)   |   ^     (campaign)              |  |
 *     |  |          prevote rejected  |   | election timeout again      |  | vote quorum, own
 *     |  +-----------(become_follower)+   +-----------------------------+  | vote durable
 *     |  +--------------------------- votes rejected / higher term -----+  | (become_leader)
 *     |                                                                    v
 *     +------ higher term, lost quorum (CheckQuorum), transfer done -- LEADER
 *                         (become_follower)
 *   any non-leader --TIMEOUT_NOW from its leader, or from anyone while it knows none
 *                     (handle_timeout_now -> campaign, transfer)--> CANDIDATE
 *
 * Safety rules this core keeps (see docs/consensus.md for the full list):
 *  1. Persistence contract. Term, vote and entries count only once the caller reports them
 *     durable with sl_raft_persisted(). Every message except a leader's own replication traffic
 *     is held inside the core until every write issued before it is durable, so the outside
 *     world never sees state that a crash could take back. The caller may therefore batch the
 *     writes of many groups into one fsync (group commit).
 *  2. A candidate counts its own vote only once that vote is durable.
 *  3. A leader counts only its durable entries toward a quorum, and commits by counting
 *     replicas only an entry of its own term.
 *  4. Entries are applied only up to min(commit, local durable index), so an applied entry is
 *     both committed and readable from local storage.
 *  5. Membership changes one server at a time; a new configuration takes effect when it is
 *     appended; the next change waits until it is committed and the leader has committed an
 *     entry of its own term.
 *  6. A node id never returns with less durable state than it acknowledged: a wiped node rejoins
 *     under a new id.
 *
 * Threading: a struct sl_raft is used by one thread at a time. Nothing in it blocks.
 * Memory: payloads are struct sl_buf (reference counted). Who owns what is written on every
 * function below.
 */
#ifndef SL_RAFT_H
#define SL_RAFT_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most members (voters plus learners) in one group's configuration. */
#define SL_RAFT_MEMBERS_MAX 16

/* What the entry cache charges per entry besides its payload (the entry and its ring slot). */
#define SL_RAFT_CACHE_ENTRY_BYTES 48

/* Format version of the configuration encoding inside CONFIG entries; bump it when the layout
 * documented in membership.h changes. */
#define SL_RAFT_CONFIG_VERSION 1

enum sl_raft_role {
    SL_RAFT_FOLLOWER = 0,
    SL_RAFT_PRECANDIDATE = 1,
    SL_RAFT_CANDIDATE = 2,
    SL_RAFT_LEADER = 3,
};

enum sl_raft_entry_type {
    SL_RAFT_ENTRY_NORMAL = 1, /* an application payload (a batch of records, a metadata command) */
    SL_RAFT_ENTRY_CONFIG = 2, /* a whole new configuration (membership.h) */
    SL_RAFT_ENTRY_NOOP = 3,   /* appended by every new leader; payload is empty */
};

enum sl_raft_member_role {
    SL_RAFT_VOTER = 1,
    SL_RAFT_LEARNER = 2, /* receives the log, does not vote, does not count toward a quorum */
};

/* One log entry. `data` is one reference owned by whoever holds the struct; NULL means empty. */
struct sl_raft_entry {
    uint64_t index;
    uint64_t term;
    uint8_t type; /* enum sl_raft_entry_type */
    struct sl_buf *data;
};

struct sl_raft_member {
    uint64_t id;  /* never 0 */
    uint8_t role; /* enum sl_raft_member_role */
};

/* A configuration: the members of the group. Ids are distinct. */
struct sl_raft_config {
    uint32_t n;
    struct sl_raft_member members[SL_RAFT_MEMBERS_MAX];
};

/* A snapshot: the state after applying every entry up to `index` (of term `term`), with the
 * configuration in force at `index`. `data` is opaque to the core (one reference, owned by the
 * holder): the controller puts its metadata there; a shard puts its metadata and keeps its
 * retained records in the log. */
struct sl_raft_snapshot {
    uint64_t index;
    uint64_t term;
    struct sl_raft_config config;
    struct sl_buf *data;
};

/* What must survive a crash besides the log. `commit` is a hint: losing it costs re-applying. */
struct sl_raft_hard_state {
    uint64_t term;
    uint64_t vote; /* 0: none in this term */
    uint64_t commit;
};

enum sl_raft_msg_type {
    SL_RAFT_MSG_PREVOTE = 1,      /* term = proposed term; index/log_term = candidate's last */
    SL_RAFT_MSG_PREVOTE_RESP = 2, /* reject; term = the term asked for when granted */
    SL_RAFT_MSG_VOTE = 3,         /* index/log_term = candidate's last; flags TRANSFER */
    SL_RAFT_MSG_VOTE_RESP = 4,    /* reject */
    SL_RAFT_MSG_APPEND = 5,       /* index/log_term = previous entry; entries; commit */
    SL_RAFT_MSG_APPEND_RESP = 6,  /* ok: index = match; reject: index = rejected previous,
                                     log_term = conflict term, hint = conflict index */
    SL_RAFT_MSG_HEARTBEAT = 7,    /* commit = min(follower's match, leader's commit) */
    SL_RAFT_MSG_HEARTBEAT_RESP = 8,
    SL_RAFT_MSG_SNAPSHOT = 9,     /* snapshot; answered by APPEND_RESP */
    SL_RAFT_MSG_TIMEOUT_NOW = 10, /* leadership transfer: campaign now */
};

/* Bits of sl_raft_msg.flags. */
#define SL_RAFT_FLAG_REJECT   0x1u
#define SL_RAFT_FLAG_TRANSFER 0x2u /* a vote asked for by a leadership transfer */

/* One message between members of a group. Owns its `entries` array, one reference per entry,
 * and the snapshot's data reference; release with sl_raft_msg_free. */
struct sl_raft_msg {
    uint8_t type; /* enum sl_raft_msg_type */
    uint8_t flags;
    uint64_t group;
    uint64_t from;
    uint64_t to;
    uint64_t term;
    uint64_t index;
    uint64_t log_term;
    uint64_t commit;
    uint64_t hint;
    uint32_t n_entries;
    struct sl_raft_entry *entries;
    struct sl_raft_snapshot snapshot; /* SL_RAFT_MSG_SNAPSHOT only */
};

/* Releases everything `m` owns and zeroes it. */
void sl_raft_msg_free(struct sl_raft_msg *m);

/* Moves `*src` into `*dst` (which must not own anything) and zeroes `*src`. */
void sl_raft_msg_move(struct sl_raft_msg *dst, struct sl_raft_msg *src);

/* Copies `*src` into `*dst`, taking new references; SL_ENOMEM leaves `*dst` zeroed. */
int sl_raft_msg_copy(struct sl_raft_msg *dst, const struct sl_raft_msg *src);

/* Durable entries the core no longer caches are read back through this. `read` fills `out`
 * with entries lo..hi (inclusive) in order, stopping early after `out_max` entries or before
 * the payloads would pass `bytes_max` (the first entry is always returned, however large),
 * stores the count in `*n_out` and returns 0, or returns a negative error. Each entry's data
 * reference then belongs to the core. The core asks only for indexes that are durable and not
 * compacted. */
struct sl_raft_storage {
    void *ctx;
    int (*read)(void *ctx, uint64_t group, uint64_t lo, uint64_t hi, size_t bytes_max,
                struct sl_raft_entry *out, size_t out_max, size_t *n_out);
};

struct sl_raft_options {
    uint64_t group;           /* the group id carried on every message */
    uint64_t id;              /* this member's id, never 0 */
    uint64_t random_seed;     /* the only source of randomness (election timeouts) */
    uint32_t election_ticks;  /* base election timeout, 2..2^20; randomised in [t, 2t) */
    uint32_t heartbeat_ticks; /* leader heartbeat period; < election_ticks */
    /* Replication: an APPEND carries at most append_entries_max entries and append_bytes_max
     * payload bytes (an entry larger than that goes alone); at most inflight_msgs_max APPENDs
     * are unacknowledged per follower. */
    uint32_t append_entries_max;
    size_t append_bytes_max;
    uint32_t inflight_msgs_max;
    /* Messages waiting for a write to be durable; beyond this they are dropped, as a lossy
     * network would. */
    uint32_t held_msgs_max;
    /* The leader refuses proposals (SL_EBUSY) while this many entries or bytes are
     * uncommitted; a batch larger than the entry window can never fit (SL_ELIMIT). */
    uint64_t uncommitted_entries_max;
    size_t uncommitted_bytes_max;
    /* Memory for committed, durable entries kept in the cache, payloads plus a fixed cost per
     * entry (SL_RAFT_CACHE_ENTRY_BYTES); older ones are read back through `storage`. */
    size_t cache_bytes_max;
    uint32_t apply_entries_max; /* committed entries handed out per update */
    /* A learner this far behind the commit index may be promoted (see sl_raft_change). */
    uint64_t promote_lag_entries_max;
    struct sl_raft_storage storage; /* required */
#ifdef SL_RAFT_BROKEN
    uint32_t broken; /* test-only: SL_RAFT_BROKEN_* bits */
#endif
};

/* Deliberately broken variants, which take effect only in the test library sluice_core_broken
 * (built with SL_RAFT_BROKEN, where sl_raft_options has a `broken` field), to prove that the
 * simulator's checkers catch real bugs. */
#define SL_RAFT_BROKEN_COMMIT_OLD_TERM 0x1u /* commit by counting replicas of older terms */
#define SL_RAFT_BROKEN_VOTE_EARLY      0x2u /* send vote grants before the vote is durable */
#define SL_RAFT_BROKEN_ACK_EARLY       0x4u /* count entries toward commit before durable */
#define SL_RAFT_BROKEN_VOTE_ANY_LOG    0x8u /* grant votes without the up-to-date log check */

/* Fills `o` with defaults (election 10 ticks, heartbeat 1 tick, ...); the caller sets group, id,
 * random_seed and storage. */
void sl_raft_options_default(struct sl_raft_options *o);

/* The durable state a member starts from. A brand-new group's first members all boot from the
 * same snapshot: index 0, term 0, the initial configuration, no data. A member being added
 * later boots from an empty snapshot (index 0, no members) and learns the configuration from the
 * leader. After a restart: what storage holds. */
struct sl_raft_boot {
    struct sl_raft_hard_state hard_state;
    struct sl_raft_snapshot snapshot; /* data is borrowed: the core takes its own reference */
    uint64_t last_index;              /* the log holds (snapshot.index, last_index] */
    uint64_t applied;                 /* the state machine's index: committed entries after
                                         it are handed out again, none before; if it is below
                                         snapshot.index, the first update restores the
                                         snapshot */
};

/* Everything the caller has to do after feeding inputs. Owned by the caller once taken; every
 * part stays valid until sl_raft_update_free. Carry it out in this order:
 *  1. If `write_id` != 0: make the write durable, after every earlier write (possibly in the
 *     same fsync as other groups' writes), then call sl_raft_persisted(write_id). A write is:
 *     if has_snapshot, store `snapshot` and drop entries <= snapshot.index; if truncate_from,
 *     drop entries >= truncate_from; append `entries`; store `hard_state`. Atomically.
 *  2. Send `msgs` (may start before the write is durable; messages that needed it were held).
 *     A message may be moved out with sl_raft_msg_move.
 *  3. If `restore`, reset the state machine to `restore_snapshot` (already durable).
 *  4. Apply `committed` in order. They are committed and durable on this node already, so
 *     applying need not wait for this update's write. */
struct sl_raft_update {
    uint64_t write_id; /* 0: nothing to write */
    struct sl_raft_hard_state hard_state;
    bool has_snapshot;
    struct sl_raft_snapshot snapshot;
    uint64_t truncate_from; /* 0: nothing to truncate */
    size_t n_entries;
    struct sl_raft_entry *entries;

    size_t n_msgs;
    struct sl_raft_msg *msgs;

    bool restore;
    struct sl_raft_snapshot restore_snapshot;

    size_t n_committed;
    struct sl_raft_entry *committed;
};

/* Releases everything `u` owns and zeroes it. */
void sl_raft_update_free(struct sl_raft_update *u);

struct sl_raft;

/* Creates a member from `boot` (borrowed). Reads the retained log through opt->storage to learn
 * its terms and configurations. Returns SL_EINVAL for inconsistent options or boot state,
 * SL_ENOMEM, or an error from storage. */
int sl_raft_new(struct sl_raft **out, const struct sl_raft_options *opt,
                const struct sl_raft_boot *boot);

/* Frees `r` and everything it holds, including messages it was still holding back. */
void sl_raft_free(struct sl_raft *r);

/* Feeds one message addressed to this member. `m` stays the caller's; the core takes the
 * references it keeps. Messages from the past are ignored (0). Returns SL_EINVAL, and changes
 * nothing, for a malformed message or one addressed to another group or member. */
int sl_raft_step(struct sl_raft *r, const struct sl_raft_msg *m);

/* One tick of logical time: election and heartbeat timers, CheckQuorum, transfer timeout. */
void sl_raft_tick(struct sl_raft *r);

/* Reports that every write up to and including `write_id` is durable. Returns SL_EINVAL for an
 * id that was never issued. Lower or repeated ids are ignored. */
int sl_raft_persisted(struct sl_raft *r, uint64_t write_id);

/* Appends `n` entries with payloads `data[0..n)` (one reference each is taken; the caller keeps
 * its own) to the leader's log. `type` must be SL_RAFT_ENTRY_NORMAL (configurations go through
 * sl_raft_change). On success stores the first index and the term. The entries are committed
 * when sl_raft_update_take hands out those indexes with that term. Errors: SL_ENOTLEADER (see
 * sl_raft_leader for a hint), SL_EBUSY (transfer in progress or the uncommitted window is full:
 * retry later), SL_ELIMIT (more entries than the whole window), SL_EINVAL, SL_ENOMEM. Nothing
 * is appended on error. */
int sl_raft_propose(struct sl_raft *r, uint8_t type, struct sl_buf *const *data, size_t n,
                    uint64_t *first_index, uint64_t *term);

/* Asks the leader to hand leadership to voter `to`: it stops taking proposals, brings `to` up to
 * date and tells it to campaign. Gives up after one election timeout. Errors: SL_ENOTLEADER,
 * SL_EINVAL (not a voter, or self), SL_EBUSY (a transfer is already under way). */
int sl_raft_transfer(struct sl_raft *r, uint64_t to);

enum sl_raft_change_op {
    SL_RAFT_ADD_LEARNER = 1,
    SL_RAFT_PROMOTE = 2, /* learner -> voter; needs it caught up */
    SL_RAFT_REMOVE = 3,  /* voter or learner; never the leader itself (transfer first) */
};

/* Proposes a one-server membership change. Errors: SL_ENOTLEADER; SL_EBUSY while a previous
 * change is uncommitted, before the leader has committed an entry of its term, or during a
 * transfer; SL_ENOTCAUGHTUP (promote of a lagging learner); SL_EINVAL (unknown member, already
 * present, removing the leader); SL_ELIMIT (SL_RAFT_MEMBERS_MAX); SL_ENOMEM. On success stores
 * the index of the CONFIG entry in `*index` (may be NULL). */
int sl_raft_change(struct sl_raft *r, enum sl_raft_change_op op, uint64_t id, uint64_t *index);

/* Records a snapshot of the state machine at `index` (<= applied) and drops log entries up to
 * it. `data` is the state at exactly `index`; the core takes one reference. The change is
 * written out by the next update. Errors: SL_EINVAL (index beyond applied), SL_ESTALE (not past
 * the current snapshot). */
int sl_raft_compact(struct sl_raft *r, uint64_t index, struct sl_buf *data);

/* True when sl_raft_update_take would hand out something. */
bool sl_raft_has_update(const struct sl_raft *r);

/* Moves the collected outputs into `*u` (zeroed first). Returns 0, or SL_ENOMEM or the
 * storage's error (reading committed entries back), in which case nothing was taken and the
 * call may be repeated. */
int sl_raft_update_take(struct sl_raft *r, struct sl_raft_update *u);

/* Read-only views of the state (all O(1) unless noted). */
uint64_t sl_raft_id(const struct sl_raft *r);
uint64_t sl_raft_group(const struct sl_raft *r);
enum sl_raft_role sl_raft_role(const struct sl_raft *r);
uint64_t sl_raft_term(const struct sl_raft *r);
uint64_t sl_raft_leader(const struct sl_raft *r); /* 0 when unknown */
uint64_t sl_raft_commit(const struct sl_raft *r);
uint64_t sl_raft_applied(const struct sl_raft *r);
uint64_t sl_raft_durable(const struct sl_raft *r);
uint64_t sl_raft_first_index(const struct sl_raft *r);
uint64_t sl_raft_last_index(const struct sl_raft *r);
/* The configuration in force (the latest in the log, committed or not). */
const struct sl_raft_config *sl_raft_config(const struct sl_raft *r);
/* Index of the CONFIG entry (or snapshot) that holds the configuration in force. */
uint64_t sl_raft_config_index(const struct sl_raft *r);
/* The leader's view of member `id`'s replicated prefix; 0 when not leader or unknown. */
uint64_t sl_raft_match(const struct sl_raft *r, uint64_t id);
/* The term of entry `index` (the snapshot's term at the snapshot's index), or 0 when compacted
 * or beyond the log (O(log terms)). */
uint64_t sl_raft_term_at(const struct sl_raft *r, uint64_t index);

/* Checks every internal invariant with SL_ASSERT (the simulator calls it after each step).
 * O(members + terms in the log); `deep` also walks every cached entry (O(cache)). */
void sl_raft_check_invariants(const struct sl_raft *r, bool deep);

/* Role name for logs ("FOLLOWER", ...). */
const char *sl_raft_role_name(enum sl_raft_role role);

/* Message type name for logs ("APPEND", ...), "?" for an unknown type. */
const char *sl_raft_msg_type_name(uint8_t type);

#endif
