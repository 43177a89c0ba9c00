/*
 * Private declarations shared by the files of src/tree (not part of the
 * contract: include tree.h from outside).
 *
 * Internal functions return either a ZooKeeper code (0 .. -127: an answer for
 * the client) or a SYN_E* code (<= -1000: an operating error, only SYN_ENOMEM
 * here); tree_is_syn_err() tells them apart.
 */
#ifndef SYN_TREE_TREE_INT_H
#define SYN_TREE_TREE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/zk_types.h"
#include "tree/tree.h"

static inline bool tree_is_syn_err(int rc)
{
        return rc <= -1000;
}

/*
 * A znode: one allocation with its name at the end. Invariants: parent == NULL
 * only for the root; num_children equals the length of the children list; an
 * ephemeral node (owner is a session id) never has children, so its `u` holds
 * the links of its session's ephemeral list instead.
 */
struct tree_node {
        struct tree_node *parent;
        struct tree_node *next_sibling;
        struct tree_node *prev_sibling;
        union {
                struct {
                        struct tree_node *first;
                        struct tree_node *last;
                } children; /* not ephemeral */
                struct {
                        struct tree_node *prev;
                        struct tree_node *next;
                } eph; /* ephemeral: its session's list */
        } u;
        struct tree_acl_list *acl; /* interned, holds one reference */
        uint8_t *data;             /* owned; NULL when data_len <= 0 */
        uint64_t hash;             /* hierarchical hash of the full path (index key) */
        int64_t czxid;
        int64_t mzxid;
        int64_t ctime;
        int64_t mtime;
        int64_t pzxid;
        uint64_t owner;   /* session id, ZK_OWNER_CONTAINER, ZK_OWNER_TTL_MASK | ttl, or 0 */
        int32_t data_len; /* -1 = null data */
        int32_t version;
        int32_t aversion;
        int32_t child_creates; /* ZooKeeper's stored cversion: the sequence counter (wraps) */
        int32_t num_children;
        uint32_t name_len;
        char name[]; /* name_len bytes + NUL */
};

/* An interned ACL list; the entries' strings follow in the same allocation. */
struct tree_acl_list {
        uint64_t hash;
        uint32_t refs;
        uint32_t id; /* stable id, written in snapshots */
        int32_t count;
        struct zk_acl entries[];
};

enum tree_undo_kind { TREE_UNDO_CREATE, TREE_UNDO_DELETE, TREE_UNDO_SET_DATA };

struct tree_undo {
        enum tree_undo_kind kind;
        struct tree_node *node;
        struct tree_node *prev_sibling; /* DELETE: where to re-link */
        int64_t parent_pzxid;           /* CREATE/DELETE: the parent's before */
        int32_t parent_child_creates;   /* CREATE */
        uint8_t *old_data;              /* SET_DATA: restored on rollback, freed on commit */
        int32_t old_data_len;
        int32_t old_version;
        int64_t old_mzxid;
        int64_t old_mtime;
};

/* ---- node.c ---- */
bool tree_owner_is_ephemeral(uint64_t owner);
bool tree_owner_is_container(uint64_t owner);
bool tree_owner_is_ttl(uint64_t owner);
/* New unlinked node (name copied, data copied); NULL on ENOMEM. acl not referenced yet. */
struct tree_node *tree_node_new(const char *name, size_t name_len, const uint8_t *data,
                                int32_t data_len);
void tree_node_free(struct tree_node *n);
/* Hash of a child named name under a node whose hash is parent_hash. */
uint64_t tree_hash_child(uint64_t parent_hash, const char *name, size_t len);
uint64_t tree_hash_root(void);
/* Links n as the last child of parent (no counters touched). */
void tree_link_child(struct tree_node *parent, struct tree_node *n);
/* Links n after prev (NULL = first) under parent. */
void tree_link_after(struct tree_node *parent, struct tree_node *prev, struct tree_node *n);
void tree_unlink_child(struct tree_node *n);
/* This node's contribution to tree->digest: meta (path, Stat, ACL) + data terms. */
uint64_t tree_node_digest(const struct tree_node *n);
uint64_t tree_node_meta_digest(const struct tree_node *n);
uint64_t tree_node_data_digest(const struct tree_node *n);
/* Session ephemeral list. */
void tree_eph_add(struct session *s, struct tree_node *n);
void tree_eph_remove(struct session *s, struct tree_node *n);

/* ---- index.c ---- */
/* Makes room for `more` insertions without growing later. SYN_OK / SYN_ENOMEM. */
int tree_index_reserve(struct tree *t, uint64_t more);
/* Inserts n (its hash set; space reserved; path not present: asserted). */
void tree_index_insert(struct tree *t, struct tree_node *n);
void tree_index_remove(struct tree *t, struct tree_node *n);
/* Looks up a path, which must already be syntactically valid or the root. */
struct tree_node *tree_index_find(const struct tree *t, const char *path, size_t len);
/* Looks up the child `name` of parent through the index. */
struct tree_node *tree_index_find_child(const struct tree *t, const struct tree_node *parent,
                                        const char *name, size_t len);

/* ---- path.c ---- */
/* Length of the parent path of a valid non-root path ("/a" -> 1, "/a/b" -> 2). */
size_t tree_parent_len(const char *p, size_t len);

/* ---- acl.c ---- */
/*
 * ZooKeeper's fixupACL: de-duplicates in, validates each entry and expands `auth`
 * into the caller's identities. *out is a new array (free()) of *out_count entries
 * borrowing strings from in and auth. Returns ZOK, ZINVALIDACL or SYN_ENOMEM.
 */
int tree_acl_fixup(const struct zk_acl *in, int32_t count, const struct txn_auth *auth,
                   struct zk_acl **out, int32_t *out_count);
bool tree_acl_permits(const struct tree_acl_list *acl, int32_t perm, const struct txn_auth *auth);
/* Interns the list (new reference in *out). SYN_OK / SYN_ENOMEM. */
int tree_acl_intern(struct tree *t, const struct zk_acl *entries, int32_t count,
                    struct tree_acl_list **out);
/* Interns with a given id (snapshot load). */
int tree_acl_intern_id(struct tree *t, const struct zk_acl *entries, int32_t count, uint32_t id,
                       struct tree_acl_list **out);
void tree_acl_ref(struct tree_acl_list *l);
/* An unshared copy of l (refs 0, not interned; free() it), or NULL on ENOMEM. */
struct tree_acl_list *tree_acl_copy(const struct tree_acl_list *l);
void tree_acl_release(struct tree *t, struct tree_acl_list *l);
uint64_t tree_acl_hash(const struct zk_acl *entries, int32_t count);
void tree_acl_table_free(struct tree *t);
/* All interned lists sorted by id, new array (free()). SYN_OK / SYN_ENOMEM. */
int tree_acl_sorted(const struct tree *t, struct tree_acl_list ***out, uint64_t *count);
struct tree_acl_list *tree_acl_open_unsafe(struct tree *t);
/* world:anyone:r (READ_ACL_UNSAFE), interned; NULL on allocation failure. */
struct tree_acl_list *tree_acl_read_unsafe(struct tree *t);

/* ---- buffers (result.c) ---- */
int tree_result_push(struct tree_result *r, int32_t zk_op, struct tree_op_result **out);
/* Copies a string into r's arena and points op at it (resolved by tree_result_finish). */
int tree_result_set_path(struct tree_result *r, int32_t op_index, const char *p, size_t len);
void tree_result_finish(struct tree_result *r);
/* Appends an event about a node whose ACL is acl (copied: see struct tree_event). */
int tree_events_push(struct tree_events *e, int32_t type, const char *p, size_t len,
                     const struct tree_acl_list *acl);
void tree_events_truncate(struct tree_events *e, int32_t count);
void tree_events_finish(struct tree_events *e);
int tree_paths_push(struct tree_paths *l, const char *p, size_t len, int32_t reason);
void tree_paths_finish(struct tree_paths *l);

/* ---- apply.c / undo ---- */
int tree_undo_push(struct tree *t, const struct tree_undo *u);
void tree_undo_commit(struct tree *t);
void tree_undo_rollback(struct tree *t);
/* Removes a childless node from the tree (and its session list), recording undo;
 * fires NodeDeleted + NodeChildrenChanged. path is the node's full path. */
int tree_delete_node(struct tree *t, struct tree_node *n, const char *path, size_t len,
                     uint64_t zxid, struct tree_events *ev);
/* tree_digest() recomputed from scratch (tests and debug checks). O(nodes + sessions). */
uint64_t tree_digest_full(const struct tree *t);
/* Digest bookkeeping around a change of n. */
void tree_digest_remove(struct tree *t, const struct tree_node *n);
void tree_digest_add(struct tree *t, const struct tree_node *n);
/* The same for a change that leaves n's data alone (a parent's counters): O(1). */
void tree_digest_remove_meta(struct tree *t, const struct tree_node *n);
void tree_digest_add_meta(struct tree *t, const struct tree_node *n);

#endif
