/*
 * One collection of the server's state for every reporter: the four-letter words
 * (stats.c), the admin server's /commands and /metrics (admin_host.c). What is
 * collected is the plain input of proto/fourlw.h (struct fourlw_input); the
 * storage behind its pointers lives in a struct report_store owned by the report,
 * so a reporter formats from one consistent picture taken on the loop thread.
 */
#include <dirent.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/err.h"
#include "proto/fourlw.h"
#include "server/server.h"

static uint64_t dir_size(const char *path, int depth)
{
        DIR *d = opendir(path);
        if (d == NULL)
                return 0;
        uint64_t total = 0;
        int seen = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL && seen++ < SRV_DIR_SCAN_ENTRIES_MAX) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                char child[PATH_MAX];
                snprintf(child, sizeof child, "%s/%s", path, de->d_name);
                struct stat st;
                if (lstat(child, &st) != 0)
                        continue;
                if (S_ISDIR(st.st_mode) && depth < SRV_DIR_SCAN_DEPTH_MAX)
                        total += dir_size(child, depth + 1);
                else if (S_ISREG(st.st_mode))
                        total += (uint64_t)st.st_size;
        }
        closedir(d);
        return total;
}

static uint64_t open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        if (d == NULL)
                return 0;
        uint64_t n = 0;
        while (readdir(d) != NULL && n < 1000000)
                n++;
        closedir(d);
        return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

static const char *op_abbrev(int32_t op)
{
        switch (op) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return "CREA";
        case ZK_OP_DELETE:
                return "DELE";
        case ZK_OP_EXISTS:
                return "EXIS";
        case ZK_OP_GET_DATA:
                return "GETD";
        case ZK_OP_SET_DATA:
                return "SETD";
        case ZK_OP_GET_ACL:
                return "GETA";
        case ZK_OP_SET_ACL:
                return "SETA";
        case ZK_OP_GET_CHILDREN:
                return "GETC";
        case ZK_OP_GET_CHILDREN2:
                return "GETC";
        case ZK_OP_SYNC:
                return "SYNC";
        case ZK_OP_PING:
                return "PING";
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                return "MULT";
        case ZK_OP_CLOSE_SESSION:
                return "CLOS";
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                return "SETW";
        default:
                return "NA";
        }
}

struct conn_list {
        struct fourlw_conn *items;
        char (*remotes)[96];
        size_t count;
};

static int collect_conns(struct srv *srv, struct conn_list *out)
{
        out->items = calloc(srv->conn_count + 1, sizeof *out->items);
        out->remotes = calloc(srv->conn_count + 1, sizeof *out->remotes);
        out->count = 0;
        if (out->items == NULL || out->remotes == NULL)
                return SYN_ENOMEM;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++) {
                for (struct srv_conn *c = srv->conns[b]; c != NULL; c = c->hash_next) {
                        if (c->net == NULL || out->count >= srv->conn_count)
                                continue;
                        struct fourlw_conn *f = &out->items[out->count];
                        snprintf(out->remotes[out->count], sizeof out->remotes[0], "%s:%d", c->ip,
                                 c->port);
                        f->remote = out->remotes[out->count];
                        f->interest_ops = c->net->reading ? 1 : 0;
                        f->queued = c->queue.count;
                        f->received = c->packets_received;
                        f->sent = c->packets_sent;
                        f->session_id = c->state == SRV_CONN_ACTIVE ? c->session_id : 0;
                        f->last_op = op_abbrev(c->last_op);
                        f->established_ms = c->established_ms;
                        f->timeout_ms = c->timeout_ms;
                        f->last_cxid = c->last_cxid;
                        f->last_zxid = c->last_zxid;
                        f->last_response_ms = c->last_response_ms;
                        f->last_latency_ms = (uint64_t)c->last_latency_ms;
                        f->latency.count = c->latency_count;
                        f->latency.min_ms = c->latency_min_ms > 0 ? (uint64_t)c->latency_min_ms : 0;
                        f->latency.max_ms = (uint64_t)c->latency_max_ms;
                        f->latency.sum_ms = (uint64_t)c->latency_total_ms;
                        out->count++;
                }
        }
        return 0;
}

/* synod's own mntr rows (fill_server): the fixed ones (their number is checked there),
 * then two per peer (connected, and on the leader its lag behind the commit index). */
enum { EXTRA_METRICS_MAX = 80, PEER_ROWS_MAX = 2 * RAFT_NODES_MAX, PEER_KEY_BYTES = 48 };

struct mntr_extra {
        struct fourlw_metric items[EXTRA_METRICS_MAX + PEER_ROWS_MAX];
        char peer_keys[PEER_ROWS_MAX][PEER_KEY_BYTES]; /* storage of the per-peer keys */
        size_t count;
};

static void extra_int(struct mntr_extra *x, const char *key, int64_t value)
{
        SYN_ASSERT(x->count < sizeof x->items / sizeof x->items[0]);
        struct fourlw_metric *m = &x->items[x->count++];
        m->key = key;
        m->kind = FOURLW_METRIC_INT;
        m->int_value = value;
}

/* Per member: synod_peer_<id>_connected (our link to it is up) and, on the leader,
 * synod_peer_<id>_lag (entries between the commit index and what it holds). */
static void peer_rows(struct srv *srv, struct mntr_extra *x)
{
        uint64_t self = (uint64_t)srv->config.server_id;
        uint64_t commit = raft_commit_index(&srv->raft);
        size_t k = 0;
        for (uint32_t i = 0; i < srv->members.count && srv->peers_ready; i++) {
                uint64_t id = srv->members.m[i].id;
                if (id == self)
                        continue;
                SYN_ASSERT(k + 2 <= PEER_ROWS_MAX);
                snprintf(x->peer_keys[k], PEER_KEY_BYTES, "synod_peer_%llu_connected",
                         (unsigned long long)id);
                extra_int(x, x->peer_keys[k++], net_peer_connected(&srv->peers, id) ? 1 : 0);
                if (srv->role != RAFT_LEADER)
                        continue;
                uint64_t match = raft_match_index(&srv->raft, id);
                snprintf(x->peer_keys[k], PEER_KEY_BYTES, "synod_peer_%llu_lag",
                         (unsigned long long)id);
                extra_int(x, x->peer_keys[k++], match >= commit ? 0 : (int64_t)(commit - match));
        }
}

static enum fourlw_mode server_mode(struct srv *srv)
{
        if (!srv->clustered)
                return FOURLW_MODE_STANDALONE;
        if (srv->role == RAFT_LEADER)
                return FOURLW_MODE_LEADER;
        if (raft_config_is_learner(raft_config(&srv->raft), (uint64_t)srv->config.server_id))
                return FOURLW_MODE_OBSERVER;
        return FOURLW_MODE_FOLLOWER;
}

/* ZooKeeper's leader metrics: followers (voters and learners), and those in sync
 * (their log matches up to the commit index). */
static void count_followers(struct srv *srv, struct fourlw_server *s)
{
        const struct raft_config *c = raft_config(&srv->raft);
        uint64_t commit = raft_commit_index(&srv->raft);
        uint64_t self = (uint64_t)srv->config.server_id;
        for (uint32_t i = 0; i < c->n_voters; i++) {
                if (c->voters[i] == self)
                        continue;
                s->learners++;
                if (raft_match_index(&srv->raft, c->voters[i]) >= commit)
                        s->synced_followers++;
        }
        for (uint32_t i = 0; i < c->n_learners; i++) {
                s->learners++;
                if (raft_match_index(&srv->raft, c->learners[i]) >= commit)
                        s->synced_observers++;
        }
}

/* How close the busiest connection is to the per-connection limits. */
struct conn_peaks {
        uint64_t queued;
        uint64_t output_bytes;
};

static struct conn_peaks conn_peaks(struct srv *srv)
{
        struct conn_peaks p = {0, 0};
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++)
                for (struct srv_conn *c = srv->conns[b]; c != NULL; c = c->hash_next) {
                        if (c->net == NULL)
                                continue;
                        if (c->queue.count > p.queued)
                                p.queued = c->queue.count;
                        size_t out = net_conn_output_bytes(c->net);
                        if (out > p.output_bytes)
                                p.output_bytes = out;
                }
        return p;
}

static void fill_server(struct srv *srv, struct fourlw_server *s, const struct conn_list *conns,
                        struct mntr_extra *extra)
{
        struct conn_peaks peaks = conn_peaks(srv);
        memset(s, 0, sizeof *s);
        s->serving = srv->serving && !srv->fatal;
        s->synod_version = SYNOD_VERSION;
        s->build_date = __DATE__ " " __TIME__;
        s->mode = server_mode(srv);
        if (s->mode == FOURLW_MODE_LEADER) {
                count_followers(srv, s);
                s->leader_uptime_ms = net_now_ms(&srv->net) - (uint64_t)srv->leader_since_ms;
        }
        if (srv->clustered) {
                /* ZooKeeper's quorum_size: the voting members; peer_state its ServerState
                 * and ZabState, which is broadcast once a server serves. */
                s->quorum_size = raft_config(&srv->raft)->n_voters;
                s->peer_state = s->mode == FOURLW_MODE_LEADER     ? "leading - broadcast"
                                : s->mode == FOURLW_MODE_OBSERVER ? "observing - broadcast"
                                : s->serving                      ? "following - broadcast"
                                                                  : "looking - election";
        }
        s->latency.count = srv->stats.latency_count;
        s->latency.min_ms = (uint64_t)srv->stats.latency_min_ms;
        s->latency.max_ms = (uint64_t)srv->stats.latency_max_ms;
        s->latency.sum_ms = (uint64_t)srv->stats.latency_total_ms;
        s->packets_received = srv->stats.packets_received;
        s->packets_sent = srv->stats.packets_sent;
        s->connections = srv->net.conn_count;
        uint64_t outstanding = 0;
        for (size_t i = 0; i < conns->count; i++)
                outstanding += conns->items[i].queued;
        s->outstanding_requests = outstanding;
        s->last_zxid = (int64_t)srv->sm.applied;
        s->node_count = tree_node_count(&srv->sm.tree);
        s->proposal_size_last = s->proposal_size_min = s->proposal_size_max = -1;
        s->conns = conns->items;
        s->conn_count = conns->count;
        struct watch_stats ws;
        watch_get_stats(&srv->sm.watches, &ws);
        s->watch_count = ws.watch_count;
        s->ephemerals_count = tree_ephemeral_count(&srv->sm.tree);
        s->approximate_data_size = tree_data_bytes(&srv->sm.tree);
        s->open_file_descriptor_count = open_fds();
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
                s->max_file_descriptor_count = (uint64_t)rl.rlim_cur;
        s->uptime_ms = (uint64_t)(net_wall_ms(&srv->net) - srv->start_ms);
        s->global_sessions = session_table_count(tree_sessions(&srv->sm.tree));
        s->auth_failed_count = srv->stats.auth_failed;
        /* ZooKeeper counts the fsyncs over fsync.warningthresholdms (1 s by default): the
         * overflow bucket of the WAL's histogram holds exactly those. */
        const struct syn_hist *fsync = &srv->stats.wal.fsync_us;
        SYN_ASSERT(fsync->bound_count == 0 ||
                   fsync->bounds[fsync->bound_count - 1] == WAL_FSYNC_SLOW_US);
        s->fsync_threshold_exceed_count = fsync->counts[fsync->bound_count];
        struct net_peers_stats peer_totals;
        net_peers_totals(&srv->peers, &peer_totals);
        struct {
                const char *key;
                int64_t value;
        } rows[] = {
            {"synod_applied_index", (int64_t)srv->sm.applied},
            {"synod_commit_index", (int64_t)raft_commit_index(&srv->raft)},
            {"synod_raft_term", (int64_t)raft_term(&srv->raft)},
            {"synod_leader_id", (int64_t)srv->leader_id},
            {"synod_peer_messages_sent", (int64_t)srv->stats.peer_msgs_sent},
            {"synod_peer_messages_received", (int64_t)srv->stats.peer_msgs_received},
            {"synod_peer_protocol_errors", (int64_t)srv->stats.peer_protocol_errors},
            {"synod_writes_forwarded", (int64_t)srv->stats.writes_forwarded},
            {"synod_connections_closed_inflight", (int64_t)srv->stats.conns_closed_inflight},
            {"synod_fsync_count", (int64_t)srv->stats.fsync_count},
            {"synod_wal_no_space", srv->wal_no_space},
            {"synod_wal_no_space_stalls", (int64_t)srv->stats.wal_no_space_stalls},
            {"synod_wal_no_space_retry_ms", WAL_NOSPACE_RETRY_MS},
            {"synod_snapshot_retry_ms", SRV_SNAPSHOT_RETRY_MS},
            {"synod_writes_refused_no_space", (int64_t)srv->stats.writes_refused_no_space},
            {"synod_fsync_slow_count", (int64_t)s->fsync_threshold_exceed_count},
            {"synod_fsync_slow_us", WAL_FSYNC_SLOW_US},
            {"synod_snapshots_taken", (int64_t)srv->stats.snapshots_taken},
            {"synod_snapshots_failed", (int64_t)srv->stats.snapshots_failed},
            {"synod_sessions_expired", (int64_t)srv->stats.sessions_expired},
            {"synod_nodes_reaped", (int64_t)srv->stats.nodes_reaped},
            {"synod_connections_rejected", (int64_t)srv->stats.conns_rejected},
            {"synod_requests_throttled", (int64_t)srv->stats.requests_throttled},
            {"synod_reads_before_apply", (int64_t)srv->stats.reads_before_apply},
            {"synod_protocol_errors", (int64_t)srv->net.protocol_errors},
            {"synod_tls_handshakes", (int64_t)srv->net.tls_handshakes},
            {"synod_tls_failures", (int64_t)srv->net.tls_failures},
            {"synod_peer_tls_failures", (int64_t)peer_totals.tls_failures},
            {"synod_backpressure_pauses", (int64_t)srv->net.backpressure_pauses},
            {"synod_watch_rejected", (int64_t)ws.rejected_count},
            {"synod_watch_bytes_rejected", (int64_t)ws.rejected_bytes_count},
            {"synod_watch_bytes_per_conn_max", (int64_t)WATCH_PER_CONN_BYTES_MAX},
            {"synod_conn_queued_bytes_max", SRV_CONN_QUEUED_BYTES_MAX},
            {"synod_max_client_cnxns", srv->config.max_client_cnxns},
            {"synod_max_connections", SRV_CONNS_MAX},
            {"synod_max_frame_bytes", srv->config.jute_max_buffer},
            {"synod_conn_requests_inflight_max", SRV_CONN_REQUESTS_INFLIGHT_MAX},
            {"synod_conn_output_bytes_soft_max", NET_CONN_OUTPUT_BYTES_SOFT_MAX},
            {"synod_conn_output_bytes_hard_max", NET_CONN_OUTPUT_BYTES_HARD_MAX},
            {"synod_conn_reads_overtaken_max", srv->reads_overtaken_max},
            {"synod_watches_per_conn_max", WATCH_PER_CONN_MAX},
            {"synod_snap_count", srv->config.snap_count},
            {"synod_snap_size_limit_kb", srv->config.snap_size_limit_kb},
            {"synod_logged_bytes_since_snapshot", (int64_t)srv->logged_bytes},
            {"synod_election_timeout_ms", srv->config.election_timeout_ms},
            {"synod_heartbeat_interval_ms", srv->config.heartbeat_interval_ms},
            {"synod_membership_version", (int64_t)srv->members.version},
            {"synod_members", (int64_t)srv->members.count},
            {"synod_peer_output_bytes_max", PEER_OUTPUT_BYTES_MAX},
            {"synod_peer_tcp_user_timeout_ms", PEER_TCP_USER_TIMEOUT_MS},
            {"synod_forward_batch_bytes_max", SRV_FORWARD_BATCH_BYTES_MAX},
            {"synod_read_waits", (int64_t)srv->read_waits_count},
            {"synod_conn_requests_inflight_peak", (int64_t)peaks.queued},
            {"synod_conn_output_bytes_peak", (int64_t)peaks.output_bytes},
            {"synod_watches_per_conn_peak", (int64_t)ws.conn_watch_peak},
            {"synod_watch_bytes_per_conn_peak", (int64_t)ws.conn_bytes_peak},
            {"synod_admin_requests", (int64_t)srv->stats.admin_requests},
            {"synod_admin_refused", (int64_t)srv->stats.admin_refused},
            {"synod_backups_sent", (int64_t)srv->stats.backups_sent},
            {"synod_admin_connections_max", ADMIN_CONNECTIONS_MAX},
            {"synod_admin_response_bytes_max", ADMIN_RESPONSE_BYTES_MAX},
            {"synod_client_memory_bytes", (int64_t)srv->net.client_bytes},
            {"synod_client_memory_max", (int64_t)srv->net.options.client_memory_max},
            {"synod_client_memory_pauses", (int64_t)srv->net.budget_pauses},
            {"synod_client_memory_evictions", (int64_t)srv->net.budget_evictions},
            {"synod_conn_small_bytes", NET_CONN_SMALL_BYTES},
            {"synod_conn_output_stuck_ms", NET_CONN_OUTPUT_STUCK_MS},
            {"synod_fourlw_output_bytes_max", NET_FOURLW_OUTPUT_BYTES_MAX},
            {"synod_fourlw_refused", (int64_t)srv->stats.fourlw_refused},
            {"synod_fourlw_truncated", (int64_t)srv->stats.fourlw_truncated},
            {"synod_malloc_trims", (int64_t)srv->stats.malloc_trims},
        };
        _Static_assert(sizeof rows / sizeof rows[0] <= EXTRA_METRICS_MAX, "mntr rows fit");
        extra->count = 0;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
                extra_int(extra, rows[i].key, rows[i].value);
        peer_rows(srv, extra);
        s->extra_metrics = extra->items;
        s->extra_metric_count = extra->count;
}

/* conf's extra lines: synod's own keys, the quorum keys and a line per server. */
enum { CONF_LINES_MAX = 80 };

struct conf_lines {
        char lines[CONF_LINES_MAX][SRV_CONFIG_STRING_BYTES_MAX + 64];
        const char *ptrs[CONF_LINES_MAX];
        size_t count;
        bool membership_shown;
};

static void conf_emit(void *arg, const char *key, const char *value)
{
        static const char *const standard[] = {
            "tickTime",          "dataDir",           "dataLogDir",        "clientPort",
            "clientPortAddress", "minSessionTimeout", "maxSessionTimeout", "maxClientCnxns",
            "serverId",          "secureClientPort",
        };
        struct conf_lines *c = arg;
        for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
                if (strcmp(key, standard[i]) == 0)
                        return;
        /* ZooKeeper 3.8 prints "membership: " before the server lines; two rows at most. */
        bool first_server = strncmp(key, "server.", 7) == 0 && !c->membership_shown;
        SYN_ASSERT(c->count + (first_server ? 2 : 1) <= CONF_LINES_MAX);
        if (first_server) {
                c->membership_shown = true;
                snprintf(c->lines[c->count], sizeof c->lines[0], "membership: ");
                c->ptrs[c->count] = c->lines[c->count];
                c->count++;
        }
        snprintf(c->lines[c->count], sizeof c->lines[0], "%s=%s", key, value);
        c->ptrs[c->count] = c->lines[c->count];
        c->count++;
}

/* envi's fields: uname, the user, the working directory. */
struct env_store {
        char host[256];
        struct utsname u;
        char cwd[PATH_MAX];
        struct fourlw_env env;
};

static void fill_env(struct env_store *e)
{
        snprintf(e->host, sizeof e->host, "localhost");
        gethostname(e->host, sizeof e->host - 1);
        memset(&e->u, 0, sizeof e->u);
        uname(&e->u);
        if (getcwd(e->cwd, sizeof e->cwd) == NULL)
                e->cwd[0] = '\0';
        struct passwd *pw = getpwuid(getuid());
        e->env = (struct fourlw_env){
            .host_name = e->host,
            .os_name = e->u.sysname,
            .os_arch = e->u.machine,
            .os_version = e->u.release,
            .user_name = pw ? pw->pw_name : "",
            .user_home = pw ? pw->pw_dir : "",
            .user_dir = e->cwd,
        };
}

static void fill_conf(struct srv *srv, struct conf_lines *lines, struct fourlw_conf *conf)
{
        srv_config_each(&srv->config, conf_emit, lines);
        const struct srv_config *c = &srv->config;
        *conf = (struct fourlw_conf){
            .client_port = net_port(&srv->net),
            .secure_client_port = srv->client_tls != NULL ? net_secure_port(&srv->net) : -1,
            .data_dir = c->data_dir,
            .data_dir_size = dir_size(c->data_dir, 0),
            .data_log_dir = c->data_log_dir,
            .data_log_size = dir_size(c->data_log_dir, 0),
            .tick_time_ms = (int32_t)c->tick_time_ms,
            .max_client_cnxns = (int32_t)c->max_client_cnxns,
            .min_session_timeout_ms = (int32_t)c->min_session_timeout_ms,
            .max_session_timeout_ms = (int32_t)c->max_session_timeout_ms,
            .client_port_listen_backlog = NET_LISTEN_BACKLOG,
            .server_id = c->server_id,
            .extra_lines = lines->ptrs,
            .extra_line_count = lines->count,
        };
}

struct deadline_id {
        int64_t deadline_ms;
        uint64_t id;
};

static int deadline_cmp(const void *a, const void *b)
{
        const struct deadline_id *x = a, *y = b;
        if (x->deadline_ms != y->deadline_ms)
                return x->deadline_ms < y->deadline_ms ? -1 : 1;
        return x->id < y->id ? -1 : (x->id > y->id);
}

/* Groups the sessions by expiry deadline (ZooKeeper's buckets); ids[] is reordered to match.
 * Returns the bucket count. */
static size_t fill_buckets(struct srv *srv, struct session **list, uint32_t count, uint64_t *ids,
                           struct fourlw_session_bucket *buckets, struct deadline_id *order)
{
        int64_t wall_offset = net_wall_ms(&srv->net) - (int64_t)net_now_ms(&srv->net);
        for (uint32_t i = 0; i < count; i++) {
                int64_t d =
                    srv->expiry_ready ? sess_expiry_deadline(&srv->expiry, list[i]->id) : -1;
                order[i].deadline_ms = d >= 0 ? d + wall_offset : 0;
                order[i].id = list[i]->id;
        }
        qsort(order, count, sizeof *order, deadline_cmp);
        size_t n = 0;
        for (uint32_t i = 0; i < count; i++) {
                ids[i] = order[i].id;
                if (n == 0 || buckets[n - 1].expire_at_ms != order[i].deadline_ms) {
                        buckets[n].expire_at_ms = order[i].deadline_ms;
                        buckets[n].session_ids = &ids[i];
                        buckets[n].count = 0;
                        n++;
                }
                buckets[n - 1].count++;
        }
        return n;
}

/* dump: sessions by expiry bucket, then the ephemerals of each session. */
/* dump's storage: sessions grouped by expiry deadline, the ephemerals of each. */
struct dump_store {
        struct session **list;
        uint32_t count;
        struct fourlw_session_bucket *buckets;
        uint64_t *ids;
        struct deadline_id *order;
        struct fourlw_ephemerals *eph;
        const char **paths;
        char **owned;
        size_t used;
};

static void dump_store_free(struct dump_store *d)
{
        for (size_t i = 0; i < d->used; i++)
                free(d->owned[i]);
        free(d->owned);
        free(d->paths);
        free(d->order);
        free(d->eph);
        free(d->ids);
        free(d->buckets);
        free(d->list);
        memset(d, 0, sizeof *d);
}

/* The ephemeral paths of every session that has some, copied (the tree's path buffer is
 * reused). Returns how many sessions have ephemerals. */
static size_t fill_ephemerals(struct srv *srv, struct dump_store *d, size_t path_total)
{
        struct tree_paths tp;
        tree_paths_init(&tp);
        size_t eph_count = 0;
        /* The answer is cut at NET_FOURLW_OUTPUT_BYTES_MAX: paths beyond it are not copied. */
        size_t path_bytes = 0;
        for (uint32_t i = 0;
             i < d->count && d->used <= path_total && path_bytes < NET_FOURLW_OUTPUT_BYTES_MAX;
             i++) {
                if (d->list[i]->ephemeral_count == 0)
                        continue;
                int32_t n = tree_session_ephemerals(&srv->sm.tree, d->list[i]->id, "/", 1, &tp,
                                                    (int32_t)(path_total - d->used));
                if (n <= 0)
                        continue;
                d->eph[eph_count].session_id = d->list[i]->id;
                d->eph[eph_count].paths = d->paths + d->used;
                d->eph[eph_count].count = (size_t)n;
                for (int32_t k = 0; k < n; k++) {
                        d->owned[d->used] = strndup((const char *)tp.items[k].path.data,
                                                    (size_t)tp.items[k].path.len);
                        d->paths[d->used] = d->owned[d->used] ? d->owned[d->used] : "";
                        path_bytes += (size_t)tp.items[k].path.len + 2;
                        d->used++;
                }
                eph_count++;
        }
        tree_paths_close(&tp);
        return eph_count;
}

static int fill_dump(struct srv *srv, struct dump_store *d, struct fourlw_dump *out)
{
        if (session_table_sorted(tree_sessions(&srv->sm.tree), &d->list, &d->count) != 0)
                return SYN_ENOMEM;
        d->buckets = calloc(d->count + 1, sizeof *d->buckets);
        d->ids = calloc(d->count + 1, sizeof *d->ids);
        d->order = calloc(d->count + 1, sizeof *d->order);
        d->eph = calloc(d->count + 1, sizeof *d->eph);
        size_t path_total = 0;
        for (uint32_t i = 0; i < d->count; i++)
                path_total += d->list[i]->ephemeral_count;
        d->paths = calloc(path_total + 1, sizeof *d->paths);
        d->owned = calloc(path_total + 1, sizeof *d->owned);
        if (d->buckets == NULL || d->ids == NULL || d->order == NULL || d->eph == NULL ||
            d->paths == NULL || d->owned == NULL)
                return SYN_ENOMEM;
        *out = (struct fourlw_dump){0};
        out->session_buckets = d->buckets;
        out->session_bucket_count =
            fill_buckets(srv, d->list, d->count, d->ids, d->buckets, d->order);
        out->ephemerals = d->eph;
        out->ephemerals_count = fill_ephemerals(srv, d, path_total);
        return SYN_OK;
}

/* wchc / wchp: the (session, path) pairs in the order the word prints them. */
static int fill_watch_pairs(struct srv *srv, bool by_session, struct watch_pair **pairs,
                            struct fourlw_watch_pair **out, size_t *count)
{
        int rc = watch_list(&srv->sm.watches, by_session ? WATCH_BY_SESSION : WATCH_BY_PATH, pairs,
                            count);
        if (rc != 0)
                return rc;
        *out = calloc(*count + 1, sizeof **out);
        if (*out == NULL)
                return SYN_ENOMEM;
        for (size_t i = 0; i < *count; i++) {
                (*out)[i].session_id = (*pairs)[i].session_id;
                (*out)[i].path = (*pairs)[i].path;
                (*out)[i].path_len = (*pairs)[i].path_len;
        }
        return SYN_OK;
}

struct report_store {
        struct conn_list conns;
        struct mntr_extra extra;
        struct conf_lines conf_lines;
        struct fourlw_conf conf;
        struct env_store env;
        struct watch_pair *pairs;
        struct fourlw_watch_pair *watch_pairs;
        struct dump_store dump_store;
        struct fourlw_dump dump;
};

static int collect_parts(struct srv *srv, unsigned parts, struct srv_report *r)
{
        struct report_store *st = r->store;
        struct fourlw_input *in = &r->in;
        if (parts & SRV_REPORT_CONF) {
                fill_conf(srv, &st->conf_lines, &st->conf);
                in->conf = &st->conf;
        }
        if (parts & SRV_REPORT_ENV) {
                fill_env(&st->env);
                in->env = &st->env.env;
        }
        if (parts & (SRV_REPORT_BY_SESSION | SRV_REPORT_BY_PATH)) {
                int rc = fill_watch_pairs(srv, (parts & SRV_REPORT_BY_SESSION) != 0, &st->pairs,
                                          &st->watch_pairs, &in->watch_pair_count);
                if (rc != SYN_OK)
                        return rc;
                in->watch_pairs = st->watch_pairs;
        }
        if (parts & SRV_REPORT_DUMP) {
                int rc = fill_dump(srv, &st->dump_store, &st->dump);
                if (rc != SYN_OK)
                        return rc;
                in->dump = &st->dump;
        }
        if (parts & SRV_REPORT_DIRS) {
                in->data_dir_size = dir_size(srv->config.data_dir, 0);
                in->log_dir_size = dir_size(srv->config.data_log_dir, 0);
        }
        return SYN_OK;
}

unsigned srv_report_parts(enum fourlw_cmd word)
{
        switch (word) {
        case FOURLW_CONF:
                return SRV_REPORT_CONF;
        case FOURLW_ENVI:
                return SRV_REPORT_ENV;
        case FOURLW_WCHC:
                return SRV_REPORT_BY_SESSION;
        case FOURLW_WCHP:
                return SRV_REPORT_BY_PATH;
        case FOURLW_DUMP:
                return SRV_REPORT_DUMP;
        case FOURLW_DIRS:
                return SRV_REPORT_DIRS;
        default:
                return 0;
        }
}

int srv_report_collect(struct srv *srv, unsigned parts, struct srv_report *r)
{
        memset(r, 0, sizeof *r);
        SYN_ASSERT(!((parts & SRV_REPORT_BY_SESSION) && (parts & SRV_REPORT_BY_PATH)));
        r->store = calloc(1, sizeof *r->store);
        if (r->store == NULL)
                return SYN_ENOMEM;
        int rc = collect_conns(srv, &r->store->conns);
        if (rc == SYN_OK) {
                fill_server(srv, &r->server, &r->store->conns, &r->store->extra);
                r->in.server = &r->server;
                struct watch_stats ws;
                watch_get_stats(&srv->sm.watches, &ws);
                r->in.watch_summary.connections = ws.conn_count;
                r->in.watch_summary.paths = ws.path_count;
                r->in.watch_summary.watches = ws.watch_count;
                rc = collect_parts(srv, parts, r);
        }
        if (rc != SYN_OK)
                srv_report_free(r);
        return rc;
}

void srv_report_free(struct srv_report *r)
{
        struct report_store *st = r->store;
        if (st != NULL) {
                free(st->conns.items);
                free(st->conns.remotes);
                free(st->watch_pairs);
                free(st->pairs);
                dump_store_free(&st->dump_store);
                free(st);
        }
        memset(r, 0, sizeof *r);
}

void srv_report_reset(struct srv *srv, bool server_stats, bool conn_stats)
{
        if (server_stats) {
                srv->stats.packets_received = srv->stats.packets_sent = 0;
                srv->stats.latency_count = 0;
                srv->stats.latency_min_ms = srv->stats.latency_max_ms = 0;
                srv->stats.latency_total_ms = 0;
        }
        if (!conn_stats)
                return;
        for (size_t b = 0; b < SRV_CONN_BUCKETS; b++)
                for (struct srv_conn *c = srv->conns[b]; c != NULL; c = c->hash_next) {
                        c->packets_received = c->packets_sent = 0;
                        c->latency_count = 0;
                        c->latency_min_ms = -1;
                        c->latency_max_ms = c->latency_total_ms = 0;
                }
}

/* ---- request latency per operation ---- */

enum srv_op_class srv_op_class_of(int32_t op)
{
        switch (op) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return SRV_OP_CREATE;
        case ZK_OP_DELETE:
                return SRV_OP_DELETE;
        case ZK_OP_EXISTS:
                return SRV_OP_EXISTS;
        case ZK_OP_GET_DATA:
                return SRV_OP_GET_DATA;
        case ZK_OP_SET_DATA:
                return SRV_OP_SET_DATA;
        case ZK_OP_GET_ACL:
                return SRV_OP_GET_ACL;
        case ZK_OP_SET_ACL:
                return SRV_OP_SET_ACL;
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
                return SRV_OP_GET_CHILDREN;
        case ZK_OP_SYNC:
                return SRV_OP_SYNC;
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                return SRV_OP_MULTI;
        case ZK_OP_PING:
                return SRV_OP_PING;
        case ZK_OP_CLOSE_SESSION:
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                return SRV_OP_SESSION;
        default:
                return SRV_OP_OTHER;
        }
}

const char *srv_op_class_name(enum srv_op_class c)
{
        static const char *const names[SRV_OP_CLASS_COUNT] = {
            [SRV_OP_CREATE] = "create",    [SRV_OP_DELETE] = "delete",
            [SRV_OP_EXISTS] = "exists",    [SRV_OP_GET_DATA] = "getData",
            [SRV_OP_SET_DATA] = "setData", [SRV_OP_GET_ACL] = "getACL",
            [SRV_OP_SET_ACL] = "setACL",   [SRV_OP_GET_CHILDREN] = "getChildren",
            [SRV_OP_SYNC] = "sync",        [SRV_OP_MULTI] = "multi",
            [SRV_OP_PING] = "ping",        [SRV_OP_SESSION] = "session",
            [SRV_OP_OTHER] = "other",
        };
        SYN_ASSERT(c < SRV_OP_CLASS_COUNT);
        return names[c];
}

/* Request latencies are whole ms (the loop's clock); snapshots take ms to minutes. */
static const uint64_t latency_ms_bounds[] = {0,   1,   2,   5,    10,   25,   50,
                                             100, 250, 500, 1000, 2500, 5000, 10000};
static const uint64_t snapshot_ms_bounds[] = {10,   50,   100,   250,   500,   1000,
                                              2500, 5000, 10000, 30000, 60000, 300000};

void srv_report_init_stats(struct srv *srv)
{
        const uint32_t n = sizeof latency_ms_bounds / sizeof latency_ms_bounds[0];
        for (int c = 0; c < SRV_OP_CLASS_COUNT; c++)
                syn_hist_init(&srv->stats.op_latency_ms[c], latency_ms_bounds, n);
        syn_hist_init(&srv->stats.read_latency_ms, latency_ms_bounds, n);
        syn_hist_init(&srv->stats.update_latency_ms, latency_ms_bounds, n);
        syn_hist_init(&srv->stats.snapshot_ms, snapshot_ms_bounds,
                      sizeof snapshot_ms_bounds / sizeof snapshot_ms_bounds[0]);
}
