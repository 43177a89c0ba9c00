/*
 * The console API's workers (admin.h "web console"): a queue the loop fills without
 * blocking, ADMIN_CONSOLE_WORKERS threads that take requests from it and answer them
 * with blocking client calls, and the routing of ADMIN_CONSOLE_API paths.
 *
 * The queue is a ring of ADMIN_CONNECTIONS_MAX: a connection has at most one request in
 * flight, so it cannot overflow.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin/console.h"
#include "admin/json.h"
#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"
#include "synod/synod.h"

struct admin_console {
        struct admin_server *admin;
        const char *servers;
        struct console_feed *feed;
        pthread_t threads[ADMIN_CONSOLE_WORKERS];
        size_t thread_count;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct admin_request *queue[ADMIN_CONNECTIONS_MAX];
        size_t head, count;
        bool stopping;
};

void console_answer(struct admin_server *a, struct admin_request *r, unsigned status, json_t *o)
{
        struct syn_writer w;
        syn_writer_init(&w, ADMIN_RESPONSE_BYTES_MAX);
        int rc = admin_json_dump(&w, o);
        if (rc != SYN_OK) {
                syn_writer_reset(&w);
                static const char text[] = "{\"error\": \"response too large or out of memory\"}\n";
                syn_write_bytes(&w, text, sizeof text - 1);
                status = CONSOLE_INTERNAL_ERROR;
        }
        admin_respond(a, r, status, "application/json", &w);
        syn_writer_close(&w);
}

void console_refuse(struct admin_server *a, struct admin_request *r, unsigned status,
                    const char *error, const char *message)
{
        json_t *o = json_object();
        if (o != NULL) {
                put_str(o, "error", error);
                put_str(o, "message", message);
        }
        console_answer(a, r, status, o);
}

int console_open(struct synod **out, const char *servers, const char *credentials)
{
        struct synod_options o = {.servers = servers,
                                  .session_timeout_ms = ADMIN_CONSOLE_SESSION_TIMEOUT_MS};
        int rc = synod_open(out, &o);
        if (rc != SYNOD_OK || credentials == NULL)
                return rc;
        rc = synod_add_auth(*out, "digest", credentials, (int32_t)strlen(credentials));
        if (rc != SYNOD_OK) {
                synod_close(*out);
                *out = NULL;
        }
        return rc;
}

/* The rest of path after prefix when it continues with '/' or ends; NULL otherwise. */
static const char *under(const char *path, const char *prefix)
{
        size_t n = strlen(prefix);
        if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
                return NULL;
        return path + n;
}

static void serve(struct admin_console *c, struct admin_request *r)
{
        const char *path = admin_request_path(r);
        const char *rest;
        if ((rest = under(path, ADMIN_CONSOLE_NODE)) != NULL) {
                /* "/console/api/node" and "/console/api/node/" are the root. */
                console_node(c->admin, r, c->servers,
                             rest[0] == '\0' || rest[1] == '\0' ? "/" : rest);
        } else if ((rest = under(path, ADMIN_CONSOLE_EVENTS)) != NULL) {
                if (strcmp(admin_request_method(r), "GET") != 0)
                        console_refuse(c->admin, r, CONSOLE_METHOD_NOT_ALLOWED, "method",
                                       "the event feed is read with GET");
                else
                        console_events(c->feed, c->admin, r, rest[0] == '/' ? rest + 1 : rest);
        } else {
                console_refuse(c->admin, r, CONSOLE_NOT_FOUND, "not found", path);
        }
}

static void *worker(void *arg)
{
        struct admin_console *c = arg;
        pthread_mutex_lock(&c->mu);
        for (;;) {
                while (c->count == 0 && !c->stopping)
                        pthread_cond_wait(&c->cv, &c->mu);
                if (c->stopping)
                        break;
                struct admin_request *r = c->queue[c->head];
                c->head = (c->head + 1) % ADMIN_CONNECTIONS_MAX;
                c->count--;
                pthread_mutex_unlock(&c->mu);
                serve(c, r);
                pthread_mutex_lock(&c->mu);
        }
        pthread_mutex_unlock(&c->mu);
        return NULL;
}

int admin_console_start(struct admin_console **out, struct admin_server *a, const char *servers)
{
        *out = NULL;
        struct admin_console *c = calloc(1, sizeof *c);
        if (c == NULL)
                return SYN_ENOMEM;
        c->admin = a;
        c->servers = servers;
        if (console_feed_new(&c->feed, servers) != SYN_OK) {
                free(c);
                return SYN_ENOMEM;
        }
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        for (; c->thread_count < ADMIN_CONSOLE_WORKERS; c->thread_count++) {
                if (pthread_create(&c->threads[c->thread_count], NULL, worker, c) != 0) {
                        admin_console_stop(c);
                        return SYN_ESYS;
                }
        }
        *out = c;
        return SYN_OK;
}

void admin_console_submit(struct admin_console *c, struct admin_request *r)
{
        pthread_mutex_lock(&c->mu);
        SYN_ASSERT(c->count < ADMIN_CONNECTIONS_MAX && !c->stopping);
        c->queue[(c->head + c->count) % ADMIN_CONNECTIONS_MAX] = r;
        c->count++;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
}

void admin_console_stop(struct admin_console *c)
{
        if (c == NULL)
                return;
        pthread_mutex_lock(&c->mu);
        c->stopping = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; i < c->thread_count; i++)
                pthread_join(c->threads[i], NULL);
        for (; c->count > 0; c->count--) {
                console_refuse(c->admin, c->queue[c->head], CONSOLE_UNAVAILABLE, "stopping",
                               "the server is stopping");
                c->head = (c->head + 1) % ADMIN_CONNECTIONS_MAX;
        }
        console_feed_free(c->feed);
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
}
