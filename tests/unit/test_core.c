/* test_core.c — the error table, the allocator, buffers and the PRNG of node/core. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "failing_alloc.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/errors.h"
#include "core/rand.h"

#include <stdlib.h>
#include <string.h>

static void test_every_error_has_a_name_and_message(void **state)
{
    (void)state;
#define CHECK_ROW(name, value, msg, kinesis)                                                       \
    assert_string_equal(sl_errname(SL_##name), #name);                                             \
    assert_string_equal(sl_strerror(SL_##name), msg);                                              \
    assert_string_equal(sl_err_kinesis_type(SL_##name), kinesis);
    SL_ERRORS(CHECK_ROW)
#undef CHECK_ROW
}

static void test_unknown_error_is_named_unknown(void **state)
{
    (void)state;
    assert_string_equal(sl_errname(-9999), "EUNKNOWN");
    assert_string_equal(sl_strerror(-9999), "unknown error");
    assert_string_equal(sl_err_kinesis_type(-9999), "InternalFailure");
}

static void test_allocator_can_be_replaced_and_fail(void **state)
{
    (void)state;
    struct failing_alloc f;
    failing_alloc_install(&f, 1);
    void *p = sl_malloc(16);
    assert_non_null(p);
    assert_null(sl_malloc(16)); /* the second allocation fails */
    assert_int_equal(f.live, 1);
    sl_free(p);
    assert_int_equal(f.live, 0);
    failing_alloc_uninstall();
}

static void test_calloc_refuses_overflow(void **state)
{
    (void)state;
    assert_null(sl_calloc(SIZE_MAX / 2, 4));
}

static void test_grow_keeps_array_on_failure(void **state)
{
    (void)state;
    int *items = NULL;
    size_t cap = 0;
    assert_int_equal(sl_grow((void **)&items, &cap, 3, sizeof(*items)), SL_OK);
    assert_true(cap >= 3);
    items[0] = 42;
    struct failing_alloc f;
    failing_alloc_install(&f, 0);
    size_t old_cap = cap;
    assert_int_equal(sl_grow((void **)&items, &cap, old_cap * 4, sizeof(*items)), SL_ENOMEM);
    failing_alloc_uninstall();
    assert_int_equal(cap, old_cap);
    assert_int_equal(items[0], 42);
    sl_free(items);
}

static void test_buf_is_freed_with_its_last_reference(void **state)
{
    (void)state;
    struct failing_alloc f;
    failing_alloc_install(&f, -1);
    struct sl_buf *b = sl_buf_copy("hello", 5);
    assert_non_null(b);
    assert_int_equal(sl_buf_len(b), 5);
    assert_memory_equal(b->data, "hello", 5);
    assert_ptr_equal(sl_buf_ref(b), b);
    sl_buf_unref(b);
    assert_int_equal(f.live, 1);
    sl_buf_unref(b);
    assert_int_equal(f.live, 0);
    failing_alloc_uninstall();
    assert_int_equal(sl_buf_len(NULL), 0);
}

static void test_rand_replays_a_seed(void **state)
{
    (void)state;
    struct sl_rand a, b, c;
    sl_rand_seed(&a, 7);
    sl_rand_seed(&b, 7);
    sl_rand_seed(&c, 8);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sl_rand_next(&a);
        assert_int_equal(x, sl_rand_next(&b));
        differs |= x != sl_rand_next(&c);
    }
    assert_true(differs);
}

static void test_rand_range_stays_in_bounds(void **state)
{
    (void)state;
    struct sl_rand r;
    sl_rand_seed(&r, 1);
    int seen[4] = {0};
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sl_rand_range(&r, 10, 13);
        assert_in_range(x, 10, 13);
        seen[x - 10] = 1;
    }
    assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_a_name_and_message),
        cmocka_unit_test(test_unknown_error_is_named_unknown),
        cmocka_unit_test(test_allocator_can_be_replaced_and_fail),
        cmocka_unit_test(test_calloc_refuses_overflow),
        cmocka_unit_test(test_grow_keeps_array_on_failure),
        cmocka_unit_test(test_buf_is_freed_with_its_last_reference),
        cmocka_unit_test(test_rand_replays_a_seed),
        cmocka_unit_test(test_rand_range_stays_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
