/*
 * Non-cryptographic 64-bit hashing for hash tables and state digests.
 *
 * syn_mix64 is the splitmix64 finaliser: a bijection with good avalanche, used
 * to spread integer keys over buckets and to fold values into digests.
 * syn_hash_bytes reads its input big-endian, so the same bytes hash the same on
 * every machine: tree digests are compared across servers and must not depend
 * on the host's byte order.
 */
#ifndef SYN_BASE_HASH_H
#define SYN_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t syn_mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
        return x;
}

/* Hash of n bytes at p (p may be NULL when n == 0), varied by seed. */
uint64_t syn_hash_bytes(uint64_t seed, const void *p, size_t n);

#endif
