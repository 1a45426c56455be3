/* raft_fixture.h — shared helpers for the unit tests of the consensus core (node/core/raft).
 *
 * Three layers:
 *  - the simulator's disk (tests/sim/disk.h), which carries out the writes of sl_raft_update
 *    exactly as raft.h describes them and serves sl_raft_storage.read (with knobs to fail or
 *    corrupt reads), plus disk_put to build a disk by hand;
 *  - fx: one struct sl_raft driven by hand. Messages are built with the msg_* helpers and fed
 *    with fx_recv; what the core releases is collected in an outbox (fx->sent) and queried with
 *    fx_count_sent / fx_find_sent; committed entries are checked to arrive in order, once;
 *  - cluster_*: thin, readable wrappers over tests/sim/cluster.h (virtual time in ms).
 *
 * Every helper asserts (cmocka) what it relies on, so a broken precondition fails the test that
 * used it rather than going unnoticed.
 */
#ifndef SL_TEST_RAFT_FIXTURE_H
#define SL_TEST_RAFT_FIXTURE_H

#include "cluster.h"
#include "disk.h"
#include "core/buf.h"
#include "core/raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FX_GROUP 7

/* ---- payloads ------------------------------------------------------------------------------ */

/* A payload of `len` (>= 8) bytes whose first 8 bytes are `tag` (one reference, the caller's). */
struct sl_buf *payload(uint64_t tag, size_t len);
/* The tag of a payload made by payload(), 0 for NULL or a short buffer. */
uint64_t payload_tag(const struct sl_buf *b);

/* ---- the disk (tests/sim/disk.h) ----------------------------------------------------------- */

/* Appends a NORMAL entry of `term` (payload tagged with its index) directly on disk, to build the
 * state a member boots from. */
void disk_put(struct sim_disk *d, uint64_t term);

/* ---- configurations ------------------------------------------------------------------------ */

/* Voters 1..n. */
struct sl_raft_config config_voters(uint32_t n);
void config_add(struct sl_raft_config *c, uint64_t id, uint8_t role);

/* ---- one member driven by hand ------------------------------------------------------------- */

struct fx {
    struct sl_raft *r;
    struct sl_raft_options opt;
    struct sim_disk disk;
    struct sl_raft_msg *sent; /* the outbox: every message released, in order (owned) */
    size_t n_sent;
    size_t cap_sent;
    uint64_t applied;  /* index of the last entry handed to the state machine */
    size_t n_applied;  /* entries handed out, in all */
    uint64_t restored; /* index of the last snapshot restored */
    unsigned n_restores;
};

/* sl_raft_options_default with this fixture's group, `id` and a seed derived from it. */
void fx_options(struct sl_raft_options *o, uint64_t id);
/* Boots a first member of a brand-new group with configuration `c`. */
void fx_boot_new(struct fx *f, const struct sl_raft_options *o, const struct sl_raft_config *c);
/* A fresh fixture (no member yet) whose disk holds the configuration of voters 1..`voters` and
 * `entries` NORMAL entries of `term` (hard state in that term). */
void fx_disk_of(struct fx *f, uint32_t voters, size_t entries, uint64_t term);
/* Boots (again) from what f->disk holds, applied up to the snapshot. */
void fx_boot_disk(struct fx *f, const struct sl_raft_options *o);
/* Boots from what f->disk holds with a state machine that applied up to `applied`. */
void fx_boot_applied(struct fx *f, const struct sl_raft_options *o, uint64_t applied);
/* Drops the member (and its unwritten state) but keeps the disk and the outbox. */
void fx_crash(struct fx *f);
void fx_free(struct fx *f);

/* Takes the next update (asserting there is one). */
void fx_take(struct fx *f, struct sl_raft_update *u);
/* Carries out u's write and reports it durable. */
void fx_persist(struct fx *f, const struct sl_raft_update *u);
/* Moves u's messages to the outbox, hands its snapshot and committed entries to the state machine
 * (asserting they come in index order, each once), and frees u. */
void fx_absorb(struct fx *f, struct sl_raft_update *u);
/* Takes and carries out every update, each write durable at once, until none is left. */
void fx_settle(struct fx *f);

/* Feeds `m` (asserting it is accepted) and frees it. */
void fx_recv(struct fx *f, struct sl_raft_msg m);
/* Feeds `*m` (asserting it is accepted) and leaves it to the caller (to deliver it again). */
void fx_recv_keep(struct fx *f, const struct sl_raft_msg *m);
void fx_tick(struct fx *f, unsigned n);
/* Ticks until the role is no longer `role`; returns the ticks taken (fails past `max`). */
unsigned fx_tick_while_role(struct fx *f, enum sl_raft_role role, unsigned max);

/* Makes the member leader of the next term: times out, gets every other voter's pre-vote and
 * vote, with every write durable. Leaves the NOOP durable and the first probes in the outbox. */
void fx_elect(struct fx *f);
/* Voter `from` acknowledges (APPEND_RESP) everything up to `index` in the current term. */
void fx_ack(struct fx *f, uint64_t from, uint64_t index);
/* Proposes `n` NORMAL entries of `len` bytes tagged tag, tag + 1, ...; returns the result. */
int fx_propose(struct fx *f, size_t n, size_t len, uint64_t tag);

void fx_clear_sent(struct fx *f);
/* Messages of `type` in the outbox sent to `to` (0: to anyone). */
size_t fx_count_sent(const struct fx *f, uint8_t type, uint64_t to);
/* The first (or the k-th, from 0) such message, or NULL. */
const struct sl_raft_msg *fx_find_sent(const struct fx *f, uint8_t type, uint64_t to);
const struct sl_raft_msg *fx_nth_sent(const struct fx *f, uint8_t type, uint64_t to, size_t k);
/* Messages of `type` to `to` in an update not yet absorbed. */
size_t update_count_msgs(const struct sl_raft_update *u, uint8_t type, uint64_t to);

/* ---- messages (group FX_GROUP); each owns what it carries ---------------------------------- */

struct sl_raft_msg msg(uint8_t type, uint64_t from, uint64_t to, uint64_t term);
struct sl_raft_msg msg_prevote(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                               uint64_t last_term);
struct sl_raft_msg msg_prevote_resp(uint64_t from, uint64_t to, uint64_t term, bool granted);
struct sl_raft_msg msg_vote(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                            uint64_t last_term);
struct sl_raft_msg msg_vote_resp(uint64_t from, uint64_t to, uint64_t term, bool granted);
/* An APPEND after (prev_index, prev_term) carrying NORMAL entries prev_index + 1 .. of the given
 * terms, payloads tagged with their index. */
struct sl_raft_msg msg_append(uint64_t from, uint64_t to, uint64_t term, uint64_t prev_index,
                              uint64_t prev_term, uint64_t commit, const uint64_t *terms, size_t n);
/* Appends an entry of `type` with `data` (a reference is taken) to an APPEND under construction. */
void msg_append_entry(struct sl_raft_msg *m, uint64_t term, uint8_t type, struct sl_buf *data);
struct sl_raft_msg msg_append_resp(uint64_t from, uint64_t to, uint64_t term, uint64_t index);
struct sl_raft_msg msg_append_reject(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                     uint64_t conflict_term, uint64_t hint);
struct sl_raft_msg msg_heartbeat(uint64_t from, uint64_t to, uint64_t term, uint64_t commit);
struct sl_raft_msg msg_heartbeat_resp(uint64_t from, uint64_t to, uint64_t term);
/* A SNAPSHOT of (index, term) with configuration `c` and data tagged `index`. */
struct sl_raft_msg msg_snapshot(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                uint64_t snap_term, const struct sl_raft_config *c);

/* ---- clusters (tests/sim/cluster.h), time in virtual milliseconds -------------------------- */

#define MS 1000ull /* virtual microseconds per millisecond */

/* sim_cluster_options_default with `nodes` voters, `slots` slots, a seed and no message loss. */
void cluster_options(struct sim_cluster_options *o, uint32_t nodes, uint32_t slots, uint64_t seed);
struct sim_cluster *cluster_new(const struct sim_cluster_options *o);
/* Frees the cluster after asserting that no checker found a violation. */
void cluster_free(struct sim_cluster *c);
/* Fails the test with the checker's message if a violation was recorded. */
void assert_cluster_safe(const struct sim_cluster *c);

void cluster_run_ms(struct sim_cluster *c, uint64_t ms);
/* Runs until an up leader exists; returns its slot, or -1 after `ms`. */
int cluster_step_until_leader(struct sim_cluster *c, uint64_t ms);
/* Runs until an up leader has committed an entry of its own term (it may change membership);
 * returns its slot, or -1 after `ms`. */
int cluster_step_until_ready_leader(struct sim_cluster *c, uint64_t ms);
/* Runs until the node in `slot` applied `index`; returns whether it did within `ms`. */
bool cluster_step_until_applied(struct sim_cluster *c, uint32_t slot, uint64_t index, uint64_t ms);
/* Runs until every up node applied `index`. */
bool cluster_step_until_all_applied(struct sim_cluster *c, uint64_t index, uint64_t ms);
/* Runs until `n` client entries are acknowledged. */
bool cluster_step_until_acked(struct sim_cluster *c, uint64_t n, uint64_t ms);
/* Runs until the node in `slot` has `role` (an up node). */
bool cluster_step_until_role(struct sim_cluster *c, uint32_t slot, enum sl_raft_role role,
                             uint64_t ms);
/* Runs until the leader in `leader` knows member `id` holds `index` (sl_raft_match). */
bool cluster_step_until_matched(struct sim_cluster *c, uint32_t leader, uint64_t id, uint64_t index,
                                uint64_t ms);
/* Runs until the leader's configuration index is committed. */
bool cluster_step_until_config_committed(struct sim_cluster *c, uint32_t leader, uint64_t ms);
/* A follower slot other than `not_this` (and up), or -1. */
int cluster_follower(struct sim_cluster *c, int not_this);

#endif
