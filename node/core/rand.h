/* rand.h — a small deterministic PRNG (xoshiro256**, seeded through splitmix64).
 *
 * The core never reads a random device: whoever creates a state machine supplies the seed, so a
 * simulated run replays exactly. Not for cryptography.
 */
#ifndef SL_RAND_H
#define SL_RAND_H

#include <stdint.h>

struct sl_rand {
    uint64_t s[4];
};

/* Seeds `r`; every seed, 0 included, gives a valid distinct stream. */
void sl_rand_seed(struct sl_rand *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t sl_rand_next(struct sl_rand *r);

/* A uniform value in [0, n); n must be > 0. */
uint64_t sl_rand_below(struct sl_rand *r, uint64_t n);

/* A uniform value in [lo, hi] (inclusive); lo <= hi. */
uint64_t sl_rand_range(struct sl_rand *r, uint64_t lo, uint64_t hi);

/* True with probability `per_million` / 1,000,000. */
int sl_rand_chance(struct sl_rand *r, uint32_t per_million);

#endif
