/* test_shard_hashkey.c — MD5, 128-bit decimal keys, creation-time ranges and shard ids
 * (node/core/shard/hashkey.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/errors.h"
#include "core/shard/hashkey.h"

#include <stdio.h>
#include <string.h>

#define U128(hi, lo) ((sl_u128)(hi) << 64 | (sl_u128)(lo))

/* Compares two sl_u128 as their 64-bit halves, so a failure prints both. */
#define assert_u128_equal(a, b)                                                                    \
    do {                                                                                           \
        sl_u128 a_ = (a), b_ = (b);                                                                \
        assert_int_equal((uint64_t)(a_ >> 64), (uint64_t)(b_ >> 64));                              \
        assert_int_equal((uint64_t)a_, (uint64_t)b_);                                              \
    } while (0)

/* The hex digest of `len` bytes at `data`. */
static void md5_hex(const void *data, size_t len, char hex[33])
{
    uint8_t d[16];
    sl_md5(data, len, d);
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
}

static void assert_md5(const char *text, const char *want)
{
    char hex[33];
    md5_hex(text, strlen(text), hex);
    assert_string_equal(hex, want);
}

static void test_md5_matches_rfc1321_vectors(void **state)
{
    (void)state;
    assert_md5("", "d41d8cd98f00b204e9800998ecf8427e");
    assert_md5("a", "0cc175b9c0f1b6a831c399e269772661");
    assert_md5("abc", "900150983cd24fb0d6963f7d28e17f72");
    assert_md5("message digest", "f96b697d7cb7938d525a2f31aaf161d0");
    assert_md5("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b");
    assert_md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
               "d174ab98d277d9f5a5611c2c9f419d9f");
    assert_md5("1234567890123456789012345678901234567890123456789012345678901234567890123456789"
               "0",
               "57edf4a22be3c955ac49da2e2107b67a");
}

/* Lengths around the padding boundaries: 55 bytes fit one final block, 56 need two. */
static void test_md5_pads_across_block_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *want;
    } cases[] = {
        {55, "ef1772b6dff9a122358552954ad0df65"},  {56, "3b0c8ac703f828b04c6c197006d17218"},
        {63, "b06521f39153d618550606be297466d5"},  {64, "014842d480b571495a4a0363793f7367"},
        {65, "c743a45e0d2e6a95cb859adae0248435"},  {119, "8a7bd0732ed6a28ce75f6dabc90e1613"},
        {120, "5f61c0ccad4cac44c75ff505e1f1e537"}, {1000, "cabe45dcc9ae5b66ba86600cca6b8ba8"},
    };
    char buf[1000];
    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char hex[33];
        md5_hex(buf, cases[i].len, hex);
        assert_string_equal(hex, cases[i].want);
    }
}

static void test_hashkey_reads_md5_big_endian(void **state)
{
    (void)state;
    assert_u128_equal(sl_hashkey_of("a", 1),
                      U128(UINT64_C(0x0cc175b9c0f1b6a8), UINT64_C(0x31c399e269772661)));
    assert_u128_equal(sl_hashkey_of("", 0),
                      U128(UINT64_C(0xd41d8cd98f00b204), UINT64_C(0xe9800998ecf8427e)));
}

static void assert_u128_roundtrips(sl_u128 v, const char *text)
{
    char out[SL_U128_DIGITS_MAX];
    assert_int_equal(sl_u128_format(v, out), strlen(text));
    assert_string_equal(out, text);
    sl_u128 back = 0;
    assert_int_equal(sl_u128_parse(text, strlen(text), &back), SL_OK);
    assert_u128_equal(back, v);
}

static void test_u128_roundtrips_at_the_edges(void **state)
{
    (void)state;
    assert_u128_roundtrips(0, "0");
    assert_u128_roundtrips(1, "1");
    assert_u128_roundtrips(UINT64_MAX, "18446744073709551615");
    assert_u128_roundtrips((sl_u128)1 << 64, "18446744073709551616");
    assert_u128_roundtrips(U128(0, UINT64_C(10000000000000000000)), "10000000000000000000");
    assert_u128_roundtrips(U128(0, UINT64_C(9999999999999999999)), "9999999999999999999");
    assert_u128_roundtrips((sl_u128)1 << 127, "170141183460469231731687303715884105728");
    assert_u128_roundtrips(SL_U128_MAX, "340282366920938463463374607431768211455");
}

static void test_u128_parse_rejects_2pow128_as_limit(void **state)
{
    (void)state;
    sl_u128 v = 7;
    const char *s = "340282366920938463463374607431768211456";
    assert_int_equal(sl_u128_parse(s, strlen(s), &v), SL_ELIMIT);
    s = "999999999999999999999999999999999999999";
    assert_int_equal(sl_u128_parse(s, strlen(s), &v), SL_ELIMIT);
    assert_u128_equal(v, 7); /* untouched on failure */
}

static void test_u128_parse_rejects_leading_zero(void **state)
{
    (void)state;
    sl_u128 v;
    assert_int_equal(sl_u128_parse("01", 2, &v), SL_EINVAL);
    assert_int_equal(sl_u128_parse("00", 2, &v), SL_EINVAL);
}

static void test_u128_parse_rejects_empty_sign_and_non_digits(void **state)
{
    (void)state;
    sl_u128 v;
    assert_int_equal(sl_u128_parse("", 0, &v), SL_EINVAL);
    assert_int_equal(sl_u128_parse("-1", 2, &v), SL_EINVAL);
    assert_int_equal(sl_u128_parse("+1", 2, &v), SL_EINVAL);
    assert_int_equal(sl_u128_parse("1a", 2, &v), SL_EINVAL);
    assert_int_equal(sl_u128_parse(" 1", 2, &v), SL_EINVAL);
}

static void test_u128_parse_rejects_40_digits_as_invalid(void **state)
{
    (void)state;
    sl_u128 v;
    const char *s = "1000000000000000000000000000000000000000";
    assert_int_equal(strlen(s), 40);
    assert_int_equal(sl_u128_parse(s, strlen(s), &v), SL_EINVAL);
}

static void test_u128_parse_reads_only_len_bytes(void **state)
{
    (void)state;
    sl_u128 v;
    assert_int_equal(sl_u128_parse("12x", 2, &v), SL_OK);
    assert_u128_equal(v, 12);
}

/* For every n, shard 0 starts at 0, the last ends at 2^128-1, and each starts right after the
 * previous one ends. */
static void assert_ranges_tile(uint32_t n)
{
    sl_u128 next = 0;
    for (uint32_t i = 0; i < n; i++) {
        sl_u128 start, end;
        sl_hashkey_range(i, n, &start, &end);
        assert_u128_equal(start, next);
        assert_true(end >= start);
        next = end + 1;
        if (i == n - 1) {
            assert_u128_equal(end, SL_U128_MAX);
        }
    }
}

static void test_hashkey_ranges_tile_the_space(void **state)
{
    (void)state;
    for (uint32_t n = 1; n <= 64; n++) {
        assert_ranges_tile(n);
    }
    assert_ranges_tile(1000);
    assert_ranges_tile(10000);
}

static void test_hashkey_range_of_one_shard_is_everything(void **state)
{
    (void)state;
    sl_u128 start, end;
    sl_hashkey_range(0, 1, &start, &end);
    assert_u128_equal(start, 0);
    assert_u128_equal(end, SL_U128_MAX);
}

static void test_hashkey_ranges_of_two_and_four_split_at_powers_of_two(void **state)
{
    (void)state;
    sl_u128 start, end;
    sl_hashkey_range(0, 2, &start, &end);
    assert_u128_equal(end, ((sl_u128)1 << 127) - 1);
    sl_hashkey_range(1, 2, &start, &end);
    assert_u128_equal(start, (sl_u128)1 << 127);
    for (uint32_t i = 0; i < 4; i++) {
        sl_hashkey_range(i, 4, &start, &end);
        assert_u128_equal(start, (sl_u128)i << 126);
        assert_u128_equal(end, ((sl_u128)(i + 1) << 126) - 1);
    }
}

/* The ranges Kinesis gives a 3-shard stream. */
static void test_hashkey_ranges_of_three_match_kinesis(void **state)
{
    (void)state;
    static const char *const want[3][2] = {
        {"0", "113427455640312821154458202477256070484"},
        {"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
        {"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
    };
    for (uint32_t i = 0; i < 3; i++) {
        sl_u128 start, end;
        char s[SL_U128_DIGITS_MAX], e[SL_U128_DIGITS_MAX];
        sl_hashkey_range(i, 3, &start, &end);
        sl_u128_format(start, s);
        sl_u128_format(end, e);
        assert_string_equal(s, want[i][0]);
        assert_string_equal(e, want[i][1]);
    }
}

static void test_shard_id_format_pads_to_12_digits(void **state)
{
    (void)state;
    char id[SL_SHARD_ID_MAX];
    assert_int_equal(sl_shard_id_format(0, id), 20);
    assert_string_equal(id, "shardId-000000000000");
    assert_int_equal(sl_shard_id_format(42, id), 20);
    assert_string_equal(id, "shardId-000000000042");
    assert_int_equal(sl_shard_id_format(UINT32_MAX, id), 20);
    assert_string_equal(id, "shardId-004294967295");
}

static void test_shard_id_parse_roundtrips(void **state)
{
    (void)state;
    const uint32_t values[] = {0, 1, 2, 999999, UINT32_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char id[SL_SHARD_ID_MAX];
        size_t len = sl_shard_id_format(values[i], id);
        uint32_t back = 7;
        assert_int_equal(sl_shard_id_parse(id, len, &back), SL_OK);
        assert_int_equal(back, values[i]);
    }
}

static void test_shard_id_parse_rejects_anything_else(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "shardId-",
        "shardId-00000000000",   /* 11 digits */
        "shardId-0000000000000", /* 13 digits */
        "shardId-004294967296",  /* 2^32 */
        "shardId-99999999999a",
        "ShardId-000000000000",
        "shardid-000000000000",
        "shardId_000000000000",
        "shardId--00000000001",
        "shardId-+00000000001",
        "000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t index = 7;
        assert_int_equal(sl_shard_id_parse(bad[i], strlen(bad[i]), &index), SL_EINVAL);
        assert_int_equal(index, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_matches_rfc1321_vectors),
        cmocka_unit_test(test_md5_pads_across_block_boundaries),
        cmocka_unit_test(test_hashkey_reads_md5_big_endian),
        cmocka_unit_test(test_u128_roundtrips_at_the_edges),
        cmocka_unit_test(test_u128_parse_rejects_2pow128_as_limit),
        cmocka_unit_test(test_u128_parse_rejects_leading_zero),
        cmocka_unit_test(test_u128_parse_rejects_empty_sign_and_non_digits),
        cmocka_unit_test(test_u128_parse_rejects_40_digits_as_invalid),
        cmocka_unit_test(test_u128_parse_reads_only_len_bytes),
        cmocka_unit_test(test_hashkey_ranges_tile_the_space),
        cmocka_unit_test(test_hashkey_range_of_one_shard_is_everything),
        cmocka_unit_test(test_hashkey_ranges_of_two_and_four_split_at_powers_of_two),
        cmocka_unit_test(test_hashkey_ranges_of_three_match_kinesis),
        cmocka_unit_test(test_shard_id_format_pads_to_12_digits),
        cmocka_unit_test(test_shard_id_parse_roundtrips),
        cmocka_unit_test(test_shard_id_parse_rejects_anything_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
