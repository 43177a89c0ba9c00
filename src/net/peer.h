/*
 * Peer links: the TCP connections that carry messages between synod servers, on the
 * same libuv loop as the client connections (net/net.h). docs/peer-protocol.md has the
 * wire format and the reasons behind it.
 *
 * ONE CONNECTION PER DIRECTION. Each server dials every peer it is told about
 * (net_peers_set) and sends only on that outbound connection; it receives only on
 * connections it accepted. So there is no tie-breaking between two connections to the
 * same peer, and a link's state is simply "the dial is up or not".
 *
 * FRAMES. Every frame is a u32 body length, the u32 CRC32C of the body, and the body
 * (big-endian). A length over PEER_FRAME_BYTES_MAX (PEER_HANDSHAKE_BYTES_MAX before the
 * handshake) or a bad CRC closes the connection with one log line, counted. Bodies are
 * opaque here: the server puts Raft messages (proto/peer.h) and its own messages in them.
 *
 * HANDSHAKE. The dialer's first frame is a HELLO (proto/peer.h: protocol version,
 * cluster id, its id, the id it means to reach). The acceptor checks version, cluster id
 * and target id, asks on_hello whether the dialer is a member, and answers HELLO_OK or
 * REFUSE(reason) and closes; both ends log the reason. Only after HELLO_OK from the id it
 * dialed does the dialer's link count as up (net_peer_connected); only after a good HELLO
 * does the acceptor deliver frames (on_message). Anything else before that, and any frame
 * from the acceptor after HELLO_OK, is a protocol error.
 *
 * SENDING. net_peer_send (or net_peer_begin/net_peer_end, which frame in place) appends a
 * frame to the link's output; the prepare hook (net_hook_add) writes everything queued in
 * the iteration in one write per link, like client connections. A message to a peer whose
 * link is not up, or whose output already holds PEER_OUTPUT_BYTES_MAX bytes, is DROPPED
 * and counted: Raft retries, and a dead or slow peer can never grow our memory. Output
 * still queued when a link drops is discarded (counted) for the same reason.
 *
 * RECONNECTING. A link that drops, fails to connect, is refused, or does not complete
 * connect + handshake within PEER_CONNECT_TIMEOUT_MS is dialed again after a jittered
 * exponential backoff from PEER_RECONNECT_MS_MIN to PEER_RECONNECT_MS_MAX, reset when a
 * link comes up. Failures are logged at WARN when they change (first failure, another
 * reason) and at DEBUG while they repeat.
 *
 * ADDRESSES. Numeric IPv4/IPv6 addresses are used as they are. Host names ("localhost",
 * DNS names) are resolved again for every dial with uv_getaddrinfo, which runs in libuv's
 * thread pool: the one use of extra threads in synod, because getaddrinfo(3) blocks and
 * the loop must not (a leader that stalls on DNS misses its heartbeats). Those threads run
 * only the resolver and touch no synod state; clusters configured with IP addresses never
 * start them. The listening address is resolved once, synchronously, in net_peers_init.
 *
 * TLS (sslQuorum). With net_peer_options.tls_accept and tls_dial set, every link is TLS
 * with certificates checked on both ends (net/tls.h): the dialer checks the acceptor's
 * chain and the acceptor requires the dialer's. The HELLO is sent only once the TLS
 * handshake is complete, so a process without a certificate of the cluster's CA never gets
 * a frame delivered: its connection is closed when the handshake fails, with one log line
 * naming the reason, before anything it sends is read as a message. The connect and
 * handshake deadlines cover the TLS handshake too.
 *
 * INBOUND BOUNDS. At most PEER_INBOUND_MAX accepted connections are open (more are closed
 * at once); one without a valid HELLO after PEER_HANDSHAKE_TIMEOUT_MS is closed; a new
 * link from a peer replaces its older one. Input is buffered one frame at a time.
 *
 * Everything runs on the loop thread; callbacks come from the loop (and from
 * net_peers_set / net_peers_remove for link-down events), never from net_peers_close.
 */
#ifndef SYN_NET_PEER_H
#define SYN_NET_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/rand.h"
#include "net/net.h"

/* A frame on the wire: u32 body length, u32 CRC32C of the body, then the body. */
#define PEER_FRAME_HEADER_BYTES 8

/* Callbacks into the server. `arg` is net_peer_options.arg. All run on the loop thread. */
struct net_peer_callbacks {
        /* A dialer whose HELLO passed the version, cluster and target checks says it is
         * server `from_id` (non-zero, not ours). Return true if it is a member (of the
         * configuration in effect or of the configuration file): the link is accepted. */
        bool (*on_hello)(void *arg, uint64_t from_id);
        /* One frame body from an accepted link, after its handshake. `body` is borrowed
         * until return. The callback may call any net_peer* function but net_peers_close. */
        void (*on_message)(void *arg, uint64_t from_id, const uint8_t *body, size_t len);
        /* A link changed state: `outbound` is our dial to peer_id (up = HELLO_OK received,
         * net_peer_connected is now true), otherwise a link peer_id dialed to us (up = its
         * HELLO was accepted). Every up is followed by exactly one down, except that
         * net_peers_close reports nothing. */
        void (*on_link)(void *arg, uint64_t peer_id, bool outbound, bool up);
};

struct net_peer_options {
        const char *address; /* where to listen: IP address or host name; borrowed for init */
        int port;            /* 0 = pick a free port (see net_peers_port) */
        uint64_t cluster_id; /* sent in every HELLO; HELLOs with another one are refused */
        uint64_t self_id;    /* this server, non-zero */
        /* Unacknowledged data (or unanswered keepalive probes) for this long aborts a link,
         * ms (TCP_USER_TIMEOUT; PEER_TCP_USER_TIMEOUT_MS is the server's); 0: the kernel's
         * retransmission limits only. */
        unsigned int tcp_user_timeout_ms;
        /* sslQuorum: contexts for accepted and for dialed links (borrowed until
         * net_peers_close); both NULL: plain TCP. */
        struct net_tls_ctx *tls_accept;
        struct net_tls_ctx *tls_dial;
        struct net_peer_callbacks callbacks;
        void *arg;
};

/* Counters of one peer, for metrics (net_peer_stats). Monotonic except the state fields. */
struct net_peer_stats {
        bool connected;             /* our outbound link is up */
        bool inbound_up;            /* an accepted link from the peer is up */
        uint64_t dials;             /* connection attempts */
        uint64_t links_up;          /* outbound links that completed the handshake */
        uint64_t refusals;          /* handshakes the peer refused */
        uint64_t protocol_errors;   /* links to or from the peer closed for a bad frame */
        uint64_t msgs_sent;         /* frames queued for the peer */
        uint64_t bytes_sent;        /* bytes the socket took (headers included) */
        uint64_t msgs_received;     /* frames delivered to on_message */
        uint64_t bytes_received;    /* frame bytes (headers included) delivered */
        uint64_t drops_unconnected; /* messages dropped: link not up */
        uint64_t drops_full;        /* messages dropped: output at PEER_OUTPUT_BYTES_MAX, body
                                     * over PEER_FRAME_BYTES_MAX, or out of memory */
        uint64_t discarded_bytes;   /* output queued or in flight when the link dropped */
        uint64_t queued_bytes;      /* output queued or being written now */
};

/* Counters of the whole set: accepted connections and what has no known peer. */
struct net_peers_stats {
        uint32_t inbound_open;       /* accepted connections open (any state) */
        uint64_t inbound_accepted;   /* links accepted after a good HELLO */
        uint64_t inbound_refused;    /* HELLOs refused (any reason) */
        uint64_t inbound_over_limit; /* connections closed at once: PEER_INBOUND_MAX */
        uint64_t handshake_timeouts; /* accepted connections closed without a HELLO */
        uint64_t protocol_errors;    /* connections closed for a bad frame, any peer */
        uint64_t drops_unknown;      /* messages to an id that is not a configured peer */
        uint64_t tls_failures;       /* accepted connections closed: TLS handshake failed */
};

struct net_peer_conn; /* one TCP connection (peer.c) */

/* A configured peer: the outbound link we dial. Internal; read through net_peer_stats. */
struct net_peer_link {
        uint64_t id; /* 0 = free slot */
        char host[NET_ADDRESS_BYTES_MAX];
        int port;
        struct net_peers *peers;
        uv_timer_t timer;           /* backoff before a dial, or the deadline of the dial */
        struct net_peer_conn *conn; /* the current dial, or NULL between dials */
        uint32_t failures;          /* failed dials in a row: the backoff exponent */
        uint32_t generation; /* bumped when the address changes: stale resolves are ignored */
        bool resolving;      /* a uv_getaddrinfo for this link is pending */
        int last_failure;    /* why the last dial failed (0 after one came up): log changes */
        struct net_peer_stats stats;
};

struct net_peers {
        struct net *net;
        struct net_peer_options options; /* options.address is NULL after init */
        uv_tcp_t listener;
        uv_timer_t handshake_timer; /* sweeps accepted connections without a HELLO */
        struct net_hook flush;      /* registered with net: writes in the prepare hook */
        struct net_peer_link links[PEER_LINKS_MAX];
        struct net_peer_conn *inbound; /* accepted connections; inbound_open of them */
        struct net_peer_conn *dirty;   /* connections with output to write this iteration */
        struct syn_rand rand;          /* backoff jitter */
        uint64_t inbound_warn_ms;      /* when the last inbound problem was logged at WARN */
        bool closed;
        struct net_peers_stats stats;
};

/*
 * Binds and listens on options->address:port and hooks into net's prepare phase. `p` is
 * caller-owned, must not move, and must stay allocated until net_close(net) returns (its
 * libuv handles finish closing there). Returns 0, SYN_EINVAL (self_id 0, address not
 * resolvable) or SYN_ESYS (bind/listen failed); both logged. On error p needs no
 * net_peers_close (it would do nothing), but must stay allocated likewise.
 */
int net_peers_init(struct net_peers *p, struct net *net, const struct net_peer_options *o);

/* The port the listener is bound to (useful with port 0), or -1. */
int net_peers_port(const struct net_peers *p);

/*
 * Adds peer `id` at host:port (host borrowed for the call), or updates it: a new address
 * drops the current link (on_link down) and dials the new one at once; the same address
 * changes nothing. A new peer is dialed at once. Returns 0, SYN_EINVAL (id 0 or ours, host
 * empty or longer than NET_ADDRESS_BYTES_MAX - 1, port not in 1..65535) or SYN_ELIMIT
 * (PEER_LINKS_MAX peers already).
 */
int net_peers_set(struct net_peers *p, uint64_t id, const char *host, int port);

/*
 * Stops dialing peer `id` and drops our outbound link to it (on_link down if it was up);
 * unknown ids are ignored. Links the peer dialed to us stay: whether they are welcome is
 * on_hello's decision when they connect (a removed leader still needs our answers until
 * its removal commits, docs/raft.md).
 */
void net_peers_remove(struct net_peers *p, uint64_t id);

/*
 * Queues one frame with body[0, len) (copied) for peer `to`; it is written in this
 * iteration's prepare hook. Returns 0; SYN_ECLOSED if the link is not up, or `to` is not
 * a configured peer (dropped); SYN_ELIMIT if the output would pass PEER_OUTPUT_BYTES_MAX
 * (dropped); SYN_ETOOBIG if len > PEER_FRAME_BYTES_MAX; SYN_ENOMEM. Every drop is counted.
 */
int net_peer_send(struct net_peers *p, uint64_t to, const uint8_t *body, size_t len);

/*
 * Zero-copy sending: net_peer_begin reserves a frame header in the output of peer `to`
 * and returns that output, for the caller to append one body to (e.g. peer_raft_encode);
 * *start receives the header's offset. It returns NULL (the message is dropped, counted)
 * when net_peer_send would return SYN_ECLOSED or SYN_ELIMIT. The writer is borrowed until
 * the matching net_peer_end or net_peer_cancel, which must come before any other call of
 * this module (and before returning to the loop).
 *
 * net_peer_end frames what was appended after *start; it returns like net_peer_send and,
 * on error, removes it. net_peer_cancel removes it (an encoder failed).
 */
struct syn_writer *net_peer_begin(struct net_peers *p, uint64_t to, size_t *start);
int net_peer_end(struct net_peers *p, uint64_t to, size_t start);
void net_peer_cancel(struct net_peers *p, uint64_t to, size_t start);

/* True if our outbound link to `id` is up (messages to it are being sent). */
bool net_peer_connected(const struct net_peers *p, uint64_t id);

/* Fills *out with the counters of configured peer `id`. Returns 0 or SYN_ENOTFOUND. */
int net_peer_stats(const struct net_peers *p, uint64_t id, struct net_peer_stats *out);

/* The set's own counters (a copy). */
void net_peers_totals(const struct net_peers *p, struct net_peers_stats *out);

/*
 * Closes the listener, every link and timer, and unhooks from net, WITHOUT callbacks
 * (the server is shutting down). Must be called before net_close(net), from outside the
 * callbacks of this module; queued output is discarded. The handles finish closing in
 * net_close (or the loop's next iteration); until then `p` must stay allocated.
 */
void net_peers_close(struct net_peers *p);

#endif
