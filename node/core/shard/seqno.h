/* seqno.h — Kinesis sequence numbers: a record's position in a shard, encoded as the decimal
 * string of a 186-bit value.
 *
 * The value is 47 hex digits in kinesalite's "v2" layout, most significant first (hex[0] is
 * the top nibble):
 *
 *   hex      bits      field
 *   [0]        4       version, always 2
 *   [1..9]    36       shard_created_s: the shard's creation time, epoch seconds
 *   [10]       4       shard_index & 0xf
 *   [11..26]  64       seq_ix (< 2^63): sl_seqix(log index, position in the batch)
 *   [27..28]   8       zero
 *   [29..37]  36       record_s: the record's arrival time, epoch seconds
 *   [38..45]  32       shard_index
 *   [46]       4       2
 *
 * Real AWS numbers decode with this layout. Within one shard (same shard_created_s and
 * shard_index) numeric order is (seq_ix, record_s) order, and comparing two canonical decimal
 * strings numerically (sl_seqno_cmp_str: shorter is smaller, else strcmp) gives the same order.
 * A closed shard's EndingSequenceNumber uses seq_ix = SL_SEQIX_MAX. All functions are pure.
 */
#ifndef SL_SHARD_SEQNO_H
#define SL_SHARD_SEQNO_H

#include "core/assert.h"

#include <stddef.h>
#include <stdint.h>

/* Room for any canonical sequence number (at most 57 digits) and its NUL. */
#define SL_SEQNO_STR_MAX 64

/* Bounds of the fields (inclusive). */
#define SL_SEQNO_TIME_S_MAX ((UINT64_C(1) << 36) - 1)
#define SL_SEQIX_MAX        ((UINT64_C(1) << 63) - 1)

struct sl_seqno {
    uint64_t shard_created_s; /* <= SL_SEQNO_TIME_S_MAX */
    uint32_t shard_index;
    uint64_t seq_ix;   /* <= SL_SEQIX_MAX */
    uint64_t record_s; /* <= SL_SEQNO_TIME_S_MAX */
};

/* seq_ix packs a record's place in its shard's log: the log index of the batch entry in the
 * high bits, the record's position within the batch in the low SL_SEQIX_POS_BITS. */
#define SL_SEQIX_POS_BITS  16
#define SL_SEQIX_POS_MAX   ((UINT32_C(1) << SL_SEQIX_POS_BITS) - 1)
#define SL_SEQIX_INDEX_MAX ((UINT64_C(1) << 47) - 1)

/* The seq_ix of position `pos` (<= SL_SEQIX_POS_MAX) in the entry at `log_index`
 * (<= SL_SEQIX_INDEX_MAX); asserts both bounds. */
static inline uint64_t sl_seqix(uint64_t log_index, uint32_t pos)
{
    SL_ASSERT(log_index <= SL_SEQIX_INDEX_MAX && pos <= SL_SEQIX_POS_MAX);
    return log_index << SL_SEQIX_POS_BITS | pos;
}

/* The log index a seq_ix refers to. */
static inline uint64_t sl_seqix_index(uint64_t seq_ix)
{
    return seq_ix >> SL_SEQIX_POS_BITS;
}

/* The position within its batch a seq_ix refers to. */
static inline uint32_t sl_seqix_pos(uint64_t seq_ix)
{
    return (uint32_t)(seq_ix & SL_SEQIX_POS_MAX);
}

/* Writes `s` as a canonical decimal string (no leading zeros) and a NUL to `out`; returns its
 * length. Asserts that every field is within its bound. */
size_t sl_seqno_format(const struct sl_seqno *s, char out[SL_SEQNO_STR_MAX]);

/* Parses `len` bytes at `s` into `*out`. Returns 0, or SL_EINVAL unless the text matches
 * 0|([1-9][0-9]{0,128}), its value is below 2^188, hex[0] and hex[46] are 2, hex[27..28] are
 * 0, seq_ix < 2^63 and the two copies of the shard index agree. `*out` is written only on
 * success. */
int sl_seqno_parse(const char *s, size_t len, struct sl_seqno *out);

/* Compares two canonical decimal strings (digits, no leading zeros) as numbers: returns a
 * negative value, 0 or a positive value as a < b, a == b or a > b. */
int sl_seqno_cmp_str(const char *a, size_t alen, const char *b, size_t blen);

#endif
