/*
 * The handle: open/close, submitting requests (async and sync), state queries.
 *
 * Submitting encodes on the caller's thread, then takes `mu` only to assign
 * the xid and append to the queue, and wakes the I/O thread through a pipe.
 * A sync call is an async call whose completion hands the result to a waiter
 * on the caller's stack (see cl_complete); it refuses to run on the I/O thread,
 * where it would wait for itself.
 */
#include "client/client.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/zk_types.h"
#include "proto/zk_records.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CL_SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " is " #b)
CL_SAME(SYNOD_ENONODE, ZNONODE);
CL_SAME(SYNOD_ECONNECTIONLOSS, ZCONNECTIONLOSS);
CL_SAME(SYNOD_ESESSIONEXPIRED, ZSESSIONEXPIRED);
CL_SAME(SYNOD_ENODEEXISTS, ZNODEEXISTS);
CL_SAME(SYNOD_EBADVERSION, ZBADVERSION);
CL_SAME(SYNOD_ENOWATCHER, ZNOWATCHER);
CL_SAME(SYNOD_ECLOSING, ZCLOSING);
CL_SAME(SYNOD_ENEWCONFIGNOQUORUM, ZNEWCONFIGNOQUORUM);
CL_SAME(SYNOD_ERECONFIGINPROGRESS, ZRECONFIGINPROGRESS);
CL_SAME(SYNOD_ERECONFIGDISABLED, ZRECONFIGDISABLED);
CL_SAME(SYNOD_OP_RECONFIG, ZK_OP_RECONFIG);
CL_SAME(SYNOD_OP_CHILDREN, ZK_OP_GET_CHILDREN2);
CL_SAME(SYNOD_OP_GET, ZK_OP_GET_DATA);
CL_SAME(SYNOD_EVENT_CHILDREN_CHANGED, ZK_EVENT_NODE_CHILDREN_CHANGED);
CL_SAME(SYNOD_EPHEMERAL_SEQUENTIAL, ZK_CREATE_EPHEMERAL_SEQUENTIAL);

const char *synod_strerror(int err)
{
        return zk_strerror(err);
}

const char *synod_errname(int err)
{
        return zk_errname(err);
}

static void cl_wake(struct synod *h)
{
        uint8_t b = 1;
        ssize_t n = write(h->wake_fds[1], &b, 1);
        (void)n; /* a full pipe already holds a wake-up */
}

bool cl_on_io_thread(struct synod *h)
{
        return pthread_equal(pthread_self(), h->io_thread);
}

static uint64_t cl_seed_default(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
}

static int cl_handle_init(struct synod *h, const struct synod_options *opt)
{
        if (cl_connstr_parse(opt->servers, &h->cs) != SYN_OK || opt->session_timeout_ms < 0)
                return SYNOD_EBADARGUMENTS;
        h->requested_timeout_ms =
            opt->session_timeout_ms ? opt->session_timeout_ms : CLIENT_SESSION_TIMEOUT_MS_DEFAULT;
        h->on_state = opt->on_state;
        h->state_arg = opt->state_arg;
        h->state = SYNOD_STATE_CONNECTING;
        h->next_xid = 1;
        h->fd = -1;
        syn_rand_seed(&h->rand, opt->seed ? opt->seed : cl_seed_default());
        h->server_next = (int)syn_rand_below(&h->rand, (uint64_t)h->cs.count);
        syn_writer_init(&h->out, 0);
        if (pipe2(h->wake_fds, O_NONBLOCK | O_CLOEXEC) != 0)
                return SYNOD_ESYSTEMERROR;
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->state_cond, NULL);
        pthread_cond_init(&h->events_cond, NULL);
        return SYNOD_OK;
}

int synod_open(struct synod **out, const struct synod_options *opt)
{
        *out = NULL;
        if (opt == NULL || opt->servers == NULL)
                return SYNOD_EBADARGUMENTS;
        struct synod *h = calloc(1, sizeof(*h));
        if (h == NULL)
                return SYNOD_ESYSTEMERROR;
        int rc = cl_handle_init(h, opt);
        if (rc != SYNOD_OK) {
                free(h);
                return rc;
        }
        if (pthread_create(&h->io_thread, NULL, cl_io_main, h) != 0) {
                close(h->wake_fds[0]);
                close(h->wake_fds[1]);
                free(h);
                return SYNOD_ESYSTEMERROR;
        }
        *out = h;
        return SYNOD_OK;
}

void synod_close(struct synod *h)
{
        if (h == NULL)
                return;
        SYN_ASSERT(!cl_on_io_thread(h));
        pthread_mutex_lock(&h->mu);
        h->closing = true;
        pthread_mutex_unlock(&h->mu);
        cl_wake(h);
        pthread_join(h->io_thread, NULL);
        SYN_ASSERT(h->queue_head == NULL);
        SYN_ASSERT(h->inflight_head == NULL);
        cl_watch_clear(&h->watches);
        for (int i = 0; i < h->auth_count; i++) {
                free(h->auths[i].scheme);
                free(h->auths[i].auth);
        }
        syn_writer_close(&h->out);
        free(h->in);
        close(h->wake_fds[0]);
        close(h->wake_fds[1]);
        pthread_cond_destroy(&h->events_cond);
        pthread_cond_destroy(&h->state_cond);
        pthread_mutex_destroy(&h->mu);
        free(h);
}

/* Queues r (xid assigned). On error r is freed and not completed. */
static int cl_submit(struct synod *h, struct cl_req *r, int32_t fixed_xid)
{
        pthread_mutex_lock(&h->mu);
        int rc = SYNOD_OK;
        if (h->closing || h->state == SYNOD_STATE_CLOSED)
                rc = SYNOD_ECLOSING;
        else if (h->state == SYNOD_STATE_EXPIRED)
                rc = SYNOD_ESESSIONEXPIRED;
        else if (h->queued >= CLIENT_QUEUE_MAX)
                rc = SYNOD_ESYSTEMERROR;
        if (rc != SYNOD_OK) {
                pthread_mutex_unlock(&h->mu);
                cl_req_free(r);
                return rc;
        }
        if (fixed_xid != 0) {
                cl_req_set_xid(r, fixed_xid);
        } else {
                cl_req_set_xid(r, h->next_xid);
                h->next_xid = h->next_xid == INT32_MAX ? 1 : h->next_xid + 1;
        }
        r->next = NULL;
        if (h->queue_tail)
                h->queue_tail->next = r;
        else
                h->queue_head = r;
        h->queue_tail = r;
        h->queued++;
        pthread_mutex_unlock(&h->mu);
        cl_wake(h);
        return SYNOD_OK;
}

int synod_call(struct synod *h, const struct synod_request *req, synod_done_fn done, void *arg)
{
        if (h == NULL || req == NULL)
                return SYNOD_EBADARGUMENTS;
        struct cl_req *r;
        int rc = cl_req_build(h->cs.chroot, req, &r);
        if (rc != SYNOD_OK)
                return rc;
        r->done = done;
        r->arg = arg;
        return cl_submit(h, r, 0);
}

int cl_call_sync(struct synod *h, const char *chroot, const struct synod_request *req,
                 struct synod_result **out)
{
        if (out)
                *out = NULL;
        if (h == NULL || req == NULL)
                return SYNOD_EBADARGUMENTS;
        if (cl_on_io_thread(h))
                return SYNOD_EAPIERROR;
        struct cl_req *r;
        int rc = cl_req_build(chroot, req, &r);
        if (rc != SYNOD_OK)
                return rc;
        struct cl_waiter w = {.done = false, .res = NULL};
        pthread_cond_init(&w.cond, NULL);
        r->waiter = &w;
        rc = cl_submit(h, r, 0);
        if (rc == SYNOD_OK) {
                pthread_mutex_lock(&h->mu);
                while (!w.done)
                        pthread_cond_wait(&w.cond, &h->mu);
                pthread_mutex_unlock(&h->mu);
                rc = w.res ? w.res->err : SYNOD_ESYSTEMERROR;
                if (out)
                        *out = w.res;
                else
                        synod_result_free(w.res);
        }
        pthread_cond_destroy(&w.cond);
        return rc;
}

int synod_call_sync(struct synod *h, const struct synod_request *req, struct synod_result **out)
{
        return cl_call_sync(h, h != NULL ? h->cs.chroot : "", req, out);
}

static void cl_deadline_ts(int timeout_ms, struct timespec *ts)
{
        clock_gettime(CLOCK_REALTIME, ts);
        ts->tv_sec += timeout_ms / 1000;
        ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts->tv_nsec >= 1000000000L) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000L;
        }
}

int synod_wait_connected(struct synod *h, int timeout_ms)
{
        struct timespec ts;
        cl_deadline_ts(timeout_ms < 0 ? 0 : timeout_ms, &ts);
        pthread_mutex_lock(&h->mu);
        int rc = SYNOD_OK;
        while (h->state != SYNOD_STATE_CONNECTED) {
                if (h->state == SYNOD_STATE_EXPIRED) {
                        rc = SYNOD_ESESSIONEXPIRED;
                        break;
                }
                if (h->state == SYNOD_STATE_CLOSED || h->closing) {
                        rc = SYNOD_ECLOSING;
                        break;
                }
                if (timeout_ms < 0) {
                        pthread_cond_wait(&h->state_cond, &h->mu);
                } else if (pthread_cond_timedwait(&h->state_cond, &h->mu, &ts) != 0) {
                        rc = h->state == SYNOD_STATE_CONNECTED ? SYNOD_OK : SYNOD_EOPERATIONTIMEOUT;
                        break;
                }
        }
        pthread_mutex_unlock(&h->mu);
        return rc;
}

enum synod_state synod_state(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        enum synod_state s = h->state;
        pthread_mutex_unlock(&h->mu);
        return s;
}

int64_t synod_session_id(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        int64_t id = h->session_id;
        pthread_mutex_unlock(&h->mu);
        return id;
}

int synod_session_timeout_ms(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        int t = h->session_timeout_ms;
        pthread_mutex_unlock(&h->mu);
        return t;
}

void synod_current_server(struct synod *h, char *buf, size_t buf_len)
{
        pthread_mutex_lock(&h->mu);
        snprintf(buf, buf_len, "%s", h->current_server);
        pthread_mutex_unlock(&h->mu);
}

int synod_add_auth(struct synod *h, const char *scheme, const void *auth, int32_t auth_len)
{
        if (scheme == NULL || auth_len < 0 || auth_len > ZK_AUTH_BYTES_MAX ||
            (auth_len > 0 && auth == NULL))
                return SYNOD_EBADARGUMENTS;
        struct zk_request z = {.xid = ZK_XID_AUTH, .type = ZK_OP_AUTH};
        z.auth.scheme = zk_bytes_of(scheme);
        z.auth.auth = (struct zk_bytes){auth, auth_len};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        struct cl_req *r = calloc(1, sizeof(*r));
        char *s = strdup(scheme);
        uint8_t *a = malloc((size_t)auth_len + 1);
        if (r == NULL || s == NULL || a == NULL || zk_request_write(&w, &z) != SYN_OK) {
                free(r);
                free(s);
                free(a);
                syn_writer_close(&w);
                return SYNOD_ESYSTEMERROR;
        }
        if (auth_len > 0)
                memcpy(a, auth, (size_t)auth_len);
        r->frame = syn_writer_take(&w, &r->frame_len);
        r->op = r->user_op = ZK_OP_AUTH;
        pthread_mutex_lock(&h->mu);
        bool full = h->auth_count == CLIENT_AUTH_MAX;
        if (!full)
                h->auths[h->auth_count++] = (struct cl_auth){s, a, auth_len};
        pthread_mutex_unlock(&h->mu);
        if (full) {
                free(s);
                free(a);
                cl_req_free(r);
                return SYNOD_EBADARGUMENTS;
        }
        return cl_submit(h, r, ZK_XID_AUTH);
}

/* ---- recipe event counter ---- */

uint64_t cl_events_value(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        uint64_t v = h->events;
        pthread_mutex_unlock(&h->mu);
        return v;
}

void cl_recipe_watch(const struct synod_event *ev, void *arg)
{
        (void)ev;
        struct synod *h = arg;
        pthread_mutex_lock(&h->mu);
        h->events++;
        pthread_cond_broadcast(&h->events_cond);
        pthread_mutex_unlock(&h->mu);
}

void cl_events_wait(struct synod *h, uint64_t seen, int ms)
{
        struct timespec ts;
        cl_deadline_ts(ms, &ts);
        pthread_mutex_lock(&h->mu);
        while (h->events == seen) {
                if (pthread_cond_timedwait(&h->events_cond, &h->mu, &ts) != 0)
                        break;
        }
        pthread_mutex_unlock(&h->mu);
}

/* ---- reachability (for the CLI's early report) ---- */

bool cl_nobody_listening(struct synod *h, enum cl_reach *reach)
{
        bool nobody = true;
        pthread_mutex_lock(&h->mu);
        for (int i = 0; i < h->cs.count; i++) {
                if (reach != NULL)
                        reach[i] = h->reach[i];
                nobody =
                    nobody && (h->reach[i] == CL_REACH_REFUSED || h->reach[i] == CL_REACH_NO_HOST);
        }
        pthread_mutex_unlock(&h->mu);
        return nobody;
}

const char *cl_reach_name(enum cl_reach r)
{
        switch (r) {
        case CL_REACH_UNTRIED:
                return "not tried yet";
        case CL_REACH_REFUSED:
                return "connection refused";
        case CL_REACH_NO_HOST:
                return "unknown host";
        case CL_REACH_NO_ANSWER:
                return "no answer";
        case CL_REACH_NO_SESSION:
                return "connected, but the server refused a session";
        case CL_REACH_OK:
                return "connected";
        }
        return "?";
}
