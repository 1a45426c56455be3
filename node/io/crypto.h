/* crypto.h — the few cryptographic primitives the node needs, from OpenSSL. */
#ifndef SL_IO_CRYPTO_H
#define SL_IO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_HMAC_SHA256_BYTES 32

/* HMAC-SHA256 of `len` bytes at `data` under `key`. */
void sl_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[SL_HMAC_SHA256_BYTES]);

/* Compares `len` bytes in time that does not depend on where they differ. */
bool sl_equal_ct(const void *a, const void *b, size_t len);

/* Fills `out` with cryptographically random bytes. Returns 0 or SL_EIO. */
int sl_random_bytes(void *out, size_t len);

#endif
