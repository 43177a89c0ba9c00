/*
 * The AdminServer commands: names and aliases, and their JSON answers (jansson),
 * with ZooKeeper 3.8's field names and types so its tools parse them (the
 * admin tests compare every field with a live ZooKeeper 3.8). The numbers are the
 * four-letter words' input (proto/fourlw.h): each answer is the JSON twin of a
 * word. Session ids are Java longs there: written signed, as ZooKeeper does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "admin/json.h"
#include "base/assert.h"
#include "base/err.h"

struct cmd_row {
        const char *names[4]; /* primary first, NULL-terminated */
        enum fourlw_cmd word;
        bool needs_auth;
        bool needs_serving;
};

static const struct cmd_row rows[ADMIN_CMD_COUNT] = {
    [ADMIN_CMD_CONNECTION_STAT_RESET] = {{"connection_stat_reset", "crst"},
                                         FOURLW_CRST,
                                         true,
                                         true},
    [ADMIN_CMD_CONFIGURATION] = {{"configuration", "conf", "config"}, FOURLW_CONF, true, true},
    [ADMIN_CMD_CONNECTIONS] = {{"connections", "cons"}, FOURLW_CONS, true, true},
    [ADMIN_CMD_DIRS] = {{"dirs"}, FOURLW_DIRS, false, true},
    [ADMIN_CMD_DUMP] = {{"dump"}, FOURLW_DUMP, true, true},
    [ADMIN_CMD_ENVIRONMENT] = {{"environment", "env", "envi"}, FOURLW_ENVI, true, false},
    [ADMIN_CMD_IS_READ_ONLY] = {{"is_read_only", "isro"}, FOURLW_ISRO, false, true},
    [ADMIN_CMD_LAST_SNAPSHOT] = {{"last_snapshot", "lsnp"}, FOURLW_UNKNOWN, false, true},
    [ADMIN_CMD_LEADER] = {{"leader", "lead"}, FOURLW_UNKNOWN, false, true},
    [ADMIN_CMD_MONITOR] = {{"monitor", "mntr"}, FOURLW_MNTR, false, false},
    [ADMIN_CMD_RUOK] = {{"ruok"}, FOURLW_RUOK, false, true},
    [ADMIN_CMD_SERVER_STATS] = {{"server_stats", "srvr"}, FOURLW_SRVR, false, true},
    [ADMIN_CMD_STATS] = {{"stats", "stat"}, FOURLW_STAT, true, true},
    [ADMIN_CMD_STAT_RESET] = {{"stat_reset", "srst"}, FOURLW_SRST, true, true},
    [ADMIN_CMD_VOTING_VIEW] = {{"voting_view"}, FOURLW_UNKNOWN, false, true},
    [ADMIN_CMD_WATCHES] = {{"watches", "wchc"}, FOURLW_WCHC, true, true},
    [ADMIN_CMD_WATCHES_BY_PATH] = {{"watches_by_path", "wchp"}, FOURLW_WCHP, true, true},
    [ADMIN_CMD_WATCH_SUMMARY] = {{"watch_summary", "wchs"}, FOURLW_WCHS, false, true},
    [ADMIN_CMD_ZABSTATE] = {{"zabstate"}, FOURLW_UNKNOWN, false, false},
};

enum admin_cmd admin_cmd_lookup(const char *name)
{
        for (int c = ADMIN_CMD_UNKNOWN + 1; c < ADMIN_CMD_COUNT; c++)
                for (int i = 0; i < 4 && rows[c].names[i] != NULL; i++)
                        if (strcmp(name, rows[c].names[i]) == 0)
                                return (enum admin_cmd)c;
        return ADMIN_CMD_UNKNOWN;
}

static const struct cmd_row *row(enum admin_cmd cmd)
{
        SYN_ASSERT(cmd > ADMIN_CMD_UNKNOWN && cmd < ADMIN_CMD_COUNT);
        return &rows[cmd];
}

const char *admin_cmd_name(enum admin_cmd cmd)
{
        return row(cmd)->names[0];
}

enum fourlw_cmd admin_cmd_fourlw(enum admin_cmd cmd)
{
        return row(cmd)->word;
}

bool admin_cmd_needs_auth(enum admin_cmd cmd)
{
        return row(cmd)->needs_auth;
}

bool admin_cmd_needs_serving(enum admin_cmd cmd)
{
        return row(cmd)->needs_serving;
}

static uint64_t lat_min(const struct fourlw_latency *l)
{
        return l->count == 0 ? 0 : l->min_ms;
}

static uint64_t lat_max(const struct fourlw_latency *l)
{
        return l->count == 0 ? 0 : l->max_ms;
}

/* ZooKeeper's BufferStats: -1 where nothing was measured (synod does not keep reply
 * sizes; proposals it does on the leader). */
static json_t *buffer_stats(int64_t last, int64_t min, int64_t max)
{
        json_t *o = json_object();
        put_int(o, "last_buffer_size", last);
        put_int(o, "min_buffer_size", min);
        put_int(o, "max_buffer_size", max);
        return o;
}

static json_t *server_stats(const struct fourlw_input *in)
{
        const struct fourlw_server *s = in->server;
        json_t *o = json_object();
        put_int(o, "packets_sent", (int64_t)s->packets_sent);
        put_int(o, "packets_received", (int64_t)s->packets_received);
        put_int(o, "fsync_threshold_exceed_count", (int64_t)s->fsync_threshold_exceed_count);
        put(o, "client_response_stats", buffer_stats(-1, -1, -1));
        put_int(o, "data_dir_size", (int64_t)in->data_dir_size);
        put_int(o, "log_dir_size", (int64_t)in->log_dir_size);
        put(o, "provider_null", json_false());
        put_str(o, "server_state", fourlw_mode_name(s->mode));
        put_int(o, "last_processed_zxid", s->last_zxid);
        put_int(o, "outstanding_requests", (int64_t)s->outstanding_requests);
        put(o, "avg_latency", json_real(fourlw_latency_avg(&s->latency)));
        put_int(o, "max_latency", (int64_t)lat_max(&s->latency));
        put_int(o, "min_latency", (int64_t)lat_min(&s->latency));
        put_int(o, "num_alive_client_connections", (int64_t)s->connections);
        put_int(o, "auth_failed_count", (int64_t)s->auth_failed_count);
        put_int(o, "non_mtlsremote_conn_count", 0);
        put_int(o, "non_mtlslocal_conn_count", 0);
        put_int(o, "uptime", (int64_t)s->uptime_ms);
        return o;
}

static json_t *connection(const struct fourlw_conn *c, bool brief)
{
        json_t *o = json_object();
        put_str(o, "remote_socket_address", c->remote);
        put_int(o, "interest_ops", c->interest_ops);
        put_int(o, "outstanding_requests", (int64_t)c->queued);
        put_int(o, "packets_received", (int64_t)c->received);
        put_int(o, "packets_sent", (int64_t)c->sent);
        if (brief || c->session_id == 0)
                return o;
        put_int(o, "session_id", (int64_t)c->session_id);
        put_str(o, "last_operation", c->last_op);
        put_int(o, "established", c->established_ms);
        put_int(o, "session_timeout", c->timeout_ms);
        put_int(o, "last_cxid", c->last_cxid);
        put_int(o, "last_zxid", c->last_zxid);
        put_int(o, "last_response_time", c->last_response_ms);
        put_int(o, "last_latency", (int64_t)c->last_latency_ms);
        put_int(o, "min_latency", (int64_t)lat_min(&c->latency));
        uint64_t avg = c->latency.count == 0 ? 0 : c->latency.sum_ms / c->latency.count;
        put_int(o, "avg_latency", (int64_t)avg);
        put_int(o, "max_latency", (int64_t)lat_max(&c->latency));
        return o;
}

static void put_connections(json_t *o, const struct fourlw_server *s, bool brief)
{
        json_t *list = json_array();
        for (size_t i = 0; i < s->conn_count; i++)
                json_array_append_new(list, connection(&s->conns[i], brief));
        put(o, "connections", list);
        put(o, "secure_connections", json_array());
}

static void put_srvr(json_t *o, const struct fourlw_input *in, bool with_connections)
{
        const struct fourlw_server *s = in->server;
        char version[256];
        fourlw_full_version(version, sizeof version, s);
        put_str(o, "version", version);
        put(o, "read_only", json_boolean(s->mode == FOURLW_MODE_READ_ONLY));
        put(o, "server_stats", server_stats(in));
        put(o, "client_response", buffer_stats(-1, -1, -1));
        if (s->mode == FOURLW_MODE_LEADER)
                put(o, "proposal_stats",
                    buffer_stats(s->proposal_size_last, s->proposal_size_min,
                                 s->proposal_size_max));
        put_int(o, "node_count", (int64_t)s->node_count);
        if (with_connections)
                put_connections(o, s, true);
}

static void monitor_row(void *arg, const struct fourlw_metric *m)
{
        json_t *o = arg;
        switch (m->kind) {
        case FOURLW_METRIC_INT:
                put_int(o, m->key, m->int_value);
                return;
        case FOURLW_METRIC_FLOAT:
                put(o, m->key, json_real(m->float_value));
                return;
        case FOURLW_METRIC_TEXT:
                put_str(o, m->key, m->text_value);
                return;
        }
        SYN_UNREACHABLE();
}

static void put_conf(json_t *o, const struct fourlw_conf *c)
{
        SYN_ASSERT(c != NULL);
        put_int(o, "client_port", c->client_port);
        put_str(o, "data_dir", c->data_dir);
        put_str(o, "data_log_dir", c->data_log_dir);
        put_int(o, "tick_time", c->tick_time_ms);
        put_int(o, "max_client_cnxns", c->max_client_cnxns);
        put_int(o, "min_session_timeout", c->min_session_timeout_ms);
        put_int(o, "max_session_timeout", c->max_session_timeout_ms);
        put_int(o, "server_id", c->server_id);
        put_int(o, "client_port_listen_backlog", c->client_port_listen_backlog);
}

static void put_env(json_t *o, const struct fourlw_server *s, const struct fourlw_env *e)
{
        SYN_ASSERT(e != NULL);
        char version[256];
        fourlw_full_version(version, sizeof version, s);
        put_str(o, "zookeeper.version", version);
        put_str(o, "synod.version", s->synod_version);
        put_str(o, "host.name", e->host_name);
        put_str(o, "os.name", e->os_name);
        put_str(o, "os.arch", e->os_arch);
        put_str(o, "os.version", e->os_version);
        put_str(o, "user.name", e->user_name);
        put_str(o, "user.home", e->user_home);
        put_str(o, "user.dir", e->user_dir);
}

static void id_key(char *buf, size_t cap, uint64_t id)
{
        snprintf(buf, cap, "%" PRId64, (int64_t)id);
}

/* A json_array under key in o, created on first use. */
static json_t *array_at(json_t *o, const char *key)
{
        json_t *a = json_object_get(o, key);
        if (a == NULL) {
                a = json_array();
                put(o, key, a);
        }
        return a;
}

static json_t *watches(const struct fourlw_input *in, bool by_session)
{
        json_t *o = json_object();
        char key[32];
        for (size_t i = 0; i < in->watch_pair_count; i++) {
                const struct fourlw_watch_pair *p = &in->watch_pairs[i];
                if (by_session) {
                        id_key(key, sizeof key, p->session_id);
                        json_array_append_new(array_at(o, key), json_stringn(p->path, p->path_len));
                        continue;
                }
                char *path = strndup(p->path, p->path_len);
                if (path == NULL)
                        continue;
                json_array_append_new(array_at(o, path), json_integer((json_int_t)p->session_id));
                free(path);
        }
        return o;
}

static void put_dump(json_t *o, const struct fourlw_dump *d)
{
        SYN_ASSERT(d != NULL);
        json_t *expiry = json_object();
        char key[32];
        for (size_t i = 0; i < d->session_bucket_count; i++) {
                const struct fourlw_session_bucket *b = &d->session_buckets[i];
                snprintf(key, sizeof key, "%" PRId64, b->expire_at_ms);
                json_t *ids = array_at(expiry, key);
                for (size_t j = 0; j < b->count; j++)
                        json_array_append_new(ids, json_integer((json_int_t)b->session_ids[j]));
        }
        json_t *eph = json_object();
        for (size_t i = 0; i < d->ephemerals_count; i++) {
                const struct fourlw_ephemerals *e = &d->ephemerals[i];
                id_key(key, sizeof key, e->session_id);
                json_t *paths = array_at(eph, key);
                for (size_t j = 0; j < e->count; j++)
                        json_array_append_new(paths, json_string(e->paths[j]));
        }
        put(o, "expiry_time_to_session_ids", expiry);
        put(o, "session_id_to_ephemeral_paths", eph);
}

static void host_port(char *buf, size_t cap, const char *host, int32_t port)
{
        snprintf(buf, cap, strchr(host, ':') != NULL ? "[%s]:%" PRId32 : "%s:%" PRId32, host, port);
}

static json_t *one_string(const char *s)
{
        json_t *a = json_array();
        json_array_append_new(a, json_string(s));
        return a;
}

/* ZooKeeper 3.8.0's voting_view entry (its QuorumServer as JSON). */
static json_t *member_view(const struct admin_member *m)
{
        char hp[300];
        json_t *o = json_object();
        host_port(hp, sizeof hp, m->host, m->peer_port);
        put(o, "server_addresses", one_string(hp));
        json_t *election = json_array();
        if (m->election_port != 0) {
                host_port(hp, sizeof hp, m->host, m->election_port);
                json_array_append_new(election, json_string(hp));
        }
        put(o, "election_addresses", election);
        if (m->client_host != NULL) {
                host_port(hp, sizeof hp, m->client_host, m->client_port);
                put_str(o, "client_address", hp);
        }
        put_str(o, "learner_type", m->observer ? "observer" : "participant");
        return o;
}

/* zabstate's addresses: ZooKeeper serializes its MultipleAddresses bean, field by field. */
static json_t *address_bean(const char *host, int32_t port)
{
        char hp[300], wild[64];
        host_port(hp, sizeof hp, host, port);
        host_port(wild, sizeof wild, strchr(host, ':') != NULL ? "::" : "0.0.0.0", port);
        json_t *o = json_object();
        put(o, "empty", json_false());
        put(o, "all_addresses", one_string(hp));
        put(o, "all_reachable_addresses", one_string(hp));
        put_str(o, "one", hp);
        put_str(o, "reachable_address", hp);
        put(o, "wildcard_addresses", one_string(wild));
        json_t *ports = json_array();
        json_array_append_new(ports, json_integer(port));
        put(o, "all_ports", ports);
        put(o, "all_host_strings", one_string(host));
        put(o, "all_reachable_addresses_or_all", one_string(hp));
        put_str(o, "reachable_or_one", hp);
        return o;
}

static void put_zabstate(json_t *o, const struct admin_view *v)
{
        const struct admin_member *me = v->self;
        if (!v->quorum || me == NULL) {
                put(o, "voting", json_false());
                put_str(o, "zabstate", "");
                return;
        }
        char hp[300], zxid[32];
        put_int(o, "myid", (int64_t)me->id);
        put(o, "is_leader", json_boolean(v->is_leader));
        put(o, "quorum_address", address_bean(me->host, me->peer_port));
        put(o, "election_address", address_bean(me->host, me->election_port));
        host_port(hp, sizeof hp, me->client_host != NULL ? me->client_host : me->host,
                  me->client_port);
        put_str(o, "client_address", hp);
        put(o, "voting", json_boolean(!me->observer));
        /* synod's zxid is the log index, its epoch the Raft term. */
        snprintf(zxid, sizeof zxid, "0x%" PRIx64, v->last_zxid);
        put_str(o, "last_zxid", zxid);
        put_int(o, "zab_epoch", (int64_t)v->term);
        put_int(o, "zab_counter", (int64_t)v->last_zxid);
        put_str(o, "zabstate", v->in->server->serving ? "broadcast" : "election");
}

static void put_quorum(json_t *o, enum admin_cmd cmd, const struct admin_view *v)
{
        char key[32], zxid[32];
        switch (cmd) {
        case ADMIN_CMD_LEADER:
                if (!v->quorum) {
                        put_str(o, "error", "server is not initialized");
                        return;
                }
                put(o, "is_leader", json_boolean(v->is_leader));
                put_int(o, "leader_id", v->leader_id);
                put_str(o, "leader_ip", v->leader_ip != NULL ? v->leader_ip : "");
                return;
        case ADMIN_CMD_VOTING_VIEW: {
                json_t *view = json_object();
                for (size_t i = 0; i < v->voter_count && v->quorum; i++) {
                        id_key(key, sizeof key, v->voters[i].id);
                        put(view, key, member_view(&v->voters[i]));
                }
                put(o, "current_config", view);
                return;
        }
        case ADMIN_CMD_ZABSTATE:
                put_zabstate(o, v);
                return;
        case ADMIN_CMD_LAST_SNAPSHOT:
                snprintf(zxid, sizeof zxid, "%" PRIx64, (uint64_t)v->last_snapshot_zxid);
                put_str(o, "zxid", zxid);
                put_int(o, "timestamp", v->last_snapshot_ms < 0 ? -1 : v->last_snapshot_ms / 1000);
                return;
        default:
                SYN_UNREACHABLE();
        }
}

static void put_body(json_t *o, enum admin_cmd cmd, const struct admin_view *v)
{
        const struct fourlw_input *in = v->in;
        const struct fourlw_server *s = in->server;
        switch (cmd) {
        case ADMIN_CMD_RUOK:
        case ADMIN_CMD_CONNECTION_STAT_RESET:
        case ADMIN_CMD_STAT_RESET:
                return;
        case ADMIN_CMD_SERVER_STATS:
        case ADMIN_CMD_STATS:
                put_srvr(o, in, cmd == ADMIN_CMD_STATS);
                return;
        case ADMIN_CMD_MONITOR:
                fourlw_mntr_each(s, monitor_row, o);
                return;
        case ADMIN_CMD_CONFIGURATION:
                put_conf(o, in->conf);
                return;
        case ADMIN_CMD_CONNECTIONS:
                put_connections(o, s, false);
                return;
        case ADMIN_CMD_DIRS:
                put_int(o, "datadir_size", (int64_t)in->data_dir_size);
                put_int(o, "logdir_size", (int64_t)in->log_dir_size);
                return;
        case ADMIN_CMD_DUMP:
                put_dump(o, in->dump);
                return;
        case ADMIN_CMD_ENVIRONMENT:
                put_env(o, s, in->env);
                return;
        case ADMIN_CMD_IS_READ_ONLY:
                put(o, "read_only", json_boolean(s->mode == FOURLW_MODE_READ_ONLY));
                return;
        case ADMIN_CMD_WATCHES:
                put(o, "session_id_to_watched_paths", watches(in, true));
                return;
        case ADMIN_CMD_WATCHES_BY_PATH:
                put(o, "path_to_session_ids", watches(in, false));
                return;
        case ADMIN_CMD_WATCH_SUMMARY:
                put_int(o, "num_connections", (int64_t)in->watch_summary.connections);
                put_int(o, "num_paths", (int64_t)in->watch_summary.paths);
                put_int(o, "num_total_watches", (int64_t)in->watch_summary.watches);
                return;
        case ADMIN_CMD_LEADER:
        case ADMIN_CMD_VOTING_VIEW:
        case ADMIN_CMD_ZABSTATE:
        case ADMIN_CMD_LAST_SNAPSHOT:
                put_quorum(o, cmd, v);
                return;
        case ADMIN_CMD_UNKNOWN:
        case ADMIN_CMD_COUNT:
                break;
        }
        SYN_UNREACHABLE();
}

int admin_write_command(struct syn_writer *w, enum admin_cmd cmd, const struct admin_view *v)
{
        SYN_ASSERT(v->in != NULL && v->in->server != NULL);
        json_t *o = json_object();
        if (o == NULL)
                return SYN_ENOMEM;
        put_body(o, cmd, v);
        put_str(o, "command", admin_cmd_name(cmd));
        /* leader sets its own error outside a quorum, as ZooKeeper's does. */
        if (json_object_get(o, "error") == NULL)
                put(o, "error", json_null());
        return admin_json_dump(w, o);
}

int admin_write_error(struct syn_writer *w, const char *command, const char *error)
{
        json_t *o = json_object();
        if (o == NULL)
                return SYN_ENOMEM;
        put_str(o, "command", command);
        put_str(o, "error", error);
        return admin_json_dump(w, o);
}

int admin_write_index(struct syn_writer *w, const char *command_url)
{
        for (int c = ADMIN_CMD_UNKNOWN + 1; c < ADMIN_CMD_COUNT; c++) {
                const char *name = admin_cmd_name((enum admin_cmd)c);
                char line[512];
                int n = snprintf(line, sizeof line, "<a href=\"%s/%s\">%s</a>\n<br/>\n",
                                 command_url, name, name);
                syn_write_bytes(w, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
        return w->failed ? SYN_ETOOBIG : SYN_OK;
}
