/*
 * Propose: a write request becomes a txn and goes to Raft (ZooKeeper's
 * PrepRequestProcessor, without its checks: every decision that depends on the
 * tree is taken at apply time, where every server sees the same state, so the
 * txn carries its inputs: session, xid, the connection's identities and the
 * proposer's clock).
 *
 * Before a write is proposed its waiter is registered under (session id, cxid),
 * the key apply finds in the committed txn; a proposal that fails leaves the
 * registry as it was. The leader proposes to its core; a follower forwards the
 * encoded txn to the leader, and its client is answered when this server
 * applies the entry, like any other.
 *
 * `sync` is no txn: it is a barrier in the session's FIFO whose "proposal" is a
 * ReadIndex round; the reads behind it then see everything committed before.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

bool propose_is_write(int32_t type)
{
        switch (type) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
        case ZK_OP_DELETE:
        case ZK_OP_SET_DATA:
        case ZK_OP_SET_ACL:
        case ZK_OP_CHECK:
        case ZK_OP_MULTI:
        case ZK_OP_CLOSE_SESSION:
        case ZK_OP_SYNC:     /* a barrier in the FIFO (pipeline.h), not a txn */
        case ZK_OP_RECONFIG: /* a setData of /zookeeper/config (members.c) */
                return true;
        default:
                return false;
        }
}

static void fill_op(struct txn_op *op, const struct zk_request *r)
{
        memset(op, 0, sizeof *op);
        op->zk_op = r->type;
        op->version = -1;
        switch (r->type) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                op->path = r->create.path;
                op->data = r->create.data;
                op->acl = r->create.acl.items;
                op->acl_count = r->create.acl.count > 0 ? r->create.acl.count : 0;
                op->flags = r->create.flags;
                op->ttl_ms = r->type == ZK_OP_CREATE_TTL ? r->create.ttl_ms : 0;
                break;
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                op->path = r->path_ver.path;
                op->version = r->path_ver.version;
                break;
        case ZK_OP_SET_DATA:
                op->path = r->set_data.path;
                op->data = r->set_data.data;
                op->version = r->set_data.version;
                break;
        case ZK_OP_SET_ACL:
                op->path = r->set_acl.path;
                op->acl = r->set_acl.acl.items;
                op->acl_count = r->set_acl.acl.count > 0 ? r->set_acl.acl.count : 0;
                op->version = r->set_acl.version;
                break;
        default:
                SYN_UNREACHABLE();
        }
}

/*
 * Clients may send an ACL id as a null string (kazoo's CREATOR_ALL_ACL is
 * Id("auth", None)); ZooKeeper treats it as empty, while a txn stores only real
 * strings. Returns a copy with nulls made empty (caller frees), or NULL when the
 * list needs no change or memory ran out (*failed tells which).
 */
static struct zk_acl *acl_without_nulls(const struct zk_acl *acl, int32_t count, bool *failed)
{
        bool needed = false;
        for (int32_t i = 0; i < count; i++)
                if (acl[i].id.scheme.len < 0 || acl[i].id.id.len < 0)
                        needed = true;
        *failed = false;
        if (!needed)
                return NULL;
        struct zk_acl *copy = calloc((size_t)count, sizeof *copy);
        if (copy == NULL) {
                *failed = true;
                return NULL;
        }
        for (int32_t i = 0; i < count; i++) {
                copy[i] = acl[i];
                if (copy[i].id.scheme.len < 0)
                        copy[i].id.scheme = zk_bytes_of("");
                if (copy[i].id.id.len < 0)
                        copy[i].id.id = zk_bytes_of("");
        }
        return copy;
}

/* Replaces the ACLs of ops[0..n) that hold nulls; copies go to owned[] (freed by caller). */
static int fix_acls(struct txn_op *ops, int32_t n, struct zk_acl **owned)
{
        for (int32_t i = 0; i < n; i++) {
                bool failed;
                owned[i] = acl_without_nulls(ops[i].acl, ops[i].acl_count, &failed);
                if (failed)
                        return SYN_ENOMEM;
                if (owned[i] != NULL)
                        ops[i].acl = owned[i];
        }
        return 0;
}

/* Encodes t into srv->scratch. */
static int encode(struct srv *srv, const struct txn *t)
{
        syn_writer_reset(&srv->scratch);
        return txn_encode(t, &srv->scratch);
}

/*
 * reconfig: the new membership text becomes a setData of /zookeeper/config that
 * only applies over the version it was computed from. A request that cannot work
 * gets its ZooKeeper error in *zk_err (and SYN_EINVAL).
 */
static int encode_reconfig(struct srv *srv, struct srv_conn *conn, const struct zk_request *req,
                           int32_t *zk_err)
{
        char text[SRV_CONFIG_MEMBERS_BYTES];
        int32_t len = 0, version = -1;
        *zk_err = members_reconfig(srv, &req->reconfig, text, sizeof text, &len, &version);
        if (*zk_err != ZOK)
                return SYN_EINVAL;
        struct txn t = {.type = TXN_OP, .session_id = conn->session_id, .cxid = req->xid};
        t.time_ms = net_wall_ms(&srv->net);
        t.auth = conns_auth(conn);
        t.op.zk_op = ZK_OP_SET_DATA;
        t.op.path = (struct zk_bytes){(const uint8_t *)"/zookeeper/config", 17};
        t.op.data = (struct zk_bytes){(const uint8_t *)text, len};
        t.op.version = version;
        return encode(srv, &t);
}

/* Encodes the txn of a client write request into srv->scratch. */
static int encode_request(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct txn t = {.session_id = conn->session_id, .cxid = req->xid};
        t.time_ms = net_wall_ms(&srv->net);
        t.auth = conns_auth(conn);
        struct txn_op *ops = NULL;
        if (req->type == ZK_OP_CLOSE_SESSION) {
                t.type = TXN_CLOSE_SESSION;
                t.session.id = conn->session_id;
        } else if (req->type == ZK_OP_MULTI) {
                t.type = TXN_MULTI;
                if (req->multi.count > 0) {
                        ops = calloc((size_t)req->multi.count, sizeof *ops);
                        if (ops == NULL)
                                return SYN_ENOMEM;
                        for (int32_t i = 0; i < req->multi.count; i++)
                                fill_op(&ops[i], &req->multi.ops[i]);
                }
                t.ops = ops;
                t.op_count = req->multi.count;
        } else {
                t.type = TXN_OP;
                fill_op(&t.op, req);
        }
        struct txn_op *list = t.type == TXN_MULTI ? ops : &t.op;
        int32_t n = t.type == TXN_MULTI ? t.op_count : (t.type == TXN_OP ? 1 : 0);
        struct zk_acl **owned = n > 0 ? calloc((size_t)n, sizeof *owned) : NULL;
        int rc = n > 0 && owned == NULL ? SYN_ENOMEM : fix_acls(list, n, owned);
        if (rc == 0)
                rc = encode(srv, &t);
        for (int32_t i = 0; i < n && owned != NULL; i++)
                free(owned[i]);
        free(owned);
        free(ops);
        return rc;
}

/* The CREATE_SESSION txn of a CONNECTING connection, from the id, timeout and
 * password the handshake chose (kept on the connection so a refused proposal can
 * be retried unchanged). */
static int encode_session(struct srv *srv, struct srv_conn *conn)
{
        /* The caller's key is the new session's, so a refusal forwarded back by the
         * leader names the connection waiting for it. */
        struct txn t = {.type = TXN_CREATE_SESSION,
                        .session_id = conn->session_id,
                        .cxid = SRV_CXID_CREATE_SESSION};
        t.session.id = conn->session_id;
        t.session.timeout_ms = conn->timeout_ms;
        memcpy(t.session.passwd, conn->passwd, ZK_PASSWD_BYTES);
        t.time_ms = net_wall_ms(&srv->net);
        return encode(srv, &t);
}

/* The leader proposes; a follower forwards to the leader (cluster.c). */
static int submit_txn(struct srv *srv, uint64_t *index)
{
        if (srv->role == RAFT_LEADER || !srv->clustered)
                return host_propose(srv, srv->scratch.data, srv->scratch.len, index);
        *index = 0;
        return cluster_forward(srv, srv->scratch.data, srv->scratch.len);
}

void propose_sync_complete(struct srv *srv, struct srv_conn *conn, struct srv_req *r)
{
        bool head = pl_write_applied(&conn->queue, &r->item);
        SYN_ASSERT(head); /* a barrier completes only at the head */
        reads_run(srv, conn, &r->req);
        conns_record_latency(conn, r->recv_ms, r->req.type);
        pipeline_req_free(r);
}

/* The ReadIndex round of a sync (or of a linearizable read) is over: it runs now if
 * it is the head of its queue, and what waited behind it may follow; else once the
 * items ahead of it are done (pipeline_pump). */
static void sync_done(struct srv *srv, struct srv_read_wait *w, bool ok)
{
        struct srv_req *r = (struct srv_req *)((char *)w - offsetof(struct srv_req, read_wait));
        struct srv_conn *conn = r->waiter.conn;
        if (!ok) {
                SYN_INFO("closing %s:%d: sync found no leader in time", conn->ip, conn->port);
                conns_close(srv, conn, false);
                return;
        }
        if (conn->queue.head != &r->item) {
                pl_barrier_ready(&conn->queue, &r->item);
                return;
        }
        propose_sync_complete(srv, conn, r);
        pipeline_pump(srv, conn);
}

static int propose_sync(struct srv *srv, struct srv_conn *conn, struct pl_item *item)
{
        struct srv_req *r = item->data;
        r->waiter.conn = conn;
        int rc = readindex_start(srv, &r->read_wait, sync_done);
        if (rc == 0)
                pl_proposed(&conn->queue, item, 0);
        return rc;
}

int propose_write(struct srv *srv, struct srv_conn *conn, struct pl_item *item)
{
        struct srv_req *r = item->data;
        if (item->barrier)
                return propose_sync(srv, conn, item);
        if (srv->wal_no_space)
                return SYN_ENOSPC; /* host.c: this server could not make it durable */
        bool session = item->op == ZK_OP_CREATE_SESSION;
        int rc;
        if (session)
                rc = encode_session(srv, conn);
        else if (item->op == ZK_OP_RECONFIG)
                rc = encode_reconfig(srv, conn, &r->req, &r->canned_err);
        else
                rc = encode_request(srv, conn, &r->req);
        if (rc != 0)
                return rc;
        r->waiter.session_id = conn->session_id;
        r->waiter.cxid = session ? SRV_CXID_CREATE_SESSION : item->xid;
        r->waiter.conn = conn;
        rc = registry_add(srv, &r->waiter);
        if (rc != 0)
                return rc;
        uint64_t index = 0;
        rc = submit_txn(srv, &index);
        if (rc != 0) {
                registry_remove(srv, &r->waiter);
                return rc;
        }
        pl_proposed(&conn->queue, item, index);
        return 0;
}

int propose_server_txn(struct srv *srv, const struct txn *t)
{
        uint64_t index;
        int rc = encode(srv, t);
        if (rc == 0)
                rc = host_propose(srv, srv->scratch.data, srv->scratch.len, &index);
        if (rc != 0)
                SYN_WARN("server txn %s not proposed: %s", txn_type_name(t->type),
                         syn_strerror(rc));
        return rc;
}
