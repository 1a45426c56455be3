/* test_json.c — the JSON decoder and writer (node/core/json.h) and the document layer they share
 * (node/core/doc.h): RFC 8259's grammar corner by corner, the limits on both sides of each
 * bound, escapes and UTF-8, numbers, exact output, round trips, a PutRecords body of 500
 * records, and allocation failure at every point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "../fuzz/tree.h"

#include "core/alloc.h"
#include "core/base64.h"
#include "core/doc.h"
#include "core/errors.h"
#include "core/json.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Helpers ----------------------------------------------------------------------------- */

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

/* Decodes a copy of `text` in an exact-size heap block (so that ASan sees any read past the
 * input), freed before returning: the tree must not point into the input. */
static int decode_lim(const char *text, size_t len, const struct sl_doc_limits *lim,
                      const struct sl_doc_value **root)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = sl_json_decode(&doc, copy, len, lim, root, err, sizeof(err));
    free(copy);
    return rc;
}

/* decode_lim on a NUL-terminated text. */
static int dl(const char *text, const struct sl_doc_limits *lim, const struct sl_doc_value **root)
{
    return decode_lim(text, strlen(text), lim, root);
}

static const struct sl_doc_value *ok_n(const char *text, size_t len)
{
    const struct sl_doc_value *root = NULL;
    int rc = decode_lim(text, len, NULL, &root);
    if (rc != SL_OK) {
        fail_msg("refused %s: %s", text, err);
    }
    assert_non_null(root);
    return root;
}

static const struct sl_doc_value *ok(const char *text)
{
    return ok_n(text, strlen(text));
}

static void refused_n(const char *text, size_t len)
{
    const struct sl_doc_value *root = NULL;
    int rc = decode_lim(text, len, NULL, &root);
    if (rc != SL_ESERIAL) {
        fail_msg("accepted (rc %d) %.*s", rc, (int)len, text);
    }
    assert_null(root);
    assert_true(strncmp(err, "invalid JSON at byte ", 21) == 0);
}

static void refused(const char *text)
{
    refused_n(text, strlen(text));
}

static void assert_int_number(const struct sl_doc_value *v, int64_t i)
{
    assert_int_equal(v->type, SL_DOC_NUMBER);
    assert_true(v->is_int);
    assert_true(v->i == i);
    assert_true(v->d == (double)i);
    assert_false(v->time_tag);
}

static void assert_string(const struct sl_doc_value *v, const char *s, size_t len)
{
    assert_int_equal(v->type, SL_DOC_STRING);
    assert_int_equal(v->len, len);
    assert_memory_equal(v->s, s, len);
    assert_int_equal(v->s[len], '\0');
}

/* `n` nested arrays around nothing: [[...]]. */
static char *nested(size_t n)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    return s;
}

/* Writes with a fresh writer of `kind` and returns the output, NUL-terminated for JSON. */
struct out {
    unsigned char *p;
    size_t len;
};

static struct out finish(struct sl_enc *e)
{
    struct out o;
    assert_int_equal(sl_enc_finish(e, &o.p, &o.len), SL_OK);
    sl_enc_close(e);
    unsigned char *z = realloc(o.p, o.len + 1); /* sl_free is libc's free here */
    assert_non_null(z);
    z[o.len] = '\0';
    o.p = z;
    return o;
}

static struct out json_of_value(const struct sl_doc_value *v)
{
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_value(&e, v);
    return finish(&e);
}

/* ---- Whole documents ----------------------------------------------------------------- */

static void test_json_decodes_each_literal(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("true");
    assert_int_equal(v->type, SL_DOC_BOOL);
    assert_true(v->b);
    v = ok("false");
    assert_int_equal(v->type, SL_DOC_BOOL);
    assert_false(v->b);
    v = ok("null");
    assert_int_equal(v->type, SL_DOC_NULL);
}

static void test_json_accepts_any_scalar_at_the_top(void **state)
{
    (void)state;
    assert_int_number(ok("42"), 42);
    assert_string(ok("\"x\""), "x", 1);
}

static void test_json_accepts_the_four_whitespace_characters_around_tokens(void **state)
{
    (void)state;
    const struct sl_doc_value *v =
        ok(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n");
    assert_int_equal(v->type, SL_DOC_MAP);
    assert_int_equal(v->members[0].value.n, 2);
}

static void test_json_refuses_other_whitespace(void **state)
{
    (void)state;
    refused("\f1");
    refused("\v1");
    refused("1\f");
    refused("[1,\v2]");
    refused("\xc2\xa0"
            "1"); /* U+00A0 no-break space */
    refused("\xef\xbb\xbf"
            "1");        /* a byte-order mark */
    refused_n("1\0", 2); /* NUL after the value */
}

static void test_json_refuses_empty_input(void **state)
{
    (void)state;
    refused("");
    refused(" \t\r\n");
}

static void test_json_refuses_anything_after_the_value(void **state)
{
    (void)state;
    refused("1 2");
    refused("{}x");
    refused("[]]");
    refused("{}}");
    refused("\"a\"\"b\"");
    refused("null,");
    refused("truex");
}

static void test_json_keeps_members_and_items_in_document_order(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("{\"z\":[3,2,1],\"a\":{\"y\":true,\"b\":null},\"m\":\"s\"}");
    assert_int_equal(v->type, SL_DOC_MAP);
    assert_int_equal(v->n, 3);
    assert_string_equal(v->members[0].key, "z");
    assert_string_equal(v->members[1].key, "a");
    assert_string_equal(v->members[2].key, "m");
    const struct sl_doc_value *arr = &v->members[0].value;
    assert_int_equal(arr->type, SL_DOC_ARRAY);
    assert_int_equal(arr->n, 3);
    assert_int_number(&arr->items[0], 3);
    assert_int_number(&arr->items[1], 2);
    assert_int_number(&arr->items[2], 1);
    const struct sl_doc_value *inner = &v->members[1].value;
    assert_int_equal(inner->n, 2);
    assert_string_equal(inner->members[0].key, "y");
    assert_int_equal(inner->members[1].value.type, SL_DOC_NULL);
    assert_string(&v->members[2].value, "s", 1);
}

static void test_json_decodes_empty_maps_and_arrays(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("[{},[],{ },[ ]]");
    assert_int_equal(v->n, 4);
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(v->items[k].type, k % 2 ? SL_DOC_ARRAY : SL_DOC_MAP);
        assert_int_equal(v->items[k].n, 0);
    }
}

static void test_json_refuses_trailing_commas(void **state)
{
    (void)state;
    refused("[1,]");
    refused("{\"a\":1,}");
    refused("[,]");
    refused("{,}");
    refused("[,1]");
    refused("[1,,2]");
}

static void test_json_refuses_missing_separators(void **state)
{
    (void)state;
    refused("[1 2]");
    refused("{\"a\" 1}");
    refused("{\"a\":1 \"b\":2}");
    refused("{\"a\"}");
    refused("{\"a\":}");
    refused("{\"a\"::1}");
}

static void test_json_refuses_keys_that_are_not_strings(void **state)
{
    (void)state;
    refused("{1:2}");
    refused("{a:1}");
    refused("{'a':1}");
    refused("{null:1}");
    refused("{[]:1}");
}

static void test_json_refuses_unclosed_and_mismatched_brackets(void **state)
{
    (void)state;
    refused("[");
    refused("{");
    refused("[1");
    refused("{\"a\":1");
    refused("{\"a\":");
    refused("{\"a\"");
    refused("[[]");
    refused("[}");
    refused("{]");
    refused("]");
    refused("}");
}

static void test_json_refuses_misspelled_literals(void **state)
{
    (void)state;
    const char *bad[] = {"tru", "nul", "fals", "True", "NULL", "FALSE", "t", "nil", "undefined"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        refused(bad[k]);
    }
}

static void test_json_error_names_the_byte_offset_and_what_was_expected(void **state)
{
    (void)state;
    const struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"{\"a\":1 \"b\":2}", "invalid JSON at byte 7: expected ',' or '}' after an object member"},
        {"[1,2", "invalid JSON at byte 4: expected ',' or ']' after an array item"},
        {"{\"a\" 1}", "invalid JSON at byte 5: expected ':' after an object key"},
        {"{\"a\":1,}", "invalid JSON at byte 7: expected a string key after ','"},
        {"{1:2}", "invalid JSON at byte 1: expected a string key or '}'"},
        {"", "invalid JSON at byte 0: expected a value"},
        {"[1] x",
         "invalid JSON at byte 4: expected the end of the input after the top-level value"},
        {"01", "invalid JSON at byte 0: a number must not have leading zeros"},
        {"1.", "invalid JSON at byte 2: expected a digit after '.'"},
        {"\"ab", "invalid JSON at byte 3: expected '\"' to end the string begun at byte 0"},
        {"\"\\ud800\"", "invalid JSON at byte 1: high surrogate \\uD800 not followed by a low "
                        "surrogate \\uDC00-\\uDFFF"},
        {"\"\\q\"", "invalid JSON at byte 1: invalid escape '\\q'"},
        {"\"a\tb\"", "invalid JSON at byte 2: control character 0x09 in a string must be escaped"},
        {"1e999", "invalid JSON at byte 0: number out of the range of a double"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct sl_doc_value *root = NULL;
        assert_int_equal(decode_lim(cases[k].text, strlen(cases[k].text), NULL, &root), SL_ESERIAL);
        assert_string_equal(err, cases[k].msg);
    }
}

static void test_json_error_message_is_truncated_to_the_buffer_and_optional(void **state)
{
    (void)state;
    char small[16];
    memset(small, 'x', sizeof(small));
    const struct sl_doc_value *root = NULL;
    assert_int_equal(sl_json_decode(&doc, "[1,", 3, NULL, &root, small, sizeof(small)), SL_ESERIAL);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "invalid JSON at", 15);
    assert_int_equal(sl_json_decode(&doc, "[1,", 3, NULL, &root, NULL, 0), SL_ESERIAL);
    assert_int_equal(sl_json_decode(&doc, "[1,", 3, NULL, &root, small, 0), SL_ESERIAL);
    assert_null(root);
}

static void test_json_failed_decode_leaves_the_root_alone(void **state)
{
    (void)state;
    const struct sl_doc_value *keep = ok("[1]");
    const struct sl_doc_value *root = keep;
    assert_int_equal(dl("[1,{\"a\":[2", NULL, &root), SL_ESERIAL);
    assert_ptr_equal(root, keep);
    assert_int_number(&keep->items[0], 1); /* and an earlier tree in the arena is intact */
}

/* ---- Numbers ------------------------------------------------------------------------- */

static void test_json_integers_are_exact_int64(void **state)
{
    (void)state;
    assert_int_number(ok("0"), 0);
    assert_int_number(ok("-1"), -1);
    assert_int_number(ok("1234567890123"), 1234567890123);
    assert_int_number(ok("9223372036854775807"), INT64_MAX);
    assert_int_number(ok("-9223372036854775808"), INT64_MIN);
    assert_int_number(ok("9007199254740993"), 9007199254740993); /* not a double */
    const struct sl_doc_value *v = ok("9007199254740993");
    assert_true(v->d == 9007199254740992.0); /* the nearest double, ties to even */
}

static void test_json_integers_beyond_int64_are_doubles_only(void **state)
{
    (void)state;
    const struct {
        const char *text;
        double d;
    } cases[] = {
        {"9223372036854775808", 9223372036854775808.0},
        {"-9223372036854775809", -9223372036854775808.0},
        {"18446744073709551616", 18446744073709551616.0},
        {"1e19", 1e19},
        {"123456789012345678901234567890", 1.2345678901234568e29},
        {"-1E+300", -1e300},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct sl_doc_value *v = ok(cases[k].text);
        assert_int_equal(v->type, SL_DOC_NUMBER);
        assert_false(v->is_int);
        assert_true(v->d == cases[k].d);
    }
}

static void test_json_integral_fractions_and_exponents_are_integers(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int64_t i;
    } cases[] = {
        {"3.0", 3},
        {"3.000", 3},
        {"1e3", 1000},
        {"1E3", 1000},
        {"1e+3", 1000},
        {"1.5e1", 15},
        {"100e-2", 1},
        {"0.0", 0},
        {"0e0", 0},
        {"0e-999999", 0},
        {"0.000e99999", 0},
        {"-2.50e1", -25},
        {"12300e-2", 123},
        {"9.223372036854775807e18", INT64_MAX},
        {"-92233720368547758.08e2", INT64_MIN},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct sl_doc_value *v = ok(cases[k].text);
        if (!v->is_int || v->i != cases[k].i) {
            fail_msg("%s: is_int %d i %lld", cases[k].text, v->is_int, (long long)v->i);
        }
        assert_true(v->d == (double)cases[k].i);
    }
}

static void test_json_negative_zero_is_integer_zero_with_a_negative_double(void **state)
{
    (void)state;
    const char *texts[] = {"-0", "-0.0", "-0e5", "-0.00E-3"};
    for (size_t k = 0; k < 4; k++) {
        const struct sl_doc_value *v = ok(texts[k]);
        assert_true(v->is_int);
        assert_true(v->i == 0);
        assert_true(v->d == 0.0);
        assert_true(signbit(v->d));
    }
    assert_false(signbit(ok("0")->d));
}

static void test_json_fractional_numbers_are_not_integers(void **state)
{
    (void)state;
    const char *texts[] = {
        "0.5",   "1e-1", "-1.25", "1459799926.480", "1.0000000000000000001", "123456789.000000001",
        "1e-400"};
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        const struct sl_doc_value *v = ok(texts[k]);
        assert_int_equal(v->type, SL_DOC_NUMBER);
        if (v->is_int) {
            fail_msg("%s decoded as an integer", texts[k]);
        }
    }
}

static void test_json_numbers_convert_to_the_nearest_double(void **state)
{
    (void)state;
    /* strtod in the C locale (this test's) is correctly rounded on glibc. */
    const char *texts[] = {
        "0.1",
        "0.3",
        "1459799926.480",
        "2.2250738585072014e-308", /* smallest normal */
        "2.2250738585072011e-308", /* largest subnormal, roughly */
        "4.9e-324",                /* smallest subnormal */
        "2.4703282292062327e-324", /* just under half of it: rounds to zero */
        "2.4703282292062328e-324", /* just over: rounds up */
        "1.7976931348623157e308",  /* largest double */
        "1.7976931348623158e308",  /* rounds down to it */
        "9007199254740993.5",
        "123456789012345678901234567890.123456789",
        "0.000000000000000000000000000000000000000001234567890123456789",
        "3.14159265358979323846264338327950288419716939937510582097494459",
        "1e-7",
        "8.41e21",
        "7.038531e-26",
        "5e-324",
        "1e22",
        "1e23",
        "123456789012345e-22",
        "1234567890123456e-22",
    };
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        const struct sl_doc_value *v = ok(texts[k]);
        double want = strtod(texts[k], NULL);
        if (v->d != want) {
            fail_msg("%s: got %.17g want %.17g", texts[k], v->d, want);
        }
        const size_t len = strlen(texts[k]);
        char *neg = malloc(len + 2);
        assert_non_null(neg);
        neg[0] = '-';
        memcpy(neg + 1, texts[k], len + 1);
        assert_true(ok(neg)->d == -want);
        free(neg);
    }
}

static void test_json_very_long_numbers_round_correctly(void **state)
{
    (void)state;
    /* Halfway between 1 and the next double, 1 + 2^-53, then digits that decide the rounding
     * only after the 780 the decoder keeps. */
    const char *half = "1.00000000000000011102230246251565404236316680908203125";
    size_t n = strlen(half);
    char *up = malloc(n + 2000);
    assert_non_null(up);
    memcpy(up, half, n);
    memset(up + n, '0', 1500);
    strcpy(up + n + 1500, "1");
    assert_true(ok(half)->d == 1.0);              /* a tie: to even */
    assert_true(ok(up)->d == 1.0000000000000002); /* a hair above the tie: up */
    memset(up + n + 1500, '0', 1);                /* ...0000 exactly: the tie again */
    assert_true(ok(up)->d == 1.0);
    free(up);
    /* A long integer part and a long run of zeros in the fraction. */
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, '9', 4000);
    big[4000] = '\0';
    refused(big); /* 10^4000: beyond a double */
    big[0] = '0';
    big[1] = '.';
    assert_true(ok(big)->d == 1.0); /* 0.999...9 with 3998 nines rounds to 1 */
    free(big);
}

static void test_json_number_conversion_ignores_the_locale(void **state)
{
    (void)state;
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
                           "ru_RU.UTF-8", "de_DE",      "fr_FR"};
    const char *found = NULL;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]) && !found; k++) {
        if (setlocale(LC_NUMERIC, names[k])) {
            found = names[k];
        }
    }
    if (!found) {
        skip(); /* no locale with a decimal comma installed */
    }
    const char *text = "[1.5,0.1234567890123456789,1459799926.480,-2.5e-7]";
    const struct sl_doc_value *v = ok(text);
    struct out o = json_of_value(v);
    setlocale(LC_NUMERIC, "C");
    const struct sl_doc_value *c = ok(text);
    struct out want = json_of_value(c);
    assert_true(tree_equal(v, c, TREE_SAME));
    assert_string_equal((char *)o.p, (char *)want.p);
    assert_non_null(strstr((char *)o.p, "1.5,"));
    free(want.p);
    free(o.p);
}

static void test_json_refuses_leading_zeros(void **state)
{
    (void)state;
    refused("01");
    refused("-01");
    refused("00");
    refused("00.5");
    refused("[007]");
}

static void test_json_refuses_incomplete_numbers(void **state)
{
    (void)state;
    const char *bad[] = {"-",   "1.",  "1e",   "1e+",   "1E-",  ".5", "+1",   "1.e3",
                         "-.5", "--1", "1..2", "1e1.5", "1ee1", "-a", "[1.]", "{\"a\":-}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        refused(bad[k]);
    }
}

static void test_json_refuses_nan_infinity_and_hex(void **state)
{
    (void)state;
    const char *bad[] = {"NaN",  "nan", "Infinity", "-Infinity", "inf",
                         "0x10", "0b1", "1_000",    "1,5"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        refused(bad[k]);
    }
}

static void test_json_refuses_numbers_beyond_the_range_of_a_double(void **state)
{
    (void)state;
    refused("1e309");
    refused("-1e400");
    refused("1.8e308");
    refused("1e99999999999999999999999");
    assert_true(ok("1.7976931348623157e308")->d == 1.7976931348623157e308);
    assert_true(ok("1e308")->d == 1e308);
}

static void test_json_underflow_gives_zero(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("1e-400");
    assert_false(v->is_int);
    assert_true(v->d == 0.0);
    assert_true(ok("-1e-99999999999999999999")->d == 0.0);
    assert_true(signbit(ok("-1e-400")->d));
}

/* ---- Strings ----------------------------------------------------------------------------- */

static void test_json_decodes_every_short_escape(void **state)
{
    (void)state;
    assert_string(ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), "\"\\/\b\f\n\r\t", 8);
}

static void test_json_decodes_unicode_escapes_to_utf8(void **state)
{
    (void)state;
    assert_string(ok("\"\\u0041\""), "A", 1);
    assert_string(ok("\"\\u007f\""), "\x7f", 1);
    assert_string(ok("\"\\u0080\""), "\xc2\x80", 2);
    assert_string(ok("\"\\u00E9\""), "\xc3\xa9", 2);
    assert_string(ok("\"\\u07ff\""), "\xdf\xbf", 2);
    assert_string(ok("\"\\u0800\""), "\xe0\xa0\x80", 3);
    assert_string(ok("\"\\u20aC\""), "\xe2\x82\xac", 3);
    assert_string(ok("\"\\ud7ff\""), "\xed\x9f\xbf", 3);
    assert_string(ok("\"\\ue000\""), "\xee\x80\x80", 3);
    assert_string(ok("\"\\uFFFF\""), "\xef\xbf\xbf", 3);
    assert_string(ok("\"a\\u0062c\""), "abc", 3);
}

static void test_json_joins_surrogate_pairs_into_one_code_point(void **state)
{
    (void)state;
    assert_string(ok("\"\\uD83D\\uDE00\""), "\xf0\x9f\x98\x80", 4); /* U+1F600 */
    assert_string(ok("\"\\ud800\\udc00\""), "\xf0\x90\x80\x80", 4); /* U+10000 */
    assert_string(ok("\"\\udbff\\udfff\""), "\xf4\x8f\xbf\xbf", 4); /* U+10FFFF */
    assert_string(ok("\"x\\uD834\\uDD1Ey\""), "x\xf0\x9d\x84\x9ey", 6);
}

static void test_json_refuses_a_lone_high_surrogate(void **state)
{
    (void)state;
    refused("\"\\ud800\"");
    refused("\"\\ud800x\"");
    refused("\"\\udbff\\u0041\"");
    refused("\"\\ud800\\ud800\"");
    refused("\"\\ud800\\n\"");
    refused("\"\\ud800\\udc0\"");
    refused("\"\\ud800\\");
    refused("\"\\ud800");
}

static void test_json_refuses_a_lone_low_surrogate(void **state)
{
    (void)state;
    refused("\"\\udc00\"");
    refused("\"\\udfff\"");
    refused("\"\\udc00\\ud800\""); /* a pair the wrong way round */
}

static void test_json_refuses_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"\"\\x41\"", "\"\\'\"",     "\"\\U0041\"", "\"\\u12\"", "\"\\u12G4\"",
                         "\"\\u\"",   "\"\\\"",      "\"\\",        "\"\\a\"",   "\"\\0\"",
                         "\"\\ \"",   "\"\\u-123\"", "\"\\u+123\""};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        refused(bad[k]);
    }
    refused_n("\"\\\x01\"", 4);
    refused_n("\"\\\xc3\xa9\"", 5);
}

static void test_json_refuses_raw_control_characters_in_strings(void **state)
{
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        char text[4] = {'"', (char)c, '"', 0};
        refused_n(text, 3);
    }
    assert_string(ok("\"\x7f\""), "\x7f", 1); /* DEL is not a control character to JSON */
}

static void test_json_accepts_valid_multibyte_utf8(void **state)
{
    (void)state;
    const char *s = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
                    "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    char text[64];
    snprintf(text, sizeof(text), "\"%s\"", s);
    assert_string(ok(text), s, strlen(s));
}

static void test_json_refuses_invalid_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        "\x80",             /* a continuation byte alone */
        "\xbf",             /* another */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong */
        "\xe0\x9f\xbf",     /* overlong */
        "\xf0\x80\x80\x80", /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        "\xed\xbf\xbf",     /* a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* never valid */
        "\xff",             /* never valid */
        "\xc3",             /* truncated */
        "\xe2\x82",         /* truncated */
        "\xf0\x9f\x98",     /* truncated */
        "\xc3\x28",         /* bad continuation */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char text[16];
        snprintf(text, sizeof(text), "\"%s\"", bad[k]);
        refused(text);
        snprintf(text, sizeof(text), "{\"%s\":1}", bad[k]); /* in keys too */
        refused(text);
    }
    refused("\xc3\xa9"); /* and outside strings, where nothing but ASCII belongs */
}

static void test_json_escaped_nul_counts_in_the_length(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("{\"k\\u0000y\":\"a\\u0000b\"}");
    assert_int_equal(v->members[0].key_len, 3);
    assert_memory_equal(v->members[0].key, "k\0y", 4);
    assert_string(&v->members[0].value, "a\0b", 3);
    assert_int_equal(strlen(v->members[0].value.s), 1);
}

static void test_json_refuses_unterminated_strings(void **state)
{
    (void)state;
    refused("\"");
    refused("\"abc");
    refused("\"abc\\\"");
    refused("[\"a]");
    refused("{\"a:1}");
}

static void test_json_keys_and_strings_are_nul_terminated_copies(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("{\"StreamName\":\"orders\",\"\":\"\"}");
    assert_string_equal(v->members[0].key, "StreamName");
    assert_int_equal(v->members[0].key_len, 10);
    assert_string(&v->members[0].value, "orders", 6);
    assert_string_equal(v->members[1].key, "");
    assert_int_equal(v->members[1].key_len, 0);
    assert_string(&v->members[1].value, "", 0);
}

/* ---- Limits ------------------------------------------------------------------------------ */

static void test_json_depth_limit_admits_exactly_depth_max_levels(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = 5};
    const struct sl_doc_value *root;
    char *s = nested(5);
    assert_int_equal(dl(s, &lim, &root), SL_OK);
    assert_int_equal(dl("[{\"a\":[{\"b\":[]}]}]", &lim, &root), SL_OK);
    free(s);
}

static void test_json_depth_limit_refuses_one_level_more(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = 5};
    const struct sl_doc_value *root = NULL;
    char *s = nested(6);
    assert_int_equal(dl(s, &lim, &root), SL_ESERIAL);
    assert_string_equal(err, "invalid JSON at byte 5: maps and arrays nested deeper than 5 levels");
    assert_int_equal(dl("[{\"a\":[{\"b\":[{}]}]}]", &lim, &root), SL_ESERIAL);
    assert_null(root);
    free(s);
}

static void test_json_depth_limit_defaults_to_32(void **state)
{
    (void)state;
    const struct sl_doc_value *root;
    char *s = nested(SL_DOC_DEPTH_MAX);
    assert_int_equal(decode_lim(s, strlen(s), NULL, &root), SL_OK);
    free(s);
    s = nested(SL_DOC_DEPTH_MAX + 1);
    assert_int_equal(decode_lim(s, strlen(s), NULL, &root), SL_ESERIAL);
    free(s);
    struct sl_doc_limits zero = {0}; /* 0 fields take the defaults too */
    s = nested(SL_DOC_DEPTH_MAX + 1);
    assert_int_equal(decode_lim(s, strlen(s), &zero, &root), SL_ESERIAL);
    free(s);
}

static void test_json_scalars_do_not_count_as_depth(void **state)
{
    (void)state;
    struct sl_doc_limits lim = {.depth_max = 1};
    const struct sl_doc_value *root;
    assert_int_equal(dl("[1,\"a\",null]", &lim, &root), SL_OK);
    assert_int_equal(dl("{\"a\":true}", &lim, &root), SL_OK);
    assert_int_equal(dl("[[]]", &lim, &root), SL_ESERIAL);
}

static void test_json_deep_nesting_uses_no_c_stack(void **state)
{
    (void)state;
    /* A million levels would overflow any recursive decoder's stack. */
    struct sl_doc_limits lim = {.depth_max = UINT_MAX, .values_max = SIZE_MAX};
    size_t n = 1000000;
    char *s = nested(n);
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(s, 2 * n, &lim, &root), SL_OK);
    size_t depth = 0;
    for (const struct sl_doc_value *v = root; v->n; v = &v->items[0]) {
        depth++;
    }
    assert_int_equal(depth, n - 1);
    free(s);
}

static void test_json_values_limit_admits_exactly_values_max(void **state)
{
    (void)state;
    const struct sl_doc_value *root;
    /* [1,2] holds 3 values; {"a":1,"b":[]} 3 too: keys do not count. */
    struct sl_doc_limits lim = {.values_max = 3};
    assert_int_equal(dl("[1,2]", &lim, &root), SL_OK);
    assert_int_equal(dl("{\"a\":1,\"b\":[]}", &lim, &root), SL_OK);
    lim.values_max = 1;
    assert_int_equal(dl("\"abc\"", &lim, &root), SL_OK);
    assert_int_equal(dl("{}", &lim, &root), SL_OK);
}

static void test_json_values_limit_refuses_one_value_more(void **state)
{
    (void)state;
    const struct sl_doc_value *root = NULL;
    struct sl_doc_limits lim = {.values_max = 3};
    assert_int_equal(dl("[1,2,3]", &lim, &root), SL_ESERIAL);
    assert_string_equal(err, "invalid JSON at byte 5: more than 3 values");
    assert_int_equal(dl("{\"a\":1,\"b\":[0]}", &lim, &root), SL_ESERIAL);
    assert_int_equal(dl("[[[]]]", &lim, &root), SL_OK);
    assert_int_equal(dl("[[[[]]]]", &lim, &root), SL_ESERIAL);
    lim.values_max = 1;
    assert_int_equal(dl("[1]", &lim, &root), SL_ESERIAL);
}

static void test_json_values_limit_defaults_to_100000(void **state)
{
    (void)state;
    /* [0,0,...] with n zeros holds n + 1 values. */
    size_t n = SL_DOC_VALUES_MAX - 1;
    char *s = malloc(2 * n + 3);
    assert_non_null(s);
    s[0] = '[';
    for (size_t k = 0; k < n; k++) {
        s[1 + 2 * k] = '0';
        s[2 + 2 * k] = ',';
    }
    s[2 * n] = ']';
    const struct sl_doc_value *root;
    assert_int_equal(decode_lim(s, 2 * n + 1, NULL, &root), SL_OK);
    assert_int_equal(root->n, n);
    s[2 * n] = ',';
    s[2 * n + 1] = '0';
    s[2 * n + 2] = ']';
    assert_int_equal(decode_lim(s, 2 * n + 3, NULL, &root), SL_ESERIAL);
    free(s);
}

/* ---- Reading trees ---------------------------------------------------------------------- */

static void test_doc_get_returns_the_last_of_repeated_keys(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("{\"a\":1,\"b\":2,\"a\":3}");
    assert_int_number(sl_doc_get(v, "a"), 3);
    assert_int_number(sl_doc_get(v, "b"), 2);
}

static void test_doc_get_returns_null_for_no_such_member_or_no_map(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok("{\"a\":1,\"ab\":2,\"k\\u0000x\":3}");
    assert_null(sl_doc_get(v, "A"));
    assert_null(sl_doc_get(v, "b"));
    assert_null(sl_doc_get(v, ""));
    assert_null(sl_doc_get(v, "k")); /* a key with a NUL in it is not its prefix */
    assert_null(sl_doc_get(NULL, "a"));
    assert_null(sl_doc_get(ok("[\"a\"]"), "a"));
    assert_null(sl_doc_get(ok("\"a\""), "a"));
    assert_null(sl_doc_get(ok("{}"), "a"));
}

static void test_doc_time_ms_reads_seconds_with_a_fraction(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(sl_doc_time_ms(ok("1459799926.480"), &ms));
    assert_true(ms == 1459799926480);
    assert_true(sl_doc_time_ms(ok("1459799926"), &ms));
    assert_true(ms == 1459799926000);
    assert_true(sl_doc_time_ms(ok("-1.5"), &ms));
    assert_true(ms == -1500);
    assert_true(sl_doc_time_ms(ok("0"), &ms));
    assert_true(ms == 0);
    assert_true(sl_doc_time_ms(ok("1.459799926480e9"), &ms));
    assert_true(ms == 1459799926480);
}

static void test_doc_time_ms_rounds_to_the_nearest_millisecond(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_true(sl_doc_time_ms(ok("1.0004"), &ms));
    assert_true(ms == 1000);
    assert_true(sl_doc_time_ms(ok("1.0006"), &ms));
    assert_true(ms == 1001);
    assert_true(sl_doc_time_ms(ok("-1.0006"), &ms));
    assert_true(ms == -1001);
    assert_true(sl_doc_time_ms(ok("-1.0004"), &ms));
    assert_true(ms == -1000);
    assert_true(sl_doc_time_ms(ok("0.0004"), &ms));
    assert_true(ms == 0);
}

static void test_doc_time_ms_refuses_non_numbers_and_out_of_range(void **state)
{
    (void)state;
    int64_t ms = 7;
    assert_false(sl_doc_time_ms(ok("\"1459799926\""), &ms));
    assert_false(sl_doc_time_ms(ok("null"), &ms));
    assert_false(sl_doc_time_ms(ok("[1]"), &ms));
    assert_false(sl_doc_time_ms(NULL, &ms));
    assert_false(sl_doc_time_ms(ok("9223372036854776"), &ms)); /* * 1000 overflows */
    assert_false(sl_doc_time_ms(ok("-9223372036854776"), &ms));
    assert_false(sl_doc_time_ms(ok("1e300"), &ms));
    assert_false(sl_doc_time_ms(ok("9223372036854775.808"), &ms));
    assert_true(ms == 7);
    assert_true(sl_doc_time_ms(ok("9223372036854775"), &ms));
    assert_true(ms == 9223372036854775000);
    assert_true(sl_doc_time_ms(ok("-9223372036854775"), &ms));
    assert_true(ms == -9223372036854775000);
}

/* ---- Writing ----------------------------------------------------------------------------- */

static void test_json_writes_a_small_map_exactly(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
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
    struct out o = finish(&e);
    assert_string_equal((char *)o.p,
                        "{\"StreamName\":\"orders\",\"ShardCount\":2,\"Data\":\"AQID\","
                        "\"Open\":true,\"NextToken\":null,\"Created\":1459799926.480,"
                        "\"Shards\":[\"a\",-1,{}]}");
    free(o.p);
}

static void test_json_writes_escapes_for_quotes_backslashes_and_controls_only(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    const char s[] = "\"\\/\b\f\n\r\t\x01\x1f\0\x7f\xc3\xa9\xf0\x9f\x98\x80 ok";
    sl_enc_str(&e, s, sizeof(s) - 1);
    struct out o = finish(&e);
    assert_string_equal((char *)o.p, "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u0000\x7f\xc3\xa9"
                                     "\xf0\x9f\x98\x80 ok\"");
    const struct sl_doc_value *v = ok((char *)o.p);
    assert_string(v, s, sizeof(s) - 1);
    free(o.p);
}

static void test_json_writes_timestamps_as_seconds_with_three_decimals(void **state)
{
    (void)state;
    const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "0.000"},
        {1, "0.001"},
        {999, "0.999"},
        {1000, "1.000"},
        {-1, "-0.001"},
        {-999, "-0.999"},
        {-1000, "-1.000"},
        {-1500, "-1.500"},
        {1459799926480, "1459799926.480"},
        {1459799926007, "1459799926.007"},
        {INT64_MAX, "9223372036854775.807"},
        {INT64_MIN, "-9223372036854775.808"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct sl_enc e;
        sl_enc_init(&e, SL_ENC_JSON);
        sl_enc_time_ms(&e, cases[k].ms);
        struct out o = finish(&e);
        assert_string_equal((char *)o.p, cases[k].text);
        int64_t ms;
        if (cases[k].ms > -((int64_t)1 << 50) && cases[k].ms < ((int64_t)1 << 50)) {
            assert_true(sl_doc_time_ms(ok((char *)o.p), &ms));
            assert_true(ms == cases[k].ms);
        }
        free(o.p);
    }
}

static void test_json_writes_int64_extremes_in_decimal(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_array(&e, 5);
    sl_enc_int(&e, 0);
    sl_enc_int(&e, -7);
    sl_enc_int(&e, 1234567890);
    sl_enc_int(&e, INT64_MAX);
    sl_enc_int(&e, INT64_MIN);
    sl_enc_end(&e);
    struct out o = finish(&e);
    assert_string_equal((char *)o.p, "[0,-7,1234567890,9223372036854775807,-9223372036854775808]");
    free(o.p);
}

static void test_json_writes_doubles_that_read_back_exactly(void **state)
{
    (void)state;
    const struct {
        double d;
        const char *text;
    } cases[] = {
        {0.5, "0.5"},
        {-0.25, "-0.25"},
        {0.1, "0.1"},
        {1459799926.48, "1459799926.48"},
        {1e20, "100000000000000000000"},
        {1e21, "1e+21"},
        {1e22, "1e+22"},
        {1.5e300, "1.5e+300"},
        {1e-6, "0.000001"},
        {1e-7, "1e-7"},
        {-1.25e-10, "-1.25e-10"},
        {5e-324, "4.94065645841247e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.30000000000000004, "0.30000000000000004"},
        {2.0, "2"},
        {-0.0, "-0"},
        {0.0, "0"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct sl_enc e;
        sl_enc_init(&e, SL_ENC_JSON);
        sl_enc_double(&e, cases[k].d);
        struct out o = finish(&e);
        if (strcmp((char *)o.p, cases[k].text) != 0) {
            fail_msg("%.17g written as %s, want %s", cases[k].d, (char *)o.p, cases[k].text);
        }
        const struct sl_doc_value *v = ok((char *)o.p);
        assert_true(v->d == cases[k].d);
        assert_true(!signbit(v->d) == !signbit(cases[k].d));
        free(o.p);
    }
}

static void test_json_writes_blobs_as_padded_base64(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_array(&e, 4);
    sl_enc_bytes(&e, "", 0);
    sl_enc_bytes(&e, "f", 1);
    sl_enc_bytes(&e, "fo", 2);
    sl_enc_bytes(&e, "\xff\xfe\xfd", 3);
    sl_enc_end(&e);
    struct out o = finish(&e);
    assert_string_equal((char *)o.p, "[\"\",\"Zg==\",\"Zm8=\",\"//79\"]");
    free(o.p);
}

static void test_json_writer_out_of_memory_is_sticky_and_reported_at_finish(void **state)
{
    (void)state;
    struct failing_alloc f;
    failing_alloc_install(&f, 1); /* the first buffer, then nothing */
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
    sl_enc_array(&e, 2000);
    for (int k = 0; k < 1000; k++) {
        sl_enc_cstr(&e, "a string long enough to outgrow the first buffer");
    }
    assert_true(e.failed);
    f.countdown = -1; /* memory again: the writer stays failed */
    size_t len = e.len;
    for (int k = 0; k < 1000; k++) {
        sl_enc_cstr(&e, "more");
    }
    assert_int_equal(e.len, len);
    sl_enc_end(&e);
    unsigned char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(sl_enc_finish(&e, &out, &out_len), SL_ENOMEM);
    assert_null(out);
    sl_enc_close(&e);
    assert_int_equal(f.live, 0);
    failing_alloc_uninstall();
}

static void test_json_writer_survives_allocation_failure_at_every_point(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        struct failing_alloc f;
        failing_alloc_install(&f, n);
        struct sl_enc e;
        sl_enc_init(&e, SL_ENC_JSON);
        sl_enc_array(&e, 300);
        for (int k = 0; k < 100; k++) {
            sl_enc_cstr(&e, "0123456789abcdef");
            sl_enc_bytes(&e, "0123456789abcdef", 16);
            sl_enc_double(&e, 0.1 * k);
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

/* ---- Round trips ------------------------------------------------------------------------- */

static const char every_type[] =
    "{\"null\":null,\"t\":true,\"f\":false,\"i\":-42,\"big\":9223372036854775807,"
    "\"small\":-9223372036854775808,\"huge\":1e300,\"frac\":0.1,\"neg0\":-0.0,\"time\":1459799926."
    "480,"
    "\"s\":\"h\\u00e9llo \\ud83d\\ude00 \\\"q\\\" \\\\ "
    "\\n\\u0000\",\"empty\":\"\",\"a\":[1,[2,[3,[]]],{}],"
    "\"m\":{\"x\":{\"y\":{\"z\":null}}},\"dup\":1,\"dup\":2,\"k\\u0000\":0}";

static void test_json_roundtrip_through_json_gives_the_same_tree(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(every_type);
    struct out o = json_of_value(v);
    const struct sl_doc_value *again = ok_n((char *)o.p, o.len);
    assert_true(tree_equal(v, again, TREE_SAME));
    struct out o2 = json_of_value(again);
    assert_string_equal((char *)o2.p, (char *)o.p); /* and writes the same text */
    free(o2.p);
    free(o.p);
}

static void test_json_roundtrip_through_cbor_gives_the_same_tree(void **state)
{
    (void)state;
    const struct sl_doc_value *v = ok(every_type);
    tree_check_reencodings(v, false); /* aborts on a difference */
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

static void test_json_decodes_a_putrecords_body_of_500_records(void **state)
{
    (void)state;
    struct sl_enc e;
    sl_enc_init(&e, SL_ENC_JSON);
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
    struct out body = finish(&e);

    const struct sl_doc_value *root = ok_n((char *)body.p, body.len);
    assert_string(sl_doc_get(root, "StreamName"), "orders", 6);
    const struct sl_doc_value *records = sl_doc_get(root, "Records");
    assert_non_null(records);
    assert_int_equal(records->type, SL_DOC_ARRAY);
    assert_int_equal(records->n, RECORDS);
    for (int k = 0; k < RECORDS; k++) {
        const struct sl_doc_value *r = &records->items[k];
        unsigned char want[200], got[200];
        size_t len;
        record_data(k, want, &len);
        const struct sl_doc_value *data = sl_doc_get(r, "Data");
        assert_int_equal(data->type, SL_DOC_STRING);
        assert_int_equal(sl_base64_decode(data->s, data->len, got), (long)len);
        assert_memory_equal(got, want, len);
        char pk[32];
        snprintf(pk, sizeof(pk), "partition-%d", k);
        assert_string_equal(sl_doc_get(r, "PartitionKey")->s, pk);
        assert_true((sl_doc_get(r, "ExplicitHashKey") != NULL) == (k % 5 == 0));
    }
    /* The tree costs a small multiple of the body. */
    assert_true(doc.bytes < 8 * body.len);
    free(body.p);
}

static void test_json_decode_survives_allocation_failure_at_every_point(void **state)
{
    (void)state;
    /* Big enough for several arena chunks, a block of its own, and grown stacks. */
    size_t n = 8000;
    char *text = malloc(n + 40100);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, n, "{\"a\":[");
    for (int k = 0; k < 60; k++) {
        len += (size_t)snprintf(
            text + len, n - len,
            "{\"k%d\":[%d,1.5e-3,1.2345678901234567890e-5,\"v\\u00e9\",true,null]},", k, k);
    }
    text[len++] = '"';
    memset(text + len, 'x', 40000); /* a block of its own */
    len += 40000;
    memcpy(text + len, "\"],\"b\":{}}", 10);
    len += 10;
    for (long fail_at = 0;; fail_at++) {
        struct failing_alloc f;
        failing_alloc_install(&f, fail_at);
        struct sl_doc d;
        sl_doc_init(&d);
        const struct sl_doc_value *root = NULL;
        int rc = sl_json_decode(&d, text, len, NULL, &root, err, sizeof(err));
        if (rc == SL_OK) {
            assert_int_equal(root->members[0].value.n, 61);
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
    free(text);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_json_decodes_each_literal),
        T(test_json_accepts_any_scalar_at_the_top),
        T(test_json_accepts_the_four_whitespace_characters_around_tokens),
        T(test_json_refuses_other_whitespace),
        T(test_json_refuses_empty_input),
        T(test_json_refuses_anything_after_the_value),
        T(test_json_keeps_members_and_items_in_document_order),
        T(test_json_decodes_empty_maps_and_arrays),
        T(test_json_refuses_trailing_commas),
        T(test_json_refuses_missing_separators),
        T(test_json_refuses_keys_that_are_not_strings),
        T(test_json_refuses_unclosed_and_mismatched_brackets),
        T(test_json_refuses_misspelled_literals),
        T(test_json_error_names_the_byte_offset_and_what_was_expected),
        T(test_json_error_message_is_truncated_to_the_buffer_and_optional),
        T(test_json_failed_decode_leaves_the_root_alone),
        T(test_json_integers_are_exact_int64),
        T(test_json_integers_beyond_int64_are_doubles_only),
        T(test_json_integral_fractions_and_exponents_are_integers),
        T(test_json_negative_zero_is_integer_zero_with_a_negative_double),
        T(test_json_fractional_numbers_are_not_integers),
        T(test_json_numbers_convert_to_the_nearest_double),
        T(test_json_very_long_numbers_round_correctly),
        T(test_json_number_conversion_ignores_the_locale),
        T(test_json_refuses_leading_zeros),
        T(test_json_refuses_incomplete_numbers),
        T(test_json_refuses_nan_infinity_and_hex),
        T(test_json_refuses_numbers_beyond_the_range_of_a_double),
        T(test_json_underflow_gives_zero),
        T(test_json_decodes_every_short_escape),
        T(test_json_decodes_unicode_escapes_to_utf8),
        T(test_json_joins_surrogate_pairs_into_one_code_point),
        T(test_json_refuses_a_lone_high_surrogate),
        T(test_json_refuses_a_lone_low_surrogate),
        T(test_json_refuses_bad_escapes),
        T(test_json_refuses_raw_control_characters_in_strings),
        T(test_json_accepts_valid_multibyte_utf8),
        T(test_json_refuses_invalid_utf8),
        T(test_json_escaped_nul_counts_in_the_length),
        T(test_json_refuses_unterminated_strings),
        T(test_json_keys_and_strings_are_nul_terminated_copies),
        T(test_json_depth_limit_admits_exactly_depth_max_levels),
        T(test_json_depth_limit_refuses_one_level_more),
        T(test_json_depth_limit_defaults_to_32),
        T(test_json_scalars_do_not_count_as_depth),
        T(test_json_deep_nesting_uses_no_c_stack),
        T(test_json_values_limit_admits_exactly_values_max),
        T(test_json_values_limit_refuses_one_value_more),
        T(test_json_values_limit_defaults_to_100000),
        T(test_doc_get_returns_the_last_of_repeated_keys),
        T(test_doc_get_returns_null_for_no_such_member_or_no_map),
        T(test_doc_time_ms_reads_seconds_with_a_fraction),
        T(test_doc_time_ms_rounds_to_the_nearest_millisecond),
        T(test_doc_time_ms_refuses_non_numbers_and_out_of_range),
        T(test_json_writes_a_small_map_exactly),
        T(test_json_writes_escapes_for_quotes_backslashes_and_controls_only),
        T(test_json_writes_timestamps_as_seconds_with_three_decimals),
        T(test_json_writes_int64_extremes_in_decimal),
        T(test_json_writes_doubles_that_read_back_exactly),
        T(test_json_writes_blobs_as_padded_base64),
        T(test_json_writer_out_of_memory_is_sticky_and_reported_at_finish),
        T(test_json_writer_survives_allocation_failure_at_every_point),
        T(test_json_roundtrip_through_json_gives_the_same_tree),
        T(test_json_roundtrip_through_cbor_gives_the_same_tree),
        T(test_json_decodes_a_putrecords_body_of_500_records),
        T(test_json_decode_survives_allocation_failure_at_every_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
