/*
 * CRC-32C with a hardware path (SSE4.2 crc32 instruction, chosen once at
 * first use) and a portable slicing-by-8 path. The tables are built once,
 * under pthread_once, because the fsync thread and the loop both call in.
 */
#include "base/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t n)
{
        uint64_t c = crc;
        while (n >= 8) {
                uint64_t v;
                memcpy(&v, p, 8);
                c = __builtin_ia32_crc32di(c, v);
                p += 8;
                n -= 8;
        }
        uint32_t c32 = (uint32_t)c;
        while (n--)
                c32 = __builtin_ia32_crc32qi(c32, *p++);
        return c32;
}
#endif

static void crc_init(void)
{
        for (uint32_t i = 0; i < 256; i++) {
                uint32_t c = i;
                for (int k = 0; k < 8; k++)
                        c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
                crc_table[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
                for (int t = 1; t < 8; t++)
                        crc_table[t][i] =
                            (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
        __builtin_cpu_init();
        crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
        while (n >= 8) {
                uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                     (uint32_t)p[3] << 24);
                crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
                      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
                      crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
                      crc_table[0][p[7]];
                p += 8;
                n -= 8;
        }
        while (n--)
                crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        return crc;
}

uint32_t syn_crc32c(uint32_t crc, const void *p, size_t n)
{
        pthread_once(&crc_once, crc_init);
        crc = ~crc;
#if defined(__x86_64__)
        if (crc_hw)
                return ~crc32c_hw(crc, p, n);
#endif
        return ~crc32c_sw(crc, p, n);
}
