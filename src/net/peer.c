/*
 * Peer links (the contract and the design are in net/peer.h; the wire in
 * docs/peer-protocol.md).
 *
 * Two kinds of struct net_peer_conn share the code below: an OUTBOUND connection belongs to a
 * link (a configured peer; link->conn points to it while the dial lasts) and goes
 * CONNECTING -> HANDSHAKE (HELLO sent) -> UP (HELLO_OK read); an INBOUND one is on the
 * accepted list and goes HANDSHAKE (waiting for HELLO) -> UP (HELLO accepted). A
 * connection's memory lives until libuv's close callback, so a callback that closes the
 * connection it is called about leaves it readable (`closing` says it is gone); every
 * loop over frames checks `closing` after each callback.
 *
 * conn_close is the one way out: it detaches the connection (from its link or from the
 * accepted list and the dirty list), hands the handle to uv_close, and only then reports
 * the link down and arms the link's reconnect timer, so a callback always sees a
 * consistent set. Outbound failures go through link_down, which logs at WARN only when
 * the reason changes; inbound problems through inbound_log, at WARN at most once per
 * PEER_LOG_INTERVAL_MS.
 *
 * With TLS (net/peer.h), conn->in and conn->out hold plaintext as without it: ciphertext
 * read is decrypted into `in` (tls_read), and `out` is encrypted into `wire` just before
 * each write (conn_write), as net/conn.c does for clients.
 *
 * Output is framed in place in conn->out (frame_begin / frame_end: header reserved, body
 * appended, then length and CRC patched) and written by the prepare hook (peers_flush):
 * uv_try_write first, the rest with one uv_write, one write in flight per connection, as
 * in net/conn.c.
 */
#include "net/peer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "net/tls.h"
#include "proto/peer.h"

enum peer_conn_state {
        CONN_CONNECTING = 1, /* outbound: TCP connect pending */
        CONN_HANDSHAKE,      /* outbound: HELLO sent; inbound: waiting for HELLO */
        CONN_UP,
};

/* Why a dial failed, to log only changes (libuv errors are negative, these positive). */
enum {
        FAIL_TIMEOUT = 1,
        FAIL_PROTOCOL,
        FAIL_NOMEM,
        FAIL_TLS,
        FAIL_REFUSED_BASE = 100, /* + enum peer_refuse_reason */
};

struct net_peer_conn {
        uv_tcp_t tcp;
        uv_connect_t connect_req;
        struct net_peers *peers;
        struct net_peer_link *link; /* outbound: its link, NULL once closing */
        bool outbound;
        enum peer_conn_state state;
        bool closing;           /* conn_close ran: no more input, output or callbacks */
        bool close_after_flush; /* inbound: a REFUSE is queued; close once it is written */
        bool dirty;             /* on peers->dirty */
        uint64_t peer_id;       /* outbound: the link's id; inbound: its HELLO's, once up */
        uint64_t accepted_ms;   /* inbound: for the handshake timeout */
        char ip[64];            /* inbound: the dialer's address, for logs */
        int port;
        struct syn_writer in;       /* unparsed input: at most one partial frame + a read */
        struct syn_writer out;      /* whole frames not yet handed to the socket */
        struct net_tls *tls;        /* owned; NULL without sslQuorum */
        struct syn_writer wire;     /* TLS only: ciphertext not yet handed to the socket */
        size_t out_inflight_bytes;  /* handed to uv_write, not yet completed */
        struct net_peer_conn *next; /* inbound: the accepted list */
        struct net_peer_conn *dirty_next;
};

struct peer_write {
        uv_write_t req;
        struct net_peer_conn *conn;
        uint8_t *data; /* owned; freed when the write completes */
        size_t len;
};

struct peer_resolve {
        uv_getaddrinfo_t req;
        struct net_peer_link *link;
        uint32_t generation; /* link->generation when asked; stale answers are dropped */
};

/* Longest log line built here (longer ones are cut): addresses, ids and a reason. */
enum { LOG_LINE_BYTES = 512 };

static void conn_close(struct net_peer_conn *conn);
static bool tls_start(struct net_peer_conn *conn, struct net_tls_ctx *ctx);
static void link_dial(struct net_peer_link *link);
static void on_link_timer(uv_timer_t *timer);

/* ---- lookups and logging ---- */

static struct net_peer_link *find_link(const struct net_peers *p, uint64_t id)
{
        if (id == 0)
                return NULL;
        for (size_t i = 0; i < PEER_LINKS_MAX; i++)
                if (p->links[i].id == id)
                        return (struct net_peer_link *)&p->links[i];
        return NULL;
}

static bool link_is_up(const struct net_peer_link *link)
{
        return link->conn != NULL && link->conn->state == CONN_UP;
}

static size_t conn_queued(const struct net_peer_conn *conn)
{
        return conn->out.len + conn->wire.len + conn->out_inflight_bytes;
}

__attribute__((format(printf, 2, 0))) static void log_line(enum syn_log_level level,
                                                           const char *fmt, va_list ap)
{
        char line[LOG_LINE_BYTES];
        vsnprintf(line, sizeof line, fmt, ap);
        syn_log(level, "%s", line);
}

/* Problems with accepted connections: WARN once per PEER_LOG_INTERVAL_MS, else DEBUG. */
__attribute__((format(printf, 2, 3))) static void inbound_log(struct net_peers *p, const char *fmt,
                                                              ...)
{
        uint64_t now = net_now_ms(p->net);
        enum syn_log_level level = SYN_LOG_DEBUG;
        if (p->inbound_warn_ms == 0 || now - p->inbound_warn_ms >= PEER_LOG_INTERVAL_MS) {
                level = SYN_LOG_WARN;
                p->inbound_warn_ms = now;
        }
        va_list ap;
        va_start(ap, fmt);
        log_line(level, fmt, ap);
        va_end(ap);
}

/* Ends an outbound connection; logs at WARN when `why` differs from the last failure. */
__attribute__((format(printf, 3, 4))) static void link_down(struct net_peer_conn *conn, int why,
                                                            const char *fmt, ...)
{
        struct net_peer_link *link = conn->link;
        SYN_ASSERT(link != NULL);
        va_list ap;
        va_start(ap, fmt);
        log_line(why == link->last_failure ? SYN_LOG_DEBUG : SYN_LOG_WARN, fmt, ap);
        va_end(ap);
        link->last_failure = why;
        conn_close(conn);
}

static void protocol_error(struct net_peer_conn *conn, const char *what, uint64_t value)
{
        struct net_peers *p = conn->peers;
        p->stats.protocol_errors++;
        struct net_peer_link *link = conn->outbound ? conn->link : find_link(p, conn->peer_id);
        if (link != NULL)
                link->stats.protocol_errors++;
        if (conn->outbound) {
                link_down(conn, FAIL_PROTOCOL, "closing link to peer %llu at %s:%d: %s (%llu)",
                          (unsigned long long)link->id, link->host, link->port, what,
                          (unsigned long long)value);
                return;
        }
        inbound_log(p, "closing peer connection from %s:%d: %s (%llu)", conn->ip, conn->port, what,
                    (unsigned long long)value);
        conn_close(conn);
}

/* ---- closing ---- */

static void on_conn_closed(uv_handle_t *handle)
{
        struct net_peer_conn *conn = handle->data;
        syn_writer_close(&conn->in);
        syn_writer_close(&conn->out);
        syn_writer_close(&conn->wire);
        net_tls_free(conn->tls);
        free(conn);
}

static void list_remove(struct net_peer_conn **head, struct net_peer_conn *conn, size_t next_offset)
{
        /* Bounded by the connections on the list. */
        for (struct net_peer_conn **q = head; *q != NULL;
             q = (struct net_peer_conn **)((char *)*q + next_offset)) {
                if (*q == conn) {
                        *q = *(struct net_peer_conn **)((char *)conn + next_offset);
                        return;
                }
        }
}

/* Arms the reconnect timer: jittered exponential backoff (net/peer.h). */
static void link_retry(struct net_peer_link *link)
{
        struct net_peers *p = link->peers;
        if (p->closed || link->id == 0)
                return;
        /* The cap is reached after a few failures; clamping the shift keeps it defined. */
        uint32_t shift = link->failures < 16 ? link->failures : 16;
        uint64_t base = (uint64_t)PEER_RECONNECT_MS_MIN << shift;
        if (base > PEER_RECONNECT_MS_MAX)
                base = PEER_RECONNECT_MS_MAX;
        link->failures++;
        uint64_t delay = base / 2 + syn_rand_below(&p->rand, base / 2 + 1);
        uv_timer_start(&link->timer, on_link_timer, delay, 0);
}

/* Detaches conn from everything, closes its handle, then reports the link down. */
static void conn_close(struct net_peer_conn *conn)
{
        if (conn->closing)
                return;
        struct net_peers *p = conn->peers;
        conn->closing = true;
        bool was_up = conn->state == CONN_UP;
        if (conn->dirty) {
                list_remove(&p->dirty, conn, offsetof(struct net_peer_conn, dirty_next));
                conn->dirty = false;
        }
        struct net_peer_link *link = conn->link;
        if (conn->outbound) {
                SYN_ASSERT(link != NULL);
                SYN_ASSERT(link->conn == conn);
                link->conn = NULL;
                link->stats.discarded_bytes += conn_queued(conn);
                conn->link = NULL;
                uv_timer_stop(&link->timer); /* the dial's deadline */
        } else {
                list_remove(&p->inbound, conn, offsetof(struct net_peer_conn, next));
                SYN_ASSERT(p->stats.inbound_open > 0);
                p->stats.inbound_open--;
        }
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
        if (p->closed)
                return;
        if (was_up)
                p->options.callbacks.on_link(p->options.arg, conn->peer_id, conn->outbound, false);
        if (link != NULL)
                link_retry(link);
}

/* ---- output ---- */

static void mark_dirty(struct net_peer_conn *conn)
{
        if (conn->dirty || conn->closing)
                return;
        conn->dirty = true;
        conn->dirty_next = conn->peers->dirty;
        conn->peers->dirty = conn;
}

/* Drops what was appended to conn->out since `start` (a frame that cannot be sent). */
static void frame_drop(struct net_peer_conn *conn, size_t start)
{
        SYN_ASSERT(start <= conn->out.len);
        conn->out.len = start;
        conn->out.failed = false;
}

/* Reserves a frame header at the end of conn->out; returns its offset. */
static size_t frame_begin(struct net_peer_conn *conn)
{
        static const uint8_t zero[PEER_FRAME_HEADER_BYTES];
        size_t start = conn->out.len;
        syn_write_bytes(&conn->out, zero, sizeof zero);
        return start;
}

/* Frames the body appended since frame_begin, or drops it: 0, SYN_ENOMEM, SYN_ETOOBIG or
 * SYN_ELIMIT (the output would pass PEER_OUTPUT_BYTES_MAX). */
static int frame_end(struct net_peer_conn *conn, size_t start)
{
        int rc = 0;
        if (conn->out.failed)
                rc = SYN_ENOMEM;
        else if (conn->out.len - start - PEER_FRAME_HEADER_BYTES > PEER_FRAME_BYTES_MAX)
                rc = SYN_ETOOBIG;
        else if (conn_queued(conn) > PEER_OUTPUT_BYTES_MAX)
                rc = SYN_ELIMIT;
        if (rc != 0) {
                frame_drop(conn, start);
                return rc;
        }
        uint8_t *header = conn->out.data + start;
        size_t len = conn->out.len - start - PEER_FRAME_HEADER_BYTES;
        syn_put_be32(header, (uint32_t)len);
        syn_put_be32(header + 4, syn_crc32c(0, header + PEER_FRAME_HEADER_BYTES, len));
        mark_dirty(conn);
        return 0;
}

static int queue_handshake(struct net_peer_conn *conn, const struct peer_handshake *h)
{
        size_t start = frame_begin(conn);
        int rc = peer_handshake_encode(&conn->out, h);
        if (rc != 0) {
                frame_drop(conn, start);
                return rc;
        }
        return frame_end(conn, start);
}

/* A buffer that stands empty gives back a large allocation. */
static void trim_buffer(struct syn_writer *w)
{
        if (w->len == 0 && w->cap > NET_CONN_BUFFER_KEEP_BYTES) {
                size_t cap_max = w->cap_max;
                syn_writer_close(w);
                syn_writer_init(w, cap_max);
        }
}

static void count_sent(struct net_peer_conn *conn, size_t n)
{
        if (conn->outbound && conn->link != NULL)
                conn->link->stats.bytes_sent += n;
}

/* Some output went out: finish a refusal, or write what was queued meanwhile. */
static void after_output_drained(struct net_peer_conn *conn)
{
        if (conn->close_after_flush && conn_queued(conn) == 0) {
                conn_close(conn);
                return;
        }
        if (conn->out.len > 0)
                mark_dirty(conn);
}

/* The write side failed: the connection is gone. */
static void write_failed(struct net_peer_conn *conn, int err)
{
        if (conn->outbound) {
                struct net_peer_link *link = conn->link;
                link_down(conn, err, "link to peer %llu at %s:%d: write failed: %s",
                          (unsigned long long)link->id, link->host, link->port, uv_strerror(err));
                return;
        }
        SYN_DEBUG("peer connection from %s:%d: write failed: %s", conn->ip, conn->port,
                  uv_strerror(err));
        conn_close(conn);
}

static void on_write_done(uv_write_t *req, int status)
{
        struct peer_write *w = (struct peer_write *)req;
        struct net_peer_conn *conn = w->conn;
        SYN_ASSERT(conn->out_inflight_bytes >= w->len);
        conn->out_inflight_bytes -= w->len;
        size_t len = w->len;
        free(w->data);
        free(w);
        if (conn->closing)
                return;
        if (status < 0) {
                write_failed(conn, status);
                return;
        }
        count_sent(conn, len);
        after_output_drained(conn);
}

/* Hands w_out[skip..] (conn->out, or conn->wire with TLS) to uv_write (the socket took
 * only part of it). False if closed. */
static bool write_rest(struct net_peer_conn *conn, struct syn_writer *w_out, size_t skip)
{
        struct peer_write *w = malloc(sizeof *w);
        if (w == NULL) {
                write_failed(conn, UV_ENOMEM);
                return false;
        }
        size_t total = 0;
        w->conn = conn;
        w->data = syn_writer_take(w_out, &total);
        w->len = total - skip;
        syn_writer_init(w_out, 0);
        conn->out_inflight_bytes += w->len;
        uv_buf_t buf = uv_buf_init((char *)w->data + skip, (unsigned)w->len);
        int rc = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, on_write_done);
        if (rc != 0) {
                conn->out_inflight_bytes -= w->len;
                free(w->data);
                free(w);
                write_failed(conn, rc);
                return false;
        }
        return true;
}

/* Writes the iteration's output: directly if the socket takes it, else by uv_write. */
static void conn_write(struct net_peer_conn *conn)
{
        if (conn->out_inflight_bytes > 0)
                return; /* one write in flight at a time keeps frames in order */
        struct syn_writer *out = &conn->out;
        if (conn->tls != NULL) {
                if (net_tls_output(conn->tls, &conn->out, &conn->wire) != 0) {
                        write_failed(conn, UV_ENOMEM);
                        return;
                }
                out = &conn->wire;
        }
        if (out->len == 0)
                return;
        uv_buf_t buf = uv_buf_init((char *)out->data, (unsigned)out->len);
        int n = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
        if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
                write_failed(conn, n);
                return;
        }
        size_t sent = n > 0 ? (size_t)n : 0;
        count_sent(conn, sent);
        if (sent < out->len) {
                if (!write_rest(conn, out, sent))
                        return;
        } else {
                out->len = 0;
                trim_buffer(out);
        }
        if (sent > 0)
                after_output_drained(conn);
}

/* The prepare hook: one write per connection with output (net_hook_add). */
static void peers_flush(void *arg)
{
        struct net_peers *p = arg;
        /* Bounded by the connections: each is on the list once, and writing one never puts
         * it back (its output goes to the socket or to uv_write, or it is closed). */
        while (p->dirty != NULL) {
                struct net_peer_conn *conn = p->dirty;
                p->dirty = conn->dirty_next;
                conn->dirty = false;
                conn->dirty_next = NULL;
                conn_write(conn);
        }
}

/* ---- input ---- */

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        (void)suggested;
        struct net_peer_conn *conn = handle->data;
        /* net's shared buffer: libuv calls read_cb right after alloc_cb, never interleaved. */
        *buf = uv_buf_init((char *)conn->peers->net->read_buf, sizeof conn->peers->net->read_buf);
}

/* Outbound: the acceptor answered our HELLO. */
static void handle_answer(struct net_peer_conn *conn, const uint8_t *body, size_t len)
{
        struct net_peer_link *link = conn->link;
        struct peer_handshake h;
        if (peer_handshake_decode(body, len, &h) != 0 || h.kind == PEER_HELLO) {
                protocol_error(conn, "bad handshake answer, bytes", len);
                return;
        }
        if (h.version != PEER_PROTOCOL_VERSION || h.kind == PEER_REFUSE) {
                enum peer_refuse_reason reason =
                    h.version != PEER_PROTOCOL_VERSION ? PEER_REFUSE_VERSION : h.reason;
                link->stats.refusals++;
                link_down(conn, FAIL_REFUSED_BASE + (int)reason,
                          "peer %llu at %s:%d refused our link: %s (its protocol version %u, "
                          "ours %u)",
                          (unsigned long long)link->id, link->host, link->port,
                          peer_refuse_reason_name(reason), (unsigned)h.version,
                          (unsigned)PEER_PROTOCOL_VERSION);
                return;
        }
        if (h.from_id != link->id) {
                protocol_error(conn, "the server answering is another id", h.from_id);
                return;
        }
        conn->state = CONN_UP;
        uv_timer_stop(&link->timer);
        link->failures = 0;
        link->last_failure = 0;
        link->stats.links_up++;
        SYN_DEBUG("link to peer %llu at %s:%d is up", (unsigned long long)link->id, link->host,
                  link->port);
        conn->peers->options.callbacks.on_link(conn->peers->options.arg, link->id, true, true);
}

/* Why a HELLO is refused (0 = accepted); `why` gets the log text. */
static enum peer_refuse_reason hello_check(struct net_peers *p, const struct peer_handshake *h,
                                           char *why, size_t cap)
{
        const struct net_peer_options *o = &p->options;
        if (h->version != PEER_PROTOCOL_VERSION) {
                snprintf(why, cap, "protocol version %u is not ours %u", (unsigned)h->version,
                         (unsigned)PEER_PROTOCOL_VERSION);
                return PEER_REFUSE_VERSION;
        }
        if (h->cluster_id != o->cluster_id) {
                snprintf(why, cap, "cluster id 0x%llx is not ours 0x%llx",
                         (unsigned long long)h->cluster_id, (unsigned long long)o->cluster_id);
                return PEER_REFUSE_CLUSTER;
        }
        if (h->target_id != o->self_id) {
                snprintf(why, cap, "server %llu dialed server %llu, we are %llu",
                         (unsigned long long)h->from_id, (unsigned long long)h->target_id,
                         (unsigned long long)o->self_id);
                return PEER_REFUSE_TARGET;
        }
        if (h->from_id == 0 || h->from_id == o->self_id ||
            !o->callbacks.on_hello(o->arg, h->from_id)) {
                snprintf(why, cap, "server %llu is not a member", (unsigned long long)h->from_id);
                return PEER_REFUSE_MEMBER;
        }
        return 0;
}

/* The HELLO is good: answer, replace an older link from the same peer, report it up. */
/* A peer that just dialed us is up again (a restart): dial it back at once rather than
 * when the backoff, grown while it was down, would (up to PEER_RECONNECT_MS_MAX later). */
static void redial_now(struct net_peers *p, uint64_t id)
{
        struct net_peer_link *link = find_link(p, id);
        if (link == NULL || link->conn != NULL || link->resolving)
                return;
        uv_timer_stop(&link->timer);
        link->failures = 0;
        link_dial(link);
}

static void accept_link(struct net_peer_conn *conn, uint64_t from)
{
        struct net_peers *p = conn->peers;
        struct peer_handshake ok = {.kind = PEER_HELLO_OK, .from_id = p->options.self_id};
        if (queue_handshake(conn, &ok) != 0) {
                SYN_WARN("peer connection from %s:%d: out of memory", conn->ip, conn->port);
                conn_close(conn);
                return;
        }
        /* Bounded by PEER_INBOUND_MAX; at most one other link per peer is up. */
        for (struct net_peer_conn *c = p->inbound; c != NULL; c = c->next) {
                if (c != conn && c->state == CONN_UP && c->peer_id == from) {
                        SYN_DEBUG("peer %llu dialed again from %s:%d: closing its older link",
                                  (unsigned long long)from, conn->ip, conn->port);
                        conn_close(c);
                        break;
                }
        }
        conn->peer_id = from;
        conn->state = CONN_UP;
        p->stats.inbound_accepted++;
        p->options.callbacks.on_link(p->options.arg, from, false, true);
        redial_now(p, from);
}

/* Inbound: the first frame must be an acceptable HELLO. */
static void handle_hello(struct net_peer_conn *conn, const uint8_t *body, size_t len)
{
        struct net_peers *p = conn->peers;
        struct peer_handshake h;
        if (peer_handshake_decode(body, len, &h) != 0 || h.kind != PEER_HELLO) {
                protocol_error(conn, "first frame is not a HELLO, bytes", len);
                return;
        }
        char why[LOG_LINE_BYTES];
        enum peer_refuse_reason reason = hello_check(p, &h, why, sizeof why);
        if (reason == 0) {
                accept_link(conn, h.from_id);
                return;
        }
        p->stats.inbound_refused++;
        inbound_log(p, "refusing peer %s:%d: %s", conn->ip, conn->port, why);
        struct peer_handshake refuse = {.kind = PEER_REFUSE, .reason = reason};
        if (queue_handshake(conn, &refuse) != 0) {
                conn_close(conn);
                return;
        }
        conn->close_after_flush = true;
        uv_read_stop((uv_stream_t *)&conn->tcp);
}

static void deliver(struct net_peer_conn *conn, const uint8_t *body, size_t len)
{
        struct net_peers *p = conn->peers;
        if (conn->outbound) {
                if (conn->state == CONN_HANDSHAKE)
                        handle_answer(conn, body, len);
                else
                        protocol_error(conn, "frame after the handshake answer, bytes", len);
                return;
        }
        if (conn->state != CONN_UP) {
                handle_hello(conn, body, len);
                return;
        }
        struct net_peer_link *link = find_link(p, conn->peer_id);
        if (link != NULL) {
                link->stats.msgs_received++;
                link->stats.bytes_received += PEER_FRAME_HEADER_BYTES + len;
        }
        p->options.callbacks.on_message(p->options.arg, conn->peer_id, body, len);
}

/* The largest body this connection may receive now. */
static uint32_t frame_limit(const struct net_peer_conn *conn)
{
        if (!conn->outbound && conn->state == CONN_UP)
                return PEER_FRAME_BYTES_MAX;
        return PEER_HANDSHAKE_BYTES_MAX;
}

/* Delivers every whole frame in conn->in, checking each length and CRC first. */
static void process_input(struct net_peer_conn *conn)
{
        if (conn->in.len == 0)
                return; /* a TLS read may carry only handshake messages */
        size_t pos = 0;
        /* Bounded: each pass consumes one whole frame of the finite input. */
        while (!conn->closing && !conn->close_after_flush) {
                size_t have = conn->in.len - pos;
                if (have < PEER_FRAME_HEADER_BYTES)
                        break;
                const uint8_t *header = conn->in.data + pos;
                uint32_t len = syn_get_be32(header);
                if (len > frame_limit(conn)) {
                        protocol_error(conn, "frame over the length limit, bytes", len);
                        return;
                }
                if (have - PEER_FRAME_HEADER_BYTES < len)
                        break;
                const uint8_t *body = header + PEER_FRAME_HEADER_BYTES;
                if (syn_crc32c(0, body, len) != syn_get_be32(header + 4)) {
                        protocol_error(conn, "frame CRC mismatch, bytes", len);
                        return;
                }
                pos += PEER_FRAME_HEADER_BYTES + len;
                deliver(conn, body, len);
        }
        if (conn->closing)
                return;
        size_t rest = conn->in.len - pos;
        memmove(conn->in.data, conn->in.data + pos, rest);
        conn->in.len = rest;
        trim_buffer(&conn->in);
}

/* Decrypts what was read into conn->in. False if the handshake or a record failed: the
 * connection is then closed (an accepted one after its alert is written). */
static bool tls_read(struct net_peer_conn *conn, const uint8_t *data, size_t len)
{
        char reason[NET_TLS_REASON_BYTES];
        bool was_established = net_tls_established(conn->tls);
        int rc = net_tls_input(conn->tls, data, len, &conn->in, reason, sizeof reason);
        /* The handshake's answer or an alert; or, once the handshake is done, the HELLO
         * that waited for it. */
        if (net_tls_has_output(conn->tls) || (conn->out.len > 0 && net_tls_established(conn->tls)))
                mark_dirty(conn);
        if (rc == 0)
                return true;
        struct net_peers *p = conn->peers;
        if (conn->outbound) {
                struct net_peer_link *link = conn->link;
                link_down(conn, FAIL_TLS, "link to peer %llu at %s:%d: TLS failed: %s",
                          (unsigned long long)link->id, link->host, link->port, reason);
                return false;
        }
        p->stats.tls_failures++;
        inbound_log(p, "refusing peer %s:%d: TLS %s failed: %s", conn->ip, conn->port,
                    was_established ? "connection" : "handshake", reason);
        conn->close_after_flush = true;
        uv_read_stop((uv_stream_t *)&conn->tcp);
        if (conn_queued(conn) == 0 && !net_tls_has_output(conn->tls))
                conn_close(conn);
        return false;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct net_peer_conn *conn = stream->data;
        if (nread == 0 || conn->closing)
                return;
        if (nread < 0) {
                int err = (int)nread;
                if (conn->outbound) {
                        struct net_peer_link *link = conn->link;
                        link_down(conn, err, "link to peer %llu at %s:%d closed: %s",
                                  (unsigned long long)link->id, link->host, link->port,
                                  uv_strerror(err));
                        return;
                }
                SYN_DEBUG("peer connection from %s:%d (server %llu) closed: %s", conn->ip,
                          conn->port, (unsigned long long)conn->peer_id, uv_strerror(err));
                conn_close(conn);
                return;
        }
        if (conn->tls != NULL) {
                if (!tls_read(conn, (const uint8_t *)buf->base, (size_t)nread))
                        return;
        } else {
                syn_write_bytes(&conn->in, buf->base, (size_t)nread);
        }
        if (conn->in.failed) {
                protocol_error(conn, "input buffer full or out of memory, bytes read",
                               (uint64_t)nread);
                return;
        }
        process_input(conn);
}

/* ---- outbound: dialing ---- */

/* A dial that has no connection yet failed (resolution, socket setup): retry later. */
static void dial_failed(struct net_peer_link *link, int why, const char *what)
{
        SYN_ASSERT(link->conn == NULL);
        syn_log(why == link->last_failure ? SYN_LOG_DEBUG : SYN_LOG_WARN,
                "cannot dial peer %llu at %s:%d: %s", (unsigned long long)link->id, link->host,
                link->port, what);
        link->last_failure = why;
        link_retry(link);
}

/*
 * Both ends of every peer link: no Nagle delay, and a dead peer found within the
 * user timeout whether the link carries data (unacknowledged data aborts it) or
 * not (keepalive probes, which the user timeout also bounds). Failing to set them
 * leaves a working link, only slower to notice a dead peer.
 */
static void tune_link_socket(const struct net_peers *p, uv_tcp_t *tcp)
{
        uv_tcp_nodelay(tcp, 1);
        uv_os_fd_t fd;
        if (p->options.tcp_user_timeout_ms == 0 || uv_fileno((uv_handle_t *)tcp, &fd) != 0)
                return;
        int on = 1, idle = PEER_KEEPALIVE_IDLE_S, interval = PEER_KEEPALIVE_INTERVAL_S;
        unsigned int user_timeout = p->options.tcp_user_timeout_ms;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
        (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static void on_connected(uv_connect_t *req, int status)
{
        struct net_peer_conn *conn = req->data;
        if (conn->closing)
                return; /* UV_ECANCELED: closed while connecting */
        struct net_peer_link *link = conn->link;
        struct net_peers *p = conn->peers;
        if (status < 0) {
                link_down(conn, status, "cannot connect to peer %llu at %s:%d: %s",
                          (unsigned long long)link->id, link->host, link->port,
                          uv_strerror(status));
                return;
        }
        tune_link_socket(p, &conn->tcp);
        conn->state = CONN_HANDSHAKE;
        if (p->options.tls_dial != NULL && !tls_start(conn, p->options.tls_dial)) {
                link_down(conn, FAIL_NOMEM, "link to peer %llu: out of memory",
                          (unsigned long long)link->id);
                return;
        }
        struct peer_handshake hello = {
            .kind = PEER_HELLO,
            .cluster_id = p->options.cluster_id,
            .from_id = p->options.self_id,
            .target_id = link->id,
        };
        if (queue_handshake(conn, &hello) != 0) {
                link_down(conn, FAIL_NOMEM, "link to peer %llu: out of memory",
                          (unsigned long long)link->id);
                return;
        }
        uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, on_read);
}

/* Makes conn a TLS connection of `ctx` (a dialer's hello goes out at once); its input
 * buffer grows by what a record may add. False if out of memory. */
static bool tls_start(struct net_peer_conn *conn, struct net_tls_ctx *ctx)
{
        conn->tls = net_tls_new(ctx);
        if (conn->tls == NULL)
                return false;
        conn->in.cap_max += NET_TLS_INPUT_SLACK_BYTES;
        syn_writer_init(&conn->wire, 0); /* bounded like conn->out, which it encrypts */
        char unused[NET_TLS_REASON_BYTES];
        if (net_tls_input(conn->tls, NULL, 0, &conn->in, unused, sizeof unused) != 0)
                return false;
        if (net_tls_has_output(conn->tls))
                mark_dirty(conn);
        return true;
}

/* Starts the TCP connection of a dial; its deadline covers connect and handshake. */
static void link_connect(struct net_peer_link *link, const struct sockaddr *addr)
{
        struct net_peers *p = link->peers;
        struct net_peer_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL) {
                dial_failed(link, FAIL_NOMEM, "out of memory");
                return;
        }
        uv_tcp_init(&p->net->loop, &conn->tcp);
        conn->tcp.data = conn;
        conn->connect_req.data = conn;
        conn->peers = p;
        conn->link = link;
        conn->outbound = true;
        conn->state = CONN_CONNECTING;
        conn->peer_id = link->id;
        /* The acceptor only ever answers the handshake: one such frame plus a read. */
        syn_writer_init(&conn->in,
                        PEER_FRAME_HEADER_BYTES + PEER_HANDSHAKE_BYTES_MAX + NET_READ_CHUNK_BYTES);
        syn_writer_init(&conn->out, 0); /* bounded by frame_end against PEER_OUTPUT_BYTES_MAX */
        link->conn = conn;
        uv_timer_start(&link->timer, on_link_timer, PEER_CONNECT_TIMEOUT_MS, 0);
        int rc = uv_tcp_connect(&conn->connect_req, &conn->tcp, addr, on_connected);
        if (rc != 0)
                link_down(conn, rc, "cannot connect to peer %llu at %s:%d: %s",
                          (unsigned long long)link->id, link->host, link->port, uv_strerror(rc));
}

/* Fills *addr if host is a numeric IPv4 or IPv6 address. */
static bool numeric_address(const char *host, int port, struct sockaddr_storage *addr)
{
        memset(addr, 0, sizeof *addr);
        return uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0 ||
               uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0;
}

/* Copies an address of a resolver answer, with `port`. */
static void address_with_port(const struct addrinfo *ai, int port, struct sockaddr_storage *out)
{
        SYN_ASSERT(ai->ai_addrlen <= sizeof *out);
        memset(out, 0, sizeof *out);
        memcpy(out, ai->ai_addr, ai->ai_addrlen);
        if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
        else
                ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
        struct peer_resolve *r = (struct peer_resolve *)req;
        struct net_peer_link *link = r->link;
        bool current = r->generation == link->generation;
        free(r);
        link->resolving = false;
        if (link->peers->closed || link->id == 0) {
                uv_freeaddrinfo(res);
                return;
        }
        if (!current) {
                uv_freeaddrinfo(res); /* the address changed meanwhile: dial the new one */
                link_dial(link);
                return;
        }
        if (status != 0 || res == NULL) {
                int err = status != 0 ? status : UV_EAI_NONAME;
                uv_freeaddrinfo(res);
                dial_failed(link, err, uv_strerror(err));
                return;
        }
        /* A name with several addresses ("localhost": ::1 and 127.0.0.1) is tried address
         * by address: each failed dial moves to the next. Bounded by the answer's length. */
        size_t count = 0;
        for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
                count++;
        const struct addrinfo *pick = res;
        for (size_t i = 0; i < link->failures % count; i++)
                pick = pick->ai_next;
        struct sockaddr_storage addr;
        address_with_port(pick, link->port, &addr);
        uv_freeaddrinfo(res);
        link_connect(link, (const struct sockaddr *)&addr);
}

/* Dials the link now, unless a dial or a resolution is already under way. */
static void link_dial(struct net_peer_link *link)
{
        struct net_peers *p = link->peers;
        if (p->closed || link->id == 0 || link->conn != NULL || link->resolving)
                return;
        link->stats.dials++;
        struct sockaddr_storage addr;
        if (numeric_address(link->host, link->port, &addr)) {
                link_connect(link, (const struct sockaddr *)&addr);
                return;
        }
        struct peer_resolve *r = calloc(1, sizeof *r);
        if (r == NULL) {
                dial_failed(link, FAIL_NOMEM, "out of memory");
                return;
        }
        r->link = link;
        r->generation = link->generation;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        int rc = uv_getaddrinfo(&p->net->loop, &r->req, on_resolved, link->host, NULL, &hints);
        if (rc != 0) {
                free(r);
                dial_failed(link, rc, uv_strerror(rc));
                return;
        }
        link->resolving = true;
}

/* The backoff is over (dial now), or a dial's deadline passed (abandon it). */
static void on_link_timer(uv_timer_t *timer)
{
        struct net_peer_link *link = timer->data;
        if (link->conn == NULL) {
                link_dial(link);
                return;
        }
        SYN_ASSERT(link->conn->state != CONN_UP);
        link_down(link->conn, FAIL_TIMEOUT, "link to peer %llu at %s:%d: no %s within %d ms",
                  (unsigned long long)link->id, link->host, link->port,
                  link->conn->state == CONN_CONNECTING ? "connection" : "handshake answer",
                  PEER_CONNECT_TIMEOUT_MS);
}

/* ---- inbound: accepting ---- */

/* Closes accepted connections that sent no acceptable HELLO in time. */
static void on_handshake_timer(uv_timer_t *timer)
{
        struct net_peers *p = timer->data;
        uint64_t now = net_now_ms(p->net);
        bool waiting = false;
        struct net_peer_conn *next = NULL;
        /* Bounded by PEER_INBOUND_MAX. */
        for (struct net_peer_conn *c = p->inbound; c != NULL; c = next) {
                next = c->next;
                if (c->state == CONN_UP)
                        continue;
                if (now - c->accepted_ms < PEER_HANDSHAKE_TIMEOUT_MS) {
                        waiting = true;
                        continue;
                }
                p->stats.handshake_timeouts++;
                inbound_log(p, "closing peer connection from %s:%d: no handshake in %d ms", c->ip,
                            c->port, PEER_HANDSHAKE_TIMEOUT_MS);
                conn_close(c);
        }
        if (!waiting)
                uv_timer_stop(timer);
}

static void peer_name(struct net_peer_conn *conn)
{
        struct sockaddr_storage addr;
        int len = sizeof addr;
        snprintf(conn->ip, sizeof conn->ip, "?");
        if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&addr, &len) != 0)
                return;
        if (addr.ss_family == AF_INET) {
                uv_ip4_name((struct sockaddr_in *)&addr, conn->ip, sizeof conn->ip);
                conn->port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
        } else if (addr.ss_family == AF_INET6) {
                uv_ip6_name((struct sockaddr_in6 *)&addr, conn->ip, sizeof conn->ip);
                conn->port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
        }
}

/* Adds an accepted connection to the list; it must send a HELLO within the timeout. */
static void inbound_start(struct net_peers *p, struct net_peer_conn *conn)
{
        conn->next = p->inbound;
        p->inbound = conn;
        p->stats.inbound_open++;
        conn->state = CONN_HANDSHAKE;
        conn->accepted_ms = net_now_ms(p->net);
        /* One frame of the largest size plus the read that completes it. */
        syn_writer_init(&conn->in,
                        PEER_FRAME_HEADER_BYTES + PEER_FRAME_BYTES_MAX + NET_READ_CHUNK_BYTES);
        syn_writer_init(&conn->out, 0); /* bounded by frame_end, like outbound output */
        if (p->options.tls_accept != NULL && !tls_start(conn, p->options.tls_accept)) {
                SYN_WARN("out of memory accepting a peer connection");
                conn_close(conn);
                return;
        }
        tune_link_socket(p, &conn->tcp);
        uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, on_read);
        if (!uv_is_active((uv_handle_t *)&p->handshake_timer))
                uv_timer_start(&p->handshake_timer, on_handshake_timer,
                               PEER_HANDSHAKE_TIMEOUT_MS / 2, PEER_HANDSHAKE_TIMEOUT_MS / 2);
}

static void on_connection(uv_stream_t *server, int status)
{
        struct net_peers *p = server->data;
        if (status < 0) {
                SYN_WARN("accepting a peer connection failed: %s", uv_strerror(status));
                return;
        }
        struct net_peer_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL) {
                SYN_WARN("out of memory accepting a peer connection");
                return;
        }
        uv_tcp_init(&p->net->loop, &conn->tcp);
        conn->tcp.data = conn;
        conn->peers = p;
        if (uv_accept(server, (uv_stream_t *)&conn->tcp) != 0) {
                uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
                return;
        }
        peer_name(conn);
        if (p->stats.inbound_open >= PEER_INBOUND_MAX) {
                p->stats.inbound_over_limit++;
                inbound_log(p, "closing peer connection from %s:%d: %d already open", conn->ip,
                            conn->port, PEER_INBOUND_MAX);
                uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
                return;
        }
        inbound_start(p, conn);
}

/* ---- the API ---- */

/* Resolves the listening address: numeric, or a name looked up synchronously (once, at
 * start-up; without a callback uv_getaddrinfo runs in this thread, not in the pool). */
static int listen_address(struct net *net, const char *host, int port,
                          struct sockaddr_storage *addr)
{
        if (numeric_address(host, port, addr))
                return 0;
        uv_getaddrinfo_t req;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        int rc = uv_getaddrinfo(&net->loop, &req, NULL, host, NULL, &hints);
        if (rc == 0)
                address_with_port(req.addrinfo, port, addr);
        uv_freeaddrinfo(req.addrinfo);
        return rc == 0 ? 0 : SYN_EINVAL;
}

static int bind_listener(struct net_peers *p, const struct net_peer_options *o)
{
        struct sockaddr_storage addr;
        if (listen_address(p->net, o->address, o->port, &addr) != 0) {
                SYN_ERROR("peer address '%s' is neither an IP address nor a known host name",
                          o->address);
                return SYN_EINVAL;
        }
        uv_tcp_init(&p->net->loop, &p->listener);
        p->listener.data = p;
        int rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0);
        if (rc == 0)
                rc = uv_listen((uv_stream_t *)&p->listener, NET_LISTEN_BACKLOG, on_connection);
        if (rc != 0) {
                SYN_ERROR("cannot listen for peers on %s:%d: %s", o->address, o->port,
                          uv_strerror(rc));
                uv_close((uv_handle_t *)&p->listener, NULL);
                return SYN_ESYS;
        }
        return 0;
}

int net_peers_init(struct net_peers *p, struct net *net, const struct net_peer_options *o)
{
        SYN_ASSERT(o->callbacks.on_hello != NULL);
        SYN_ASSERT(o->callbacks.on_message != NULL);
        SYN_ASSERT(o->callbacks.on_link != NULL);
        memset(p, 0, sizeof *p);
        p->closed = true; /* until it is up: a net_peers_close after an error does nothing */
        if (o->self_id == 0 || o->address == NULL)
                return SYN_EINVAL;
        p->net = net;
        p->options = *o;
        p->options.address = NULL;
        int rc = bind_listener(p, o);
        if (rc != 0)
                return rc;
        p->closed = false;
        uv_timer_init(&net->loop, &p->handshake_timer);
        p->handshake_timer.data = p;
        for (size_t i = 0; i < PEER_LINKS_MAX; i++) {
                p->links[i].peers = p;
                uv_timer_init(&net->loop, &p->links[i].timer);
                p->links[i].timer.data = &p->links[i];
        }
        /* Jitter only has to differ between servers and runs, not be unpredictable. */
        syn_rand_seed(&p->rand, o->self_id * 0x9e3779b97f4a7c15ull ^ net_now_ms(net));
        p->flush = (struct net_hook){.fn = peers_flush, .arg = p};
        net_hook_add(net, &p->flush);
        return 0;
}

int net_peers_port(const struct net_peers *p)
{
        struct sockaddr_storage addr;
        int len = sizeof addr;
        if (uv_tcp_getsockname(&p->listener, (struct sockaddr *)&addr, &len) != 0)
                return -1;
        if (addr.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *)&addr)->sin_port);
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

static struct net_peer_link *free_link(struct net_peers *p)
{
        for (size_t i = 0; i < PEER_LINKS_MAX; i++)
                if (p->links[i].id == 0)
                        return &p->links[i];
        return NULL;
}

int net_peers_set(struct net_peers *p, uint64_t id, const char *host, int port)
{
        SYN_ASSERT(!p->closed);
        size_t host_len = strnlen(host, NET_ADDRESS_BYTES_MAX);
        if (id == 0 || id == p->options.self_id || host_len == 0 ||
            host_len >= NET_ADDRESS_BYTES_MAX || port < 1 || port > 65535)
                return SYN_EINVAL;
        struct net_peer_link *link = find_link(p, id);
        if (link != NULL && link->port == port && strcmp(link->host, host) == 0)
                return 0;
        if (link == NULL) {
                link = free_link(p);
                if (link == NULL)
                        return SYN_ELIMIT;
                link->id = id;
                memset(&link->stats, 0, sizeof link->stats);
        }
        memcpy(link->host, host, host_len + 1);
        link->port = port;
        link->generation++;
        link->failures = 0;
        link->last_failure = 0;
        if (link->conn != NULL)
                conn_close(link->conn); /* reports the old link down, arms a retry */
        if (link->id != id)
                return 0; /* on_link removed it meanwhile */
        uv_timer_stop(&link->timer);
        link_dial(link);
        return 0;
}

void net_peers_remove(struct net_peers *p, uint64_t id)
{
        struct net_peer_link *link = find_link(p, id);
        if (link == NULL)
                return;
        link->id = 0; /* first: closing the connection then arms no retry */
        link->generation++;
        uv_timer_stop(&link->timer);
        if (link->conn != NULL)
                conn_close(link->conn);
}

/* The connection a message to `to` of `len` body bytes goes on, or NULL (counted drop). */
static struct net_peer_conn *send_conn(struct net_peers *p, uint64_t to, size_t len, int *rc)
{
        struct net_peer_link *link = find_link(p, to);
        if (link == NULL) {
                p->stats.drops_unknown++;
                *rc = SYN_ECLOSED;
                return NULL;
        }
        if (!link_is_up(link)) {
                link->stats.drops_unconnected++;
                *rc = SYN_ECLOSED;
                return NULL;
        }
        if (len > PEER_FRAME_BYTES_MAX) {
                link->stats.drops_full++;
                *rc = SYN_ETOOBIG;
                return NULL;
        }
        if (conn_queued(link->conn) + PEER_FRAME_HEADER_BYTES + len > PEER_OUTPUT_BYTES_MAX) {
                link->stats.drops_full++;
                *rc = SYN_ELIMIT;
                return NULL;
        }
        return link->conn;
}

static void count_frame(struct net_peer_conn *conn, int rc)
{
        if (rc == 0)
                conn->link->stats.msgs_sent++;
        else
                conn->link->stats.drops_full++;
}

int net_peer_send(struct net_peers *p, uint64_t to, const uint8_t *body, size_t len)
{
        int rc = 0;
        struct net_peer_conn *conn = send_conn(p, to, len, &rc);
        if (conn == NULL)
                return rc;
        size_t start = frame_begin(conn);
        syn_write_bytes(&conn->out, body, len);
        rc = frame_end(conn, start);
        count_frame(conn, rc);
        return rc;
}

struct syn_writer *net_peer_begin(struct net_peers *p, uint64_t to, size_t *start)
{
        int rc = 0;
        struct net_peer_conn *conn = send_conn(p, to, 0, &rc);
        if (conn == NULL)
                return NULL;
        *start = frame_begin(conn);
        return &conn->out;
}

/* The connection of a net_peer_begin; the caller made no other call since. */
static struct net_peer_conn *begun_conn(struct net_peers *p, uint64_t to, size_t start)
{
        struct net_peer_link *link = find_link(p, to);
        SYN_ASSERT(link != NULL);
        SYN_ASSERT(link_is_up(link));
        SYN_ASSERT(start <= link->conn->out.len);
        return link->conn;
}

int net_peer_end(struct net_peers *p, uint64_t to, size_t start)
{
        struct net_peer_conn *conn = begun_conn(p, to, start);
        int rc = frame_end(conn, start);
        count_frame(conn, rc);
        return rc;
}

void net_peer_cancel(struct net_peers *p, uint64_t to, size_t start)
{
        frame_drop(begun_conn(p, to, start), start);
}

bool net_peer_connected(const struct net_peers *p, uint64_t id)
{
        const struct net_peer_link *link = find_link(p, id);
        return link != NULL && link_is_up(link);
}

int net_peer_stats(const struct net_peers *p, uint64_t id, struct net_peer_stats *out)
{
        const struct net_peer_link *link = find_link(p, id);
        if (link == NULL)
                return SYN_ENOTFOUND;
        *out = link->stats;
        out->connected = link_is_up(link);
        out->queued_bytes = link->conn != NULL ? conn_queued(link->conn) : 0;
        out->inbound_up = false;
        /* Bounded by PEER_INBOUND_MAX. */
        for (const struct net_peer_conn *c = p->inbound; c != NULL; c = c->next)
                if (c->state == CONN_UP && c->peer_id == id)
                        out->inbound_up = true;
        return 0;
}

void net_peers_totals(const struct net_peers *p, struct net_peers_stats *out)
{
        *out = p->stats;
}

void net_peers_close(struct net_peers *p)
{
        if (p->closed)
                return;
        p->closed = true; /* first: closing connections now reports nothing, retries nothing */
        net_hook_remove(p->net, &p->flush);
        uv_close((uv_handle_t *)&p->listener, NULL);
        uv_close((uv_handle_t *)&p->handshake_timer, NULL);
        for (size_t i = 0; i < PEER_LINKS_MAX; i++) {
                struct net_peer_link *link = &p->links[i];
                if (link->conn != NULL)
                        conn_close(link->conn);
                uv_close((uv_handle_t *)&link->timer, NULL);
        }
        /* Bounded: each close removes one connection from the list. */
        while (p->inbound != NULL)
                conn_close(p->inbound);
}
