/*
 * The connection table: every client connection from accept to free.
 *
 * Connections are found by id (watch deliveries name connections by id) and by
 * session (a session is attached to at most one connection). Both are hash
 * chains in fixed bucket arrays. maxClientCnxns is checked against a per-address
 * count kept beside the table (srv.ips), so accepting is O(1) whatever the number
 * of open connections.
 *
 * Lifetime: net's on_close detaches a connection (session map, watches, the
 * waiters of its writes, its queue) and retires it to the dead list; it is freed
 * at the start of the next before_sleep, so no code that is still running can
 * hold a freed pointer. A connection on the stalled list is retired only after
 * the pump has taken it off.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "server/server.h"

static size_t bucket_of(uint64_t key, size_t buckets)
{
        return (size_t)(syn_mix64(key) % buckets);
}

struct srv_conn *conns_by_id(struct srv *srv, uint64_t id)
{
        for (struct srv_conn *c = srv->conns[bucket_of(id, SRV_CONN_BUCKETS)]; c != NULL;
             c = c->hash_next)
                if (c->id == id)
                        return c;
        return NULL;
}

struct srv_conn *conns_by_session(struct srv *srv, uint64_t session_id)
{
        for (struct srv_conn *c = srv->sessions[bucket_of(session_id, SRV_CONN_BUCKETS)]; c != NULL;
             c = c->session_next)
                if (c->session_id == session_id)
                        return c;
        return NULL;
}

void conns_attach_session(struct srv *srv, struct srv_conn *conn)
{
        size_t b = bucket_of(conn->session_id, SRV_CONN_BUCKETS);
        conn->session_next = srv->sessions[b];
        srv->sessions[b] = conn;
}

void conns_detach_session(struct srv *srv, struct srv_conn *conn)
{
        for (struct srv_conn **p = &srv->sessions[bucket_of(conn->session_id, SRV_CONN_BUCKETS)];
             *p != NULL; p = &(*p)->session_next) {
                if (*p == conn) {
                        *p = conn->session_next;
                        conn->session_next = NULL;
                        return;
                }
        }
}

struct txn_auth conns_auth(const struct srv_conn *conn)
{
        struct txn_auth a = {.ids = conn->ids, .id_count = conn->id_count, .super = conn->super};
        return a;
}

/* ---- connections per address ---- */

static struct srv_ip_count **ip_slot(struct srv *srv, const char *ip)
{
        size_t b = (size_t)(syn_hash_bytes(0, ip, strlen(ip)) % SRV_IP_BUCKETS);
        struct srv_ip_count **p = &srv->ips[b];
        while (*p != NULL && strcmp((*p)->ip, ip) != 0)
                p = &(*p)->next;
        return p;
}

static uint32_t ip_count(struct srv *srv, const char *ip)
{
        struct srv_ip_count *e = *ip_slot(srv, ip);
        return e != NULL ? e->count : 0;
}

static int ip_increment(struct srv *srv, const char *ip)
{
        struct srv_ip_count **p = ip_slot(srv, ip);
        if (*p == NULL) {
                struct srv_ip_count *e = calloc(1, sizeof *e);
                if (e == NULL)
                        return SYN_ENOMEM;
                snprintf(e->ip, sizeof e->ip, "%s", ip);
                *p = e;
        }
        (*p)->count++;
        return 0;
}

static void ip_decrement(struct srv *srv, const char *ip)
{
        struct srv_ip_count **p = ip_slot(srv, ip);
        struct srv_ip_count *e = *p;
        SYN_ASSERT(e != NULL);
        SYN_ASSERT(e->count > 0);
        if (--e->count == 0) {
                *p = e->next;
                free(e);
        }
}

/* ---- accept ---- */

bool conns_accept(struct srv *srv, struct net_conn *nc, const char *ip)
{
        if (srv->stopping || srv->conn_count >= SRV_CONNS_MAX) {
                srv->stats.conns_rejected++;
                SYN_WARN("refusing %s: %u connections open", ip, srv->conn_count);
                return false;
        }
        if (srv->config.max_client_cnxns > 0 &&
            ip_count(srv, ip) >= (uint32_t)srv->config.max_client_cnxns) {
                srv->stats.conns_rejected++;
                SYN_WARN("refusing %s: maxClientCnxns (%lld) reached", ip,
                         (long long)srv->config.max_client_cnxns);
                return false;
        }
        struct srv_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL)
                return false;
        snprintf(conn->ip, sizeof conn->ip, "%s", ip);
        if (ip_increment(srv, conn->ip) != 0) {
                free(conn);
                return false;
        }
        conn->id = ++srv->next_conn_id;
        conn->srv = srv;
        conn->net = nc;
        conn->state = SRV_CONN_HANDSHAKE;
        pl_queue_init(&conn->queue, srv->reads_overtaken_max);
        conn->port = nc->port;
        conn->ids[0].scheme = zk_bytes_of("ip");
        conn->ids[0].id = zk_bytes_of(conn->ip);
        conn->id_count = 1;
        conn->established_ms = net_wall_ms(&srv->net);
        conn->accepted_mono_ms = net_now_ms(&srv->net);
        conn->latency_min_ms = -1;
        size_t b = bucket_of(conn->id, SRV_CONN_BUCKETS);
        conn->hash_next = srv->conns[b];
        srv->conns[b] = conn;
        srv->conn_count++;
        nc->user = conn;
        return true;
}

/* ---- close and free ---- */

static void conn_unlink(struct srv *srv, struct srv_conn *conn)
{
        for (struct srv_conn **p = &srv->conns[bucket_of(conn->id, SRV_CONN_BUCKETS)]; *p != NULL;
             p = &(*p)->hash_next) {
                if (*p == conn) {
                        *p = conn->hash_next;
                        break;
                }
        }
        SYN_ASSERT(srv->conn_count > 0);
        srv->conn_count--;
}

static void conn_free(struct srv_conn *conn)
{
        for (int32_t i = 0; i < conn->id_count; i++)
                free(conn->id_strings[i]);
        free(conn);
}

void conns_maybe_free(struct srv *srv, struct srv_conn *conn)
{
        if (conn->state != SRV_CONN_CLOSED || conn->dead || conn->stalled_listed)
                return;
        conn_unlink(srv, conn);
        conn->dead = true;
        conn->hash_next = srv->dead;
        srv->dead = conn;
}

void conns_free_dead(struct srv *srv)
{
        while (srv->dead != NULL) {
                struct srv_conn *conn = srv->dead;
                srv->dead = conn->hash_next;
                conn_free(conn);
        }
}

/* Drops every queued request; writes leave the registry first, so an apply that
 * comes later finds nobody waiting. */
static void drop_queue(struct srv *srv, struct srv_conn *conn)
{
        struct pl_item *item;
        /* Bounded by the queue length. */
        while ((item = pl_pop_any(&conn->queue)) != NULL) {
                struct srv_req *r = item->data;
                registry_remove(srv, &r->waiter);
                readindex_cancel(srv, &r->read_wait);
                pipeline_req_free(r);
        }
}

void conns_closed(struct srv *srv, struct srv_conn *conn)
{
        SYN_ASSERT(conn->state != SRV_CONN_CLOSED);
        if (conn->session_id != 0 && conns_by_session(srv, conn->session_id) == conn)
                conns_detach_session(srv, conn);
        conn->state = SRV_CONN_CLOSED;
        conn->net = NULL;
        ip_decrement(srv, conn->ip);
        if (srv->sm.open)
                watch_drop_conn(&srv->sm.watches, conn->id);
        readindex_cancel(srv, &conn->resume_wait);
        drop_queue(srv, conn);
        conns_maybe_free(srv, conn);
}

void conns_close(struct srv *srv, struct srv_conn *conn, bool flush)
{
        (void)srv;
        if (conn->net != NULL)
                net_conn_close(conn->net, flush); /* calls conns_closed */
}

void conns_close_silent(struct srv *srv)
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
                                conns_close(srv, c, false);
                        }
                        c = next;
                }
        }
}

void conns_free_all(struct srv *srv)
{
        conns_free_dead(srv);
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++) {
                while (srv->conns[b] != NULL) {
                        struct srv_conn *c = srv->conns[b];
                        srv->conns[b] = c->hash_next;
                        drop_queue(srv, c);
                        conn_free(c);
                }
        }
        for (size_t b = 0; b < SRV_IP_BUCKETS; b++) {
                while (srv->ips[b] != NULL) {
                        struct srv_ip_count *e = srv->ips[b];
                        srv->ips[b] = e->next;
                        free(e);
                }
        }
        srv->conn_count = 0;
        srv->stalled = NULL;
}

/* Anywhere in the queue: a write is proposed past the reads queued ahead of it. */
static bool has_write_in_flight(const struct srv_conn *conn)
{
        return conn->queue.in_flight > 0;
}

/* Closes every connection of the table that `doomed` picks; returns how many. */
static uint32_t close_where(struct srv *srv, bool (*doomed)(const struct srv_conn *))
{
        uint32_t closed = 0;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++) {
                struct srv_conn *c = srv->conns[b];
                /* Bounded by the bucket; `next` first because closing unlinks `c`. */
                while (c != NULL) {
                        struct srv_conn *next = c->hash_next;
                        if (c->net != NULL && doomed(c)) {
                                conns_close(srv, c, true);
                                closed++;
                        }
                        c = next;
                }
        }
        return closed;
}

void conns_close_inflight(struct srv *srv, const char *why)
{
        uint32_t n = close_where(srv, has_write_in_flight);
        srv->stats.conns_closed_inflight += n;
        if (n > 0)
                SYN_INFO("%s: closed %u connections with writes in flight", why, n);
}

static bool any(const struct srv_conn *conn)
{
        (void)conn;
        return true;
}

void conns_close_all(struct srv *srv, const char *why)
{
        uint32_t n = close_where(srv, any);
        if (n > 0)
                SYN_INFO("%s: closed %u client connections", why, n);
}

/* ---- output ---- */

void conns_record_latency(struct srv_conn *conn, int64_t recv_ms)
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

void conns_send_reply(struct srv_conn *conn, const struct zk_reply_header *h,
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
