/* Bounded readers and capped growable writers: see buf.h. */
#include "base/buf.h"

#include "base/assert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void syn_reader_init(struct syn_reader *r, const void *data, size_t len)
{
        SYN_ASSERT(data != NULL || len == 0);
        r->data = data;
        r->len = len;
        r->pos = 0;
        r->failed = false;
}

size_t syn_reader_left(const struct syn_reader *r)
{
        SYN_ASSERT(r->pos <= r->len);
        return r->len - r->pos;
}

const uint8_t *syn_read_bytes(struct syn_reader *r, size_t n)
{
        if (r->failed || n > syn_reader_left(r)) {
                r->failed = true;
                return NULL;
        }
        const uint8_t *p = r->data + r->pos;
        r->pos += n;
        return p;
}

uint8_t syn_read_u8(struct syn_reader *r)
{
        const uint8_t *p = syn_read_bytes(r, 1);
        return p ? p[0] : 0;
}

uint32_t syn_read_be32(struct syn_reader *r)
{
        const uint8_t *p = syn_read_bytes(r, 4);
        return p ? syn_get_be32(p) : 0;
}

uint64_t syn_read_be64(struct syn_reader *r)
{
        const uint8_t *p = syn_read_bytes(r, 8);
        return p ? syn_get_be64(p) : 0;
}

void syn_writer_init(struct syn_writer *w, size_t cap_max)
{
        w->data = NULL;
        w->len = 0;
        w->cap = 0;
        w->cap_max = cap_max ? cap_max : SIZE_MAX;
        w->failed = false;
}

void syn_writer_close(struct syn_writer *w)
{
        free(w->data);
        w->data = NULL;
        w->len = 0;
        w->cap = 0;
}

void syn_writer_reset(struct syn_writer *w)
{
        w->len = 0;
        w->failed = false;
}

bool syn_writer_reserve(struct syn_writer *w, size_t n)
{
        if (w->failed)
                return false;
        if (n > w->cap_max || w->len > w->cap_max - n) {
                w->failed = true;
                return false;
        }
        size_t need = w->len + n;
        if (need <= w->cap)
                return true;
        size_t cap = w->cap ? w->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (cap > w->cap_max)
                cap = w->cap_max;
        uint8_t *data = realloc(w->data, cap);
        if (data == NULL) {
                w->failed = true;
                return false;
        }
        w->data = data;
        w->cap = cap;
        return true;
}

void syn_write_bytes(struct syn_writer *w, const void *p, size_t n)
{
        if (n == 0 || !syn_writer_reserve(w, n))
                return;
        memcpy(w->data + w->len, p, n);
        w->len += n;
}

void syn_write_u8(struct syn_writer *w, uint8_t v)
{
        syn_write_bytes(w, &v, 1);
}

void syn_write_be32(struct syn_writer *w, uint32_t v)
{
        uint8_t b[4];
        syn_put_be32(b, v);
        syn_write_bytes(w, b, sizeof b);
}

void syn_write_be64(struct syn_writer *w, uint64_t v)
{
        uint8_t b[8];
        syn_put_be64(b, v);
        syn_write_bytes(w, b, sizeof b);
}

void syn_writer_patch_be32(struct syn_writer *w, size_t off, uint32_t v)
{
        if (w->failed)
                return;
        SYN_ASSERT(off + 4 <= w->len);
        syn_put_be32(w->data + off, v);
}

uint8_t *syn_writer_take(struct syn_writer *w, size_t *len)
{
        uint8_t *data = w->data;
        *len = w->len;
        w->data = NULL;
        w->len = 0;
        w->cap = 0;
        w->failed = false;
        return data;
}
