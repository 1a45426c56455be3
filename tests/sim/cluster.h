/* cluster.h — a whole Raft cluster in one process, on a virtual clock, with a fake network and
 * fake disks, and the checkers that judge it.
 *
 * Everything is driven by one seeded PRNG and one event queue ordered by (virtual time, sequence
 * number), so the same seed and the same calls replay the same run exactly. The cluster is used
 * three ways: by the randomized simulator (sim.h), by unit tests that script faults by hand, and
 * by the benchmark.
 *
 * Model:
 *  - Node: one member of one group, in a slot. A slot keeps its disk across crashes; a wiped
 *    node rejoins under a new id (raft.h rule 6).
 *  - Network: each link is FIFO, like a TCP connection: a message takes a random delay in
 *    [delay_min_us, delay_max_us] but never overtakes an earlier one on its link, except that
 *    with probability reorder_ppm it takes a detour of up to reorder_max_us outside that order.
 *    Messages are dropped with probability drop_ppm, duplicated with dup_ppm, and dropped if the
 *    link is cut, at sending or at delivery. Links are cut one way at a time, so partitions may
 *    be asymmetric.
 *  - Disk: writes are queued; one fsync at a time covers every write queued before it started
 *    (group commit) and completes after a random latency (much longer on a slow disk). A crash
 *    keeps a random prefix of the writes not yet reported durable and loses the rest.
 *  - State machine: every node applies the committed entries it is handed and keeps a hash
 *    chain over them; its snapshots hold (index, chain).
 *  - Client: sim_cluster_propose() puts uniquely numbered entries at a node; an entry is
 *    acknowledged when that node applies it at the index and term it was given.
 *  - Memory: with alloc_fail_ppm, allocations the core makes while handling an input fail at
 *    random (the simulator's own never do); the core must treat that as a lost message or a
 *    refused call, never as a reason to break safety.
 *
 * Checkers (after every event, when options.check): at most one leader per term; log matching
 * (same index and term imply the same prefix, via hash chains over every in-memory log); leader
 * completeness (a new leader holds every entry applied anywhere); state machine safety (no two
 * nodes apply different entries at one index); every node applies each index once and in order;
 * snapshots equal the state they claim; no node applies anything but the acknowledged entry at
 * an acknowledged index; each node's own sl_raft_check_invariants. The first
 * violation is recorded (sim_cluster_violation) and the cluster stops.
 */
#ifndef SL_SIM_CLUSTER_H
#define SL_SIM_CLUSTER_H

#include "core/raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

#define SIM_SLOTS_MAX 9

struct sim_cluster_options {
    uint64_t seed;
    uint32_t nodes; /* initial voters, in slots 0..nodes-1 */
    uint32_t slots; /* slots available to sim_cluster_add_node; nodes <= slots <= SIM_SLOTS_MAX */
    bool check;
    bool trace; /* print every event to stdout */
    uint64_t tick_us;
    uint32_t delay_min_us;
    uint32_t delay_max_us;
    uint32_t drop_ppm;
    uint32_t dup_ppm;
    uint32_t reorder_ppm;
    uint32_t reorder_max_us;
    uint32_t sync_min_us;
    uint32_t sync_max_us;
    uint32_t slow_sync_min_us;
    uint32_t slow_sync_max_us;
    uint32_t payload_bytes;      /* client entries' size (>= 8) */
    uint32_t alloc_fail_ppm;     /* allocations made inside the core's step, tick, persisted,
                                    update_take, propose and compact fail this often */
    struct sl_raft_options raft; /* template; group, id, random_seed, storage set per node */
};

/* Defaults: 3 nodes, checks on, 10 ms ticks, 0.1-2 ms FIFO network without loss or reordering,
 * 0.1-1 ms fsync (slow: 20-100 ms), 16-byte entries, sl_raft_options_default(). */
void sim_cluster_options_default(struct sim_cluster_options *o);

struct sim_cluster;

/* A new cluster (time 0, every node up, no leader yet). NULL on SL_ENOMEM or bad options. */
struct sim_cluster *sim_cluster_new(const struct sim_cluster_options *o);
void sim_cluster_free(struct sim_cluster *c);

/* The shared PRNG (drivers draw from it so that one seed decides everything). */
struct sl_rand *sim_cluster_rand(struct sim_cluster *c);

/* ---- time ---------------------------------------------------------------------------------- */

uint64_t sim_cluster_now(const struct sim_cluster *c);   /* virtual microseconds */
uint64_t sim_cluster_steps(const struct sim_cluster *c); /* events processed so far */

/* Processes the next event if it is due at or before `until` and returns true; otherwise moves
 * the clock to `until` and returns false. Does nothing after a violation (returns false). */
bool sim_cluster_step(struct sim_cluster *c, uint64_t until);

/* Runs every event up to `now + us`. */
void sim_cluster_run_for(struct sim_cluster *c, uint64_t us);

/* Runs until `done(c, ctx)` holds (checked after every event) or `us` of virtual time pass;
 * returns whether it held. */
bool sim_cluster_run_until(struct sim_cluster *c, bool (*done)(struct sim_cluster *, void *),
                           void *ctx, uint64_t us);

/* Conditions for sim_cluster_run_until (ctx unused): some node is an up leader; some up leader
 * has committed an entry of its own term (so it can serve and change membership). */
bool sim_cluster_has_leader(struct sim_cluster *c, void *ctx);
bool sim_cluster_has_ready_leader(struct sim_cluster *c, void *ctx);

/* ---- faults -------------------------------------------------------------------------------- */

void sim_cluster_crash(struct sim_cluster *c, uint32_t slot);
/* Restarts a crashed node from its disk. */
void sim_cluster_restart(struct sim_cluster *c, uint32_t slot);
/* Cuts (or restores) the one-way link from -> to. */
void sim_cluster_cut(struct sim_cluster *c, uint32_t from, uint32_t to, bool cut);
/* Cuts every link between `slot` and the others, both ways. */
void sim_cluster_isolate(struct sim_cluster *c, uint32_t slot);
/* Restores every link. */
void sim_cluster_heal(struct sim_cluster *c);
void sim_cluster_set_slow_disk(struct sim_cluster *c, uint32_t slot, bool slow);
/* Changes the rate of failed allocations inside the core (parts per million). */
void sim_cluster_set_alloc_faults(struct sim_cluster *c, uint32_t ppm);
/* Changes the network's fault rates (delays in µs, rates in parts per million). */
void sim_cluster_set_network(struct sim_cluster *c, uint32_t delay_min_us, uint32_t delay_max_us,
                             uint32_t drop_ppm, uint32_t dup_ppm, uint32_t reorder_ppm);

/* ---- nodes --------------------------------------------------------------------------------- */

uint32_t sim_cluster_slots(const struct sim_cluster *c);
bool sim_cluster_in_use(const struct sim_cluster *c, uint32_t slot);
bool sim_cluster_up(const struct sim_cluster *c, uint32_t slot);
uint64_t sim_cluster_id(const struct sim_cluster *c, uint32_t slot); /* 0 when not in use */
/* The member running in `slot` (NULL when down or not in use). */
struct sl_raft *sim_cluster_raft(struct sim_cluster *c, uint32_t slot);
/* Slot of the up leader with the highest term, or -1. */
int sim_cluster_leader(const struct sim_cluster *c);
/* The slot running member `id`, or -1. */
int sim_cluster_slot_of(const struct sim_cluster *c, uint64_t id);
/* Index of the last entry the node's state machine applied. */
uint64_t sim_cluster_applied(const struct sim_cluster *c, uint32_t slot);

/* Starts a brand-new node (new id, empty disk, no configuration) in a free slot, to be added
 * with sl_raft_change. Returns the slot, or -1 when no slot is free. */
int sim_cluster_add_node(struct sim_cluster *c);
/* Stops the node in `slot` for good and frees the slot (its disk is wiped). */
void sim_cluster_remove_node(struct sim_cluster *c, uint32_t slot);

/* ---- client -------------------------------------------------------------------------------- */

/* Proposes `n` new client entries at the node in `slot`. Returns the sl_raft_propose result and
 * stores the first index and the term given (either pointer may be NULL). */
int sim_cluster_propose(struct sim_cluster *c, uint32_t slot, uint32_t n, uint64_t *first_index,
                        uint64_t *term);
/* Entries acknowledged so far, and the highest acknowledged index. */
uint64_t sim_cluster_acked(const struct sim_cluster *c);
uint64_t sim_cluster_acked_max(const struct sim_cluster *c);

/* Drains a member's outputs after the caller fed it an input directly (sl_raft_change,
 * sl_raft_transfer, ...). */
void sim_cluster_drain(struct sim_cluster *c, uint32_t slot);

/* Compacts the node's log up to `index` (<= applied) with a snapshot of its state machine. */
int sim_cluster_compact(struct sim_cluster *c, uint32_t slot, uint64_t index);

/* ---- verdict ------------------------------------------------------------------------------- */

/* The first violation found, or NULL. */
const char *sim_cluster_violation(const struct sim_cluster *c);
/* Records a violation found by a driver (printf-style); the first one wins. */
void sim_cluster_fail(struct sim_cluster *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct sim_cluster_stats {
    uint64_t msgs_sent;
    uint64_t msgs_dropped;
    uint64_t msgs_duplicated;
    uint64_t writes;
    uint64_t syncs;
    uint64_t crashes;
    uint64_t elections; /* distinct (term, leader) pairs seen */
    uint64_t applied;   /* entries applied, summed over nodes */
    uint64_t snapshots_installed;
    uint64_t alloc_failures; /* allocations failed inside the core */
};
const struct sim_cluster_stats *sim_cluster_stats(const struct sim_cluster *c);

#endif
