/*
 * libFuzzer target: libsynod's reply path, fed a hostile server's byte stream.
 *
 * Each input is what a server sends on one connection: the first frame (by
 * its own length prefix) is the ConnectResponse, the rest are replies and
 * notifications. Per input we open a real handle against a one-shot listener
 * on 127.0.0.1, queue a fixed set of requests (every op, with one-shot and
 * persistent watches, under a chroot) before the connection is up, accept the
 * client's connection, read its ConnectRequest, send the first frame, wait
 * until the client has sent its queued requests (their xids are 1..N in the
 * order below, so seeds can answer them), send the rest and half-close. The
 * client must then drop the connection (EOF) without crashing, and after
 * synod_close every request must have completed exactly once, with a result
 * whose every field we read (so ASan sees any bad pointer or length).
 *
 * Seeds (fuzz/corpus/client_reply/) are recorded from a real ZooKeeper 3.8 by
 * tests/client/gen_client_reply_corpus.py, which sends the same requests.
 * Needs syn_client linked in (see the lead's fuzz/CMakeLists.txt).
 */
#include <synod/synod.h>

#include "base/assert.h"
#include "base/buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FZ_WAIT_MS = 300, FZ_MAX_REQS = 16 };

struct fz_state {
        pthread_mutex_t mu;
        int done_count[FZ_MAX_REQS];
        int events;
};

struct fz_slot {
        struct fz_state *st;
        int index;
        int op;
};

static int64_t fz_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads every field of a result, so a bad pointer or length shows under ASan. */
static size_t fz_touch(const struct synod_result *r)
{
        size_t sum = (size_t)r->stat.version + (size_t)r->zxid;
        if (r->path)
                sum += strlen(r->path);
        SYN_ASSERT(r->data_len >= -1);
        if (r->data) {
                SYN_ASSERT(r->data_len >= 0 && r->data[r->data_len] == '\0');
                for (int32_t i = 0; i < r->data_len; i++)
                        sum += (uint8_t)r->data[i];
        }
        SYN_ASSERT(r->child_count >= 0 && (r->child_count == 0 || r->children));
        for (int32_t i = 0; i < r->child_count; i++)
                sum += strlen(r->children[i]);
        SYN_ASSERT(r->acl_count >= 0 && (r->acl_count == 0 || r->acl));
        for (int32_t i = 0; i < r->acl_count; i++)
                sum += strlen(r->acl[i].scheme) + strlen(r->acl[i].id) + (size_t)r->acl[i].perms;
        SYN_ASSERT(r->result_count >= 0 && (r->result_count == 0 || r->results));
        for (int32_t i = 0; i < r->result_count; i++)
                sum += fz_touch(&r->results[i]);
        return sum;
}

static void fz_done(const struct synod_result *res, void *arg)
{
        struct fz_slot *s = arg;
        SYN_ASSERT(res != NULL && res->op == s->op);
        volatile size_t sink = fz_touch(res);
        (void)sink;
        pthread_mutex_lock(&s->st->mu);
        s->st->done_count[s->index]++;
        pthread_mutex_unlock(&s->st->mu);
}

static void fz_watch(const struct synod_event *ev, void *arg)
{
        struct fz_state *st = arg;
        SYN_ASSERT(ev->path != NULL);
        volatile size_t sink = strlen(ev->path);
        (void)sink;
        pthread_mutex_lock(&st->mu);
        st->events++;
        pthread_mutex_unlock(&st->mu);
}

/* The requests, in xid order 1..N (the corpus generator sends the same). */
static int fz_submit_all(struct synod *h, struct fz_state *st, struct fz_slot *slots)
{
        static const struct synod_acl acl = {SYNOD_PERM_ALL, "world", "anyone"};
        static const struct synod_request multi_ops[] = {
            {.op = SYNOD_OP_CREATE, .path = "/m", .data = "x", .data_len = 1},
            {.op = SYNOD_OP_SET, .path = "/m", .data = "y", .data_len = 1, .version = -1},
            {.op = SYNOD_OP_CHECK, .path = "/m", .version = 1},
            {.op = SYNOD_OP_DELETE, .path = "/m", .version = -1},
        };
        const struct synod_request reqs[] = {
            {.op = SYNOD_OP_CREATE, .path = "/a", .data = "hello", .data_len = 5},
            {.op = SYNOD_OP_CREATE,
             .path = "/a/s-",
             .data_len = -1,
             .mode = SYNOD_EPHEMERAL_SEQUENTIAL},
            {.op = SYNOD_OP_GET, .path = "/a", .watch = fz_watch, .watch_arg = st},
            {.op = SYNOD_OP_CHILDREN, .path = "/a", .watch = fz_watch, .watch_arg = st},
            {.op = SYNOD_OP_EXISTS, .path = "/nope", .watch = fz_watch, .watch_arg = st},
            {.op = SYNOD_OP_ADD_WATCH,
             .path = "/",
             .recursive = true,
             .watch = fz_watch,
             .watch_arg = st},
            {.op = SYNOD_OP_SET, .path = "/a", .data = "bye", .data_len = 3, .version = -1},
            {.op = SYNOD_OP_GET_ACL, .path = "/a"},
            {.op = SYNOD_OP_SET_ACL, .path = "/a", .acl = &acl, .acl_count = 1, .version = -1},
            {.op = SYNOD_OP_MULTI, .ops = multi_ops, .op_count = 4},
            {.op = SYNOD_OP_SYNC, .path = "/a"},
            {.op = SYNOD_OP_DELETE, .path = "/nope", .version = -1},
        };
        int n = (int)(sizeof(reqs) / sizeof(reqs[0]));
        SYN_ASSERT(n <= FZ_MAX_REQS);
        for (int i = 0; i < n; i++) {
                slots[i] = (struct fz_slot){st, i, reqs[i].op};
                SYN_ASSERT(synod_call(h, &reqs[i], fz_done, &slots[i]) == SYNOD_OK);
        }
        return n;
}

static int fz_listen(int *port)
{
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        SYN_ASSERT(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        SYN_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
        SYN_ASSERT(listen(fd, 4) == 0);
        SYN_ASSERT(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
        *port = ntohs(a.sin_port);
        return fd;
}

static bool fz_readable(int fd, int64_t deadline_ms)
{
        int64_t left = deadline_ms - fz_now_ms();
        if (left <= 0)
                return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        return poll(&p, 1, (int)left) > 0;
}

/*
 * Reads from the client until it sent `frames` whole frames, it closed, or the
 * deadline. Returns false once the client closed its side.
 */
static bool fz_read_frames(int fd, int frames, int64_t deadline_ms)
{
        static uint8_t buf[1 << 16];
        size_t have = 0;
        int seen = 0;
        while (seen < frames && fz_readable(fd, deadline_ms)) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0)
                        return false;
                have += (size_t)n;
                for (;;) { /* count and drop the whole frames in buf */
                        if (have < 4)
                                break;
                        size_t len = 4 + (size_t)syn_get_be32(buf);
                        if (len > sizeof(buf))
                                return false; /* not from our client */
                        if (have < len)
                                break;
                        memmove(buf, buf + len, have - len);
                        have -= len;
                        seen++;
                }
        }
        return true;
}

static void fz_write_all(int fd, const uint8_t *p, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return; /* the client hung up: fine */
                p += w;
                n -= (size_t)w;
        }
}

/* The length of the first frame of data (its own prefix), capped at size. */
static size_t fz_first_frame(const uint8_t *data, size_t size)
{
        if (size < 4)
                return size;
        uint64_t len = 4 + (uint64_t)syn_get_be32(data);
        return len < size ? (size_t)len : size;
}

static void fz_serve(int lfd, const uint8_t *data, size_t size, int nreqs)
{
        if (!fz_readable(lfd, fz_now_ms() + 5000))
                return;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return;
        size_t first = fz_first_frame(data, size);
        bool open = fz_read_frames(fd, 1, fz_now_ms() + 5000); /* ConnectRequest */
        if (open) {
                fz_write_all(fd, data, first);
                /* A whole handshake frame: the client accepts it and sends its queue, or
                 * drops us. A partial one: it sends nothing, so do not wait. */
                if (first >= 4 && first == 4 + (size_t)syn_get_be32(data))
                        open = fz_read_frames(fd, nreqs, fz_now_ms() + FZ_WAIT_MS);
        }
        if (open) {
                fz_write_all(fd, data + first, size - first);
                shutdown(fd, SHUT_WR);
                /* Until the client closes (it must, at EOF) or gives up on us. */
                int64_t deadline = fz_now_ms() + FZ_WAIT_MS;
                while (fz_read_frames(fd, 1 << 30, deadline) && fz_now_ms() < deadline)
                        ;
        }
        struct linger lg = {1, 0}; /* reset: no TIME_WAIT pile-up over many runs */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int port;
        int lfd = fz_listen(&port);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d/app", port);
        struct fz_state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
        struct fz_slot slots[FZ_MAX_REQS];
        struct synod_options opt = {.servers = servers, .session_timeout_ms = 4000, .seed = 1};
        struct synod *h;
        SYN_ASSERT(synod_open(&h, &opt) == SYNOD_OK);
        int n = fz_submit_all(h, &st, slots);
        fz_serve(lfd, data, size, n);
        close(lfd); /* reconnects are refused from here on */
        synod_close(h);
        for (int i = 0; i < n; i++) /* exactly once each, whatever the server said */
                SYN_ASSERT(st.done_count[i] == 1);
        pthread_mutex_destroy(&st.mu);
        return 0;
}
