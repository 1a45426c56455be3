/* base64.h — standard padded base64 (RFC 4648 §4): shard iterators, blobs on the Kinesis wire. */
#ifndef SL_BASE64_H
#define SL_BASE64_H

#include <stddef.h>

/* Characters sl_base64_encode writes for `len` bytes, without the NUL. */
static inline size_t sl_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

/* Encodes `len` bytes of `in` into `out` (room for sl_base64_encoded_len(len) + 1) and
 * NUL-terminates it. Returns the length written. */
size_t sl_base64_encode(const void *in, size_t len, char *out);

/* Decodes padded base64 `in` (length a multiple of 4, only the alphabet and trailing '=') into
 * `out` (room for len / 4 * 3 bytes). Returns the decoded length, or -1 when `in` is not valid
 * padded base64. */
long sl_base64_decode(const char *in, size_t len, void *out);

#endif
