/* hashkey.c — MD5 (RFC 1321), 128-bit decimal keys, creation-time ranges and shard ids. */
#include "core/shard/hashkey.h"

#include "core/assert.h"
#include "core/codec.h"
#include "core/errors.h"

#include <string.h>

/* RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i + 1))), written out so that the core needs no
 * libm. The RFC's test suite (tests/unit/test_shard_hashkey.c) would catch a wrong digit. */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Left-rotation amounts, per round and per step within the round (RFC 1321 §3.4). */
static const uint8_t md5_s[4][4] = {
    {7, 12, 17, 22},
    {5, 9, 14, 20},
    {4, 11, 16, 23},
    {6, 10, 15, 21},
};

static uint32_t rotl32(uint32_t x, unsigned s)
{
    return x << s | x >> (32 - s); /* s is in [4, 23]: neither shift is by 32 */
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Folds one 64-byte block into the state (RFC 1321 §3.4). Step i of round r = i / 16 uses
 * the round's function and message word k: i, 5i+1, 3i+5 or 7i (mod 16). */
static void md5_block(uint32_t st[4], const uint8_t *p)
{
    uint32_t x[16];
    for (unsigned j = 0; j < 16; j++) {
        x[j] = load_le32(p + 4 * j);
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    for (unsigned i = 0; i < 64; i++) {
        uint32_t f;
        unsigned k;
        switch (i / 16) {
        case 0:
            f = (b & c) | (~b & d);
            k = i;
            break;
        case 1:
            f = (b & d) | (c & ~d);
            k = (5 * i + 1) & 15;
            break;
        case 2:
            f = b ^ c ^ d;
            k = (3 * i + 5) & 15;
            break;
        default:
            f = c ^ (b | ~d);
            k = (7 * i) & 15;
            break;
        }
        uint32_t old_d = d;
        d = c;
        c = b;
        b = b + rotl32(a + f + x[k] + md5_t[i], md5_s[i / 16][i % 4]);
        a = old_d;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}

void sl_md5(const void *data, size_t len, uint8_t out[16])
{
    uint32_t st[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const uint8_t *p = data;
    size_t left = len;
    while (left >= 64) {
        md5_block(st, p);
        p += 64;
        left -= 64;
    }
    /* Padding (RFC 1321 §3.1-3.2): 0x80, zeros up to 56 mod 64, then the bit length as a
     * little-endian 64-bit number. It takes one block, or two when the tail is >= 56 bytes. */
    uint8_t tail[128] = {0};
    if (left > 0) {
        memcpy(tail, p, left);
    }
    tail[left] = 0x80;
    size_t tail_len = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    store_le32(tail + tail_len - 8, (uint32_t)bits);
    store_le32(tail + tail_len - 4, (uint32_t)(bits >> 32));
    md5_block(st, tail);
    if (tail_len == 128) {
        md5_block(st, tail + 64);
    }
    for (unsigned j = 0; j < 4; j++) {
        store_le32(out + 4 * j, st[j]);
    }
}

sl_u128 sl_hashkey_of(const char *partition_key, size_t len)
{
    uint8_t digest[16];
    sl_md5(partition_key, len, digest);
    sl_u128 v = 0;
    for (unsigned j = 0; j < 16; j++) {
        v = v << 8 | digest[j];
    }
    return v;
}

int sl_u128_parse(const char *s, size_t len, sl_u128 *out)
{
    if (len == 0 || len > SL_U128_DIGITS_MAX - 1 || (s[0] == '0' && len > 1)) {
        return SL_EINVAL;
    }
    for (size_t j = 0; j < len; j++) {
        if (s[j] < '0' || s[j] > '9') {
            return SL_EINVAL;
        }
    }
    /* Both bounds are constant-folded: no 128-bit division at run time. */
    const sl_u128 limit = SL_U128_MAX / 10;
    const unsigned limit_digit = (unsigned)(SL_U128_MAX % 10);
    sl_u128 v = 0;
    for (size_t j = 0; j < len; j++) {
        unsigned d = (unsigned)(s[j] - '0');
        if (v > limit || (v == limit && d > limit_digit)) {
            return SL_ELIMIT;
        }
        v = v * 10 + d;
    }
    *out = v;
    return SL_OK;
}

size_t sl_u128_format(sl_u128 v, char out[SL_U128_DIGITS_MAX])
{
    /* Three base-10^19 limbs cover 2^128 (< 10^39), so only two 128-bit divisions run. */
    const uint64_t base = UINT64_C(10000000000000000000);
    uint64_t limbs[3];
    unsigned n = 0;
    do {
        limbs[n++] = (uint64_t)(v % base);
        v /= base;
    } while (v != 0);
    size_t len = sl_format_u64(limbs[n - 1], 0, out);
    for (unsigned j = n - 1; j-- > 0;) {
        len += sl_format_u64(limbs[j], 19, out + len);
    }
    out[len] = '\0';
    return len;
}

void sl_hashkey_range(uint32_t i, uint32_t n, sl_u128 *start, sl_u128 *end)
{
    SL_ASSERT(n >= 1 && i < n);
    if (n == 1) {
        *start = 0;
        *end = SL_U128_MAX;
        return;
    }
    /* floor(2^128 / n) is floor((2^128 - 1) / n), plus one when n divides 2^128 exactly, which
     * is when (2^128 - 1) mod n == n - 1. */
    sl_u128 q = SL_U128_MAX / n;
    if (SL_U128_MAX % n == n - 1) {
        q++;
    }
    *start = q * i;
    *end = i == n - 1 ? SL_U128_MAX : q * (i + 1) - 1;
}

static const char shard_id_prefix[] = "shardId-";
#define SHARD_ID_PREFIX_LEN (sizeof(shard_id_prefix) - 1)
#define SHARD_ID_DIGITS     12

size_t sl_shard_id_format(uint32_t index, char out[SL_SHARD_ID_MAX])
{
    memcpy(out, shard_id_prefix, SHARD_ID_PREFIX_LEN);
    size_t len =
        SHARD_ID_PREFIX_LEN + sl_format_u64(index, SHARD_ID_DIGITS, out + SHARD_ID_PREFIX_LEN);
    out[len] = '\0';
    return len;
}

int sl_shard_id_parse(const char *s, size_t len, uint32_t *index)
{
    if (len != SHARD_ID_PREFIX_LEN + SHARD_ID_DIGITS ||
        memcmp(s, shard_id_prefix, SHARD_ID_PREFIX_LEN) != 0) {
        return SL_EINVAL;
    }
    uint64_t v = 0;
    for (size_t j = SHARD_ID_PREFIX_LEN; j < len; j++) {
        if (s[j] < '0' || s[j] > '9') {
            return SL_EINVAL;
        }
        v = v * 10 + (uint64_t)(s[j] - '0');
    }
    if (v > UINT32_MAX) {
        return SL_EINVAL;
    }
    *index = (uint32_t)v;
    return SL_OK;
}
