/* codec.h — big-endian integers in byte buffers, and a bounds-checked reader for decoding.
 *
 * Every on-disk and in-log format of sluice is written with these, so that keys sort in numeric
 * order and a short or damaged value is detected rather than read past.
 */
#ifndef SL_CODEC_H
#define SL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The value of hex digit `c` (either case), or -1. */
static inline int sl_hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static inline void sl_put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void sl_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8) {
        p[i] = (unsigned char)v;
    }
}

static inline void sl_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) {
        p[i] = (unsigned char)v;
    }
}

static inline uint16_t sl_get_u16(const unsigned char *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t sl_get_u32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t sl_get_u64(const unsigned char *p)
{
    return ((uint64_t)sl_get_u32(p) << 32) | sl_get_u32(p + 4);
}

/* Writes `v` in decimal, left-padded with zeros to at least `width` digits, to `out` (no NUL;
 * room for max(width, 20) characters). Returns the number of characters written. */
static inline size_t sl_format_u64(uint64_t v, unsigned width, char *out)
{
    char rev[64];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width && n < sizeof(rev)) {
        rev[n++] = '0';
    }
    for (size_t j = 0; j < n; j++) {
        out[j] = rev[n - 1 - j];
    }
    return n;
}

/* A cursor over bytes being decoded. Once a read runs past the end, `bad` is set, every later
 * read returns zeros, and the caller checks `bad` once at the end. */
struct sl_reader {
    const unsigned char *p;
    size_t len;
    size_t off;
    bool bad;
};

static inline void sl_reader_init(struct sl_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->bad = false;
}

/* The next `n` bytes, or NULL (and `bad`) when fewer remain. */
static inline const unsigned char *sl_read_bytes(struct sl_reader *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *p = r->p + r->off;
    r->off += n;
    return p;
}

static inline uint8_t sl_read_u8(struct sl_reader *r)
{
    const unsigned char *p = sl_read_bytes(r, 1);
    return p ? p[0] : 0;
}

static inline uint16_t sl_read_u16(struct sl_reader *r)
{
    const unsigned char *p = sl_read_bytes(r, 2);
    return p ? sl_get_u16(p) : 0;
}

static inline uint32_t sl_read_u32(struct sl_reader *r)
{
    const unsigned char *p = sl_read_bytes(r, 4);
    return p ? sl_get_u32(p) : 0;
}

static inline uint64_t sl_read_u64(struct sl_reader *r)
{
    const unsigned char *p = sl_read_bytes(r, 8);
    return p ? sl_get_u64(p) : 0;
}

/* True when every byte was consumed and no read ran past the end. */
static inline bool sl_reader_done(const struct sl_reader *r)
{
    return !r->bad && r->off == r->len;
}

#endif
