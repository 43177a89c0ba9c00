/*
 * The path index: one open-addressing hash table of every node, keyed by the
 * node's hierarchical path hash (node.c). Linear probing with backward-shift
 * deletion (no tombstones), load kept under 3/4. A hit on the 64-bit hash is
 * confirmed by comparing the name chain, so collisions only cost time.
 *
 * Growth happens only in tree_index_reserve(), called before a txn mutates
 * anything: removing and re-inserting during a multi rollback never needs
 * memory.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "tree/tree_int.h"

#define TREE_INDEX_CAP_MIN 64

static uint64_t index_home(const struct tree *t, uint64_t hash)
{
        return syn_mix64(hash) & (t->index_cap - 1);
}

static void index_place(struct tree *t, struct tree_node *n)
{
        uint64_t mask = t->index_cap - 1;
        uint64_t i = index_home(t, n->hash);
        while (t->index_slots[i] != NULL)
                i = (i + 1) & mask;
        t->index_slots[i] = n;
}

int tree_index_reserve(struct tree *t, uint64_t more)
{
        uint64_t need = t->node_count + more;
        if (need * 4 <= t->index_cap * 3)
                return SYN_OK;
        uint64_t cap = t->index_cap ? t->index_cap : TREE_INDEX_CAP_MIN;
        while (need * 4 > cap * 3)
                cap *= 2;
        struct tree_node **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
                return SYN_ENOMEM;
        struct tree_node **old = t->index_slots;
        uint64_t old_cap = t->index_cap;
        t->index_slots = slots;
        t->index_cap = cap;
        for (uint64_t i = 0; i < old_cap; i++) {
                if (old[i] != NULL)
                        index_place(t, old[i]);
        }
        free(old);
        return SYN_OK;
}

void tree_index_insert(struct tree *t, struct tree_node *n)
{
        SYN_ASSERT((t->node_count + 1) * 4 <= t->index_cap * 3);
        index_place(t, n);
}

void tree_index_remove(struct tree *t, struct tree_node *n)
{
        uint64_t mask = t->index_cap - 1;
        uint64_t i = index_home(t, n->hash);
        while (t->index_slots[i] != n) {
                SYN_ASSERT(t->index_slots[i] != NULL);
                i = (i + 1) & mask;
        }
        t->index_slots[i] = NULL;
        for (uint64_t j = (i + 1) & mask; t->index_slots[j] != NULL; j = (j + 1) & mask) {
                uint64_t home = index_home(t, t->index_slots[j]->hash);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        t->index_slots[i] = t->index_slots[j];
                        t->index_slots[j] = NULL;
                        i = j;
                }
        }
}

/* True if n's full path is exactly path[0..len). */
static bool index_node_matches(const struct tree_node *n, const char *path, size_t len)
{
        size_t end = len;
        const struct tree_node *p = n;
        for (; p->parent != NULL; p = p->parent) {
                if (end < (size_t)p->name_len + 1)
                        return false;
                end -= p->name_len;
                if (memcmp(path + end, p->name, p->name_len) != 0)
                        return false;
                if (path[--end] != '/')
                        return false;
        }
        return end == 0;
}

struct tree_node *tree_index_find(const struct tree *t, const char *path, size_t len)
{
        if (len == 0 || path[0] != '/' || t->index_cap == 0)
                return NULL;
        if (len == 1)
                return t->root;
        uint64_t h = tree_hash_root();
        size_t start = 1;
        for (size_t i = 1; i <= len; i++) {
                if (i == len || path[i] == '/') {
                        if (i == start)
                                return NULL; /* empty component or trailing slash */
                        h = tree_hash_child(h, path + start, i - start);
                        start = i + 1;
                }
        }
        uint64_t mask = t->index_cap - 1;
        for (uint64_t i = index_home(t, h); t->index_slots[i] != NULL; i = (i + 1) & mask) {
                struct tree_node *n = t->index_slots[i];
                if (n->hash == h && index_node_matches(n, path, len))
                        return n;
        }
        return NULL;
}

struct tree_node *tree_index_find_child(const struct tree *t, const struct tree_node *parent,
                                        const char *name, size_t len)
{
        if (t->index_cap == 0)
                return NULL;
        uint64_t h = tree_hash_child(parent->hash, name, len);
        uint64_t mask = t->index_cap - 1;
        for (uint64_t i = index_home(t, h); t->index_slots[i] != NULL; i = (i + 1) & mask) {
                struct tree_node *n = t->index_slots[i];
                if (n->hash == h && n->parent == parent && n->name_len == len &&
                    memcmp(n->name, name, len) == 0)
                        return n;
        }
        return NULL;
}

const struct tree_node *tree_lookup(const struct tree *t, const char *path, size_t len)
{
        return tree_index_find(t, path, len);
}
