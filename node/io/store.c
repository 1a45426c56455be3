/* store.c — the node's one RocksDB (store.h; docs/storage.md is the format).
 *
 * Notes:
 *  1. A batch (struct sl_store_batch) is made without a store, but RocksDB's WriteBatch names
 *     column families by handles that belong to one open database. So a batch records its
 *     operations itself (keys inline, payloads as sl_buf references) and sl_store_write turns
 *     them into one rocksdb_writebatch_t. Payload bytes are copied once either way.
 *  2. Operations in one WriteBatch get increasing sequence numbers, so a Put after a
 *     DeleteRange covering its key survives: a truncation and the entries that replace the
 *     tail go in one batch.
 *  3. Every range we delete has an inclusive upper index. Its exclusive end key is the 16-byte
 *     key of that index followed by one 0x00 byte, which sorts after it and before the next
 *     index or group, so no "+1" can overflow.
 *  4. Opening a data directory: a creation is done in `db.creating` and renamed to `db` only
 *     once the identity is durable, so `db/CURRENT` always means a complete store. An existing
 *     store is checked (identity, format version, node id, column families) through a
 *     read-only open, which writes nothing, before the read-write open; what is refused is
 *     never rewritten.
 *  5. Two processes are kept apart by flock() on `sluiced.lock` in the data directory (flock,
 *     unlike fcntl locks, also conflicts inside one process), taken before anything is created
 *     or opened and held until sl_store_close. RocksDB's own LOCK file stays as a second line.
 */
#define _DEFAULT_SOURCE /* flock */

#include "io/store.h"

#include "io/crypto.h"

#include "core/alloc.h"
#include "core/assert.h"
#include "core/codec.h"
#include "core/crc32c.h"
#include "core/errors.h"
#include "core/raft/membership.h"

#include <openssl/crypto.h>
#include <rocksdb/c.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Column families, in the order they are opened (handles are indexed by these). */
enum { FAM_DEFAULT, FAM_LOG, FAM_HARD, FAM_META, FAM_COUNT };
static const char *const family_names[FAM_COUNT] = {"default", "log", "hard", "meta"};

/* RocksDB tuning (see docs/storage.md, "RocksDB options"). */
#define WRITE_BUFFER_BYTES  (64u << 20)
#define BLOCK_CACHE_BYTES   (64u << 20)
#define MAX_TOTAL_WAL_BYTES (256u << 20)
#define BYTES_PER_SYNC      (1u << 20)
#define INFO_LOG_FILES_KEPT 5
#define INFO_LOG_FILE_BYTES (16u << 20)
#define DIR_MODE            0750
#define LOCK_FILE_NAME      "sluiced.lock"
#define CREATING_DIR_NAME   "db.creating"

/* Value layouts (docs/storage.md). */
#define ENTRY_HEAD_BYTES  14  /* version, type, term, crc */
#define HARD_BYTES        29  /* version, term, vote, commit, crc */
#define SNAP_FIXED_BYTES  25  /* version, index, term, config length, ... crc */
#define IDENTITY_BYTES    125 /* version, node id, az, cluster id, secret, crc */
#define IDENTITY_KEY      "identity"
#define SNAP_KEY_PREFIX   "snap"
#define LOG_KEY_BYTES     16
#define LOG_END_KEY_BYTES 17 /* note 3 */
#define SNAP_KEY_BYTES    12

struct sl_store {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[FAM_COUNT];
    rocksdb_cache_t *cache;
    rocksdb_block_based_table_options_t *table;
    rocksdb_env_t *env;
    rocksdb_writeoptions_t *write_sync;
    rocksdb_writeoptions_t *write_nosync;
    rocksdb_readoptions_t *read;
    int lock_fd;
};

/* ---- keys ------------------------------------------------------------------------------- */

static void log_key(unsigned char *k, uint64_t group, uint64_t index)
{
    sl_put_u64(k, group);
    sl_put_u64(k + 8, index);
}

/* The exclusive end of a range whose last index is `index` (note 3). */
static void log_end_key(unsigned char *k, uint64_t group, uint64_t index)
{
    log_key(k, group, index);
    k[16] = 0;
}

static void snap_key(unsigned char *k, uint64_t group)
{
    memcpy(k, SNAP_KEY_PREFIX, 4);
    sl_put_u64(k + 4, group);
}

/* ---- batches ---------------------------------------------------------------------------- */

enum op_kind { OP_PUT = 1, OP_DELETE = 2, OP_DELETE_RANGE = 3 };

/* One recorded operation (note 1). A value is `head` followed by `body`'s bytes. */
struct op {
    uint8_t kind;
    uint8_t family;
    uint8_t key_len;
    uint8_t end_len;
    uint8_t head_len;
    unsigned char key[LOG_END_KEY_BYTES];
    unsigned char end[LOG_END_KEY_BYTES];
    unsigned char head[32];
    struct sl_buf *body; /* one reference, or NULL */
};

struct sl_store_batch {
    struct op *ops;
    size_t n;
    size_t cap;
    size_t bytes;
};

static size_t varint_bytes(size_t v)
{
    size_t n = 1;
    while (v >= 128) {
        v >>= 7;
        n++;
    }
    return n;
}

/* What `o` adds to a RocksDB WriteBatch: tag, family id, length-prefixed key(s) and value. */
static size_t op_bytes(const struct op *o)
{
    size_t n = 2 + varint_bytes(o->key_len) + o->key_len;
    if (o->kind == OP_DELETE_RANGE) {
        n += varint_bytes(o->end_len) + o->end_len;
    } else if (o->kind == OP_PUT) {
        size_t v = o->head_len + sl_buf_len(o->body);
        n += varint_bytes(v) + v;
    }
    return n;
}

/* Appends an operation; room must have been reserved. Takes over `body`'s reference. */
static struct op *push_op(struct sl_store_batch *b, uint8_t kind, uint8_t family,
                          const unsigned char *key, size_t key_len)
{
    SL_ASSERT(b->n < b->cap && key_len <= LOG_END_KEY_BYTES);
    struct op *o = &b->ops[b->n++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->family = family;
    o->key_len = (uint8_t)key_len;
    memcpy(o->key, key, key_len);
    return o;
}

static void account(struct sl_store_batch *b, const struct op *o)
{
    b->bytes += op_bytes(o);
}

/* Deletes log entries lo..hi (inclusive) of `group`. */
static void push_log_range(struct sl_store_batch *b, uint64_t group, uint64_t lo, uint64_t hi)
{
    unsigned char k[LOG_KEY_BYTES];
    log_key(k, group, lo);
    struct op *o = push_op(b, OP_DELETE_RANGE, FAM_LOG, k, sizeof(k));
    log_end_key(o->end, group, hi);
    o->end_len = LOG_END_KEY_BYTES;
    account(b, o);
}

static int reserve_ops(struct sl_store_batch *b, size_t extra)
{
    return sl_grow((void **)&b->ops, &b->cap, b->n + extra, sizeof(*b->ops));
}

struct sl_store_batch *sl_store_batch_new(void)
{
    return sl_calloc(1, sizeof(struct sl_store_batch));
}

void sl_store_batch_clear(struct sl_store_batch *b)
{
    for (size_t k = 0; k < b->n; k++) {
        sl_buf_unref(b->ops[k].body);
    }
    b->n = 0;
    b->bytes = 0;
}

void sl_store_batch_free(struct sl_store_batch *b)
{
    if (!b) {
        return;
    }
    sl_store_batch_clear(b);
    sl_free(b->ops);
    sl_free(b);
}

size_t sl_store_batch_bytes(const struct sl_store_batch *b)
{
    return b->n ? 12 + b->bytes : 0; /* 12: the WriteBatch header */
}

static void encode_hard(unsigned char *p, const struct sl_raft_hard_state *hs)
{
    p[0] = SL_STORE_FORMAT_VERSION;
    sl_put_u64(p + 1, hs->term);
    sl_put_u64(p + 9, hs->vote);
    sl_put_u64(p + 17, hs->commit);
    sl_put_u32(p + 25, sl_crc32c(0, p, 25));
}

static void encode_entry_head(unsigned char *p, const struct sl_raft_entry *e)
{
    p[0] = SL_STORE_FORMAT_VERSION;
    p[1] = e->type;
    sl_put_u64(p + 2, e->term);
    uint32_t crc = sl_crc32c(0, p, 10);
    crc = sl_crc32c(crc, e->data ? e->data->data : NULL, sl_buf_len(e->data));
    sl_put_u32(p + 10, crc);
}

/* The whole snapshot value in one new buffer. SL_ENOMEM, SL_EINVAL (bad configuration). */
static int encode_snapshot(const struct sl_raft_snapshot *snap, struct sl_buf **out)
{
    struct sl_buf *config = NULL;
    int rc = sl_raft_config_encode(&snap->config, &config);
    if (rc != SL_OK) {
        return rc;
    }
    size_t config_len = sl_buf_len(config), data_len = sl_buf_len(snap->data);
    struct sl_buf *v = NULL;
    if (data_len <= SL_BUF_LEN_MAX - SNAP_FIXED_BYTES - config_len) {
        v = sl_buf_new(SNAP_FIXED_BYTES + config_len + data_len);
    }
    if (!v) {
        sl_buf_unref(config);
        return SL_ENOMEM;
    }
    unsigned char *p = v->data;
    p[0] = SL_STORE_FORMAT_VERSION;
    sl_put_u64(p + 1, snap->index);
    sl_put_u64(p + 9, snap->term);
    sl_put_u32(p + 17, (uint32_t)config_len);
    memcpy(p + 21, config->data, config_len);
    if (data_len) {
        memcpy(p + 21 + config_len, snap->data->data, data_len);
    }
    size_t crc_at = 21 + config_len + data_len;
    sl_put_u32(p + crc_at, sl_crc32c(0, p, crc_at));
    sl_buf_unref(config);
    *out = v;
    return SL_OK;
}

int sl_store_batch_add_update(struct sl_store_batch *b, uint64_t group,
                              const struct sl_raft_update *u)
{
    if (u->write_id == 0) {
        return SL_OK;
    }
    /* Everything that can fail comes first, so that a failure leaves `b` as it was. */
    size_t need = (u->has_snapshot ? 2 : 0) + (u->truncate_from ? 1 : 0) + u->n_entries + 1;
    int rc = reserve_ops(b, need);
    if (rc != SL_OK) {
        return rc;
    }
    struct sl_buf *snap = NULL;
    if (u->has_snapshot) {
        rc = encode_snapshot(&u->snapshot, &snap);
        if (rc != SL_OK) {
            return rc;
        }
    }

    if (u->has_snapshot) {
        unsigned char k[SNAP_KEY_BYTES];
        snap_key(k, group);
        struct op *o = push_op(b, OP_PUT, FAM_META, k, sizeof(k));
        o->body = snap;
        account(b, o);
        push_log_range(b, group, 0, u->snapshot.index);
    }
    if (u->truncate_from) {
        push_log_range(b, group, u->truncate_from, UINT64_MAX);
    }
    for (size_t i = 0; i < u->n_entries; i++) {
        const struct sl_raft_entry *e = &u->entries[i];
        SL_ASSERT(e->index != 0);
        unsigned char k[LOG_KEY_BYTES];
        log_key(k, group, e->index);
        struct op *o = push_op(b, OP_PUT, FAM_LOG, k, sizeof(k));
        encode_entry_head(o->head, e);
        o->head_len = ENTRY_HEAD_BYTES;
        o->body = sl_buf_ref(e->data);
        account(b, o);
    }
    unsigned char k[8];
    sl_put_u64(k, group);
    struct op *o = push_op(b, OP_PUT, FAM_HARD, k, sizeof(k));
    encode_hard(o->head, &u->hard_state);
    o->head_len = HARD_BYTES;
    account(b, o);
    return SL_OK;
}

int sl_store_batch_drop_group(struct sl_store_batch *b, uint64_t group)
{
    int rc = reserve_ops(b, 3);
    if (rc != SL_OK) {
        return rc;
    }
    push_log_range(b, group, 0, UINT64_MAX);
    unsigned char k[SNAP_KEY_BYTES];
    sl_put_u64(k, group);
    account(b, push_op(b, OP_DELETE, FAM_HARD, k, 8));
    snap_key(k, group);
    account(b, push_op(b, OP_DELETE, FAM_META, k, SNAP_KEY_BYTES));
    return SL_OK;
}

int sl_store_write(struct sl_store *s, struct sl_store_batch *b, bool sync)
{
    if (b->n == 0) {
        return SL_OK;
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (size_t i = 0; i < b->n; i++) {
        const struct op *o = &b->ops[i];
        rocksdb_column_family_handle_t *cf = s->cf[o->family];
        const char *key = (const char *)o->key;
        switch (o->kind) {
        case OP_PUT:
            if (o->body) {
                const char *parts[2] = {(const char *)o->head, (const char *)o->body->data};
                size_t sizes[2] = {o->head_len, o->body->len};
                rocksdb_writebatch_putv_cf(wb, cf, 1, &key, (const size_t[]){o->key_len}, 2, parts,
                                           sizes);
            } else {
                rocksdb_writebatch_put_cf(wb, cf, key, o->key_len, (const char *)o->head,
                                          o->head_len);
            }
            break;
        case OP_DELETE:
            rocksdb_writebatch_delete_cf(wb, cf, key, o->key_len);
            break;
        case OP_DELETE_RANGE:
            rocksdb_writebatch_delete_range_cf(wb, cf, key, o->key_len, (const char *)o->end,
                                               o->end_len);
            break;
        default:
            SL_UNREACHABLE();
        }
    }
    char *rerr = NULL;
    rocksdb_write(s->db, sync ? s->write_sync : s->write_nosync, wb, &rerr);
    rocksdb_writebatch_destroy(wb);
    if (rerr) {
        rocksdb_free(rerr);
        return SL_EIO;
    }
    return SL_OK;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int decode_hard(const unsigned char *p, size_t len, struct sl_raft_hard_state *hs)
{
    if (len != HARD_BYTES || p[0] != SL_STORE_FORMAT_VERSION ||
        sl_get_u32(p + 25) != sl_crc32c(0, p, 25)) {
        return SL_ECORRUPT;
    }
    hs->term = sl_get_u64(p + 1);
    hs->vote = sl_get_u64(p + 9);
    hs->commit = sl_get_u64(p + 17);
    return SL_OK;
}

/* On success snap->data is a new reference (NULL for no data). */
static int decode_snapshot(const unsigned char *p, size_t len, struct sl_raft_snapshot *snap)
{
    if (len < SNAP_FIXED_BYTES || p[0] != SL_STORE_FORMAT_VERSION ||
        sl_get_u32(p + len - 4) != sl_crc32c(0, p, len - 4)) {
        return SL_ECORRUPT;
    }
    size_t config_len = sl_get_u32(p + 17);
    if (config_len > len - SNAP_FIXED_BYTES) {
        return SL_ECORRUPT;
    }
    memset(snap, 0, sizeof(*snap));
    if (sl_raft_config_decode(p + 21, config_len, &snap->config) != SL_OK) {
        return SL_ECORRUPT;
    }
    snap->index = sl_get_u64(p + 1);
    snap->term = sl_get_u64(p + 9);
    size_t data_len = len - SNAP_FIXED_BYTES - config_len;
    if (data_len) {
        snap->data = sl_buf_copy(p + 21 + config_len, data_len);
        if (!snap->data) {
            return SL_ENOMEM;
        }
    }
    return SL_OK;
}

/* Checks an entry value; on success points `*payload` into it. */
static int decode_entry(const unsigned char *p, size_t len, uint64_t *term, uint8_t *type,
                        const unsigned char **payload, size_t *payload_len)
{
    if (len < ENTRY_HEAD_BYTES || p[0] != SL_STORE_FORMAT_VERSION) {
        return SL_ECORRUPT;
    }
    uint32_t crc = sl_crc32c(0, p, 10);
    crc = sl_crc32c(crc, p + ENTRY_HEAD_BYTES, len - ENTRY_HEAD_BYTES);
    if (crc != sl_get_u32(p + 10)) {
        return SL_ECORRUPT;
    }
    *type = p[1];
    *term = sl_get_u64(p + 2);
    *payload = p + ENTRY_HEAD_BYTES;
    *payload_len = len - ENTRY_HEAD_BYTES;
    return SL_OK;
}

static void encode_identity(unsigned char *p, const struct sl_store_identity *id)
{
    memset(p, 0, IDENTITY_BYTES);
    p[0] = SL_STORE_FORMAT_VERSION;
    sl_put_u64(p + 1, id->node_id);
    memcpy(p + 9, id->az, strnlen(id->az, sizeof(id->az)));
    memcpy(p + 73, id->cluster_id, sizeof(id->cluster_id));
    memcpy(p + 89, id->secret, sizeof(id->secret));
    sl_put_u32(p + 121, sl_crc32c(0, p, 121));
}

/* ---- reads -------------------------------------------------------------------------------- */

/* A value read with rocksdb_get_cf: SL_OK (found), SL_ENOTFOUND or SL_EIO. Free with
 * rocksdb_free. */
static int get_value(struct sl_store *s, int family, const unsigned char *key, size_t key_len,
                     char **val, size_t *len)
{
    char *rerr = NULL;
    *val = rocksdb_get_cf(s->db, s->read, s->cf[family], (const char *)key, key_len, len, &rerr);
    if (rerr) {
        rocksdb_free(rerr);
        return SL_EIO;
    }
    return *val ? SL_OK : SL_ENOTFOUND;
}

static int iter_status(rocksdb_iterator_t *it)
{
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    if (rerr) {
        rocksdb_free(rerr);
        return SL_EIO;
    }
    return SL_OK;
}

/* The lowest and highest index of `group`'s log; *empty when it has none. */
static int log_bounds(struct sl_store *s, uint64_t group, uint64_t *first, uint64_t *last,
                      bool *empty)
{
    unsigned char lo[LOG_KEY_BYTES], hi[LOG_KEY_BYTES], end[LOG_END_KEY_BYTES];
    log_key(lo, group, 0);
    log_key(hi, group, UINT64_MAX);
    log_end_key(end, group, UINT64_MAX);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(ro, (const char *)lo, sizeof(lo));
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)end, sizeof(end));
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[FAM_LOG]);
    int rc = SL_OK;
    *first = *last = 0;
    *empty = true;
    rocksdb_iter_seek(it, (const char *)lo, sizeof(lo));
    if (rocksdb_iter_valid(it)) {
        size_t klen;
        const unsigned char *k = (const unsigned char *)rocksdb_iter_key(it, &klen);
        if (klen != LOG_KEY_BYTES) {
            rc = SL_ECORRUPT;
        } else {
            *first = sl_get_u64(k + 8);
            *empty = false;
        }
    }
    if (rc == SL_OK && !*empty) {
        rocksdb_iter_seek_for_prev(it, (const char *)hi, sizeof(hi));
        size_t klen = 0;
        const unsigned char *k =
            rocksdb_iter_valid(it) ? (const unsigned char *)rocksdb_iter_key(it, &klen) : NULL;
        if (klen != LOG_KEY_BYTES) {
            rc = iter_status(it) == SL_OK ? SL_ECORRUPT : SL_EIO;
        } else {
            *last = sl_get_u64(k + 8);
        }
    }
    if (rc == SL_OK) {
        rc = iter_status(it);
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

int sl_store_log_bounds(struct sl_store *s, uint64_t group, uint64_t *first, uint64_t *last)
{
    bool empty;
    int rc = log_bounds(s, group, first, last, &empty);
    if (rc != SL_OK) {
        *first = *last = 0;
    }
    return rc;
}

int sl_store_load_group(struct sl_store *s, uint64_t group, struct sl_raft_boot *boot)
{
    memset(boot, 0, sizeof(*boot));
    unsigned char k[SNAP_KEY_BYTES];
    char *val;
    size_t len;
    sl_put_u64(k, group);
    int rc = get_value(s, FAM_HARD, k, 8, &val, &len);
    if (rc != SL_OK) {
        return rc;
    }
    rc = decode_hard((const unsigned char *)val, len, &boot->hard_state);
    rocksdb_free(val);
    if (rc != SL_OK) {
        return rc;
    }
    snap_key(k, group);
    rc = get_value(s, FAM_META, k, SNAP_KEY_BYTES, &val, &len);
    if (rc == SL_OK) {
        rc = decode_snapshot((const unsigned char *)val, len, &boot->snapshot);
        rocksdb_free(val);
    } else if (rc == SL_ENOTFOUND) {
        rc = SL_OK; /* never compacted: index 0, term 0, no members, no data */
    }
    if (rc != SL_OK) {
        goto fail;
    }
    uint64_t first, last;
    bool empty;
    rc = log_bounds(s, group, &first, &last, &empty);
    if (rc != SL_OK) {
        goto fail;
    }
    boot->last_index = !empty && last > boot->snapshot.index ? last : boot->snapshot.index;
    boot->applied = boot->snapshot.index;
    return SL_OK;

fail:
    sl_buf_unref(boot->snapshot.data);
    memset(boot, 0, sizeof(*boot));
    return rc;
}

int sl_store_read(void *ctx, uint64_t group, uint64_t lo, uint64_t hi, size_t bytes_max,
                  struct sl_raft_entry *out, size_t out_max, size_t *n_out)
{
    struct sl_store *s = ctx;
    *n_out = 0;
    if (lo > hi || out_max == 0) {
        return SL_OK;
    }
    unsigned char start[LOG_KEY_BYTES], end[LOG_END_KEY_BYTES];
    log_key(start, group, lo);
    log_end_key(end, group, hi);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)end, sizeof(end));
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[FAM_LOG]);
    size_t n = 0, bytes = 0;
    uint64_t want = lo;
    int rc = SL_OK;
    for (rocksdb_iter_seek(it, (const char *)start, sizeof(start));
         n < out_max && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const unsigned char *k = (const unsigned char *)rocksdb_iter_key(it, &klen);
        if (klen != LOG_KEY_BYTES) {
            rc = SL_ECORRUPT;
            break;
        }
        if (sl_get_u64(k + 8) != want) {
            break; /* a gap ends the read */
        }
        const unsigned char *v = (const unsigned char *)rocksdb_iter_value(it, &vlen);
        const unsigned char *payload;
        size_t payload_len;
        struct sl_raft_entry e = {.index = want};
        rc = decode_entry(v, vlen, &e.term, &e.type, &payload, &payload_len);
        if (rc != SL_OK) {
            break;
        }
        if (n > 0 && bytes + payload_len > bytes_max) {
            break;
        }
        if (payload_len) {
            e.data = sl_buf_copy(payload, payload_len);
            if (!e.data) {
                rc = SL_ENOMEM;
                break;
            }
        }
        out[n++] = e;
        bytes += payload_len;
        if (want == hi) {
            break;
        }
        want++;
    }
    if (rc == SL_OK) {
        rc = iter_status(it);
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (rc != SL_OK) {
        for (size_t i = 0; i < n; i++) {
            sl_buf_unref(out[i].data);
            out[i].data = NULL;
        }
        return rc;
    }
    *n_out = n;
    return SL_OK;
}

int sl_store_groups(struct sl_store *s, uint64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    uint64_t *v = NULL;
    size_t count = 0, cap = 0;
    int rc = SL_OK;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->read, s->cf[FAM_HARD]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const unsigned char *k = (const unsigned char *)rocksdb_iter_key(it, &klen);
        if (klen != 8) {
            rc = SL_ECORRUPT;
            break;
        }
        rc = sl_grow((void **)&v, &cap, count + 1, sizeof(*v));
        if (rc != SL_OK) {
            break;
        }
        v[count++] = sl_get_u64(k);
    }
    if (rc == SL_OK) {
        rc = iter_status(it);
    }
    rocksdb_iter_destroy(it);
    if (rc != SL_OK || count == 0) {
        sl_free(v);
        return rc;
    }
    *ids = v;
    *n = count;
    return SL_OK;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* What sl_store_open works with: the paths it derives and where its explanation goes. */
struct opening {
    const char *dir;
    char *db;       /* dir/db */
    char *creating; /* dir/db.creating */
    char *lock;     /* dir/sluiced.lock */
    char *current;  /* dir/db/CURRENT */
    char *err;
    size_t err_len;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
say(struct opening *op, const char *fmt, ...)
{
    if (!op->err || op->err_len == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op->err, op->err_len, fmt, ap);
    va_end(ap);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = sl_malloc(a + 1 + b + 1);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* Turns a RocksDB error into a code and a sentence, and frees it. RocksDB's status strings
 * start with the status name ("Corruption: ...", "IO error: ..."). */
static int rocks_failed(struct opening *op, char *rerr, const char *doing)
{
    int rc = SL_EIO;
    if (strncmp(rerr, "Corruption", 10) == 0) {
        say(op,
            "data directory %s holds a store RocksDB reports as corrupt (%s); refusing to use it",
            op->dir, rerr);
        rc = SL_EINVAL;
    } else if (strstr(rerr, "/LOCK")) { /* RocksDB's own lock (note 5) */
        say(op, "data directory %s is in use by another sluiced (%s)", op->dir, rerr);
        rc = SL_EINUSE;
    } else if (strncmp(rerr, "Invalid argument", 16) == 0 ||
               strncmp(rerr, "Not implemented", 15) == 0) {
        say(op, "data directory %s holds a store this sluiced cannot use (%s); refusing to use it",
            op->dir, rerr);
        rc = SL_EINVAL;
    } else {
        say(op, "data directory %s: RocksDB could not %s: %s", op->dir, doing, rerr);
    }
    rocksdb_free(rerr);
    return rc;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int r = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

/* mkdir -p with DIR_MODE; every directory made is made durable in its parent. */
static int make_dirs(struct opening *op)
{
    size_t len = strlen(op->dir);
    char *p = sl_malloc(len + 1);
    if (!p) {
        return SL_ENOMEM;
    }
    memcpy(p, op->dir, len + 1);
    int rc = SL_OK;
    for (size_t i = 1; i <= len && rc == SL_OK; i++) {
        if (p[i] != '/' && p[i] != '\0') {
            continue;
        }
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, DIR_MODE) == 0) {
            char *slash = strrchr(p, '/');
            const char *parent = ".";
            if (slash == p) {
                parent = "/";
            } else if (slash) {
                *slash = '\0';
                parent = p;
            }
            if (fsync_dir(parent) != 0) {
                say(op, "data directory %s: cannot sync %s: %s", op->dir, parent, strerror(errno));
                rc = SL_EIO;
            }
            if (slash && slash != p) {
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            say(op, "data directory %s: cannot create %s: %s", op->dir, p, strerror(errno));
            rc = SL_EIO;
        }
        p[i] = c;
    }
    sl_free(p);
    return rc;
}

/* rm -r of a directory this file made (db.creating). */
static int remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        return errno == ENOENT ? 0 : -1;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        char *child = join(path, de->d_name);
        if (!child) {
            errno = ENOMEM;
            r = -1;
            break;
        }
        struct stat st;
        if (lstat(child, &st) != 0) {
            r = -1;
        } else if (S_ISDIR(st.st_mode)) {
            r = remove_tree(child);
        } else {
            r = unlink(child);
        }
        sl_free(child);
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    return r == 0 ? rmdir(path) : r;
}

enum dir_state {
    DIR_MISSING, /* create it */
    DIR_FRESH,   /* empty, or only our lock file and an unfinished creation: create */
    DIR_STORE,   /* holds db/CURRENT: open */
    DIR_REFUSED, /* anything else; `err` says why */
};

static int classify(struct opening *op, enum dir_state *state)
{
    struct stat st;
    if (stat(op->dir, &st) != 0) {
        if (errno == ENOENT) {
            *state = DIR_MISSING;
            return SL_OK;
        }
        say(op, "data directory %s cannot be examined: %s", op->dir, strerror(errno));
        return SL_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        say(op, "data directory %s is not a directory; refusing to use it", op->dir);
        *state = DIR_REFUSED;
        return SL_OK;
    }
    if (stat(op->current, &st) == 0) {
        *state = DIR_STORE;
        return SL_OK;
    }
    DIR *d = opendir(op->dir);
    if (!d) {
        say(op, "data directory %s cannot be listed: %s", op->dir, strerror(errno));
        return SL_EIO;
    }
    *state = DIR_FRESH;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strcmp(name, ".") && strcmp(name, "..") && strcmp(name, LOCK_FILE_NAME) &&
            strcmp(name, CREATING_DIR_NAME)) {
            *state = DIR_REFUSED;
            break;
        }
    }
    closedir(d);
    if (*state == DIR_REFUSED) {
        say(op,
            "data directory %s is not empty and holds no sluice store (no db/CURRENT); refusing "
            "to use it",
            op->dir);
    }
    return SL_OK;
}

/* Takes the directory's lock (note 5) and records our pid in it for the next one to name. */
static int take_lock(struct opening *op, int *fd_out)
{
    int fd = open(op->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        say(op, "data directory %s: cannot open %s: %s", op->dir, op->lock, strerror(errno));
        return SL_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            char pid[24] = "";
            ssize_t r = pread(fd, pid, sizeof(pid) - 1, 0);
            pid[r > 0 ? r : 0] = '\0';
            pid[strcspn(pid, "\n")] = '\0';
            if (pid[0]) {
                say(op, "data directory %s is in use by another sluiced (pid %s)", op->dir, pid);
            } else {
                say(op, "data directory %s is in use by another sluiced", op->dir);
            }
            close(fd);
            return SL_EINUSE;
        }
        say(op, "data directory %s: cannot lock %s: %s", op->dir, op->lock, strerror(e));
        close(fd);
        return SL_EIO;
    }
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* Only a diagnostic; the lock itself is held. */
    }
    *fd_out = fd;
    return SL_OK;
}

/* Options for the database and every family (docs/storage.md, "RocksDB options"). */
static rocksdb_options_t *make_options(struct sl_store *s, bool create, int compression)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, create);
    rocksdb_options_set_create_missing_column_families(o, create);
    rocksdb_options_set_error_if_exists(o, create);
    rocksdb_options_set_paranoid_checks(o, 1);
    rocksdb_options_set_write_buffer_size(o, WRITE_BUFFER_BYTES);
    rocksdb_options_set_max_total_wal_size(o, MAX_TOTAL_WAL_BYTES);
    rocksdb_options_set_bytes_per_sync(o, BYTES_PER_SYNC);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
    rocksdb_options_set_compression(o, compression);
    rocksdb_options_set_keep_log_file_num(o, INFO_LOG_FILES_KEPT);
    rocksdb_options_set_max_log_file_size(o, INFO_LOG_FILE_BYTES);
    rocksdb_options_set_block_based_table_factory(o, s->table);
    rocksdb_options_set_env(o, s->env);
    return o;
}

static void close_db(rocksdb_t *db, rocksdb_column_family_handle_t **cf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cf[i]) {
            rocksdb_column_family_handle_destroy(cf[i]);
            cf[i] = NULL;
        }
    }
    if (db) {
        rocksdb_close(db);
    }
}

/* Opens `path` read-write with every family. LZ4 when this RocksDB has it, else none. */
static rocksdb_t *open_rw(struct sl_store *s, const char *path, bool create, char **rerr)
{
    int compressions[] = {rocksdb_lz4_compression, rocksdb_no_compression};
    rocksdb_t *db = NULL;
    for (size_t c = 0; c < 2 && !db; c++) {
        rocksdb_options_t *o = make_options(s, create, compressions[c]);
        const rocksdb_options_t *fo[FAM_COUNT] = {o, o, o, o};
        if (*rerr) {
            rocksdb_free(*rerr);
            *rerr = NULL;
        }
        db = rocksdb_open_column_families(o, path, FAM_COUNT, family_names, fo, s->cf, rerr);
        rocksdb_options_destroy(o);
        if (!db && !(*rerr && strstr(*rerr, "not linked"))) {
            break;
        }
    }
    return db;
}

/* Reads and checks the identity in an open database. SL_EINVAL (refused), SL_EIO. */
static int check_identity(struct opening *op, rocksdb_t *db, rocksdb_column_family_handle_t *meta,
                          rocksdb_readoptions_t *ro, struct sl_store_identity *id)
{
    char *rerr = NULL;
    size_t len;
    unsigned char *v = (unsigned char *)rocksdb_get_cf(db, ro, meta, IDENTITY_KEY,
                                                       strlen(IDENTITY_KEY), &len, &rerr);
    if (rerr) {
        return rocks_failed(op, rerr, "read the node identity");
    }
    int rc = SL_EINVAL;
    if (!v) {
        say(op, "data directory %s holds a store without a node identity; refusing to use it",
            op->dir);
    } else if (len < 5 || sl_get_u32(v + len - 4) != sl_crc32c(0, v, len - 4)) {
        say(op, "data directory %s: its node identity fails its checksum; refusing to use it",
            op->dir);
    } else if (v[0] != SL_STORE_FORMAT_VERSION) {
        say(op,
            "data directory %s holds store format version %u; this sluiced reads format version "
            "%u only; refusing to use it",
            op->dir, v[0], SL_STORE_FORMAT_VERSION);
    } else if (len != IDENTITY_BYTES || memchr(v + 9, '\0', sizeof(id->az)) == NULL) {
        say(op, "data directory %s: its node identity is malformed; refusing to use it", op->dir);
    } else if (sl_get_u64(v + 1) != id->node_id) {
        say(op, "data directory %s belongs to node %llu, not node %llu", op->dir,
            (unsigned long long)sl_get_u64(v + 1), (unsigned long long)id->node_id);
    } else {
        memcpy(id->az, v + 9, sizeof(id->az));
        memcpy(id->cluster_id, v + 73, sizeof(id->cluster_id));
        memcpy(id->secret, v + 89, sizeof(id->secret));
        rc = SL_OK;
    }
    if (v) {
        OPENSSL_cleanse(v, len);
        rocksdb_free(v);
    }
    return rc;
}

/* Builds a new store in db.creating, writes the identity durably, and renames it to db. */
static int create_store(struct opening *op, struct sl_store *s, struct sl_store_identity *id)
{
    if (remove_tree(op->creating) != 0) {
        say(op, "data directory %s: cannot remove the unfinished %s: %s", op->dir, op->creating,
            strerror(errno));
        return SL_EIO;
    }
    if (mkdir(op->creating, DIR_MODE) != 0) {
        say(op, "data directory %s: cannot create %s: %s", op->dir, op->creating, strerror(errno));
        return SL_EIO;
    }
    if (sl_random_bytes(id->cluster_id, sizeof(id->cluster_id)) != 0 ||
        sl_random_bytes(id->secret, sizeof(id->secret)) != 0) {
        say(op, "data directory %s: OpenSSL could not provide random bytes for the identity",
            op->dir);
        return SL_EIO;
    }
    char *rerr = NULL;
    rocksdb_t *db = open_rw(s, op->creating, true, &rerr);
    if (!db) {
        return rocks_failed(op, rerr, "create the store");
    }
    unsigned char v[IDENTITY_BYTES];
    encode_identity(v, id);
    rocksdb_put_cf(db, s->write_sync, s->cf[FAM_META], IDENTITY_KEY, strlen(IDENTITY_KEY),
                   (const char *)v, sizeof(v), &rerr);
    OPENSSL_cleanse(v, sizeof(v));
    close_db(db, s->cf, FAM_COUNT);
    if (rerr) {
        return rocks_failed(op, rerr, "write the node identity");
    }
    if (rename(op->creating, op->db) != 0 || fsync_dir(op->dir) != 0) {
        say(op, "data directory %s: cannot move the new store into place: %s", op->dir,
            strerror(errno));
        return SL_EIO;
    }
    return SL_OK;
}

/* Checks an existing store without writing to it (note 4), then opens it read-write. */
static int open_store(struct opening *op, struct sl_store *s, struct sl_store_identity *id)
{
    char *rerr = NULL;
    size_t n_fams = 0;
    rocksdb_options_t *o = make_options(s, false, rocksdb_no_compression);
    char **fams = rocksdb_list_column_families(o, op->db, &n_fams, &rerr);
    int rc = SL_OK;
    if (rerr) {
        rc = rocks_failed(op, rerr, "list column families");
        goto done;
    }
    bool have[FAM_COUNT] = {false};
    const char *unknown = NULL;
    for (size_t i = 0; i < n_fams; i++) {
        size_t f = 0;
        while (f < FAM_COUNT && strcmp(fams[i], family_names[f]) != 0) {
            f++;
        }
        if (f < FAM_COUNT) {
            have[f] = true;
        } else if (!unknown) {
            unknown = fams[i];
        }
    }
    if (!have[FAM_META]) {
        say(op,
            "data directory %s holds a RocksDB database that is not a sluice store (no \"meta\" "
            "column family); refusing to use it",
            op->dir);
        rc = SL_EINVAL;
        goto done;
    }

    /* Read-only: the identity first, so that a store of another format version is named as
     * such even when its families differ from ours. */
    {
        const char *names[2] = {family_names[FAM_DEFAULT], family_names[FAM_META]};
        const rocksdb_options_t *fo[2] = {o, o};
        rocksdb_column_family_handle_t *cf[2] = {NULL, NULL};
        rocksdb_t *ro_db =
            rocksdb_open_for_read_only_column_families(o, op->db, 2, names, fo, cf, 0, &rerr);
        if (!ro_db) {
            rc = rocks_failed(op, rerr, "open the store read-only");
            goto done;
        }
        rc = check_identity(op, ro_db, cf[1], s->read, id);
        close_db(ro_db, cf, 2);
        if (rc != SL_OK) {
            goto done;
        }
    }
    for (size_t f = 0; f < FAM_COUNT; f++) {
        if (!have[f]) {
            say(op,
                "data directory %s holds a store without the \"%s\" column family; refusing to "
                "use it",
                op->dir, family_names[f]);
            rc = SL_EINVAL;
            goto done;
        }
    }
    if (unknown) {
        say(op,
            "data directory %s holds a store with an unknown column family \"%s\"; refusing to "
            "use it",
            op->dir, unknown);
        rc = SL_EINVAL;
        goto done;
    }

    s->db = open_rw(s, op->db, false, &rerr);
    if (!s->db) {
        rc = rocks_failed(op, rerr, "open the store");
        goto done;
    }
    rc = check_identity(op, s->db, s->cf[FAM_META], s->read, id);

done:
    if (fams) {
        rocksdb_list_column_families_destroy(fams, n_fams);
    }
    rocksdb_options_destroy(o);
    return rc;
}

static void store_free(struct sl_store *s)
{
    close_db(s->db, s->cf, FAM_COUNT);
    if (s->read) {
        rocksdb_readoptions_destroy(s->read);
    }
    if (s->write_sync) {
        rocksdb_writeoptions_destroy(s->write_sync);
    }
    if (s->write_nosync) {
        rocksdb_writeoptions_destroy(s->write_nosync);
    }
    if (s->table) {
        rocksdb_block_based_options_destroy(s->table);
    }
    if (s->cache) {
        rocksdb_cache_destroy(s->cache);
    }
    if (s->env) {
        rocksdb_env_destroy(s->env); /* the wrapper only: the default Env lives on */
    }
    if (s->lock_fd >= 0) {
        close(s->lock_fd); /* releases the flock */
    }
    sl_free(s);
}

int sl_store_open(struct sl_store **out, const char *dir, struct sl_store_identity *identity,
                  char *err, size_t err_len)
{
    *out = NULL;
    struct opening op = {.dir = dir, .err = err, .err_len = err_len};
    if (err && err_len) {
        err[0] = '\0';
    }
    if (dir[0] == '\0') {
        say(&op, "the data directory must be named (an empty path was given)");
        return SL_EINVAL;
    }
    if (identity->node_id == 0 || memchr(identity->az, '\0', sizeof(identity->az)) == NULL) {
        say(&op,
            "data directory %s: the node id must not be 0 and the AZ must be shorter than "
            "64 bytes",
            dir);
        return SL_EINVAL;
    }
    int rc = SL_ENOMEM;
    struct sl_store *s = sl_calloc(1, sizeof(*s));
    op.db = join(dir, "db");
    op.creating = join(dir, CREATING_DIR_NAME);
    op.lock = join(dir, LOCK_FILE_NAME);
    op.current = join(dir, "db/CURRENT");
    if (!s || !op.db || !op.creating || !op.lock || !op.current) {
        say(&op, "data directory %s: out of memory", dir);
        sl_free(s);
        goto free_paths;
    }
    s->lock_fd = -1;
    s->cache = rocksdb_cache_create_lru(BLOCK_CACHE_BYTES);
    s->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(s->table, s->cache);
    /* Flushes and compactions run at the lowest CPU (and compactions at idle I/O) priority, so
     * that they use what the write path leaves instead of delaying acknowledgements. */
    s->env = rocksdb_create_default_env();
    rocksdb_env_lower_thread_pool_cpu_priority(s->env);
    rocksdb_env_lower_high_priority_thread_pool_cpu_priority(s->env);
    rocksdb_env_lower_thread_pool_io_priority(s->env);
    s->write_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->write_sync, 1);
    s->write_nosync = rocksdb_writeoptions_create();
    s->read = rocksdb_readoptions_create();

    /* Look before locking, so that a directory we refuse gets no lock file; look again once
     * locked, since another process may have created the store meanwhile. */
    enum dir_state state = DIR_REFUSED;
    rc = classify(&op, &state);
    if (rc == SL_OK && state == DIR_MISSING) {
        rc = make_dirs(&op);
    }
    if (rc == SL_OK && state != DIR_REFUSED) {
        rc = take_lock(&op, &s->lock_fd);
    }
    if (rc == SL_OK && state != DIR_REFUSED) {
        rc = classify(&op, &state);
    }
    if (rc == SL_OK && state == DIR_REFUSED) {
        rc = SL_EINVAL;
    }
    if (rc == SL_OK && state != DIR_STORE) {
        rc = create_store(&op, s, identity);
    }
    if (rc == SL_OK) {
        rc = open_store(&op, s, identity);
    }
    if (rc != SL_OK) {
        store_free(s);
        goto free_paths;
    }
    *out = s;

free_paths:
    sl_free(op.db);
    sl_free(op.creating);
    sl_free(op.lock);
    sl_free(op.current);
    return rc;
}

void sl_store_close(struct sl_store *s)
{
    if (s) {
        store_free(s);
    }
}
