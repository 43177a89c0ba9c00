/*
 * admin: the HTTP admin server (ZooKeeper's AdminServer on admin.serverPort):
 * /commands and /commands/<name> answering JSON like ZooKeeper 3.8's commands,
 * /metrics in the Prometheus text format, and the web console: its files, built
 * into the binary, and its API under /console/api/ (tree and live events).
 *
 * Threads. libmicrohttpd runs its own polling thread (the HTTP parser, sockets,
 * timeouts). It never reads server state: each complete request is queued and its
 * connection suspended, `notify` wakes the loop thread (the server plugs in a
 * uv_async), the loop takes requests with admin_next, builds the answer from its
 * own state and hands it back with admin_respond, which resumes the connection.
 * Bounded: at most ADMIN_CONNECTIONS_MAX connections (so as many requests in
 * flight), each answer at most ADMIN_RESPONSE_BYTES_MAX (the caller's writer cap).
 *
 * Formatting is pure: the command JSON (jansson) and the Prometheus text are
 * written from plain inputs (proto/fourlw.h's structs, the same the four-letter
 * words print, and struct syn_hist histograms), so the three outputs agree.
 *
 * Ownership: every input pointer is borrowed for the call. Requests belong to the
 * admin server; the loop borrows one from admin_next until admin_respond.
 */
#ifndef SYN_ADMIN_ADMIN_H
#define SYN_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hist.h"
#include "proto/fourlw.h"

/* ---- the HTTP server (http.c) ---- */

struct admin_options {
        const char *address;      /* IPv4 or IPv6 literal to bind */
        uint16_t port;            /* 0: any free port (admin_port says which) */
        uint32_t idle_timeout_ms; /* an idle connection is closed after this (rounded up to s) */
        /* Called on the HTTP thread when a request was queued: must only wake the loop. */
        void (*notify)(void *arg);
        void *notify_arg;
};

struct admin_server;
struct admin_request;

/*
 * Binds the listener and starts the HTTP thread. Returns 0, or SYN_ESYS (the bind
 * failed: `error` says why and where, e.g. "cannot listen on 127.0.0.1:8080: Address
 * already in use") or SYN_ENOMEM. *out is owned by the caller: admin_stop frees it.
 */
int admin_start(struct admin_server **out, const struct admin_options *options, char *error,
                size_t error_size);
/* The port bound (the chosen one when options->port was 0). */
uint16_t admin_port(const struct admin_server *a);
/*
 * Loop thread: the next queued request, or NULL. Stops the thread, answers what is
 * still queued with 503 and frees everything; the loop must not hold a request.
 */
struct admin_request *admin_next(struct admin_server *a);
void admin_stop(struct admin_server *a);

/* The request's method ("GET"), path ("/commands/stat", no query, %-escapes decoded),
 * Authorization header (NULL if absent) and body (*len bytes, NULL when empty; at most
 * ADMIN_BODY_BYTES_MAX); borrowed until admin_respond. */
const char *admin_request_method(const struct admin_request *r);
const char *admin_request_path(const struct admin_request *r);
const char *admin_request_authorization(const struct admin_request *r);
const uint8_t *admin_request_body(const struct admin_request *r, size_t *len);

/*
 * Answers r with status and body (content_type static, e.g. "application/json"); the
 * body's bytes are taken from the writer (left empty). r must not be used afterwards.
 * Any thread may answer (the console's workers do); each request is answered once.
 */
void admin_respond(struct admin_server *a, struct admin_request *r, unsigned status,
                   const char *content_type, struct syn_writer *body);

/*
 * Answers r with 200 and the bytes of the open file fd from its offset 0 to size (a
 * snapshot being backed up), streamed by the HTTP thread. fd is owned by the admin
 * server from here on (closed when sent, or when the client goes away); r must not be
 * used afterwards.
 */
void admin_respond_file(struct admin_server *a, struct admin_request *r, const char *content_type,
                        int fd, uint64_t size);

/* ---- commands (commands.c): ZooKeeper 3.8's AdminServer command set ---- */

enum admin_cmd {
        ADMIN_CMD_UNKNOWN = 0,
        ADMIN_CMD_CONNECTION_STAT_RESET,
        ADMIN_CMD_CONFIGURATION,
        ADMIN_CMD_CONNECTIONS,
        ADMIN_CMD_DIRS,
        ADMIN_CMD_DUMP,
        ADMIN_CMD_ENVIRONMENT,
        ADMIN_CMD_IS_READ_ONLY,
        ADMIN_CMD_LAST_SNAPSHOT,
        ADMIN_CMD_LEADER,
        ADMIN_CMD_MONITOR,
        ADMIN_CMD_RUOK,
        ADMIN_CMD_SERVER_STATS,
        ADMIN_CMD_STATS,
        ADMIN_CMD_STAT_RESET,
        ADMIN_CMD_VOTING_VIEW,
        ADMIN_CMD_WATCHES,
        ADMIN_CMD_WATCHES_BY_PATH,
        ADMIN_CMD_WATCH_SUMMARY,
        ADMIN_CMD_ZABSTATE,
        ADMIN_CMD_COUNT
};

/* The command any of its names spells ("stats", "stat"), or ADMIN_CMD_UNKNOWN. */
enum admin_cmd admin_cmd_lookup(const char *name);
/* Its primary name ("stats"), which responses carry in "command". */
const char *admin_cmd_name(enum admin_cmd cmd);
/* The four-letter word whose whitelist entry also governs it (FOURLW_UNKNOWN: none). */
enum fourlw_cmd admin_cmd_fourlw(enum admin_cmd cmd);
/* Whether it reveals sessions, connections, paths or the configuration, or resets
 * statistics: refused without credentials when admin auth is on. */
bool admin_cmd_needs_auth(enum admin_cmd cmd);
/* Whether it answers "not currently serving" while the server is not serving
 * (ZooKeeper's isServerRequired). */
bool admin_cmd_needs_serving(enum admin_cmd cmd);

/* One server of the cluster, for voting_view and zabstate. */
struct admin_member {
        uint64_t id;
        const char *host; /* as in its server line, without [] */
        int32_t peer_port;
        int32_t election_port;   /* 0: none */
        const char *client_host; /* NULL: no client address */
        int32_t client_port;
        bool observer;
};

/* What the commands print beyond the four-letter words' input. */
struct admin_view {
        const struct fourlw_input *in; /* server always; conf, env, watch_pairs, dump,
                                          dirs per command, as the four-letter words */
        bool quorum;                   /* server lines: leader, voting_view, zabstate answer */
        bool is_leader;
        int64_t leader_id;                 /* -1 while unknown */
        const char *leader_ip;             /* "" while unknown */
        const struct admin_member *voters; /* voting_view: the voting members */
        size_t voter_count;
        const struct admin_member *self; /* zabstate: this server (quorum only) */
        uint64_t term;                   /* zabstate's zab_epoch */
        uint64_t last_zxid;              /* zabstate's last_zxid: the applied index */
        int64_t last_snapshot_zxid;      /* -1: none yet */
        int64_t last_snapshot_ms;        /* wall ms it was written; -1: none */
};

/* Writes cmd's JSON answer, {"...", "command": <primary name>, "error": null}. */
int admin_write_command(struct syn_writer *w, enum admin_cmd cmd, const struct admin_view *v);
/* Writes {"command": command, "error": error} (an unknown command, a refusal). */
int admin_write_error(struct syn_writer *w, const char *command, const char *error);
/* The /commands index: one link per primary name, as ZooKeeper's. */
int admin_write_index(struct syn_writer *w, const char *command_url);

/* ---- /metrics (prom.c): the Prometheus text exposition format 0.0.4 ---- */

/* One histogram to export; bounds are in `unit`s and exported multiplied by scale
 * (e.g. us observed, seconds exported: scale 1e-6). */
struct admin_hist {
        const char *name; /* "synod_fsync_seconds" */
        const char *help;
        const char *label; /* `op="getData"`, or NULL; histograms sharing a name are
                              adjacent and differ by label */
        const struct syn_hist *hist;
        double scale;
};

struct admin_metrics {
        const struct fourlw_server *server; /* every numeric mntr row becomes a gauge */
        const struct admin_hist *histograms;
        size_t histogram_count;
        /* ZooKeeper's summaries (readlatency, updatelatency): quantiles estimated from
         * the histogram's buckets, in the histogram's own unit. */
        const struct admin_hist *summaries;
        size_t summary_count;
};

/* The content type of the output of admin_write_metrics. */
#define ADMIN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

int admin_write_metrics(struct syn_writer *w, const struct admin_metrics *m);

/* ---- the web console ---- */

/* One file of the console (src/admin/console/), built into the binary by
 * cmake/embed.cmake; static storage. */
struct admin_asset {
        const char *path; /* as requested: "/console/console.js" */
        const char *content_type;
        const unsigned char *data;
        const size_t *len;
};

/* The file served at path ("/" and "/console/" are the page), or NULL (assets.c). */
const struct admin_asset *admin_asset_find(const char *path);

/* Where the console's API lives: GET|POST <ADMIN_CONSOLE_NODE>/<znode path>,
 * GET <ADMIN_CONSOLE_EVENTS>/<first sequence number wanted>. */
#define ADMIN_CONSOLE_API    "/console/api/"
#define ADMIN_CONSOLE_NODE   "/console/api/node"
#define ADMIN_CONSOLE_EVENTS "/console/api/events"

/*
 * The console's API (console.c): ADMIN_CONSOLE_WORKERS threads answer its requests as an
 * ordinary ZooKeeper client of this server (libsynod on `servers`, the client address),
 * so ACLs, digest auth, linearization and replication are those of any client. Reading
 * a node (data, Stat, children, ACL) uses a session with the identity of the request's
 * `Authorization: digest user:password` (anonymous without one); writing needs one
 * (401 otherwise). The event feed is one session with a persistent recursive watch on
 * "/", opened when first polled, keeping the last ADMIN_CONSOLE_EVENTS_MAX events.
 * Answers are JSON: see docs/operations.md "Web console".
 */
struct admin_console;

/* Starts the workers. Returns SYN_OK, SYN_ENOMEM or SYN_ESYS (no thread). *out is owned
 * by the caller (admin_console_stop frees it); a and servers are borrowed until then. */
int admin_console_start(struct admin_console **out, struct admin_server *a, const char *servers);
/* Any thread (the loop): hands r (path under ADMIN_CONSOLE_API) to a worker, which
 * answers it. Never blocks. */
void admin_console_submit(struct admin_console *c, struct admin_request *r);
/*
 * Stops the workers (a call in progress ends within the session's read timeout), answers
 * queued requests 503, closes the event feed (up to the client's close wait) and frees c.
 * Call before admin_stop. NULL is fine.
 */
void admin_console_stop(struct admin_console *c);

#endif
