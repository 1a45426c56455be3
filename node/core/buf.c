/* buf.c — reference-counted byte buffers. */
#include "core/buf.h"

#include "core/alloc.h"
#include "core/assert.h"

#include <string.h>

struct sl_buf *sl_buf_new(size_t len)
{
    if (len > SL_BUF_LEN_MAX) {
        return NULL;
    }
    struct sl_buf *b = sl_malloc(sizeof(*b) + len);
    if (!b) {
        return NULL;
    }
    atomic_init(&b->refs, 1);
    b->len = (uint32_t)len;
    return b;
}

struct sl_buf *sl_buf_copy(const void *data, size_t len)
{
    struct sl_buf *b = sl_buf_new(len);
    if (b && len) {
        memcpy(b->data, data, len);
    }
    return b;
}

struct sl_buf *sl_buf_ref(struct sl_buf *b)
{
    if (b) {
        unsigned prev = atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
        SL_ASSERT(prev > 0);
    }
    return b;
}

void sl_buf_unref(struct sl_buf *b)
{
    if (!b) {
        return;
    }
    unsigned prev = atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel);
    SL_ASSERT(prev > 0);
    if (prev == 1) {
        sl_free(b);
    }
}
