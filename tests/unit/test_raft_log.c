/* test_raft_log.c — the in-memory log of a group (core/raft/log.h: term runs, term lookups,
 * truncation, compaction, reset, the entry cache, its eviction and reads through storage) and
 * configurations (core/raft/membership.h: encoding, history, quorum arithmetic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "raft_fixture.h"

#include "core/alloc.h"
#include "core/errors.h"
#include "core/raft/log.h"
#include "core/raft/membership.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

/* A log and the disk behind it; entries are appended to both, payloads tagged by index. */
struct logfx {
    struct sl_raft_log log;
    struct sim_disk disk;
};

static void logfx_init(struct logfx *f, uint64_t snap_index, uint64_t snap_term)
{
    sim_disk_init(&f->disk);
    f->disk.snap.index = snap_index;
    f->disk.snap.term = snap_term;
    struct sl_raft_storage st = sim_disk_storage(&f->disk);
    sl_raft_log_init(&f->log, FX_GROUP, &st, snap_index, snap_term);
}

static void logfx_close(struct logfx *f)
{
    sl_raft_log_check(&f->log, true);
    sl_raft_log_close(&f->log);
    sim_disk_free(&f->disk);
}

/* Appends one entry of `term` with a `len`-byte payload to the log and to the disk. */
static void append(struct logfx *f, uint64_t term, size_t len)
{
    uint64_t index = f->log.last + 1;
    struct sl_raft_entry e = {index, term, SL_RAFT_ENTRY_NORMAL, payload(index, len)};
    assert_int_equal(sl_raft_log_reserve(&f->log, 1, 1), SL_OK);
    sl_raft_log_append(&f->log, &e);
    assert_int_equal(sim_disk_append(&f->disk, &e), SL_OK);
    sl_buf_unref(e.data);
}

/* Drops entries >= from from the log and from the disk, as a follower's write would. */
static void truncate(struct logfx *f, uint64_t from)
{
    sl_raft_log_truncate(&f->log, from);
    assert_int_equal(sim_disk_apply(&f->disk, &f->disk.hs, NULL, from, NULL, 0), SL_OK);
}

static void append_terms(struct logfx *f, const uint64_t *terms, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        append(f, terms[k], 16);
    }
}

/* Appends the terms of entries that exist on disk only (as a member does when it boots). */
static void append_uncached_terms(struct logfx *f, const uint64_t *terms, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t index = f->log.last + 1;
        assert_int_equal(sl_raft_log_append_uncached(&f->log, index, terms[k]), SL_OK);
        disk_put(&f->disk, terms[k]);
    }
}

static void free_entries(struct sl_raft_entry *e, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        sl_buf_unref(e[k].data);
    }
}

static uint64_t cache_first(const struct sl_raft_log *l)
{
    return l->last + 1 - l->n_cached;
}

/* ---- term runs and lookups ----------------------------------------------------------------- */

static void test_log_starts_empty_after_its_snapshot(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 10, 3);
    assert_int_equal(sl_raft_log_first(&f.log), 11);
    assert_int_equal(f.log.last, 10);
    assert_int_equal(sl_raft_log_last_term(&f.log), 3);
    assert_int_equal(f.log.n_runs, 0);
    logfx_close(&f);
}

static void test_log_term_runs_record_each_term_change_once(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2, 2, 5}, 6);
    assert_int_equal(f.log.n_runs, 3);
    assert_int_equal(f.log.runs[0].index, 1);
    assert_int_equal(f.log.runs[0].term, 1);
    assert_int_equal(f.log.runs[1].index, 3);
    assert_int_equal(f.log.runs[1].term, 2);
    assert_int_equal(f.log.runs[2].index, 6);
    assert_int_equal(f.log.runs[2].term, 5);
    assert_int_equal(sl_raft_log_last_term(&f.log), 5);
    logfx_close(&f);
}

static void test_log_term_lookup_finds_the_term_of_every_index(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    /* 40 runs of varying lengths: term t spans t % 3 + 1 entries. */
    uint64_t expect[200] = {0};
    for (uint64_t t = 1; t <= 40; t++) {
        for (uint64_t k = 0; k < t % 3 + 1; k++) {
            append(&f, t, 16);
            expect[f.log.last] = t;
        }
    }
    assert_int_equal(f.log.n_runs, 40);
    for (uint64_t i = 1; i <= f.log.last; i++) {
        assert_int_equal(sl_raft_log_term(&f.log, i), expect[i]);
    }
    logfx_close(&f);
}

static void test_log_term_at_snapshot_index_is_the_snapshot_term(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 10, 3);
    append_terms(&f, (uint64_t[]){4, 4}, 2);
    assert_int_equal(sl_raft_log_term(&f.log, 10), 3);
    logfx_close(&f);
}

static void test_log_term_of_compacted_or_future_index_is_zero(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 10, 3);
    append_terms(&f, (uint64_t[]){4, 4}, 2);
    assert_int_equal(sl_raft_log_term(&f.log, 9), 0);  /* compacted */
    assert_int_equal(sl_raft_log_term(&f.log, 1), 0);  /* compacted */
    assert_int_equal(sl_raft_log_term(&f.log, 13), 0); /* beyond the last entry */
    assert_int_equal(sl_raft_log_term(&f.log, 12), 4);
    logfx_close(&f);
}

static void test_log_term_first_and_last_bound_a_term(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2, 2, 5, 5, 5}, 8);
    assert_int_equal(sl_raft_log_term_first(&f.log, 1), 1);
    assert_int_equal(sl_raft_log_term_first(&f.log, 2), 3);
    assert_int_equal(sl_raft_log_term_first(&f.log, 5), 6);
    assert_int_equal(sl_raft_log_term_first(&f.log, 3), 0); /* no entry of term 3 */
    assert_int_equal(sl_raft_log_term_last(&f.log, 2, 100), 5);
    assert_int_equal(sl_raft_log_term_last(&f.log, 2, 4), 4); /* capped by max_index */
    assert_int_equal(sl_raft_log_term_last(&f.log, 5, 8), 8);
    assert_int_equal(sl_raft_log_term_last(&f.log, 5, 5), 0); /* term 5 starts after 5 */
    assert_int_equal(sl_raft_log_term_last(&f.log, 3, 8), 0); /* absent, between terms */
    assert_int_equal(sl_raft_log_term_last(&f.log, 9, 8), 0); /* absent, after all */
    logfx_close(&f);
}

/* ---- truncation, compaction, reset --------------------------------------------------------- */

static void test_log_truncate_drops_cached_suffix_and_its_runs(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2, 3, 3}, 6);
    truncate(&f, 4);
    assert_int_equal(f.log.last, 3);
    assert_int_equal(f.log.n_cached, 3);
    assert_int_equal(f.log.cache_bytes, 3 * (16 + SL_RAFT_CACHE_ENTRY_BYTES));
    assert_int_equal(f.log.n_runs, 2);
    assert_int_equal(sl_raft_log_last_term(&f.log), 2);
    assert_int_equal(sl_raft_log_term(&f.log, 4), 0);
    assert_null(sl_raft_log_cached(&f.log, 4));
    /* The log continues with a lower term than the one it dropped. */
    append(&f, 2, 16);
    assert_int_equal(sl_raft_log_term(&f.log, 4), 2);
    assert_int_equal(f.log.n_runs, 2);
    logfx_close(&f);
}

static void test_log_truncate_drops_uncached_entries(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_uncached_terms(&f, (uint64_t[]){1, 1, 1, 2, 2}, 5); /* as after a restart */
    append_terms(&f, (uint64_t[]){3, 3}, 2);                   /* cached: 6..7 */
    sl_raft_log_truncate(&f.log, 3); /* through the cache into the uncached part */
    assert_int_equal(f.log.last, 2);
    assert_int_equal(f.log.n_cached, 0);
    assert_int_equal(f.log.cache_bytes, 0);
    assert_int_equal(f.log.n_runs, 1);
    assert_int_equal(sl_raft_log_term(&f.log, 2), 1);
    assert_int_equal(sl_raft_log_term(&f.log, 3), 0);
    logfx_close(&f);
}

static void test_log_compact_drops_prefix_and_keeps_terms_after_it(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2, 2, 5, 5, 5}, 8);
    sl_raft_log_compact(&f.log, 4, 2);
    assert_int_equal(sl_raft_log_first(&f.log), 5);
    assert_int_equal(f.log.snap_term, 2);
    assert_int_equal(f.log.last, 8);
    assert_int_equal(sl_raft_log_term(&f.log, 3), 0);
    assert_int_equal(sl_raft_log_term(&f.log, 4), 2);
    assert_int_equal(sl_raft_log_term(&f.log, 5), 2);
    assert_int_equal(sl_raft_log_term(&f.log, 6), 5);
    /* The first run now starts right after the snapshot. */
    assert_int_equal(f.log.n_runs, 2);
    assert_int_equal(f.log.runs[0].index, 5);
    assert_int_equal(sl_raft_log_term_first(&f.log, 2), 5);
    /* Compacted entries leave the cache. */
    assert_int_equal(f.log.n_cached, 4);
    assert_null(sl_raft_log_cached(&f.log, 4));
    assert_non_null(sl_raft_log_cached(&f.log, 5));
    logfx_close(&f);
}

static void test_log_compact_at_a_term_boundary_drops_the_whole_run(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2, 2, 5, 5}, 7);
    sl_raft_log_compact(&f.log, 5, 2);
    assert_int_equal(f.log.n_runs, 1);
    assert_int_equal(f.log.runs[0].index, 6);
    assert_int_equal(f.log.runs[0].term, 5);
    assert_int_equal(sl_raft_log_term_first(&f.log, 2), 0);
    logfx_close(&f);
}

static void test_log_compact_at_last_index_leaves_an_empty_log(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 2, 2}, 3);
    sl_raft_log_compact(&f.log, 3, 2);
    assert_int_equal(f.log.last, 3);
    assert_int_equal(f.log.n_runs, 0);
    assert_int_equal(f.log.n_cached, 0);
    assert_int_equal(f.log.cache_bytes, 0);
    assert_int_equal(sl_raft_log_last_term(&f.log), 2);
    append(&f, 3, 16);
    assert_int_equal(sl_raft_log_term(&f.log, 4), 3);
    logfx_close(&f);
}

static void test_log_reset_restarts_after_a_snapshot(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2}, 3);
    sl_raft_log_reset(&f.log, 50, 7);
    assert_int_equal(sl_raft_log_first(&f.log), 51);
    assert_int_equal(f.log.last, 50);
    assert_int_equal(f.log.n_runs, 0);
    assert_int_equal(f.log.n_cached, 0);
    assert_int_equal(f.log.cache_bytes, 0);
    assert_int_equal(sl_raft_log_term(&f.log, 50), 7);
    assert_int_equal(sl_raft_log_term(&f.log, 2), 0);
    /* It takes entries after the snapshot again. */
    struct sl_raft_entry e = {51, 7, SL_RAFT_ENTRY_NORMAL, payload(51, 16)};
    assert_int_equal(sl_raft_log_reserve(&f.log, 1, 1), SL_OK);
    sl_raft_log_append(&f.log, &e);
    sl_buf_unref(e.data);
    assert_int_equal(sl_raft_log_term(&f.log, 51), 7);
    sl_raft_log_check(&f.log, true);
    sl_raft_log_close(&f.log);
    sim_disk_free(&f.disk); /* the disk no longer matches the log */
}

/* ---- the cache ----------------------------------------------------------------------------- */

static void test_log_evict_stops_at_the_given_index(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 10; k++) {
        append(&f, 1, 10);
    }
    sl_raft_log_evict(&f.log, 5, 0); /* over any budget, but only up to index 5 */
    assert_int_equal(cache_first(&f.log), 6);
    assert_int_equal(f.log.n_cached, 5);
    assert_int_equal(f.log.cache_bytes, 5 * (10 + SL_RAFT_CACHE_ENTRY_BYTES));
    assert_null(sl_raft_log_cached(&f.log, 5));
    assert_non_null(sl_raft_log_cached(&f.log, 6));
    logfx_close(&f);
}

static void test_log_evict_stops_within_the_byte_budget(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 10; k++) {
        append(&f, 1, 10);
    }
    size_t entry = 10 + SL_RAFT_CACHE_ENTRY_BYTES;
    sl_raft_log_evict(&f.log, 10, 10 * entry); /* exactly at the budget: nothing to do */
    assert_int_equal(f.log.n_cached, 10);
    sl_raft_log_evict(&f.log, 10, 3 * entry);
    assert_int_equal(f.log.n_cached, 3);
    assert_int_equal(f.log.cache_bytes, 3 * entry);
    assert_int_equal(cache_first(&f.log), 8);
    logfx_close(&f);
}

static void test_log_evict_counts_empty_entries_and_shrinks_the_ring(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 1000; k++) {
        append(&f, 1, 8); /* small payloads still cost their slot */
    }
    size_t grown = f.log.ring_cap;
    assert_true(grown >= 1000);
    sl_raft_log_evict(&f.log, 1000, 10 * (8 + SL_RAFT_CACHE_ENTRY_BYTES));
    assert_int_equal(f.log.n_cached, 10);
    assert_true(f.log.ring_cap < grown);
    assert_true(f.log.ring_cap >= f.log.n_cached);
    assert_non_null(sl_raft_log_cached(&f.log, 1000)); /* the newest survive the move */
    assert_int_equal(payload_tag(sl_raft_log_cached(&f.log, 991)->data), 991);
    logfx_close(&f);
}

static void test_log_read_serves_cached_entries_without_storage(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_terms(&f, (uint64_t[]){1, 1, 2, 2}, 4);
    struct sl_raft_entry out[4];
    size_t n = 0;
    assert_int_equal(sl_raft_log_read(&f.log, 2, 4, SIZE_MAX, out, 4, &n), SL_OK);
    assert_int_equal(n, 3);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(out[k].index, 2 + k);
        assert_int_equal(payload_tag(out[k].data), 2 + k);
    }
    assert_int_equal(out[2].term, 2);
    assert_int_equal(f.disk.reads, 0);
    free_entries(out, n);
    logfx_close(&f);
}

static void test_log_read_fetches_evicted_entries_from_storage(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 8; k++) {
        append(&f, 1 + k / 4, 10);
    }
    sl_raft_log_evict(&f.log, 5, 0); /* 1..5 evicted, 6..8 cached */
    struct sl_raft_entry out[8];
    size_t n = 0;
    assert_int_equal(sl_raft_log_read(&f.log, 3, 8, SIZE_MAX, out, 8, &n), SL_OK);
    assert_int_equal(n, 6);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(out[k].index, 3 + k);
        assert_int_equal(out[k].term, sl_raft_log_term(&f.log, 3 + k));
        assert_int_equal(payload_tag(out[k].data), 3 + k);
    }
    /* Storage was asked for the evicted part only. */
    assert_int_equal(f.disk.reads, 1);
    assert_int_equal(f.disk.read_lo, 3);
    assert_int_equal(f.disk.read_hi, 5);
    free_entries(out, n);
    logfx_close(&f);
}

static void test_log_read_stops_at_the_byte_budget_with_at_least_one_entry(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 6; k++) {
        append(&f, 1, 16);
    }
    struct sl_raft_entry out[6];
    size_t n = 0;
    assert_int_equal(sl_raft_log_read(&f.log, 1, 6, 48, out, 6, &n), SL_OK);
    assert_int_equal(n, 3); /* 3 x 16 bytes reach the budget */
    free_entries(out, n);
    assert_int_equal(sl_raft_log_read(&f.log, 1, 6, 1, out, 6, &n), SL_OK);
    assert_int_equal(n, 1); /* one entry even when it alone is over the budget */
    free_entries(out, n);
    assert_int_equal(sl_raft_log_read(&f.log, 1, 6, SIZE_MAX, out, 2, &n), SL_OK);
    assert_int_equal(n, 2); /* out_max */
    free_entries(out, n);
    logfx_close(&f);
}

static void test_log_read_rejects_storage_returning_wrong_indexes(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    for (int k = 0; k < 6; k++) {
        append(&f, 1, 16);
    }
    sl_raft_log_evict(&f.log, 6, 0);
    f.disk.corrupt = true;
    struct sl_raft_entry out[6];
    size_t n = 99;
    assert_int_equal(sl_raft_log_read(&f.log, 2, 4, SIZE_MAX, out, 6, &n), SL_ECORRUPT);
    assert_int_equal(f.disk.reads, 1);
    /* The payload references storage handed over were dropped (the sanitizer build checks). */
    f.disk.corrupt = false;
    logfx_close(&f);
}

static void test_log_read_passes_on_a_storage_error(void **state)
{
    (void)state;
    struct logfx f;
    logfx_init(&f, 0, 0);
    append_uncached_terms(&f, (uint64_t[]){1, 1, 1}, 3);
    f.disk.fail = SL_EIO;
    struct sl_raft_entry out[3];
    size_t n = 0;
    assert_int_equal(sl_raft_log_read(&f.log, 1, 3, SIZE_MAX, out, 3, &n), SL_EIO);
    f.disk.fail = 0;
    logfx_close(&f);
}

/* ---- configurations ------------------------------------------------------------------------ */

static struct sl_raft_config sample_config(void)
{
    struct sl_raft_config c = config_voters(0);
    config_add(&c, 1, SL_RAFT_VOTER);
    config_add(&c, UINT64_MAX, SL_RAFT_VOTER);
    config_add(&c, 0x0102030405060708ull, SL_RAFT_VOTER);
    config_add(&c, 42, SL_RAFT_LEARNER);
    return c;
}

/* The encoding of sample_config(), copied into `bytes` (5 + 9 * 4 bytes). */
static size_t sample_bytes(unsigned char *bytes)
{
    struct sl_raft_config c = sample_config();
    struct sl_buf *b = NULL;
    assert_int_equal(sl_raft_config_encode(&c, &b), SL_OK);
    size_t len = b->len;
    memcpy(bytes, b->data, len);
    sl_buf_unref(b);
    return len;
}

static void test_config_round_trips_through_its_encoding(void **state)
{
    (void)state;
    struct sl_raft_config c = sample_config(), d;
    struct sl_buf *b = NULL;
    assert_int_equal(sl_raft_config_encode(&c, &b), SL_OK);
    assert_int_equal(b->len, 5 + 9 * 4);
    assert_int_equal(b->data[0], SL_RAFT_CONFIG_VERSION);
    assert_int_equal(sl_raft_config_decode(b->data, b->len, &d), SL_OK);
    assert_int_equal(d.n, c.n);
    for (uint32_t i = 0; i < c.n; i++) {
        assert_int_equal(d.members[i].id, c.members[i].id);
        assert_int_equal(d.members[i].role, c.members[i].role);
    }
    sl_buf_unref(b);
}

static void test_config_decode_rejects_an_unknown_version(void **state)
{
    (void)state;
    unsigned char bytes[64];
    size_t len = sample_bytes(bytes);
    struct sl_raft_config d;
    bytes[0] = SL_RAFT_CONFIG_VERSION + 1;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
    bytes[0] = 0;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
}

static void test_config_decode_rejects_a_wrong_length(void **state)
{
    (void)state;
    unsigned char bytes[64];
    size_t len = sample_bytes(bytes);
    struct sl_raft_config d;
    assert_int_equal(sl_raft_config_decode(bytes, len - 1, &d), SL_EINVAL);
    assert_int_equal(sl_raft_config_decode(bytes, len + 1, &d), SL_EINVAL);
    assert_int_equal(sl_raft_config_decode(bytes, 4, &d), SL_EINVAL);
    assert_int_equal(sl_raft_config_decode(bytes, 0, &d), SL_EINVAL);
    bytes[1] = 3; /* says 3 members, carries 4 */
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
}

static void test_config_decode_rejects_more_than_members_max(void **state)
{
    (void)state;
    struct sl_raft_config c = config_voters(SL_RAFT_MEMBERS_MAX);
    struct sl_buf *b = NULL;
    assert_int_equal(sl_raft_config_encode(&c, &b), SL_OK);
    /* One more member, well formed, with the count and length to match. */
    unsigned char bytes[5 + 9 * (SL_RAFT_MEMBERS_MAX + 1)];
    memcpy(bytes, b->data, b->len);
    sl_buf_unref(b);
    unsigned char *extra = bytes + 5 + 9 * SL_RAFT_MEMBERS_MAX;
    memset(extra, 0, 9);
    extra[0] = 99;
    extra[8] = SL_RAFT_VOTER;
    bytes[1] = SL_RAFT_MEMBERS_MAX + 1;
    struct sl_raft_config d;
    assert_int_equal(sl_raft_config_decode(bytes, sizeof(bytes), &d), SL_EINVAL);
    /* Exactly SL_RAFT_MEMBERS_MAX is fine. */
    bytes[1] = SL_RAFT_MEMBERS_MAX;
    assert_int_equal(sl_raft_config_decode(bytes, sizeof(bytes) - 9, &d), SL_OK);
    assert_int_equal(d.n, SL_RAFT_MEMBERS_MAX);
}

static void test_config_decode_rejects_member_id_zero(void **state)
{
    (void)state;
    unsigned char bytes[64];
    size_t len = sample_bytes(bytes);
    memset(bytes + 5 + 9 * 2, 0, 8); /* third member's id */
    struct sl_raft_config d;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
}

static void test_config_decode_rejects_duplicate_ids(void **state)
{
    (void)state;
    unsigned char bytes[64];
    size_t len = sample_bytes(bytes);
    memcpy(bytes + 5 + 9 * 3, bytes + 5, 8); /* fourth member takes the first's id */
    struct sl_raft_config d;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
}

static void test_config_decode_rejects_an_unknown_role(void **state)
{
    (void)state;
    unsigned char bytes[64];
    size_t len = sample_bytes(bytes);
    struct sl_raft_config d;
    bytes[5 + 9 * 1 + 8] = 3;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
    bytes[5 + 9 * 1 + 8] = 0;
    assert_int_equal(sl_raft_config_decode(bytes, len, &d), SL_EINVAL);
}

/* A history: {1,2,3} at the snapshot (index 0), + learner 4 at 5, 4 promoted at 9. */
static void sample_history(struct sl_raft_config_history *h, struct sl_raft_config *c)
{
    c[0] = config_voters(3);
    c[1] = c[0];
    config_add(&c[1], 4, SL_RAFT_LEARNER);
    c[2] = config_voters(4);
    assert_int_equal(sl_raft_history_init(h, 0, &c[0]), SL_OK);
    assert_int_equal(sl_raft_history_reserve(h, 2), SL_OK);
    sl_raft_history_push(h, 5, &c[1]);
    sl_raft_history_push(h, 9, &c[2]);
}

static void test_history_at_finds_the_configuration_in_force(void **state)
{
    (void)state;
    struct sl_raft_config_history h;
    struct sl_raft_config c[3];
    sample_history(&h, c);
    assert_int_equal(sl_raft_history_at(&h, 0)->index, 0);
    assert_int_equal(sl_raft_history_at(&h, 4)->index, 0);
    assert_int_equal(sl_raft_history_at(&h, 5)->index, 5);
    assert_int_equal(sl_raft_history_at(&h, 8)->config.n, 4);
    assert_int_equal(sl_raft_history_at(&h, 9)->index, 9);
    assert_int_equal(sl_raft_history_at(&h, 1000)->index, 9);
    assert_int_equal(sl_raft_history_current(&h)->index, 9);
    assert_int_equal(sl_raft_config_voters(&sl_raft_history_current(&h)->config), 4);
    sl_raft_history_close(&h);
}

static void test_history_truncate_undoes_configurations_from_an_index(void **state)
{
    (void)state;
    struct sl_raft_config_history h;
    struct sl_raft_config c[3];
    sample_history(&h, c);
    assert_false(sl_raft_history_truncate(&h, 10)); /* nothing at or after 10 */
    assert_int_equal(h.n, 3);
    assert_true(sl_raft_history_truncate(&h, 9));
    assert_int_equal(sl_raft_history_current(&h)->index, 5);
    assert_true(sl_raft_history_truncate(&h, 1));
    assert_int_equal(sl_raft_history_current(&h)->index, 0); /* the snapshot's stays */
    assert_int_equal(h.n, 1);
    sl_raft_history_close(&h);
}

static void test_history_compact_keeps_the_configuration_in_force_at_the_snapshot(void **state)
{
    (void)state;
    struct sl_raft_config_history h;
    struct sl_raft_config c[3];
    sample_history(&h, c);
    sl_raft_history_compact(&h, 4); /* 0 is still in force at 4 */
    assert_int_equal(h.n, 3);
    sl_raft_history_compact(&h, 7); /* 5 is in force at 7: 0 goes */
    assert_int_equal(h.n, 2);
    assert_int_equal(h.items[0].index, 5);
    assert_int_equal(sl_raft_history_at(&h, 7)->config.n, 4);
    sl_raft_history_compact(&h, 9);
    assert_int_equal(h.n, 1);
    assert_int_equal(h.items[0].index, 9);
    sl_raft_history_close(&h);
}

static void test_history_reset_keeps_only_the_snapshot_configuration(void **state)
{
    (void)state;
    struct sl_raft_config_history h;
    struct sl_raft_config c[3];
    sample_history(&h, c);
    struct sl_raft_config s = config_voters(5);
    sl_raft_history_reset(&h, 20, &s);
    assert_int_equal(h.n, 1);
    assert_int_equal(sl_raft_history_current(&h)->index, 20);
    assert_int_equal(sl_raft_history_current(&h)->config.n, 5);
    sl_raft_history_close(&h);
}

static void test_quorum_is_a_majority_of_voters_only(void **state)
{
    (void)state;
    const uint32_t expect[] = {0, 1, 2, 2, 3, 3, 4, 4};
    for (uint32_t n = 1; n <= 7; n++) {
        struct sl_raft_config c = config_voters(n);
        assert_int_equal(sl_raft_config_voters(&c), n);
        assert_int_equal(sl_raft_config_quorum(&c), expect[n]);
        config_add(&c, 100, SL_RAFT_LEARNER); /* learners change nothing */
        config_add(&c, 101, SL_RAFT_LEARNER);
        assert_int_equal(sl_raft_config_voters(&c), n);
        assert_int_equal(sl_raft_config_quorum(&c), expect[n]);
        assert_true(sl_raft_config_is_voter(&c, n));
        assert_false(sl_raft_config_is_voter(&c, 100));
        assert_false(sl_raft_config_is_voter(&c, 999));
        assert_non_null(sl_raft_config_find(&c, 101));
        assert_null(sl_raft_config_find(&c, 999));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_starts_empty_after_its_snapshot),
        cmocka_unit_test(test_log_term_runs_record_each_term_change_once),
        cmocka_unit_test(test_log_term_lookup_finds_the_term_of_every_index),
        cmocka_unit_test(test_log_term_at_snapshot_index_is_the_snapshot_term),
        cmocka_unit_test(test_log_term_of_compacted_or_future_index_is_zero),
        cmocka_unit_test(test_log_term_first_and_last_bound_a_term),
        cmocka_unit_test(test_log_truncate_drops_cached_suffix_and_its_runs),
        cmocka_unit_test(test_log_truncate_drops_uncached_entries),
        cmocka_unit_test(test_log_compact_drops_prefix_and_keeps_terms_after_it),
        cmocka_unit_test(test_log_compact_at_a_term_boundary_drops_the_whole_run),
        cmocka_unit_test(test_log_compact_at_last_index_leaves_an_empty_log),
        cmocka_unit_test(test_log_reset_restarts_after_a_snapshot),
        cmocka_unit_test(test_log_evict_stops_at_the_given_index),
        cmocka_unit_test(test_log_evict_stops_within_the_byte_budget),
        cmocka_unit_test(test_log_evict_counts_empty_entries_and_shrinks_the_ring),
        cmocka_unit_test(test_log_read_serves_cached_entries_without_storage),
        cmocka_unit_test(test_log_read_fetches_evicted_entries_from_storage),
        cmocka_unit_test(test_log_read_stops_at_the_byte_budget_with_at_least_one_entry),
        cmocka_unit_test(test_log_read_rejects_storage_returning_wrong_indexes),
        cmocka_unit_test(test_log_read_passes_on_a_storage_error),
        cmocka_unit_test(test_config_round_trips_through_its_encoding),
        cmocka_unit_test(test_config_decode_rejects_an_unknown_version),
        cmocka_unit_test(test_config_decode_rejects_a_wrong_length),
        cmocka_unit_test(test_config_decode_rejects_more_than_members_max),
        cmocka_unit_test(test_config_decode_rejects_member_id_zero),
        cmocka_unit_test(test_config_decode_rejects_duplicate_ids),
        cmocka_unit_test(test_config_decode_rejects_an_unknown_role),
        cmocka_unit_test(test_history_at_finds_the_configuration_in_force),
        cmocka_unit_test(test_history_truncate_undoes_configurations_from_an_index),
        cmocka_unit_test(test_history_compact_keeps_the_configuration_in_force_at_the_snapshot),
        cmocka_unit_test(test_history_reset_keeps_only_the_snapshot_configuration),
        cmocka_unit_test(test_quorum_is_a_majority_of_voters_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
