/*
 * synod-recipe-check: drives libsynod's C API from the pytest suite in
 * tests/client (the CLI covers the rest). One mode per run, line-oriented
 * output flushed after every line, so the test can react to it:
 *
 *   watch-reconnect HOSTS PATH   set a one-shot data watch and a persistent
 *                                watch, print READY; after the test cuts and
 *                                restores the connection (and changes PATH
 *                                meanwhile) print the state changes, whether
 *                                the session is the same, and the events.
 *   election HOSTS DIR ID        synod_election_start with callbacks printing
 *                                GAIN ID TOKEN / LOSS ID until SIGTERM.
 *   async HOSTS DIR N            N pipelined async sequential creates; checks
 *                                completions arrive once each, in order.
 *   lock-expire HOSTS DIR        take a lock, print HELD TOKEN, then wait for
 *                                the session to be lost and print LOST.
 */
#include <synod/synod.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK_SESSION_TIMEOUT_MS 4000
#define CHECK_WAIT_S             40

static volatile sig_atomic_t check_stop; /* the signal flag */

static void check_on_signal(int sig)
{
        check_stop = sig;
}

static void check_nap_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void check_state(struct synod *h, enum synod_state s, void *arg)
{
        (void)h;
        (void)arg;
        say("STATE %s", synod_state_name(s));
}

static struct synod *check_open(const char *hosts)
{
        struct synod *h;
        struct synod_options opt = {.servers = hosts,
                                    .session_timeout_ms = CHECK_SESSION_TIMEOUT_MS,
                                    .seed = 0,
                                    .on_state = check_state,
                                    .state_arg = NULL};
        if (synod_open(&h, &opt) != SYNOD_OK || synod_wait_connected(h, 15000) != SYNOD_OK) {
                say("CONNECT FAILED");
                exit(3);
        }
        return h;
}

struct check_events {
        pthread_mutex_t mu;
        int data_events;
        int persistent_events;
};

static void check_data_watch(const struct synod_event *ev, void *arg)
{
        struct check_events *c = arg;
        if (ev->type == SYNOD_EVENT_SESSION)
                return;
        pthread_mutex_lock(&c->mu);
        c->data_events++;
        pthread_mutex_unlock(&c->mu);
        say("ONESHOT %d %s", ev->type, ev->path);
}

static void check_persistent_watch(const struct synod_event *ev, void *arg)
{
        struct check_events *c = arg;
        if (ev->type == SYNOD_EVENT_SESSION)
                return;
        pthread_mutex_lock(&c->mu);
        c->persistent_events++;
        pthread_mutex_unlock(&c->mu);
        say("PERSISTENT %d %s", ev->type, ev->path);
}

static int check_watch_reconnect(const char *hosts, const char *path)
{
        struct synod *h = check_open(hosts);
        static struct check_events c = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
        int64_t sid = synod_session_id(h);
        if (synod_get(h, path, NULL, NULL, NULL, check_data_watch, &c) != SYNOD_OK ||
            synod_add_watch(h, path, false, check_persistent_watch, &c) != SYNOD_OK) {
                say("SETUP FAILED");
                return 1;
        }
        say("READY");
        for (int i = 0; i < CHECK_WAIT_S * 10 && !check_stop; i++) {
                pthread_mutex_lock(&c.mu);
                bool done = c.data_events > 0;
                pthread_mutex_unlock(&c.mu);
                if (done)
                        break;
                check_nap_ms(100);
        }
        say("SAME_SESSION %d", synod_session_id(h) == sid);
        /* The persistent watch is still there after the reconnect: one more change. */
        say("SETTING");
        synod_set(h, path, "after", 5, -1, NULL);
        for (int i = 0; i < 50; i++) {
                pthread_mutex_lock(&c.mu);
                bool done = c.persistent_events > 0;
                pthread_mutex_unlock(&c.mu);
                if (done)
                        break;
                check_nap_ms(100);
        }
        synod_close(h);
        say("DONE %d %d", c.data_events, c.persistent_events);
        return 0;
}

static void check_gain(struct synod_election *e, void *arg)
{
        say("GAIN %s %lld", (const char *)arg, (long long)synod_election_token(e));
}

static void check_loss(struct synod_election *e, void *arg)
{
        (void)e;
        say("LOSS %s", (const char *)arg);
}

static int check_election(const char *hosts, const char *dir, char *id)
{
        struct synod *h = check_open(hosts);
        struct synod_election *e;
        if (synod_election_new(h, dir, id, &e) != SYNOD_OK ||
            synod_election_start(e, check_gain, check_loss, id) != SYNOD_OK) {
                say("SETUP FAILED");
                return 1;
        }
        say("CAMPAIGNING");
        while (!check_stop)
                check_nap_ms(50);
        synod_election_free(e);
        synod_close(h);
        say("DONE");
        return 0;
}

struct check_async {
        pthread_mutex_t mu;
        int done;
        int in_order;
        long long last_seq;
};

static void check_async_done(const struct synod_result *res, void *arg)
{
        struct check_async *a = arg;
        pthread_mutex_lock(&a->mu);
        if (res->err == SYNOD_OK) {
                long long seq = atoll(res->path + strlen(res->path) - 10);
                a->in_order += seq > a->last_seq;
                a->last_seq = seq;
        }
        a->done++;
        pthread_mutex_unlock(&a->mu);
}

static int check_async_creates(const char *hosts, const char *dir, int n)
{
        struct synod *h = check_open(hosts);
        static struct check_async a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, -1};
        char prefix[512];
        snprintf(prefix, sizeof(prefix), "%s/n-", dir);
        for (int i = 0; i < n; i++) {
                struct synod_request q = {.op = SYNOD_OP_CREATE,
                                          .path = prefix,
                                          .data_len = -1,
                                          .mode = SYNOD_PERSISTENT_SEQUENTIAL};
                if (synod_call(h, &q, check_async_done, &a) != SYNOD_OK) {
                        say("SUBMIT FAILED");
                        return 1;
                }
        }
        for (int i = 0; i < CHECK_WAIT_S * 100; i++) {
                pthread_mutex_lock(&a.mu);
                bool all = a.done == n;
                pthread_mutex_unlock(&a.mu);
                if (all)
                        break;
                check_nap_ms(10);
        }
        /* A sync call from the I/O thread would deadlock: it is refused instead. */
        say("ASYNC %d %d", a.done, a.in_order);
        synod_close(h);
        return 0;
}

static int check_lock_expire(const char *hosts, const char *dir)
{
        struct synod *h = check_open(hosts);
        struct synod_lock *l;
        if (synod_lock_new(h, dir, "lock", &l) != SYNOD_OK || synod_lock_acquire(l, 10000)) {
                say("LOCK FAILED");
                return 1;
        }
        say("HELD %lld", (long long)synod_lock_token(l));
        for (int i = 0; i < CHECK_WAIT_S * 10 && synod_lock_held(l); i++)
                check_nap_ms(100);
        int rc = synod_exists(h, "/", NULL, NULL, NULL);
        say("LOST held=%d call=%s", synod_lock_held(l), synod_errname(rc));
        synod_lock_free(l);
        synod_close(h);
        return 0;
}

int main(int argc, char **argv)
{
        signal(SIGTERM, check_on_signal);
        signal(SIGINT, check_on_signal);
        if (argc == 4 && strcmp(argv[1], "watch-reconnect") == 0)
                return check_watch_reconnect(argv[2], argv[3]);
        if (argc == 5 && strcmp(argv[1], "election") == 0)
                return check_election(argv[2], argv[3], argv[4]);
        if (argc == 5 && strcmp(argv[1], "async") == 0)
                return check_async_creates(argv[2], argv[3], atoi(argv[4]));
        if (argc == 4 && strcmp(argv[1], "lock-expire") == 0)
                return check_lock_expire(argv[2], argv[3]);
        fprintf(stderr, "usage: see the top of recipe_check.c\n");
        return 2;
}
