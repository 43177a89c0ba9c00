/*
 * Client connections: accept, read and frame, queue output, write in batches,
 * backpressure and close.
 *
 * Input: bytes are read into the loop's shared read buffer and appended to the
 * connection's `in` buffer; every whole frame is handed to on_frame. The buffer
 * never holds more than one partial frame, so it is bounded by 4 + frame_bytes_max.
 * When the server pauses reading (too many requests in flight) the socket read
 * stops and frames already buffered wait on `pending_input` until it resumes.
 *
 * Output: replies are appended to `out` during the iteration and the connection is
 * put on the `dirty` list; the prepare hook writes each dirty connection once,
 * directly (uv_try_write) and, for what the socket does not take at once, with
 * one uv_write. While a write is in flight new output keeps accumulating and goes
 * out when it completes. Output above the soft limit pauses reading; at the hard
 * limit the connection is closed. Idle buffers above NET_CONN_BUFFER_KEEP_BYTES
 * are freed.
 *
 * TLS (the secure port): ciphertext read is decrypted into `in` (tls_read) and the
 * plaintext in `out` is encrypted into `wire` just before each write (conn_write), so
 * everything between reading and writing is the same as on the plain port. Output
 * limits count plaintext and ciphertext together.
 *
 * Budget: every change of a connection's buffers goes through recharge(), which keeps
 * net.client_bytes equal to the sum of what each open connection holds, so the
 * budget checks (net.h) cost O(1) per frame; only closing over the budget scans.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "net/net.h"
#include "net/tls.h"
#include "proto/frame.h"

void net_conn_accept(struct net *net, uv_stream_t *listener, struct net_tls_ctx *tls);
void net_conn_expire_handshakes(struct net *net);
void net_conn_flush_all(struct net *net);
void net_conn_deliver_pending(struct net *net);
void net_conn_close_all(struct net *net);
void net_conn_enforce_budget(struct net *net);

struct conn_write {
        uv_write_t req;
        struct net_conn *conn;
        uint8_t *data; /* owned; freed when the write completes */
        size_t len;
        size_t held; /* bytes of data, the part the socket took at once included */
};

static void update_reading(struct net_conn *conn);
static void process_input(struct net_conn *conn);
static void queue_pending_input(struct net_conn *conn);
static void mark_dirty(struct net_conn *conn);

/* Brings conn's charge in net.client_bytes up to date; a closed connection holds nothing. */
static void recharge(struct net_conn *conn)
{
        struct net *net = conn->net;
        size_t output = net_conn_output_bytes(conn);
        size_t now_bytes = 0;
        if (!uv_is_closing((uv_handle_t *)&conn->tcp))
                now_bytes = conn->in.cap + conn->out.cap + conn->wire.cap +
                            conn->out_inflight_held + conn->queued_bytes;
        SYN_ASSERT(net->client_bytes >= conn->charged);
        net->client_bytes = net->client_bytes - conn->charged + now_bytes;
        conn->charged = now_bytes;
        if (output == 0)
                conn->output_since_ms = 0;
        else if (conn->output_since_ms == 0)
                conn->output_since_ms = uv_now(&net->loop);
}

static void set_budget_paused(struct net_conn *conn, bool paused)
{
        struct net *net = conn->net;
        if (conn->budget_paused == paused)
                return;
        conn->budget_paused = paused;
        if (paused) {
                net->budget_paused_count++;
                net->budget_pauses++;
        } else {
                SYN_ASSERT(net->budget_paused_count > 0);
                net->budget_paused_count--;
        }
}

/* Whether conn may not take more work: the clients hold over 3/4 of the budget and this
 * one more than a well-behaved client does. Marks it paused (resumed by the budget pass
 * or when its own use falls back). */
static bool budget_blocks(struct net_conn *conn)
{
        struct net *net = conn->net;
        if (conn->charged <= NET_CONN_SMALL_BYTES ||
            net->client_bytes <= net->options.client_memory_max / 4 * 3)
                return false;
        set_budget_paused(conn, true);
        return true;
}

static void on_handle_closed(uv_handle_t *handle)
{
        struct net_conn *conn = handle->data;
        syn_writer_close(&conn->in);
        syn_writer_close(&conn->out);
        syn_writer_close(&conn->wire);
        net_tls_free(conn->tls);
        free(conn);
}

static void list_remove_all(struct net *net, struct net_conn *conn)
{
        if (conn->all_prev)
                conn->all_prev->all_next = conn->all_next;
        else
                net->all = conn->all_next;
        if (conn->all_next)
                conn->all_next->all_prev = conn->all_prev;
        conn->all_prev = conn->all_next = NULL;
}

static void list_remove(struct net_conn **head, struct net_conn *conn, size_t next_offset)
{
        for (struct net_conn **p = head; *p != NULL;
             p = (struct net_conn **)((char *)*p + next_offset)) {
                if (*p == conn) {
                        *p = *(struct net_conn **)((char *)conn + next_offset);
                        return;
                }
        }
}

/* Really closes: called when the close is decided and any flush is done. */
static void conn_finish(struct net_conn *conn)
{
        struct net *net = conn->net;
        if (uv_is_closing((uv_handle_t *)&conn->tcp))
                return;
        if (conn->dirty) {
                list_remove(&net->dirty, conn, offsetof(struct net_conn, dirty_next));
                conn->dirty = false;
        }
        if (conn->in_pending) {
                list_remove(&net->pending_input, conn, offsetof(struct net_conn, pending_next));
                conn->in_pending = false;
        }
        list_remove_all(net, conn);
        if (conn->tls != NULL && !net_tls_established(conn->tls)) {
                SYN_ASSERT(net->tls_handshaking > 0);
                net->tls_handshaking--;
        }
        SYN_ASSERT(net->conn_count > 0);
        net->conn_count--;
        set_budget_paused(conn, false);
        uv_close((uv_handle_t *)&conn->tcp, on_handle_closed);
        recharge(conn); /* closing: its charge drops to 0 */
}

static void conn_notify_close(struct net_conn *conn)
{
        if (conn->closing)
                return;
        conn->closing = true;
        if (conn->reading) {
                uv_read_stop((uv_stream_t *)&conn->tcp);
                conn->reading = false;
        }
        conn->net->options.callbacks.on_close(conn->net->options.arg, conn);
}

void net_conn_close(struct net_conn *conn, bool flush)
{
        conn_notify_close(conn);
        if (uv_is_closing((uv_handle_t *)&conn->tcp))
                return;
        /* A TLS connection also flushes an alert, or its close_notify (conn_write). */
        bool tls_output =
            conn->tls != NULL && (net_tls_has_output(conn->tls) || net_tls_established(conn->tls));
        if (flush && !conn->close_pending && (net_conn_output_bytes(conn) > 0 || tls_output)) {
                conn->close_after_flush = true; /* the last write completion finishes it */
                mark_dirty(conn);
                return;
        }
        conn_finish(conn);
}

/* A buffer of the connection that stands idle gives back a large allocation. */
static void trim_buffer(struct syn_writer *w)
{
        if (w->len == 0 && w->cap > NET_CONN_BUFFER_KEEP_BYTES) {
                size_t cap_max = w->cap_max;
                syn_writer_close(w);
                syn_writer_init(w, cap_max);
        }
}

/* Output drained (in part or in full): finish a flushing close, lift backpressure. */
static void after_output_drained(struct net_conn *conn)
{
        if (conn->close_after_flush && net_conn_output_bytes(conn) == 0) {
                conn_finish(conn);
                return;
        }
        conn->output_since_ms = 0; /* written to: the client reads */
        recharge(conn);
        if (conn->budget_paused && conn->charged <= NET_CONN_SMALL_BYTES)
                set_budget_paused(conn, false);
        update_reading(conn);
        queue_pending_input(conn); /* frames held back by backpressure */
        if (conn->out.len > 0)
                mark_dirty(conn); /* output queued while a write was in flight */
}

static void on_write_done(uv_write_t *req, int status)
{
        struct conn_write *w = (struct conn_write *)req;
        struct net_conn *conn = w->conn;
        SYN_ASSERT(conn->out_inflight_bytes >= w->len);
        SYN_ASSERT(conn->out_inflight_held >= w->held);
        conn->out_inflight_bytes -= w->len;
        conn->out_inflight_held -= w->held;
        if (status == 0) {
                conn->bytes_sent += w->len;
                conn->net->bytes_sent += w->len;
        }
        free(w->data);
        free(w);
        if (uv_is_closing((uv_handle_t *)&conn->tcp))
                return;
        if (status < 0) {
                SYN_DEBUG("write to %s:%d failed: %s", conn->ip, conn->port, uv_strerror(status));
                conn_notify_close(conn);
                conn_finish(conn);
                return;
        }
        after_output_drained(conn);
}

static void count_sent(struct net_conn *conn, size_t n)
{
        conn->bytes_sent += n;
        conn->net->bytes_sent += n;
}

/* Hands w_out[skip..] (conn->out, or conn->wire with TLS) to uv_write: the socket buffer
 * is full, libuv writes the rest when the socket is writable. Returns false if the
 * connection was closed. */
static bool write_rest(struct net_conn *conn, struct syn_writer *w_out, size_t skip)
{
        struct conn_write *w = malloc(sizeof *w);
        if (w == NULL) {
                /*
                 * Out of memory: close the connection (the client reconnects) rather
                 * than keep the tail for a retry. A retry cannot be bounded here: put
                 * back on the dirty list it would be written again by the same
                 * net_conn_flush_all pass, which then spins as long as malloc fails,
                 * and nothing else would wake the loop to retry it later.
                 */
                SYN_WARN("closing %s:%d: out of memory writing %zu bytes", conn->ip, conn->port,
                         w_out->len - skip);
                conn_notify_close(conn);
                conn_finish(conn);
                return false;
        }
        size_t total = 0;
        w->conn = conn;
        size_t cap_max = w_out->cap_max;
        w->data = syn_writer_take(w_out, &total);
        w->len = total - skip;
        w->held = total;
        syn_writer_init(w_out, cap_max);
        conn->out_inflight_bytes += w->len;
        conn->out_inflight_held += w->held;
        recharge(conn);
        uv_buf_t buf = uv_buf_init((char *)w->data + skip, (unsigned)w->len);
        int rc = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, on_write_done);
        if (rc != 0) {
                conn->out_inflight_bytes -= w->len;
                conn->out_inflight_held -= w->held;
                free(w->data);
                free(w);
                SYN_DEBUG("write to %s:%d failed: %s", conn->ip, conn->port, uv_strerror(rc));
                conn_notify_close(conn);
                conn_finish(conn);
                return false;
        }
        return true;
}

/*
 * Writes the iteration's output. First directly with uv_try_write: usually the
 * socket takes it all, and then there is no write request to allocate, no output
 * buffer to give away and grow again, and no completion that makes libuv re-arm
 * the socket in epoll (one epoll_ctl per write otherwise). Only what the socket
 * refuses goes through uv_write.
 */
static void conn_write(struct net_conn *conn)
{
        if (conn->out_inflight_bytes > 0)
                return; /* one write in flight at a time keeps output in order */
        struct syn_writer *out = &conn->out;
        if (conn->tls != NULL) {
                if (net_tls_output(conn->tls, &conn->out, &conn->wire) != 0) {
                        SYN_WARN("closing %s:%d: out of memory encrypting", conn->ip, conn->port);
                        conn_notify_close(conn);
                        conn_finish(conn);
                        return;
                }
                if (conn->close_after_flush && conn->out.len == 0) {
                        /* Everything is encrypted: close_notify tells the client that the
                         * close is not a cut. */
                        net_tls_shutdown(conn->tls);
                        (void)net_tls_output(conn->tls, &conn->out, &conn->wire);
                }
                out = &conn->wire;
        }
        if (out->len == 0) {
                if (conn->close_after_flush)
                        conn_finish(conn); /* nothing left to send (a TLS handshake cut) */
                return;
        }
        uv_buf_t buf = uv_buf_init((char *)out->data, (unsigned)out->len);
        int n = uv_try_write((uv_stream_t *)&conn->tcp, &buf, 1);
        if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
                SYN_DEBUG("write to %s:%d failed: %s", conn->ip, conn->port, uv_strerror(n));
                conn_notify_close(conn);
                conn_finish(conn);
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
                recharge(conn);
        }
        if (sent > 0)
                after_output_drained(conn);
}

void net_conn_flush_all(struct net *net)
{
        /* Bounded by the number of connections: each is on the list at most once, and
         * writing a connection never puts it back (its output is either handed to the
         * socket or to uv_write, or the connection is closed). */
        while (net->dirty != NULL) {
                struct net_conn *conn = net->dirty;
                net->dirty = conn->dirty_next;
                conn->dirty = false;
                conn->dirty_next = NULL;
                if (conn->close_pending)
                        net_conn_close(conn, false);
                else
                        conn_write(conn);
        }
}

size_t net_conn_output_bytes(const struct net_conn *conn)
{
        return conn->out.len + conn->wire.len + conn->out_inflight_bytes;
}

static void mark_dirty(struct net_conn *conn)
{
        if (!conn->dirty) {
                conn->dirty = true;
                conn->dirty_next = conn->net->dirty;
                conn->net->dirty = conn;
        }
}

/*
 * After output grew: the hard limit dooms the connection, the soft limit pauses
 * reading. A doomed connection is closed by the flush at the end of the iteration,
 * not here, because the caller is the server in the middle of its own work.
 */
static int check_output(struct net_conn *conn)
{
        if (conn->out.failed || net_conn_output_bytes(conn) >= NET_CONN_OUTPUT_BYTES_HARD_MAX) {
                SYN_WARN("closing %s:%d: output over %d bytes (client not reading)", conn->ip,
                         conn->port, NET_CONN_OUTPUT_BYTES_HARD_MAX);
                syn_writer_reset(&conn->out);
                conn->out.failed = false;
                conn->close_pending = true;
                mark_dirty(conn);
                return SYN_ELIMIT;
        }
        recharge(conn);
        mark_dirty(conn);
        update_reading(conn);
        return 0;
}

int net_conn_send(struct net_conn *conn, const void *data, size_t len)
{
        if (conn->close_pending || uv_is_closing((uv_handle_t *)&conn->tcp))
                return SYN_ECLOSED;
        syn_write_bytes(&conn->out, data, len);
        return check_output(conn);
}

struct syn_writer *net_conn_output(struct net_conn *conn)
{
        if (conn->close_pending || conn->closing || uv_is_closing((uv_handle_t *)&conn->tcp))
                return NULL;
        return &conn->out;
}

int net_conn_output_done(struct net_conn *conn)
{
        if (conn->close_pending || uv_is_closing((uv_handle_t *)&conn->tcp))
                return SYN_ECLOSED;
        return check_output(conn);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
        (void)suggested;
        struct net_conn *conn = handle->data;
        /* One shared buffer: libuv calls read_cb right after alloc_cb, never interleaved. */
        *buf = uv_buf_init((char *)conn->net->read_buf, sizeof conn->net->read_buf);
}

static void protocol_error(struct net_conn *conn, const char *why, uint32_t value)
{
        conn->net->protocol_errors++;
        SYN_WARN("closing %s:%d: %s (%u)", conn->ip, conn->port, why, value);
        net_conn_close(conn, false);
}

/* Returns true if a whole frame was delivered (and input may hold more). */
static bool deliver_one(struct net_conn *conn)
{
        struct net *net = conn->net;
        if (conn->in.len == conn->in_start)
                return false; /* a TLS read may carry only handshake messages */
        struct zk_frame frame;
        zk_frame_parse(conn->in.data + conn->in_start, conn->in.len - conn->in_start,
                       !conn->got_first_bytes, net->options.frame_bytes_max, &frame);
        switch (frame.kind) {
        case ZK_FRAME_NEED_MORE:
                return false;
        case ZK_FRAME_FOURLW:
                conn->got_first_bytes = true;
                conn->fourlw = true;
                conn->in.len = 0;
                conn->in_start = 0;
                net->options.callbacks.on_fourlw(net->options.arg, conn, frame.word);
                return false;
        case ZK_FRAME_BAD_LENGTH:
                protocol_error(conn, "frame length out of range", (uint32_t)frame.bad_length);
                return false;
        case ZK_FRAME_READY:
                break;
        }
        conn->got_first_bytes = true;
        net->options.callbacks.on_frame(net->options.arg, conn, frame.payload, frame.payload_len);
        if (uv_is_closing((uv_handle_t *)&conn->tcp) || conn->closing)
                return false;
        /* Consumed frames are dropped once per read (compact_input), not one by one:
         * a read of many small requests would otherwise move its tail each time. */
        conn->in_start += frame.consumed;
        return true;
}

static bool frame_buffered(const struct net_conn *conn)
{
        size_t have = conn->in.len - conn->in_start;
        return have >= 4 && have >= 4 + (size_t)syn_get_be32(conn->in.data + conn->in_start);
}

/* Moves the undelivered tail to the front of the input buffer. */
static void compact_input(struct net_conn *conn)
{
        if (conn->in_start == 0)
                return;
        size_t rest = conn->in.len - conn->in_start;
        memmove(conn->in.data, conn->in.data + conn->in_start, rest);
        conn->in.len = rest;
        conn->in_start = 0;
}

/* Delivers whole frames until the input is short or the server paused the connection. */
static void process_input(struct net_conn *conn)
{
        /* Bounded: every pass consumes one frame of the finite input buffer. */
        while (!conn->closing && !conn->close_pending && !conn->read_paused_by_user &&
               net_conn_output_bytes(conn) <= NET_CONN_OUTPUT_BYTES_SOFT_MAX &&
               !budget_blocks(conn)) {
                if (!deliver_one(conn))
                        break;
        }
        compact_input(conn);
}

/* Decrypts what was read into `in`; false if the connection is being closed. */
static bool tls_read(struct net_conn *conn, const uint8_t *data, size_t len)
{
        struct net *net = conn->net;
        bool was_established = net_tls_established(conn->tls);
        char reason[NET_TLS_REASON_BYTES];
        int rc = net_tls_input(conn->tls, data, len, &conn->in, reason, sizeof reason);
        if (net_tls_has_output(conn->tls))
                mark_dirty(conn); /* the handshake's answer, or an alert */
        if (!was_established && net_tls_established(conn->tls)) {
                SYN_ASSERT(net->tls_handshaking > 0);
                net->tls_handshaking--;
                net->tls_handshakes++;
        }
        if (rc == 0)
                return true;
        net->tls_failures++;
        SYN_WARN("closing %s:%d: TLS %s failed: %s", conn->ip, conn->port,
                 was_established ? "connection" : "handshake", reason);
        net_conn_close(conn, true); /* the alert goes out first */
        return false;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
        struct net_conn *conn = stream->data;
        if (nread == 0)
                return;
        if (nread < 0) {
                if (nread != UV_EOF)
                        SYN_DEBUG("read from %s:%d: %s", conn->ip, conn->port,
                                  uv_strerror((int)nread));
                net_conn_close(conn, false);
                return;
        }
        conn->bytes_received += (uint64_t)nread;
        conn->net->bytes_received += (uint64_t)nread;
        if (conn->tls != NULL) {
                if (!tls_read(conn, (const uint8_t *)buf->base, (size_t)nread))
                        return;
        } else {
                syn_write_bytes(&conn->in, buf->base, (size_t)nread);
        }
        if (conn->in.failed) {
                protocol_error(conn, "input buffer over the frame limit", (uint32_t)nread);
                return;
        }
        recharge(conn);
        process_input(conn);
        if (!conn->closing) {
                trim_buffer(&conn->in);
                recharge(conn);
                update_reading(conn);
        }
}

/* Reading is on unless paused by the server or by output backpressure. */
static void update_reading(struct net_conn *conn)
{
        if (conn->closing)
                return;
        bool backpressure = net_conn_output_bytes(conn) > NET_CONN_OUTPUT_BYTES_SOFT_MAX;
        bool want = !conn->read_paused_by_user && !backpressure && !conn->budget_paused;
        if (want && !conn->reading) {
                uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, on_read);
                conn->reading = true;
        } else if (!want && conn->reading) {
                uv_read_stop((uv_stream_t *)&conn->tcp);
                conn->reading = false;
                if (backpressure)
                        conn->net->backpressure_pauses++;
        }
}

/* Buffered whole frames that may be delivered again go on the pending list; the
 * prepare hook delivers them (never from here: the caller may be the server). */
static void queue_pending_input(struct net_conn *conn)
{
        if (conn->in_pending || conn->closing || conn->read_paused_by_user || conn->budget_paused ||
            net_conn_output_bytes(conn) > NET_CONN_OUTPUT_BYTES_SOFT_MAX || !frame_buffered(conn))
                return;
        conn->in_pending = true;
        conn->pending_next = conn->net->pending_input;
        conn->net->pending_input = conn;
}

void net_conn_pause_reading(struct net_conn *conn, bool paused)
{
        if (conn->read_paused_by_user == paused)
                return;
        conn->read_paused_by_user = paused;
        queue_pending_input(conn);
        update_reading(conn);
}

void net_conn_deliver_pending(struct net *net)
{
        struct net_conn *list = net->pending_input;
        net->pending_input = NULL;
        /* Bounded by the number of connections; re-queued ones wait for the next pass. */
        while (list != NULL) {
                struct net_conn *conn = list;
                list = conn->pending_next;
                conn->pending_next = NULL;
                conn->in_pending = false;
                process_input(conn);
        }
}

void net_conn_accept(struct net *net, uv_stream_t *listener, struct net_tls_ctx *tls)
{
        struct net_conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL) {
                SYN_WARN("out of memory accepting a connection");
                return;
        }
        uv_tcp_init(&net->loop, &conn->tcp);
        conn->tcp.data = conn;
        conn->net = net;
        if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
                uv_close((uv_handle_t *)&conn->tcp, on_handle_closed);
                return;
        }
        uv_tcp_nodelay(&conn->tcp, 1);
        struct sockaddr_storage addr;
        int len = sizeof addr;
        snprintf(conn->ip, sizeof conn->ip, "?");
        if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&addr, &len) == 0) {
                if (addr.ss_family == AF_INET) {
                        uv_ip4_name((struct sockaddr_in *)&addr, conn->ip, sizeof conn->ip);
                        conn->port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
                } else {
                        uv_ip6_name((struct sockaddr_in6 *)&addr, conn->ip, sizeof conn->ip);
                        conn->port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
                }
        }
        /* One partial frame plus one read chunk that completes it and starts the next. */
        size_t in_max = 4 + (size_t)net->options.frame_bytes_max + NET_READ_CHUNK_BYTES;
        syn_writer_init(&conn->out, NET_CONN_OUTPUT_BYTES_HARD_MAX);
        if (tls != NULL) {
                conn->tls = net_tls_new(tls);
                if (conn->tls == NULL) {
                        SYN_WARN("out of memory accepting a TLS connection");
                        uv_close((uv_handle_t *)&conn->tcp, on_handle_closed);
                        return;
                }
                in_max += NET_TLS_INPUT_SLACK_BYTES;
                syn_writer_init(&conn->wire,
                                NET_TLS_WIRE_BYTES_MAX(NET_CONN_OUTPUT_BYTES_HARD_MAX));
                conn->accepted_ms = uv_now(&net->loop);
        }
        syn_writer_init(&conn->in, in_max);
        if (!net->options.callbacks.on_accept(net->options.arg, conn, conn->ip)) {
                uv_close((uv_handle_t *)&conn->tcp, on_handle_closed);
                return;
        }
        if (tls != NULL)
                net->tls_handshaking++;
        conn->all_next = net->all;
        if (net->all)
                net->all->all_prev = conn;
        net->all = conn;
        net->conn_count++;
        update_reading(conn);
}

void net_conn_expire_handshakes(struct net *net)
{
        uint64_t now = uv_now(&net->loop);
        struct net_conn *next;
        /* Bounded by the number of connections; only called while some are handshaking. */
        for (struct net_conn *c = net->all; c != NULL; c = next) {
                next = c->all_next;
                if (c->tls == NULL || c->closing || net_tls_established(c->tls) ||
                    now - c->accepted_ms < net->options.tls_handshake_timeout_ms)
                        continue;
                net->tls_failures++;
                SYN_WARN("closing %s:%d: TLS handshake not done after %u ms", c->ip, c->port,
                         net->options.tls_handshake_timeout_ms);
                net_conn_close(c, false);
        }
}

void net_conn_close_all(struct net *net)
{
        /* Bounded by the number of connections: each close removes one from the list. */
        while (net->all != NULL)
                net_conn_close(net->all, false);
}

void net_conn_set_queued(struct net_conn *conn, size_t bytes)
{
        conn->queued_bytes = bytes;
        recharge(conn);
}

size_t net_fourlw_unsent(const struct net *net, const char *ip, bool *same_ip)
{
        size_t total = 0;
        *same_ip = false;
        /* Bounded by the number of connections; words are rare admin requests. */
        for (const struct net_conn *c = net->all; c != NULL; c = c->all_next) {
                size_t unsent = net_conn_output_bytes(c);
                if (!c->fourlw || unsent == 0)
                        continue;
                total += unsent;
                if (strcmp(c->ip, ip) == 0)
                        *same_ip = true;
        }
        return total;
}

/* Closing order over the budget: clients that stopped reading their replies, then the
 * largest. */
static bool evict_before(const struct net_conn *a, const struct net_conn *b, uint64_t now)
{
        bool a_stuck =
            a->output_since_ms != 0 && now - a->output_since_ms >= NET_CONN_OUTPUT_STUCK_MS;
        bool b_stuck =
            b->output_since_ms != 0 && now - b->output_since_ms >= NET_CONN_OUTPUT_STUCK_MS;
        if (a_stuck != b_stuck)
                return a_stuck;
        return a->charged > b->charged;
}

static struct net_conn *eviction_victim(struct net *net)
{
        uint64_t now = uv_now(&net->loop);
        struct net_conn *victim = NULL;
        /* Bounded by the number of connections. */
        for (struct net_conn *c = net->all; c != NULL; c = c->all_next) {
                if (c->charged <= NET_CONN_SMALL_BYTES || uv_is_closing((uv_handle_t *)&c->tcp))
                        continue;
                if (victim == NULL || evict_before(c, victim, now))
                        victim = c;
        }
        return victim;
}

/* The prepare hook's budget pass, after the iteration's writes: closes connections while
 * the clients hold more than the budget, and lets the paused ones read again once they
 * hold less than half of it. */
void net_conn_enforce_budget(struct net *net)
{
        uint64_t max = net->options.client_memory_max;
        /* Bounded: every pass closes one connection, which drops its charge to 0. */
        while (net->client_bytes > max) {
                struct net_conn *victim = eviction_victim(net);
                if (victim == NULL)
                        break; /* only small connections left: the budget spares them */
                SYN_WARN("closing %s:%d: clients hold %llu bytes, over clientMemoryLimitInMb; "
                         "it holds %zu%s",
                         victim->ip, victim->port, (unsigned long long)net->client_bytes,
                         victim->charged, victim->output_since_ms != 0 ? " (output not read)" : "");
                net->budget_evictions++;
                net_conn_close(victim, false);
        }
        if (net->budget_paused_count == 0 || net->client_bytes > max / 2)
                return;
        /* Bounded by the number of connections. */
        for (struct net_conn *c = net->all; c != NULL; c = c->all_next) {
                if (!c->budget_paused)
                        continue;
                set_budget_paused(c, false);
                update_reading(c);
                queue_pending_input(c);
        }
}
