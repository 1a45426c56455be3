/* bench.c — sluice-raft-bench: how fast the consensus core and its simulator run.
 *
 *   sluice-raft-bench throughput [--nodes 3] [--entries N] [--bytes 100] [--batch 256]
 *       Committed entries per second through an in-memory cluster: the client keeps the leader's
 *       uncommitted window full of `batch`-entry proposals; messages arrive in order after 1 µs
 *       of virtual time and every fsync takes 1 µs, so the figure is the CPU cost of the core
 *       (plus the simulator's queues and fake disks) per committed entry, on this machine.
 *       Checkers are off; logs are compacted as they grow.
 *   sluice-raft-bench simspeed [--nodes 5] [--seconds 600] [--seeds 200]
 *       Simulated seconds per wall-clock second with every checker on: a steady run (a client
 *       proposing 10 entries every 10 ms, compaction, no faults) and the randomized fault
 *       profiles of sluice-sim over `seeds` seeds.
 *
 * Each mode prints a human-readable report and one JSON line. A benchmark, not a test: nothing
 * here passes or fails on time.
 */
#include "cluster.h"
#include "sim.h"

#include "core/raft/raft.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t arg_u64(int argc, char **argv, const char *name, uint64_t dflt)
{
    for (int i = 2; i + 1 < argc; i++) {
        if (!strcmp(argv[i], name)) {
            char *end;
            unsigned long long v = strtoull(argv[i + 1], &end, 10);
            if (*end || v == 0) {
                fprintf(stderr, "sluice-raft-bench: %s wants a positive number\n", name);
                exit(2);
            }
            return v;
        }
    }
    return dflt;
}

static int throughput(int argc, char **argv)
{
    uint64_t nodes = arg_u64(argc, argv, "--nodes", 3);
    uint64_t entries = arg_u64(argc, argv, "--entries", 5000000);
    uint64_t bytes = arg_u64(argc, argv, "--bytes", 100);
    uint64_t batch = arg_u64(argc, argv, "--batch", 256);
    struct sim_cluster_options o;
    sim_cluster_options_default(&o);
    o.seed = 1;
    o.nodes = o.slots = (uint32_t)nodes;
    o.check = false;
    o.delay_min_us = o.delay_max_us = 1;
    o.sync_min_us = o.sync_max_us = 1;
    o.payload_bytes = (uint32_t)(bytes < 8 ? 8 : bytes);
    o.raft.append_entries_max = 1024;
    o.raft.inflight_msgs_max = 16;
    o.raft.uncommitted_entries_max = 65536;
    o.raft.cache_bytes_max = 64u << 20;
    struct sim_cluster *c = sim_cluster_new(&o);
    if (!c || !sim_cluster_run_until(c, sim_cluster_has_leader, NULL, 10000000)) {
        fprintf(stderr, "sluice-raft-bench: no leader\n");
        return 1;
    }
    uint32_t l = (uint32_t)sim_cluster_leader(c);
    struct sl_raft *r = sim_cluster_raft(c, l);
    uint64_t start_applied = sim_cluster_applied(c, l);
    uint64_t target = start_applied + entries, next_compact = start_applied + 200000;
    uint64_t sent0 = sim_cluster_stats(c)->msgs_sent, syncs0 = sim_cluster_stats(c)->syncs;
    uint64_t v0 = sim_cluster_now(c);
    double t0 = wall_seconds();
    while (sim_cluster_applied(c, l) < target) {
        while (sl_raft_last_index(r) - sl_raft_commit(r) + batch <=
                   o.raft.uncommitted_entries_max &&
               sl_raft_last_index(r) < target) {
            if (sim_cluster_propose(c, l, (uint32_t)batch, NULL, NULL) != 0) {
                break;
            }
        }
        for (int k = 0; k < 256 && sim_cluster_step(c, UINT64_MAX); k++) {
        }
        if (sim_cluster_leader(c) != (int)l || sim_cluster_violation(c)) {
            fprintf(stderr, "sluice-raft-bench: leadership changed during the run\n");
            return 1;
        }
        if (sim_cluster_applied(c, l) >= next_compact) {
            for (uint32_t s = 0; s < o.slots; s++) {
                uint64_t a = sim_cluster_applied(c, s);
                if (sim_cluster_raft(c, s) && a >= sl_raft_first_index(sim_cluster_raft(c, s))) {
                    sim_cluster_compact(c, s, a);
                }
            }
            next_compact += 200000;
        }
    }
    double secs = wall_seconds() - t0;
    uint64_t done = sim_cluster_applied(c, l) - start_applied;
    double eps = (double)done / secs;
    printf("throughput: %" PRIu64 " nodes, %" PRIu64 "-byte entries, batches of %" PRIu64 "\n",
           nodes, bytes, batch);
    printf("  %" PRIu64 " entries committed and applied in %.2f s: %.0f entries/s, %.1f MB/s\n",
           done, secs, eps, eps * (double)bytes / 1e6);
    printf("  %" PRIu64 " messages, %" PRIu64 " fsyncs, %.1f entries per fsync per node\n",
           sim_cluster_stats(c)->msgs_sent - sent0, sim_cluster_stats(c)->syncs - syncs0,
           (double)done * (double)nodes / (double)(sim_cluster_stats(c)->syncs - syncs0));
    printf("{\"bench\":\"raft_throughput\",\"nodes\":%" PRIu64 ",\"entry_bytes\":%" PRIu64
           ",\"batch\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"seconds\":%.3f,\"entries_per_s\":%.0f,"
           "\"virtual_ms\":%.1f}\n",
           nodes, bytes, batch, done, secs, eps, (double)(sim_cluster_now(c) - v0) / 1000.0);
    sim_cluster_free(c);
    return 0;
}

static int simspeed(int argc, char **argv)
{
    uint64_t nodes = arg_u64(argc, argv, "--nodes", 5);
    uint64_t seconds = arg_u64(argc, argv, "--seconds", 600);
    uint64_t seeds = arg_u64(argc, argv, "--seeds", 200);

    /* Steady: a client at the leader, compaction, every checker, no faults. */
    struct sim_cluster_options o;
    sim_cluster_options_default(&o);
    o.seed = 1;
    o.nodes = (uint32_t)nodes;
    o.slots = (uint32_t)nodes;
    struct sim_cluster *c = sim_cluster_new(&o);
    double t0 = wall_seconds();
    uint64_t end = seconds * 1000000;
    while (sim_cluster_now(c) < end && !sim_cluster_violation(c)) {
        int l = sim_cluster_leader(c);
        if (l >= 0) {
            sim_cluster_propose(c, (uint32_t)l, 10, NULL, NULL);
            for (uint32_t s = 0; s < o.slots; s++) {
                struct sl_raft *r = sim_cluster_raft(c, s);
                uint64_t a = sim_cluster_applied(c, s);
                if (r && a > sl_raft_first_index(r) + 5000) {
                    sim_cluster_compact(c, s, a - 100);
                }
            }
        }
        sim_cluster_run_for(c, 10000);
    }
    double steady_wall = wall_seconds() - t0;
    double steady = (double)sim_cluster_now(c) / 1e6 / steady_wall;
    uint64_t steady_events = sim_cluster_steps(c), acked = sim_cluster_acked(c);
    if (sim_cluster_violation(c)) {
        fprintf(stderr, "sluice-raft-bench: violation: %s\n", sim_cluster_violation(c));
        return 1;
    }
    sim_cluster_free(c);

    /* Random faults: sluice-sim's profiles. */
    double virtual_s = 0, events = 0;
    t0 = wall_seconds();
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        struct sim_run_options ro = {seed, (uint32_t)nodes, 20000, 0, false};
        struct sim_report rep;
        sim_run(&ro, &rep);
        if (!rep.ok) {
            fprintf(stderr, "sluice-raft-bench: seed %" PRIu64 ": %s\n", seed, rep.what);
            return 1;
        }
        virtual_s += (double)rep.virtual_us / 1e6;
        events += (double)rep.steps;
    }
    double faults_wall = wall_seconds() - t0;
    double faults = virtual_s / faults_wall;

    printf("simspeed: %" PRIu64 "-node cluster, every checker on\n", nodes);
    printf("  steady load: %" PRIu64 " s simulated in %.2f s: %.0fx real time (%" PRIu64
           " events, %" PRIu64 " entries acknowledged)\n",
           seconds, steady_wall, steady, steady_events, acked);
    printf("  random faults: %.0f s simulated over %" PRIu64 " seeds in %.2f s: %.0fx real time "
           "(%.0f events/s)\n",
           virtual_s, seeds, faults_wall, faults, events / faults_wall);
    printf("{\"bench\":\"sim_speed\",\"nodes\":%" PRIu64 ",\"steady_x_real_time\":%.0f,"
           "\"faults_x_real_time\":%.0f,\"faults_events_per_s\":%.0f}\n",
           nodes, steady, faults, events / faults_wall);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "throughput")) {
        return throughput(argc, argv);
    }
    if (argc >= 2 && !strcmp(argv[1], "simspeed")) {
        return simspeed(argc, argv);
    }
    FILE *f = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    fprintf(f, "usage: sluice-raft-bench throughput [--nodes 3] [--entries 5000000] [--bytes 100] "
               "[--batch 256]\n"
               "       sluice-raft-bench simspeed [--nodes 5] [--seconds 600] [--seeds 200]\n"
               "\n"
               "throughput: committed entries per second through an in-memory cluster (checkers\n"
               "            off, 1 us messages and fsyncs: the CPU cost of the core).\n"
               "simspeed:   simulated seconds per wall second with every checker on, under a\n"
               "            steady load and under sluice-sim's random fault profiles.\n");
    return f == stdout ? 0 : 2;
}
