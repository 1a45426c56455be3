/* hashkey.h — 128-bit hash keys: MD5 routing of partition keys, their decimal form, the key
 * ranges of a new stream's shards, and shard ids.
 *
 * Kinesis routes a record by a 128-bit key: its ExplicitHashKey if given, else the MD5 of the
 * partition key's UTF-8 bytes read as a big-endian integer. Keys travel as decimal strings
 * matching 0|([1-9][0-9]{0,38}). Every function here is pure and thread-safe.
 */
#ifndef SL_SHARD_HASHKEY_H
#define SL_SHARD_HASHKEY_H

#include <stddef.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 sl_u128; /* GCC and Clang both have it */

#define SL_U128_MAX (~(sl_u128)0)

/* Room for the longest decimal sl_u128 (39 digits) and its NUL. */
#define SL_U128_DIGITS_MAX 40

/* Room for "shardId-" + 12 digits and the NUL. */
#define SL_SHARD_ID_MAX 21

/* Writes the MD5 digest (RFC 1321) of `len` bytes at `data` (NULL allowed when `len` is 0) to
 * `out`. Not for security: it is the routing function Kinesis specifies. */
void sl_md5(const void *data, size_t len, uint8_t out[16]);

/* The hash key of a partition key: MD5 of its `len` bytes, read as a big-endian integer. */
sl_u128 sl_hashkey_of(const char *partition_key, size_t len);

/* Parses `len` bytes at `s` as a canonical decimal hash key into `*out`. Returns 0; SL_EINVAL
 * when `s` does not match 0|([1-9][0-9]{0,38}); SL_ELIMIT when it matches but exceeds
 * 2^128-1. `*out` is written only on success. */
int sl_u128_parse(const char *s, size_t len, sl_u128 *out);

/* Writes `v` in decimal (no leading zeros) and a NUL to `out`; returns the number of digits. */
size_t sl_u128_format(sl_u128 v, char out[SL_U128_DIGITS_MAX]);

/* The hash key range [*start, *end] (inclusive) of shard `i` of a stream created with `n`
 * shards (n >= 1, i < n): [i*q, (i+1)*q - 1] with q = floor(2^128 / n), except that the last
 * shard ends at 2^128-1. Together the n ranges tile the key space. */
void sl_hashkey_range(uint32_t i, uint32_t n, sl_u128 *start, sl_u128 *end);

/* Writes the shard id "shardId-%012u" of `index` and a NUL to `out`; returns its length (20). */
size_t sl_shard_id_format(uint32_t index, char out[SL_SHARD_ID_MAX]);

/* Parses `len` bytes at `s`, which must be exactly "shardId-" and 12 decimal digits whose value
 * is below 2^32, into `*index`. Returns 0, or SL_EINVAL for anything else. */
int sl_shard_id_parse(const char *s, size_t len, uint32_t *index);

#endif
