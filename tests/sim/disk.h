/* disk.h — the durable state of one simulated member: what a crash cannot take.
 *
 * Holds the hard state, the snapshot and the retained log, carries out a write exactly as
 * raft.h describes it (sl_raft_update, step 1: snapshot, truncation, entries, hard state, all at
 * once), and serves the core's sl_raft_storage reads. Used by the cluster (tests/sim/cluster.c)
 * under its fsync model, and directly by unit tests. Has knobs to make reads fail or lie.
 */
#ifndef SL_SIM_DISK_H
#define SL_SIM_DISK_H

#include "core/raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_disk {
    struct sl_raft_hard_state hs;
    struct sl_raft_snapshot snap; /* owns snap.data */
    struct sl_raft_entry *log;    /* entries snap.index + 1 .. snap.index + n, owning data */
    size_t n;
    size_t cap;
    unsigned writes;    /* writes carried out */
    unsigned reads;     /* calls to the read callback */
    unsigned bad_reads; /* reads outside the retained log: a bug in the reader */
    uint64_t read_lo;   /* range of the last read */
    uint64_t read_hi;
    int fail;     /* nonzero: reads return this error */
    bool corrupt; /* reads return entries labelled one index too high */
};

/* An empty disk (no snapshot, no entries, zero hard state). */
void sim_disk_init(struct sim_disk *d);
/* Drops everything the disk holds and leaves it empty. */
void sim_disk_free(struct sim_disk *d);

uint64_t sim_disk_last(const struct sim_disk *d);
/* The entry at `index`, or NULL when it is not retained. */
const struct sl_raft_entry *sim_disk_entry(const struct sim_disk *d, uint64_t index);

/* Appends `e` (its index must be last + 1), taking a new reference to its data. SL_EINVAL
 * otherwise (nothing changes). */
int sim_disk_append(struct sim_disk *d, const struct sl_raft_entry *e);

/* Carries out a write: if `snap`, store it and drop entries <= snap->index; if truncate_from,
 * drop entries >= truncate_from; append `entries`; store `hs`. Takes its own references.
 * SL_EINVAL (and nothing changes) when the write does not fit the disk: a truncation inside the
 * snapshot or entries that do not follow the log. */
int sim_disk_apply(struct sim_disk *d, const struct sl_raft_hard_state *hs,
                   const struct sl_raft_snapshot *snap, uint64_t truncate_from,
                   const struct sl_raft_entry *entries, size_t n);

/* The write of an update (raft.h, sl_raft_update step 1). */
int sim_disk_write(struct sim_disk *d, const struct sl_raft_update *u);

/* The storage the core reads evicted entries through (ctx = the disk). */
struct sl_raft_storage sim_disk_storage(struct sim_disk *d);

/* What a member boots from: the stored hard state and snapshot (borrowed), the last index, and
 * the snapshot as the state machine's applied index. */
struct sl_raft_boot sim_disk_boot(const struct sim_disk *d);

#endif
