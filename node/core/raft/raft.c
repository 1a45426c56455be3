/* raft.c — lifecycle, the persistence contract, updates, step dispatch, ticks and role
 * transitions of one group (see raft.h for the contract, internal.h for the invariants). */
#include "core/raft/internal.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

#include <string.h>

/* Most entries one APPEND may carry, whatever the sender's options (a malformed-message bound). */
#define SL_RAFT_APPEND_ENTRIES_LIMIT 65536u
/* Largest election timeout in ticks (keeps the randomised timeout, up to twice it, in range). */
#define SL_RAFT_ELECTION_TICKS_MAX (1u << 20)
/* Indexes in messages stay far from wrapping around. */
#define SL_RAFT_INDEX_MAX (UINT64_MAX / 4)

/* ---- messages and updates ------------------------------------------------------------------ */

void sl_raft_msg_free(struct sl_raft_msg *m)
{
    for (uint32_t k = 0; k < m->n_entries; k++) {
        sl_buf_unref(m->entries[k].data);
    }
    sl_free(m->entries);
    sl_buf_unref(m->snapshot.data);
    memset(m, 0, sizeof(*m));
}

void sl_raft_msg_move(struct sl_raft_msg *dst, struct sl_raft_msg *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

int sl_raft_msg_copy(struct sl_raft_msg *dst, const struct sl_raft_msg *src)
{
    *dst = *src;
    dst->entries = NULL;
    if (src->n_entries) {
        dst->entries = sl_malloc(src->n_entries * sizeof(*dst->entries));
        if (!dst->entries) {
            memset(dst, 0, sizeof(*dst));
            return SL_ENOMEM;
        }
        for (uint32_t k = 0; k < src->n_entries; k++) {
            dst->entries[k] = src->entries[k];
            sl_buf_ref(src->entries[k].data);
        }
    }
    sl_buf_ref(src->snapshot.data);
    return SL_OK;
}

static void free_entries(struct sl_raft_entry *entries, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        sl_buf_unref(entries[k].data);
    }
    sl_free(entries);
}

void sl_raft_update_free(struct sl_raft_update *u)
{
    free_entries(u->entries, u->n_entries);
    for (size_t k = 0; k < u->n_msgs; k++) {
        sl_raft_msg_free(&u->msgs[k]);
    }
    sl_free(u->msgs);
    if (u->has_snapshot) {
        sl_buf_unref(u->snapshot.data);
    }
    if (u->restore) {
        sl_buf_unref(u->restore_snapshot.data);
    }
    free_entries(u->committed, u->n_committed);
    memset(u, 0, sizeof(*u));
}

/* ---- options and lifecycle ----------------------------------------------------------------- */

void sl_raft_options_default(struct sl_raft_options *o)
{
    memset(o, 0, sizeof(*o));
    o->election_ticks = 10;
    o->heartbeat_ticks = 1;
    o->append_entries_max = 1024;
    o->append_bytes_max = 1u << 20;
    o->inflight_msgs_max = 64;
    o->held_msgs_max = 1024;
    o->uncommitted_entries_max = 1u << 20;
    o->uncommitted_bytes_max = 64u << 20;
    o->cache_bytes_max = 16u << 20;
    o->apply_entries_max = 4096;
    o->promote_lag_entries_max = 1024;
}

static int validate_options(const struct sl_raft_options *o)
{
    if (o->id == 0 || o->election_ticks < 2 || o->election_ticks > SL_RAFT_ELECTION_TICKS_MAX ||
        o->heartbeat_ticks == 0 || !o->storage.read || o->heartbeat_ticks >= o->election_ticks ||
        o->append_entries_max == 0 || o->append_entries_max > SL_RAFT_APPEND_ENTRIES_LIMIT ||
        o->append_bytes_max == 0 || o->inflight_msgs_max == 0 || o->held_msgs_max == 0 ||
        o->uncommitted_entries_max == 0 || o->uncommitted_bytes_max == 0 ||
        o->apply_entries_max == 0) {
        return SL_EINVAL;
    }
    return SL_OK;
}

/* Reads the retained log once to learn its terms and configurations. */
static int load_log(struct sl_raft *r, uint64_t last_index)
{
    enum { CHUNK = 256 };
    struct sl_raft_entry chunk[CHUNK];
    uint64_t i = r->log.last + 1;
    while (i <= last_index) {
        if (!r->opt.storage.read) {
            return SL_EINVAL;
        }
        size_t n = 0;
        int rc = r->opt.storage.read(r->opt.storage.ctx, r->opt.group, i, last_index, 1u << 20,
                                     chunk, CHUNK, &n);
        if (rc != SL_OK) {
            return rc;
        }
        if (n == 0 || n > CHUNK) {
            return SL_ECORRUPT;
        }
        for (size_t k = 0; k < n; k++) {
            struct sl_raft_entry *e = &chunk[k];
            struct sl_raft_config c;
            if (rc == SL_OK && (e->index != i + k || e->term < sl_raft_log_last_term(&r->log) ||
                                e->term > r->term)) {
                rc = SL_ECORRUPT;
            }
            if (rc == SL_OK && e->type == SL_RAFT_ENTRY_CONFIG) {
                rc = sl_raft_config_decode(e->data ? e->data->data : NULL, sl_buf_len(e->data), &c);
                if (rc == SL_OK) {
                    rc = sl_raft_history_reserve(&r->configs, 1);
                }
                if (rc == SL_OK) {
                    sl_raft_history_push(&r->configs, e->index, &c);
                }
            }
            if (rc == SL_OK) {
                rc = sl_raft_log_append_uncached(&r->log, e->index, e->term);
            }
            sl_buf_unref(e->data);
        }
        if (rc != SL_OK) {
            return rc == SL_EINVAL ? SL_ECORRUPT : rc;
        }
        i += n;
    }
    return SL_OK;
}

int sl_raft_new(struct sl_raft **out, const struct sl_raft_options *opt,
                const struct sl_raft_boot *boot)
{
    const struct sl_raft_snapshot *s = &boot->snapshot;
    const struct sl_raft_hard_state *hs = &boot->hard_state;
    if (validate_options(opt) != SL_OK || sl_raft_config_validate(&s->config) != SL_OK ||
        boot->last_index < s->index || hs->term < s->term || (s->index == 0 && s->term != 0) ||
        boot->applied > boot->last_index) {
        return SL_EINVAL;
    }
    struct sl_raft *r = sl_calloc(1, sizeof(*r));
    if (!r) {
        return SL_ENOMEM;
    }
    r->opt = *opt;
    sl_rand_seed(&r->rand, opt->random_seed ^ (opt->id * 0x9e3779b97f4a7c15ULL));
    r->term = hs->term;
    r->vote = hs->vote;
    sl_raft_log_init(&r->log, opt->group, &opt->storage, s->index, s->term);
    int rc = sl_raft_history_init(&r->configs, s->index, &s->config);
    if (rc == SL_OK) {
        rc = load_log(r, boot->last_index);
    }
    if (rc != SL_OK) {
        sl_raft_free(r);
        return rc;
    }
    r->snap = *s;
    r->snap.data = sl_buf_ref(s->data);
    /* Only committed entries are ever handed out, so whatever the state machine applied is
     * committed, even if the commit hint that went with it did not reach the disk. */
    r->commit = hs->commit < boot->last_index ? hs->commit : boot->last_index;
    if (r->commit < boot->applied) {
        r->commit = boot->applied;
    }
    if (r->commit < s->index) {
        r->commit = s->index;
    }
    if (boot->applied < s->index) {
        /* The state machine is behind the stored snapshot (say, a crash between a received
         * snapshot becoming durable and its restore): restore it on the first update. */
        r->restore_wait = true; /* restore_write 0: the stored snapshot is durable */
        r->applied = s->index;
    } else {
        r->applied = boot->applied;
    }
    r->durable = boot->last_index;
    r->w_from = boot->last_index + 1;
    r->role = SL_RAFT_FOLLOWER;
    sl_raft__apply_config(r);
    sl_raft__reset_election_timer(r);
    *out = r;
    return SL_OK;
}

void sl_raft_free(struct sl_raft *r)
{
    if (!r) {
        return;
    }
    for (size_t k = 0; k < r->n_out; k++) {
        sl_raft_msg_free(&r->out[k]);
    }
    for (size_t k = 0; k < r->n_held; k++) {
        sl_raft_msg_free(&r->held[k].msg);
    }
    for (uint32_t k = 0; k < r->n_peers; k++) {
        sl_free(r->peers[k].inflight);
    }
    sl_free(r->out);
    sl_free(r->held);
    sl_free(r->pending);
    sl_buf_unref(r->snap.data);
    sl_raft_history_close(&r->configs);
    sl_raft_log_close(&r->log);
    sl_free(r);
}

/* ---- configuration ------------------------------------------------------------------------- */

const struct sl_raft_config *sl_raft__config(const struct sl_raft *r)
{
    return &sl_raft_history_current(&r->configs)->config;
}

struct sl_raft_progress *sl_raft__progress(struct sl_raft *r, uint64_t id)
{
    for (uint32_t k = 0; k < r->n_peers; k++) {
        if (r->peers[k].id == id) {
            return &r->peers[k];
        }
    }
    return NULL;
}

void sl_raft__apply_config(struct sl_raft *r)
{
    const struct sl_raft_config *c = sl_raft__config(r);
    struct sl_raft_progress np[SL_RAFT_MEMBERS_MAX];
    for (uint32_t i = 0; i < c->n; i++) {
        struct sl_raft_progress *old = sl_raft__progress(r, c->members[i].id);
        if (old) {
            np[i] = *old;
        } else {
            memset(&np[i], 0, sizeof(np[i]));
            np[i].id = c->members[i].id;
            np[i].state = SL_RAFT_PROBE;
            np[i].next = r->log.last + 1;
            np[i].recent_active = true;
        }
        np[i].role = c->members[i].role;
    }
    for (uint32_t k = 0; k < r->n_peers; k++) {
        if (!sl_raft_config_find(c, r->peers[k].id)) {
            sl_free(r->peers[k].inflight); /* a member that left */
        }
    }
    memcpy(r->peers, np, c->n * sizeof(np[0]));
    r->n_peers = c->n;

    bool voter = sl_raft_config_is_voter(c, r->opt.id);
    if (r->role == SL_RAFT_LEADER) {
        SL_ASSERT(voter); /* sl_raft_change never removes or demotes the leader */
        if (r->transfer_to && !sl_raft_config_is_voter(c, r->transfer_to)) {
            r->transfer_to = 0;
        }
        sl_raft__maybe_commit(r);
    } else if (r->role != SL_RAFT_FOLLOWER && !voter) {
        sl_raft__become_follower(r, r->term, 0);
    }
}

void sl_raft__append(struct sl_raft *r, const struct sl_raft_entry *e)
{
    sl_raft_log_append(&r->log, e);
    if (e->type == SL_RAFT_ENTRY_CONFIG) {
        struct sl_raft_config c;
        int rc = sl_raft_config_decode(e->data->data, e->data->len, &c);
        SL_ASSERT(rc == SL_OK); /* validated when proposed or received */
        sl_raft_history_push(&r->configs, e->index, &c);
        sl_raft__apply_config(r);
    }
}

void sl_raft__truncate(struct sl_raft *r, uint64_t from)
{
    SL_ASSERT(from > r->commit);
    sl_raft_log_truncate(&r->log, from);
    if (sl_raft_history_truncate(&r->configs, from)) {
        sl_raft__apply_config(r);
    }
    if (from < r->w_from) {
        if (r->w_truncate == 0 || from < r->w_truncate) {
            r->w_truncate = from;
        }
        sl_raft__stale_from(r, from);
        r->w_from = from;
    }
}

void sl_raft__stale_from(struct sl_raft *r, uint64_t index)
{
    if (r->w_stale_from == 0 || index < r->w_stale_from) {
        r->w_stale_from = index;
    }
    if (r->durable >= index) {
        r->durable = index - 1;
    }
}

void sl_raft__set_commit(struct sl_raft *r, uint64_t commit)
{
    if (commit > r->commit) {
        SL_ASSERT(commit <= r->log.last);
        r->commit = commit;
        r->w_commit = true;
    }
}

/* ---- the persistence contract -------------------------------------------------------------- */

/* Whether changes are collected that a message sent now would reflect. */
static bool collecting_write(const struct sl_raft *r)
{
    return r->w_hard || r->w_truncate || r->w_from <= r->log.last;
}

static bool msg_waits_for_disk(const struct sl_raft *r, const struct sl_raft_msg *m)
{
    if (r->role == SL_RAFT_LEADER &&
        (m->type == SL_RAFT_MSG_APPEND || m->type == SL_RAFT_MSG_HEARTBEAT ||
         m->type == SL_RAFT_MSG_SNAPSHOT || m->type == SL_RAFT_MSG_TIMEOUT_NOW)) {
        return false; /* a leader's term is durable; its entries count only once durable */
    }
    if (sl_raft_is_broken(r, SL_RAFT_BROKEN_VOTE_EARLY) &&
        (m->type == SL_RAFT_MSG_VOTE_RESP || m->type == SL_RAFT_MSG_PREVOTE_RESP)) {
        return false;
    }
    if (sl_raft_is_broken(r, SL_RAFT_BROKEN_ACK_EARLY) && m->type == SL_RAFT_MSG_APPEND_RESP) {
        return false;
    }
    return true;
}

struct sl_raft_msg sl_raft__msg(const struct sl_raft *r, uint8_t type, uint64_t to)
{
    struct sl_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.group = r->opt.group;
    m.from = r->opt.id;
    m.to = to;
    m.term = r->term;
    return m;
}

void sl_raft__send(struct sl_raft *r, struct sl_raft_msg *m)
{
    SL_ASSERT(m->to != r->opt.id);
    uint64_t wait = collecting_write(r) ? r->write_last + 1 : r->write_last;
    if (msg_waits_for_disk(r, m) && wait > r->write_durable) {
        /* While a slow fsync holds replies back, the same heartbeat reply would pile up once per
         * heartbeat: one waiting for the same write says it all. */
        for (size_t k = r->n_held; k-- > 0 && r->held[k].write_id == wait;) {
            const struct sl_raft_msg *h = &r->held[k].msg;
            if (m->type == SL_RAFT_MSG_HEARTBEAT_RESP && h->type == m->type && h->to == m->to &&
                h->term == m->term) {
                sl_raft_msg_free(m);
                return;
            }
        }
        /* Full, or out of memory: the message is lost, which Raft tolerates. */
        if (r->n_held >= r->opt.held_msgs_max ||
            sl_grow((void **)&r->held, &r->cap_held, r->n_held + 1, sizeof(*r->held)) != SL_OK) {
            sl_raft_msg_free(m);
            return;
        }
        r->held[r->n_held].write_id = wait;
        sl_raft_msg_move(&r->held[r->n_held].msg, m);
        r->n_held++;
        return;
    }
    if (sl_grow((void **)&r->out, &r->cap_out, r->n_out + 1, sizeof(*r->out)) != SL_OK) {
        sl_raft_msg_free(m);
        return;
    }
    sl_raft_msg_move(&r->out[r->n_out++], m);
}

int sl_raft_persisted(struct sl_raft *r, uint64_t write_id)
{
    if (write_id > r->write_last) {
        return SL_EINVAL;
    }
    if (write_id <= r->write_durable) {
        return SL_OK;
    }
    r->write_durable = write_id;

    size_t k = 0;
    uint64_t durable = r->durable;
    while (k < r->n_pending && r->pending[k].id <= write_id) {
        durable = r->pending[k].last_after;
        k++;
    }
    SL_ASSERT(k > 0);
    r->n_pending -= k;
    memmove(r->pending, r->pending + k, r->n_pending * sizeof(*r->pending));
    /* A later write that replaces part of the disk makes that part stale until it is durable. */
    for (size_t j = 0; j < r->n_pending; j++) {
        if (r->pending[j].stale_from && r->pending[j].stale_from - 1 < durable) {
            durable = r->pending[j].stale_from - 1;
        }
    }
    if (r->w_stale_from && r->w_stale_from - 1 < durable) {
        durable = r->w_stale_from - 1;
    }
    r->durable = durable;

    size_t released = 0;
    while (released < r->n_held && r->held[released].write_id <= write_id) {
        released++;
    }
    if (released) {
        if (sl_grow((void **)&r->out, &r->cap_out, r->n_out + released, sizeof(*r->out)) == SL_OK) {
            for (size_t j = 0; j < released; j++) {
                sl_raft_msg_move(&r->out[r->n_out++], &r->held[j].msg);
            }
        } else {
            for (size_t j = 0; j < released; j++) {
                sl_raft_msg_free(&r->held[j].msg); /* lost, as on a lossy network */
            }
        }
        r->n_held -= released;
        memmove(r->held, r->held + released, r->n_held * sizeof(*r->held));
    }

    if (r->role == SL_RAFT_CANDIDATE && r->self_vote_write && r->self_vote_write <= write_id) {
        r->self_vote_write = 0;
        sl_raft__record_vote(r, r->opt.id, true);
    }
    if (r->role == SL_RAFT_LEADER) {
        sl_raft__maybe_commit(r);
    }
    return SL_OK;
}

/* ---- updates ------------------------------------------------------------------------------- */

/* A received snapshot is waiting to be handed out for restore, its write being durable. */
static bool restore_ready(const struct sl_raft *r)
{
    return r->restore_wait && r->restore_write <= r->write_durable;
}

static uint64_t apply_limit(const struct sl_raft *r)
{
    if (r->restore_wait && !restore_ready(r)) {
        return r->applied;
    }
    return r->commit < r->durable ? r->commit : r->durable;
}

bool sl_raft_has_update(const struct sl_raft *r)
{
    return r->n_out || r->w_hard || r->w_commit || r->w_snap || collecting_write(r) ||
           restore_ready(r) || apply_limit(r) > r->applied ||
           (r->bcast_pending && r->role == SL_RAFT_LEADER);
}

int sl_raft_update_take(struct sl_raft *r, struct sl_raft_update *u)
{
    memset(u, 0, sizeof(*u));
    if (r->bcast_pending) {
        r->bcast_pending = false;
        if (r->role == SL_RAFT_LEADER) {
            sl_raft__bcast_append(r);
        }
    }

    bool write = r->w_hard || r->w_commit || r->w_snap || collecting_write(r);
    size_t n_entries = r->w_from <= r->log.last ? (size_t)(r->log.last + 1 - r->w_from) : 0;
    uint64_t limit = apply_limit(r);
    size_t n_apply = 0;
    if (limit > r->applied) {
        uint64_t span = limit - r->applied;
        n_apply = span < r->opt.apply_entries_max ? (size_t)span : r->opt.apply_entries_max;
    }

    /* Everything that can fail comes first, so that a failure changes nothing. */
    struct sl_raft_entry *entries = NULL, *committed = NULL;
    if (n_entries) {
        entries = sl_malloc(n_entries * sizeof(*entries));
    }
    if (n_apply) {
        committed = sl_malloc(n_apply * sizeof(*committed));
    }
    int rc = (n_entries && !entries) || (n_apply && !committed) ? SL_ENOMEM : SL_OK;
    if (rc == SL_OK && write) {
        rc = sl_grow((void **)&r->pending, &r->cap_pending, r->n_pending + 1, sizeof(*r->pending));
    }
    if (rc == SL_OK && n_apply) {
        size_t got = 0;
        rc = sl_raft_log_read(&r->log, r->applied + 1, r->applied + n_apply, SIZE_MAX, committed,
                              n_apply, &got);
        n_apply = got;
    }
    if (rc != SL_OK) {
        sl_free(entries);
        sl_free(committed);
        return rc;
    }

    if (write) {
        u->write_id = ++r->write_last;
        u->hard_state.term = r->term;
        u->hard_state.vote = r->vote;
        u->hard_state.commit = r->commit;
        if (r->w_snap) {
            u->has_snapshot = true;
            u->snapshot = r->snap;
            u->snapshot.data = sl_buf_ref(r->snap.data);
        }
        u->truncate_from = r->w_truncate;
        for (size_t k = 0; k < n_entries; k++) {
            const struct sl_raft_entry *e = sl_raft_log_cached(&r->log, r->w_from + k);
            SL_ASSERT(e); /* entries are never evicted before they are durable */
            entries[k] = *e;
            entries[k].data = sl_buf_ref(e->data);
        }
        u->entries = entries;
        u->n_entries = n_entries;
        struct sl_raft_pending_write *pw = &r->pending[r->n_pending++];
        pw->id = u->write_id;
        pw->stale_from = r->w_stale_from;
        pw->last_after = r->log.last;
        r->w_hard = r->w_commit = r->w_snap = false;
        r->w_truncate = r->w_stale_from = 0;
        r->w_from = r->log.last + 1;
    }

    u->msgs = r->out;
    u->n_msgs = r->n_out;
    r->out = NULL;
    r->n_out = r->cap_out = 0;

    if (restore_ready(r)) {
        u->restore = true;
        u->restore_snapshot = r->snap;
        u->restore_snapshot.data = sl_buf_ref(r->snap.data);
        r->restore_wait = false;
    }

    u->committed = committed;
    u->n_committed = n_apply;
    r->applied += n_apply;

    uint64_t evict_upto = r->applied < r->durable ? r->applied : r->durable;
    sl_raft_log_evict(&r->log, evict_upto, r->opt.cache_bytes_max);
    return SL_OK;
}

/* ---- role transitions ---------------------------------------------------------------------- */

void sl_raft__reset_election_timer(struct sl_raft *r)
{
    r->election_elapsed = 0;
    r->randomized_timeout =
        r->opt.election_ticks + (uint32_t)sl_rand_below(&r->rand, r->opt.election_ticks);
}

void sl_raft__become_follower(struct sl_raft *r, uint64_t term, uint64_t leader)
{
    SL_ASSERT(term >= r->term);
    if (term > r->term) {
        r->term = term;
        r->vote = 0;
        r->w_hard = true;
    }
    r->role = SL_RAFT_FOLLOWER;
    r->leader = leader;
    r->transfer_to = 0;
    r->self_vote_write = 0;
    r->bcast_pending = false;
    r->uncommitted_bytes = 0;
    sl_raft__reset_election_timer(r);
}

void sl_raft__become_leader(struct sl_raft *r)
{
    SL_ASSERT(r->role == SL_RAFT_CANDIDATE);
    SL_ASSERT(sl_raft_config_is_voter(sl_raft__config(r), r->opt.id));
    r->role = SL_RAFT_LEADER;
    r->leader = r->opt.id;
    r->heartbeat_elapsed = 0;
    r->election_elapsed = 0;
    r->transfer_to = 0;
    r->uncommitted_bytes = 0;
    for (uint32_t k = 0; k < r->n_peers; k++) {
        struct sl_raft_progress *pr = &r->peers[k];
        sl_raft__probe(pr, r->log.last + 1);
        pr->recent_active = true;
        pr->match = 0;
        pr->vote = SL_RAFT_VOTE_NONE;
    }
    /* A new leader commits an entry of its own term at once: that commits everything before it
     * and opens the gate for membership changes. */
    uint64_t index;
    if (sl_raft__leader_append(r, SL_RAFT_ENTRY_NOOP, NULL, 1, &index) != SL_OK) {
        sl_raft__become_follower(r, r->term, 0); /* out of memory: let someone else lead */
        return;
    }
    r->term_start = index;
    sl_raft__bcast_append(r);
}

/* ---- inputs -------------------------------------------------------------------------------- */

static int validate_msg(const struct sl_raft *r, const struct sl_raft_msg *m)
{
    if (m->group != r->opt.group || m->to != r->opt.id || m->from == 0 || m->from == r->opt.id ||
        m->term == 0 || m->type < SL_RAFT_MSG_PREVOTE || m->type > SL_RAFT_MSG_TIMEOUT_NOW) {
        return SL_EINVAL;
    }
    if (m->type != SL_RAFT_MSG_APPEND && (m->n_entries || m->entries)) {
        return SL_EINVAL;
    }
    if (m->type == SL_RAFT_MSG_APPEND) {
        if (m->n_entries > SL_RAFT_APPEND_ENTRIES_LIMIT || (m->n_entries && !m->entries) ||
            m->log_term > m->term || m->index > SL_RAFT_INDEX_MAX) {
            return SL_EINVAL;
        }
        uint64_t prev_term = m->log_term;
        for (uint32_t k = 0; k < m->n_entries; k++) {
            const struct sl_raft_entry *e = &m->entries[k];
            if (e->index != m->index + 1 + k || e->term < prev_term || e->term > m->term ||
                e->type < SL_RAFT_ENTRY_NORMAL || e->type > SL_RAFT_ENTRY_NOOP) {
                return SL_EINVAL;
            }
            struct sl_raft_config c;
            if (e->type == SL_RAFT_ENTRY_CONFIG &&
                (!e->data || sl_raft_config_decode(e->data->data, e->data->len, &c) != SL_OK)) {
                return SL_EINVAL;
            }
            prev_term = e->term;
        }
    }
    if (m->type == SL_RAFT_MSG_SNAPSHOT) {
        const struct sl_raft_snapshot *s = &m->snapshot;
        if (s->index == 0 || s->index > SL_RAFT_INDEX_MAX || s->term == 0 || s->term > m->term ||
            sl_raft_config_validate(&s->config) != SL_OK) {
            return SL_EINVAL;
        }
    } else if (m->snapshot.data) {
        return SL_EINVAL;
    }
    return SL_OK;
}

int sl_raft_step(struct sl_raft *r, const struct sl_raft_msg *m)
{
    int rc = validate_msg(r, m);
    if (rc != SL_OK) {
        return rc;
    }
    bool vote_request = m->type == SL_RAFT_MSG_VOTE || m->type == SL_RAFT_MSG_PREVOTE;
    bool from_leader = m->type == SL_RAFT_MSG_APPEND || m->type == SL_RAFT_MSG_HEARTBEAT ||
                       m->type == SL_RAFT_MSG_SNAPSHOT;
    if (m->term > r->term) {
        if (vote_request) {
            /* CheckQuorum lease: while we hear from a live leader, a disruptive candidate
             * (say, one returning from a partition) is ignored, unless the leader itself asked
             * for the election by transferring leadership. */
            bool in_lease = r->leader != 0 && r->election_elapsed < r->opt.election_ticks;
            if (in_lease && !(m->flags & SL_RAFT_FLAG_TRANSFER)) {
                return SL_OK;
            }
        }
        bool prevote_traffic =
            m->type == SL_RAFT_MSG_PREVOTE ||
            (m->type == SL_RAFT_MSG_PREVOTE_RESP && !(m->flags & SL_RAFT_FLAG_REJECT));
        if (!prevote_traffic) {
            sl_raft__become_follower(r, m->term, from_leader ? m->from : 0);
        }
    } else if (m->term < r->term) {
        if (m->type == SL_RAFT_MSG_APPEND || m->type == SL_RAFT_MSG_HEARTBEAT) {
            /* A stale leader (say, one cut off while we moved on): tell it our term so that it
             * steps down, since our lease rules may keep it from hearing of it otherwise. */
            struct sl_raft_msg resp = sl_raft__msg(r, SL_RAFT_MSG_APPEND_RESP, m->from);
            sl_raft__send(r, &resp);
        } else if (m->type == SL_RAFT_MSG_PREVOTE) {
            struct sl_raft_msg resp = sl_raft__msg(r, SL_RAFT_MSG_PREVOTE_RESP, m->from);
            resp.flags = SL_RAFT_FLAG_REJECT;
            sl_raft__send(r, &resp);
        }
        return SL_OK;
    }

    switch (m->type) {
    case SL_RAFT_MSG_PREVOTE:
    case SL_RAFT_MSG_VOTE:
        sl_raft__handle_vote_request(r, m);
        break;
    case SL_RAFT_MSG_PREVOTE_RESP:
    case SL_RAFT_MSG_VOTE_RESP:
        sl_raft__handle_vote_response(r, m);
        break;
    case SL_RAFT_MSG_APPEND:
    case SL_RAFT_MSG_HEARTBEAT:
    case SL_RAFT_MSG_SNAPSHOT:
        if (r->role == SL_RAFT_LEADER) {
            return SL_EINVAL; /* two leaders in one term: only a forged message can say so */
        }
        if (r->role != SL_RAFT_FOLLOWER) {
            sl_raft__become_follower(r, m->term, m->from);
        }
        r->leader = m->from;
        r->election_elapsed = 0;
        if (m->type == SL_RAFT_MSG_APPEND) {
            sl_raft__handle_append(r, m);
        } else if (m->type == SL_RAFT_MSG_HEARTBEAT) {
            sl_raft__handle_heartbeat(r, m);
        } else {
            sl_raft__handle_snapshot(r, m);
        }
        break;
    case SL_RAFT_MSG_APPEND_RESP:
        if (r->role == SL_RAFT_LEADER) {
            sl_raft__handle_append_response(r, m);
        }
        break;
    case SL_RAFT_MSG_HEARTBEAT_RESP:
        if (r->role == SL_RAFT_LEADER) {
            sl_raft__handle_heartbeat_response(r, m);
        }
        break;
    case SL_RAFT_MSG_TIMEOUT_NOW:
        sl_raft__handle_timeout_now(r, m);
        break;
    default:
        SL_UNREACHABLE();
    }
    return SL_OK;
}

static void tick_leader(struct sl_raft *r)
{
    r->heartbeat_elapsed++;
    r->election_elapsed++;
    if (r->election_elapsed >= r->opt.election_ticks) {
        r->election_elapsed = 0;
        sl_raft__check_quorum(r);
        if (r->role != SL_RAFT_LEADER) {
            return;
        }
    }
    if (r->transfer_to && ++r->transfer_elapsed >= r->opt.election_ticks) {
        r->transfer_to = 0; /* the target did not take over in time: resume */
    }
    for (uint32_t k = 0; k < r->n_peers; k++) {
        struct sl_raft_progress *pr = &r->peers[k];
        if (pr->state == SL_RAFT_SNAPSHOT && ++pr->snapshot_ticks >= 2 * r->opt.election_ticks) {
            sl_raft__probe(pr, pr->next); /* the snapshot was probably lost: probe again */
        }
    }
    if (r->heartbeat_elapsed >= r->opt.heartbeat_ticks) {
        r->heartbeat_elapsed = 0;
        sl_raft__bcast_heartbeat(r);
    }
}

void sl_raft_tick(struct sl_raft *r)
{
    if (r->role == SL_RAFT_LEADER) {
        tick_leader(r);
        return;
    }
    r->election_elapsed++;
    if (r->election_elapsed >= r->randomized_timeout &&
        sl_raft_config_is_voter(sl_raft__config(r), r->opt.id)) {
        sl_raft__campaign(r, true, false);
    }
}

/* ---- views --------------------------------------------------------------------------------- */

uint64_t sl_raft_id(const struct sl_raft *r)
{
    return r->opt.id;
}

uint64_t sl_raft_group(const struct sl_raft *r)
{
    return r->opt.group;
}

enum sl_raft_role sl_raft_role(const struct sl_raft *r)
{
    return r->role;
}

uint64_t sl_raft_term(const struct sl_raft *r)
{
    return r->term;
}

uint64_t sl_raft_leader(const struct sl_raft *r)
{
    return r->leader;
}

uint64_t sl_raft_commit(const struct sl_raft *r)
{
    return r->commit;
}

uint64_t sl_raft_applied(const struct sl_raft *r)
{
    return r->applied;
}

uint64_t sl_raft_durable(const struct sl_raft *r)
{
    return r->durable;
}

uint64_t sl_raft_first_index(const struct sl_raft *r)
{
    return sl_raft_log_first(&r->log);
}

uint64_t sl_raft_last_index(const struct sl_raft *r)
{
    return r->log.last;
}

const struct sl_raft_config *sl_raft_config(const struct sl_raft *r)
{
    return sl_raft__config(r);
}

uint64_t sl_raft_config_index(const struct sl_raft *r)
{
    return sl_raft_history_current(&r->configs)->index;
}

uint64_t sl_raft_match(const struct sl_raft *r, uint64_t id)
{
    if (r->role != SL_RAFT_LEADER) {
        return 0;
    }
    if (id == r->opt.id) {
        return r->durable;
    }
    for (uint32_t k = 0; k < r->n_peers; k++) {
        if (r->peers[k].id == id) {
            return r->peers[k].match;
        }
    }
    return 0;
}

uint64_t sl_raft_term_at(const struct sl_raft *r, uint64_t index)
{
    return sl_raft_log_term(&r->log, index);
}

const char *sl_raft_role_name(enum sl_raft_role role)
{
    switch (role) {
    case SL_RAFT_FOLLOWER:
        return "FOLLOWER";
    case SL_RAFT_PRECANDIDATE:
        return "PRECANDIDATE";
    case SL_RAFT_CANDIDATE:
        return "CANDIDATE";
    case SL_RAFT_LEADER:
        return "LEADER";
    }
    return "?";
}

const char *sl_raft_msg_type_name(uint8_t type)
{
    static const char *const names[] = {
        "?",           "PREVOTE",   "PREVOTE_RESP",   "VOTE",     "VOTE_RESP",  "APPEND",
        "APPEND_RESP", "HEARTBEAT", "HEARTBEAT_RESP", "SNAPSHOT", "TIMEOUT_NOW"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

void sl_raft_check_invariants(const struct sl_raft *r, bool deep)
{
    sl_raft_log_check(&r->log, deep);
    /* R1 */
    SL_ASSERT(r->snap.index == r->log.snap_index && r->snap.term == r->log.snap_term);
    SL_ASSERT(r->snap.index <= r->applied && r->applied <= r->commit);
    SL_ASSERT(r->commit <= r->log.last);
    /* R2 */
    SL_ASSERT(r->durable <= r->log.last);
    /* R3 */
    const struct sl_raft_config *c = sl_raft__config(r);
    SL_ASSERT(r->n_peers == c->n);
    for (uint32_t k = 0; k < c->n; k++) {
        SL_ASSERT(r->peers[k].id == c->members[k].id && r->peers[k].role == c->members[k].role);
    }
    SL_ASSERT(r->configs.items[0].index <= r->snap.index);
    for (size_t k = 1; k < r->configs.n; k++) {
        SL_ASSERT(r->configs.items[k].index > r->configs.items[k - 1].index);
        SL_ASSERT(r->configs.items[k].index > r->snap.index);
        SL_ASSERT(r->configs.items[k].index <= r->log.last);
        SL_ASSERT(sl_raft_log_term(&r->log, r->configs.items[k].index) != 0);
    }
    /* R4 */
    SL_ASSERT((r->role == SL_RAFT_LEADER) == (r->leader == r->opt.id));
    if (r->role == SL_RAFT_LEADER) {
        SL_ASSERT(sl_raft_config_is_voter(c, r->opt.id));
        SL_ASSERT(r->term_start > 0 && (r->term_start < r->snap.index ||
                                        sl_raft_log_term(&r->log, r->term_start) == r->term));
        for (uint32_t k = 0; k < r->n_peers; k++) {
            const struct sl_raft_progress *pr = &r->peers[k];
            if (pr->id == r->opt.id) {
                continue;
            }
            SL_ASSERT(pr->match < pr->next && pr->next <= r->log.last + 1);
            SL_ASSERT(pr->inflight_count <= r->opt.inflight_msgs_max);
            SL_ASSERT(pr->state == SL_RAFT_REPLICATE || pr->inflight_count == 0);
            uint64_t prev = pr->match;
            for (uint32_t i = 0; i < pr->inflight_count; i++) {
                uint64_t last = pr->inflight[(pr->inflight_start + i) % r->opt.inflight_msgs_max];
                SL_ASSERT(last > prev && last < pr->next);
                prev = last;
            }
        }
    }
    if (r->role == SL_RAFT_CANDIDATE || r->role == SL_RAFT_LEADER) {
        SL_ASSERT(r->vote == r->opt.id);
    }
    /* R5 */
    SL_ASSERT(r->write_durable <= r->write_last);
    for (size_t k = 0; k < r->n_pending; k++) {
        SL_ASSERT(r->pending[k].id > r->write_durable && r->pending[k].id <= r->write_last);
        SL_ASSERT(k == 0 || r->pending[k].id > r->pending[k - 1].id);
    }
    SL_ASSERT(r->n_held <= r->opt.held_msgs_max);
    for (size_t k = 0; k < r->n_held; k++) {
        SL_ASSERT(r->held[k].write_id > r->write_durable);
        SL_ASSERT(r->held[k].write_id <= r->write_last + 1);
        SL_ASSERT(k == 0 || r->held[k].write_id >= r->held[k - 1].write_id);
    }
    SL_ASSERT(r->w_from <= r->log.last + 1);
    SL_ASSERT(r->w_truncate == 0 || r->w_truncate <= r->w_from);
    SL_ASSERT(r->w_stale_from <= r->w_truncate || r->w_truncate == 0);
}
