/* test_shard_batch.c — the record batch payload of shard log entries
 * (node/core/shard/batch.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/crc32c.h"
#include "core/errors.h"
#include "core/shard/batch.h"

#include <stdlib.h>
#include <string.h>

/* Encodes `n` records into a new heap payload (the caller frees it) of *len bytes. */
static uint8_t *encode(const struct sl_batch_record *r, size_t n, uint64_t arrival_ms, size_t *len)
{
    *len = sl_batch_size(r, n);
    uint8_t *p = malloc(*len);
    assert_non_null(p);
    sl_batch_encode(p, *len, arrival_ms, r, n);
    return p;
}

static void assert_records_equal(const struct sl_batch_record *a, const struct sl_batch_record *b)
{
    assert_int_equal(a->key_len, b->key_len);
    assert_memory_equal(a->key, b->key, a->key_len);
    assert_int_equal(a->data_len, b->data_len);
    if (a->data_len > 0) {
        assert_memory_equal(a->data, b->data, a->data_len);
    }
}

/* Opens `p` and checks that it yields exactly the `n` records at `want`. */
static void assert_decodes_to(const uint8_t *p, size_t len, const struct sl_batch_record *want,
                              size_t n, uint64_t arrival_ms)
{
    struct sl_batch_reader rd;
    assert_int_equal(sl_batch_open(&rd, p, len), SL_OK);
    assert_int_equal(sl_batch_count(&rd), n);
    assert_int_equal(sl_batch_arrival_ms(&rd), arrival_ms);
    struct sl_batch_record got;
    for (size_t i = 0; i < n; i++) {
        assert_true(sl_batch_next(&rd, &got));
        assert_records_equal(&got, &want[i]);
    }
    assert_false(sl_batch_next(&rd, &got));
    assert_false(sl_batch_next(&rd, &got));
}

/* A small two-record batch used by the corruption tests. */
static uint8_t *small_batch(size_t *len)
{
    static const uint8_t data[] = {1, 2, 3};
    const struct sl_batch_record r[] = {
        {"k1", 2, data, 3},
        {"key-two", 7, NULL, 0},
    };
    return encode(r, 2, 1700000000123, len);
}

static void test_batch_size_counts_header_records_and_crc(void **state)
{
    (void)state;
    const struct sl_batch_record r[] = {{"a", 1, NULL, 0}, {"bcd", 3, (const uint8_t *)"xy", 2}};
    assert_int_equal(sl_batch_size(r, 1), 16 + 6 + 1 + 4);
    assert_int_equal(sl_batch_size(r, 2), 16 + (6 + 1) + (6 + 3 + 2) + 4);
}

static void test_batch_layout_matches_the_documented_offsets(void **state)
{
    (void)state;
    const struct sl_batch_record r[] = {{"ab", 2, (const uint8_t *)"xyz", 3}};
    size_t len;
    uint8_t *p = encode(r, 1, UINT64_C(0x0102030405060708), &len);
    const uint8_t want[] = {
        1,   1,   0,   0,   0,   0, 0, 1, /* version, kind, zero, count */
        1,   2,   3,   4,   5,   6, 7, 8, /* arrival_ms */
        0,   2,   0,   0,   0,   3,       /* key_len, data_len */
        'a', 'b', 'x', 'y', 'z',
    };
    assert_int_equal(len, sizeof(want) + 4);
    assert_memory_equal(p, want, sizeof(want));
    uint32_t crc = sl_crc32c(0, want, sizeof(want));
    const uint8_t crc_be[] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8),
                              (uint8_t)crc};
    assert_memory_equal(p + sizeof(want), crc_be, 4);
    free(p);
}

static void test_batch_roundtrips_a_record_with_empty_data(void **state)
{
    (void)state;
    const struct sl_batch_record r[] = {{"k", 1, NULL, 0}};
    size_t len;
    uint8_t *p = encode(r, 1, 0, &len);
    assert_decodes_to(p, len, r, 1, 0);
    free(p);
}

static void test_batch_roundtrips_1mib_data_and_longest_key(void **state)
{
    (void)state;
    size_t data_len = 1048576;
    uint8_t *data = malloc(data_len);
    char key[SL_BATCH_KEY_BYTES_MAX];
    assert_non_null(data);
    for (size_t i = 0; i < data_len; i++) {
        data[i] = (uint8_t)(i * 7 + (i >> 11));
    }
    memset(key, 'k', sizeof(key));
    const struct sl_batch_record r[] = {{key, SL_BATCH_KEY_BYTES_MAX, data, (uint32_t)data_len}};
    size_t len;
    uint8_t *p = encode(r, 1, UINT64_MAX, &len);
    assert_decodes_to(p, len, r, 1, UINT64_MAX);
    free(p);
    free(data);
}

static void test_batch_roundtrips_the_most_records(void **state)
{
    (void)state;
    size_t n = SL_BATCH_RECORDS_MAX;
    struct sl_batch_record *r = calloc(n, sizeof(*r));
    uint8_t *bytes = malloc(n);
    assert_non_null(r);
    assert_non_null(bytes);
    static const char keys[] = "abcdefghijklmnopqrstuvwxyz";
    for (size_t i = 0; i < n; i++) {
        bytes[i] = (uint8_t)i;
        r[i].key = keys + i % 26;
        r[i].key_len = (uint16_t)(1 + (26 - 1 - i % 26) % 5);
        r[i].data = bytes + i;
        r[i].data_len = (uint32_t)((i % 3) == 0 ? 0 : n - i < 3 ? n - i : 3);
    }
    size_t len;
    uint8_t *p = encode(r, n, 42, &len);
    assert_decodes_to(p, len, r, n, 42);
    free(p);
    free(bytes);
    free(r);
}

static void test_batch_open_rejects_every_flipped_byte(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = small_batch(&len);
    static const uint8_t masks[] = {0x01, 0x10, 0x80, 0xff};
    for (size_t off = 0; off < len; off++) {
        for (size_t m = 0; m < sizeof(masks); m++) {
            p[off] ^= masks[m];
            struct sl_batch_reader rd;
            assert_int_equal(sl_batch_open(&rd, p, len), SL_ECORRUPT);
            p[off] ^= masks[m];
        }
    }
    struct sl_batch_reader rd;
    assert_int_equal(sl_batch_open(&rd, p, len), SL_OK);
    free(p);
}

static void test_batch_open_rejects_every_truncation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = small_batch(&len);
    for (size_t cut = 0; cut < len; cut++) {
        struct sl_batch_reader rd;
        assert_int_equal(sl_batch_open(&rd, p, cut), SL_ECORRUPT);
    }
    free(p);
}

static void test_batch_open_rejects_trailing_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = small_batch(&len);
    uint8_t *longer = calloc(1, len + 1);
    assert_non_null(longer);
    memcpy(longer, p, len);
    struct sl_batch_reader rd;
    assert_int_equal(sl_batch_open(&rd, longer, len + 1), SL_ECORRUPT);
    free(longer);
    free(p);
}

/* Rewrites the CRC after a change, so that only the structural checks can catch it. */
static void reseal(uint8_t *p, size_t len)
{
    uint32_t crc = sl_crc32c(0, p, len - 4);
    p[len - 4] = (uint8_t)(crc >> 24);
    p[len - 3] = (uint8_t)(crc >> 16);
    p[len - 2] = (uint8_t)(crc >> 8);
    p[len - 1] = (uint8_t)crc;
}

static void assert_resealed_change_rejected(size_t off, uint8_t value)
{
    size_t len;
    uint8_t *p = small_batch(&len);
    p[off] = value;
    reseal(p, len);
    struct sl_batch_reader rd;
    assert_int_equal(sl_batch_open(&rd, p, len), SL_ECORRUPT);
    free(p);
}

static void test_batch_open_rejects_bad_structure_under_a_valid_crc(void **state)
{
    (void)state;
    assert_resealed_change_rejected(0, 2);     /* version */
    assert_resealed_change_rejected(1, 2);     /* kind */
    assert_resealed_change_rejected(3, 1);     /* reserved zero */
    assert_resealed_change_rejected(7, 0);     /* count 0 */
    assert_resealed_change_rejected(7, 1);     /* count too small: bytes left over */
    assert_resealed_change_rejected(7, 3);     /* count too large: runs out */
    assert_resealed_change_rejected(4, 1);     /* count > SL_BATCH_RECORDS_MAX */
    assert_resealed_change_rejected(17, 0);    /* first key_len 0 */
    assert_resealed_change_rejected(16, 4);    /* first key_len > SL_BATCH_KEY_BYTES_MAX */
    assert_resealed_change_rejected(17, 200);  /* first key runs past the end */
    assert_resealed_change_rejected(21, 200);  /* first data runs past the end */
    assert_resealed_change_rejected(18, 0x80); /* first data_len near 2^32 */
}

static void test_batch_peek_reads_count_and_arrival(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = small_batch(&len);
    uint32_t count = 0;
    uint64_t arrival_ms = 0;
    assert_int_equal(sl_batch_peek(p, len, &count, &arrival_ms), SL_OK);
    assert_int_equal(count, 2);
    assert_int_equal(arrival_ms, 1700000000123);
    free(p);
}

static void test_batch_peek_rejects_short_payloads_and_other_versions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = small_batch(&len);
    uint32_t count;
    uint64_t arrival_ms;
    assert_int_equal(sl_batch_peek(p, 19, &count, &arrival_ms), SL_ECORRUPT);
    assert_int_equal(sl_batch_peek(p, 0, &count, &arrival_ms), SL_ECORRUPT);
    p[0] = 2;
    assert_int_equal(sl_batch_peek(p, len, &count, &arrival_ms), SL_ECORRUPT);
    p[0] = 0;
    assert_int_equal(sl_batch_peek(p, len, &count, &arrival_ms), SL_ECORRUPT);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_size_counts_header_records_and_crc),
        cmocka_unit_test(test_batch_layout_matches_the_documented_offsets),
        cmocka_unit_test(test_batch_roundtrips_a_record_with_empty_data),
        cmocka_unit_test(test_batch_roundtrips_1mib_data_and_longest_key),
        cmocka_unit_test(test_batch_roundtrips_the_most_records),
        cmocka_unit_test(test_batch_open_rejects_every_flipped_byte),
        cmocka_unit_test(test_batch_open_rejects_every_truncation),
        cmocka_unit_test(test_batch_open_rejects_trailing_bytes),
        cmocka_unit_test(test_batch_open_rejects_bad_structure_under_a_valid_crc),
        cmocka_unit_test(test_batch_peek_reads_count_and_arrival),
        cmocka_unit_test(test_batch_peek_rejects_short_payloads_and_other_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
