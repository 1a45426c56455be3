/* alloc.h — the one allocator every sluice module allocates through.
 *
 * By default it is libc's malloc/realloc/free. A process may replace it once, before any
 * allocation (tests install one that fails the Nth allocation or counts live blocks to catch
 * leaks). Replacing it while blocks from the previous allocator are alive is a bug.
 *
 * Not thread-safe to replace; the functions themselves are as thread-safe as the installed
 * allocator (libc's is).
 */
#ifndef SL_ALLOC_H
#define SL_ALLOC_H

#include <stddef.h>

struct sl_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
};

/* Installs `a` (copied); NULL restores libc's allocator. */
void sl_allocator_set(const struct sl_allocator *a);

/* Like malloc/calloc/realloc/free. Return NULL when out of memory (or when a test allocator
 * decides to fail). sl_calloc checks `n * size` for overflow. */
void *sl_malloc(size_t size);
void *sl_calloc(size_t n, size_t size);
void *sl_realloc(void *ptr, size_t size);
void sl_free(void *ptr);

/* Grows the array `*items` (each `item_size` bytes, `*cap` allocated) so that it can hold at
 * least `need` items, doubling. On failure returns SL_ENOMEM and leaves the array unchanged. */
int sl_grow(void **items, size_t *cap, size_t need, size_t item_size);

/* Like sl_grow, and fills the slots it adds with zero bytes. */
int sl_grow_zero(void **items, size_t *cap, size_t need, size_t item_size);

#endif
