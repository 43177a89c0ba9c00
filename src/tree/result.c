/*
 * The reusable output buffers of tree.h: results, events and path lists.
 *
 * Each holds an array of items and an arena of NUL-terminated strings. Items
 * record their string's offset while the arena may still move (realloc); the
 * *_finish functions turn offsets into pointers once the producer is done, so
 * the pointers stay valid until the next reset or close.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "tree/tree_int.h"

static int arena_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                        uint32_t *off)
{
        if (n > UINT32_MAX / 2 || *len > UINT32_MAX / 2)
                return SYN_ENOMEM;
        if (*len + n + 1 > *cap) {
                size_t c = *cap ? *cap : 256;
                while (c < *len + n + 1)
                        c *= 2;
                char *b = realloc(*buf, c);
                if (b == NULL)
                        return SYN_ENOMEM;
                *buf = b;
                *cap = c;
        }
        if (n > 0)
                memcpy(*buf + *len, p, n);
        (*buf)[*len + n] = '\0';
        *off = (uint32_t)*len;
        *len += n + 1;
        return SYN_OK;
}

static int grow_items(void **items, int32_t *cap, int32_t count, size_t size)
{
        if (count < *cap)
                return SYN_OK;
        int32_t c = *cap ? *cap * 2 : 8;
        void *v = realloc(*items, (size_t)c * size);
        if (v == NULL)
                return SYN_ENOMEM;
        *items = v;
        *cap = c;
        return SYN_OK;
}

void tree_result_init(struct tree_result *r)
{
        memset(r, 0, sizeof(*r));
        r->failed_index = -1;
}

void tree_result_reset(struct tree_result *r)
{
        r->err = ZOK;
        r->failed_index = -1;
        r->op_count = 0;
        r->str_len = 0;
}

void tree_result_close(struct tree_result *r)
{
        free(r->ops);
        free(r->strbuf);
        tree_result_init(r);
}

int tree_result_push(struct tree_result *r, int32_t zk_op, struct tree_op_result **out)
{
        if (grow_items((void **)&r->ops, &r->op_cap, r->op_count, sizeof(*r->ops)) != SYN_OK)
                return SYN_ENOMEM;
        struct tree_op_result *o = &r->ops[r->op_count++];
        memset(o, 0, sizeof(*o));
        o->zk_op = zk_op;
        o->path_off = UINT32_MAX;
        *out = o;
        return SYN_OK;
}

int tree_result_set_path(struct tree_result *r, int32_t op_index, const char *p, size_t len)
{
        SYN_ASSERT(op_index >= 0 && op_index < r->op_count);
        return arena_append(&r->strbuf, &r->str_len, &r->str_cap, p, len,
                            &r->ops[op_index].path_off);
}

void tree_result_finish(struct tree_result *r)
{
        for (int32_t i = 0; i < r->op_count; i++) {
                struct tree_op_result *o = &r->ops[i];
                if (o->path_off == UINT32_MAX) {
                        o->path = (struct zk_bytes){.data = NULL, .len = -1};
                        continue;
                }
                const char *s = r->strbuf + o->path_off;
                o->path = (struct zk_bytes){.data = (const uint8_t *)s, .len = (int32_t)strlen(s)};
        }
}

void tree_events_init(struct tree_events *e)
{
        memset(e, 0, sizeof(*e));
}

/* Frees the ACL copies of items[from..count). */
static void events_free_acls(struct tree_events *e, int32_t from)
{
        for (int32_t i = from; i < e->count; i++) {
                free(e->items[i].acl_copy);
                e->items[i].acl_copy = NULL;
        }
}

void tree_events_reset(struct tree_events *e)
{
        events_free_acls(e, 0);
        e->count = 0;
        e->str_len = 0;
}

void tree_events_close(struct tree_events *e)
{
        events_free_acls(e, 0);
        free(e->items);
        free(e->strbuf);
        tree_events_init(e);
}

int tree_events_push(struct tree_events *e, int32_t type, const char *p, size_t len,
                     const struct tree_acl_list *acl)
{
        SYN_ASSERT(acl != NULL);
        if (grow_items((void **)&e->items, &e->cap, e->count, sizeof(*e->items)) != SYN_OK)
                return SYN_ENOMEM;
        struct tree_event *ev = &e->items[e->count];
        memset(ev, 0, sizeof(*ev));
        ev->type = type;
        if (arena_append(&e->strbuf, &e->str_len, &e->str_cap, p, len, &ev->path_off) != SYN_OK)
                return SYN_ENOMEM;
        ev->acl_copy = tree_acl_copy(acl);
        if (ev->acl_copy == NULL)
                return SYN_ENOMEM;
        ev->acl = ev->acl_copy->entries;
        ev->acl_count = ev->acl_copy->count;
        ev->path.len = (int32_t)len;
        e->count++;
        return SYN_OK;
}

void tree_events_truncate(struct tree_events *e, int32_t count)
{
        SYN_ASSERT(count <= e->count);
        events_free_acls(e, count);
        e->count = count;
        e->str_len =
            count ? e->items[count - 1].path_off + (size_t)e->items[count - 1].path.len + 1 : 0;
}

void tree_events_finish(struct tree_events *e)
{
        for (int32_t i = 0; i < e->count; i++)
                e->items[i].path.data = (const uint8_t *)e->strbuf + e->items[i].path_off;
}

void tree_paths_init(struct tree_paths *l)
{
        memset(l, 0, sizeof(*l));
}

void tree_paths_reset(struct tree_paths *l)
{
        l->count = 0;
        l->str_len = 0;
}

void tree_paths_close(struct tree_paths *l)
{
        free(l->items);
        free(l->strbuf);
        tree_paths_init(l);
}

int tree_paths_push(struct tree_paths *l, const char *p, size_t len, int32_t reason)
{
        if (grow_items((void **)&l->items, &l->cap, l->count, sizeof(*l->items)) != SYN_OK)
                return SYN_ENOMEM;
        struct tree_path *it = &l->items[l->count];
        memset(it, 0, sizeof(*it));
        it->reason = reason;
        if (arena_append(&l->strbuf, &l->str_len, &l->str_cap, p, len, &it->path_off) != SYN_OK)
                return SYN_ENOMEM;
        it->path.len = (int32_t)len;
        l->count++;
        return SYN_OK;
}

void tree_paths_finish(struct tree_paths *l)
{
        for (int32_t i = 0; i < l->count; i++)
                l->items[i].path.data = (const uint8_t *)l->strbuf + l->items[i].path_off;
}
