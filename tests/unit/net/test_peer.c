/*
 * Unit tests of the peer links (net/peer.h): several net_peers on one loop on 127.0.0.1,
 * and raw sockets of the test playing a hostile or slow peer. Handshake and delivery both
 * ways; many messages of one iteration (copied and framed in place, up to a multi-MiB
 * frame) arrive whole and in order; a wrong cluster id, an id that is not a member and a
 * wrong target are refused, logged and counted on both sides; a bad CRC, an oversized
 * frame and a first frame that is not a HELLO close the connection; a peer closed and
 * re-created on the same port is reconnected to quickly; a peer that does not read makes
 * the sender drop (and count) rather than buffer past PEER_OUTPUT_BYTES_MAX; "localhost"
 * resolves; accepted connections are bounded in number and in handshake time.
 *
 * Every wait runs the loop under a deadline (run_until), so nothing can hang.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "net/net.h"
#include "net/peer.h"
#include "proto/peer.h"

enum {
        NODES = 4,
        CLUSTER = 0x5e1f,
        OTHER_CLUSTER = 0xbad,
        WAIT_MS = 5000, /* deadline of every wait: far above what each takes */
        LOG_LINES = 512,
        LOG_LINE_BYTES = 256,
};

struct node {
        struct net_peers peers;
        bool ready; /* initialised and not closed */
        uint64_t id;
        uint64_t members;           /* bit i: server i may connect (on_hello) */
        int links_up[NODES + 1][2]; /* [peer id][outbound] */
        int links_down[NODES + 1][2];
        uint32_t next_seq[NODES + 1]; /* next sequence number expected from each peer */
        uint32_t received;
        uint32_t bad; /* messages out of order or with a wrong body */
};

struct fixture {
        struct net net;
        struct node nodes[NODES + 1]; /* by id; 0 unused */
        struct node spare;            /* a re-created node 2 (the old one's handles close late) */
        uv_timer_t poll;
        bool (*cond)(struct fixture *f);
        bool met;
        uint64_t deadline_ms;
        char log[LOG_LINES][LOG_LINE_BYTES];
        int log_count;
};

static void log_sink(void *arg, enum syn_log_level level, const char *line)
{
        struct fixture *f = arg;
        (void)level;
        if (f->log_count < LOG_LINES)
                snprintf(f->log[f->log_count++], LOG_LINE_BYTES, "%s", line);
}

static bool logged(struct fixture *f, const char *a, const char *b)
{
        for (int i = 0; i < f->log_count; i++)
                if (strstr(f->log[i], a) != NULL && (b == NULL || strstr(f->log[i], b) != NULL))
                        return true;
        return false;
}

/* ---- running the loop ---- */

static void on_poll(uv_timer_t *t)
{
        struct fixture *f = t->data;
        if (f->cond(f)) {
                f->met = true;
                net_stop(&f->net);
        } else if (net_now_ms(&f->net) >= f->deadline_ms) {
                net_stop(&f->net);
        }
}

/* Runs the loop until cond holds (true) or ms pass (false). */
static bool run_until(struct fixture *f, bool (*cond)(struct fixture *f), uint64_t ms)
{
        uv_update_time(&f->net.loop);
        f->cond = cond;
        f->met = false;
        f->deadline_ms = net_now_ms(&f->net) + ms;
        uv_timer_start(&f->poll, on_poll, 1, 1);
        net_run(&f->net);
        uv_timer_stop(&f->poll);
        return f->met;
}

static bool never(struct fixture *f)
{
        (void)f;
        return false;
}

static void run_for(struct fixture *f, uint64_t ms)
{
        run_until(f, never, ms);
}

/* ---- nodes ---- */

static bool on_hello(void *arg, uint64_t from_id)
{
        struct node *n = arg;
        return from_id < 64 && (n->members >> from_id & 1);
}

/* Bodies are a u32 sequence number per sender, then bytes derived from it. */
static uint8_t pattern(uint32_t seq, size_t i)
{
        return (uint8_t)(seq * 131u + i * 7u + (i >> 11));
}

static void on_message(void *arg, uint64_t from, const uint8_t *body, size_t len)
{
        struct node *n = arg;
        n->received++;
        if (from > NODES || len < 4 || syn_get_be32(body) != n->next_seq[from]) {
                n->bad++;
                return;
        }
        uint32_t seq = n->next_seq[from]++;
        for (size_t i = 4; i < len; i++)
                if (body[i] != pattern(seq, i)) {
                        n->bad++;
                        return;
                }
}

static void on_link(void *arg, uint64_t peer_id, bool outbound, bool up)
{
        struct node *n = arg;
        if (peer_id > NODES)
                return;
        if (up)
                n->links_up[peer_id][outbound]++;
        else
                n->links_down[peer_id][outbound]++;
}

static void node_start_timeout(struct node *n, struct net *net, uint64_t id, uint64_t cluster,
                               int port, unsigned int tcp_user_timeout_ms)
{
        memset(n, 0, sizeof *n);
        n->id = id;
        n->members = ~0ull & ~(1ull << id);
        struct net_peer_options o = {
            .address = "127.0.0.1",
            .port = port,
            .cluster_id = cluster,
            .self_id = id,
            .tcp_user_timeout_ms = tcp_user_timeout_ms,
            .callbacks = {.on_hello = on_hello, .on_message = on_message, .on_link = on_link},
            .arg = n,
        };
        assert_int_equal(net_peers_init(&n->peers, net, &o), 0);
        n->ready = true;
}

/* Without a TCP user timeout: links live as long as the kernel keeps them. */
static void node_start(struct node *n, struct net *net, uint64_t id, uint64_t cluster, int port)
{
        node_start_timeout(n, net, id, cluster, port, 0);
}

static void node_stop(struct node *n)
{
        if (n->ready)
                net_peers_close(&n->peers);
        n->ready = false;
}

static int port_of(struct node *n)
{
        return net_peers_port(&n->peers);
}

/* a dials b (and, with both, b dials a). */
static void dial(struct node *a, struct node *b)
{
        assert_int_equal(net_peers_set(&a->peers, b->id, "127.0.0.1", port_of(b)), 0);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        syn_log_configure(SYN_LOG_DEBUG, log_sink, f);
        struct net_options o = {.address = "127.0.0.1",
                                .port = 0,
                                .frame_bytes_max = 1024,
                                .tick_ms = 1000,
                                .client_memory_max = 64 * 1024 * 1024};
        assert_int_equal(net_init(&f->net, &o), 0);
        uv_timer_init(&f->net.loop, &f->poll);
        f->poll.data = f;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        for (int i = 1; i <= NODES; i++)
                node_stop(&f->nodes[i]);
        node_stop(&f->spare);
        net_close(&f->net);
        syn_log_configure(SYN_LOG_WARN, NULL, NULL);
        free(f);
        return 0;
}

/* ---- sending ---- */

static uint8_t *make_body(uint32_t seq, size_t len)
{
        uint8_t *b = malloc(len);
        assert_non_null(b);
        syn_put_be32(b, seq);
        for (size_t i = 4; i < len; i++)
                b[i] = pattern(seq, i);
        return b;
}

static int send_seq(struct node *from, uint64_t to, uint32_t seq, size_t len)
{
        uint8_t *b = make_body(seq, len);
        int rc = net_peer_send(&from->peers, to, b, len);
        free(b);
        return rc;
}

/* The zero-copy path: framed in place. */
static int send_seq_in_place(struct node *from, uint64_t to, uint32_t seq, size_t len)
{
        size_t start = 0;
        struct syn_writer *w = net_peer_begin(&from->peers, to, &start);
        if (w == NULL)
                return SYN_ECLOSED;
        syn_write_be32(w, seq);
        for (size_t i = 4; i < len; i++)
                syn_write_u8(w, pattern(seq, i));
        return net_peer_end(&from->peers, to, start);
}

static bool links_1_2_up(struct fixture *f)
{
        struct node *a = &f->nodes[1], *b = &f->nodes[2];
        return net_peer_connected(&a->peers, 2) && net_peer_connected(&b->peers, 1) &&
               a->links_up[2][0] == 1 && b->links_up[1][0] == 1;
}

static void start_pair(struct fixture *f)
{
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        node_start(&f->nodes[2], &f->net, 2, CLUSTER, 0);
        dial(&f->nodes[1], &f->nodes[2]);
        dial(&f->nodes[2], &f->nodes[1]);
        assert_true(run_until(f, links_1_2_up, WAIT_MS));
}

static bool got_one_each(struct fixture *f)
{
        return f->nodes[1].received == 1 && f->nodes[2].received == 1;
}

static bool node_1_got_two(struct fixture *f)
{
        return f->nodes[1].received == 2;
}

static void test_handshake_and_delivery_both_ways(void **state)
{
        struct fixture *f = *state;
        start_pair(f);
        struct node *a = &f->nodes[1], *b = &f->nodes[2];
        assert_int_equal(a->links_up[2][1], 1); /* outbound up once */
        assert_int_equal(b->links_up[1][1], 1);
        assert_int_equal(send_seq(a, 2, 0, 100), 0);
        assert_int_equal(send_seq_in_place(b, 1, 0, 5), 0);
        assert_true(run_until(f, got_one_each, WAIT_MS));
        assert_int_equal(a->bad + b->bad, 0);
        struct net_peer_stats s;
        assert_int_equal(net_peer_stats(&a->peers, 2, &s), 0);
        assert_true(s.connected);
        assert_true(s.inbound_up);
        assert_int_equal(s.msgs_sent, 1);
        assert_int_equal(s.msgs_received, 1);
        assert_int_equal(s.bytes_received, PEER_FRAME_HEADER_BYTES + 5);
        assert_int_equal(s.links_up, 1);
        assert_int_equal(s.queued_bytes, 0);
        assert_int_equal(net_peer_stats(&a->peers, 3, &s), SYN_ENOTFOUND);
        /* Not connected, unknown, too big: dropped and counted. */
        assert_int_equal(send_seq(a, 3, 0, 8), SYN_ECLOSED);
        struct net_peers_stats t;
        net_peers_totals(&a->peers, &t);
        assert_int_equal(t.drops_unknown, 1);
        assert_int_equal(t.inbound_accepted, 1);
        assert_int_equal(net_peer_send(&a->peers, 2, NULL, PEER_FRAME_BYTES_MAX + 1), SYN_ETOOBIG);
        /* Removing a peer drops our link to it (reported) but keeps its link to us. */
        net_peers_remove(&a->peers, 2);
        assert_int_equal(a->links_down[2][1], 1);
        assert_false(net_peer_connected(&a->peers, 2));
        assert_int_equal(send_seq(a, 2, 1, 8), SYN_ECLOSED);
        assert_int_equal(send_seq(b, 1, 1, 8), 0);
        assert_true(run_until(f, node_1_got_two, WAIT_MS));
        assert_int_equal(a->bad, 0);
}

/* Size of the HELLO frame a dialer sends first. */
static uint64_t hello_frame_bytes(void)
{
        struct peer_handshake h = {.kind = PEER_HELLO};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(peer_handshake_encode(&w, &h), 0);
        uint64_t n = PEER_FRAME_HEADER_BYTES + w.len;
        syn_writer_close(&w);
        return n;
}

enum { BATCH = 2000, BIG_BODY = 5 * 1024 * 1024 };

static bool batch_arrived(struct fixture *f)
{
        return f->nodes[2].received >= BATCH + 1;
}

static void test_batched_messages_arrive_in_order(void **state)
{
        struct fixture *f = *state;
        start_pair(f);
        struct node *a = &f->nodes[1], *b = &f->nodes[2];
        /* All queued in one go (one iteration), half framed in place, one of 5 MiB. */
        uint32_t seq = 0;
        uint64_t bytes = 0;
        for (int i = 0; i < BATCH; i++, seq++) {
                size_t len = 4 + (size_t)(i * 37 % 3000);
                int rc = i % 2 ? send_seq(a, 2, seq, len) : send_seq_in_place(a, 2, seq, len);
                assert_int_equal(rc, 0);
                bytes += PEER_FRAME_HEADER_BYTES + len;
                if (i == BATCH / 2) {
                        assert_int_equal(send_seq(a, 2, ++seq, BIG_BODY), 0);
                        bytes += PEER_FRAME_HEADER_BYTES + BIG_BODY;
                }
        }
        struct net_peer_stats s;
        assert_int_equal(net_peer_stats(&a->peers, 2, &s), 0);
        assert_true(s.queued_bytes > BIG_BODY);
        assert_true(run_until(f, batch_arrived, WAIT_MS));
        assert_int_equal(b->received, BATCH + 1);
        assert_int_equal(b->bad, 0);
        assert_int_equal(net_peer_stats(&a->peers, 2, &s), 0);
        assert_int_equal(s.msgs_sent, BATCH + 1);
        assert_int_equal(s.queued_bytes, 0);
        assert_int_equal(s.bytes_sent, hello_frame_bytes() + bytes); /* the HELLO too */
        /* A cancelled in-place message leaves nothing behind. */
        size_t start = 0;
        struct syn_writer *w = net_peer_begin(&a->peers, 2, &start);
        assert_non_null(w);
        syn_write_be32(w, 0xdead);
        net_peer_cancel(&a->peers, 2, start);
        assert_int_equal(net_peer_stats(&a->peers, 2, &s), 0);
        assert_int_equal(s.queued_bytes, 0);
}

/* ---- refusals ---- */

static bool refused_once(struct fixture *f)
{
        struct net_peer_stats s;
        struct net_peers_stats t;
        net_peers_totals(&f->nodes[1].peers, &t);
        return net_peer_stats(&f->nodes[3].peers, 1, &s) == 0 && s.refusals >= 1 &&
               t.inbound_refused >= 1;
}

/* Node 3 dials node 1; node 1 must refuse, and both must say why. */
static void expect_refusal(struct fixture *f, const char *acceptor_says, const char *dialer_says)
{
        struct node *a = &f->nodes[1], *c = &f->nodes[3];
        assert_int_equal(net_peers_set(&c->peers, 1, "127.0.0.1", port_of(a)), 0);
        assert_true(run_until(f, refused_once, WAIT_MS));
        assert_false(net_peer_connected(&c->peers, 1));
        assert_int_equal(a->links_up[3][0], 0);
        assert_int_equal(c->links_up[1][1], 0);
        assert_true(logged(f, "refusing peer 127.0.0.1:", acceptor_says));
        assert_true(logged(f, "peer 1 at 127.0.0.1:", dialer_says));
}

static void test_wrong_cluster_refused(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        node_start(&f->nodes[3], &f->net, 3, OTHER_CLUSTER, 0);
        expect_refusal(f, "cluster id 0xbad is not ours 0x5e1f", "cluster id differs");
}

static void test_unknown_server_refused(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        node_start(&f->nodes[3], &f->net, 3, CLUSTER, 0);
        f->nodes[1].members = 1ull << 2; /* only server 2 */
        expect_refusal(f, "server 3 is not a member", "not a member");
}

static bool target_refused(struct fixture *f)
{
        struct net_peer_stats s;
        return net_peer_stats(&f->nodes[3].peers, 2, &s) == 0 && s.refusals >= 1;
}

static void test_wrong_target_refused(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        node_start(&f->nodes[3], &f->net, 3, CLUSTER, 0);
        /* Node 3 believes server 2 listens where server 1 does. */
        assert_int_equal(net_peers_set(&f->nodes[3].peers, 2, "127.0.0.1", port_of(&f->nodes[1])),
                         0);
        assert_true(run_until(f, target_refused, WAIT_MS));
        assert_false(net_peer_connected(&f->nodes[3].peers, 2));
        assert_true(logged(f, "refusing peer", "server 3 dialed server 2, we are 1"));
        assert_true(logged(f, "peer 2 at 127.0.0.1:", "not the server id that was dialed"));
}

/* ---- a hostile peer on a raw socket ---- */

static int raw_connect(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        return fd;
}

static void raw_send(int fd, const void *data, size_t len)
{
        assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void raw_frame(int fd, const uint8_t *body, uint32_t len, uint32_t crc_xor)
{
        uint8_t h[PEER_FRAME_HEADER_BYTES];
        syn_put_be32(h, len);
        syn_put_be32(h + 4, syn_crc32c(0, body, len) ^ crc_xor);
        raw_send(fd, h, sizeof h);
        raw_send(fd, body, len);
}

static void raw_handshake(int fd, enum peer_handshake_kind kind, uint64_t from, uint64_t target)
{
        struct peer_handshake h = {
            .kind = kind, .cluster_id = CLUSTER, .from_id = from, .target_id = target};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(peer_handshake_encode(&w, &h), 0);
        raw_frame(fd, w.data, (uint32_t)w.len, 0);
        syn_writer_close(&w);
}

/* Reads one frame body (the loop must have run), or fails the test after WAIT_MS. */
static size_t raw_read_frame(int fd, uint8_t *buf, size_t cap)
{
        size_t have = 0, want = PEER_FRAME_HEADER_BYTES;
        /* Bounded by the frame size and by the poll timeout on each read. */
        while (have < want) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
                ssize_t n = read(fd, buf + have, want - have);
                assert_true(n > 0);
                have += (size_t)n;
                if (have == PEER_FRAME_HEADER_BYTES) {
                        want += syn_get_be32(buf);
                        assert_true(want <= cap);
                }
        }
        assert_int_equal(
            syn_crc32c(0, buf + PEER_FRAME_HEADER_BYTES, want - PEER_FRAME_HEADER_BYTES),
            syn_get_be32(buf + 4));
        memmove(buf, buf + PEER_FRAME_HEADER_BYTES, want - PEER_FRAME_HEADER_BYTES);
        return want - PEER_FRAME_HEADER_BYTES;
}

/* True once the peer closed the socket (EOF or reset), after running the loop. */
static bool raw_closed(int fd)
{
        uint8_t b[64];
        /* Bounded: at most a few handshake frames are queued before the close. */
        for (int i = 0; i < 16; i++) {
                ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno == ECONNRESET))
                        return true;
                if (n < 0)
                        return false;
        }
        return false;
}

static int raw_fd;

static bool inbound_2_up(struct fixture *f)
{
        return f->nodes[1].links_up[2][0] == 1;
}

static bool inbound_2_down(struct fixture *f)
{
        return f->nodes[1].links_down[2][0] == 1;
}

static bool raw_is_closed(struct fixture *f)
{
        (void)f;
        return raw_closed(raw_fd);
}

/* Connects as server 2, completes the handshake, then sends `body` with `crc_xor`. */
static void raw_up_then_send(struct fixture *f, const uint8_t *body, uint32_t len, uint32_t x)
{
        f->nodes[1].links_up[2][0] = f->nodes[1].links_down[2][0] = 0;
        raw_fd = raw_connect(port_of(&f->nodes[1]));
        raw_handshake(raw_fd, PEER_HELLO, 2, 1);
        assert_true(run_until(f, inbound_2_up, WAIT_MS));
        uint8_t answer[64];
        struct peer_handshake h;
        size_t n = raw_read_frame(raw_fd, answer, sizeof answer);
        assert_int_equal(peer_handshake_decode(answer, n, &h), 0);
        assert_int_equal(h.kind, PEER_HELLO_OK);
        assert_int_equal(h.from_id, 1);
        raw_frame(raw_fd, body, len, x);
        assert_true(run_until(f, inbound_2_down, WAIT_MS));
        assert_true(run_until(f, raw_is_closed, WAIT_MS));
        close(raw_fd);
}

static void test_bad_frames_close_the_link(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        struct node *a = &f->nodes[1];
        uint8_t body[16] = {0, 0, 0, 0, 1, 2, 3};
        raw_up_then_send(f, body, sizeof body, 0x1); /* CRC off by one bit */
        assert_true(logged(f, "frame CRC mismatch", NULL));
        assert_int_equal(a->received, 0);
        /* A length over PEER_FRAME_BYTES_MAX: closed on the header alone. */
        f->nodes[1].links_up[2][0] = f->nodes[1].links_down[2][0] = 0;
        raw_fd = raw_connect(port_of(a));
        raw_handshake(raw_fd, PEER_HELLO, 2, 1);
        assert_true(run_until(f, inbound_2_up, WAIT_MS));
        uint8_t h[PEER_FRAME_HEADER_BYTES];
        syn_put_be32(h, PEER_FRAME_BYTES_MAX + 1);
        syn_put_be32(h + 4, 0);
        raw_send(raw_fd, h, sizeof h);
        assert_true(run_until(f, inbound_2_down, WAIT_MS));
        assert_true(run_until(f, raw_is_closed, WAIT_MS));
        close(raw_fd);
        assert_true(logged(f, "frame over the length limit", NULL));
        /* Before the handshake: a frame that is not a HELLO, and an oversized one. */
        raw_fd = raw_connect(port_of(a));
        raw_frame(raw_fd, body, sizeof body, 0);
        assert_true(run_until(f, raw_is_closed, WAIT_MS));
        close(raw_fd);
        raw_fd = raw_connect(port_of(a));
        syn_put_be32(h, PEER_HANDSHAKE_BYTES_MAX + 1);
        raw_send(raw_fd, h, sizeof h);
        assert_true(run_until(f, raw_is_closed, WAIT_MS));
        close(raw_fd);
        struct net_peers_stats t;
        net_peers_totals(&a->peers, &t);
        assert_int_equal(t.protocol_errors, 4);
        assert_int_equal(t.inbound_accepted, 2);
        assert_int_equal(a->received, 0);
}

/* ---- reconnecting ---- */

static bool spare_up(struct fixture *f)
{
        return net_peer_connected(&f->nodes[1].peers, 2) && f->spare.links_up[1][0] == 1;
}

static bool link_1_2_down(struct fixture *f)
{
        return f->nodes[1].links_down[2][1] == 1;
}

static bool spare_got_one(struct fixture *f)
{
        return f->spare.received == 1;
}

static void test_reconnect_after_restart(void **state)
{
        struct fixture *f = *state;
        start_pair(f);
        struct node *a = &f->nodes[1];
        int port = port_of(&f->nodes[2]);
        node_stop(&f->nodes[2]);
        assert_true(run_until(f, link_1_2_down, WAIT_MS));
        run_for(f, 100); /* a few refused dials while nobody listens */
        uint64_t restarted = net_now_ms(&f->net);
        node_start(&f->spare, &f->net, 2, CLUSTER, port);
        assert_true(run_until(f, spare_up, WAIT_MS));
        uint64_t took = net_now_ms(&f->net) - restarted;
        /* 100 ms of refusals leave the backoff at most ~160 ms; a loaded test box gets 4x. */
        assert_true(took < 4 * 160);
        assert_int_equal(send_seq(a, 2, 0, 64), 0);
        assert_true(run_until(f, spare_got_one, WAIT_MS));
        struct net_peer_stats s;
        assert_int_equal(net_peer_stats(&a->peers, 2, &s), 0);
        assert_int_equal(s.links_up, 2);
        assert_true(s.dials >= 3);
        assert_true(logged(f, "cannot connect to peer 2", "connection refused"));
}

/* ---- a peer that does not read ---- */

enum { SLOW_ID = 4, MSG_BYTES = 1024 * 1024 };

static bool slow_up(struct fixture *f)
{
        return net_peer_connected(&f->nodes[1].peers, SLOW_ID);
}

static bool slow_down(struct fixture *f)
{
        return f->nodes[1].links_down[SLOW_ID][1] == 1;
}

/* Accepts node 1's dial on a raw listener and answers its HELLO; returns the socket. */
static int raw_accept_as(struct fixture *f, int listener, uint64_t id)
{
        run_for(f, 20); /* node 1 connects (the kernel accepts) and sends its HELLO */
        int fd = accept(listener, NULL, NULL);
        assert_true(fd >= 0);
        uint8_t buf[PEER_FRAME_HEADER_BYTES + PEER_HANDSHAKE_BYTES_MAX];
        struct peer_handshake h;
        size_t n = raw_read_frame(fd, buf, sizeof buf);
        assert_int_equal(peer_handshake_decode(buf, n, &h), 0);
        assert_int_equal(h.kind, PEER_HELLO);
        assert_int_equal(h.target_id, id);
        raw_handshake(fd, PEER_HELLO_OK, id, 0);
        return fd;
}

static int raw_listener(int *port)
{
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(l, 4), 0);
        socklen_t len = sizeof a;
        getsockname(l, (struct sockaddr *)&a, &len);
        *port = ntohs(a.sin_port);
        return l;
}

/* Node a's link to SLOW_ID, a raw socket that answers the handshake and then does only
 * what the test does: returns that socket, and the listener in *listener. */
static int slow_peer_up(struct fixture *f, struct node *a, int *listener)
{
        int port = 0;
        *listener = raw_listener(&port);
        assert_int_equal(net_peers_set(&a->peers, SLOW_ID, "127.0.0.1", port), 0);
        int fd = raw_accept_as(f, *listener, SLOW_ID);
        assert_true(run_until(f, slow_up, WAIT_MS));
        return fd;
}

static void test_output_cap_drops_and_counts(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        struct node *a = &f->nodes[1];
        int listener;
        int fd = slow_peer_up(f, a, &listener);
        /* Far more than the cap, across iterations, to a peer that never reads. */
        int sent = 0, dropped = 0;
        enum { ROUNDS = 2 * PEER_OUTPUT_BYTES_MAX / MSG_BYTES };
        for (int i = 0; i < ROUNDS; i++) {
                int rc = send_seq(a, SLOW_ID, (uint32_t)i, MSG_BYTES);
                assert_true(rc == 0 || rc == SYN_ELIMIT);
                rc == 0 ? sent++ : dropped++;
                struct net_peer_stats s;
                net_peer_stats(&a->peers, SLOW_ID, &s);
                assert_true(s.queued_bytes <= PEER_OUTPUT_BYTES_MAX);
                if (i % 8 == 0)
                        run_for(f, 2); /* let the loop write what the socket takes */
        }
        struct net_peer_stats s;
        assert_int_equal(net_peer_stats(&a->peers, SLOW_ID, &s), 0);
        assert_true(dropped > 0);
        assert_int_equal(s.drops_full, (uint64_t)dropped);
        assert_int_equal(s.msgs_sent, (uint64_t)sent);
        assert_true(s.queued_bytes > PEER_OUTPUT_BYTES_MAX - 2 * MSG_BYTES);
        /* The peer goes away: the link drops and its queue is discarded, counted. */
        close(fd);
        close(listener);
        assert_true(run_until(f, slow_down, WAIT_MS));
        assert_int_equal(net_peer_stats(&a->peers, SLOW_ID, &s), 0);
        assert_false(s.connected);
        assert_true(s.discarded_bytes > 0);
        assert_int_equal(s.queued_bytes, 0);
        assert_int_equal(send_seq(a, SLOW_ID, 0, 8), SYN_ECLOSED);
        assert_int_equal(net_peer_stats(&a->peers, SLOW_ID, &s), 0);
        assert_int_equal(s.drops_unconnected, 1);
}

/* A peer that stops acknowledging (here: it never reads, so its window closes and the
 * data sent stays unacknowledged) is dropped within the TCP user timeout and its queue
 * discarded, rather than kept while TCP retransmits with a growing backoff. */
static void test_user_timeout_drops_a_silent_peer(void **state)
{
        enum { USER_TIMEOUT_MS = 500, FILL_BYTES = 48 * 1024 * 1024 };
        struct fixture *f = *state;
        node_start_timeout(&f->nodes[1], &f->net, 1, CLUSTER, 0, USER_TIMEOUT_MS);
        struct node *a = &f->nodes[1];
        int listener;
        int fd = slow_peer_up(f, a, &listener);
        /* More than both socket buffers take, so the window closes. */
        for (int i = 0; i < FILL_BYTES / MSG_BYTES && !slow_down(f); i++) {
                int rc = send_seq(a, SLOW_ID, (uint32_t)i, MSG_BYTES);
                assert_true(rc == 0 || rc == SYN_ELIMIT);
                if (i % 8 == 0)
                        run_for(f, 2);
        }
        assert_true(run_until(f, slow_down, WAIT_MS)); /* the socket is still open */
        struct net_peer_stats s;
        assert_int_equal(net_peer_stats(&a->peers, SLOW_ID, &s), 0);
        assert_false(s.connected);
        assert_true(s.discarded_bytes > 0);
        close(fd);
        close(listener);
}

/* ---- names and bounds ---- */

static bool localhost_up(struct fixture *f)
{
        return net_peer_connected(&f->nodes[1].peers, 2) && f->nodes[2].links_up[1][0] == 1;
}

static void test_localhost_resolves(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        node_start(&f->nodes[2], &f->net, 2, CLUSTER, 0);
        /* "localhost" may name ::1 first; node 2 listens on 127.0.0.1 only. */
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 2, "localhost", port_of(&f->nodes[2])),
                         0);
        assert_true(run_until(f, localhost_up, WAIT_MS));
        /* The same address again changes nothing; bad arguments are refused. */
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 2, "localhost", port_of(&f->nodes[2])),
                         0);
        assert_true(net_peer_connected(&f->nodes[1].peers, 2));
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 1, "127.0.0.1", 1), SYN_EINVAL);
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 0, "127.0.0.1", 1), SYN_EINVAL);
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 3, "", 1), SYN_EINVAL);
        assert_int_equal(net_peers_set(&f->nodes[1].peers, 3, "127.0.0.1", 0), SYN_EINVAL);
}

static bool all_timed_out(struct fixture *f)
{
        struct net_peers_stats t;
        net_peers_totals(&f->nodes[1].peers, &t);
        return t.handshake_timeouts == PEER_INBOUND_MAX && t.inbound_open == 0;
}

static void test_inbound_bounded_in_number_and_time(void **state)
{
        struct fixture *f = *state;
        node_start(&f->nodes[1], &f->net, 1, CLUSTER, 0);
        int fds[PEER_INBOUND_MAX + 1];
        for (int i = 0; i <= PEER_INBOUND_MAX; i++)
                fds[i] = raw_connect(port_of(&f->nodes[1]));
        run_for(f, 50);
        struct net_peers_stats t;
        net_peers_totals(&f->nodes[1].peers, &t);
        assert_int_equal(t.inbound_open, PEER_INBOUND_MAX);
        assert_int_equal(t.inbound_over_limit, 1);
        /* None says HELLO: all are closed after the handshake timeout (+ half the sweep). */
        assert_true(run_until(f, all_timed_out, PEER_HANDSHAKE_TIMEOUT_MS * 2));
        for (int i = 0; i <= PEER_INBOUND_MAX; i++) {
                assert_true(raw_closed(fds[i]));
                close(fds[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_handshake_and_delivery_both_ways, setup, teardown),
            cmocka_unit_test_setup_teardown(test_batched_messages_arrive_in_order, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wrong_cluster_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_unknown_server_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wrong_target_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_frames_close_the_link, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reconnect_after_restart, setup, teardown),
            cmocka_unit_test_setup_teardown(test_output_cap_drops_and_counts, setup, teardown),
            cmocka_unit_test_setup_teardown(test_user_timeout_drops_a_silent_peer, setup, teardown),
            cmocka_unit_test_setup_teardown(test_localhost_resolves, setup, teardown),
            cmocka_unit_test_setup_teardown(test_inbound_bounded_in_number_and_time, setup,
                                            teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
