/*
 * tree_apply: one committed txn -> the new tree, a ZooKeeper result and the
 * watch events.
 *
 * Every op first runs all of ZooKeeper's checks in ZooKeeper's order without
 * touching the tree, then makes every allocation it needs (index room, events,
 * result path, node, ACL, undo record), and only then mutates, which cannot
 * fail. Each mutation appends an undo record; at the end of the txn the log is
 * either committed (deleted nodes and replaced data are freed) or rolled back
 * in reverse order (a failed multi, or out of memory). Rolling back re-links
 * nodes where they were, so sibling order and the digest come back exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/zk_path.h"
#include "tree/tree_int.h"

struct apply_ctx {
        struct tree *t;
        const struct txn *txn;
        uint64_t zxid;
        struct tree_result *res;
        struct tree_events *ev;
};

void tree_digest_remove(struct tree *t, const struct tree_node *n)
{
        t->digest -= tree_node_digest(n);
}

void tree_digest_add(struct tree *t, const struct tree_node *n)
{
        t->digest += tree_node_digest(n);
}

void tree_digest_remove_meta(struct tree *t, const struct tree_node *n)
{
        t->digest -= tree_node_meta_digest(n);
}

void tree_digest_add_meta(struct tree *t, const struct tree_node *n)
{
        t->digest += tree_node_meta_digest(n);
}

static size_t node_path_len(const struct tree_node *n)
{
        size_t len = 0;
        for (; n->parent != NULL; n = n->parent)
                len += 1 + n->name_len;
        return len ? len : 1;
}

static uint64_t node_size(const struct tree_node *n, size_t path_len)
{
        return path_len + (uint64_t)(n->data_len > 0 ? n->data_len : 0);
}

/* ---- undo log ---- */

int tree_undo_push(struct tree *t, const struct tree_undo *u)
{
        if (t->undo_count == t->undo_cap) {
                uint32_t cap = t->undo_cap ? t->undo_cap * 2 : 16;
                struct tree_undo *v = realloc(t->undo, sizeof(*v) * cap);
                if (v == NULL)
                        return SYN_ENOMEM;
                t->undo = v;
                t->undo_cap = cap;
        }
        t->undo[t->undo_count++] = *u;
        return SYN_OK;
}

void tree_undo_commit(struct tree *t)
{
        for (uint32_t i = 0; i < t->undo_count; i++) {
                struct tree_undo *u = &t->undo[i];
                if (u->kind == TREE_UNDO_DELETE) {
                        tree_acl_release(t, u->node->acl);
                        tree_node_free(u->node);
                } else if (u->kind == TREE_UNDO_SET_DATA) {
                        free(u->old_data);
                }
        }
        t->undo_count = 0;
}

static void node_attach(struct tree *t, struct tree_node *n, size_t path_len)
{
        tree_index_insert(t, n);
        t->node_count++;
        t->data_bytes += node_size(n, path_len);
        if (tree_owner_is_ephemeral(n->owner)) {
                struct session *s = session_table_find(&t->sessions, n->owner);
                SYN_ASSERT(s != NULL);
                tree_eph_add(s, n);
                t->ephemeral_count++;
        } else if (n->owner != 0) {
                t->special_count++;
        }
}

static void node_detach(struct tree *t, struct tree_node *n, size_t path_len)
{
        tree_index_remove(t, n);
        t->node_count--;
        t->data_bytes -= node_size(n, path_len);
        if (tree_owner_is_ephemeral(n->owner)) {
                struct session *s = session_table_find(&t->sessions, n->owner);
                SYN_ASSERT(s != NULL);
                tree_eph_remove(s, n);
                t->ephemeral_count--;
        } else if (n->owner != 0) {
                t->special_count--;
        }
}

static void undo_one(struct tree *t, const struct tree_undo *u)
{
        struct tree_node *n = u->node;
        struct tree_node *parent = n->parent;
        switch (u->kind) {
        case TREE_UNDO_CREATE:
                tree_digest_remove(t, n);
                tree_digest_remove_meta(t, parent);
                node_detach(t, n, node_path_len(n));
                tree_unlink_child(n);
                parent->num_children--;
                parent->child_creates = u->parent_child_creates;
                parent->pzxid = u->parent_pzxid;
                tree_digest_add_meta(t, parent);
                tree_acl_release(t, n->acl);
                tree_node_free(n);
                break;
        case TREE_UNDO_DELETE:
                tree_digest_remove_meta(t, parent);
                tree_link_after(parent, u->prev_sibling, n);
                node_attach(t, n, node_path_len(n));
                parent->num_children++;
                parent->pzxid = u->parent_pzxid;
                tree_digest_add_meta(t, parent);
                tree_digest_add(t, n);
                break;
        case TREE_UNDO_SET_DATA:
                tree_digest_remove(t, n);
                t->data_bytes -= (uint64_t)(n->data_len > 0 ? n->data_len : 0);
                free(n->data);
                n->data = u->old_data;
                n->data_len = u->old_data_len;
                n->version = u->old_version;
                n->mzxid = u->old_mzxid;
                n->mtime = u->old_mtime;
                t->data_bytes += (uint64_t)(n->data_len > 0 ? n->data_len : 0);
                tree_digest_add(t, n);
                break;
        }
}

void tree_undo_rollback(struct tree *t)
{
        while (t->undo_count > 0)
                undo_one(t, &t->undo[--t->undo_count]);
}

/* ---- shared pieces ---- */

static int session_check(const struct apply_ctx *c)
{
        if (c->txn->session_id != 0 &&
            session_table_find(&c->t->sessions, c->txn->session_id) == NULL)
                return ZSESSIONEXPIRED;
        return ZOK;
}

/* The event on the node (whose ACL is acl) and NodeChildrenChanged on its parent. */
static int push_change_events(struct tree_events *ev, int32_t type, const char *path, size_t len,
                              const struct tree_acl_list *acl, const struct tree_node *parent)
{
        if (tree_events_push(ev, type, path, len, acl) != SYN_OK)
                return SYN_ENOMEM;
        size_t plen = tree_parent_len(path, len);
        if (tree_events_push(ev, ZK_EVENT_NODE_CHILDREN_CHANGED, path, plen, parent->acl) != SYN_OK)
                return SYN_ENOMEM;
        return ZOK;
}

static bool is_system_path(const char *p, size_t len)
{
        static const char *const sys[] = {"/", "/zookeeper", "/zookeeper/quota",
                                          "/zookeeper/config"};
        for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
                if (strlen(sys[i]) == len && memcmp(sys[i], p, len) == 0)
                        return true;
        }
        return false;
}

int tree_delete_node(struct tree *t, struct tree_node *n, const char *path, size_t len,
                     uint64_t zxid, struct tree_events *ev)
{
        SYN_ASSERT(n->parent != NULL);
        SYN_ASSERT(n->num_children == 0);
        if (push_change_events(ev, ZK_EVENT_NODE_DELETED, path, len, n->acl, n->parent) != ZOK)
                return SYN_ENOMEM;
        struct tree_node *parent = n->parent;
        struct tree_undo u = {.kind = TREE_UNDO_DELETE,
                              .node = n,
                              .prev_sibling = n->prev_sibling,
                              .parent_pzxid = parent->pzxid};
        if (tree_undo_push(t, &u) != SYN_OK)
                return SYN_ENOMEM;
        tree_digest_remove(t, n);
        tree_digest_remove_meta(t, parent);
        node_detach(t, n, len);
        tree_unlink_child(n);
        parent->num_children--;
        if ((int64_t)zxid > parent->pzxid)
                parent->pzxid = (int64_t)zxid;
        tree_digest_add_meta(t, parent);
        return ZOK;
}

/* Data within the limit, and present when it claims bytes. */
static bool data_ok(struct zk_bytes d)
{
        return d.len <= TREE_DATA_BYTES_MAX && (d.len <= 0 || d.data != NULL);
}

static int op_path(const struct txn_op *op, const char **p, size_t *len)
{
        if (op->path.len < 0 || op->path.data == NULL)
                return ZBADARGUMENTS;
        *p = (const char *)op->path.data;
        *len = (size_t)op->path.len;
        return ZOK;
}

/* ---- create ---- */

/* flags -> TTL validity -> session (ZooKeeper's validateCreateRequest). */
static int create_check_mode(const struct apply_ctx *c, const struct txn_op *op, uint64_t *owner)
{
        int32_t flags = op->flags;
        if (flags < ZK_CREATE_PERSISTENT || flags > ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL)
                return ZBADARGUMENTS;
        if (op->zk_op == ZK_OP_CREATE_CONTAINER && flags != ZK_CREATE_CONTAINER)
                return ZBADARGUMENTS;
        bool ttl_mode = flags == ZK_CREATE_PERSISTENT_WITH_TTL ||
                        flags == ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
        int64_t ttl = op->zk_op == ZK_OP_CREATE_TTL ? op->ttl_ms : -1;
        if (ttl_mode && !c->t->opt.extended_types_enabled)
                return ZUNIMPLEMENTED;
        if (ttl_mode ? (ttl <= 0 || (uint64_t)ttl > ZK_TTL_MAX_MS) : ttl >= 0)
                return ZBADARGUMENTS;
        int rc = session_check(c);
        if (rc != ZOK)
                return rc;
        *owner = 0;
        if (flags == ZK_CREATE_EPHEMERAL || flags == ZK_CREATE_EPHEMERAL_SEQUENTIAL) {
                if (c->txn->session_id == 0)
                        return ZSESSIONEXPIRED; /* an ephemeral needs an owner */
                *owner = c->txn->session_id;
        } else if (flags == ZK_CREATE_CONTAINER) {
                *owner = ZK_OWNER_CONTAINER;
        } else if (ttl_mode) {
                *owner = ZK_OWNER_TTL_MASK | (uint64_t)ttl;
        }
        return ZOK;
}

static bool create_sequential(int32_t flags)
{
        return flags == ZK_CREATE_PERSISTENT_SEQUENTIAL ||
               flags == ZK_CREATE_EPHEMERAL_SEQUENTIAL ||
               flags == ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/* The checks after the ACL fixup: parent, permission, final name, existence. */
static int create_locate(const struct apply_ctx *c, const struct txn_op *op, char *final,
                         size_t *final_len, struct tree_node **parent_out)
{
        const char *path = (const char *)op->path.data;
        size_t len = (size_t)op->path.len;
        bool seq = create_sequential(op->flags);
        size_t plen = tree_parent_len(path, len);
        struct tree_node *parent = tree_index_find(c->t, path, plen);
        if (parent == NULL)
                return ZNONODE;
        if (!tree_acl_permits(parent->acl, ZK_PERM_CREATE, &c->txn->auth))
                return ZNOAUTH;
        memcpy(final, path, len);
        if (seq)
                len += (size_t)snprintf(final + len, 16, "%010d", parent->child_creates);
        final[len] = '\0';
        *final_len = len;
        if (len > ZK_PATH_BYTES_MAX) /* the suffix pushed it over: snapshots could not hold it */
                return ZBADARGUMENTS;
        if (len == 1) /* create "/" */
                return ZNODEEXISTS;
        size_t name_off = plen == 1 ? 1 : plen + 1;
        if (tree_index_find_child(c->t, parent, final + name_off, len - name_off) != NULL)
                return ZNODEEXISTS;
        if (tree_owner_is_ephemeral(parent->owner))
                return ZNOCHILDRENFOREPHEMERALS;
        *parent_out = parent;
        return ZOK;
}

static void create_link(struct apply_ctx *c, struct tree_node *parent, struct tree_node *n,
                        size_t path_len)
{
        struct tree *t = c->t;
        tree_digest_remove_meta(t, parent);
        parent->child_creates = (int32_t)((uint32_t)parent->child_creates + 1u);
        parent->num_children++;
        parent->pzxid = (int64_t)c->zxid;
        tree_link_child(parent, n);
        node_attach(t, n, path_len);
        tree_digest_add_meta(t, parent);
        tree_digest_add(t, n);
}

static int create_make(struct apply_ctx *c, const struct txn_op *op, int32_t idx,
                       struct tree_node *parent, const char *final, size_t len, uint64_t owner,
                       struct tree_acl_list *acl)
{
        struct tree *t = c->t;
        size_t name_off = tree_parent_len(final, len) == 1 ? 1 : tree_parent_len(final, len) + 1;
        if (tree_index_reserve(t, 1) != SYN_OK ||
            push_change_events(c->ev, ZK_EVENT_NODE_CREATED, final, len, acl, parent) != ZOK ||
            tree_result_set_path(c->res, idx, final, len) != SYN_OK)
                return SYN_ENOMEM;
        struct tree_node *n =
            tree_node_new(final + name_off, len - name_off, op->data.data, op->data.len);
        if (n == NULL)
                return SYN_ENOMEM;
        struct tree_undo u = {.kind = TREE_UNDO_CREATE,
                              .node = n,
                              .parent_pzxid = parent->pzxid,
                              .parent_child_creates = parent->child_creates};
        if (tree_undo_push(t, &u) != SYN_OK) {
                tree_node_free(n);
                return SYN_ENOMEM;
        }
        n->hash = tree_hash_child(parent->hash, n->name, n->name_len);
        n->acl = acl;
        n->czxid = n->mzxid = n->pzxid = (int64_t)c->zxid;
        n->ctime = n->mtime = c->txn->time_ms;
        n->owner = owner;
        create_link(c, parent, n, len);
        tree_node_stat(n, &c->res->ops[idx].stat);
        return ZOK;
}

static int op_create(struct apply_ctx *c, const struct txn_op *op, int32_t idx)
{
        uint64_t owner;
        const char *path;
        size_t len;
        int rc = create_check_mode(c, op, &owner);
        if (rc == ZOK)
                rc = op_path(op, &path, &len);
        if (rc == ZOK)
                rc = zk_path_validate((const uint8_t *)path, len, create_sequential(op->flags));
        if (rc == ZOK && !data_ok(op->data))
                rc = ZBADARGUMENTS;
        if (rc != ZOK)
                return rc;
        struct zk_acl *fixed;
        int32_t nfixed;
        rc = tree_acl_fixup(op->acl, op->acl_count, &c->txn->auth, &fixed, &nfixed);
        if (rc != ZOK)
                return rc;
        char *final = malloc(len + 16);
        struct tree_node *parent = NULL;
        size_t flen = 0;
        struct tree_acl_list *acl = NULL;
        if (final == NULL)
                rc = SYN_ENOMEM;
        if (rc == ZOK)
                rc = create_locate(c, op, final, &flen, &parent);
        if (rc == ZOK && tree_acl_intern(c->t, fixed, nfixed, &acl) != SYN_OK)
                rc = SYN_ENOMEM;
        if (rc == ZOK) {
                rc = create_make(c, op, idx, parent, final, flen, owner, acl);
                if (rc != ZOK)
                        tree_acl_release(c->t, acl);
        }
        free(final);
        free(fixed);
        return rc;
}

/* ---- delete, setData, setACL, check ---- */

static int check_version(int32_t current, int32_t expected)
{
        return expected == -1 || expected == current ? ZOK : ZBADVERSION;
}

/*
 * The node a setData or check is about, once the checks both make hold: the
 * session is live, the path is valid and exists (ZNONODE), the caller holds perm
 * on the node (ZNOAUTH) and its data version is the one op expects (ZBADVERSION).
 */
static int lookup_versioned_node(const struct apply_ctx *c, const struct txn_op *op, int32_t perm,
                                 const char **path, size_t *len, struct tree_node **out)
{
        int rc = session_check(c);
        if (rc == ZOK)
                rc = op_path(op, path, len);
        if (rc == ZOK)
                rc = zk_path_validate((const uint8_t *)*path, *len, false);
        if (rc != ZOK)
                return rc;
        *out = tree_index_find(c->t, *path, *len);
        if (*out == NULL)
                return ZNONODE;
        if (!tree_acl_permits((*out)->acl, perm, &c->txn->auth))
                return ZNOAUTH;
        return check_version((*out)->version, op->version);
}

static int op_delete(struct apply_ctx *c, const struct txn_op *op)
{
        const char *path;
        size_t len;
        struct tree_node *n;
        int rc = session_check(c);
        if (rc == ZOK)
                rc = op_path(op, &path, &len);
        if (rc == ZOK)
                rc = zk_path_validate((const uint8_t *)path, len, false);
        if (rc == ZOK && is_system_path(path, len))
                rc = ZBADARGUMENTS;
        if (rc != ZOK)
                return rc;
        n = tree_index_find(c->t, path, len);
        if (n == NULL)
                return ZNONODE;
        if (!tree_acl_permits(n->parent->acl, ZK_PERM_DELETE, &c->txn->auth))
                return ZNOAUTH;
        rc = check_version(n->version, op->version);
        if (rc != ZOK)
                return rc;
        if (n->num_children > 0)
                return ZNOTEMPTY;
        return tree_delete_node(c->t, n, path, len, c->zxid, c->ev);
}

static int op_set_data(struct apply_ctx *c, const struct txn_op *op, int32_t idx)
{
        const char *path;
        size_t len;
        struct tree_node *n;
        int rc = lookup_versioned_node(c, op, ZK_PERM_WRITE, &path, &len, &n);
        if (rc != ZOK)
                return rc;
        if (!data_ok(op->data))
                return ZBADARGUMENTS;
        uint8_t *data = NULL;
        int32_t dlen = op->data.len < 0 ? -1 : op->data.len;
        if (dlen > 0 && (data = malloc((size_t)dlen)) == NULL)
                return SYN_ENOMEM;
        struct tree_undo u = {.kind = TREE_UNDO_SET_DATA,
                              .node = n,
                              .old_data = n->data,
                              .old_data_len = n->data_len,
                              .old_version = n->version,
                              .old_mzxid = n->mzxid,
                              .old_mtime = n->mtime};
        if (tree_events_push(c->ev, ZK_EVENT_NODE_DATA_CHANGED, path, len, n->acl) != SYN_OK ||
            tree_undo_push(c->t, &u) != SYN_OK) {
                free(data);
                return SYN_ENOMEM;
        }
        if (dlen > 0)
                memcpy(data, op->data.data, (size_t)dlen);
        tree_digest_remove(c->t, n);
        c->t->data_bytes -= (uint64_t)(n->data_len > 0 ? n->data_len : 0);
        n->data = data;
        n->data_len = dlen;
        n->version = (int32_t)((uint32_t)n->version + 1u);
        n->mzxid = (int64_t)c->zxid;
        n->mtime = c->txn->time_ms;
        c->t->data_bytes += (uint64_t)(dlen > 0 ? dlen : 0);
        tree_digest_add(c->t, n);
        tree_node_stat(n, &c->res->ops[idx].stat);
        return ZOK;
}

static int op_set_acl(struct apply_ctx *c, const struct txn_op *op, int32_t idx)
{
        const char *path;
        size_t len;
        struct tree_node *n;
        int rc = session_check(c);
        if (rc == ZOK)
                rc = op_path(op, &path, &len);
        if (rc == ZOK)
                rc = zk_path_validate((const uint8_t *)path, len, false);
        if (rc != ZOK)
                return rc;
        struct zk_acl *fixed;
        int32_t nfixed;
        rc = tree_acl_fixup(op->acl, op->acl_count, &c->txn->auth, &fixed, &nfixed);
        if (rc != ZOK)
                return rc;
        n = tree_index_find(c->t, path, len);
        struct tree_acl_list *acl = NULL;
        if (n == NULL)
                rc = ZNONODE;
        else if (!tree_acl_permits(n->acl, ZK_PERM_ADMIN, &c->txn->auth))
                rc = ZNOAUTH;
        else
                rc = check_version(n->aversion, op->version);
        if (rc == ZOK && tree_acl_intern(c->t, fixed, nfixed, &acl) != SYN_OK)
                rc = SYN_ENOMEM;
        free(fixed);
        if (rc != ZOK)
                return rc;
        /* Not allowed in a multi, so this is the txn's last change: no undo needed. */
        tree_digest_remove(c->t, n);
        tree_acl_release(c->t, n->acl);
        n->acl = acl;
        n->aversion = (int32_t)((uint32_t)n->aversion + 1u);
        tree_digest_add(c->t, n);
        tree_node_stat(n, &c->res->ops[idx].stat);
        return ZOK;
}

static int op_check(struct apply_ctx *c, const struct txn_op *op, int32_t idx)
{
        const char *path;
        size_t len;
        struct tree_node *n;
        /* ZooKeeper checks READ for check (PrepRequestProcessor), not WRITE. */
        int rc = lookup_versioned_node(c, op, ZK_PERM_READ, &path, &len, &n);
        if (rc == ZOK)
                tree_node_stat(n, &c->res->ops[idx].stat);
        return rc;
}

static int apply_one(struct apply_ctx *c, const struct txn_op *op, int32_t idx, bool in_multi)
{
        switch (op->zk_op) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return op_create(c, op, idx);
        case ZK_OP_DELETE:
                return op_delete(c, op);
        case ZK_OP_SET_DATA:
                return op_set_data(c, op, idx);
        case ZK_OP_CHECK:
                return op_check(c, op, idx);
        case ZK_OP_SET_ACL:
                return in_multi ? ZBADARGUMENTS : op_set_acl(c, op, idx);
        default:
                return ZUNIMPLEMENTED;
        }
}

/* ---- txn types ---- */

static int apply_single(struct apply_ctx *c)
{
        struct tree_op_result *r;
        if (tree_result_push(c->res, c->txn->op.zk_op, &r) != SYN_OK)
                return SYN_ENOMEM;
        int rc = apply_one(c, &c->txn->op, 0, false);
        if (tree_is_syn_err(rc))
                return rc;
        if (rc != ZOK) {
                tree_undo_rollback(c->t);
                tree_events_truncate(c->ev, 0);
                c->res->ops[0].path_off = UINT32_MAX;
        }
        c->res->ops[0].err = rc;
        c->res->err = rc;
        return SYN_OK;
}

static int apply_multi(struct apply_ctx *c)
{
        const struct txn *txn = c->txn;
        for (int32_t i = 0; i < txn->op_count; i++) {
                struct tree_op_result *r;
                if (tree_result_push(c->res, txn->ops[i].zk_op, &r) != SYN_OK)
                        return SYN_ENOMEM;
        }
        int rc = ZOK;
        int32_t failed = -1;
        for (int32_t i = 0; i < txn->op_count && failed < 0; i++) {
                rc = apply_one(c, &txn->ops[i], i, true);
                if (tree_is_syn_err(rc))
                        return rc;
                if (rc != ZOK)
                        failed = i;
        }
        c->res->err = ZOK;
        if (failed < 0)
                return SYN_OK;
        tree_undo_rollback(c->t);
        tree_events_truncate(c->ev, 0);
        c->res->failed_index = failed;
        for (int32_t i = 0; i < txn->op_count; i++) {
                struct tree_op_result *r = &c->res->ops[i];
                r->err = i < failed ? ZOK : i == failed ? rc : ZRUNTIMEINCONSISTENCY;
                r->path_off = UINT32_MAX;
                memset(&r->stat, 0, sizeof(r->stat));
        }
        return SYN_OK;
}

/* ---- sessions ---- */

static int apply_create_session(struct apply_ctx *c)
{
        const struct txn *txn = c->txn;
        struct session *s = NULL;
        int rc = session_table_add(&c->t->sessions, txn->session.id, txn->session.passwd,
                                   txn->session.timeout_ms, &s);
        if (rc == SYN_ENOMEM)
                return rc;
        if (rc == SYN_OK)
                c->t->session_digest += session_digest(s);
        c->res->err = rc == SYN_OK       ? ZOK
                      : rc == SYN_EEXIST ? ZRUNTIMEINCONSISTENCY
                      : rc == SYN_ELIMIT ? ZTHROTTLED
                                         : ZBADARGUMENTS;
        return SYN_OK;
}

struct eph_item {
        struct tree_node *node;
        uint32_t off;
        uint32_t len;
        const char *base;
};

static int eph_cmp(const void *a, const void *b)
{
        const struct eph_item *x = a, *y = b;
        size_t n = x->len < y->len ? x->len : y->len;
        int r = memcmp(x->base + x->off, y->base + y->off, n);
        if (r != 0)
                return r;
        return x->len < y->len ? -1 : x->len > y->len;
}

/* The session's ephemerals with their paths, sorted by path. Caller frees *items and *buf. */
static int eph_collect(const struct session *s, struct eph_item **items, char **buf)
{
        size_t total = 0;
        for (struct tree_node *n = s->ephemerals; n; n = n->u.eph.next)
                total += node_path_len(n) + 1;
        *items = malloc(sizeof(**items) * (s->ephemeral_count ? s->ephemeral_count : 1));
        *buf = malloc(total ? total : 1);
        if (*items == NULL || *buf == NULL)
                return SYN_ENOMEM;
        size_t off = 0;
        uint32_t k = 0;
        for (struct tree_node *n = s->ephemerals; n; n = n->u.eph.next) {
                int len = tree_node_path(n, *buf + off, total - off);
                SYN_ASSERT(len > 0);
                (*items)[k++] = (struct eph_item){
                    .node = n, .off = (uint32_t)off, .len = (uint32_t)len, .base = *buf};
                off += (size_t)len + 1;
        }
        SYN_ASSERT(k == s->ephemeral_count);
        qsort(*items, k, sizeof(**items), eph_cmp);
        return SYN_OK;
}

static int apply_close_session(struct apply_ctx *c)
{
        struct session *s = session_table_find(&c->t->sessions, c->txn->session.id);
        c->res->err = ZOK; /* closing an unknown (already expired) session is a no-op */
        if (s == NULL)
                return SYN_OK;
        struct eph_item *items = NULL;
        char *buf = NULL;
        uint32_t count = s->ephemeral_count;
        int rc = eph_collect(s, &items, &buf);
        for (uint32_t i = 0; i < count && rc == SYN_OK; i++) {
                rc = tree_delete_node(c->t, items[i].node, buf + items[i].off, items[i].len,
                                      c->zxid, c->ev);
        }
        free(items);
        free(buf);
        if (rc != SYN_OK)
                return SYN_ENOMEM;
        tree_undo_commit(c->t);
        c->t->session_digest -= session_digest(s);
        rc = session_table_remove(&c->t->sessions, c->txn->session.id);
        SYN_ASSERT(rc == SYN_OK);
        return SYN_OK;
}

/* ---- container / TTL reaping ---- */

static int reap_eligible(const struct tree_node *n, enum txn_reap_reason reason, int64_t now_ms)
{
        if (n->num_children > 0)
                return ZNOTEMPTY;
        if (reason == TXN_REAP_CONTAINER) {
                /* ZooKeeper: stored cversion > 0, i.e. it once had a child. */
                return tree_owner_is_container(n->owner) && n->child_creates > 0 ? ZOK
                                                                                 : ZBADARGUMENTS;
        }
        if (reason == TXN_REAP_TTL && tree_owner_is_ttl(n->owner)) {
                int64_t ttl = (int64_t)(n->owner & ~ZK_OWNER_TTL_MASK);
                return ttl != 0 && now_ms - n->mtime > ttl ? ZOK : ZBADARGUMENTS;
        }
        return ZBADARGUMENTS;
}

static int apply_reap(struct apply_ctx *c)
{
        const struct zk_bytes *p = &c->txn->reap.path;
        int rc = p->len < 0 || p->data == NULL ? ZBADARGUMENTS
                                               : zk_path_validate(p->data, (size_t)p->len, false);
        struct tree_node *n = NULL;
        if (rc == ZOK) {
                n = tree_index_find(c->t, (const char *)p->data, (size_t)p->len);
                rc = n == NULL ? ZNONODE : reap_eligible(n, c->txn->reap.reason, c->txn->time_ms);
        }
        if (rc == ZOK)
                rc = tree_delete_node(c->t, n, (const char *)p->data, (size_t)p->len, c->zxid,
                                      c->ev);
        if (tree_is_syn_err(rc))
                return rc;
        c->res->err = rc;
        return SYN_OK;
}

int tree_apply(struct tree *t, const struct txn *txn, uint64_t zxid, struct tree_result *res,
               struct tree_events *ev)
{
        SYN_ASSERT(zxid > t->last_zxid);
        SYN_ASSERT(t->undo_count == 0);
        tree_result_reset(res);
        tree_events_reset(ev);
        t->last_zxid = zxid;
        struct apply_ctx c = {.t = t, .txn = txn, .zxid = zxid, .res = res, .ev = ev};
        int rc;
        switch (txn->type) {
        case TXN_NOOP:
                rc = SYN_OK;
                break;
        case TXN_OP:
                rc = apply_single(&c);
                break;
        case TXN_MULTI:
                rc = apply_multi(&c);
                break;
        case TXN_CREATE_SESSION:
                rc = apply_create_session(&c);
                break;
        case TXN_CLOSE_SESSION:
                rc = apply_close_session(&c);
                break;
        case TXN_REAP:
                rc = apply_reap(&c);
                break;
        default:
                res->err = ZUNIMPLEMENTED;
                rc = SYN_OK;
                break;
        }
        if (rc != SYN_OK) {
                tree_undo_rollback(t);
                tree_events_reset(ev);
                tree_result_reset(res);
                return rc;
        }
        tree_undo_commit(t);
        tree_result_finish(res);
        tree_events_finish(ev);
        return SYN_OK;
}
