/* Byte-string hashing over syn_mix64, 8 bytes per round: see hash.h. */
#include "base/hash.h"

#include "base/buf.h"

uint64_t syn_hash_bytes(uint64_t seed, const void *data, size_t n)
{
        const uint8_t *p = data;
        uint64_t h = syn_mix64(seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull));
        while (n >= 8) {
                h = syn_mix64(h ^ syn_get_be64(p)) + 0x632be59bd9b4e019ull;
                p += 8;
                n -= 8;
        }
        uint64_t tail = 0;
        for (size_t i = 0; i < n; i++)
                tail = tail << 8 | p[i];
        return syn_mix64(h ^ tail ^ ((uint64_t)n << 59));
}
