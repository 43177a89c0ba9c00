/*
 * The tree's life cycle and its whole-tree reads: init with the system nodes,
 * close, session lookups, a session's ephemerals, the reap scan and the digest.
 *
 * Walks over the whole tree are iterative pre-order walks through the parent
 * and sibling links (no recursion, no stack: depth is unbounded), visiting
 * children in creation order, so their output is deterministic.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "tree/tree_int.h"

/* Adds a system node under parent, as ZooKeeper does at start-up: zxid 0, empty data,
 * OPEN_ACL_UNSAFE (READ_ACL_UNSAFE for /zookeeper/config, as in ZooKeeper 3.5.3+: only the
 * super user changes the membership), without counting a child create on the parent. */
static struct tree_node *tree_add_system(struct tree *t, struct tree_node *parent, const char *name,
                                         bool read_only)
{
        static const uint8_t empty[1];
        struct tree_node *n = tree_node_new(name, strlen(name), empty, 0);
        if (n == NULL || tree_index_reserve(t, 1) != SYN_OK) {
                tree_node_free(n);
                return NULL;
        }
        n->acl = read_only ? tree_acl_read_unsafe(t) : tree_acl_open_unsafe(t);
        if (n->acl == NULL) {
                tree_node_free(n);
                return NULL;
        }
        n->hash = tree_hash_child(parent->hash, name, strlen(name));
        tree_digest_remove_meta(t, parent);
        tree_link_child(parent, n);
        parent->num_children++;
        tree_index_insert(t, n);
        t->node_count++;
        char buf[64];
        int len = tree_node_path(n, buf, sizeof(buf));
        SYN_ASSERT(len > 0);
        t->data_bytes += (uint64_t)len;
        tree_digest_add_meta(t, parent);
        tree_digest_add(t, n);
        return n;
}

int tree_init(struct tree *t, const struct tree_options *opt)
{
        memset(t, 0, sizeof(*t));
        t->opt = *opt;
        session_table_init(&t->sessions);
        static const uint8_t empty[1];
        t->root = tree_node_new("", 0, empty, 0);
        if (t->root == NULL || tree_index_reserve(t, 1) != SYN_OK)
                goto nomem;
        t->root->hash = tree_hash_root();
        t->root->acl = tree_acl_open_unsafe(t);
        if (t->root->acl == NULL)
                goto nomem;
        tree_index_insert(t, t->root);
        t->node_count = 1;
        t->data_bytes = 1;
        tree_digest_add(t, t->root);
        struct tree_node *zk = tree_add_system(t, t->root, "zookeeper", false);
        if (zk == NULL || tree_add_system(t, zk, "quota", false) == NULL ||
            tree_add_system(t, zk, "config", true) == NULL)
                goto nomem;
        return SYN_OK;
nomem:
        if (t->root != NULL && t->root->acl == NULL) {
                tree_node_free(t->root);
                t->root = NULL;
        }
        tree_close(t);
        return SYN_ENOMEM;
}

void tree_close(struct tree *t)
{
        if (t->index_slots != NULL) {
                for (uint64_t i = 0; i < t->index_cap; i++)
                        tree_node_free(t->index_slots[i]);
        } else {
                tree_node_free(t->root);
        }
        free(t->index_slots);
        tree_acl_table_free(t);
        /* Sessions still point at (now freed) ephemeral lists: clear before closing. */
        for (uint32_t i = 0; i < t->sessions.cap; i++) {
                struct session *s = t->sessions.slots[i];
                if (s) {
                        s->ephemerals = NULL;
                        s->ephemeral_count = 0;
                }
        }
        session_table_close(&t->sessions);
        free(t->undo);
        memset(t, 0, sizeof(*t));
}

const struct session_table *tree_sessions(const struct tree *t)
{
        return &t->sessions;
}

const struct session *tree_session(const struct tree *t, uint64_t id)
{
        return session_table_find(&t->sessions, id);
}

uint64_t tree_digest(const struct tree *t)
{
        return t->digest ^ syn_mix64(t->session_digest + t->node_count);
}

uint64_t tree_digest_full(const struct tree *t)
{
        uint64_t sum = 0;
        for (uint64_t i = 0; i < t->index_cap; i++) {
                if (t->index_slots[i] != NULL)
                        sum += tree_node_digest(t->index_slots[i]);
        }
        return sum ^ syn_mix64(session_table_digest(&t->sessions) + t->node_count);
}

static int path_item_cmp(const void *a, const void *b)
{
        const struct tree_path *x = a, *y = b;
        int32_t n = x->path.len < y->path.len ? x->path.len : y->path.len;
        int r = memcmp(x->path.data, y->path.data, (size_t)n);
        if (r != 0)
                return r;
        return x->path.len < y->path.len ? -1 : x->path.len > y->path.len;
}

static bool has_prefix(const char *p, size_t len, const char *prefix, size_t plen)
{
        return plen <= len && memcmp(p, prefix, plen) == 0;
}

int32_t tree_session_ephemerals(const struct tree *t, uint64_t session_id, const char *prefix,
                                size_t plen, struct tree_paths *out, int32_t max)
{
        tree_paths_reset(out);
        const struct session *s = session_table_find(&t->sessions, session_id);
        if (s == NULL || max <= 0)
                return 0;
        if (plen == 1 && prefix[0] == '/')
                plen = 0;
        char *buf = malloc(ZK_PATH_BYTES_MAX + 16);
        if (buf == NULL)
                return SYN_ENOMEM;
        /* Collect every match, sort, then cut at max so the cut is deterministic. */
        for (const struct tree_node *n = s->ephemerals; n; n = n->u.eph.next) {
                int len = tree_node_path(n, buf, ZK_PATH_BYTES_MAX + 16);
                if (len < 0 || !has_prefix(buf, (size_t)len, prefix, plen))
                        continue;
                if (tree_paths_push(out, buf, (size_t)len, 0) != SYN_OK) {
                        free(buf);
                        tree_paths_reset(out);
                        return SYN_ENOMEM;
                }
        }
        free(buf);
        tree_paths_finish(out);
        qsort(out->items, (size_t)out->count, sizeof(*out->items), path_item_cmp);
        if (out->count > max)
                out->count = max;
        return out->count;
}

/* Next node in pre-order after n (children first, then siblings, then up). */
static const struct tree_node *preorder_next(const struct tree_node *n)
{
        const struct tree_node *c = tree_node_first_child(n);
        if (c != NULL)
                return c;
        while (n != NULL && n->next_sibling == NULL)
                n = n->parent;
        return n ? n->next_sibling : NULL;
}

int32_t tree_collect_reapable(const struct tree *t, int64_t now_ms, struct tree_paths *out,
                              int32_t max)
{
        tree_paths_reset(out);
        if (t->special_count == 0 || max <= 0)
                return 0;
        char *buf = malloc(ZK_PATH_BYTES_MAX + 16);
        if (buf == NULL)
                return SYN_ENOMEM;
        int rc = SYN_OK;
        for (const struct tree_node *n = t->root; n && out->count < max && rc == SYN_OK;
             n = preorder_next(n)) {
                if (n->owner == 0 || tree_owner_is_ephemeral(n->owner) || n->num_children > 0)
                        continue;
                int32_t reason = 0;
                if (tree_owner_is_container(n->owner) && n->child_creates > 0) {
                        reason = TXN_REAP_CONTAINER;
                } else if (tree_owner_is_ttl(n->owner)) {
                        int64_t ttl = (int64_t)(n->owner & ~ZK_OWNER_TTL_MASK);
                        if (ttl != 0 && now_ms - n->mtime > ttl)
                                reason = TXN_REAP_TTL;
                }
                if (reason == 0)
                        continue;
                int len = tree_node_path(n, buf, ZK_PATH_BYTES_MAX + 16);
                SYN_ASSERT(len > 0);
                rc = tree_paths_push(out, buf, (size_t)len, reason);
        }
        free(buf);
        if (rc != SYN_OK) {
                tree_paths_reset(out);
                return SYN_ENOMEM;
        }
        tree_paths_finish(out);
        return out->count;
}
