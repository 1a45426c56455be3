/* batch.h — the payload of a shard log entry that holds a batch of records.
 *
 * One PutRecord or the records of one PutRecords call that route to the same shard become one
 * log entry. Its payload, format version 1, all integers big-endian:
 *
 *   offset  size  field
 *   0       1     version (SL_BATCH_VERSION = 1)
 *   1       1     kind (SL_BATCH_KIND_RECORDS = 1)
 *   2       2     zero
 *   4       4     count n, 1..SL_BATCH_RECORDS_MAX
 *   8       8     arrival_ms: when the leader accepted the batch, epoch milliseconds
 *   16      ...   n records, each:
 *                   +0  2        key_len, 1..SL_BATCH_KEY_BYTES_MAX
 *                   +2  4        data_len
 *                   +6  key_len  partition key (UTF-8)
 *                   +.  data_len data
 *   len-4   4     CRC-32C (core/crc32c.h) of every preceding byte
 *
 * Version rule: any change to this layout or to the meaning of a field takes a new version
 * number; readers keep decoding every version still present in retained logs. A new kind
 * under the same version is a new kind number, not a layout change.
 *
 * Record i of the entry at log index L has seq_ix sl_seqix(L, i) (core/shard/seqno.h), which
 * is why n is bounded by the 16 position bits.
 */
#ifndef SL_SHARD_BATCH_H
#define SL_SHARD_BATCH_H

#include "core/raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_BATCH_VERSION             1
#define SL_BATCH_KIND_RECORDS        1
#define SL_BATCH_RECORDS_MAX         65535
#define SL_BATCH_KEY_BYTES_MAX       (256 * 4) /* 256 code points of up to 4 UTF-8 bytes */
#define SL_BATCH_HEADER_BYTES        16
#define SL_BATCH_RECORD_HEADER_BYTES 6
#define SL_BATCH_TRAILER_BYTES       4

/* One record. In a reader's output, `key` and `data` point into the payload, which must outlive
 * them; `data` may be NULL when `data_len` is 0 on input to the encoder. */
struct sl_batch_record {
    const char *key;
    uint16_t key_len;
    const uint8_t *data;
    uint32_t data_len;
};

/* A cursor over a checked payload; fields are private to batch.c. */
struct sl_batch_reader {
    const uint8_t *payload;
    size_t off;     /* of the next record */
    uint32_t count; /* records in the batch */
    uint32_t next;  /* records already returned */
    uint64_t arrival_ms;
};

/* The payload size, in bytes, of a batch of the `n` records at `r`. */
size_t sl_batch_size(const struct sl_batch_record *r, size_t n);

/* Encodes the `n` records at `r` (1 <= n <= SL_BATCH_RECORDS_MAX, each key 1..
 * SL_BATCH_KEY_BYTES_MAX bytes) into `out`, whose `out_len` must equal sl_batch_size(r, n).
 * Asserts every precondition: callers validate records before they reach a batch. */
void sl_batch_encode(void *out, size_t out_len, uint64_t arrival_ms,
                     const struct sl_batch_record *r, size_t n);

/* Checks the `len` bytes at `payload` (version, kind, reserved zero, count, CRC, and that the
 * records exactly fill the space before the CRC with keys of legal length) and positions `rd`
 * before the first record. Returns 0, or SL_ECORRUPT. `rd` borrows `payload`. */
int sl_batch_open(struct sl_batch_reader *rd, const void *payload, size_t len);

/* Stores the next record in `*out` and returns true, or returns false after the last one. */
bool sl_batch_next(struct sl_batch_reader *rd, struct sl_batch_record *out);

/* The number of records in the batch `rd` reads. */
uint32_t sl_batch_count(const struct sl_batch_reader *rd);

/* The batch's arrival time, epoch milliseconds. */
uint64_t sl_batch_arrival_ms(const struct sl_batch_reader *rd);

/* Reads only the header of the `len` bytes at `payload`: stores the record count and arrival
 * time and returns 0, or returns SL_ECORRUPT when the payload is shorter than a header and
 * trailer or has the wrong version, kind or count. Does not check the CRC. */
int sl_batch_peek(const void *payload, size_t len, uint32_t *count, uint64_t *arrival_ms);

/* True when log entry `e` holds a batch of records (not a NOOP or a configuration), storing its
 * arrival time. Reads only the header. */
bool sl_batch_entry_arrival(const struct sl_raft_entry *e, uint64_t *arrival_ms);

#endif
