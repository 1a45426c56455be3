/* control.c — the controller's state machine (see control.h). */
#include "core/control/control.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/codec.h"
#include "core/errors.h"

#include <stdlib.h>
#include <string.h>

/* Command layout (big-endian), version 2:
 *   u8 version, u8 op, u16 name_len, name, u64 created_ms, u8 mode, u8 status,
 *   u32 retention_hours, u32 shard_count, u32 shard_limit, u32 warm_mibps, u8 n_tags,
 *   then per tag: u16 key_len, key, u16 value_len, value
 * Version 1 ends after shard_limit. Encoding writes version 1 when the command has no tags, no
 * warm_mibps and an op version 1 knows; snapshots are version 1 when no stream has either.
 * Snapshot layout, version 2:
 *   u8 version, u64 next_group, u32 n_streams, then per stream:
 *   u16 name_len, name, u64 created_ms, u8 status, u8 mode, u32 retention_hours, u32 n_shards,
 *   then per shard: u32 index, u64 group, u64 start_hi, u64 start_lo, u64 end_hi, u64 end_lo,
 *   u64 created_ms; then u32 warm_mibps, u8 n_tags, and the tags as in a command.
 * Version 1 has no warm_mibps and no tags. */
#define CMD_V1_BYTES       (1 + 1 + 2 + 8 + 1 + 1 + 4 + 4 + 4)
#define CMD_FIXED_BYTES    (CMD_V1_BYTES + 4 + 1)
#define SHARD_BYTES        (4 + 8 + 8 * 4 + 8)
#define STREAM_FIXED_BYTES (2 + 8 + 1 + 1 + 4 + 4)
#define STREAM_V2_BYTES    (4 + 1) /* warm_mibps, n_tags */
#define TAG_FIXED_BYTES    (2 + 2)

void sl_control_init(struct sl_control *c)
{
    memset(c, 0, sizeof(*c));
    c->next_group = SL_CONTROL_GROUP + 1;
}

static void tag_free(struct sl_tag *t)
{
    sl_free((void *)t->key); /* one block: key, NUL, value, NUL */
}

static void stream_free(struct sl_stream *s)
{
    if (s) {
        for (uint32_t i = 0; i < s->n_tags; i++) {
            tag_free(&s->tags[i]);
        }
        sl_free(s->tags);
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

static bool tag_fits(const struct sl_tag *t)
{
    return t->key_len >= 1 && t->key_len <= SL_TAG_KEY_BYTES_MAX &&
           t->value_len <= SL_TAG_VALUE_BYTES_MAX;
}

static size_t tags_bytes(const struct sl_tag *tags, uint32_t n)
{
    size_t bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        bytes += TAG_FIXED_BYTES + tags[i].key_len + tags[i].value_len;
    }
    return bytes;
}

static unsigned char *put_tags(unsigned char *p, const struct sl_tag *tags, uint32_t n)
{
    *p++ = (unsigned char)n;
    for (uint32_t i = 0; i < n; i++) {
        sl_put_u16(p, tags[i].key_len);
        memcpy(p + 2, tags[i].key, tags[i].key_len);
        p += 2 + tags[i].key_len;
        sl_put_u16(p, tags[i].value_len);
        if (tags[i].value_len > 0) { /* an empty value may be NULL */
            memcpy(p + 2, tags[i].value, tags[i].value_len);
        }
        p += 2 + tags[i].value_len;
    }
    return p;
}

/* Reads n_tags and the tags into `tags` (SL_TAGS_MAX slots), pointing into the reader's bytes. */
static bool read_tags(struct sl_reader *r, struct sl_tag *tags, uint32_t *n)
{
    *n = sl_read_u8(r);
    if (*n > SL_TAGS_MAX) {
        return false;
    }
    for (uint32_t i = 0; i < *n; i++) {
        struct sl_tag *t = &tags[i];
        t->key_len = sl_read_u16(r);
        t->key = (const char *)sl_read_bytes(r, t->key_len);
        t->value_len = sl_read_u16(r);
        t->value = (const char *)sl_read_bytes(r, t->value_len);
        if (!t->key || (!t->value && t->value_len > 0) || !tag_fits(t)) {
            return false;
        }
        if (!t->value) {
            t->value = "";
        }
    }
    return !r->bad;
}

int sl_control_cmd_encode(const struct sl_control_cmd *cmd, struct sl_buf **out)
{
    if (cmd->name_len > SL_STREAM_NAME_BYTES_MAX || cmd->op < SL_CONTROL_CREATE_STREAM ||
        cmd->op > SL_CONTROL_OP_LAST || cmd->n_tags > SL_TAGS_MAX) {
        return SL_EINVAL;
    }
    for (uint32_t i = 0; i < cmd->n_tags; i++) {
        if (!tag_fits(&cmd->tags[i])) {
            return SL_EINVAL;
        }
    }
    bool v2 = cmd->op > SL_CONTROL_SET_RETENTION || cmd->n_tags > 0 || cmd->warm_mibps > 0;
    size_t bytes = v2 ? CMD_FIXED_BYTES + tags_bytes(cmd->tags, cmd->n_tags) : CMD_V1_BYTES;
    struct sl_buf *b = sl_buf_new(bytes + cmd->name_len);
    if (!b) {
        return SL_ENOMEM;
    }
    unsigned char *p = b->data;
    p[0] = v2 ? 2 : 1;
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
    p += 22;
    if (v2) {
        sl_put_u32(p, cmd->warm_mibps);
        p = put_tags(p + 4, cmd->tags, cmd->n_tags);
    }
    SL_ASSERT((size_t)(p - b->data) == b->len);
    *out = b;
    return 0;
}

void sl_control_cmd_target(struct sl_control_cmd *cmd, const struct sl_stream *s)
{
    memcpy(cmd->name, s->name, s->name_len + 1);
    cmd->name_len = s->name_len;
    cmd->created_ms = s->created_ms;
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
    uint8_t version = sl_read_u8(&r);
    if (version < 1 || version > SL_CONTROL_FORMAT_VERSION) {
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
    if (version >= 2) {
        cmd->warm_mibps = sl_read_u32(&r);
        if (!read_tags(&r, cmd->tags, &cmd->n_tags)) {
            return SL_ECORRUPT;
        }
    }
    uint8_t last = version == 1 ? SL_CONTROL_SET_RETENTION : SL_CONTROL_OP_LAST;
    if (!sl_reader_done(&r) || cmd->op < SL_CONTROL_CREATE_STREAM || cmd->op > last) {
        return SL_ECORRUPT;
    }
    return 0;
}

/* Byte order, a prefix first: how stream names and tag keys sort. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int cmp = n ? memcmp(a, b, n) : 0;
    return cmp != 0 ? cmp : (alen > blen) - (alen < blen);
}

/* The sort key of item `i` of a sorted array (streams by name, tags by key). */
typedef void (*key_of_fn)(const void *items, size_t i, const char **key, size_t *len);

/* Binary search: the slot of `key` in `n` sorted `items`, or where it would go (and *found =
 * false). */
static size_t search(const void *items, size_t n, key_of_fn key_of, const char *key, size_t len,
                     bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k;
        size_t k_len;
        key_of(items, mid, &k, &k_len);
        int cmp = bytes_cmp(k, k_len, key, len);
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

static void stream_key(const void *items, size_t i, const char **key, size_t *len)
{
    const struct sl_stream *s = ((struct sl_stream *const *)items)[i];
    *key = s->name;
    *len = s->name_len;
}

static void tag_key(const void *items, size_t i, const char **key, size_t *len)
{
    const struct sl_tag *t = &((const struct sl_tag *)items)[i];
    *key = t->key;
    *len = t->key_len;
}

static size_t find_slot(const struct sl_control *c, const char *name, size_t len, bool *found)
{
    return search(c->streams, c->n_streams, stream_key, name, len, found);
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

/* The slot of `key` among a stream's tags, or where it would go. */
static uint32_t tag_slot(const struct sl_stream *s, const char *key, size_t len, bool *found)
{
    return (uint32_t)search(s->tags, s->n_tags, tag_key, key, len, found);
}

const struct sl_tag *sl_stream_tag(const struct sl_stream *s, const char *key, size_t len)
{
    bool found;
    uint32_t i = tag_slot(s, key, len, &found);
    return found ? &s->tags[i] : NULL;
}

uint32_t sl_stream_tags_after(const struct sl_stream *s, const char *key, size_t len)
{
    bool found;
    uint32_t i = tag_slot(s, key, len, &found);
    return found ? i + 1 : i;
}

uint32_t sl_stream_tags_after_add(const struct sl_stream *s, const struct sl_tag *tags, uint32_t n)
{
    uint32_t count = s->n_tags;
    for (uint32_t i = 0; i < n; i++) {
        bool again = sl_stream_tag(s, tags[i].key, tags[i].key_len) != NULL;
        for (uint32_t k = 0; k < i && !again; k++) {
            again = bytes_cmp(tags[k].key, tags[k].key_len, tags[i].key, tags[i].key_len) == 0;
        }
        count += !again;
    }
    return count;
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

/* A tag the table owns: key and value copied into one NUL-terminated block. False when out of
 * memory. */
static bool tag_copy(const struct sl_tag *t, struct sl_tag *out)
{
    char *block = sl_malloc((size_t)t->key_len + t->value_len + 2);
    if (!block) {
        return false;
    }
    memcpy(block, t->key, t->key_len);
    block[t->key_len] = '\0';
    if (t->value_len > 0) {
        memcpy(block + t->key_len + 1, t->value, t->value_len);
    }
    block[t->key_len + 1 + t->value_len] = '\0';
    *out = (struct sl_tag){block, block + t->key_len + 1, t->key_len, t->value_len};
    return true;
}

/* ADD_TAGS on `s`: SL_ELIMIT, changing nothing, when it would pass SL_TAGS_MAX. */
static int add_tags(struct sl_stream *s, const struct sl_tag *tags, uint32_t n)
{
    if (sl_stream_tags_after_add(s, tags, n) > SL_TAGS_MAX) {
        return SL_ELIMIT;
    }
    if (!s->tags && n > 0) {
        s->tags = must(sl_calloc(SL_TAGS_MAX, sizeof(*s->tags)));
    }
    for (uint32_t i = 0; i < n; i++) {
        bool found;
        uint32_t slot = tag_slot(s, tags[i].key, tags[i].key_len, &found);
        if (found) {
            tag_free(&s->tags[slot]);
        } else {
            memmove(&s->tags[slot + 1], &s->tags[slot], (s->n_tags - slot) * sizeof(*s->tags));
            s->n_tags++;
        }
        SL_ASSERT(tag_copy(&tags[i], &s->tags[slot])); /* must not diverge, as must() */
    }
    return 0;
}

static void remove_tags(struct sl_stream *s, const struct sl_tag *tags, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        bool found;
        uint32_t slot = tag_slot(s, tags[i].key, tags[i].key_len, &found);
        if (found) {
            tag_free(&s->tags[slot]);
            memmove(&s->tags[slot], &s->tags[slot + 1], (s->n_tags - slot - 1) * sizeof(*s->tags));
            s->n_tags--;
        }
    }
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
    if (add_tags(s, cmd->tags, cmd->n_tags) != 0) {
        stream_free(s);
        return SL_ELIMIT;
    }
    s->warm_mibps = cmd->warm_mibps;
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
    default:
        break;
    }
    /* The rest change a stream's settings, which a DELETING stream no longer has. */
    if (s->status == SL_STREAM_DELETING) {
        return SL_EINVAL;
    }
    int rv = 0;
    switch (cmd->op) {
    case SL_CONTROL_SET_RETENTION:
        s->retention_hours = cmd->retention_hours;
        break;
    case SL_CONTROL_ADD_TAGS:
        rv = add_tags(s, cmd->tags, cmd->n_tags);
        break;
    case SL_CONTROL_REMOVE_TAGS:
        remove_tags(s, cmd->tags, cmd->n_tags);
        break;
    case SL_CONTROL_SET_WARM_THROUGHPUT:
        s->warm_mibps = cmd->warm_mibps;
        break;
    default:
        return SL_EINVAL;
    }
    if (rv == 0) {
        *stream = s;
    }
    return rv;
}

/* The oldest snapshot version that holds `c`: 2 once a stream has tags or a warm target. */
static unsigned snapshot_version(const struct sl_control *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->n_tags > 0 || c->streams[i]->warm_mibps > 0) {
            return 2;
        }
    }
    return 1;
}

static size_t snapshot_bytes(const struct sl_control *c, unsigned version)
{
    size_t n = 1 + 8 + 4;
    for (size_t i = 0; i < c->n_streams; i++) {
        const struct sl_stream *s = c->streams[i];
        n += STREAM_FIXED_BYTES + s->name_len + (size_t)s->n_shards * SHARD_BYTES;
        n += version >= 2 ? STREAM_V2_BYTES + tags_bytes(s->tags, s->n_tags) : 0;
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
    unsigned version = snapshot_version(c);
    struct sl_buf *b = sl_buf_new(snapshot_bytes(c, version));
    if (!b) {
        return SL_ENOMEM;
    }
    unsigned char *p = b->data;
    *p++ = (unsigned char)version;
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
        if (version >= 2) {
            sl_put_u32(p, s->warm_mibps);
            p = put_tags(p + 4, s->tags, s->n_tags);
        }
    }
    SL_ASSERT((size_t)(p - b->data) == b->len);
    *out = b;
    return 0;
}

/* A snapshot's warm_mibps and tags into `s`: 0, SL_ECORRUPT (keys not sorted and unique) or
 * SL_ENOMEM. */
static int restore_tags(struct sl_reader *r, struct sl_stream *s)
{
    struct sl_tag tags[SL_TAGS_MAX];
    uint32_t n;
    s->warm_mibps = sl_read_u32(r);
    if (!read_tags(r, tags, &n)) {
        return SL_ECORRUPT;
    }
    if (n > 0 && !(s->tags = sl_calloc(SL_TAGS_MAX, sizeof(*s->tags)))) {
        return SL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 &&
            bytes_cmp(tags[i - 1].key, tags[i - 1].key_len, tags[i].key, tags[i].key_len) >= 0) {
            return SL_ECORRUPT;
        }
        if (!tag_copy(&tags[i], &s->tags[i])) {
            return SL_ENOMEM;
        }
        s->n_tags++;
    }
    return 0;
}

int sl_control_restore(struct sl_control *c, const void *data, size_t len)
{
    struct sl_control next;
    sl_control_init(&next);
    struct sl_reader r;
    sl_reader_init(&r, data, len);
    int rv = SL_ECORRUPT;
    uint8_t version = sl_read_u8(&r);
    if (version < 1 || version > SL_CONTROL_FORMAT_VERSION) {
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
        int trv = version >= 2 ? restore_tags(&r, s) : 0;
        if (trv != 0) {
            stream_free(s);
            rv = trv;
            goto fail;
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
        SL_ASSERT(s->n_tags <= SL_TAGS_MAX);
        for (uint32_t k = 0; k < s->n_tags; k++) {
            const struct sl_tag *t = &s->tags[k];
            SL_ASSERT(tag_fits(t) && t->key[t->key_len] == '\0' && t->value[t->value_len] == '\0');
            SL_ASSERT(k == 0 || bytes_cmp(s->tags[k - 1].key, s->tags[k - 1].key_len, t->key,
                                          t->key_len) < 0);
        }
    }
}
