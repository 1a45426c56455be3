/* seqno.c — sequence number layout and its decimal form (see seqno.h).
 *
 * The 188-bit field space is held in three 64-bit words, w[0] least significant. Hex digit h
 * (h = 0 is the most significant of 47) occupies bits [4 * (46 - h), 4 * (46 - h) + 3].
 */
#include "core/shard/seqno.h"

#include "core/codec.h"
#include "core/errors.h"

#include <string.h>

/* Bit offset and width of each field (see the table in seqno.h). */
#define OFF_VERSION   184
#define OFF_CREATED   148
#define OFF_SHARD_LOW 144
#define OFF_SEQ_IX    80
#define OFF_ZERO      72
#define OFF_RECORD    36
#define OFF_SHARD     4
#define OFF_TAIL      0

#define SEQNO_VERSION 2
#define SEQNO_TAIL    2

/* Canonical numbers have at most 57 digits: 2^188 - 1 < 10^57. Longer ones are out of range. */
#define SEQNO_DIGITS_MAX 57
/* The Kinesis pattern 0|([1-9][0-9]{0,128}) allows up to 129 digits. */
#define SEQNO_PATTERN_DIGITS_MAX 129

typedef unsigned __int128 u128;

static void put_bits(uint64_t w[3], unsigned off, unsigned width, uint64_t v)
{
    unsigned word = off / 64, shift = off % 64;
    w[word] |= v << shift;
    if (shift + width > 64) {
        w[word + 1] |= v >> (64 - shift); /* shift > 0 here, as width <= 64 */
    }
}

static uint64_t get_bits(const uint64_t w[3], unsigned off, unsigned width)
{
    unsigned word = off / 64, shift = off % 64;
    uint64_t v = w[word] >> shift;
    if (shift + width > 64) {
        v |= w[word + 1] << (64 - shift);
    }
    return width == 64 ? v : v & ((UINT64_C(1) << width) - 1);
}

/* Divides the 192-bit w by 10^19 in place and returns the remainder. */
static uint64_t divmod_1e19(uint64_t w[3])
{
    const uint64_t base = UINT64_C(10000000000000000000);
    u128 rem = 0;
    for (unsigned i = 3; i-- > 0;) {
        u128 cur = rem << 64 | w[i];
        w[i] = (uint64_t)(cur / base);
        rem = cur % base;
    }
    return (uint64_t)rem;
}

/* w = w * 10 + d; the caller guarantees that the result fits in 192 bits. */
static void mul10_add(uint64_t w[3], unsigned d)
{
    u128 carry = d;
    for (unsigned i = 0; i < 3; i++) {
        u128 cur = (u128)w[i] * 10 + carry;
        w[i] = (uint64_t)cur;
        carry = cur >> 64;
    }
}

size_t sl_seqno_format(const struct sl_seqno *s, char out[SL_SEQNO_STR_MAX])
{
    SL_ASSERT(s->shard_created_s <= SL_SEQNO_TIME_S_MAX);
    SL_ASSERT(s->record_s <= SL_SEQNO_TIME_S_MAX);
    SL_ASSERT(s->seq_ix <= SL_SEQIX_MAX);
    uint64_t w[3] = {0, 0, 0};
    put_bits(w, OFF_VERSION, 4, SEQNO_VERSION);
    put_bits(w, OFF_CREATED, 36, s->shard_created_s);
    put_bits(w, OFF_SHARD_LOW, 4, s->shard_index & 0xf);
    put_bits(w, OFF_SEQ_IX, 64, s->seq_ix);
    put_bits(w, OFF_RECORD, 36, s->record_s);
    put_bits(w, OFF_SHARD, 32, s->shard_index);
    put_bits(w, OFF_TAIL, 4, SEQNO_TAIL);
    /* The version nibble makes the value >= 2^185, so there are always three base-10^19
     * limbs, the top one non-zero. */
    uint64_t limbs[3];
    for (unsigned i = 0; i < 3; i++) {
        limbs[i] = divmod_1e19(w);
    }
    SL_ASSERT(w[0] == 0 && w[1] == 0 && w[2] == 0 && limbs[2] != 0);
    size_t len = sl_format_u64(limbs[2], 0, out);
    len += sl_format_u64(limbs[1], 19, out + len);
    len += sl_format_u64(limbs[0], 19, out + len);
    out[len] = '\0';
    return len;
}

int sl_seqno_parse(const char *s, size_t len, struct sl_seqno *out)
{
    if (len == 0 || len > SEQNO_PATTERN_DIGITS_MAX || (s[0] == '0' && len > 1)) {
        return SL_EINVAL;
    }
    for (size_t j = 0; j < len; j++) {
        if (s[j] < '0' || s[j] > '9') {
            return SL_EINVAL;
        }
    }
    if (len > SEQNO_DIGITS_MAX) {
        return SL_EINVAL;
    }
    uint64_t w[3] = {0, 0, 0};
    for (size_t j = 0; j < len; j++) {
        mul10_add(w, (unsigned)(s[j] - '0'));
    }
    if (w[2] >> 60 != 0) { /* >= 2^188 */
        return SL_EINVAL;
    }
    struct sl_seqno v = {
        .shard_created_s = get_bits(w, OFF_CREATED, 36),
        .shard_index = (uint32_t)get_bits(w, OFF_SHARD, 32),
        .seq_ix = get_bits(w, OFF_SEQ_IX, 64),
        .record_s = get_bits(w, OFF_RECORD, 36),
    };
    if (get_bits(w, OFF_VERSION, 4) != SEQNO_VERSION || get_bits(w, OFF_TAIL, 4) != SEQNO_TAIL ||
        get_bits(w, OFF_ZERO, 8) != 0 || v.seq_ix > SL_SEQIX_MAX ||
        get_bits(w, OFF_SHARD_LOW, 4) != (v.shard_index & 0xf)) {
        return SL_EINVAL;
    }
    *out = v;
    return SL_OK;
}

int sl_seqno_cmp_str(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen) {
        return alen < blen ? -1 : 1;
    }
    int c = memcmp(a, b, alen);
    return (c > 0) - (c < 0);
}
