/*
 * The request pipeline: from a client frame to a reply, in order.
 *
 * A connection starts in HANDSHAKE: its first frame is a ConnectRequest. A new
 * session is a CREATE_SESSION txn through Raft (the ConnectResponse goes out when
 * it is applied); a reconnect is checked against the replicated session table and
 * answered at once. Then every frame is one request:
 *
 *   - auth (xid -4) is applied at once, outside the order (as in ZooKeeper);
 *   - writes become txns, are proposed immediately and wait in the connection's
 *     FIFO as PL_WRITE items until their entry is applied (host.c); when Raft
 *     refuses a proposal for now (SYN_EBUSY, over its uncommitted bytes) the
 *     write stays queued unproposed, the connection stops being read, and the
 *     stalled-list pump retries it after applies (new sessions likewise);
 *   - everything else (reads, ping, sync, setWatches, watch management) is a
 *     PL_READ item that runs as soon as nothing is ahead of it (pipeline.h).
 *
 * A queued request keeps a copy of its record (not the frame's ignored trailing
 * bytes); the queue counts those bytes and reading pauses past
 * SRV_CONN_QUEUED_BYTES_MAX as it does past SRV_CONN_REQUESTS_INFLIGHT_MAX.
 *
 * Watch notifications owed only to persistent or recursive watches are sent
 * only if the connection may READ the node the event is about (pipeline_deliver_events).
 *
 * Connection lifetime: a closed connection keeps its struct until every write it
 * proposed has been applied (the apply path needs it to pop the FIFO); then it
 * moves to the dead list and is freed at the start of the next before_sleep, so
 * no code that is still running can hold a freed pointer.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/jute.h"
#include "server/server.h"

/* A request waiting in a connection's FIFO (read or write). */
struct srv_req {
        struct pl_item item;
        struct zk_request req; /* decoded from frame */
        int32_t canned_err;    /* non-zero: answer this error instead of running req */
        bool decoded;
        int64_t recv_ms;
        size_t len;
        uint8_t frame[]; /* copy of the request frame: req's strings point into it */
};

static size_t bucket_of(uint64_t key)
{
        return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 54) % SRV_CONN_BUCKETS;
}

struct srv_conn *pipeline_conn_by_id(struct srv *srv, uint64_t id)
{
        for (struct srv_conn *c = srv->conns[bucket_of(id)]; c != NULL; c = c->hash_next)
                if (c->id == id)
                        return c;
        return NULL;
}

struct srv_conn *pipeline_conn_by_session(struct srv *srv, uint64_t session_id)
{
        for (struct srv_conn *c = srv->sessions[bucket_of(session_id)]; c != NULL;
             c = c->session_next)
                if (c->session_id == session_id)
                        return c;
        return NULL;
}

void pipeline_attach_session(struct srv *srv, struct srv_conn *conn)
{
        size_t b = bucket_of(conn->session_id);
        conn->session_next = srv->sessions[b];
        srv->sessions[b] = conn;
}

void pipeline_detach_session(struct srv *srv, struct srv_conn *conn)
{
        for (struct srv_conn **p = &srv->sessions[bucket_of(conn->session_id)]; *p != NULL;
             p = &(*p)->session_next) {
                if (*p == conn) {
                        *p = conn->session_next;
                        conn->session_next = NULL;
                        return;
                }
        }
}

struct txn_auth pipeline_auth(const struct srv_conn *conn)
{
        struct txn_auth a = {.ids = conn->ids, .id_count = conn->id_count, .super = conn->super};
        return a;
}

static uint32_t conns_from_ip(struct srv *srv, const char *ip)
{
        uint32_t n = 0;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++)
                for (struct srv_conn *c = srv->conns[b]; c != NULL; c = c->hash_next)
                        if (c->net != NULL && strcmp(c->ip, ip) == 0)
                                n++;
        return n;
}

bool pipeline_accept(struct srv *srv, struct net_conn *nc, const char *ip)
{
        if (srv->stopping || srv->conn_count >= SRV_CONNS_MAX) {
                srv->stats.conns_rejected++;
                SYN_WARN("refusing %s: %u connections open", ip, srv->conn_count);
                return false;
        }
        if (srv->config.max_client_cnxns > 0 &&
            conns_from_ip(srv, ip) >= (uint32_t)srv->config.max_client_cnxns) {
                srv->stats.conns_rejected++;
                SYN_WARN("refusing %s: maxClientCnxns (%lld) reached", ip,
                         (long long)srv->config.max_client_cnxns);
                return false;
        }
        struct srv_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL)
                return false;
        conn->id = ++srv->next_conn_id;
        conn->srv = srv;
        conn->net = nc;
        conn->state = SRV_CONN_HANDSHAKE;
        pl_queue_init(&conn->queue);
        snprintf(conn->ip, sizeof conn->ip, "%s", ip);
        conn->port = nc->port;
        conn->ids[0].scheme = zk_bytes_of("ip");
        conn->ids[0].id = zk_bytes_of(conn->ip);
        conn->id_count = 1;
        conn->established_ms = net_wall_ms(&srv->net);
        conn->accepted_mono_ms = net_now_ms(&srv->net);
        conn->latency_min_ms = -1;
        size_t b = bucket_of(conn->id);
        conn->hash_next = srv->conns[b];
        srv->conns[b] = conn;
        srv->conn_count++;
        nc->user = conn;
        return true;
}

static void conn_unlink(struct srv *srv, struct srv_conn *conn)
{
        for (struct srv_conn **p = &srv->conns[bucket_of(conn->id)]; *p != NULL;
             p = &(*p)->hash_next) {
                if (*p == conn) {
                        *p = conn->hash_next;
                        break;
                }
        }
        SYN_ASSERT(srv->conn_count > 0);
        srv->conn_count--;
}

static void req_free(struct srv_req *r)
{
        if (r->decoded)
                zk_request_free(&r->req);
        free(r);
}

/* Retires a closed connection once nothing in flight refers to it: it leaves the
 * lookup table now and is freed by pipeline_free_dead at a point where no caller
 * can still hold it. */
static void conn_maybe_free(struct srv *srv, struct srv_conn *conn)
{
        if (conn->state != SRV_CONN_CLOSED || conn->queue.writes > 0 || conn->dead ||
            conn->stalled_listed)
                return;
        conn_unlink(srv, conn);
        conn->dead = true;
        conn->hash_next = srv->dead;
        srv->dead = conn;
}

void pipeline_free_dead(struct srv *srv)
{
        while (srv->dead != NULL) {
                struct srv_conn *conn = srv->dead;
                srv->dead = conn->hash_next;
                for (int32_t i = 0; i < conn->id_count; i++)
                        free(conn->id_strings[i]);
                free(conn);
        }
}

void pipeline_close_silent(struct srv *srv)
{
        uint64_t now = net_now_ms(&srv->net);
        uint64_t limit = (uint64_t)srv->config.min_session_timeout_ms;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++) {
                struct srv_conn *c = srv->conns[b];
                /* Bounded by the connections of the bucket; `next` is taken first because
                 * closing may unlink `c`. */
                while (c != NULL) {
                        struct srv_conn *next = c->hash_next;
                        if (c->state == SRV_CONN_HANDSHAKE && c->net != NULL &&
                            now - c->accepted_mono_ms > limit) {
                                SYN_INFO("closing %s:%d: no ConnectRequest within %llu ms", c->ip,
                                         c->port, (unsigned long long)limit);
                                pipeline_close_conn(srv, c, false);
                        }
                        c = next;
                }
        }
}

void pipeline_free_all(struct srv *srv)
{
        pipeline_free_dead(srv);
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++) {
                while (srv->conns[b] != NULL) {
                        struct srv_conn *c = srv->conns[b];
                        srv->conns[b] = c->hash_next;
                        struct pl_item *item;
                        while ((item = pl_pop_any(&c->queue)) != NULL)
                                req_free(item->data);
                        for (int32_t i = 0; i < c->id_count; i++)
                                free(c->id_strings[i]);
                        free(c);
                }
        }
        srv->conn_count = 0;
        srv->stalled = NULL;
}

void pipeline_conn_closed(struct srv *srv, struct srv_conn *conn)
{
        SYN_ASSERT(conn->state != SRV_CONN_CLOSED);
        if (conn->session_id != 0 && pipeline_conn_by_session(srv, conn->session_id) == conn)
                pipeline_detach_session(srv, conn);
        conn->state = SRV_CONN_CLOSED;
        conn->net = NULL;
        if (srv->watches_ready)
                watch_drop_conn(&srv->watches, conn->id);
        /* Reads and unproposed writes never run; proposed writes stay until applied. */
        struct pl_item *list = pl_remove_unproposed(&conn->queue);
        while (list != NULL) {
                struct pl_item *next = list->next;
                req_free(list->data);
                list = next;
        }
        conn_maybe_free(srv, conn);
}

void pipeline_close_conn(struct srv *srv, struct srv_conn *conn, bool flush)
{
        (void)srv;
        if (conn->net != NULL)
                net_conn_close(conn->net, flush); /* calls pipeline_conn_closed */
}

void pipeline_record_latency(struct srv_conn *conn, int64_t recv_ms)
{
        struct srv *srv = conn->srv;
        int64_t now = (int64_t)net_now_ms(&srv->net);
        int64_t lat = now - recv_ms;
        if (lat < 0)
                lat = 0;
        conn->last_latency_ms = lat;
        conn->last_response_ms = net_wall_ms(&srv->net);
        if (conn->latency_min_ms < 0 || lat < conn->latency_min_ms)
                conn->latency_min_ms = lat;
        if (lat > conn->latency_max_ms)
                conn->latency_max_ms = lat;
        conn->latency_total_ms += lat;
        conn->latency_count++;
        struct srv_stats *st = &srv->stats;
        if (st->latency_count == 0 || lat < st->latency_min_ms)
                st->latency_min_ms = lat;
        if (lat > st->latency_max_ms)
                st->latency_max_ms = lat;
        st->latency_total_ms += lat;
        st->latency_count++;
}

void pipeline_send_reply(struct srv_conn *conn, const struct zk_reply_header *h,
                         const struct zk_response *body)
{
        if (conn->net == NULL)
                return;
        struct syn_writer *w = net_conn_output(conn->net);
        if (w == NULL)
                return;
        int rc = zk_reply_write(w, h, body);
        if (rc == SYN_EINVAL || rc == SYN_ETOOBIG) {
                /* A body we cannot encode (over ZK_REPLY_BYTES_MAX): the error alone. */
                SYN_WARN("reply to xid %d not encodable: %s", h->xid, syn_strerror(rc));
                struct zk_reply_header eh = *h;
                eh.err = ZMARSHALLINGERROR;
                zk_reply_write(w, &eh, NULL);
        }
        /* SYN_ENOMEM means the output buffer hit its cap: output_done dooms the
         * connection (a client that does not read its replies). */
        conn->packets_sent++;
        conn->srv->stats.packets_sent++;
        if (h->xid >= 0) {
                conn->last_cxid = h->xid;
                conn->last_zxid = h->zxid;
        }
        net_conn_output_done(conn->net);
}

/*
 * The tree event (of the apply being delivered) a watch delivery came from:
 * watch_trigger points the delivery's path at the tree event's own path
 * string, and the deliveries follow the tree events' order, so a cursor
 * usually finds it at once. NULL if none (then the caller fails closed).
 */
static const struct tree_event *source_event(const struct srv *srv, const struct watch_event *ev,
                                             int32_t *cursor)
{
        const struct tree_events *te = &srv->events;
        /* Bounded by the events of one apply, twice at worst (wrap-around). */
        for (int32_t n = 0; n < te->count; n++) {
                int32_t i = (*cursor + n) % te->count;
                if ((const char *)te->items[i].path.data == ev->path) {
                        *cursor = i;
                        return &te->items[i];
                }
        }
        return NULL;
}

/*
 * Whether conn may receive ev. Deliveries owed to a one-shot watch pass (READ
 * was checked when it was set, as in ZooKeeper 3.8); those owed only to
 * persistent or recursive watches need READ on the node the event is about,
 * with the ACL it had when the event happened (ZooKeeper 3.8.4's fix of
 * CVE-2024-23944: otherwise `addWatch / recursive` leaks names under nodes
 * the client cannot read).
 */
static bool delivery_permitted(const struct srv *srv, const struct srv_conn *conn,
                               const struct watch_event *ev, int32_t *cursor)
{
        if ((ev->kinds & (WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD)) != 0)
                return true;
        const struct tree_event *src = source_event(srv, ev, cursor);
        if (src == NULL)
                return false;
        struct txn_auth auth = pipeline_auth(conn);
        return tree_acl_check(src->acl, src->acl_count, ZK_PERM_READ, &auth);
}

void pipeline_deliver_events(struct srv *srv)
{
        int32_t cursor = 0;
        for (size_t i = 0; i < srv->deliveries.count; i++) {
                const struct watch_event *ev = &srv->deliveries.items[i];
                struct srv_conn *conn = pipeline_conn_by_id(srv, ev->conn_id);
                if (conn == NULL || conn->net == NULL)
                        continue;
                if (!delivery_permitted(srv, conn, ev, &cursor))
                        continue; /* no READ on the node: silently dropped, as in 3.8.4 */
                struct syn_writer *w = net_conn_output(conn->net);
                if (w == NULL)
                        continue;
                struct zk_watcher_event we = {
                    .type = ev->type,
                    .state = ZK_STATE_SYNC_CONNECTED,
                    .path = {(const uint8_t *)ev->path, (int32_t)ev->path_len},
                };
                if (zk_notification_write(w, &we) == 0) {
                        conn->packets_sent++;
                        srv->stats.packets_sent++;
                }
                net_conn_output_done(conn->net);
        }
        watch_events_reset(&srv->deliveries);
}

/* ---- handshake ---- */

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
        pipeline_close_conn(srv, conn, true);
}

static int propose_txn(struct srv *srv, struct srv_conn *conn, const struct txn *t, uint64_t *index)
{
        syn_writer_reset(&srv->scratch);
        int rc = txn_encode(t, &srv->scratch);
        if (rc != 0)
                return rc;
        return host_propose(srv, conn, srv->scratch.data, srv->scratch.len, index);
}

/* Queues the (unproposed) CREATE_SESSION write of a handshake (the queue is empty then). */
static struct srv_req *push_session_write(struct srv_conn *conn)
{
        struct srv_req *r = calloc(1, sizeof *r);
        if (r == NULL)
                return NULL;
        r->item.kind = PL_WRITE;
        r->item.op = ZK_OP_CREATE_SESSION;
        r->item.bytes = sizeof *r;
        r->item.data = r;
        r->recv_ms = (int64_t)net_now_ms(&conn->srv->net);
        enum pl_action action = pl_submit(&conn->queue, &r->item);
        SYN_ASSERT(action == PL_PROPOSE_NOW);
        return r;
}

/* The CREATE_SESSION txn of a CONNECTING connection, from the id, timeout and
 * password new_session chose (kept on the connection so a refused proposal can
 * be retried unchanged). */
static int propose_session(struct srv *srv, struct srv_conn *conn, uint64_t *index)
{
        struct txn t = {.type = TXN_CREATE_SESSION};
        t.session.id = conn->session_id;
        t.session.timeout_ms = conn->timeout_ms;
        memcpy(t.session.passwd, conn->passwd, ZK_PASSWD_BYTES);
        t.time_ms = net_wall_ms(&srv->net);
        return propose_txn(srv, conn, &t, index);
}

static void set_stalled(struct srv *srv, struct srv_conn *conn, bool stalled);

static void new_session(struct srv *srv, struct srv_conn *conn, int32_t timeout_ms)
{
        conn->session_id = sessions_new_id(srv);
        conn->timeout_ms = timeout_ms;
        for (int i = 0; i < ZK_PASSWD_BYTES; i++)
                conn->passwd[i] = (uint8_t)syn_rand_next(&srv->rng);
        struct srv_req *r = push_session_write(conn);
        uint64_t index = 0;
        int rc = r == NULL ? SYN_ENOMEM : propose_session(srv, conn, &index);
        if (rc == SYN_EBUSY) {
                /* Raft is full of uncommitted entries: the write stays queued and
                 * pump retries it once applies make room (the stalled list). */
                conn->state = SRV_CONN_CONNECTING;
                set_stalled(srv, conn, true);
                return;
        }
        if (rc != 0) {
                /* Not leader yet (start-up): the client retries elsewhere/later. */
                SYN_INFO("cannot create a session for %s:%d now: %s", conn->ip, conn->port,
                         syn_strerror(rc));
                conn->session_id = 0;
                pipeline_close_conn(srv, conn, false);
                return;
        }
        pl_proposed(&r->item, index);
        conn->state = SRV_CONN_CONNECTING;
}

static void resume_session(struct srv *srv, struct srv_conn *conn,
                           const struct zk_connect_request *creq, int32_t timeout_ms)
{
        uint64_t id = (uint64_t)creq->session_id;
        const struct session *s = tree_session(&srv->tree, id);
        if (s == NULL || creq->passwd.len != ZK_PASSWD_BYTES ||
            !session_passwd_equal(s, creq->passwd.data)) {
                SYN_INFO("session 0x%llx from %s:%d is invalid or expired", (unsigned long long)id,
                         conn->ip, conn->port);
                refuse_session(srv, conn);
                return;
        }
        struct srv_conn *old = pipeline_conn_by_session(srv, id);
        if (old != NULL && old != conn) {
                SYN_INFO("session 0x%llx moved from %s:%d to %s:%d", (unsigned long long)id,
                         old->ip, old->port, conn->ip, conn->port);
                pipeline_detach_session(srv, old);
                old->session_id = 0;
                pipeline_close_conn(srv, old, true);
        }
        conn->session_id = id;
        conn->timeout_ms = timeout_ms;
        memcpy(conn->passwd, s->passwd, ZK_PASSWD_BYTES);
        conn->state = SRV_CONN_ACTIVE;
        pipeline_attach_session(srv, conn);
        sessions_touch(srv, conn);
        send_connect_response(conn, timeout_ms, id, s->passwd);
}

static void handshake(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len)
{
        struct zk_connect_request creq;
        int rc = zk_connect_request_decode(data, len, &creq);
        if (rc != 0) {
                SYN_WARN("closing %s:%d: bad ConnectRequest (%s)", conn->ip, conn->port,
                         syn_strerror(rc));
                pipeline_close_conn(srv, conn, false);
                return;
        }
        if (creq.last_zxid_seen > (int64_t)srv->applied_index) {
                /* The client saw a newer state than ours: it must try another server. */
                SYN_INFO("refusing %s:%d: its zxid 0x%llx is ahead of ours 0x%llx", conn->ip,
                         conn->port, (unsigned long long)creq.last_zxid_seen,
                         (unsigned long long)srv->applied_index);
                pipeline_close_conn(srv, conn, false);
                return;
        }
        conn->has_read_only = creq.has_read_only;
        int32_t timeout_ms = sessions_clamp_timeout(srv, creq.timeout_ms);
        if (creq.session_id == 0)
                new_session(srv, conn, timeout_ms);
        else
                resume_session(srv, conn, &creq, timeout_ms);
}

/* ---- auth (applied at once, not ordered) ---- */

static void auth_reply(struct srv_conn *conn, int32_t err)
{
        struct zk_reply_header h = {.xid = ZK_XID_AUTH, .zxid = 0, .err = err};
        pipeline_send_reply(conn, &h, NULL);
}

static void handle_auth(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        const struct zk_auth_request *a = &req->auth;
        char id[SRV_DIGEST_ID_BYTES];
        bool digest = a->scheme.len == 6 && memcmp(a->scheme.data, "digest", 6) == 0;
        if (!digest || a->auth.len < 0 ||
            srv_digest_identity(a->auth.data, (size_t)a->auth.len, id, sizeof id) != 0) {
                srv->stats.auth_failed++;
                SYN_INFO("auth failed for %s:%d (scheme %.*s)", conn->ip, conn->port,
                         a->scheme.len > 0 ? (int)a->scheme.len : 0,
                         a->scheme.len > 0 ? (const char *)a->scheme.data : "");
                auth_reply(conn, ZAUTHFAILED);
                pipeline_close_conn(srv, conn, true);
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
                pipeline_close_conn(srv, conn, true);
                return;
        }
        char *copy = strdup(id);
        if (copy == NULL) {
                auth_reply(conn, ZAUTHFAILED);
                pipeline_close_conn(srv, conn, true);
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

/* ---- writes ---- */

static bool is_write(int32_t type)
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

/* Builds the txn of a write request and proposes it. */
static int propose_request(struct srv *srv, struct srv_conn *conn, const struct zk_request *req,
                           uint64_t *index)
{
        struct txn t = {.session_id = conn->session_id, .cxid = req->xid};
        t.time_ms = net_wall_ms(&srv->net);
        t.auth = pipeline_auth(conn);
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
                rc = propose_txn(srv, conn, &t, index);
        for (int32_t i = 0; i < n && owned != NULL; i++)
                free(owned[i]);
        free(owned);
        free(ops);
        return rc;
}

/*
 * Proposes a queued write. Returns false if it was not proposed and the pump
 * must stop: Raft refused it for now (SYN_EBUSY: the write stays queued,
 * unproposed, in its place, to be retried; see pump) or the connection was
 * closed. Another failure turns it into an error answer in its place.
 */
static bool propose_item(struct srv *srv, struct srv_conn *conn, struct srv_req *r)
{
        uint64_t index = 0;
        int rc;
        if (r->item.op == ZK_OP_CREATE_SESSION)
                rc = propose_session(srv, conn, &index);
        else
                rc = r->canned_err != 0 ? SYN_EINVAL : propose_request(srv, conn, &r->req, &index);
        if (rc == 0) {
                pl_proposed(&r->item, index);
                return true;
        }
        if (rc == SYN_EBUSY)
                return false;
        SYN_INFO("write xid %d of %s:%d not proposed: %s", r->item.xid, conn->ip, conn->port,
                 syn_strerror(rc));
        if (r->item.op == ZK_OP_CREATE_SESSION) {
                conn->session_id = 0;
                pipeline_close_conn(srv, conn, false); /* frees r */
                return false;
        }
        if (r->canned_err == 0)
                r->canned_err = rc == SYN_EINVAL ? ZBADARGUMENTS : ZCONNECTIONLOSS;
        pl_write_failed(&conn->queue, &r->item);
        return true;
}

static void run_read_item(struct srv *srv, struct srv_conn *conn, struct srv_req *r)
{
        if (conn->net == NULL) {
                req_free(r);
                return;
        }
        if (r->canned_err != 0) {
                struct zk_reply_header h = {r->item.xid, (int64_t)srv->applied_index,
                                            r->canned_err};
                pipeline_send_reply(conn, &h, NULL);
        } else {
                reads_run(srv, conn, &r->req);
        }
        pipeline_record_latency(conn, r->recv_ms);
        req_free(r);
}

/* Reads may run unless the connection's output is over the backpressure threshold. */
static bool output_has_room(const struct srv_conn *conn)
{
        return conn->net == NULL ||
               net_conn_output_bytes(conn->net) <= NET_CONN_OUTPUT_BYTES_SOFT_MAX;
}

static void set_stalled(struct srv *srv, struct srv_conn *conn, bool stalled)
{
        conn->stalled = stalled;
        if (stalled && !conn->stalled_listed) {
                conn->stalled_listed = true;
                conn->stalled_next = srv->stalled;
                srv->stalled = conn;
        }
}

/* Runs what the head of the queue allows (pipeline.h): reads, proposals. Reads held
 * back by a full output, and writes Raft refused (SYN_EBUSY: over its uncommitted
 * bytes), stall the connection: it reads no new frames until pipeline_pump_stalled
 * (every loop pass, so after the applies that make room) gets it going again. */
static void pump(struct srv *srv, struct srv_conn *conn)
{
        bool room = output_has_room(conn);
        bool busy = false;
        struct pl_item *item;
        /* Bounded by the queue length: every pass pops or proposes one item, or stops. */
        while (!busy && (item = pl_next(&conn->queue, room)) != NULL) {
                if (item->kind == PL_READ) {
                        run_read_item(srv, conn, item->data);
                        room = output_has_room(conn);
                } else {
                        busy = !propose_item(srv, conn, item->data);
                }
        }
        if (conn->net == NULL)
                return;
        if (conn->state == SRV_CONN_CONNECTING) {
                set_stalled(srv, conn, busy); /* reading is paused until the session exists */
                return;
        }
        if (conn->state != SRV_CONN_ACTIVE)
                return;
        bool stalled =
            busy || (!room && conn->queue.head != NULL && conn->queue.head->kind == PL_READ);
        set_stalled(srv, conn, stalled);
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
                        pump(srv, conn);
                conn_maybe_free(srv, conn);
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
                pipeline_close_conn(srv, conn, false);
                return;
        }
        memset(r, 0, sizeof *r);
        memcpy(r->frame, data, keep);
        r->len = keep;
        r->recv_ms = recv_ms;
        if (rc == 0) {
                r->decoded = true;
                if (zk_request_decode(r->frame, keep, &r->req) != 0) {
                        /* Decoded once already: only memory can fail now. */
                        req_free(r);
                        pipeline_close_conn(srv, conn, false);
                        return;
                }
        } else {
                r->req.xid = req->xid;
                r->req.type = req->type;
                r->canned_err = ZUNIMPLEMENTED;
        }
        bool write = rc == 0 && is_write(r->req.type);
        r->item.kind = write ? PL_WRITE : PL_READ;
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
                pump(srv, conn); /* proposes; a failed proposal answers now; stall state */
}

/* Whether the connection has so much queued that it should not be read from. */
static bool queue_full(const struct srv_conn *conn)
{
        return conn->queue.count >= SRV_CONN_REQUESTS_INFLIGHT_MAX ||
               conn->queue.bytes >= SRV_CONN_QUEUED_BYTES_MAX;
}

/* ---- the reply of an applied write ---- */

static int32_t result_type(int32_t zk_op)
{
        switch (zk_op) {
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return ZK_OP_CREATE2; /* the fixed 3.8.x behaviour (ZOOKEEPER-4026) */
        default:
                return zk_op;
        }
}

static void fill_op_response(struct zk_response *out, const struct tree_op_result *op, bool multi)
{
        memset(out, 0, sizeof *out);
        out->type = multi ? result_type(op->zk_op) : op->zk_op;
        out->err = op->err;
        out->path = op->path;
        out->stat = op->stat;
}

static void reply_multi(struct srv *srv, struct srv_conn *conn, int32_t xid, uint64_t zxid)
{
        const struct tree_result *res = &srv->result;
        struct zk_response body = {.type = ZK_OP_MULTI};
        struct zk_response *results = NULL;
        if (res->op_count > 0) {
                results = calloc((size_t)res->op_count, sizeof *results);
                if (results == NULL) {
                        pipeline_close_conn(srv, conn, false);
                        return;
                }
        }
        for (int32_t i = 0; i < res->op_count; i++) {
                if (res->failed_index >= 0) {
                        memset(&results[i], 0, sizeof results[i]);
                        results[i].type = ZK_OP_ERROR;
                        results[i].err = res->ops[i].err;
                } else {
                        fill_op_response(&results[i], &res->ops[i], true);
                }
        }
        body.multi.results = results;
        body.multi.count = res->op_count;
        struct zk_reply_header h = {xid, (int64_t)zxid, ZOK};
        pipeline_send_reply(conn, &h, &body);
        free(results);
}

static void reply_write(struct srv *srv, struct srv_conn *conn, const struct pl_item *item,
                        const struct txn *txn, uint64_t zxid)
{
        const struct tree_result *res = &srv->result;
        if (txn->type == TXN_MULTI) {
                reply_multi(srv, conn, item->xid, zxid);
                return;
        }
        struct zk_reply_header h = {item->xid, (int64_t)zxid, res->err};
        if (res->err != ZOK || res->op_count < 1 || item->op == ZK_OP_DELETE) {
                pipeline_send_reply(conn, &h, NULL);
                return;
        }
        struct zk_response body;
        fill_op_response(&body, &res->ops[0], false);
        body.type = item->op;
        pipeline_send_reply(conn, &h, &body);
}

static void session_created(struct srv *srv, struct srv_conn *conn)
{
        if (conn->net == NULL || conn->state != SRV_CONN_CONNECTING)
                return;
        if (srv->result.err != ZOK) {
                SYN_WARN("session creation failed: %s", zk_errname(srv->result.err));
                refuse_session(srv, conn);
                return;
        }
        conn->state = SRV_CONN_ACTIVE;
        pipeline_attach_session(srv, conn);
        sessions_touch(srv, conn);
        send_connect_response(conn, conn->timeout_ms, conn->session_id, conn->passwd);
        net_conn_pause_reading(conn->net, false);
        pump(srv, conn);
}

/* Effects of an applied txn that do not depend on who proposed it. */
static void applied_side_effects(struct srv *srv, struct srv_conn *proposer, const struct txn *txn)
{
        if (txn->type == TXN_CLOSE_SESSION && srv->result.err == ZOK) {
                if (srv->expiry_ready)
                        sess_expiry_remove(&srv->expiry, txn->session.id);
                struct srv_conn *owner = pipeline_conn_by_session(srv, txn->session.id);
                if (owner != NULL && owner != proposer) {
                        SYN_INFO("session 0x%llx closed (expired): closing %s:%d",
                                 (unsigned long long)txn->session.id, owner->ip, owner->port);
                        pipeline_detach_session(srv, owner);
                        pipeline_close_conn(srv, owner, true);
                }
        }
        if (txn->type == TXN_CREATE_SESSION && srv->result.err == ZOK && srv->expiry_ready &&
            srv->role == RAFT_LEADER)
                sess_expiry_touch(&srv->expiry, txn->session.id, txn->session.timeout_ms,
                                  (int64_t)net_now_ms(&srv->net));
        if (txn->type == TXN_REAP && srv->result.err == ZOK)
                srv->stats.nodes_reaped++;
}

void pipeline_applied(struct srv *srv, struct srv_pending *pending, const struct txn *txn)
{
        struct srv_conn *conn = pending->conn;
        if (txn != NULL)
                applied_side_effects(srv, conn, txn);
        if (conn == NULL)
                return;
        struct pl_item *item = pl_write_applied(&conn->queue, pending->index);
        struct srv_req *r = item->data;
        if (txn == NULL) {
                pipeline_close_conn(srv, conn, false); /* cannot answer in order */
        } else if (item->op == ZK_OP_CREATE_SESSION) {
                session_created(srv, conn);
        } else if (conn->net != NULL) {
                reply_write(srv, conn, item, txn, pending->index);
                pipeline_record_latency(conn, r->recv_ms);
                if (item->op == ZK_OP_CLOSE_SESSION) {
                        pipeline_detach_session(srv, conn);
                        pipeline_close_conn(srv, conn, true);
                }
        }
        req_free(r);
        pump(srv, conn); /* the reads behind it, before the next entry is applied */
        conn_maybe_free(srv, conn);
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
                pipeline_close_conn(srv, conn, false);
                return;
        }
        sessions_touch(srv, conn);
        if (rc == 0 && req.type == ZK_OP_AUTH) {
                handle_auth(srv, conn, &req);
        } else if (rc == 0 && !is_write(req.type) && conn->queue.head == NULL) {
                /* The common read: nothing ahead, answer from the frame without a copy. */
                conn->last_op = req.type;
                reads_run(srv, conn, &req);
                pipeline_record_latency(conn, recv_ms);
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
                handshake(srv, conn, data, len);
                if (conn->state == SRV_CONN_CONNECTING && conn->net != NULL)
                        net_conn_pause_reading(conn->net, true); /* until the session exists */
                break;
        case SRV_CONN_ACTIVE:
                active_frame(srv, conn, data, len);
                break;
        case SRV_CONN_CONNECTING:
        case SRV_CONN_CLOSED:
                break; /* cannot happen: reading is paused / the socket is gone */
        }
}
