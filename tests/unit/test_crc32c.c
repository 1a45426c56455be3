/* test_crc32c.c — CRC-32C (node/core/crc32c.h) against the standard check values and a
 * bit-at-a-time reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/crc32c.h"
#include "core/rand.h"

#include <string.h>

/* The definition, one bit at a time: reflected polynomial 0x82F63B78, inverted in and out. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffff;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++) {
            c = (c >> 1) ^ (0x82f63b78 & (0u - (c & 1)));
        }
    }
    return ~c;
}

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
    struct sl_rand r;
    sl_rand_seed(&r, seed);
    for (size_t i = 0; i < len; i++) {
        p[i] = (uint8_t)sl_rand_next(&r);
    }
}

static void test_crc32c_matches_check_value(void **state)
{
    (void)state;
    assert_int_equal(sl_crc32c(0, "123456789", 9), 0xe3069283);
}

static void test_crc32c_of_nothing_is_zero(void **state)
{
    (void)state;
    assert_int_equal(sl_crc32c(0, NULL, 0), 0);
    assert_int_equal(sl_crc32c(0xe3069283, NULL, 0), 0xe3069283);
}

/* RFC 3720 (iSCSI) appendix B.4. */
static void test_crc32c_matches_rfc3720_vectors(void **state)
{
    (void)state;
    uint8_t buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(sl_crc32c(0, buf, sizeof(buf)), 0x8a9136aa);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(sl_crc32c(0, buf, sizeof(buf)), 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    assert_int_equal(sl_crc32c(0, buf, sizeof(buf)), 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    assert_int_equal(sl_crc32c(0, buf, sizeof(buf)), 0x113fdb5c);
}

static void test_crc32c_matches_reference_at_every_length_and_alignment(void **state)
{
    (void)state;
    uint8_t buf[512 + 8];
    fill_random(buf, sizeof(buf), 1);
    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 512; len++) {
            assert_int_equal(sl_crc32c(0, buf + align, len), crc32c_bitwise(buf + align, len));
        }
    }
}

static void test_crc32c_chains_across_every_split(void **state)
{
    (void)state;
    uint8_t buf[200];
    fill_random(buf, sizeof(buf), 2);
    uint32_t whole = sl_crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t first = sl_crc32c(0, buf, cut);
        assert_int_equal(sl_crc32c(first, buf + cut, sizeof(buf) - cut), whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_matches_check_value),
        cmocka_unit_test(test_crc32c_of_nothing_is_zero),
        cmocka_unit_test(test_crc32c_matches_rfc3720_vectors),
        cmocka_unit_test(test_crc32c_matches_reference_at_every_length_and_alignment),
        cmocka_unit_test(test_crc32c_chains_across_every_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
