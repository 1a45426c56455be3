/* test_it_errors.c — a real sluiced answers bad requests with Kinesis errors that name the field
 * and value, and keeps serving on the same connection afterwards. Raw protobuf over NNG. */
#include "harness.h"

#include "core/shard/seqno.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct th_node node;

static Sluice__Response *create(const char *name, int shards)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__CreateStreamRequest r = SLUICE__CREATE_STREAM_REQUEST__INIT;
    r.stream_name = (char *)name;
    if (shards >= 0) {
        r.has_shard_count = true;
        r.shard_count = (uint32_t)shards;
    }
    rq.op_case = SLUICE__REQUEST__OP_CREATE_STREAM;
    rq.create_stream = &r;
    return th_call(node.url, &rq);
}

static Sluice__Response *put(const char *stream, const char *key, const void *data, size_t len,
                             const char *ehk)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__PutRecordRequest r = SLUICE__PUT_RECORD_REQUEST__INIT;
    r.stream_name = (char *)stream;
    r.partition_key = (char *)key;
    r.has_data = true;
    r.data.data = (uint8_t *)data;
    r.data.len = len;
    r.explicit_hash_key = (char *)ehk;
    rq.op_case = SLUICE__REQUEST__OP_PUT_RECORD;
    rq.put_record = &r;
    return th_call(node.url, &rq);
}

static void expect_error(Sluice__Response *resp, Sluice__ErrorCode code, const char *fragment)
{
    assert_non_null(resp);
    if (resp->error != code || !resp->error_message || !strstr(resp->error_message, fragment)) {
        fail_msg("expected error %d containing '%s', got %d: %s", code, fragment, resp->error,
                 resp->error_message ? resp->error_message : "(none)");
    }
    sluice__response__free_unpacked(resp, NULL);
}

static void expect_ok(Sluice__Response *resp)
{
    assert_non_null(resp);
    if (resp->error != SLUICE__ERROR_CODE__OK) {
        fail_msg("expected success, got %d: %s", resp->error, resp->error_message);
    }
    sluice__response__free_unpacked(resp, NULL);
}

static void wait_active(const char *name)
{
    for (int i = 0; i < 200; i++) {
        Sluice__Request rq = SLUICE__REQUEST__INIT;
        Sluice__DescribeStreamSummaryRequest r = SLUICE__DESCRIBE_STREAM_SUMMARY_REQUEST__INIT;
        r.stream_name = (char *)name;
        rq.op_case = SLUICE__REQUEST__OP_DESCRIBE_STREAM_SUMMARY;
        rq.describe_stream_summary = &r;
        Sluice__Response *resp = th_call(node.url, &rq);
        assert_non_null(resp);
        bool active = resp->error == 0 &&
                      resp->describe_stream_summary->stream_status == SLUICE__STREAM_STATUS__ACTIVE;
        sluice__response__free_unpacked(resp, NULL);
        if (active) {
            return;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("stream %s did not become ACTIVE within 10 s", name);
}

static int setup(void **state)
{
    th_node_init(&node);
    th_node_flag(&node, "--shard-limit=6");
    th_node_flag(&node, "--iterator-ttl-ms=1000");
    th_node_start(&node);
    expect_ok(create("errs", 2));
    wait_active("errs");
    return 0;
}

static int teardown(void **state)
{
    th_node_stop(&node);
    th_node_cleanup(&node);
    return 0;
}

static void assert_still_serving(void)
{
    expect_ok(put("errs", "k", "v", 1, NULL));
}

static void test_garbage_gets_serialization_error(void **state)
{
    const char garbage[] = "\xff\xff\xff\xff this is not protobuf";
    expect_error(th_raw(node.url, garbage, sizeof(garbage)), SLUICE__ERROR_CODE__SERIALIZATION,
                 "not a valid sluice.Request");
    assert_still_serving();
}

static void test_empty_request_names_no_operation(void **state)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    expect_error(th_call(node.url, &rq), SLUICE__ERROR_CODE__UNKNOWN_OPERATION, "no operation");
    assert_still_serving();
}

static void test_bad_stream_name_names_field_and_value(void **state)
{
    expect_error(create("bad name!", 1), SLUICE__ERROR_CODE__VALIDATION,
                 "Value 'bad name!' at 'streamName' failed to satisfy constraint");
    expect_error(create("ok", 0), SLUICE__ERROR_CODE__VALIDATION, "at 'shardCount'");
}

static void test_existing_stream_is_in_use(void **state)
{
    expect_error(create("errs", 1), SLUICE__ERROR_CODE__RESOURCE_IN_USE,
                 "Stream errs under account 000000000000 already exists.");
}

static void test_shard_limit_refuses_create(void **state)
{
    /* 2 shards exist, the limit is 6. */
    expect_error(create("too-big", 5), SLUICE__ERROR_CODE__LIMIT_EXCEEDED, "shard limit");
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__DescribeLimitsRequest r = SLUICE__DESCRIBE_LIMITS_REQUEST__INIT;
    rq.op_case = SLUICE__REQUEST__OP_DESCRIBE_LIMITS;
    rq.describe_limits = &r;
    Sluice__Response *resp = th_call(node.url, &rq);
    assert_non_null(resp);
    assert_int_equal(resp->describe_limits->shard_limit, 6);
    assert_int_equal(resp->describe_limits->open_shard_count, 2);
    sluice__response__free_unpacked(resp, NULL);
}

static void test_unknown_stream_not_found(void **state)
{
    expect_error(put("nope", "k", "v", 1, NULL), SLUICE__ERROR_CODE__RESOURCE_NOT_FOUND,
                 "Stream nope under account 000000000000 not found.");
}

static void test_oversized_record_is_refused(void **state)
{
    size_t len = 1048576;
    char *big = calloc(1, len);
    assert_non_null(big);
    expect_error(put("errs", "k", big, len, NULL), SLUICE__ERROR_CODE__VALIDATION, "at 'data'");
    free(big);
    assert_still_serving();
}

static void test_partition_key_too_long(void **state)
{
    char key[300];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    expect_error(put("errs", key, "v", 1, NULL), SLUICE__ERROR_CODE__VALIDATION,
                 "at 'partitionKey' failed to satisfy constraint: Member must have length less "
                 "than or equal to 256");
}

static void test_explicit_hash_key_out_of_range(void **state)
{
    expect_error(put("errs", "k", "v", 1, "340282366920938463463374607431768211456"),
                 SLUICE__ERROR_CODE__INVALID_ARGUMENT, "Invalid ExplicitHashKey");
}

static void test_put_records_over_500_entries(void **state)
{
    Sluice__PutRecordsRequestEntry e = SLUICE__PUT_RECORDS_REQUEST_ENTRY__INIT;
    e.partition_key = "k";
    e.has_data = true;
    e.data.data = (uint8_t *)"v";
    e.data.len = 1;
    Sluice__PutRecordsRequestEntry *list[501];
    for (int i = 0; i < 501; i++) {
        list[i] = &e;
    }
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__PutRecordsRequest r = SLUICE__PUT_RECORDS_REQUEST__INIT;
    r.stream_name = "errs";
    r.n_records = 501;
    r.records = list;
    rq.op_case = SLUICE__REQUEST__OP_PUT_RECORDS;
    rq.put_records = &r;
    expect_error(th_call(node.url, &rq), SLUICE__ERROR_CODE__VALIDATION, "at 'records'");
    assert_still_serving();
}

static Sluice__Response *get_iterator(const char *shard, Sluice__ShardIteratorType type,
                                      const char *seq)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__GetShardIteratorRequest r = SLUICE__GET_SHARD_ITERATOR_REQUEST__INIT;
    r.stream_name = "errs";
    r.shard_id = (char *)shard;
    r.has_shard_iterator_type = true;
    r.shard_iterator_type = type;
    r.starting_sequence_number = (char *)seq;
    rq.op_case = SLUICE__REQUEST__OP_GET_SHARD_ITERATOR;
    rq.get_shard_iterator = &r;
    return th_call(node.url, &rq);
}

static Sluice__Response *get_records(const char *iterator)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__GetRecordsRequest r = SLUICE__GET_RECORDS_REQUEST__INIT;
    r.shard_iterator = (char *)iterator;
    rq.op_case = SLUICE__REQUEST__OP_GET_RECORDS;
    rq.get_records = &r;
    return th_call(node.url, &rq);
}

static void test_iterator_errors(void **state)
{
    expect_error(
        get_iterator("shardId-000000000009", SLUICE__SHARD_ITERATOR_TYPE__TRIM_HORIZON, NULL),
        SLUICE__ERROR_CODE__RESOURCE_NOT_FOUND, "Shard shardId-000000000009 in stream errs");
    expect_error(
        get_iterator("shardId-000000000000", SLUICE__SHARD_ITERATOR_TYPE__AT_SEQUENCE_NUMBER, NULL),
        SLUICE__ERROR_CODE__INVALID_ARGUMENT, "StartingSequenceNumber");
    expect_error(get_records("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                 SLUICE__ERROR_CODE__INVALID_ARGUMENT, "Invalid ShardIterator.");
}

static void test_sequence_number_beyond_the_log_is_refused(void **state)
{
    /* The shard's own starting number, moved to the largest position a number can hold. */
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__DescribeStreamRequest r = SLUICE__DESCRIBE_STREAM_REQUEST__INIT;
    r.stream_name = "errs";
    rq.op_case = SLUICE__REQUEST__OP_DESCRIBE_STREAM;
    rq.describe_stream = &r;
    Sluice__Response *resp = th_call(node.url, &rq);
    assert_non_null(resp);
    assert_int_equal(resp->error, 0);
    const char *start =
        resp->describe_stream->shards[0]->sequence_number_range->starting_sequence_number;
    struct sl_seqno sn;
    assert_int_equal(sl_seqno_parse(start, strlen(start), &sn), 0);
    sluice__response__free_unpacked(resp, NULL);
    sn.seq_ix = SL_SEQIX_MAX;
    char seq[SL_SEQNO_STR_MAX];
    sl_seqno_format(&sn, seq);
    expect_error(get_iterator("shardId-000000000000",
                              SLUICE__SHARD_ITERATOR_TYPE__AFTER_SEQUENCE_NUMBER, seq),
                 SLUICE__ERROR_CODE__INVALID_ARGUMENT, "did not come from this shard's log");
    assert_still_serving();
}

static void test_missing_member_is_named_null(void **state)
{
    expect_error(
        put(NULL, "k", "v", 1, NULL), SLUICE__ERROR_CODE__VALIDATION,
        "Value null at 'streamName' failed to satisfy constraint: Member must not be null");
}

static void test_iterator_expires(void **state)
{
    Sluice__Response *resp =
        get_iterator("shardId-000000000000", SLUICE__SHARD_ITERATOR_TYPE__TRIM_HORIZON, NULL);
    assert_non_null(resp);
    assert_int_equal(resp->error, 0);
    char *it = strdup(resp->get_shard_iterator->shard_iterator);
    sluice__response__free_unpacked(resp, NULL);
    expect_ok(get_records(it)); /* fresh: fine */
    /* The node runs with a 1 s iterator lifetime: poll until the same iterator is refused. */
    uint64_t deadline = th_now_ms() + 10000;
    for (;;) {
        resp = get_records(it);
        assert_non_null(resp);
        if (resp->error == SLUICE__ERROR_CODE__EXPIRED_ITERATOR) {
            assert_non_null(strstr(resp->error_message, "Iterator expired."));
            sluice__response__free_unpacked(resp, NULL);
            break;
        }
        assert_int_equal(resp->error, 0);
        sluice__response__free_unpacked(resp, NULL);
        assert_true(th_now_ms() < deadline);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_gets_serialization_error),
        cmocka_unit_test(test_empty_request_names_no_operation),
        cmocka_unit_test(test_bad_stream_name_names_field_and_value),
        cmocka_unit_test(test_existing_stream_is_in_use),
        cmocka_unit_test(test_shard_limit_refuses_create),
        cmocka_unit_test(test_unknown_stream_not_found),
        cmocka_unit_test(test_oversized_record_is_refused),
        cmocka_unit_test(test_partition_key_too_long),
        cmocka_unit_test(test_explicit_hash_key_out_of_range),
        cmocka_unit_test(test_put_records_over_500_entries),
        cmocka_unit_test(test_iterator_errors),
        cmocka_unit_test(test_sequence_number_beyond_the_log_is_refused),
        cmocka_unit_test(test_missing_member_is_named_null),
        cmocka_unit_test(test_iterator_expires),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
