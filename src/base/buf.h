/*
 * Bounded byte readers and growable byte writers.
 *
 * struct syn_reader never reads past its end: every read checks the remaining
 * length and, on a short read, sets the sticky `failed` flag and returns zeros.
 * A decoder can therefore read a whole record and check `failed` once.
 *
 * struct syn_writer owns a heap buffer that grows on demand up to `cap_max`;
 * on allocation failure or when the cap is hit it sets the sticky `failed` flag
 * and ignores further writes. Integers are big-endian (jute and our on-disk
 * formats both use network order).
 */
#ifndef SYN_BASE_BUF_H
#define SYN_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syn_reader {
        const uint8_t *data; /* borrowed; must outlive the reader */
        size_t len;
        size_t pos;  /* invariant: pos <= len */
        bool failed; /* sticky: a read ran past the end */
};

void syn_reader_init(struct syn_reader *r, const void *data, size_t len);
size_t syn_reader_left(const struct syn_reader *r);
uint8_t syn_read_u8(struct syn_reader *r);
uint32_t syn_read_be32(struct syn_reader *r);
uint64_t syn_read_be64(struct syn_reader *r);
/* Returns a pointer into the reader's data (borrowed like it), or NULL on short read. */
const uint8_t *syn_read_bytes(struct syn_reader *r, size_t n);

struct syn_writer {
        uint8_t *data; /* owned; NULL until the first write */
        size_t len;
        size_t cap;
        size_t cap_max; /* 0 = SIZE_MAX */
        bool failed;    /* sticky: out of memory or over cap_max */
};

void syn_writer_init(struct syn_writer *w, size_t cap_max);
/* Frees the buffer. */
void syn_writer_close(struct syn_writer *w);
/* Forgets the contents but keeps the memory for reuse. */
void syn_writer_reset(struct syn_writer *w);
/* Makes room for n more bytes; returns false (and sets failed) if it cannot. */
bool syn_writer_reserve(struct syn_writer *w, size_t n);
void syn_write_u8(struct syn_writer *w, uint8_t v);
void syn_write_be32(struct syn_writer *w, uint32_t v);
void syn_write_be64(struct syn_writer *w, uint64_t v);
void syn_write_bytes(struct syn_writer *w, const void *p, size_t n);
/* Overwrites 4 bytes at offset off (which must already be written): for length prefixes. */
void syn_writer_patch_be32(struct syn_writer *w, size_t off, uint32_t v);
/* Hands the buffer to the caller (who frees it with free()) and resets the writer. */
uint8_t *syn_writer_take(struct syn_writer *w, size_t *len);

static inline void syn_put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static inline uint32_t syn_get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void syn_put_be64(uint8_t *p, uint64_t v)
{
        syn_put_be32(p, (uint32_t)(v >> 32));
        syn_put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t syn_get_be64(const uint8_t *p)
{
        return (uint64_t)syn_get_be32(p) << 32 | syn_get_be32(p + 4);
}

#endif
