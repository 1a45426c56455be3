/* assert.c — the failure path of SL_ASSERT. */
#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>

static void (*sl_assert_hook)(void);

void sl_assert_set_hook(void (*hook)(void))
{
    sl_assert_hook = hook;
}

_Noreturn void sl_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
    fflush(stderr);
    if (sl_assert_hook) {
        sl_assert_hook();
    }
    abort();
}
