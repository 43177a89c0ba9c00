/*
 * The handshake: a connection's first frame is a ConnectRequest.
 *
 * A new session is a CREATE_SESSION txn through Raft: the connection queues it
 * as its first write and reads nothing more until the txn is applied and the
 * ConnectResponse is out (the waiter's callback, session_created). A reconnect
 * is checked against the replicated session table and answered at once; if the
 * session is attached to another connection of this server, that one is closed
 * (the session moved).
 *
 * A client that has seen a newer zxid than this server applied is refused (the
 * connection closes and the client tries another server): it must never read
 * an older state than it already saw. A server that is not serving (catching
 * up, or without a leader: server.c) refuses every handshake the same way.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

static void send_connect_response(struct srv_conn *conn, int32_t timeout_ms, uint64_t session_id,
                                  const uint8_t *passwd)
{
        if (conn->net == NULL)
                return;
        struct syn_writer *w = net_conn_output(conn->net);
        if (w == NULL)
                return;
        struct zk_connect_response resp = {
            .protocol_version = 0,
            .timeout_ms = timeout_ms,
            .session_id = (int64_t)session_id,
            .read_only = false,
            .has_read_only = conn->has_read_only,
        };
        if (passwd != NULL)
                memcpy(resp.passwd, passwd, ZK_PASSWD_BYTES);
        zk_connect_response_write(w, &resp);
        conn->packets_sent++;
        conn->srv->stats.packets_sent++;
        net_conn_output_done(conn->net);
}

/* Expired, unknown or wrong password: ZooKeeper answers timeOut 0 and closes. */
static void refuse_session(struct srv *srv, struct srv_conn *conn)
{
        send_connect_response(conn, 0, 0, NULL);
        conns_close(srv, conn, true);
}

/* The CREATE_SESSION txn was applied (the waiter of the connection's first write). */
static void session_created(struct srv *srv, struct srv_waiter *w, const struct txn *txn,
                            uint64_t zxid)
{
        (void)txn;
        (void)zxid;
        struct srv_conn *conn = w->conn;
        struct srv_req *r = (struct srv_req *)((char *)w - offsetof(struct srv_req, waiter));
        bool in_order = pl_write_applied(&conn->queue, &r->item);
        SYN_ASSERT(in_order); /* the session write is the first item of its connection */
        pipeline_req_free(r);
        if (conn->net == NULL || conn->state != SRV_CONN_CONNECTING)
                return;
        if (srv->sm.result.err != ZOK) {
                SYN_WARN("session creation failed: %s", zk_errname(srv->sm.result.err));
                refuse_session(srv, conn);
                return;
        }
        conn->state = SRV_CONN_ACTIVE;
        conns_attach_session(srv, conn);
        sessions_touch(srv, conn);
        send_connect_response(conn, conn->timeout_ms, conn->session_id, conn->passwd);
        net_conn_pause_reading(conn->net, false);
        pipeline_pump(srv, conn);
}

/* Queues the CREATE_SESSION write of a handshake (the queue is empty then). */
static struct srv_req *push_session_write(struct srv *srv, struct srv_conn *conn)
{
        struct srv_req *r = calloc(1, sizeof *r);
        if (r == NULL)
                return NULL;
        r->item.kind = PL_WRITE;
        r->item.op = ZK_OP_CREATE_SESSION;
        r->item.bytes = sizeof *r;
        r->item.data = r;
        r->waiter.on_applied = session_created;
        r->recv_ms = (int64_t)net_now_ms(&srv->net);
        enum pl_action action = pl_submit(&conn->queue, &r->item);
        SYN_ASSERT(action == PL_PROPOSE_NOW);
        return r;
}

static void new_session(struct srv *srv, struct srv_conn *conn, int32_t timeout_ms)
{
        conn->session_id = sessions_new_id(srv);
        conn->timeout_ms = timeout_ms;
        for (int i = 0; i < ZK_PASSWD_BYTES; i++)
                conn->passwd[i] = (uint8_t)syn_rand_next(&srv->rng);
        conn->state = SRV_CONN_CONNECTING;
        if (push_session_write(srv, conn) == NULL) {
                conns_close(srv, conn, false);
                return;
        }
        /* Proposes it; a refusal for now (SYN_EBUSY) stalls the connection and the
         * stalled-list pump retries; any other refusal closes it. */
        pipeline_pump(srv, conn);
}

static void resume_known(struct srv *srv, struct srv_conn *conn, uint64_t id, const uint8_t *passwd,
                         int32_t timeout_ms);

/* The ReadIndex round for a session unknown here is over: look again. */
static void resume_checked(struct srv *srv, struct srv_read_wait *w, bool ok)
{
        struct srv_conn *conn =
            (struct srv_conn *)((char *)w - offsetof(struct srv_conn, resume_wait));
        if (!ok) {
                conns_close(srv, conn, false); /* no leader in time: try elsewhere */
                return;
        }
        conn->state = SRV_CONN_HANDSHAKE;
        net_conn_pause_reading(conn->net, false);
        resume_known(srv, conn, conn->resume_session_id, conn->resume_passwd,
                     conn->resume_timeout_ms);
}

/*
 * The session table of this server may lag the leader's: a session created through
 * another server a moment ago may be missing, and one the leader expired may still
 * be here. Before answering a reconnect, a clustered server makes sure it has applied
 * everything committed (a ReadIndex round), as a ZooKeeper follower revalidates the
 * session with its leader. When the round cannot start (no leader known: a server
 * cut off still serves for a grace period) the connection closes without an answer
 * and the client tries another server: answering from the local table could let an
 * expired session back in, and refusing it would tell the client a live session
 * expired.
 */
static void resume_session(struct srv *srv, struct srv_conn *conn,
                           const struct zk_connect_request *creq, int32_t timeout_ms)
{
        uint64_t id = (uint64_t)creq->session_id;
        const uint8_t *passwd = creq->passwd.len == ZK_PASSWD_BYTES ? creq->passwd.data : NULL;
        if (!srv->clustered || passwd == NULL) {
                resume_known(srv, conn, id, passwd, timeout_ms);
                return;
        }
        conn->resume_session_id = id;
        memcpy(conn->resume_passwd, passwd, ZK_PASSWD_BYTES);
        conn->resume_timeout_ms = timeout_ms;
        int rc = readindex_start(srv, &conn->resume_wait, resume_checked);
        if (rc != 0) {
                SYN_INFO("closing %s:%d: cannot revalidate session 0x%llx now (%s)", conn->ip,
                         conn->port, (unsigned long long)id, syn_strerror(rc));
                conns_close(srv, conn, false);
                return;
        }
        conn->state = SRV_CONN_CONNECTING; /* reading paused until the check is done */
}

static void resume_known(struct srv *srv, struct srv_conn *conn, uint64_t id, const uint8_t *passwd,
                         int32_t timeout_ms)
{
        const struct session *s = tree_session(&srv->sm.tree, id);
        if (s == NULL || passwd == NULL || !session_passwd_equal(s, passwd)) {
                SYN_INFO("session 0x%llx from %s:%d is invalid or expired", (unsigned long long)id,
                         conn->ip, conn->port);
                refuse_session(srv, conn);
                return;
        }
        struct srv_conn *old = conns_by_session(srv, id);
        if (old != NULL && old != conn) {
                SYN_INFO("session 0x%llx moved from %s:%d to %s:%d", (unsigned long long)id,
                         old->ip, old->port, conn->ip, conn->port);
                conns_detach_session(srv, old);
                old->session_id = 0;
                conns_close(srv, old, true);
        }
        conn->session_id = id;
        conn->timeout_ms = timeout_ms;
        memcpy(conn->passwd, s->passwd, ZK_PASSWD_BYTES);
        conn->state = SRV_CONN_ACTIVE;
        conns_attach_session(srv, conn);
        sessions_touch(srv, conn);
        send_connect_response(conn, timeout_ms, id, s->passwd);
}

void handshake_frame(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len)
{
        struct zk_connect_request creq;
        int rc = zk_connect_request_decode(data, len, &creq);
        if (rc != 0) {
                SYN_WARN("closing %s:%d: bad ConnectRequest (%s)", conn->ip, conn->port,
                         syn_strerror(rc));
                conns_close(srv, conn, false);
                return;
        }
        if (!srv->serving) {
                SYN_DEBUG("refusing %s:%d: not serving yet", conn->ip, conn->port);
                conns_close(srv, conn, false);
                return;
        }
        if (creq.last_zxid_seen > (int64_t)srv->sm.applied) {
                /* The client saw a newer state than ours: it must try another server. */
                SYN_INFO("refusing %s:%d: its zxid 0x%llx is ahead of ours 0x%llx", conn->ip,
                         conn->port, (unsigned long long)creq.last_zxid_seen,
                         (unsigned long long)srv->sm.applied);
                conns_close(srv, conn, false);
                return;
        }
        conn->has_read_only = creq.has_read_only;
        int32_t timeout_ms = sessions_clamp_timeout(srv, creq.timeout_ms);
        if (creq.session_id == 0)
                new_session(srv, conn, timeout_ms);
        else
                resume_session(srv, conn, &creq, timeout_ms);
        if (conn->state == SRV_CONN_CONNECTING && conn->net != NULL)
                net_conn_pause_reading(conn->net, true); /* until the session exists */
}
