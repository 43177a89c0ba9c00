/*
 * net: the libuv side of synod. One loop thread owns every socket and every byte
 * of server state; this module is the only one that talks to libuv and the only
 * one that reads the clock (net_now_ms / net_wall_ms; clock.c has the test hook that
 * skews them, SYNOD_TEST_CLOCK_FILE).
 *
 * The loop runs in iterations. During an iteration libuv delivers reads (framed
 * here into whole packets and handed to the server), timer ticks, signals and
 * async wake-ups from the WAL thread. Just before the loop would block again, the
 * prepare hook runs the server's `before_sleep` (Redis's beforeSleep: persist →
 * send → apply → reply) and then writes, per connection, everything queued during
 * the iteration in ONE write (uv_try_write; what the socket does not take goes
 * by uv_write). So every reply ready in one iteration leaves in one system call
 * per connection.
 *
 * Connections have a bounded input buffer (one frame of at most frame_bytes_max)
 * and a bounded output buffer: above NET_CONN_OUTPUT_BYTES_SOFT_MAX the connection
 * stops reading (backpressure) until its output drains; at
 * NET_CONN_OUTPUT_BYTES_HARD_MAX it is closed. A frame with a negative or too
 * large length closes the connection with one log line.
 *
 * Across connections, what clients make the server hold (output buffers and writes
 * in flight, input buffers, and the request copies the server queues, reported with
 * net_conn_set_queued) is charged to one budget, client_memory_max (Redis's
 * maxmemory-clients): above 3/4 of it no connection holding more than
 * NET_CONN_SMALL_BYTES is read from; above it, at the end of the iteration, the
 * connections holding the most are closed (those whose output stopped draining for
 * NET_CONN_OUTPUT_STUCK_MS first) until the total is back under it. A connection
 * holding NET_CONN_SMALL_BYTES or less is never paused or closed by the budget.
 *
 * ZooKeeper's four-letter words share the client port: if the first four bytes
 * of a connection are four ASCII letters (as a length that would be far
 * over any frame limit), they are handed to on_fourlw instead.
 *
 * TLS (ZooKeeper's secureClientPort): with net_options.tls set, a second listener takes
 * connections that speak TLS (net/tls.h). They are the same connections as on the plain
 * port once decrypted: `in` and `out` hold plaintext, `wire` the ciphertext being
 * written, and the callbacks see no difference. A handshake that fails, or that is not
 * complete after tls_handshake_timeout_ms, closes the connection with one log line
 * giving the reason (counted in net.tls_failures).
 */
#ifndef SYN_NET_NET_H
#define SYN_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/limits.h"

struct net;
struct net_conn;
struct net_tls;
struct net_tls_ctx;

/* Callbacks into the server. `arg` is net_options.arg. All run on the loop thread. */
struct net_callbacks {
        /* A client connected from `ip` (borrowed for the call). Return false to refuse:
         * the connection is closed without on_close. */
        bool (*on_accept)(void *arg, struct net_conn *conn, const char *ip);
        /* One whole frame without its length prefix; `data` is borrowed until return. */
        void (*on_frame)(void *arg, struct net_conn *conn, const uint8_t *data, size_t len);
        /* The first four bytes of the connection spell a four-letter word (`word`,
         * NUL-terminated, borrowed). The server answers with net_conn_send and
         * net_conn_close(conn, true). */
        void (*on_fourlw)(void *arg, struct net_conn *conn, const char *word);
        /* The connection is gone (peer closed, error, limit or net_conn_close). Called
         * exactly once for every accepted connection; `conn` is invalid afterwards. */
        void (*on_close)(void *arg, struct net_conn *conn);
        /* Once per loop iteration, before blocking: the server's beforeSleep. */
        void (*before_sleep)(void *arg);
        /* Every tick_ms. */
        void (*on_tick)(void *arg);
        /* SIGINT, SIGTERM or SIGCHLD arrived (delivered on the loop thread). */
        void (*on_signal)(void *arg, int signum);
};

struct net_options {
        const char *address; /* borrowed for net_init */
        int port;            /* 0 = pick a free port (see net_port) */
        uint32_t frame_bytes_max;
        uint32_t tick_ms;
        uint64_t client_memory_max; /* the budget above, bytes (> 0) */
        /* The secure port: borrowed until net_close; NULL: none. */
        struct net_tls_ctx *tls;
        const char *secure_address; /* borrowed for net_init */
        int secure_port;            /* 0 = pick a free port (see net_secure_port) */
        uint32_t tls_handshake_timeout_ms;
        struct net_callbacks callbacks;
        void *arg;
};

struct net_conn {
        uv_tcp_t tcp;
        struct net *net;
        void *user; /* the server's per-connection state; net never touches it */
        char ip[64];
        int port;
        struct syn_writer
            in;          /* unparsed input; in.len <= 4 + frame_bytes_max + NET_READ_CHUNK_BYTES */
        size_t in_start; /* in.data[0, in_start) is delivered; 0 outside frame delivery */
        struct syn_writer out;     /* queued, not yet handed to uv_write */
        struct net_tls *tls;       /* owned; NULL on the plain port */
        struct syn_writer wire;    /* TLS only: ciphertext not yet handed to uv_write */
        uint64_t accepted_ms;      /* TLS only: the handshake's deadline counts from here */
        size_t out_inflight_bytes; /* handed to uv_write, not yet completed */
        size_t out_inflight_held;  /* the buffers of those writes, sent parts included */
        bool got_first_bytes;      /* the 4lw check has been done */
        bool reading;              /* uv_read_start is in effect */
        bool read_paused_by_user;  /* net_conn_pause_reading(conn, true) */
        bool close_after_flush;
        bool close_pending;  /* over the hard output limit: closed by the next flush */
        bool closing;        /* uv_close called or about to be; no more callbacks but on_close */
        bool dirty;          /* on net.dirty: has output to write this iteration */
        bool in_pending;     /* on net.pending_input: buffered frames to deliver */
        bool budget_paused;  /* not read while the clients' memory is over the budget */
        bool fourlw;         /* answers a four-letter word */
        size_t queued_bytes; /* the server's request copies (net_conn_set_queued) */
        size_t charged;      /* what this connection counts in net.client_bytes */
        uint64_t output_since_ms; /* output pending and nothing written since then; 0: none */
        uint64_t bytes_received;
        uint64_t bytes_sent;
        struct net_conn *dirty_next;
        struct net_conn *pending_next;
        struct net_conn *all_prev, *all_next;
};

struct net_async {
        uv_async_t handle;
        void (*cb)(void *arg);
        void *arg;
};

/* Work run by the prepare hook after the client connections' writes (net_hook_add). */
struct net_hook {
        void (*fn)(void *arg);
        void *arg;
        struct net_hook *next;
};

/* The server's clock and its test hook (clock.c): plain fields, owned by struct net. */
struct net_clock {
        bool enabled; /* SYNOD_TEST_CLOCK_FILE is set */
        bool warned_bad;
        char path[256];
        uint64_t last_poll_ms; /* real monotonic ms of the last read of the file */
        int64_t offset_ms;
        double rate;
        double base_drift_ms;  /* drift when the rate was last set */
        uint64_t base_real_ms; /* real monotonic ms when the rate was last set */
        uint64_t last_mono_ms; /* the monotonic clock's last reading: it never goes back */
};

/* Sets the clock up from the environment (SYNOD_TEST_CLOCK_FILE; off without it). */
void net_clock_init(struct net_clock *c, uint64_t real_mono_ms);
/* Re-reads the hook's file when NET_TEST_CLOCK_POLL_MS have passed; true if the rate
 * changed (the tick timer's period must follow). */
bool net_clock_poll(struct net_clock *c, uint64_t real_mono_ms);
/* The server's monotonic and wall clocks for the real ones. */
uint64_t net_clock_mono(struct net_clock *c, uint64_t real_mono_ms);
int64_t net_clock_wall(const struct net_clock *c, int64_t real_wall_ms, uint64_t real_mono_ms);
/* Real ms between ticks so that the server sees one every tick_ms of its own time. */
uint64_t net_clock_tick_period(const struct net_clock *c, uint64_t tick_ms);

struct net {
        uv_loop_t loop;
        uv_tcp_t listener;
        uv_tcp_t secure_listener; /* initialized only with options.tls */
        uv_timer_t tick;
        struct net_clock clock;
        uv_prepare_t prepare;
        uv_idle_t idle; /* keeps the loop from blocking while work is pending */
        uv_signal_t signals[3];
        struct net_options options;
        struct net_conn *dirty;         /* connections with output queued this iteration */
        struct net_conn *pending_input; /* connections with whole frames buffered */
        struct net_conn *all;           /* every open connection */
        struct net_hook *flush_hooks;   /* other writers flushed in prepare (net/peer.c) */
        uint32_t conn_count;
        bool stopping;
        bool idle_active;
        bool wake_requested; /* net_wake during this iteration */
        uint8_t read_buf[NET_READ_CHUNK_BYTES];
        uint64_t bytes_received;
        uint64_t bytes_sent;
        uint64_t protocol_errors;
        uint64_t backpressure_pauses;
        uint64_t client_bytes;        /* sum of every connection's charge (the budget's total) */
        uint32_t budget_paused_count; /* connections with budget_paused set */
        uint64_t budget_pauses;       /* times a connection was paused by the budget */
        uint64_t budget_evictions;    /* connections closed by the budget */
        uint32_t tls_handshaking;     /* secure connections without a finished handshake */
        uint64_t tls_handshakes;      /* finished handshakes */
        uint64_t tls_failures;        /* secure connections closed for a TLS failure */
};

/*
 * Sets up the loop, binds and listens on address:port, and arms the tick timer,
 * the prepare hook and the signal handlers. `net` is caller-owned and must not move.
 * Returns 0, SYN_ESYS (bind/listen failed: logged with the address) or SYN_EINVAL.
 */
int net_init(struct net *net, const struct net_options *options);

/* Runs the loop until net_stop; returns 0. The one unbounded loop of synod. */
int net_run(struct net *net);

/* Asks net_run to return once the current iteration ends. Connections stay open. */
void net_stop(struct net *net);

/* Closes every connection (on_close for each), the listener and all handles, and the loop.
 * Every hook must have been removed first (net_peers_close does it for peer links). */
void net_close(struct net *net);

/* The port actually bound (useful with port 0). */
int net_port(const struct net *net);
/* The secure port actually bound, or -1 without one. */
int net_secure_port(const struct net *net);

/* Monotonic milliseconds of the current loop iteration (uv_now; skewed by the test
 * clock hook, clock.c). */
uint64_t net_now_ms(struct net *net);
/* Wall-clock milliseconds since the epoch; read here only (house rule 9). */
int64_t net_wall_ms(struct net *net);

/* Makes the next iteration not block (work was queued outside of a callback). */
void net_wake(struct net *net);

/* Registers `cb(arg)` to run on the loop thread after net_async_send from any thread.
 * `a` is caller-owned and must stay until net_close. Returns 0 or SYN_ESYS. */
int net_async_init(struct net *net, struct net_async *a, void (*cb)(void *arg), void *arg);
/* Thread-safe; several sends may coalesce into one callback. */
void net_async_send(struct net_async *a);

/* Runs h->fn(h->arg) in every prepare hook, after the server's before_sleep and the
 * client connections' writes: how peer links (net/peer.c) write what the iteration queued
 * in one write per link. `h` is caller-owned and stays linked until net_hook_remove. */
void net_hook_add(struct net *net, struct net_hook *h);
void net_hook_remove(struct net *net, struct net_hook *h);

/* Queues `len` bytes (copied) for the connection; they go out at the end of the
 * iteration with everything else queued for it. Returns 0, or SYN_ELIMIT when the
 * output limit is hit (the connection is then being closed), SYN_ECLOSED if closing. */
int net_conn_send(struct net_conn *conn, const void *data, size_t len);
/* The connection's output buffer, for encoders that append whole frames in place
 * (zk_reply_write), or NULL if the connection is closing (drop the output). Borrowed
 * until the next net call on this connection; call net_conn_output_done after writing. */
struct syn_writer *net_conn_output(struct net_conn *conn);
/* Schedules what was appended through net_conn_output; returns like net_conn_send. */
int net_conn_output_done(struct net_conn *conn);

/* Stops (paused = true) or resumes delivering frames from this connection. */
void net_conn_pause_reading(struct net_conn *conn, bool paused);

/* Closes the connection; with `flush` the queued output is written first. on_close is
 * called from here (synchronously) unless it already was. */
void net_conn_close(struct net_conn *conn, bool flush);

/* Bytes queued or in flight on the connection (ciphertext waiting included). */
size_t net_conn_output_bytes(const struct net_conn *conn);

/* The server holds `bytes` of queued requests for this connection: charged to the budget. */
void net_conn_set_queued(struct net_conn *conn, size_t bytes);

/* Bytes not yet written of the four-letter-word answers still being sent, over every
 * connection; *same_ip tells whether one of them goes to `ip`. */
size_t net_fourlw_unsent(const struct net *net, const char *ip, bool *same_ip);

#endif
