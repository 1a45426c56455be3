/* check.c — hash-chain mirrors and the global records of the simulator's checkers (check.h). */
#include "check.h"

#include "core/alloc.h"
#include "core/assert.h"

#include <stdio.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

uint64_t sim_chain(uint64_t prev, const struct sl_raft_entry *e)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < sl_buf_len(e->data); i++) {
        h = (h ^ e->data->data[i]) * 0x100000001b3ULL;
    }
    return mix(mix(mix(prev, e->term), e->type), h);
}

struct sl_buf *sim_snapshot_data(uint64_t index, uint64_t chain)
{
    struct sl_buf *b = sl_buf_new(16);
    SL_ASSERT(b);
    memcpy(b->data, &index, 8);
    memcpy(b->data + 8, &chain, 8);
    return b;
}

bool sim_snapshot_decode(const struct sl_buf *b, uint64_t *index, uint64_t *chain)
{
    if (!b) {
        *index = *chain = 0;
        return true;
    }
    if (b->len != 16) {
        return false;
    }
    memcpy(index, b->data, 8);
    memcpy(chain, b->data + 8, 8);
    return true;
}

/* ---- mirrors ------------------------------------------------------------------------------- */

void sim_mirror_reset(struct sim_mirror *m, uint64_t index, uint64_t term, uint64_t chain)
{
    m->base_index = index;
    m->base_term = term;
    m->base_chain = chain;
    m->off = 0;
    m->n = 0;
}

void sim_mirror_free(struct sim_mirror *m)
{
    sl_free(m->terms);
    sl_free(m->chains);
    memset(m, 0, sizeof(*m));
}

bool sim_mirror_at(const struct sim_mirror *m, uint64_t index, uint64_t *term, uint64_t *chain)
{
    if (index == m->base_index) {
        *term = m->base_term;
        *chain = m->base_chain;
        return true;
    }
    if (index < m->base_index || index > sim_mirror_last(m)) {
        return false;
    }
    size_t k = m->off + (size_t)(index - m->base_index - 1);
    *term = m->terms[k];
    *chain = m->chains[k];
    return true;
}

static void mirror_push(struct sim_mirror *m, uint64_t term, uint64_t chain)
{
    if (m->off + m->n == m->cap) {
        if (m->off > m->cap / 2) { /* reuse the space compaction freed at the front */
            memmove(m->terms, m->terms + m->off, m->n * sizeof(*m->terms));
            memmove(m->chains, m->chains + m->off, m->n * sizeof(*m->chains));
            m->off = 0;
        } else {
            size_t cap = m->cap ? 2 * m->cap : 256;
            m->terms = sl_realloc(m->terms, cap * sizeof(*m->terms));
            m->chains = sl_realloc(m->chains, cap * sizeof(*m->chains));
            SL_ASSERT(m->terms && m->chains);
            m->cap = cap;
        }
    }
    m->terms[m->off + m->n] = term;
    m->chains[m->off + m->n] = chain;
    m->n++;
}

/* Drops entries <= index; the entry at index becomes the base. */
static void mirror_compact(struct sim_mirror *m, uint64_t index)
{
    uint64_t term, chain;
    SL_ASSERT(sim_mirror_at(m, index, &term, &chain));
    size_t drop = (size_t)(index - m->base_index);
    m->off += drop;
    m->n -= drop;
    m->base_index = index;
    m->base_term = term;
    m->base_chain = chain;
}

/* ---- the global records -------------------------------------------------------------------- */

struct entry_slot {
    uint64_t index;
    uint64_t term; /* 0: empty slot */
    uint64_t chain;
};

struct applied_slot {
    uint64_t term; /* 0: nothing applied at this index yet */
    uint64_t chain;
};

struct leader_slot {
    uint64_t id; /* 0: no leader seen */
    uint64_t boot;
};

struct sim_checker {
    struct entry_slot *entries; /* open addressing on (index, term) */
    size_t entries_cap;         /* power of two */
    size_t entries_n;
    struct applied_slot *applied;
    size_t applied_cap;
    uint64_t applied_max;
    struct leader_slot *leaders;
    size_t leaders_cap;
    char msg[512];
};

struct sim_checker *sim_checker_new(void)
{
    struct sim_checker *ch = sl_calloc(1, sizeof(*ch));
    SL_ASSERT(ch);
    ch->entries_cap = 1024;
    ch->entries = sl_calloc(ch->entries_cap, sizeof(*ch->entries));
    SL_ASSERT(ch->entries);
    return ch;
}

void sim_checker_free(struct sim_checker *ch)
{
    if (!ch) {
        return;
    }
    sl_free(ch->entries);
    sl_free(ch->applied);
    sl_free(ch->leaders);
    sl_free(ch);
}

static size_t entry_hash(uint64_t index, uint64_t term, size_t cap)
{
    return (size_t)(mix(index, term) & (cap - 1));
}

static struct entry_slot *entry_find(struct sim_checker *ch, uint64_t index, uint64_t term)
{
    size_t k = entry_hash(index, term, ch->entries_cap);
    while (ch->entries[k].term && (ch->entries[k].index != index || ch->entries[k].term != term)) {
        k = (k + 1) & (ch->entries_cap - 1);
    }
    return &ch->entries[k];
}

static void entries_grow(struct sim_checker *ch)
{
    struct entry_slot *old = ch->entries;
    size_t old_cap = ch->entries_cap;
    ch->entries_cap *= 2;
    ch->entries = sl_calloc(ch->entries_cap, sizeof(*ch->entries));
    SL_ASSERT(ch->entries);
    for (size_t k = 0; k < old_cap; k++) {
        if (old[k].term) {
            *entry_find(ch, old[k].index, old[k].term) = old[k];
        }
    }
    sl_free(old);
}

/* Records that (index, term) comes with `chain`, or reports a log-matching violation. */
static const char *record_entry(struct sim_checker *ch, uint64_t index, uint64_t term,
                                uint64_t chain)
{
    if (2 * (ch->entries_n + 1) > ch->entries_cap) {
        entries_grow(ch);
    }
    struct entry_slot *s = entry_find(ch, index, term);
    if (!s->term) {
        s->index = index;
        s->term = term;
        s->chain = chain;
        ch->entries_n++;
        return NULL;
    }
    if (s->chain != chain) {
        snprintf(ch->msg, sizeof(ch->msg),
                 "log matching: two logs hold entry (index %llu, term %llu) with different "
                 "histories",
                 (unsigned long long)index, (unsigned long long)term);
        return ch->msg;
    }
    return NULL;
}

const char *sim_check_append(struct sim_checker *ch, struct sim_mirror *m,
                             const struct sl_raft_entry *e)
{
    uint64_t last = sim_mirror_last(m);
    uint64_t last_term, last_chain;
    SL_ASSERT(sim_mirror_at(m, last, &last_term, &last_chain));
    if (e->index != last + 1) {
        snprintf(ch->msg, sizeof(ch->msg), "log: entry %llu appended after %llu",
                 (unsigned long long)e->index, (unsigned long long)last);
        return ch->msg;
    }
    if (e->term < last_term) {
        snprintf(ch->msg, sizeof(ch->msg), "log: term goes down at index %llu (%llu after %llu)",
                 (unsigned long long)e->index, (unsigned long long)e->term,
                 (unsigned long long)last_term);
        return ch->msg;
    }
    uint64_t chain = sim_chain(last_chain, e);
    mirror_push(m, e->term, chain);
    return record_entry(ch, e->index, e->term, chain);
}

const char *sim_check_write(struct sim_checker *ch, struct sim_mirror *m,
                            const struct sl_raft_update *u)
{
    if (u->has_snapshot) {
        const struct sl_raft_snapshot *s = &u->snapshot;
        uint64_t index = 0, chain = 0, term = 0, mchain = 0;
        if (!sim_snapshot_decode(s->data, &index, &chain) || index != s->index) {
            snprintf(ch->msg, sizeof(ch->msg), "snapshot at %llu carries a state of index %llu",
                     (unsigned long long)s->index, (unsigned long long)index);
            return ch->msg;
        }
        if (s->index < m->base_index) {
            snprintf(ch->msg, sizeof(ch->msg), "snapshot goes back from %llu to %llu",
                     (unsigned long long)m->base_index, (unsigned long long)s->index);
            return ch->msg;
        }
        if (sim_mirror_at(m, s->index, &term, &mchain) && term == s->term) {
            if (mchain != chain) {
                snprintf(ch->msg, sizeof(ch->msg),
                         "snapshot at %llu differs from the log it replaces",
                         (unsigned long long)s->index);
                return ch->msg;
            }
            mirror_compact(m, s->index);
        } else {
            sim_mirror_reset(m, s->index, s->term, chain);
        }
    }
    if (u->truncate_from) {
        if (u->truncate_from <= m->base_index) {
            snprintf(ch->msg, sizeof(ch->msg), "truncation at %llu reaches into the snapshot",
                     (unsigned long long)u->truncate_from);
            return ch->msg;
        }
        if (u->truncate_from <= sim_mirror_last(m)) {
            m->n = (size_t)(u->truncate_from - m->base_index - 1);
        }
    }
    for (size_t k = 0; k < u->n_entries; k++) {
        const char *err = sim_check_append(ch, m, &u->entries[k]);
        if (err) {
            return err;
        }
    }
    return NULL;
}

const char *sim_check_leader(struct sim_checker *ch, uint64_t id, uint64_t boot, uint64_t term,
                             const struct sim_mirror *m)
{
    SL_ASSERT(
        sl_grow_zero((void **)&ch->leaders, &ch->leaders_cap, term + 1, sizeof(*ch->leaders)) == 0);
    struct leader_slot *l = &ch->leaders[term];
    if (l->id && (l->id != id || l->boot != boot)) {
        snprintf(ch->msg, sizeof(ch->msg),
                 "election safety: term %llu has two leaders (node %llu life %llu, node %llu "
                 "life %llu)",
                 (unsigned long long)term, (unsigned long long)l->id, (unsigned long long)l->boot,
                 (unsigned long long)id, (unsigned long long)boot);
        return ch->msg;
    }
    l->id = id;
    l->boot = boot;
    uint64_t c = ch->applied_max;
    if (c == 0) {
        return NULL;
    }
    uint64_t t, chain;
    if (c > sim_mirror_last(m)) {
        snprintf(ch->msg, sizeof(ch->msg),
                 "leader completeness: node %llu leads term %llu with log up to %llu, but "
                 "index %llu is committed",
                 (unsigned long long)id, (unsigned long long)term,
                 (unsigned long long)sim_mirror_last(m), (unsigned long long)c);
        return ch->msg;
    }
    if (sim_mirror_at(m, c, &t, &chain) && chain != ch->applied[c].chain) {
        snprintf(ch->msg, sizeof(ch->msg),
                 "leader completeness: node %llu leads term %llu without the committed entry "
                 "at %llu",
                 (unsigned long long)id, (unsigned long long)term, (unsigned long long)c);
        return ch->msg;
    }
    return NULL;
}

const char *sim_check_applied(struct sim_checker *ch, uint64_t index, uint64_t term, uint64_t chain)
{
    if (index == 0) {
        return NULL;
    }
    SL_ASSERT(sl_grow_zero((void **)&ch->applied, &ch->applied_cap, index + 1,
                           sizeof(*ch->applied)) == 0);
    struct applied_slot *a = &ch->applied[index];
    if (!a->term) {
        a->term = term;
        a->chain = chain;
        if (index > ch->applied_max) {
            ch->applied_max = index;
        }
        return NULL;
    }
    if (a->chain != chain || a->term != term) {
        snprintf(ch->msg, sizeof(ch->msg),
                 "state machine safety: two nodes applied different entries at index %llu "
                 "(terms %llu and %llu)",
                 (unsigned long long)index, (unsigned long long)a->term, (unsigned long long)term);
        return ch->msg;
    }
    return NULL;
}

uint64_t sim_checker_applied_max(const struct sim_checker *ch)
{
    return ch->applied_max;
}
