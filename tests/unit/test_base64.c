/* test_base64.c — standard padded base64 (node/core/base64.h): the RFC 4648 test vectors,
 * what the decoder refuses, and round trips of every short length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/base64.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 §10. */
static const struct {
    const char *plain;
    const char *encoded;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* Decodes `text` into an exact-size heap buffer (so that ASan sees any write past the room
 * base64.h promises) and returns the result; the decoded bytes go to `out` when it is given. */
static long decode(const char *text, size_t len, unsigned char *out)
{
    size_t room = len / 4 * 3;
    unsigned char *buf = malloc(room ? room : 1);
    assert_non_null(buf);
    long n = sl_base64_decode(text, len, buf);
    if (n > 0 && out) {
        memcpy(out, buf, (size_t)n);
    }
    free(buf);
    return n;
}

static void assert_refused(const char *text, size_t len)
{
    assert_int_equal(decode(text, len, NULL), -1);
}

static void test_base64_encodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VECTORS; i++) {
        char out[16];
        size_t len = strlen(vectors[i].plain);
        assert_int_equal(sl_base64_encoded_len(len), strlen(vectors[i].encoded));
        assert_int_equal(sl_base64_encode(vectors[i].plain, len, out), strlen(vectors[i].encoded));
        assert_string_equal(out, vectors[i].encoded);
    }
}

static void test_base64_decodes_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VECTORS; i++) {
        unsigned char out[16];
        const char *text = vectors[i].encoded;
        long n = decode(text, strlen(text), out);
        assert_int_equal(n, strlen(vectors[i].plain));
        assert_memory_equal(out, vectors[i].plain, (size_t)n);
    }
}

static void test_base64_decode_refuses_length_not_a_multiple_of_4(void **state)
{
    (void)state;
    const char *text = "Zm9vYmFy";
    for (size_t len = 1; len < 8; len++) {
        if (len != 4) {
            assert_refused(text, len);
        }
    }
    assert_refused("Zg=", 3);
    assert_refused("Zg", 2);
    assert_refused("Zm9vYmFyZ", 9);
}

static void test_base64_decode_refuses_characters_outside_the_alphabet(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        if (c == '=' || (c != 0 && strchr(alphabet, c))) {
            continue;
        }
        /* Every position of a full group, in the first and in the last group. */
        for (size_t pos = 0; pos < 8; pos++) {
            char text[] = "Zm9vYmFy";
            text[pos] = (char)c;
            assert_refused(text, 8);
        }
    }
    assert_refused("Zm9v\nYmFy", 9);
    assert_refused("Zm9vYmF-", 8); /* base64url's alphabet is not this one */
    assert_refused("Zm9vYmF_", 8);
}

static void test_base64_decode_refuses_padding_in_the_middle(void **state)
{
    (void)state;
    assert_refused("Zg==Zm9v", 8); /* a padded group that is not the last */
    assert_refused("Zm8=Zm9v", 8);
    assert_refused("=m9v", 4);
    assert_refused("Z=9v", 4);
    assert_refused("Zm9v=m9v", 8);
    assert_refused("Zm9vZ=9v", 8);
    assert_refused("Z===", 4); /* one character carries only 6 bits: never a whole byte */
    assert_refused("====", 4);
    assert_refused("Zm9v====", 8);
}

static void test_base64_decode_refuses_data_after_padding(void **state)
{
    (void)state;
    assert_refused("Zm=v", 4);
    assert_refused("Zm9vZm=v", 8);
    assert_refused("Zg==Zg==", 8);
    assert_refused("Zg==A", 5);
    assert_refused("Zg==AAAA", 8);
}

static void test_base64_roundtrips_every_length_up_to_300(void **state)
{
    (void)state;
    struct sl_rand r;
    sl_rand_seed(&r, 64);
    for (size_t len = 0; len <= 300; len++) {
        unsigned char *in = malloc(len ? len : 1);
        assert_non_null(in);
        for (size_t i = 0; i < len; i++) {
            in[i] = (unsigned char)sl_rand_next(&r);
        }
        size_t text_len = sl_base64_encoded_len(len);
        char *text = malloc(text_len + 1); /* exactly the room base64.h asks for */
        assert_non_null(text);
        assert_int_equal(sl_base64_encode(in, len, text), text_len);
        assert_int_equal(strlen(text), text_len);
        assert_int_equal(text_len % 4, 0);
        size_t pad = (3 - len % 3) % 3;
        for (size_t i = 0; i < text_len; i++) {
            if (i >= text_len - pad) {
                assert_int_equal(text[i], '=');
            } else {
                assert_non_null(strchr(alphabet, text[i]));
            }
        }
        unsigned char *out = malloc(len ? len : 1);
        assert_non_null(out);
        assert_int_equal(decode(text, text_len, out), len);
        assert_memory_equal(out, in, len);
        free(out);
        free(text);
        free(in);
    }
}

static void test_base64_roundtrips_every_byte_value_in_every_position(void **state)
{
    (void)state;
    for (size_t pos = 0; pos < 3; pos++) {
        for (int v = 0; v < 256; v++) {
            unsigned char in[3] = {0x5a, 0xa5, 0x00};
            in[pos] = (unsigned char)v;
            for (size_t len = pos + 1; len <= 3; len++) {
                char text[8];
                unsigned char out[3];
                size_t text_len = sl_base64_encode(in, len, text);
                assert_int_equal(decode(text, text_len, out), len);
                assert_memory_equal(out, in, len);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_encodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_decodes_rfc4648_vectors),
        cmocka_unit_test(test_base64_decode_refuses_length_not_a_multiple_of_4),
        cmocka_unit_test(test_base64_decode_refuses_characters_outside_the_alphabet),
        cmocka_unit_test(test_base64_decode_refuses_padding_in_the_middle),
        cmocka_unit_test(test_base64_decode_refuses_data_after_padding),
        cmocka_unit_test(test_base64_roundtrips_every_length_up_to_300),
        cmocka_unit_test(test_base64_roundtrips_every_byte_value_in_every_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
