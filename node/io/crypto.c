/* crypto.c — OpenSSL behind crypto.h. */
#include "io/crypto.h"

#include "core/assert.h"
#include "core/errors.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

void sl_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[SL_HMAC_SHA256_BYTES])
{
    unsigned int out_len = 0;
    unsigned char *rv = HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len);
    SL_ASSERT(rv != NULL && out_len == SL_HMAC_SHA256_BYTES);
}

bool sl_equal_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int sl_random_bytes(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : SL_EIO;
}
