/* failing_alloc.h — a test allocator that fails the Nth allocation and counts live blocks.
 *
 * Installed through sl_allocator_set (node/core/alloc.h), so every sl_malloc/sl_realloc/sl_free
 * of the code under test goes through it. Tests read `live` to catch leaks and may change
 * `countdown` while it is installed to fail only a later allocation.
 */
#ifndef SL_TEST_FAILING_ALLOC_H
#define SL_TEST_FAILING_ALLOC_H

struct failing_alloc {
    long countdown; /* allocations left before one fails: fail when it reaches 0; negative: never */
    long live;      /* blocks allocated through it and not yet freed */
};

/* Sets f->countdown to `countdown`, f->live to 0 and installs `f` as the allocator. `f` must
 * outlive the installation: call failing_alloc_uninstall before it goes out of scope. */
void failing_alloc_install(struct failing_alloc *f, long countdown);

/* Restores libc's allocator. */
void failing_alloc_uninstall(void);

#endif
