/*
 * synod-loadgen: a ZooKeeper-protocol load generator.
 *
 * It drives any ZooKeeper-protocol server (synod, Apache ZooKeeper) through the
 * C client library's asynchronous API: N connections, each keeping M requests
 * outstanding. Every request slot re-issues its next request from the
 * completion callback, so the offered load is closed-loop and exactly N*M deep.
 * After a warm-up, completions within the measurement window are counted and
 * their latencies recorded in a log-linear histogram per connection (each
 * connection's completions run on its own library thread, so no locks are
 * needed on the hot path); the histograms are merged at the end.
 *
 * Output: one line of key=value pairs (ops/s, latency percentiles in µs,
 * errors, the generator's own CPU time per op), easy for bench/run.py to parse.
 *
 * A comma-separated --server list spreads the connections round-robin over the
 * servers: connection i starts at server i mod n and, when that one fails, tries
 * the others in list order (the library's shuffle is turned off), like clients
 * spread over an ensemble.
 *
 * For failover measurements (bench/cluster_bench.py):
 * --rate R paces the load at R requests/s in total (each connection at most
 *   --outstanding in flight) instead of the closed loop, so both servers see the
 *   same offered load and the tree grows by the same amount;
 * SIGUSR1 marks an instant (the harness sends it just before it kills the
 *   leader); the report then gives recovery_us, the time from the mark to the
 *   first successful completion of a request issued after it; with
 *   --tail S the run ends S seconds after that completion (or at --duration);
 * --acked FILE writes one line per successful create, "start_ns end_ns path"
 *   (CLOCK_MONOTONIC, as Python's time.monotonic()), to check that no
 *   acknowledged write is lost;
 * expired= counts sessions that expired.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

/* Histogram: 16 linear sub-buckets per power of two of microseconds. */
#define HIST_SUB_BITS      4
#define HIST_SUB           (1 << HIST_SUB_BITS)
#define HIST_EXP_MAX       40
#define HIST_BUCKETS       (HIST_EXP_MAX * HIST_SUB)
#define CONNECTIONS_MAX    1024
#define OUTSTANDING_MAX    4096
#define CONNECT_TIMEOUT_MS 10000
#define DRAIN_TIMEOUT_MS   10000
#define SESSION_TIMEOUT_MS 30000
#define SERVERS_MAX        16
#define PACE_SLEEP_NS      1000000ull   /* the pacing loop's longest sleep */
#define PACE_LAG_MAX_NS    100000000ull /* tokens older than this are dropped, not burst */
#define POLL_SLEEP_S       0.002        /* main loop's check for the end of the run */
#define ACKED_INITIAL      4096

enum op_kind { OP_CREATE, OP_SET, OP_GET, OP_LINGET, OP_MIXED, OP_POPULATE };
#define OP_KINDS 6

struct options {
        const char *server;
        int connections;
        int outstanding;
        enum op_kind op;
        int value_size;
        long keys;
        double duration_s;
        double warmup_s;
        int read_percent;
        const char *prefix;
        int session_timeout_ms;
        double rate;   /* requests/s over all connections; 0 = closed loop */
        double tail_s; /* end this long after recovery from the SIGUSR1 mark; 0 = off */
        const char *acked_path;
};

struct hist {
        uint64_t counts[HIST_BUCKETS];
        uint64_t max_us;
};

struct conn;

struct slot {
        struct conn *conn;
        uint64_t started_ns;
        uint64_t seq;     /* create: the sequence number in the path */
        atomic_bool busy; /* --rate: in flight */
};

/* A successful create, for --acked. */
struct acked {
        uint64_t start_ns, end_ns, seq;
};

struct conn {
        int index;
        zhandle_t *zh;
        const struct options *opts;
        struct slot *slots;
        uint64_t rng;
        atomic_uint_fast64_t seq;       /* next sequence for creates / populate */
        uint64_t ops;                   /* completions inside the window */
        uint64_t errors;                /* failed completions inside the window */
        atomic_uint_fast64_t populated; /* populate: keys created by this connection */
        struct hist hist;
        atomic_int inflight;
        atomic_bool connected;
        struct acked *acked; /* appended by this connection's completion thread only */
        size_t acked_n, acked_cap;
        bool acked_oom;
        atomic_bool submit_failed;
};

static atomic_bool g_measuring;
static atomic_bool g_stopping;
static const char *g_value;
static atomic_uint_fast64_t g_mark_ns;      /* SIGUSR1 */
static atomic_uint_fast64_t g_recovered_ns; /* first success issued after the mark */
static atomic_int g_expired;                /* sessions that expired */

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

static int hist_bucket(uint64_t us)
{
        if (us < HIST_SUB)
                return (int)us;
        int exp = 63 - __builtin_clzll(us); /* us >= 2^exp */
        int sub = (int)((us >> (exp - HIST_SUB_BITS)) & (HIST_SUB - 1));
        int b = (exp - HIST_SUB_BITS + 1) * HIST_SUB + sub;
        return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* Lower bound in µs of a bucket: the inverse of hist_bucket. */
static uint64_t hist_bucket_floor(int b)
{
        if (b < HIST_SUB)
                return (uint64_t)b;
        int exp = b / HIST_SUB + HIST_SUB_BITS - 1;
        uint64_t sub = (uint64_t)(b % HIST_SUB);
        return (1ull << exp) + (sub << (exp - HIST_SUB_BITS));
}

static void hist_add(struct hist *h, uint64_t us)
{
        h->counts[hist_bucket(us)]++;
        if (us > h->max_us)
                h->max_us = us;
}

static uint64_t hist_percentile(const struct hist *h, double p)
{
        uint64_t total = 0;
        for (int b = 0; b < HIST_BUCKETS; b++)
                total += h->counts[b];
        if (total == 0)
                return 0;
        uint64_t rank = (uint64_t)(p / 100.0 * (double)total);
        if (rank >= total)
                rank = total - 1;
        uint64_t seen = 0;
        for (int b = 0; b < HIST_BUCKETS; b++) {
                seen += h->counts[b];
                if (seen > rank)
                        return hist_bucket_floor(b);
        }
        return h->max_us;
}

static void issue(struct slot *s);

static void note_acked(struct conn *c, const struct slot *s, uint64_t end_ns)
{
        if (c->acked_oom)
                return;
        if (c->acked_n == c->acked_cap) {
                size_t cap = c->acked_cap ? c->acked_cap * 2 : ACKED_INITIAL;
                struct acked *a = realloc(c->acked, cap * sizeof *a);
                if (!a) {
                        c->acked_oom = true;
                        return;
                }
                c->acked = a;
                c->acked_cap = cap;
        }
        c->acked[c->acked_n++] = (struct acked){s->started_ns, end_ns, s->seq};
}

static void complete(struct slot *s, int rc)
{
        struct conn *c = s->conn;
        if (rc == ZOK) {
                uint64_t mark = atomic_load(&g_mark_ns);
                uint64_t end = 0;
                if (mark && s->started_ns > mark) {
                        uint64_t zero = 0;
                        end = now_ns();
                        atomic_compare_exchange_strong(&g_recovered_ns, &zero, end);
                }
                if (c->opts->acked_path && c->opts->op == OP_CREATE)
                        note_acked(c, s, end ? end : now_ns());
        }
        if (atomic_load(&g_measuring)) {
                uint64_t us = (now_ns() - s->started_ns) / 1000;
                hist_add(&c->hist, us);
                c->ops++;
                if (rc != ZOK)
                        c->errors++;
        }
        if (c->opts->op == OP_POPULATE && rc == ZOK)
                c->populated++;
        atomic_fetch_sub(&c->inflight, 1);
        if (c->opts->rate > 0)
                atomic_store(&s->busy, false); /* the pacing loop issues the next one */
        else if (!atomic_load(&g_stopping))
                issue(s);
}

static void on_string(int rc, const char *value, const void *data)
{
        (void)value;
        complete((struct slot *)data, rc);
}

static void on_stat(int rc, const struct Stat *stat, const void *data)
{
        (void)stat;
        complete((struct slot *)data, rc);
}

static void on_data(int rc, const char *value, int len, const struct Stat *stat, const void *data)
{
        (void)value;
        (void)len;
        (void)stat;
        complete((struct slot *)data, rc);
}

/* linget: the sync's reply carries nothing the get after it does not: a failed sync
 * (connection loss) fails that get too, which is what is counted. */
static void on_sync(int rc, const char *value, const void *data)
{
        (void)rc;
        (void)value;
        (void)data;
}

static void key_path(const struct conn *c, long key, char *out, size_t n)
{
        snprintf(out, n, "%s/k%ld", c->opts->prefix, key);
}

static void issue(struct slot *s)
{
        struct conn *c = s->conn;
        const struct options *o = c->opts;
        char path[256];
        enum op_kind op = o->op;
        if (op == OP_MIXED)
                op = (long)(xorshift(&c->rng) % 100) < o->read_percent ? OP_GET : OP_SET;
        if (op == OP_POPULATE) {
                /* Connection i creates keys i, i+N, i+2N, ... below opts->keys. */
                long key =
                    (long)(atomic_fetch_add(&c->seq, 1) * (uint64_t)o->connections) + c->index;
                if (key >= o->keys)
                        return;
                key_path(c, key, path, sizeof path);
        } else if (op == OP_CREATE) {
                s->seq = atomic_fetch_add(&c->seq, 1);
                snprintf(path, sizeof path, "%s/c%d-%" PRIu64, o->prefix, c->index, s->seq);
        } else {
                key_path(c, (long)(xorshift(&c->rng) % (uint64_t)o->keys), path, sizeof path);
        }
        s->started_ns = now_ns();
        atomic_fetch_add(&c->inflight, 1);
        int rc;
        switch (op) {
        case OP_CREATE:
        case OP_POPULATE:
                rc = zoo_acreate(c->zh, path, g_value, o->value_size, &ZOO_OPEN_ACL_UNSAFE, 0,
                                 on_string, s);
                break;
        case OP_LINGET:
                /* A session's requests run in order, so the get sees everything
                 * committed before the sync reached the leader: a linearizable read. */
                rc = zoo_async(c->zh, path, on_sync, s);
                if (rc == ZOK)
                        rc = zoo_aget(c->zh, path, 0, on_data, s);
                break;
        case OP_SET:
                rc = zoo_aset(c->zh, path, g_value, o->value_size, -1, on_stat, s);
                break;
        default:
                rc = zoo_aget(c->zh, path, 0, on_data, s);
                break;
        }
        if (rc != ZOK) {
                atomic_fetch_sub(&c->inflight, 1);
                atomic_store(&s->busy, false);
                if (!atomic_exchange(&c->submit_failed, true)) /* once per connection */
                        fprintf(stderr, "loadgen: submit failed on connection %d: %s\n", c->index,
                                zerror(rc));
        }
}

static void on_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
        (void)zh;
        (void)path;
        struct conn *c = ctx;
        if (type == ZOO_SESSION_EVENT) {
                atomic_store(&c->connected, state == ZOO_CONNECTED_STATE);
                if (state == ZOO_EXPIRED_SESSION_STATE)
                        atomic_fetch_add(&g_expired, 1);
        }
}

static void on_mark(int sig)
{
        (void)sig;
        atomic_store(&g_mark_ns, now_ns()); /* clock_gettime is async-signal-safe */
}

static int parse_op(const char *s, enum op_kind *op)
{
        static const char *const names[OP_KINDS] = {"create", "set",   "get",
                                                    "linget", "mixed", "populate"};
        for (int i = 0; i < OP_KINDS; i++)
                if (strcmp(s, names[i]) == 0) {
                        *op = (enum op_kind)i;
                        return 0;
                }
        return -1;
}

static void usage(void)
{
        fprintf(stderr,
                "usage: synod-loadgen --server HOST:PORT[,HOST:PORT...] [--connections N]\n"
                "         [--outstanding M] [--op create|set|get|linget|mixed|populate]\n"
                "         [--value-size B] [--keys K] [--duration S] [--warmup S]\n"
                "         [--read-percent P] [--prefix /path] [--session-timeout MS] [--rate OPS]\n"
                "         [--tail S] [--acked FILE]\n"
                "populate creates PREFIX/k0..k(K-1) and exits; set/get/linget/mixed use those\n"
                "keys. get reads from the server connected to; linget is sync, then get (a\n"
                "linearizable read); mixed is --read-percent gets, the rest sets.\n"
                "A server list spreads the connections round-robin over the servers.\n"
                "SIGUSR1 marks an instant; recovery_us is measured from it (see --tail).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {{"server", required_argument, 0, 's'},
                                                 {"connections", required_argument, 0, 'c'},
                                                 {"outstanding", required_argument, 0, 'm'},
                                                 {"op", required_argument, 0, 'o'},
                                                 {"value-size", required_argument, 0, 'v'},
                                                 {"keys", required_argument, 0, 'k'},
                                                 {"duration", required_argument, 0, 'd'},
                                                 {"warmup", required_argument, 0, 'w'},
                                                 {"read-percent", required_argument, 0, 'r'},
                                                 {"prefix", required_argument, 0, 'p'},
                                                 {"session-timeout", required_argument, 0, 't'},
                                                 {"rate", required_argument, 0, 'R'},
                                                 {"tail", required_argument, 0, 'T'},
                                                 {"acked", required_argument, 0, 'a'},
                                                 {0, 0, 0, 0}};
        *o = (struct options){.connections = 4,
                              .outstanding = 64,
                              .op = OP_MIXED,
                              .value_size = 256,
                              .keys = 10000,
                              .duration_s = 10,
                              .warmup_s = 2,
                              .read_percent = 90,
                              .prefix = "/bench",
                              .session_timeout_ms = SESSION_TIMEOUT_MS};
        int ch;
        while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
                switch (ch) {
                case 's':
                        o->server = optarg;
                        break;
                case 'c':
                        o->connections = atoi(optarg);
                        break;
                case 'm':
                        o->outstanding = atoi(optarg);
                        break;
                case 'o':
                        if (parse_op(optarg, &o->op) != 0)
                                return -1;
                        break;
                case 'v':
                        o->value_size = atoi(optarg);
                        break;
                case 'k':
                        o->keys = atol(optarg);
                        break;
                case 'd':
                        o->duration_s = atof(optarg);
                        break;
                case 'w':
                        o->warmup_s = atof(optarg);
                        break;
                case 'r':
                        o->read_percent = atoi(optarg);
                        break;
                case 'p':
                        o->prefix = optarg;
                        break;
                case 't':
                        o->session_timeout_ms = atoi(optarg);
                        break;
                case 'R':
                        o->rate = atof(optarg);
                        break;
                case 'T':
                        o->tail_s = atof(optarg);
                        break;
                case 'a':
                        o->acked_path = optarg;
                        break;
                default:
                        return -1;
                }
        }
        if (!o->server || o->connections < 1 || o->connections > CONNECTIONS_MAX ||
            o->outstanding < 1 || o->outstanding > OUTSTANDING_MAX || o->value_size < 0 ||
            o->value_size > 1000000 || o->keys < 1 || o->duration_s <= 0 || o->warmup_s < 0 ||
            o->read_percent < 0 || o->read_percent > 100 || o->session_timeout_ms < 100 ||
            o->rate < 0 || o->tail_s < 0 || (o->rate > 0 && o->op == OP_POPULATE))
                return -1;
        return 0;
}

static void sleep_s(double s)
{
        struct timespec ts = {.tv_sec = (time_t)s,
                              .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

/* Connection i's host list: the servers of --server starting at server i mod n, so the
 * connections are spread round-robin and each fails over to the others in list order.
 * Returns NULL when the list is malformed or out of memory. */
static char *rotated_hosts(const char *servers, int i)
{
        const char *start[SERVERS_MAX];
        size_t len[SERVERS_MAX];
        int n = 0;
        for (const char *p = servers;;) {
                const char *comma = strchr(p, ',');
                size_t l = comma ? (size_t)(comma - p) : strlen(p);
                if (l == 0 || n == SERVERS_MAX)
                        return NULL;
                start[n] = p;
                len[n++] = l;
                if (!comma)
                        break;
                p = comma + 1;
        }
        char *out = malloc(strlen(servers) + 1);
        if (!out)
                return NULL;
        size_t at = 0;
        for (int k = 0; k < n; k++) {
                int j = (i + k) % n;
                if (k > 0)
                        out[at++] = ',';
                memcpy(out + at, start[j], len[j]);
                at += len[j];
        }
        out[at] = '\0';
        return out;
}

static int connect_all(struct conn *conns, const struct options *o)
{
        /* Connect in the order given (rotated_hosts), not in the library's shuffle. */
        zoo_deterministic_conn_order(strchr(o->server, ',') != NULL);
        for (int i = 0; i < o->connections; i++) {
                struct conn *c = &conns[i];
                c->index = i;
                c->opts = o;
                c->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
                c->slots = calloc((size_t)o->outstanding, sizeof *c->slots);
                if (!c->slots)
                        return -1;
                char *hosts = rotated_hosts(o->server, i);
                if (!hosts)
                        return -1;
                c->zh = zookeeper_init(hosts, on_watch, o->session_timeout_ms, 0, c, 0);
                free(hosts);
                if (!c->zh)
                        return -1;
                /* The library's default (0) re-resolves the host list with getaddrinfo
                 * on every turn of its I/O loop, i.e. once per response received: a
                 * netlink socket and ~10 system calls, a quarter of this process's CPU.
                 * That is the generator measuring itself, and it charges a fast server
                 * more turns per second; -1 resolves only on (re)connection. */
                zoo_set_servers_resolution_delay(c->zh, -1);
        }
        uint64_t deadline = now_ns() + (uint64_t)CONNECT_TIMEOUT_MS * 1000000ull;
        for (int i = 0; i < o->connections; i++)
                while (!atomic_load(&conns[i].connected)) {
                        if (now_ns() > deadline)
                                return -1;
                        sleep_s(0.01);
                }
        return 0;
}

static void ensure_prefix(zhandle_t *zh, const char *prefix)
{
        char buf[256];
        int rc = zoo_create(zh, prefix, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, buf, sizeof buf);
        if (rc != ZOK && rc != ZNODEEXISTS)
                fprintf(stderr, "loadgen: create %s: %s\n", prefix, zerror(rc));
}

static void drain(struct conn *conns, int n)
{
        uint64_t deadline = now_ns() + (uint64_t)DRAIN_TIMEOUT_MS * 1000000ull;
        for (int i = 0; i < n; i++)
                while (atomic_load(&conns[i].inflight) > 0 && now_ns() < deadline)
                        sleep_s(0.005);
}

/* populate: waits until no request is in flight, for as long as keys keep being created
 * (a replicated server creates 100,000 keys more slowly than DRAIN_TIMEOUT_MS); gives up
 * after DRAIN_TIMEOUT_MS without progress. */
static void wait_populated(struct conn *conns, int n)
{
        uint64_t last = 0, deadline = now_ns() + (uint64_t)DRAIN_TIMEOUT_MS * 1000000ull;
        while (now_ns() < deadline) {
                int inflight = 0;
                uint64_t made = 0;
                for (int i = 0; i < n; i++) {
                        inflight += atomic_load(&conns[i].inflight);
                        made += atomic_load(&conns[i].populated);
                }
                if (inflight == 0)
                        return;
                if (made != last) {
                        last = made;
                        deadline = now_ns() + (uint64_t)DRAIN_TIMEOUT_MS * 1000000ull;
                }
                sleep_s(0.005);
        }
}

static void report(struct conn *conns, const struct options *o, double window_s,
                   uint64_t cpu_used_ns)
{
        struct hist merged = {0};
        uint64_t ops = 0, errors = 0;
        for (int i = 0; i < o->connections; i++) {
                ops += conns[i].ops;
                errors += conns[i].errors;
                for (int b = 0; b < HIST_BUCKETS; b++)
                        merged.counts[b] += conns[i].hist.counts[b];
                if (conns[i].hist.max_us > merged.max_us)
                        merged.max_us = conns[i].hist.max_us;
        }
        uint64_t mark = atomic_load(&g_mark_ns), recovered = atomic_load(&g_recovered_ns);
        printf("ops=%" PRIu64 " errors=%" PRIu64 " seconds=%.3f ops_per_s=%.0f p50_us=%" PRIu64
               " p99_us=%" PRIu64 " p999_us=%" PRIu64 " max_us=%" PRIu64
               " client_cpu_us_per_op=%.2f expired=%d",
               ops, errors, window_s, (double)ops / window_s, hist_percentile(&merged, 50),
               hist_percentile(&merged, 99), hist_percentile(&merged, 99.9), merged.max_us,
               ops ? (double)cpu_used_ns / 1000.0 / (double)ops : 0.0, atomic_load(&g_expired));
        if (mark)
                printf(" mark_ns=%" PRIu64 " recovery_us=%.0f", mark,
                       recovered ? (double)(recovered - mark) / 1000.0 : -1.0);
        printf("\n");
        fflush(stdout);
}

/* --acked: "start_ns end_ns path" per successful create. */
static int write_acked(struct conn *conns, const struct options *o)
{
        FILE *f = fopen(o->acked_path, "w");
        if (!f)
                return -1;
        bool oom = false;
        for (int i = 0; i < o->connections; i++) {
                const struct conn *c = &conns[i];
                oom |= c->acked_oom;
                for (size_t k = 0; k < c->acked_n; k++)
                        fprintf(f, "%" PRIu64 " %" PRIu64 " %s/c%d-%" PRIu64 "\n",
                                c->acked[k].start_ns, c->acked[k].end_ns, o->prefix, i,
                                c->acked[k].seq);
        }
        int rc = fclose(f);
        if (oom)
                fprintf(stderr, "loadgen: out of memory recording acknowledged creates\n");
        return rc == 0 && !oom ? 0 : -1;
}

/* --rate: one request every 1/rate s, to the connections in turn, each on a free slot of
 * that connection; a token that finds every slot of its connection busy is dropped (the
 * offered load is capped at connections × outstanding in flight). Runs until `end_ns`
 * or, with --tail, until tail_s after recovery. */
static void pace(struct conn *conns, const struct options *o, uint64_t end_ns)
{
        uint64_t interval = (uint64_t)(1e9 / o->rate);
        if (interval == 0)
                interval = 1;
        uint64_t next = now_ns();
        int rr = 0;
        for (;;) {
                uint64_t now = now_ns();
                if (now >= end_ns)
                        return;
                uint64_t rec = atomic_load(&g_recovered_ns);
                if (o->tail_s > 0 && rec && now >= rec + (uint64_t)(o->tail_s * 1e9))
                        return;
                if (now > next + PACE_LAG_MAX_NS)
                        next = now;
                while (next <= now) {
                        struct conn *c = &conns[rr];
                        rr = (rr + 1) % o->connections;
                        for (int j = 0; j < o->outstanding; j++) {
                                bool idle = false;
                                if (atomic_compare_exchange_strong(&c->slots[j].busy, &idle,
                                                                   true)) {
                                        issue(&c->slots[j]);
                                        break;
                                }
                        }
                        next += interval;
                }
                uint64_t wait = next - now < PACE_SLEEP_NS ? next - now : PACE_SLEEP_NS;
                struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)wait};
                nanosleep(&ts, NULL);
        }
}

/* Closed loop: sleeps until `end_ns` or, with --tail, until tail_s after recovery. */
static void wait_end(const struct options *o, uint64_t end_ns)
{
        for (;;) {
                uint64_t now = now_ns();
                uint64_t rec = atomic_load(&g_recovered_ns);
                if (now >= end_ns ||
                    (o->tail_s > 0 && rec && now >= rec + (uint64_t)(o->tail_s * 1e9)))
                        return;
                sleep_s(POLL_SLEEP_S);
        }
}

static void print_started(struct conn *conns, const struct options *o)
{
        printf("started");
        for (int i = 0; i < o->connections; i++)
                printf(" %s", zoo_get_current_server(conns[i].zh));
        printf("\n");
        fflush(stdout);
}

int main(int argc, char **argv)
{
        struct options o;
        if (parse_args(argc, argv, &o) != 0) {
                usage();
                return 2;
        }
        zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
        struct sigaction sa = {.sa_handler = on_mark};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        char *value = malloc((size_t)o.value_size + 1);
        if (!value)
                return 1;
        memset(value, 'v', (size_t)o.value_size);
        g_value = value;
        struct conn *conns = calloc((size_t)o.connections, sizeof *conns);
        if (!conns || connect_all(conns, &o) != 0) {
                fprintf(stderr, "loadgen: cannot connect to %s\n", o.server);
                return 1;
        }
        ensure_prefix(conns[0].zh, o.prefix);
        for (int i = 0; i < o.connections; i++)
                for (int j = 0; j < o.outstanding; j++)
                        conns[i].slots[j].conn = &conns[i];
        if (o.rate <= 0)
                for (int i = 0; i < o.connections; i++)
                        for (int j = 0; j < o.outstanding; j++)
                                issue(&conns[i].slots[j]);
        int status = 0;
        if (o.op == OP_POPULATE) {
                wait_populated(conns, o.connections);
                uint64_t made = 0;
                for (int i = 0; i < o.connections; i++)
                        made += atomic_load(&conns[i].populated);
                printf("populated=%" PRIu64 "\n", made);
                status = made == (uint64_t)o.keys ? 0 : 1;
        } else {
                print_started(conns, &o);
                uint64_t start = now_ns();
                uint64_t measure_from = start + (uint64_t)(o.warmup_s * 1e9);
                uint64_t end = measure_from + (uint64_t)(o.duration_s * 1e9);
                if (o.rate > 0)
                        pace(conns, &o, measure_from);
                else
                        sleep_s(o.warmup_s);
                uint64_t t0 = now_ns(), c0 = cpu_ns();
                atomic_store(&g_measuring, true);
                if (o.rate > 0)
                        pace(conns, &o, end);
                else
                        wait_end(&o, end);
                atomic_store(&g_measuring, false);
                uint64_t t1 = now_ns(), c1 = cpu_ns();
                atomic_store(&g_stopping, true);
                drain(conns, o.connections);
                report(conns, &o, (double)(t1 - t0) / 1e9, c1 - c0);
        }
        atomic_store(&g_stopping, true);
        /* zookeeper_close joins the connection's threads: no completion appends to its
         * acknowledged creates after this. */
        for (int i = 0; i < o.connections; i++)
                zookeeper_close(conns[i].zh);
        if (o.op != OP_POPULATE && o.acked_path && write_acked(conns, &o) != 0) {
                fprintf(stderr, "loadgen: cannot write %s\n", o.acked_path);
                status = 1;
        }
        for (int i = 0; i < o.connections; i++) {
                free(conns[i].slots);
                free(conns[i].acked);
        }
        free(conns);
        free(value);
        return status;
}
