/*
 * Jute primitives: see jute.h. The only place that turns wire lengths and
 * counts into sizes, so the checks against limits and remaining bytes live
 * here once.
 */
#include "proto/jute.h"
#include "proto/zk_records.h"

#include "base/assert.h"
#include "base/err.h"

#include <string.h>

void jute_reader_init(struct jute_reader *in, const void *data, size_t len)
{
        syn_reader_init(&in->r, data, len);
        in->err = SYN_OK;
}

void jute_reader_fail(struct jute_reader *in, int err)
{
        SYN_ASSERT(err < 0);
        if (in->err == SYN_OK)
                in->err = err;
}

size_t jute_reader_left(const struct jute_reader *in)
{
        return in->err ? 0 : syn_reader_left(&in->r);
}

/* Reads n raw bytes, or fails with SYN_EPROTO (the input is truncated). */
static const uint8_t *jute_read_raw(struct jute_reader *in, size_t n)
{
        if (in->err)
                return NULL;
        const uint8_t *p = syn_read_bytes(&in->r, n);
        if (p == NULL)
                jute_reader_fail(in, SYN_EPROTO);
        return p;
}

int32_t jute_read_int(struct jute_reader *in)
{
        const uint8_t *p = jute_read_raw(in, 4);
        return p ? (int32_t)syn_get_be32(p) : 0;
}

int64_t jute_read_long(struct jute_reader *in)
{
        const uint8_t *p = jute_read_raw(in, 8);
        return p ? (int64_t)syn_get_be64(p) : 0;
}

bool jute_read_bool(struct jute_reader *in)
{
        const uint8_t *p = jute_read_raw(in, 1);
        return p ? p[0] != 0 : false;
}

struct zk_bytes jute_read_buffer(struct jute_reader *in, int32_t bytes_max)
{
        SYN_ASSERT(bytes_max >= 0);
        struct zk_bytes out = {NULL, -1};
        int32_t len = jute_read_int(in);
        if (in->err || len == -1)
                return out;
        if (len < -1) {
                jute_reader_fail(in, SYN_EPROTO);
                return out;
        }
        if (len > bytes_max) {
                jute_reader_fail(in, SYN_ETOOBIG);
                return out;
        }
        const uint8_t *p = jute_read_raw(in, (size_t)len);
        if (p == NULL)
                return out;
        out.data = p;
        out.len = len;
        return out;
}

int32_t jute_read_count(struct jute_reader *in, int32_t count_max, size_t elem_bytes_min)
{
        SYN_ASSERT(count_max >= 0);
        SYN_ASSERT(elem_bytes_min >= 1);
        int32_t count = jute_read_int(in);
        if (in->err)
                return 0;
        if (count == -1)
                return -1;
        if (count < -1) {
                jute_reader_fail(in, SYN_EPROTO);
                return 0;
        }
        if (count > count_max) {
                jute_reader_fail(in, SYN_ETOOBIG);
                return 0;
        }
        /* Division, not multiplication: count * elem_bytes_min cannot overflow then. */
        if ((size_t)count > syn_reader_left(&in->r) / elem_bytes_min) {
                jute_reader_fail(in, SYN_EPROTO);
                return 0;
        }
        return count;
}

void jute_write_int(struct syn_writer *w, int32_t v)
{
        syn_write_be32(w, (uint32_t)v);
}

void jute_write_long(struct syn_writer *w, int64_t v)
{
        syn_write_be64(w, (uint64_t)v);
}

void jute_write_bool(struct syn_writer *w, bool v)
{
        syn_write_u8(w, v ? 1 : 0);
}

void jute_write_buffer(struct syn_writer *w, struct zk_bytes b)
{
        SYN_ASSERT(b.len >= -1);
        SYN_ASSERT(b.len <= 0 || b.data != NULL);
        jute_write_int(w, b.len);
        if (b.len > 0)
                syn_write_bytes(w, b.data, (size_t)b.len);
}

struct zk_bytes zk_bytes_of(const char *s)
{
        struct zk_bytes b = {NULL, -1};
        if (s == NULL)
                return b;
        size_t n = strlen(s);
        SYN_ASSERT(n <= INT32_MAX);
        b.data = (const uint8_t *)s;
        b.len = (int32_t)n;
        return b;
}

bool zk_bytes_equal(struct zk_bytes a, struct zk_bytes b)
{
        if (a.len != b.len)
                return false;
        if (a.len <= 0)
                return true;
        return memcmp(a.data, b.data, (size_t)a.len) == 0;
}
