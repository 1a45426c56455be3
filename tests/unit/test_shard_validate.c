/* test_shard_validate.c — Kinesis request validation and its messages
 * (node/core/shard/validate.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/errors.h"
#include "core/shard/validate.h"

#include <stdio.h>
#include <string.h>

/* The message a collector finishes with ("" when it holds no error). */
static const char *finish(const struct sl_verr *v)
{
    static char msg[SL_VERR_MSG_MAX];
    sl_verr_finish(v, msg, sizeof(msg));
    return msg;
}

static unsigned count_of(const char *haystack, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void test_verr_without_errors_finishes_ok(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    char msg[16] = "junk";
    assert_int_equal(sl_verr_finish(&v, msg, sizeof(msg)), SL_OK);
    assert_string_equal(msg, "");
}

static void test_verr_reports_one_error(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "streamName", "a b", 3, "Member must satisfy regular expression pattern: x");
    char msg[SL_VERR_MSG_MAX];
    assert_int_equal(sl_verr_finish(&v, msg, sizeof(msg)), SL_EVALIDATION);
    assert_string_equal(msg, "1 validation error detected: Value 'a b' at 'streamName' failed to "
                             "satisfy constraint: Member must satisfy regular expression "
                             "pattern: x");
}

static void test_verr_joins_two_errors(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "records.1.member.partitionKey", "", 0,
                "Member must have length greater than or equal to 1");
    sl_verr_add(&v, "limit", "0", 1, "Member must have value greater than or equal to 1");
    assert_string_equal(finish(&v),
                        "2 validation errors detected: Value '' at "
                        "'records.1.member.partitionKey' failed to satisfy constraint: Member "
                        "must have length greater than or equal to 1; Value '0' at 'limit' failed "
                        "to satisfy constraint: Member must have value greater than or equal to 1");
}

static void test_verr_keeps_ten_errors_but_counts_all(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    for (int i = 0; i < 12; i++) {
        sl_verr_add(&v, "f", "x", 1, "c");
    }
    assert_int_equal(v.n, 12);
    const char *msg = finish(&v);
    assert_int_equal(strncmp(msg, "12 validation errors detected: ", 31), 0);
    assert_int_equal(count_of(msg, "Value 'x' at 'f' failed to satisfy constraint: c"), 10);
    assert_int_equal(count_of(msg, "; "), 9);
}

static void test_verr_shows_null_values(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "streamName", NULL, 0, "Member must not be null");
    assert_string_equal(finish(&v), "1 validation error detected: Value null at 'streamName' "
                                    "failed to satisfy constraint: Member must not be null");
}

static void test_verr_cuts_values_longer_than_256_bytes(void **state)
{
    (void)state;
    char value[300], want[300] = "Value '";
    memset(value, 'a', sizeof(value));
    memset(want + 7, 'a', 256);
    strcpy(want + 7 + 256, "...' at 'f'");
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "f", value, 257, "c");
    assert_int_equal(strncmp(v.text, want, strlen(want)), 0);
    sl_verr_init(&v);
    sl_verr_add(&v, "f", value, 256, "c");
    assert_int_equal(strncmp(v.text, want, 7 + 256), 0);
    assert_null(strstr(v.text, "..."));
}

static void test_verr_cuts_values_between_characters(void **state)
{
    (void)state;
    char value[260];
    memset(value, 'a', 255);
    memcpy(value + 255, "\xc3\xa9\xc3\xa9", 4); /* "éé": the first é would end at byte 257 */
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "f", value, 259, "c");
    char want[300] = "Value '";
    memcpy(want + 7, value, 255);
    strcpy(want + 7 + 255, "...' at 'f'");
    assert_non_null(strstr(v.text, want));
}

static void test_verr_replaces_invalid_utf8_in_values(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "f",
                "a\xff"
                "b\xc3\xa9\xe2\x82",
                7, "c");
    assert_string_equal(v.text, "Value 'a?b\xc3\xa9?"
                                "?' at 'f' failed to satisfy constraint: c");
}

static void test_verr_shows_nul_bytes_in_values_as_question_marks(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "streamName", "a\0b", 3, "c");
    assert_string_equal(v.text, "Value 'a?b' at 'streamName' failed to satisfy constraint: c");
    assert_int_equal(v.len, strlen(v.text));
}

/* Ten errors with the longest values, 87-byte field paths and the longest constraint this
 * module writes all fit uncut. */
static void test_verr_holds_ten_of_the_longest_errors(void **state)
{
    (void)state;
    const char *constraint = "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})";
    char value[1000], field[88];
    memset(value, '9', sizeof(value));
    memset(field, 'f', 87);
    field[87] = '\0';
    struct sl_verr v;
    sl_verr_init(&v);
    for (int i = 0; i < 10; i++) {
        sl_verr_add(&v, field, value, sizeof(value), constraint);
    }
    assert_int_equal(v.n, 10);
    assert_int_equal(v.len, strlen(v.text));
    assert_int_equal(count_of(v.text, constraint), 10);
    assert_string_equal(v.text + v.len - strlen(constraint), constraint);
    char msg[SL_VERR_MSG_MAX];
    sl_verr_finish(&v, msg, sizeof(msg));
    assert_string_equal(msg + strlen(msg) - v.len, v.text);
}

static void test_verr_finish_cuts_to_the_buffer(void **state)
{
    (void)state;
    struct sl_verr v;
    sl_verr_init(&v);
    sl_verr_add(&v, "f", "x", 1, "c");
    char msg[11];
    assert_int_equal(sl_verr_finish(&v, msg, sizeof(msg)), SL_EVALIDATION);
    assert_string_equal(msg, "1 validati");
}

/* Runs one shape check on a fresh collector; returns its message ("" when it passed) after
 * checking that the return value agrees. */
typedef bool (*shape_check)(struct sl_verr *, const char *, const char *, size_t);

static const char *check(shape_check fn, const char *field, const char *s, size_t len)
{
    static struct sl_verr v;
    sl_verr_init(&v);
    bool ok = fn(&v, field, s, len);
    assert_int_equal(ok, v.n == 0);
    return finish(&v);
}

static void test_stream_name_accepts_1_to_128_allowed_characters(void **state)
{
    (void)state;
    char name[128];
    memset(name, 'x', sizeof(name));
    assert_string_equal(check(sl_check_stream_name, "streamName", "a", 1), "");
    assert_string_equal(check(sl_check_stream_name, "streamName", name, 128), "");
    const char *all = "abcxyzABCXYZ0123456789_.-";
    assert_string_equal(check(sl_check_stream_name, "streamName", all, strlen(all)), "");
}

static void test_stream_name_rejects_empty_with_pattern_and_length(void **state)
{
    (void)state;
    assert_string_equal(check(sl_check_stream_name, "streamName", "", 0),
                        "2 validation errors detected: Value '' at 'streamName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[a-zA-Z0-9_.-]+; Value '' at 'streamName' failed to satisfy constraint: "
                        "Member must have length greater than or equal to 1");
}

static void test_stream_name_rejects_129_characters(void **state)
{
    (void)state;
    char name[130];
    memset(name, 'x', 129);
    name[129] = '\0';
    const char *msg = check(sl_check_stream_name, "streamName", name, 129);
    assert_int_equal(strncmp(msg, "1 validation error detected: ", 29), 0);
    assert_non_null(strstr(msg, name));
    assert_non_null(strstr(msg, "' at 'streamName' failed to satisfy constraint: Member must have "
                                "length less than or equal to 128"));
}

static void test_stream_name_rejects_other_characters(void **state)
{
    (void)state;
    static const char *const bad[] = {"a b", "a/b", "a:b", "ä", "a\0b", "a*"};
    static const size_t len[] = {3, 3, 3, 2, 3, 2};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = check(sl_check_stream_name, "streamName", bad[i], len[i]);
        assert_non_null(strstr(msg, "1 validation error detected: "));
        assert_non_null(strstr(msg, "Member must satisfy regular expression pattern: "
                                    "[a-zA-Z0-9_.-]+"));
    }
    assert_string_equal(check(sl_check_stream_name, "streamName", "a b", 3),
                        "1 validation error detected: Value 'a b' at 'streamName' failed to "
                        "satisfy constraint: Member must satisfy regular expression pattern: "
                        "[a-zA-Z0-9_.-]+");
}

static void test_shard_id_shape_accepts_1_to_128_allowed_characters(void **state)
{
    (void)state;
    char id[129];
    memset(id, '0', sizeof(id));
    assert_string_equal(check(sl_check_shard_id_shape, "shardId", "shardId-000000000000", 20), "");
    assert_string_equal(check(sl_check_shard_id_shape, "shardId", "1", 1), "");
    assert_string_equal(check(sl_check_shard_id_shape, "shardId", id, 128), "");
    assert_non_null(strstr(check(sl_check_shard_id_shape, "shardId", id, 129),
                           "at 'shardId' failed to satisfy constraint: Member must have length "
                           "less than or equal to 128"));
    assert_non_null(
        strstr(check(sl_check_shard_id_shape, "shardId", "", 0), "2 validation errors detected"));
    assert_string_equal(check(sl_check_shard_id_shape, "shardToSplit", "shard id", 8),
                        "1 validation error detected: Value 'shard id' at 'shardToSplit' failed "
                        "to satisfy constraint: Member must satisfy regular expression pattern: "
                        "[a-zA-Z0-9_.-]+");
}

static void test_partition_key_accepts_1_to_256_code_points(void **state)
{
    (void)state;
    const char *field = "partitionKey";
    assert_string_equal(check(sl_check_partition_key, field, "k", 1), "");
    char key[256 * 4];
    memset(key, 'k', 256);
    assert_string_equal(check(sl_check_partition_key, field, key, 256), "");
    for (int i = 0; i < 256; i++) {
        memcpy(key + 4 * i, "\xf0\x9f\x98\x80", 4); /* U+1F600, four bytes */
    }
    assert_string_equal(check(sl_check_partition_key, field, key, sizeof(key)), "");
    assert_string_equal(check(sl_check_partition_key, field, "a b/c:d\xe2\x82\xac", 10), "");
}

static void test_tag_key_is_1_to_128_code_points_and_value_0_to_256(void **state)
{
    (void)state;
    char text[257 * 2];
    for (int i = 0; i < 257; i++) {
        memcpy(text + 2 * i, "\xc3\xa9", 2); /* U+00E9, two bytes */
    }
    assert_string_equal(check(sl_check_tag_key, "tags.1.member.key", text, 128 * 2), "");
    assert_non_null(strstr(check(sl_check_tag_key, "tags.1.member.key", text, 129 * 2),
                           "at 'tags.1.member.key' failed to satisfy constraint: Member must have "
                           "length less than or equal to 128"));
    assert_non_null(strstr(check(sl_check_tag_key, "tagKeys.1.member", "", 0),
                           "Member must have length greater than or equal to 1"));
    assert_string_equal(check(sl_check_tag_value, "tags.1.member.value", "", 0), "");
    assert_string_equal(check(sl_check_tag_value, "tags.1.member.value", text, 256 * 2), "");
    assert_non_null(strstr(check(sl_check_tag_value, "tags.1.member.value", text, 257 * 2),
                           "less than or equal to 256"));
    assert_non_null(strstr(check(sl_check_tag_value, "tags.1.member.value", "\xff", 1),
                           "Member must be valid UTF-8"));
}

static void test_tag_text_allows_letters_digits_space_and_aws_punctuation(void **state)
{
    (void)state;
    const char *ok = "Team 1_a.b:c/d=e+f-g@h \xc3\xa9quipe";
    assert_true(sl_tag_text_allowed(ok, strlen(ok)));
    assert_true(sl_tag_text_allowed("", 0));
    const char *bad[] = {"semi;colon", "pct%", "hash#", "star*", "quote'", "tab\there", "comma,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(sl_tag_text_allowed(bad[i], strlen(bad[i])));
    }
    assert_false(sl_tag_text_allowed("nul\0x", 5));
}

static void test_tag_key_prefix_aws_colon_is_reserved_in_any_case(void **state)
{
    (void)state;
    assert_true(sl_tag_key_reserved("aws:x", 5));
    assert_true(sl_tag_key_reserved("AWS:", 4));
    assert_true(sl_tag_key_reserved("Aws:cost", 8));
    assert_false(sl_tag_key_reserved("aws", 3));
    assert_false(sl_tag_key_reserved("awsx:y", 6));
    assert_false(sl_tag_key_reserved("my:aws:", 7));
}

static void test_partition_key_rejects_empty(void **state)
{
    (void)state;
    assert_string_equal(check(sl_check_partition_key, "records.1.member.partitionKey", "", 0),
                        "1 validation error detected: Value '' at "
                        "'records.1.member.partitionKey' failed to satisfy constraint: Member "
                        "must have length greater than or equal to 1");
}

static void test_partition_key_rejects_257_code_points(void **state)
{
    (void)state;
    char key[257 * 3];
    for (int i = 0; i < 257; i++) {
        memcpy(key + 3 * i, "\xe2\x82\xac", 3); /* U+20AC, three bytes */
    }
    const char *msg = check(sl_check_partition_key, "partitionKey", key, sizeof(key));
    assert_non_null(strstr(msg, "1 validation error detected: Value '\xe2\x82\xac"));
    assert_non_null(strstr(msg, "...' at 'partitionKey' failed to satisfy constraint: Member "
                                "must have length less than or equal to 256"));
    char ascii[257];
    memset(ascii, 'k', sizeof(ascii));
    assert_non_null(strstr(check(sl_check_partition_key, "partitionKey", ascii, 257),
                           "less than or equal to 256"));
}

static void test_partition_key_rejects_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\x80",             /* lone continuation byte */
        "a\xc3",            /* truncated sequence */
        "\xc0\x80",         /* overlong NUL */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf8\x88\x80\x80\x80",
        "\xff",
        "\xe2\x28\xa1", /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = check(sl_check_partition_key, "partitionKey", bad[i], strlen(bad[i]));
        assert_non_null(strstr(msg, "1 validation error detected: Value '"));
        assert_non_null(strstr(msg, "' at 'partitionKey' failed to satisfy constraint: Member "
                                    "must be valid UTF-8"));
    }
}

static const char *check_range(uint64_t value, uint64_t min, uint64_t max)
{
    static struct sl_verr v;
    sl_verr_init(&v);
    bool ok = sl_check_u64_range(&v, "shardCount", value, min, max);
    assert_int_equal(ok, v.n == 0);
    return finish(&v);
}

static void test_u64_range_accepts_both_bounds(void **state)
{
    (void)state;
    assert_string_equal(check_range(1, 1, 10000), "");
    assert_string_equal(check_range(10000, 1, 10000), "");
    assert_string_equal(check_range(0, 0, UINT64_MAX), "");
    assert_string_equal(check_range(UINT64_MAX, 0, UINT64_MAX), "");
}

static void test_u64_range_rejects_below_min(void **state)
{
    (void)state;
    assert_string_equal(check_range(0, 1, 10000),
                        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy "
                        "constraint: Member must have value greater than or equal to 1");
}

static void test_u64_range_rejects_above_max(void **state)
{
    (void)state;
    assert_string_equal(check_range(10001, 1, 10000),
                        "1 validation error detected: Value '10001' at 'shardCount' failed to "
                        "satisfy constraint: Member must have value less than or equal to 10000");
}

static const char *check_size(size_t data_len, size_t key_len)
{
    static struct sl_verr v;
    sl_verr_init(&v);
    bool ok = sl_check_data_size(&v, "records.3.member.data", data_len, key_len);
    assert_int_equal(ok, v.n == 0);
    return finish(&v);
}

static void test_data_size_accepts_up_to_1mib_with_the_key(void **state)
{
    (void)state;
    assert_string_equal(check_size(0, 1), "");
    assert_string_equal(check_size(SL_RECORD_BYTES_MAX - 256, 256), "");
    assert_string_equal(check_size(SL_RECORD_BYTES_MAX, 0), "");
}

static void test_data_size_rejects_one_byte_more(void **state)
{
    (void)state;
    assert_string_equal(check_size(SL_RECORD_BYTES_MAX - 255, 256),
                        "1 validation error detected: Value "
                        "'java.nio.HeapByteBuffer[pos=0 lim=1048321 cap=1048321]' at "
                        "'records.3.member.data' failed to satisfy constraint: Member must have "
                        "length less than or equal to 1048576");
    assert_non_null(strstr(check_size(SL_RECORD_BYTES_MAX + 1, 0), "lim=1048577 cap=1048577"));
    assert_non_null(strstr(check_size(SIZE_MAX, SIZE_MAX), "1 validation error detected"));
}

static void test_hash_key_shape_accepts_the_pattern(void **state)
{
    (void)state;
    const char *max = "340282366920938463463374607431768211455";
    const char *nines = "999999999999999999999999999999999999999"; /* range checked later */
    assert_string_equal(check(sl_check_hash_key_shape, "explicitHashKey", "0", 1), "");
    assert_string_equal(check(sl_check_hash_key_shape, "explicitHashKey", max, 39), "");
    assert_string_equal(check(sl_check_hash_key_shape, "explicitHashKey", nines, 39), "");
}

static void test_hash_key_shape_rejects_other_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "01", "-1", "1a", " 1", "1000000000000000000000000000000000000000" /* 40 digits */,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = check(sl_check_hash_key_shape, "explicitHashKey", bad[i], strlen(bad[i]));
        assert_non_null(strstr(msg, "' at 'explicitHashKey' failed to satisfy constraint: Member "
                                    "must satisfy regular expression pattern: "
                                    "0|([1-9]\\d{0,38})"));
    }
    assert_string_equal(check(sl_check_hash_key_shape, "newStartingHashKey", "01", 2),
                        "1 validation error detected: Value '01' at 'newStartingHashKey' failed "
                        "to satisfy constraint: Member must satisfy regular expression pattern: "
                        "0|([1-9]\\d{0,38})");
}

static void test_seqno_shape_accepts_up_to_129_digits(void **state)
{
    (void)state;
    char digits[131];
    memset(digits, '9', 130);
    digits[130] = '\0';
    assert_string_equal(check(sl_check_seqno_shape, "startingSequenceNumber", "0", 1), "");
    assert_string_equal(check(sl_check_seqno_shape, "startingSequenceNumber", digits, 129), "");
    const char *msg = check(sl_check_seqno_shape, "startingSequenceNumber", digits, 130);
    char want[512];
    snprintf(want, sizeof(want),
             "1 validation error detected: Value '%s' at 'startingSequenceNumber' failed to "
             "satisfy constraint: Member must satisfy regular expression pattern: "
             "0|([1-9]\\d{0,128})",
             digits);
    assert_string_equal(msg, want);
    assert_non_null(strstr(check(sl_check_seqno_shape, "startingSequenceNumber", "007", 3),
                           "0|([1-9]\\d{0,128})"));
    assert_non_null(strstr(check(sl_check_seqno_shape, "startingSequenceNumber", "", 0),
                           "0|([1-9]\\d{0,128})"));
}

static void test_explicit_hash_key_accepts_0_to_2pow128_minus_1(void **state)
{
    (void)state;
    char msg[512] = "";
    sl_u128 key = 1;
    assert_int_equal(sl_check_explicit_hash_key("0", 1, &key, msg, sizeof(msg)), SL_OK);
    assert_true(key == 0);
    const char *max = "340282366920938463463374607431768211455";
    assert_int_equal(sl_check_explicit_hash_key(max, strlen(max), &key, msg, sizeof(msg)), SL_OK);
    assert_true(key == SL_U128_MAX);
    assert_string_equal(msg, "");
}

static void test_explicit_hash_key_rejects_2pow128(void **state)
{
    (void)state;
    char msg[512];
    sl_u128 key;
    const char *s = "340282366920938463463374607431768211456";
    assert_int_equal(sl_check_explicit_hash_key(s, strlen(s), &key, msg, sizeof(msg)), SL_EINVAL);
    assert_string_equal(msg, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                             "[0, 2^128-1]. Specified value was "
                             "340282366920938463463374607431768211456");
}

static void test_explicit_hash_key_rejects_malformed_text(void **state)
{
    (void)state;
    char msg[512];
    sl_u128 key;
    assert_int_equal(sl_check_explicit_hash_key("-1", 2, &key, msg, sizeof(msg)), SL_EINVAL);
    assert_string_equal(msg, "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                             "[0, 2^128-1]. Specified value was -1");
    char small[8];
    assert_int_equal(sl_check_explicit_hash_key("x", 1, &key, small, sizeof(small)), SL_EINVAL);
    assert_string_equal(small, "Invalid");
}

static void test_retention_accepts_24_to_8760_hours(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(sl_check_retention_hours(24, msg, sizeof(msg)), SL_OK);
    assert_int_equal(sl_check_retention_hours(168, msg, sizeof(msg)), SL_OK);
    assert_int_equal(sl_check_retention_hours(8760, msg, sizeof(msg)), SL_OK);
}

static void test_retention_rejects_23_hours_as_too_short(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(sl_check_retention_hours(23, msg, sizeof(msg)), SL_EINVAL);
    assert_string_equal(msg, "Minimum allowed retention period is 24 hours. Requested retention "
                             "period (23 hours) is too short.");
    assert_int_equal(sl_check_retention_hours(0, msg, sizeof(msg)), SL_EINVAL);
}

static void test_retention_rejects_8761_hours_as_too_long(void **state)
{
    (void)state;
    char msg[256];
    assert_int_equal(sl_check_retention_hours(8761, msg, sizeof(msg)), SL_EINVAL);
    assert_string_equal(msg, "Maximum allowed retention period is 8760 hours. Requested retention "
                             "period (8761 hours) is too long.");
    assert_int_equal(sl_check_retention_hours(UINT64_MAX, msg, sizeof(msg)), SL_EINVAL);
    assert_non_null(strstr(msg, "(18446744073709551615 hours)"));
}

static void test_limits_match_kinesis(void **state)
{
    (void)state;
    assert_int_equal(SL_RECORD_BYTES_MAX, 1048576);
    assert_int_equal(SL_PUT_RECORDS_MAX, 500);
    assert_int_equal(SL_PUT_RECORDS_BYTES_MAX, 5 * 1048576);
    assert_int_equal(SL_GET_RECORDS_LIMIT_MAX, 10000);
    assert_int_equal(SL_GET_RECORDS_BYTES_MAX, 10 * 1048576);
    assert_int_equal(SL_SHARD_COUNT_MAX, 10000);
    assert_int_equal(SL_RETENTION_HOURS_MIN, 24);
    assert_int_equal(SL_RETENTION_HOURS_MAX, 8760);
    assert_int_equal(SL_RETENTION_HOURS_DEFAULT, 24);
    assert_int_equal(SL_LIST_STREAMS_LIMIT_MAX, 100);
    assert_int_equal(SL_LIST_SHARDS_MAX_RESULTS_MAX, 10000);
    assert_int_equal(SL_LIST_SHARDS_DEFAULT, 1000);
    assert_int_equal(SL_DESCRIBE_STREAM_LIMIT_MAX, 100);
    assert_int_equal(SL_ITERATOR_TTL_MS, 300000);
    assert_int_equal(SL_PARTITION_KEY_CHARS_MAX, 256);
    assert_int_equal(SL_STREAM_NAME_MAX, 128);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verr_without_errors_finishes_ok),
        cmocka_unit_test(test_verr_reports_one_error),
        cmocka_unit_test(test_verr_joins_two_errors),
        cmocka_unit_test(test_verr_keeps_ten_errors_but_counts_all),
        cmocka_unit_test(test_verr_shows_null_values),
        cmocka_unit_test(test_verr_cuts_values_longer_than_256_bytes),
        cmocka_unit_test(test_verr_cuts_values_between_characters),
        cmocka_unit_test(test_verr_replaces_invalid_utf8_in_values),
        cmocka_unit_test(test_verr_shows_nul_bytes_in_values_as_question_marks),
        cmocka_unit_test(test_verr_holds_ten_of_the_longest_errors),
        cmocka_unit_test(test_verr_finish_cuts_to_the_buffer),
        cmocka_unit_test(test_stream_name_accepts_1_to_128_allowed_characters),
        cmocka_unit_test(test_stream_name_rejects_empty_with_pattern_and_length),
        cmocka_unit_test(test_stream_name_rejects_129_characters),
        cmocka_unit_test(test_stream_name_rejects_other_characters),
        cmocka_unit_test(test_shard_id_shape_accepts_1_to_128_allowed_characters),
        cmocka_unit_test(test_partition_key_accepts_1_to_256_code_points),
        cmocka_unit_test(test_partition_key_rejects_empty),
        cmocka_unit_test(test_partition_key_rejects_257_code_points),
        cmocka_unit_test(test_partition_key_rejects_invalid_utf8),
        cmocka_unit_test(test_u64_range_accepts_both_bounds),
        cmocka_unit_test(test_u64_range_rejects_below_min),
        cmocka_unit_test(test_u64_range_rejects_above_max),
        cmocka_unit_test(test_data_size_accepts_up_to_1mib_with_the_key),
        cmocka_unit_test(test_data_size_rejects_one_byte_more),
        cmocka_unit_test(test_hash_key_shape_accepts_the_pattern),
        cmocka_unit_test(test_hash_key_shape_rejects_other_text),
        cmocka_unit_test(test_seqno_shape_accepts_up_to_129_digits),
        cmocka_unit_test(test_explicit_hash_key_accepts_0_to_2pow128_minus_1),
        cmocka_unit_test(test_explicit_hash_key_rejects_2pow128),
        cmocka_unit_test(test_explicit_hash_key_rejects_malformed_text),
        cmocka_unit_test(test_retention_accepts_24_to_8760_hours),
        cmocka_unit_test(test_retention_rejects_23_hours_as_too_short),
        cmocka_unit_test(test_retention_rejects_8761_hours_as_too_long),
        cmocka_unit_test(test_limits_match_kinesis),
        cmocka_unit_test(test_tag_key_is_1_to_128_code_points_and_value_0_to_256),
        cmocka_unit_test(test_tag_text_allows_letters_digits_space_and_aws_punctuation),
        cmocka_unit_test(test_tag_key_prefix_aws_colon_is_reserved_in_any_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
