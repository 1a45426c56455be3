/* log.h — the in-memory view of one group's log: the term of every retained entry and a cache
 * of the most recent entries.
 *
 * A shard's log can be far larger than memory, so the core does not keep every entry. It keeps:
 *   - the compacted prefix as (snap_index, snap_term): entries <= snap_index are gone;
 *   - the terms of all retained entries (snap_index, last] as "runs": runs[k] = first index of a
 *     term, so a term lookup is a binary search over as many runs as there were leaders;
 *   - a ring of the newest entries [last + 1 - n_cached, last] with their payload references.
 * Entries older than the cache are durable by construction (only durable entries are evicted),
 * and are read back through the caller's storage.
 *
 * Invariants (sl_raft_log_check):
 *   L1. snap_index <= last; the retained entries are exactly (snap_index, last].
 *   L2. runs cover (snap_index, last] with strictly increasing indexes and terms, runs[0].index
 *       == snap_index + 1 when the log is not empty; every term >= snap_term.
 *   L3. the cache is a suffix: cached entry k has index last + 1 - n_cached + k and the term
 *       the runs give; cache_bytes is the sum of their payload lengths plus
 *       SL_RAFT_CACHE_ENTRY_BYTES each.
 */
#ifndef SL_RAFT_LOG_H
#define SL_RAFT_LOG_H

#include "core/raft/raft.h"

struct sl_raft_term_run {
    uint64_t index; /* first index of `term` in the log */
    uint64_t term;
};

struct sl_raft_log {
    uint64_t group;
    struct sl_raft_storage storage;
    uint64_t snap_index;
    uint64_t snap_term;
    uint64_t last;
    struct sl_raft_term_run *runs;
    size_t n_runs;
    size_t cap_runs;
    struct sl_raft_entry *ring; /* capacity is a power of two (or 0) */
    size_t ring_cap;
    size_t ring_head; /* slot of the oldest cached entry */
    size_t n_cached;
    size_t cache_bytes;
};

/* Starts an empty log after a snapshot at (snap_index, snap_term). Cannot fail. */
void sl_raft_log_init(struct sl_raft_log *l, uint64_t group, const struct sl_raft_storage *st,
                      uint64_t snap_index, uint64_t snap_term);

/* Drops every cached reference and frees the arrays. */
void sl_raft_log_close(struct sl_raft_log *l);

static inline uint64_t sl_raft_log_first(const struct sl_raft_log *l)
{
    return l->snap_index + 1;
}

/* The term of `index`: snap_term at snap_index, 0 when compacted away or beyond `last`. */
uint64_t sl_raft_log_term(const struct sl_raft_log *l, uint64_t index);

/* Term of the last entry (snap_term for an empty log). */
uint64_t sl_raft_log_last_term(const struct sl_raft_log *l);

/* Makes room to append `n` more entries spanning at most `terms` terms without allocating.
 * SL_ENOMEM leaves the log as is. */
int sl_raft_log_reserve(struct sl_raft_log *l, size_t n, size_t terms);

/* Appends `e` (e->index == last + 1, e->term >= last term) and caches it, taking one new
 * reference to e->data. Call sl_raft_log_reserve first: this cannot fail. */
void sl_raft_log_append(struct sl_raft_log *l, const struct sl_raft_entry *e);

/* Records that `index` (== last + 1) has `term` without caching it (boot). SL_ENOMEM. */
int sl_raft_log_append_uncached(struct sl_raft_log *l, uint64_t index, uint64_t term);

/* Drops entries >= from (snap_index < from <= last + 1). */
void sl_raft_log_truncate(struct sl_raft_log *l, uint64_t from);

/* Drops entries <= index (snap_index < index <= last), whose term is `term`. */
void sl_raft_log_compact(struct sl_raft_log *l, uint64_t index, uint64_t term);

/* Drops every entry and restarts after a snapshot at (index, term). */
void sl_raft_log_reset(struct sl_raft_log *l, uint64_t index, uint64_t term);

/* The cached entry at `index`, or NULL when it is not cached (borrowed; valid until the log next
 * changes). */
const struct sl_raft_entry *sl_raft_log_cached(const struct sl_raft_log *l, uint64_t index);

/* Copies entries lo..hi (snap_index < lo <= hi <= last) into `out` with one new reference each,
 * from the cache or else from storage. Stops after `out_max` entries or before the payloads
 * would pass `bytes_max` (the first entry always comes). Stores the count in `*n`. Returns 0,
 * SL_ENOMEM, or the storage's error (then nothing is returned). */
int sl_raft_log_read(const struct sl_raft_log *l, uint64_t lo, uint64_t hi, size_t bytes_max,
                     struct sl_raft_entry *out, size_t out_max, size_t *n);

/* Evicts cached entries from the front while the cache holds more than `bytes_max` (payloads
 * plus SL_RAFT_CACHE_ENTRY_BYTES per entry) and the oldest cached index is <= `upto` (only
 * durable entries may be evicted); then shrinks the ring if it is mostly empty. */
void sl_raft_log_evict(struct sl_raft_log *l, uint64_t upto, size_t bytes_max);

/* First index of `term` in the retained log, 0 if the term has no retained entry. */
uint64_t sl_raft_log_term_first(const struct sl_raft_log *l, uint64_t term);

/* Last index <= `max_index` whose term is `term`, 0 if there is none in the retained log. */
uint64_t sl_raft_log_term_last(const struct sl_raft_log *l, uint64_t term, uint64_t max_index);

/* Asserts L1-L2, and L3 when `deep` (O(cached entries)). */
void sl_raft_log_check(const struct sl_raft_log *l, bool deep);

#endif
