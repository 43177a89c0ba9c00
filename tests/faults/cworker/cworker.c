/*
 * synod-fault-worker: a register client of the fault harness on libsynod, next to the
 * kazoo workers (tests/faults/worker.py), writing the same history records, so the
 * checker reads both alike:
 *
 *   synod-fault-worker --process P --hosts H --keys r0,r1 --out FILE --seed S
 *                      --seconds N [--stop-file F]
 *
 *   {"type": "invoke", "p": P, "i": n, "key": k, "f": "read"|"write"|"cas", "arg": a, "t": t}
 *   {"type": "ok"|"fail"|"info", "p": P, "i": n, "result": r, "error": e, "t": t}
 *
 * Times are CLOCK_MONOTONIC seconds; each line is flushed before the operation starts and
 * after it ends. Operations on /faults/<key>: read = sync then get, valid only if no
 * connection change came between them (counted by the state callback), else failed;
 * write = set with any version (ok carries the new version); cas = set with the version
 * this worker last saw (BADVERSION a definite refusal). A write's ZSYSTEMERROR is a
 * definite refusal too (a server with a full disk refuses before proposing); any other
 * error leaves it unknown ("info"). A session that expired, or that could not reconnect
 * for FRESH_SESSION_S, is replaced by a new one, as an application restarts its client.
 * It does no sequential creates (the kazoo workers do).
 */
#include <synod/synod.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEYS_MAX           16
#define KEY_BYTES          32
#define VALUE_BYTES        64
#define SESSION_TIMEOUT_MS 10000
#define CONNECT_WAIT_MS    1000
#define FRESH_SESSION_S    12.0
#define THINK_US_MAX       20000
#define READ_SHARE         45 /* percent; then writes, then cas */
#define WRITE_SHARE        30

struct worker {
        int process;
        const char *hosts;
        char keys[KEYS_MAX][KEY_BYTES];
        int32_t last_version[KEYS_MAX];
        int n_keys;
        FILE *out;
        const char *stop_file;
        double deadline;
        uint64_t rng;
        uint64_t seq;
        uint64_t written;
        struct synod *h;
        double down_since; /* 0 while connected */
};

static atomic_uint_fast64_t state_changes;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(struct worker *w)
{
        w->rng ^= w->rng << 13;
        w->rng ^= w->rng >> 7;
        w->rng ^= w->rng << 17;
        return w->rng;
}

static void on_state(struct synod *h, enum synod_state state, void *arg)
{
        (void)h;
        (void)state;
        (void)arg;
        atomic_fetch_add(&state_changes, 1);
}

/* Values and keys are the harness's own ("p3-17", "r0"): no character needs escaping, but
 * a value read back is the server's, so anything else is written as \u00XX. */
static void put_json_string(FILE *f, const char *s, int32_t len)
{
        fputc('"', f);
        for (int32_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static uint64_t invoke(struct worker *w, int key, const char *f, const char *arg, int version)
{
        uint64_t n = w->seq++;
        fprintf(w->out, "{\"type\": \"invoke\", \"p\": %d, \"i\": %llu, \"key\": ", w->process,
                (unsigned long long)n);
        put_json_string(w->out, w->keys[key], (int32_t)strlen(w->keys[key]));
        fprintf(w->out, ", \"f\": \"%s\", \"arg\": ", f);
        if (arg == NULL)
                fputs("null", w->out);
        else if (version >= 0)
                fprintf(w->out, "[%d, \"%s\"]", version, arg);
        else
                put_json_string(w->out, arg, (int32_t)strlen(arg));
        fprintf(w->out, ", \"t\": %.9f}\n", now_s());
        fflush(w->out);
        return n;
}

/* result: NULL (null), or a version (value NULL), or [value, version]. */
static void end(struct worker *w, uint64_t n, const char *kind, const char *value,
                int32_t value_len, int32_t version, const char *error)
{
        fprintf(w->out, "{\"type\": \"%s\", \"p\": %d, \"i\": %llu, \"result\": ", kind, w->process,
                (unsigned long long)n);
        if (version < 0)
                fputs("null", w->out);
        else if (value == NULL)
                fprintf(w->out, "%d", version);
        else {
                fputc('[', w->out);
                put_json_string(w->out, value, value_len);
                fprintf(w->out, ", %d]", version);
        }
        fputs(", \"error\": ", w->out);
        if (error == NULL)
                fputs("null", w->out);
        else
                put_json_string(w->out, error, (int32_t)strlen(error));
        fprintf(w->out, ", \"t\": %.9f}\n", now_s());
        fflush(w->out);
}

static bool stopped(const struct worker *w)
{
        return now_s() >= w->deadline || (w->stop_file != NULL && access(w->stop_file, F_OK) == 0);
}

/* A handle that is connected, or NULL after CONNECT_WAIT_MS; replaces an expired one or
 * one that has not been connected for FRESH_SESSION_S. */
static struct synod *session(struct worker *w)
{
        if (w->h != NULL) {
                enum synod_state st = synod_state(w->h);
                if (st == SYNOD_STATE_CONNECTED) {
                        w->down_since = 0;
                        return w->h;
                }
                if (w->down_since == 0)
                        w->down_since = now_s();
                bool dead = st == SYNOD_STATE_EXPIRED || st == SYNOD_STATE_CLOSED ||
                            now_s() - w->down_since > FRESH_SESSION_S;
                if (!dead)
                        return synod_wait_connected(w->h, CONNECT_WAIT_MS) == SYNOD_OK ? w->h
                                                                                       : NULL;
                synod_close(w->h);
                w->h = NULL;
        }
        struct synod_options o = {.servers = w->hosts,
                                  .session_timeout_ms = SESSION_TIMEOUT_MS,
                                  .seed = w->rng,
                                  .on_state = on_state};
        if (synod_open(&w->h, &o) != SYNOD_OK) {
                w->h = NULL;
                return NULL;
        }
        w->down_since = now_s();
        return synod_wait_connected(w->h, CONNECT_WAIT_MS) == SYNOD_OK ? w->h : NULL;
}

static void do_read(struct worker *w, struct synod *h, int key, const char *path)
{
        uint64_t n = invoke(w, key, "read", NULL, -1);
        uint_fast64_t mark = atomic_load(&state_changes);
        char *data = NULL;
        int32_t len = 0;
        struct synod_stat st;
        int rc = synod_sync(h, path);
        if (rc == SYNOD_OK)
                rc = synod_get(h, path, &data, &len, &st, NULL, NULL);
        if (rc != SYNOD_OK)
                end(w, n, "fail", NULL, 0, -1, synod_errname(rc));
        else if (atomic_load(&state_changes) != mark)
                end(w, n, "fail", NULL, 0, -1, "reconnected between sync and get");
        else {
                end(w, n, "ok", data, len, st.version, NULL);
                w->last_version[key] = st.version;
        }
        free(data);
}

static void do_update(struct worker *w, struct synod *h, int key, const char *path, bool cas)
{
        char value[VALUE_BYTES];
        snprintf(value, sizeof value, "p%d-%llu", w->process, (unsigned long long)++w->written);
        int32_t version = cas ? w->last_version[key] : -1;
        uint64_t n = invoke(w, key, cas ? "cas" : "write", value, cas ? version : -1);
        struct synod_stat st;
        int rc = synod_set(h, path, value, (int32_t)strlen(value), version, &st);
        if (rc == SYNOD_OK) {
                end(w, n, "ok", NULL, 0, st.version, NULL);
                w->last_version[key] = st.version;
        } else if (rc == SYNOD_EBADVERSION && cas) {
                end(w, n, "fail", NULL, 0, -1, "badversion");
        } else if (rc == SYNOD_ENONODE) {
                end(w, n, "fail", NULL, 0, -1, "nonode");
        } else if (rc == SYNOD_ESYSTEMERROR) {
                end(w, n, "fail", NULL, 0, -1, "refused");
        } else {
                end(w, n, "info", NULL, 0, -1, synod_errname(rc));
        }
}

static int run(struct worker *w)
{
        /* Bounded by w->deadline (and the stop file). */
        while (!stopped(w)) {
                struct synod *h = session(w);
                if (h == NULL)
                        continue; /* session() waited CONNECT_WAIT_MS */
                int key = (int)(next_rand(w) % (uint64_t)w->n_keys);
                char path[KEY_BYTES + 16];
                snprintf(path, sizeof path, "/faults/%s", w->keys[key]);
                int roll = (int)(next_rand(w) % 100);
                if (roll < READ_SHARE)
                        do_read(w, h, key, path);
                else
                        do_update(w, h, key, path, roll >= READ_SHARE + WRITE_SHARE);
                usleep((useconds_t)(next_rand(w) % THINK_US_MAX));
        }
        if (w->h != NULL)
                synod_close(w->h);
        return 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: synod-fault-worker --process P --hosts H --keys K1,K2 --out FILE "
                        "--seed S --seconds N [--stop-file F]\n");
        return 2;
}

int main(int argc, char **argv)
{
        struct worker w = {.process = -1};
        const char *keys = NULL, *out = NULL;
        double seconds = 0;
        unsigned long long seed = 1;
        for (int i = 1; i + 1 < argc; i += 2) {
                const char *k = argv[i], *v = argv[i + 1];
                if (strcmp(k, "--process") == 0)
                        w.process = atoi(v);
                else if (strcmp(k, "--hosts") == 0)
                        w.hosts = v;
                else if (strcmp(k, "--keys") == 0)
                        keys = v;
                else if (strcmp(k, "--out") == 0)
                        out = v;
                else if (strcmp(k, "--seed") == 0)
                        seed = strtoull(v, NULL, 10);
                else if (strcmp(k, "--seconds") == 0)
                        seconds = atof(v);
                else if (strcmp(k, "--stop-file") == 0)
                        w.stop_file = v;
                else
                        return usage();
        }
        if (w.process < 0 || w.hosts == NULL || keys == NULL || out == NULL || seconds <= 0)
                return usage();
        for (const char *p = keys; *p != '\0' && w.n_keys < KEYS_MAX;) {
                size_t len = strcspn(p, ",");
                if (len == 0 || len >= KEY_BYTES)
                        return usage();
                memcpy(w.keys[w.n_keys], p, len);
                w.keys[w.n_keys][len] = '\0';
                w.last_version[w.n_keys++] = 0;
                p += len + (p[len] == ',');
        }
        if (w.n_keys == 0)
                return usage();
        w.out = fopen(out, "a");
        if (w.out == NULL) {
                perror(out);
                return 1;
        }
        w.rng = (seed * 1000003ull + (unsigned long long)w.process) | 1;
        w.deadline = now_s() + seconds;
        int rc = run(&w);
        fclose(w.out);
        return rc;
}
