/* sim.c — the randomized simulator: fault profile, fault scheduler, client, admin, liveness
 * (see sim.h). */
#include "sim.h"

#include "core/errors.h"
#include "core/rand.h"
#include "core/raft/membership.h"

#include <stdio.h>
#include <string.h>

struct profile {
    uint32_t drop_ppm, dup_ppm, reorder_ppm, delay_min_us, delay_max_us, alloc_fail_ppm;
    uint64_t fault_every_us;
    uint32_t w_partition, w_heal, w_crash, w_slow, w_member, w_transfer, w_compact;
    uint64_t client_every_us;
    uint32_t batch_max;
    uint64_t compact_threshold, compact_keep;
};

struct driver {
    struct sim_cluster *c;
    struct sl_rand *rand;
    struct profile p;
    uint32_t nodes;
    uint64_t down_until[SIM_SLOTS_MAX]; /* crashed nodes restart after this */
    /* The admin's REMOVE of a slot's node, proposed at (index, term); 0 when none. Only once that
     * very entry is committed may the node be stopped: a configuration that merely lacks a
     * node may still be overtaken by an uncommitted one that has it. */
    uint64_t removal_index[SIM_SLOTS_MAX];
    uint64_t removal_term[SIM_SLOTS_MAX];
};

static uint64_t pick(struct sl_rand *r, const uint64_t *choices, size_t n)
{
    return choices[sl_rand_below(r, n)];
}
#define PICK(r, ...)                                                                               \
    pick((r), (const uint64_t[]){__VA_ARGS__},                                                     \
         sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

static void make_profile(struct sl_rand *r, struct profile *p, struct sim_cluster_options *co)
{
    p->drop_ppm = (uint32_t)PICK(r, 0, 1000, 10000, 50000, 150000);
    p->dup_ppm = (uint32_t)PICK(r, 0, 1000, 20000);
    p->reorder_ppm = (uint32_t)PICK(r, 0, 1000, 20000, 200000);
    p->delay_min_us = (uint32_t)sl_rand_range(r, 50, 500);
    p->delay_max_us = (uint32_t)PICK(r, 1000, 5000, 20000);
    p->alloc_fail_ppm = (uint32_t)PICK(r, 0, 0, 0, 1000, 20000);
    p->fault_every_us = sl_rand_range(r, 20000, 200000);
    p->w_partition = (uint32_t)sl_rand_below(r, 10);
    p->w_heal = (uint32_t)sl_rand_below(r, 10) + 1;
    p->w_crash = (uint32_t)sl_rand_below(r, 10);
    p->w_slow = (uint32_t)sl_rand_below(r, 5);
    p->w_member = (uint32_t)sl_rand_below(r, 6);
    p->w_transfer = (uint32_t)sl_rand_below(r, 6);
    p->w_compact = (uint32_t)sl_rand_below(r, 6);
    p->client_every_us = sl_rand_range(r, 1000, 20000);
    p->batch_max = (uint32_t)PICK(r, 1, 4, 16);
    p->compact_threshold = PICK(r, 50, 500, 5000);
    p->compact_keep = PICK(r, 0, 10, 100);

    co->raft.append_entries_max = (uint32_t)PICK(r, 1, 4, 64, 1024);
    co->raft.inflight_msgs_max = (uint32_t)PICK(r, 1, 4, 64);
    co->raft.cache_bytes_max = (size_t)PICK(r, 0, 256, 1u << 20);
    co->raft.apply_entries_max = (uint32_t)PICK(r, 1, 8, 4096);
    co->raft.append_bytes_max = (size_t)PICK(r, 64, 1u << 20);
    co->raft.promote_lag_entries_max = PICK(r, 0, 16);
    /* Backpressure: a bounded uncommitted window keeps the backlog a new leader must push
     * through (before its own NOOP commits) small enough for the liveness bound. */
    co->raft.uncommitted_entries_max = PICK(r, 16, 256, 1024);
    co->delay_min_us = p->delay_min_us;
    co->delay_max_us = p->delay_max_us;
    co->drop_ppm = p->drop_ppm;
    co->dup_ppm = p->dup_ppm;
    co->reorder_ppm = p->reorder_ppm;
    co->alloc_fail_ppm = p->alloc_fail_ppm;
}

static int random_slot(struct driver *d, bool want_up)
{
    uint32_t slots = sim_cluster_slots(d->c);
    int found[SIM_SLOTS_MAX], n = 0;
    for (uint32_t s = 0; s < slots; s++) {
        if (sim_cluster_in_use(d->c, s) && (!want_up || sim_cluster_up(d->c, s))) {
            found[n++] = (int)s;
        }
    }
    return n ? found[sl_rand_below(d->rand, (uint64_t)n)] : -1;
}

/* ---- faults -------------------------------------------------------------------------------- */

static void act_partition(struct driver *d)
{
    uint32_t slots = sim_cluster_slots(d->c);
    switch (sl_rand_below(d->rand, 3)) {
    case 0: { /* one node cut off, both ways */
        int s = random_slot(d, false);
        if (s >= 0) {
            sim_cluster_isolate(d->c, (uint32_t)s);
        }
        break;
    }
    case 1: { /* two sides, both ways */
        bool side[SIM_SLOTS_MAX];
        for (uint32_t s = 0; s < slots; s++) {
            side[s] = sl_rand_below(d->rand, 2);
        }
        for (uint32_t a = 0; a < slots; a++) {
            for (uint32_t b = 0; b < slots; b++) {
                if (side[a] != side[b]) {
                    sim_cluster_cut(d->c, a, b, true);
                }
            }
        }
        break;
    }
    default: { /* asymmetric: a few links cut one way only */
        uint64_t links = sl_rand_range(d->rand, 1, 3);
        for (uint64_t k = 0; k < links; k++) {
            uint32_t a = (uint32_t)sl_rand_below(d->rand, slots);
            uint32_t b = (uint32_t)sl_rand_below(d->rand, slots);
            if (a != b) {
                sim_cluster_cut(d->c, a, b, true);
            }
        }
        break;
    }
    }
}

static void act_crash(struct driver *d)
{
    int s = random_slot(d, true);
    if (s >= 0) {
        sim_cluster_crash(d->c, (uint32_t)s);
        d->down_until[s] = sim_cluster_now(d->c) + sl_rand_range(d->rand, 10000, 3000000);
    }
}

static void restart_due(struct driver *d, bool all)
{
    for (uint32_t s = 0; s < sim_cluster_slots(d->c); s++) {
        if (sim_cluster_in_use(d->c, s) && !sim_cluster_up(d->c, s) &&
            (all || d->down_until[s] <= sim_cluster_now(d->c))) {
            sim_cluster_restart(d->c, s);
        }
    }
}

static void act_transfer(struct driver *d)
{
    int l = sim_cluster_leader(d->c);
    if (l < 0) {
        return;
    }
    struct sl_raft *r = sim_cluster_raft(d->c, (uint32_t)l);
    const struct sl_raft_config *cfg = sl_raft_config(r);
    const struct sl_raft_member *m = &cfg->members[sl_rand_below(d->rand, cfg->n)];
    if (m->id != sl_raft_id(r) && m->role == SL_RAFT_VOTER) {
        sl_raft_transfer(r, m->id);
        sim_cluster_drain(d->c, (uint32_t)l);
    }
}

static void act_compact(struct driver *d)
{
    int s = random_slot(d, true);
    if (s < 0) {
        return;
    }
    struct sl_raft *r = sim_cluster_raft(d->c, (uint32_t)s);
    uint64_t lo = sl_raft_first_index(r), hi = sim_cluster_applied(d->c, (uint32_t)s);
    if (lo <= hi) {
        sim_cluster_compact(d->c, (uint32_t)s, sl_rand_range(d->rand, lo, hi));
    }
}

/* Keeps the logs bounded the way retention would. */
static void compact_long_logs(struct driver *d)
{
    for (uint32_t s = 0; s < sim_cluster_slots(d->c); s++) {
        struct sl_raft *r = sim_cluster_raft(d->c, s);
        if (!r || sl_raft_last_index(r) - sl_raft_first_index(r) < d->p.compact_threshold) {
            continue;
        }
        uint64_t applied = sim_cluster_applied(d->c, s);
        if (applied > d->p.compact_keep && applied - d->p.compact_keep >= sl_raft_first_index(r)) {
            sim_cluster_compact(d->c, s, applied - d->p.compact_keep);
        }
    }
}

/* Membership: keep between nodes - 1 and nodes voters by removing a voter, then adding a fresh
 * node as a learner and promoting it once it caught up. */
static void act_member(struct driver *d)
{
    int l = sim_cluster_leader(d->c);
    if (l < 0) {
        return;
    }
    struct sl_raft *r = sim_cluster_raft(d->c, (uint32_t)l);
    const struct sl_raft_config *cfg = sl_raft_config(r);
    uint32_t slots = sim_cluster_slots(d->c);

    for (uint32_t s = 0; s < slots; s++) {
        uint64_t index = d->removal_index[s];
        if (!index || !sim_cluster_in_use(d->c, s)) {
            continue;
        }
        uint64_t term = sl_raft_term_at(r, index);
        if (term == d->removal_term[s] && sl_raft_commit(r) >= index) {
            sim_cluster_remove_node(d->c, s); /* its removal is committed: stop it for good */
            d->removal_index[s] = 0;
        } else if (term != d->removal_term[s] && index <= sl_raft_commit(r)) {
            d->removal_index[s] = 0; /* the removal was overwritten: still a member */
        }
    }
    for (uint32_t i = 0; i < cfg->n; i++) {
        if (cfg->members[i].role == SL_RAFT_LEARNER) {
            sl_raft_change(r, SL_RAFT_PROMOTE, cfg->members[i].id, NULL);
            sim_cluster_drain(d->c, (uint32_t)l);
            return;
        }
    }
    /* A node started to join (or whose addition was lost) and not in the configuration. */
    for (uint32_t s = 0; s < slots; s++) {
        uint64_t id = sim_cluster_id(d->c, s);
        if (id && !d->removal_index[s] && !sl_raft_config_find(cfg, id)) {
            sl_raft_change(r, SL_RAFT_ADD_LEARNER, id, NULL);
            sim_cluster_drain(d->c, (uint32_t)l);
            return;
        }
    }
    if (sl_raft_config_voters(cfg) < d->nodes) {
        sim_cluster_add_node(d->c);
        return;
    }
    uint32_t k = (uint32_t)sl_rand_below(d->rand, cfg->n);
    int s = sim_cluster_slot_of(d->c, cfg->members[k].id);
    uint64_t index;
    if (s >= 0 && cfg->members[k].id != sl_raft_id(r) && !d->removal_index[s] &&
        sl_raft_change(r, SL_RAFT_REMOVE, cfg->members[k].id, &index) == SL_OK) {
        d->removal_index[s] = index;
        d->removal_term[s] = sl_raft_term(r);
        sim_cluster_drain(d->c, (uint32_t)l);
    }
}

static void act_fault(struct driver *d)
{
    const struct profile *p = &d->p;
    uint32_t total = p->w_partition + p->w_heal + p->w_crash + p->w_slow + p->w_member +
                     p->w_transfer + p->w_compact;
    restart_due(d, false);
    uint32_t x = (uint32_t)sl_rand_below(d->rand, total);
    if (x < p->w_partition) {
        act_partition(d);
    } else if ((x -= p->w_partition) < p->w_heal) {
        sim_cluster_heal(d->c);
    } else if ((x -= p->w_heal) < p->w_crash) {
        act_crash(d);
    } else if ((x -= p->w_crash) < p->w_slow) {
        int s = (int)sl_rand_below(d->rand, sim_cluster_slots(d->c));
        sim_cluster_set_slow_disk(d->c, (uint32_t)s, sl_rand_below(d->rand, 2));
    } else if ((x -= p->w_slow) < p->w_member) {
        act_member(d);
    } else if ((x -= p->w_member) < p->w_transfer) {
        act_transfer(d);
    } else {
        act_compact(d);
    }
}

static void act_client(struct driver *d)
{
    /* Mostly at the leader; sometimes at any node, which must refuse unless it leads. */
    int s = sl_rand_below(d->rand, 8) ? sim_cluster_leader(d->c) : random_slot(d, true);
    if (s >= 0) {
        sim_cluster_propose(d->c, (uint32_t)s, (uint32_t)sl_rand_range(d->rand, 1, d->p.batch_max),
                            NULL, NULL);
    }
    compact_long_logs(d);
}

/* ---- liveness ------------------------------------------------------------------------------ */

/* The first member (in configuration order) that has not applied `target`, or 0. */
static uint64_t lagging_member(struct sim_cluster *c, uint64_t target, uint64_t *applied_sum)
{
    int l = sim_cluster_leader(c);
    *applied_sum = 0;
    if (l < 0) {
        return UINT64_MAX; /* no leader: everyone lags */
    }
    const struct sl_raft_config *cfg = sl_raft_config(sim_cluster_raft(c, (uint32_t)l));
    uint64_t lagging = 0;
    for (uint32_t i = 0; i < cfg->n; i++) {
        int s = sim_cluster_slot_of(c, cfg->members[i].id);
        uint64_t applied = s < 0 ? 0 : sim_cluster_applied(c, (uint32_t)s);
        *applied_sum += applied;
        if (applied < target && !lagging) {
            lagging = cfg->members[i].id;
        }
    }
    return lagging;
}

static void check_liveness(struct driver *d)
{
    struct sim_cluster *c = d->c;
    sim_cluster_heal(c);
    sim_cluster_set_network(c, 100, 2000, 0, 0, 0);
    sim_cluster_set_alloc_faults(c, 0);
    for (uint32_t s = 0; s < sim_cluster_slots(c); s++) {
        sim_cluster_set_slow_disk(c, s, false);
    }
    restart_due(d, true);
    uint64_t healed = sim_cluster_now(c);
    if (!sim_cluster_run_until(c, sim_cluster_has_ready_leader, NULL, SIM_LIVENESS_US)) {
        sim_cluster_fail(c,
                         "liveness: %llu ms after every fault healed no leader had committed an "
                         "entry of its term (leader: %s)",
                         (unsigned long long)(sim_cluster_now(c) - healed) / 1000,
                         sim_cluster_leader(c) >= 0 ? "yes" : "none");
        return;
    }
    /* Everything in the leader's log now, and everything ever acknowledged. */
    uint64_t target = sl_raft_last_index(sim_cluster_raft(c, (uint32_t)sim_cluster_leader(c)));
    if (sim_cluster_acked_max(c) > target) {
        target = sim_cluster_acked_max(c);
    }
    uint64_t progress_at = sim_cluster_now(c), last_sum = 0, sum;
    uint64_t lagging;
    while ((lagging = lagging_member(c, target, &sum)) != 0 && !sim_cluster_violation(c)) {
        int l = sim_cluster_leader(c);
        if (l >= 0) {
            struct sl_raft *r = sim_cluster_raft(c, (uint32_t)l);
            uint64_t last = sl_raft_last_index(r);
            if (last < target) { /* fill up to the acknowledged index: lost acks will show */
                uint64_t n = target - last < 64 ? target - last : 64;
                sim_cluster_propose(c, (uint32_t)l, (uint32_t)n, NULL, NULL);
            }
        }
        if (sum > last_sum) {
            progress_at = sim_cluster_now(c);
            last_sum = sum;
        }
        uint64_t now = sim_cluster_now(c);
        if (now - progress_at > SIM_STALL_US || now - healed > SIM_CATCH_UP_US) {
            sim_cluster_fail(c,
                             "liveness: %llu ms after healing, member %llu has not applied index "
                             "%llu, and nothing was applied for %llu ms",
                             (unsigned long long)(now - healed) / 1000, (unsigned long long)lagging,
                             (unsigned long long)target,
                             (unsigned long long)(now - progress_at) / 1000);
            return;
        }
        sim_cluster_run_for(c, 100000);
    }
}

/* ---- one run ------------------------------------------------------------------------------- */

void sim_run(const struct sim_run_options *o, struct sim_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    struct sl_rand pr;
    sl_rand_seed(&pr, o->seed ^ 0x5eed5eed5eed5eedULL);
    struct sim_cluster_options co;
    sim_cluster_options_default(&co);
    struct driver d;
    memset(&d, 0, sizeof(d));
    d.nodes = o->nodes ? o->nodes : (o->seed % 2 ? 3 : 5);
    co.seed = o->seed;
    co.nodes = d.nodes;
    co.slots = d.nodes + 1;
    co.trace = o->trace;
#ifdef SL_RAFT_BROKEN
    co.raft.broken = o->broken;
#endif
    make_profile(&pr, &d.p, &co);
    snprintf(rep->profile, sizeof(rep->profile),
             "nodes=%u drop=%uppm dup=%uppm reorder=%uppm delay=%u-%uus allocfail=%uppm "
             "faults/%llums w(part=%u heal=%u "
             "crash=%u slow=%u member=%u transfer=%u compact=%u) batch=%u append=%u inflight=%u "
             "uncommitted=%llu cache=%zu",
             d.nodes, d.p.drop_ppm, d.p.dup_ppm, d.p.reorder_ppm, d.p.delay_min_us,
             d.p.delay_max_us, d.p.alloc_fail_ppm, (unsigned long long)d.p.fault_every_us / 1000,
             d.p.w_partition, d.p.w_heal, d.p.w_crash, d.p.w_slow, d.p.w_member, d.p.w_transfer,
             d.p.w_compact, d.p.batch_max, co.raft.append_entries_max, co.raft.inflight_msgs_max,
             (unsigned long long)co.raft.uncommitted_entries_max, co.raft.cache_bytes_max);
    d.c = sim_cluster_new(&co);
    d.rand = sim_cluster_rand(d.c);

    uint64_t next_fault = d.p.fault_every_us, next_client = d.p.client_every_us;
    while (sim_cluster_steps(d.c) < o->steps && !sim_cluster_violation(d.c)) {
        uint64_t until = next_fault < next_client ? next_fault : next_client;
        if (sim_cluster_step(d.c, until)) {
            continue;
        }
        if (sim_cluster_violation(d.c)) {
            break;
        }
        if (sim_cluster_now(d.c) >= next_client) {
            act_client(&d);
            next_client += d.p.client_every_us;
        }
        if (sim_cluster_now(d.c) >= next_fault) {
            act_fault(&d);
            next_fault += d.p.fault_every_us;
        }
    }
    if (!sim_cluster_violation(d.c)) {
        check_liveness(&d);
    }
    const char *v = sim_cluster_violation(d.c);
    rep->ok = v == NULL;
    if (v) {
        snprintf(rep->what, sizeof(rep->what), "%s", v);
    }
    rep->nodes = d.nodes;
    rep->steps = sim_cluster_steps(d.c);
    rep->virtual_us = sim_cluster_now(d.c);
    rep->acked = sim_cluster_acked(d.c);
    rep->stats = *sim_cluster_stats(d.c);
    sim_cluster_free(d.c);
}
