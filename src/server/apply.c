/*
 * Apply: a committed entry becomes a change of the tree, the watch events it
 * fires and the reply of the write that carried it (ZooKeeper's
 * FinalRequestProcessor). Every server runs this for every entry, in log order,
 * at zxid = the entry's index, whoever proposed it.
 *
 * The order within one entry is fixed: tree_apply; watch notifications to every
 * watching connection of this server; the effects that do not depend on who
 * proposed the write (an expired session's connection is closed here); then the
 * waiter registered under the txn's (session id, cxid), if this server has one,
 * gets the result and replies. So a client always sees the notification of its
 * own change before the change's reply, as in ZooKeeper.
 *
 * Watch notifications owed only to persistent or recursive watches are sent
 * only if the connection may READ the node the event is about.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

/* ---- watch notifications ---- */

/*
 * The tree event (of the apply being delivered) a watch delivery came from:
 * watch_trigger points the delivery's path at the tree event's own path
 * string, and the deliveries follow the tree events' order, so a cursor
 * usually finds it at once. NULL if none (then the caller fails closed).
 */
static const struct tree_event *source_event(const struct srv *srv, const struct watch_event *ev,
                                             int32_t *cursor)
{
        const struct tree_events *te = &srv->sm.events;
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
        struct txn_auth auth = conns_auth(conn);
        return tree_acl_check(src->acl, src->acl_count, ZK_PERM_READ, &auth);
}

void apply_deliver_events(struct srv *srv)
{
        int32_t cursor = 0;
        for (size_t i = 0; i < srv->sm.deliveries.count; i++) {
                const struct watch_event *ev = &srv->sm.deliveries.items[i];
                struct srv_conn *conn = conns_by_id(srv, ev->conn_id);
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
        watch_events_reset(&srv->sm.deliveries);
}

/* Connections whose notifications watch_trigger could not queue (out of memory) are
 * closed so no event is lost silently: their clients reconnect and SetWatches
 * re-delivers what they missed. */
static void close_lost_watchers(struct srv *srv)
{
        uint64_t ids[64];
        size_t n;
        /* Bounded: each marked connection is handed out once; closing adds no marks. */
        while ((n = watch_take_lost(&srv->sm.watches, ids, sizeof ids / sizeof ids[0])) > 0) {
                for (size_t i = 0; i < n; i++) {
                        struct srv_conn *conn = conns_by_id(srv, ids[i]);
                        if (conn == NULL || conn->net == NULL)
                                continue;
                        SYN_WARN("closing %s:%d: a watch notification could not be queued",
                                 conn->ip, conn->port);
                        conns_close(srv, conn, false);
                }
        }
}

/* ---- replies of writes ---- */

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
        const struct tree_result *res = &srv->sm.result;
        struct zk_response body = {.type = ZK_OP_MULTI};
        struct zk_response *results = NULL;
        if (res->op_count > 0) {
                results = calloc((size_t)res->op_count, sizeof *results);
                if (results == NULL) {
                        conns_close(srv, conn, false);
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
        conns_send_reply(conn, &h, &body);
        free(results);
}

void apply_reply_write(struct srv *srv, struct srv_conn *conn, int32_t xid, int32_t op,
                       const struct txn *txn, uint64_t zxid)
{
        const struct tree_result *res = &srv->sm.result;
        if (txn->type == TXN_MULTI) {
                reply_multi(srv, conn, xid, zxid);
                return;
        }
        struct zk_reply_header h = {xid, (int64_t)zxid, res->err};
        if (res->err != ZOK || res->op_count < 1 || op == ZK_OP_DELETE) {
                conns_send_reply(conn, &h, NULL);
                return;
        }
        struct zk_response body;
        fill_op_response(&body, &res->ops[0], false);
        body.type = op;
        if (op == ZK_OP_RECONFIG) {
                /* ZooKeeper answers a reconfig with the new configuration and its Stat. */
                const struct tree_node *n = tree_lookup(&srv->sm.tree, "/zookeeper/config", 17);
                SYN_ASSERT(n != NULL);
                body.data = tree_node_data(n);
                tree_node_stat(n, &body.stat);
        }
        conns_send_reply(conn, &h, &body);
}

/* ---- the entry ---- */

/* Whether the applied txn changed /zookeeper/config (the membership). */
static bool touches_membership(const struct srv *srv)
{
        for (int32_t i = 0; i < srv->sm.events.count; i++)
                if (srv->sm.events.items[i].type == ZK_EVENT_NODE_DATA_CHANGED &&
                    members_is_config_path(srv->sm.events.items[i].path))
                        return true;
        return false;
}

/* Effects of an applied txn that do not depend on who proposed it. */
static void side_effects(struct srv *srv, const struct srv_conn *proposer, const struct txn *txn)
{
        if (txn->type == TXN_CLOSE_SESSION && srv->sm.result.err == ZOK) {
                if (srv->expiry_ready)
                        sess_expiry_remove(&srv->expiry, txn->session.id);
                struct srv_conn *owner = conns_by_session(srv, txn->session.id);
                if (owner != NULL && owner != proposer) {
                        SYN_INFO("session 0x%llx closed (expired): closing %s:%d",
                                 (unsigned long long)txn->session.id, owner->ip, owner->port);
                        conns_detach_session(srv, owner);
                        conns_close(srv, owner, true);
                }
        }
        if (txn->type == TXN_CREATE_SESSION && srv->sm.result.err == ZOK && srv->expiry_ready &&
            srv->role == RAFT_LEADER)
                sess_expiry_touch(&srv->expiry, txn->session.id, txn->session.timeout_ms,
                                  (int64_t)net_now_ms(&srv->net));
        if (txn->type == TXN_REAP && srv->sm.result.err == ZOK)
                srv->stats.nodes_reaped++;
}

void apply_effects(struct srv *srv, const struct raft_entry *e, int rc)
{
        if (rc != 0) {
                host_fatal(srv, rc, "applying a committed entry");
                return;
        }
        if (!srv->sm.has_txn)
                return; /* NOOP / CONF: an index, no change of the tree */
        srv->stats.entries_applied++;
        close_lost_watchers(srv);
        apply_deliver_events(srv);
        if (touches_membership(srv))
                members_tree_changed(srv);
        const struct txn *txn = &srv->sm.txn;
        struct srv_waiter *w = registry_take(srv, txn);
        side_effects(srv, w != NULL ? w->conn : NULL, txn);
        if (w != NULL)
                w->on_applied(srv, w, txn, e->index);
}
