/*
 * Sessions on the leader: ids, timeouts, liveness, expiry and the reaping of
 * containers and TTL nodes.
 *
 * Session ids follow ZooKeeper's shape, (serverId << 56) | (start-up ms << 24 >> 8),
 * plus a counter, so ids from different start-ups do not collide. Expiry: every
 * packet touches the session in the expiry queue (a deadline rounded up to a
 * tickTime bucket); the tick pops sessions past their deadline and proposes a
 * CLOSE_SESSION txn for each: the apply path deletes their ephemerals, fires the
 * watches and closes the connection. Reaping works the same way with REAP txns,
 * whose apply re-checks eligibility at the txn's time. Both go through Raft and
 * the ordered apply path, so every replica makes the same change at one zxid.
 */
#include <stdlib.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

uint64_t sessions_new_id(struct srv *srv)
{
        /* Bounded by SESSION_COUNT_MAX live sessions: ids in use are skipped. */
        for (;;) {
                uint64_t base = ((uint64_t)srv->config.server_id << 56) |
                                (((uint64_t)srv->start_ms << 24) >> 8);
                uint64_t id = base + ++srv->session_seq;
                if (session_id_valid(id) && tree_session(&srv->sm.tree, id) == NULL)
                        return id;
        }
}

int32_t sessions_clamp_timeout(const struct srv *srv, int32_t requested_ms)
{
        int64_t t = requested_ms;
        if (t < srv->config.min_session_timeout_ms)
                t = srv->config.min_session_timeout_ms;
        if (t > srv->config.max_session_timeout_ms)
                t = srv->config.max_session_timeout_ms;
        return (int32_t)t;
}

void sessions_touch(struct srv *srv, struct srv_conn *conn)
{
        if (conn->session_id == 0 || conn->state != SRV_CONN_ACTIVE)
                return;
        if (srv->role != RAFT_LEADER) {
                conn->touched = true; /* the next TOUCH batch tells the leader (cluster.c) */
                return;
        }
        if (!srv->expiry_ready)
                return;
        int rc = sess_expiry_touch(&srv->expiry, conn->session_id, conn->timeout_ms,
                                   (int64_t)net_now_ms(&srv->net));
        if (rc != 0)
                SYN_WARN("session 0x%llx not tracked: %s", (unsigned long long)conn->session_id,
                         syn_strerror(rc));
}

/* A new leader gives every session its full timeout from now (as ZooKeeper does). */
void sessions_track_all(struct srv *srv)
{
        struct session **list = NULL;
        uint32_t count = 0;
        if (session_table_sorted(tree_sessions(&srv->sm.tree), &list, &count) != 0) {
                SYN_ERROR("out of memory tracking sessions");
                return;
        }
        int64_t now = (int64_t)net_now_ms(&srv->net);
        for (uint32_t i = 0; i < count; i++)
                sess_expiry_touch(&srv->expiry, list[i]->id, list[i]->timeout_ms, now);
        free(list);
}

/*
 * Proposes CLOSE_SESSION for each session past its deadline. The pop already
 * forgot the id, so when the proposal is refused (SYN_EBUSY: Raft is over its
 * uncommitted bytes) the id goes back with the shortest timeout: its deadline
 * rounds up to the next expiry bucket and a later tick retries. Without that
 * the session would never expire and its ephemerals would stay forever.
 */
static void expire_sessions(struct srv *srv)
{
        uint64_t ids[SRV_EXPIRE_PER_TICK_MAX];
        int64_t now = (int64_t)net_now_ms(&srv->net);
        int32_t n = sess_expiry_pop_expired(&srv->expiry, now, ids, SRV_EXPIRE_PER_TICK_MAX);
        for (int32_t i = 0; i < n; i++) {
                if (tree_session(&srv->sm.tree, ids[i]) == NULL)
                        continue;
                struct txn t = {.type = TXN_CLOSE_SESSION, .session_id = 0};
                t.time_ms = net_wall_ms(&srv->net);
                t.session.id = ids[i];
                if (propose_server_txn(srv, &t) != 0) {
                        int rc = sess_expiry_touch(&srv->expiry, ids[i], 1, now);
                        if (rc != 0)
                                SYN_ERROR("session 0x%llx cannot be retried: %s",
                                          (unsigned long long)ids[i], syn_strerror(rc));
                        continue;
                }
                SYN_INFO("session 0x%llx expired", (unsigned long long)ids[i]);
                srv->stats.sessions_expired++;
        }
}

static void reap_nodes(struct srv *srv)
{
        int64_t now = net_wall_ms(&srv->net);
        int32_t n =
            tree_collect_reapable(&srv->sm.tree, now, &srv->paths, SRV_REAP_NODES_PER_ENTRY_MAX);
        if (n < 0) {
                SYN_WARN("reaping: %s", syn_strerror(n));
                return;
        }
        for (int32_t i = 0; i < n; i++) {
                struct txn t = {.type = TXN_REAP, .session_id = 0};
                t.time_ms = now;
                t.reap.path = srv->paths.items[i].path;
                t.reap.reason = (enum txn_reap_reason)srv->paths.items[i].reason;
                SYN_DEBUG("reaping %.*s", (int)t.reap.path.len, (const char *)t.reap.path.data);
                propose_server_txn(srv, &t);
        }
}

void sessions_tick(struct srv *srv)
{
        int64_t mono = (int64_t)net_now_ms(&srv->net);
        if (mono - srv->last_handshake_scan_ms >= SRV_HANDSHAKE_SCAN_MS) {
                srv->last_handshake_scan_ms = mono;
                conns_close_silent(srv);
        }
        if (srv->role != RAFT_LEADER || srv->fatal)
                return;
        expire_sessions(srv);
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (now - srv->last_reap_ms >= srv->config.reap_interval_ms) {
                srv->last_reap_ms = now;
                reap_nodes(srv);
        }
}
