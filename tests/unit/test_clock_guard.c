/* test_clock_guard.c — the clock retention uses follows the wall clock but never jumps ahead. */
#include "core/shard/clock_guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void test_steady_clocks_give_the_wall_time(void **state)
{
    struct sl_clock_guard g;
    sl_clock_guard_init(&g, 1000000, 50, 1000);
    for (uint64_t t = 1; t <= 100; t++) {
        assert_int_equal(sl_clock_guard_now(&g, 1000000 + t * 10000, 50 + t * 10000),
                         1000000 + t * 10000);
    }
}

static void test_forward_step_is_absorbed(void **state)
{
    struct sl_clock_guard g;
    sl_clock_guard_init(&g, 1000000, 0, 1000);
    /* 10 s pass, but the wall clock jumps 25 hours: the guard moves 10 s (+ slack). */
    uint64_t day = 25ull * 3600 * 1000;
    assert_int_equal(sl_clock_guard_now(&g, 1000000 + 10000 + day, 10000), 1000000 + 11000);
    /* Then it keeps pace with the monotonic clock, never catching up the step at once. */
    assert_int_equal(sl_clock_guard_now(&g, 1000000 + 20000 + day, 20000), 1000000 + 22000);
}

static void test_small_drift_within_slack_is_followed(void **state)
{
    struct sl_clock_guard g;
    sl_clock_guard_init(&g, 1000000, 0, 1000);
    assert_int_equal(sl_clock_guard_now(&g, 1000000 + 10500, 10000), 1000000 + 10500);
}

static void test_backward_step_is_followed_at_once(void **state)
{
    struct sl_clock_guard g;
    sl_clock_guard_init(&g, 1000000, 0, 1000);
    assert_int_equal(sl_clock_guard_now(&g, 400000, 10000), 400000);
    assert_int_equal(sl_clock_guard_now(&g, 410000, 20000), 410000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_clocks_give_the_wall_time),
        cmocka_unit_test(test_forward_step_is_absorbed),
        cmocka_unit_test(test_small_drift_within_slack_is_followed),
        cmocka_unit_test(test_backward_step_is_followed_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
