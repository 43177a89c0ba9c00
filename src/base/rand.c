/* xoshiro256** by Blackman and Vigna, seeded with splitmix64 as they advise. */
#include "base/rand.h"

#include "base/assert.h"

static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

void syn_rand_seed(struct syn_rand *r, uint64_t seed)
{
        for (int i = 0; i < 4; i++)
                r->s[i] = splitmix64(&seed);
}

uint64_t syn_rand_next(struct syn_rand *r)
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

uint64_t syn_rand_below(struct syn_rand *r, uint64_t n)
{
        SYN_ASSERT(n > 0);
        /* Rejection sampling removes the modulo bias. */
        uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t v;
        do {
                v = syn_rand_next(r);
        } while (v >= limit);
        return v % n;
}

uint64_t syn_rand_range(struct syn_rand *r, uint64_t lo, uint64_t hi)
{
        SYN_ASSERT(lo <= hi);
        if (hi - lo == UINT64_MAX)
                return syn_rand_next(r);
        return lo + syn_rand_below(r, hi - lo + 1);
}

int syn_rand_chance(struct syn_rand *r, uint32_t per_million)
{
        return syn_rand_below(r, 1000000) < per_million;
}
