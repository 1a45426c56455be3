/* test_store.c — the RocksDB store (node/io/store.h) against real RocksDB, one fresh temporary
 * directory per test. Damaged values are written with RocksDB's C API directly. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/crc32c.h"
#include "core/errors.h"
#include "core/raft/membership.h"
#include "io/store.h"

#include <rocksdb/c.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODE 1
#define G    42 /* the group most tests use */

/* ---- fixture: a temporary directory and the store in it ------------------------------------ */

struct fx {
    char tmp[64];  /* mkdtemp'd, removed at the end */
    char dir[128]; /* the data directory: tmp/data (does not exist until the first open) */
    struct sl_store *s;
    struct sl_store_identity id;
    char err[512];
};

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->tmp, "/tmp/sluice-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->tmp));
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sl_store_close(f->s);
    assert_int_equal(nftw(f->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(f);
    return 0;
}

static struct sl_store_identity identity_of(uint64_t node)
{
    struct sl_store_identity id;
    memset(&id, 0, sizeof(id));
    id.node_id = node;
    strcpy(id.az, "az-1");
    return id;
}

/* Opens f->dir as node `node` into f->s, returning what sl_store_open returned. */
static int fx_open_as(struct fx *f, uint64_t node)
{
    f->id = identity_of(node);
    f->err[0] = '\0';
    return sl_store_open(&f->s, f->dir, &f->id, f->err, sizeof(f->err));
}

static void fx_open(struct fx *f)
{
    int rc = fx_open_as(f, NODE);
    if (rc != SL_OK) {
        fail_msg("open failed: %s (%s)", sl_errname(rc), f->err);
    }
    assert_non_null(f->s);
}

static void fx_close(struct fx *f)
{
    sl_store_close(f->s);
    f->s = NULL;
}

static void fx_reopen(struct fx *f)
{
    fx_close(f);
    fx_open(f);
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void assert_file_holds(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    assert_string_equal(buf, text);
}

static size_t count_dir_entries(const char *path)
{
    size_t n = 0;
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    }
    closedir(d);
    return n;
}

/* ---- raw RocksDB access, to damage what the store wrote ------------------------------------ */

struct raw {
    rocksdb_t *db;
    rocksdb_options_t *o;
    rocksdb_column_family_handle_t *cf[4]; /* default, log, hard, meta */
};

enum { RAW_LOG = 1, RAW_HARD = 2, RAW_META = 3 };

static void raw_open(struct raw *r, const char *dir)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/db", dir);
    const char *names[4] = {"default", "log", "hard", "meta"};
    r->o = rocksdb_options_create();
    const rocksdb_options_t *fo[4] = {r->o, r->o, r->o, r->o};
    char *err = NULL;
    r->db = rocksdb_open_column_families(r->o, path, 4, names, fo, r->cf, &err);
    if (err) {
        fail_msg("raw open: %s", err);
    }
}

static void raw_close(struct raw *r)
{
    for (int i = 0; i < 4; i++) {
        rocksdb_column_family_handle_destroy(r->cf[i]);
    }
    rocksdb_close(r->db);
    rocksdb_options_destroy(r->o);
}

static void raw_put(struct raw *r, int family, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(wo, 1);
    char *err = NULL;
    rocksdb_put_cf(r->db, wo, r->cf[family], key, klen, val, vlen, &err);
    rocksdb_writeoptions_destroy(wo);
    assert_null(err);
}

static void raw_delete(struct raw *r, int family, const void *key, size_t klen)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    rocksdb_delete_cf(r->db, wo, r->cf[family], key, klen, &err);
    rocksdb_writeoptions_destroy(wo);
    assert_null(err);
}

/* The value under `key` (malloc'd by RocksDB; rocksdb_free). */
static char *raw_get(struct raw *r, int family, const void *key, size_t klen, size_t *vlen)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *err = NULL;
    char *v = rocksdb_get_cf(r->db, ro, r->cf[family], key, klen, vlen, &err);
    rocksdb_readoptions_destroy(ro);
    assert_null(err);
    assert_non_null(v);
    return v;
}

/* ---- updates -------------------------------------------------------------------------------- */

/* A payload "g<group>/i<index>/t<term>" padded with 'x' to at least `len` bytes. */
static struct sl_buf *payload_of(uint64_t group, uint64_t index, uint64_t term, size_t len)
{
    char text[64];
    int n = snprintf(text, sizeof(text), "g%llu/i%llu/t%llu", (unsigned long long)group,
                     (unsigned long long)index, (unsigned long long)term);
    size_t total = len > (size_t)n ? len : (size_t)n;
    struct sl_buf *b = sl_buf_new(total);
    assert_non_null(b);
    memset(b->data, 'x', total);
    memcpy(b->data, text, (size_t)n);
    return b;
}

/* Writes (synced) an update of `group` appending entries lo..hi of `term`, each with a payload
 * of `len` bytes (0: the short tag only), after truncating from `truncate_from` (0: none). */
static void write_entries(struct fx *f, uint64_t group, uint64_t lo, uint64_t hi, uint64_t term,
                          uint64_t truncate_from, size_t len)
{
    size_t n = (size_t)(hi - lo + 1);
    struct sl_raft_entry *e = calloc(n, sizeof(*e));
    assert_non_null(e);
    for (size_t k = 0; k < n; k++) {
        e[k].index = lo + k;
        e[k].term = term;
        e[k].type = (e[k].index % 3 == 0) ? SL_RAFT_ENTRY_NOOP : SL_RAFT_ENTRY_NORMAL;
        e[k].data = e[k].type == SL_RAFT_ENTRY_NOOP ? NULL : payload_of(group, lo + k, term, len);
    }
    struct sl_raft_update u = {
        .write_id = 1,
        .hard_state = {.term = term, .vote = NODE, .commit = lo - 1},
        .truncate_from = truncate_from,
        .n_entries = n,
        .entries = e,
    };
    struct sl_store_batch *b = sl_store_batch_new();
    assert_non_null(b);
    assert_int_equal(sl_store_batch_add_update(b, group, &u), SL_OK);
    assert_int_equal(sl_store_write(f->s, b, true), SL_OK);
    sl_store_batch_free(b);
    for (size_t k = 0; k < n; k++) {
        sl_buf_unref(e[k].data);
    }
    free(e);
}

static void write_snapshot(struct fx *f, uint64_t group, uint64_t index, uint64_t term,
                           const struct sl_raft_config *c, const char *data)
{
    struct sl_raft_update u = {
        .write_id = 7,
        .hard_state = {.term = term, .vote = 0, .commit = index},
        .has_snapshot = true,
        .snapshot = {.index = index, .term = term, .config = *c},
    };
    if (data) {
        u.snapshot.data = sl_buf_copy(data, strlen(data));
    }
    struct sl_store_batch *b = sl_store_batch_new();
    assert_int_equal(sl_store_batch_add_update(b, group, &u), SL_OK);
    assert_int_equal(sl_store_write(f->s, b, true), SL_OK);
    sl_store_batch_free(b);
    sl_buf_unref(u.snapshot.data);
}

static void apply_batch(struct fx *f, int (*add)(struct sl_store_batch *, uint64_t, uint64_t),
                        uint64_t group, uint64_t arg)
{
    struct sl_store_batch *b = sl_store_batch_new();
    assert_int_equal(add(b, group, arg), SL_OK);
    assert_int_equal(sl_store_write(f->s, b, true), SL_OK);
    sl_store_batch_free(b);
}

static int add_drop(struct sl_store_batch *b, uint64_t group, uint64_t unused)
{
    (void)unused;
    return sl_store_batch_drop_group(b, group);
}

/* Checks that entry `e` is what write_entries(group, ..., term, ..., len) wrote at its index. */
static void assert_entry(const struct sl_raft_entry *e, uint64_t group, uint64_t index,
                         uint64_t term, size_t len)
{
    assert_int_equal(e->index, index);
    assert_int_equal(e->term, term);
    if (index % 3 == 0) {
        assert_int_equal(e->type, SL_RAFT_ENTRY_NOOP);
        assert_null(e->data);
        return;
    }
    assert_int_equal(e->type, SL_RAFT_ENTRY_NORMAL);
    struct sl_buf *want = payload_of(group, index, term, len);
    assert_non_null(e->data);
    assert_int_equal(e->data->len, want->len);
    assert_memory_equal(e->data->data, want->data, want->len);
    sl_buf_unref(want);
}

static void release(struct sl_raft_entry *e, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        sl_buf_unref(e[k].data);
    }
}

/* Reads lo..hi with no limits but `out_max`; returns the count. */
static size_t read_all(struct fx *f, uint64_t group, uint64_t lo, uint64_t hi,
                       struct sl_raft_entry *out, size_t out_max)
{
    size_t n = 99;
    assert_int_equal(sl_store_read(f->s, group, lo, hi, SIZE_MAX, out, out_max, &n), SL_OK);
    return n;
}

static struct sl_raft_config three_voters_and_a_learner(void)
{
    struct sl_raft_config c;
    memset(&c, 0, sizeof(c));
    c.n = 4;
    for (uint32_t k = 0; k < 4; k++) {
        c.members[k].id = 10 + k;
        c.members[k].role = k < 3 ? SL_RAFT_VOTER : SL_RAFT_LEARNER;
    }
    return c;
}

/* ---- opening a data directory --------------------------------------------------------------- */

static void test_create_then_reopen_keeps_identity_and_secret(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_store_identity first = f->id;
    static const uint8_t zeros[32];
    assert_memory_not_equal(first.secret, zeros, sizeof(first.secret));
    assert_memory_not_equal(first.cluster_id, zeros, sizeof(first.cluster_id));
    fx_reopen(f);
    assert_int_equal(f->id.node_id, NODE);
    assert_string_equal(f->id.az, "az-1");
    assert_memory_equal(f->id.cluster_id, first.cluster_id, sizeof(first.cluster_id));
    assert_memory_equal(f->id.secret, first.secret, sizeof(first.secret));
}

static void test_open_creates_missing_directories_with_mode_0750(void **state)
{
    struct fx *f = *state;
    snprintf(f->dir, sizeof(f->dir), "%s/a/b/data", f->tmp);
    fx_open(f);
    struct stat st;
    assert_int_equal(stat(f->dir, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
    char current[256];
    snprintf(current, sizeof(current), "%s/db/CURRENT", f->dir);
    assert_int_equal(stat(current, &st), 0);
}

static void test_empty_existing_directory_is_used(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mkdir(f->dir, 0700), 0);
    fx_open(f);
    assert_int_equal(f->id.node_id, NODE);
}

static void test_open_refuses_another_node_id(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fx_close(f);
    assert_int_equal(fx_open_as(f, 3), SL_EINVAL);
    assert_null(f->s);
    char want[256];
    snprintf(want, sizeof(want), "data directory %s belongs to node 1, not node 3", f->dir);
    assert_string_equal(f->err, want);
    fx_open(f); /* still node 1's, untouched */
}

static void test_open_refuses_foreign_directory_and_leaves_it_untouched(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mkdir(f->dir, 0700), 0);
    char notes[256];
    snprintf(notes, sizeof(notes), "%s/notes.txt", f->dir);
    write_file(notes, "someone else's data\n");
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    assert_null(f->s);
    assert_non_null(strstr(f->err, "is not empty and holds no sluice store (no db/CURRENT)"));
    assert_non_null(strstr(f->err, f->dir));
    assert_file_holds(notes, "someone else's data\n");
    assert_int_equal(count_dir_entries(f->dir), 1); /* not even a lock file was left */
}

static void test_open_refuses_a_file_in_place_of_the_directory(void **state)
{
    struct fx *f = *state;
    write_file(f->dir, "not a directory\n");
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    assert_non_null(strstr(f->err, "is not a directory"));
    assert_file_holds(f->dir, "not a directory\n");
}

static void test_open_refuses_node_id_zero_and_an_empty_path(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_open_as(f, 0), SL_EINVAL);
    struct sl_store_identity id = identity_of(NODE);
    assert_int_equal(sl_store_open(&f->s, "", &id, f->err, sizeof(f->err)), SL_EINVAL);
    assert_null(f->s);
    assert_int_equal(count_dir_entries(f->tmp), 0); /* nothing was created */
}

static void test_open_refuses_corrupt_identity(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    size_t len;
    char *v = raw_get(&r, RAW_META, "identity", 8, &len);
    v[100] ^= 0x01; /* a bit of the secret */
    raw_put(&r, RAW_META, "identity", 8, v, len);
    rocksdb_free(v);
    raw_close(&r);
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    assert_non_null(strstr(f->err, "fails its checksum"));
}

static void test_open_refuses_missing_identity(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    raw_delete(&r, RAW_META, "identity", 8);
    raw_close(&r);
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    assert_non_null(strstr(f->err, "without a node identity"));
}

static void test_open_refuses_other_format_version(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    size_t len;
    unsigned char *v = (unsigned char *)raw_get(&r, RAW_META, "identity", 8, &len);
    v[0] = SL_STORE_FORMAT_VERSION + 1;
    sl_put_u32(v + len - 4, sl_crc32c(0, v, len - 4));
    raw_put(&r, RAW_META, "identity", 8, v, len);
    rocksdb_free(v);
    raw_close(&r);
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    char want[64];
    snprintf(want, sizeof(want), "format version %d;", SL_STORE_FORMAT_VERSION + 1);
    assert_non_null(strstr(f->err, want));
    snprintf(want, sizeof(want), "reads format version %d", SL_STORE_FORMAT_VERSION);
    assert_non_null(strstr(f->err, want));
}

static void test_open_refuses_rocksdb_without_our_families(void **state)
{
    struct fx *f = *state;
    char path[256];
    assert_int_equal(mkdir(f->dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/db", f->dir);
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, path, &err);
    assert_null(err);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    assert_int_equal(fx_open_as(f, NODE), SL_EINVAL);
    assert_non_null(strstr(f->err, "not a sluice store"));
}

static void test_second_open_of_an_open_directory_is_refused(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_store *second = NULL;
    struct sl_store_identity id = identity_of(NODE);
    char err[256];
    assert_int_equal(sl_store_open(&second, f->dir, &id, err, sizeof(err)), SL_EINUSE);
    assert_null(second);
    char want[256];
    snprintf(want, sizeof(want), "data directory %s is in use by another sluiced", f->dir);
    assert_non_null(strstr(err, want));
    fx_reopen(f); /* closing released it */
}

static void test_unfinished_creation_is_started_again(void **state)
{
    struct fx *f = *state;
    char path[256];
    assert_int_equal(mkdir(f->dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/db.creating", f->dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/db.creating/MANIFEST-000001", f->dir);
    write_file(path, "half a store");
    fx_open(f);
    assert_int_equal(count_dir_entries(f->dir), 2); /* db and sluiced.lock */
}

/* ---- writes and reads ----------------------------------------------------------------------- */

static void test_entries_written_are_loaded_and_read_back(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 10, 2, 0, 0);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.hard_state.term, 2);
    assert_int_equal(boot.hard_state.vote, NODE);
    assert_int_equal(boot.hard_state.commit, 0);
    assert_int_equal(boot.snapshot.index, 0);
    assert_int_equal(boot.snapshot.term, 0);
    assert_int_equal(boot.snapshot.config.n, 0);
    assert_null(boot.snapshot.data);
    assert_int_equal(boot.last_index, 10);
    assert_int_equal(boot.applied, 0);

    struct sl_raft_entry out[16];
    assert_int_equal(read_all(f, G, 1, 10, out, 16), 10);
    for (uint64_t i = 1; i <= 10; i++) {
        assert_entry(&out[i - 1], G, i, 2, 0);
    }
    release(out, 10);
    assert_int_equal(read_all(f, G, 4, 6, out, 16), 3);
    assert_entry(&out[0], G, 4, 2, 0);
    assert_entry(&out[2], G, 6, 2, 0);
    release(out, 3);
}

static void test_unknown_group_is_not_found(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_ENOTFOUND);
    uint64_t first = 9, last = 9;
    assert_int_equal(sl_store_log_bounds(f->s, G, &first, &last), SL_OK);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
}

static void test_update_without_write_id_adds_nothing(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_update u = {.write_id = 0, .hard_state = {.term = 5}};
    struct sl_store_batch *b = sl_store_batch_new();
    assert_int_equal(sl_store_batch_add_update(b, G, &u), SL_OK);
    assert_int_equal(sl_store_batch_bytes(b), 0);
    assert_int_equal(sl_store_write(f->s, b, true), SL_OK);
    sl_store_batch_free(b);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_ENOTFOUND);
}

static void test_batch_bytes_grow_with_payloads_and_clear_empties(void **state)
{
    (void)state;
    struct sl_raft_entry e = {.index = 1, .term = 1, .type = SL_RAFT_ENTRY_NORMAL};
    e.data = payload_of(G, 1, 1, 1000);
    struct sl_raft_update u = {.write_id = 1, .n_entries = 1, .entries = &e};
    struct sl_store_batch *b = sl_store_batch_new();
    assert_int_equal(sl_store_batch_add_update(b, G, &u), SL_OK);
    size_t one = sl_store_batch_bytes(b);
    assert_true(one > 1000 + 16 + 14 + 8 + 29);
    assert_true(one < 1000 + 16 + 14 + 8 + 29 + 64);
    sl_buf_unref(e.data); /* the batch holds its own reference */
    sl_store_batch_clear(b);
    assert_int_equal(sl_store_batch_bytes(b), 0);
    sl_store_batch_free(b);
}

static void test_truncate_from_drops_the_tail(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 10, 1, 0, 0);
    write_entries(f, G, 6, 7, 2, 6, 0); /* a new leader replaces 6..10 with 6..7 */
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.last_index, 7);
    struct sl_raft_entry out[16];
    assert_int_equal(read_all(f, G, 1, 10, out, 16), 7);
    assert_entry(&out[4], G, 5, 1, 0);
    assert_entry(&out[5], G, 6, 2, 0);
    assert_entry(&out[6], G, 7, 2, 0);
    release(out, 7);
}

static void test_truncate_without_new_entries_empties_the_tail(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 5, 1, 0, 0);
    struct sl_raft_update u = {.write_id = 2, .hard_state = {.term = 3}, .truncate_from = 2};
    struct sl_store_batch *b = sl_store_batch_new();
    assert_int_equal(sl_store_batch_add_update(b, G, &u), SL_OK);
    assert_int_equal(sl_store_write(f->s, b, false), SL_OK);
    sl_store_batch_free(b);
    uint64_t first, last;
    assert_int_equal(sl_store_log_bounds(f->s, G, &first, &last), SL_OK);
    assert_int_equal(first, 1);
    assert_int_equal(last, 1);
}

static void test_snapshot_drops_the_prefix_and_is_loaded_with_config_and_data(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 10, 3, 0, 0);
    struct sl_raft_config c = three_voters_and_a_learner();
    write_snapshot(f, G, 6, 3, &c, "state at 6");
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.snapshot.index, 6);
    assert_int_equal(boot.snapshot.term, 3);
    assert_int_equal(boot.snapshot.config.n, 4);
    for (uint32_t k = 0; k < 4; k++) {
        assert_int_equal(boot.snapshot.config.members[k].id, c.members[k].id);
        assert_int_equal(boot.snapshot.config.members[k].role, c.members[k].role);
    }
    assert_non_null(boot.snapshot.data);
    assert_int_equal(boot.snapshot.data->len, strlen("state at 6"));
    assert_memory_equal(boot.snapshot.data->data, "state at 6", strlen("state at 6"));
    assert_int_equal(boot.hard_state.commit, 6);
    assert_int_equal(boot.applied, 6);
    assert_int_equal(boot.last_index, 10);
    sl_buf_unref(boot.snapshot.data);

    uint64_t first, last;
    assert_int_equal(sl_store_log_bounds(f->s, G, &first, &last), SL_OK);
    assert_int_equal(first, 7);
    assert_int_equal(last, 10);
    struct sl_raft_entry out[4];
    assert_int_equal(read_all(f, G, 1, 10, out, 4), 0); /* 1 is gone: the read ends at once */
}

static void test_snapshot_past_the_log_empties_it_and_sets_last_index(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 4, 1, 0, 0);
    struct sl_raft_config c = three_voters_and_a_learner();
    write_snapshot(f, G, 20, 5, &c, NULL);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.last_index, 20);
    assert_null(boot.snapshot.data);
    uint64_t first = 9, last = 9;
    assert_int_equal(sl_store_log_bounds(f->s, G, &first, &last), SL_OK);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
}

static void test_drop_group_leaves_other_groups_intact(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_config c = three_voters_and_a_learner();
    for (uint64_t g = G - 1; g <= G + 1; g++) {
        write_entries(f, g, 1, 5, 1, 0, 0);
        write_snapshot(f, g, 2, 1, &c, "s");
    }
    apply_batch(f, add_drop, G, 0);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_ENOTFOUND);
    uint64_t first, last;
    assert_int_equal(sl_store_log_bounds(f->s, G, &first, &last), SL_OK);
    assert_int_equal(last, 0);
    for (uint64_t g = G - 1; g <= G + 1; g += 2) {
        assert_int_equal(sl_store_load_group(f->s, g, &boot), SL_OK);
        assert_int_equal(boot.snapshot.index, 2);
        assert_int_equal(boot.last_index, 5);
        sl_buf_unref(boot.snapshot.data);
        struct sl_raft_entry out[4];
        assert_int_equal(read_all(f, g, 3, 5, out, 4), 3);
        assert_entry(&out[2], g, 5, 1, 0);
        release(out, 3);
    }
}

static void test_read_stops_after_out_max_entries(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 10, 1, 0, 0);
    struct sl_raft_entry out[3];
    assert_int_equal(read_all(f, G, 2, 10, out, 3), 3);
    assert_entry(&out[0], G, 2, 1, 0);
    assert_entry(&out[2], G, 4, 1, 0);
    release(out, 3);
}

static void test_read_stops_before_bytes_max_but_returns_the_first_entry(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 8, 1, 0, 100); /* 1, 2, 4, 5, 7, 8: 100 bytes; 3, 6: empty */
    struct sl_raft_entry out[8];
    size_t n = 99;
    assert_int_equal(sl_store_read(f->s, G, 1, 8, 10, out, 8, &n), SL_OK);
    assert_int_equal(n, 1); /* larger than the budget, returned alone */
    assert_entry(&out[0], G, 1, 1, 100);
    release(out, n);
    assert_int_equal(sl_store_read(f->s, G, 1, 8, 250, out, 8, &n), SL_OK);
    assert_int_equal(n, 3); /* 100 + 100 + 0; entry 4 would pass 250 */
    assert_entry(&out[2], G, 3, 1, 100);
    release(out, n);
    assert_int_equal(sl_store_read(f->s, G, 1, 8, 200, out, 8, &n), SL_OK);
    assert_int_equal(n, 3); /* exactly at the budget is within it */
    release(out, n);
    assert_int_equal(sl_store_read(f->s, G, 1, 8, 199, out, 8, &n), SL_OK);
    assert_int_equal(n, 1);
    release(out, n);
}

static void test_read_ends_at_a_missing_index(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 3, 1, 0, 0);
    write_entries(f, G, 5, 6, 1, 0, 0); /* 4 missing */
    write_entries(f, G + 1, 1, 3, 1, 0, 0);
    struct sl_raft_entry out[8];
    assert_int_equal(read_all(f, G, 2, 6, out, 8), 2);
    release(out, 2);
    assert_int_equal(read_all(f, G, 5, 9, out, 8), 2); /* beyond the last: fewer */
    release(out, 2);
}

static void test_flipped_byte_in_a_stored_entry_is_corrupt(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 5, 1, 0, 50);
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    unsigned char key[16];
    sl_put_u64(key, G);
    sl_put_u64(key + 8, 4);
    size_t len;
    char *v = raw_get(&r, RAW_LOG, key, sizeof(key), &len);
    v[len - 10] ^= 0x20;
    raw_put(&r, RAW_LOG, key, sizeof(key), v, len);
    rocksdb_free(v);
    raw_close(&r);
    fx_open(f);
    struct sl_raft_entry out[8];
    size_t n = 99;
    assert_int_equal(sl_store_read(f->s, G, 1, 5, SIZE_MAX, out, 8, &n), SL_ECORRUPT);
    assert_int_equal(n, 0);
    assert_int_equal(read_all(f, G, 1, 3, out, 8), 3); /* the good ones still read */
    release(out, 3);
}

static void test_flipped_term_in_a_stored_entry_is_corrupt(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 2, 1, 0, 0);
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    unsigned char key[16];
    sl_put_u64(key, G);
    sl_put_u64(key + 8, 2);
    size_t len;
    char *v = raw_get(&r, RAW_LOG, key, sizeof(key), &len);
    v[9] ^= 0x01; /* the low byte of the term */
    raw_put(&r, RAW_LOG, key, sizeof(key), v, len);
    rocksdb_free(v);
    raw_close(&r);
    fx_open(f);
    struct sl_raft_entry out[2];
    size_t n = 99;
    assert_int_equal(sl_store_read(f->s, G, 2, 2, SIZE_MAX, out, 2, &n), SL_ECORRUPT);
}

static void test_flipped_byte_in_hard_state_or_snapshot_fails_load(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_config c = three_voters_and_a_learner();
    write_entries(f, G, 1, 3, 1, 0, 0);
    write_entries(f, G + 1, 1, 3, 1, 0, 0);
    write_snapshot(f, G + 1, 2, 1, &c, "data");
    fx_close(f);
    struct raw r;
    raw_open(&r, f->dir);
    unsigned char key[12];
    size_t len;
    sl_put_u64(key, G);
    char *v = raw_get(&r, RAW_HARD, key, 8, &len);
    v[3] ^= 0x04;
    raw_put(&r, RAW_HARD, key, 8, v, len);
    rocksdb_free(v);
    memcpy(key, "snap", 4);
    sl_put_u64(key + 4, G + 1);
    v = raw_get(&r, RAW_META, key, 12, &len);
    v[len - 6] ^= 0x04;
    raw_put(&r, RAW_META, key, 12, v, len);
    rocksdb_free(v);
    raw_close(&r);
    fx_open(f);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_ECORRUPT);
    assert_int_equal(sl_store_load_group(f->s, G + 1, &boot), SL_ECORRUPT);
    assert_null(boot.snapshot.data);
}

static void test_groups_are_listed_in_ascending_order(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    uint64_t *ids = (uint64_t *)1;
    size_t n = 9;
    assert_int_equal(sl_store_groups(f->s, &ids, &n), SL_OK);
    assert_null(ids);
    assert_int_equal(n, 0);
    /* Big-endian keys: 256 sorts after 255 and 1 << 40 after both. */
    const uint64_t written[] = {(uint64_t)1 << 40, 256, 7, 255, UINT64_MAX};
    for (size_t k = 0; k < 5; k++) {
        write_entries(f, written[k], 1, 1, 1, 0, 0);
    }
    assert_int_equal(sl_store_groups(f->s, &ids, &n), SL_OK);
    assert_int_equal(n, 5);
    const uint64_t want[] = {7, 255, 256, (uint64_t)1 << 40, UINT64_MAX};
    for (size_t k = 0; k < 5; k++) {
        assert_int_equal(ids[k], want[k]);
    }
    sl_free(ids);
}

static void test_last_group_id_and_last_index_do_not_overflow(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, UINT64_MAX, UINT64_MAX - 2, UINT64_MAX, 1, 0, 0);
    write_entries(f, UINT64_MAX - 1, 1, 2, 1, 0, 0);
    struct sl_raft_entry out[4];
    assert_int_equal(read_all(f, UINT64_MAX, UINT64_MAX - 2, UINT64_MAX, out, 4), 3);
    assert_int_equal(out[2].index, UINT64_MAX);
    release(out, 3);
    apply_batch(f, add_drop, UINT64_MAX, 0);
    uint64_t first, last;
    assert_int_equal(sl_store_log_bounds(f->s, UINT64_MAX, &first, &last), SL_OK);
    assert_int_equal(last, 0);
    assert_int_equal(sl_store_log_bounds(f->s, UINT64_MAX - 1, &first, &last), SL_OK);
    assert_int_equal(last, 2);
}

static void test_data_survives_close_and_reopen(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_config c = three_voters_and_a_learner();
    write_entries(f, G, 1, 20, 4, 0, 300);
    write_snapshot(f, G, 5, 4, &c, "five");
    write_entries(f, G + 9, 1, 2, 1, 0, 0);
    fx_reopen(f);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.snapshot.index, 5);
    assert_int_equal(boot.last_index, 20);
    assert_int_equal(boot.hard_state.term, 4);
    sl_buf_unref(boot.snapshot.data);
    struct sl_raft_entry out[16];
    assert_int_equal(read_all(f, G, 6, 20, out, 16), 15);
    for (uint64_t i = 6; i <= 20; i++) {
        assert_entry(&out[i - 6], G, i, 4, 300);
    }
    release(out, 15);
    uint64_t *ids;
    size_t n;
    assert_int_equal(sl_store_groups(f->s, &ids, &n), SL_OK);
    assert_int_equal(n, 2);
    sl_free(ids);
}

/* ---- out of memory ----------------------------------------------------------------------------
 */

static void test_add_update_out_of_memory_leaves_the_batch_unchanged(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    struct sl_raft_config c = three_voters_and_a_learner();
    struct sl_raft_entry e[2] = {{.index = 3, .term = 2, .type = SL_RAFT_ENTRY_NORMAL},
                                 {.index = 4, .term = 2, .type = SL_RAFT_ENTRY_NORMAL}};
    struct sl_raft_update u = {
        .write_id = 9,
        .hard_state = {.term = 2, .commit = 2},
        .has_snapshot = true,
        .snapshot = {.index = 2, .term = 1, .config = c},
        .truncate_from = 3,
        .n_entries = 2,
        .entries = e,
    };
    bool succeeded = false;
    for (long fail_at = 0; fail_at < 20 && !succeeded; fail_at++) {
        struct failing_alloc a;
        failing_alloc_install(&a, -1);
        e[0].data = payload_of(G, 3, 2, 0);
        e[1].data = payload_of(G, 4, 2, 0);
        u.snapshot.data = sl_buf_copy("snap", 4);
        struct sl_store_batch *b = sl_store_batch_new();
        assert_non_null(b);
        write_entries(f, G, 1, 1, 1, 0, 0); /* something already stored in the group */
        size_t before = sl_store_batch_bytes(b);
        a.countdown = fail_at;
        int rc = sl_store_batch_add_update(b, G, &u);
        a.countdown = -1;
        if (rc == SL_OK) {
            succeeded = true;
            assert_int_equal(sl_store_write(f->s, b, true), SL_OK);
        } else {
            assert_int_equal(rc, SL_ENOMEM);
            assert_int_equal(sl_store_batch_bytes(b), before);
        }
        sl_store_batch_free(b);
        sl_buf_unref(e[0].data);
        sl_buf_unref(e[1].data);
        sl_buf_unref(u.snapshot.data);
        assert_int_equal(a.live, 0);
        failing_alloc_uninstall();
    }
    assert_true(succeeded);
    struct sl_raft_boot boot;
    assert_int_equal(sl_store_load_group(f->s, G, &boot), SL_OK);
    assert_int_equal(boot.snapshot.index, 2);
    assert_int_equal(boot.last_index, 4);
    sl_buf_unref(boot.snapshot.data);
}

static void test_read_out_of_memory_hands_out_nothing(void **state)
{
    struct fx *f = *state;
    fx_open(f);
    write_entries(f, G, 1, 5, 1, 0, 40);
    struct failing_alloc a;
    failing_alloc_install(&a, 1); /* the first payload copy succeeds, the second fails */
    struct sl_raft_entry out[8];
    size_t n = 99;
    int rc = sl_store_read(f->s, G, 1, 5, SIZE_MAX, out, 8, &n);
    failing_alloc_uninstall();
    assert_int_equal(rc, SL_ENOMEM);
    assert_int_equal(n, 0);
    assert_int_equal(a.live, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_then_reopen_keeps_identity_and_secret),
        T(test_open_creates_missing_directories_with_mode_0750),
        T(test_empty_existing_directory_is_used),
        T(test_open_refuses_another_node_id),
        T(test_open_refuses_foreign_directory_and_leaves_it_untouched),
        T(test_open_refuses_a_file_in_place_of_the_directory),
        T(test_open_refuses_node_id_zero_and_an_empty_path),
        T(test_open_refuses_corrupt_identity),
        T(test_open_refuses_missing_identity),
        T(test_open_refuses_other_format_version),
        T(test_open_refuses_rocksdb_without_our_families),
        T(test_second_open_of_an_open_directory_is_refused),
        T(test_unfinished_creation_is_started_again),
        T(test_entries_written_are_loaded_and_read_back),
        T(test_unknown_group_is_not_found),
        T(test_update_without_write_id_adds_nothing),
        T(test_batch_bytes_grow_with_payloads_and_clear_empties),
        T(test_truncate_from_drops_the_tail),
        T(test_truncate_without_new_entries_empties_the_tail),
        T(test_snapshot_drops_the_prefix_and_is_loaded_with_config_and_data),
        T(test_snapshot_past_the_log_empties_it_and_sets_last_index),
        T(test_drop_group_leaves_other_groups_intact),
        T(test_read_stops_after_out_max_entries),
        T(test_read_stops_before_bytes_max_but_returns_the_first_entry),
        T(test_read_ends_at_a_missing_index),
        T(test_flipped_byte_in_a_stored_entry_is_corrupt),
        T(test_flipped_term_in_a_stored_entry_is_corrupt),
        T(test_flipped_byte_in_hard_state_or_snapshot_fails_load),
        T(test_groups_are_listed_in_ascending_order),
        T(test_last_group_id_and_last_index_do_not_overflow),
        T(test_data_survives_close_and_reopen),
        T(test_add_update_out_of_memory_leaves_the_batch_unchanged),
        T(test_read_out_of_memory_hands_out_nothing),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
