/* failing_alloc.c — the test allocator that fails the Nth allocation. */
#include "failing_alloc.h"

#include "core/alloc.h"

#include <stdlib.h>

static void *failing_malloc(void *ctx, size_t size)
{
    struct failing_alloc *f = ctx;
    if (f->countdown == 0) {
        return NULL;
    }
    f->countdown -= f->countdown > 0;
    f->live++;
    return malloc(size);
}

static void *failing_realloc(void *ctx, void *ptr, size_t size)
{
    struct failing_alloc *f = ctx;
    if (f->countdown == 0) {
        return NULL;
    }
    f->countdown -= f->countdown > 0;
    f->live += ptr == NULL;
    return realloc(ptr, size);
}

static void failing_free(void *ctx, void *ptr)
{
    struct failing_alloc *f = ctx;
    f->live -= ptr != NULL;
    free(ptr);
}

void failing_alloc_install(struct failing_alloc *f, long countdown)
{
    f->countdown = countdown;
    f->live = 0;
    struct sl_allocator a = {f, failing_malloc, failing_realloc, failing_free};
    sl_allocator_set(&a);
}

void failing_alloc_uninstall(void)
{
    sl_allocator_set(NULL);
}
