/*
 * Table-driven configuration (Redis's static_configs[]): one row per key with its
 * type, bounds, default and the offset of its field in struct srv_config. Defaults,
 * parsing, range checks and the `conf` output all walk the same table, so a new
 * setting is one row here plus its field and its limits in base/limits.h.
 *
 * The file format is the subset of Java properties that zoo.cfg files use:
 * `key=value` lines, blanks and `#`/`!` comments, whitespace around key and value
 * ignored. Keys outside the table fall in three groups:
 *
 * - the cluster: `server.N` lines, `dynamicConfigFile` (a second file holding the
 *   server lines and `version`, read at once, as ZooKeeper 3.5+ does) and `version`;
 * - ZooKeeper keys that only tune ZooKeeper's own machinery (its election, metrics
 *   provider, local sessions): accepted silently, so that a standard
 *   ZooKeeper 3.8 ensemble config starts without a warning;
 * - anything else: one warning naming file and line, then ignored.
 *
 * `group.N` / `weight.N` (hierarchical quorums) are refused rather than ignored:
 * synod counts plain majorities, so ignoring them would change who forms a quorum.
 */
#include "server/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/hex.h"
#include "base/log.h"

enum config_type { CONFIG_INT, CONFIG_BOOL, CONFIG_STRING, CONFIG_ID64 };

/* Rows of the quorum section are shown by `conf` only when there are server lines,
 * after the other rows, where ZooKeeper's QuorumZooKeeperServer.dumpConf puts them. */
enum config_section { SECTION_SERVER, SECTION_QUORUM };

struct config_row {
        const char *name;
        enum config_type type;
        int64_t min; /* ints: smallest value; strings, ids: unused */
        int64_t max; /* ints: largest value; strings: buffer size */
        int64_t default_int;
        const char *default_string;
        size_t offset;
        enum config_section section;
};

#define ROW_INT(key, field, lo, hi, def)                                                           \
        {                                                                                          \
                key, CONFIG_INT, lo, hi, def, NULL, offsetof(struct srv_config, field),            \
                    SECTION_SERVER                                                                 \
        }
#define ROW_QUORUM_INT(key, field, lo, hi, def)                                                    \
        {                                                                                          \
                key, CONFIG_INT, lo, hi, def, NULL, offsetof(struct srv_config, field),            \
                    SECTION_QUORUM                                                                 \
        }
#define ROW_BOOL(key, field, def)                                                                  \
        {                                                                                          \
                key, CONFIG_BOOL, 0, 1, def, NULL, offsetof(struct srv_config, field),             \
                    SECTION_SERVER                                                                 \
        }
#define ROW_STRING(key, field, def)                                                                \
        {                                                                                          \
                key, CONFIG_STRING, 0, sizeof(((struct srv_config *)0)->field), 0, def,            \
                    offsetof(struct srv_config, field), SECTION_SERVER                             \
        }
/* A 64-bit id, hex (0x...) or decimal; 0 (the default) means "derive it". */
#define ROW_ID64(key, field)                                                                       \
        {                                                                                          \
                key, CONFIG_ID64, 0, 0, 0, NULL, offsetof(struct srv_config, field),               \
                    SECTION_SERVER                                                                 \
        }

/* Largest TCP port number (ports are 16 bits on the wire). */
enum { PORT_MAX = 65535 };

/* -1 for the session timeouts means "derived from tickTime" (2x and 20x). */
static const struct config_row config_rows[] = {
    ROW_INT("tickTime", tick_time_ms, SRV_TICK_TIME_MS_MIN, SRV_TICK_TIME_MS_MAX,
            SRV_TICK_TIME_MS_DEFAULT),
    ROW_STRING("dataDir", data_dir, "./synod-data"),
    ROW_STRING("dataLogDir", data_log_dir, ""),
    ROW_INT("clientPort", client_port, 0, PORT_MAX, 2181),
    ROW_STRING("clientPortAddress", client_port_address, "127.0.0.1"),
    ROW_INT("minSessionTimeout", min_session_timeout_ms, -1, SRV_SESSION_TIMEOUT_MS_MAX, -1),
    ROW_INT("maxSessionTimeout", max_session_timeout_ms, -1, SRV_SESSION_TIMEOUT_MS_MAX, -1),
    ROW_INT("maxClientCnxns", max_client_cnxns, 0, SRV_CLIENT_CNXNS_PER_IP_MAX,
            SRV_CLIENT_CNXNS_PER_IP_DEFAULT),
    ROW_INT("jute.maxbuffer", jute_max_buffer, 1024, ZK_FRAME_BYTES_MAX, ZK_FRAME_BYTES_MAX),
    ROW_INT("clientMemoryLimitInMb", client_memory_limit_mb, NET_CLIENT_MEMORY_MB_MIN,
            NET_CLIENT_MEMORY_MB_MAX, NET_CLIENT_MEMORY_MB_DEFAULT),
    ROW_INT("autopurge.snapRetainCount", snap_retain_count, SRV_SNAP_RETAIN_COUNT_MIN,
            SRV_SNAP_RETAIN_COUNT_MAX, SRV_SNAP_RETAIN_COUNT_DEFAULT),
    ROW_INT("autopurge.purgeInterval", purge_interval_hours, 0, SRV_PURGE_INTERVAL_HOURS_MAX, 0),
    ROW_STRING("4lw.commands.whitelist", fourlw_whitelist, "srvr"),
    ROW_INT("snapCount", snap_count, SRV_SNAP_COUNT_MIN, SRV_SNAP_COUNT_MAX,
            SRV_SNAP_COUNT_DEFAULT),
    ROW_INT("snapSizeLimitInKb", snap_size_limit_kb, SRV_SNAP_SIZE_LIMIT_KB_MIN,
            SRV_SNAP_SIZE_LIMIT_KB_MAX, SRV_SNAP_SIZE_LIMIT_KB_DEFAULT),
    ROW_INT("znode.container.checkIntervalMs", reap_interval_ms, SRV_REAP_INTERVAL_MS_MIN,
            SRV_REAP_INTERVAL_MS_MAX, SRV_REAP_INTERVAL_MS_DEFAULT),
    ROW_BOOL("extendedTypesEnabled", extended_types_enabled, 1),
    ROW_STRING("superDigest", super_digest, ""),
    ROW_STRING("logLevel", log_level, "info"),
    ROW_INT("serverId", server_id, SRV_SERVER_ID_MIN, SRV_SERVER_ID_MAX, SRV_SERVER_ID_MIN),
    ROW_INT("electionTimeoutMs", election_timeout_ms, SRV_ELECTION_TIMEOUT_MS_MIN,
            SRV_ELECTION_TIMEOUT_MS_MAX, SRV_ELECTION_TIMEOUT_MS_DEFAULT),
    ROW_INT("heartbeatIntervalMs", heartbeat_interval_ms, SRV_HEARTBEAT_INTERVAL_MS_MIN,
            SRV_HEARTBEAT_INTERVAL_MS_MAX, SRV_HEARTBEAT_INTERVAL_MS_DEFAULT),
    ROW_INT("raftTickMs", raft_tick_ms, SRV_RAFT_TICK_MS_MIN, SRV_RAFT_TICK_MS_MAX,
            SRV_RAFT_TICK_MS_DEFAULT),
    ROW_BOOL("linearizableReads", linearizable_reads, 0),
    ROW_BOOL("reconfigEnabled", reconfig_enabled, 0),
    ROW_ID64("clusterId", cluster_id),
    ROW_BOOL("admin.enableServer", admin_enabled, 1),
    ROW_STRING("admin.serverAddress", admin_address, "127.0.0.1"),
    ROW_INT("admin.serverPort", admin_port, 0, PORT_MAX, ADMIN_PORT_DEFAULT),
    ROW_STRING("admin.commandURL", admin_command_url, "/commands"),
    ROW_INT("admin.idleTimeout", admin_idle_timeout_ms, ADMIN_IDLE_TIMEOUT_MS_MIN,
            ADMIN_IDLE_TIMEOUT_MS_MAX, ADMIN_IDLE_TIMEOUT_MS_DEFAULT),
    ROW_BOOL("admin.authEnabled", admin_auth_enabled, 0),
    ROW_INT("secureClientPort", secure_client_port, 0, PORT_MAX, 0),
    ROW_STRING("secureClientPortAddress", secure_client_port_address, "127.0.0.1"),
    ROW_STRING("ssl.keyStore.location", ssl.key_store, ""),
    ROW_STRING("ssl.keyStore.type", ssl.key_store_type, "PEM"),
    ROW_STRING("ssl.trustStore.location", ssl.trust_store, ""),
    ROW_STRING("ssl.trustStore.type", ssl.trust_store_type, "PEM"),
    ROW_STRING("ssl.clientAuth", ssl.client_auth, "need"),
    ROW_STRING("ssl.protocol", ssl.protocol, "TLSv1.3"),
    ROW_STRING("ssl.enabledProtocols", ssl.enabled_protocols, ""),
    ROW_STRING("ssl.ciphersuites", ssl.ciphersuites, ""),
    ROW_INT("ssl.handshakeDetectionTimeoutMillis", ssl_handshake_timeout_ms,
            NET_TLS_HANDSHAKE_TIMEOUT_MS_MIN, NET_TLS_HANDSHAKE_TIMEOUT_MS_MAX,
            NET_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT),
    ROW_BOOL("sslQuorum", ssl_quorum, 0),
    ROW_STRING("ssl.quorum.keyStore.location", ssl_quorum_settings.key_store, ""),
    ROW_STRING("ssl.quorum.keyStore.type", ssl_quorum_settings.key_store_type, "PEM"),
    ROW_STRING("ssl.quorum.trustStore.location", ssl_quorum_settings.trust_store, ""),
    ROW_STRING("ssl.quorum.trustStore.type", ssl_quorum_settings.trust_store_type, "PEM"),
    ROW_STRING("ssl.quorum.protocol", ssl_quorum_settings.protocol, "TLSv1.3"),
    ROW_STRING("ssl.quorum.enabledProtocols", ssl_quorum_settings.enabled_protocols, ""),
    ROW_STRING("ssl.quorum.ciphersuites", ssl_quorum_settings.ciphersuites, ""),
    ROW_QUORUM_INT("initLimit", init_limit_ticks, 1, SRV_ZK_LIMIT_TICKS_MAX,
                   SRV_INIT_LIMIT_TICKS_DEFAULT),
    ROW_QUORUM_INT("syncLimit", sync_limit_ticks, 1, SRV_ZK_LIMIT_TICKS_MAX,
                   SRV_SYNC_LIMIT_TICKS_DEFAULT),
};

#define CONFIG_ROW_COUNT (sizeof config_rows / sizeof config_rows[0])

/*
 * ZooKeeper 3.8 keys accepted without a warning and without effect. They tune machinery
 * synod does not have: FastLeaderElection and its ports (electionAlg, cnxTimeout,
 * electionPortBindRetry, quorumListenOnAllIPs: synod's Raft has its own timing keys), the
 * the metrics provider (synod's admin server serves /metrics itself, admin.* keys),
 * and local sessions (every synod session is global, which allows everything a local one
 * does). peerType is
 * decided by the server lines, as ZooKeeper itself does when the two disagree.
 */
static const char *const zookeeper_keys_accepted[] = {
    "electionAlg",
    "peerType",
    "standaloneEnabled",
    "quorumListenOnAllIPs",
    "electionPortBindRetry",
    "cnxTimeout",
    "metricsProvider.className",
    "metricsProvider.httpPort",
    "metricsProvider.exportJvmInfo",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
};

#define ZOOKEEPER_KEYS_ACCEPTED_COUNT                                                              \
        (sizeof zookeeper_keys_accepted / sizeof zookeeper_keys_accepted[0])

/* Seed of the derived cluster id ("synodcid"): any fixed value, but fixed forever, since
 * servers of one cluster compare the ids they derived. */
static const uint64_t cluster_id_seed = 0x73796e6f64636964ull;

/* What one pass over a file knows besides the config: which file it is and what it saw. */
struct parse_ctx {
        const char *name;
        bool dynamic;         /* the dynamicConfigFile: only server lines and version */
        bool saw_server_line; /* zoo.cfg itself had a server line */
};

static void *row_field(struct srv_config *config, const struct config_row *row)
{
        return (char *)config + row->offset;
}

static const void *row_field_const(const struct srv_config *config, const struct config_row *row)
{
        return (const char *)config + row->offset;
}

/* Hash of the sorted (id, host, peerPort) triples: every server reading the same server
 * lines derives the same id, so a plain ZooKeeper config needs no clusterId. */
static uint64_t derive_cluster_id(const struct srv_config *config)
{
        uint64_t h = cluster_id_seed;
        char triple[NET_ADDRESS_BYTES_MAX + 48];
        for (uint32_t i = 0; i < config->member_count; i++) {
                const struct srv_member *m = &config->members[i];
                int n = snprintf(triple, sizeof triple, "%" PRIu64 " %s %" PRId32 "\n", m->id,
                                 m->host, m->peer_port);
                h = syn_hash_bytes(h, triple, (size_t)n);
        }
        return h != 0 ? h : 1; /* 0 means "not set" */
}

static void resolve_derived(struct srv_config *config)
{
        if (config->data_log_dir[0] == '\0')
                snprintf(config->data_log_dir, sizeof config->data_log_dir, "%s", config->data_dir);
        if (config->min_session_timeout_ms < 0)
                config->min_session_timeout_ms = 2 * config->tick_time_ms;
        if (config->max_session_timeout_ms < 0)
                config->max_session_timeout_ms = 20 * config->tick_time_ms;
        if (config->cluster_id == 0)
                config->cluster_id = derive_cluster_id(config);
}

void srv_config_defaults(struct srv_config *config)
{
        memset(config, 0, sizeof *config);
        for (size_t i = 0; i < CONFIG_ROW_COUNT; i++) {
                const struct config_row *row = &config_rows[i];
                void *field = row_field(config, row);
                if (row->type == CONFIG_INT)
                        *(int64_t *)field = row->default_int;
                else if (row->type == CONFIG_BOOL)
                        *(bool *)field = row->default_int != 0;
                else if (row->type == CONFIG_ID64)
                        *(uint64_t *)field = 0;
                else
                        snprintf(field, (size_t)row->max, "%s", row->default_string);
        }
        resolve_derived(config);
}

static const struct config_row *find_row(const char *key)
{
        for (size_t i = 0; i < CONFIG_ROW_COUNT; i++)
                if (strcmp(config_rows[i].name, key) == 0)
                        return &config_rows[i];
        return NULL;
}

static bool zookeeper_key_accepted(const char *key)
{
        for (size_t i = 0; i < ZOOKEEPER_KEYS_ACCEPTED_COUNT; i++)
                if (strcmp(zookeeper_keys_accepted[i], key) == 0)
                        return true;
        return false;
}

static bool all_digits(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return true;
}

enum number_base {
        BASE_DECIMAL,    /* digits only */
        BASE_HEX_PREFIX, /* "0x" + hex digits, or decimal */
        BASE_HEX,        /* hex digits, "0x" optional (ZooKeeper's config versions) */
};

/* Parses an unsigned 64-bit number. Unlike strtoull: no sign, no spaces, no octal, and
 * every character must be a digit. Returns false if malformed or too big. */
static bool parse_u64(const char *s, enum number_base mode, uint64_t *out)
{
        uint64_t base = mode == BASE_HEX ? 16 : 10;
        if (mode != BASE_DECIMAL && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                base = 16;
                s += 2;
        }
        if (s[0] == '\0')
                return false;
        uint64_t v = 0;
        for (; *s != '\0'; s++) {
                int d = syn_hex_digit(*s);
                if (d < 0 || (uint64_t)d >= base || v > (UINT64_MAX - (uint64_t)d) / base)
                        return false;
                v = v * base + (uint64_t)d;
        }
        *out = v;
        return true;
}

static int set_bool(bool *field, const struct config_row *row, const char *value, char *why,
                    size_t why_size)
{
        if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0) {
                *field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
                   strcmp(value, "0") == 0) {
                *field = false;
        } else {
                snprintf(why, why_size, "%s must be true or false, not '%s'", row->name, value);
                return SYN_ECONFIG;
        }
        return 0;
}

static int set_int(int64_t *field, const struct config_row *row, const char *value, char *why,
                   size_t why_size)
{
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (value[0] == '\0' || *end != '\0' || errno == ERANGE) {
                snprintf(why, why_size, "%s must be an integer, not '%s'", row->name, value);
                return SYN_ECONFIG;
        }
        if (v < row->min || v > row->max) {
                snprintf(why, why_size, "%s = %lld is out of range [%" PRId64 ", %" PRId64 "]",
                         row->name, v, row->min, row->max);
                return SYN_ECONFIG;
        }
        *field = (int64_t)v;
        return 0;
}

/* Stores `value` into the row's field; on error writes the reason to `why`. */
static int set_value(struct srv_config *config, const struct config_row *row, const char *value,
                     char *why, size_t why_size)
{
        void *field = row_field(config, row);
        if (row->type == CONFIG_STRING) {
                if (strlen(value) >= (size_t)row->max) {
                        snprintf(why, why_size, "value of %s is longer than %" PRId64 " bytes",
                                 row->name, row->max - 1);
                        return SYN_ECONFIG;
                }
                snprintf(field, (size_t)row->max, "%s", value);
                return 0;
        }
        if (row->type == CONFIG_BOOL)
                return set_bool(field, row, value, why, why_size);
        if (row->type == CONFIG_ID64) {
                if (!parse_u64(value, BASE_HEX_PREFIX, field)) {
                        snprintf(why, why_size,
                                 "%s must be a 64-bit number (decimal or 0x hex), not '%.64s'",
                                 row->name, value);
                        return SYN_ECONFIG;
                }
                return 0;
        }
        return set_int(field, row, value, why, why_size);
}

static char *trim(char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
                s[--n] = '\0';
        return s;
}

/* ---- server lines ---- */

/* A port of a server line: decimal 1..65535 (a peer must be reachable, so no 0). */
static int parse_port(const char *s, size_t n, const char *what, int32_t *port, char *why,
                      size_t why_size)
{
        uint64_t v = 0;
        char digits[8];
        if (all_digits(s, n) && n < sizeof digits) {
                memcpy(digits, s, n);
                digits[n] = '\0';
                if (parse_u64(digits, BASE_DECIMAL, &v) && v >= 1 && v <= PORT_MAX) {
                        *port = (int32_t)v;
                        return 0;
                }
        }
        snprintf(why, why_size, "%s '%.*s' is not a port number (1..%d)", what,
                 (int)(n > 64 ? 64 : n), s, PORT_MAX);
        return SYN_ECONFIG;
}

/*
 * Reads a host at `s`: "[v6 literal]" or a name / IPv4 address running up to ':' or the end.
 * Copies it (without brackets) to `host` and returns the rest (starting at ':' or the end),
 * or NULL with `why` set.
 */
static const char *parse_host(const char *s, const char *what, char *host, char *why,
                              size_t why_size)
{
        const char *start = s;
        size_t n;
        const char *rest;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (close == NULL) {
                        snprintf(why, why_size, "%s '%.64s' lacks its closing ']'", what, s);
                        return NULL;
                }
                start = s + 1;
                n = (size_t)(close - start);
                rest = close + 1;
        } else {
                n = strcspn(s, ":");
                rest = s + n;
        }
        if (n == 0 || n >= NET_ADDRESS_BYTES_MAX || memchr(start, ' ', n) != NULL ||
            memchr(start, '\t', n) != NULL || memchr(start, '[', n) != NULL) {
                snprintf(why, why_size,
                         "%s in '%.64s' is empty, too long or malformed (an IPv6 address goes "
                         "in brackets: [::1])",
                         what, s);
                return NULL;
        }
        memcpy(host, start, n);
        host[n] = '\0';
        return rest;
}

/* The part after ';': "port", "address:port" or "[v6]:port". */
static int parse_client_part(const char *s, struct srv_member *m, char *why, size_t why_size)
{
        const char *colon = strrchr(s, ':');
        if (colon == NULL)
                return parse_port(s, strlen(s), "client port", &m->client_port, why, why_size);
        const char *rest = parse_host(s, "client address", m->client_address, why, why_size);
        if (rest == NULL)
                return SYN_ECONFIG;
        if (rest != colon) {
                snprintf(why, why_size,
                         "client address '%.64s' is malformed (an IPv6 address goes in "
                         "brackets: [::1]:2181)",
                         s);
                return SYN_ECONFIG;
        }
        return parse_port(colon + 1, strlen(colon + 1), "client port", &m->client_port, why,
                          why_size);
}

static bool role_word(const char *s, size_t n, bool *observer)
{
        if (n == strlen("participant") && strncasecmp(s, "participant", n) == 0) {
                *observer = false;
                return true;
        }
        if (n == strlen("observer") && strncasecmp(s, "observer", n) == 0) {
                *observer = true;
                return true;
        }
        return false;
}

/* After the host: ":peerPort[:electionPort][:participant|observer]" up to the end. */
static int parse_ports_and_role(const char *s, struct srv_member *m, char *why, size_t why_size)
{
        enum { PARTS_MAX = 3 }; /* peer port, election port, role */
        const char *part[PARTS_MAX + 1];
        size_t len[PARTS_MAX + 1];
        size_t count = 0;
        if (*s != ':') {
                snprintf(why, why_size, "expected ':' and a peer port after the host");
                return SYN_ECONFIG;
        }
        while (*s == ':' && count <= PARTS_MAX) {
                s++;
                part[count] = s;
                len[count] = strcspn(s, ":");
                s += len[count];
                count++;
        }
        if (count > PARTS_MAX) {
                snprintf(why, why_size,
                         "too many ':' parts: expected host:peerPort[:electionPort][:role]");
                return SYN_ECONFIG;
        }
        if (parse_port(part[0], len[0], "peer port", &m->peer_port, why, why_size) != 0)
                return SYN_ECONFIG;
        size_t next = 1;
        if (count > 1 && all_digits(part[1], len[1])) {
                if (parse_port(part[1], len[1], "election port", &m->election_port, why,
                               why_size) != 0)
                        return SYN_ECONFIG;
                next = 2;
        }
        if (next < count) {
                if (next + 1 < count || !role_word(part[next], len[next], &m->observer)) {
                        snprintf(why, why_size, "'%.*s' is neither a port nor participant/observer",
                                 (int)(len[next] > 64 ? 64 : len[next]), part[next]);
                        return SYN_ECONFIG;
                }
        }
        return 0;
}

/* The value of a server.N line, modified in place. */
static int parse_member(char *value, struct srv_member *m, char *why, size_t why_size)
{
        if (strchr(value, '|') != NULL) {
                snprintf(why, why_size, "several addresses per server (a|b) are not supported");
                return SYN_ECONFIG;
        }
        char *semi = strchr(value, ';');
        if (semi != NULL) {
                *semi = '\0';
                if (parse_client_part(trim(semi + 1), m, why, why_size) != 0)
                        return SYN_ECONFIG;
        }
        const char *rest = parse_host(trim(value), "host", m->host, why, why_size);
        if (rest == NULL)
                return SYN_ECONFIG;
        return parse_ports_and_role(rest, m, why, why_size);
}

/* Checks the new member against the others and inserts it, keeping id order. */
static int add_member(struct srv_config *config, const struct srv_member *m, char *why,
                      size_t why_size)
{
        uint32_t at = config->member_count;
        for (uint32_t i = 0; i < config->member_count; i++) {
                const struct srv_member *o = &config->members[i];
                if (o->id == m->id) {
                        snprintf(why, why_size, "server.%" PRIu64 " is defined twice", m->id);
                        return SYN_ECONFIG;
                }
                if (o->peer_port == m->peer_port && strcmp(o->host, m->host) == 0) {
                        snprintf(why, why_size,
                                 "server.%" PRIu64 " has the same host:peerPort (%.64s:%" PRId32
                                 ") as server.%" PRIu64,
                                 m->id, m->host, m->peer_port, o->id);
                        return SYN_ECONFIG;
                }
                if (o->id > m->id && at == config->member_count)
                        at = i;
        }
        if (config->member_count >= RAFT_NODES_MAX) {
                snprintf(why, why_size, "more than %d servers: a cluster has at most %d members",
                         RAFT_NODES_MAX, RAFT_NODES_MAX);
                return SYN_ECONFIG;
        }
        memmove(&config->members[at + 1], &config->members[at],
                (config->member_count - at) * sizeof config->members[0]);
        config->members[at] = *m;
        config->member_count++;
        return 0;
}

static int parse_server_line(struct srv_config *config, const char *key, char *value, int line_no,
                             char *why, size_t why_size)
{
        const char *digits = key + strlen("server.");
        uint64_t id = 0;
        if (!parse_u64(digits, BASE_DECIMAL, &id) || id < SRV_SERVER_ID_MIN ||
            id > SRV_SERVER_ID_MAX) {
                snprintf(why, why_size,
                         "%.64s: the server id must be a number in [%d, %d]: session ids carry "
                         "it in their top 8 bits, and 255 there marks TTL nodes",
                         key, SRV_SERVER_ID_MIN, SRV_SERVER_ID_MAX);
                return SYN_ECONFIG;
        }
        struct srv_member m;
        memset(&m, 0, sizeof m);
        m.id = id;
        m.line = (uint32_t)line_no;
        /* The reason goes after a "server.N: " prefix (N < 255, so the prefix is short). */
        int prefix = snprintf(why, why_size, "server.%" PRIu64 ": ", id);
        if (parse_member(value, &m, why + prefix, why_size - (size_t)prefix) != 0)
                return SYN_ECONFIG;
        return add_member(config, &m, why, why_size);
}

/* ---- files ---- */

/* Reads a whole config file (at most 1 MiB, no NUL bytes) into a malloc'ed string. */
static int read_text_file(const char *path, char **text_out, char *error, size_t error_size)
{
        FILE *f = fopen(path, "r");
        if (f == NULL) {
                snprintf(error, error_size, "%s: cannot open: %s", path, strerror(errno));
                return SYN_ESYS;
        }
        /* A config file is small; anything beyond 1 MiB is not a zoo.cfg. */
        enum { CONFIG_FILE_BYTES_MAX = 1024 * 1024 };
        char *text = malloc(CONFIG_FILE_BYTES_MAX + 1);
        if (text == NULL) {
                fclose(f);
                snprintf(error, error_size, "%s: out of memory", path);
                return SYN_ENOMEM;
        }
        size_t n = fread(text, 1, CONFIG_FILE_BYTES_MAX + 1, f);
        bool failed = ferror(f) != 0;
        fclose(f);
        if (failed || n > CONFIG_FILE_BYTES_MAX) {
                free(text);
                snprintf(error, error_size, "%s: %s", path,
                         failed ? "read error" : "file larger than 1 MiB");
                return SYN_ECONFIG;
        }
        text[n] = '\0';
        if (memchr(text, '\0', n) != NULL) {
                free(text);
                snprintf(error, error_size, "%s: file contains a NUL byte", path);
                return SYN_ECONFIG;
        }
        *text_out = text;
        return 0;
}

static int parse_text(struct srv_config *config, struct parse_ctx *ctx, const char *text,
                      char *error, size_t error_size);

/* ZooKeeper names the dynamic files it writes zoo.cfg.dynamic.<hex version>. */
static void version_from_file_name(struct srv_config *config, const char *path)
{
        const char *tag = ".dynamic.";
        const char *p = NULL;
        for (const char *q = strstr(path, tag); q != NULL; q = strstr(q + 1, tag))
                p = q;
        uint64_t v = 0;
        if (p != NULL && parse_u64(p + strlen(tag), BASE_HEX, &v))
                config->config_version = v;
}

static int load_dynamic_file(struct srv_config *config, const char *path, char *why,
                             size_t why_size)
{
        if (strlen(path) >= sizeof config->dynamic_config_file) {
                snprintf(why, why_size, "dynamicConfigFile is longer than %zu bytes",
                         sizeof config->dynamic_config_file - 1);
                return SYN_ECONFIG;
        }
        snprintf(config->dynamic_config_file, sizeof config->dynamic_config_file, "%s", path);
        version_from_file_name(config, path);
        char *text = NULL;
        int rc = read_text_file(path, &text, why, why_size);
        if (rc != 0)
                return SYN_ECONFIG;
        struct parse_ctx ctx = {.name = config->dynamic_config_file, .dynamic = true};
        rc = parse_text(config, &ctx, text, why, why_size);
        free(text);
        return rc;
}

/* Keys that are not table rows: the cluster's. Returns 1 if `key` is not one of them. */
static int parse_cluster_key(struct srv_config *config, struct parse_ctx *ctx, const char *key,
                             char *value, int line_no, char *why, size_t why_size)
{
        if (strncmp(key, "server.", strlen("server.")) == 0) {
                if (!ctx->dynamic && config->dynamic_config_file[0] != '\0') {
                        snprintf(why, why_size,
                                 "%.64s: with dynamicConfigFile the server lines belong in %.256s "
                                 "(ZooKeeper refuses both too)",
                                 key, config->dynamic_config_file);
                        return SYN_ECONFIG;
                }
                ctx->saw_server_line = true;
                return parse_server_line(config, key, value, line_no, why, why_size);
        }
        if (strncmp(key, "group.", strlen("group.")) == 0 ||
            strncmp(key, "weight.", strlen("weight.")) == 0) {
                snprintf(why, why_size,
                         "%.64s: hierarchical quorums (group/weight) are not supported: synod "
                         "counts a plain majority of the participants",
                         key);
                return SYN_ECONFIG;
        }
        if (strcmp(key, "version") == 0) {
                if (!parse_u64(value, BASE_HEX, &config->config_version)) {
                        snprintf(why, why_size, "version must be a hex number, not '%.64s'", value);
                        return SYN_ECONFIG;
                }
                return 0;
        }
        if (!ctx->dynamic && strcmp(key, "dynamicConfigFile") == 0) {
                if (ctx->saw_server_line || config->dynamic_config_file[0] != '\0') {
                        snprintf(why, why_size,
                                 "dynamicConfigFile given after server lines or twice: the "
                                 "server lines belong in the dynamic file alone");
                        return SYN_ECONFIG;
                }
                return load_dynamic_file(config, value, why, why_size);
        }
        return 1;
}

/* Handles one line (modified in place). Returns 0 or SYN_ECONFIG with `why` set. */
static int parse_line(struct srv_config *config, struct parse_ctx *ctx, int line_no, char *line,
                      char *why, size_t why_size)
{
        char *s = trim(line);
        if (s[0] == '\0' || s[0] == '#' || s[0] == '!')
                return 0;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
                snprintf(why, why_size, "expected key=value, got '%.64s'", s);
                return SYN_ECONFIG;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        if (key[0] == '\0') {
                snprintf(why, why_size, "empty key");
                return SYN_ECONFIG;
        }
        int rc = parse_cluster_key(config, ctx, key, value, line_no, why, why_size);
        if (rc <= 0)
                return rc;
        const struct config_row *row = ctx->dynamic ? NULL : find_row(key);
        if (row == NULL) {
                if (!zookeeper_key_accepted(key))
                        SYN_WARN("%s:%d: unknown key '%.128s' ignored", ctx->name, line_no, key);
                return 0;
        }
        rc = set_value(config, row, value, why, why_size);
        /* A string row, but only four words mean something: checked here to name the line. */
        if (rc == 0 && row->offset == offsetof(struct srv_config, log_level) &&
            syn_log_level_parse(value) < 0) {
                snprintf(why, why_size, "logLevel must be debug, info, warn or error, not '%.64s'",
                         value);
                return SYN_ECONFIG;
        }
        if (rc == 0 && row->offset == offsetof(struct srv_config, client_port))
                config->client_port_line = (uint32_t)line_no;
        if (rc == 0 && row->offset == offsetof(struct srv_config, client_port_address))
                config->client_port_address_line = (uint32_t)line_no;
        return rc;
}

static int parse_text(struct srv_config *config, struct parse_ctx *ctx, const char *text,
                      char *error, size_t error_size)
{
        char line[SRV_CONFIG_LINE_BYTES_MAX];
        char why[SRV_CONFIG_ERROR_BYTES];
        int line_no = 0;
        const char *p = text;
        while (*p != '\0') {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                line_no++;
                if (n >= sizeof line) {
                        snprintf(error, error_size, "%s:%d: line longer than %zu bytes", ctx->name,
                                 line_no, sizeof line - 1);
                        return SYN_ECONFIG;
                }
                memcpy(line, p, n);
                line[n] = '\0';
                int rc = parse_line(config, ctx, line_no, line, why, sizeof why);
                if (rc != 0) {
                        snprintf(error, error_size, "%s:%d: %s", ctx->name, line_no, why);
                        return rc;
                }
                p += n + (nl ? 1 : 0);
        }
        return 0;
}

static int check_relations(const struct srv_config *config, char *why, size_t why_size)
{
        if (config->min_session_timeout_ms > config->max_session_timeout_ms) {
                snprintf(why, why_size,
                         "minSessionTimeout (%" PRId64
                         ") is larger than maxSessionTimeout (%" PRId64 ")",
                         config->min_session_timeout_ms, config->max_session_timeout_ms);
                return SYN_ECONFIG;
        }
        if (config->data_dir[0] == '\0') {
                snprintf(why, why_size, "dataDir is empty");
                return SYN_ECONFIG;
        }
        if (config->admin_command_url[0] != '/' ||
            strcmp(config->admin_command_url, "/metrics") == 0) {
                snprintf(why, why_size,
                         "admin.commandURL (%s) must start with / and must not be /metrics",
                         config->admin_command_url);
                return SYN_ECONFIG;
        }
        if (config->heartbeat_interval_ms * 2 >= config->election_timeout_ms) {
                snprintf(why, why_size,
                         "heartbeatIntervalMs (%" PRId64
                         ") must be less than half of electionTimeoutMs (%" PRId64
                         "): one lost heartbeat must not start an election",
                         config->heartbeat_interval_ms, config->election_timeout_ms);
                return SYN_ECONFIG;
        }
        if (config->raft_tick_ms > config->heartbeat_interval_ms) {
                snprintf(why, why_size,
                         "raftTickMs (%" PRId64 ") must not exceed heartbeatIntervalMs (%" PRId64
                         "): both timeouts are counted in whole ticks",
                         config->raft_tick_ms, config->heartbeat_interval_ms);
                return SYN_ECONFIG;
        }
        bool participant = config->member_count == 0;
        for (uint32_t i = 0; i < config->member_count; i++)
                participant = participant || !config->members[i].observer;
        if (!participant) {
                snprintf(why, why_size,
                         "every server line is an observer: a cluster needs a "
                         "participant to vote");
                return SYN_ECONFIG;
        }
        return 0;
}

int srv_config_parse(struct srv_config *config, const char *name, const char *text, char *error,
                     size_t error_size)
{
        /* Re-derive the -1 defaults after the file: tickTime may come later than them. */
        bool derive_min = config->min_session_timeout_ms == 2 * config->tick_time_ms;
        bool derive_max = config->max_session_timeout_ms == 20 * config->tick_time_ms;
        bool derive_log = strcmp(config->data_log_dir, config->data_dir) == 0;
        bool derive_cluster = config->cluster_id == derive_cluster_id(config);
        if (derive_min)
                config->min_session_timeout_ms = -1;
        if (derive_max)
                config->max_session_timeout_ms = -1;
        if (derive_log)
                config->data_log_dir[0] = '\0';
        if (derive_cluster)
                config->cluster_id = 0;
        snprintf(config->source, sizeof config->source, "%s", name);
        struct parse_ctx ctx = {.name = name};
        int rc = parse_text(config, &ctx, text, error, error_size);
        if (rc != 0)
                return rc;
        resolve_derived(config);
        char why[SRV_CONFIG_ERROR_BYTES];
        rc = check_relations(config, why, sizeof why);
        if (rc != 0)
                snprintf(error, error_size, "%s: %s", name, why);
        return rc;
}

int srv_config_load(struct srv_config *config, const char *path, char *error, size_t error_size)
{
        char *text = NULL;
        int rc = read_text_file(path, &text, error, error_size);
        if (rc != 0)
                return rc;
        rc = srv_config_parse(config, path, text, error, error_size);
        free(text);
        return rc;
}

/* ---- which server this is ---- */

/* Reads the id from <dataDir>/myid. Returns 0, -ENOENT if there is no such file (quietly:
 * the caller decides), or SYN_ECONFIG with `error` naming the file. */
static int read_myid(const struct srv_config *config, char *path, size_t path_size, uint64_t *id,
                     char *error, size_t error_size)
{
        snprintf(path, path_size, "%s/myid", config->data_dir);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
                if (errno == ENOENT)
                        return -ENOENT;
                snprintf(error, error_size, "%s: cannot open: %s", path, strerror(errno));
                return SYN_ECONFIG;
        }
        char text[SRV_MYID_BYTES_MAX + 1];
        size_t n = fread(text, 1, SRV_MYID_BYTES_MAX + 1, f);
        bool failed = ferror(f) != 0;
        fclose(f);
        if (failed || n > SRV_MYID_BYTES_MAX) {
                snprintf(error, error_size, "%s: %s", path,
                         failed ? "read error" : "larger than a myid file (one number)");
                return SYN_ECONFIG;
        }
        text[n] = '\0';
        text[strcspn(text, "\n")] = '\0'; /* ZooKeeper reads the first line */
        char *number = trim(text);
        if (!parse_u64(number, BASE_DECIMAL, id) || *id < SRV_SERVER_ID_MIN ||
            *id > SRV_SERVER_ID_MAX) {
                snprintf(error, error_size,
                         "%s: expected this server's id, a number in [%d, %d], found '%.32s'", path,
                         SRV_SERVER_ID_MIN, SRV_SERVER_ID_MAX, number);
                return SYN_ECONFIG;
        }
        return 0;
}

static int choose_id(const struct srv_config *config, uint64_t cli_id, uint64_t *id, char *error,
                     size_t error_size)
{
        char path[SRV_PATH_BYTES_MAX + 8];
        uint64_t from_file = 0;
        int rc = read_myid(config, path, sizeof path, &from_file, error, error_size);
        if (rc == SYN_ECONFIG)
                return rc;
        if (cli_id == 0 && rc == -ENOENT) {
                snprintf(error, error_size,
                         "%s: missing: with server lines in %s each server needs its id there "
                         "(one number, as for ZooKeeper) or --id N",
                         path, config->source);
                return SYN_ECONFIG;
        }
        if (cli_id != 0 && rc == 0 && from_file != cli_id) {
                snprintf(error, error_size,
                         "%s: says %" PRIu64 " but --id is %" PRIu64
                         ": this data directory belongs to another server",
                         path, from_file, cli_id);
                return SYN_ECONFIG;
        }
        *id = cli_id != 0 ? cli_id : from_file;
        if (srv_config_member(config, *id) == NULL) {
                char ids[RAFT_NODES_MAX * 5 + 1] = "";
                size_t used = 0;
                for (uint32_t i = 0; i < config->member_count; i++)
                        used += (size_t)snprintf(ids + used, sizeof ids - used, "%s%" PRIu64,
                                                 i ? ", " : "", config->members[i].id);
                char who[SRV_PATH_BYTES_MAX + 32];
                if (cli_id != 0)
                        snprintf(who, sizeof who, "--id %" PRIu64, *id);
                else
                        snprintf(who, sizeof who, "%s: id %" PRIu64, path, *id);
                snprintf(
                    error, error_size, "%s is not one of the server lines of %s (servers %s)", who,
                    config->dynamic_config_file[0] ? config->dynamic_config_file : config->source,
                    ids);
                return SYN_ECONFIG;
        }
        return 0;
}

static bool wildcard_address(const char *address)
{
        return strcmp(address, "0.0.0.0") == 0 || strcmp(address, "::") == 0;
}

/* The server line's client address wins when the file does not say otherwise; ZooKeeper
 * 3.8 (QuorumPeerConfig.setupClientPort) refuses a clientPort or a non-wildcard
 * clientPortAddress that disagrees with it, and so do we. */
static int apply_client_address(struct srv_config *config, const struct srv_member *self,
                                char *error, size_t error_size)
{
        if (self->client_port == 0)
                return 0;
        const char *file =
            config->dynamic_config_file[0] ? config->dynamic_config_file : config->source;
        const char *address = self->client_address[0] ? self->client_address : "0.0.0.0";
        if (config->client_port_line != 0 && config->client_port != self->client_port) {
                snprintf(error, error_size,
                         "%s:%" PRIu32 ": server.%" PRIu64 " has client port %" PRId32
                         " but %s:%" PRIu32 " sets clientPort = %" PRId64
                         " (ZooKeeper refuses this too): drop clientPort or make them agree",
                         file, self->line, self->id, self->client_port, config->source,
                         config->client_port_line, config->client_port);
                return SYN_ECONFIG;
        }
        if (config->client_port_address_line != 0 &&
            !wildcard_address(config->client_port_address) &&
            strcmp(config->client_port_address, address) != 0) {
                snprintf(error, error_size,
                         "%s:%" PRIu32 ": server.%" PRIu64 " has client address %s but %s:%" PRIu32
                         " sets clientPortAddress = %s (ZooKeeper refuses this too)",
                         file, self->line, self->id, address, config->source,
                         config->client_port_address_line, config->client_port_address);
                return SYN_ECONFIG;
        }
        config->client_port = self->client_port;
        snprintf(config->client_port_address, sizeof config->client_port_address, "%s", address);
        return 0;
}

int srv_config_resolve_id(struct srv_config *config, uint64_t cli_id, char *error,
                          size_t error_size)
{
        if (config->member_count == 0) {
                if (cli_id == 0)
                        return 0;
                snprintf(error, error_size,
                         "--id %" PRIu64 " given, but %s has no server.N lines: a standalone "
                         "server takes its id from serverId",
                         cli_id, config->source[0] ? config->source : "the configuration");
                return SYN_ECONFIG;
        }
        if (cli_id != 0 && (cli_id < SRV_SERVER_ID_MIN || cli_id > SRV_SERVER_ID_MAX)) {
                snprintf(error, error_size, "--id %" PRIu64 " is out of range [%d, %d]", cli_id,
                         SRV_SERVER_ID_MIN, SRV_SERVER_ID_MAX);
                return SYN_ECONFIG;
        }
        uint64_t id = 0;
        int rc = choose_id(config, cli_id, &id, error, error_size);
        if (rc != 0)
                return rc;
        rc = apply_client_address(config, srv_config_member(config, id), error, error_size);
        if (rc != 0)
                return rc;
        config->server_id = (int64_t)id;
        return 0;
}

const struct srv_member *srv_config_member(const struct srv_config *config, uint64_t id)
{
        for (uint32_t i = 0; i < config->member_count; i++)
                if (config->members[i].id == id)
                        return &config->members[i];
        return NULL;
}

void srv_config_raft_ticks(const struct srv_config *config, uint32_t *election_ticks,
                           uint32_t *heartbeat_ticks)
{
        *election_ticks = (uint32_t)(config->election_timeout_ms / config->raft_tick_ms);
        *heartbeat_ticks = (uint32_t)(config->heartbeat_interval_ms / config->raft_tick_ms);
}

/* ---- output ---- */

/* host, or [host] for an IPv6 literal, so that the ':' that follows stays unambiguous. */
static const char *bracketed(const char *host, char *buf, size_t size)
{
        if (strchr(host, ':') == NULL)
                return host;
        snprintf(buf, size, "[%s]", host);
        return buf;
}

void srv_config_format_member(const struct srv_member *m, char *out, size_t size)
{
        char host[NET_ADDRESS_BYTES_MAX + 2];
        char client[NET_ADDRESS_BYTES_MAX + 2];
        char election[16] = "";
        char client_part[NET_ADDRESS_BYTES_MAX + 16] = "";
        if (m->election_port != 0)
                snprintf(election, sizeof election, ":%" PRId32, m->election_port);
        if (m->client_port != 0)
                snprintf(client_part, sizeof client_part, ";%s:%" PRId32,
                         bracketed(m->client_address[0] ? m->client_address : "0.0.0.0", client,
                                   sizeof client),
                         m->client_port);
        snprintf(out, size, "%s:%" PRId32 "%s:%s%s", bracketed(m->host, host, sizeof host),
                 m->peer_port, election, m->observer ? "observer" : "participant", client_part);
}

int srv_config_format_members(const struct srv_config *config, char *out, size_t out_size)
{
        char value[SRV_MEMBER_LINE_BYTES_MAX];
        size_t used = 0;
        for (uint32_t i = 0; i <= config->member_count; i++) {
                int n;
                if (i < config->member_count) {
                        const struct srv_member *m = &config->members[i];
                        srv_config_format_member(m, value, sizeof value);
                        n = snprintf(out + used, out_size - used, "server.%" PRIu64 "=%s\n", m->id,
                                     value);
                } else {
                        n = snprintf(out + used, out_size - used, "version=%" PRIx64,
                                     config->config_version);
                }
                if (n < 0 || (size_t)n >= out_size - used) {
                        if (out_size > 0)
                                out[0] = '\0';
                        return SYN_ETOOBIG;
                }
                used += (size_t)n;
        }
        return (int)used;
}

static void emit_row(const struct srv_config *config, const struct config_row *row,
                     void (*emit)(void *arg, const char *key, const char *value), void *arg)
{
        char value[32];
        const void *field = row_field_const(config, row);
        if (row->type == CONFIG_INT) {
                snprintf(value, sizeof value, "%" PRId64, *(const int64_t *)field);
                emit(arg, row->name, value);
        } else if (row->type == CONFIG_BOOL) {
                emit(arg, row->name, *(const bool *)field ? "true" : "false");
        } else if (row->type == CONFIG_ID64) {
                snprintf(value, sizeof value, "0x%016" PRIx64, *(const uint64_t *)field);
                emit(arg, row->name, value);
        } else {
                emit(arg, row->name, field);
        }
}

/* The quorum part of ZooKeeper's conf: its rows, this server's ports and role, the
 * members and the version. */
static void emit_quorum(const struct srv_config *config,
                        void (*emit)(void *arg, const char *key, const char *value), void *arg)
{
        for (size_t i = 0; i < CONFIG_ROW_COUNT; i++)
                if (config_rows[i].section == SECTION_QUORUM)
                        emit_row(config, &config_rows[i], emit, arg);
        char key[32];
        char value[SRV_MEMBER_LINE_BYTES_MAX];
        const struct srv_member *self = srv_config_member(config, (uint64_t)config->server_id);
        if (self != NULL) {
                if (self->election_port != 0) {
                        snprintf(value, sizeof value, "%" PRId32, self->election_port);
                        emit(arg, "electionPort", value);
                }
                snprintf(value, sizeof value, "%" PRId32, self->peer_port);
                emit(arg, "quorumPort", value);
                emit(arg, "peerType", self->observer ? "1" : "0"); /* LearnerType ordinal */
        }
        for (uint32_t i = 0; i < config->member_count; i++) {
                snprintf(key, sizeof key, "server.%" PRIu64, config->members[i].id);
                srv_config_format_member(&config->members[i], value, sizeof value);
                emit(arg, key, value);
        }
        snprintf(value, sizeof value, "%" PRIx64, config->config_version);
        emit(arg, "version", value);
}

void srv_config_each(const struct srv_config *config,
                     void (*emit)(void *arg, const char *key, const char *value), void *arg)
{
        for (size_t i = 0; i < CONFIG_ROW_COUNT; i++)
                if (config_rows[i].section == SECTION_SERVER)
                        emit_row(config, &config_rows[i], emit, arg);
        if (config->member_count > 0)
                emit_quorum(config, emit, arg);
}

bool srv_config_fourlw_allowed(const struct srv_config *config, const char *word)
{
        const char *list = config->fourlw_whitelist;
        size_t word_len = strlen(word);
        const char *p = list;
        while (*p != '\0') {
                while (*p == ',' || *p == ' ' || *p == '\t')
                        p++;
                size_t n = strcspn(p, ", \t");
                if (n == 1 && p[0] == '*')
                        return true;
                if (n == word_len && strncmp(p, word, n) == 0)
                        return true;
                p += n;
        }
        return false;
}
