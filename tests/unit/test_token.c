/* test_token.c — signed shard iterators and ListShards page tokens (node/server/iterator.h):
 * round trips, the layout table, and refusal of anything forged, damaged or expired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/base64.h"
#include "core/codec.h"
#include "core/errors.h"
#include "core/rand.h"
#include "io/crypto.h"
#include "server/iterator.h"

#include <stdlib.h>
#include <string.h>

#define TTL_MS 300000

static const uint8_t secret[32] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
};

/* A token of `kind` for a stream name of `name_len` characters (legal stream-name ones). */
static struct sl_token token_of(uint8_t kind, size_t name_len)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    struct sl_token t;
    memset(&t, 0, sizeof(t));
    t.kind = kind;
    for (size_t i = 0; i < name_len; i++) {
        t.stream[i] = chars[i % (sizeof(chars) - 1)];
    }
    t.stream_len = (uint32_t)name_len;
    t.stream_created_ms = UINT64_C(1700000000123);
    t.shard_index = 7;
    t.position = UINT64_C(0x0123456789abcdef);
    t.issued_ms = UINT64_C(1700000555000);
    return t;
}

static void assert_token_equal(const struct sl_token *a, const struct sl_token *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->stream_len, b->stream_len);
    assert_memory_equal(a->stream, b->stream, a->stream_len);
    assert_int_equal(a->stream_created_ms, b->stream_created_ms);
    assert_int_equal(a->shard_index, b->shard_index);
    assert_int_equal(a->position, b->position);
    assert_int_equal(a->issued_ms, b->issued_ms);
}

/* Decodes at the token's issue time, from an exact-size copy so that ASan sees overreads. */
static int decode_at(const char *text, size_t len, uint8_t kind, const uint8_t key[32],
                     uint64_t now_ms, struct sl_token *t)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rv = sl_token_decode(copy, len, kind, key, now_ms, TTL_MS, t);
    free(copy);
    return rv;
}

static void assert_roundtrips(const struct sl_token *t)
{
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(t, secret, text);
    assert_int_equal(len, strlen(text));
    struct sl_token back;
    assert_int_equal(decode_at(text, len, t->kind, secret, t->issued_ms, &back), SL_OK);
    assert_token_equal(&back, t);
}

/* Builds a token's text by hand from the layout table in iterator.h, signed with `key`, so that
 * tests can make tokens the encoder never would. `name_len` is the byte written at offset 30;
 * `name_bytes` are written after it. */
static size_t forge(uint8_t version, uint8_t kind, uint8_t name_len, size_t name_bytes,
                    const uint8_t key[32], char out[512])
{
    unsigned char raw[512];
    raw[0] = version;
    raw[1] = kind;
    sl_put_u64(raw + 2, 1700000000123);
    sl_put_u32(raw + 10, 7);
    sl_put_u64(raw + 14, 99);
    sl_put_u64(raw + 22, 1700000555000);
    raw[30] = name_len;
    memset(raw + 31, 'n', name_bytes);
    size_t body = 31 + name_bytes;
    uint8_t mac[SL_HMAC_SHA256_BYTES];
    sl_hmac_sha256(key, 32, raw, body, mac);
    memcpy(raw + body, mac, 16);
    return sl_base64_encode(raw, body + 16, out);
}

static void test_token_roundtrips_shard_iterator_with_longest_name(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, SL_STREAM_NAME_BYTES_MAX);
    assert_roundtrips(&t);
    t.stream_created_ms = UINT64_MAX;
    t.shard_index = UINT32_MAX;
    t.position = UINT64_MAX;
    t.issued_ms = UINT64_MAX;
    assert_roundtrips(&t);
    t.stream_created_ms = 0;
    t.shard_index = 0;
    t.position = 0;
    t.issued_ms = 0;
    assert_roundtrips(&t);
}

static void test_token_roundtrips_list_shards_token_with_longest_name(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_LIST_SHARDS, SL_STREAM_NAME_BYTES_MAX);
    t.position = 1000; /* page size */
    assert_roundtrips(&t);
    t.shard_index = UINT32_MAX;
    t.position = UINT64_MAX;
    assert_roundtrips(&t);
}

static void test_token_roundtrips_every_name_length(void **state)
{
    (void)state;
    for (size_t n = 1; n <= SL_STREAM_NAME_BYTES_MAX; n++) {
        struct sl_token t = token_of(n % 2 ? SL_TOKEN_SHARD_ITERATOR : SL_TOKEN_LIST_SHARDS, n);
        assert_roundtrips(&t);
    }
}

static void test_token_bytes_follow_the_layout_table(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, 5);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    unsigned char raw[SL_TOKEN_STR_MAX];
    long n = sl_base64_decode(text, len, raw);
    assert_int_equal(n, 31 + 5 + 16);
    assert_int_equal(raw[0], 1);
    assert_int_equal(raw[1], SL_TOKEN_SHARD_ITERATOR);
    assert_int_equal(sl_get_u64(raw + 2), t.stream_created_ms);
    assert_int_equal(sl_get_u32(raw + 10), t.shard_index);
    assert_int_equal(sl_get_u64(raw + 14), t.position);
    assert_int_equal(sl_get_u64(raw + 22), t.issued_ms);
    assert_int_equal(raw[30], 5);
    assert_memory_equal(raw + 31, t.stream, 5);
    uint8_t mac[SL_HMAC_SHA256_BYTES];
    sl_hmac_sha256(secret, 32, raw, 36, mac);
    assert_memory_equal(raw + 36, mac, 16);
    /* And a token forged from the table by hand is accepted. */
    char forged[512];
    size_t forged_len = forge(1, SL_TOKEN_LIST_SHARDS, 3, 3, secret, forged);
    struct sl_token back;
    assert_int_equal(
        decode_at(forged, forged_len, SL_TOKEN_LIST_SHARDS, secret, 1700000555000, &back), SL_OK);
    assert_int_equal(back.stream_len, 3);
    assert_memory_equal(back.stream, "nnn", 3);
    assert_int_equal(back.position, 99);
}

static void test_token_text_of_longest_name_fits_kinesis_512_limit(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, SL_STREAM_NAME_BYTES_MAX);
    t.stream_created_ms = UINT64_MAX;
    t.position = UINT64_MAX;
    t.issued_ms = UINT64_MAX;
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    assert_int_equal(len, strlen(text));
    assert_true(len < 512);
    assert_true(len < SL_TOKEN_STR_MAX);
    assert_int_equal(len, sl_base64_encoded_len(31 + SL_STREAM_NAME_BYTES_MAX + 16));
}

static void test_token_signed_with_another_secret_is_invalid(void **state)
{
    (void)state;
    uint8_t other[32];
    memcpy(other, secret, sizeof(other));
    other[31] ^= 1;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, SL_STREAM_NAME_BYTES_MAX);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, other, text);
    struct sl_token back;
    assert_int_equal(decode_at(text, len, t.kind, secret, t.issued_ms, &back), SL_EINVAL);
    assert_int_equal(decode_at(text, len, t.kind, other, t.issued_ms, &back), SL_OK);
}

/* Replaces each character of a valid token, in turn, with every other byte value. A token is
 * refused unless the damaged text still decodes to the very same bytes, which base64 allows in
 * one place only: the last character before '=' padding carries 2 or 4 bits that no byte uses
 * (RFC 4648 §3.5), and this decoder ignores them. */
static void assert_every_flip_refused(size_t name_len)
{
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, name_len);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    unsigned char raw[SL_TOKEN_STR_MAX], flipped_raw[SL_TOKEN_STR_MAX];
    long raw_len = sl_base64_decode(text, len, raw);
    assert_true(raw_len > 0);
    size_t pad = (size_t)(strchr(text, '=') ? text + len - strchr(text, '=') : 0);
    for (size_t pos = 0; pos < len; pos++) {
        for (int c = 0; c < 256; c++) {
            if (c == (unsigned char)text[pos]) {
                continue;
            }
            char flipped[SL_TOKEN_STR_MAX];
            memcpy(flipped, text, len);
            flipped[pos] = (char)c;
            struct sl_token back;
            int rv = decode_at(flipped, len, t.kind, secret, t.issued_ms, &back);
            long n = sl_base64_decode(flipped, len, flipped_raw);
            if (n == raw_len && memcmp(flipped_raw, raw, (size_t)n) == 0) {
                /* Same bytes: only the unused low bits of the last data character differ. */
                assert_true(pad > 0);
                assert_int_equal(pos, len - pad - 1);
                assert_int_equal(rv, SL_OK);
                assert_token_equal(&back, &t);
            } else {
                assert_int_equal(rv, SL_EINVAL);
            }
        }
    }
}

static void test_token_with_any_character_changed_is_invalid(void **state)
{
    (void)state;
    /* 31 + 16 + name bytes: name lengths 1, 2 and 3 give 0, 2 and 1 '=' of padding. */
    assert_every_flip_refused(1);
    assert_every_flip_refused(2);
    assert_every_flip_refused(3);
    assert_every_flip_refused(SL_STREAM_NAME_BYTES_MAX);
}

static void test_token_of_the_wrong_kind_is_invalid(void **state)
{
    (void)state;
    struct sl_token back;
    char text[SL_TOKEN_STR_MAX];
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, 10);
    size_t len = sl_token_encode(&t, secret, text);
    assert_int_equal(decode_at(text, len, SL_TOKEN_LIST_SHARDS, secret, t.issued_ms, &back),
                     SL_EINVAL);
    assert_int_equal(decode_at(text, len, 0, secret, t.issued_ms, &back), SL_EINVAL);
    t = token_of(SL_TOKEN_LIST_SHARDS, 10);
    len = sl_token_encode(&t, secret, text);
    assert_int_equal(decode_at(text, len, SL_TOKEN_SHARD_ITERATOR, secret, t.issued_ms, &back),
                     SL_EINVAL);
}

static void test_token_is_valid_until_exactly_ttl_after_issue(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, 10);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    struct sl_token back;
    assert_int_equal(decode_at(text, len, t.kind, secret, t.issued_ms + TTL_MS, &back), SL_OK);
    assert_token_equal(&back, &t);
    /* A reader whose clock is behind the issuer's is not refused either. */
    assert_int_equal(decode_at(text, len, t.kind, secret, t.issued_ms - 5000, &back), SL_OK);
    assert_int_equal(decode_at(text, len, t.kind, secret, 0, &back), SL_OK);
}

static void test_token_expires_one_ms_after_ttl_and_reports_issue_time(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, 10);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    struct sl_token back;
    memset(&back, 0, sizeof(back));
    assert_int_equal(decode_at(text, len, t.kind, secret, t.issued_ms + TTL_MS + 1, &back),
                     SL_EEXPIRED);
    assert_int_equal(back.issued_ms, t.issued_ms);
    assert_int_equal(decode_at(text, len, t.kind, secret, UINT64_MAX, &back), SL_EEXPIRED);
    assert_int_equal(back.issued_ms, t.issued_ms);
}

static void test_token_of_another_version_is_invalid_even_when_signed(void **state)
{
    (void)state;
    char text[512];
    struct sl_token back;
    for (int v = 0; v < 256; v++) {
        size_t len = forge((uint8_t)v, SL_TOKEN_SHARD_ITERATOR, 4, 4, secret, text);
        assert_int_equal(
            decode_at(text, len, SL_TOKEN_SHARD_ITERATOR, secret, 1700000555000, &back),
            v == 1 ? SL_OK : SL_EINVAL);
    }
}

static void test_token_with_inconsistent_name_length_is_invalid_even_when_signed(void **state)
{
    (void)state;
    char text[512];
    struct sl_token back;
    const uint64_t now = 1700000555000;
    const uint8_t kind = SL_TOKEN_SHARD_ITERATOR;
    size_t len = forge(1, kind, 0, 0, secret, text); /* an empty name */
    assert_int_equal(decode_at(text, len, kind, secret, now, &back), SL_EINVAL);
    len = forge(1, kind, 5, 4, secret, text); /* says 5, holds 4 */
    assert_int_equal(decode_at(text, len, kind, secret, now, &back), SL_EINVAL);
    len = forge(1, kind, 3, 4, secret, text); /* says 3, holds 4 */
    assert_int_equal(decode_at(text, len, kind, secret, now, &back), SL_EINVAL);
    /* One character past the longest stream name. */
    len = forge(1, kind, SL_STREAM_NAME_BYTES_MAX + 1, SL_STREAM_NAME_BYTES_MAX + 1, secret, text);
    assert_int_equal(decode_at(text, len, kind, secret, now, &back), SL_EINVAL);
    len = forge(1, kind, 255, 255, secret, text);
    assert_int_equal(decode_at(text, len, kind, secret, now, &back), SL_EINVAL);
}

static void test_token_decode_refuses_empty_and_garbage_text(void **state)
{
    (void)state;
    struct sl_token back;
    static const char *const garbage[] = {
        "",
        "=",
        "====",
        "AAAA",
        "not a token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "////////////////////////////////////////////////////////////////////",
        "AQEAAAGLz/7/ewAAAAcBI0VniavN7wAAAYvQBw74CmFiY2RlZmdoaWo=",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        assert_int_equal(
            decode_at(garbage[i], strlen(garbage[i]), SL_TOKEN_SHARD_ITERATOR, secret, 0, &back),
            SL_EINVAL);
    }
    /* Random bytes, and random base64 text, of every length up to and past the limit. */
    struct sl_rand r;
    sl_rand_seed(&r, 3);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t len = 0; len < 2 * SL_TOKEN_STR_MAX; len++) {
        for (int round = 0; round < 20; round++) {
            char text[2 * SL_TOKEN_STR_MAX];
            for (size_t i = 0; i < len; i++) {
                text[i] = round % 2 ? (char)sl_rand_next(&r) : b64[sl_rand_below(&r, 64)];
            }
            assert_int_equal(decode_at(text, len, (uint8_t)(1 + round % 2), secret, 0, &back),
                             SL_EINVAL);
        }
    }
}

static void test_token_decode_refuses_over_long_text(void **state)
{
    (void)state;
    struct sl_token t = token_of(SL_TOKEN_SHARD_ITERATOR, SL_STREAM_NAME_BYTES_MAX);
    char text[SL_TOKEN_STR_MAX];
    size_t len = sl_token_encode(&t, secret, text);
    struct sl_token back;
    /* A valid token with more base64 after it, up to far past any buffer. */
    char *longer = malloc(8192);
    assert_non_null(longer);
    memcpy(longer, text, len);
    for (size_t n = len + 1; n <= 8192; n++) {
        longer[n - 1] = 'A';
        assert_int_equal(decode_at(longer, n, t.kind, secret, t.issued_ms, &back), SL_EINVAL);
    }
    /* Two valid tokens back to back. */
    char twice[2 * SL_TOKEN_STR_MAX];
    t = token_of(SL_TOKEN_SHARD_ITERATOR, 2); /* 49 bytes: padded, so the middle holds '=' */
    len = sl_token_encode(&t, secret, twice);
    memcpy(twice + len, twice, len);
    assert_int_equal(decode_at(twice, 2 * len, t.kind, secret, t.issued_ms, &back), SL_EINVAL);
    t = token_of(SL_TOKEN_SHARD_ITERATOR, 1); /* 48 bytes: no padding at all */
    len = sl_token_encode(&t, secret, twice);
    memcpy(twice + len, twice, len);
    assert_int_equal(decode_at(twice, 2 * len, t.kind, secret, t.issued_ms, &back), SL_EINVAL);
    free(longer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_roundtrips_shard_iterator_with_longest_name),
        cmocka_unit_test(test_token_roundtrips_list_shards_token_with_longest_name),
        cmocka_unit_test(test_token_roundtrips_every_name_length),
        cmocka_unit_test(test_token_bytes_follow_the_layout_table),
        cmocka_unit_test(test_token_text_of_longest_name_fits_kinesis_512_limit),
        cmocka_unit_test(test_token_signed_with_another_secret_is_invalid),
        cmocka_unit_test(test_token_with_any_character_changed_is_invalid),
        cmocka_unit_test(test_token_of_the_wrong_kind_is_invalid),
        cmocka_unit_test(test_token_is_valid_until_exactly_ttl_after_issue),
        cmocka_unit_test(test_token_expires_one_ms_after_ttl_and_reports_issue_time),
        cmocka_unit_test(test_token_of_another_version_is_invalid_even_when_signed),
        cmocka_unit_test(test_token_with_inconsistent_name_length_is_invalid_even_when_signed),
        cmocka_unit_test(test_token_decode_refuses_empty_and_garbage_text),
        cmocka_unit_test(test_token_decode_refuses_over_long_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
