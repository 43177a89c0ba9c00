/*
 * The server's configuration: a ZooKeeper-style `key=value` file (zoo.cfg) read
 * through one table (Redis's static_configs): each row names a key, its type, its
 * min, max and default and where it is stored. Parsing, validation, the `conf`
 * four-letter word and docs/operations.md all follow that table.
 *
 * Unknown keys are warned about (one log line naming file and line) and ignored,
 * so a zoo.cfg written for ZooKeeper works. A malformed or out-of-range value is an
 * error whose message names the file, the line and the key.
 */
#ifndef SYN_SERVER_CONFIG_H
#define SYN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

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
        int64_t server_id;
};

/* Size of the error message buffer callers pass to srv_config_load(). */
#define SRV_CONFIG_ERROR_BYTES 512

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

/* Same as srv_config_load, on `text` (borrowed; `name` is used in messages). */
int srv_config_parse(struct srv_config *config, const char *name, const char *text, char *error,
                     size_t error_size);

/* Calls `emit(arg, key, value)` for every table row with its current value, in table
 * order (for the `conf` four-letter word). Strings are borrowed for the call. */
void srv_config_each(const struct srv_config *config,
                     void (*emit)(void *arg, const char *key, const char *value), void *arg);

/* True if the four-letter word `word` (4 chars, NUL-terminated) is enabled by the
 * whitelist: a comma/space separated list of words, or "*". `srvr` is always on
 * when the whitelist is empty, as in ZooKeeper 3.5.3+. */
bool srv_config_fourlw_allowed(const struct srv_config *config, const char *word);

#endif
