/* test_shard_seqno.c — sequence number layout, decimal form and order
 * (node/core/shard/seqno.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/errors.h"
#include "core/rand.h"
#include "core/shard/seqno.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Converts a hex string to decimal by schoolbook arithmetic on a digit array: a reference
 * that shares no code with seqno.c. Returns the decimal length. */
static size_t hex_to_dec(const char *hex, char *out, size_t out_max)
{
    unsigned char digits[200] = {0}; /* little-endian decimal digits */
    size_t n = 1;
    for (const char *h = hex; *h; h++) {
        unsigned carry = (unsigned)(*h <= '9' ? *h - '0' : *h - 'a' + 10);
        for (size_t i = 0; i < n; i++) {
            unsigned d = digits[i] * 16u + carry;
            digits[i] = (unsigned char)(d % 10);
            carry = d / 10;
        }
        while (carry) {
            digits[n++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
    }
    while (n > 1 && digits[n - 1] == 0) {
        n--;
    }
    assert_true(n < out_max);
    for (size_t i = 0; i < n; i++) {
        out[i] = (char)('0' + digits[n - 1 - i]);
    }
    out[n] = '\0';
    return n;
}

/* The 47 hex digits of the layout in seqno.h, with the constant digits given explicitly so
 * that tests can break them. */
static void layout_hex(char hex[128], unsigned version, const struct sl_seqno *s, unsigned low,
                       unsigned pad, unsigned tail)
{
    snprintf(hex, 128, "%x%09" PRIx64 "%x%016" PRIx64 "%02x%09" PRIx64 "%08" PRIx32 "%x", version,
             s->shard_created_s, low, s->seq_ix, pad, s->record_s, s->shard_index, tail);
    assert_int_equal(strlen(hex), 47);
}

static size_t layout_dec(char out[SL_SEQNO_STR_MAX], unsigned version, const struct sl_seqno *s,
                         unsigned low, unsigned pad, unsigned tail)
{
    char hex[128];
    layout_hex(hex, version, s, low, pad, tail);
    return hex_to_dec(hex, out, SL_SEQNO_STR_MAX);
}

static const struct sl_seqno max_fields = {
    .shard_created_s = SL_SEQNO_TIME_S_MAX,
    .shard_index = UINT32_MAX,
    .seq_ix = SL_SEQIX_MAX,
    .record_s = SL_SEQNO_TIME_S_MAX,
};

static void assert_seqno_equal(const struct sl_seqno *a, const struct sl_seqno *b)
{
    assert_int_equal(a->shard_created_s, b->shard_created_s);
    assert_int_equal(a->shard_index, b->shard_index);
    assert_int_equal(a->seq_ix, b->seq_ix);
    assert_int_equal(a->record_s, b->record_s);
}

static void assert_roundtrips(const struct sl_seqno *s)
{
    char text[SL_SEQNO_STR_MAX];
    size_t len = sl_seqno_format(s, text);
    assert_int_equal(len, strlen(text));
    struct sl_seqno back;
    assert_int_equal(sl_seqno_parse(text, len, &back), SL_OK);
    assert_seqno_equal(&back, s);
}

static void test_seqno_roundtrips_extremes(void **state)
{
    (void)state;
    const struct sl_seqno zero = {0, 0, 0, 0};
    assert_roundtrips(&zero);
    assert_roundtrips(&max_fields);
    const struct sl_seqno mixed[] = {
        {1, 1, 1, 1},
        {SL_SEQNO_TIME_S_MAX, 0, 0, 0},
        {0, UINT32_MAX, 0, 0},
        {0, 0, SL_SEQIX_MAX, 0},
        {0, 0, 0, SL_SEQNO_TIME_S_MAX},
        {1700000000, 17, UINT64_C(1) << 62, 1700000123},
    };
    for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++) {
        assert_roundtrips(&mixed[i]);
    }
}

static void test_seqno_roundtrips_random_values(void **state)
{
    (void)state;
    struct sl_rand r;
    sl_rand_seed(&r, 11);
    for (int i = 0; i < 10000; i++) {
        struct sl_seqno s = {
            .shard_created_s = sl_rand_next(&r) & SL_SEQNO_TIME_S_MAX,
            .shard_index = (uint32_t)sl_rand_next(&r),
            .seq_ix = sl_rand_next(&r) & SL_SEQIX_MAX,
            .record_s = sl_rand_next(&r) & SL_SEQNO_TIME_S_MAX,
        };
        assert_roundtrips(&s);
    }
}

static void test_seqno_format_follows_the_hex_layout(void **state)
{
    (void)state;
    const struct sl_seqno cases[] = {
        {0, 0, 0, 0},
        {1700000000, 0x12345678, 0x0123456789abcdef, 1700000042},
        max_fields,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[SL_SEQNO_STR_MAX], got[SL_SEQNO_STR_MAX];
        size_t want_len = layout_dec(want, 2, &cases[i], cases[i].shard_index & 0xf, 0, 2);
        assert_int_equal(sl_seqno_format(&cases[i], got), want_len);
        assert_string_equal(got, want);
    }
}

/* The SequenceNumber of the Kinesis Developer Guide's PutRecord example. */
static void test_seqno_parses_a_real_aws_number(void **state)
{
    (void)state;
    const char *aws = "49590338271490256608559692538361571095921575989136588898";
    struct sl_seqno s;
    assert_int_equal(sl_seqno_parse(aws, strlen(aws), &s), SL_OK);
    const struct sl_seqno want = {
        .shard_created_s = UINT64_C(0x05bf4e5c2),
        .shard_index = 6,
        .seq_ix = UINT64_C(0x67648a17),
        .record_s = UINT64_C(0x05c181eea),
    };
    assert_seqno_equal(&s, &want);
    char text[SL_SEQNO_STR_MAX];
    sl_seqno_format(&s, text);
    assert_string_equal(text, aws);
}

static void test_seqno_decimal_order_matches_seq_ix_order_within_a_shard(void **state)
{
    (void)state;
    struct sl_rand r;
    sl_rand_seed(&r, 5);
    for (int i = 0; i < 20000; i++) {
        /* Same shard; two positions, the later one never arriving earlier. */
        struct sl_seqno a = {
            .shard_created_s = 1700000000,
            .shard_index = (uint32_t)(i % 40),
            .seq_ix = sl_rand_next(&r) & SL_SEQIX_MAX,
            .record_s = sl_rand_range(&r, 1700000000, 1800000000),
        };
        struct sl_seqno b = a;
        /* Small gaps as often as large ones, and equal positions now and then. */
        b.seq_ix = i % 3 == 0 ? sl_rand_next(&r) & SL_SEQIX_MAX
                              : a.seq_ix ^ (sl_rand_next(&r) & ((UINT64_C(1) << (i % 63)) - 1));
        if (i % 7 == 0) {
            b.seq_ix = a.seq_ix;
        }
        if (b.seq_ix > a.seq_ix) {
            b.record_s = a.record_s + sl_rand_below(&r, 3);
        } else if (b.seq_ix < a.seq_ix) {
            b.record_s = a.record_s - sl_rand_below(&r, 3);
        }
        int want = (a.seq_ix > b.seq_ix) - (a.seq_ix < b.seq_ix);
        if (want == 0) {
            want = (a.record_s > b.record_s) - (a.record_s < b.record_s);
        }
        char sa[SL_SEQNO_STR_MAX], sb[SL_SEQNO_STR_MAX];
        size_t la = sl_seqno_format(&a, sa), lb = sl_seqno_format(&b, sb);
        assert_int_equal(sl_seqno_cmp_str(sa, la, sb, lb), want);
        int by_text = la != lb ? (la > lb) - (la < lb) : strcmp(sa, sb);
        assert_int_equal((by_text > 0) - (by_text < 0), want);
    }
}

static void test_seqix_packs_log_index_and_position(void **state)
{
    (void)state;
    assert_int_equal(sl_seqix(0, 0), 0);
    assert_int_equal(sl_seqix(1, 0), 1 << SL_SEQIX_POS_BITS);
    uint64_t ix = sl_seqix(SL_SEQIX_INDEX_MAX, SL_SEQIX_POS_MAX);
    assert_int_equal(ix, SL_SEQIX_MAX);
    assert_int_equal(sl_seqix_index(ix), SL_SEQIX_INDEX_MAX);
    assert_int_equal(sl_seqix_pos(ix), SL_SEQIX_POS_MAX);
    ix = sl_seqix(123456789, 4321);
    assert_int_equal(sl_seqix_index(ix), 123456789);
    assert_int_equal(sl_seqix_pos(ix), 4321);
    assert_true(sl_seqix(5, SL_SEQIX_POS_MAX) < sl_seqix(6, 0));
}

static void assert_rejected(const char *text)
{
    struct sl_seqno s = {7, 7, 7, 7};
    const struct sl_seqno untouched = {7, 7, 7, 7};
    assert_int_equal(sl_seqno_parse(text, strlen(text), &s), SL_EINVAL);
    assert_seqno_equal(&s, &untouched);
}

static void test_seqno_parse_rejects_wrong_version_digit(void **state)
{
    (void)state;
    const struct sl_seqno s = {1700000000, 3, 99, 1700000001};
    char text[SL_SEQNO_STR_MAX];
    for (unsigned v = 0; v < 16; v++) {
        if (v != 2) {
            layout_dec(text, v, &s, 3, 0, 2);
            assert_rejected(text);
        }
    }
}

static void test_seqno_parse_rejects_wrong_last_digit(void **state)
{
    (void)state;
    const struct sl_seqno s = {1700000000, 3, 99, 1700000001};
    char text[SL_SEQNO_STR_MAX];
    for (unsigned t = 0; t < 16; t++) {
        if (t != 2) {
            layout_dec(text, 2, &s, 3, 0, t);
            assert_rejected(text);
        }
    }
}

static void test_seqno_parse_rejects_nonzero_padding(void **state)
{
    (void)state;
    const struct sl_seqno s = {1700000000, 3, 99, 1700000001};
    char text[SL_SEQNO_STR_MAX];
    layout_dec(text, 2, &s, 3, 0x01, 2);
    assert_rejected(text);
    layout_dec(text, 2, &s, 3, 0x80, 2);
    assert_rejected(text);
}

static void test_seqno_parse_rejects_disagreeing_shard_index_copies(void **state)
{
    (void)state;
    const struct sl_seqno s = {1700000000, 0x13, 99, 1700000001};
    char text[SL_SEQNO_STR_MAX];
    layout_dec(text, 2, &s, 0x4, 0, 2);
    assert_rejected(text);
}

static void test_seqno_parse_rejects_seq_ix_of_2pow63(void **state)
{
    (void)state;
    struct sl_seqno s = {1700000000, 3, UINT64_C(1) << 63, 1700000001};
    char text[SL_SEQNO_STR_MAX];
    layout_dec(text, 2, &s, 3, 0, 2);
    assert_rejected(text);
    s.seq_ix = UINT64_MAX;
    layout_dec(text, 2, &s, 3, 0, 2);
    assert_rejected(text);
}

static void test_seqno_parse_rejects_too_long(void **state)
{
    (void)state;
    char text[200];
    /* A valid number with a digit appended is ten times too large. */
    sl_seqno_format(&max_fields, text);
    strcat(text, "0");
    assert_rejected(text);
    /* Beyond the Kinesis pattern's 129 digits. */
    memset(text, '9', 130);
    text[130] = '\0';
    assert_rejected(text);
    /* 2^188 itself: 57 digits, one more than the largest 47-hex-digit value. */
    assert_rejected("392318858461667547739736838950479151006397215279002157056");
}

static void test_seqno_parse_rejects_non_digits_and_bad_shapes(void **state)
{
    (void)state;
    char text[SL_SEQNO_STR_MAX];
    size_t len = sl_seqno_format(&max_fields, text);
    text[len / 2] = 'a';
    assert_rejected(text);
    assert_rejected("");
    assert_rejected("0");
    assert_rejected("-1");
    assert_rejected("1");
    char padded[SL_SEQNO_STR_MAX + 1] = "0";
    sl_seqno_format(&max_fields, padded + 1);
    assert_rejected(padded); /* a leading zero */
}

static void test_seqno_cmp_str_orders_by_length_then_digits(void **state)
{
    (void)state;
    assert_int_equal(sl_seqno_cmp_str("9", 1, "10", 2), -1);
    assert_int_equal(sl_seqno_cmp_str("10", 2, "9", 1), 1);
    assert_int_equal(sl_seqno_cmp_str("123", 3, "123", 3), 0);
    assert_int_equal(sl_seqno_cmp_str("123", 3, "124", 3), -1);
    assert_int_equal(sl_seqno_cmp_str("200", 3, "199", 3), 1);
    assert_int_equal(sl_seqno_cmp_str("0", 1, "0", 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seqno_roundtrips_extremes),
        cmocka_unit_test(test_seqno_roundtrips_random_values),
        cmocka_unit_test(test_seqno_format_follows_the_hex_layout),
        cmocka_unit_test(test_seqno_parses_a_real_aws_number),
        cmocka_unit_test(test_seqno_decimal_order_matches_seq_ix_order_within_a_shard),
        cmocka_unit_test(test_seqix_packs_log_index_and_position),
        cmocka_unit_test(test_seqno_parse_rejects_wrong_version_digit),
        cmocka_unit_test(test_seqno_parse_rejects_wrong_last_digit),
        cmocka_unit_test(test_seqno_parse_rejects_nonzero_padding),
        cmocka_unit_test(test_seqno_parse_rejects_disagreeing_shard_index_copies),
        cmocka_unit_test(test_seqno_parse_rejects_seq_ix_of_2pow63),
        cmocka_unit_test(test_seqno_parse_rejects_too_long),
        cmocka_unit_test(test_seqno_parse_rejects_non_digits_and_bad_shapes),
        cmocka_unit_test(test_seqno_cmp_str_orders_by_length_then_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
