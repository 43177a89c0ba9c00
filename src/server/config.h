/*
 * The server's configuration: a ZooKeeper-style `key=value` file (zoo.cfg) read
 * through one table (Redis's static_configs): each row names a key, its type, its
 * min, max and default and where it is stored. Parsing, validation, the `conf`
 * four-letter word and docs/operations.md all follow that table.
 *
 * Unknown keys are warned about (one log line naming file and line) and ignored,
 * so a zoo.cfg written for ZooKeeper works. A malformed or out-of-range value is an
 * error whose message names the file, the line and the key.
 *
 * A cluster is described the ZooKeeper way: `server.N=host:peerPort[:electionPort]
 * [:participant|observer][;[clientAddress:]clientPort]` lines (in zoo.cfg or in the file
 * named by dynamicConfigFile), and each server learns which N it is from `--id N` or
 * from the file `myid` in its dataDir (srv_config_resolve_id, after the file is read,
 * since dataDir is only known then). Without server lines the server is standalone.
 */
#ifndef SYN_SERVER_CONFIG_H
#define SYN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

/* One `server.N` line. Members are kept sorted by id. */
struct srv_member {
        uint64_t id;                      /* N: SRV_SERVER_ID_MIN..SRV_SERVER_ID_MAX */
        char host[NET_ADDRESS_BYTES_MAX]; /* as written; an IPv6 literal without its [] */
        int32_t peer_port;
        int32_t election_port; /* 0 if the line has none (synod needs one peer port) */
        bool observer;         /* ":observer": a Raft learner, never votes */
        char client_address[NET_ADDRESS_BYTES_MAX]; /* "" if absent (ZooKeeper: 0.0.0.0) */
        int32_t client_port;                        /* 0 if the line has no ";..." part */
        uint32_t line; /* line of the server lines' file it was read from, for messages */
};

/* One set of ZooKeeper's TLS settings: ssl.* (clients) or ssl.quorum.* (peers). */
struct srv_tls_settings {
        char key_store[SRV_PATH_BYTES_MAX]; /* keyStore.location: PEM key + chain */
        char key_store_type[SRV_TLS_WORD_BYTES_MAX];
        char trust_store[SRV_PATH_BYTES_MAX]; /* trustStore.location: PEM CA certificates */
        char trust_store_type[SRV_TLS_WORD_BYTES_MAX];
        char client_auth[SRV_TLS_WORD_BYTES_MAX]; /* need, want, none (ssl.* only) */
        char protocol[SRV_TLS_WORD_BYTES_MAX];
        char enabled_protocols[SRV_TLS_WORD_BYTES_MAX];
        char ciphersuites[SRV_CONFIG_STRING_BYTES_MAX];
};

struct srv_config {
        int64_t tick_time_ms;
        char data_dir[SRV_PATH_BYTES_MAX];
        char data_log_dir[SRV_PATH_BYTES_MAX]; /* "" until resolved: then = data_dir */
        int64_t client_port;
        char client_port_address[NET_ADDRESS_BYTES_MAX];
        int64_t min_session_timeout_ms; /* -1 until resolved: then 2 * tickTime */
        int64_t max_session_timeout_ms; /* -1 until resolved: then 20 * tickTime */
        int64_t max_client_cnxns;       /* per IP address; 0 = unlimited */
        int64_t jute_max_buffer;        /* largest client frame, bytes */
        int64_t client_memory_limit_mb; /* what all clients may make us hold (net.h) */
        int64_t snap_retain_count;
        int64_t purge_interval_hours;
        char fourlw_whitelist[SRV_CONFIG_STRING_BYTES_MAX];
        /* synod's own keys */
        int64_t snap_count;
        int64_t snap_size_limit_kb; /* also snapshot after this many KiB logged */
        int64_t reap_interval_ms;
        bool extended_types_enabled;
        char super_digest[SRV_CONFIG_STRING_BYTES_MAX]; /* "super:<base64 sha1>" or "" */
        char log_level[16];
        int64_t server_id; /* serverId, or with server lines the id from --id / myid */
        /* Raft timing (synod's own keys), counted in ticks by srv_config_raft_ticks. */
        int64_t election_timeout_ms;
        int64_t heartbeat_interval_ms; /* < election_timeout_ms / 2 */
        int64_t raft_tick_ms;          /* <= heartbeat_interval_ms */
        bool linearizable_reads;       /* every read waits for a ReadIndex round */
        bool reconfig_enabled;         /* reconfigEnabled: the reconfig request is allowed */
        /* The admin server (admin.*): /commands and /metrics over HTTP. */
        bool admin_enabled;
        char admin_address[NET_ADDRESS_BYTES_MAX]; /* 127.0.0.1: ZooKeeper binds 0.0.0.0 */
        int64_t admin_port;                        /* 0 = any free port */
        char admin_command_url[ADMIN_URL_BYTES_MAX];
        int64_t admin_idle_timeout_ms;
        bool admin_auth_enabled; /* commands revealing sessions/config need digest credentials */
        /* TLS: the secure client port (0 = none) with ssl.*, and peer links with ssl.quorum.*
         * when sslQuorum is on. */
        int64_t secure_client_port;
        char secure_client_port_address[NET_ADDRESS_BYTES_MAX];
        struct srv_tls_settings ssl;
        int64_t ssl_handshake_timeout_ms;
        bool ssl_quorum;
        struct srv_tls_settings ssl_quorum_settings; /* client_auth unused: always need */
        bool join; /* `serve --join`: joins a running cluster (no bootstrap configuration) */
        /* The cluster: empty (member_count 0) for a standalone server. */
        uint32_t member_count; /* <= RAFT_NODES_MAX */
        struct srv_member members[RAFT_NODES_MAX];
        uint64_t config_version;  /* `version=` or the dynamic file's name suffix; else 0 */
        uint64_t cluster_id;      /* clusterId, or derived from the server lines; never 0 */
        int64_t init_limit_ticks; /* initLimit / syncLimit: accepted for ZooKeeper, unused */
        int64_t sync_limit_ticks;
        char dynamic_config_file[SRV_PATH_BYTES_MAX]; /* "" or where the server lines are */
        /* Where the file set the keys a server line's client address may conflict with
         * (0 = not in the file), and the file's name: srv_config_resolve_id's messages. */
        uint32_t client_port_line;
        uint32_t client_port_address_line;
        char source[SRV_PATH_BYTES_MAX];
};

/* Size of the error message buffer callers pass to srv_config_load(). */
#define SRV_CONFIG_ERROR_BYTES 512
/* Longest server line srv_config_format_members writes (two addresses, three ports, the
 * role), and a buffer that always holds every line plus `version=` (for /zookeeper/config
 * and `conf`). */
#define SRV_MEMBER_LINE_BYTES_MAX (2 * NET_ADDRESS_BYTES_MAX + 64)
#define SRV_CONFIG_MEMBERS_BYTES  (RAFT_NODES_MAX * SRV_MEMBER_LINE_BYTES_MAX + 32)

/* Fills `config` with every default (dataDir ./synod-data, 127.0.0.1:2181) and resolves
 * the derived values. Never fails. */
void srv_config_defaults(struct srv_config *config);

/*
 * Applies the file at `path` on top of the values in `config` (call
 * srv_config_defaults first), then resolves derived values and checks relations
 * (minSessionTimeout <= maxSessionTimeout). Unknown keys are logged with SYN_WARN.
 * Returns 0, SYN_ESYS if the file cannot be read, or SYN_ECONFIG for a malformed
 * line or value; then `error` (of `error_size` bytes, borrowed for the call) holds
 * "<path>:<line>: <reason>".
 */
int srv_config_load(struct srv_config *config, const char *path, char *error, size_t error_size);

/*
 * Same as srv_config_load, on `text` (borrowed; `name` is used in messages). Server lines
 * are added to those already in `config`; a duplicate id or host:peerPort, more than
 * RAFT_NODES_MAX servers, an id outside 1..254, a malformed port or role, `group`/`weight`
 * lines (hierarchical quorums) and server lines next to dynamicConfigFile are errors naming
 * the line. A dynamicConfigFile is read at once (relative paths from the working directory,
 * as ZooKeeper does); errors in it read "<name>:<line>: <dynamic file>:<line>: <reason>".
 * Relations checked at the end: 2 * heartbeatIntervalMs < electionTimeoutMs,
 * raftTickMs <= heartbeatIntervalMs, and at least one participant among the servers.
 */
int srv_config_parse(struct srv_config *config, const char *name, const char *text, char *error,
                     size_t error_size);

/*
 * Decides which server this is, once the file is read. Without server lines: returns 0
 * and leaves server_id (serverId) as it is, unless `cli_id` != 0, which is an error (an id
 * means nothing without the servers it is one of). With server lines: the id is `cli_id`
 * if not 0, else the decimal number on the first line of <dataDir>/myid (whitespace
 * trimmed, ZooKeeper's format); if both exist they must agree (a data dir belongs to one
 * server: its Raft votes must not be reused by another). The id must be one of the
 * server lines. Then the server line's client address, if it has one, becomes
 * clientPort/clientPortAddress (`;2181` alone means 0.0.0.0, as in ZooKeeper); a clientPort
 * or clientPortAddress set in the file that disagrees is an error, as in ZooKeeper 3.8.
 * Returns 0, or SYN_ECONFIG with `error` naming the file (myid or the config).
 */
int srv_config_resolve_id(struct srv_config *config, uint64_t cli_id, char *error,
                          size_t error_size);

/* The server line with this id, or NULL. Borrowed from `config`. */
const struct srv_member *srv_config_member(const struct srv_config *config, uint64_t id);

/*
 * Writes the server lines as ZooKeeper shows them in /zookeeper/config and after `conf`'s
 * "membership:": `server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181`, one per line
 * in id order, then `version=<hex config_version>` without a final newline. A line without
 * a client part is written without one (ZooKeeper omits a client address that came from
 * clientPort). Returns the length written (NUL-terminated in `out`), or SYN_ETOOBIG if
 * `out_size` is too small (SRV_CONFIG_MEMBERS_BYTES always suffices).
 */
int srv_config_format_members(const struct srv_config *config, char *out, size_t out_size);

/* The value of one server line as ZooKeeper's QuorumServer.toString writes it (also its
 * AdminServer's voting_view): "127.0.0.1:2888:3888:participant;0.0.0.0:2181". */
void srv_config_format_member(const struct srv_member *m, char *out, size_t size);

/* The election timeout and heartbeat interval in Raft ticks: each rounded down to whole
 * raftTickMs. The checked relations make heartbeat >= 1 and election >= 2 * heartbeat. */
void srv_config_raft_ticks(const struct srv_config *config, uint32_t *election_ticks,
                           uint32_t *heartbeat_ticks);

/* Calls `emit(arg, key, value)` for every table row with its current value, in table
 * order (for the `conf` four-letter word). With server lines, then the quorum part of
 * ZooKeeper 3.8's `conf`: initLimit, syncLimit, electionPort, quorumPort, peerType (of this
 * server, once srv_config_resolve_id ran), one `server.N` per member and `version` (hex).
 * ZooKeeper prints a line "membership: " before the server lines, which is not a
 * key=value pair: the caller adds it before the first `server.` key if it wants it.
 * Strings are borrowed for the call. */
void srv_config_each(const struct srv_config *config,
                     void (*emit)(void *arg, const char *key, const char *value), void *arg);

/* True if the four-letter word `word` (4 chars, NUL-terminated) is enabled by the
 * whitelist: a comma/space separated list of words, or "*". `srvr` is always on
 * when the whitelist is empty, as in ZooKeeper 3.5.3+. */
bool srv_config_fourlw_allowed(const struct srv_config *config, const char *word);

#endif
