/* test_it_mutations.c — damaged requests never take a node down: valid requests of every
 * operation, packed, then cut short or with bytes flipped (a fixed seed, a bounded count), are
 * each answered with something that decodes or dropped with the connection, and the node still
 * serves a valid request afterwards. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#ifndef MUTATIONS
#define MUTATIONS 3000
#endif

static uint64_t rng = 0x5eed5eed12345678ull;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A valid request of each kind, against stream "m". */
static size_t pack_sample(int kind, uint8_t *buf, size_t cap)
{
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__CreateStreamRequest cs = SLUICE__CREATE_STREAM_REQUEST__INIT;
    Sluice__PutRecordRequest pr = SLUICE__PUT_RECORD_REQUEST__INIT;
    Sluice__PutRecordsRequestEntry e = SLUICE__PUT_RECORDS_REQUEST_ENTRY__INIT;
    Sluice__PutRecordsRequestEntry *list[3] = {&e, &e, &e};
    Sluice__PutRecordsRequest prs = SLUICE__PUT_RECORDS_REQUEST__INIT;
    Sluice__GetShardIteratorRequest gi = SLUICE__GET_SHARD_ITERATOR_REQUEST__INIT;
    Sluice__ListShardsRequest ls = SLUICE__LIST_SHARDS_REQUEST__INIT;
    Sluice__DescribeStreamRequest ds = SLUICE__DESCRIBE_STREAM_REQUEST__INIT;
    Sluice__GetRecordsRequest gr = SLUICE__GET_RECORDS_REQUEST__INIT;
    rq.has_request_id = true;
    rq.request_id = 7;
    switch (kind) {
    case 0:
        cs.stream_name = "m2";
        cs.has_shard_count = true;
        cs.shard_count = 1;
        rq.op_case = SLUICE__REQUEST__OP_CREATE_STREAM;
        rq.create_stream = &cs;
        break;
    case 1:
        pr.stream_name = "m";
        pr.partition_key = "key";
        pr.has_data = true;
        pr.data.data = (uint8_t *)"data";
        pr.data.len = 4;
        pr.explicit_hash_key = "12345";
        rq.op_case = SLUICE__REQUEST__OP_PUT_RECORD;
        rq.put_record = &pr;
        break;
    case 2:
        e.partition_key = "k";
        e.has_data = true;
        e.data.data = (uint8_t *)"xyz";
        e.data.len = 3;
        prs.stream_name = "m";
        prs.n_records = 3;
        prs.records = list;
        rq.op_case = SLUICE__REQUEST__OP_PUT_RECORDS;
        rq.put_records = &prs;
        break;
    case 3:
        gi.stream_name = "m";
        gi.shard_id = "shardId-000000000000";
        gi.has_shard_iterator_type = true;
        gi.shard_iterator_type = SLUICE__SHARD_ITERATOR_TYPE__AT_TIMESTAMP;
        gi.has_timestamp_ms = true;
        gi.timestamp_ms = 1;
        rq.op_case = SLUICE__REQUEST__OP_GET_SHARD_ITERATOR;
        rq.get_shard_iterator = &gi;
        break;
    case 4:
        ls.stream_name = "m";
        ls.has_max_results = true;
        ls.max_results = 1;
        rq.op_case = SLUICE__REQUEST__OP_LIST_SHARDS;
        rq.list_shards = &ls;
        break;
    case 5:
        ds.stream_name = "m";
        ds.exclusive_start_shard_id = "shardId-000000000000";
        rq.op_case = SLUICE__REQUEST__OP_DESCRIBE_STREAM;
        rq.describe_stream = &ds;
        break;
    default:
        gr.shard_iterator = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        gr.has_limit = true;
        gr.limit = 5;
        rq.op_case = SLUICE__REQUEST__OP_GET_RECORDS;
        rq.get_records = &gr;
        break;
    }
    size_t len = sluice__request__get_packed_size(&rq);
    assert_true(len <= cap);
    return sluice__request__pack(&rq, buf);
}

static void test_damaged_requests_never_take_the_node_down(void **state)
{
    struct th_node node;
    th_node_init(&node);
    th_node_start(&node);
    Sluice__Request rq = SLUICE__REQUEST__INIT;
    Sluice__CreateStreamRequest cs = SLUICE__CREATE_STREAM_REQUEST__INIT;
    cs.stream_name = "m";
    cs.has_shard_count = true;
    cs.shard_count = 2;
    rq.op_case = SLUICE__REQUEST__OP_CREATE_STREAM;
    rq.create_stream = &cs;
    Sluice__Response *resp = th_call(node.url, &rq);
    assert_non_null(resp);
    assert_int_equal(resp->error, 0);
    sluice__response__free_unpacked(resp, NULL);

    int answered = 0;
    for (int i = 0; i < MUTATIONS; i++) {
        uint8_t buf[512];
        size_t len = pack_sample((int)(next_random() % 7), buf, sizeof(buf));
        switch (next_random() % 3) {
        case 0: /* cut short */
            len = (size_t)(next_random() % len);
            break;
        case 1: /* one byte replaced */
            buf[next_random() % len] = (uint8_t)next_random();
            break;
        default: /* a few bits flipped */
            for (int k = 0; k < 3; k++) {
                buf[next_random() % len] ^= (uint8_t)(1u << (next_random() % 8));
            }
            break;
        }
        Sluice__Response *r = th_raw(node.url, buf, len);
        if (r) {
            answered++;
            sluice__response__free_unpacked(r, NULL);
        }
        /* DescribeLimits succeeds whatever the damaged requests did (a flipped field number can
         * turn a put into a valid DeleteStream of the same name, and it is carried out). */
        if (i % 500 == 499) {
            assert_true(th_answers(node.url));
        }
    }
    /* Every damaged request got an answer (none of them is large enough to be dropped). */
    assert_int_equal(answered, MUTATIONS);
    assert_true(th_answers(node.url));
    th_node_stop(&node);
    th_node_cleanup(&node);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_requests_never_take_the_node_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
