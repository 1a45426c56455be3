/* alloc.c — the replaceable allocator. */
#include "core/alloc.h"

#include "core/errors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *libc_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void libc_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static const struct sl_allocator libc_allocator = {NULL, libc_malloc, libc_realloc, libc_free};
static struct sl_allocator current = {NULL, libc_malloc, libc_realloc, libc_free};

void sl_allocator_set(const struct sl_allocator *a)
{
    current = a ? *a : libc_allocator;
}

void *sl_malloc(size_t size)
{
    return current.malloc(current.ctx, size ? size : 1);
}

void *sl_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        return NULL;
    }
    size_t bytes = n * size;
    void *p = sl_malloc(bytes);
    if (p && bytes) {
        memset(p, 0, bytes);
    }
    return p;
}

void *sl_realloc(void *ptr, size_t size)
{
    return current.realloc(current.ctx, ptr, size ? size : 1);
}

void sl_free(void *ptr)
{
    if (ptr) {
        current.free(current.ctx, ptr);
    }
}

int sl_grow(void **items, size_t *cap, size_t need, size_t item_size)
{
    if (need <= *cap) {
        return SL_OK;
    }
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / item_size) {
            return SL_ENOMEM;
        }
        ncap *= 2;
    }
    void *p = sl_realloc(*items, ncap * item_size);
    if (!p) {
        return SL_ENOMEM;
    }
    *items = p;
    *cap = ncap;
    return SL_OK;
}

int sl_grow_zero(void **items, size_t *cap, size_t need, size_t item_size)
{
    size_t old = *cap;
    int rc = sl_grow(items, cap, need, item_size);
    if (rc == SL_OK && *cap > old) {
        memset((char *)*items + old * item_size, 0, (*cap - old) * item_size);
    }
    return rc;
}
