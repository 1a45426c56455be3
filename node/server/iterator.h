/* iterator.h — shard iterators and ListShards page tokens: stateless, signed, expiring.
 *
 * A token names a position and carries everything needed to resume from it, signed with the
 * node's secret (HMAC-SHA256, truncated to 16 bytes), so that the server keeps no per-reader
 * state and a forged or damaged token is refused. Layout, version 1, before base64:
 *
 *   off  size  field
 *   0    1     version (1)
 *   1    1     kind: 1 shard iterator, 2 ListShards NextToken
 *   2    8     stream creation time, ms (tells incarnations of one name apart)
 *   10   4     shard index (kind 1); the next shard index to list (kind 2)
 *   14   8     position: the first record to read has seq_ix >= this (kind 1); page size
 *              (kind 2)
 *   22   8     issue time, ms
 *   30   1     stream name length L
 *   31   L     stream name
 *   31+L 16    HMAC-SHA256(secret, bytes 0 .. 30+L), first 16 bytes
 *
 * Bump the version when the layout changes; older tokens are then refused as invalid, which
 * costs readers one GetShardIterator.
 */
#ifndef SL_SERVER_ITERATOR_H
#define SL_SERVER_ITERATOR_H

#include "core/control/control.h"

#include <stddef.h>
#include <stdint.h>

#define SL_TOKEN_SHARD_ITERATOR 1
#define SL_TOKEN_LIST_SHARDS    2

/* Longest token text, with its NUL (Kinesis allows 512 characters). */
#define SL_TOKEN_STR_MAX 256

struct sl_token {
    uint8_t kind;
    char stream[SL_STREAM_NAME_BYTES_MAX + 1];
    uint32_t stream_len;
    uint64_t stream_created_ms;
    uint32_t shard_index;
    uint64_t position;
    uint64_t issued_ms;
};

/* Writes `t` signed with `secret` as base64 text and a NUL to `out`; returns its length. */
size_t sl_token_encode(const struct sl_token *t, const uint8_t secret[32],
                       char out[SL_TOKEN_STR_MAX]);

/* Reads a token of kind `kind`. Returns 0; SL_EINVAL when it is not one of ours, was signed
 * with another secret, or is damaged; SL_EEXPIRED when it was issued more than `ttl_ms` before
 * `now_ms` (its issue time is then in `*t` too). */
int sl_token_decode(const char *s, size_t len, uint8_t kind, const uint8_t secret[32],
                    uint64_t now_ms, uint64_t ttl_ms, struct sl_token *t);

#endif
