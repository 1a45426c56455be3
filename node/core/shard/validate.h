/* validate.h — Kinesis request validation with Kinesis-style messages that name the field and
 * the value.
 *
 * Two kinds of failure, as Kinesis reports them:
 *   - shape errors (ValidationException): every failing constraint of a request is collected
 *     in a struct sl_verr, then sl_verr_finish() turns them into one message:
 *       "2 validation errors detected: Value 'x y' at 'streamName' failed to satisfy
 *        constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value ..."
 *   - semantic errors (InvalidArgumentException): sl_check_explicit_hash_key and
 *     sl_check_retention_hours return SL_EINVAL and write the message themselves.
 * Field names are the Kinesis camelCase member paths ("streamName",
 * "records.1.member.partitionKey"). All functions are pure; a collector is one request's.
 */
#ifndef SL_SHARD_VALIDATE_H
#define SL_SHARD_VALIDATE_H

#include "core/shard/hashkey.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_RECORD_BYTES_MAX            1048576
#define SL_PUT_RECORDS_MAX             500
#define SL_PUT_RECORDS_BYTES_MAX       (5 * 1048576)
#define SL_GET_RECORDS_LIMIT_MAX       10000
#define SL_GET_RECORDS_BYTES_MAX       (10 * 1048576)
#define SL_SHARD_COUNT_MAX             10000
#define SL_RETENTION_HOURS_MIN         24
#define SL_RETENTION_HOURS_MAX         8760
#define SL_RETENTION_HOURS_DEFAULT     24
#define SL_LIST_STREAMS_LIMIT_MAX      100
#define SL_LIST_SHARDS_MAX_RESULTS_MAX 10000
#define SL_LIST_SHARDS_DEFAULT         1000
#define SL_DESCRIBE_STREAM_LIMIT_MAX   100
#define SL_ITERATOR_TTL_MS             300000
#define SL_PARTITION_KEY_CHARS_MAX     256
#define SL_STREAM_NAME_MAX             128
#define SL_SHARD_ID_SHAPE_MAX          128
#define SL_TAG_KEY_CHARS_MAX           128
#define SL_TAG_VALUE_CHARS_MAX         256
#define SL_TAGS_PER_CALL_MAX           200 /* entries of a Tags map (a stream keeps 50) */
#define SL_TAG_KEYS_PER_CALL_MAX       50
#define SL_LIST_TAGS_LIMIT_MAX         50

/* A collector keeps the text of the first SL_VERR_KEPT_MAX errors; values longer than
 * SL_VERR_VALUE_BYTES_MAX bytes are cut (on a character boundary) and end in "...". */
#define SL_VERR_KEPT_MAX        10
#define SL_VERR_VALUE_BYTES_MAX 256
/* Room for SL_VERR_KEPT_MAX errors with the longest values and constraint texts here and field
 * paths of up to 87 bytes. Anything beyond is cut, never overflowed. */
#define SL_VERR_TEXT_MAX 4608
/* A message buffer that always holds sl_verr_finish's output uncut. */
#define SL_VERR_MSG_MAX (SL_VERR_TEXT_MAX + 64)

/* The shape errors of one request. `n` counts every error added; `text` holds the first
 * SL_VERR_KEPT_MAX joined with "; " (`len` bytes, NUL-terminated). */
struct sl_verr {
    unsigned n;
    size_t len;
    char text[SL_VERR_TEXT_MAX];
};

/* Empties `v`. */
void sl_verr_init(struct sl_verr *v);

/* Records "Value 'VALUE' at 'FIELD' failed to satisfy constraint: CONSTRAINT", VALUE being the
 * `value_len` bytes at `value`, cut as above; NUL bytes and bytes that are not valid UTF-8
 * appear as '?', so the message is always a valid UTF-8 C string. A NULL `value` gives
 * "Value null at ..." (for "Member must not be null"). Callers pass a placeholder for blobs.
 * Counts the error even when it is past the SL_VERR_KEPT_MAX kept. */
void sl_verr_add(struct sl_verr *v, const char *field, const char *value, size_t value_len,
                 const char *constraint);

/* Returns 0 when no error was added (writing "" to `msg` if `msg_len` > 0); else writes
 * "1 validation error detected: A" or "N validation errors detected: A; B..." (N counts every
 * error, the list holds the kept ones) to `msg`, cut to `msg_len` bytes including the NUL, and
 * returns SL_EVALIDATION. */
int sl_verr_finish(const struct sl_verr *v, char *msg, size_t msg_len);

/* Shape checks. Each adds one error to `v` per constraint the value fails, in Kinesis's order
 * (pattern before length), and returns true when the value passed them all. */

/* Stream (and consumer) names: [a-zA-Z0-9_.-]+, 1..SL_STREAM_NAME_MAX bytes. */
bool sl_check_stream_name(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Partition keys: valid UTF-8 ("Member must be valid UTF-8", then no length check), of
 * 1..SL_PARTITION_KEY_CHARS_MAX code points. */
bool sl_check_partition_key(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Tag keys: valid UTF-8 of 1..SL_TAG_KEY_CHARS_MAX code points; values: 0..SL_TAG_VALUE_CHARS_MAX.
 */
bool sl_check_tag_key(struct sl_verr *v, const char *field, const char *s, size_t len);
bool sl_check_tag_value(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Whether tag text holds only what AWS tags may: letters, digits, spaces (U+0020) and
 * _ . : / = + - @. Every non-ASCII character counts as a letter (sluice carries no Unicode tables).
 */
bool sl_tag_text_allowed(const char *s, size_t len);

/* Whether a tag key starts with the prefix AWS reserves for itself ("aws:", any case). */
bool sl_tag_key_reserved(const char *s, size_t len);

/* Shard ids as a request carries them: [a-zA-Z0-9_.-]+, 1..SL_SHARD_ID_SHAPE_MAX bytes. */
bool sl_check_shard_id_shape(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Integers: min <= value <= max ("Member must have value greater than or equal to MIN" /
 * "... less than or equal to MAX"). */
bool sl_check_u64_range(struct sl_verr *v, const char *field, uint64_t value, uint64_t min,
                        uint64_t max);

/* Record size: data_len + key_len <= SL_RECORD_BYTES_MAX ("Member must have length less than
 * or equal to 1048576"); the value shown is Java's placeholder for a blob of data_len bytes. */
bool sl_check_data_size(struct sl_verr *v, const char *field, size_t data_len, size_t key_len);

/* Hash keys: 0|([1-9]\d{0,38}) (the range is checked by sl_check_explicit_hash_key). */
bool sl_check_hash_key_shape(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Sequence numbers: 0|([1-9]\d{0,128}). */
bool sl_check_seqno_shape(struct sl_verr *v, const char *field, const char *s, size_t len);

/* Semantic checks. */

/* Parses an ExplicitHashKey into `*out` and returns 0; else writes "Invalid ExplicitHashKey.
 * ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was VALUE" to `msg` (cut
 * to `msg_len`) and returns SL_EINVAL. */
int sl_check_explicit_hash_key(const char *s, size_t len, sl_u128 *out, char *msg, size_t msg_len);

/* Returns 0 when SL_RETENTION_HOURS_MIN <= hours <= SL_RETENTION_HOURS_MAX; else writes
 * "Minimum allowed retention period is 24 hours. Requested retention period (N hours) is too
 * short." or "Maximum allowed retention period is 8760 hours. Requested retention period (N
 * hours) is too long." to `msg` and returns SL_EINVAL. */
int sl_check_retention_hours(uint64_t hours, char *msg, size_t msg_len);

#endif
