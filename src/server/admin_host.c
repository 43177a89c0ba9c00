/*
 * The admin server's loop side: requests handed over by src/admin's HTTP thread
 * are answered here, on the loop thread that owns the state, from the same report
 * as the four-letter words (report.c).
 *
 * Routing: GET /metrics (Prometheus text), GET <commandURL> (an index of links),
 * GET <commandURL>/<name> (JSON), GET of the web console's files ("/" is its page),
 * and the console's API (ADMIN_CONSOLE_API, GET and POST), which is handed to the
 * console's workers: they answer it as a client of this server, so the loop never
 * waits for it. A command whose four-letter twin is not in
 * 4lw.commands.whitelist is refused (403), so the whitelist means the same on both
 * doors. With admin.authEnabled, commands that reveal sessions, connections, paths
 * or the configuration, or reset statistics, need an Authorization header
 * `digest user:password` (ZooKeeper 3.9's form): the digest identity must be the
 * superDigest or be granted READ by the ACL of / (401 without the header, 403
 * otherwise). The console's event feed names paths too, so it needs the same. Unknown
 * commands get ZooKeeper's 200 with an "error" field.
 *
 * GET <commandURL>/snapshot (alias snap) streams a backup (backup.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

enum {
        HTTP_OK = 200,
        HTTP_UNAUTHORIZED = 401,
        HTTP_FORBIDDEN = 403,
        HTTP_NOT_FOUND = 404,
        HTTP_METHOD_NOT_ALLOWED = 405,
        HTTP_INTERNAL_ERROR = 500,
        HTTP_UNAVAILABLE = 503,
};

static const char json_type[] = "application/json";

static void respond_text(struct srv *srv, struct admin_request *r, unsigned status,
                         const char *text)
{
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        syn_write_bytes(&w, text, strlen(text));
        admin_respond(srv->admin, r, status, "text/plain", &w);
        syn_writer_close(&w);
}

static void respond_error(struct srv *srv, struct admin_request *r, unsigned status,
                          const char *command, const char *error)
{
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        if (admin_write_error(&w, command, error) != SYN_OK) {
                syn_writer_close(&w);
                respond_text(srv, r, HTTP_INTERNAL_ERROR, "out of memory\n");
                return;
        }
        admin_respond(srv->admin, r, status, json_type, &w);
        syn_writer_close(&w);
}

/* The report parts a command prints: its four-letter twin's, and the directory sizes
 * ZooKeeper's server_stats carries (srvr does not print them). */
static unsigned command_parts(enum admin_cmd cmd)
{
        unsigned parts = srv_report_parts(admin_cmd_fourlw(cmd));
        if (cmd == ADMIN_CMD_SERVER_STATS || cmd == ADMIN_CMD_STATS)
                parts |= SRV_REPORT_DIRS;
        return parts;
}

/* Whether the Authorization header names an identity allowed to read "/". */
static unsigned check_auth(struct srv *srv, const char *header)
{
        static const char scheme[] = "digest ";
        if (header == NULL)
                return HTTP_UNAUTHORIZED;
        char id[SRV_DIGEST_ID_BYTES];
        size_t sl = sizeof scheme - 1;
        if (strncasecmp(header, scheme, sl) != 0 ||
            srv_digest_identity((const uint8_t *)header + sl, strlen(header + sl), id, sizeof id) !=
                0) {
                srv->stats.auth_failed++;
                return HTTP_FORBIDDEN;
        }
        struct zk_id zid = {zk_bytes_of("digest"), zk_bytes_of(id)};
        struct txn_auth auth = {.ids = &zid, .id_count = 1};
        auth.super =
            srv->config.super_digest[0] != '\0' && strcmp(srv->config.super_digest, id) == 0;
        const struct tree_node *root = tree_lookup(&srv->sm.tree, "/", 1);
        if (root != NULL && tree_check_perm(root, ZK_PERM_READ, &auth))
                return HTTP_OK;
        srv->stats.auth_failed++;
        return HTTP_FORBIDDEN;
}

/* The view's quorum part: the leader, the voting members, this server. */
struct quorum_view {
        struct admin_member voters[RAFT_NODES_MAX];
        struct admin_member self;
        char leader_ip[NET_ADDRESS_BYTES_MAX];
};

static void member_of(const struct srv_member *m, struct admin_member *out)
{
        const char *client = m->client_address[0] != '\0' ? m->client_address : "0.0.0.0";
        *out = (struct admin_member){
            .id = m->id,
            .host = m->host,
            .peer_port = m->peer_port,
            .election_port = m->election_port,
            .client_host = m->client_port != 0 ? client : NULL,
            .client_port = m->client_port,
            .observer = m->observer,
        };
}

static void fill_view(struct srv *srv, const struct srv_report *rep, struct quorum_view *q,
                      struct admin_view *v)
{
        memset(v, 0, sizeof *v);
        v->in = &rep->in;
        v->quorum = srv->clustered;
        v->is_leader = srv->role == RAFT_LEADER;
        v->leader_id = srv->leader_id == RAFT_NONE ? -1 : (int64_t)srv->leader_id;
        v->leader_ip = q->leader_ip;
        v->term = srv->term;
        v->last_zxid = srv->sm.applied;
        q->leader_ip[0] = '\0';
        size_t n = 0;
        for (uint32_t i = 0; i < srv->members.count; i++) {
                const struct srv_member *m = &srv->members.m[i];
                if (m->id == srv->leader_id)
                        snprintf(q->leader_ip, sizeof q->leader_ip, "%s", m->host);
                if (m->id == (uint64_t)srv->config.server_id) {
                        member_of(m, &q->self);
                        /* Where this server really listens for clients. */
                        q->self.client_host = srv->config.client_port_address;
                        q->self.client_port = net_port(&srv->net);
                        v->self = &q->self;
                }
                if (!m->observer)
                        member_of(m, &q->voters[n++]);
        }
        v->voters = q->voters;
        v->voter_count = n;
        bool snap = srv->snapshot_index > 0;
        v->last_snapshot_zxid = snap ? (int64_t)srv->snapshot_index : -1;
        v->last_snapshot_ms = snap && srv->snapshot_wall_ms > 0 ? srv->snapshot_wall_ms : -1;
}

static void run_command(struct srv *srv, struct admin_request *r, enum admin_cmd cmd)
{
        /* Only commands that answer without serving (monitor, environment, zabstate) get
         * here while not serving: what they print is there either way. */
        struct srv_report rep;
        int rc = srv_report_collect(srv, command_parts(cmd), &rep);
        if (rc != SYN_OK) {
                respond_text(srv, r, HTTP_INTERNAL_ERROR, "out of memory\n");
                return;
        }
        struct quorum_view *q = calloc(1, sizeof *q);
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        rc = SYN_ENOMEM;
        if (q != NULL) {
                struct admin_view v;
                fill_view(srv, &rep, q, &v);
                rc = admin_write_command(&w, cmd, &v);
        }
        free(q);
        srv_report_free(&rep);
        if (rc == SYN_OK) {
                srv_report_reset(srv, cmd == ADMIN_CMD_STAT_RESET,
                                 cmd == ADMIN_CMD_CONNECTION_STAT_RESET);
                admin_respond(srv->admin, r, HTTP_OK, json_type, &w);
        } else {
                SYN_WARN("admin command %s: %s", admin_cmd_name(cmd), syn_strerror(rc));
                respond_error(srv, r, HTTP_INTERNAL_ERROR, admin_cmd_name(cmd),
                              rc == SYN_ETOOBIG ? "response too large" : "out of memory");
        }
        syn_writer_close(&w);
}

/* With admin.authEnabled: whether r may see what `name` reveals; refuses it if not. */
static bool authorized(struct srv *srv, struct admin_request *r, const char *name)
{
        if (!srv->config.admin_auth_enabled)
                return true;
        unsigned status = check_auth(srv, admin_request_authorization(r));
        if (status == HTTP_OK)
                return true;
        srv->stats.admin_refused++;
        respond_error(srv, r, status, name,
                      status == HTTP_UNAUTHORIZED
                          ? "Auth info is missing: send Authorization: digest user:password"
                          : "Not authorized: the digest identity may not read /");
        return false;
}

void admin_host_error(struct srv *srv, struct admin_request *r, unsigned status,
                      const char *command, const char *error)
{
        respond_error(srv, r, status, command, error);
}

/* ZooKeeper 3.9's `snapshot` (alias `snap`), a backup (backup.c). No four-letter word
 * twins it, so the whitelist does not govern it; it reveals the whole tree, so with
 * admin.authEnabled it needs credentials. */
static bool snapshot_command(struct srv *srv, struct admin_request *r, const char *name)
{
        if (strcmp(name, "snapshot") != 0 && strcmp(name, "snap") != 0)
                return false;
        if (!authorized(srv, r, "snapshot"))
                return true;
        if (!(srv->serving && !srv->fatal))
                respond_error(srv, r, HTTP_OK, "snapshot", FOURLW_NOT_SERVING);
        else
                backup_request(srv, r);
        return true;
}

static void command(struct srv *srv, struct admin_request *r, const char *name)
{
        if (snapshot_command(srv, r, name))
                return;
        enum admin_cmd cmd = admin_cmd_lookup(name);
        char error[160];
        if (cmd == ADMIN_CMD_UNKNOWN) {
                snprintf(error, sizeof error, "Unknown command: %s", name);
                respond_error(srv, r, HTTP_OK, name, error);
                return;
        }
        struct fourlw_whitelist wl;
        fourlw_whitelist_parse(&wl, srv->config.fourlw_whitelist);
        enum fourlw_cmd word = admin_cmd_fourlw(cmd);
        if (word != FOURLW_UNKNOWN && !fourlw_allowed(&wl, word)) {
                srv->stats.admin_refused++;
                snprintf(error, sizeof error,
                         "%s is not executed because it is not in the whitelist.",
                         fourlw_name(word));
                respond_error(srv, r, HTTP_FORBIDDEN, admin_cmd_name(cmd), error);
                return;
        }
        if (admin_cmd_needs_auth(cmd) && !authorized(srv, r, admin_cmd_name(cmd)))
                return;
        if (admin_cmd_needs_serving(cmd) && !(srv->serving && !srv->fatal)) {
                respond_error(srv, r, HTTP_OK, admin_cmd_name(cmd), FOURLW_NOT_SERVING);
                return;
        }
        run_command(srv, r, cmd);
}

/* Histogram bounds are ms (latencies, snapshots) or us (fsync); exported in seconds. */
enum { HISTS_MAX = SRV_OP_CLASS_COUNT + 3 };

static void metrics(struct srv *srv, struct admin_request *r)
{
        struct srv_report rep;
        if (srv_report_collect(srv, 0, &rep) != SYN_OK) {
                respond_text(srv, r, HTTP_INTERNAL_ERROR, "out of memory\n");
                return;
        }
        struct srv_stats *st = &srv->stats;
        char labels[SRV_OP_CLASS_COUNT][48];
        struct admin_hist h[HISTS_MAX];
        size_t n = 0;
        for (int c = 0; c < SRV_OP_CLASS_COUNT; c++) {
                snprintf(labels[c], sizeof labels[c], "op=\"%s\"",
                         srv_op_class_name((enum srv_op_class)c));
                h[n++] = (struct admin_hist){"synod_request_latency_seconds",
                                             "request latency by operation, receipt to reply",
                                             labels[c], &st->op_latency_ms[c], 1e-3};
        }
        h[n++] = (struct admin_hist){"synod_fsync_seconds", "duration of each WAL fdatasync", NULL,
                                     &st->wal.fsync_us, 1e-6};
        h[n++] = (struct admin_hist){"synod_group_commit_entries",
                                     "entries made durable by one WAL fdatasync", NULL,
                                     &st->wal.batch_entries, 1};
        h[n++] = (struct admin_hist){"synod_snapshot_seconds",
                                     "background snapshot duration, fork to exit", NULL,
                                     &st->snapshot_ms, 1e-3};
        const struct admin_hist summaries[] = {
            {"readlatency", "ZooKeeper's read request latency, ms", NULL, &st->read_latency_ms, 1},
            {"updatelatency", "ZooKeeper's write request latency, ms", NULL, &st->update_latency_ms,
             1},
        };
        struct admin_metrics m = {&rep.server, h, n, summaries, 2};
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        int rc = admin_write_metrics(&w, &m);
        srv_report_free(&rep);
        if (rc == SYN_OK)
                admin_respond(srv->admin, r, HTTP_OK, ADMIN_METRICS_CONTENT_TYPE, &w);
        else
                respond_text(srv, r, HTTP_INTERNAL_ERROR, "metrics: response too large\n");
        syn_writer_close(&w);
}

static void index_page(struct srv *srv, struct admin_request *r)
{
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        admin_write_index(&w, srv->config.admin_command_url);
        admin_respond(srv->admin, r, HTTP_OK, "text/html", &w);
        syn_writer_close(&w);
}

static void asset(struct srv *srv, struct admin_request *r, const struct admin_asset *a)
{
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        syn_write_bytes(&w, a->data, *a->len);
        admin_respond(srv->admin, r, HTTP_OK, a->content_type, &w);
        syn_writer_close(&w);
}

static bool starts_with(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void console_api(struct srv *srv, struct admin_request *r, const char *path)
{
        if (srv->console == NULL) {
                respond_text(srv, r, HTTP_UNAVAILABLE, "the console's workers did not start\n");
                return;
        }
        if (starts_with(path, ADMIN_CONSOLE_EVENTS) && !authorized(srv, r, "events"))
                return;
        admin_console_submit(srv->console, r);
}

static void route(struct srv *srv, struct admin_request *r)
{
        const char *path = admin_request_path(r);
        const char *url = srv->config.admin_command_url;
        size_t ul = strlen(url);
        const struct admin_asset *a;
        srv->stats.admin_requests++;
        if (starts_with(path, ADMIN_CONSOLE_API)) {
                console_api(srv, r, path);
        } else if (strcmp(admin_request_method(r), "GET") != 0) {
                respond_text(srv, r, HTTP_METHOD_NOT_ALLOWED, "only GET\n");
        } else if (strcmp(path, "/metrics") == 0) {
                metrics(srv, r);
        } else if (strncmp(path, url, ul) == 0 &&
                   (path[ul] == '\0' || strcmp(path + ul, "/") == 0)) {
                index_page(srv, r);
        } else if (strncmp(path, url, ul) == 0 && path[ul] == '/') {
                command(srv, r, path + ul + 1);
        } else if ((a = admin_asset_find(path)) != NULL) {
                asset(srv, r, a);
        } else {
                respond_text(srv, r, HTTP_NOT_FOUND, "not found\n");
        }
}

static void on_wake(void *arg)
{
        struct srv *srv = arg;
        if (srv->admin == NULL)
                return;
        /* At most ADMIN_CONNECTIONS_MAX can be queued; a send during the loop below
         * wakes us again for any that arrive meanwhile. */
        struct admin_request *r;
        for (int i = 0; i < ADMIN_CONNECTIONS_MAX && (r = admin_next(srv->admin)) != NULL; i++)
                route(srv, r);
}

static void notify(void *arg)
{
        net_async_send(arg); /* on the HTTP thread: only wake the loop */
}

/* The console's connect string: this server's client port, on loopback when it listens
 * on every address. */
static void console_servers(struct srv *srv)
{
        const char *host = srv->config.client_port_address;
        if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0')
                host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
                host = "::1";
        bool v6 = strchr(host, ':') != NULL;
        snprintf(srv->console_servers, sizeof srv->console_servers, "%s%s%s:%u", v6 ? "[" : "",
                 host, v6 ? "]" : "", (unsigned)net_port(&srv->net));
}

void admin_host_start(struct srv *srv)
{
        const struct srv_config *c = &srv->config;
        if (!c->admin_enabled)
                return;
        if (net_async_init(&srv->net, &srv->admin_async, on_wake, srv) != 0) {
                SYN_ERROR("admin server not started: no async handle");
                return;
        }
        struct admin_options o = {
            .address = c->admin_address,
            .port = (uint16_t)c->admin_port,
            .idle_timeout_ms = (uint32_t)c->admin_idle_timeout_ms,
            .notify = notify,
            .notify_arg = &srv->admin_async,
        };
        char error[256];
        int rc = admin_start(&srv->admin, &o, error, sizeof error);
        if (rc != SYN_OK) {
                /* As ZooKeeper: the admin server is not worth refusing to serve clients. */
                SYN_ERROR("admin server not started: %s; set admin.serverPort (0 = any free "
                          "port) or admin.enableServer=false",
                          rc == SYN_ENOMEM ? "out of memory" : error);
                return;
        }
        console_servers(srv);
        rc = admin_console_start(&srv->console, srv->admin, srv->console_servers);
        if (rc != SYN_OK)
                SYN_ERROR("web console's API not started: %s", syn_strerror(rc));
        SYN_INFO("admin server on http://%s%s%s:%u%s, /metrics and the web console at /",
                 strchr(c->admin_address, ':') ? "[" : "", c->admin_address,
                 strchr(c->admin_address, ':') ? "]" : "", (unsigned)admin_port(srv->admin),
                 c->admin_command_url);
}

void admin_host_stop(struct srv *srv)
{
        admin_console_stop(srv->console); /* first: its workers hold requests */
        srv->console = NULL;
        backup_stop(srv);
        admin_stop(srv->admin);
        srv->admin = NULL;
}
