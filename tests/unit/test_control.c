/* test_control.c — the controller's state machine (node/core/control/control.h): command
 * encoding, the stream life cycle, lookups, snapshots, determinism and the invariant checker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/control/control.h"
#include "core/errors.h"
#include "core/rand.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIMIT 500 /* shard_limit of commands that are not about the limit */

/* ---- Commands ---------------------------------------------------------------------------- */

static struct sl_control_cmd cmd_of(uint8_t op, const char *name, uint64_t created_ms)
{
    struct sl_control_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    cmd.name_len = (uint32_t)strlen(name);
    assert_true(cmd.name_len <= SL_STREAM_NAME_BYTES_MAX);
    memcpy(cmd.name, name, cmd.name_len);
    cmd.created_ms = created_ms;
    return cmd;
}

static struct sl_control_cmd create_cmd(const char *name, uint64_t created_ms, uint32_t shards)
{
    struct sl_control_cmd cmd = cmd_of(SL_CONTROL_CREATE_STREAM, name, created_ms);
    cmd.mode = SL_STREAM_PROVISIONED;
    cmd.retention_hours = 24;
    cmd.shard_count = shards;
    cmd.shard_limit = LIMIT;
    return cmd;
}

static struct sl_control_cmd status_cmd(const char *name, uint64_t created_ms, uint8_t status)
{
    struct sl_control_cmd cmd = cmd_of(SL_CONTROL_SET_STATUS, name, created_ms);
    cmd.status = status;
    return cmd;
}

static struct sl_control_cmd retention_cmd(const char *name, uint64_t created_ms, uint32_t hours)
{
    struct sl_control_cmd cmd = cmd_of(SL_CONTROL_SET_RETENTION, name, created_ms);
    cmd.retention_hours = hours;
    return cmd;
}

static struct sl_control_cmd warm_cmd(const char *name, uint64_t created_ms, uint32_t mibps)
{
    struct sl_control_cmd cmd = cmd_of(SL_CONTROL_SET_WARM_THROUGHPUT, name, created_ms);
    cmd.warm_mibps = mibps;
    return cmd;
}

/* A tag of `key_len` and `value_len` bytes (they may hold NULs). */
static struct sl_tag tag_n(const char *key, size_t key_len, const char *value, size_t value_len)
{
    assert_true(key_len <= UINT16_MAX && value_len <= UINT16_MAX);
    struct sl_tag t = {key, value, (uint16_t)key_len, (uint16_t)value_len};
    return t;
}

static struct sl_tag tag(const char *key, const char *value)
{
    return tag_n(key, strlen(key), value, strlen(value));
}

static void set_tags(struct sl_control_cmd *cmd, const struct sl_tag *tags, uint32_t n)
{
    assert_true(n <= SL_TAGS_MAX);
    if (n > 0) {
        memcpy(cmd->tags, tags, n * sizeof(*tags));
    }
    cmd->n_tags = n;
}

/* ADD_TAGS or REMOVE_TAGS of `tags`, which must outlive the command. */
static struct sl_control_cmd tags_cmd(uint8_t op, const char *name, uint64_t created_ms,
                                      const struct sl_tag *tags, uint32_t n)
{
    struct sl_control_cmd cmd = cmd_of(op, name, created_ms);
    set_tags(&cmd, tags, n);
    return cmd;
}

/* Key number `i` of a pool of distinct keys "k00", "k01", ... (static storage). */
#define NUMBERED_KEYS 100
static const char *numbered_key(unsigned i)
{
    static char keys[NUMBERED_KEYS][4];
    assert_true(i < NUMBERED_KEYS);
    keys[i][0] = 'k';
    keys[i][1] = (char)('0' + i / 10);
    keys[i][2] = (char)('0' + i % 10);
    keys[i][3] = '\0';
    return keys[i];
}

/* Tags at their byte bounds: SL_TAGS_MAX distinct keys of SL_TAG_KEY_BYTES_MAX bytes, each with a
 * value of SL_TAG_VALUE_BYTES_MAX bytes, every byte value used somewhere (static storage). */
static void max_tags(struct sl_tag *tags)
{
    static char keys[SL_TAGS_MAX][SL_TAG_KEY_BYTES_MAX];
    static char values[SL_TAGS_MAX][SL_TAG_VALUE_BYTES_MAX];
    for (unsigned i = 0; i < SL_TAGS_MAX; i++) {
        for (size_t k = 0; k < SL_TAG_KEY_BYTES_MAX; k++) {
            keys[i][k] = (char)(k * 7 + 1);
        }
        keys[i][SL_TAG_KEY_BYTES_MAX - 1] = (char)(0xff - i); /* keys differ in the last byte */
        for (size_t k = 0; k < SL_TAG_VALUE_BYTES_MAX; k++) {
            values[i][k] = (char)(i + k);
        }
        tags[i] = tag_n(keys[i], SL_TAG_KEY_BYTES_MAX, values[i], SL_TAG_VALUE_BYTES_MAX);
    }
}

/* Applies `cmd` and checks the invariants afterwards, whatever the outcome. */
static int apply(struct sl_control *c, struct sl_control_cmd cmd)
{
    struct sl_stream *s = (struct sl_stream *)(uintptr_t)1; /* must be overwritten */
    int rv = sl_control_apply(c, &cmd, &s);
    sl_control_check_invariants(c);
    if (rv != 0 || cmd.op == SL_CONTROL_REMOVE_STREAM) {
        assert_null(s);
    } else {
        assert_ptr_equal(s, sl_control_find(c, cmd.name, cmd.name_len));
    }
    return rv;
}

static struct sl_stream *create(struct sl_control *c, const char *name, uint64_t created_ms,
                                uint32_t shards)
{
    assert_int_equal(apply(c, create_cmd(name, created_ms, shards)), SL_OK);
    return sl_control_find(c, name, strlen(name));
}

static int set_status(struct sl_control *c, const char *name, uint64_t created_ms, uint8_t status)
{
    return apply(c, status_cmd(name, created_ms, status));
}

static int remove_stream(struct sl_control *c, const char *name, uint64_t created_ms)
{
    return apply(c, cmd_of(SL_CONTROL_REMOVE_STREAM, name, created_ms));
}

static int add_tags(struct sl_control *c, const char *name, uint64_t created_ms,
                    const struct sl_tag *tags, uint32_t n)
{
    return apply(c, tags_cmd(SL_CONTROL_ADD_TAGS, name, created_ms, tags, n));
}

static int remove_tags(struct sl_control *c, const char *name, uint64_t created_ms,
                       const struct sl_tag *tags, uint32_t n)
{
    return apply(c, tags_cmd(SL_CONTROL_REMOVE_TAGS, name, created_ms, tags, n));
}

/* The bytes of two tags are equal (not their pointers). */
static void assert_tag_equal(const struct sl_tag *a, const struct sl_tag *b)
{
    assert_int_equal(a->key_len, b->key_len);
    assert_int_equal(a->value_len, b->value_len);
    assert_non_null(a->key);
    assert_non_null(a->value);
    assert_non_null(b->key);
    assert_non_null(b->value);
    assert_memory_equal(a->key, b->key, a->key_len);
    if (a->value_len > 0) {
        assert_memory_equal(a->value, b->value, a->value_len);
    }
}

/* `s` has exactly the tags `want`, in that order, each NUL-terminated. */
static void assert_tags_are(const struct sl_stream *s, const struct sl_tag *want, uint32_t n)
{
    assert_int_equal(s->n_tags, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_tag_equal(&s->tags[i], &want[i]);
        assert_int_equal(s->tags[i].key[s->tags[i].key_len], '\0');
        assert_int_equal(s->tags[i].value[s->tags[i].value_len], '\0');
    }
}

static void assert_cmd_equal(const struct sl_control_cmd *a, const struct sl_control_cmd *b)
{
    assert_int_equal(a->op, b->op);
    assert_int_equal(a->name_len, b->name_len);
    assert_memory_equal(a->name, b->name, a->name_len);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->retention_hours, b->retention_hours);
    assert_int_equal(a->shard_count, b->shard_count);
    assert_int_equal(a->shard_limit, b->shard_limit);
    assert_int_equal(a->warm_mibps, b->warm_mibps);
    assert_int_equal(a->n_tags, b->n_tags);
    for (uint32_t i = 0; i < a->n_tags; i++) {
        assert_tag_equal(&a->tags[i], &b->tags[i]);
    }
}

/* A few tags, not sorted, one with an empty value and some with bytes outside ASCII or NULs. */
static const struct sl_tag some_tags[] = {
    {"team", "", 4, 0},
    {"env", "prod", 3, 4},
    {"\xff\x00k", "v\x00\x80", 3, 3},
    {"e", "x", 1, 1},
};
#define N_SOME_TAGS ((uint32_t)(sizeof(some_tags) / sizeof(some_tags[0])))

/* Every op, with every field set (the encoding carries unused fields too), a name of `name_len`
 * bytes and a few tags. */
static struct sl_control_cmd full_cmd(uint8_t op, size_t name_len)
{
    struct sl_control_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = op;
    for (size_t i = 0; i < name_len; i++) {
        cmd.name[i] = (char)('a' + i % 26);
    }
    cmd.name_len = (uint32_t)name_len;
    cmd.created_ms = UINT64_C(0x0123456789abcdef);
    cmd.mode = SL_STREAM_ON_DEMAND;
    cmd.status = SL_STREAM_DELETING;
    cmd.retention_hours = UINT32_MAX;
    cmd.shard_count = 0x80000001;
    cmd.shard_limit = 0xfffffffe;
    cmd.warm_mibps = 0xfedcba98;
    set_tags(&cmd, some_tags, N_SOME_TAGS);
    return cmd;
}

/* Every op with a longest name and SL_TAGS_MAX tags at their byte bounds. */
static struct sl_control_cmd max_cmd(uint8_t op)
{
    struct sl_control_cmd cmd = full_cmd(op, SL_STREAM_NAME_BYTES_MAX);
    cmd.warm_mibps = UINT32_MAX;
    max_tags(cmd.tags);
    cmd.n_tags = SL_TAGS_MAX;
    return cmd;
}

static const uint8_t ops[] = {SL_CONTROL_CREATE_STREAM,      SL_CONTROL_SET_STATUS,
                              SL_CONTROL_REMOVE_STREAM,      SL_CONTROL_SET_RETENTION,
                              SL_CONTROL_ADD_TAGS,           SL_CONTROL_REMOVE_TAGS,
                              SL_CONTROL_SET_WARM_THROUGHPUT};
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

/* Decodes from an exact-size heap copy, so that ASan sees any read past `len`. The decoded tags
 * point into the copy, so it lives until the next call. */
static int decode_copy(const void *data, size_t len, struct sl_control_cmd *cmd)
{
    static void *copy;
    free(copy);
    copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, data, len);
    return sl_control_cmd_decode(copy, len, cmd);
}

static void test_control_cmd_roundtrips_every_op(void **state)
{
    (void)state;
    assert_int_equal(N_OPS, SL_CONTROL_OP_LAST); /* `ops` lists every op */
    const size_t name_lens[] = {0, 1, 17, SL_STREAM_NAME_BYTES_MAX};
    for (size_t i = 0; i < N_OPS; i++) {
        /* Tags at their limits. */
        struct sl_control_cmd big = max_cmd(ops[i]), big_back;
        struct sl_buf *bb = NULL;
        assert_int_equal(sl_control_cmd_encode(&big, &bb), SL_OK);
        assert_int_equal(decode_copy(bb->data, bb->len, &big_back), SL_OK);
        assert_cmd_equal(&big_back, &big);
        sl_buf_unref(bb);
        for (size_t k = 0; k < sizeof(name_lens) / sizeof(name_lens[0]); k++) {
            struct sl_control_cmd cmd = full_cmd(ops[i], name_lens[k]), back;
            struct sl_buf *b = NULL;
            assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
            assert_int_equal(decode_copy(b->data, b->len, &back), SL_OK);
            assert_cmd_equal(&back, &cmd);
            assert_int_equal(back.name[back.name_len], '\0');
            sl_buf_unref(b);
            /* All-zero fields too. */
            memset(&cmd, 0, sizeof(cmd));
            cmd.op = ops[i];
            assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
            assert_int_equal(decode_copy(b->data, b->len, &back), SL_OK);
            assert_cmd_equal(&back, &cmd);
            sl_buf_unref(b);
        }
    }
}

static void test_control_cmd_encode_refuses_long_name_and_unknown_op(void **state)
{
    (void)state;
    struct sl_buf *b = NULL;
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_CREATE_STREAM, SL_STREAM_NAME_BYTES_MAX);
    cmd.name_len = SL_STREAM_NAME_BYTES_MAX + 1;
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_EINVAL);
    const uint8_t bad_ops[] = {0, SL_CONTROL_OP_LAST + 1, 255};
    for (size_t i = 0; i < sizeof(bad_ops); i++) {
        cmd = full_cmd(bad_ops[i], 3);
        assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_EINVAL);
    }
    assert_null(b);
    /* The last op is known. */
    cmd = full_cmd(SL_CONTROL_OP_LAST, 3);
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    sl_buf_unref(b);
}

static void test_control_cmd_decode_refuses_every_truncation(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        for (size_t name_len = 0; name_len <= SL_STREAM_NAME_BYTES_MAX; name_len += 64) {
            struct sl_control_cmd cmd = full_cmd(ops[i], name_len), back;
            struct sl_buf *b = NULL;
            assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
            for (size_t len = 0; len < b->len; len++) {
                assert_int_equal(decode_copy(b->data, len, &back), SL_ECORRUPT);
            }
            sl_buf_unref(b);
        }
    }
}

static void test_control_cmd_decode_refuses_trailing_bytes(void **state)
{
    (void)state;
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_SET_STATUS, 5), back;
    struct sl_buf *b = NULL;
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    unsigned char longer[512];
    memcpy(longer, b->data, b->len);
    for (size_t extra = 1; extra < 64; extra++) {
        longer[b->len + extra - 1] = 0;
        assert_int_equal(decode_copy(longer, b->len + extra, &back), SL_ECORRUPT);
    }
    sl_buf_unref(b);
}

static void test_control_cmd_decode_refuses_unknown_version(void **state)
{
    (void)state;
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_CREATE_STREAM, 9), back;
    struct sl_buf *b = NULL;
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    assert_int_equal(b->data[0], SL_CONTROL_FORMAT_VERSION);
    unsigned char bytes[512];
    memcpy(bytes, b->data, b->len);
    for (int v = 0; v < 256; v++) {
        if (v != SL_CONTROL_FORMAT_VERSION) {
            bytes[0] = (unsigned char)v;
            assert_int_equal(decode_copy(bytes, b->len, &back), SL_ECORRUPT);
        }
    }
    sl_buf_unref(b);
}

static void test_control_cmd_decode_refuses_unknown_op(void **state)
{
    (void)state;
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_CREATE_STREAM, 9), back;
    struct sl_buf *b = NULL;
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    unsigned char bytes[512];
    memcpy(bytes, b->data, b->len);
    for (int op = 0; op < 256; op++) {
        if (op < SL_CONTROL_CREATE_STREAM || op > SL_CONTROL_OP_LAST) {
            bytes[1] = (unsigned char)op;
            assert_int_equal(decode_copy(bytes, b->len, &back), SL_ECORRUPT);
        }
    }
    sl_buf_unref(b);
}

static void test_control_cmd_decode_refuses_name_longer_than_limit(void **state)
{
    (void)state;
    /* A version-2 command laid out by hand (control.c's table) with a 129-byte name and no tags:
     * its last byte is n_tags. */
    unsigned char bytes[1 + 1 + 2 + SL_STREAM_NAME_BYTES_MAX + 1 + 8 + 1 + 1 + 4 + 4 + 4 + 4 + 1];
    memset(bytes, 'n', sizeof(bytes));
    bytes[0] = 2;
    bytes[1] = SL_CONTROL_SET_STATUS;
    sl_put_u16(bytes + 2, SL_STREAM_NAME_BYTES_MAX + 1);
    bytes[sizeof(bytes) - 1] = 0;
    struct sl_control_cmd back;
    assert_int_equal(decode_copy(bytes, sizeof(bytes), &back), SL_ECORRUPT);
    /* The same layout with a 128-byte name is a command (n_tags one byte earlier). */
    sl_put_u16(bytes + 2, SL_STREAM_NAME_BYTES_MAX);
    bytes[sizeof(bytes) - 2] = 0;
    assert_int_equal(decode_copy(bytes, sizeof(bytes) - 1, &back), SL_OK);
    assert_int_equal(back.name_len, SL_STREAM_NAME_BYTES_MAX);
    assert_int_equal(back.n_tags, 0);
}

static void test_control_cmd_decode_accepts_only_what_encode_writes(void **state)
{
    (void)state;
    struct sl_rand r;
    sl_rand_seed(&r, 21);
    unsigned char bytes[200];
    for (int i = 0; i < 200000; i++) {
        size_t len = sl_rand_below(&r, sizeof(bytes) + 1);
        for (size_t k = 0; k < len; k++) {
            bytes[k] = (unsigned char)sl_rand_next(&r);
        }
        /* Half the time a plausible header, so that later checks are reached. */
        if (i % 2 && len >= 4) {
            bytes[0] = (unsigned char)(1 + sl_rand_below(&r, SL_CONTROL_FORMAT_VERSION));
            bytes[1] = (unsigned char)(1 + sl_rand_below(&r, SL_CONTROL_OP_LAST));
            sl_put_u16(bytes + 2, (uint16_t)sl_rand_below(&r, 200));
        }
        struct sl_control_cmd cmd;
        int rv = decode_copy(bytes, len, &cmd);
        if (rv == SL_OK) {
            struct sl_buf *b = NULL;
            assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
            bool needs_v2 =
                cmd.op > SL_CONTROL_SET_RETENTION || cmd.n_tags > 0 || cmd.warm_mibps > 0;
            if (bytes[0] == 2 && !needs_v2) {
                /* Written again in the oldest version that holds it: version 1, without the
                 * zero warm_mibps and n_tags at the end. */
                assert_int_equal(b->len, len - 5);
                assert_int_equal(b->data[0], 1);
                assert_memory_equal(b->data + 1, bytes + 1, len - 6);
            } else {
                assert_int_equal(b->len, len);
                assert_memory_equal(b->data, bytes, len);
            }
            sl_buf_unref(b);
        } else {
            assert_int_equal(rv, SL_ECORRUPT);
        }
    }
}

/* Writes a command by hand from control.c's layout table: the scalar fields of `cmd`, then (from
 * version 2) warm_mibps and `n_tags` (as one byte) of `tags`, which may break any rule. */
static size_t write_cmd(unsigned char *out, size_t room, uint8_t version,
                        const struct sl_control_cmd *cmd, const struct sl_tag *tags, size_t n_tags)
{
    size_t need = 1 + 1 + 2 + cmd->name_len + 8 + 1 + 1 + 4 + 4 + 4;
    if (version >= 2) {
        need += 4 + 1;
        for (size_t i = 0; i < n_tags; i++) {
            need += 2 + tags[i].key_len + 2 + tags[i].value_len;
        }
    }
    assert_true(need <= room);
    unsigned char *p = out;
    p[0] = version;
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
    if (version >= 2) {
        sl_put_u32(p, cmd->warm_mibps);
        p[4] = (unsigned char)n_tags;
        p += 5;
        for (size_t i = 0; i < n_tags; i++) {
            sl_put_u16(p, tags[i].key_len);
            memcpy(p + 2, tags[i].key, tags[i].key_len);
            p += 2 + tags[i].key_len;
            sl_put_u16(p, tags[i].value_len);
            if (tags[i].value_len > 0) {
                memcpy(p + 2, tags[i].value, tags[i].value_len);
            }
            p += 2 + tags[i].value_len;
        }
    }
    assert_int_equal((size_t)(p - out), need);
    return need;
}

#define CMD_ROOM 100000 /* more than any command write_cmd is asked for */

static void test_control_cmd_encode_follows_the_layout_table(void **state)
{
    (void)state;
    unsigned char *bytes = malloc(CMD_ROOM);
    assert_non_null(bytes);
    for (size_t i = 0; i < N_OPS; i++) {
        const struct sl_control_cmd cmds[] = {full_cmd(ops[i], 0), full_cmd(ops[i], 77),
                                              max_cmd(ops[i])};
        for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
            size_t len = write_cmd(bytes, CMD_ROOM, 2, &cmds[k], cmds[k].tags, cmds[k].n_tags);
            struct sl_buf *b = NULL;
            assert_int_equal(sl_control_cmd_encode(&cmds[k], &b), SL_OK);
            assert_int_equal(b->len, len);
            assert_memory_equal(b->data, bytes, len);
            sl_buf_unref(b);
        }
    }
    free(bytes);
}

static void test_control_cmd_decode_takes_version_1_commands(void **state)
{
    (void)state;
    unsigned char bytes[512];
    for (uint8_t op = SL_CONTROL_CREATE_STREAM; op <= SL_CONTROL_SET_RETENTION; op++) {
        /* full_cmd sets warm_mibps and tags, which version 1 cannot carry. */
        struct sl_control_cmd cmd = full_cmd(op, 17), back;
        size_t len = write_cmd(bytes, sizeof(bytes), 1, &cmd, NULL, 0);
        assert_int_equal(len, 26 + 17);
        memset(&back, 0xa5, sizeof(back));
        assert_int_equal(decode_copy(bytes, len, &back), SL_OK);
        struct sl_control_cmd want = cmd;
        want.warm_mibps = 0;
        want.n_tags = 0;
        assert_cmd_equal(&back, &want);
        assert_int_equal(back.name[back.name_len], '\0');
        for (size_t cut = 0; cut < len; cut++) {
            assert_int_equal(decode_copy(bytes, cut, &back), SL_ECORRUPT);
        }
    }
    /* A version-1 CREATE_STREAM makes a stream with no warm target and no tags. */
    struct sl_control_cmd create1 = create_cmd("old", 5, 2), back;
    size_t len = write_cmd(bytes, sizeof(bytes), 1, &create1, NULL, 0);
    assert_int_equal(decode_copy(bytes, len, &back), SL_OK);
    struct sl_control c;
    sl_control_init(&c);
    assert_int_equal(apply(&c, back), SL_OK);
    struct sl_stream *s = sl_control_find(&c, "old", 3);
    assert_non_null(s);
    assert_int_equal(s->warm_mibps, 0);
    assert_int_equal(s->n_tags, 0);
    assert_int_equal(s->n_shards, 2);
    sl_control_close(&c);
}

static void test_control_cmd_decode_refuses_version_1_ops_added_in_version_2(void **state)
{
    (void)state;
    unsigned char bytes[512];
    struct sl_control_cmd back;
    for (int op = 0; op < 256; op++) {
        struct sl_control_cmd cmd = full_cmd((uint8_t)op, 9);
        size_t len = write_cmd(bytes, sizeof(bytes), 1, &cmd, NULL, 0);
        int want =
            op >= SL_CONTROL_CREATE_STREAM && op <= SL_CONTROL_SET_RETENTION ? SL_OK : SL_ECORRUPT;
        assert_int_equal(decode_copy(bytes, len, &back), want);
    }
    /* The same ops are commands in version 2. */
    for (uint8_t op = SL_CONTROL_SET_RETENTION + 1; op <= SL_CONTROL_OP_LAST; op++) {
        struct sl_control_cmd cmd = full_cmd(op, 9);
        size_t len = write_cmd(bytes, sizeof(bytes), 2, &cmd, cmd.tags, cmd.n_tags);
        assert_int_equal(decode_copy(bytes, len, &back), SL_OK);
        assert_cmd_equal(&back, &cmd);
    }
}

static void test_control_cmd_decode_refuses_versions_0_and_3_of_either_layout(void **state)
{
    (void)state;
    unsigned char bytes[512];
    struct sl_control_cmd back;
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_CREATE_STREAM, 9);
    const uint8_t bad[] = {0, SL_CONTROL_FORMAT_VERSION + 1};
    for (uint8_t layout = 1; layout <= 2; layout++) {
        size_t len = write_cmd(bytes, sizeof(bytes), layout, &cmd, cmd.tags, cmd.n_tags);
        assert_int_equal(decode_copy(bytes, len, &back), SL_OK);
        for (size_t i = 0; i < sizeof(bad); i++) {
            bytes[0] = bad[i];
            assert_int_equal(decode_copy(bytes, len, &back), SL_ECORRUPT);
        }
    }
    /* Nor is one layout read as the other. */
    size_t len = write_cmd(bytes, sizeof(bytes), 1, &cmd, NULL, 0);
    bytes[0] = 2;
    assert_int_equal(decode_copy(bytes, len, &back), SL_ECORRUPT);
    len = write_cmd(bytes, sizeof(bytes), 2, &cmd, cmd.tags, cmd.n_tags);
    bytes[0] = 1;
    assert_int_equal(decode_copy(bytes, len, &back), SL_ECORRUPT);
}

/* A key and a value one byte past their bounds (static storage). */
static char long_key[SL_TAG_KEY_BYTES_MAX + 1];
static char long_value[SL_TAG_VALUE_BYTES_MAX + 1];

static void fill_long_tag_bytes(void)
{
    memset(long_key, 'K', sizeof(long_key));
    memset(long_value, 'V', sizeof(long_value));
}

static void test_control_cmd_encode_refuses_too_many_tags_empty_keys_and_long_tags(void **state)
{
    (void)state;
    fill_long_tag_bytes();
    struct sl_buf *b = NULL;
    for (size_t i = 0; i < N_OPS; i++) {
        struct sl_control_cmd cmd = max_cmd(ops[i]);
        cmd.n_tags = SL_TAGS_MAX + 1;
        assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_EINVAL);
        cmd.n_tags = 255;
        assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_EINVAL);
        /* Any one tag bad, first, in the middle or last. */
        const uint32_t at[] = {0, SL_TAGS_MAX / 2, SL_TAGS_MAX - 1};
        for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
            const struct sl_tag bad[] = {
                tag_n("", 0, "v", 1),
                tag_n(NULL, 0, "v", 1),
                tag_n(long_key, SL_TAG_KEY_BYTES_MAX + 1, "v", 1),
                tag_n("k", 1, long_value, SL_TAG_VALUE_BYTES_MAX + 1),
                tag_n(long_key, UINT16_MAX, "v", 1),
            };
            for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
                /* The last is longer than long_key: refused before any byte is read. */
                cmd = max_cmd(ops[i]);
                cmd.tags[at[k]] = bad[j];
                assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_EINVAL);
            }
        }
    }
    assert_null(b);
    /* Right at the bounds is fine, and so is an empty value. */
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_ADD_TAGS, 3);
    const struct sl_tag edge[] = {tag_n(long_key, SL_TAG_KEY_BYTES_MAX, "", 0),
                                  tag_n("k", 1, long_value, SL_TAG_VALUE_BYTES_MAX)};
    set_tags(&cmd, edge, 2);
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    sl_buf_unref(b);
}

/* Decodes the hand-built ADD_TAGS command carrying `tags`. */
static int decode_with_tags(const struct sl_tag *tags, size_t n, struct sl_control_cmd *back)
{
    unsigned char *bytes = malloc(CMD_ROOM);
    assert_non_null(bytes);
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_ADD_TAGS, 5);
    size_t len = write_cmd(bytes, CMD_ROOM, 2, &cmd, tags, n);
    int rv = decode_copy(bytes, len, back);
    free(bytes);
    return rv;
}

static void test_control_cmd_decode_refuses_too_many_tags_empty_keys_and_long_tags(void **state)
{
    (void)state;
    fill_long_tag_bytes();
    struct sl_control_cmd back;
    struct sl_tag tags[SL_TAGS_MAX + 1];
    for (unsigned i = 0; i <= SL_TAGS_MAX; i++) {
        tags[i] = tag(numbered_key(i), "v");
    }
    assert_int_equal(decode_with_tags(tags, SL_TAGS_MAX, &back), SL_OK);
    assert_int_equal(back.n_tags, SL_TAGS_MAX);
    assert_int_equal(decode_with_tags(tags, SL_TAGS_MAX + 1, &back), SL_ECORRUPT);
    /* n_tags far beyond the tags that follow, and beyond what fits in the command. */
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_ADD_TAGS, 5);
    unsigned char bytes[512];
    size_t len = write_cmd(bytes, sizeof(bytes), 2, &cmd, NULL, 0);
    for (int n = SL_TAGS_MAX + 1; n < 256; n++) {
        bytes[len - 1] = (unsigned char)n;
        assert_int_equal(decode_copy(bytes, len, &back), SL_ECORRUPT);
    }
    /* One bad tag among good ones, first, in the middle or last. */
    const struct sl_tag bad[] = {
        tag_n("", 0, "v", 1),
        tag_n("", 0, "", 0),
        tag_n(long_key, SL_TAG_KEY_BYTES_MAX + 1, "v", 1),
        tag_n("k", 1, long_value, SL_TAG_VALUE_BYTES_MAX + 1),
    };
    const uint32_t at[] = {0, 7, SL_TAGS_MAX - 1};
    for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
        for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
            struct sl_tag with_bad[SL_TAGS_MAX];
            memcpy(with_bad, tags, sizeof(with_bad));
            with_bad[at[k]] = bad[j];
            assert_int_equal(decode_with_tags(with_bad, SL_TAGS_MAX, &back), SL_ECORRUPT);
        }
    }
    /* Right at the bounds is a command; an empty value decodes as "". */
    const struct sl_tag edge[] = {tag_n(long_key, SL_TAG_KEY_BYTES_MAX, "", 0),
                                  tag_n("k", 1, long_value, SL_TAG_VALUE_BYTES_MAX)};
    assert_int_equal(decode_with_tags(edge, 2, &back), SL_OK);
    assert_int_equal(back.n_tags, 2);
    assert_int_equal(back.tags[0].key_len, SL_TAG_KEY_BYTES_MAX);
    assert_int_equal(back.tags[0].value_len, 0);
    assert_non_null(back.tags[0].value);
    assert_int_equal(back.tags[1].value_len, SL_TAG_VALUE_BYTES_MAX);
}

static void test_control_cmd_decode_refuses_every_truncation_of_tags(void **state)
{
    (void)state;
    /* Every size of key and value, empty values among them, and one tag at both bounds. */
    fill_long_tag_bytes();
    struct sl_control_cmd cmd = full_cmd(SL_CONTROL_CREATE_STREAM, 9), back;
    for (unsigned i = 0; i < SL_TAGS_MAX - 1; i++) {
        cmd.tags[i] = tag_n(long_key, 1 + i, long_value, i % 3 == 0 ? 0 : 2 * i);
    }
    cmd.tags[SL_TAGS_MAX - 1] =
        tag_n(long_key, SL_TAG_KEY_BYTES_MAX, long_value, SL_TAG_VALUE_BYTES_MAX);
    cmd.n_tags = SL_TAGS_MAX;
    struct sl_buf *b = NULL;
    assert_int_equal(sl_control_cmd_encode(&cmd, &b), SL_OK);
    assert_int_equal(decode_copy(b->data, b->len, &back), SL_OK);
    assert_cmd_equal(&back, &cmd);
    for (size_t len = 0; len < b->len; len++) {
        assert_int_equal(decode_copy(b->data, len, &back), SL_ECORRUPT);
    }
    sl_buf_unref(b);
}

/* ---- Snapshots and table comparison ------------------------------------------------------ */

static struct sl_buf *snapshot_of(const struct sl_control *c)
{
    struct sl_buf *b = NULL;
    assert_int_equal(sl_control_snapshot(c, &b), SL_OK);
    assert_non_null(b);
    return b;
}

static void assert_tables_equal(const struct sl_control *a, const struct sl_control *b)
{
    assert_int_equal(a->next_group, b->next_group);
    assert_int_equal(a->n_streams, b->n_streams);
    for (size_t i = 0; i < a->n_streams; i++) {
        const struct sl_stream *x = a->streams[i], *y = b->streams[i];
        assert_int_equal(x->name_len, y->name_len);
        assert_memory_equal(x->name, y->name, x->name_len + 1); /* with the NUL */
        assert_int_equal(x->created_ms, y->created_ms);
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->mode, y->mode);
        assert_int_equal(x->retention_hours, y->retention_hours);
        assert_int_equal(x->n_shards, y->n_shards);
        for (uint32_t k = 0; k < x->n_shards; k++) {
            const struct sl_shard_meta *m = &x->shards[k], *n = &y->shards[k];
            assert_int_equal(m->index, n->index);
            assert_int_equal(m->group, n->group);
            assert_true(m->start == n->start);
            assert_true(m->end == n->end);
            assert_int_equal(m->created_ms, n->created_ms);
        }
        assert_int_equal(x->warm_mibps, y->warm_mibps);
        assert_tags_are(x, y->tags, y->n_tags);
    }
}

/* Snapshots `c` and compares the bytes with `want`. */
static void assert_snapshot_is(const struct sl_control *c, const struct sl_buf *want)
{
    struct sl_buf *b = snapshot_of(c);
    assert_int_equal(b->len, want->len);
    assert_memory_equal(b->data, want->data, b->len);
    sl_buf_unref(b);
}

/* Restores from an exact-size heap copy, so that ASan sees any read past `len`. */
static int restore_copy(struct sl_control *c, const void *data, size_t len)
{
    void *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, data, len);
    int rv = sl_control_restore(c, copy, len);
    free(copy);
    return rv;
}

/* A table exercising every field: modes, statuses, retention, several shard counts, a removed
 * stream (so group ids have a gap), names that are prefixes of each other, warm targets and tags
 * (keys that are prefixes of each other, empty values, bytes outside ASCII). */
static void build_varied_table(struct sl_control *c)
{
    sl_control_init(c);
    create(c, "orders", 1000, 4);
    create(c, "a", 2000, 1);
    struct sl_control_cmd cmd = create_cmd("a.b", 3000, 3);
    cmd.mode = SL_STREAM_ON_DEMAND;
    cmd.retention_hours = 168;
    cmd.warm_mibps = 10;
    const struct sl_tag ab_tags[] = {tag("z", "1"), tag("a", "2"), tag("a.b", "3"), tag("ab", ""),
                                     tag("\xc3\xa9t\xc3\xa9", "\xe2\x82\xac")};
    set_tags(&cmd, ab_tags, 5);
    assert_int_equal(apply(c, cmd), SL_OK);
    create(c, "gone", 4000, 2);
    const struct sl_tag gone_tags[] = {tag("gone", "yes")};
    assert_int_equal(add_tags(c, "gone", 4000, gone_tags, 1), SL_OK);
    create(c, "ab", 5000, 7);
    const struct sl_tag env[] = {tag("env", "prod"), tag("team", "")};
    assert_int_equal(add_tags(c, "orders", 1000, env, 2), SL_OK);
    assert_int_equal(add_tags(c, "ab", 5000, env, 1), SL_OK);
    assert_int_equal(apply(c, warm_cmd("orders", 1000, 40)), SL_OK);
    assert_int_equal(set_status(c, "gone", 4000, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(c, "gone", 4000), SL_OK);
    assert_int_equal(set_status(c, "orders", 1000, SL_STREAM_ACTIVE), SL_OK);
    assert_int_equal(set_status(c, "ab", 5000, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(apply(c, retention_cmd("a", 2000, 8760)), SL_OK);
    create(c, "z", UINT64_MAX, 1);
}

/* Tags in the whole table. */
static uint32_t table_tags(const struct sl_control *c)
{
    uint32_t n = 0;
    for (size_t i = 0; i < c->n_streams; i++) {
        n += c->streams[i]->n_tags;
    }
    return n;
}

/* ---- CREATE_STREAM ----------------------------------------------------------------------- */

static void assert_shards_tile(const struct sl_stream *s)
{
    for (uint32_t k = 0; k < s->n_shards; k++) {
        const struct sl_shard_meta *m = &s->shards[k];
        sl_u128 start, end;
        sl_hashkey_range(k, s->n_shards, &start, &end);
        assert_int_equal(m->index, k);
        assert_true(m->start == start);
        assert_true(m->end == end);
        assert_true(m->start == (k == 0 ? 0 : s->shards[k - 1].end + 1));
        assert_int_equal(m->created_ms, s->created_ms);
    }
    assert_true(s->shards[s->n_shards - 1].end == SL_U128_MAX);
}

static void test_control_init_is_empty_with_first_shard_group_after_controller(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    assert_int_equal(c.n_streams, 0);
    assert_int_equal(c.next_group, SL_CONTROL_GROUP + 1);
    assert_null(sl_control_find(&c, "a", 1));
    assert_int_equal(sl_control_after(&c, "a", 1), 0);
    assert_int_equal(sl_control_open_shards(&c), 0);
    assert_int_equal(sl_control_on_demand_streams(&c), 0);
    sl_control_check_invariants(&c);
    sl_control_close(&c);
}

static void test_control_create_makes_creating_stream_with_tiling_shards(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("orders", 1700000000123, 5);
    cmd.mode = SL_STREAM_ON_DEMAND;
    cmd.retention_hours = 48;
    assert_int_equal(apply(&c, cmd), SL_OK);
    struct sl_stream *s = sl_control_find(&c, "orders", 6);
    assert_non_null(s);
    assert_string_equal(s->name, "orders");
    assert_int_equal(s->name_len, 6);
    assert_int_equal(s->created_ms, 1700000000123);
    assert_int_equal(s->status, SL_STREAM_CREATING);
    assert_int_equal(s->mode, SL_STREAM_ON_DEMAND);
    assert_int_equal(s->retention_hours, 48);
    assert_int_equal(s->n_shards, 5);
    assert_shards_tile(s);
    sl_control_close(&c);
}

static void test_control_create_gives_shards_consecutive_groups_from_next_group(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_stream *s = create(&c, "b", 1, 3);
    for (uint32_t k = 0; k < 3; k++) {
        assert_int_equal(s->shards[k].group, SL_CONTROL_GROUP + 1 + k);
    }
    assert_int_equal(c.next_group, SL_CONTROL_GROUP + 4);
    /* A later stream continues from there, whatever its name's place in the table. */
    s = create(&c, "a", 2, 2);
    assert_int_equal(s->shards[0].group, SL_CONTROL_GROUP + 4);
    assert_int_equal(s->shards[1].group, SL_CONTROL_GROUP + 5);
    assert_int_equal(c.next_group, SL_CONTROL_GROUP + 6);
    /* Group ids are never reused, not even after a removal. */
    assert_int_equal(set_status(&c, "a", 2, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(&c, "a", 2), SL_OK);
    s = create(&c, "a", 3, 1);
    assert_int_equal(s->shards[0].group, SL_CONTROL_GROUP + 6);
    assert_int_equal(c.next_group, SL_CONTROL_GROUP + 7);
    sl_control_close(&c);
}

static void test_control_create_of_existing_name_is_in_use_and_changes_nothing(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    struct sl_buf *before = snapshot_of(&c);
    assert_int_equal(apply(&c, create_cmd("orders", 1000, 2)), SL_EINUSE); /* same incarnation */
    assert_int_equal(apply(&c, create_cmd("orders", 9999, 1)), SL_EINUSE); /* a new one */
    assert_int_equal(apply(&c, create_cmd("ab", 9999, 1)), SL_EINUSE);     /* DELETING */
    assert_int_equal(apply(&c, create_cmd("a", 9999, 1)), SL_EINUSE);      /* a prefix of others */
    assert_snapshot_is(&c, before);
    sl_buf_unref(before);
    sl_control_close(&c);
}

static void test_control_create_past_shard_limit_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("a", 1, 6);
    cmd.shard_limit = 10;
    assert_int_equal(apply(&c, cmd), SL_OK);
    struct sl_buf *before = snapshot_of(&c);
    cmd = create_cmd("b", 2, 5);
    cmd.shard_limit = 10;
    assert_int_equal(apply(&c, cmd), SL_ELIMIT);
    assert_snapshot_is(&c, before);
    /* Exactly at the limit is allowed. */
    cmd.shard_count = 4;
    assert_int_equal(apply(&c, cmd), SL_OK);
    assert_int_equal(sl_control_open_shards(&c), 10);
    cmd = create_cmd("c", 3, 1);
    cmd.shard_limit = 10;
    assert_int_equal(apply(&c, cmd), SL_ELIMIT);
    /* The limit travels in the command: a later, larger one applies from then on. */
    cmd.shard_limit = 11;
    assert_int_equal(apply(&c, cmd), SL_OK);
    /* A single stream larger than the limit. */
    cmd = create_cmd("d", 4, 1000);
    cmd.shard_limit = 999;
    assert_int_equal(apply(&c, cmd), SL_ELIMIT);
    sl_buf_unref(before);
    sl_control_close(&c);
}

static void test_control_deleting_streams_do_not_count_toward_shard_limit(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("a", 1, 8);
    cmd.shard_limit = 10;
    assert_int_equal(apply(&c, cmd), SL_OK);
    cmd = create_cmd("b", 2, 8);
    cmd.shard_limit = 10;
    assert_int_equal(apply(&c, cmd), SL_ELIMIT);
    assert_int_equal(set_status(&c, "a", 1, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(apply(&c, cmd), SL_OK);
    sl_control_close(&c);
}

static void test_control_create_with_no_shards_or_unknown_mode_is_invalid(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("a", 1, 0);
    assert_int_equal(apply(&c, cmd), SL_EINVAL);
    cmd = create_cmd("a", 1, 1);
    cmd.mode = SL_STREAM_ON_DEMAND + 1;
    assert_int_equal(apply(&c, cmd), SL_EINVAL);
    assert_int_equal(c.n_streams, 0);
    assert_int_equal(c.next_group, SL_CONTROL_GROUP + 1);
    sl_control_close(&c);
}

/* ---- SET_STATUS, REMOVE_STREAM, SET_RETENTION -------------------------------------------- */

static void test_control_stream_goes_active_then_deleting_then_is_removed(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 10, 2);
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_ACTIVE), SL_OK);
    assert_int_equal(sl_control_find(&c, "s", 1)->status, SL_STREAM_ACTIVE);
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(sl_control_find(&c, "s", 1)->status, SL_STREAM_DELETING);
    assert_int_equal(remove_stream(&c, "s", 10), SL_OK);
    assert_null(sl_control_find(&c, "s", 1));
    assert_int_equal(c.n_streams, 0);
    /* Gone means gone: a second REMOVE finds nothing. */
    assert_int_equal(remove_stream(&c, "s", 10), SL_ENOTFOUND);
    sl_control_close(&c);
}

static void test_control_creating_stream_may_go_straight_to_deleting(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 10, 1);
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(&c, "s", 10), SL_OK);
    assert_int_equal(c.n_streams, 0);
    sl_control_close(&c);
}

static void test_control_remove_of_stream_not_deleting_is_invalid(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 10, 1);
    assert_int_equal(remove_stream(&c, "s", 10), SL_EINVAL); /* CREATING */
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_ACTIVE), SL_OK);
    assert_int_equal(remove_stream(&c, "s", 10), SL_EINVAL); /* ACTIVE */
    assert_non_null(sl_control_find(&c, "s", 1));
    sl_control_close(&c);
}

static void test_control_deleting_stream_cannot_become_active_again(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 10, 1);
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_ACTIVE), SL_EINVAL);
    assert_int_equal(sl_control_find(&c, "s", 1)->status, SL_STREAM_DELETING);
    sl_control_close(&c);
}

static void test_control_status_other_than_active_or_deleting_is_invalid(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 10, 1);
    const uint8_t bad[] = {SL_STREAM_CREATING, SL_STREAM_UPDATING, 4, 255};
    for (size_t i = 0; i < sizeof(bad); i++) {
        assert_int_equal(set_status(&c, "s", 10, bad[i]), SL_EINVAL);
        assert_int_equal(sl_control_find(&c, "s", 1)->status, SL_STREAM_CREATING);
    }
    assert_int_equal(set_status(&c, "s", 10, SL_STREAM_ACTIVE), SL_OK);
    for (size_t i = 0; i < sizeof(bad); i++) {
        assert_int_equal(set_status(&c, "s", 10, bad[i]), SL_EINVAL);
        assert_int_equal(sl_control_find(&c, "s", 1)->status, SL_STREAM_ACTIVE);
    }
    sl_control_close(&c);
}

static void test_control_commands_for_another_incarnation_are_not_found(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 100, 2);
    struct sl_buf *before = snapshot_of(&c);
    const uint64_t others[] = {0, 99, 101, UINT64_MAX};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_int_equal(set_status(&c, "s", others[i], SL_STREAM_ACTIVE), SL_ENOTFOUND);
        assert_int_equal(set_status(&c, "s", others[i], SL_STREAM_DELETING), SL_ENOTFOUND);
        assert_int_equal(remove_stream(&c, "s", others[i]), SL_ENOTFOUND);
        assert_int_equal(apply(&c, retention_cmd("s", others[i], 48)), SL_ENOTFOUND);
        assert_int_equal(apply(&c, warm_cmd("s", others[i], 48)), SL_ENOTFOUND);
        assert_int_equal(add_tags(&c, "s", others[i], some_tags, 1), SL_ENOTFOUND);
        assert_int_equal(remove_tags(&c, "s", others[i], some_tags, 1), SL_ENOTFOUND);
    }
    assert_snapshot_is(&c, before);
    sl_buf_unref(before);
    /* After delete and re-create, commands still meant for the first incarnation miss. */
    assert_int_equal(set_status(&c, "s", 100, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(&c, "s", 100), SL_OK);
    create(&c, "s", 200, 1);
    before = snapshot_of(&c);
    assert_int_equal(set_status(&c, "s", 100, SL_STREAM_DELETING), SL_ENOTFOUND);
    assert_int_equal(remove_stream(&c, "s", 100), SL_ENOTFOUND);
    assert_int_equal(apply(&c, retention_cmd("s", 100, 48)), SL_ENOTFOUND);
    assert_snapshot_is(&c, before);
    /* And a name that does not exist at all. */
    assert_int_equal(set_status(&c, "t", 200, SL_STREAM_ACTIVE), SL_ENOTFOUND);
    assert_int_equal(remove_stream(&c, "", 200), SL_ENOTFOUND);
    sl_buf_unref(before);
    sl_control_close(&c);
}

static void test_control_set_retention_changes_only_retention(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    struct sl_control expected;
    build_varied_table(&expected);
    assert_int_equal(apply(&c, retention_cmd("orders", 1000, 8760)), SL_OK);
    assert_int_equal(sl_control_find(&c, "orders", 6)->retention_hours, 8760);
    sl_control_find(&expected, "orders", 6)->retention_hours = 8760;
    assert_tables_equal(&c, &expected);
    /* CREATING streams take it too. */
    assert_int_equal(apply(&c, retention_cmd("a.b", 3000, 25)), SL_OK);
    assert_int_equal(sl_control_find(&c, "a.b", 3)->retention_hours, 25);
    sl_control_close(&expected);
    sl_control_close(&c);
}

static void test_control_set_retention_of_deleting_stream_is_invalid(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    assert_int_equal(apply(&c, retention_cmd("ab", 5000, 48)), SL_EINVAL); /* DELETING */
    assert_int_equal(sl_control_find(&c, "ab", 2)->retention_hours, 24);
    sl_control_close(&c);
}

/* ---- Tags and the warm-throughput target ------------------------------------------------- */

static void test_control_create_with_tags_sorts_them_and_the_last_value_wins(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    /* The command's strings are a buffer the caller reuses: the table must keep copies. */
    static const char src[] = "b\0"
                              "1\0"
                              "a\0"
                              "x\0"
                              "c\0"
                              "a\0"
                              "y\0"
                              "ab\0"
                              "z\0"
                              "b\0"
                              "2";
    char scratch[sizeof(src)];
    memcpy(scratch, src, sizeof(src));
    const struct sl_tag tags[] = {
        tag_n(scratch + 0, 1, scratch + 2, 1),   /* b = 1 */
        tag_n(scratch + 4, 1, scratch + 6, 1),   /* a = x */
        tag_n(scratch + 8, 1, "", 0),            /* c = "" */
        tag_n(scratch + 10, 1, scratch + 12, 1), /* a = y */
        tag_n(scratch + 14, 2, scratch + 17, 1), /* ab = z */
        tag_n(scratch + 19, 1, scratch + 21, 1), /* b = 2 */
    };
    struct sl_control_cmd cmd = create_cmd("s", 1, 2);
    cmd.warm_mibps = 25;
    set_tags(&cmd, tags, 6);
    assert_int_equal(apply(&c, cmd), SL_OK);
    memset(scratch, '#', sizeof(scratch));
    struct sl_stream *s = sl_control_find(&c, "s", 1);
    assert_non_null(s);
    const struct sl_tag want[] = {tag("a", "y"), tag("ab", "z"), tag("b", "2"), tag("c", "")};
    assert_tags_are(s, want, 4);
    assert_int_equal(s->warm_mibps, 25);
    /* Without tags or a warm target, a stream has neither. */
    s = create(&c, "t", 2, 1);
    assert_int_equal(s->n_tags, 0);
    assert_int_equal(s->warm_mibps, 0);
    sl_control_close(&c);
}

static void test_control_add_tags_adds_new_keys_and_overwrites_existing_ones(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 1, 1);
    const struct sl_tag first[] = {tag("m", "1"), tag("c", "2")};
    assert_int_equal(add_tags(&c, "s", 1, first, 2), SL_OK);
    const struct sl_tag want1[] = {tag("c", "2"), tag("m", "1")};
    assert_tags_are(sl_control_find(&c, "s", 1), want1, 2);
    /* New keys go in their places; an existing key takes the new value, longer or shorter. */
    const struct sl_tag second[] = {tag("z", "3"), tag("m", "a much longer value"), tag("a", "4"),
                                    tag("c", "")};
    assert_int_equal(add_tags(&c, "s", 1, second, 4), SL_OK);
    const struct sl_tag want2[] = {tag("a", "4"), tag("c", ""), tag("m", "a much longer value"),
                                   tag("z", "3")};
    assert_tags_are(sl_control_find(&c, "s", 1), want2, 4);
    /* A key given twice in one command: the last wins. */
    const struct sl_tag third[] = {tag("m", "x"), tag("n", "1"), tag("m", "y"), tag("n", "2")};
    assert_int_equal(add_tags(&c, "s", 1, third, 4), SL_OK);
    const struct sl_tag want3[] = {tag("a", "4"), tag("c", ""), tag("m", "y"), tag("n", "2"),
                                   tag("z", "3")};
    assert_tags_are(sl_control_find(&c, "s", 1), want3, 5);
    /* No tags at all changes nothing. */
    assert_int_equal(add_tags(&c, "s", 1, NULL, 0), SL_OK);
    assert_tags_are(sl_control_find(&c, "s", 1), want3, 5);
    sl_control_close(&c);
}

static void test_control_remove_tags_removes_present_keys_and_ignores_absent_ones(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 1, 1);
    /* Removing from a stream that never had tags is fine. */
    const struct sl_tag none[] = {tag("a", "")};
    assert_int_equal(remove_tags(&c, "s", 1, none, 1), SL_OK);
    assert_int_equal(sl_control_find(&c, "s", 1)->n_tags, 0);
    const struct sl_tag tags[] = {tag("a", "1"), tag("b", "2"), tag("c", "3"), tag("d", "4"),
                                  tag("e", "5")};
    assert_int_equal(add_tags(&c, "s", 1, tags, 5), SL_OK);
    /* Only keys count (values are ignored); absent keys, prefixes of present ones and a key
     * given twice are fine. */
    const struct sl_tag gone[] = {tag("b", "whatever"), tag("x", ""),  tag("e", ""),
                                  tag("b", ""),         tag("dd", ""), tag("", "")};
    assert_int_equal(remove_tags(&c, "s", 1, gone, 6), SL_OK);
    const struct sl_tag want[] = {tag("a", "1"), tag("c", "3"), tag("d", "4")};
    assert_tags_are(sl_control_find(&c, "s", 1), want, 3);
    /* Removing all of them, then adding again. */
    assert_int_equal(remove_tags(&c, "s", 1, want, 3), SL_OK);
    assert_int_equal(sl_control_find(&c, "s", 1)->n_tags, 0);
    assert_int_equal(add_tags(&c, "s", 1, tags + 4, 1), SL_OK);
    assert_tags_are(sl_control_find(&c, "s", 1), tags + 4, 1);
    sl_control_close(&c);
}

static void test_control_tags_with_empty_values_work(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("s", 1, 1);
    const struct sl_tag empty[] = {tag("a", ""), tag("b", "")};
    set_tags(&cmd, empty, 1);
    assert_int_equal(apply(&c, cmd), SL_OK);
    /* Through the log too, where the empty value decodes as a pointer into the bytes. */
    struct sl_control_cmd add = tags_cmd(SL_CONTROL_ADD_TAGS, "s", 1, empty + 1, 1), logged;
    struct sl_buf *e = NULL;
    assert_int_equal(sl_control_cmd_encode(&add, &e), SL_OK);
    assert_int_equal(sl_control_cmd_decode(e->data, e->len, &logged), SL_OK);
    assert_int_equal(apply(&c, logged), SL_OK);
    sl_buf_unref(e);
    const struct sl_tag want[] = {tag("a", ""), tag("b", "")};
    struct sl_stream *s = sl_control_find(&c, "s", 1);
    assert_tags_are(s, want, 2);
    assert_string_equal(sl_stream_tag(s, "a", 1)->value, "");
    /* A value emptied by an overwrite, and filled again. */
    const struct sl_tag full[] = {tag("a", "v")};
    assert_int_equal(add_tags(&c, "s", 1, full, 1), SL_OK);
    assert_string_equal(sl_stream_tag(s, "a", 1)->value, "v");
    assert_int_equal(add_tags(&c, "s", 1, empty, 1), SL_OK);
    assert_int_equal(sl_stream_tag(s, "a", 1)->value_len, 0);
    assert_string_equal(sl_stream_tag(s, "a", 1)->value, "");
    /* And through a snapshot. */
    struct sl_control fresh;
    sl_control_init(&fresh);
    struct sl_buf *b = snapshot_of(&c);
    assert_int_equal(restore_copy(&fresh, b->data, b->len), SL_OK);
    assert_tables_equal(&fresh, &c);
    sl_buf_unref(b);
    sl_control_close(&fresh);
    sl_control_close(&c);
}

static void test_control_tag_keys_sort_bytewise_with_prefixes_first(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 1, 1);
    /* Added out of order, one at a time and together; '.' (0x2e) sorts before 'b' (0x62), and
     * bytes past 0x7f after every ASCII byte. */
    const struct sl_tag tags[] = {tag("b", "1"),           tag("\xc3\xa9", "2"), tag("ab", "3"),
                                  tag("a.b", "4"),         tag("a", "5"),        tag("aa", "6"),
                                  tag("A", "7"),           tag("a\x7f", "8"),    tag("a\x80", "9"),
                                  tag_n("a\0", 2, "10", 2)};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(add_tags(&c, "s", 1, &tags[i], 1), SL_OK);
    }
    assert_int_equal(add_tags(&c, "s", 1, tags + 4, 6), SL_OK);
    const struct sl_tag want[] = {tag("A", "7"),       tag("a", "5"),     tag_n("a\0", 2, "10", 2),
                                  tag("a.b", "4"),     tag("aa", "6"),    tag("ab", "3"),
                                  tag("a\x7f", "8"),   tag("a\x80", "9"), tag("b", "1"),
                                  tag("\xc3\xa9", "2")};
    assert_tags_are(sl_control_find(&c, "s", 1), want, 10);
    sl_control_close(&c);
}

static void test_control_stream_tag_finds_exact_keys_only(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 1, 1);
    const struct sl_tag tags[] = {tag("b", "1"), tag("ab", "2"), tag("a.b", "3"), tag("a", "4")};
    assert_int_equal(add_tags(&c, "s", 1, tags, 4), SL_OK);
    struct sl_stream *s = sl_control_find(&c, "s", 1);
    for (size_t i = 0; i < 4; i++) {
        const struct sl_tag *t = sl_stream_tag(s, tags[i].key, tags[i].key_len);
        assert_non_null(t);
        assert_tag_equal(t, &tags[i]);
    }
    const char *const absent[] = {"", "a.", "aa", "abc", "a.bc", "ba", "c", "A", "B", "1"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_null(sl_stream_tag(s, absent[i], strlen(absent[i])));
    }
    /* The length is what counts, not a NUL. */
    assert_string_equal(sl_stream_tag(s, "abc", 2)->value, "2");
    assert_string_equal(sl_stream_tag(s, "a.b", 1)->value, "4");
    assert_null(sl_stream_tag(s, "a\0", 2));
    /* A stream without tags has none. */
    assert_null(sl_stream_tag(create(&c, "t", 2, 1), "a", 1));
    sl_control_close(&c);
}

/* Gives stream "s" of `c` the tags k00 .. k(n-1), valued "v". */
static void fill_numbered_tags(struct sl_control *c, unsigned n)
{
    struct sl_tag tags[SL_TAGS_MAX];
    assert_true(n <= SL_TAGS_MAX);
    for (unsigned i = 0; i < n; i++) {
        tags[i] = tag(numbered_key(i), "v");
    }
    assert_int_equal(add_tags(c, "s", 1, tags, n), SL_OK);
    assert_int_equal(sl_control_find(c, "s", 1)->n_tags, n);
}

static void test_control_add_tags_past_the_limit_is_refused_and_changes_nothing(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "s", 1, 1);
    fill_numbered_tags(&c, SL_TAGS_MAX - 1);
    struct sl_stream *s = sl_control_find(&c, "s", 1);
    struct sl_buf *before = snapshot_of(&c);
    /* Two new keys at 49; even with an existing key (which must keep its value) among them. */
    const struct sl_tag two_new[] = {tag("k00", "changed"), tag("x", "1"), tag("y", "2")};
    assert_int_equal(sl_stream_tags_after_add(s, two_new + 1, 2), SL_TAGS_MAX + 1);
    assert_int_equal(sl_stream_tags_after_add(s, two_new, 3), SL_TAGS_MAX + 1);
    assert_int_equal(add_tags(&c, "s", 1, two_new + 1, 2), SL_ELIMIT);
    assert_snapshot_is(&c, before);
    assert_int_equal(add_tags(&c, "s", 1, two_new, 3), SL_ELIMIT);
    assert_snapshot_is(&c, before);
    sl_buf_unref(before);
    /* Exactly 50 is fine. */
    assert_int_equal(sl_stream_tags_after_add(s, two_new + 1, 1), SL_TAGS_MAX);
    assert_int_equal(add_tags(&c, "s", 1, two_new + 1, 1), SL_OK);
    assert_int_equal(s->n_tags, SL_TAGS_MAX);
    /* At 50, one more is refused. */
    before = snapshot_of(&c);
    assert_int_equal(add_tags(&c, "s", 1, two_new + 2, 1), SL_ELIMIT);
    assert_snapshot_is(&c, before);
    sl_buf_unref(before);
    /* Re-adding existing keys at 50 is fine, all of them, once or twice in one command. */
    struct sl_tag again[SL_TAGS_MAX];
    for (unsigned i = 0; i < SL_TAGS_MAX - 1; i++) {
        again[i] = tag(numbered_key(i), "w");
    }
    again[SL_TAGS_MAX - 1] = tag("x", "w");
    assert_int_equal(sl_stream_tags_after_add(s, again, SL_TAGS_MAX), SL_TAGS_MAX);
    assert_int_equal(add_tags(&c, "s", 1, again, SL_TAGS_MAX), SL_OK);
    assert_int_equal(s->n_tags, SL_TAGS_MAX);
    assert_string_equal(sl_stream_tag(s, "k00", 3)->value, "w");
    assert_string_equal(sl_stream_tag(s, "x", 1)->value, "w");
    const struct sl_tag twice[] = {tag("k07", "1"), tag("x", "2"), tag("k07", "3")};
    assert_int_equal(sl_stream_tags_after_add(s, twice, 3), SL_TAGS_MAX);
    assert_int_equal(add_tags(&c, "s", 1, twice, 3), SL_OK);
    assert_string_equal(sl_stream_tag(s, "k07", 3)->value, "3");
    sl_control_close(&c);
}

static void test_control_tags_after_add_counts_each_key_once(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    struct sl_stream *s = create(&c, "s", 1, 1);
    assert_int_equal(sl_stream_tags_after_add(s, NULL, 0), 0);
    const struct sl_tag tags[] = {tag("a", "1"), tag("b", "2"), tag("a", "3"), tag("a", "4"),
                                  tag("c", "")};
    assert_int_equal(sl_stream_tags_after_add(s, tags, 5), 3);
    assert_int_equal(sl_stream_tags_after_add(s, tags + 2, 2), 1);
    assert_int_equal(add_tags(&c, "s", 1, tags, 2), SL_OK);
    assert_int_equal(sl_stream_tags_after_add(s, tags, 5), 3);
    assert_int_equal(sl_stream_tags_after_add(s, tags + 2, 2), 2);
    /* Keys that are prefixes of each other are different keys. */
    const struct sl_tag prefixes[] = {tag("ab", ""), tag("a.", ""), tag("b", "")};
    assert_int_equal(sl_stream_tags_after_add(s, prefixes, 3), 4);
    sl_control_close(&c);
}

/* A stream "s" (created at 1) with tags and a warm target, in status `status`. */
static void stream_with_settings(struct sl_control *c, uint8_t status)
{
    sl_control_init(c);
    struct sl_control_cmd cmd = create_cmd("s", 1, 2);
    const struct sl_tag tags[] = {tag("env", "prod"), tag("team", "")};
    set_tags(&cmd, tags, 2);
    cmd.warm_mibps = 30;
    assert_int_equal(apply(c, cmd), SL_OK);
    if (status != SL_STREAM_CREATING) {
        assert_int_equal(set_status(c, "s", 1, status), SL_OK);
    }
}

static void test_control_settings_of_deleting_stream_cannot_change(void **state)
{
    (void)state;
    const struct sl_tag add[] = {tag("new", "1"), tag("env", "dev")};
    const struct sl_tag remove[] = {tag("env", "")};
    struct sl_control c;
    stream_with_settings(&c, SL_STREAM_DELETING);
    struct sl_buf *before = snapshot_of(&c);
    assert_int_equal(add_tags(&c, "s", 1, add, 2), SL_EINVAL);
    assert_int_equal(remove_tags(&c, "s", 1, remove, 1), SL_EINVAL);
    assert_int_equal(apply(&c, warm_cmd("s", 1, 99)), SL_EINVAL);
    assert_int_equal(apply(&c, retention_cmd("s", 1, 99)), SL_EINVAL);
    assert_snapshot_is(&c, before);
    sl_buf_unref(before);
    sl_control_close(&c);
    /* The same commands apply to CREATING and ACTIVE streams. */
    const uint8_t live[] = {SL_STREAM_CREATING, SL_STREAM_ACTIVE};
    for (size_t i = 0; i < sizeof(live); i++) {
        stream_with_settings(&c, live[i]);
        assert_int_equal(add_tags(&c, "s", 1, add, 2), SL_OK);
        assert_int_equal(remove_tags(&c, "s", 1, remove, 1), SL_OK);
        assert_int_equal(apply(&c, warm_cmd("s", 1, 99)), SL_OK);
        assert_int_equal(apply(&c, retention_cmd("s", 1, 99)), SL_OK);
        struct sl_stream *s = sl_control_find(&c, "s", 1);
        const struct sl_tag want[] = {tag("new", "1"), tag("team", "")};
        assert_tags_are(s, want, 2);
        assert_int_equal(s->warm_mibps, 99);
        assert_int_equal(s->retention_hours, 99);
        assert_int_equal(s->status, live[i]);
        sl_control_close(&c);
    }
}

static void test_control_settings_commands_for_another_incarnation_are_not_found(void **state)
{
    (void)state;
    const struct sl_tag add[] = {tag("new", "1")};
    const struct sl_tag remove[] = {tag("env", "")};
    const uint64_t others[] = {0, 2, UINT64_MAX};
    /* Not found comes first, also for a DELETING stream. */
    const uint8_t statuses[] = {SL_STREAM_CREATING, SL_STREAM_ACTIVE, SL_STREAM_DELETING};
    for (size_t k = 0; k < sizeof(statuses); k++) {
        struct sl_control c;
        stream_with_settings(&c, statuses[k]);
        struct sl_buf *before = snapshot_of(&c);
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
            assert_int_equal(add_tags(&c, "s", others[i], add, 1), SL_ENOTFOUND);
            assert_int_equal(remove_tags(&c, "s", others[i], remove, 1), SL_ENOTFOUND);
            assert_int_equal(apply(&c, warm_cmd("s", others[i], 99)), SL_ENOTFOUND);
            assert_int_equal(apply(&c, retention_cmd("s", others[i], 99)), SL_ENOTFOUND);
        }
        assert_int_equal(add_tags(&c, "t", 1, add, 1), SL_ENOTFOUND);
        assert_int_equal(apply(&c, warm_cmd("", 1, 99)), SL_ENOTFOUND);
        assert_snapshot_is(&c, before);
        sl_buf_unref(before);
        sl_control_close(&c);
    }
}

static void test_control_set_warm_throughput_changes_only_the_warm_target(void **state)
{
    (void)state;
    struct sl_control c, expected;
    build_varied_table(&c);
    build_varied_table(&expected);
    const uint32_t targets[] = {1, UINT32_MAX, 0};
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        assert_int_equal(apply(&c, warm_cmd("orders", 1000, targets[i])), SL_OK);
        sl_control_find(&expected, "orders", 6)->warm_mibps = targets[i];
        assert_tables_equal(&c, &expected);
    }
    sl_control_close(&expected);
    sl_control_close(&c);
}

/* ---- Lookups and counts ------------------------------------------------------------------ */

static void test_control_streams_sort_bytewise_with_prefixes_first(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    /* Created out of order; '.' (0x2e) sorts before 'b' (0x62). */
    create(&c, "b", 1, 1);
    create(&c, "ab", 2, 1);
    create(&c, "a.b", 3, 1);
    create(&c, "a", 4, 1);
    const char *const order[] = {"a", "a.b", "ab", "b"};
    assert_int_equal(c.n_streams, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(c.streams[i]->name, order[i]);
        assert_ptr_equal(sl_control_find(&c, order[i], strlen(order[i])), c.streams[i]);
    }
    sl_control_close(&c);
}

static void test_control_find_matches_whole_names_only(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "b", 1, 1);
    create(&c, "ab", 2, 1);
    create(&c, "a.b", 3, 1);
    create(&c, "a", 4, 1);
    const char *const absent[] = {"", "a.", "aa", "abc", "a.bc", "ba", "c", "A", "B"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_null(sl_control_find(&c, absent[i], strlen(absent[i])));
    }
    /* The length is what counts, not a NUL. */
    assert_string_equal(sl_control_find(&c, "abc", 2)->name, "ab");
    assert_string_equal(sl_control_find(&c, "a.b", 1)->name, "a");
    sl_control_close(&c);
}

static void test_control_after_is_first_stream_sorting_after_name(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "b", 1, 1);
    create(&c, "ab", 2, 1);
    create(&c, "a.b", 3, 1);
    create(&c, "a", 4, 1);
    const struct {
        const char *name;
        size_t after;
    } cases[] = {
        {"", 0},   {"A", 0},  {"a", 1},   {"a.", 1},  {"a.a", 1}, {"a.b", 2}, {"a.c", 2},
        {"aa", 2}, {"ab", 3}, {"ab.", 3}, {"abc", 3}, {"b", 4},   {"b.", 4},  {"z", 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t got = sl_control_after(&c, cases[i].name, strlen(cases[i].name));
        if (got != cases[i].after) {
            fail_msg("after(\"%s\") = %zu, want %zu", cases[i].name, got, cases[i].after);
        }
    }
    /* Paging by the last name seen visits every stream once, in order. */
    size_t seen = 0;
    const char *last = "";
    for (size_t i = sl_control_after(&c, "", 0); i < c.n_streams;
         i = sl_control_after(&c, last, strlen(last))) {
        assert_int_equal(i, seen);
        last = c.streams[i]->name;
        seen++;
    }
    assert_int_equal(seen, 4);
    sl_control_close(&c);
}

static void test_control_open_shards_excludes_deleting_streams(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    create(&c, "a", 1, 3);
    create(&c, "b", 2, 5);
    create(&c, "c", 3, 7);
    assert_int_equal(sl_control_open_shards(&c), 15);
    assert_int_equal(set_status(&c, "a", 1, SL_STREAM_ACTIVE), SL_OK);
    assert_int_equal(sl_control_open_shards(&c), 15);
    assert_int_equal(set_status(&c, "b", 2, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(sl_control_open_shards(&c), 10);
    assert_int_equal(set_status(&c, "a", 1, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(sl_control_open_shards(&c), 7);
    assert_int_equal(remove_stream(&c, "b", 2), SL_OK);
    assert_int_equal(sl_control_open_shards(&c), 7);
    sl_control_close(&c);
}

static void test_control_on_demand_streams_counts_on_demand_mode(void **state)
{
    (void)state;
    struct sl_control c;
    sl_control_init(&c);
    const char *const names[] = {"a", "b", "c", "d", "e"};
    for (size_t i = 0; i < 5; i++) {
        struct sl_control_cmd cmd = create_cmd(names[i], i + 1, 1);
        cmd.mode = i % 2 == 0 ? SL_STREAM_ON_DEMAND : SL_STREAM_PROVISIONED;
        assert_int_equal(apply(&c, cmd), SL_OK);
    }
    assert_int_equal(sl_control_on_demand_streams(&c), 3);
    assert_int_equal(set_status(&c, "a", 1, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(&c, "a", 1), SL_OK);
    assert_int_equal(sl_control_on_demand_streams(&c), 2);
    assert_int_equal(set_status(&c, "b", 2, SL_STREAM_DELETING), SL_OK);
    assert_int_equal(remove_stream(&c, "b", 2), SL_OK);
    assert_int_equal(sl_control_on_demand_streams(&c), 2);
    sl_control_close(&c);
}

/* ---- Snapshot and restore ---------------------------------------------------------------- */

/* Writes a snapshot by hand from control.c's layout table of `version` (1 or 2): streams as
 * given (in any order), shard k of a stream in group first_group + k with the ranges of
 * sl_hashkey_range, and from version 2 warm_mibps and the tags as given (in any order). */
struct fake_stream {
    const char *name;
    uint64_t created_ms;
    uint8_t status, mode;
    uint32_t retention_hours, n_shards;
    uint64_t first_group;
    uint32_t warm_mibps;
    const struct sl_tag *tags;
    uint32_t n_tags; /* written as one byte */
};

static size_t write_snapshot(unsigned char *out, size_t room, uint8_t version, uint64_t next_group,
                             const struct fake_stream *streams, size_t n)
{
    assert_true(room >= 13);
    unsigned char *p = out;
    *p++ = version;
    sl_put_u64(p, next_group);
    sl_put_u32(p + 8, (uint32_t)n);
    p += 12;
    for (size_t i = 0; i < n; i++) {
        const struct fake_stream *s = &streams[i];
        size_t name_len = strlen(s->name);
        size_t tag_bytes = 0;
        for (uint32_t k = 0; k < s->n_tags; k++) {
            tag_bytes += 4 + s->tags[k].key_len + s->tags[k].value_len;
        }
        assert_true((size_t)(p - out) + 20 + name_len + s->n_shards * 52 + 5 + tag_bytes <= room);
        sl_put_u16(p, (uint16_t)name_len);
        memcpy(p + 2, s->name, name_len);
        p += 2 + name_len;
        sl_put_u64(p, s->created_ms);
        p[8] = s->status;
        p[9] = s->mode;
        sl_put_u32(p + 10, s->retention_hours);
        sl_put_u32(p + 14, s->n_shards);
        p += 18;
        for (uint32_t k = 0; k < s->n_shards; k++) {
            sl_u128 start, end;
            sl_hashkey_range(k, s->n_shards, &start, &end);
            sl_put_u32(p, k);
            sl_put_u64(p + 4, s->first_group + k);
            sl_put_u64(p + 12, (uint64_t)(start >> 64));
            sl_put_u64(p + 20, (uint64_t)start);
            sl_put_u64(p + 28, (uint64_t)(end >> 64));
            sl_put_u64(p + 36, (uint64_t)end);
            sl_put_u64(p + 44, s->created_ms);
            p += 52;
        }
        if (version >= 2) {
            sl_put_u32(p, s->warm_mibps);
            p[4] = (unsigned char)s->n_tags;
            p += 5;
            for (uint32_t k = 0; k < s->n_tags; k++) {
                const struct sl_tag *t = &s->tags[k];
                sl_put_u16(p, t->key_len);
                memcpy(p + 2, t->key, t->key_len);
                p += 2 + t->key_len;
                sl_put_u16(p, t->value_len);
                if (t->value_len > 0) {
                    memcpy(p + 2, t->value, t->value_len);
                }
                p += 2 + t->value_len;
            }
        }
    }
    return (size_t)(p - out);
}

static void test_control_snapshot_follows_the_layout_table(void **state)
{
    (void)state;
    assert_int_equal(SL_CONTROL_FORMAT_VERSION, 2); /* the table written below */
    struct sl_control c;
    sl_control_init(&c);
    struct sl_control_cmd cmd = create_cmd("b", 7, 3);
    cmd.mode = SL_STREAM_ON_DEMAND;
    cmd.warm_mibps = 0x01020304;
    const struct sl_tag b_tags[] = {tag("team", ""), tag("env", "prod")};
    set_tags(&cmd, b_tags, 2);
    assert_int_equal(apply(&c, cmd), SL_OK);
    create(&c, "a", 8, 2);
    assert_int_equal(set_status(&c, "a", 8, SL_STREAM_ACTIVE), SL_OK);
    const struct sl_tag a_tags[] = {tag("k", "v")};
    assert_int_equal(add_tags(&c, "a", 8, a_tags, 1), SL_OK);
    assert_int_equal(apply(&c, warm_cmd("a", 8, 5)), SL_OK);
    const struct sl_tag b_sorted[] = {tag("env", "prod"), tag("team", "")};
    const struct fake_stream want[] = {
        {"a", 8, SL_STREAM_ACTIVE, SL_STREAM_PROVISIONED, 24, 2, 5, 5, a_tags, 1},
        {"b", 7, SL_STREAM_CREATING, SL_STREAM_ON_DEMAND, 24, 3, 2, 0x01020304, b_sorted, 2},
    };
    unsigned char bytes[1024];
    size_t len = write_snapshot(bytes, sizeof(bytes), 2, 7, want, 2);
    struct sl_buf *b = snapshot_of(&c);
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, bytes, len);
    /* Spot checks by absolute offset: stream "a" ends with warm_mibps 5, one tag "k" = "v". */
    size_t a_tail = 13 + 2 + 1 + 18 + 2 * 52;
    assert_int_equal(sl_get_u32(b->data + a_tail), 5);
    assert_int_equal(b->data[a_tail + 4], 1);
    assert_int_equal(sl_get_u16(b->data + a_tail + 5), 1);
    assert_int_equal(b->data[a_tail + 7], 'k');
    assert_int_equal(sl_get_u16(b->data + a_tail + 8), 1);
    assert_int_equal(b->data[a_tail + 10], 'v');
    sl_buf_unref(b);
    sl_control_close(&c);
}

static void test_control_restore_of_snapshot_gives_identical_table(void **state)
{
    (void)state;
    struct sl_control c, fresh;
    build_varied_table(&c);
    sl_control_init(&fresh);
    struct sl_buf *b = snapshot_of(&c);
    assert_int_equal(restore_copy(&fresh, b->data, b->len), SL_OK);
    sl_control_check_invariants(&fresh);
    assert_tables_equal(&fresh, &c);
    assert_snapshot_is(&fresh, b);
    /* Both go on the same way. */
    struct sl_control_cmd next = create_cmd("new", 6000, 2);
    assert_int_equal(apply(&c, next), SL_OK);
    assert_int_equal(apply(&fresh, next), SL_OK);
    assert_tables_equal(&fresh, &c);
    sl_buf_unref(b);
    sl_control_close(&fresh);
    sl_control_close(&c);
}

static void test_control_restore_replaces_whole_table(void **state)
{
    (void)state;
    struct sl_control c, target, empty;
    build_varied_table(&c);
    sl_control_init(&target);
    create(&target, "other", 1, 30);
    create(&target, "orders", 1, 1);
    struct sl_buf *b = snapshot_of(&c);
    assert_int_equal(restore_copy(&target, b->data, b->len), SL_OK);
    assert_tables_equal(&target, &c);
    /* And an empty table's snapshot empties it. */
    sl_control_init(&empty);
    struct sl_buf *e = snapshot_of(&empty);
    assert_int_equal(restore_copy(&target, e->data, e->len), SL_OK);
    assert_tables_equal(&target, &empty);
    sl_buf_unref(e);
    sl_buf_unref(b);
    sl_control_close(&empty);
    sl_control_close(&target);
    sl_control_close(&c);
}

/* Restores `bytes` into a table holding something else and expects SL_ECORRUPT and no change. */
static void assert_restore_refused(const void *bytes, size_t len)
{
    struct sl_control target;
    sl_control_init(&target);
    create(&target, "keep", 42, 3);
    assert_int_equal(set_status(&target, "keep", 42, SL_STREAM_ACTIVE), SL_OK);
    struct sl_buf *before = snapshot_of(&target);
    int rv = restore_copy(&target, bytes, len);
    if (rv != SL_ECORRUPT) {
        fail_msg("restore of %zu bytes returned %d, want SL_ECORRUPT", len, rv);
    }
    sl_control_check_invariants(&target);
    assert_snapshot_is(&target, before);
    sl_buf_unref(before);
    sl_control_close(&target);
}

static void test_control_restore_refuses_every_truncation(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    assert_true(table_tags(&c) > 0); /* truncations inside tags too */
    struct sl_buf *b = snapshot_of(&c);
    for (size_t len = 0; len < b->len; len++) {
        assert_restore_refused(b->data, len);
    }
    sl_buf_unref(b);
    sl_control_close(&c);
}

static void test_control_restore_refuses_trailing_bytes(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    struct sl_buf *b = snapshot_of(&c);
    unsigned char *longer = malloc(b->len + 60);
    assert_non_null(longer);
    memcpy(longer, b->data, b->len);
    memset(longer + b->len, 0, 60);
    for (size_t extra = 1; extra <= 60; extra++) {
        assert_restore_refused(longer, b->len + extra);
    }
    free(longer);
    sl_buf_unref(b);
    sl_control_close(&c);
}

static void test_control_restore_refuses_unknown_version(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    struct sl_buf *b = snapshot_of(&c);
    unsigned char *bytes = malloc(b->len);
    assert_non_null(bytes);
    memcpy(bytes, b->data, b->len);
    for (int v = 0; v < 256; v++) {
        if (v != SL_CONTROL_FORMAT_VERSION) {
            bytes[0] = (unsigned char)v;
            assert_restore_refused(bytes, b->len);
        }
    }
    free(bytes);
    sl_buf_unref(b);
    sl_control_close(&c);
}

static void test_control_restore_refuses_names_out_of_order(void **state)
{
    (void)state;
    unsigned char bytes[2048];
    const struct sl_tag tags[] = {tag("env", "prod"), tag("team", "")};
    const struct fake_stream sorted[] = {
        {"a", 1, SL_STREAM_ACTIVE, 0, 24, 1, 2, 0, NULL, 0},
        {"a.b", 2, SL_STREAM_ACTIVE, 0, 24, 1, 3, 7, tags, 2},
        {"ab", 3, SL_STREAM_ACTIVE, 0, 24, 1, 4, 0, tags, 1},
        {"b", 4, SL_STREAM_ACTIVE, 0, 24, 1, 5, 9, NULL, 0},
    };
    /* In either layout... */
    for (uint8_t version = 1; version <= 2; version++) {
        /* ...the streams sorted are a snapshot... */
        size_t len = write_snapshot(bytes, sizeof(bytes), version, 6, sorted, 4);
        struct sl_control c;
        sl_control_init(&c);
        assert_int_equal(restore_copy(&c, bytes, len), SL_OK);
        sl_control_check_invariants(&c);
        assert_int_equal(c.n_streams, 4);
        sl_control_close(&c);
        /* ...and every pair swapped is not. */
        for (size_t i = 0; i < 4; i++) {
            for (size_t k = i + 1; k < 4; k++) {
                struct fake_stream swapped[4];
                memcpy(swapped, sorted, sizeof(swapped));
                swapped[i] = sorted[k];
                swapped[k] = sorted[i];
                len = write_snapshot(bytes, sizeof(bytes), version, 6, swapped, 4);
                assert_restore_refused(bytes, len);
            }
        }
    }
}

static void test_control_restore_refuses_duplicate_names(void **state)
{
    (void)state;
    unsigned char bytes[2048];
    const struct fake_stream twice[] = {
        {"a", 1, SL_STREAM_DELETING, 0, 24, 1, 2, 0, NULL, 0},
        {"a", 2, SL_STREAM_ACTIVE, 0, 24, 1, 3, 0, NULL, 0},
    };
    size_t len = write_snapshot(bytes, sizeof(bytes), 2, 4, twice, 2);
    assert_restore_refused(bytes, len);
}

static void test_control_restore_refuses_stream_without_shards(void **state)
{
    (void)state;
    unsigned char bytes[2048];
    const struct fake_stream none[] = {
        {"a", 1, SL_STREAM_ACTIVE, 0, 24, 1, 2, 0, NULL, 0},
        {"b", 2, SL_STREAM_ACTIVE, 0, 24, 0, 3, 0, NULL, 0},
    };
    size_t len = write_snapshot(bytes, sizeof(bytes), 2, 4, none, 2);
    assert_restore_refused(bytes, len);
}

static void test_control_restore_refuses_counts_larger_than_the_bytes(void **state)
{
    (void)state;
    unsigned char bytes[2048];
    const struct fake_stream one[] = {{"a", 1, SL_STREAM_ACTIVE, 0, 24, 2, 2, 0, NULL, 0}};
    size_t len = write_snapshot(bytes, sizeof(bytes), 2, 4, one, 1);
    /* n_streams (offset 9) far too large. */
    sl_put_u32(bytes + 9, UINT32_MAX);
    assert_restore_refused(bytes, len);
    sl_put_u32(bytes + 9, 2);
    assert_restore_refused(bytes, len);
    sl_put_u32(bytes + 9, 1);
    /* n_shards (after the 2-byte length, the name and 14 more bytes) far too large. */
    size_t n_shards_at = 13 + 2 + 1 + 14;
    assert_int_equal(sl_get_u32(bytes + n_shards_at), 2);
    sl_put_u32(bytes + n_shards_at, UINT32_MAX);
    assert_restore_refused(bytes, len);
    sl_put_u32(bytes + n_shards_at, 3);
    assert_restore_refused(bytes, len);
    /* A name length past the limit. */
    sl_put_u32(bytes + n_shards_at, 2);
    sl_put_u16(bytes + 13, SL_STREAM_NAME_BYTES_MAX + 1);
    assert_restore_refused(bytes, len);
}

static void
test_control_restore_takes_version_1_snapshots_and_snapshot_writes_the_oldest_that_holds_it(
    void **state)
{
    (void)state;
    const struct fake_stream streams[] = {
        {"a", 1, SL_STREAM_ACTIVE, SL_STREAM_PROVISIONED, 24, 2, 2, 0, NULL, 0},
        {"a.b", 2, SL_STREAM_CREATING, SL_STREAM_ON_DEMAND, 168, 1, 4, 0, NULL, 0},
        {"b", 3, SL_STREAM_DELETING, SL_STREAM_PROVISIONED, 8760, 3, 5, 0, NULL, 0},
    };
    unsigned char v1[2048], v2[2048];
    size_t v1_len = write_snapshot(v1, sizeof(v1), 1, 8, streams, 3);
    size_t v2_len = write_snapshot(v2, sizeof(v2), 2, 8, streams, 3);
    assert_int_equal(v2_len, v1_len + 3 * 5); /* warm_mibps and n_tags per stream */
    /* Restored over a table with tags and warm targets, which all go. */
    struct sl_control c;
    build_varied_table(&c);
    assert_int_equal(restore_copy(&c, v1, v1_len), SL_OK);
    sl_control_check_invariants(&c);
    assert_int_equal(c.n_streams, 3);
    assert_int_equal(c.next_group, 8);
    for (size_t i = 0; i < c.n_streams; i++) {
        const struct sl_stream *s = c.streams[i];
        assert_string_equal(s->name, streams[i].name);
        assert_int_equal(s->retention_hours, streams[i].retention_hours);
        assert_int_equal(s->n_shards, streams[i].n_shards);
        assert_int_equal(s->warm_mibps, 0);
        assert_int_equal(s->n_tags, 0);
        assert_null(sl_stream_tag(s, "env", 3));
    }
    /* Nothing in it needs version 2, so its snapshot is the same version-1 bytes; the version-2
     * form restores to the same table too. */
    struct sl_buf *b = snapshot_of(&c);
    assert_int_equal(b->data[0], 1);
    assert_int_equal(b->len, v1_len);
    assert_memory_equal(b->data, v1, v1_len);
    sl_buf_unref(b);
    struct sl_control fresh;
    sl_control_init(&fresh);
    assert_int_equal(restore_copy(&fresh, v2, v2_len), SL_OK);
    assert_tables_equal(&fresh, &c);
    sl_control_close(&fresh);
    /* Streams restored from version 1 take tags and warm targets like any other; then the
     * snapshot is version 2 and restores to an identical table. */
    assert_int_equal(add_tags(&c, "a", 1, some_tags, N_SOME_TAGS), SL_OK);
    assert_int_equal(apply(&c, warm_cmd("a.b", 2, 3)), SL_OK);
    assert_int_equal(sl_control_find(&c, "a", 1)->n_tags, N_SOME_TAGS);
    b = snapshot_of(&c);
    assert_int_equal(b->data[0], 2);
    sl_control_init(&fresh);
    assert_int_equal(restore_copy(&fresh, b->data, b->len), SL_OK);
    sl_control_check_invariants(&fresh);
    assert_tables_equal(&fresh, &c);
    assert_snapshot_is(&fresh, b);
    sl_buf_unref(b);
    sl_control_close(&fresh);
    sl_control_close(&c);
}

static void test_control_restore_refuses_versions_0_and_3_of_either_layout(void **state)
{
    (void)state;
    const struct fake_stream one[] = {{"a", 1, SL_STREAM_ACTIVE, 0, 24, 2, 2, 0, NULL, 0}};
    unsigned char bytes[512];
    for (uint8_t layout = 1; layout <= 2; layout++) {
        size_t len = write_snapshot(bytes, sizeof(bytes), layout, 4, one, 1);
        struct sl_control c;
        sl_control_init(&c);
        assert_int_equal(restore_copy(&c, bytes, len), SL_OK);
        sl_control_close(&c);
        bytes[0] = 0;
        assert_restore_refused(bytes, len);
        bytes[0] = SL_CONTROL_FORMAT_VERSION + 1;
        assert_restore_refused(bytes, len);
        bytes[0] = layout == 1 ? 2 : 1; /* one layout read as the other */
        assert_restore_refused(bytes, len);
    }
}

/* A snapshot of streams "a" (tags as given) and "b" (no tags): restores, or is refused. */
static size_t snapshot_with_tags(unsigned char *bytes, size_t room, const struct sl_tag *tags,
                                 uint32_t n)
{
    const struct fake_stream streams[] = {
        {"a", 1, SL_STREAM_ACTIVE, 0, 24, 1, 2, 7, tags, n},
        {"b", 2, SL_STREAM_ACTIVE, 0, 24, 1, 3, 0, NULL, 0},
    };
    return write_snapshot(bytes, room, 2, 4, streams, 2);
}

static void test_control_restore_refuses_tags_out_of_order_or_repeated(void **state)
{
    (void)state;
    unsigned char bytes[2048];
    const struct sl_tag sorted[] = {tag("a", "1"), tag("a.b", "2"), tag("ab", ""), tag("b", "4")};
    /* Sorted, they are a snapshot... */
    size_t len = snapshot_with_tags(bytes, sizeof(bytes), sorted, 4);
    struct sl_control c;
    sl_control_init(&c);
    assert_int_equal(restore_copy(&c, bytes, len), SL_OK);
    sl_control_check_invariants(&c);
    assert_tags_are(sl_control_find(&c, "a", 1), sorted, 4);
    assert_int_equal(sl_control_find(&c, "a", 1)->warm_mibps, 7);
    sl_control_close(&c);
    /* ...every pair swapped is not... */
    for (size_t i = 0; i < 4; i++) {
        for (size_t k = i + 1; k < 4; k++) {
            struct sl_tag swapped[4];
            memcpy(swapped, sorted, sizeof(swapped));
            swapped[i] = sorted[k];
            swapped[k] = sorted[i];
            len = snapshot_with_tags(bytes, sizeof(bytes), swapped, 4);
            assert_restore_refused(bytes, len);
        }
    }
    /* ...nor is a key twice, next to each other or not, with the same value or another. */
    for (size_t i = 0; i < 4; i++) {
        struct sl_tag repeated[5];
        memcpy(repeated, sorted, i * sizeof(*sorted));
        repeated[i] = sorted[i];
        memcpy(repeated + i + 1, sorted + i, (4 - i) * sizeof(*sorted));
        len = snapshot_with_tags(bytes, sizeof(bytes), repeated, 5);
        assert_restore_refused(bytes, len);
        repeated[i].value = "other";
        repeated[i].value_len = 5;
        len = snapshot_with_tags(bytes, sizeof(bytes), repeated, 5);
        assert_restore_refused(bytes, len);
    }
    const struct sl_tag apart[] = {tag("a", "1"), tag("b", "2"), tag("a", "1")};
    len = snapshot_with_tags(bytes, sizeof(bytes), apart, 3);
    assert_restore_refused(bytes, len);
}

static void test_control_restore_refuses_bad_tags(void **state)
{
    (void)state;
    fill_long_tag_bytes();
    unsigned char *bytes = malloc(CMD_ROOM);
    assert_non_null(bytes);
    struct sl_tag tags[SL_TAGS_MAX + 1];
    for (unsigned i = 0; i <= SL_TAGS_MAX; i++) {
        tags[i] = tag(numbered_key(i), "v");
    }
    size_t len = snapshot_with_tags(bytes, CMD_ROOM, tags, SL_TAGS_MAX);
    struct sl_control c;
    sl_control_init(&c);
    assert_int_equal(restore_copy(&c, bytes, len), SL_OK);
    sl_control_close(&c);
    /* More than SL_TAGS_MAX. */
    len = snapshot_with_tags(bytes, CMD_ROOM, tags, SL_TAGS_MAX + 1);
    assert_restore_refused(bytes, len);
    /* An empty key, a key or value past its bound (sorted, so only that is wrong). */
    const struct sl_tag empty_key[] = {tag_n("", 0, "v", 1), tag("b", "")};
    len = snapshot_with_tags(bytes, CMD_ROOM, empty_key, 2);
    assert_restore_refused(bytes, len);
    const struct sl_tag long_k[] = {tag("0", ""), tag_n(long_key, SL_TAG_KEY_BYTES_MAX + 1, "", 0)};
    len = snapshot_with_tags(bytes, CMD_ROOM, long_k, 2);
    assert_restore_refused(bytes, len);
    const struct sl_tag long_v[] = {tag_n("k", 1, long_value, SL_TAG_VALUE_BYTES_MAX + 1)};
    len = snapshot_with_tags(bytes, CMD_ROOM, long_v, 1);
    assert_restore_refused(bytes, len);
    /* At the bounds, it restores. */
    const struct sl_tag edge[] = {tag_n(long_key, SL_TAG_KEY_BYTES_MAX, "", 0),
                                  tag_n("L", 1, long_value, SL_TAG_VALUE_BYTES_MAX)};
    len = snapshot_with_tags(bytes, CMD_ROOM, edge, 2);
    sl_control_init(&c);
    assert_int_equal(restore_copy(&c, bytes, len), SL_OK);
    assert_tags_are(sl_control_find(&c, "a", 1), edge, 2);
    sl_control_close(&c);
    /* n_tags larger than the tags that follow. Stream "a"'s n_tags byte: header, name, fixed
     * fields, one shard, warm_mibps. */
    size_t n_tags_at = 13 + 2 + 1 + 18 + 52 + 4;
    len = snapshot_with_tags(bytes, CMD_ROOM, tags, 3);
    assert_int_equal(bytes[n_tags_at], 3);
    for (int n = 4; n < 256; n++) {
        bytes[n_tags_at] = (unsigned char)n;
        assert_restore_refused(bytes, len);
    }
    free(bytes);
}

/* Two streams with SL_TAGS_MAX tags at their byte bounds (one by CREATE_STREAM, one by ADD_TAGS)
 * and a third with a few. */
static void build_table_with_max_tags(struct sl_control *c)
{
    sl_control_init(c);
    struct sl_control_cmd cmd = create_cmd("created-with-tags", 1, 2);
    max_tags(cmd.tags);
    cmd.n_tags = SL_TAGS_MAX;
    cmd.warm_mibps = UINT32_MAX;
    assert_int_equal(apply(c, cmd), SL_OK);
    create(c, "tagged-later", 2, 1);
    struct sl_tag tags[SL_TAGS_MAX];
    max_tags(tags);
    assert_int_equal(add_tags(c, "tagged-later", 2, tags, SL_TAGS_MAX), SL_OK);
    create(c, "few", 3, 3);
    assert_int_equal(add_tags(c, "few", 3, some_tags, N_SOME_TAGS), SL_OK);
}

static void test_control_snapshot_of_tags_at_their_limits_restores_identically(void **state)
{
    (void)state;
    struct sl_control c, fresh;
    build_table_with_max_tags(&c);
    const struct sl_stream *s = sl_control_find(&c, "created-with-tags", 17);
    assert_int_equal(s->n_tags, SL_TAGS_MAX);
    assert_int_equal(s->tags[0].key_len, SL_TAG_KEY_BYTES_MAX);
    assert_int_equal(s->tags[0].value_len, SL_TAG_VALUE_BYTES_MAX);
    struct sl_buf *b = snapshot_of(&c);
    assert_true(b->len > 2 * SL_TAGS_MAX * (SL_TAG_KEY_BYTES_MAX + SL_TAG_VALUE_BYTES_MAX));
    sl_control_init(&fresh);
    create(&fresh, "other", 1, 1);
    assert_int_equal(restore_copy(&fresh, b->data, b->len), SL_OK);
    sl_control_check_invariants(&fresh);
    assert_tables_equal(&fresh, &c);
    assert_snapshot_is(&fresh, b);
    sl_buf_unref(b);
    sl_control_close(&fresh);
    sl_control_close(&c);
}

/* Restores `from` into a table holding other streams and tags, failing every allocation in turn:
 * each attempt that fails returns SL_ENOMEM, leaves the table unchanged and leaks nothing. */
static void assert_restore_survives_out_of_memory(const struct sl_control *from)
{
    struct sl_control target;
    struct sl_buf *b = snapshot_of(from);
    sl_control_init(&target);
    create(&target, "keep", 42, 3);
    assert_int_equal(add_tags(&target, "keep", 42, some_tags, N_SOME_TAGS), SL_OK);
    assert_int_equal(apply(&target, warm_cmd("keep", 42, 9)), SL_OK);
    struct sl_buf *before = snapshot_of(&target);
    long n;
    for (n = 0;; n++) {
        struct failing_alloc f;
        failing_alloc_install(&f, n);
        int rv = sl_control_restore(&target, b->data, b->len);
        failing_alloc_uninstall();
        if (rv == SL_OK) {
            break;
        }
        assert_int_equal(rv, SL_ENOMEM);
        assert_int_equal(f.live, 0); /* nothing leaked */
        assert_snapshot_is(&target, before);
        assert_true(n < 10000);
    }
    /* Every stream, its shards and each of its tags took an allocation, and each failed once. */
    assert_true(n >= (long)(2 * from->n_streams + table_tags(from)));
    sl_control_check_invariants(&target);
    assert_tables_equal(&target, from);
    sl_buf_unref(before);
    sl_buf_unref(b);
    sl_control_close(&target);
}

static void test_control_restore_of_tags_out_of_memory_leaves_table_unchanged(void **state)
{
    (void)state;
    struct sl_control c;
    build_table_with_max_tags(&c);
    assert_restore_survives_out_of_memory(&c);
    sl_control_close(&c);
}

static void test_control_restore_out_of_memory_leaves_table_unchanged(void **state)
{
    (void)state;
    struct sl_control c;
    build_varied_table(&c);
    assert_true(table_tags(&c) > 0);
    assert_restore_survives_out_of_memory(&c);
    sl_control_close(&c);
}

/* ---- Determinism ------------------------------------------------------------------------- */

static const char *const pool[] = {"a", "a.b", "ab", "b", "orders", "orders-2", "x", "z.z"};
#define POOL (sizeof(pool) / sizeof(pool[0]))

/* Random tags from a pool of keys with prefixes among them ("k", "k0", "k00", ...) and a few
 * values, some empty; keys may repeat within a command. */
static const char *const tag_values[] = {"", "v", "prod", "a longer value", "\xe2\x82\xac"};
#define TAG_VALUES (sizeof(tag_values) / sizeof(tag_values[0]))

static void random_tags(struct sl_rand *r, struct sl_control_cmd *cmd, uint32_t max)
{
    static const char *const prefixes[] = {"k", "k0", "k1", "k5"};
    cmd->n_tags = (uint32_t)sl_rand_below(r, max + 1);
    for (uint32_t i = 0; i < cmd->n_tags; i++) {
        uint64_t k = sl_rand_below(r, 60 + 4);
        const char *key = k < 60 ? numbered_key((unsigned)k) : prefixes[k - 60];
        cmd->tags[i] = tag(key, tag_values[sl_rand_below(r, TAG_VALUES)]);
    }
}

/* A random command, mostly about streams that exist, so that every outcome happens. */
static struct sl_control_cmd random_cmd(struct sl_rand *r, const struct sl_control *c,
                                        uint64_t step)
{
    const char *name = pool[sl_rand_below(r, POOL)];
    const struct sl_stream *s = sl_control_find(c, name, strlen(name));
    uint64_t created_ms = s && sl_rand_below(r, 10) < 8 ? s->created_ms : step * 1000;
    struct sl_control_cmd cmd;
    switch (sl_rand_below(r, 14)) {
    case 0:
    case 1:
    case 2:
        cmd = create_cmd(name, step * 1000, (uint32_t)sl_rand_range(r, 1, 12));
        cmd.mode = (uint8_t)sl_rand_below(r, 2);
        cmd.retention_hours = (uint32_t)sl_rand_range(r, 24, 8760);
        cmd.shard_limit = (uint32_t)sl_rand_range(r, 20, 60);
        cmd.warm_mibps = sl_rand_below(r, 2) ? (uint32_t)sl_rand_below(r, 1000) : 0;
        random_tags(r, &cmd, 8);
        break;
    case 3:
    case 4:
        cmd = status_cmd(name, created_ms, SL_STREAM_ACTIVE);
        break;
    case 5:
    case 6:
        cmd = status_cmd(name, created_ms, SL_STREAM_DELETING);
        break;
    case 7:
        cmd = status_cmd(name, created_ms, (uint8_t)sl_rand_below(r, 6));
        break;
    case 8:
        cmd = cmd_of(SL_CONTROL_REMOVE_STREAM, name, created_ms);
        break;
    case 9:
        /* Up to SL_TAGS_MAX at once, so that streams reach the limit. */
        cmd = cmd_of(SL_CONTROL_ADD_TAGS, name, created_ms);
        random_tags(r, &cmd, SL_TAGS_MAX);
        break;
    case 10:
        /* New keys that bring the stream to exactly the limit, or one past it. */
        cmd = cmd_of(SL_CONTROL_ADD_TAGS, name, created_ms);
        if (s) {
            uint32_t want = SL_TAGS_MAX + (uint32_t)sl_rand_below(r, 2);
            for (unsigned k = 0; k < 60 && cmd.n_tags < SL_TAGS_MAX &&
                                 sl_stream_tags_after_add(s, cmd.tags, cmd.n_tags) < want;
                 k++) {
                if (!sl_stream_tag(s, numbered_key(k), 3)) {
                    cmd.tags[cmd.n_tags++] = tag(numbered_key(k), "v");
                }
            }
        }
        break;
    case 11:
        cmd = cmd_of(SL_CONTROL_REMOVE_TAGS, name, created_ms);
        random_tags(r, &cmd, 30);
        break;
    case 12:
        cmd = warm_cmd(name, created_ms, (uint32_t)sl_rand_below(r, 1000));
        break;
    default:
        cmd = retention_cmd(name, created_ms, (uint32_t)sl_rand_range(r, 24, 8760));
        break;
    }
    return cmd;
}

static void test_control_same_commands_give_same_snapshots(void **state)
{
    (void)state;
    struct sl_control a, b, restored;
    sl_control_init(&a);
    sl_control_init(&b);
    sl_control_init(&restored);
    struct sl_rand r;
    sl_rand_seed(&r, 1234);
    int outcomes[32] = {0};
    int add_outcomes[32] = {0};
    int ops_applied[SL_CONTROL_OP_LAST + 1] = {0};
    uint32_t most_tags = 0;
    for (uint64_t step = 1; step <= 5000; step++) {
        struct sl_control_cmd cmd = random_cmd(&r, &a, step);
        /* `b` applies the command as it comes out of the log: encoded and decoded (its tags
         * point into the encoded bytes, which must live until it is applied). */
        struct sl_buf *e = NULL;
        assert_int_equal(sl_control_cmd_encode(&cmd, &e), SL_OK);
        struct sl_control_cmd logged;
        assert_int_equal(sl_control_cmd_decode(e->data, e->len, &logged), SL_OK);
        uint64_t next_group = a.next_group;
        int rv_a = apply(&a, cmd);
        int rv_b = apply(&b, logged);
        int rv_r = apply(&restored, cmd);
        sl_buf_unref(e);
        assert_int_equal(rv_a, rv_b);
        assert_int_equal(rv_a, rv_r);
        outcomes[-rv_a]++;
        if (cmd.op == SL_CONTROL_ADD_TAGS) {
            add_outcomes[-rv_a]++;
        }
        if (rv_a == SL_OK) {
            ops_applied[cmd.op]++;
        }
        for (size_t i = 0; i < a.n_streams; i++) {
            most_tags = a.streams[i]->n_tags > most_tags ? a.streams[i]->n_tags : most_tags;
        }
        if (cmd.op == SL_CONTROL_CREATE_STREAM && rv_a == SL_OK) {
            assert_int_equal(a.next_group, next_group + cmd.shard_count);
            assert_true(sl_control_open_shards(&a) <= cmd.shard_limit);
        } else {
            assert_int_equal(a.next_group, next_group);
        }
        struct sl_buf *sa = snapshot_of(&a);
        assert_snapshot_is(&b, sa);
        assert_snapshot_is(&restored, sa);
        /* Now and then a member starts over from a snapshot. */
        if (step % 97 == 0) {
            assert_int_equal(restore_copy(&restored, sa->data, sa->len), SL_OK);
            sl_control_check_invariants(&restored);
            assert_tables_equal(&restored, &a);
        }
        sl_buf_unref(sa);
    }
    assert_tables_equal(&a, &b);
    /* Every outcome happened. */
    assert_true(outcomes[0] > 0);
    assert_true(outcomes[-SL_EINUSE] > 0);
    assert_true(outcomes[-SL_ELIMIT] > 0);
    assert_true(outcomes[-SL_ENOTFOUND] > 0);
    assert_true(outcomes[-SL_EINVAL] > 0);
    /* Every op applied, and ADD_TAGS both fit and hit the limit. */
    for (int op = SL_CONTROL_CREATE_STREAM; op <= SL_CONTROL_OP_LAST; op++) {
        assert_true(ops_applied[op] > 0);
    }
    assert_true(add_outcomes[0] > 0);
    assert_true(add_outcomes[-SL_ELIMIT] > 0);
    assert_int_equal(most_tags, SL_TAGS_MAX);
    sl_control_close(&restored);
    sl_control_close(&b);
    sl_control_close(&a);
}

/* ---- The invariant checker --------------------------------------------------------------- */

/* True when sl_control_check_invariants aborts on the table `damage` makes of a varied table.
 * The damage is done in a child process, so the test's own table is never broken. */
static bool checker_catches(void (*damage)(struct sl_control *c))
{
    struct sl_control c;
    build_varied_table(&c);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
        }
        damage(&c);
        sl_control_check_invariants(&c);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    sl_control_close(&c);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void undamaged(struct sl_control *c)
{
    (void)c;
}

static void swap_first_two_names(struct sl_control *c)
{
    struct sl_stream *s = c->streams[0];
    c->streams[0] = c->streams[1];
    c->streams[1] = s;
}

static void duplicate_a_name(struct sl_control *c)
{
    /* "a" and "a.b" become "a" twice. */
    c->streams[1]->name_len = 1;
    c->streams[1]->name[1] = '\0';
}

static void group_at_next_group(struct sl_control *c)
{
    c->streams[0]->shards[0].group = c->next_group;
}

static void group_of_the_controller(struct sl_control *c)
{
    c->streams[0]->shards[0].group = SL_CONTROL_GROUP;
}

static void gap_between_shards(struct sl_control *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->n_shards > 1) {
            c->streams[i]->shards[1].start++;
            return;
        }
    }
}

static void last_shard_short_of_the_end(struct sl_control *c)
{
    struct sl_stream *s = c->streams[0];
    s->shards[s->n_shards - 1].end--;
}

static void group_shared_by_two_streams(struct sl_control *c)
{
    c->streams[1]->shards[0].group = c->streams[0]->shards[0].group;
}

static void group_shared_within_a_stream(struct sl_control *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->n_shards > 1) {
            c->streams[i]->shards[1].group = c->streams[i]->shards[0].group;
            return;
        }
    }
}

/* The first stream with at least two tags. */
static struct sl_stream *stream_with_two_tags(struct sl_control *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        if (c->streams[i]->n_tags >= 2) {
            return c->streams[i];
        }
    }
    fail_msg("no stream with two tags");
    return NULL;
}

static void swap_first_two_tags(struct sl_control *c)
{
    struct sl_stream *s = stream_with_two_tags(c);
    struct sl_tag t = s->tags[0];
    s->tags[0] = s->tags[1];
    s->tags[1] = t;
}

static void duplicate_a_tag_key(struct sl_control *c)
{
    /* The second tag gets the first's key (its own value stays); a child never frees it. */
    struct sl_stream *s = stream_with_two_tags(c);
    s->tags[1].key = s->tags[0].key;
    s->tags[1].key_len = s->tags[0].key_len;
}

static void duplicate_the_last_tag(struct sl_control *c)
{
    struct sl_stream *s = stream_with_two_tags(c);
    s->tags[s->n_tags - 1] = s->tags[s->n_tags - 2];
}

static void empty_a_tag_key(struct sl_control *c)
{
    /* The first key becomes "" (still NUL-terminated), which sorts first but is not a key. */
    struct sl_stream *s = stream_with_two_tags(c);
    s->tags[0].key_len = 0;
    ((char *)s->tags[0].key)[0] = '\0';
}

static void test_control_invariants_hold_for_an_undamaged_table(void **state)
{
    (void)state;
    assert_false(checker_catches(undamaged));
}

static void test_control_invariants_catch_names_out_of_order_or_repeated(void **state)
{
    (void)state;
    assert_true(checker_catches(swap_first_two_names));
    assert_true(checker_catches(duplicate_a_name));
}

static void test_control_invariants_catch_group_outside_shard_range(void **state)
{
    (void)state;
    assert_true(checker_catches(group_at_next_group));
    assert_true(checker_catches(group_of_the_controller));
}

static void test_control_invariants_catch_shards_that_do_not_tile(void **state)
{
    (void)state;
    assert_true(checker_catches(gap_between_shards));
    assert_true(checker_catches(last_shard_short_of_the_end));
}

static void test_control_invariants_catch_tags_out_of_order_or_repeated(void **state)
{
    (void)state;
    assert_true(checker_catches(swap_first_two_tags));
    assert_true(checker_catches(duplicate_a_tag_key));
    assert_true(checker_catches(duplicate_the_last_tag));
}

static void test_control_invariants_catch_an_empty_tag_key(void **state)
{
    (void)state;
    assert_true(checker_catches(empty_a_tag_key));
}

/* BUG: control.h lists "every shard's group id < next_group and unique" among the invariants
 * sl_control_check_invariants checks, but control.c checks only the bound, never uniqueness:
 * two shards (of one stream or of two) sharing a Raft group pass the checker. */
static void test_control_invariants_catch_group_ids_used_twice(void **state)
{
    (void)state;
    assert_true(checker_catches(group_shared_by_two_streams));
    assert_true(checker_catches(group_shared_within_a_stream));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_cmd_roundtrips_every_op),
        cmocka_unit_test(test_control_cmd_encode_refuses_long_name_and_unknown_op),
        cmocka_unit_test(test_control_cmd_decode_refuses_every_truncation),
        cmocka_unit_test(test_control_cmd_decode_refuses_trailing_bytes),
        cmocka_unit_test(test_control_cmd_decode_refuses_unknown_version),
        cmocka_unit_test(test_control_cmd_decode_refuses_unknown_op),
        cmocka_unit_test(test_control_cmd_decode_refuses_name_longer_than_limit),
        cmocka_unit_test(test_control_cmd_decode_accepts_only_what_encode_writes),
        cmocka_unit_test(test_control_cmd_encode_follows_the_layout_table),
        cmocka_unit_test(test_control_cmd_decode_takes_version_1_commands),
        cmocka_unit_test(test_control_cmd_decode_refuses_version_1_ops_added_in_version_2),
        cmocka_unit_test(test_control_cmd_decode_refuses_versions_0_and_3_of_either_layout),
        cmocka_unit_test(test_control_cmd_encode_refuses_too_many_tags_empty_keys_and_long_tags),
        cmocka_unit_test(test_control_cmd_decode_refuses_too_many_tags_empty_keys_and_long_tags),
        cmocka_unit_test(test_control_cmd_decode_refuses_every_truncation_of_tags),
        cmocka_unit_test(test_control_init_is_empty_with_first_shard_group_after_controller),
        cmocka_unit_test(test_control_create_makes_creating_stream_with_tiling_shards),
        cmocka_unit_test(test_control_create_gives_shards_consecutive_groups_from_next_group),
        cmocka_unit_test(test_control_create_of_existing_name_is_in_use_and_changes_nothing),
        cmocka_unit_test(test_control_create_past_shard_limit_is_refused_and_changes_nothing),
        cmocka_unit_test(test_control_deleting_streams_do_not_count_toward_shard_limit),
        cmocka_unit_test(test_control_create_with_no_shards_or_unknown_mode_is_invalid),
        cmocka_unit_test(test_control_stream_goes_active_then_deleting_then_is_removed),
        cmocka_unit_test(test_control_creating_stream_may_go_straight_to_deleting),
        cmocka_unit_test(test_control_remove_of_stream_not_deleting_is_invalid),
        cmocka_unit_test(test_control_deleting_stream_cannot_become_active_again),
        cmocka_unit_test(test_control_status_other_than_active_or_deleting_is_invalid),
        cmocka_unit_test(test_control_commands_for_another_incarnation_are_not_found),
        cmocka_unit_test(test_control_set_retention_changes_only_retention),
        cmocka_unit_test(test_control_set_retention_of_deleting_stream_is_invalid),
        cmocka_unit_test(test_control_create_with_tags_sorts_them_and_the_last_value_wins),
        cmocka_unit_test(test_control_add_tags_adds_new_keys_and_overwrites_existing_ones),
        cmocka_unit_test(test_control_remove_tags_removes_present_keys_and_ignores_absent_ones),
        cmocka_unit_test(test_control_tags_with_empty_values_work),
        cmocka_unit_test(test_control_tag_keys_sort_bytewise_with_prefixes_first),
        cmocka_unit_test(test_control_stream_tag_finds_exact_keys_only),
        cmocka_unit_test(test_control_add_tags_past_the_limit_is_refused_and_changes_nothing),
        cmocka_unit_test(test_control_tags_after_add_counts_each_key_once),
        cmocka_unit_test(test_control_settings_of_deleting_stream_cannot_change),
        cmocka_unit_test(test_control_settings_commands_for_another_incarnation_are_not_found),
        cmocka_unit_test(test_control_set_warm_throughput_changes_only_the_warm_target),
        cmocka_unit_test(test_control_streams_sort_bytewise_with_prefixes_first),
        cmocka_unit_test(test_control_find_matches_whole_names_only),
        cmocka_unit_test(test_control_after_is_first_stream_sorting_after_name),
        cmocka_unit_test(test_control_open_shards_excludes_deleting_streams),
        cmocka_unit_test(test_control_on_demand_streams_counts_on_demand_mode),
        cmocka_unit_test(test_control_snapshot_follows_the_layout_table),
        cmocka_unit_test(test_control_restore_of_snapshot_gives_identical_table),
        cmocka_unit_test(test_control_restore_replaces_whole_table),
        cmocka_unit_test(test_control_restore_refuses_every_truncation),
        cmocka_unit_test(test_control_restore_refuses_trailing_bytes),
        cmocka_unit_test(test_control_restore_refuses_unknown_version),
        cmocka_unit_test(test_control_restore_refuses_names_out_of_order),
        cmocka_unit_test(test_control_restore_refuses_duplicate_names),
        cmocka_unit_test(test_control_restore_refuses_stream_without_shards),
        cmocka_unit_test(test_control_restore_refuses_counts_larger_than_the_bytes),
        cmocka_unit_test(
            test_control_restore_takes_version_1_snapshots_and_snapshot_writes_the_oldest_that_holds_it),
        cmocka_unit_test(test_control_restore_refuses_versions_0_and_3_of_either_layout),
        cmocka_unit_test(test_control_restore_refuses_tags_out_of_order_or_repeated),
        cmocka_unit_test(test_control_restore_refuses_bad_tags),
        cmocka_unit_test(test_control_snapshot_of_tags_at_their_limits_restores_identically),
        cmocka_unit_test(test_control_restore_out_of_memory_leaves_table_unchanged),
        cmocka_unit_test(test_control_restore_of_tags_out_of_memory_leaves_table_unchanged),
        cmocka_unit_test(test_control_same_commands_give_same_snapshots),
        cmocka_unit_test(test_control_invariants_hold_for_an_undamaged_table),
        cmocka_unit_test(test_control_invariants_catch_names_out_of_order_or_repeated),
        cmocka_unit_test(test_control_invariants_catch_group_outside_shard_range),
        cmocka_unit_test(test_control_invariants_catch_shards_that_do_not_tile),
        cmocka_unit_test(test_control_invariants_catch_tags_out_of_order_or_repeated),
        cmocka_unit_test(test_control_invariants_catch_an_empty_tag_key),
        cmocka_unit_test(test_control_invariants_catch_group_ids_used_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
