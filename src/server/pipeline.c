/*
 * The request pipeline of an ACTIVE connection: from a frame to a reply, in
 * order.
 *
 *   - auth (xid -4) is applied at once, outside the order (as in ZooKeeper);
 *   - writes are proposed (propose.c) as soon as the per-session FIFO allows
 *     (pipeline.h) and wait in it as PL_WRITE items until apply.c calls their
 *     waiter; when Raft refuses a proposal for now (SYN_EBUSY, over its
 *     uncommitted bytes) the write stays queued unproposed, the connection stops
 *     being read, and the stalled-list pump retries it after applies (new
 *     sessions likewise);
 *   - everything else (reads, ping, sync, setWatches, watch management) is a
 *     PL_READ item that runs as soon as nothing is ahead of it.
 *
 * A queued request keeps a copy of its record (not the frame's ignored trailing
 * bytes); the queue counts those bytes and reading pauses past
 * SRV_CONN_QUEUED_BYTES_MAX as it does past SRV_CONN_REQUESTS_INFLIGHT_MAX.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/jute.h"
#include "server/server.h"

void pipeline_req_free(void *req)
{
        struct srv_req *r = req;
        SYN_ASSERT(!r->waiter.registered);
        SYN_ASSERT(!r->read_wait.active);
        if (r->decoded)
                zk_request_free(&r->req);
        free(r);
}

/* ---- auth (applied at once, not ordered) ---- */

static void auth_reply(struct srv_conn *conn, int32_t err)
{
        struct zk_reply_header h = {.xid = ZK_XID_AUTH, .zxid = 0, .err = err};
        conns_send_reply(conn, &h, NULL);
}

static bool scheme_is(const struct zk_bytes *scheme, const char *name)
{
        size_t n = strlen(name);
        return scheme->len == (int32_t)n && memcmp(scheme->data, name, n) == 0;
}

/*
 * addauth with ZooKeeper's two built-in providers. `digest` adds the identity of
 * "user:password"; `ip` succeeds whatever the text and adds nothing, since every
 * connection already is ip:<its address> (ZooKeeper adds that same id again).
 * Any other scheme fails and closes, as in ZooKeeper.
 */
static void handle_auth(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        const struct zk_auth_request *a = &req->auth;
        char id[SRV_DIGEST_ID_BYTES];
        if (scheme_is(&a->scheme, "ip")) {
                auth_reply(conn, ZOK);
                return;
        }
        bool digest = scheme_is(&a->scheme, "digest");
        if (!digest || a->auth.len < 0 ||
            srv_digest_identity(a->auth.data, (size_t)a->auth.len, id, sizeof id) != 0) {
                srv->stats.auth_failed++;
                SYN_INFO("auth failed for %s:%d (scheme %.*s)", conn->ip, conn->port,
                         a->scheme.len > 0 ? (int)a->scheme.len : 0,
                         a->scheme.len > 0 ? (const char *)a->scheme.data : "");
                auth_reply(conn, ZAUTHFAILED);
                conns_close(srv, conn, true);
                return;
        }
        for (int32_t i = 0; i < conn->id_count; i++)
                if (conn->id_strings[i] != NULL && strcmp(conn->id_strings[i], id) == 0) {
                        auth_reply(conn, ZOK);
                        return;
                }
        if (conn->id_count >= SRV_CONN_AUTH_IDS_MAX) {
                srv->stats.auth_failed++;
                auth_reply(conn, ZAUTHFAILED);
                conns_close(srv, conn, true);
                return;
        }
        char *copy = strdup(id);
        if (copy == NULL) {
                auth_reply(conn, ZAUTHFAILED);
                conns_close(srv, conn, true);
                return;
        }
        int32_t i = conn->id_count++;
        conn->id_strings[i] = copy;
        conn->ids[i].scheme = zk_bytes_of("digest");
        conn->ids[i].id = zk_bytes_of(copy);
        if (srv->config.super_digest[0] != '\0' && strcmp(srv->config.super_digest, id) == 0)
                conn->super = true;
        auth_reply(conn, ZOK);
}

/* ---- the FIFO ---- */

/* The entry of a write of this connection was applied (its waiter's callback). */
static void write_applied(struct srv *srv, struct srv_waiter *w, const struct txn *txn,
                          uint64_t zxid)
{
        struct srv_conn *conn = w->conn;
        struct srv_req *r = (struct srv_req *)((char *)w - offsetof(struct srv_req, waiter));
        if (!pl_write_applied(&conn->queue, &r->item)) {
                /* An earlier write of the session never made it into the log: the
                 * replies cannot be given in order any more. */
                SYN_WARN("closing %s:%d: write xid %d applied out of session order", conn->ip,
                         conn->port, r->item.xid);
                conns_close(srv, conn, false);
                return;
        }
        if (conn->net != NULL) {
                apply_reply_write(srv, conn, r->item.xid, r->item.op, txn, zxid);
                conns_record_latency(conn, r->recv_ms, r->item.op);
                if (r->item.op == ZK_OP_CLOSE_SESSION) {
                        conns_detach_session(srv, conn);
                        conns_close(srv, conn, true);
                }
        }
        pipeline_req_free(r);
        pipeline_pump(srv, conn); /* the reads behind it, before the next entry is applied */
        conns_maybe_free(srv, conn);
}

/*
 * Proposes a queued write. Returns false if it was not proposed and the pump
 * must stop: Raft refused it for now (SYN_EBUSY: the write stays queued,
 * unproposed, in its place, to be retried) or the connection was closed.
 * Another failure turns it into an error answer in its place.
 */
static bool propose_item(struct srv *srv, struct srv_conn *conn, struct srv_req *r)
{
        int rc = r->canned_err != 0 ? SYN_EINVAL : propose_write(srv, conn, &r->item);
        if (rc == 0)
                return true;
        if (rc == SYN_EBUSY)
                return false;
        if (rc == SYN_ENOSPC && r->item.op != ZK_OP_CREATE_SESSION) {
                /* This server's disk is full: a definite refusal (the write never left
                 * this server), with the code every client knows; it may retry, here or
                 * elsewhere. A new session is closed instead, to find another server. */
                srv->stats.writes_refused_no_space++;
                r->canned_err = ZSYSTEMERROR;
                pl_write_failed(&conn->queue, &r->item);
                return true;
        }
        SYN_INFO("write xid %d of %s:%d not proposed: %s", r->item.xid, conn->ip, conn->port,
                 syn_strerror(rc));
        if (rc != SYN_EINVAL || r->item.op == ZK_OP_CREATE_SESSION) {
                /* Not a fault of the request: no leader any more (it stepped down just
                 * now), no memory, a client reusing the xid of a write in flight (its
                 * replies could not be told apart), or no session to answer in. Like a
                 * ZooKeeper server that cannot process a request, close: the client sees
                 * ConnectionLoss and retries, on another server if need be. */
                conns_close(srv, conn, false);
                return false;
        }
        if (r->canned_err == 0)
                r->canned_err = ZBADARGUMENTS; /* the request itself is malformed */
        pl_write_failed(&conn->queue, &r->item);
        return true;
}

static void run_read_item(struct srv *srv, struct srv_conn *conn, struct srv_req *r)
{
        if (conn->net == NULL) {
                pipeline_req_free(r);
                return;
        }
        if (r->canned_err != 0) {
                struct zk_reply_header h = {r->item.xid, (int64_t)srv->sm.applied, r->canned_err};
                conns_send_reply(conn, &h, NULL);
        } else {
                reads_run(srv, conn, &r->req);
        }
        conns_record_latency(conn, r->recv_ms, r->item.op);
        /* ZooKeeper answers an unknown opcode and then closes the connection. */
        bool unknown_op = r->canned_err == ZUNIMPLEMENTED;
        pipeline_req_free(r);
        if (unknown_op)
                conns_close(srv, conn, true);
}

/* Reads may run unless the connection's output is over the backpressure threshold. */
static bool output_has_room(const struct srv_conn *conn)
{
        return conn->net == NULL ||
               net_conn_output_bytes(conn->net) <= NET_CONN_OUTPUT_BYTES_SOFT_MAX;
}

void pipeline_set_stalled(struct srv *srv, struct srv_conn *conn, bool stalled)
{
        conn->stalled = stalled;
        if (stalled && !conn->stalled_listed) {
                conn->stalled_listed = true;
                conn->stalled_next = srv->stalled;
                srv->stalled = conn;
        }
}

void pipeline_before_apply(struct srv *srv, const struct raft_entry *e)
{
        uint64_t session_id = 0;
        int32_t cxid = 0;
        if (e->type != RAFT_ENTRY_NORMAL || txn_peek_key(e->data, e->len, &session_id, &cxid) != 0)
                return; /* not a txn: the apply reports it */
        struct srv_waiter *w = registry_find(srv, session_id, cxid);
        if (w == NULL || w->conn == NULL)
                return; /* not a write of this server's clients */
        struct srv_conn *conn = w->conn;
        struct pl_item *item;
        /* Bounded by the queue; a read that closes the connection ends it. */
        while (conn->net != NULL && (item = pl_pop_read(&conn->queue)) != NULL) {
                srv->stats.reads_before_apply++;
                run_read_item(srv, conn, item->data);
        }
}

/* Runs what the head of the queue allows (pipeline.h): reads, proposals. Reads held
 * back by a full output, and writes Raft refused (SYN_EBUSY: over its uncommitted
 * bytes), stall the connection: it reads no new frames until pipeline_pump_stalled
 * (every loop pass, so after the applies that make room) gets it going again. */
void pipeline_pump(struct srv *srv, struct srv_conn *conn)
{
        bool room = output_has_room(conn);
        bool busy = false;
        struct pl_item *item;
        /* Bounded by the queue length: every pass pops or proposes one item, or stops. */
        while (!busy && conn->net != NULL && (item = pl_next(&conn->queue, room)) != NULL) {
                if (item->kind == PL_READ) {
                        run_read_item(srv, conn, item->data);
                        room = output_has_room(conn);
                } else if (item->ready) {
                        propose_sync_complete(srv, conn, item->data);
                        room = output_has_room(conn);
                } else {
                        busy = !propose_item(srv, conn, item->data);
                }
        }
        if (conn->net == NULL)
                return;
        net_conn_set_queued(conn->net, conn->queue.bytes); /* charged to the clients' budget */
        if (conn->state == SRV_CONN_CONNECTING) {
                pipeline_set_stalled(srv, conn, busy); /* reading is paused until the session */
                return;
        }
        if (conn->state != SRV_CONN_ACTIVE)
                return;
        const struct pl_item *head = conn->queue.head;
        bool stalled = busy || (!room && head != NULL && (head->kind == PL_READ || head->ready));
        pipeline_set_stalled(srv, conn, stalled);
        /* Hysteresis with active_frame, which pauses at SRV_CONN_REQUESTS_INFLIGHT_MAX
         * requests or SRV_CONN_QUEUED_BYTES_MAX bytes queued. */
        if (stalled)
                net_conn_pause_reading(conn->net, true);
        else if (conn->queue.count < SRV_CONN_REQUESTS_INFLIGHT_MAX / 2 &&
                 conn->queue.bytes < SRV_CONN_QUEUED_BYTES_MAX / 2)
                net_conn_pause_reading(conn->net, false);
}

void pipeline_pump_stalled(struct srv *srv)
{
        struct srv_conn *list = srv->stalled;
        srv->stalled = NULL;
        /* Bounded by the stalled connections; pump re-adds those still stalled. */
        while (list != NULL) {
                struct srv_conn *conn = list;
                list = conn->stalled_next;
                conn->stalled_next = NULL;
                conn->stalled_listed = false;
                if (conn->stalled &&
                    (conn->state == SRV_CONN_ACTIVE || conn->state == SRV_CONN_CONNECTING))
                        pipeline_pump(srv, conn);
                conns_maybe_free(srv, conn);
        }
}

/*
 * Reads that wait for a ReadIndex round, as a barrier in the FIFO: sync always;
 * with linearizableReads every read of the tree, so it sees everything committed
 * before it arrived (ping and watch management stay local).
 */
static bool needs_read_index(const struct srv *srv, int32_t type)
{
        if (type == ZK_OP_SYNC)
                return true;
        if (!srv->config.linearizable_reads)
                return false;
        switch (type) {
        case ZK_OP_EXISTS:
        case ZK_OP_GET_DATA:
        case ZK_OP_GET_ACL:
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
        case ZK_OP_GET_EPHEMERALS:
        case ZK_OP_MULTI_READ:
                return true;
        default:
                return false;
        }
}

/*
 * Queues a request of an ACTIVE connection and acts on it. `req` (decode result
 * `rc`: 0 or SYN_ENOTSUP) is the caller's decoding of data[0..len), borrowed for
 * the call. The queue keeps a copy of the record only, without the trailing
 * bytes the decoder ignored (they would count against nothing but memory), and
 * of no body at all for an unknown opcode (answered ZUNIMPLEMENTED from the
 * header). The copy is charged to the queue's bytes (pipeline.h).
 */
static void submit(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len,
                   const struct zk_request *req, int rc, int64_t recv_ms)
{
        SYN_ASSERT(rc == 0 || rc == SYN_ENOTSUP);
        SYN_ASSERT(req->trailing_bytes <= len);
        size_t keep = rc == 0 ? len - req->trailing_bytes : 0;
        struct srv_req *r = malloc(sizeof *r + keep);
        if (r == NULL) {
                conns_close(srv, conn, false);
                return;
        }
        memset(r, 0, sizeof *r);
        memcpy(r->frame, data, keep);
        r->len = keep;
        r->recv_ms = recv_ms;
        r->waiter.on_applied = write_applied;
        if (rc == 0) {
                r->decoded = true;
                if (zk_request_decode(r->frame, keep, &r->req) != 0) {
                        /* Decoded once already: only memory can fail now. */
                        pipeline_req_free(r);
                        conns_close(srv, conn, false);
                        return;
                }
        } else {
                r->req.xid = req->xid;
                r->req.type = req->type;
                r->canned_err = ZUNIMPLEMENTED;
        }
        if (rc == 0 && r->req.type == ZK_OP_RECONFIG && !srv->config.reconfig_enabled)
                r->canned_err = ZRECONFIGDISABLED; /* as ZooKeeper 3.5.3+ by default */
        bool linearized = rc == 0 && needs_read_index(srv, r->req.type);
        bool write = rc == 0 && r->canned_err == 0 && (propose_is_write(r->req.type) || linearized);
        r->item.kind = write ? PL_WRITE : PL_READ;
        r->item.barrier = linearized;
        r->item.xid = r->req.xid;
        r->item.op = r->req.type;
        r->item.bytes = sizeof *r + keep;
        r->item.data = r;
        conn->last_op = r->req.type;
        switch (pl_submit(&conn->queue, &r->item)) {
        case PL_RUN_NOW:
                run_read_item(srv, conn, r);
                break;
        case PL_PROPOSE_NOW: /* pump proposes it: the head, or right after proposed writes */
        case PL_QUEUED:
                break;
        }
        if (conn->net != NULL)
                pipeline_pump(srv, conn); /* proposes; a failed proposal answers now */
}

/* Whether the connection has so much queued that it should not be read from. */
static bool queue_full(const struct srv_conn *conn)
{
        return conn->queue.count >= SRV_CONN_REQUESTS_INFLIGHT_MAX ||
               conn->queue.bytes >= SRV_CONN_QUEUED_BYTES_MAX;
}

/* ---- frames ---- */

static void active_frame(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len)
{
        int64_t recv_ms = (int64_t)net_now_ms(&srv->net);
        struct zk_request req;
        int rc = zk_request_decode(data, len, &req);
        if (rc != 0 && rc != SYN_ENOTSUP) {
                SYN_WARN("closing %s:%d: undecodable request xid %d type %d (%s)", conn->ip,
                         conn->port, req.xid, req.type, syn_strerror(rc));
                zk_request_free(&req);
                conns_close(srv, conn, false);
                return;
        }
        sessions_touch(srv, conn);
        if (rc == 0 && req.type == ZK_OP_AUTH) {
                handle_auth(srv, conn, &req);
        } else if (rc == 0 && !propose_is_write(req.type) && !needs_read_index(srv, req.type) &&
                   conn->queue.head == NULL) {
                /* The common read: nothing ahead, answer from the frame without a copy. */
                conn->last_op = req.type;
                reads_run(srv, conn, &req);
                conns_record_latency(conn, recv_ms, req.type);
        } else {
                submit(srv, conn, data, len, &req, rc, recv_ms);
        }
        zk_request_free(&req);
        if (conn->net != NULL && queue_full(conn)) {
                srv->stats.requests_throttled++;
                net_conn_pause_reading(conn->net, true);
        }
}

void pipeline_frame(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len)
{
        conn->packets_received++;
        srv->stats.packets_received++;
        switch (conn->state) {
        case SRV_CONN_HANDSHAKE:
                handshake_frame(srv, conn, data, len);
                break;
        case SRV_CONN_ACTIVE:
                active_frame(srv, conn, data, len);
                break;
        case SRV_CONN_CONNECTING:
        case SRV_CONN_CLOSED:
                break; /* cannot happen: reading is paused / the socket is gone */
        }
}
