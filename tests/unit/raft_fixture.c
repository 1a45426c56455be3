/* raft_fixture.c — shared helpers for the consensus core's unit tests (see raft_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/alloc.h"
#include "core/errors.h"

#include <string.h>

/* ---- payloads ------------------------------------------------------------------------------ */

struct sl_buf *payload(uint64_t tag, size_t len)
{
    assert_true(len >= 8);
    struct sl_buf *b = sl_buf_new(len);
    assert_non_null(b);
    memset(b->data, (int)(tag & 0xff), len);
    memcpy(b->data, &tag, 8);
    return b;
}

uint64_t payload_tag(const struct sl_buf *b)
{
    uint64_t tag = 0;
    if (b && b->len >= 8) {
        memcpy(&tag, b->data, 8);
    }
    return tag;
}

/* ---- the disk ----------------------------------------------------------------------------- */

void disk_put(struct sim_disk *d, uint64_t term)
{
    uint64_t index = sim_disk_last(d) + 1;
    struct sl_raft_entry e = {index, term, SL_RAFT_ENTRY_NORMAL, payload(index, 16)};
    assert_int_equal(sim_disk_append(d, &e), SL_OK);
    sl_buf_unref(e.data);
}

/* ---- configurations ------------------------------------------------------------------------ */

struct sl_raft_config config_voters(uint32_t n)
{
    struct sl_raft_config c;
    memset(&c, 0, sizeof(c));
    for (uint32_t i = 0; i < n; i++) {
        config_add(&c, i + 1, SL_RAFT_VOTER);
    }
    return c;
}

void config_add(struct sl_raft_config *c, uint64_t id, uint8_t role)
{
    assert_true(c->n < SL_RAFT_MEMBERS_MAX);
    c->members[c->n].id = id;
    c->members[c->n].role = role;
    c->n++;
}

/* ---- one member driven by hand ------------------------------------------------------------- */

void fx_options(struct sl_raft_options *o, uint64_t id)
{
    sl_raft_options_default(o);
    o->group = FX_GROUP;
    o->id = id;
    o->random_seed = 1000 + id;
}

void fx_boot_applied(struct fx *f, const struct sl_raft_options *o, uint64_t applied)
{
    f->opt = *o;
    f->opt.storage = sim_disk_storage(&f->disk);
    struct sl_raft_boot b = sim_disk_boot(&f->disk);
    b.applied = applied;
    f->r = NULL;
    assert_int_equal(sl_raft_new(&f->r, &f->opt, &b), SL_OK);
    f->applied = applied;
}

static void boot(struct fx *f, const struct sl_raft_options *o)
{
    fx_boot_applied(f, o, f->disk.snap.index);
}

void fx_disk_of(struct fx *f, uint32_t voters, size_t entries, uint64_t term)
{
    memset(f, 0, sizeof(*f));
    sim_disk_init(&f->disk);
    f->disk.snap.config = config_voters(voters);
    for (size_t k = 0; k < entries; k++) {
        disk_put(&f->disk, term);
    }
    f->disk.hs.term = entries ? term : 0;
}

void fx_boot_new(struct fx *f, const struct sl_raft_options *o, const struct sl_raft_config *c)
{
    memset(f, 0, sizeof(*f));
    sim_disk_init(&f->disk);
    f->disk.snap.config = *c;
    boot(f, o);
}

void fx_boot_disk(struct fx *f, const struct sl_raft_options *o)
{
    assert_null(f->r);
    boot(f, o);
}

void fx_crash(struct fx *f)
{
    sl_raft_free(f->r);
    f->r = NULL;
}

void fx_free(struct fx *f)
{
    fx_crash(f);
    fx_clear_sent(f);
    sl_free(f->sent);
    assert_int_equal(f->disk.bad_reads, 0); /* the core read only durable, retained entries */
    sim_disk_free(&f->disk);
    memset(f, 0, sizeof(*f));
}

void fx_take(struct fx *f, struct sl_raft_update *u)
{
    assert_true(sl_raft_has_update(f->r));
    assert_int_equal(sl_raft_update_take(f->r, u), SL_OK);
}

void fx_persist(struct fx *f, const struct sl_raft_update *u)
{
    if (u->write_id == 0) {
        return;
    }
    assert_int_not_equal(u->write_id, 0);
    assert_int_equal(sim_disk_write(&f->disk, u), SL_OK);
    assert_int_equal(sl_raft_persisted(f->r, u->write_id), SL_OK);
}

void fx_absorb(struct fx *f, struct sl_raft_update *u)
{
    if (u->n_msgs) {
        assert_int_equal(
            sl_grow((void **)&f->sent, &f->cap_sent, f->n_sent + u->n_msgs, sizeof(*f->sent)),
            SL_OK);
        for (size_t k = 0; k < u->n_msgs; k++) {
            sl_raft_msg_move(&f->sent[f->n_sent++], &u->msgs[k]);
        }
    }
    if (u->restore) {
        f->restored = u->restore_snapshot.index;
        f->applied = u->restore_snapshot.index;
        f->n_restores++;
    }
    for (size_t k = 0; k < u->n_committed; k++) {
        /* Rule 4: in index order, each once. */
        assert_int_equal(u->committed[k].index, f->applied + 1);
        f->applied = u->committed[k].index;
        f->n_applied++;
    }
    sl_raft_update_free(u);
}

void fx_settle(struct fx *f)
{
    for (int rounds = 0; sl_raft_has_update(f->r); rounds++) {
        assert_true(rounds < 1000);
        struct sl_raft_update u;
        fx_take(f, &u);
        fx_persist(f, &u);
        fx_absorb(f, &u);
    }
}

void fx_recv(struct fx *f, struct sl_raft_msg m)
{
    assert_int_equal(sl_raft_step(f->r, &m), SL_OK);
    sl_raft_msg_free(&m);
}

void fx_recv_keep(struct fx *f, const struct sl_raft_msg *m)
{
    assert_int_equal(sl_raft_step(f->r, m), SL_OK);
}

void fx_tick(struct fx *f, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        sl_raft_tick(f->r);
    }
}

unsigned fx_tick_while_role(struct fx *f, enum sl_raft_role role, unsigned max)
{
    unsigned ticks = 0;
    while (sl_raft_role(f->r) == role) {
        assert_true(ticks < max);
        sl_raft_tick(f->r);
        ticks++;
    }
    return ticks;
}

void fx_elect(struct fx *f)
{
    const struct sl_raft_config *c = sl_raft_config(f->r);
    uint64_t self = sl_raft_id(f->r);
    fx_tick_while_role(f, SL_RAFT_FOLLOWER, 1000);
    fx_settle(f);
    for (uint32_t i = 0; i < c->n && sl_raft_role(f->r) == SL_RAFT_PRECANDIDATE; i++) {
        if (c->members[i].id != self && c->members[i].role == SL_RAFT_VOTER) {
            fx_recv(f, msg_prevote_resp(c->members[i].id, self, sl_raft_term(f->r) + 1, true));
        }
    }
    fx_settle(f); /* the vote becomes durable; the requests go out */
    for (uint32_t i = 0; i < c->n && sl_raft_role(f->r) == SL_RAFT_CANDIDATE; i++) {
        if (c->members[i].id != self && c->members[i].role == SL_RAFT_VOTER) {
            fx_recv(f, msg_vote_resp(c->members[i].id, self, sl_raft_term(f->r), true));
        }
    }
    fx_settle(f);
    assert_int_equal(sl_raft_role(f->r), SL_RAFT_LEADER);
}

void fx_ack(struct fx *f, uint64_t from, uint64_t index)
{
    fx_recv(f, msg_append_resp(from, sl_raft_id(f->r), sl_raft_term(f->r), index));
    fx_settle(f);
}

int fx_propose(struct fx *f, size_t n, size_t len, uint64_t tag)
{
    struct sl_buf *bufs[64];
    assert_true(n <= 64);
    for (size_t k = 0; k < n; k++) {
        bufs[k] = payload(tag + k, len);
    }
    uint64_t first = 0, term = 0;
    int rc = sl_raft_propose(f->r, SL_RAFT_ENTRY_NORMAL, bufs, n, &first, &term);
    for (size_t k = 0; k < n; k++) {
        sl_buf_unref(bufs[k]);
    }
    return rc;
}

void fx_clear_sent(struct fx *f)
{
    for (size_t k = 0; k < f->n_sent; k++) {
        sl_raft_msg_free(&f->sent[k]);
    }
    f->n_sent = 0;
}

static bool matches(const struct sl_raft_msg *m, uint8_t type, uint64_t to)
{
    return m->type == type && (to == 0 || m->to == to);
}

size_t fx_count_sent(const struct fx *f, uint8_t type, uint64_t to)
{
    size_t n = 0;
    for (size_t k = 0; k < f->n_sent; k++) {
        n += matches(&f->sent[k], type, to);
    }
    return n;
}

const struct sl_raft_msg *fx_nth_sent(const struct fx *f, uint8_t type, uint64_t to, size_t nth)
{
    for (size_t k = 0; k < f->n_sent; k++) {
        if (matches(&f->sent[k], type, to) && nth-- == 0) {
            return &f->sent[k];
        }
    }
    return NULL;
}

const struct sl_raft_msg *fx_find_sent(const struct fx *f, uint8_t type, uint64_t to)
{
    return fx_nth_sent(f, type, to, 0);
}

size_t update_count_msgs(const struct sl_raft_update *u, uint8_t type, uint64_t to)
{
    size_t n = 0;
    for (size_t k = 0; k < u->n_msgs; k++) {
        n += matches(&u->msgs[k], type, to);
    }
    return n;
}

/* ---- messages ------------------------------------------------------------------------------ */

struct sl_raft_msg msg(uint8_t type, uint64_t from, uint64_t to, uint64_t term)
{
    struct sl_raft_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.group = FX_GROUP;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

static struct sl_raft_msg msg_request(uint8_t type, uint64_t from, uint64_t to, uint64_t term,
                                      uint64_t last_index, uint64_t last_term)
{
    struct sl_raft_msg m = msg(type, from, to, term);
    m.index = last_index;
    m.log_term = last_term;
    return m;
}

struct sl_raft_msg msg_prevote(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                               uint64_t last_term)
{
    return msg_request(SL_RAFT_MSG_PREVOTE, from, to, term, last_index, last_term);
}

struct sl_raft_msg msg_vote(uint64_t from, uint64_t to, uint64_t term, uint64_t last_index,
                            uint64_t last_term)
{
    return msg_request(SL_RAFT_MSG_VOTE, from, to, term, last_index, last_term);
}

struct sl_raft_msg msg_prevote_resp(uint64_t from, uint64_t to, uint64_t term, bool granted)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_PREVOTE_RESP, from, to, term);
    m.flags = granted ? 0 : SL_RAFT_FLAG_REJECT;
    return m;
}

struct sl_raft_msg msg_vote_resp(uint64_t from, uint64_t to, uint64_t term, bool granted)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_VOTE_RESP, from, to, term);
    m.flags = granted ? 0 : SL_RAFT_FLAG_REJECT;
    return m;
}

void msg_append_entry(struct sl_raft_msg *m, uint64_t term, uint8_t type, struct sl_buf *data)
{
    struct sl_raft_entry *e =
        sl_realloc(m->entries, (m->n_entries + 1) * sizeof(struct sl_raft_entry));
    assert_non_null(e);
    m->entries = e;
    e[m->n_entries].index = m->index + 1 + m->n_entries;
    e[m->n_entries].term = term;
    e[m->n_entries].type = type;
    e[m->n_entries].data = sl_buf_ref(data);
    m->n_entries++;
}

struct sl_raft_msg msg_append(uint64_t from, uint64_t to, uint64_t term, uint64_t prev_index,
                              uint64_t prev_term, uint64_t commit, const uint64_t *terms, size_t n)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_APPEND, from, to, term);
    m.index = prev_index;
    m.log_term = prev_term;
    m.commit = commit;
    for (size_t k = 0; k < n; k++) {
        struct sl_buf *b = payload(prev_index + 1 + k, 16);
        msg_append_entry(&m, terms[k], SL_RAFT_ENTRY_NORMAL, b);
        sl_buf_unref(b);
    }
    return m;
}

struct sl_raft_msg msg_append_resp(uint64_t from, uint64_t to, uint64_t term, uint64_t index)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_APPEND_RESP, from, to, term);
    m.index = index;
    return m;
}

struct sl_raft_msg msg_append_reject(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                     uint64_t conflict_term, uint64_t hint)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_APPEND_RESP, from, to, term);
    m.flags = SL_RAFT_FLAG_REJECT;
    m.index = index;
    m.log_term = conflict_term;
    m.hint = hint;
    return m;
}

struct sl_raft_msg msg_heartbeat(uint64_t from, uint64_t to, uint64_t term, uint64_t commit)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_HEARTBEAT, from, to, term);
    m.commit = commit;
    return m;
}

struct sl_raft_msg msg_heartbeat_resp(uint64_t from, uint64_t to, uint64_t term)
{
    return msg(SL_RAFT_MSG_HEARTBEAT_RESP, from, to, term);
}

struct sl_raft_msg msg_snapshot(uint64_t from, uint64_t to, uint64_t term, uint64_t index,
                                uint64_t snap_term, const struct sl_raft_config *c)
{
    struct sl_raft_msg m = msg(SL_RAFT_MSG_SNAPSHOT, from, to, term);
    m.snapshot.index = index;
    m.snapshot.term = snap_term;
    m.snapshot.config = *c;
    m.snapshot.data = payload(index, 16);
    return m;
}

/* ---- clusters ------------------------------------------------------------------------------ */

void cluster_options(struct sim_cluster_options *o, uint32_t nodes, uint32_t slots, uint64_t seed)
{
    sim_cluster_options_default(o);
    o->nodes = nodes;
    o->slots = slots;
    o->seed = seed;
    o->drop_ppm = 0;
    o->dup_ppm = 0;
    o->reorder_ppm = 0;
}

struct sim_cluster *cluster_new(const struct sim_cluster_options *o)
{
    struct sim_cluster *c = sim_cluster_new(o);
    assert_non_null(c);
    return c;
}

void assert_cluster_safe(const struct sim_cluster *c)
{
    const char *v = sim_cluster_violation(c);
    if (v) {
        fail_msg("the cluster's checkers found a violation: %s", v);
    }
}

void cluster_free(struct sim_cluster *c)
{
    assert_cluster_safe(c);
    sim_cluster_free(c);
}

void cluster_run_ms(struct sim_cluster *c, uint64_t ms)
{
    sim_cluster_run_for(c, ms * MS);
}

int cluster_step_until_leader(struct sim_cluster *c, uint64_t ms)
{
    return sim_cluster_run_until(c, sim_cluster_has_leader, NULL, ms * MS) ? sim_cluster_leader(c)
                                                                           : -1;
}

int cluster_step_until_ready_leader(struct sim_cluster *c, uint64_t ms)
{
    return sim_cluster_run_until(c, sim_cluster_has_ready_leader, NULL, ms * MS)
               ? sim_cluster_leader(c)
               : -1;
}

struct applied_goal {
    int slot; /* -1: every up node */
    uint64_t index;
};

static bool reached_applied(struct sim_cluster *c, void *ctx)
{
    const struct applied_goal *g = ctx;
    for (uint32_t s = 0; s < sim_cluster_slots(c); s++) {
        if ((g->slot < 0 && sim_cluster_up(c, s)) || g->slot == (int)s) {
            if (sim_cluster_applied(c, s) < g->index) {
                return false;
            }
        }
    }
    return true;
}

bool cluster_step_until_applied(struct sim_cluster *c, uint32_t slot, uint64_t index, uint64_t ms)
{
    struct applied_goal g = {(int)slot, index};
    return sim_cluster_run_until(c, reached_applied, &g, ms * MS);
}

bool cluster_step_until_all_applied(struct sim_cluster *c, uint64_t index, uint64_t ms)
{
    struct applied_goal g = {-1, index};
    return sim_cluster_run_until(c, reached_applied, &g, ms * MS);
}

static bool reached_acked(struct sim_cluster *c, void *ctx)
{
    return sim_cluster_acked(c) >= *(const uint64_t *)ctx;
}

bool cluster_step_until_acked(struct sim_cluster *c, uint64_t n, uint64_t ms)
{
    return sim_cluster_run_until(c, reached_acked, &n, ms * MS);
}

struct role_goal {
    uint32_t slot;
    enum sl_raft_role role;
};

static bool reached_role(struct sim_cluster *c, void *ctx)
{
    const struct role_goal *g = ctx;
    struct sl_raft *r = sim_cluster_raft(c, g->slot);
    return r && sl_raft_role(r) == g->role;
}

bool cluster_step_until_role(struct sim_cluster *c, uint32_t slot, enum sl_raft_role role,
                             uint64_t ms)
{
    struct role_goal g = {slot, role};
    return sim_cluster_run_until(c, reached_role, &g, ms * MS);
}

struct match_goal {
    uint32_t leader;
    uint64_t id;
    uint64_t index;
};

static bool reached_match(struct sim_cluster *c, void *ctx)
{
    const struct match_goal *g = ctx;
    struct sl_raft *r = sim_cluster_raft(c, g->leader);
    return r && sl_raft_match(r, g->id) >= g->index;
}

bool cluster_step_until_matched(struct sim_cluster *c, uint32_t leader, uint64_t id, uint64_t index,
                                uint64_t ms)
{
    struct match_goal g = {leader, id, index};
    return sim_cluster_run_until(c, reached_match, &g, ms * MS);
}

static bool config_committed(struct sim_cluster *c, void *ctx)
{
    struct sl_raft *r = sim_cluster_raft(c, *(const uint32_t *)ctx);
    return r && sl_raft_commit(r) >= sl_raft_config_index(r);
}

bool cluster_step_until_config_committed(struct sim_cluster *c, uint32_t leader, uint64_t ms)
{
    return sim_cluster_run_until(c, config_committed, &leader, ms * MS);
}

int cluster_follower(struct sim_cluster *c, int not_this)
{
    int leader = sim_cluster_leader(c);
    for (uint32_t s = 0; s < sim_cluster_slots(c); s++) {
        if ((int)s != leader && (int)s != not_this && sim_cluster_up(c, s)) {
            return (int)s;
        }
    }
    return -1;
}
