/*
 * CRC-32C (Castagnoli), the checksum of every WAL record and snapshot chunk.
 * Uses the SSE4.2 instruction when the CPU has it, else slicing-by-8 tables.
 */
#ifndef SYN_BASE_CRC32C_H
#define SYN_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes of p. crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t syn_crc32c(uint32_t crc, const void *p, size_t n);

#endif
