/* disk.c — the durable state of one simulated member (disk.h). */
#include "disk.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

#include <string.h>

void sim_disk_init(struct sim_disk *d)
{
    memset(d, 0, sizeof(*d));
}

void sim_disk_free(struct sim_disk *d)
{
    for (size_t k = 0; k < d->n; k++) {
        sl_buf_unref(d->log[k].data);
    }
    sl_free(d->log);
    sl_buf_unref(d->snap.data);
    memset(d, 0, sizeof(*d));
}

uint64_t sim_disk_last(const struct sim_disk *d)
{
    return d->snap.index + d->n;
}

const struct sl_raft_entry *sim_disk_entry(const struct sim_disk *d, uint64_t index)
{
    if (index <= d->snap.index || index > sim_disk_last(d)) {
        return NULL;
    }
    return &d->log[index - d->snap.index - 1];
}

int sim_disk_append(struct sim_disk *d, const struct sl_raft_entry *e)
{
    if (e->index != sim_disk_last(d) + 1) {
        return SL_EINVAL;
    }
    SL_ASSERT(sl_grow((void **)&d->log, &d->cap, d->n + 1, sizeof(*d->log)) == SL_OK);
    d->log[d->n] = *e;
    d->log[d->n].data = sl_buf_ref(e->data);
    d->n++;
    return SL_OK;
}

int sim_disk_apply(struct sim_disk *d, const struct sl_raft_hard_state *hs,
                   const struct sl_raft_snapshot *snap, uint64_t truncate_from,
                   const struct sl_raft_entry *entries, size_t n)
{
    /* Check first, so that a write that does not fit changes nothing. */
    if (snap && snap->index < d->snap.index) {
        return SL_EINVAL;
    }
    uint64_t base = snap && snap->index > d->snap.index ? snap->index : d->snap.index;
    uint64_t last = snap && snap->index >= sim_disk_last(d) ? snap->index : sim_disk_last(d);
    if (truncate_from && truncate_from <= last) {
        if (truncate_from <= base) {
            return SL_EINVAL;
        }
        last = truncate_from - 1;
    }
    if (n && entries[0].index != last + 1) {
        return SL_EINVAL;
    }
    if (snap) {
        size_t drop =
            snap->index >= sim_disk_last(d) ? d->n : (size_t)(snap->index - d->snap.index);
        for (size_t k = 0; k < drop; k++) {
            sl_buf_unref(d->log[k].data);
        }
        if (drop) {
            memmove(d->log, d->log + drop, (d->n - drop) * sizeof(*d->log));
            d->n -= drop;
        }
        sl_buf_ref(snap->data);
        sl_buf_unref(d->snap.data);
        d->snap = *snap;
    }
    while (truncate_from && sim_disk_last(d) >= truncate_from) {
        sl_buf_unref(d->log[--d->n].data);
    }
    for (size_t k = 0; k < n; k++) {
        SL_ASSERT(sim_disk_append(d, &entries[k]) == SL_OK);
    }
    d->hs = *hs;
    d->writes++;
    return SL_OK;
}

int sim_disk_write(struct sim_disk *d, const struct sl_raft_update *u)
{
    return sim_disk_apply(d, &u->hard_state, u->has_snapshot ? &u->snapshot : NULL,
                          u->truncate_from, u->entries, u->n_entries);
}

static int sim_disk_read(void *ctx, uint64_t group, uint64_t lo, uint64_t hi, size_t bytes_max,
                         struct sl_raft_entry *out, size_t out_max, size_t *n_out)
{
    struct sim_disk *d = ctx;
    (void)group;
    d->reads++;
    d->read_lo = lo;
    d->read_hi = hi;
    if (d->fail) {
        return d->fail;
    }
    if (lo <= d->snap.index || lo > hi || hi > sim_disk_last(d)) {
        d->bad_reads++; /* the core asks only for durable, retained entries */
        return SL_EIO;
    }
    size_t count = 0, bytes = 0;
    for (uint64_t i = lo; i <= hi && count < out_max; i++) {
        const struct sl_raft_entry *e = sim_disk_entry(d, i);
        if (count > 0 && bytes + sl_buf_len(e->data) > bytes_max) {
            break;
        }
        out[count] = *e;
        out[count].data = sl_buf_ref(e->data);
        out[count].index += d->corrupt;
        bytes += sl_buf_len(e->data);
        count++;
    }
    *n_out = count;
    return SL_OK;
}

struct sl_raft_storage sim_disk_storage(struct sim_disk *d)
{
    struct sl_raft_storage st = {d, sim_disk_read};
    return st;
}

struct sl_raft_boot sim_disk_boot(const struct sim_disk *d)
{
    struct sl_raft_boot b;
    memset(&b, 0, sizeof(b));
    b.hard_state = d->hs;
    b.snapshot = d->snap;
    b.last_index = sim_disk_last(d);
    b.applied = d->snap.index;
    return b;
}
