/*
 * The data tree: ZooKeeper's znodes as a pure, deterministic state machine.
 *
 * The tree holds the znodes (data, Stat, ACL, children, ephemeral owners,
 * sequence counters, container and TTL markers) and the replicated session
 * table. It changes only through tree_apply(), which applies one committed txn
 * (tree/txn.h) at one zxid and returns the ZooKeeper outcome plus the watch
 * events the change triggered. It does no I/O, reads no clock and uses no
 * randomness: the same txns give the same tree, the same tree_digest() and a
 * byte-identical snapshot on every server.
 *
 * Layout (see node.c, index.c): every node is one allocation holding its Stat
 * fields and its name; data is a second allocation. A single open-addressing
 * hash indexes nodes by full path (64-bit hash of the path, verified against
 * the name chain). Children hang off their parent in an intrusive list in
 * creation order, which is deterministic (it follows the log) and is the order
 * getChildren returns. ACL lists are interned and reference counted: most nodes
 * share OPEN_ACL_UNSAFE.
 *
 * Pointers handed out by the read functions (nodes, names, data, ACLs, session
 * records) are borrowed until the next tree_apply() or tree_close().
 *
 * Errors: tree_apply() returns a ZooKeeper code inside the result (ZNONODE is an
 * answer, not a failure); its own return value is SYN_OK or SYN_ENOMEM. An
 * out-of-memory apply leaves the tree consistent but behind the others: the
 * server must treat it as fatal for this replica.
 */
#ifndef SYN_TREE_TREE_H
#define SYN_TREE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/zk_types.h"
#include "session/session.h"
#include "tree/txn.h"

struct tree_node;     /* opaque; read through the accessors below */
struct tree_acl_list; /* opaque interned ACL list */
struct tree_undo;     /* private: multi rollback records */

struct tree_options {
        /* zookeeper.extendedTypesEnabled: TTL nodes allowed. When false a TTL create
         * answers ZUNIMPLEMENTED like ZooKeeper. */
        bool extended_types_enabled;
};

struct tree {
        struct tree_options opt;
        struct session_table sessions;
        struct tree_node *root;
        uint64_t last_zxid;      /* the zxid of the last applied txn (0 = none) */
        uint64_t digest;         /* sum of node digests (node.c), kept incrementally */
        uint64_t session_digest; /* sum of session_digest() of live sessions */
        uint64_t node_count;
        uint64_t data_bytes; /* sum of path + data lengths (ZooKeeper's approximate size) */
        uint64_t ephemeral_count;
        uint64_t special_count; /* containers + TTL nodes: reap scans skip when 0 */

        /* private: path index (open addressing, linear probing, backward-shift delete) */
        struct tree_node **index_slots;
        uint64_t index_cap; /* power of two */

        /* private: interned ACL lists */
        struct tree_acl_list **acl_slots;
        uint64_t acl_cap;
        uint64_t acl_count;
        uint32_t acl_next_id;

        /* private: undo log of the txn being applied */
        struct tree_undo *undo;
        uint32_t undo_count;
        uint32_t undo_cap;
};

/* ---- results and events (reusable buffers, owned by the caller) ---- */

struct tree_op_result {
        int32_t zk_op; /* the op's opcode (echo of txn_op.zk_op) */
        int32_t err;   /* ZOK or the ZooKeeper code for this op */
        /* create*: the created path incl. sequence suffix, NUL-terminated; else len -1 */
        struct zk_bytes path;
        /* when err == ZOK: create* (the new node), set_data / set_acl / check (the node) */
        struct zk_stat stat;
        uint32_t path_off; /* private */
};

struct tree_result {
        /*
         * The ReplyHeader err: the op's err for TXN_OP, ZOK for TXN_MULTI (even when an
         * op failed: ZooKeeper's multi always answers 0, see ops), ZOK or a code for the
         * session txns and REAP (ZNONODE / ZNOTEMPTY / ZBADARGUMENTS when not eligible).
         */
        int32_t err;
        int32_t failed_index; /* TXN_MULTI: the first failing op, or -1 */
        /* TXN_OP: one entry. TXN_MULTI: one per op; when one failed, ops before it have
         * err 0, it has its code, ops after it ZRUNTIMEINCONSISTENCY, and nothing changed. */
        struct tree_op_result *ops;
        int32_t op_count;
        int32_t op_cap; /* private */
        char *strbuf;   /* private: arena for paths */
        size_t str_len; /* private */
        size_t str_cap; /* private */
};

struct tree_event {
        int32_t type; /* ZK_EVENT_NODE_CREATED / DELETED / DATA_CHANGED / CHILDREN_CHANGED */
        struct zk_bytes path; /* NUL-terminated, borrowed from the events buffer */
        uint32_t path_off;    /* private */
        /*
         * The ACL of the node the event is about (the parent for
         * NodeChildrenChanged), as it was when the event was produced: for
         * NodeDeleted, the ACL the node had before deletion. A copy owned by
         * the events buffer (valid until its next reset/close), so it outlives
         * the node; persistent and recursive watch deliveries check READ on it
         * (CVE-2024-23944). acl_count 0 means an empty list (permits all).
         */
        const struct zk_acl *acl;
        int32_t acl_count;
        struct tree_acl_list *acl_copy; /* private: owns acl */
};

/* The events one apply triggered, in the order ZooKeeper fires them. */
struct tree_events {
        struct tree_event *items;
        int32_t count;
        int32_t cap;    /* private */
        char *strbuf;   /* private */
        size_t str_len; /* private */
        size_t str_cap; /* private */
};

/* A list of paths (ephemerals, reapable nodes), reusable like the above. */
struct tree_path {
        struct zk_bytes path; /* NUL-terminated, borrowed from the list */
        int32_t reason;       /* tree_collect_reapable: enum txn_reap_reason; else 0 */
        uint32_t path_off;    /* private */
};

struct tree_paths {
        struct tree_path *items;
        int32_t count;
        int32_t cap;    /* private */
        char *strbuf;   /* private */
        size_t str_len; /* private */
        size_t str_cap; /* private */
};

/* init: zero the struct (no allocation). reset: forget contents, keep memory. close: free. */
void tree_result_init(struct tree_result *r);
void tree_result_reset(struct tree_result *r);
void tree_result_close(struct tree_result *r);
void tree_events_init(struct tree_events *e);
void tree_events_reset(struct tree_events *e);
void tree_events_close(struct tree_events *e);
void tree_paths_init(struct tree_paths *p);
void tree_paths_reset(struct tree_paths *p);
void tree_paths_close(struct tree_paths *p);

/* ---- life cycle ---- */

/*
 * Creates the initial tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`
 * (zxid 0, time 0, world:anyone ALL), no sessions, last_zxid 0.
 * Returns SYN_OK or SYN_ENOMEM (then nothing to close).
 */
int tree_init(struct tree *t, const struct tree_options *opt);
/* Frees every node, ACL and session. */
void tree_close(struct tree *t);

/*
 * Applies one committed txn at zxid (> the previous zxid: asserted). Resets res and
 * ev, then fills them: res with the outcome (see struct tree_result), ev with the
 * watch events (NodeCreated / NodeDeleted / NodeDataChanged on the node,
 * NodeChildrenChanged on its parent) in order. A zxid is consumed even when the
 * outcome is an error. res and ev stay valid until their next reset/close; the
 * txn is only borrowed for the call.
 *
 * Returns SYN_OK, or SYN_ENOMEM (the tree is left as before this txn, except
 * last_zxid; the replica must stop: it can no longer follow the log).
 *
 * Checks, in ZooKeeper's order (docs/protocol-notes.md, "Create modes and
 * checks" and "ACLs"): for creates flags (-8) -> TTL validity (-6 when disabled,
 * -8) -> session (-112) -> path syntax (-8) -> ACL fixup (-114) -> parent exists
 * (-101) -> CREATE on parent (-102) -> sequence suffix -> exists (-110) -> parent
 * ephemeral (-108). delete: path (-8, also for the
 * system nodes) -> exists (-101) -> DELETE on parent (-102) -> version (-103) ->
 * children (-111). setData: path -> exists -> WRITE (-102) -> version. setACL: path
 * -> fixup (-114) -> exists -> ADMIN -> aversion. check: path -> exists -> READ (as
 * ZooKeeper's PrepRequestProcessor does) -> version. Every client op first checks
 * that its session (txn.session_id != 0) exists, else -112.
 */
int tree_apply(struct tree *t, const struct txn *txn, uint64_t zxid, struct tree_result *res,
               struct tree_events *ev);

/* ---- reads (no zxid; borrowed pointers valid until the next tree_apply/tree_close) ---- */

/* The node at path (len bytes, no NUL needed), or NULL (missing or not a valid path). */
const struct tree_node *tree_lookup(const struct tree *t, const char *path, size_t len);

/* The Stat as clients see it (containers/TTL report ephemeralOwner 0; cversion = child
 * creates + deletes). */
void tree_node_stat(const struct tree_node *n, struct zk_stat *out);
/* The node's data; len -1 if it was set to null, 0 if empty. */
struct zk_bytes tree_node_data(const struct tree_node *n);
/* The node's last path component ("" for the root). */
struct zk_bytes tree_node_name(const struct tree_node *n);
/* The stored owner field (session id, ZK_OWNER_CONTAINER, ZK_OWNER_TTL_MASK|ttl, or 0). */
uint64_t tree_node_owner(const struct tree_node *n);
int32_t tree_node_num_children(const struct tree_node *n);
/* The ACL list: *acl points at *count entries whose strings live in the tree. */
void tree_node_acl(const struct tree_node *n, const struct zk_acl **acl, int32_t *count);

/* Children in creation order: first child, then next sibling; NULL at the end. */
const struct tree_node *tree_node_first_child(const struct tree_node *n);
const struct tree_node *tree_node_next_sibling(const struct tree_node *n);
/* Fills names[0..max) with the children's names (creation order); returns how many. */
int32_t tree_children(const struct tree_node *n, struct zk_bytes *names, int32_t max);
/* Number of descendants, not counting n (getAllChildrenNumber). */
int64_t tree_count_descendants(const struct tree_node *n);

/*
 * Writes the node's full path, NUL-terminated, into buf (cap bytes). Returns its
 * length, or SYN_ETOOBIG if it does not fit (buf then holds nothing useful).
 */
int tree_node_path(const struct tree_node *n, char *buf, size_t cap);

/*
 * ZooKeeper's checkACL: true if auth may do `perm` (ZK_PERM_*) on n: super, an empty
 * ACL, world:anyone, or an entry with that perm whose scheme matches one of the ids
 * (digest: equal strings; ip: address with optional /bits prefix).
 */
bool tree_check_perm(const struct tree_node *n, int32_t perm, const struct txn_auth *auth);
/* The same check against a bare ACL list (e.g. tree_event.acl): acl borrowed for the call. */
bool tree_acl_check(const struct zk_acl *acl, int32_t count, int32_t perm,
                    const struct txn_auth *auth);

/* The table of live sessions (read-only; mutate only through txns). */
const struct session_table *tree_sessions(const struct tree *t);
const struct session *tree_session(const struct tree *t, uint64_t id);

/*
 * The full paths of session_id's ephemeral nodes that start with prefix (plen bytes;
 * "" or "/" = all), sorted bytewise, at most max. Resets out first.
 * Returns the count written, or SYN_ENOMEM.
 */
int32_t tree_session_ephemerals(const struct tree *t, uint64_t session_id, const char *prefix,
                                size_t plen, struct tree_paths *out, int32_t max);

/*
 * Lists (resetting out) up to max nodes that may be reaped at now_ms: containers that
 * had at least one child and have none, and childless TTL nodes with now_ms - mtime >
 * ttl. Reason in each item. Deterministic order (depth-first, creation order). The
 * leader proposes a TXN_REAP for each; apply re-checks eligibility at the txn's time.
 * Returns the count or SYN_ENOMEM.
 */
int32_t tree_collect_reapable(const struct tree *t, int64_t now_ms, struct tree_paths *out,
                              int32_t max);

static inline uint64_t tree_last_zxid(const struct tree *t)
{
        return t->last_zxid;
}
static inline uint64_t tree_node_count(const struct tree *t)
{
        return t->node_count;
}
static inline uint64_t tree_data_bytes(const struct tree *t)
{
        return t->data_bytes;
}
static inline uint64_t tree_ephemeral_count(const struct tree *t)
{
        return t->ephemeral_count;
}

/* A 64-bit digest of the whole replicated state (nodes with their stats, data and
 * ACLs, and sessions). Equal states give equal digests on every server. O(1). */
uint64_t tree_digest(const struct tree *t);

/*
 * Checks every derived structure against the nodes (links, index, children and
 * ephemeral counts, data size, digest recomputed from scratch). Returns SYN_OK or
 * SYN_ECORRUPT after logging the first broken invariant. O(nodes + sessions), no
 * allocation, read-only: for tests, the simulator and debugging.
 */
int tree_check(const struct tree *t);

/* ---- snapshots (tree_snap.c; format described there) ---- */

/*
 * Streams a snapshot of t (nodes, ACLs, sessions, last_zxid) to write(arg, p, n),
 * which returns 0 or a negative error that aborts the write and is returned.
 * Deterministic bytes; only reads t (usable from a forked child). Returns SYN_OK,
 * the callback's error, or SYN_ENOMEM.
 */
int tree_snap_write_cb(const struct tree *t, int (*write)(void *arg, const void *p, size_t n),
                       void *arg);
/* The same into a syn_writer (SYN_ENOMEM if the writer fails). */
int tree_snap_write(const struct tree *t, struct syn_writer *w);

/*
 * Builds a tree from snapshot bytes (hostile input: checked CRC, lengths, counts,
 * paths, references). On success *out is initialised (tree_close it) with opt's
 * options; its last_zxid is the snapshot's. Errors: SYN_ETRUNC, SYN_ECORRUPT,
 * SYN_ENOMEM; then *out needs no close.
 */
int tree_snap_read(const uint8_t *bytes, size_t len, const struct tree_options *opt,
                   struct tree *out);

/* Reads just the header: the snapshot's last zxid and node count. SYN_ETRUNC/SYN_ECORRUPT. */
int tree_snap_peek(const uint8_t *bytes, size_t len, uint64_t *last_zxid, uint64_t *node_count);

#endif
