/* cluster.c — nodes, fake disks, fake network and virtual clock of the simulator (cluster.h). */
#include "cluster.h"

#include "check.h"
#include "disk.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "core/rand.h"
#include "core/raft/membership.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_GROUP 1

enum sim_event_kind { EV_DELIVER, EV_TICK, EV_SYNC };

struct sim_event {
    uint64_t time;
    uint64_t seq;
    uint8_t kind;
    uint32_t slot;  /* destination (DELIVER) or the node concerned */
    uint32_t from;  /* DELIVER: sending slot */
    uint64_t epoch; /* TICK and SYNC: the node's life they belong to */
    struct sl_raft_msg msg;
};

struct sim_ack {
    uint64_t index;
    uint64_t term;
    uint64_t id;
};

struct sim_node {
    struct sim_cluster *c;
    uint32_t slot;
    bool in_use;
    bool up;
    uint64_t id;
    uint64_t boot;  /* lives so far */
    uint64_t epoch; /* bumped on every crash and restart */
    struct sl_raft *raft;
    uint64_t leader_term_seen;

    struct sim_disk disk;          /* what survives a crash */
    struct sl_raft_update *writes; /* updates whose write is not yet durable, in id order */
    size_t n_writes;
    size_t cap_writes;
    bool syncing;
    uint64_t sync_covers;
    bool slow;

    /* State machine: index and chain, and the chain after each index since sm_hist_base. */
    uint64_t sm_index;
    uint64_t sm_chain;
    uint64_t sm_hist_base;
    uint64_t *sm_hist;
    size_t sm_hist_n;
    size_t sm_hist_cap;

    struct sim_ack *acks; /* proposals awaiting their outcome: acks[ack_head .. n_acks) */
    size_t ack_head;
    size_t n_acks;
    size_t cap_acks;

    struct sim_mirror mirror;
};

struct sim_cluster {
    struct sim_cluster_options o;
    struct sl_rand rand;
    uint64_t now;
    uint64_t seq;
    uint64_t steps;
    struct sim_event **heap;
    size_t n_heap;
    size_t cap_heap;
    struct sim_node nodes[SIM_SLOTS_MAX];
    bool cut[SIM_SLOTS_MAX][SIM_SLOTS_MAX];
    uint64_t link_last[SIM_SLOTS_MAX][SIM_SLOTS_MAX]; /* latest in-order delivery on a link */
    uint64_t next_id;
    uint64_t next_payload;
    uint64_t acked;
    uint64_t acked_max;
    uint64_t *acked_term; /* by index: the term of the entry acknowledged there, or 0 */
    size_t acked_cap;
    struct sim_checker *checker;
    struct sim_cluster_stats stats;
    char violation[640];
    bool failed;
};

/* ---- allocation faults --------------------------------------------------------------------- */

/* The allocator is process-wide; while a cluster with allocation faults exists, this one is
 * installed, and fails allocations only while `armed` (inside a call into the core). */
static struct {
    struct sim_cluster *c;
    struct sl_rand rand; /* a stream of its own: allocation counts must not shift the run's */
    bool armed;
} faults;

static bool alloc_fails(void)
{
    if (faults.armed && sl_rand_chance(&faults.rand, faults.c->o.alloc_fail_ppm)) {
        faults.c->stats.alloc_failures++;
        return true;
    }
    return false;
}

static void *faulty_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return alloc_fails() ? NULL : malloc(size);
}

static void *faulty_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return alloc_fails() ? NULL : realloc(ptr, size);
}

static void faulty_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static void core_enter(struct sim_cluster *c)
{
    faults.armed = faults.c == c;
}

static void core_leave(void)
{
    faults.armed = false;
}

void sim_cluster_options_default(struct sim_cluster_options *o)
{
    memset(o, 0, sizeof(*o));
    o->nodes = 3;
    o->slots = 3;
    o->check = true;
    o->tick_us = 10000;
    o->delay_min_us = 100;
    o->delay_max_us = 2000;
    o->reorder_max_us = 50000;
    o->sync_min_us = 100;
    o->sync_max_us = 1000;
    o->slow_sync_min_us = 20000;
    o->slow_sync_max_us = 100000;
    o->payload_bytes = 16;
    sl_raft_options_default(&o->raft);
}

void sim_cluster_fail(struct sim_cluster *c, const char *fmt, ...)
{
    if (c->failed) {
        return;
    }
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->violation, sizeof(c->violation), fmt, ap);
    va_end(ap);
}

static void check(struct sim_cluster *c, const char *err)
{
    if (err) {
        sim_cluster_fail(c, "%s", err);
    }
}

/* ---- event queue (binary heap on time, then sequence) ------------------------------------- */

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static struct sim_event *ev_new(struct sim_cluster *c, uint8_t kind, uint32_t slot, uint64_t at)
{
    struct sim_event *e = sl_calloc(1, sizeof(*e));
    SL_ASSERT(e);
    e->time = at;
    e->seq = c->seq++;
    e->kind = kind;
    e->slot = slot;
    return e;
}

static void ev_push(struct sim_cluster *c, struct sim_event *e)
{
    SL_ASSERT(sl_grow((void **)&c->heap, &c->cap_heap, c->n_heap + 1, sizeof(*c->heap)) == 0);
    size_t i = c->n_heap++;
    while (i > 0 && ev_before(e, c->heap[(i - 1) / 2])) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = e;
}

static struct sim_event *ev_pop(struct sim_cluster *c)
{
    struct sim_event *top = c->heap[0];
    struct sim_event *last = c->heap[--c->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_event *best = last;
        if (l < c->n_heap && ev_before(c->heap[l], best)) {
            m = l;
            best = c->heap[l];
        }
        if (r < c->n_heap && ev_before(c->heap[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (c->n_heap) {
        c->heap[i] = last;
    }
    return top;
}

static void ev_free(struct sim_event *e)
{
    sl_raft_msg_free(&e->msg);
    sl_free(e);
}

/* ---- disk ---------------------------------------------------------------------------------- */

/* Makes the write of update `u` durable and frees the update. */
static void disk_apply(struct sim_cluster *c, struct sim_node *n, struct sl_raft_update *u)
{
    if (sim_disk_write(&n->disk, u) != SL_OK) {
        sim_cluster_fail(c,
                         "node %llu: write %llu does not fit its disk (entries from %llu, "
                         "truncation at %llu, disk %llu..%llu)",
                         (unsigned long long)n->id, (unsigned long long)u->write_id,
                         u->n_entries ? (unsigned long long)u->entries[0].index : 0ull,
                         (unsigned long long)u->truncate_from,
                         (unsigned long long)n->disk.snap.index + 1,
                         (unsigned long long)sim_disk_last(&n->disk));
    }
    sl_raft_update_free(u);
}

static uint32_t sync_latency(struct sim_cluster *c, const struct sim_node *n)
{
    if (n->slow) {
        return (uint32_t)sl_rand_range(&c->rand, c->o.slow_sync_min_us, c->o.slow_sync_max_us);
    }
    return (uint32_t)sl_rand_range(&c->rand, c->o.sync_min_us, c->o.sync_max_us);
}

static void disk_start_sync(struct sim_cluster *c, struct sim_node *n)
{
    if (n->syncing || n->n_writes == 0) {
        return;
    }
    n->syncing = true;
    n->sync_covers = n->writes[n->n_writes - 1].write_id;
    struct sim_event *e = ev_new(c, EV_SYNC, n->slot, c->now + sync_latency(c, n));
    e->epoch = n->epoch;
    ev_push(c, e);
    c->stats.syncs++;
}

/* ---- state machine ------------------------------------------------------------------------- */

static void sm_reset(struct sim_node *n, uint64_t index, uint64_t chain)
{
    n->sm_index = index;
    n->sm_chain = chain;
    n->sm_hist_base = index;
    n->sm_hist_n = 0;
}

static void sm_push(struct sim_node *n, uint64_t chain)
{
    SL_ASSERT(
        sl_grow((void **)&n->sm_hist, &n->sm_hist_cap, n->sm_hist_n + 1, sizeof(*n->sm_hist)) == 0);
    n->sm_hist[n->sm_hist_n++] = chain;
}

static uint64_t sm_chain_at(const struct sim_node *n, uint64_t index)
{
    SL_ASSERT(index > n->sm_hist_base && index <= n->sm_index);
    return n->sm_hist[index - n->sm_hist_base - 1];
}

static void sm_forget_before(struct sim_node *n, uint64_t index)
{
    /* Keep the chain of `index` itself (the new snapshot's). */
    if (index <= n->sm_hist_base + 1) {
        return;
    }
    size_t drop = (size_t)(index - n->sm_hist_base - 1);
    memmove(n->sm_hist, n->sm_hist + drop, (n->sm_hist_n - drop) * sizeof(*n->sm_hist));
    n->sm_hist_n -= drop;
    n->sm_hist_base += drop;
}

static uint64_t payload_id(const struct sl_raft_entry *e)
{
    uint64_t id = 0;
    if (e->type == SL_RAFT_ENTRY_NORMAL && sl_buf_len(e->data) >= 8) {
        memcpy(&id, e->data->data, 8);
    }
    return id;
}

static void sm_apply(struct sim_cluster *c, struct sim_node *n, const struct sl_raft_entry *e)
{
    if (e->index != n->sm_index + 1) {
        sim_cluster_fail(c, "node %llu applied index %llu after %llu (out of order or twice)",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)n->sm_index);
        return;
    }
    if (e->index < c->acked_cap && c->acked_term[e->index] && c->acked_term[e->index] != e->term) {
        sim_cluster_fail(c,
                         "acknowledged entry lost: index %llu was acknowledged with term %llu, "
                         "node %llu applied an entry of term %llu there",
                         (unsigned long long)e->index, (unsigned long long)c->acked_term[e->index],
                         (unsigned long long)n->id, (unsigned long long)e->term);
        return;
    }
    uint64_t chain = c->o.check ? sim_chain(n->sm_chain, e) : 0;
    if (c->o.check) {
        check(c, sim_check_applied(c->checker, e->index, e->term, chain));
    }
    sm_push(n, chain);
    n->sm_index = e->index;
    n->sm_chain = chain;
    c->stats.applied++;

    while (n->ack_head < n->n_acks && n->acks[n->ack_head].index < e->index) {
        n->ack_head++; /* skipped by a snapshot: outcome unknown */
    }
    if (n->ack_head < n->n_acks && n->acks[n->ack_head].index == e->index) {
        const struct sim_ack *a = &n->acks[n->ack_head++];
        if (a->term == e->term) {
            if (payload_id(e) != a->id) {
                sim_cluster_fail(c, "node %llu: entry (%llu, term %llu) is not the one proposed",
                                 (unsigned long long)n->id, (unsigned long long)e->index,
                                 (unsigned long long)e->term);
            }
            c->acked++;
            if (e->index > c->acked_max) {
                c->acked_max = e->index;
            }
            if (c->o.check) {
                SL_ASSERT(sl_grow_zero((void **)&c->acked_term, &c->acked_cap, e->index + 1,
                                       sizeof(*c->acked_term)) == 0);
                c->acked_term[e->index] = e->term;
            }
        }
    }
    if (n->ack_head == n->n_acks) {
        n->ack_head = n->n_acks = 0;
    }
}

/* ---- network ------------------------------------------------------------------------------- */

static void net_send(struct sim_cluster *c, struct sim_node *from, struct sl_raft_msg *m)
{
    c->stats.msgs_sent++;
    int to = sim_cluster_slot_of(c, m->to);
    if (to < 0 || c->cut[from->slot][to] || sl_rand_chance(&c->rand, c->o.drop_ppm)) {
        c->stats.msgs_dropped++;
        sl_raft_msg_free(m);
        return;
    }
    int copies = 1 + sl_rand_chance(&c->rand, c->o.dup_ppm);
    c->stats.msgs_duplicated += copies - 1;
    for (int k = 0; k < copies; k++) {
        uint64_t at = c->now + sl_rand_range(&c->rand, c->o.delay_min_us, c->o.delay_max_us);
        if (sl_rand_chance(&c->rand, c->o.reorder_ppm)) {
            at += sl_rand_range(&c->rand, 0, c->o.reorder_max_us); /* a detour: out of order */
        } else {
            uint64_t *last = &c->link_last[from->slot][to];
            at = at > *last ? at : *last; /* FIFO: never overtake the link's earlier messages */
            *last = at;
        }
        struct sim_event *e = ev_new(c, EV_DELIVER, (uint32_t)to, at);
        e->from = from->slot;
        if (k + 1 < copies) {
            SL_ASSERT(sl_raft_msg_copy(&e->msg, m) == SL_OK);
        } else {
            sl_raft_msg_move(&e->msg, m);
        }
        ev_push(c, e);
    }
}

/* ---- carrying out a node's outputs --------------------------------------------------------- */

/* Queues update `u` (taken over) for the disk, whose next fsync will make its write durable. */
static void queue_write(struct sim_cluster *c, struct sim_node *n, struct sl_raft_update *u)
{
    SL_ASSERT(sl_grow((void **)&n->writes, &n->cap_writes, n->n_writes + 1, sizeof(*n->writes)) ==
              0);
    n->writes[n->n_writes++] = *u;
    memset(u, 0, sizeof(*u));
    c->stats.writes++;
    disk_start_sync(c, n);
}

static void drain(struct sim_cluster *c, struct sim_node *n)
{
    while (n->up && sl_raft_has_update(n->raft)) {
        struct sl_raft_update u;
        core_enter(c);
        int rc = sl_raft_update_take(n->raft, &u);
        core_leave();
        if (rc == SL_ENOMEM) {
            break; /* nothing was taken; the next event drains again */
        }
        SL_ASSERT(rc == SL_OK);
        if (c->o.check) {
            check(c, sim_check_write(c->checker, &n->mirror, &u));
        }
        for (size_t k = 0; k < u.n_msgs; k++) {
            if (c->o.trace) {
                printf("%10llu  %llu -> %llu %s term %llu index %llu n %u commit %llu%s\n",
                       (unsigned long long)c->now, (unsigned long long)u.msgs[k].from,
                       (unsigned long long)u.msgs[k].to, sl_raft_msg_type_name(u.msgs[k].type),
                       (unsigned long long)u.msgs[k].term, (unsigned long long)u.msgs[k].index,
                       u.msgs[k].n_entries, (unsigned long long)u.msgs[k].commit,
                       (u.msgs[k].flags & SL_RAFT_FLAG_REJECT) ? " REJECT" : "");
            }
            net_send(c, n, &u.msgs[k]);
        }
        if (u.restore) {
            uint64_t index, chain;
            SL_ASSERT(sim_snapshot_decode(u.restore_snapshot.data, &index, &chain));
            if (c->o.check) {
                check(c, sim_check_applied(c->checker, index, u.restore_snapshot.term, chain));
            }
            sm_reset(n, index, chain);
            c->stats.snapshots_installed++;
        }
        for (size_t k = 0; k < u.n_committed; k++) {
            sm_apply(c, n, &u.committed[k]);
        }
        if (u.write_id) {
            queue_write(c, n, &u);
        } else {
            sl_raft_update_free(&u);
        }
    }
    if (!n->up) {
        return;
    }
    if (n->disk.bad_reads) {
        sim_cluster_fail(c, "node %llu read entries %llu..%llu, its disk holds %llu..%llu",
                         (unsigned long long)n->id, (unsigned long long)n->disk.read_lo,
                         (unsigned long long)n->disk.read_hi,
                         (unsigned long long)n->disk.snap.index + 1,
                         (unsigned long long)sim_disk_last(&n->disk));
    }
    uint64_t term = sl_raft_term(n->raft);
    if (sl_raft_role(n->raft) == SL_RAFT_LEADER && n->leader_term_seen != term) {
        n->leader_term_seen = term;
        c->stats.elections++;
        if (c->o.trace) {
            printf("%10llu  node %llu leads term %llu\n", (unsigned long long)c->now,
                   (unsigned long long)n->id, (unsigned long long)term);
        }
        if (c->o.check) {
            check(c, sim_check_leader(c->checker, n->id, n->boot, term, &n->mirror));
        }
    }
    if (c->o.check) {
        sl_raft_check_invariants(n->raft, (c->steps & 1023) == 0);
    }
}

/* ---- lifecycle of nodes -------------------------------------------------------------------- */

static void schedule_tick(struct sim_cluster *c, struct sim_node *n, uint64_t at)
{
    struct sim_event *e = ev_new(c, EV_TICK, n->slot, at);
    e->epoch = n->epoch;
    ev_push(c, e);
}

static void node_boot(struct sim_cluster *c, struct sim_node *n)
{
    struct sl_raft_options o = c->o.raft;
    o.group = SIM_GROUP;
    o.id = n->id;
    o.random_seed = sl_rand_next(&c->rand);
    o.storage = sim_disk_storage(&n->disk);
    struct sl_raft_boot b = sim_disk_boot(&n->disk);
    int rc = sl_raft_new(&n->raft, &o, &b);
    if (rc != SL_OK) {
        sim_cluster_fail(c, "node %llu failed to boot from its disk: %s", (unsigned long long)n->id,
                         sl_strerror(rc));
        return;
    }
    n->up = true;
    n->boot++;
    n->epoch++;
    n->leader_term_seen = 0;
    uint64_t index, chain;
    SL_ASSERT(sim_snapshot_decode(n->disk.snap.data, &index, &chain));
    sm_reset(n, n->disk.snap.index, chain);
    if (c->o.check) {
        sim_mirror_reset(&n->mirror, n->disk.snap.index, n->disk.snap.term, chain);
        for (size_t k = 0; k < n->disk.n && !c->failed; k++) {
            check(c, sim_check_append(c->checker, &n->mirror, &n->disk.log[k]));
        }
    }
    schedule_tick(c, n, c->now + sl_rand_range(&c->rand, 1, c->o.tick_us));
    drain(c, n);
}

static void disk_wipe(struct sim_node *n)
{
    for (size_t k = 0; k < n->n_writes; k++) {
        sl_raft_update_free(&n->writes[k]);
    }
    n->n_writes = 0;
    n->syncing = false;
    sim_disk_free(&n->disk);
}

void sim_cluster_crash(struct sim_cluster *c, uint32_t slot)
{
    struct sim_node *n = &c->nodes[slot];
    if (!n->in_use || !n->up) {
        return;
    }
    /* The writes not yet reported durable: the OS may have flushed some of them, in order. */
    size_t keep = (size_t)sl_rand_range(&c->rand, 0, n->n_writes);
    for (size_t k = 0; k < n->n_writes; k++) {
        if (k < keep) {
            disk_apply(c, n, &n->writes[k]);
        } else {
            sl_raft_update_free(&n->writes[k]);
        }
    }
    n->n_writes = 0;
    n->syncing = false;
    sl_raft_free(n->raft);
    n->raft = NULL;
    n->up = false;
    n->epoch++;
    n->ack_head = n->n_acks = 0; /* the client loses its connection: outcome unknown */
    c->stats.crashes++;
    if (c->o.trace) {
        printf("%10llu  node %llu crashes (%zu unsynced writes survive)\n",
               (unsigned long long)c->now, (unsigned long long)n->id, keep);
    }
}

void sim_cluster_restart(struct sim_cluster *c, uint32_t slot)
{
    struct sim_node *n = &c->nodes[slot];
    if (!n->in_use || n->up) {
        return;
    }
    if (c->o.trace) {
        printf("%10llu  node %llu restarts\n", (unsigned long long)c->now,
               (unsigned long long)n->id);
    }
    node_boot(c, n);
}

static void node_start(struct sim_cluster *c, uint32_t slot, const struct sl_raft_config *cfg)
{
    struct sim_node *n = &c->nodes[slot];
    n->in_use = true;
    n->id = c->next_id++;
    n->boot = 0;
    disk_wipe(n);
    if (cfg) {
        n->disk.snap.config = *cfg;
    }
    node_boot(c, n);
}

int sim_cluster_add_node(struct sim_cluster *c)
{
    for (uint32_t s = 0; s < c->o.slots; s++) {
        if (!c->nodes[s].in_use) {
            node_start(c, s, NULL);
            return (int)s;
        }
    }
    return -1;
}

void sim_cluster_remove_node(struct sim_cluster *c, uint32_t slot)
{
    struct sim_node *n = &c->nodes[slot];
    sim_cluster_crash(c, slot);
    disk_wipe(n);
    n->in_use = false;
    n->id = 0;
    n->epoch++;
}

struct sim_cluster *sim_cluster_new(const struct sim_cluster_options *o)
{
    if (o->nodes == 0 || o->nodes > o->slots || o->slots > SIM_SLOTS_MAX || o->payload_bytes < 8 ||
        o->delay_min_us > o->delay_max_us || o->sync_min_us > o->sync_max_us || o->tick_us == 0) {
        return NULL;
    }
    struct sim_cluster *c = sl_calloc(1, sizeof(*c));
    SL_ASSERT(c);
    c->o = *o;
    sl_rand_seed(&c->rand, o->seed);
    c->next_id = 1;
    c->next_payload = 1;
    c->checker = sim_checker_new();
    sim_cluster_set_alloc_faults(c, o->alloc_fail_ppm);
    struct sl_raft_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    for (uint32_t s = 0; s < o->nodes; s++) {
        cfg.members[cfg.n].id = s + 1;
        cfg.members[cfg.n].role = SL_RAFT_VOTER;
        cfg.n++;
    }
    for (uint32_t s = 0; s < o->slots; s++) {
        c->nodes[s].c = c;
        c->nodes[s].slot = s;
    }
    for (uint32_t s = 0; s < o->nodes; s++) {
        node_start(c, s, &cfg);
    }
    return c;
}

void sim_cluster_free(struct sim_cluster *c)
{
    if (!c) {
        return;
    }
    for (uint32_t s = 0; s < SIM_SLOTS_MAX; s++) {
        struct sim_node *n = &c->nodes[s];
        sl_raft_free(n->raft);
        disk_wipe(n);
        sl_free(n->writes);
        sl_free(n->sm_hist);
        sl_free(n->acks);
        sim_mirror_free(&n->mirror);
    }
    for (size_t k = 0; k < c->n_heap; k++) {
        ev_free(c->heap[k]);
    }
    sl_free(c->heap);
    sl_free(c->acked_term);
    sim_checker_free(c->checker);
    if (faults.c == c) {
        sl_allocator_set(NULL);
        faults.c = NULL;
    }
    sl_free(c);
}

/* ---- running ------------------------------------------------------------------------------- */

static void handle_event(struct sim_cluster *c, struct sim_event *e)
{
    struct sim_node *n = &c->nodes[e->slot];
    switch (e->kind) {
    case EV_DELIVER:
        if (!n->up || n->id != e->msg.to || c->cut[e->from][e->slot]) {
            c->stats.msgs_dropped++;
            return;
        }
        if (c->o.trace) {
            printf("%10llu  deliver %llu -> %llu %s\n", (unsigned long long)c->now,
                   (unsigned long long)e->msg.from, (unsigned long long)e->msg.to,
                   sl_raft_msg_type_name(e->msg.type));
        }
        core_enter(c);
        int rc = sl_raft_step(n->raft, &e->msg);
        core_leave();
        if (rc != SL_OK) {
            sim_cluster_fail(c, "node %llu refused a %s from %llu that its peer produced",
                             (unsigned long long)n->id, sl_raft_msg_type_name(e->msg.type),
                             (unsigned long long)e->msg.from);
            return;
        }
        drain(c, n);
        break;
    case EV_TICK:
        if (!n->up || n->epoch != e->epoch) {
            return;
        }
        core_enter(c);
        sl_raft_tick(n->raft);
        core_leave();
        drain(c, n);
        schedule_tick(c, n, c->now + c->o.tick_us);
        break;
    case EV_SYNC: {
        if (!n->up || n->epoch != e->epoch) {
            return;
        }
        size_t done = 0;
        while (done < n->n_writes && n->writes[done].write_id <= n->sync_covers) {
            disk_apply(c, n, &n->writes[done]);
            done++;
        }
        if (done) {
            memmove(n->writes, n->writes + done, (n->n_writes - done) * sizeof(*n->writes));
            n->n_writes -= done;
        }
        n->syncing = false;
        core_enter(c);
        int persisted = sl_raft_persisted(n->raft, n->sync_covers);
        core_leave();
        SL_ASSERT(persisted == SL_OK);
        drain(c, n);
        disk_start_sync(c, n);
        break;
    }
    default:
        SL_UNREACHABLE();
    }
}

bool sim_cluster_step(struct sim_cluster *c, uint64_t until)
{
    if (c->failed) {
        return false;
    }
    if (c->n_heap == 0 || c->heap[0]->time > until) {
        if (until > c->now) {
            c->now = until;
        }
        return false;
    }
    struct sim_event *e = ev_pop(c);
    c->now = e->time;
    c->steps++;
    handle_event(c, e);
    ev_free(e);
    return true;
}

void sim_cluster_run_for(struct sim_cluster *c, uint64_t us)
{
    uint64_t until = c->now + us;
    while (sim_cluster_step(c, until)) {
    }
}

bool sim_cluster_run_until(struct sim_cluster *c, bool (*done)(struct sim_cluster *, void *),
                           void *ctx, uint64_t us)
{
    uint64_t until = c->now + us;
    while (!c->failed) {
        if (done(c, ctx)) {
            return true;
        }
        if (!sim_cluster_step(c, until)) {
            return !c->failed && done(c, ctx);
        }
    }
    return false;
}

bool sim_cluster_has_leader(struct sim_cluster *c, void *ctx)
{
    (void)ctx;
    return sim_cluster_leader(c) >= 0;
}

bool sim_cluster_has_ready_leader(struct sim_cluster *c, void *ctx)
{
    (void)ctx;
    int l = sim_cluster_leader(c);
    if (l < 0) {
        return false;
    }
    struct sl_raft *r = c->nodes[l].raft;
    return sl_raft_term_at(r, sl_raft_commit(r)) == sl_raft_term(r);
}

/* ---- faults -------------------------------------------------------------------------------- */

void sim_cluster_cut(struct sim_cluster *c, uint32_t from, uint32_t to, bool cut)
{
    c->cut[from][to] = cut;
}

void sim_cluster_isolate(struct sim_cluster *c, uint32_t slot)
{
    for (uint32_t s = 0; s < SIM_SLOTS_MAX; s++) {
        if (s != slot) {
            c->cut[slot][s] = c->cut[s][slot] = true;
        }
    }
}

void sim_cluster_heal(struct sim_cluster *c)
{
    memset(c->cut, 0, sizeof(c->cut));
}

void sim_cluster_set_slow_disk(struct sim_cluster *c, uint32_t slot, bool slow)
{
    c->nodes[slot].slow = slow;
}

void sim_cluster_set_alloc_faults(struct sim_cluster *c, uint32_t ppm)
{
    c->o.alloc_fail_ppm = ppm;
    if (ppm && faults.c != c) {
        /* libc's allocator and this one hand out the same blocks: switching is safe. */
        static const struct sl_allocator faulty = {NULL, faulty_malloc, faulty_realloc,
                                                   faulty_free};
        SL_ASSERT(faults.c == NULL); /* one cluster with allocation faults at a time */
        faults.c = c;
        sl_rand_seed(&faults.rand, c->o.seed ^ 0xa110ca7eULL);
        sl_allocator_set(&faulty);
    }
}

void sim_cluster_set_network(struct sim_cluster *c, uint32_t delay_min_us, uint32_t delay_max_us,
                             uint32_t drop_ppm, uint32_t dup_ppm, uint32_t reorder_ppm)
{
    SL_ASSERT(delay_min_us <= delay_max_us);
    c->o.delay_min_us = delay_min_us;
    c->o.delay_max_us = delay_max_us;
    c->o.drop_ppm = drop_ppm;
    c->o.dup_ppm = dup_ppm;
    c->o.reorder_ppm = reorder_ppm;
}

/* ---- client and views ---------------------------------------------------------------------- */

int sim_cluster_propose(struct sim_cluster *c, uint32_t slot, uint32_t n, uint64_t *first_index,
                        uint64_t *term_out)
{
    struct sim_node *node = &c->nodes[slot];
    if (!node->up || n == 0) {
        return SL_EINVAL;
    }
    struct sl_buf *stack_bufs[64];
    struct sl_buf **bufs = n <= 64 ? stack_bufs : sl_malloc(n * sizeof(*bufs));
    SL_ASSERT(bufs);
    uint64_t first_id = c->next_payload;
    for (uint32_t k = 0; k < n; k++) {
        bufs[k] = sl_buf_new(c->o.payload_bytes);
        SL_ASSERT(bufs[k]);
        uint64_t id = c->next_payload++;
        memset(bufs[k]->data, (int)(id & 0xff), c->o.payload_bytes);
        memcpy(bufs[k]->data, &id, 8);
    }
    uint64_t first = 0, term = 0;
    core_enter(c);
    int rc = sl_raft_propose(node->raft, SL_RAFT_ENTRY_NORMAL, bufs, n, &first, &term);
    core_leave();
    for (uint32_t k = 0; k < n; k++) {
        sl_buf_unref(bufs[k]);
    }
    if (bufs != stack_bufs) {
        sl_free(bufs);
    }
    if (rc != SL_OK) {
        return rc;
    }
    /* Proposals at these indexes from an earlier term were truncated: they failed. */
    while (node->n_acks > node->ack_head && node->acks[node->n_acks - 1].index >= first) {
        node->n_acks--;
    }
    if (node->ack_head > 0 && node->ack_head * 2 >= node->n_acks) {
        memmove(node->acks, node->acks + node->ack_head,
                (node->n_acks - node->ack_head) * sizeof(*node->acks));
        node->n_acks -= node->ack_head;
        node->ack_head = 0;
    }
    SL_ASSERT(
        sl_grow((void **)&node->acks, &node->cap_acks, node->n_acks + n, sizeof(*node->acks)) == 0);
    for (uint32_t k = 0; k < n; k++) {
        struct sim_ack *a = &node->acks[node->n_acks++];
        a->index = first + k;
        a->term = term;
        a->id = first_id + k;
    }
    if (first_index) {
        *first_index = first;
    }
    if (term_out) {
        *term_out = term;
    }
    drain(c, node);
    return SL_OK;
}

void sim_cluster_drain(struct sim_cluster *c, uint32_t slot)
{
    if (c->nodes[slot].up) {
        drain(c, &c->nodes[slot]);
    }
}

int sim_cluster_compact(struct sim_cluster *c, uint32_t slot, uint64_t index)
{
    struct sim_node *n = &c->nodes[slot];
    if (!n->up || index > n->sm_index || index <= n->sm_hist_base) {
        return SL_EINVAL;
    }
    struct sl_buf *data = sim_snapshot_data(index, sm_chain_at(n, index));
    core_enter(c);
    int rc = sl_raft_compact(n->raft, index, data);
    core_leave();
    sl_buf_unref(data);
    if (rc == SL_OK) {
        sm_forget_before(n, index);
        drain(c, n);
    }
    return rc;
}

struct sl_rand *sim_cluster_rand(struct sim_cluster *c)
{
    return &c->rand;
}

uint64_t sim_cluster_now(const struct sim_cluster *c)
{
    return c->now;
}

uint64_t sim_cluster_steps(const struct sim_cluster *c)
{
    return c->steps;
}

uint32_t sim_cluster_slots(const struct sim_cluster *c)
{
    return c->o.slots;
}

bool sim_cluster_in_use(const struct sim_cluster *c, uint32_t slot)
{
    return c->nodes[slot].in_use;
}

bool sim_cluster_up(const struct sim_cluster *c, uint32_t slot)
{
    return c->nodes[slot].up;
}

uint64_t sim_cluster_id(const struct sim_cluster *c, uint32_t slot)
{
    return c->nodes[slot].in_use ? c->nodes[slot].id : 0;
}

struct sl_raft *sim_cluster_raft(struct sim_cluster *c, uint32_t slot)
{
    return c->nodes[slot].up ? c->nodes[slot].raft : NULL;
}

int sim_cluster_leader(const struct sim_cluster *c)
{
    int best = -1;
    uint64_t best_term = 0;
    for (uint32_t s = 0; s < c->o.slots; s++) {
        const struct sim_node *n = &c->nodes[s];
        if (n->up && sl_raft_role(n->raft) == SL_RAFT_LEADER && sl_raft_term(n->raft) > best_term) {
            best = (int)s;
            best_term = sl_raft_term(n->raft);
        }
    }
    return best;
}

int sim_cluster_slot_of(const struct sim_cluster *c, uint64_t id)
{
    for (uint32_t s = 0; s < c->o.slots; s++) {
        if (c->nodes[s].in_use && c->nodes[s].id == id) {
            return (int)s;
        }
    }
    return -1;
}

uint64_t sim_cluster_applied(const struct sim_cluster *c, uint32_t slot)
{
    return c->nodes[slot].sm_index;
}

uint64_t sim_cluster_acked(const struct sim_cluster *c)
{
    return c->acked;
}

uint64_t sim_cluster_acked_max(const struct sim_cluster *c)
{
    return c->acked_max;
}

const char *sim_cluster_violation(const struct sim_cluster *c)
{
    return c->failed ? c->violation : NULL;
}

const struct sim_cluster_stats *sim_cluster_stats(const struct sim_cluster *c)
{
    return &c->stats;
}
