/*
 * The live event feed (console.h): a session of this server with a persistent recursive
 * watch on "/", and a ring of the last ADMIN_CONSOLE_EVENTS_MAX events, numbered from 1,
 * which the page polls for the ones after the last it saw.
 *
 * Threads: the watch callback appends on the session's I/O thread; the workers read.
 * Both under mu. The session is (re)opened by a worker when polled without a live one,
 * so a server whose console nobody watches has no such session.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/console.h"
#include "admin/json.h"
#include "base/err.h"
#include "base/limits.h"
#include "synod/synod.h"

struct feed_event {
        uint64_t seq;
        int64_t wall_ms;
        int type;   /* enum synod_event_type */
        char *path; /* malloc'd */
};

struct console_feed {
        char *servers;
        /* Workers open and close the session under session_mu; mu guards the rest, which
         * the session's callbacks touch (so it is never held while closing the session). */
        pthread_mutex_t session_mu;
        struct synod *h; /* NULL until first polled; owned */
        pthread_mutex_t mu;
        bool watching; /* the watch is registered on h */
        int watch_err; /* why registering failed, SYNOD_OK if it did not */
        uint64_t next; /* the number the next event gets */
        struct feed_event ring[ADMIN_CONSOLE_EVENTS_MAX];
};

int console_feed_new(struct console_feed **out, const char *servers)
{
        struct console_feed *f = calloc(1, sizeof *f);
        if (f == NULL || (f->servers = strdup(servers)) == NULL) {
                free(f);
                return SYN_ENOMEM;
        }
        pthread_mutex_init(&f->session_mu, NULL);
        pthread_mutex_init(&f->mu, NULL);
        f->next = 1;
        *out = f;
        return SYN_OK;
}

void console_feed_free(struct console_feed *f)
{
        if (f == NULL)
                return;
        if (f->h != NULL)
                synod_close(f->h);
        for (size_t i = 0; i < ADMIN_CONSOLE_EVENTS_MAX; i++)
                free(f->ring[i].path);
        pthread_mutex_destroy(&f->mu);
        pthread_mutex_destroy(&f->session_mu);
        free(f->servers);
        free(f);
}

static int64_t wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The session's I/O thread: one change under "/". */
static void on_event(const struct synod_event *ev, void *arg)
{
        struct console_feed *f = arg;
        if (ev->type == SYNOD_EVENT_SESSION)
                return; /* the poller sees the session's state itself */
        char *path = strdup(ev->path);
        pthread_mutex_lock(&f->mu);
        struct feed_event *e = &f->ring[f->next % ADMIN_CONSOLE_EVENTS_MAX];
        free(e->path);
        *e = (struct feed_event){f->next++, wall_ms(), ev->type, path};
        pthread_mutex_unlock(&f->mu);
}

static void on_watch_added(const struct synod_result *res, void *arg)
{
        struct console_feed *f = arg;
        pthread_mutex_lock(&f->mu);
        f->watching = res->err == SYNOD_OK;
        f->watch_err = res->err;
        pthread_mutex_unlock(&f->mu);
}

/* A worker, under session_mu: a session with the watch on its way, unless the one there
 * is still alive. */
static int ensure_session(struct console_feed *f)
{
        if (f->h != NULL) {
                enum synod_state s = synod_state(f->h);
                if (s != SYNOD_STATE_EXPIRED && s != SYNOD_STATE_CLOSED)
                        return SYNOD_OK;
                synod_close(f->h); /* expired: its persistent watch is gone with it */
                f->h = NULL;
        }
        pthread_mutex_lock(&f->mu);
        f->watching = false;
        f->watch_err = SYNOD_OK;
        pthread_mutex_unlock(&f->mu);
        int rc = console_open(&f->h, f->servers, NULL);
        if (rc != SYNOD_OK)
                return rc;
        struct synod_request q = {.op = SYNOD_OP_ADD_WATCH,
                                  .path = "/",
                                  .recursive = true,
                                  .watch = on_event,
                                  .watch_arg = f};
        return synod_call(f->h, &q, on_watch_added, f);
}

static const char *type_name(int type)
{
        switch (type) {
        case SYNOD_EVENT_CREATED:
                return "NodeCreated";
        case SYNOD_EVENT_DELETED:
                return "NodeDeleted";
        case SYNOD_EVENT_DATA_CHANGED:
                return "NodeDataChanged";
        case SYNOD_EVENT_CHILDREN_CHANGED:
                return "NodeChildrenChanged";
        default:
                return "unknown";
        }
}

/* {"live": ..., "next": N, "missed": M, "events": [...]}: the events numbered `after` and
 * later (0: all those kept), M of them no longer kept; under mu. */
static json_t *events_json(struct console_feed *f, uint64_t after)
{
        uint64_t oldest =
            f->next > ADMIN_CONSOLE_EVENTS_MAX ? f->next - ADMIN_CONSOLE_EVENTS_MAX : 1;
        uint64_t from = after < oldest ? oldest : after;
        uint64_t missed = after >= 1 && after < oldest ? oldest - after : 0;
        json_t *o = json_object();
        put(o, "live", json_boolean(f->watching));
        if (f->watch_err != SYNOD_OK)
                put_str(o, "error", synod_errname(f->watch_err));
        put_int(o, "next", (int64_t)f->next);
        put_int(o, "missed", (int64_t)missed);
        json_t *list = json_array();
        for (uint64_t seq = from; seq < f->next; seq++) {
                const struct feed_event *e = &f->ring[seq % ADMIN_CONSOLE_EVENTS_MAX];
                json_t *ev = json_object();
                put_int(ev, "seq", (int64_t)e->seq);
                put_int(ev, "time", e->wall_ms);
                put_str(ev, "type", type_name(e->type));
                put_str(ev, "path", e->path != NULL ? e->path : "(out of memory)");
                json_array_append_new(list, ev);
        }
        put(o, "events", list);
        return o;
}

void console_events(struct console_feed *f, struct admin_server *a, struct admin_request *r,
                    const char *after)
{
        char *end = NULL;
        errno = 0;
        uintmax_t n = strtoumax(after, &end, 10);
        if (after[0] == '\0' || after[0] == '-' || *end != '\0' || errno != 0) {
                console_refuse(a, r, CONSOLE_BAD_REQUEST, "bad sequence number",
                               "poll " ADMIN_CONSOLE_EVENTS "/<first event number wanted>");
                return;
        }
        pthread_mutex_lock(&f->session_mu);
        int rc = ensure_session(f);
        pthread_mutex_unlock(&f->session_mu);
        if (rc != SYNOD_OK) {
                console_refuse(a, r, CONSOLE_UNAVAILABLE, synod_errname(rc), synod_strerror(rc));
                return;
        }
        pthread_mutex_lock(&f->mu);
        json_t *o = events_json(f, (uint64_t)n);
        pthread_mutex_unlock(&f->mu);
        console_answer(a, r, CONSOLE_OK, o);
}
