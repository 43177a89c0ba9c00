/*
 * Jute primitives: the ZooKeeper binary archive encoding, over base/buf.h.
 *
 * Jute writes records as their fields in declaration order, big-endian, with
 * no tags: int (4 bytes), long (8), boolean (1 byte), buffer and ustring (int
 * length then bytes, length -1 = null), vector (int count then elements,
 * -1 = null).
 *
 * Reading is for hostile input. A struct jute_reader wraps a bounded
 * syn_reader and keeps the FIRST error (sticky): after any failure every read
 * returns zero / null, so a record decoder reads all its fields and checks
 * `err` once. Every length and count is checked before use:
 *   - a length or count below -1                    -> SYN_EPROTO
 *   - a length or count above the caller's limit    -> SYN_ETOOBIG
 *   - more bytes than are left in the input         -> SYN_EPROTO
 * Strings and buffers decode as struct zk_bytes VIEWS into the input bytes
 * (zero-copy): they are borrowed from the frame and valid only while the frame
 * buffer is (the caller of the decoder must keep it alive and unmodified).
 *
 * Writing appends to a syn_writer, whose own sticky `failed` flag reports
 * running out of memory or over its cap; the write helpers never fail
 * individually.
 */
#ifndef SYN_PROTO_JUTE_H
#define SYN_PROTO_JUTE_H

#include "base/buf.h"
#include "base/zk_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jute_reader {
        struct syn_reader r;
        int err; /* sticky: SYN_OK until the first failed read, then its error */
};

/* Starts reading len bytes at data (borrowed: must outlive every view read from it). */
void jute_reader_init(struct jute_reader *in, const void *data, size_t len);

/* Records err as the reader's error unless one is already recorded. */
void jute_reader_fail(struct jute_reader *in, int err);

/* Bytes not yet read (0 after a failure). */
size_t jute_reader_left(const struct jute_reader *in);

int32_t jute_read_int(struct jute_reader *in);
int64_t jute_read_long(struct jute_reader *in);
/* Any non-zero byte is true, as in Java's DataInput.readBoolean. */
bool jute_read_bool(struct jute_reader *in);

/*
 * Reads a buffer or ustring of at most bytes_max bytes (len -1 = null is
 * accepted; use jute_read_buffer_nonnull where null is meaningless). The view
 * borrows the reader's bytes. On failure returns {NULL, -1} and records the
 * error (SYN_EPROTO for a bad or truncated length, SYN_ETOOBIG over bytes_max).
 */
struct zk_bytes jute_read_buffer(struct jute_reader *in, int32_t bytes_max);

/*
 * Reads a vector count: -1 (null) or 0..count_max, where additionally
 * count * elem_bytes_min must fit in the bytes left, so a caller may allocate
 * `count` elements without trusting the wire. elem_bytes_min >= 1.
 * On failure returns 0 and records the error.
 */
int32_t jute_read_count(struct jute_reader *in, int32_t count_max, size_t elem_bytes_min);

void jute_write_int(struct syn_writer *w, int32_t v);
void jute_write_long(struct syn_writer *w, int64_t v);
void jute_write_bool(struct syn_writer *w, bool v);
/* Writes b as a jute buffer/ustring; b.len == -1 writes null. Asserts b.len >= -1 and data. */
void jute_write_buffer(struct syn_writer *w, struct zk_bytes b);

#endif
