/* test_cbor.c — the CBOR decoder and writer (node/core/cbor.h): every major type and head size,
 * definite and indefinite lengths, tags and the AWS timestamp convention, the limits on both
 * sides of each bound, hostile lengths, exact bytes worked out by hand from RFC 8949, round
 * trips in both encodings, a PutRecords body of 500 records, and allocation failure at every
 * point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "../fuzz/tree.h"

#include "core/alloc.h"
#include "core/cbor.h"
#include "core/doc.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/rand.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Helpers ----------------------------------------------------------------------------- */

/* Bytes written out in the test: `ok(B(0x82, 0x01, 0x02))`. */
#define B(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

static struct sl_doc doc; /* every test decodes into it; the teardown frees it */
static char err[256];

static int setup(void **state)
{
    (void)state;
    sl_doc_init(&doc);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sl_doc_close(&doc);
    return 0;
}

/* Decodes a copy of the input in an exact-size heap block (so that ASan sees any read past the
 * input), freed before returning: the tree must not point into the input. */
static int decode_lim(const unsigned char *p, size_t len, const struct sl_doc_limits *lim,
                      const struct sl_doc_value **root)
{
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len) {
        memcpy(copy, p, len);
    }
    int rc = sl_cbor_decode(&doc, copy, len, lim, root, err, sizeof(err));
    free(copy);
    return rc;
}

static const struct sl_doc_value *ok(const unsigned char *p, size_t len)
{
    const struct sl_doc_value *root = NULL;
    int rc = decode_lim(p, len, NULL, &root);
    if (rc != SL_OK) {
        fail_msg("refused %zu bytes starting 0x%02x: %s", len, len ? p[0] : 0, err);
    }
    assert_non_null(root);
    return root;
}

static void refused(const unsigned char *p, size_t len)
{
    const struct sl_doc_value *root = NULL;
    int rc = decode_lim(p, len, NULL, &root);
    if (rc != SL_ESERIAL) {
        fail_msg("rc %d for %zu bytes starting 0x%02x", rc, len, len ? p[0] : 0);
    }
    assert_null(root);
    assert_true(strncmp(err, "invalid CBOR at byte ", 21) == 0);
}

static void refused_with(const unsigned char *p, size_t len, const char *msg)
{
    refused(p, len);
    assert_string_equal(err, msg);
}

static void assert_int_number(const struct sl_doc_value *v, int64_t i)
{
    assert_int_equal(v->type, SL_DOC_NUMBER);
    if (!v->is_int || v->i != i) {
        fail_msg("want %lld, got is_int %d i %lld d %.17g", (long long)i, v->is_int,
                 (long long)v->i, v->d);
    }
    assert_true(v->d == (double)i);
}

static void assert_double_only(const struct sl_doc_value *v, double d)
{
    assert_int_equal(v->type, SL_DOC_NUMBER);
    assert_false(v->is_int);
    if (v->d != d) {
        fail_msg("want %.17g, got %.17g", d, v->d);
    }
}

static void assert_string(const struct sl_doc_value *v, enum sl_doc_type type, const char *s,
                          size_t len)
{
    assert_int_equal(v->type, type);
    assert_int_equal(v->len, len);
    assert_memory_equal(v->s, s, len);
    assert_int_equal(v->s[len], '\0');
}

struct out {
    unsigned char *p;
    size_t len;
};

static struct out finish(struct sl_enc *e)
{
    struct out o;
    assert_int_equal(sl_enc_finish(e, &o.p, &o.len), SL_OK);
    sl_enc_close(e);
    return o;
}

static void assert_bytes(struct out o, const unsigned char *want, size_t len)
{
    if (o.len != len || memcmp(o.p, want, len) != 0) {
        char got[256] = "";
        for (size_t k = 0; k < o.len && k < 80; k++) {
            snprintf(got + 3 * k, 4, "%02x ", o.p[k]);
        }
        fail_msg("wrote %s(%zu bytes, want %zu)", got, o.len, len);
    }
    free(o.p);
}

static struct out cbor_int(int64_t v)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_int(&e, v);
    return finish(&e);
}

static struct out cbor_double(double v)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_double(&e, v);
    return finish(&e);
}

static struct out cbor_time(int64_t ms)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_time_ms(&e, ms);
    return finish(&e);
}

/* ---- Integers ---------------------------------------------------------------------------- */

static void test_cbor_decodes_unsigned_integers_in_every_head_size(void **state)
{
    (void)state;
    assert_int_number(ok(B(0x00)), 0);
    assert_int_number(ok(B(0x17)), 23);
    assert_int_number(ok(B(0x18, 0x18)), 24);
    assert_int_number(ok(B(0x18, 0xff)), 255);
    assert_int_number(ok(B(0x19, 0x01, 0x00)), 256);
    assert_int_number(ok(B(0x19, 0xff, 0xff)), 65535);
    assert_int_number(ok(B(0x1a, 0x00, 0x01, 0x00, 0x00)), 65536);
    assert_int_number(ok(B(0x1a, 0xff, 0xff, 0xff, 0xff)), 4294967295);
    assert_int_number(ok(B(0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00)), 4294967296);
    assert_int_number(ok(B(0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), INT64_MAX);
}

static void test_cbor_accepts_integers_in_longer_heads_than_needed(void **state)
{
    (void)state;
    assert_int_number(ok(B(0x18, 0x01)), 1);
    assert_int_number(ok(B(0x19, 0x00, 0x01)), 1);
    assert_int_number(ok(B(0x1a, 0x00, 0x00, 0x00, 0x01)), 1);
    assert_int_number(ok(B(0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01)), 1);
    assert_int_number(ok(B(0x38, 0x00)), -1);
    assert_string(ok(B(0x78, 0x01, 0x61)), SL_DOC_STRING, "a", 1);
    assert_string(ok(B(0x59, 0x00, 0x01, 0x61)), SL_DOC_BYTES, "a", 1);
    assert_int_equal(ok(B(0x98, 0x01, 0x01))->n, 1);
    assert_int_equal(ok(B(0xb8, 0x01, 0x61, 0x61, 0x01))->n, 1);
}

static void test_cbor_unsigned_beyond_int64_is_a_double_only(void **state)
{
    (void)state;
    assert_double_only(ok(B(0x1b, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)),
                       9223372036854775808.0);
    assert_double_only(ok(B(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
                       18446744073709551616.0);
}

static void test_cbor_decodes_negative_integers(void **state)
{
    (void)state;
    assert_int_number(ok(B(0x20)), -1);
    assert_int_number(ok(B(0x37)), -24);
    assert_int_number(ok(B(0x38, 0x18)), -25);
    assert_int_number(ok(B(0x38, 0x63)), -100);
    assert_int_number(ok(B(0x39, 0x03, 0xe7)), -1000);
    assert_int_number(ok(B(0x3a, 0xff, 0xff, 0xff, 0xff)), -4294967296);
    assert_int_number(ok(B(0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)), INT64_MIN + 1);
    assert_int_number(ok(B(0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), INT64_MIN);
}

static void test_cbor_negative_beyond_int64_is_a_double_only(void **state)
{
    (void)state;
    /* -1 - 2^63 rounds to -2^63; -1 - (2^64 - 1) is -2^64 exactly. */
    assert_double_only(ok(B(0x3b, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)),
                       -9223372036854775808.0);
    assert_double_only(ok(B(0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
                       -18446744073709551616.0);
    /* -1 - (2^63 + 3071): the nearest double, not the double of 2^63 + 3071 minus one. */
    assert_double_only(ok(B(0x3b, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0xff)),
                       -9223372036854779904.0);
}

/* ---- Floats and simple values -------------------------------------------------------- */

static void test_cbor_decodes_half_precision_floats(void **state)
{
    (void)state;
    assert_double_only(ok(B(0xf9, 0x3e, 0x00)), 1.5);
    assert_double_only(ok(B(0xf9, 0x35, 0x55)), 0.333251953125);
    assert_int_number(ok(B(0xf9, 0x7b, 0xff)), 65504);            /* the largest half */
    assert_double_only(ok(B(0xf9, 0x04, 0x00)), 6.103515625e-05); /* the smallest normal, 2^-14 */
    assert_double_only(ok(B(0xf9, 0x00, 0x01)), 5.9604644775390625e-08); /* subnormal 2^-24 */
    assert_double_only(ok(B(0xf9, 0x03, 0xff)), 6.097555160522461e-05);  /* largest subnormal */
    assert_double_only(ok(B(0xf9, 0xb4, 0x00)), -0.25);
    const struct sl_doc_value *v = ok(B(0xf9, 0x80, 0x00));
    assert_int_number(v, 0);
    assert_true(signbit(v->d));
    assert_int_number(ok(B(0xf9, 0xc4, 0x00)), -4);
}

static void test_cbor_decodes_single_and_double_floats(void **state)
{
    (void)state;
    assert_int_number(ok(B(0xfa, 0x47, 0xc3, 0x50, 0x00)), 100000);
    assert_double_only(ok(B(0xfa, 0x3f, 0xc0, 0x00, 0x00)), 1.5);
    assert_double_only(ok(B(0xfa, 0x7f, 0x7f, 0xff, 0xff)), (double)FLT_MAX);
    assert_double_only(ok(B(0xfa, 0x00, 0x00, 0x00, 0x01)), 1.401298464324817e-45);
    assert_double_only(ok(B(0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a)), 1.1);
    assert_double_only(ok(B(0xfb, 0xc0, 0x10, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66)), -4.1);
    assert_double_only(ok(B(0xfb, 0x7f, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), DBL_MAX);
    assert_double_only(ok(B(0xfb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01)), 5e-324);
}

static void test_cbor_integral_floats_are_integers(void **state)
{
    (void)state;
    assert_int_number(ok(B(0xf9, 0x3c, 0x00)), 1);
    assert_int_number(ok(B(0xfa, 0x3f, 0x80, 0x00, 0x00)), 1);
    assert_int_number(ok(B(0xfb, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)), 1);
    /* -2^63 fits int64; 2^63 - 1024 is the largest double that does; 2^63 does not. */
    assert_int_number(ok(B(0xfb, 0xc3, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)), INT64_MIN);
    assert_int_number(ok(B(0xfb, 0x43, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)),
                      9223372036854774784);
    assert_double_only(ok(B(0xfb, 0x43, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)),
                       9223372036854775808.0);
    assert_double_only(ok(B(0xfa, 0x5f, 0x80, 0x00, 0x00)), 18446744073709551616.0);
}

static void test_cbor_refuses_nan_and_infinity(void **state)
{
    (void)state;
    refused_with(B(0xf9, 0x7c, 0x00), "invalid CBOR at byte 0: NaN and infinity are not accepted");
    refused(B(0xf9, 0xfc, 0x00));
    refused(B(0xf9, 0x7e, 0x00));
    refused(B(0xf9, 0x7c, 0x01));
    refused(B(0xfa, 0x7f, 0x80, 0x00, 0x00));
    refused(B(0xfa, 0xff, 0x80, 0x00, 0x00));
    refused(B(0xfa, 0x7f, 0xc0, 0x00, 0x00));
    refused(B(0xfb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
    refused(B(0xfb, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
    refused(B(0xfb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00));
    refused(B(0x82, 0x01, 0xf9, 0x7e, 0x00));
}

static void test_cbor_decodes_false_true_null_and_undefined_as_null(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(B(0x84, 0xf4, 0xf5, 0xf6, 0xf7));
    assert_int_equal(v->items[0].type, SL_DOC_BOOL);
    assert_false(v->items[0].b);
    assert_int_equal(v->items[1].type, SL_DOC_BOOL);
    assert_true(v->items[1].b);
    assert_int_equal(v->items[2].type, SL_DOC_NULL);
    assert_int_equal(v->items[3].type, SL_DOC_NULL);
}

static void test_cbor_refuses_unassigned_simple_values(void **state)
{
    (void)state;
    for (unsigned ai = 0; ai < 20; ai++) {
        unsigned char b = (unsigned char)(0xe0 | ai);
        refused(&b, 1);
    }
    refused_with(B(0xf8, 0x20), "invalid CBOR at byte 0: unassigned simple value 32");
    refused(B(0xf8, 0xff));
}

static void test_cbor_refuses_two_byte_simple_values_below_32(void **state)
{
    (void)state;
    refused(B(0xf8, 0x00));
    refused(B(0xf8, 0x14)); /* false, in the wrong form */
    refused(B(0xf8, 0x1f));
}

static void test_cbor_refuses_reserved_additional_information(void **state)
{
    (void)state;
    for (unsigned major = 0; major < 8; major++) {
        for (unsigned ai = 28; ai <= 30; ai++) {
            unsigned char b[2] = {(unsigned char)(major << 5 | ai), 0};
            refused(b, 2);
        }
    }
    refused_with(B(0x1c), "invalid CBOR at byte 0: reserved additional information 28");
}

static void test_cbor_refuses_indefinite_length_integers_and_tags(void **state)
{
    (void)state;
    refused(B(0x1f));
    refused(B(0x3f));
    refused(B(0xdf, 0x01));
}

static void test_cbor_refuses_a_break_outside_indefinite_items(void **state)
{
    (void)state;
    refused_with(B(0xff), "invalid CBOR at byte 0: unexpected break");
    refused(B(0x82, 0x01, 0xff));
    refused(B(0x81, 0xff));
    refused(B(0xa1, 0x61, 0x61, 0xff));
    refused(B(0xa1, 0xff));
    refused(B(0xc6, 0xff));
}

/* ---- Strings ----------------------------------------------------------------------------- */

static void test_cbor_decodes_byte_and_text_strings(void **state)
{
    (void)state;
    assert_string(ok(B(0x43, 0x01, 0x02, 0x03)), SL_DOC_BYTES, "\x01\x02\x03", 3);
    assert_string(ok(B(0x63, 0x61, 0x62, 0x63)), SL_DOC_STRING, "abc", 3);
    assert_string(ok(B(0x40)), SL_DOC_BYTES, "", 0);
    assert_string(ok(B(0x60)), SL_DOC_STRING, "", 0);
    unsigned char big[3 + 256];
    big[0] = 0x79, big[1] = 0x01, big[2] = 0x00;
    memset(big + 3, 'z', 256);
    const struct sl_doc_value *v = ok(big, sizeof(big));
    assert_int_equal(v->len, 256);
    assert_int_equal(v->s[255], 'z');
}

static void test_cbor_concatenates_indefinite_string_chunks(void **state)
{
    (void)state;
    assert_string(ok(B(0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff)), SL_DOC_BYTES, "\x01\x02\x03", 3);
    assert_string(ok(B(0x7f, 0x62, 0x61, 0x62, 0x61, 0x63, 0xff)), SL_DOC_STRING, "abc", 3);
    assert_string(ok(B(0x7f, 0xff)), SL_DOC_STRING, "", 0);
    assert_string(ok(B(0x5f, 0x40, 0x40, 0xff)), SL_DOC_BYTES, "", 0);
    assert_string(ok(B(0x7f, 0x60, 0x61, 0x61, 0x60, 0xff)), SL_DOC_STRING, "a", 1);
    assert_string(ok(B(0x7f, 0x78, 0x01, 0x61, 0x79, 0x00, 0x01, 0x62, 0xff)), SL_DOC_STRING, "ab",
                  2);
}

static void test_cbor_refuses_chunks_of_another_type(void **state)
{
    (void)state;
    refused_with(B(0x5f, 0x61, 0x61, 0xff),
                 "invalid CBOR at byte 1: a chunk of an indefinite-length byte string must be a "
                 "definite-length byte string, not a text string");
    refused(B(0x7f, 0x41, 0x61, 0xff));
    refused(B(0x5f, 0x01, 0xff));
    refused(B(0x7f, 0x80, 0xff));
    refused(B(0x7f, 0xc0, 0x61, 0x61, 0xff)); /* not even tagged */
}

static void test_cbor_refuses_indefinite_chunks_in_indefinite_strings(void **state)
{
    (void)state;
    refused(B(0x5f, 0x5f, 0xff, 0xff));
    refused(B(0x7f, 0x7f, 0xff, 0xff));
    refused(B(0x7f, 0x7f, 0x61, 0x61, 0xff, 0xff));
}

static void test_cbor_refuses_unterminated_indefinite_strings(void **state)
{
    (void)state;
    refused(B(0x5f));
    refused(B(0x5f, 0x41, 0x01));
    refused(B(0x7f, 0x61));
    refused(B(0x5f, 0x42, 0x01));
}

static void test_cbor_refuses_text_that_is_not_utf8(void **state)
{
    (void)state;
    refused_with(B(0x63, 0x61, 0xc3, 0x28),
                 "invalid CBOR at byte 2: invalid UTF-8 in a text string");
    refused(B(0x62, 0xc0, 0x80));             /* overlong */
    refused(B(0x63, 0xed, 0xa0, 0x80));       /* a surrogate */
    refused(B(0x64, 0xf4, 0x90, 0x80, 0x80)); /* above U+10FFFF */
    refused(B(0x61, 0xff));
    refused(B(0x61, 0x80));
    refused(B(0x61, 0xc3));             /* truncated inside the string */
    refused(B(0xa1, 0x61, 0xc3, 0x01)); /* in a key */
}

static void test_cbor_checks_each_text_chunk_on_its_own(void **state)
{
    (void)state;
    /* é split across two chunks: each chunk must be valid UTF-8 (RFC 8949 §3.2.3). */
    refused(B(0x7f, 0x61, 0xc3, 0x61, 0xa9, 0xff));
    assert_string(ok(B(0x7f, 0x62, 0xc3, 0xa9, 0x61, 0x21, 0xff)), SL_DOC_STRING, "\xc3\xa9!", 3);
}

static void test_cbor_byte_strings_are_not_utf8_checked(void **state)
{
    (void)state;
    assert_string(ok(B(0x42, 0xc3, 0x28)), SL_DOC_BYTES, "\xc3\x28", 2);
    assert_string(ok(B(0x5f, 0x41, 0xc3, 0x41, 0xff, 0xff)), SL_DOC_BYTES, "\xc3\xff", 2);
}

static void test_cbor_text_may_hold_nul(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(B(0xa1, 0x63, 0x6b, 0x00, 0x79, 0x63, 0x61, 0x00, 0x62));
    assert_int_equal(v->members[0].key_len, 3);
    assert_memory_equal(v->members[0].key, "k\0y", 4);
    assert_string(&v->members[0].value, SL_DOC_STRING, "a\0b", 3);
}

/* ---- Arrays and maps --------------------------------------------------------------------- */

static void test_cbor_decodes_definite_arrays_and_maps(void **state)
{
    (void)state;
    /* {"a": 1, "b": [2, 3], "c": {}} */
    const struct sl_doc_value *v =
        ok(B(0xa3, 0x61, 0x61, 0x01, 0x61, 0x62, 0x82, 0x02, 0x03, 0x61, 0x63, 0xa0));
    assert_int_equal(v->type, SL_DOC_MAP);
    assert_int_equal(v->n, 3);
    assert_string_equal(v->members[0].key, "a");
    assert_int_number(&v->members[0].value, 1);
    assert_string_equal(v->members[1].key, "b");
    assert_int_equal(v->members[1].value.type, SL_DOC_ARRAY);
    assert_int_number(&v->members[1].value.items[1], 3);
    assert_int_equal(v->members[2].value.type, SL_DOC_MAP);
    assert_int_equal(v->members[2].value.n, 0);
    assert_int_equal(ok(B(0x80))->type, SL_DOC_ARRAY);
}

static void test_cbor_decodes_indefinite_arrays_and_maps(void **state)
{
    (void)state;
    const struct sl_doc_value *v =
        ok(B(0x9f, 0x01, 0x82, 0x02, 0x03, 0x9f, 0xff, 0xbf, 0xff, 0xff));
    assert_int_equal(v->type, SL_DOC_ARRAY);
    assert_int_equal(v->n, 4);
    assert_int_number(&v->items[0], 1);
    assert_int_equal(v->items[1].n, 2);
    assert_int_equal(v->items[2].type, SL_DOC_ARRAY);
    assert_int_equal(v->items[2].n, 0);
    assert_int_equal(v->items[3].type, SL_DOC_MAP);
    v = ok(B(0xbf, 0x61, 0x61, 0x01, 0x61, 0x62, 0x9f, 0x02, 0xff, 0xff));
    assert_int_equal(v->n, 2);
    assert_int_number(sl_doc_get(v, "a"), 1);
    assert_int_number(&sl_doc_get(v, "b")->items[0], 2);
}

static void test_cbor_refuses_a_break_between_key_and_value(void **state)
{
    (void)state;
    refused(B(0xbf, 0x61, 0x61, 0xff));
    refused(B(0xbf, 0x61, 0x61, 0x01, 0x61, 0x62, 0xff));
}

static void test_cbor_refuses_unterminated_containers(void **state)
{
    (void)state;
    refused(B(0x9f));
    refused(B(0x9f, 0x01));
    refused(B(0xbf, 0x61, 0x61, 0x01));
    refused(B(0x82, 0x01));
    refused(B(0xa1, 0x61, 0x61));
}

static void test_cbor_refuses_map_keys_that_are_not_text(void **state)
{
    (void)state;
    refused_with(
        B(0xa1, 0x01, 0x02),
        "invalid CBOR at byte 1: a map key must be a text string, not an unsigned integer");
    refused(B(0xa1, 0x20, 0x01));
    refused(B(0xa1, 0x41, 0x61, 0x01));
    refused(B(0xa1, 0x80, 0x01));
    refused(B(0xa1, 0xa0, 0x01));
    refused(B(0xa1, 0xf6, 0x01));
    refused(B(0xa1, 0xf9, 0x3c, 0x00, 0x01));
    refused(B(0xbf, 0x01, 0x02, 0xff));
    refused(B(0xa1, 0x5f, 0x41, 0x61, 0xff, 0x01));
}

static void test_cbor_map_keys_may_be_indefinite_text(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(B(0xa1, 0x7f, 0x61, 0x61, 0x61, 0x62, 0xff, 0x01));
    assert_string_equal(v->members[0].key, "ab");
    assert_int_equal(v->members[0].key_len, 2);
}

/* ---- Tags -------------------------------------------------------------------------------- */

static void test_cbor_skips_tags_other_than_1(void **state)
{
    (void)state;
    assert_string(ok(B(0xc0, 0x63, 0x61, 0x62, 0x63)), SL_DOC_STRING, "abc", 3);
    assert_string(ok(B(0xd8, 0x20, 0x61, 0x78)), SL_DOC_STRING, "x", 1);
    assert_string(ok(B(0xc2, 0x42, 0x01, 0x00)), SL_DOC_BYTES, "\x01\x00", 2); /* a bignum */
    assert_int_number(ok(B(0xd9, 0xd9, 0xf7, 0x01)), 1); /* the self-describe tag 55799 */
    assert_int_number(ok(B(0xc6, 0xc7, 0xda, 0x00, 0x01, 0x00, 0x00, 0x01)), 1);
    const struct sl_doc_value *v = ok(B(0xa1, 0xd8, 0x20, 0x61, 0x61, 0xc6, 0x01)); /* keys too */
    assert_int_number(sl_doc_get(v, "a"), 1);
    assert_false(sl_doc_get(v, "a")->time_tag);
    refused(B(0xc6)); /* a tag with nothing after it */
}

static void test_cbor_tag_1_marks_a_number_as_a_timestamp(void **state)
{
    (void)state;
    /* 1459799926480 = 0x0153e2db26d0 */
    const struct sl_doc_value *v =
        ok(B(0xc1, 0x1b, 0x00, 0x00, 0x01, 0x53, 0xe2, 0xdb, 0x26, 0xd0));
    assert_true(v->time_tag);
    assert_true(v->is_int);
    assert_true(v->i == 1459799926480);
    int64_t ms;
    assert_true(sl_doc_time_ms(v, &ms));
    assert_true(ms == 1459799926480);
    assert_false(ok(B(0x01))->time_tag);
}

static void test_cbor_tag_1_may_wrap_a_float_or_other_tags(void **state)
{
    (void)state;
    int64_t ms;
    /* 1459799926480.4 = (1 + m / 2^52) × 2^40 with m = round((x - 2^40) × 2^12) = 0x53e2db26d0666,
     * the exponent 40 + 1023 = 0x427: 0x42753e2db26d0666. It rounds to 480 ms. */
    const struct sl_doc_value *v =
        ok(B(0xc1, 0xfb, 0x42, 0x75, 0x3e, 0x2d, 0xb2, 0x6d, 0x06, 0x66));
    assert_true(v->time_tag);
    assert_false(v->is_int);
    assert_true(sl_doc_time_ms(v, &ms));
    assert_true(ms == 1459799926480);
    v = ok(B(0xc1, 0xc6, 0x19, 0x03, 0xe8));
    assert_true(v->time_tag);
    assert_true(sl_doc_time_ms(v, &ms) && ms == 1000);
    v = ok(B(0xc6, 0xc1, 0x20));
    assert_true(v->time_tag);
    assert_true(sl_doc_time_ms(v, &ms) && ms == -1);
}

static void test_cbor_tag_1_must_be_followed_by_a_number(void **state)
{
    (void)state;
    refused_with(B(0xc1, 0x60),
                 "invalid CBOR at byte 0: tag 1 (epoch time) must be followed by a number, not a "
                 "text string");
    refused(B(0xc1, 0x40));
    refused(B(0xc1, 0x80));
    refused(B(0xc1, 0xa0));
    refused(B(0xc1, 0xf6));
    refused(B(0xc1, 0xf5));
    refused(B(0xc1, 0xc6, 0x60));
}

static void test_cbor_tag_1_on_a_map_key_is_refused(void **state)
{
    (void)state;
    refused(B(0xa1, 0xc1, 0x61, 0x61, 0x01));
}

static void test_doc_time_ms_reads_plain_numbers_as_seconds(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(sl_doc_time_ms(ok(B(0x1a, 0x57, 0x02, 0xf0, 0x76)), &ms)); /* 1459810422 */
    assert_true(ms == 1459810422000);
    /* 1.5 seconds as a half float */
    assert_true(sl_doc_time_ms(ok(B(0xf9, 0x3e, 0x00)), &ms));
    assert_true(ms == 1500);
}

/* ---- Hostile and broken input ------------------------------------------------------------ */

static void test_cbor_refuses_empty_input(void **state)
{
    (void)state;
    const struct sl_doc_value *root = NULL;
    assert_int_equal(decode_lim(NULL, 0, NULL, &root), SL_ESERIAL);
    assert_string_equal(err,
                        "invalid CBOR at byte 0: expected an item, found the end of the input");
}

static void test_cbor_refuses_trailing_bytes(void **state)
{
    (void)state;
    refused_with(B(0x01, 0x01),
                 "invalid CBOR at byte 1: expected the end of the input after the top-level item");
    refused(B(0xa0, 0x00));
    refused(B(0x80, 0xff));
    refused(B(0x9f, 0xff, 0xff));
}

/* A document with every kind of item and length (definite and indefinite), for truncation. */
static const unsigned char every_kind[] = {
    0xbf,                                    /* map, indefinite */
    0x61, 'a', 0x9f, 0x01, 0x20, 0xff,       /* "a": [_ 1, -1] */
    0x62, 'b', 'b',  0x7f, 0x61, 'x',  0xff, /* "bb": (_ "x") */
    0x63, 'i', 'n',  't',  0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* 2^32 */
    0x61, 'f', 0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,             /* 1.1 */
    0x61, 'h', 0xf9, 0x3e, 0x00,                                                 /* 1.5 */
    0x61, 's', 0xfa, 0x47, 0xc3, 0x50, 0x00,                                     /* 100000.0 */
    0x61, 't', 0xc1, 0x19, 0x03, 0xe8,                                           /* 1(1000) */
    0x61, 'b', 0x5f, 0x41, 0x01, 0xff,                                           /* (_ h'01') */
    0x61, 'm', 0xa2, 0x61, 'k',  0xf5, 0x61, 'n',  0xf6, /* {"k": true, "n": null} */
    0x61, 'y', 0x58, 0x02, 0xab, 0xcd,                   /* h'abcd' */
    0x61, 'z', 0xd8, 0x20, 0x78, 0x03, 'u',  'r',  'i',  /* 32("uri") */
    0xff,
};

static void test_cbor_decodes_a_document_with_every_kind_of_item(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(every_kind, sizeof(every_kind));
    assert_int_equal(v->n, 11);
    assert_int_number(&sl_doc_get(v, "a")->items[1], -1);
    assert_string(sl_doc_get(v, "bb"), SL_DOC_STRING, "x", 1);
    assert_int_number(sl_doc_get(v, "int"), 4294967296);
    assert_double_only(sl_doc_get(v, "f"), 1.1);
    assert_double_only(sl_doc_get(v, "h"), 1.5);
    assert_int_number(sl_doc_get(v, "s"), 100000);
    assert_true(sl_doc_get(v, "t")->time_tag);
    assert_string(sl_doc_get(v, "b"), SL_DOC_BYTES, "\x01", 1);
    assert_true(sl_doc_get(sl_doc_get(v, "m"), "k")->b);
    assert_string(sl_doc_get(v, "y"), SL_DOC_BYTES, "\xab\xcd", 2);
    assert_string(sl_doc_get(v, "z"), SL_DOC_STRING, "uri", 3);
}

static void test_cbor_refuses_every_truncation_of_a_valid_document(void **state)
{
    (void)state;
    for (size_t len = 0; len < sizeof(every_kind); len++) {
        refused(every_kind, len);
    }
}

static void test_cbor_refuses_lengths_beyond_the_input_before_allocating(void **state)
{
    (void)state;
    const struct {
        const unsigned char *p;
        size_t len;
    } cases[] = {
        {B(0x9b, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)}, /* 2^60 items */
        {B(0x9a, 0x10, 0x00, 0x00, 0x00)},                         /* 2^28 items, 5 bytes */
        {B(0xbb, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)}, /* 2^60 members */
        {B(0x5b, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00)}, /* 2^60 bytes */
        {B(0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)}, /* 2^64 - 1 bytes */
        {B(0x5a, 0xff, 0xff, 0xff, 0xff)},
        {B(0x5f, 0x5b, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff)}, /* a chunk */
        {B(0x7f, 0x61, 0x61, 0x7a, 0x10, 0x00, 0x00, 0x00, 0xff)},
        {B(0x82, 0x01)},             /* 2 items, 1 byte left */
        {B(0xa2, 0x60, 0x00, 0x60)}, /* 2 members, 3 bytes left */
        {B(0x43, 0x01, 0x02)},       /* 3 bytes, 2 left */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct failing_alloc f;
        failing_alloc_install(&f, 0); /* any allocation fails: none may be tried */
        const struct sl_doc_value *root = NULL;
        int rc = sl_cbor_decode(&doc, cases[k].p, cases[k].len, NULL, &root, err, sizeof(err));
        failing_alloc_uninstall();
        if (rc != SL_ESERIAL) {
            fail_msg("case %zu: rc %d (%s)", k, rc, err);
        }
        assert_int_equal(f.live, 0);
        assert_int_equal(doc.bytes, 0);
    }
    refused_with(B(0x9b, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00),
                 "invalid CBOR at byte 0: an array of 1152921504606846976 items announced with "
                 "only 0 bytes left");
}

static void test_cbor_counts_need_one_byte_per_item_and_two_per_member(void **state)
{
    (void)state;
    assert_int_equal(ok(B(0x82, 0x01, 0x02))->n, 2);
    assert_int_equal(ok(B(0xa1, 0x60, 0x00))->n, 1);
    assert_int_equal(ok(B(0xa2, 0x60, 0x00, 0x60, 0x00))->n, 2);
    refused(B(0x83, 0x01, 0x02));
    refused(B(0xa2, 0x60, 0x00, 0x60));
}

static void test_cbor_long_tag_chains_use_no_c_stack(void **state)
{
    (void)state;
    size_t n = 1000000;
    unsigned char *p = malloc(n + 1);
    assert_non_null(p);
    memset(p, 0xc6, n);
    p[n] = 0x07;
    assert_int_number(ok(p, n + 1), 7);
    free(p);
}

static void test_cbor_deep_nesting_uses_no_c_stack(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = UINT_MAX, .values_max = SIZE_MAX};
    size_t n = 1000000;
    unsigned char *p = malloc(n + 1);
    assert_non_null(p);
    memset(p, 0x81, n);
    p[n] = 0x00;
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(p, n + 1, &lim, &root), SL_OK);
    size_t depth = 0;
    const struct sl_doc_value *v = root;
    while (v->type == SL_DOC_ARRAY) {
        v = &v->items[0];
        depth++;
    }
    assert_int_equal(depth, n);
    free(p);
}

/* ---- Limits ------------------------------------------------------------------------------ */

static void test_cbor_depth_limit_admits_exactly_depth_max_levels(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = 3};
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(B(0x81, 0x81, 0x80), &lim, &root), SL_OK);
    assert_int_equal(decode_lim(B(0x9f, 0xa1, 0x61, 0x61, 0x9f, 0xff, 0xff), &lim, &root), SL_OK);
    assert_int_equal(decode_lim(B(0x81, 0x81, 0xc6, 0x81, 0x01), &lim, &root), SL_OK);
}

static void test_cbor_depth_limit_refuses_one_level_more(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = 3};
    const struct sl_doc_value *root = NULL;
    assert_int_equal(decode_lim(B(0x81, 0x81, 0x81, 0x80), &lim, &root), SL_ESERIAL);
    assert_string_equal(err, "invalid CBOR at byte 3: maps and arrays nested deeper than 3 levels");
    assert_int_equal(
        decode_lim(B(0x9f, 0xa1, 0x61, 0x61, 0x9f, 0xbf, 0xff, 0xff, 0xff), &lim, &root),
        SL_ESERIAL);
    assert_null(root);
}

static void test_cbor_depth_limit_defaults_to_32(void **state)
{
    (void)state;
    unsigned char p[SL_DOC_DEPTH_MAX + 1];
    memset(p, 0x81, sizeof(p));
    p[SL_DOC_DEPTH_MAX - 1] = 0x80;
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(p, SL_DOC_DEPTH_MAX, NULL, &root), SL_OK);
    p[SL_DOC_DEPTH_MAX - 1] = 0x81;
    p[SL_DOC_DEPTH_MAX] = 0x80;
    assert_int_equal(decode_lim(p, SL_DOC_DEPTH_MAX + 1, NULL, &root), SL_ESERIAL);
}

static void test_cbor_values_limit_admits_exactly_values_max(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.values_max = 3};
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(B(0x82, 0x01, 0x02), &lim, &root), SL_OK);
    assert_int_equal(decode_lim(B(0xa2, 0x61, 0x61, 0x01, 0x61, 0x62, 0x80), &lim, &root), SL_OK);
    assert_int_equal(decode_lim(B(0x9f, 0x01, 0xc6, 0x02, 0xff), &lim, &root), SL_OK);
}

static void test_cbor_values_limit_refuses_one_value_more(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.values_max = 3};
    const struct sl_doc_value *root = NULL;
    /* A definite count is refused at its head, before its items are read. */
    assert_int_equal(decode_lim(B(0x83, 0x01, 0x02, 0x03), &lim, &root), SL_ESERIAL);
    assert_string_equal(err, "invalid CBOR at byte 0: more than 3 values");
    assert_int_equal(decode_lim(B(0x9f, 0x01, 0x02, 0x03, 0xff), &lim, &root), SL_ESERIAL);
    assert_string_equal(err, "invalid CBOR at byte 3: more than 3 values");
    assert_int_equal(decode_lim(B(0x81, 0x81, 0x81, 0x80), &lim, &root), SL_ESERIAL);
    assert_null(root);
}

static void test_cbor_values_limit_defaults_to_100000(void **state)
{
    (void)state;
    size_t n = SL_DOC_VALUES_MAX - 1; /* the array plus its items */
    unsigned char *p = malloc(5 + n + 1);
    assert_non_null(p);
    p[0] = 0x9a;
    p[1] = (unsigned char)(n >> 24), p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 8), p[4] = (unsigned char)n;
    memset(p + 5, 0xf6, n + 1);
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(p, 5 + n, NULL, &root), SL_OK);
    assert_int_equal(root->n, n);
    n++;
    p[1] = (unsigned char)(n >> 24), p[2] = (unsigned char)(n >> 16);
    p[3] = (unsigned char)(n >> 8), p[4] = (unsigned char)n;
    assert_int_equal(decode_lim(p, 5 + n, NULL, &root), SL_ESERIAL);
    free(p);
}

/* ---- Writing: exact bytes (RFC 8949 §3, worked out by hand) ------------------------------- */

static void test_cbor_writes_integers_in_the_shortest_head(void **state)
{
    (void)state;
    assert_bytes(cbor_int(0), B(0x00));
    assert_bytes(cbor_int(23), B(0x17));
    assert_bytes(cbor_int(24), B(0x18, 0x18));
    assert_bytes(cbor_int(255), B(0x18, 0xff));
    assert_bytes(cbor_int(256), B(0x19, 0x01, 0x00));
    assert_bytes(cbor_int(65535), B(0x19, 0xff, 0xff));
    assert_bytes(cbor_int(65536), B(0x1a, 0x00, 0x01, 0x00, 0x00));
    assert_bytes(cbor_int(4294967295), B(0x1a, 0xff, 0xff, 0xff, 0xff));
    assert_bytes(cbor_int(4294967296), B(0x1b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
    assert_bytes(cbor_int(INT64_MAX), B(0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assert_bytes(cbor_int(-1), B(0x20));
    assert_bytes(cbor_int(-24), B(0x37));
    assert_bytes(cbor_int(-25), B(0x38, 0x18));
    assert_bytes(cbor_int(-256), B(0x38, 0xff));
    assert_bytes(cbor_int(-257), B(0x39, 0x01, 0x00));
    assert_bytes(cbor_int(-65536), B(0x39, 0xff, 0xff));
    assert_bytes(cbor_int(-65537), B(0x3a, 0x00, 0x01, 0x00, 0x00));
    assert_bytes(cbor_int(-4294967296), B(0x3a, 0xff, 0xff, 0xff, 0xff));
    assert_bytes(cbor_int(-4294967297), B(0x3b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00));
    assert_bytes(cbor_int(INT64_MIN), B(0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
}

static void test_cbor_writes_text_as_major_3_and_blobs_as_major_2(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_array(&e, 5);
    sl_enc_cstr(&e, "");
    sl_enc_cstr(&e, "a");
    sl_enc_str(&e, "\xc3\xa9\0", 3);
    sl_enc_bytes(&e, "", 0);
    sl_enc_bytes(&e, "\x01\x02", 2);
    sl_enc_end(&e);
    assert_bytes(finish(&e),
                 B(0x85, 0x60, 0x61, 0x61, 0x63, 0xc3, 0xa9, 0x00, 0x40, 0x42, 0x01, 0x02));
}

static void test_cbor_writes_string_lengths_in_the_shortest_head(void **state)
{
    (void)state;
    const size_t lens[] = {23, 24, 255, 256, 65535, 65536};
    const unsigned char heads[][5] = {{0x77},
                                      {0x78, 0x18},
                                      {0x78, 0xff},
                                      {0x79, 0x01, 0x00},
                                      {0x79, 0xff, 0xff},
                                      {0x7a, 0x00, 0x01, 0x00, 0x00}};
    const size_t head_lens[] = {1, 2, 2, 3, 3, 5};
    char *s = malloc(65536);
    assert_non_null(s);
    memset(s, 'q', 65536);
    for (size_t k = 0; k < 6; k++) {
        struct sl_enc e;
        sl_enc_init(&e, SL_ENC_CBOR);
        sl_enc_str(&e, s, lens[k]);
        struct out o = finish(&e);
        assert_int_equal(o.len, head_lens[k] + lens[k]);
        assert_memory_equal(o.p, heads[k], head_lens[k]);
        assert_int_equal(o.p[o.len - 1], 'q');
        free(o.p);
        sl_enc_init(&e, SL_ENC_CBOR);
        sl_enc_bytes(&e, s, lens[k]);
        o = finish(&e);
        assert_int_equal(o.p[0], heads[k][0] - 0x20); /* major 2 */
        free(o.p);
    }
    free(s);
}

static void test_cbor_writes_false_true_and_null_as_simple_values(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_array(&e, 3);
    sl_enc_bool(&e, false);
    sl_enc_bool(&e, true);
    sl_enc_null(&e);
    sl_enc_end(&e);
    assert_bytes(finish(&e), B(0x83, 0xf4, 0xf5, 0xf6));
}

static void test_cbor_writes_timestamps_as_tag_1_and_integer_milliseconds(void **state)
{
    (void)state;
    assert_bytes(cbor_time(1459799926480),
                 B(0xc1, 0x1b, 0x00, 0x00, 0x01, 0x53, 0xe2, 0xdb, 0x26, 0xd0));
    assert_bytes(cbor_time(0), B(0xc1, 0x00));
    assert_bytes(cbor_time(1000), B(0xc1, 0x19, 0x03, 0xe8));
    assert_bytes(cbor_time(-1), B(0xc1, 0x20));
}

static void test_cbor_writes_doubles_in_the_shortest_exact_float(void **state)
{
    (void)state;
    assert_bytes(cbor_double(0.0), B(0xf9, 0x00, 0x00));
    assert_bytes(cbor_double(-0.0), B(0xf9, 0x80, 0x00));
    assert_bytes(cbor_double(1.0), B(0xf9, 0x3c, 0x00));
    assert_bytes(cbor_double(1.5), B(0xf9, 0x3e, 0x00));
    assert_bytes(cbor_double(-4.0), B(0xf9, 0xc4, 0x00));
    assert_bytes(cbor_double(65504.0), B(0xf9, 0x7b, 0xff));
    assert_bytes(cbor_double(0.000061035156250), B(0xf9, 0x04, 0x00));      /* 2^-14 */
    assert_bytes(cbor_double(5.9604644775390625e-08), B(0xf9, 0x00, 0x01)); /* 2^-24 */
    assert_bytes(cbor_double(1.7881393432617188e-07), B(0xf9, 0x00, 0x03)); /* 3 × 2^-24 */
    assert_bytes(cbor_double(2.98023223876953125e-08), B(0xfa, 0x33, 0x00, 0x00, 0x00)); /* 2^-25 */
    assert_bytes(cbor_double(65505.0), B(0xfa, 0x47, 0x7f, 0xe1, 0x00));
    assert_bytes(cbor_double(100000.0), B(0xfa, 0x47, 0xc3, 0x50, 0x00));
    assert_bytes(cbor_double((double)FLT_MAX), B(0xfa, 0x7f, 0x7f, 0xff, 0xff));
    assert_bytes(cbor_double(1.1), B(0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a));
    assert_bytes(cbor_double(0.1), B(0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a));
    assert_bytes(cbor_double(-4.1), B(0xfb, 0xc0, 0x10, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66));
    assert_bytes(cbor_double(5e-324), B(0xfb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01));
}

static void test_cbor_writes_a_small_map_exactly(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_map(&e, 7);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, "orders");
    sl_enc_key(&e, "ShardCount");
    sl_enc_int(&e, 2);
    sl_enc_key(&e, "Data");
    sl_enc_bytes(&e, "\x01\x02\x03", 3);
    sl_enc_key(&e, "Open");
    sl_enc_bool(&e, true);
    sl_enc_key(&e, "NextToken");
    sl_enc_null(&e);
    sl_enc_key(&e, "Created");
    sl_enc_time_ms(&e, 1459799926480);
    sl_enc_key(&e, "Shards");
    sl_enc_array(&e, 3);
    sl_enc_cstr(&e, "a");
    sl_enc_int(&e, -1);
    sl_enc_map(&e, 0);
    sl_enc_end(&e);
    sl_enc_end(&e);
    sl_enc_end(&e);
    assert_bytes(finish(&e),
                 B(0xa7,                                                         /* 7 pairs */
                   0x6a, 'S', 't', 'r', 'e', 'a', 'm', 'N', 'a', 'm', 'e',       /* key */
                   0x66, 'o', 'r', 'd', 'e', 'r', 's',                           /* "orders" */
                   0x6a, 'S', 'h', 'a', 'r', 'd', 'C', 'o', 'u', 'n', 't', 0x02, /* 2 */
                   0x64, 'D', 'a', 't', 'a', 0x43, 0x01, 0x02, 0x03,             /* h'010203' */
                   0x64, 'O', 'p', 'e', 'n', 0xf5,                               /* true */
                   0x69, 'N', 'e', 'x', 't', 'T', 'o', 'k', 'e', 'n', 0xf6,      /* null */
                   0x67, 'C', 'r', 'e', 'a', 't', 'e', 'd',                      /* key */
                   0xc1, 0x1b, 0x00, 0x00, 0x01, 0x53, 0xe2, 0xdb, 0x26, 0xd0,   /* 1(ms) */
                   0x66, 'S', 'h', 'a', 'r', 'd', 's', 0x83, 0x61, 'a', 0x20, 0xa0)); /* list */
}

static void test_cbor_writes_definite_counts_for_maps_and_arrays(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_array(&e, 24);
    for (int k = 0; k < 23; k++) {
        sl_enc_int(&e, k);
    }
    sl_enc_map(&e, 0);
    sl_enc_end(&e);
    sl_enc_end(&e);
    struct out o = finish(&e);
    assert_int_equal(o.len, 2 + 23 + 1);
    assert_memory_equal(o.p, ((const unsigned char[]){0x98, 0x18, 0x00, 0x01}), 4);
    assert_int_equal(o.p[o.len - 1], 0xa0);
    free(o.p);
}

/* ---- Round trips ------------------------------------------------------------------------- */

static void test_cbor_roundtrip_gives_the_same_tree(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(every_kind, sizeof(every_kind));
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_value(&e, v);
    struct out o = finish(&e);
    const struct sl_doc_value *again = ok(o.p, o.len);
    assert_true(tree_equal(v, again, TREE_SAME));
    assert_true(sl_doc_get(again, "t")->time_tag);
    free(o.p);
}

static void test_cbor_written_as_json_keeps_blobs_and_timestamps(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(every_kind, sizeof(every_kind));
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_value(&e, v);
    struct out o = finish(&e);
    const struct sl_doc_value *again = NULL;
    assert_int_equal(sl_json_decode(&doc, o.p, o.len, NULL, &again, err, sizeof(err)), SL_OK);
    assert_true(tree_equal(v, again, TREE_VIA_JSON));
    assert_string(sl_doc_get(again, "y"), SL_DOC_STRING, "q80=", 4); /* base64 of h'abcd' */
    int64_t ms;
    assert_true(sl_doc_time_ms(sl_doc_get(again, "t"), &ms) && ms == 1000); /* "t":1.000 */
    free(o.p);
}

/* Random UTF-8 of `n` code points from every range, controls and U+0000 included. */
static size_t random_utf8(struct sl_rand *r, char *out, size_t n)
{
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t cp;
        switch (sl_rand_below(r, 5)) {
        case 0:
            cp = (uint32_t)sl_rand_below(r, 0x80);
            break;
        case 1:
            cp = (uint32_t)sl_rand_range(r, 0x20, 0x7e);
            break;
        case 2:
            cp = (uint32_t)sl_rand_range(r, 0x80, 0x7ff);
            break;
        case 3:
            cp = (uint32_t)sl_rand_range(r, 0x800, 0xfffd);
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            break;
        default:
            cp = (uint32_t)sl_rand_range(r, 0x10000, 0x10ffff);
            break;
        }
        if (cp < 0x80) {
            out[w++] = (char)cp;
        } else if (cp < 0x800) {
            out[w++] = (char)(0xc0 | cp >> 6);
            out[w++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[w++] = (char)(0xe0 | cp >> 12);
            out[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[w++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[w++] = (char)(0xf0 | cp >> 18);
            out[w++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[w++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return w;
}

static int64_t random_int(struct sl_rand *r)
{
    static const int64_t edges[] = {0,     1,          -1,         23,        24,
                                    -24,   -25,        255,        256,       65535,
                                    65536, 4294967295, 4294967296, INT64_MAX, INT64_MIN};
    if (sl_rand_chance(r, 300000)) {
        return edges[sl_rand_below(r, sizeof(edges) / sizeof(edges[0]))];
    }
    return (int64_t)(sl_rand_next(r) >> sl_rand_below(r, 64));
}

/* Writes a random value through `e`; the same seed makes the same calls whatever the kind. */
static void random_value(struct sl_enc *e, struct sl_rand *r, unsigned depth)
{
    static const char *const keys[] = {"a", "b", "Data", "PartitionKey", "", "é"};
    char text[64 * 4];
    unsigned char blob[64];
    size_t n;
    double d;
    uint64_t bits;
    switch (sl_rand_below(r, depth >= 5 ? 9 : 11)) {
    case 0:
        sl_enc_null(e);
        return;
    case 1:
        sl_enc_bool(e, sl_rand_below(r, 2));
        return;
    case 2:
        sl_enc_int(e, random_int(r));
        return;
    case 3:
        bits = sl_rand_next(r);
        memcpy(&d, &bits, sizeof(d));
        sl_enc_double(e, d - d == 0.0 ? d : (double)(int64_t)bits / 1024.0);
        return;
    case 4:
        sl_enc_double(e, (double)random_int(r) / 1000.0);
        return;
    case 5:
        sl_enc_time_ms(e, sl_rand_chance(r, 500000) ? random_int(r)
                                                    : (int64_t)sl_rand_below(r, 4102444800000));
        return;
    case 6:
        n = random_utf8(r, text, sl_rand_below(r, 64));
        sl_enc_str(e, text, n);
        return;
    case 7:
        n = sl_rand_below(r, sizeof(blob));
        for (size_t k = 0; k < n; k++) {
            blob[k] = (unsigned char)sl_rand_next(r);
        }
        sl_enc_bytes(e, blob, n);
        return;
    case 8:
        sl_enc_int(e, (int64_t)sl_rand_below(r, 100));
        return;
    case 9:
        n = sl_rand_below(r, 6);
        sl_enc_array(e, n);
        for (size_t k = 0; k < n; k++) {
            random_value(e, r, depth + 1);
        }
        sl_enc_end(e);
        return;
    default:
        n = sl_rand_below(r, 6);
        sl_enc_map(e, n);
        for (size_t k = 0; k < n; k++) {
            if (sl_rand_chance(r, 500000)) {
                sl_enc_key(e, keys[sl_rand_below(r, sizeof(keys) / sizeof(keys[0]))]);
            } else {
                size_t len = random_utf8(r, text, sl_rand_below(r, 8));
                text[len] = '\0';
                /* sl_enc_key takes a C string: cut at any U+0000 */
                sl_enc_key(e, text);
            }
            random_value(e, r, depth + 1);
        }
        sl_enc_end(e);
        return;
    }
}

static struct out random_document(enum sl_enc_kind kind, uint64_t seed)
{
    struct sl_rand r;
    sl_rand_seed(&r, seed);
    struct sl_enc e;
    sl_enc_init(&e, kind);
    random_value(&e, &r, 0);
    return finish(&e);
}

static void test_cbor_and_json_writers_agree_on_random_documents(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 500; seed++) {
        struct out c = random_document(SL_ENC_CBOR, seed);
        struct out j = random_document(SL_ENC_JSON, seed);
        struct sl_doc dc, dj;
        sl_doc_init(&dc);
        sl_doc_init(&dj);
        const struct sl_doc_value *vc = NULL, *vj = NULL;
        if (sl_cbor_decode(&dc, c.p, c.len, NULL, &vc, err, sizeof(err)) != SL_OK ||
            sl_json_decode(&dj, j.p, j.len, NULL, &vj, err, sizeof(err)) != SL_OK) {
            fail_msg("seed %llu: %s", (unsigned long long)seed, err);
        }
        if (!tree_equal(vc, vj, TREE_VIA_JSON)) {
            fail_msg("seed %llu: the JSON and CBOR trees differ", (unsigned long long)seed);
        }
        tree_check_reencodings(vc, true);
        tree_check_reencodings(vj, false);
        sl_doc_close(&dc);
        sl_doc_close(&dj);
        free(c.p);
        free(j.p);
    }
}

/* ---- A Kinesis body ---------------------------------------------------------------------- */

#define RECORDS 500

static void record_data(int k, unsigned char *data, size_t *len)
{
    *len = (size_t)(k % 50) * 3 + (size_t)(k % 3);
    for (size_t b = 0; b < *len; b++) {
        data[b] = (unsigned char)(k * 31 + (int)b);
    }
}

static struct out putrecords_body(void)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_CBOR);
    sl_enc_map(&e, 2);
    sl_enc_key(&e, "StreamName");
    sl_enc_cstr(&e, "orders");
    sl_enc_key(&e, "Records");
    sl_enc_array(&e, RECORDS);
    for (int k = 0; k < RECORDS; k++) {
        unsigned char data[200];
        size_t len;
        record_data(k, data, &len);
        char pk[32];
        snprintf(pk, sizeof(pk), "partition-%d", k);
        sl_enc_map(&e, k % 5 == 0 ? 3 : 2);
        sl_enc_key(&e, "Data");
        sl_enc_bytes(&e, data, len);
        sl_enc_key(&e, "PartitionKey");
        sl_enc_cstr(&e, pk);
        if (k % 5 == 0) {
            sl_enc_key(&e, "ExplicitHashKey");
            sl_enc_cstr(&e, "340282366920938463463374607431768211455");
        }
        sl_enc_end(&e);
    }
    sl_enc_end(&e);
    sl_enc_end(&e);
    return finish(&e);
}

static void test_cbor_decodes_a_putrecords_body_of_500_records(void **state)
{
    (void)state;
    struct out body = putrecords_body();
    const struct sl_doc_value *root = ok(body.p, body.len);
    assert_string(sl_doc_get(root, "StreamName"), SL_DOC_STRING, "orders", 6);
    const struct sl_doc_value *records = sl_doc_get(root, "Records");
    assert_non_null(records);
    assert_int_equal(records->n, RECORDS);
    for (int k = 0; k < RECORDS; k++) {
        const struct sl_doc_value *r = &records->items[k];
        unsigned char want[200];
        size_t len;
        record_data(k, want, &len);
        assert_string(sl_doc_get(r, "Data"), SL_DOC_BYTES, (const char *)want, len);
        char pk[32];
        snprintf(pk, sizeof(pk), "partition-%d", k);
        assert_string_equal(sl_doc_get(r, "PartitionKey")->s, pk);
        assert_true((sl_doc_get(r, "ExplicitHashKey") != NULL) == (k % 5 == 0));
    }
    assert_true(doc.bytes < 16 * body.len); /* a small multiple of the body */
    tree_check_reencodings(root, true);
    free(body.p);
}

static void test_cbor_decode_survives_allocation_failure_at_every_point(void **state)
{
    (void)state;
    /* The PutRecords body, wrapped so that indefinite lengths and a big blob are in it too. */
    struct out body = putrecords_body();
    size_t big = 100000;
    unsigned char *p = malloc(body.len + big + 32);
    assert_non_null(p);
    size_t len = 0;
    p[len++] = 0x9f;
    memcpy(p + len, body.p, body.len);
    len += body.len;
    p[len++] = 0x7f;
    p[len++] = 0x61, p[len++] = 'a';
    p[len++] = 0x62, p[len++] = 0xc3, p[len++] = 0xa9;
    p[len++] = 0xff;
    p[len++] = 0x5a;
    p[len++] = (unsigned char)(big >> 24), p[len++] = (unsigned char)(big >> 16);
    p[len++] = (unsigned char)(big >> 8), p[len++] = (unsigned char)big;
    memset(p + len, 0x5a, big);
    len += big;
    p[len++] = 0xff;
    free(body.p);
    for (long fail_at = 0;; fail_at++) {
        struct failing_alloc f;
        failing_alloc_install(&f, fail_at);
        struct sl_doc d;
        sl_doc_init(&d);
        const struct sl_doc_value *root = NULL;
        int rc = sl_cbor_decode(&d, p, len, NULL, &root, err, sizeof(err));
        if (rc == SL_OK) {
            assert_int_equal(root->n, 3);
            assert_int_equal(root->items[2].len, big);
            sl_doc_close(&d);
            assert_int_equal(f.live, 0);
            failing_alloc_uninstall();
            assert_true(fail_at > 5);
            break;
        }
        assert_int_equal(rc, SL_ENOMEM);
        assert_string_equal(err, "out of memory");
        assert_null(root);
        sl_doc_close(&d);
        assert_int_equal(f.live, 0);
        failing_alloc_uninstall();
        assert_true(fail_at < 1000);
    }
    free(p);
}

static void test_cbor_writer_survives_allocation_failure_at_every_point(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        struct failing_alloc f;
        failing_alloc_install(&f, n);
        struct sl_rand r;
        sl_rand_seed(&r, 7);
        struct sl_enc e;
        sl_enc_init(&e, SL_ENC_CBOR);
        sl_enc_array(&e, 50);
        for (int k = 0; k < 50; k++) {
            random_value(&e, &r, 3);
        }
        sl_enc_end(&e);
        unsigned char *out = NULL;
        size_t len;
        int rc = sl_enc_finish(&e, &out, &len);
        sl_enc_close(&e);
        sl_free(out);
        assert_int_equal(f.live, 0);
        failing_alloc_uninstall();
        if (rc == SL_OK) {
            assert_true(n > 1);
            break;
        }
        assert_int_equal(rc, SL_ENOMEM);
        assert_true(n < 100);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cbor_decodes_unsigned_integers_in_every_head_size),
        T(test_cbor_accepts_integers_in_longer_heads_than_needed),
        T(test_cbor_unsigned_beyond_int64_is_a_double_only),
        T(test_cbor_decodes_negative_integers),
        T(test_cbor_negative_beyond_int64_is_a_double_only),
        T(test_cbor_decodes_half_precision_floats),
        T(test_cbor_decodes_single_and_double_floats),
        T(test_cbor_integral_floats_are_integers),
        T(test_cbor_refuses_nan_and_infinity),
        T(test_cbor_decodes_false_true_null_and_undefined_as_null),
        T(test_cbor_refuses_unassigned_simple_values),
        T(test_cbor_refuses_two_byte_simple_values_below_32),
        T(test_cbor_refuses_reserved_additional_information),
        T(test_cbor_refuses_indefinite_length_integers_and_tags),
        T(test_cbor_refuses_a_break_outside_indefinite_items),
        T(test_cbor_decodes_byte_and_text_strings),
        T(test_cbor_concatenates_indefinite_string_chunks),
        T(test_cbor_refuses_chunks_of_another_type),
        T(test_cbor_refuses_indefinite_chunks_in_indefinite_strings),
        T(test_cbor_refuses_unterminated_indefinite_strings),
        T(test_cbor_refuses_text_that_is_not_utf8),
        T(test_cbor_checks_each_text_chunk_on_its_own),
        T(test_cbor_byte_strings_are_not_utf8_checked),
        T(test_cbor_text_may_hold_nul),
        T(test_cbor_decodes_definite_arrays_and_maps),
        T(test_cbor_decodes_indefinite_arrays_and_maps),
        T(test_cbor_refuses_a_break_between_key_and_value),
        T(test_cbor_refuses_unterminated_containers),
        T(test_cbor_refuses_map_keys_that_are_not_text),
        T(test_cbor_map_keys_may_be_indefinite_text),
        T(test_cbor_skips_tags_other_than_1),
        T(test_cbor_tag_1_marks_a_number_as_a_timestamp),
        T(test_cbor_tag_1_may_wrap_a_float_or_other_tags),
        T(test_cbor_tag_1_must_be_followed_by_a_number),
        T(test_cbor_tag_1_on_a_map_key_is_refused),
        T(test_doc_time_ms_reads_plain_numbers_as_seconds),
        T(test_cbor_refuses_empty_input),
        T(test_cbor_refuses_trailing_bytes),
        T(test_cbor_decodes_a_document_with_every_kind_of_item),
        T(test_cbor_refuses_every_truncation_of_a_valid_document),
        T(test_cbor_refuses_lengths_beyond_the_input_before_allocating),
        T(test_cbor_counts_need_one_byte_per_item_and_two_per_member),
        T(test_cbor_long_tag_chains_use_no_c_stack),
        T(test_cbor_deep_nesting_uses_no_c_stack),
        T(test_cbor_depth_limit_admits_exactly_depth_max_levels),
        T(test_cbor_depth_limit_refuses_one_level_more),
        T(test_cbor_depth_limit_defaults_to_32),
        T(test_cbor_values_limit_admits_exactly_values_max),
        T(test_cbor_values_limit_refuses_one_value_more),
        T(test_cbor_values_limit_defaults_to_100000),
        T(test_cbor_writes_integers_in_the_shortest_head),
        T(test_cbor_writes_text_as_major_3_and_blobs_as_major_2),
        T(test_cbor_writes_string_lengths_in_the_shortest_head),
        T(test_cbor_writes_false_true_and_null_as_simple_values),
        T(test_cbor_writes_timestamps_as_tag_1_and_integer_milliseconds),
        T(test_cbor_writes_doubles_in_the_shortest_exact_float),
        T(test_cbor_writes_a_small_map_exactly),
        T(test_cbor_writes_definite_counts_for_maps_and_arrays),
        T(test_cbor_roundtrip_gives_the_same_tree),
        T(test_cbor_written_as_json_keeps_blobs_and_timestamps),
        T(test_cbor_and_json_writers_agree_on_random_documents),
        T(test_cbor_decodes_a_putrecords_body_of_500_records),
        T(test_cbor_decode_survives_allocation_failure_at_every_point),
        T(test_cbor_writer_survives_allocation_failure_at_every_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
