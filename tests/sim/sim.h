/* sim.h — the randomized simulator: one seed, one fault schedule, one verdict.
 *
 * A seed decides everything: the cluster size (3 or 5 unless fixed), the fault profile (how
 * often messages are dropped, duplicated and delayed; how often the scheduler partitions the
 * network symmetrically or one way, crashes and restarts nodes, slows disks, changes membership,
 * transfers leadership and compacts logs), the client's load, and the Raft options (batch sizes,
 * pipeline window, cache size). A run has two phases:
 *   1. faults: `steps` events under the profile, with every checker of cluster.h after each;
 *   2. liveness: every fault heals (links restored, crashed nodes restarted, loss stops, disks
 *      normal); within SIM_LIVENESS_US of virtual time a leader must commit an entry of its own
 *      term; then every member must apply the leader's whole log and everything acknowledged,
 *      never going SIM_STALL_US
 *      without progress (catching up may take long with tiny batches, but never stall), and
 *      within SIM_CATCH_UP_US in all. The client keeps proposing until the log reaches the
 *      highest acknowledged index, so an acknowledged entry that was lost shows as a different
 *      entry applied at its index.
 * The same options replay the same run exactly.
 */
#ifndef SL_SIM_SIM_H
#define SL_SIM_SIM_H

#include "cluster.h"

#define SIM_LIVENESS_US (30ull * 1000 * 1000)
#define SIM_STALL_US    (10ull * 1000 * 1000)
#define SIM_CATCH_UP_US (600ull * 1000 * 1000)

struct sim_run_options {
    uint64_t seed;
    uint32_t nodes;  /* 0: 3 or 5, chosen by the seed */
    uint64_t steps;  /* events in the fault phase */
    uint32_t broken; /* SL_RAFT_BROKEN_* bits (sluice-sim-broken only) */
    bool trace;
};

struct sim_report {
    bool ok;
    char what[700]; /* the violation, when !ok */
    char profile[300];
    uint32_t nodes;
    uint64_t steps;
    uint64_t virtual_us;
    uint64_t acked;
    struct sim_cluster_stats stats;
};

/* Runs one seed. */
void sim_run(const struct sim_run_options *o, struct sim_report *r);

#endif
