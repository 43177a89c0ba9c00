/*
 * Table-driven configuration (Redis's static_configs[]): one row per key with its
 * type, bounds, default and the offset of its field in struct srv_config. Defaults,
 * parsing, range checks and the `conf` output all walk the same table, so a new
 * setting is one row here plus its field and its limits in base/limits.h.
 *
 * The file format is the subset of Java properties that zoo.cfg files use:
 * `key=value` lines, blanks and `#`/`!` comments, whitespace around key and value
 * ignored. Keys ZooKeeper knows but synod has no use for (initLimit, admin.*) are
 * unknown keys like any other: one warning each, then ignored.
 */
#include "server/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

enum config_type { CONFIG_INT, CONFIG_BOOL, CONFIG_STRING };

struct config_row {
        const char *name;
        enum config_type type;
        int64_t min; /* ints: smallest value; strings: unused */
        int64_t max; /* ints: largest value; strings: buffer size */
        int64_t default_int;
        const char *default_string;
        size_t offset;
};

#define ROW_INT(key, field, lo, hi, def)                                                           \
        {                                                                                          \
                key, CONFIG_INT, lo, hi, def, NULL, offsetof(struct srv_config, field)             \
        }
#define ROW_BOOL(key, field, def)                                                                  \
        {                                                                                          \
                key, CONFIG_BOOL, 0, 1, def, NULL, offsetof(struct srv_config, field)              \
        }
#define ROW_STRING(key, field, def)                                                                \
        {                                                                                          \
                key, CONFIG_STRING, 0, sizeof(((struct srv_config *)0)->field), 0, def,            \
                    offsetof(struct srv_config, field)                                             \
        }

/* -1 for the session timeouts means "derived from tickTime" (2x and 20x). */
static const struct config_row config_rows[] = {
    ROW_INT("tickTime", tick_time_ms, SRV_TICK_TIME_MS_MIN, SRV_TICK_TIME_MS_MAX,
            SRV_TICK_TIME_MS_DEFAULT),
    ROW_STRING("dataDir", data_dir, "./synod-data"),
    ROW_STRING("dataLogDir", data_log_dir, ""),
    ROW_INT("clientPort", client_port, 0, 65535, 2181),
    ROW_STRING("clientPortAddress", client_port_address, "127.0.0.1"),
    ROW_INT("minSessionTimeout", min_session_timeout_ms, -1, SRV_SESSION_TIMEOUT_MS_MAX, -1),
    ROW_INT("maxSessionTimeout", max_session_timeout_ms, -1, SRV_SESSION_TIMEOUT_MS_MAX, -1),
    ROW_INT("maxClientCnxns", max_client_cnxns, 0, SRV_CLIENT_CNXNS_PER_IP_MAX,
            SRV_CLIENT_CNXNS_PER_IP_DEFAULT),
    ROW_INT("jute.maxbuffer", jute_max_buffer, 1024, ZK_FRAME_BYTES_MAX, ZK_FRAME_BYTES_MAX),
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
    ROW_INT("serverId", server_id, 1, 254, 1),
};

#define CONFIG_ROW_COUNT (sizeof config_rows / sizeof config_rows[0])

static void *row_field(struct srv_config *config, const struct config_row *row)
{
        return (char *)config + row->offset;
}

static const void *row_field_const(const struct srv_config *config, const struct config_row *row)
{
        return (const char *)config + row->offset;
}

static void resolve_derived(struct srv_config *config)
{
        if (config->data_log_dir[0] == '\0')
                snprintf(config->data_log_dir, sizeof config->data_log_dir, "%s", config->data_dir);
        if (config->min_session_timeout_ms < 0)
                config->min_session_timeout_ms = 2 * config->tick_time_ms;
        if (config->max_session_timeout_ms < 0)
                config->max_session_timeout_ms = 20 * config->tick_time_ms;
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
        if (row->type == CONFIG_BOOL) {
                if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
                    strcmp(value, "1") == 0) {
                        *(bool *)field = true;
                } else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
                           strcmp(value, "0") == 0) {
                        *(bool *)field = false;
                } else {
                        snprintf(why, why_size, "%s must be true or false, not '%s'", row->name,
                                 value);
                        return SYN_ECONFIG;
                }
                return 0;
        }
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
        *(int64_t *)field = (int64_t)v;
        return 0;
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

/* Handles one line (modified in place). Returns 0 or SYN_ECONFIG with `why` set. */
static int parse_line(struct srv_config *config, const char *name, int line_no, char *line,
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
        const struct config_row *row = find_row(key);
        if (row == NULL) {
                SYN_WARN("%s:%d: unknown key '%.128s' ignored", name, line_no, key);
                return 0;
        }
        return set_value(config, row, value, why, why_size);
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
        return 0;
}

int srv_config_parse(struct srv_config *config, const char *name, const char *text, char *error,
                     size_t error_size)
{
        /* Re-derive the -1 defaults after the file: tickTime may come later than them. */
        bool derive_min = config->min_session_timeout_ms == 2 * config->tick_time_ms;
        bool derive_max = config->max_session_timeout_ms == 20 * config->tick_time_ms;
        bool derive_log = strcmp(config->data_log_dir, config->data_dir) == 0;
        if (derive_min)
                config->min_session_timeout_ms = -1;
        if (derive_max)
                config->max_session_timeout_ms = -1;
        if (derive_log)
                config->data_log_dir[0] = '\0';
        char line[SRV_CONFIG_LINE_BYTES_MAX];
        char why[SRV_CONFIG_ERROR_BYTES];
        int line_no = 0;
        const char *p = text;
        while (*p != '\0') {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                line_no++;
                if (n >= sizeof line) {
                        snprintf(error, error_size, "%s:%d: line longer than %zu bytes", name,
                                 line_no, sizeof line - 1);
                        return SYN_ECONFIG;
                }
                memcpy(line, p, n);
                line[n] = '\0';
                int rc = parse_line(config, name, line_no, line, why, sizeof why);
                if (rc != 0) {
                        snprintf(error, error_size, "%s:%d: %s", name, line_no, why);
                        return rc;
                }
                p += n + (nl ? 1 : 0);
        }
        resolve_derived(config);
        int rc = check_relations(config, why, sizeof why);
        if (rc != 0)
                snprintf(error, error_size, "%s: %s", name, why);
        return rc;
}

int srv_config_load(struct srv_config *config, const char *path, char *error, size_t error_size)
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
        int rc = srv_config_parse(config, path, text, error, error_size);
        free(text);
        return rc;
}

void srv_config_each(const struct srv_config *config,
                     void (*emit)(void *arg, const char *key, const char *value), void *arg)
{
        char value[32];
        for (size_t i = 0; i < CONFIG_ROW_COUNT; i++) {
                const struct config_row *row = &config_rows[i];
                const void *field = row_field_const(config, row);
                if (row->type == CONFIG_INT) {
                        snprintf(value, sizeof value, "%" PRId64, *(const int64_t *)field);
                        emit(arg, row->name, value);
                } else if (row->type == CONFIG_BOOL) {
                        emit(arg, row->name, *(const bool *)field ? "true" : "false");
                } else {
                        emit(arg, row->name, field);
                }
        }
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
