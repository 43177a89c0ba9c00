/*
 * A seeded PRNG (xoshiro256**, seeded through splitmix64). The Raft core and
 * the simulator take randomness only from one of these, seeded from outside,
 * so a run replays exactly from its seed.
 */
#ifndef SYN_BASE_RAND_H
#define SYN_BASE_RAND_H

#include <stdint.h>

struct syn_rand {
        uint64_t s[4];
};

void syn_rand_seed(struct syn_rand *r, uint64_t seed);
uint64_t syn_rand_next(struct syn_rand *r);
/* Uniform in [0, n); n must be > 0. */
uint64_t syn_rand_below(struct syn_rand *r, uint64_t n);
/* Uniform in [lo, hi]; lo <= hi. */
uint64_t syn_rand_range(struct syn_rand *r, uint64_t lo, uint64_t hi);
/* True with probability per_million / 1e6. */
int syn_rand_chance(struct syn_rand *r, uint32_t per_million);

#endif
