/* node.c — boots and drives the node's Raft groups; the writer and loop threads (see node.h). */
#include "server/node.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"
#include "core/shard/batch.h"
#include "io/clock.h"
#include "io/crypto.h"
#include "io/workq.h"
#include "server/kinesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Controller entries between two controller snapshots. */
#define CONTROL_SNAPSHOT_EVERY 1024

static void drive(struct node *n, struct group *g);

struct group *sl_node_group(struct node *n, uint64_t id)
{
    return id < n->groups_cap ? n->groups[id] : NULL;
}

static void fatal(const char *what, int err)
{
    fprintf(stderr, "sluiced: fatal: %s: %s\n", what, sl_strerror(err));
    abort();
}

/* A controller command or snapshot that does not decode: say so plainly when a newer sluiced
 * wrote it (the data directory cannot go back to this version). */
static void control_fatal(const char *what, const void *data, size_t len, int err)
{
    unsigned version = sl_control_version_of(data, len);
    if (version > SL_CONTROL_FORMAT_VERSION) {
        fprintf(stderr,
                "sluiced: fatal: %s: it is in controller format version %u, and this sluiced "
                "reads versions 1 to %d; a newer sluiced wrote this data directory, run that "
                "one\n",
                what, version, SL_CONTROL_FORMAT_VERSION);
        abort();
    }
    fatal(what, err);
}

/* ---- groups ------------------------------------------------------------------------------ */

static void raft_options(struct node *n, uint64_t group, struct sl_raft_options *o)
{
    sl_raft_options_default(o);
    o->group = group;
    o->id = n->cfg.id;
    o->random_seed = (n->cfg.id * 0x9e3779b97f4a7c15ull) ^ group ^ sl_mono_ms();
    o->storage.ctx = n->store;
    o->storage.read = sl_store_read;
    /* One voter per group for now: nothing is replicated, so the cache only needs to hold the
     * entries on their way to the disk. Readers read RocksDB directly. */
    o->cache_bytes_max = 1u << 20;
    o->uncommitted_entries_max = 1u << 16;
    o->uncommitted_bytes_max = 256u << 20;
}

/* Arrival time of the newest record entry at or below `index` (0 when none), looking back past
 * the few entries that carry no records (a new leader's NOOP). */
static uint64_t newest_arrival(struct node *n, uint64_t group, uint64_t first, uint64_t index)
{
    for (uint64_t i = index; i >= first && i > 0 && index - i < 64; i--) {
        struct sl_raft_entry e;
        size_t got = 0;
        if (sl_store_read(n->store, group, i, i, 1, &e, 1, &got) != 0 || got == 0) {
            return 0;
        }
        uint64_t arrival = 0;
        bool is_records = sl_batch_entry_arrival(&e, &arrival);
        sl_buf_unref(e.data);
        if (is_records) {
            return arrival;
        }
    }
    return 0;
}

static int group_table_put(struct node *n, struct group *g)
{
    if (g->id >= n->groups_cap) {
        int rv = sl_grow_zero((void **)&n->groups, &n->groups_cap, g->id + 1, sizeof(*n->groups));
        if (rv != 0) {
            return rv;
        }
    }
    SL_ASSERT(n->groups[g->id] == NULL);
    n->groups[g->id] = g;
    return 0;
}

/* Ends queueing a write into the writer's pending batch (`rv`: what adding it returned), with
 * a job naming its group and the write id to report durable (0: none). Under wmu; releases it. */
static void queue_job_unlock(struct node *n, int rv, uint64_t group, uint64_t write_id)
{
    if (rv == 0 && n->wjobs_n == n->wjobs_cap) {
        rv = sl_grow((void **)&n->wjobs, &n->wjobs_cap, n->wjobs_n + 1, sizeof(*n->wjobs));
    }
    if (rv != 0) {
        fatal("queueing a write", rv);
    }
    n->wjobs[n->wjobs_n++] = (struct writer_job){group, write_id};
    pthread_cond_signal(&n->wcond);
    pthread_mutex_unlock(&n->wmu);
}

/* Queues the write of update `u` of `group` for the next fsync; with `report`, the writer then
 * tells the group it is durable (sl_raft_persisted). */
static void queue_write(struct node *n, uint64_t group, const struct sl_raft_update *u, bool report)
{
    pthread_mutex_lock(&n->wmu);
    queue_job_unlock(n, sl_store_batch_add_update(n->wpending, group, u), group,
                     report ? u->write_id : 0);
}

/* Queues the removal of everything stored for `group`. */
static void queue_drop(struct node *n, uint64_t group)
{
    pthread_mutex_lock(&n->wmu);
    queue_job_unlock(n, sl_store_batch_drop_group(n->wpending, group), group, 0);
}

/* Creates group `id` from what the store holds, or as a brand-new group whose only voter is
 * this node. */
static struct group *group_open(struct node *n, uint64_t id, bool is_control)
{
    struct sl_raft_boot boot;
    memset(&boot, 0, sizeof(boot));
    int rv = sl_store_load_group(n->store, id, &boot);
    if (rv == SL_ENOTFOUND) {
        memset(&boot, 0, sizeof(boot));
        boot.snapshot.config.n = 1;
        boot.snapshot.config.members[0].id = n->cfg.id;
        boot.snapshot.config.members[0].role = SL_RAFT_VOTER;
        /* The initial configuration must survive a restart: store it as the group's first
         * snapshot, queued ahead of every write the group will make. */
        struct sl_raft_update init = {
            .write_id = 1, .has_snapshot = true, .snapshot = boot.snapshot};
        queue_write(n, id, &init, false);
    } else if (rv != 0) {
        fatal("reading a group from the store", rv);
    } else if (!is_control && boot.hard_state.commit > boot.applied) {
        /* A shard's state machine is its log: committed entries were applied when they were
         * written, so they need not be handed out again. */
        boot.applied = boot.hard_state.commit;
    }
    struct group *g = sl_calloc(1, sizeof(*g));
    SL_ASSERT(g != NULL);
    g->id = id;
    g->is_control = is_control;
    struct sl_raft_options o;
    raft_options(n, id, &o);
    rv = sl_raft_new(&g->raft, &o, &boot);
    if (rv != 0) {
        fatal("starting a Raft group", rv);
    }
    if (is_control && boot.snapshot.data) {
        rv = sl_control_restore(&n->control, boot.snapshot.data->data, boot.snapshot.data->len);
        if (rv != 0) {
            control_fatal("restoring the controller snapshot", boot.snapshot.data->data,
                          boot.snapshot.data->len, rv);
        }
        n->control_snapshot_index = boot.snapshot.index;
    }
    g->applied = boot.applied;
    g->first_index = boot.snapshot.index + 1;
    g->written_term = boot.hard_state.term;
    g->written_vote = boot.hard_state.vote;
    if (!is_control) {
        g->tip_arrival_ms = newest_arrival(n, id, g->first_index, boot.last_index);
        g->last_arrival_ms = g->tip_arrival_ms;
    }
    sl_buf_unref(boot.snapshot.data);
    SL_ASSERT(group_table_put(n, g) == 0);
    return g;
}

static void fail_waiters(struct node *n, struct group *g, int err)
{
    while (g->waiters) {
        struct waiter *w = g->waiters;
        g->waiters = w->next;
        w->fn(n, w->arg, err, 0, w->index);
        sl_free(w);
    }
    g->waiters_tail = NULL;
}

/* Removes a shard group: its pending requests fail, its data is dropped from the store. */
static void group_destroy(struct node *n, uint64_t id)
{
    struct group *g = sl_node_group(n, id);
    if (g) {
        fail_waiters(n, g, SL_ENOTFOUND);
        sl_raft_free(g->raft);
        n->groups[id] = NULL;
        sl_free(g);
    }
    queue_drop(n, id);
}

static void ensure_shard_groups(struct node *n, const struct sl_stream *s)
{
    for (uint32_t i = 0; i < s->n_shards; i++) {
        const struct sl_shard_meta *m = &s->shards[i];
        struct group *g = sl_node_group(n, m->group);
        if (!g) {
            g = group_open(n, m->group, false);
        }
        memcpy(g->stream, s->name, s->name_len + 1);
        g->stream_created_ms = s->created_ms;
        g->shard_index = m->index;
    }
}

/* ---- apply --------------------------------------------------------------------------------- */

static void resolve_waiters(struct node *n, struct group *g, const struct sl_raft_entry *e,
                            int result)
{
    while (g->waiters && g->waiters->index <= e->index) {
        struct waiter *w = g->waiters;
        g->waiters = w->next;
        if (!g->waiters) {
            g->waiters_tail = NULL;
        }
        bool ours = w->index == e->index && w->term == e->term;
        /* An entry replaced by another leader's is lost: its request may be retried. */
        w->fn(n, w->arg, ours ? 0 : SL_ESTALE, ours ? result : 0, w->index);
        sl_free(w);
    }
}

static void apply_control(struct node *n, struct group *g, const struct sl_raft_entry *e)
{
    int result = 0;
    if (e->type == SL_RAFT_ENTRY_NORMAL) {
        struct sl_control_cmd cmd;
        const void *data = e->data ? e->data->data : NULL;
        int rv = sl_control_cmd_decode(data, sl_buf_len(e->data), &cmd);
        if (rv != 0) {
            control_fatal("decoding a committed controller command", data, sl_buf_len(e->data), rv);
        }
        struct sl_stream *s = NULL;
        result = sl_control_apply(&n->control, &cmd, &s);
        if (result == 0 && s && cmd.op == SL_CONTROL_CREATE_STREAM) {
            ensure_shard_groups(n, s);
        } else if (result == 0 && s && cmd.op == SL_CONTROL_SET_STATUS &&
                   cmd.status == SL_STREAM_DELETING) {
            for (uint32_t i = 0; i < s->n_shards; i++) {
                group_destroy(n, s->shards[i].group);
            }
        }
    }
    n->control_applied = e->index;
    resolve_waiters(n, g, e, result);
    if (n->control_applied - n->control_snapshot_index >= CONTROL_SNAPSHOT_EVERY) {
        struct sl_buf *snap;
        if (sl_control_snapshot(&n->control, &snap) == 0) {
            if (sl_raft_compact(g->raft, n->control_applied, snap) == 0) {
                n->control_snapshot_index = n->control_applied;
            }
            sl_buf_unref(snap);
        }
    }
}

static void apply_shard(struct node *n, struct group *g, const struct sl_raft_entry *e)
{
    uint64_t arrival;
    if (sl_batch_entry_arrival(e, &arrival)) {
        g->tip_arrival_ms = arrival;
    }
    g->applied = e->index;
    resolve_waiters(n, g, e, 0);
}

/* Carries out everything group `g` has to do (raft.h, struct sl_raft_update). Under mu. */
static void drive(struct node *n, struct group *g)
{
    uint64_t id = g->id;
    while ((g = sl_node_group(n, id)) != NULL && sl_raft_has_update(g->raft)) {
        struct sl_raft_update u;
        int rv = sl_raft_update_take(g->raft, &u);
        if (rv != 0) {
            fatal("taking a Raft update", rv);
        }
        uint64_t persisted_now = 0;
        if (u.write_id != 0) {
            bool commit_only = !u.has_snapshot && u.truncate_from == 0 && u.n_entries == 0 &&
                               u.hard_state.term == g->written_term &&
                               u.hard_state.vote == g->written_vote &&
                               g->durable_write_id == g->queued_write_id;
            if (commit_only) {
                /* Only the commit index moved and nothing of this group is on its way to the
                 * disk. The commit index is a hint (raft.h): it goes out with the group's next
                 * real write instead of costing an fsync of its own. */
                persisted_now = u.write_id;
            } else {
                queue_write(n, g->id, &u, true);
                g->queued_write_id = u.write_id;
                g->written_term = u.hard_state.term;
                g->written_vote = u.hard_state.vote;
            }
        }
        /* Single-voter groups send nothing; peers come with clusters. */
        if (u.restore && g->is_control && u.restore_snapshot.data) {
            rv = sl_control_restore(&n->control, u.restore_snapshot.data->data,
                                    u.restore_snapshot.data->len);
            if (rv != 0) {
                control_fatal("restoring the controller snapshot", u.restore_snapshot.data->data,
                              u.restore_snapshot.data->len, rv);
            }
        }
        for (size_t i = 0; i < u.n_committed; i++) {
            if (g->is_control) {
                apply_control(n, g, &u.committed[i]);
            } else {
                apply_shard(n, g, &u.committed[i]);
                if (sl_node_group(n, id) != g) {
                    break;
                }
            }
        }
        sl_raft_update_free(&u);
        if (persisted_now != 0 && sl_node_group(n, id) == g) {
            g->durable_write_id = g->queued_write_id = persisted_now;
            sl_raft_persisted(g->raft, persisted_now);
        }
    }
}

int sl_node_propose(struct node *n, struct group *g, struct sl_buf *data, sl_waiter_fn fn,
                    void *arg, uint64_t *index)
{
    struct waiter *w = sl_calloc(1, sizeof(*w));
    if (!w) {
        return SL_ENOMEM;
    }
    uint64_t first, term;
    int rv = sl_raft_propose(g->raft, SL_RAFT_ENTRY_NORMAL, &data, 1, &first, &term);
    if (rv != 0) {
        sl_free(w);
        return rv;
    }
    w->index = first;
    w->term = term;
    w->fn = fn;
    w->arg = arg;
    if (g->waiters_tail) {
        g->waiters_tail->next = w;
    } else {
        g->waiters = w;
    }
    g->waiters_tail = w;
    if (index) {
        *index = first;
    }
    drive(n, g);
    return 0;
}

int sl_node_propose_control(struct node *n, const struct sl_control_cmd *cmd, sl_waiter_fn fn,
                            void *arg)
{
    struct sl_buf *b;
    int rv = sl_control_cmd_encode(cmd, &b);
    if (rv != 0) {
        return rv;
    }
    rv = sl_node_propose(n, sl_node_group(n, SL_CONTROL_GROUP), b, fn, arg, NULL);
    sl_buf_unref(b);
    return rv;
}

/* ---- writer thread ------------------------------------------------------------------------ */

/* Waits until jobs are queued in `*queue` (or `*stop`), then swaps the queued array with the
 * caller's (`*jobs`, `*cap`) and returns how many it holds: 0 only when stopping with nothing
 * queued. Returns with `mu` held, so that the caller can take what goes with the jobs. */
static size_t take_jobs(pthread_mutex_t *mu, pthread_cond_t *cond, const bool *stop,
                        struct writer_job **queue, size_t *queue_n, size_t *queue_cap,
                        struct writer_job **jobs, size_t *cap)
{
    pthread_mutex_lock(mu);
    while (*queue_n == 0 && !*stop) {
        pthread_cond_wait(cond, mu);
    }
    size_t n = *queue_n;
    struct writer_job *tj = *jobs;
    size_t tcap = *cap;
    *jobs = *queue;
    *cap = *queue_cap;
    *queue = tj;
    *queue_cap = tcap;
    *queue_n = 0;
    return n;
}

static void *writer_main(void *arg)
{
    struct node *n = arg;
    struct sl_store_batch *batch = sl_store_batch_new();
    struct writer_job *jobs = NULL;
    size_t jobs_cap = 0;
    SL_ASSERT(batch != NULL);
    for (;;) {
        /* Take everything queued since the last write: one fsync for all of it. */
        size_t n_jobs = take_jobs(&n->wmu, &n->wcond, &n->wstop, &n->wjobs, &n->wjobs_n,
                                  &n->wjobs_cap, &jobs, &jobs_cap);
        if (n_jobs == 0) {
            pthread_mutex_unlock(&n->wmu);
            break;
        }
        struct sl_store_batch *tb = batch;
        batch = n->wpending;
        n->wpending = tb;
        pthread_mutex_unlock(&n->wmu);

        int rv = sl_store_write(n->store, batch, true);
        if (rv != 0) {
            /* Acknowledged means durable: a node that cannot write stops. */
            fatal("writing to the store", rv);
        }
        sl_store_batch_clear(batch);

        /* Hand the durable writes to the applier and start on the next ones at once. */
        pthread_mutex_lock(&n->amu);
        if (n->ajobs_n + n_jobs > n->ajobs_cap &&
            sl_grow((void **)&n->ajobs, &n->ajobs_cap, n->ajobs_n + n_jobs, sizeof(*n->ajobs)) !=
                0) {
            fatal("queueing durable writes", SL_ENOMEM);
        }
        memcpy(&n->ajobs[n->ajobs_n], jobs, n_jobs * sizeof(*jobs));
        n->ajobs_n += n_jobs;
        pthread_cond_signal(&n->acond);
        pthread_mutex_unlock(&n->amu);
    }
    sl_store_batch_free(batch);
    sl_free(jobs);
    return NULL;
}

/* ---- applier thread ----------------------------------------------------------------------- */

static void *applier_main(void *arg)
{
    struct node *n = arg;
    struct writer_job *jobs = NULL;
    size_t jobs_cap = 0;
    for (;;) {
        size_t n_jobs = take_jobs(&n->amu, &n->acond, &n->astop, &n->ajobs, &n->ajobs_n,
                                  &n->ajobs_cap, &jobs, &jobs_cap);
        pthread_mutex_unlock(&n->amu);
        if (n_jobs == 0) {
            break;
        }

        /* Answers to the requests these writes complete go out after mu is released. */
        sl_net_defer_begin();
        pthread_mutex_lock(&n->mu);
        for (size_t i = 0; i < n_jobs; i++) {
            struct group *g = sl_node_group(n, jobs[i].group);
            if (g && jobs[i].write_id != 0 && !n->stopping) {
                g->durable_write_id = jobs[i].write_id;
                sl_raft_persisted(g->raft, jobs[i].write_id);
                drive(n, g);
            }
        }
        pthread_mutex_unlock(&n->mu);
        sl_net_defer_end();
    }
    sl_free(jobs);
    return NULL;
}

static void stop_thread(pthread_mutex_t *mu, pthread_cond_t *cond, bool *stop, pthread_t t)
{
    pthread_mutex_lock(mu);
    *stop = true;
    pthread_cond_signal(cond);
    pthread_mutex_unlock(mu);
    pthread_join(t, NULL);
}

/* ---- loop thread -------------------------------------------------------------------------- */

static bool control_idle_leader(struct node *n)
{
    struct group *c = sl_node_group(n, SL_CONTROL_GROUP);
    return sl_raft_role(c->raft) == SL_RAFT_LEADER &&
           n->control_applied == sl_raft_last_index(c->raft);
}

/* True when every shard group leads and has applied its whole log. */
static bool shards_ready(struct node *n)
{
    for (size_t id = 0; id < n->groups_cap; id++) {
        struct group *g = n->groups[id];
        if (g && !g->is_control &&
            (sl_raft_role(g->raft) != SL_RAFT_LEADER || g->applied < sl_raft_last_index(g->raft))) {
            return false;
        }
    }
    return true;
}

/* Housekeeping the controller leader proposes: CREATING streams whose shard groups all have a
 * leader become ACTIVE; DELETING streams, whose groups are gone, are removed. One command at a
 * time, only while the controller has nothing uncommitted, so that nothing is proposed twice. */
static void control_housekeeping(struct node *n)
{
    if (!control_idle_leader(n)) {
        return;
    }
    for (size_t i = 0; i < n->control.n_streams; i++) {
        const struct sl_stream *s = n->control.streams[i];
        uint8_t op;
        if (s->status == SL_STREAM_CREATING) {
            bool ready = true;
            for (uint32_t k = 0; k < s->n_shards && ready; k++) {
                struct group *g = sl_node_group(n, s->shards[k].group);
                ready = g && sl_raft_role(g->raft) == SL_RAFT_LEADER &&
                        g->applied >= sl_raft_last_index(g->raft);
            }
            if (!ready) {
                continue;
            }
            op = SL_CONTROL_SET_STATUS;
        } else if (s->status == SL_STREAM_DELETING) {
            op = SL_CONTROL_REMOVE_STREAM;
        } else {
            continue; /* every pass of the writer loop comes here: build no command */
        }
        struct sl_control_cmd cmd = {.op = op};
        cmd.status = op == SL_CONTROL_SET_STATUS ? SL_STREAM_ACTIVE : 0;
        sl_control_cmd_target(&cmd, s);
        struct sl_buf *b;
        if (sl_control_cmd_encode(&cmd, &b) == 0) {
            uint64_t first, term;
            (void)sl_raft_propose(sl_node_group(n, SL_CONTROL_GROUP)->raft, SL_RAFT_ENTRY_NORMAL,
                                  &b, 1, &first, &term);
            sl_buf_unref(b);
            drive(n, sl_node_group(n, SL_CONTROL_GROUP));
        }
        return;
    }
    if (!n->orphans_checked) {
        /* Groups in the store that no stream owns (a deletion cut short by a crash). */
        uint64_t *ids;
        size_t n_ids;
        if (sl_store_groups(n->store, &ids, &n_ids) == 0) {
            for (size_t i = 0; i < n_ids; i++) {
                if (ids[i] != SL_CONTROL_GROUP && !sl_node_group(n, ids[i])) {
                    queue_drop(n, ids[i]);
                }
            }
            sl_free(ids);
            n->orphans_checked = true;
        }
    }
}

bool sl_node_first_record(struct node *n, uint64_t group, uint64_t lo, uint64_t hi, uint64_t *index,
                          uint64_t *arrival_ms)
{
    bool found = false;
    for (uint64_t at = lo; at <= hi && !found;) {
        struct sl_raft_entry e[8];
        size_t got = 0;
        if (sl_store_read(n->store, group, at, hi, 1, e, 8, &got) != 0 || got == 0) {
            break;
        }
        for (size_t i = 0; i < got; i++) {
            if (!found && sl_batch_entry_arrival(&e[i], arrival_ms)) {
                found = true;
                *index = e[i].index;
            }
            sl_buf_unref(e[i].data);
        }
        at = e[got - 1].index + 1;
    }
    return found;
}

uint64_t sl_node_find_arrival(struct node *n, uint64_t group, uint64_t lo, uint64_t hi, uint64_t ms)
{
    uint64_t l = lo, h = hi + 1;
    while (l < h) {
        uint64_t mid = l + (h - l) / 2;
        uint64_t at, arrival;
        bool found = sl_node_first_record(n, group, mid, hi, &at, &arrival);
        if (!found || arrival >= ms) {
            h = mid;
        } else {
            l = at + 1;
        }
    }
    return l;
}

struct trim_job {
    uint64_t group;
    uint64_t first;
    uint64_t applied;
    uint64_t cutoff_ms;
};

/* Drops records older than their stream's retention from the front of every shard log. */
static void retention_pass(struct node *n)
{
    struct trim_job *jobs = NULL;
    size_t n_jobs = 0, cap = 0;
    /* The wall clock, but never ahead of the monotonic one: a clock stepped forward must not
     * make unexpired records look expired (clock_guard.h). */
    uint64_t now = sl_clock_guard_now(&n->retention_clock, sl_wall_ms(), sl_mono_ms());
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->control.n_streams; i++) {
        const struct sl_stream *s = n->control.streams[i];
        uint64_t keep_ms = (uint64_t)s->retention_hours * n->cfg.retention_hour_ms;
        if (s->status == SL_STREAM_DELETING || now <= keep_ms) {
            continue;
        }
        for (uint32_t k = 0; k < s->n_shards; k++) {
            struct group *g = sl_node_group(n, s->shards[k].group);
            if (!g || g->applied < g->first_index) {
                continue;
            }
            if (n_jobs == cap && sl_grow((void **)&jobs, &cap, n_jobs + 1, sizeof(*jobs)) != 0) {
                break;
            }
            jobs[n_jobs++] = (struct trim_job){g->id, g->first_index, g->applied, now - keep_ms};
        }
    }
    pthread_mutex_unlock(&n->mu);

    for (size_t i = 0; i < n_jobs; i++) {
        struct trim_job *j = &jobs[i];
        uint64_t keep = sl_node_find_arrival(n, j->group, j->first, j->applied, j->cutoff_ms);
        if (keep <= j->first) {
            continue;
        }
        pthread_mutex_lock(&n->mu);
        struct group *g = sl_node_group(n, j->group);
        if (g && keep - 1 <= g->applied && keep > g->first_index &&
            sl_raft_compact(g->raft, keep - 1, NULL) == 0) {
            g->first_index = keep;
            drive(n, g);
        }
        pthread_mutex_unlock(&n->mu);
    }
    sl_free(jobs);
}

static void *loop_main(void *arg)
{
    struct node *n = arg;
    uint64_t next_retention = sl_mono_ms() + n->cfg.retention_check_ms;
    for (;;) {
        pthread_mutex_lock(&n->loop_mu);
        if (!n->loop_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + n->cfg.tick_ms * 1000000u;
            ts.tv_sec += (time_t)(ns / 1000000000u);
            ts.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&n->loop_cond, &n->loop_mu, &ts);
        }
        bool stop = n->loop_stop;
        pthread_mutex_unlock(&n->loop_mu);
        if (stop) {
            return NULL;
        }

        pthread_mutex_lock(&n->mu);
        for (size_t id = 0; id < n->groups_cap; id++) {
            struct group *g = n->groups[id];
            if (g) {
                sl_raft_tick(g->raft);
                drive(n, g);
            }
        }
        control_housekeeping(n);
        pthread_mutex_unlock(&n->mu);

        if (sl_mono_ms() >= next_retention) {
            retention_pass(n);
            next_retention = sl_mono_ms() + n->cfg.retention_check_ms;
        }
    }
}

/* ---- start and stop ------------------------------------------------------------------------ */

int sl_node_start(struct node **out, const struct sl_config *cfg, char *err, size_t err_len)
{
    struct node *n = sl_calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    n->cfg = *cfg;
    /* Slack: one second per retention pass for the two clocks' ordinary drift. */
    sl_clock_guard_init(&n->retention_clock, sl_wall_ms(), sl_mono_ms(), 1000);
    pthread_mutex_init(&n->mu, NULL);
    pthread_mutex_init(&n->wmu, NULL);
    pthread_cond_init(&n->wcond, NULL);
    pthread_mutex_init(&n->amu, NULL);
    pthread_cond_init(&n->acond, NULL);
    pthread_mutex_init(&n->loop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* ticks must not follow wall-clock steps */
    pthread_cond_init(&n->loop_cond, &ca);
    pthread_condattr_destroy(&ca);
    sl_control_init(&n->control);
    n->wpending = sl_store_batch_new();
    if (!n->wpending) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }

    n->identity.node_id = cfg->id;
    snprintf(n->identity.az, sizeof(n->identity.az), "%.63s", cfg->az);
    if (sl_store_open(&n->store, cfg->data_dir, &n->identity, err, err_len) != 0) {
        goto fail;
    }

    /* Boot: the controller first (its snapshot and committed commands name every stream), then
     * the shard groups of every stream it knows. */
    pthread_mutex_lock(&n->mu);
    struct group *c = group_open(n, SL_CONTROL_GROUP, true);
    for (size_t i = 0; i < n->control.n_streams; i++) {
        if (n->control.streams[i]->status != SL_STREAM_DELETING) {
            ensure_shard_groups(n, n->control.streams[i]);
        }
    }
    drive(n, c);
    pthread_mutex_unlock(&n->mu);

    if (pthread_create(&n->applier, NULL, applier_main, n) != 0) {
        snprintf(err, err_len, "cannot start the applier thread");
        goto fail_store;
    }
    if (pthread_create(&n->writer, NULL, writer_main, n) != 0) {
        snprintf(err, err_len, "cannot start the writer thread");
        goto fail_applier;
    }
    if (pthread_create(&n->loop, NULL, loop_main, n) != 0) {
        snprintf(err, err_len, "cannot start the loop thread");
        goto fail_writer;
    }
    /* Serve once the controller has elected itself and replayed its log, so that the first
     * requests see every stream, and every shard group has applied its log, so that the first
     * reads see every acknowledged record (the stored commit index may lag: it is a hint). */
    bool ready = false;
    for (uint64_t waited = 0; !ready && waited < 30000; waited += 5) {
        pthread_mutex_lock(&n->mu);
        ready = control_idle_leader(n) && shards_ready(n);
        pthread_mutex_unlock(&n->mu);
        if (!ready) {
            nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
        }
    }
    if (!ready) {
        snprintf(err, err_len, "the controller group did not elect this node within 30 s");
        goto fail_loop;
    }
    if (sl_workq_start(&n->workq, (unsigned)cfg->workers) != 0) {
        snprintf(err, err_len, "cannot start %u worker threads", (unsigned)cfg->workers);
        goto fail_loop;
    }
    struct sl_net_options no = {
        .url = cfg->listen,
        .contexts = (unsigned)cfg->contexts,
        .workq = n->workq,
        .recv_bytes_max = 32u << 20,
        .handler = sl_ops_handle,
        .fast_handler = sl_ops_handle_fast,
        .free_carry = sl_ops_free_request,
        .arg = n,
    };
    if (sl_net_server_start(&n->net, &no, err, err_len) != 0) {
        goto fail_workq;
    }
    if (cfg->http_listen[0] && sl_kinesis_start(n, err, err_len) != 0) {
        goto fail_net;
    }
    *out = n;
    return 0;

fail_net:
    sl_workq_stop(n->workq);
    sl_net_server_stop(n->net);
fail_workq:
    sl_workq_free(n->workq);
fail_loop:
    stop_thread(&n->loop_mu, &n->loop_cond, &n->loop_stop, n->loop);
fail_writer:
    stop_thread(&n->wmu, &n->wcond, &n->wstop, n->writer);
fail_applier:
    stop_thread(&n->amu, &n->acond, &n->astop, n->applier);
fail_store:
    for (size_t id = 0; id < n->groups_cap; id++) {
        if (n->groups[id]) {
            sl_raft_free(n->groups[id]->raft);
            sl_free(n->groups[id]);
        }
    }
    sl_free(n->groups);
    sl_store_close(n->store);
fail:
    sl_store_batch_free(n->wpending);
    sl_control_close(&n->control);
    sl_free(n);
    return -1;
}

void sl_node_stop(struct node *n)
{
    /* 1. No more answers: pending requests are dropped (their clients time out and retry; the
     * handlers see `stopping` and free them without answering). */
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    for (size_t id = 0; id < n->groups_cap; id++) {
        if (n->groups[id]) {
            fail_waiters(n, n->groups[id], SL_ENOTLEADER);
        }
    }
    pthread_mutex_unlock(&n->mu);
    /* 2. The loop, then the writer once it has written what was queued, then the applier: none
     * of them answers anything now, and none is left sending when the network goes. */
    stop_thread(&n->loop_mu, &n->loop_cond, &n->loop_stop, n->loop);
    stop_thread(&n->wmu, &n->wcond, &n->wstop, n->writer);
    stop_thread(&n->amu, &n->acond, &n->astop, n->applier);
    /* 3. No more requests: the handlers running finish, the queued ones are dropped, then the
     * front ends close. */
    sl_workq_stop(n->workq);
    sl_kinesis_stop(n);
    sl_net_server_stop(n->net);
    sl_workq_free(n->workq); /* the front ends may push (and be dropped) until they stop */

    for (size_t id = 0; id < n->groups_cap; id++) {
        struct group *g = n->groups[id];
        if (g) {
            fail_waiters(n, g, SL_ENOTLEADER);
            sl_raft_free(g->raft);
            sl_free(g);
        }
    }
    sl_free(n->groups);
    sl_free(n->wjobs);
    sl_free(n->ajobs);
    sl_store_batch_free(n->wpending);
    sl_store_close(n->store);
    sl_control_close(&n->control);
    pthread_mutex_destroy(&n->mu);
    pthread_mutex_destroy(&n->wmu);
    pthread_cond_destroy(&n->wcond);
    pthread_mutex_destroy(&n->amu);
    pthread_cond_destroy(&n->acond);
    pthread_mutex_destroy(&n->loop_mu);
    pthread_cond_destroy(&n->loop_cond);
    sl_free(n);
}
