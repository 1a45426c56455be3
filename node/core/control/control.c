/* control.c — the controller's state machine (see control.h). */
#include "core/control/control.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/codec.h"
#include "core/errors.h"

#include <stdlib.h>
#include <string.h>

/* Command layout, version 1 (big-endian):
 *   u8 version, u8 op, u16 name_len, name, u64 created_ms, u8 mode, u8 status,
 *   u32 retention_hours, u32 shard_count, u32 shard_limit
 * Snapshot layout, version 1:
 *   u8 version, u64 next_group, u32 n_streams, then per stream:
 *   u16 name_len, name, u64 created_ms, u8 status, u8 mode, u32 retention_hours, u32 n_shards,
 *   then per shard: u32 index, u64 group, u64 start_hi, u64 start_lo, u64 end_hi, u64 end_lo,
 *   u64 created_ms */
#define CMD_FIXED_BYTES    (1 + 1 + 2 + 8 + 1 + 1 + 4 + 4 + 4)
#define SHARD_BYTES        (4 + 8 + 8 * 4 + 8)
#define STREAM_FIXED_BYTES (2 + 8 + 1 + 1 + 4 + 4)

void sl_control_init(struct sl_control *c)
{
    memset(c, 0, sizeof(*c));
    c->next_group = SL_CONTROL_GROUP + 1;
}

static void stream_free(struct sl_stream *s)
{
    if (s) {
        sl_free(s->shards);
        sl_free(s);
    }
}

void sl_control_close(struct sl_control *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        stream_free(c->streams[i]);
    }
    sl_free(c->streams);
    memset(c, 0, sizeof(*c));
}

int sl_control_cmd_encode(const struct sl_control_cmd *cmd, struct sl_buf **out)
{
    if (cmd->name_len > SL_STREAM_NAME_BYTES_MAX || cmd->op < SL_CONTROL_CREATE_STREAM ||
        cmd->op > SL_CONTROL_SET_RETENTION) {
        return SL_EINVAL;
    }
    struct sl_buf *b = sl_buf_new(CMD_FIXED_BYTES + cmd->name_len);
    if (!b) {
        return SL_ENOMEM;
    }
    unsigned char *p = b->data;
    p[0] = SL_CONTROL_FORMAT_VERSION;
    p[1] = cmd->op;
    sl_put_u16(p + 2, (uint16_t)cmd->name_len);
    memcpy(p + 4, cmd->name, cmd->name_len);
    p += 4 + cmd->name_len;
    sl_put_u64(p, cmd->created_ms);
    p[8] = cmd->mode;
    p[9] = cmd->status;
    sl_put_u32(p + 10, cmd->retention_hours);
    sl_put_u32(p + 14, cmd->shard_count);
    sl_put_u32(p + 18, cmd->shard_limit);
    *out = b;
    return 0;
}

static bool read_name(struct sl_reader *r, char *name, uint32_t *name_len)
{
    uint16_t len = sl_read_u16(r);
    const unsigned char *p = sl_read_bytes(r, len);
    if (!p || len > SL_STREAM_NAME_BYTES_MAX) {
        return false;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    *name_len = len;
    return true;
}

int sl_control_cmd_decode(const void *data, size_t len, struct sl_control_cmd *cmd)
{
    struct sl_reader r;
    sl_reader_init(&r, data, len);
    memset(cmd, 0, sizeof(*cmd));
    if (sl_read_u8(&r) != SL_CONTROL_FORMAT_VERSION) {
        return SL_ECORRUPT;
    }
    cmd->op = sl_read_u8(&r);
    if (!read_name(&r, cmd->name, &cmd->name_len)) {
        return SL_ECORRUPT;
    }
    cmd->created_ms = sl_read_u64(&r);
    cmd->mode = sl_read_u8(&r);
    cmd->status = sl_read_u8(&r);
    cmd->retention_hours = sl_read_u32(&r);
    cmd->shard_count = sl_read_u32(&r);
    cmd->shard_limit = sl_read_u32(&r);
    if (!sl_reader_done(&r) || cmd->op < SL_CONTROL_CREATE_STREAM ||
        cmd->op > SL_CONTROL_SET_RETENTION) {
        return SL_ECORRUPT;
    }
    return 0;
}

/* Binary search: the slot of `name`, or where it would go (and *found = false). */
static size_t find_slot(const struct sl_control *c, const char *name, size_t len, bool *found)
{
    size_t lo = 0, hi = c->n_streams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct sl_stream *s = c->streams[mid];
        size_t n = s->name_len < len ? s->name_len : len;
        int cmp = memcmp(s->name, name, n);
        if (cmp == 0) {
            cmp = (s->name_len > len) - (s->name_len < len);
        }
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

struct sl_stream *sl_control_find(const struct sl_control *c, const char *name, size_t len)
{
    bool found;
    size_t i = find_slot(c, name, len, &found);
    return found ? c->streams[i] : NULL;
}

size_t sl_control_after(const struct sl_control *c, const char *name, size_t len)
{
    bool found;
    size_t i = find_slot(c, name, len, &found);
    return found ? i + 1 : i;
}

uint64_t sl_control_open_shards(const struct sl_control *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->status != SL_STREAM_DELETING) {
            n += c->streams[i]->n_shards;
        }
    }
    return n;
}

uint32_t sl_control_on_demand_streams(const struct sl_control *c)
{
    uint32_t n = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        n += c->streams[i]->mode == SL_STREAM_ON_DEMAND;
    }
    return n;
}

static void *must(void *p)
{
    SL_ASSERT(p != NULL); /* a member that cannot apply must stop, not diverge */
    return p;
}

static void insert_stream(struct sl_control *c, size_t slot, struct sl_stream *s)
{
    if (c->n_streams == c->cap) {
        SL_ASSERT(sl_grow((void **)&c->streams, &c->cap, c->n_streams + 1, sizeof(*c->streams)) ==
                  0);
    }
    memmove(&c->streams[slot + 1], &c->streams[slot], (c->n_streams - slot) * sizeof(*c->streams));
    c->streams[slot] = s;
    c->n_streams++;
}

static int apply_create(struct sl_control *c, const struct sl_control_cmd *cmd,
                        struct sl_stream **stream)
{
    bool found;
    size_t slot = find_slot(c, cmd->name, cmd->name_len, &found);
    if (found) {
        return SL_EINUSE;
    }
    if (cmd->shard_count == 0 || cmd->mode > SL_STREAM_ON_DEMAND) {
        return SL_EINVAL;
    }
    if (sl_control_open_shards(c) + cmd->shard_count > cmd->shard_limit) {
        return SL_ELIMIT;
    }
    struct sl_stream *s = must(sl_calloc(1, sizeof(*s)));
    s->shards = must(sl_calloc(cmd->shard_count, sizeof(*s->shards)));
    memcpy(s->name, cmd->name, cmd->name_len);
    s->name_len = cmd->name_len;
    s->created_ms = cmd->created_ms;
    s->status = SL_STREAM_CREATING;
    s->mode = cmd->mode;
    s->retention_hours = cmd->retention_hours;
    s->n_shards = cmd->shard_count;
    for (uint32_t i = 0; i < cmd->shard_count; i++) {
        struct sl_shard_meta *m = &s->shards[i];
        m->index = i;
        m->group = c->next_group++;
        m->created_ms = cmd->created_ms;
        sl_hashkey_range(i, cmd->shard_count, &m->start, &m->end);
    }
    insert_stream(c, slot, s);
    *stream = s;
    return 0;
}

int sl_control_apply(struct sl_control *c, const struct sl_control_cmd *cmd,
                     struct sl_stream **stream)
{
    struct sl_stream *unused;
    if (!stream) {
        stream = &unused;
    }
    *stream = NULL;
    if (cmd->op == SL_CONTROL_CREATE_STREAM) {
        return apply_create(c, cmd, stream);
    }
    bool found;
    size_t slot = find_slot(c, cmd->name, cmd->name_len, &found);
    if (!found || c->streams[slot]->created_ms != cmd->created_ms) {
        return SL_ENOTFOUND;
    }
    struct sl_stream *s = c->streams[slot];
    switch (cmd->op) {
    case SL_CONTROL_SET_STATUS:
        /* The life cycle in control.h: CREATING -> ACTIVE, and anything -> DELETING. */
        if (cmd->status == SL_STREAM_DELETING ||
            (cmd->status == SL_STREAM_ACTIVE && s->status != SL_STREAM_DELETING)) {
            s->status = cmd->status;
            *stream = s;
            return 0;
        }
        return SL_EINVAL;
    case SL_CONTROL_REMOVE_STREAM:
        if (s->status != SL_STREAM_DELETING) {
            return SL_EINVAL;
        }
        memmove(&c->streams[slot], &c->streams[slot + 1],
                (c->n_streams - slot - 1) * sizeof(*c->streams));
        c->n_streams--;
        stream_free(s);
        return 0;
    case SL_CONTROL_SET_RETENTION:
        if (s->status == SL_STREAM_DELETING) {
            return SL_EINVAL;
        }
        s->retention_hours = cmd->retention_hours;
        *stream = s;
        return 0;
    default:
        return SL_EINVAL;
    }
}

static size_t snapshot_bytes(const struct sl_control *c)
{
    size_t n = 1 + 8 + 4;
    for (size_t i = 0; i < c->n_streams; i++) {
        n += STREAM_FIXED_BYTES + c->streams[i]->name_len +
             (size_t)c->streams[i]->n_shards * SHARD_BYTES;
    }
    return n;
}

static unsigned char *put_u128(unsigned char *p, sl_u128 v)
{
    sl_put_u64(p, (uint64_t)(v >> 64));
    sl_put_u64(p + 8, (uint64_t)v);
    return p + 16;
}

static sl_u128 read_u128(struct sl_reader *r)
{
    sl_u128 hi = sl_read_u64(r);
    return (hi << 64) | sl_read_u64(r);
}

int sl_control_snapshot(const struct sl_control *c, struct sl_buf **out)
{
    struct sl_buf *b = sl_buf_new(snapshot_bytes(c));
    if (!b) {
        return SL_ENOMEM;
    }
    unsigned char *p = b->data;
    *p++ = SL_CONTROL_FORMAT_VERSION;
    sl_put_u64(p, c->next_group);
    sl_put_u32(p + 8, (uint32_t)c->n_streams);
    p += 12;
    for (size_t i = 0; i < c->n_streams; i++) {
        const struct sl_stream *s = c->streams[i];
        sl_put_u16(p, (uint16_t)s->name_len);
        memcpy(p + 2, s->name, s->name_len);
        p += 2 + s->name_len;
        sl_put_u64(p, s->created_ms);
        p[8] = s->status;
        p[9] = s->mode;
        sl_put_u32(p + 10, s->retention_hours);
        sl_put_u32(p + 14, s->n_shards);
        p += 18;
        for (uint32_t k = 0; k < s->n_shards; k++) {
            const struct sl_shard_meta *m = &s->shards[k];
            sl_put_u32(p, m->index);
            sl_put_u64(p + 4, m->group);
            p = put_u128(p + 12, m->start);
            p = put_u128(p, m->end);
            sl_put_u64(p, m->created_ms);
            p += 8;
        }
    }
    SL_ASSERT((size_t)(p - b->data) == b->len);
    *out = b;
    return 0;
}

int sl_control_restore(struct sl_control *c, const void *data, size_t len)
{
    struct sl_control next;
    sl_control_init(&next);
    struct sl_reader r;
    sl_reader_init(&r, data, len);
    int rv = SL_ECORRUPT;
    if (sl_read_u8(&r) != SL_CONTROL_FORMAT_VERSION) {
        goto fail;
    }
    next.next_group = sl_read_u64(&r);
    uint32_t n = sl_read_u32(&r);
    if (r.bad || n > len) {
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct sl_stream *s = sl_calloc(1, sizeof(*s));
        if (!s) {
            rv = SL_ENOMEM;
            goto fail;
        }
        if (!read_name(&r, s->name, &s->name_len)) {
            sl_free(s);
            goto fail;
        }
        s->created_ms = sl_read_u64(&r);
        s->status = sl_read_u8(&r);
        s->mode = sl_read_u8(&r);
        s->retention_hours = sl_read_u32(&r);
        s->n_shards = sl_read_u32(&r);
        if (r.bad || (size_t)s->n_shards * SHARD_BYTES > len - r.off || s->n_shards == 0) {
            sl_free(s);
            goto fail;
        }
        s->shards = sl_calloc(s->n_shards, sizeof(*s->shards));
        if (!s->shards) {
            sl_free(s);
            rv = SL_ENOMEM;
            goto fail;
        }
        for (uint32_t k = 0; k < s->n_shards; k++) {
            struct sl_shard_meta *m = &s->shards[k];
            m->index = sl_read_u32(&r);
            m->group = sl_read_u64(&r);
            m->start = read_u128(&r);
            m->end = read_u128(&r);
            m->created_ms = sl_read_u64(&r);
        }
        bool found;
        size_t slot = find_slot(&next, s->name, s->name_len, &found);
        if (found || slot != next.n_streams) { /* names must arrive sorted and unique */
            stream_free(s);
            goto fail;
        }
        if (next.n_streams == next.cap && sl_grow((void **)&next.streams, &next.cap,
                                                  next.n_streams + 1, sizeof(*next.streams)) != 0) {
            stream_free(s);
            rv = SL_ENOMEM;
            goto fail;
        }
        next.streams[next.n_streams++] = s;
    }
    if (!sl_reader_done(&r)) {
        goto fail;
    }
    sl_control_close(c);
    *c = next;
    return 0;
fail:
    sl_control_close(&next);
    return rv;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Every shard's group id is used once. */
static void check_groups_unique(const struct sl_control *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        n += c->streams[i]->n_shards;
    }
    uint64_t *ids = sl_malloc((n + 1) * sizeof(*ids));
    SL_ASSERT(ids != NULL);
    size_t k = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        for (uint32_t j = 0; j < c->streams[i]->n_shards; j++) {
            ids[k++] = c->streams[i]->shards[j].group;
        }
    }
    qsort(ids, n, sizeof(*ids), cmp_u64);
    for (size_t i = 1; i < n; i++) {
        SL_ASSERT(ids[i - 1] != ids[i]);
    }
    sl_free(ids);
}

void sl_control_check_invariants(const struct sl_control *c)
{
    check_groups_unique(c);
    for (size_t i = 0; i < c->n_streams; i++) {
        const struct sl_stream *s = c->streams[i];
        if (i > 0) {
            const struct sl_stream *p = c->streams[i - 1];
            size_t n = p->name_len < s->name_len ? p->name_len : s->name_len;
            int cmp = memcmp(p->name, s->name, n);
            SL_ASSERT(cmp < 0 || (cmp == 0 && p->name_len < s->name_len));
        }
        SL_ASSERT(s->n_shards > 0);
        for (uint32_t k = 0; k < s->n_shards; k++) {
            const struct sl_shard_meta *m = &s->shards[k];
            SL_ASSERT(m->group > SL_CONTROL_GROUP && m->group < c->next_group);
            SL_ASSERT(m->start <= m->end);
            SL_ASSERT(k == 0 ? m->start == 0 : m->start == s->shards[k - 1].end + 1);
        }
        SL_ASSERT(s->shards[s->n_shards - 1].end == SL_U128_MAX);
    }
}
