/*
 * Four-letter words: ZooKeeper's text admin commands on the client port.
 *
 * On a fresh connection the first four bytes may spell a command (ruok,
 * srvr, mntr ...) instead of a frame length (docs/protocol-notes.md,
 * "Four-letter words"). The server looks the word up (fourlw_lookup), checks it
 * against the 4lw.commands.whitelist setting (fourlw_whitelist_*), fills the
 * plain input structs below from its own state, has the text written here,
 * sends it in one write and closes the connection. Unknown words get no output
 * at all, like ZooKeeper.
 *
 * This file is pure formatting: no I/O, no clock (times come in as epoch ms),
 * no dependency on the watch manager or the tree (their numbers and listings
 * come in as plain fields and arrays). The texts match Apache ZooKeeper 3.8's
 * byte for byte where tools parse them (see docs/protocol-notes.md,
 * "Four-letter words"): "Zookeeper version: ..." with the synod version
 * disguised as 3.8.4-synod-<ver> so version sniffers (kazoo's server_version())
 * keep working, mntr as zk_<key>\t<value> lines, averages printed like Java's
 * Double.toString.
 *
 * Every input pointer is borrowed for the duration of the call only. Every
 * writing function appends to a struct syn_writer (base/buf.h) and returns
 * SYN_OK, or SYN_ETOOBIG if the writer failed (its cap was reached or memory
 * ran out; the writer is then in its sticky failed state). A listing stops at
 * the first failed write, so a cap bounds the work as well as the bytes.
 */
#ifndef SYN_PROTO_FOURLW_H
#define SYN_PROTO_FOURLW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* The ZooKeeper release synod reports itself as (clients parse the digits). */
#define FOURLW_ZK_VERSION "3.8.4"

/* Printed by most words when the server is not serving (ZooKeeper's ZK_NOT_SERVING). */
#define FOURLW_NOT_SERVING "This ZooKeeper instance is not currently serving requests"

enum fourlw_cmd {
        FOURLW_UNKNOWN = 0,
        FOURLW_RUOK,
        FOURLW_SRVR,
        FOURLW_STAT,
        FOURLW_MNTR,
        FOURLW_CONF,
        FOURLW_CONS,
        FOURLW_WCHS,
        FOURLW_WCHC,
        FOURLW_WCHP,
        FOURLW_ENVI,
        FOURLW_ISRO,
        FOURLW_DUMP,
        FOURLW_DIRS,
        FOURLW_CRST,
        FOURLW_SRST,
        FOURLW_CMD_COUNT
};

/* The command spelled by the first four bytes of a connection, or FOURLW_UNKNOWN. */
enum fourlw_cmd fourlw_lookup(const uint8_t word[4]);
/* "ruok" ...; "" for FOURLW_UNKNOWN. Static storage. */
const char *fourlw_name(enum fourlw_cmd cmd);

/* ---- whitelist (4lw.commands.whitelist) ---- */

struct fourlw_whitelist {
        uint32_t allowed; /* bit (1 << cmd) per allowed command */
};

/* ZooKeeper's default: srvr only (zkServer.sh status needs it). */
void fourlw_whitelist_default(struct fourlw_whitelist *wl);

/*
 * Parses a 4lw.commands.whitelist value: comma-separated command names,
 * blanks around names ignored, empty items skipped, "*" = every command.
 * value NULL (setting absent) gives the default. srvr is always allowed, as in
 * ZooKeeper. Errors: SYN_ECONFIG if an item is not a known command; the
 * whitelist then holds the known ones (the server may warn and go on).
 */
int fourlw_whitelist_parse(struct fourlw_whitelist *wl, const char *value);

/* Allows one more command (e.g. isro when read-only mode is enabled). */
void fourlw_whitelist_allow(struct fourlw_whitelist *wl, enum fourlw_cmd cmd);

bool fourlw_allowed(const struct fourlw_whitelist *wl, enum fourlw_cmd cmd);

/* "<cmd> is not executed because it is not in the whitelist.\n" */
int fourlw_write_not_allowed(struct syn_writer *w, enum fourlw_cmd cmd);

/*
 * Whether the answer to cmd grows with the server's state (stat, cons, wchc, wchp,
 * dump): such words are cut at the server's answer limit and not run while earlier
 * answers are still being sent (synod's own rules; ZooKeeper has neither).
 */
bool fourlw_is_listing(enum fourlw_cmd cmd);
/* synod's refusal of a listing word while earlier answers are unsent (one line). */
int fourlw_write_busy(struct syn_writer *w, enum fourlw_cmd cmd);
/* The line that ends an answer cut at `limit` bytes (the writer must have room for it). */
int fourlw_write_truncated(struct syn_writer *w, size_t limit);

/* ---- inputs ---- */

enum fourlw_mode {
        FOURLW_MODE_STANDALONE,
        FOURLW_MODE_LEADER,
        FOURLW_MODE_FOLLOWER,
        FOURLW_MODE_OBSERVER,
        FOURLW_MODE_READ_ONLY,
};

/* A latency summary in ms; min and max are ignored while count is 0. */
struct fourlw_latency {
        uint64_t min_ms;
        uint64_t max_ms;
        uint64_t sum_ms;
        uint64_t count;
};

/* One client connection, for stat (brief) and cons (full). */
struct fourlw_conn {
        const char *remote;    /* "127.0.0.1:35764", printed as " /127.0.0.1:35764" */
        uint32_t interest_ops; /* 1 = reading, 4 = writing, as Java's selector ops */
        uint64_t queued;       /* requests in flight */
        uint64_t received;     /* packets */
        uint64_t sent;         /* packets */
        /* cons only, printed when session_id != 0: */
        uint64_t session_id;
        const char *last_op; /* "GETD", "NA" ... (ZooKeeper's abbreviations) */
        int64_t established_ms;
        int32_t timeout_ms;
        int64_t last_cxid; /* < 0: not printed */
        int64_t last_zxid;
        int64_t last_response_ms;
        uint64_t last_latency_ms;
        struct fourlw_latency latency;
};

/* A mntr line beyond the standard keys. */
enum fourlw_metric_kind {
        FOURLW_METRIC_INT,
        FOURLW_METRIC_FLOAT,
        FOURLW_METRIC_TEXT,
};

struct fourlw_metric {
        const char *key; /* without the zk_ prefix */
        enum fourlw_metric_kind kind;
        int64_t int_value;
        double float_value;
        const char *text_value;
};

/* What srvr, stat, cons and mntr print. */
struct fourlw_server {
        bool serving; /* false: most words print FOURLW_NOT_SERVING, ruok prints nothing */
        const char *synod_version; /* "0.1.0" */
        const char *build_date;    /* "2026-11-24 00:00 UTC" */
        enum fourlw_mode mode;
        struct fourlw_latency latency;
        uint64_t packets_received;
        uint64_t packets_sent;
        uint64_t connections; /* alive client connections */
        uint64_t outstanding_requests;
        int64_t last_zxid;
        uint64_t node_count;
        /* Leader only ("Proposal sizes last/min/max" and mntr); -1 = none yet. */
        int64_t proposal_size_last;
        int64_t proposal_size_min;
        int64_t proposal_size_max;
        /* stat and cons: the connections (stat prints brief lines, cons full ones). */
        const struct fourlw_conn *conns;
        size_t conn_count;
        /* mntr */
        uint64_t watch_count;
        uint64_t ephemerals_count;
        uint64_t approximate_data_size;
        uint64_t open_file_descriptor_count;
        uint64_t max_file_descriptor_count;
        uint64_t uptime_ms;
        uint64_t global_sessions;
        uint64_t local_sessions;
        uint64_t auth_failed_count;
        uint64_t fsync_threshold_exceed_count; /* fsyncs over 1 s (the admin server's stats) */
        /* mntr of quorum members (mode leader, follower, observer). */
        uint64_t quorum_size;
        const char *peer_state; /* "leading - broadcast", "following - broadcast" */
        /* mntr of the leader. */
        uint64_t learners;
        uint64_t synced_followers;
        uint64_t synced_non_voting_followers;
        uint64_t synced_observers;
        uint64_t pending_syncs;
        uint64_t leader_uptime_ms;
        /* mntr: more lines after the standard ones (synod's own metrics). */
        const struct fourlw_metric *extra_metrics;
        size_t extra_metric_count;
};

/* What conf prints (ZooKeeper's dumpConf). */
struct fourlw_conf {
        int32_t client_port;
        int32_t secure_client_port; /* -1 = none */
        const char *data_dir;
        uint64_t data_dir_size;
        const char *data_log_dir;
        uint64_t data_log_size;
        int32_t tick_time_ms;
        int32_t max_client_cnxns;
        int32_t min_session_timeout_ms;
        int32_t max_session_timeout_ms;
        int32_t client_port_listen_backlog; /* -1 = default */
        int64_t server_id;
        /* Quorum members: more lines, each printed as is plus "\n" ("initLimit=10", ...). */
        const char *const *extra_lines;
        size_t extra_line_count;
};

/* What envi prints after the version lines ("key=value" each, no newline). */
struct fourlw_env {
        const char *host_name;
        const char *os_name;
        const char *os_arch;
        const char *os_version;
        const char *user_name;
        const char *user_home;
        const char *user_dir;
        const char *const *extra_lines;
        size_t extra_line_count;
};

/* wchs numbers (the watch manager's statistics). */
struct fourlw_watch_summary {
        uint64_t connections; /* connections holding a watch */
        uint64_t paths;       /* distinct watched paths */
        uint64_t watches;     /* total */
};

/* One (session, path) watch pair: wchc wants them by session, wchp by path. */
struct fourlw_watch_pair {
        uint64_t session_id;
        const char *path;
        size_t path_len;
};

/* dump: one expiry bucket of sessions. */
struct fourlw_session_bucket {
        int64_t expire_at_ms;
        const uint64_t *session_ids;
        size_t count;
};

/* dump: the ephemeral nodes of one session. */
struct fourlw_ephemerals {
        uint64_t session_id;
        const char *const *paths;
        size_t count;
};

/* dump: one connection in a connection expiry bucket. */
struct fourlw_conn_ref {
        const char *remote; /* printed as "ip: /<remote> sessionId: 0x<id>" */
        uint64_t session_id;
};

struct fourlw_conn_bucket {
        int64_t expire_at_ms;
        const struct fourlw_conn_ref *conns;
        size_t count;
};

struct fourlw_dump {
        const struct fourlw_session_bucket *session_buckets;
        size_t session_bucket_count;
        const struct fourlw_ephemerals *ephemerals;
        size_t ephemerals_count;
        const struct fourlw_conn_bucket *conn_buckets;
        size_t conn_bucket_count;
};

/* Everything a word may print; fill what the command needs (see fourlw_write). */
struct fourlw_input {
        const struct fourlw_server *server;          /* all words read server->serving */
        const struct fourlw_conf *conf;              /* conf */
        const struct fourlw_env *env;                /* envi */
        struct fourlw_watch_summary watch_summary;   /* wchs */
        const struct fourlw_watch_pair *watch_pairs; /* wchc (by session), wchp (by path) */
        size_t watch_pair_count;
        const struct fourlw_dump *dump; /* dump */
        uint64_t data_dir_size;         /* dirs */
        uint64_t log_dir_size;          /* dirs */
};

/*
 * Writes the answer to cmd. in->server is required; the other members are
 * read only by the words that print them (NULL where unused). crst and srst
 * only print the acknowledgement: resetting the statistics is the caller's
 * job. When !in->server->serving, words other than ruok, isro and envi print
 * FOURLW_NOT_SERVING, ruok prints nothing, isro prints "null". FOURLW_UNKNOWN
 * writes nothing. Errors: SYN_ETOOBIG (writer failed).
 */
int fourlw_write(struct syn_writer *w, enum fourlw_cmd cmd, const struct fourlw_input *in);

/* ---- the individual words (all assume a serving server) ---- */

int fourlw_write_srvr(struct syn_writer *w, const struct fourlw_server *s, bool with_clients);
int fourlw_write_cons(struct syn_writer *w, const struct fourlw_server *s);
int fourlw_write_mntr(struct syn_writer *w, const struct fourlw_server *s);
int fourlw_write_conf(struct syn_writer *w, const struct fourlw_conf *c);
int fourlw_write_envi(struct syn_writer *w, const struct fourlw_server *s,
                      const struct fourlw_env *e);
int fourlw_write_wchs(struct syn_writer *w, const struct fourlw_watch_summary *summary);
/* pairs sorted by session id (wchc) / by path (wchp), as watch_list gives them. */
int fourlw_write_wchc(struct syn_writer *w, const struct fourlw_watch_pair *pairs, size_t count);
int fourlw_write_wchp(struct syn_writer *w, const struct fourlw_watch_pair *pairs, size_t count);
int fourlw_write_dump(struct syn_writer *w, const struct fourlw_dump *d);
int fourlw_write_dirs(struct syn_writer *w, uint64_t data_dir_size, uint64_t log_dir_size);

/* ---- helpers, exposed for tests and the admin server ---- */

/*
 * Every mntr row of s in mntr's order, one call each: the standard keys (without
 * the zk_ prefix), then s->extra_metrics. The row is borrowed for the call. The
 * admin server's monitor command and /metrics walk the same rows, so the three
 * never disagree.
 */
typedef void (*fourlw_metric_fn)(void *arg, const struct fourlw_metric *m);
void fourlw_mntr_each(const struct fourlw_server *s, fourlw_metric_fn fn, void *arg);

/* "3.8.4-synod-<ver>, built on <date>" into buf (always NUL-terminated, truncated to cap). */
void fourlw_full_version(char *buf, size_t cap, const struct fourlw_server *s);

/* "standalone", "leader", "follower", "observer", "read-only". */
const char *fourlw_mode_name(enum fourlw_mode mode);

/*
 * The average of a latency summary as ZooKeeper prints it: sum/count rounded
 * half-up to 4 decimals, 0 when count is 0.
 */
double fourlw_latency_avg(const struct fourlw_latency *l);

/*
 * Formats v like Java's Double.toString: shortest digits that read back as v,
 * plain notation for 1e-3 <= |v| < 1e7 with at least one fraction digit
 * ("17.8571", "0.0", "1.0"), otherwise d.dddE<exp> ("1.0E7", "1.0E-4");
 * "NaN", "Infinity", "-Infinity". Writes at most cap bytes including the NUL
 * (32 is always enough) and returns the length.
 */
size_t fourlw_format_double(char *buf, size_t cap, double v);

/* Java's Date.toString in UTC: "Mon Nov 23 03:03:07 UTC 2026". Returns the length. */
size_t fourlw_format_date(char *buf, size_t cap, int64_t epoch_ms);

#endif
