/*
 * Znodes: allocation, the children list, the session ephemeral list, hashing,
 * per-node digests and the read accessors of tree.h.
 *
 * Hashes are computed from bytes read big-endian, so they are the same on every
 * server whatever its byte order. A node's path hash is hierarchical
 * (mix(parent hash, hash(name))), so a child's key is computed without building
 * its path; tree_index_find folds a path string the same way.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "tree/tree_int.h"

#define TREE_HASH_ROOT 0x2f2f2f2f5a4e4f44ull

bool tree_owner_is_container(uint64_t owner)
{
        return owner == ZK_OWNER_CONTAINER;
}

bool tree_owner_is_ttl(uint64_t owner)
{
        return (owner & ZK_OWNER_TTL_MASK) == ZK_OWNER_TTL_MASK;
}

bool tree_owner_is_ephemeral(uint64_t owner)
{
        return owner != 0 && !tree_owner_is_container(owner) && !tree_owner_is_ttl(owner);
}

uint64_t tree_hash_root(void)
{
        return TREE_HASH_ROOT;
}

uint64_t tree_hash_child(uint64_t parent_hash, const char *name, size_t len)
{
        return syn_mix64(parent_hash * 31 + syn_hash_bytes(0x6e616d65, (const uint8_t *)name, len));
}

struct tree_node *tree_node_new(const char *name, size_t name_len, const uint8_t *data,
                                int32_t data_len)
{
        struct tree_node *n = calloc(1, sizeof(*n) + name_len + 1);
        if (n == NULL)
                return NULL;
        if (data_len > 0) {
                n->data = malloc((size_t)data_len);
                if (n->data == NULL) {
                        free(n);
                        return NULL;
                }
                memcpy(n->data, data, (size_t)data_len);
        }
        n->data_len = data_len < 0 ? -1 : data_len;
        memcpy(n->name, name, name_len);
        n->name[name_len] = '\0';
        n->name_len = (uint32_t)name_len;
        return n;
}

void tree_node_free(struct tree_node *n)
{
        if (n == NULL)
                return;
        free(n->data);
        free(n);
}

void tree_link_after(struct tree_node *parent, struct tree_node *prev, struct tree_node *n)
{
        SYN_ASSERT(!tree_owner_is_ephemeral(parent->owner));
        n->parent = parent;
        n->prev_sibling = prev;
        n->next_sibling = prev ? prev->next_sibling : parent->u.children.first;
        if (n->next_sibling)
                n->next_sibling->prev_sibling = n;
        else
                parent->u.children.last = n;
        if (prev)
                prev->next_sibling = n;
        else
                parent->u.children.first = n;
}

void tree_link_child(struct tree_node *parent, struct tree_node *n)
{
        tree_link_after(parent, parent->u.children.last, n);
}

void tree_unlink_child(struct tree_node *n)
{
        struct tree_node *parent = n->parent;
        SYN_ASSERT(parent != NULL);
        if (n->prev_sibling)
                n->prev_sibling->next_sibling = n->next_sibling;
        else
                parent->u.children.first = n->next_sibling;
        if (n->next_sibling)
                n->next_sibling->prev_sibling = n->prev_sibling;
        else
                parent->u.children.last = n->prev_sibling;
        n->prev_sibling = NULL;
        n->next_sibling = NULL;
}

void tree_eph_add(struct session *s, struct tree_node *n)
{
        struct tree_node *head = s->ephemerals;
        n->u.eph.prev = NULL;
        n->u.eph.next = head;
        if (head)
                head->u.eph.prev = n;
        s->ephemerals = n;
        s->ephemeral_count++;
}

void tree_eph_remove(struct session *s, struct tree_node *n)
{
        SYN_ASSERT(s->ephemeral_count > 0);
        if (n->u.eph.prev)
                n->u.eph.prev->u.eph.next = n->u.eph.next;
        else
                s->ephemerals = n->u.eph.next;
        if (n->u.eph.next)
                n->u.eph.next->u.eph.prev = n->u.eph.prev;
        n->u.eph.prev = NULL;
        n->u.eph.next = NULL;
        s->ephemeral_count--;
}

/*
 * A node's digest is the sum of two terms so that the common update, a parent's
 * counters changing under a child create/delete, rehashes only the small one:
 * meta covers the path, Stat fields and ACL; data covers the path and the bytes.
 */
uint64_t tree_node_meta_digest(const struct tree_node *n)
{
        uint64_t h = syn_mix64(n->hash ^ 0x6469676573743031ull);
        const int64_t v64[] = {n->czxid, n->mzxid, n->ctime, n->mtime, n->pzxid, (int64_t)n->owner};
        for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++)
                h = syn_mix64(h ^ (uint64_t)v64[i]) + i;
        const int32_t v32[] = {n->data_len, n->version, n->aversion, n->child_creates,
                               n->num_children};
        for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++)
                h = syn_mix64(h ^ (uint64_t)(uint32_t)v32[i]) + i;
        if (n->acl)
                h = syn_mix64(h ^ n->acl->hash);
        return h;
}

uint64_t tree_node_data_digest(const struct tree_node *n)
{
        uint64_t seed = syn_mix64(n->hash ^ 0x6461746164617461ull);
        return syn_hash_bytes(seed, n->data, (size_t)(n->data_len > 0 ? n->data_len : 0));
}

uint64_t tree_node_digest(const struct tree_node *n)
{
        return tree_node_meta_digest(n) + tree_node_data_digest(n);
}

/* ---- read accessors (tree.h) ---- */

void tree_node_stat(const struct tree_node *n, struct zk_stat *out)
{
        memset(out, 0, sizeof(*out));
        out->czxid = n->czxid;
        out->mzxid = n->mzxid;
        out->ctime = n->ctime;
        out->mtime = n->mtime;
        out->version = n->version;
        /* Stored creates counted twice minus the children still present = creates + deletes. */
        out->cversion = (int32_t)((uint32_t)n->child_creates * 2u - (uint32_t)n->num_children);
        out->aversion = n->aversion;
        out->ephemeral_owner = tree_owner_is_ephemeral(n->owner) ? (int64_t)n->owner : 0;
        out->data_length = n->data_len > 0 ? n->data_len : 0;
        out->num_children = n->num_children;
        out->pzxid = n->pzxid;
}

struct zk_bytes tree_node_data(const struct tree_node *n)
{
        return (struct zk_bytes){.data = n->data, .len = n->data_len};
}

struct zk_bytes tree_node_name(const struct tree_node *n)
{
        return (struct zk_bytes){.data = (const uint8_t *)n->name, .len = (int32_t)n->name_len};
}

uint64_t tree_node_owner(const struct tree_node *n)
{
        return n->owner;
}

int32_t tree_node_num_children(const struct tree_node *n)
{
        return n->num_children;
}

void tree_node_acl(const struct tree_node *n, const struct zk_acl **acl, int32_t *count)
{
        *acl = n->acl->entries;
        *count = n->acl->count;
}

const struct tree_node *tree_node_first_child(const struct tree_node *n)
{
        if (tree_owner_is_ephemeral(n->owner))
                return NULL;
        return n->u.children.first;
}

const struct tree_node *tree_node_next_sibling(const struct tree_node *n)
{
        return n->next_sibling;
}

int32_t tree_children(const struct tree_node *n, struct zk_bytes *names, int32_t max)
{
        int32_t k = 0;
        for (const struct tree_node *c = tree_node_first_child(n); c && k < max;
             c = c->next_sibling)
                names[k++] = tree_node_name(c);
        return k;
}

int64_t tree_count_descendants(const struct tree_node *n)
{
        /* Iterative pre-order walk through parent links: no stack, any depth. */
        int64_t count = 0;
        const struct tree_node *c = tree_node_first_child(n);
        while (c != NULL) {
                count++;
                const struct tree_node *down = tree_node_first_child(c);
                if (down != NULL) {
                        c = down;
                        continue;
                }
                while (c != n && c->next_sibling == NULL)
                        c = c->parent;
                c = c == n ? NULL : c->next_sibling;
        }
        return count;
}

int tree_node_path(const struct tree_node *n, char *buf, size_t cap)
{
        if (n->parent == NULL) {
                if (cap < 2)
                        return SYN_ETOOBIG;
                buf[0] = '/';
                buf[1] = '\0';
                return 1;
        }
        size_t len = 0;
        for (const struct tree_node *p = n; p->parent != NULL; p = p->parent)
                len += 1 + p->name_len;
        if (len + 1 > cap || len > INT32_MAX)
                return SYN_ETOOBIG;
        buf[len] = '\0';
        size_t end = len;
        for (const struct tree_node *p = n; p->parent != NULL; p = p->parent) {
                end -= p->name_len;
                memcpy(buf + end, p->name, p->name_len);
                buf[--end] = '/';
        }
        SYN_ASSERT(end == 0);
        return (int)len;
}
