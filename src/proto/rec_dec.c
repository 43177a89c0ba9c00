/*
 * The two-pass record decoder and the shared records (Stat, vector<ACL>,
 * vector<ustring>): see rec_dec.h.
 */
#include "proto/rec_dec.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of one element, which bounds a count by the bytes left. */
#define REC_ACL_BYTES_MIN    12 /* perms + two empty strings */
#define REC_STRING_BYTES_MIN 4

static const size_t rec_elem_size[REC_KINDS] = {
    [REC_ACL] = sizeof(struct zk_acl),           [REC_BYTES] = sizeof(struct zk_bytes),
    [REC_INFO] = sizeof(struct zk_client_info),  [REC_REQUEST] = sizeof(struct zk_request),
    [REC_RESPONSE] = sizeof(struct zk_response),
};

static size_t rec_align_up(size_t n)
{
        size_t a = alignof(max_align_t);
        return (n + a - 1) / a * a;
}

/* Allocates the block for what pass 1 counted and switches d to filling. */
static int rec_pool_alloc(struct rec_dec *d, void **pool)
{
        size_t off[REC_KINDS];
        size_t total = 0;
        for (int k = 0; k < REC_KINDS; k++) {
                off[k] = total;
                /* Counts are bounded by the frame size (elements >= 4 wire bytes). */
                SYN_ASSERT(d->used[k] <= SIZE_MAX / 2 / rec_elem_size[k]);
                total = rec_align_up(total + d->used[k] * rec_elem_size[k]);
        }
        uint8_t *block = calloc(1, total);
        if (block == NULL)
                return SYN_ENOMEM;
        for (int k = 0; k < REC_KINDS; k++) {
                d->cap[k] = d->used[k];
                d->used[k] = 0;
                d->base[k] = block + off[k];
        }
        d->counting = false;
        *pool = block;
        return SYN_OK;
}

int rec_decode(const uint8_t *bytes, size_t len, rec_fn fn, void *out, void **pool,
               size_t *trailing)
{
        struct rec_dec d;
        memset(&d, 0, sizeof d);
        *pool = NULL;
        *trailing = 0;
        jute_reader_init(&d.in, bytes, len);
        d.counting = true;
        fn(&d, out);
        if (d.in.err)
                return d.in.err;
        size_t counted = 0;
        for (int k = 0; k < REC_KINDS; k++)
                counted += d.used[k];
        if (counted > 0) {
                int rc = rec_pool_alloc(&d, pool);
                if (rc)
                        return rc;
                jute_reader_init(&d.in, bytes, len);
                fn(&d, out);
                /* Same bytes, same code: pass 2 repeats pass 1 exactly. */
                SYN_ASSERT(d.in.err == SYN_OK);
                for (int k = 0; k < REC_KINDS; k++)
                        SYN_ASSERT(d.used[k] == d.cap[k]);
        }
        *trailing = jute_reader_left(&d.in);
        return SYN_OK;
}

void *rec_take(struct rec_dec *d, enum rec_kind k, int32_t n)
{
        SYN_ASSERT(n >= 0);
        if (d->in.err)
                return NULL;
        size_t at = d->used[k];
        d->used[k] += (size_t)n;
        if (d->counting || n == 0)
                return NULL;
        SYN_ASSERT(d->used[k] <= d->cap[k]);
        return d->base[k] + at * rec_elem_size[k];
}

void rec_read_stat(struct rec_dec *d, struct zk_stat *st)
{
        struct jute_reader *in = &d->in;
        st->czxid = jute_read_long(in);
        st->mzxid = jute_read_long(in);
        st->ctime = jute_read_long(in);
        st->mtime = jute_read_long(in);
        st->version = jute_read_int(in);
        st->cversion = jute_read_int(in);
        st->aversion = jute_read_int(in);
        st->ephemeral_owner = jute_read_long(in);
        st->data_length = jute_read_int(in);
        st->num_children = jute_read_int(in);
        st->pzxid = jute_read_long(in);
}

void rec_read_acl_list(struct rec_dec *d, struct zk_acl_list *out)
{
        int32_t n = jute_read_count(&d->in, ZK_ACL_COUNT_MAX, REC_ACL_BYTES_MIN);
        out->count = n;
        out->items = rec_take(d, REC_ACL, n > 0 ? n : 0);
        for (int32_t i = 0; i < n; i++) {
                struct zk_acl a;
                a.perms = jute_read_int(&d->in);
                a.id.scheme = jute_read_buffer(&d->in, ZK_ACL_ID_BYTES_MAX);
                a.id.id = jute_read_buffer(&d->in, ZK_ACL_ID_BYTES_MAX);
                if (out->items)
                        out->items[i] = a;
        }
}

void rec_read_bytes_list(struct rec_dec *d, struct zk_bytes_list *out, int32_t count_max,
                         int32_t bytes_max)
{
        int32_t n = jute_read_count(&d->in, count_max, REC_STRING_BYTES_MIN);
        out->count = n;
        out->items = rec_take(d, REC_BYTES, n > 0 ? n : 0);
        for (int32_t i = 0; i < n; i++) {
                struct zk_bytes b = jute_read_buffer(&d->in, bytes_max);
                if (out->items)
                        out->items[i] = b;
        }
}

void rec_write_stat(struct syn_writer *w, const struct zk_stat *st)
{
        jute_write_long(w, st->czxid);
        jute_write_long(w, st->mzxid);
        jute_write_long(w, st->ctime);
        jute_write_long(w, st->mtime);
        jute_write_int(w, st->version);
        jute_write_int(w, st->cversion);
        jute_write_int(w, st->aversion);
        jute_write_long(w, st->ephemeral_owner);
        jute_write_int(w, st->data_length);
        jute_write_int(w, st->num_children);
        jute_write_long(w, st->pzxid);
}

bool rec_write_acl_list(struct syn_writer *w, const struct zk_acl_list *l)
{
        if (l->count < -1 || (l->count > 0 && l->items == NULL))
                return false;
        jute_write_int(w, l->count);
        for (int32_t i = 0; i < l->count; i++) {
                jute_write_int(w, l->items[i].perms);
                jute_write_buffer(w, l->items[i].id.scheme);
                jute_write_buffer(w, l->items[i].id.id);
        }
        return true;
}

bool rec_write_bytes_list(struct syn_writer *w, const struct zk_bytes_list *l)
{
        if (l->count < -1 || (l->count > 0 && l->items == NULL))
                return false;
        jute_write_int(w, l->count);
        for (int32_t i = 0; i < l->count; i++)
                jute_write_buffer(w, l->items[i]);
        return true;
}

bool rec_stat_equal(const struct zk_stat *a, const struct zk_stat *b)
{
        return a->czxid == b->czxid && a->mzxid == b->mzxid && a->ctime == b->ctime &&
               a->mtime == b->mtime && a->version == b->version && a->cversion == b->cversion &&
               a->aversion == b->aversion && a->ephemeral_owner == b->ephemeral_owner &&
               a->data_length == b->data_length && a->num_children == b->num_children &&
               a->pzxid == b->pzxid;
}

bool rec_acl_list_equal(const struct zk_acl_list *a, const struct zk_acl_list *b)
{
        if (a->count != b->count)
                return false;
        for (int32_t i = 0; i < a->count; i++) {
                const struct zk_acl *x = &a->items[i];
                const struct zk_acl *y = &b->items[i];
                if (x->perms != y->perms || !zk_bytes_equal(x->id.scheme, y->id.scheme) ||
                    !zk_bytes_equal(x->id.id, y->id.id))
                        return false;
        }
        return true;
}

bool rec_bytes_list_equal(const struct zk_bytes_list *a, const struct zk_bytes_list *b)
{
        if (a->count != b->count)
                return false;
        for (int32_t i = 0; i < a->count; i++) {
                if (!zk_bytes_equal(a->items[i], b->items[i]))
                        return false;
        }
        return true;
}
