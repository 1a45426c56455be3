/* membership.c — configuration encoding, history and quorum arithmetic (see membership.h). */
#include "core/raft/membership.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/errors.h"

#include <string.h>

#define CONFIG_HEADER_BYTES 5
#define CONFIG_MEMBER_BYTES 9

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

int sl_raft_config_validate(const struct sl_raft_config *c)
{
    if (c->n > SL_RAFT_MEMBERS_MAX) {
        return SL_EINVAL;
    }
    for (uint32_t i = 0; i < c->n; i++) {
        const struct sl_raft_member *m = &c->members[i];
        if (m->id == 0 || (m->role != SL_RAFT_VOTER && m->role != SL_RAFT_LEARNER)) {
            return SL_EINVAL;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (c->members[j].id == m->id) {
                return SL_EINVAL;
            }
        }
    }
    return SL_OK;
}

int sl_raft_config_encode(const struct sl_raft_config *c, struct sl_buf **out)
{
    SL_ASSERT(sl_raft_config_validate(c) == SL_OK);
    struct sl_buf *b = sl_buf_new(CONFIG_HEADER_BYTES + CONFIG_MEMBER_BYTES * (size_t)c->n);
    if (!b) {
        return SL_ENOMEM;
    }
    unsigned char *p = b->data;
    p[0] = SL_RAFT_CONFIG_VERSION;
    for (int i = 0; i < 4; i++) {
        p[1 + i] = (unsigned char)(c->n >> (8 * i));
    }
    p += CONFIG_HEADER_BYTES;
    for (uint32_t i = 0; i < c->n; i++, p += CONFIG_MEMBER_BYTES) {
        put_u64(p, c->members[i].id);
        p[8] = c->members[i].role;
    }
    *out = b;
    return SL_OK;
}

int sl_raft_config_decode(const void *data, size_t len, struct sl_raft_config *c)
{
    const unsigned char *p = data;
    if (len < CONFIG_HEADER_BYTES || p[0] != SL_RAFT_CONFIG_VERSION) {
        return SL_EINVAL;
    }
    uint32_t n = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
    if (n > SL_RAFT_MEMBERS_MAX || len != CONFIG_HEADER_BYTES + CONFIG_MEMBER_BYTES * (size_t)n) {
        return SL_EINVAL;
    }
    memset(c, 0, sizeof(*c));
    c->n = n;
    p += CONFIG_HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++, p += CONFIG_MEMBER_BYTES) {
        c->members[i].id = get_u64(p);
        c->members[i].role = p[8];
    }
    return sl_raft_config_validate(c);
}

const struct sl_raft_member *sl_raft_config_find(const struct sl_raft_config *c, uint64_t id)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->members[i].id == id) {
            return &c->members[i];
        }
    }
    return NULL;
}

bool sl_raft_config_is_voter(const struct sl_raft_config *c, uint64_t id)
{
    const struct sl_raft_member *m = sl_raft_config_find(c, id);
    return m && m->role == SL_RAFT_VOTER;
}

uint32_t sl_raft_config_voters(const struct sl_raft_config *c)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        v += c->members[i].role == SL_RAFT_VOTER;
    }
    return v;
}

uint32_t sl_raft_config_quorum(const struct sl_raft_config *c)
{
    return sl_raft_config_voters(c) / 2 + 1;
}

int sl_raft_history_init(struct sl_raft_config_history *h, uint64_t index,
                         const struct sl_raft_config *c)
{
    memset(h, 0, sizeof(*h));
    if (sl_raft_history_reserve(h, 1) != SL_OK) {
        return SL_ENOMEM;
    }
    h->items[0].index = index;
    h->items[0].config = *c;
    h->n = 1;
    return SL_OK;
}

void sl_raft_history_close(struct sl_raft_config_history *h)
{
    sl_free(h->items);
    memset(h, 0, sizeof(*h));
}

int sl_raft_history_reserve(struct sl_raft_config_history *h, size_t extra)
{
    return sl_grow((void **)&h->items, &h->cap, h->n + extra, sizeof(*h->items));
}

void sl_raft_history_push(struct sl_raft_config_history *h, uint64_t index,
                          const struct sl_raft_config *c)
{
    SL_ASSERT(h->n < h->cap);
    SL_ASSERT(h->n == 0 || index > h->items[h->n - 1].index);
    h->items[h->n].index = index;
    h->items[h->n].config = *c;
    h->n++;
}

bool sl_raft_history_truncate(struct sl_raft_config_history *h, uint64_t from)
{
    size_t n = h->n;
    while (h->n > 1 && h->items[h->n - 1].index >= from) {
        h->n--;
    }
    /* The first item is the configuration at the snapshot, which is never truncated. */
    SL_ASSERT(h->items[0].index < from);
    return h->n != n;
}

const struct sl_raft_config_item *sl_raft_history_at(const struct sl_raft_config_history *h,
                                                     uint64_t index)
{
    SL_ASSERT(h->n > 0 && h->items[0].index <= index);
    size_t k = h->n;
    while (h->items[k - 1].index > index) {
        k--;
    }
    return &h->items[k - 1];
}

void sl_raft_history_compact(struct sl_raft_config_history *h, uint64_t index)
{
    size_t keep_from = 0;
    while (keep_from + 1 < h->n && h->items[keep_from + 1].index <= index) {
        keep_from++;
    }
    if (keep_from) {
        memmove(h->items, h->items + keep_from, (h->n - keep_from) * sizeof(*h->items));
        h->n -= keep_from;
    }
}

void sl_raft_history_reset(struct sl_raft_config_history *h, uint64_t index,
                           const struct sl_raft_config *c)
{
    SL_ASSERT(h->cap >= 1);
    h->items[0].index = index;
    h->items[0].config = *c;
    h->n = 1;
}
