/* crc32c.h — CRC-32C (Castagnoli), the checksum on every shard log payload we write and read.
 *
 * Reflected polynomial 0x82F63B78 with the usual initial value and final xor of 0xFFFFFFFF, so
 * sl_crc32c(0, "123456789", 9) == 0xE3069283 (the standard check value). The function is pure
 * and thread-safe: its tables are constant data.
 */
#ifndef SL_CRC32C_H
#define SL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of `len` bytes at `data` (which may be NULL when `len` is 0), continuing from
 * `crc`: pass 0 to start, or the value a previous call returned to extend it, so that
 * sl_crc32c(sl_crc32c(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t sl_crc32c(uint32_t crc, const void *data, size_t len);

#endif
