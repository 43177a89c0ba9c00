/*
 * tree_check: a full consistency check of the tree's derived structures, for
 * tests and the simulator (after every step) and as a debug aid. O(nodes +
 * sessions); allocates nothing; only reads.
 *
 * It walks the tree in pre-order and checks every link against its mirror
 * (parent/child, sibling prev/next, the path index, the session ephemeral
 * lists), recounts every counter the tree keeps incrementally (node count,
 * children, ephemerals, special nodes, data size) and recomputes the digest.
 */
#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "tree/tree_int.h"

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        SYN_ERROR("tree_check: %s failed", #cond);                                 \
                        return SYN_ECORRUPT;                                                       \
                }                                                                                  \
        } while (0)

struct check_totals {
        uint64_t nodes, ephemerals, special, data_bytes;
};

static uint64_t check_path_len(const struct tree_node *n)
{
        uint64_t len = 0;
        for (; n->parent != NULL; n = n->parent)
                len += 1 + n->name_len;
        return len ? len : 1;
}

static int check_children(const struct tree *t, const struct tree_node *n)
{
        int32_t count = 0;
        const struct tree_node *prev = NULL;
        for (const struct tree_node *c = tree_node_first_child(n); c; c = c->next_sibling) {
                CHECK(c->parent == n);
                CHECK(c->prev_sibling == prev);
                CHECK(c->name_len > 0);
                CHECK(tree_index_find_child(t, n, c->name, c->name_len) == c);
                CHECK(c->hash == tree_hash_child(n->hash, c->name, c->name_len));
                prev = c;
                count++;
        }
        CHECK(count == n->num_children);
        if (!tree_owner_is_ephemeral(n->owner))
                CHECK(n->u.children.last == prev);
        return SYN_OK;
}

static int check_node(const struct tree *t, const struct tree_node *n, struct check_totals *tot)
{
        CHECK(n->acl != NULL);
        CHECK(n->acl->refs > 0);
        CHECK(n->data_len >= -1);
        CHECK((n->data != NULL) == (n->data_len > 0));
        if (tree_owner_is_ephemeral(n->owner)) {
                CHECK(n->num_children == 0);
                CHECK(session_table_find(&t->sessions, n->owner) != NULL);
                tot->ephemerals++;
        } else if (n->owner != 0) {
                tot->special++;
        }
        tot->nodes++;
        tot->data_bytes += check_path_len(n) + (uint64_t)(n->data_len > 0 ? n->data_len : 0);
        return check_children(t, n);
}

static int check_sessions(const struct tree *t)
{
        uint64_t total = 0;
        for (uint32_t i = 0; i < t->sessions.cap; i++) {
                const struct session *s = t->sessions.slots[i];
                if (s == NULL)
                        continue;
                uint32_t len = 0;
                const struct tree_node *prev = NULL;
                for (const struct tree_node *n = s->ephemerals; n; n = n->u.eph.next) {
                        CHECK(n->owner == s->id);
                        CHECK(n->u.eph.prev == prev);
                        CHECK(len < s->ephemeral_count);
                        prev = n;
                        len++;
                }
                CHECK(len == s->ephemeral_count);
                total += len;
        }
        CHECK(total == t->ephemeral_count);
        CHECK(session_table_digest(&t->sessions) == t->session_digest);
        return SYN_OK;
}

int tree_check(const struct tree *t)
{
        CHECK(t->root != NULL);
        CHECK(t->root->parent == NULL);
        CHECK(t->undo_count == 0);
        struct check_totals tot = {0};
        /* pre-order through the links themselves */
        const struct tree_node *n = t->root;
        while (n != NULL) {
                int rc = check_node(t, n, &tot);
                if (rc != SYN_OK)
                        return rc;
                CHECK(tot.nodes <= t->node_count);
                const struct tree_node *c = tree_node_first_child(n);
                if (c == NULL) {
                        while (n != NULL && n->next_sibling == NULL)
                                n = n->parent;
                        c = n ? n->next_sibling : NULL;
                }
                n = c;
        }
        CHECK(tot.nodes == t->node_count);
        CHECK(tot.ephemerals == t->ephemeral_count);
        CHECK(tot.special == t->special_count);
        CHECK(tot.data_bytes == t->data_bytes);
        uint64_t indexed = 0;
        for (uint64_t i = 0; i < t->index_cap; i++)
                indexed += t->index_slots[i] != NULL;
        CHECK(indexed == t->node_count);
        CHECK(tree_digest_full(t) == tree_digest(t));
        return check_sessions(t);
}
