/*
 * The cluster: what one synod server says to the others over the peer links
 * (net/peer.h carries frames; this file decides what is in them).
 *
 * Every peer message starts with a channel byte:
 *   RAFT     a Raft message (proto/peer.h encoding), to the core of the peer;
 *   FORWARD  follower → leader: txns its clients wrote, in the order its
 *            sessions wrote them; the leader stamps its clock into each and
 *            proposes them in that order (one TCP stream, one order);
 *   REFUSED  leader → follower: forwarded txns it could not propose, by
 *            (session id, cxid): the follower closes those connections, as the
 *            replies can no longer come in session order (a txn Raft refuses
 *            only for now, over its uncommitted bytes, waits in the leader's
 *            backlog instead, and everything forwarded after it behind it);
 *   TOUCH    follower → leader: the sessions that were active on the follower
 *            since the last batch, so the leader (which alone expires sessions)
 *            keeps them alive.
 * A write's success needs no message back: the entry carries (session id, cxid)
 * and the server the client is connected to replies when it applies it.
 *
 * Raft messages that may go before persistence leave at once; the others wait
 * for the WAL flush they follow (raft.h, the host's order): they are encoded
 * now, tagged with the next flush's ticket in before_sleep, and sent when the
 * WAL reports that ticket durable.
 *
 * Order of a session's writes across forwarding: writes are forwarded in FIFO
 * order over one link to one leader. If that link drops, or the leader or term
 * changes, a forwarded write may be lost while a later one is not: every
 * connection with writes in flight is then closed (conns_close_inflight), like
 * ZooKeeper's followers drop their clients when they lose the leader.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "net/tls.h"
#include "server/server.h"

enum cluster_channel {
        CH_RAFT = 1,
        CH_FORWARD = 2,
        CH_REFUSED = 3,
        CH_TOUCH = 4,
};

/* ---- raft messages ---- */

/* Fills an InstallSnapshot chunk from the snapshot file (the core leaves data empty). */
static bool fill_snapshot(struct srv *srv, struct raft_message *m)
{
        size_t len = 0;
        bool done = false;
        int rc = snapshot_chunk_read(srv, &m->snapshot.meta, m->snapshot.offset, srv->chunk,
                                     RAFT_SNAPSHOT_CHUNK_BYTES, &len, &done);
        if (rc != 0) {
                SYN_DEBUG("snapshot %llu not readable for peer %llu: %s",
                          (unsigned long long)m->snapshot.meta.index, (unsigned long long)m->to,
                          syn_strerror(rc));
                return false;
        }
        m->snapshot.data = len > 0 ? srv->chunk : NULL;
        m->snapshot.len = len;
        m->snapshot.done = done;
        return true;
}

/* Encodes m (channel byte + body) into w. */
static int encode_raft(struct srv *srv, const struct raft_message *in, struct syn_writer *w)
{
        struct raft_message m = *in;
        if (m.type == RAFT_MSG_SNAPSHOT && !fill_snapshot(srv, &m))
                return SYN_ENOTFOUND; /* dropped: the core retries */
        syn_write_u8(w, CH_RAFT);
        return peer_raft_encode(w, &m);
}

void cluster_send_raft(struct srv *srv, const struct raft_message *m)
{
        syn_writer_reset(&srv->peer_scratch);
        if (encode_raft(srv, m, &srv->peer_scratch) != 0)
                return;
        srv->stats.peer_msgs_sent++;
        /* A refusal (not connected, queue full) drops the message: Raft retries. */
        net_peer_send(&srv->peers, m->to, srv->peer_scratch.data, srv->peer_scratch.len);
}

struct srv_held *cluster_hold_raft(struct srv *srv, const struct raft_message *m)
{
        syn_writer_reset(&srv->peer_scratch);
        if (encode_raft(srv, m, &srv->peer_scratch) != 0)
                return NULL;
        size_t len = srv->peer_scratch.len;
        struct srv_held *h = malloc(sizeof *h + len);
        if (h == NULL)
                return NULL; /* dropped, like a lost message */
        h->to = m->to;
        h->len = len;
        memcpy(h->bytes, srv->peer_scratch.data, len);
        return h;
}

void cluster_release_held(struct srv *srv, struct srv_held *h, bool send)
{
        if (send && srv->peers_ready) {
                srv->stats.peer_msgs_sent++;
                net_peer_send(&srv->peers, h->to, h->bytes, h->len);
        }
        free(h);
}

static void free_backlog(struct srv *srv)
{
        while (srv->backlog_head != NULL) {
                struct srv_forwarded *f = srv->backlog_head;
                srv->backlog_head = f->next;
                free(f);
        }
        srv->backlog_tail = NULL;
        srv->backlog_bytes = 0;
}

static void receive_raft(struct srv *srv, uint64_t from, const uint8_t *data, size_t len)
{
        int rc = peer_raft_decode(data, len, srv->decoded);
        if (rc != 0 || srv->decoded->msg.from != from) {
                SYN_WARN("peer %llu: undecodable raft message (%s)", (unsigned long long)from,
                         rc != 0 ? syn_strerror(rc) : "sender id mismatch");
                srv->stats.peer_protocol_errors++;
                return;
        }
        struct raft_event ev = {.type = RAFT_EV_RECEIVE};
        ev.receive = &srv->decoded->msg;
        rc = host_step(srv, &ev);
        if (rc != 0 && rc != SYN_ENOMEM)
                SYN_DEBUG("peer %llu: raft refused a message: %s", (unsigned long long)from,
                          syn_strerror(rc));
}

/* ---- forwarded writes ---- */

int cluster_forward(struct srv *srv, const uint8_t *txn, size_t len)
{
        uint64_t leader = srv->leader_id;
        if (leader == RAFT_NONE || leader == (uint64_t)srv->config.server_id ||
            !net_peer_connected(&srv->peers, leader))
                return SYN_EBUSY; /* no leader to take it now: the pump retries */
        if (len > RAFT_ENTRY_BYTES_MAX)
                return SYN_ETOOBIG;
        if (srv->forward.len + len + 8 > SRV_FORWARD_BATCH_BYTES_MAX)
                cluster_flush(srv); /* a full batch goes now; the order is kept */
        if (srv->forward.len == 0) {
                syn_write_u8(&srv->forward, CH_FORWARD);
                syn_write_be32(&srv->forward, 0); /* count, patched */
                srv->forward_leader = leader;
        }
        SYN_ASSERT(srv->forward_leader == leader);
        syn_write_be32(&srv->forward, (uint32_t)len);
        syn_write_bytes(&srv->forward, txn, len);
        if (srv->forward.failed) {
                syn_writer_reset(&srv->forward);
                return SYN_ENOMEM;
        }
        srv->forward_count++;
        srv->stats.writes_forwarded++;
        return 0;
}

void cluster_flush(struct srv *srv)
{
        if (srv->forward.len == 0)
                return;
        syn_writer_patch_be32(&srv->forward, 1, srv->forward_count);
        int rc =
            net_peer_send(&srv->peers, srv->forward_leader, srv->forward.data, srv->forward.len);
        syn_writer_reset(&srv->forward);
        srv->forward_count = 0;
        if (rc != 0) {
                /* The batch is lost while later writes of its sessions may not be. */
                SYN_WARN("forwarding to leader %llu failed: %s",
                         (unsigned long long)srv->forward_leader, syn_strerror(rc));
                conns_close_inflight(srv, "forwarding to the leader failed");
        }
}

/* Leader: stamps and proposes one forwarded txn (borrowed). SYN_EBUSY: not now. */
static int propose_forwarded(struct srv *srv, const uint8_t *t, size_t tlen)
{
        /* The bytes are the peer's; the copy is ours to stamp. */
        syn_writer_reset(&srv->scratch);
        syn_write_bytes(&srv->scratch, t, tlen);
        if (srv->scratch.failed)
                return SYN_ENOMEM;
        int rc = txn_stamp_time(srv->scratch.data, tlen, net_wall_ms(&srv->net));
        uint64_t index;
        return rc != 0 ? rc : host_propose(srv, srv->scratch.data, tlen, &index);
}

/* Leader: keeps a forwarded txn Raft refused for now (over its uncommitted bytes), in
 * arrival order; everything forwarded later queues behind it, so session order holds. */
static int backlog_push(struct srv *srv, uint64_t from, const uint8_t *t, size_t tlen)
{
        if (srv->backlog_bytes + tlen > SRV_FORWARD_BACKLOG_BYTES_MAX)
                return SYN_ELIMIT;
        struct srv_forwarded *f = malloc(sizeof *f + tlen);
        if (f == NULL)
                return SYN_ENOMEM;
        f->from = from;
        f->len = tlen;
        f->next = NULL;
        memcpy(f->bytes, t, tlen);
        if (srv->backlog_tail != NULL)
                srv->backlog_tail->next = f;
        else
                srv->backlog_head = f;
        srv->backlog_tail = f;
        srv->backlog_bytes += tlen;
        return 0;
}

/* Leader: tells the follower `to` that a forwarded txn (borrowed) was not proposed. */
static void refuse(struct srv *srv, uint64_t to, const uint8_t *t, size_t tlen, int err)
{
        uint64_t session_id = 0;
        int32_t cxid = 0;
        if (txn_peek_key(t, tlen, &session_id, &cxid) != 0)
                return;
        uint8_t msg[1 + 4 + 8 + 4 + 4];
        msg[0] = CH_REFUSED;
        syn_put_be32(msg + 1, 1);
        syn_put_be64(msg + 5, session_id);
        syn_put_be32(msg + 13, (uint32_t)cxid);
        syn_put_be32(msg + 17, (uint32_t)err);
        net_peer_send(&srv->peers, to, msg, sizeof msg);
        SYN_INFO("refusing a write of session 0x%llx from peer %llu: %s",
                 (unsigned long long)session_id, (unsigned long long)to, syn_strerror(err));
}

/* Proposes a forwarded txn now, or queues it behind those waiting; refuses it when the
 * backlog is full (the follower then closes that client's connection). */
static void take_forwarded(struct srv *srv, uint64_t from, const uint8_t *t, size_t tlen)
{
        int rc = srv->backlog_head != NULL ? SYN_EBUSY : propose_forwarded(srv, t, tlen);
        if (rc == SYN_EBUSY)
                rc = backlog_push(srv, from, t, tlen);
        if (rc != 0)
                refuse(srv, from, t, tlen, rc);
}

void cluster_drain_backlog(struct srv *srv)
{
        /* Bounded by the backlog: each pass proposes and frees one txn, or stops. */
        while (srv->backlog_head != NULL) {
                struct srv_forwarded *f = srv->backlog_head;
                int rc = srv->role == RAFT_LEADER ? propose_forwarded(srv, f->bytes, f->len)
                                                  : SYN_ENOTLEADER;
                if (rc == SYN_EBUSY)
                        return;
                if (rc != 0)
                        refuse(srv, f->from, f->bytes, f->len, rc);
                srv->backlog_head = f->next;
                if (srv->backlog_head == NULL)
                        srv->backlog_tail = NULL;
                srv->backlog_bytes -= f->len;
                free(f);
        }
}

static void receive_forward(struct srv *srv, uint64_t from, const uint8_t *data, size_t len)
{
        struct syn_reader r;
        syn_reader_init(&r, data, len);
        uint32_t n = syn_read_be32(&r);
        /* Bounded by n, and n by the bytes of the message (each txn has a length). */
        for (uint32_t i = 0; i < n && !r.failed; i++) {
                uint32_t tlen = syn_read_be32(&r);
                const uint8_t *t = syn_read_bytes(&r, tlen);
                if (t == NULL)
                        break;
                take_forwarded(srv, from, t, tlen);
        }
        if (r.failed || syn_reader_left(&r) != 0) {
                SYN_WARN("peer %llu: malformed forward batch", (unsigned long long)from);
                srv->stats.peer_protocol_errors++;
        }
}

static void receive_refused(struct srv *srv, uint64_t from, const uint8_t *data, size_t len)
{
        struct syn_reader r;
        syn_reader_init(&r, data, len);
        uint32_t n = syn_read_be32(&r);
        /* Bounded by n, and n by the message bytes (16 per entry). */
        for (uint32_t i = 0; i < n && syn_reader_left(&r) >= 16; i++) {
                uint64_t session_id = syn_read_be64(&r);
                int32_t cxid = (int32_t)syn_read_be32(&r);
                int err = (int32_t)syn_read_be32(&r);
                struct srv_waiter *w = registry_take_key(srv, session_id, cxid);
                if (w == NULL)
                        continue;
                SYN_INFO("leader %llu refused write xid %d of session 0x%llx (%s): closing %s:%d",
                         (unsigned long long)from, cxid, (unsigned long long)session_id,
                         syn_strerror(err), w->conn->ip, w->conn->port);
                conns_close(srv, w->conn, false);
        }
}

/* ---- session liveness ---- */

void cluster_touch_tick(struct srv *srv)
{
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (now - srv->last_touch_ms < SRV_TOUCH_INTERVAL_MS)
                return;
        srv->last_touch_ms = now;
        uint64_t leader = srv->leader_id;
        if (leader == RAFT_NONE || leader == (uint64_t)srv->config.server_id)
                return;
        struct syn_writer *w = &srv->peer_scratch;
        syn_writer_reset(w);
        syn_write_u8(w, CH_TOUCH);
        syn_write_be32(w, 0);
        uint32_t count = 0;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++)
                for (struct srv_conn *c = srv->conns[b]; c != NULL; c = c->hash_next) {
                        if (!c->touched || c->state != SRV_CONN_ACTIVE)
                                continue;
                        c->touched = false;
                        syn_write_be64(w, c->session_id);
                        count++;
                }
        if (count == 0 || w->failed)
                return;
        syn_writer_patch_be32(w, 1, count);
        net_peer_send(&srv->peers, leader, w->data, w->len);
}

static void receive_touch(struct srv *srv, uint64_t from, const uint8_t *data, size_t len)
{
        if (srv->role != RAFT_LEADER)
                return;
        struct syn_reader r;
        syn_reader_init(&r, data, len);
        uint32_t n = syn_read_be32(&r);
        int64_t now = (int64_t)net_now_ms(&srv->net);
        /* Bounded by n, and n by the message bytes (8 per session). */
        for (uint32_t i = 0; i < n && syn_reader_left(&r) >= 8; i++) {
                uint64_t id = syn_read_be64(&r);
                const struct session *s = tree_session(&srv->sm.tree, id);
                if (s != NULL)
                        sess_expiry_touch(&srv->expiry, id, s->timeout_ms, now);
        }
        (void)from;
}

/* ---- links ---- */

/* A peer may connect if it is a member: of Raft's configuration in effect, or of the
 * membership (a server being added is listed before Raft adds it). */
static bool on_hello(void *arg, uint64_t from_id)
{
        struct srv *srv = arg;
        if (from_id == (uint64_t)srv->config.server_id)
                return false;
        const struct raft_config *c = raft_config(&srv->raft);
        if (raft_config_is_voter(c, from_id) || raft_config_is_learner(c, from_id))
                return true;
        for (uint32_t i = 0; i < srv->members.count; i++)
                if (srv->members.m[i].id == from_id)
                        return true;
        return false;
}

static void on_message(void *arg, uint64_t from, const uint8_t *body, size_t len)
{
        struct srv *srv = arg;
        if (len < 1 || srv->fatal)
                return;
        srv->stats.peer_msgs_received++;
        switch (body[0]) {
        case CH_RAFT:
                receive_raft(srv, from, body + 1, len - 1);
                break;
        case CH_FORWARD:
                receive_forward(srv, from, body + 1, len - 1);
                break;
        case CH_REFUSED:
                receive_refused(srv, from, body + 1, len - 1);
                break;
        case CH_TOUCH:
                receive_touch(srv, from, body + 1, len - 1);
                break;
        default:
                SYN_WARN("peer %llu: unknown channel %u", (unsigned long long)from, body[0]);
                srv->stats.peer_protocol_errors++;
        }
}

static void on_link(void *arg, uint64_t peer_id, bool outbound, bool up)
{
        struct srv *srv = arg;
        SYN_INFO("peer %llu: %s link %s", (unsigned long long)peer_id,
                 outbound ? "outbound" : "inbound", up ? "up" : "down");
        if (!up && outbound && peer_id == srv->leader_id)
                conns_close_inflight(srv, "the link to the leader dropped");
}

int cluster_init(struct srv *srv)
{
        const struct srv_member *self = srv_config_member(&srv->config, srv->config.server_id);
        SYN_ASSERT(self != NULL);
        srv->decoded = malloc(sizeof *srv->decoded);
        srv->chunk = malloc(RAFT_SNAPSHOT_CHUNK_BYTES);
        if (srv->decoded == NULL || srv->chunk == NULL)
                return SYN_ENOMEM;
        syn_writer_init(&srv->peer_scratch, 0);
        syn_writer_init(&srv->forward, 0);
        if (srv->config.ssl_quorum) {
                const struct srv_tls_settings *s = &srv->config.ssl_quorum_settings;
                int rc = srv_tls_make(s, "ssl.quorum.", true, &srv->peer_tls_accept);
                if (rc == 0)
                        rc = srv_tls_make(s, "ssl.quorum.", false, &srv->peer_tls_dial);
                if (rc != 0)
                        return rc;
        }
        struct net_peer_options o = {
            .address = self->host,
            .port = self->peer_port,
            .cluster_id = srv->config.cluster_id,
            .tcp_user_timeout_ms = PEER_TCP_USER_TIMEOUT_MS,
            .tls_accept = srv->peer_tls_accept,
            .tls_dial = srv->peer_tls_dial,
            .self_id = srv->config.server_id,
            .callbacks = {.on_hello = on_hello, .on_message = on_message, .on_link = on_link},
            .arg = srv,
        };
        int rc = net_peers_init(&srv->peers, &srv->net, &o);
        if (rc != 0) {
                SYN_ERROR("cannot listen for peers on %s:%d: %s", self->host, self->peer_port,
                          syn_strerror(rc));
                return rc;
        }
        srv->peers_ready = true;
        members_raft_changed(srv);
        return 0;
}

void cluster_close(struct srv *srv)
{
        if (srv->peers_ready)
                net_peers_close(&srv->peers);
        srv->peers_ready = false;
        /* Links still closing keep their own references to these (net/tls.h). */
        net_tls_ctx_free(srv->peer_tls_accept);
        net_tls_ctx_free(srv->peer_tls_dial);
        srv->peer_tls_accept = NULL;
        srv->peer_tls_dial = NULL;
        free_backlog(srv);
        free(srv->decoded);
        free(srv->chunk);
        srv->decoded = NULL;
        srv->chunk = NULL;
        syn_writer_close(&srv->peer_scratch);
        syn_writer_close(&srv->forward);
}
