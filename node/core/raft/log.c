/* log.c — term runs and the entry cache of one group's log (see log.h). */
#include "core/raft/log.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

#include <string.h>

/* The smallest entry ring; it grows by doubling and shrinks back once mostly empty. */
#define SL_RAFT_RING_MIN 64

void sl_raft_log_init(struct sl_raft_log *l, uint64_t group, const struct sl_raft_storage *st,
                      uint64_t snap_index, uint64_t snap_term)
{
    memset(l, 0, sizeof(*l));
    l->group = group;
    if (st) {
        l->storage = *st;
    }
    l->snap_index = snap_index;
    l->snap_term = snap_term;
    l->last = snap_index;
}

static struct sl_raft_entry *slot(const struct sl_raft_log *l, size_t k)
{
    return &l->ring[(l->ring_head + k) & (l->ring_cap - 1)];
}

static uint64_t cache_first(const struct sl_raft_log *l)
{
    return l->last + 1 - l->n_cached;
}

static size_t cache_cost(const struct sl_raft_entry *e)
{
    return SL_RAFT_CACHE_ENTRY_BYTES + sl_buf_len(e->data);
}

static void drop_cached_front(struct sl_raft_log *l)
{
    struct sl_raft_entry *e = slot(l, 0);
    l->cache_bytes -= cache_cost(e);
    sl_buf_unref(e->data);
    e->data = NULL;
    l->ring_head = (l->ring_head + 1) & (l->ring_cap - 1);
    l->n_cached--;
}

static void drop_cached_back(struct sl_raft_log *l)
{
    struct sl_raft_entry *e = slot(l, l->n_cached - 1);
    l->cache_bytes -= cache_cost(e);
    sl_buf_unref(e->data);
    e->data = NULL;
    l->n_cached--;
}

void sl_raft_log_close(struct sl_raft_log *l)
{
    while (l->n_cached) {
        drop_cached_back(l);
    }
    sl_free(l->ring);
    sl_free(l->runs);
    memset(l, 0, sizeof(*l));
}

uint64_t sl_raft_log_term(const struct sl_raft_log *l, uint64_t index)
{
    if (index == l->snap_index) {
        return l->snap_term;
    }
    if (index < l->snap_index || index > l->last) {
        return 0;
    }
    SL_ASSERT(l->n_runs > 0);
    /* Most lookups are near the end of the log: try the last run first. */
    if (index >= l->runs[l->n_runs - 1].index) {
        return l->runs[l->n_runs - 1].term;
    }
    size_t lo = 0, hi = l->n_runs - 1; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->runs[mid].index <= index) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return l->runs[lo].term;
}

uint64_t sl_raft_log_last_term(const struct sl_raft_log *l)
{
    return l->n_runs ? l->runs[l->n_runs - 1].term : l->snap_term;
}

static int reserve_runs(struct sl_raft_log *l, size_t terms)
{
    return sl_grow((void **)&l->runs, &l->cap_runs, l->n_runs + terms, sizeof(*l->runs));
}

static void push_run(struct sl_raft_log *l, uint64_t index, uint64_t term)
{
    if (l->n_runs && l->runs[l->n_runs - 1].term == term) {
        return;
    }
    SL_ASSERT(term >= sl_raft_log_last_term(l));
    SL_ASSERT(l->n_runs < l->cap_runs);
    l->runs[l->n_runs].index = index;
    l->runs[l->n_runs].term = term;
    l->n_runs++;
}

/* Moves the cached entries into a ring of `cap` slots (a power of two >= n_cached). */
static int resize_ring(struct sl_raft_log *l, size_t cap)
{
    struct sl_raft_entry *nring = sl_malloc(cap * sizeof(*nring));
    if (!nring) {
        return SL_ENOMEM;
    }
    for (size_t k = 0; k < l->n_cached; k++) {
        nring[k] = *slot(l, k);
    }
    sl_free(l->ring);
    l->ring = nring;
    l->ring_cap = cap;
    l->ring_head = 0;
    return SL_OK;
}

static int grow_ring(struct sl_raft_log *l, size_t need)
{
    if (need <= l->ring_cap) {
        return SL_OK;
    }
    size_t ncap = l->ring_cap ? l->ring_cap : SL_RAFT_RING_MIN;
    while (ncap < need) {
        ncap *= 2;
    }
    return resize_ring(l, ncap);
}

int sl_raft_log_reserve(struct sl_raft_log *l, size_t n, size_t terms)
{
    int rc = grow_ring(l, l->n_cached + n);
    if (rc == SL_OK) {
        rc = reserve_runs(l, terms);
    }
    return rc;
}

void sl_raft_log_append(struct sl_raft_log *l, const struct sl_raft_entry *e)
{
    SL_ASSERT(e->index == l->last + 1);
    SL_ASSERT(l->n_cached < l->ring_cap);
    push_run(l, e->index, e->term);
    struct sl_raft_entry *s = slot(l, l->n_cached);
    *s = *e;
    s->data = sl_buf_ref(e->data);
    l->n_cached++;
    l->cache_bytes += cache_cost(e);
    l->last = e->index;
}

int sl_raft_log_append_uncached(struct sl_raft_log *l, uint64_t index, uint64_t term)
{
    SL_ASSERT(index == l->last + 1);
    SL_ASSERT(l->n_cached == 0);
    int rc = reserve_runs(l, 1);
    if (rc != SL_OK) {
        return rc;
    }
    push_run(l, index, term);
    l->last = index;
    return SL_OK;
}

void sl_raft_log_truncate(struct sl_raft_log *l, uint64_t from)
{
    SL_ASSERT(from > l->snap_index && from <= l->last + 1);
    while (l->n_cached && l->last >= from) {
        drop_cached_back(l);
        l->last--;
    }
    if (l->last >= from) { /* the rest is not cached */
        SL_ASSERT(l->n_cached == 0);
        l->last = from - 1;
    }
    while (l->n_runs && l->runs[l->n_runs - 1].index >= from) {
        l->n_runs--;
    }
}

void sl_raft_log_compact(struct sl_raft_log *l, uint64_t index, uint64_t term)
{
    SL_ASSERT(index > l->snap_index && index <= l->last);
    SL_ASSERT(sl_raft_log_term(l, index) == term);
    while (l->n_cached && cache_first(l) <= index) {
        drop_cached_front(l);
    }
    size_t drop = 0;
    while (drop + 1 < l->n_runs && l->runs[drop + 1].index <= index + 1) {
        drop++;
    }
    if (drop) {
        memmove(l->runs, l->runs + drop, (l->n_runs - drop) * sizeof(*l->runs));
        l->n_runs -= drop;
    }
    if (index == l->last) {
        l->n_runs = 0;
    } else if (l->runs[0].index < index + 1) {
        l->runs[0].index = index + 1;
    }
    l->snap_index = index;
    l->snap_term = term;
}

void sl_raft_log_reset(struct sl_raft_log *l, uint64_t index, uint64_t term)
{
    while (l->n_cached) {
        drop_cached_back(l);
    }
    l->n_runs = 0;
    l->snap_index = index;
    l->snap_term = term;
    l->last = index;
    l->ring_head = 0;
}

const struct sl_raft_entry *sl_raft_log_cached(const struct sl_raft_log *l, uint64_t index)
{
    if (index > l->last || index < cache_first(l) || l->n_cached == 0) {
        return NULL;
    }
    return slot(l, (size_t)(index - cache_first(l)));
}

int sl_raft_log_read(const struct sl_raft_log *l, uint64_t lo, uint64_t hi, size_t bytes_max,
                     struct sl_raft_entry *out, size_t out_max, size_t *n)
{
    SL_ASSERT(lo > l->snap_index && lo <= hi && hi <= l->last && out_max > 0);
    size_t count = 0, bytes = 0;
    uint64_t first_cached = cache_first(l);
    if (lo < first_cached) {
        if (!l->storage.read) {
            return SL_EIO;
        }
        uint64_t shi = hi < first_cached ? hi : first_cached - 1;
        int rc =
            l->storage.read(l->storage.ctx, l->group, lo, shi, bytes_max, out, out_max, &count);
        if (rc != SL_OK) {
            return rc;
        }
        int bad = count == 0 || count > out_max;
        for (size_t k = 0; k < count && !bad; k++) {
            bad = out[k].index != lo + k || out[k].term != sl_raft_log_term(l, lo + k);
            bytes += sl_buf_len(out[k].data);
        }
        if (bad) {
            for (size_t k = 0; k < count && k < out_max; k++) {
                sl_buf_unref(out[k].data);
            }
            return SL_ECORRUPT;
        }
        if (lo + count - 1 < shi || count == out_max) {
            *n = count; /* the storage stopped on a limit */
            return SL_OK;
        }
    }
    for (uint64_t i = lo + count; i <= hi && count < out_max; i++) {
        const struct sl_raft_entry *e = slot(l, (size_t)(i - first_cached));
        if (count > 0 && bytes + sl_buf_len(e->data) > bytes_max) {
            break;
        }
        out[count] = *e;
        out[count].data = sl_buf_ref(e->data);
        bytes += sl_buf_len(e->data);
        count++;
    }
    *n = count;
    return SL_OK;
}

void sl_raft_log_evict(struct sl_raft_log *l, uint64_t upto, size_t bytes_max)
{
    while (l->n_cached && l->cache_bytes > bytes_max && cache_first(l) <= upto) {
        drop_cached_front(l);
    }
    /* Give back a ring that a burst grew: shrink to twice what it holds (a failed allocation
     * just keeps the larger ring). */
    if (l->ring_cap > SL_RAFT_RING_MIN && l->n_cached * 4 <= l->ring_cap) {
        size_t ncap = l->ring_cap;
        while (ncap > SL_RAFT_RING_MIN && l->n_cached * 4 <= ncap) {
            ncap /= 2;
        }
        resize_ring(l, ncap);
    }
}

uint64_t sl_raft_log_term_first(const struct sl_raft_log *l, uint64_t term)
{
    for (size_t k = 0; k < l->n_runs; k++) {
        if (l->runs[k].term == term) {
            return l->runs[k].index;
        }
    }
    return 0;
}

uint64_t sl_raft_log_term_last(const struct sl_raft_log *l, uint64_t term, uint64_t max_index)
{
    for (size_t k = l->n_runs; k-- > 0;) {
        if (l->runs[k].term == term) {
            uint64_t end = k + 1 < l->n_runs ? l->runs[k + 1].index - 1 : l->last;
            if (l->runs[k].index > max_index) {
                return 0;
            }
            return end < max_index ? end : max_index;
        }
        if (l->runs[k].term < term) {
            return 0;
        }
    }
    return 0;
}

void sl_raft_log_check(const struct sl_raft_log *l, bool deep)
{
    SL_ASSERT(l->snap_index <= l->last);
    if (l->last == l->snap_index) {
        SL_ASSERT(l->n_runs == 0);
    } else {
        SL_ASSERT(l->n_runs > 0);
        SL_ASSERT(l->runs[0].index == l->snap_index + 1);
        SL_ASSERT(l->runs[0].term >= l->snap_term);
    }
    for (size_t k = 1; k < l->n_runs; k++) {
        SL_ASSERT(l->runs[k].index > l->runs[k - 1].index);
        SL_ASSERT(l->runs[k].term > l->runs[k - 1].term);
        SL_ASSERT(l->runs[k].index <= l->last);
    }
    SL_ASSERT(l->n_cached <= l->last - l->snap_index);
    if (!deep) {
        return;
    }
    size_t bytes = 0;
    for (size_t k = 0; k < l->n_cached; k++) {
        const struct sl_raft_entry *e = slot(l, k);
        SL_ASSERT(e->index == cache_first(l) + k);
        SL_ASSERT(e->term == sl_raft_log_term(l, e->index));
        bytes += cache_cost(e);
    }
    SL_ASSERT(bytes == l->cache_bytes);
}
