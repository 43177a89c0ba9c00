/*
 * Four-letter words: lookup, whitelist and the text of each answer (see
 * fourlw.h for the contract).
 *
 * The formats follow ZooKeeper 3.8's command classes as observed on the wire
 * (docs/protocol-notes.md, "Four-letter words"): Java's println is "\n", Long.toHexString is %llx
 * of the two's complement, and floating values go through fourlw_format_double, which reproduces
 * Double.toString so "17.8571" and "0.0" come out the same. Text is appended with a small
 * printf-style helper; the writer's sticky failed flag is checked once at the end of each word.
 */
#include "proto/fourlw.h"

#include "base/assert.h"
#include "base/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const cmd_names[FOURLW_CMD_COUNT] = {
    [FOURLW_UNKNOWN] = "",  [FOURLW_RUOK] = "ruok", [FOURLW_SRVR] = "srvr", [FOURLW_STAT] = "stat",
    [FOURLW_MNTR] = "mntr", [FOURLW_CONF] = "conf", [FOURLW_CONS] = "cons", [FOURLW_WCHS] = "wchs",
    [FOURLW_WCHC] = "wchc", [FOURLW_WCHP] = "wchp", [FOURLW_ENVI] = "envi", [FOURLW_ISRO] = "isro",
    [FOURLW_DUMP] = "dump", [FOURLW_DIRS] = "dirs", [FOURLW_CRST] = "crst", [FOURLW_SRST] = "srst",
};

_Static_assert(FOURLW_CMD_COUNT <= 32, "the whitelist is a 32-bit mask");

enum fourlw_cmd fourlw_lookup(const uint8_t word[4])
{
        for (int c = FOURLW_UNKNOWN + 1; c < FOURLW_CMD_COUNT; c++) {
                if (memcmp(word, cmd_names[c], 4) == 0)
                        return (enum fourlw_cmd)c;
        }
        return FOURLW_UNKNOWN;
}

const char *fourlw_name(enum fourlw_cmd cmd)
{
        SYN_ASSERT(cmd >= FOURLW_UNKNOWN);
        SYN_ASSERT(cmd < FOURLW_CMD_COUNT);
        return cmd_names[cmd];
}

/* ---- writing helpers ---- */

static int writer_status(const struct syn_writer *w)
{
        return w->failed ? SYN_ETOOBIG : SYN_OK;
}

static void put(struct syn_writer *w, const char *s)
{
        syn_write_bytes(w, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void putf(struct syn_writer *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char small[256];
        int n = vsnprintf(small, sizeof small, fmt, ap);
        va_end(ap);
        SYN_ASSERT(n >= 0);
        if ((size_t)n < sizeof small) {
                syn_write_bytes(w, small, (size_t)n);
                return;
        }
        /* Long text (a path, a directory): format straight into the writer. */
        if (!syn_writer_reserve(w, (size_t)n + 1))
                return;
        va_start(ap, fmt);
        vsnprintf((char *)w->data + w->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        w->len += (size_t)n;
}

/* ---- whitelist ---- */

void fourlw_whitelist_default(struct fourlw_whitelist *wl)
{
        wl->allowed = 1u << FOURLW_SRVR;
}

void fourlw_whitelist_allow(struct fourlw_whitelist *wl, enum fourlw_cmd cmd)
{
        SYN_ASSERT(cmd > FOURLW_UNKNOWN);
        SYN_ASSERT(cmd < FOURLW_CMD_COUNT);
        wl->allowed |= 1u << cmd;
}

bool fourlw_allowed(const struct fourlw_whitelist *wl, enum fourlw_cmd cmd)
{
        if (cmd <= FOURLW_UNKNOWN || cmd >= FOURLW_CMD_COUNT)
                return false;
        return (wl->allowed & (1u << cmd)) != 0;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Applies one trimmed item of the list; false if it names no command. */
static bool whitelist_item(struct fourlw_whitelist *wl, const char *item, size_t len)
{
        if (len == 1 && item[0] == '*') {
                for (int c = FOURLW_UNKNOWN + 1; c < FOURLW_CMD_COUNT; c++)
                        fourlw_whitelist_allow(wl, (enum fourlw_cmd)c);
                return true;
        }
        if (len != 4)
                return false;
        enum fourlw_cmd cmd = fourlw_lookup((const uint8_t *)item);
        if (cmd == FOURLW_UNKNOWN)
                return false;
        fourlw_whitelist_allow(wl, cmd);
        return true;
}

int fourlw_whitelist_parse(struct fourlw_whitelist *wl, const char *value)
{
        fourlw_whitelist_default(wl); /* srvr is always allowed */
        if (value == NULL)
                return SYN_OK;
        int rc = SYN_OK;
        const char *p = value;
        for (;;) {
                const char *end = strchr(p, ',');
                size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
                const char *item = p;
                while (len > 0 && is_blank(item[0])) {
                        item++;
                        len--;
                }
                while (len > 0 && is_blank(item[len - 1]))
                        len--;
                if (len > 0 && !whitelist_item(wl, item, len))
                        rc = SYN_ECONFIG;
                if (end == NULL)
                        break;
                p = end + 1;
        }
        return rc;
}

int fourlw_write_not_allowed(struct syn_writer *w, enum fourlw_cmd cmd)
{
        putf(w, "%s is not executed because it is not in the whitelist.\n", fourlw_name(cmd));
        return writer_status(w);
}

bool fourlw_is_listing(enum fourlw_cmd cmd)
{
        return cmd == FOURLW_STAT || cmd == FOURLW_CONS || cmd == FOURLW_WCHC ||
               cmd == FOURLW_WCHP || cmd == FOURLW_DUMP;
}

int fourlw_write_busy(struct syn_writer *w, enum fourlw_cmd cmd)
{
        putf(w, "synod: %s not run: earlier answers are still being sent; retry later\n",
             fourlw_name(cmd));
        return writer_status(w);
}

int fourlw_write_truncated(struct syn_writer *w, size_t limit)
{
        putf(w, "synod: answer truncated at %zu bytes\n", limit);
        return writer_status(w);
}

/* ---- numbers and dates the Java way ---- */

/* Splits v (finite, non-zero) into its shortest round-trip digits and decimal exponent. */
static size_t shortest_digits(double v, char digits[20], int *exp10)
{
        char sci[48];
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
                if (strtod(sci, NULL) == v)
                        break;
        }
        size_t n = 0;
        const char *p = sci;
        while (*p != 'e') {
                SYN_ASSERT(*p != '\0');
                if (*p >= '0' && *p <= '9') {
                        SYN_ASSERT(n < 20);
                        digits[n++] = *p;
                }
                p++;
        }
        *exp10 = atoi(p + 1);
        while (n > 1 && digits[n - 1] == '0')
                n--;
        return n;
}

size_t fourlw_format_double(char *buf, size_t cap, double v)
{
        char out[48];
        size_t o = 0;
        if (isnan(v)) {
                return (size_t)snprintf(buf, cap, "NaN");
        } else if (isinf(v)) {
                return (size_t)snprintf(buf, cap, "%sInfinity", v < 0 ? "-" : "");
        } else if (v == 0) {
                return (size_t)snprintf(buf, cap, "%s0.0", signbit(v) ? "-" : "");
        }
        char d[20];
        int e;
        size_t n = shortest_digits(v, d, &e);
        if (v < 0)
                out[o++] = '-';
        if (e >= -3 && e < 7) {
                /* Plain: d = 0.d1d2... x 10^(e+1); at least one digit after the point. */
                if (e < 0) {
                        out[o++] = '0';
                        out[o++] = '.';
                        for (int z = -1; z > e; z--)
                                out[o++] = '0';
                        for (size_t i = 0; i < n; i++)
                                out[o++] = d[i];
                } else {
                        for (int i = 0; i <= e; i++)
                                out[o++] = (size_t)i < n ? d[i] : '0';
                        out[o++] = '.';
                        if ((size_t)e + 1 >= n)
                                out[o++] = '0';
                        for (size_t i = (size_t)e + 1; i < n; i++)
                                out[o++] = d[i];
                }
                out[o] = '\0';
        } else {
                /* Computerized scientific notation: one digit, point, digits, E, exponent. */
                out[o++] = d[0];
                out[o++] = '.';
                if (n == 1)
                        out[o++] = '0';
                for (size_t i = 1; i < n; i++)
                        out[o++] = d[i];
                snprintf(out + o, sizeof out - o, "E%d", e);
        }
        return (size_t)snprintf(buf, cap, "%s", out);
}

size_t fourlw_format_date(char *buf, size_t cap, int64_t epoch_ms)
{
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        int64_t secs = epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0);
        time_t t = (time_t)secs;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL)
                return (size_t)snprintf(buf, cap, "%" PRId64, epoch_ms);
        SYN_ASSERT(tm.tm_wday >= 0 && tm.tm_wday < 7);
        SYN_ASSERT(tm.tm_mon >= 0 && tm.tm_mon < 12);
        return (size_t)snprintf(buf, cap, "%s %s %02d %02d:%02d:%02d UTC %lld", days[tm.tm_wday],
                                months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                (long long)tm.tm_year + 1900);
}

double fourlw_latency_avg(const struct fourlw_latency *l)
{
        if (l->count == 0)
                return 0.0;
        /* Java: BigDecimal(sum / (double)count).setScale(4, HALF_UP); done exactly here. */
        uint64_t whole = l->sum_ms / l->count;
        uint64_t rem = l->sum_ms % l->count;
        uint64_t frac;
        if (l->count <= UINT64_MAX / 20000)
                frac = (rem * 20000 + l->count) / (2 * l->count);
        else
                frac = (uint64_t)((long double)rem * 10000 / l->count + 0.5L);
        if (whole >= (1ull << 53) / 10000)
                return (double)whole + (double)frac / 10000.0;
        /* One correctly rounded division: the nearest double to whole.frac. */
        return (double)(whole * 10000 + frac) / 10000.0;
}

static uint64_t latency_min(const struct fourlw_latency *l)
{
        return l->count == 0 ? 0 : l->min_ms;
}

static uint64_t latency_max(const struct fourlw_latency *l)
{
        return l->count == 0 ? 0 : l->max_ms;
}

const char *fourlw_mode_name(enum fourlw_mode mode)
{
        switch (mode) {
        case FOURLW_MODE_STANDALONE:
                return "standalone";
        case FOURLW_MODE_LEADER:
                return "leader";
        case FOURLW_MODE_FOLLOWER:
                return "follower";
        case FOURLW_MODE_OBSERVER:
                return "observer";
        case FOURLW_MODE_READ_ONLY:
                return "read-only";
        }
        SYN_UNREACHABLE();
}

static const char *or_na(const char *s)
{
        return s != NULL ? s : "<NA>";
}

void fourlw_full_version(char *buf, size_t cap, const struct fourlw_server *s)
{
        snprintf(buf, cap, "%s-synod-%s, built on %s", FOURLW_ZK_VERSION, or_na(s->synod_version),
                 or_na(s->build_date));
}

/* ---- srvr, stat, cons ---- */

static void conn_line(struct syn_writer *w, const struct fourlw_conn *c, bool brief)
{
        putf(w, " /%s[%" PRIx32 "](queued=%" PRIu64 ",recved=%" PRIu64 ",sent=%" PRIu64,
             or_na(c->remote), c->interest_ops, c->queued, c->received, c->sent);
        if (!brief && c->session_id != 0) {
                putf(w, ",sid=0x%" PRIx64 ",lop=%s,est=%" PRId64 ",to=%" PRId32, c->session_id,
                     or_na(c->last_op), c->established_ms, c->timeout_ms);
                if (c->last_cxid >= 0)
                        putf(w, ",lcxid=0x%" PRIx64, (uint64_t)c->last_cxid);
                uint64_t avg = c->latency.count == 0 ? 0 : c->latency.sum_ms / c->latency.count;
                putf(w,
                     ",lzxid=0x%" PRIx64 ",lresp=%" PRId64 ",llat=%" PRIu64 ",minlat=%" PRIu64
                     ",avglat=%" PRIu64 ",maxlat=%" PRIu64,
                     (uint64_t)c->last_zxid, c->last_response_ms, c->last_latency_ms,
                     latency_min(&c->latency), avg, latency_max(&c->latency));
        }
        put(w, ")\n");
}

int fourlw_write_srvr(struct syn_writer *w, const struct fourlw_server *s, bool with_clients)
{
        char version[256], avg[48];
        fourlw_full_version(version, sizeof version, s);
        putf(w, "Zookeeper version: %s\n", version);
        if (s->mode == FOURLW_MODE_READ_ONLY)
                put(w, "READ-ONLY mode; serving only read-only clients\n");
        if (with_clients) {
                put(w, "Clients:\n");
                for (size_t i = 0; i < s->conn_count && !w->failed; i++)
                        conn_line(w, &s->conns[i], true);
                put(w, "\n");
        }
        fourlw_format_double(avg, sizeof avg, fourlw_latency_avg(&s->latency));
        putf(w, "Latency min/avg/max: %" PRIu64 "/%s/%" PRIu64 "\n", latency_min(&s->latency), avg,
             latency_max(&s->latency));
        putf(w, "Received: %" PRIu64 "\nSent: %" PRIu64 "\nConnections: %" PRIu64 "\n",
             s->packets_received, s->packets_sent, s->connections);
        putf(w, "Outstanding: %" PRIu64 "\nZxid: 0x%" PRIx64 "\nMode: %s\n",
             s->outstanding_requests, (uint64_t)s->last_zxid, fourlw_mode_name(s->mode));
        putf(w, "Node count: %" PRIu64 "\n", s->node_count);
        if (s->mode == FOURLW_MODE_LEADER)
                putf(w, "Proposal sizes last/min/max: %" PRId64 "/%" PRId64 "/%" PRId64 "\n",
                     s->proposal_size_last, s->proposal_size_min, s->proposal_size_max);
        return writer_status(w);
}

int fourlw_write_cons(struct syn_writer *w, const struct fourlw_server *s)
{
        for (size_t i = 0; i < s->conn_count && !w->failed; i++)
                conn_line(w, &s->conns[i], false);
        put(w, "\n");
        return writer_status(w);
}

/* ---- mntr ---- */

/* Emits one row; the struct is rebuilt per row, so the callee must copy what it keeps. */
struct mntr_emit {
        fourlw_metric_fn fn;
        void *arg;
};

static void metric_uint(const struct mntr_emit *e, const char *key, uint64_t v)
{
        struct fourlw_metric m = {.key = key, .kind = FOURLW_METRIC_INT, .int_value = (int64_t)v};
        e->fn(e->arg, &m);
}

static void metric_int(const struct mntr_emit *e, const char *key, int64_t v)
{
        struct fourlw_metric m = {.key = key, .kind = FOURLW_METRIC_INT, .int_value = v};
        e->fn(e->arg, &m);
}

static void metric_float(const struct mntr_emit *e, const char *key, double v)
{
        struct fourlw_metric m = {.key = key, .kind = FOURLW_METRIC_FLOAT, .float_value = v};
        e->fn(e->arg, &m);
}

static void metric_text(const struct mntr_emit *e, const char *key, const char *v)
{
        struct fourlw_metric m = {.key = key, .kind = FOURLW_METRIC_TEXT, .text_value = v};
        e->fn(e->arg, &m);
}

static void mntr_leader(const struct mntr_emit *e, const struct fourlw_server *s)
{
        metric_uint(e, "learners", s->learners);
        metric_uint(e, "synced_followers", s->synced_followers);
        metric_uint(e, "synced_non_voting_followers", s->synced_non_voting_followers);
        metric_uint(e, "synced_observers", s->synced_observers);
        metric_uint(e, "pending_syncs", s->pending_syncs);
        metric_uint(e, "leader_uptime", s->leader_uptime_ms);
        metric_int(e, "last_proposal_size", s->proposal_size_last);
        metric_int(e, "max_proposal_size", s->proposal_size_max);
        metric_int(e, "min_proposal_size", s->proposal_size_min);
}

void fourlw_mntr_each(const struct fourlw_server *s, fourlw_metric_fn fn, void *arg)
{
        const struct mntr_emit e = {fn, arg};
        char version[256];
        fourlw_full_version(version, sizeof version, s);
        /* The order of ZooKeeper 3.8's first lines; tools look keys up by name. */
        metric_text(&e, "version", version);
        metric_text(&e, "server_state", fourlw_mode_name(s->mode));
        metric_uint(&e, "ephemerals_count", s->ephemerals_count);
        metric_uint(&e, "num_alive_connections", s->connections);
        metric_float(&e, "avg_latency", fourlw_latency_avg(&s->latency));
        metric_uint(&e, "outstanding_requests", s->outstanding_requests);
        metric_uint(&e, "znode_count", s->node_count);
        metric_uint(&e, "global_sessions", s->global_sessions);
        metric_uint(&e, "packets_sent", s->packets_sent);
        metric_uint(&e, "packets_received", s->packets_received);
        metric_uint(&e, "watch_count", s->watch_count);
        metric_uint(&e, "auth_failed_count", s->auth_failed_count);
        metric_uint(&e, "min_latency", latency_min(&s->latency));
        metric_uint(&e, "max_file_descriptor_count", s->max_file_descriptor_count);
        metric_uint(&e, "approximate_data_size", s->approximate_data_size);
        metric_uint(&e, "open_file_descriptor_count", s->open_file_descriptor_count);
        metric_uint(&e, "local_sessions", s->local_sessions);
        metric_uint(&e, "uptime", s->uptime_ms);
        metric_uint(&e, "max_latency", latency_max(&s->latency));
        if (s->mode == FOURLW_MODE_LEADER || s->mode == FOURLW_MODE_FOLLOWER ||
            s->mode == FOURLW_MODE_OBSERVER) {
                metric_uint(&e, "quorum_size", s->quorum_size);
                metric_text(&e, "peer_state", s->peer_state);
        }
        if (s->mode == FOURLW_MODE_LEADER)
                mntr_leader(&e, s);
        for (size_t i = 0; i < s->extra_metric_count; i++)
                fn(arg, &s->extra_metrics[i]);
}

static void mntr_line(void *arg, const struct fourlw_metric *m)
{
        struct syn_writer *w = arg;
        char text[48];
        switch (m->kind) {
        case FOURLW_METRIC_INT:
                putf(w, "zk_%s\t%" PRId64 "\n", m->key, m->int_value);
                return;
        case FOURLW_METRIC_FLOAT:
                fourlw_format_double(text, sizeof text, m->float_value);
                putf(w, "zk_%s\t%s\n", m->key, text);
                return;
        case FOURLW_METRIC_TEXT:
                /* Java prints a null value as "null". */
                putf(w, "zk_%s\t%s\n", m->key, m->text_value != NULL ? m->text_value : "null");
                return;
        }
        SYN_UNREACHABLE();
}

int fourlw_write_mntr(struct syn_writer *w, const struct fourlw_server *s)
{
        fourlw_mntr_each(s, mntr_line, w);
        return writer_status(w);
}

/* ---- conf, envi, dirs ---- */

int fourlw_write_conf(struct syn_writer *w, const struct fourlw_conf *c)
{
        putf(w, "clientPort=%" PRId32 "\nsecureClientPort=%" PRId32 "\n", c->client_port,
             c->secure_client_port);
        putf(w, "dataDir=%s\ndataDirSize=%" PRIu64 "\n", or_na(c->data_dir), c->data_dir_size);
        putf(w, "dataLogDir=%s\ndataLogSize=%" PRIu64 "\n", or_na(c->data_log_dir),
             c->data_log_size);
        putf(w, "tickTime=%" PRId32 "\nmaxClientCnxns=%" PRId32 "\n", c->tick_time_ms,
             c->max_client_cnxns);
        putf(w, "minSessionTimeout=%" PRId32 "\nmaxSessionTimeout=%" PRId32 "\n",
             c->min_session_timeout_ms, c->max_session_timeout_ms);
        putf(w, "clientPortListenBacklog=%" PRId32 "\nserverId=%" PRId64 "\n",
             c->client_port_listen_backlog, c->server_id);
        for (size_t i = 0; i < c->extra_line_count; i++)
                putf(w, "%s\n", c->extra_lines[i]);
        return writer_status(w);
}

int fourlw_write_envi(struct syn_writer *w, const struct fourlw_server *s,
                      const struct fourlw_env *e)
{
        char version[256];
        fourlw_full_version(version, sizeof version, s);
        put(w, "Environment:\n");
        /* kazoo's server_version() reads the digits after "zookeeper.version=". */
        putf(w, "zookeeper.version=%s\n", version);
        putf(w, "synod.version=%s\n", or_na(s->synod_version));
        putf(w, "host.name=%s\n", or_na(e->host_name));
        putf(w, "os.name=%s\nos.arch=%s\nos.version=%s\n", or_na(e->os_name), or_na(e->os_arch),
             or_na(e->os_version));
        putf(w, "user.name=%s\nuser.home=%s\nuser.dir=%s\n", or_na(e->user_name),
             or_na(e->user_home), or_na(e->user_dir));
        for (size_t i = 0; i < e->extra_line_count; i++)
                putf(w, "%s\n", e->extra_lines[i]);
        return writer_status(w);
}

int fourlw_write_dirs(struct syn_writer *w, uint64_t data_dir_size, uint64_t log_dir_size)
{
        putf(w, "datadir_size: %" PRIu64 "\nlogdir_size: %" PRIu64 "\n", data_dir_size,
             log_dir_size);
        return writer_status(w);
}

/* ---- watches ---- */

int fourlw_write_wchs(struct syn_writer *w, const struct fourlw_watch_summary *summary)
{
        putf(w, "%" PRIu64 " connections watching %" PRIu64 " paths\nTotal watches:%" PRIu64 "\n",
             summary->connections, summary->paths, summary->watches);
        return writer_status(w);
}

static bool same_path(const struct fourlw_watch_pair *a, const struct fourlw_watch_pair *b)
{
        return a->path_len == b->path_len && memcmp(a->path, b->path, a->path_len) == 0;
}

int fourlw_write_wchc(struct syn_writer *w, const struct fourlw_watch_pair *pairs, size_t count)
{
        for (size_t i = 0; i < count && !w->failed; i++) {
                if (i == 0 || pairs[i].session_id != pairs[i - 1].session_id)
                        putf(w, "0x%" PRIx64 "\n", pairs[i].session_id);
                put(w, "\t");
                syn_write_bytes(w, pairs[i].path, pairs[i].path_len);
                put(w, "\n");
        }
        put(w, "\n");
        return writer_status(w);
}

int fourlw_write_wchp(struct syn_writer *w, const struct fourlw_watch_pair *pairs, size_t count)
{
        for (size_t i = 0; i < count && !w->failed; i++) {
                if (i == 0 || !same_path(&pairs[i], &pairs[i - 1])) {
                        syn_write_bytes(w, pairs[i].path, pairs[i].path_len);
                        put(w, "\n");
                }
                putf(w, "\t0x%" PRIx64 "\n", pairs[i].session_id);
        }
        put(w, "\n");
        return writer_status(w);
}

/* ---- dump ---- */

static void bucket_header(struct syn_writer *w, size_t count, int64_t expire_at_ms)
{
        char date[64];
        fourlw_format_date(date, sizeof date, expire_at_ms);
        putf(w, "%zu expire at %s:\n", count, date);
}

static void dump_sessions(struct syn_writer *w, const struct fourlw_dump *d)
{
        size_t total = 0;
        for (size_t i = 0; i < d->session_bucket_count; i++)
                total += d->session_buckets[i].count;
        putf(w, "Session Sets (%zu)/(%zu):\n", d->session_bucket_count, total);
        for (size_t i = 0; i < d->session_bucket_count && !w->failed; i++) {
                const struct fourlw_session_bucket *b = &d->session_buckets[i];
                bucket_header(w, b->count, b->expire_at_ms);
                for (size_t j = 0; j < b->count && !w->failed; j++)
                        putf(w, "\t0x%" PRIx64 "\n", b->session_ids[j]);
        }
}

static void dump_connections(struct syn_writer *w, const struct fourlw_dump *d)
{
        size_t total = 0;
        for (size_t i = 0; i < d->conn_bucket_count; i++)
                total += d->conn_buckets[i].count;
        putf(w, "Connections Sets (%zu)/(%zu):\n", d->conn_bucket_count, total);
        for (size_t i = 0; i < d->conn_bucket_count && !w->failed; i++) {
                const struct fourlw_conn_bucket *b = &d->conn_buckets[i];
                bucket_header(w, b->count, b->expire_at_ms);
                for (size_t j = 0; j < b->count && !w->failed; j++)
                        putf(w, "\tip: /%s sessionId: 0x%" PRIx64 "\n", or_na(b->conns[j].remote),
                             b->conns[j].session_id);
        }
}

int fourlw_write_dump(struct syn_writer *w, const struct fourlw_dump *d)
{
        put(w, "SessionTracker dump:\n");
        dump_sessions(w, d);
        put(w, "ephemeral nodes dump:\n");
        putf(w, "Sessions with Ephemerals (%zu):\n", d->ephemerals_count);
        for (size_t i = 0; i < d->ephemerals_count && !w->failed; i++) {
                const struct fourlw_ephemerals *e = &d->ephemerals[i];
                putf(w, "0x%" PRIx64 ":\n", e->session_id);
                for (size_t j = 0; j < e->count && !w->failed; j++)
                        putf(w, "\t%s\n", e->paths[j]);
        }
        put(w, "Connections dump:\n");
        dump_connections(w, d);
        return writer_status(w);
}

/* ---- dispatch ---- */

static int write_simple(struct syn_writer *w, const char *text)
{
        put(w, text);
        return writer_status(w);
}

/* The words that print nothing but FOURLW_NOT_SERVING when the server is not serving. */
static int write_serving(struct syn_writer *w, enum fourlw_cmd cmd, const struct fourlw_input *in)
{
        const struct fourlw_server *s = in->server;
        switch (cmd) {
        case FOURLW_SRVR:
        case FOURLW_STAT:
                return fourlw_write_srvr(w, s, cmd == FOURLW_STAT);
        case FOURLW_CONS:
                return fourlw_write_cons(w, s);
        case FOURLW_MNTR:
                return fourlw_write_mntr(w, s);
        case FOURLW_CONF:
                SYN_ASSERT(in->conf != NULL);
                return fourlw_write_conf(w, in->conf);
        case FOURLW_WCHS:
                return fourlw_write_wchs(w, &in->watch_summary);
        case FOURLW_WCHC:
                return fourlw_write_wchc(w, in->watch_pairs, in->watch_pair_count);
        case FOURLW_WCHP:
                return fourlw_write_wchp(w, in->watch_pairs, in->watch_pair_count);
        case FOURLW_DUMP:
                SYN_ASSERT(in->dump != NULL);
                return fourlw_write_dump(w, in->dump);
        case FOURLW_DIRS:
                return fourlw_write_dirs(w, in->data_dir_size, in->log_dir_size);
        case FOURLW_CRST:
                return write_simple(w, "Connection stats reset.\n");
        case FOURLW_SRST:
                return write_simple(w, "Server stats reset.\n");
        default:
                SYN_UNREACHABLE();
        }
}

int fourlw_write(struct syn_writer *w, enum fourlw_cmd cmd, const struct fourlw_input *in)
{
        SYN_ASSERT(in->server != NULL);
        bool serving = in->server->serving;
        switch (cmd) {
        case FOURLW_UNKNOWN:
                return SYN_OK;
        case FOURLW_RUOK:
                return write_simple(w, serving ? "imok" : "");
        case FOURLW_ISRO:
                if (!serving)
                        return write_simple(w, "null");
                return write_simple(w, in->server->mode == FOURLW_MODE_READ_ONLY ? "ro" : "rw");
        case FOURLW_ENVI:
                SYN_ASSERT(in->env != NULL);
                return fourlw_write_envi(w, in->server, in->env);
        default:
                if (!serving)
                        return write_simple(w, FOURLW_NOT_SERVING "\n");
                return write_serving(w, cmd, in);
        }
}
