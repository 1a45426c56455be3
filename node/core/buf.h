/* buf.h — immutable, reference-counted byte buffers.
 *
 * A log entry's payload is allocated once and shared by the log, the messages that carry it to
 * followers, the write that persists it and the apply queue: each holder owns one reference.
 * The bytes never change after sl_buf_new's caller has filled them, so any thread may read them
 * while holding a reference. The count is atomic: references may be dropped on any thread.
 */
#ifndef SL_BUF_H
#define SL_BUF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload one buffer holds (the byte count is stored in 32 bits). */
#define SL_BUF_LEN_MAX ((size_t)UINT32_MAX)

struct sl_buf {
    atomic_uint refs;
    uint32_t len;
    unsigned char data[];
};

/* A new buffer of `len` uninitialised bytes with one reference, owned by the caller, who fills
 * `data` before sharing it. NULL when out of memory or `len` > SL_BUF_LEN_MAX. */
struct sl_buf *sl_buf_new(size_t len);

/* A new buffer holding a copy of `len` bytes at `data`; NULL when out of memory. */
struct sl_buf *sl_buf_copy(const void *data, size_t len);

/* Takes one more reference and returns `b` (NULL passes through). */
struct sl_buf *sl_buf_ref(struct sl_buf *b);

/* Drops one reference; the last one frees the buffer. NULL is ignored. */
void sl_buf_unref(struct sl_buf *b);

/* The payload length of `b`, 0 for NULL. */
static inline size_t sl_buf_len(const struct sl_buf *b)
{
    return b ? b->len : 0;
}

#endif
