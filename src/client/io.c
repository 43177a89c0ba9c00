/*
 * The I/O thread of a handle: connection, handshake, the request pipeline,
 * pings and watch events. One thread per handle, poll()-based.
 *
 * The thread's loop is the only unbounded loop of the client: each pass makes
 * one connection attempt (to the next server, round robin from a random
 * start, with a jittered pause after a whole failed round) and, if the
 * handshake succeeds, runs the session on that connection until it drops or
 * the handle closes. Requests flow: caller -> queue (under mu, xid assigned)
 * -> output buffer + in-flight list (here) -> reply matched against the head
 * of the in-flight list. A reply whose xid is not the head's is a protocol
 * error and drops the connection, as in the Java client.
 *
 * On a connection loss every request in flight or queued fails with
 * ZCONNECTIONLOSS (Java's cleanup does the same): the caller cannot know
 * whether a write in flight was applied, and must find out (the recipes do).
 * The session is re-attached with the same id, password and lastZxidSeen;
 * then auth and SetWatches are re-sent before any queued request.
 */
#include "client/client.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/frame.h"
#include "proto/zk_records.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cl_conn_result { CL_CONN_OK, CL_CONN_FAILED, CL_CONN_EXPIRED, CL_CONN_CLOSING };

int64_t cl_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool cl_closing(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        bool c = h->closing;
        pthread_mutex_unlock(&h->mu);
        return c;
}

static void cl_drain_wake(struct synod *h)
{
        uint8_t buf[64];
        while (read(h->wake_fds[0], buf, sizeof(buf)) > 0) {
        }
}

/* Waits for fd events or a wake-up; returns poll's revents of fd (0 on timeout/wake). */
static short cl_poll(struct synod *h, int fd, short events, int timeout_ms)
{
        struct pollfd p[2] = {{h->wake_fds[0], POLLIN, 0}, {fd, events, 0}};
        int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (n <= 0)
                return 0;
        if (p[0].revents)
                cl_drain_wake(h);
        return fd >= 0 ? p[1].revents : 0;
}

void cl_set_state(struct synod *h, enum cl_event ev)
{
        pthread_mutex_lock(&h->mu);
        enum synod_state old = h->state;
        enum synod_state next = cl_state_next(old, ev);
        h->state = next;
        h->events++;
        pthread_cond_broadcast(&h->state_cond);
        pthread_cond_broadcast(&h->events_cond);
        pthread_mutex_unlock(&h->mu);
        if (next == old)
                return;
        SYN_DEBUG("synod client: %s -> %s", synod_state_name(old), synod_state_name(next));
        if (next == SYNOD_STATE_SUSPENDED)
                h->suspended_since_ms = cl_now_ms();
        if (h->on_state != NULL)
                h->on_state(h, next, h->state_arg);
        struct cl_watch *all = cl_watch_copy_all(&h->watches);
        if (next == SYNOD_STATE_EXPIRED || next == SYNOD_STATE_CLOSED)
                cl_watch_clear(&h->watches);
        struct synod_event e = {SYNOD_EVENT_SESSION, (int)next, ""};
        for (struct cl_watch *w = all; w != NULL; w = w->next)
                w->fn(&e, w->arg);
        cl_watch_list_free(all);
}

void cl_complete(struct synod *h, struct cl_req *r, struct synod_result *res)
{
        if (r->waiter != NULL) {
                pthread_mutex_lock(&h->mu);
                r->waiter->res = res;
                r->waiter->done = true;
                pthread_cond_signal(&r->waiter->cond);
                pthread_mutex_unlock(&h->mu);
                res = NULL; /* the waiter owns it now (NULL = out of memory) */
        } else if (r->done != NULL) {
                struct synod_result oom = {.err = ZSYSTEMERROR, .op = r->user_op, .data_len = -1};
                r->done(res != NULL ? res : &oom, r->arg);
        }
        synod_result_free(res);
        cl_req_free(r);
        pthread_mutex_lock(&h->mu);
        h->queued--;
        pthread_mutex_unlock(&h->mu);
}

static void cl_fail_list(struct synod *h, struct cl_req *list, int err)
{
        while (list != NULL) {
                struct cl_req *next = list->next;
                cl_complete(h, list, cl_result_error(list->user_op, err));
                list = next;
        }
}

/* Fails everything in flight and queued. */
static void cl_fail_all(struct synod *h, int err)
{
        struct cl_req *inflight = h->inflight_head;
        h->inflight_head = h->inflight_tail = NULL;
        h->inflight = 0;
        pthread_mutex_lock(&h->mu);
        struct cl_req *queued = h->queue_head;
        h->queue_head = h->queue_tail = NULL;
        pthread_mutex_unlock(&h->mu);
        cl_fail_list(h, inflight, err);
        cl_fail_list(h, queued, err);
}

static void cl_conn_drop(struct synod *h, int err)
{
        if (h->fd >= 0)
                close(h->fd);
        h->fd = -1;
        syn_writer_reset(&h->out);
        h->out_sent = 0;
        h->in_len = 0;
        pthread_mutex_lock(&h->mu);
        h->current_server[0] = '\0';
        pthread_mutex_unlock(&h->mu);
        cl_fail_all(h, err);
}

/* ---- connecting ---- */

/* Connects to one address before deadline: the socket, or -1 with *refused set when the
 * address actively refused (nothing listens there) rather than failed otherwise. */
static int cl_tcp_connect_addr(struct synod *h, const struct addrinfo *ai, int64_t deadline,
                               bool *refused)
{
        *refused = false;
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        int err = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        /* A wake-up (a request submitted meanwhile) is no reason to give up the attempt. */
        while (err == EINPROGRESS && !cl_closing(h)) { /* bounded by deadline */
                int64_t left = deadline - cl_now_ms();
                if (left <= 0)
                        break;
                short re = cl_poll(h, fd, POLLOUT, (int)left);
                socklen_t sl = sizeof(err);
                if (re != 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
                        err = errno;
        }
        if (err != 0) {
                *refused = err == ECONNREFUSED;
                close(fd);
                return -1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
}

/*
 * Connects to srv before deadline, trying each of its addresses in turn: "localhost"
 * often resolves to ::1 first while the server listens on 127.0.0.1 only. *reach says
 * how a failure ended.
 */
static int cl_tcp_connect(struct synod *h, const struct cl_server *srv, int64_t deadline,
                          enum cl_reach *reach)
{
        char port[8];
        snprintf(port, sizeof(port), "%d", srv->port);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *list = NULL;
        int gai = getaddrinfo(srv->host, port, &hints, &list);
        if (gai != 0 || list == NULL) {
                /* EAI_AGAIN and the like may pass: only a name that does not exist is final. */
                bool unknown = gai == EAI_NONAME || gai == EAI_NODATA || gai == EAI_FAIL;
                *reach = unknown ? CL_REACH_NO_HOST : CL_REACH_NO_ANSWER;
                return -1;
        }
        int fd = -1;
        bool all_refused = true;
        for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
                bool refused;
                fd = cl_tcp_connect_addr(h, ai, deadline, &refused);
                all_refused = all_refused && fd < 0 && refused;
                if (cl_now_ms() >= deadline || cl_closing(h))
                        break;
        }
        freeaddrinfo(list);
        *reach = fd >= 0 ? CL_REACH_OK : (all_refused ? CL_REACH_REFUSED : CL_REACH_NO_ANSWER);
        return fd;
}

/* Writes all of h->out before deadline. */
static bool cl_flush_until(struct synod *h, int64_t deadline)
{
        while (h->out_sent < h->out.len) { /* bounded by deadline */
                ssize_t n = send(h->fd, h->out.data + h->out_sent, h->out.len - h->out_sent,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        h->out_sent += (size_t)n;
                        continue;
                }
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
                int64_t left = deadline - cl_now_ms();
                if (left <= 0 || cl_closing(h))
                        return false;
                cl_poll(h, h->fd, POLLOUT, (int)left);
        }
        syn_writer_reset(&h->out);
        h->out_sent = 0;
        return true;
}

/* Reads available bytes into h->in. Returns >0 read, 0 nothing now, -1 closed/error. */
static int cl_read_some(struct synod *h)
{
        if (h->in_cap - h->in_len < 4096) {
                size_t cap = h->in_cap ? h->in_cap * 2 : 65536;
                if (cap > CLIENT_REPLY_BYTES_MAX + 8)
                        cap = CLIENT_REPLY_BYTES_MAX + 8;
                if (cap <= h->in_len)
                        return -1; /* a frame over the limit: zk_frame_parse flags it first */
                uint8_t *p = realloc(h->in, cap);
                if (p == NULL)
                        return -1;
                h->in = p;
                h->in_cap = cap;
        }
        ssize_t n = recv(h->fd, h->in + h->in_len, h->in_cap - h->in_len, MSG_DONTWAIT);
        if (n > 0) {
                h->in_len += (size_t)n;
                h->last_recv_ms = cl_now_ms();
                return 1;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        return -1;
}

static void cl_in_consume(struct synod *h, size_t n)
{
        SYN_ASSERT(n <= h->in_len);
        memmove(h->in, h->in + n, h->in_len - n);
        h->in_len -= n;
}

/* Reads the ConnectResponse frame before deadline into *resp. */
static bool cl_read_handshake(struct synod *h, int64_t deadline, struct zk_connect_response *resp)
{
        for (;;) { /* bounded by deadline */
                struct zk_frame f;
                zk_frame_parse(h->in, h->in_len, false, CLIENT_REPLY_BYTES_MAX, &f);
                if (f.kind == ZK_FRAME_READY) {
                        bool ok =
                            zk_connect_response_decode(f.payload, f.payload_len, resp) == SYN_OK;
                        cl_in_consume(h, f.consumed);
                        return ok;
                }
                if (f.kind != ZK_FRAME_NEED_MORE)
                        return false;
                int64_t left = deadline - cl_now_ms();
                if (left <= 0 || cl_closing(h))
                        return false;
                short re = cl_poll(h, h->fd, POLLIN, (int)left);
                if ((re & (POLLIN | POLLHUP | POLLERR)) && cl_read_some(h) < 0)
                        return false;
        }
}

/* Appends auth packets and SetWatches (both before any queued request). */
static bool cl_write_session_setup(struct synod *h)
{
        pthread_mutex_lock(&h->mu);
        for (int i = 0; i < h->auth_count; i++) {
                struct zk_request z = {.xid = ZK_XID_AUTH, .type = ZK_OP_AUTH};
                z.auth.scheme = zk_bytes_of(h->auths[i].scheme);
                z.auth.auth = (struct zk_bytes){h->auths[i].auth, h->auths[i].len};
                zk_request_write(&h->out, &z);
        }
        pthread_mutex_unlock(&h->mu);
        return cl_watch_write_set_watches(&h->watches, h->last_zxid, &h->out) == SYN_OK &&
               !h->out.failed;
}

static void cl_session_accept(struct synod *h, const struct cl_server *srv,
                              const struct zk_connect_response *resp)
{
        memcpy(h->passwd, resp->passwd, ZK_PASSWD_BYTES);
        /* In 64 bits: a hostile server may negotiate up to INT32_MAX ms. */
        h->read_timeout_ms = (int)((int64_t)resp->timeout_ms * 2 / 3);
        if (h->read_timeout_ms < CLIENT_READ_TIMEOUT_MS_MIN) /* a hostile tiny timeout */
                h->read_timeout_ms = CLIENT_READ_TIMEOUT_MS_MIN;
        h->last_recv_ms = h->last_send_ms = cl_now_ms();
        pthread_mutex_lock(&h->mu);
        h->session_id = resp->session_id;
        h->session_timeout_ms = resp->timeout_ms;
        snprintf(h->current_server, sizeof(h->current_server), "%s:%d", srv->host, srv->port);
        pthread_mutex_unlock(&h->mu);
}

static void cl_set_reach(struct synod *h, const struct cl_server *srv, enum cl_reach r)
{
        pthread_mutex_lock(&h->mu);
        h->reach[srv - h->cs.servers] = r;
        pthread_cond_broadcast(&h->state_cond); /* a waiter may be watching for refusals */
        pthread_mutex_unlock(&h->mu);
}

static enum cl_conn_result cl_connect(struct synod *h, const struct cl_server *srv)
{
        int64_t deadline =
            cl_now_ms() + cl_connect_timeout_ms(h->requested_timeout_ms, h->cs.count);
        enum cl_reach reach;
        h->fd = cl_tcp_connect(h, srv, deadline, &reach);
        if (h->fd < 0) {
                cl_set_reach(h, srv, reach);
                return cl_closing(h) ? CL_CONN_CLOSING : CL_CONN_FAILED;
        }
        pthread_mutex_lock(&h->mu);
        int64_t sid = h->session_id;
        pthread_mutex_unlock(&h->mu);
        struct zk_connect_request req = {
            .last_zxid_seen = h->last_zxid,
            .timeout_ms = h->requested_timeout_ms,
            .session_id = sid,
            .passwd = {h->passwd, ZK_PASSWD_BYTES},
            .has_read_only = true,
        };
        struct zk_connect_response resp;
        if (zk_connect_request_write(&h->out, &req) != SYN_OK || !cl_flush_until(h, deadline) ||
            !cl_read_handshake(h, deadline, &resp)) {
                cl_set_reach(h, srv,
                             cl_now_ms() >= deadline ? CL_REACH_NO_ANSWER : CL_REACH_NO_SESSION);
                return cl_closing(h) ? CL_CONN_CLOSING : CL_CONN_FAILED;
        }
        if (resp.timeout_ms <= 0) {
                SYN_WARN("synod client: %s:%d says session 0x%llx expired", srv->host, srv->port,
                         (unsigned long long)sid);
                cl_set_reach(h, srv, CL_REACH_NO_SESSION);
                return sid != 0 ? CL_CONN_EXPIRED : CL_CONN_FAILED;
        }
        cl_set_reach(h, srv, CL_REACH_OK);
        cl_session_accept(h, srv, &resp);
        return cl_write_session_setup(h) ? CL_CONN_OK : CL_CONN_FAILED;
}

/* ---- the session on one connection ---- */

static void cl_inflight_push(struct synod *h, struct cl_req *r)
{
        r->next = NULL;
        if (h->inflight_tail)
                h->inflight_tail->next = r;
        else
                h->inflight_head = r;
        h->inflight_tail = r;
        h->inflight++;
}

/* Moves queued requests to the output buffer and the in-flight list. */
static void cl_pump(struct synod *h)
{
        struct cl_req *done_list = NULL;
        pthread_mutex_lock(&h->mu);
        while (h->queue_head != NULL && h->inflight < CLIENT_INFLIGHT_MAX) {
                struct cl_req *r = h->queue_head;
                h->queue_head = r->next;
                if (h->queue_head == NULL)
                        h->queue_tail = NULL;
                syn_write_bytes(&h->out, r->frame, r->frame_len);
                if (r->xid == ZK_XID_AUTH) { /* answered out of band: complete once sent */
                        r->next = done_list;
                        done_list = r;
                } else {
                        cl_inflight_push(h, r);
                }
        }
        pthread_mutex_unlock(&h->mu);
        cl_fail_list(h, done_list, ZOK);
}

/* Fires the watches of a notification. False if it does not decode (protocol error). */
static bool cl_fire_event(struct synod *h, const uint8_t *body, size_t len)
{
        struct zk_watcher_event ev;
        if (zk_watcher_event_decode(body, len, &ev) != SYN_OK || ev.path.len < 0)
                return false;
        char *path = strndup((const char *)ev.path.data, (size_t)ev.path.len);
        if (path == NULL)
                return false; /* out of memory: reconnect; SetWatches fires it again */
        struct cl_watch *fired = cl_watch_take(&h->watches, ev.type, path);
        struct synod_event e = {ev.type, SYNOD_STATE_CONNECTED, cl_path_strip(h->cs.chroot, path)};
        for (struct cl_watch *w = fired; w != NULL; w = w->next)
                w->fn(&e, w->arg);
        cl_watch_list_free(fired);
        free(path);
        return true;
}

static void cl_register_watch(struct synod *h, const struct cl_req *r, int err)
{
        enum cl_watch_kind kind = r->watch_kind;
        if (kind == CL_WATCH_NONE)
                return;
        if (err == ZNONODE && r->user_op == SYNOD_OP_EXISTS)
                kind = CL_WATCH_EXIST;
        else if (err != ZOK)
                return;
        if (cl_watch_add(&h->watches, kind, r->watch_path, r->watch, r->watch_arg) != SYNOD_OK)
                SYN_WARN("synod client: watch on %s not registered (limit)", r->watch_path);
}

/* Handles one reply frame. Returns false on a protocol error. */
static bool cl_on_frame(struct synod *h, const uint8_t *p, size_t len, bool *close_done)
{
        struct zk_reply_header hdr;
        size_t off;
        if (zk_reply_header_decode(p, len, &hdr, &off) != SYN_OK)
                return false;
        switch (hdr.xid) {
        case ZK_XID_WATCH_EVENT:
                return cl_fire_event(h, p + off, len - off);
        case ZK_XID_PING:
        case ZK_XID_SET_WATCHES:
                return true;
        case ZK_XID_AUTH:
                if (hdr.err != ZOK)
                        SYN_WARN("synod client: authentication failed (%d)", hdr.err);
                return true;
        default:
                break;
        }
        struct cl_req *r = h->inflight_head;
        if (r == NULL || r->xid != hdr.xid) {
                SYN_WARN("synod client: xid out of order (got %d, expected %d)", hdr.xid,
                         r ? r->xid : 0);
                return false;
        }
        h->inflight_head = r->next;
        if (h->inflight_head == NULL)
                h->inflight_tail = NULL;
        h->inflight--;
        /* lastZxidSeen follows request replies only (as the Java client): a ping's zxid
         * would make us refuse a lagging server for data we never read. */
        if (hdr.zxid > h->last_zxid)
                h->last_zxid = hdr.zxid;
        cl_register_watch(h, r, hdr.err);
        if (r->op == ZK_OP_CLOSE_SESSION)
                *close_done = true;
        struct synod_result *res =
            cl_result_build(h->cs.chroot, r, hdr.err, hdr.zxid, p + off, len - off);
        cl_complete(h, r, res);
        return true;
}

static bool cl_on_input(struct synod *h, bool *close_done)
{
        for (;;) { /* bounded: each pass consumes a frame of the buffered bytes */
                struct zk_frame f;
                zk_frame_parse(h->in, h->in_len, false, CLIENT_REPLY_BYTES_MAX, &f);
                if (f.kind == ZK_FRAME_NEED_MORE)
                        return true;
                if (f.kind != ZK_FRAME_READY)
                        return false;
                bool ok = cl_on_frame(h, f.payload, f.payload_len, close_done);
                cl_in_consume(h, f.consumed);
                if (!ok)
                        return false;
        }
}

static void cl_queue_close_session(struct synod *h)
{
        struct cl_req *r = calloc(1, sizeof(*r));
        struct syn_writer w;
        syn_writer_init(&w, 0);
        pthread_mutex_lock(&h->mu);
        int32_t xid = h->next_xid++;
        h->queued++;
        pthread_mutex_unlock(&h->mu);
        struct zk_request z = {.xid = xid, .type = ZK_OP_CLOSE_SESSION};
        if (r == NULL || zk_request_write(&w, &z) != SYN_OK) {
                syn_writer_close(&w);
                free(r);
                pthread_mutex_lock(&h->mu);
                h->queued--;
                pthread_mutex_unlock(&h->mu);
                return;
        }
        r->xid = xid;
        r->op = ZK_OP_CLOSE_SESSION;
        r->user_op = ZK_OP_CLOSE_SESSION;
        r->frame = syn_writer_take(&w, &r->frame_len);
        syn_write_bytes(&h->out, r->frame, r->frame_len);
        cl_inflight_push(h, r);
}

/* The next poll timeout: the earlier of the ping and the read deadline. */
static int cl_session_timeout_left(struct synod *h, int64_t now, int64_t close_deadline)
{
        int64_t ping_at = h->last_send_ms + h->read_timeout_ms / 2;
        int64_t dead_at = h->last_recv_ms + h->read_timeout_ms;
        int64_t t = ping_at < dead_at ? ping_at : dead_at;
        if (close_deadline > 0 && close_deadline < t)
                t = close_deadline;
        return t > now ? (int)(t - now) : 0;
}

static bool cl_session_write(struct synod *h)
{
        ssize_t n = send(h->fd, h->out.data + h->out_sent, h->out.len - h->out_sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR;
        h->out_sent += (size_t)n;
        h->last_send_ms = cl_now_ms();
        if (h->out_sent == h->out.len) {
                syn_writer_reset(&h->out);
                h->out_sent = 0;
        }
        return true;
}

/* Runs the session until the connection drops or the handle closes. */
static void cl_session_run(struct synod *h)
{
        int64_t close_deadline = 0;
        bool close_done = false;
        for (;;) { /* bounded by the connection's life */
                if (close_deadline == 0 && cl_closing(h)) {
                        cl_pump(h);
                        cl_queue_close_session(h);
                        close_deadline = cl_now_ms() + CLIENT_CLOSE_WAIT_MS;
                }
                if (close_deadline == 0)
                        cl_pump(h);
                int64_t now = cl_now_ms();
                if (close_done || (close_deadline > 0 && now >= close_deadline))
                        return;
                if (now - h->last_recv_ms >= h->read_timeout_ms) {
                        SYN_WARN("synod client: no reply for %d ms", h->read_timeout_ms);
                        return;
                }
                if (h->out.len == 0 && now - h->last_send_ms >= h->read_timeout_ms / 2) {
                        struct zk_request ping = {.xid = ZK_XID_PING, .type = ZK_OP_PING};
                        zk_request_write(&h->out, &ping);
                }
                if (h->out.failed)
                        return;
                short want = POLLIN | (h->out_sent < h->out.len ? POLLOUT : 0);
                short re = cl_poll(h, h->fd, want, cl_session_timeout_left(h, now, close_deadline));
                if ((re & POLLOUT) && !cl_session_write(h))
                        return;
                if ((re & (POLLIN | POLLHUP | POLLERR)) &&
                    (cl_read_some(h) < 0 || !cl_on_input(h, &close_done)))
                        return;
        }
}

/* Waits for a wake-up at most ms (-1 forever). */
static void cl_pause(struct synod *h, int ms)
{
        if (ms != 0)
                cl_poll(h, -1, 0, ms);
}

/* One pass of the I/O loop: returns false when the handle is closing. */
static bool cl_io_pass(struct synod *h, int *failures)
{
        pthread_mutex_lock(&h->mu);
        enum synod_state st = h->state;
        int timeout_ms = h->session_timeout_ms;
        bool closing = h->closing;
        pthread_mutex_unlock(&h->mu);
        if (closing)
                return false;
        if (st == SYNOD_STATE_EXPIRED) {
                cl_fail_all(h, ZSESSIONEXPIRED);
                cl_pause(h, -1);
                return true;
        }
        if (st == SYNOD_STATE_SUSPENDED && cl_now_ms() - h->suspended_since_ms >= timeout_ms) {
                cl_set_state(h, CL_EV_SUSPEND_TIMEOUT);
                return true;
        }
        if (*failures > 0 && *failures % h->cs.count == 0)
                cl_pause(h, cl_backoff_ms(*failures / h->cs.count, &h->rand));
        const struct cl_server *srv = &h->cs.servers[h->server_next];
        h->server_next = (h->server_next + 1) % h->cs.count;
        enum cl_conn_result rc = cl_connect(h, srv);
        if (rc == CL_CONN_OK) {
                *failures = 0;
                cl_set_state(h, CL_EV_SESSION_UP);
                cl_session_run(h);
                bool closing_now = cl_closing(h);
                /* SUSPENDED before the requests fail: a caller that sees the loss then
                 * sees the state that goes with it. */
                if (!closing_now)
                        cl_set_state(h, CL_EV_CONN_LOST);
                cl_conn_drop(h, closing_now ? ZCLOSING : ZCONNECTIONLOSS);
                return !closing_now;
        }
        if (rc == CL_CONN_EXPIRED)
                cl_set_state(h, CL_EV_SESSION_EXPIRED);
        cl_conn_drop(h, rc == CL_CONN_EXPIRED ? ZSESSIONEXPIRED : ZCONNECTIONLOSS);
        (*failures)++;
        return rc != CL_CONN_CLOSING;
}

void *cl_io_main(void *arg)
{
        struct synod *h = arg;
        int failures = 0;
        while (cl_io_pass(h, &failures)) { /* the I/O loop: runs until synod_close */
        }
        cl_fail_all(h, ZCLOSING);
        cl_set_state(h, CL_EV_CLOSE);
        return NULL;
}
