/*
 * The clients. Every proposal is a real txn (tree/txn.h), built on the leader
 * as the server's request pipeline builds one: the client's session and
 * request, the leader's wall clock as time_ms. Every decision that depends on
 * the state is taken when the txn is applied, so the generator reads the
 * leader's applied tree only to make success likely (an existing node, its
 * current version, a live session as owner) and, on purpose and as often, to
 * make it fail (a stale version, a closed session, a failing op in a multi).
 *
 * The path space is small and fixed (sim_paths, plus sequential children of
 * its nodes), so creates collide, deletes find children and multis fail half
 * way; SIM_TREE_CHILDREN_MAX caps the sequential children, which bounds the
 * tree and so the snapshots. The mix of txn kinds is a swarm parameter.
 *
 * Sessions: CREATE_SESSION with an id that has the proposer's id in its top
 * byte (like the server's sessions_new_id) while fewer than SIM_SESSIONS_MAX
 * are live; CLOSE_SESSION of a live one (its ephemerals go) or of one that
 * is gone (a no-op). REAP of what tree_collect_reapable finds at the leader's
 * time (emptied containers, expired TTL nodes), or of a node that is not
 * eligible (apply re-checks at the txn's time and refuses).
 *
 * Watches: a client of any node sets a one-shot, persistent or recursive
 * watch on a path of the same space, at that node's applied state, as
 * getData / exists / getChildren / addWatch would; or a connection goes away
 * with its watches. check_watch.c holds the notifications to a model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "sim.h"

static const char *const sim_paths[] = {"/a",   "/a/x", "/a/y", "/a/x/z", "/b",
                                        "/b/x", "/c",   "/c/q", "/e",     "/t"};
#define SIM_PATH_COUNT (sizeof(sim_paths) / sizeof(sim_paths[0]))
/* The name prefix of sequential children. */
#define SIM_SEQ_PREFIX "/s-"
/* Session ids carry the proposer's id modulo this in their top byte: below
 * 0x80, where the container marker and TTL owners live (session_id_valid). */
#define SIM_SESSION_SERVER_IDS 0x7eull
/* A session no node opens: its top byte is no proposer's. */
#define SIM_SESSION_GONE ((SIM_SESSION_SERVER_IDS << 56) | 1)

/* world:anyone with every permission (OPEN_ACL_UNSAFE), and with all but
 * CREATE: such a node can be read, changed and deleted, but creates under it
 * fail (ZNOAUTH) and leave nothing behind. */
static const struct zk_acl sim_acl_open = {
    .perms = ZK_PERM_ALL,
    .id = {.scheme = {(const uint8_t *)"world", 5}, .id = {(const uint8_t *)"anyone", 6}}};
static const struct zk_acl sim_acl_no_create = {
    .perms = ZK_PERM_ALL & ~ZK_PERM_CREATE,
    .id = {.scheme = {(const uint8_t *)"world", 5}, .id = {(const uint8_t *)"anyone", 6}}};

/* A txn under construction and the storage its borrowed strings point at. */
struct sim_txn_builder {
        struct txn txn;
        struct txn_op ops[SIM_MULTI_OPS_MAX];
        char paths[SIM_MULTI_OPS_MAX][SIM_PATH_BYTES_MAX];
        uint8_t data[SIM_MULTI_OPS_MAX][SIM_DATA_BYTES_MAX];
        struct zk_id auth_id;
        char auth_ip[16];
        const struct tree *tree; /* the proposer's applied tree */
        uint64_t *live;          /* live session ids, sorted */
        uint32_t n_live;
        struct syn_rand *r;
};

/* ---- picking paths, versions, data, sessions ---- */

static bool sim_pick_chance(struct sim_txn_builder *b, uint32_t ppm)
{
        return syn_rand_chance(b->r, ppm);
}

static size_t sim_copy_path(char *buf, const char *path)
{
        size_t len = strlen(path);
        SYN_ASSERT(len < SIM_PATH_BYTES_MAX);
        memcpy(buf, path, len + 1);
        return len;
}

/* The path to buf of a node to act on: one of sim_paths (a second draw if the
 * first does not exist, so most ops find their node) or, if it exists and has
 * children, half the time one of those, so sequential and ephemeral children
 * are changed and deleted too. Returns its length. */
static size_t sim_pick_path(struct syn_rand *r, const struct tree *t, char *buf)
{
        size_t len = sim_copy_path(buf, sim_paths[syn_rand_below(r, SIM_PATH_COUNT)]);
        const struct tree_node *node = tree_lookup(t, buf, len);
        if (node == NULL) {
                len = sim_copy_path(buf, sim_paths[syn_rand_below(r, SIM_PATH_COUNT)]);
                node = tree_lookup(t, buf, len);
        }
        int32_t kids = node != NULL ? tree_node_num_children(node) : 0;
        if (kids == 0 || syn_rand_chance(r, 500000))
                return len;
        const struct tree_node *kid = tree_node_first_child(node);
        for (uint64_t i = syn_rand_below(r, (uint64_t)kids); i > 0 && kid != NULL; i--)
                kid = tree_node_next_sibling(kid);
        if (kid == NULL)
                return len;
        struct zk_bytes name = tree_node_name(kid);
        if (len + 1 + (size_t)name.len >= SIM_PATH_BYTES_MAX)
                return len;
        buf[len] = '/';
        memcpy(buf + len + 1, name.data, (size_t)name.len);
        len += 1 + (size_t)name.len;
        buf[len] = '\0';
        return len;
}

/* The expected version for an op on path: mostly the current one, else any
 * (-1) or a stale one (ZBADVERSION). aversion for setACL. */
static int32_t sim_pick_version(struct sim_txn_builder *b, const char *path, bool acl)
{
        const struct tree_node *node = tree_lookup(b->tree, path, strlen(path));
        uint64_t k = syn_rand_below(b->r, 10);
        if (node == NULL || k < 2)
                return -1;
        struct zk_stat st;
        tree_node_stat(node, &st);
        int32_t v = acl ? st.aversion : st.version;
        return k < 8 ? v : v + 1;
}

static struct zk_bytes sim_pick_data(struct sim_txn_builder *b, uint8_t *buf)
{
        if (sim_pick_chance(b, 50000))
                return (struct zk_bytes){.data = NULL, .len = -1}; /* null data */
        int32_t len = (int32_t)syn_rand_below(b->r, SIM_DATA_BYTES_MAX + 1);
        for (int32_t i = 0; i < len; i++)
                buf[i] = (uint8_t)syn_rand_next(b->r);
        return (struct zk_bytes){.data = buf, .len = len};
}

static const struct zk_acl *sim_pick_acl(struct sim_txn_builder *b)
{
        return sim_pick_chance(b, 100000) ? &sim_acl_no_create : &sim_acl_open;
}

/* The session a client request comes from: mostly a live one, sometimes the
 * server itself (0: no session check), sometimes one that is gone. */
static uint64_t sim_pick_session(struct sim_txn_builder *b)
{
        uint64_t k = syn_rand_below(b->r, 20);
        if (k == 0)
                return SIM_SESSION_GONE;
        if (k <= 2 || b->n_live == 0)
                return 0;
        return b->live[syn_rand_below(b->r, b->n_live)];
}

/* ---- ops ---- */

static void sim_op_create_mode(struct sim_txn_builder *b, struct txn_op *op, bool ephemeral_ok)
{
        static const int32_t modes[] = {
            ZK_CREATE_PERSISTENT,           ZK_CREATE_EPHEMERAL, ZK_CREATE_PERSISTENT_SEQUENTIAL,
            ZK_CREATE_EPHEMERAL_SEQUENTIAL, ZK_CREATE_CONTAINER, ZK_CREATE_PERSISTENT_WITH_TTL};
        int32_t mode = modes[syn_rand_below(b->r, sizeof(modes) / sizeof(modes[0]))];
        if (!ephemeral_ok &&
            (mode == ZK_CREATE_EPHEMERAL || mode == ZK_CREATE_EPHEMERAL_SEQUENTIAL))
                mode -= ZK_CREATE_EPHEMERAL; /* its persistent twin */
        op->flags = mode;
        op->zk_op = sim_pick_chance(b, 500000) ? ZK_OP_CREATE : ZK_OP_CREATE2;
        if (mode == ZK_CREATE_CONTAINER) {
                op->zk_op = ZK_OP_CREATE_CONTAINER;
        } else if (mode == ZK_CREATE_PERSISTENT_WITH_TTL) {
                op->zk_op = ZK_OP_CREATE_TTL;
                if (sim_pick_chance(b, 500000))
                        op->flags = ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
                op->ttl_ms = (int64_t)syn_rand_range(b->r, 1, SIM_TTL_MS_MAX);
        }
}

static bool sim_flags_sequential(int32_t flags)
{
        return flags == ZK_CREATE_PERSISTENT_SEQUENTIAL ||
               flags == ZK_CREATE_EPHEMERAL_SEQUENTIAL ||
               flags == ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

/* A create at one of sim_paths, or a sequential child of one while it has
 * fewer than SIM_TREE_CHILDREN_MAX children. */
static void sim_op_create(struct sim_txn_builder *b, int j, bool ephemeral_ok)
{
        struct txn_op *op = &b->ops[j];
        char *path = b->paths[j];
        *op = (struct txn_op){.version = -1};
        sim_op_create_mode(b, op, ephemeral_ok);
        size_t len = sim_copy_path(path, sim_paths[syn_rand_below(b->r, SIM_PATH_COUNT)]);
        const struct tree_node *parent = tree_lookup(b->tree, path, len);
        if (parent != NULL && !sim_flags_sequential(op->flags)) {
                /* It exists: a second draw, so that most creates create. */
                len = sim_copy_path(path, sim_paths[syn_rand_below(b->r, SIM_PATH_COUNT)]);
                parent = tree_lookup(b->tree, path, len);
        }
        bool room = parent == NULL || tree_node_num_children(parent) < SIM_TREE_CHILDREN_MAX;
        if (sim_flags_sequential(op->flags) && room &&
            len + sizeof(SIM_SEQ_PREFIX) < SIM_PATH_BYTES_MAX)
                memcpy(path + len, SIM_SEQ_PREFIX, sizeof(SIM_SEQ_PREFIX));
        op->path = (struct zk_bytes){(const uint8_t *)path, (int32_t)strlen(path)};
        op->data = sim_pick_data(b, b->data[j]);
        op->acl = sim_pick_acl(b);
        op->acl_count = 1;
}

/* setData, delete, check or (outside a multi) setACL on a picked path. */
static void sim_op_on_node(struct sim_txn_builder *b, int j, int32_t zk_op)
{
        struct txn_op *op = &b->ops[j];
        size_t len = sim_pick_path(b->r, b->tree, b->paths[j]);
        *op = (struct txn_op){.zk_op = zk_op,
                              .path = {(const uint8_t *)b->paths[j], (int32_t)len},
                              .version = sim_pick_version(b, b->paths[j], zk_op == ZK_OP_SET_ACL)};
        if (zk_op == ZK_OP_SET_DATA)
                op->data = sim_pick_data(b, b->data[j]);
        if (zk_op == ZK_OP_SET_ACL) {
                op->acl = sim_pick_acl(b);
                op->acl_count = 1;
        }
}

static void sim_op_any(struct sim_txn_builder *b, int j, bool ephemeral_ok)
{
        static const int32_t kinds[] = {ZK_OP_CREATE, ZK_OP_SET_DATA, ZK_OP_DELETE, ZK_OP_CHECK};
        int32_t k = kinds[syn_rand_below(b->r, sizeof(kinds) / sizeof(kinds[0]))];
        if (k == ZK_OP_CREATE)
                sim_op_create(b, j, ephemeral_ok);
        else
                sim_op_on_node(b, j, k);
}

/* ---- txns ---- */

static void sim_txn_multi(struct sim_txn_builder *b)
{
        int n = (int)syn_rand_range(b->r, 2, SIM_MULTI_OPS_MAX);
        for (int j = 0; j < n; j++)
                sim_op_any(b, j, b->txn.session_id != 0);
        /* Often one op is bound to fail, and the whole multi with it. */
        if (sim_pick_chance(b, 250000)) {
                struct txn_op *op = &b->ops[syn_rand_below(b->r, (uint64_t)n)];
                op->zk_op = ZK_OP_CHECK;
                op->version = INT32_MAX;
        }
        b->txn.type = TXN_MULTI;
        b->txn.ops = b->ops;
        b->txn.op_count = n;
}

static void sim_txn_session(struct sim_cluster *c, struct sim_node *n, struct sim_txn_builder *b,
                            bool create)
{
        if (create) {
                /* The proposer's id in the top byte, a cluster-wide counter
                 * below: unique, like the server's sessions_new_id. */
                uint64_t id = ((n->id % SIM_SESSION_SERVER_IDS) << 56) | ++c->next_session;
                b->txn.type = TXN_CREATE_SESSION;
                b->txn.session_id = b->txn.session.id = id;
                for (size_t i = 0; i < ZK_PASSWD_BYTES; i++)
                        b->txn.session.passwd[i] = (uint8_t)syn_rand_next(b->r);
                b->txn.session.timeout_ms = (int32_t)syn_rand_range(
                    b->r, SIM_SESSION_TIMEOUT_MS_MIN, SIM_SESSION_TIMEOUT_MS_MAX);
                return;
        }
        uint64_t id = b->n_live > 0 && !sim_pick_chance(b, 100000)
                          ? b->live[syn_rand_below(b->r, b->n_live)]
                          : SIM_SESSION_GONE;
        b->txn.type = TXN_CLOSE_SESSION;
        b->txn.session_id = b->txn.session.id = id;
}

static void sim_txn_reap(struct sim_cluster *c, struct sim_node *n, struct sim_txn_builder *b)
{
        struct tree_paths found;
        tree_paths_init(&found);
        int32_t count =
            tree_collect_reapable(b->tree, sim_clock_wall_ms(c, n), &found, SIM_REAP_SCAN_MAX);
        SYN_ASSERT(count >= 0);
        b->txn.type = TXN_REAP;
        b->txn.session_id = 0; /* the server's own txn */
        if (count > 0 && !sim_pick_chance(b, 200000)) {
                const struct tree_path *p = &found.items[syn_rand_below(b->r, (uint64_t)count)];
                sim_copy_path(b->paths[0], (const char *)p->path.data);
                b->txn.reap.reason = (enum txn_reap_reason)p->reason;
        } else {
                sim_pick_path(b->r, b->tree, b->paths[0]);
                b->txn.reap.reason = sim_pick_chance(b, 500000) ? TXN_REAP_CONTAINER : TXN_REAP_TTL;
        }
        tree_paths_close(&found);
        b->txn.reap.path =
            (struct zk_bytes){(const uint8_t *)b->paths[0], (int32_t)strlen(b->paths[0])};
}

static enum sim_txn_kind sim_pick_kind(struct sim_cluster *c, const struct sim_txn_builder *b)
{
        uint64_t total = 0;
        for (int k = 0; k < SIM_TXN_KINDS; k++)
                total += c->sw.txn_weight[k];
        SYN_ASSERT(total > 0);
        uint64_t x = syn_rand_below(&c->rand, total);
        int k = 0;
        while (x >= c->sw.txn_weight[k])
                x -= c->sw.txn_weight[k++];
        if (k == SIM_TXN_CREATE_SESSION && b->n_live >= SIM_SESSIONS_MAX)
                return SIM_TXN_CLOSE_SESSION;
        if (k == SIM_TXN_CLOSE_SESSION && b->n_live == 0)
                return SIM_TXN_CREATE_SESSION;
        return (enum sim_txn_kind)k;
}

static void sim_txn_build(struct sim_cluster *c, struct sim_node *n, struct sim_txn_builder *b)
{
        b->txn.session_id = sim_pick_session(b);
        enum sim_txn_kind kind = sim_pick_kind(c, b);
        switch (kind) {
        case SIM_TXN_CREATE_SESSION:
        case SIM_TXN_CLOSE_SESSION:
                sim_txn_session(c, n, b, kind == SIM_TXN_CREATE_SESSION);
                return;
        case SIM_TXN_REAP:
                sim_txn_reap(c, n, b);
                return;
        case SIM_TXN_MULTI:
                sim_txn_multi(b);
                return;
        case SIM_TXN_CREATE:
                sim_op_create(b, 0, b->txn.session_id != 0);
                break;
        case SIM_TXN_SET_DATA:
                sim_op_on_node(b, 0, ZK_OP_SET_DATA);
                break;
        case SIM_TXN_DELETE:
                sim_op_on_node(b, 0, ZK_OP_DELETE);
                break;
        case SIM_TXN_SET_ACL:
                sim_op_on_node(b, 0, ZK_OP_SET_ACL);
                break;
        case SIM_TXN_KINDS:
                SYN_UNREACHABLE();
        }
        b->txn.type = TXN_OP;
        b->txn.op = b->ops[0];
}

/* The live sessions of the proposer's tree, sorted by id, into ids (at most
 * cap: sessions created beyond SIM_SESSIONS_MAX while earlier creates were in
 * flight are simply not picked). */
static uint32_t sim_live_sessions(const struct tree *t, uint64_t *ids, uint32_t cap)
{
        struct session **live = NULL;
        uint32_t count = 0;
        int rc = session_table_sorted(tree_sessions(t), &live, &count);
        SYN_ASSERT(rc == SYN_OK);
        if (count > cap)
                count = cap;
        for (uint32_t i = 0; i < count; i++)
                ids[i] = live[i]->id;
        free(live);
        return count;
}

size_t sim_workload_txn(struct sim_cluster *c, struct sim_node *n, uint8_t *buf)
{
        struct sim_txn_builder b;
        memset(&b, 0, sizeof(b));
        b.r = &c->rand;
        b.tree = &n->sm.tree;
        uint64_t ids[2 * SIM_SESSIONS_MAX];
        b.n_live = sim_live_sessions(b.tree, ids, sizeof(ids) / sizeof(ids[0]));
        b.live = ids;
        snprintf(b.auth_ip, sizeof(b.auth_ip), "10.0.0.%u", n->slot + 1);
        b.auth_id = (struct zk_id){.scheme = {(const uint8_t *)"ip", 2},
                                   .id = {(const uint8_t *)b.auth_ip, (int32_t)strlen(b.auth_ip)}};
        b.txn.auth = (struct txn_auth){.ids = &b.auth_id, .id_count = 1};
        b.txn.cxid = ++c->next_cxid;
        b.txn.time_ms = sim_clock_wall_ms(c, n);
        sim_txn_build(c, n, &b);
        struct syn_writer w;
        syn_writer_init(&w, SIM_TXN_BYTES_MAX);
        int rc = txn_encode(&b.txn, &w);
        SYN_ASSERT(rc == SYN_OK); /* the generator keeps within SIM_TXN_BYTES_MAX */
        size_t len = w.len;
        memcpy(buf, w.data, len);
        syn_writer_close(&w);
        return len;
}

/* ---- watches ---- */

/* The kind of watch a client's read leaves on path: getData or getChildren on
 * an existing node, exists on a missing one, or addWatch (persistent or
 * persistent recursive) on either. */
static unsigned sim_watch_kind(struct syn_rand *r, bool exists)
{
        uint64_t k = syn_rand_below(r, 10);
        if (k == 0)
                return WATCH_KIND_RECURSIVE;
        if (k <= 2)
                return WATCH_KIND_PERSISTENT;
        if (!exists)
                return WATCH_KIND_EXIST;
        return k <= 6 ? WATCH_KIND_DATA : WATCH_KIND_CHILD;
}

void sim_workload_watch(struct sim_cluster *c, struct sim_node *n)
{
        struct syn_rand *r = &c->rand;
        uint64_t conn = 1 + syn_rand_below(r, SIM_WATCH_CONNS);
        if (syn_rand_chance(r, SIM_WATCH_DROP_PPM)) {
                watch_drop_conn(&n->sm.watches, conn);
                sim_watch_model_drop_conn(&n->watch_model, conn);
                sim_trace(c, n, "watch connection %llu goes away", (unsigned long long)conn);
                return;
        }
        if (sim_watch_model_full(&n->watch_model))
                return;
        char path[SIM_PATH_BYTES_MAX];
        size_t len = sim_pick_path(r, &n->sm.tree, path);
        unsigned kinds = sim_watch_kind(r, tree_lookup(&n->sm.tree, path, len) != NULL);
        int rc = watch_add(&n->sm.watches, conn, 0, kinds, path, len);
        if (rc != SYN_OK) {
                sim_fail(c, "n%llu: watch_add(%s) refused: %s", (unsigned long long)n->id, path,
                         syn_strerror(rc));
                return;
        }
        bool ok = sim_watch_model_add(&n->watch_model, conn, kinds, path, len);
        SYN_ASSERT(ok); /* checked not full above */
        sim_trace(c, n, "conn %llu watches %s (kinds 0x%x) at zxid %llu", (unsigned long long)conn,
                  path, kinds, (unsigned long long)n->sm.applied);
}
