/* test_it_datadir.c — sluiced refuses, with a clear message and without touching anything, a
 * data directory that is not its own. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_foreign_directory_is_refused_and_left_alone(void **state)
{
    struct th_node n;
    th_node_init(&n);
    char path[256];
    snprintf(path, sizeof(path), "%s/notes.txt", n.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not sluice's\n", f);
    fclose(f);

    assert_int_not_equal(th_node_start_refused(&n), 0);
    char log[4096], notes[64];
    read_file(n.log, log, sizeof(log));
    assert_non_null(strstr(log, "holds no sluice store"));
    read_file(path, notes, sizeof(notes));
    assert_string_equal(notes, "not sluice's\n");
    th_node_cleanup(&n);
}

static void test_directory_of_another_node_is_refused(void **state)
{
    struct th_node n;
    th_node_init(&n);
    th_node_start(&n);
    th_node_stop(&n);
    th_node_flag(&n, "--id=2");
    assert_int_not_equal(th_node_start_refused(&n), 0);
    char log[4096];
    read_file(n.log, log, sizeof(log));
    assert_non_null(strstr(log, "belongs to node 1, not node 2"));
    th_node_cleanup(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_directory_is_refused_and_left_alone),
        cmocka_unit_test(test_directory_of_another_node_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
