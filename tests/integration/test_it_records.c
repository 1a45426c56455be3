/* test_it_records.c — records through a real sluiced with libsluice: 100,000 records through
 * the producer read back with every iterator type; kill -9 in the middle of a load loses no
 * acknowledged record; retention trims the front of the log and TRIM_HORIZON follows it. */
#include "harness.h"

#include "core/shard/seqno.h"
#include "sluice/sluice.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 4

/* What the producer acknowledged, by the index of the record. */
struct acked {
    char shard_id[SLUICE_SHARD_ID_MAX + 1];
    char seq[SLUICE_SEQUENCE_NUMBER_MAX + 1];
    atomic_int state; /* 0 pending, 1 acknowledged, 2 failed */
};

struct load {
    struct acked *acks;
    size_t n;
    atomic_size_t n_acked;
    atomic_size_t n_failed;
};

static void on_result(void *arg, const struct sluice_producer_result *r)
{
    struct load *l = arg;
    struct acked *a = &l->acks[(size_t)(uintptr_t)r->user_ctx];
    if (r->error == 0) {
        snprintf(a->shard_id, sizeof(a->shard_id), "%s", r->shard_id);
        snprintf(a->seq, sizeof(a->seq), "%s", r->sequence_number);
        atomic_store(&a->state, 1);
        atomic_fetch_add(&l->n_acked, 1);
    } else {
        atomic_store(&a->state, 2);
        atomic_fetch_add(&l->n_failed, 1);
    }
}

static void record_data(size_t i, char *buf, size_t len)
{
    /* 100 bytes: the index, then filler that depends on it. */
    int n = snprintf(buf, len, "record-%08zu-", i);
    for (size_t k = (size_t)n; k < len; k++) {
        buf[k] = (char)('a' + (i + k) % 26);
    }
}

static void record_key(size_t i, char *key, size_t len)
{
    snprintf(key, len, "key-%zu", i % 997);
}

static struct sluice_client *client_for(const struct th_node *n, uint32_t timeout_ms)
{
    struct sluice_options o;
    sluice_options_init(&o);
    o.request_timeout_ms = timeout_ms;
    o.max_retries = 20;
    struct sluice_client *c;
    assert_int_equal(sluice_client_new(n->url, &o, &c), 0);
    return c;
}

static void make_stream(struct sluice_client *c, const char *name, uint32_t shards)
{
    int rv = sluice_create_stream(c, name, shards, SLUICE_PROVISIONED);
    if (rv != 0) {
        fail_msg("create-stream %s: %s", name, sluice_errmsg());
    }
    assert_int_equal(sluice_wait_active(c, name, 20000), 0);
}

/* Puts records [from, to) through a producer; returns when all are acknowledged or failed. */
static void produce(struct sluice_client *c, const char *stream, struct load *l, size_t from,
                    size_t to)
{
    struct sluice_producer_options po;
    sluice_producer_options_init(&po);
    po.callback = on_result;
    po.callback_arg = l;
    po.put_block_ms = 60000;
    po.attempts_max = 30;
    struct sluice_producer *p;
    assert_int_equal(sluice_producer_new(c, &po, &p), 0);
    for (size_t i = from; i < to; i++) {
        char data[100], key[32];
        record_data(i, data, sizeof(data));
        record_key(i, key, sizeof(key));
        struct sluice_record_in r = {.partition_key = key, .data = data, .data_len = sizeof(data)};
        int rv = sluice_producer_put(p, stream, &r, (void *)(uintptr_t)i);
        if (rv != 0) {
            fail_msg("producer put %zu: %s", i, sluice_errmsg());
        }
    }
    sluice_producer_close(p);
}

/* Every record of one shard, from TRIM_HORIZON to the tip. */
struct shard_read {
    size_t n, cap;
    char (*seq)[SLUICE_SEQUENCE_NUMBER_MAX + 1];
    size_t *index; /* record index parsed from the data */
    int64_t *arrival_ms;
};

static void shard_read_free(struct shard_read *s)
{
    free(s->seq);
    free(s->index);
    free(s->arrival_ms);
    memset(s, 0, sizeof(*s));
}

static size_t index_of(const struct sluice_record *r)
{
    assert_int_equal(r->data_len, 100);
    char head[16];
    memcpy(head, (const char *)r->data + 7, 8);
    head[8] = '\0';
    return (size_t)strtoull(head, NULL, 10);
}

/* Reads `shard` from `pos` until caught up; appends to `out`. */
static void read_shard(struct sluice_client *c, const char *stream, const char *shard,
                       const struct sluice_position *pos, uint32_t limit, struct shard_read *out)
{
    struct sluice_reader_options ro = {
        .stream = stream, .shard_id = shard, .start = *pos, .limit = limit};
    struct sluice_reader *rd;
    if (sluice_reader_open(c, &ro, &rd) != 0) {
        fail_msg("reader on %s: %s", shard, sluice_errmsg());
    }
    for (int pages = 0; pages < 100000; pages++) {
        struct sluice_records *page;
        if (sluice_reader_next(rd, &page) != 0) {
            fail_msg("reading %s: %s", shard, sluice_errmsg());
        }
        for (size_t i = 0; i < page->n_records; i++) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->seq = realloc(out->seq, out->cap * sizeof(*out->seq));
                out->index = realloc(out->index, out->cap * sizeof(*out->index));
                out->arrival_ms = realloc(out->arrival_ms, out->cap * sizeof(*out->arrival_ms));
                assert_true(out->seq && out->index && out->arrival_ms);
            }
            const struct sluice_record *r = &page->records[i];
            snprintf(out->seq[out->n], sizeof(out->seq[0]), "%s", r->sequence_number);
            out->index[out->n] = index_of(r);
            out->arrival_ms[out->n] = r->arrival_timestamp_ms;
            char expect[100], key[32];
            record_data(out->index[out->n], expect, sizeof(expect));
            record_key(out->index[out->n], key, sizeof(key));
            assert_memory_equal(r->data, expect, sizeof(expect));
            assert_string_equal(r->partition_key, key);
            out->n++;
        }
        bool done = page->n_records == 0 && page->millis_behind_latest == 0;
        sluice_records_free(page);
        if (done) {
            break;
        }
    }
    sluice_reader_close(rd);
}

static int seq_cmp(const char *a, const char *b)
{
    return sl_seqno_cmp_str(a, strlen(a), b, strlen(b));
}

/* Within a shard, sequence numbers strictly increase. */
static void assert_increasing(const struct shard_read *s)
{
    for (size_t i = 1; i < s->n; i++) {
        if (seq_cmp(s->seq[i - 1], s->seq[i]) >= 0) {
            fail_msg("sequence numbers out of order at %zu: %s then %s", i, s->seq[i - 1],
                     s->seq[i]);
        }
    }
}

static void shard_name(int k, char *out)
{
    sprintf(out, "shardId-%012d", k);
}

/* Every acknowledged record is in its shard exactly once, with its sequence number. */
static void assert_acked_present_once(const struct load *l, struct shard_read reads[SHARDS])
{
    size_t *seen = calloc(l->n, sizeof(*seen));
    assert_non_null(seen);
    for (int k = 0; k < SHARDS; k++) {
        char shard[32];
        shard_name(k, shard);
        assert_increasing(&reads[k]);
        for (size_t i = 0; i < reads[k].n; i++) {
            size_t idx = reads[k].index[i];
            assert_true(idx < l->n);
            const struct acked *a = &l->acks[idx];
            if (atomic_load(&a->state) == 1 && strcmp(a->seq, reads[k].seq[i]) == 0) {
                assert_string_equal(a->shard_id, shard);
                seen[idx]++;
            }
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        if (atomic_load(&l->acks[i].state) == 1 && seen[i] != 1) {
            fail_msg("acknowledged record %zu (%s) found %zu times", i, l->acks[i].seq, seen[i]);
        }
    }
    free(seen);
}

static void test_producer_records_read_back_with_every_iterator_type(void **state)
{
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node, 10000);
    make_stream(c, "load", SHARDS);

    struct load l = {.n = 100000};
    l.acks = calloc(l.n, sizeof(*l.acks));
    assert_non_null(l.acks);
    produce(c, "load", &l, 0, l.n);
    assert_int_equal(atomic_load(&l.n_failed), 0);
    assert_int_equal(atomic_load(&l.n_acked), l.n);

    /* TRIM_HORIZON: every record of every shard, compared with what was acknowledged. */
    struct shard_read reads[SHARDS] = {0};
    size_t total = 0;
    for (int k = 0; k < SHARDS; k++) {
        char shard[32];
        shard_name(k, shard);
        struct sluice_position p = {.type = SLUICE_TRIM_HORIZON};
        read_shard(c, "load", shard, &p, 0, &reads[k]);
        total += reads[k].n;
        assert_true(reads[k].n > 0);
    }
    assert_int_equal(total, l.n);
    assert_acked_present_once(&l, reads);

    for (int k = 0; k < SHARDS; k++) {
        char shard[32];
        shard_name(k, shard);
        const struct shard_read *all = &reads[k];
        size_t mid = all->n / 2;

        /* AT_SEQUENCE_NUMBER starts at that record, AFTER_SEQUENCE_NUMBER just after it;
         * small pages exercise resuming inside a log entry. */
        struct shard_read at = {0}, after = {0}, ts = {0}, latest = {0};
        struct sluice_position p = {.type = SLUICE_AT_SEQUENCE_NUMBER,
                                    .sequence_number = all->seq[mid]};
        read_shard(c, "load", shard, &p, 7, &at);
        assert_int_equal(at.n, all->n - mid);
        assert_string_equal(at.seq[0], all->seq[mid]);
        p.type = SLUICE_AFTER_SEQUENCE_NUMBER;
        read_shard(c, "load", shard, &p, 1000, &after);
        assert_int_equal(after.n, all->n - mid - 1);
        assert_string_equal(after.seq[0], all->seq[mid + 1]);

        /* AT_TIMESTAMP: from the first record that arrived at or after the time. */
        int64_t t = all->arrival_ms[mid];
        size_t first = mid;
        while (first > 0 && all->arrival_ms[first - 1] >= t) {
            first--;
        }
        struct sluice_position pt = {.type = SLUICE_AT_TIMESTAMP, .timestamp_ms = t};
        read_shard(c, "load", shard, &pt, 0, &ts);
        assert_int_equal(ts.n, all->n - first);
        assert_string_equal(ts.seq[0], all->seq[first]);

        /* LATEST: nothing until a new record arrives, then exactly that record. */
        struct sluice_position pl = {.type = SLUICE_LATEST};
        char *it;
        assert_int_equal(sluice_get_shard_iterator(c, "load", shard, &pl, &it), 0);
        struct sluice_records *page;
        assert_int_equal(sluice_get_records(c, it, 0, &page), 0);
        assert_int_equal(page->n_records, 0);
        sluice_records_free(page);
        struct sluice_stream_description *d;
        assert_int_equal(sluice_describe_stream(c, "load", &d), 0);
        struct sluice_record_in r = {.partition_key = "late",
                                     .explicit_hash_key = d->shards[k].starting_hash_key,
                                     .data = "latest-record",
                                     .data_len = 13};
        struct sluice_put_record_result pr;
        assert_int_equal(sluice_put_record(c, "load", &r, NULL, &pr), 0);
        sluice_stream_description_free(d);
        assert_string_equal(pr.shard_id, shard);
        assert_int_equal(sluice_get_records(c, it, 0, &page), 0);
        assert_int_equal(page->n_records, 1);
        assert_string_equal(page->records[0].sequence_number, pr.sequence_number);
        assert_memory_equal(page->records[0].data, "latest-record", 13);
        sluice_records_free(page);
        sluice_free(it);
        (void)latest;
        shard_read_free(&at);
        shard_read_free(&after);
        shard_read_free(&ts);
    }
    for (int k = 0; k < SHARDS; k++) {
        shard_read_free(&reads[k]);
    }
    free(l.acks);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

struct producer_job {
    struct sluice_client *c;
    struct load *l;
};

static void *producer_main(void *arg)
{
    struct producer_job *j = arg;
    produce(j->c, "crash", j->l, 0, j->l->n);
    return NULL;
}

static void test_kill9_during_load_loses_no_acknowledged_record(void **state)
{
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node, 2000);
    make_stream(c, "crash", SHARDS);

    struct load l = {.n = 60000};
    l.acks = calloc(l.n, sizeof(*l.acks));
    assert_non_null(l.acks);
    struct producer_job job = {c, &l};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer_main, &job), 0);

    /* Kill the node once a third of the records are acknowledged, then bring it back: the
     * producer retries what was not acknowledged. */
    uint64_t deadline = th_now_ms() + 60000;
    while (atomic_load(&l.n_acked) < l.n / 3) {
        assert_true(th_now_ms() < deadline);
        nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    size_t acked_at_kill = atomic_load(&l.n_acked);
    th_node_kill9(&node);
    th_node_start(&node);
    pthread_join(t, NULL);
    assert_true(acked_at_kill < l.n);
    assert_int_equal(atomic_load(&l.n_acked) + atomic_load(&l.n_failed), l.n);

    struct shard_read reads[SHARDS] = {0};
    for (int k = 0; k < SHARDS; k++) {
        char shard[32];
        shard_name(k, shard);
        struct sluice_position p = {.type = SLUICE_TRIM_HORIZON};
        read_shard(c, "crash", shard, &p, 0, &reads[k]);
    }
    assert_acked_present_once(&l, reads);
    for (int k = 0; k < SHARDS; k++) {
        shard_read_free(&reads[k]);
    }
    free(l.acks);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void put_one(struct sluice_client *c, const char *stream, size_t i)
{
    char data[100], key[32];
    record_data(i, data, sizeof(data));
    record_key(i, key, sizeof(key));
    struct sluice_record_in r = {.partition_key = key, .data = data, .data_len = sizeof(data)};
    struct sluice_put_record_result pr;
    if (sluice_put_record(c, stream, &r, NULL, &pr) != 0) {
        fail_msg("put: %s", sluice_errmsg());
    }
}

static void test_retention_trims_old_records_and_trim_horizon_follows(void **state)
{
    /* One retention hour lasts 50 ms here, so the minimum retention (24 h) is 1.2 s. */
    struct th_node node;
    th_node_init(&node);
    th_node_flag(&node, "--retention-hour-ms=50");
    th_node_flag(&node, "--retention-check-ms=100");
    th_node_start(&node);
    struct sluice_client *c = client_for(&node, 10000);
    make_stream(c, "ret", 1);

    const size_t old_n = 200;
    for (size_t i = 0; i < old_n; i++) {
        put_one(c, "ret", i);
    }
    char *old_it;
    struct sluice_position p = {.type = SLUICE_TRIM_HORIZON};
    assert_int_equal(sluice_get_shard_iterator(c, "ret", "shardId-000000000000", &p, &old_it), 0);

    /* Keep writing new records until the oldest retained record is a new one (bounded). */
    size_t next = old_n;
    uint64_t deadline = th_now_ms() + 30000;
    for (;;) {
        put_one(c, "ret", next++);
        struct shard_read all = {0};
        read_shard(c, "ret", "shardId-000000000000", &p, 0, &all);
        bool trimmed = all.n > 0 && all.index[0] >= old_n;
        if (trimmed) {
            /* Nothing old is left, and what remains is in order and complete up to the tip. */
            for (size_t i = 0; i < all.n; i++) {
                assert_true(all.index[i] >= old_n);
                assert_int_equal(all.index[i], all.index[0] + i);
            }
            assert_int_equal(all.index[all.n - 1], next - 1);
            shard_read_free(&all);
            break;
        }
        shard_read_free(&all);
        assert_true(th_now_ms() < deadline);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    /* An iterator taken before the trim now starts at the trim horizon. */
    struct sluice_records *page;
    assert_int_equal(sluice_get_records(c, old_it, 0, &page), 0);
    assert_true(page->n_records > 0);
    assert_true(index_of(&page->records[0]) >= old_n);
    sluice_records_free(page);
    sluice_free(old_it);

    /* Retention changes are visible in the stream's summary. */
    assert_int_equal(sluice_increase_retention(c, "ret", 48), 0);
    struct sluice_stream_description *d;
    assert_int_equal(sluice_describe_stream_summary(c, "ret", &d), 0);
    assert_int_equal(d->retention_period_hours, 48);
    sluice_stream_description_free(d);
    assert_int_not_equal(sluice_decrease_retention(c, "ret", 72), 0);
    assert_int_equal(sluice_decrease_retention(c, "ret", 24), 0);

    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void test_acknowledged_records_are_readable_right_after_restart(void **state)
{
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node, 10000);
    make_stream(c, "restart", 1);
    /* The stored commit index may lag behind what was acknowledged (it is a hint), so a
     * restarted node serves only once its shards have applied their whole logs: every
     * acknowledged record is readable from its first answer on. */
    size_t put = 0;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 5; k++) {
            put_one(c, "restart", put++);
        }
        th_node_kill9(&node);
        th_node_start(&node);
        struct shard_read all = {0};
        struct sluice_position p = {.type = SLUICE_TRIM_HORIZON};
        read_shard(c, "restart", "shardId-000000000000", &p, 0, &all);
        if (all.n != put) {
            fail_msg("round %d: %zu records acknowledged, %zu readable after the restart", round,
                     put, all.n);
        }
        for (size_t i = 0; i < put; i++) {
            assert_int_equal(all.index[i], i);
        }
        shard_read_free(&all);
    }
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

static void test_deleted_name_is_free_once_wait_deleted_returns(void **state)
{
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    struct sluice_client *c = client_for(&node, 10000);
    for (int round = 0; round < 3; round++) {
        make_stream(c, "again", 2);
        put_one(c, "again", 0);
        assert_int_equal(sluice_delete_stream(c, "again", 0), 0);
        assert_int_equal(sluice_wait_deleted(c, "again", 20000), 0);
        struct sluice_stream_description *d = NULL;
        assert_int_equal(sluice_describe_stream_summary(c, "again", &d), SLUICE_ENOTFOUND);
    }
    /* A stream that never existed is deleted already. */
    assert_int_equal(sluice_wait_deleted(c, "never", 1000), 0);
    sluice_client_free(c);
    th_node_stop(&node);
    th_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_producer_records_read_back_with_every_iterator_type),
        cmocka_unit_test(test_kill9_during_load_loses_no_acknowledged_record),
        cmocka_unit_test(test_retention_trims_old_records_and_trim_horizon_follows),
        cmocka_unit_test(test_acknowledged_records_are_readable_right_after_restart),
        cmocka_unit_test(test_deleted_name_is_free_once_wait_deleted_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
