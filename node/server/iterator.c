/* iterator.c — signed shard iterators and page tokens (see iterator.h). */
#include "server/iterator.h"

#include "core/assert.h"
#include "core/base64.h"
#include "core/codec.h"
#include "core/errors.h"
#include "io/crypto.h"

#include <string.h>

#define TOKEN_VERSION 1
#define FIXED_BYTES   31
#define MAC_BYTES     16
#define RAW_MAX       (FIXED_BYTES + SL_STREAM_NAME_BYTES_MAX + MAC_BYTES)

size_t sl_token_encode(const struct sl_token *t, const uint8_t secret[32],
                       char out[SL_TOKEN_STR_MAX])
{
    unsigned char raw[RAW_MAX];
    SL_ASSERT(t->stream_len <= SL_STREAM_NAME_BYTES_MAX);
    raw[0] = TOKEN_VERSION;
    raw[1] = t->kind;
    sl_put_u64(raw + 2, t->stream_created_ms);
    sl_put_u32(raw + 10, t->shard_index);
    sl_put_u64(raw + 14, t->position);
    sl_put_u64(raw + 22, t->issued_ms);
    raw[30] = (unsigned char)t->stream_len;
    memcpy(raw + FIXED_BYTES, t->stream, t->stream_len);
    size_t body = FIXED_BYTES + t->stream_len;
    uint8_t mac[SL_HMAC_SHA256_BYTES];
    sl_hmac_sha256(secret, 32, raw, body, mac);
    memcpy(raw + body, mac, MAC_BYTES);
    SL_ASSERT(sl_base64_encoded_len(body + MAC_BYTES) < SL_TOKEN_STR_MAX);
    return sl_base64_encode(raw, body + MAC_BYTES, out);
}

int sl_token_decode(const char *s, size_t len, uint8_t kind, const uint8_t secret[32],
                    uint64_t now_ms, uint64_t ttl_ms, struct sl_token *t)
{
    unsigned char raw[RAW_MAX + 3];
    if (len == 0 || len >= SL_TOKEN_STR_MAX || len / 4 * 3 > sizeof(raw)) {
        return SL_EINVAL;
    }
    long n = sl_base64_decode(s, len, raw);
    if (n < FIXED_BYTES + MAC_BYTES || raw[0] != TOKEN_VERSION || raw[1] != kind) {
        return SL_EINVAL;
    }
    size_t name_len = raw[30];
    size_t body = FIXED_BYTES + name_len;
    if ((size_t)n != body + MAC_BYTES || name_len == 0 || name_len > SL_STREAM_NAME_BYTES_MAX) {
        return SL_EINVAL;
    }
    uint8_t mac[SL_HMAC_SHA256_BYTES];
    sl_hmac_sha256(secret, 32, raw, body, mac);
    if (!sl_equal_ct(mac, raw + body, MAC_BYTES)) {
        return SL_EINVAL;
    }
    memset(t, 0, sizeof(*t));
    t->kind = raw[1];
    t->stream_created_ms = sl_get_u64(raw + 2);
    t->shard_index = sl_get_u32(raw + 10);
    t->position = sl_get_u64(raw + 14);
    t->issued_ms = sl_get_u64(raw + 22);
    t->stream_len = (uint32_t)name_len;
    memcpy(t->stream, raw + FIXED_BYTES, name_len);
    if (now_ms > t->issued_ms && now_ms - t->issued_ms > ttl_ms) {
        return SL_EEXPIRED;
    }
    return 0;
}
