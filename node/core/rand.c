/* rand.c — xoshiro256** by Blackman and Vigna (public domain algorithm), splitmix64 seeding. */
#include "core/rand.h"

#include "core/assert.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sl_rand_seed(struct sl_rand *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

uint64_t sl_rand_next(struct sl_rand *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sl_rand_below(struct sl_rand *r, uint64_t n)
{
    SL_ASSERT(n > 0);
    /* Rejection sampling keeps the distribution uniform for every n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = sl_rand_next(r);
    } while (x >= limit);
    return x % n;
}

uint64_t sl_rand_range(struct sl_rand *r, uint64_t lo, uint64_t hi)
{
    SL_ASSERT(lo <= hi);
    if (lo == 0 && hi == UINT64_MAX) {
        return sl_rand_next(r);
    }
    return lo + sl_rand_below(r, hi - lo + 1);
}

int sl_rand_chance(struct sl_rand *r, uint32_t per_million)
{
    return sl_rand_below(r, 1000000) < per_million;
}
