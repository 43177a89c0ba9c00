/*
 * server: the single-node synod server — the wiring of net, proto, raft,
 * storage, tree, session and watch, and the policy between them.
 *
 * Files:
 *   main.c      `synod serve [-c zoo.cfg]`: config, logging, run, exit code
 *   config.c    the table-driven configuration (config.h)
 *   server.c    start-up (snapshot + WAL recovery through raft_init), shutdown,
 *               the net callbacks, the tick (raft ticks, expiry, reaping)
 *   host.c      THE ORDER: every raft_update is obeyed persist → send → apply →
 *               reply, written once, here
 *   conns.c     the connection table: accept (per-IP counts), lookups by id and by
 *               session, reply output, close and deferred free
 *   handshake.c the ConnectRequest: new sessions (a replicated txn), resumed ones
 *   pipeline.c  per-connection request intake: auth, the per-session FIFO
 *               (pipeline.h), backpressure; reads run, writes go to propose.c
 *   propose.c   requests become txns (ZooKeeper's PrepRequestProcessor) and
 *               are proposed; waiters are registered by (session id, cxid)
 *   registry.c  the writes waiting for their entry, keyed by (session id, cxid)
 *   apply.c     committed entries → tree → watch events → the waiter's reply
 *               (ZooKeeper's FinalRequestProcessor)
 *   reads.c     the read requests answered from the local tree
 *   sessions.c  session ids, expiry and container/TTL reaping (leader only)
 *   snapshot.c  background snapshots with fork(), retention
 *   report.c    one collection of the server's state for every reporter
 *   stats.c     four-letter words from the report
 *   admin_host.c the admin server's /commands, /metrics and web console, routed on the loop
 *   backup.c    the admin command `snapshot`: a backup streamed from a snapshot file
 *   auth.c      digest auth (auth.h); pipeline_queue.c the FIFO (pipeline.h)
 *
 * Everything runs on the loop thread; the WAL's I/O thread only wakes the loop.
 * The structs are public so the caller owns the memory (house rule 15); their
 * fields are private to src/server.
 */
#ifndef SYN_SERVER_SERVER_H
#define SYN_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/hist.h"
#include "base/limits.h"
#include "base/rand.h"
#include "base/zk_types.h"
#include "net/net.h"
#include "net/peer.h"
#include "proto/fourlw.h"
#include "proto/peer.h"
#include "proto/zk_records.h"
#include "raft/raft.h"
#include "replica/replica.h"
#include "replica/sm.h"
#include "server/auth.h"
#include "server/config.h"
#include "server/pipeline.h"
#include "session/session.h"
#include "storage/storage.h"
#include "tree/tree.h"
#include "watch/watch.h"

struct srv;
struct admin_server;
struct admin_console;

/* The cluster's membership (members.c): from the file until the tree has it. */
struct srv_members {
        uint32_t count;
        struct srv_member m[RAFT_NODES_MAX];
        uint64_t version;
        bool from_tree; /* read from /zookeeper/config (else the configuration file's) */
};

enum srv_conn_state {
        SRV_CONN_HANDSHAKE = 1, /* waiting for the ConnectRequest */
        SRV_CONN_CONNECTING,    /* CREATE_SESSION proposed, waiting for its apply */
        SRV_CONN_ACTIVE,        /* session attached */
        SRV_CONN_CLOSED,        /* socket gone; freed at the next before_sleep */
};

/* A linearizable read in progress (readindex.c): sync, or an unknown session's handshake. */
struct srv_read_wait {
        uint64_t ctx;
        uint64_t index; /* serve once applied >= index (valid if have_index) */
        bool have_index;
        bool active; /* on srv.read_waits */
        bool asked;  /* a ReadIndex request with its ctx went to Raft */
        int64_t started_ms;
        void (*done)(struct srv *srv, struct srv_read_wait *w, bool ok);
        struct srv_read_wait *prev, *next;
};

/* One client connection. Its waiters leave the registry when it closes, so
 * nothing applied later can reach a closed connection. */
struct srv_conn {
        uint64_t id; /* conn_id for the watch manager; never reused */
        struct srv *srv;
        struct net_conn *net; /* NULL once closed */
        enum srv_conn_state state;
        uint64_t session_id;
        int32_t timeout_ms; /* negotiated */
        bool has_read_only;
        uint8_t passwd[ZK_PASSWD_BYTES];
        struct pl_queue queue;
        /* Identities: ids[0] is ip:<address>; then one per digest auth. */
        struct zk_id ids[SRV_CONN_AUTH_IDS_MAX];
        char *id_strings[SRV_CONN_AUTH_IDS_MAX]; /* owned storage of ids[i].id */
        int32_t id_count;
        bool super;
        char ip[64];
        int port;
        /* statistics for stat/cons */
        uint64_t packets_received;
        uint64_t packets_sent;
        int64_t established_ms;
        uint64_t accepted_mono_ms; /* for the handshake deadline */
        int64_t last_response_ms;
        int32_t last_cxid;
        int64_t last_zxid;
        int32_t last_op;
        int64_t last_latency_ms;
        int64_t latency_min_ms, latency_max_ms, latency_total_ms;
        uint64_t latency_count;
        bool dead;                     /* on srv.dead, freed at the next before_sleep */
        struct srv_conn *hash_next;    /* srv.conns bucket chain, then srv.dead */
        bool stalled;                  /* reads held back by a full output */
        bool stalled_listed;           /* on srv.stalled (kept alive until pumped) */
        struct srv_conn *stalled_next; /* srv.stalled chain */
        struct srv_conn *session_next; /* srv.sessions bucket chain */
        bool touched;                  /* active since the last TOUCH batch to the leader */
        /* A session this server does not know yet, checked again after a ReadIndex
         * round (the client may have created it through another server just now). */
        struct srv_read_wait resume_wait;
        uint64_t resume_session_id;
        uint8_t resume_passwd[ZK_PASSWD_BYTES];
        int32_t resume_timeout_ms;
};

/* Leader: a forwarded txn waiting for room in Raft (cluster.c's backlog). */
struct srv_forwarded {
        uint64_t from;
        size_t len;
        struct srv_forwarded *next;
        uint8_t bytes[];
};

/* A Raft message held by the replica until the WAL flush that carries its update is
 * durable (replica.h), encoded. */
struct srv_held {
        uint64_t to;
        size_t len;
        uint8_t bytes[]; /* the encoded peer message */
};

/*
 * A write waiting for its entry to be applied, registered in the registry by
 * (session id, cxid) when it is proposed: the apply path finds it from the
 * committed txn alone, whichever server proposed it and whatever its log index
 * (etcd's wait registry). Embedded in the request it belongs to.
 */
struct srv_waiter {
        uint64_t session_id;
        int32_t cxid;
        bool registered;
        struct srv_conn *conn;
        /* Called once, by apply, with the applied txn (borrowed for the call) and its zxid. */
        void (*on_applied)(struct srv *srv, struct srv_waiter *w, const struct txn *txn,
                           uint64_t zxid);
        struct srv_waiter *next; /* registry bucket chain */
};

/* The cxid under which a CREATE_SESSION txn is registered: no client xid is this. */
#define SRV_CXID_CREATE_SESSION INT32_MIN

/* A request waiting in a connection's FIFO (read or write). */
struct srv_req {
        struct pl_item item;
        struct srv_waiter waiter;       /* writes: registered while proposed */
        struct srv_read_wait read_wait; /* sync: its ReadIndex round */
        struct zk_request req;          /* decoded from frame */
        int32_t canned_err;             /* non-zero: answer this error instead of running req */
        bool decoded;
        int64_t recv_ms;
        size_t len;
        uint8_t frame[]; /* copy of the request frame: req's strings point into it */
};

#define SRV_CONN_BUCKETS   1024
#define SRV_WAITER_BUCKETS 4096
#define SRV_IP_BUCKETS     1024

/* Open connections from one address (maxClientCnxns), in srv.ips. */
struct srv_ip_count {
        char ip[64];
        uint32_t count;
        struct srv_ip_count *next;
};

/* Operations whose latency is kept apart (a histogram each, /metrics). */
enum srv_op_class {
        SRV_OP_CREATE,
        SRV_OP_DELETE,
        SRV_OP_EXISTS,
        SRV_OP_GET_DATA,
        SRV_OP_SET_DATA,
        SRV_OP_GET_ACL,
        SRV_OP_SET_ACL,
        SRV_OP_GET_CHILDREN,
        SRV_OP_SYNC,
        SRV_OP_MULTI,
        SRV_OP_PING,
        SRV_OP_SESSION, /* close session, set watches, add/remove watches, whoami ... */
        SRV_OP_OTHER,
        SRV_OP_CLASS_COUNT
};

struct srv_stats {
        uint64_t packets_received;
        uint64_t packets_sent;
        int64_t latency_min_ms, latency_max_ms, latency_total_ms;
        uint64_t latency_count;
        uint64_t auth_failed;
        uint64_t conns_rejected;
        uint64_t requests_throttled;
        uint64_t reads_before_apply; /* reads run just before a later write's apply */
        uint64_t sessions_expired;
        uint64_t nodes_reaped;
        uint64_t snapshots_taken;
        uint64_t snapshots_failed;
        uint64_t entries_applied;
        uint64_t fsync_count;
        uint64_t wal_no_space_stalls;
        uint64_t writes_refused_no_space;
        uint64_t peer_msgs_sent;
        uint64_t peer_msgs_received;
        uint64_t peer_protocol_errors;
        uint64_t writes_forwarded;
        uint64_t conns_closed_inflight;
        /* Histograms for /metrics (request latencies in ms, as ZooKeeper counts them). */
        struct syn_hist op_latency_ms[SRV_OP_CLASS_COUNT];
        struct syn_hist read_latency_ms;   /* ZooKeeper's readlatency */
        struct syn_hist update_latency_ms; /* ZooKeeper's updatelatency */
        struct syn_hist snapshot_ms;       /* fork to the child's exit, taken snapshots */
        struct wal_status wal;             /* the WAL's last polled status: fsync histograms */
        uint64_t admin_requests;           /* answered by the admin server */
        uint64_t admin_refused;            /* refused: auth, whitelist, limits */
        uint64_t backups_sent;             /* snapshot files sent by the admin `snapshot` */
        uint64_t fourlw_refused;           /* listings not run: earlier answers unsent */
        uint64_t fourlw_truncated;         /* listings cut at NET_FOURLW_OUTPUT_BYTES_MAX */
        uint64_t malloc_trims;
};

struct srv {
        struct srv_config config;
        struct net net;
        bool net_ready;
        struct net_tls_ctx *client_tls; /* owned; NULL without secureClientPort */
        struct net_async wal_async;
        bool wal_async_ready;
        struct wal wal;
        bool wal_open;
        struct raft raft;
        bool raft_ready;
        /* The tree, the watches and the last apply's outcome (replica/sm.h); sm.applied
         * is the last log index applied (NOOPs included) = zxid, sm.applied_config the
         * Raft configuration as of it (written into snapshots). */
        struct sm sm;
        struct sess_expiry expiry;
        bool expiry_ready;
        struct tree_paths paths;   /* reused for reaping and getEphemerals */
        struct syn_writer scratch; /* txn encoding */
        struct syn_rand rng;       /* session passwords */
        /* Whether the loaded snapshot carried its Raft configuration (an older one
         * does not: the configuration file's is used). */
        bool snapshot_has_config;
        uint64_t snapshot_index; /* of the newest durable snapshot */
        uint64_t logged_bytes;   /* entry payload logged since the last snapshot began */
        uint64_t session_seq;    /* low bits of the next session id */
        uint64_t next_conn_id;
        struct srv_conn *conns[SRV_CONN_BUCKETS];    /* by id */
        struct srv_conn *sessions[SRV_CONN_BUCKETS]; /* by session id (ACTIVE only) */
        uint32_t conn_count;
        struct srv_conn *dead;                    /* closed connections waiting to be freed */
        struct srv_conn *stalled;                 /* connections whose reads wait for output room */
        struct srv_ip_count *ips[SRV_IP_BUCKETS]; /* open connections per address */
        struct srv_waiter *waiters[SRV_WAITER_BUCKETS]; /* by (session id, cxid) */
        uint32_t waiter_count;
        /* The host order over raft and sm (replica.h; host.c plugs in the WAL, the peer
         * links and the effects of applies). */
        struct replica replica;
        enum raft_role role;
        uint64_t term;
        uint64_t leader_id;            /* RAFT_NONE while unknown */
        int64_t leader_lost_ms;        /* mono ms when the leader became unknown */
        int64_t leader_since_ms;       /* mono ms this server last became leader */
        bool inflight_doomed;          /* the leader changed: close connections with writes */
        bool reads_orphaned;           /* the leader changed: ReadIndex waits to ask again */
        uint32_t reads_overtaken_max;  /* pipeline rule 2, from jute.maxbuffer */
        uint64_t members_written_term; /* the term in which this server, leading, proposed
                                        * writing the membership to the tree: once per term
                                        * (it commits within the term or is lost with it) */
        bool serving;                  /* caught up: clients are accepted (server.c) */
        uint64_t ready_index;          /* applied must reach this before serving */
        /* cluster.c, members.c */
        bool clustered; /* server.N lines: Raft over the network */
        struct srv_members members;
        struct net_peers peers;
        /* sslQuorum's contexts for accepted and dialed peer links; owned, else NULL. */
        struct net_tls_ctx *peer_tls_accept;
        struct net_tls_ctx *peer_tls_dial;
        bool peers_ready;
        struct peer_raft_decoded *decoded; /* receive buffer of one raft message */
        uint8_t *chunk;                    /* RAFT_SNAPSHOT_CHUNK_BYTES: an outgoing chunk */
        struct syn_writer peer_scratch;
        struct syn_writer forward; /* the batch of txns forwarded this iteration */
        struct srv_forwarded *backlog_head, *backlog_tail; /* leader: waiting for room */
        uint64_t backlog_bytes;                            /* <= SRV_FORWARD_BACKLOG_BYTES_MAX */
        uint32_t forward_count;
        uint64_t forward_leader;
        int64_t last_touch_ms;
        /* readindex.c */
        struct srv_read_wait *read_waits, *read_waits_tail; /* oldest first */
        uint32_t read_waits_count;
        uint32_t read_waits_unasked; /* asked by readindex_flush, one request for all */
        uint64_t next_read_ctx;
        pid_t snapshot_pid; /* 0 = no snapshot child running */
        uint64_t snapshot_child_index;
        uint64_t snapshot_child_term;
        int64_t snapshot_started_ms; /* mono ms the running child was forked */
        int64_t snapshot_wall_ms;    /* wall ms the newest snapshot was written; 0 = none */
        int64_t last_reap_ms;
        int64_t last_purge_ms;
        int64_t snapshot_failed_ms; /* mono ms of the last failed snapshot child */
        bool snapshot_forced;       /* a backup asked for one now (backup.c) */
        int64_t last_handshake_scan_ms;
        int64_t start_ms;
        int fatal; /* SYN_OK, or the error that stopped the server */
        /* host.c: the WAL waits for disk space; client writes are refused meanwhile */
        bool wal_no_space;
        int64_t no_space_transfer_ms; /* mono ms of the last handover it asked for */
        bool stopping;
        bool shutting_down; /* SIGTERM: handing leadership over, then stopping */
        int64_t shutdown_deadline_ms;
        int64_t last_slow_tick_ms;
        /* Giving freed heap back (server.c): the clients' memory and the tree's node count
         * at their highest since the last malloc_trim, and a large four-letter answer was
         * built since. */
        uint64_t trim_peak_bytes;
        uint64_t trim_peak_nodes;
        bool trim_due;
        int64_t last_trim_ms;
        struct srv_stats stats;
        struct admin_server *admin; /* NULL: disabled or not started (admin_host.c) */
        struct net_async admin_async;
        struct admin_console *console; /* its API's workers; NULL with admin */
        /* Where the console's client sessions connect: this server's client port. */
        char console_servers[NET_ADDRESS_BYTES_MAX + 16];
        /* backup.c: admin requests waiting for the next snapshot; borrowed from the admin
         * server until answered. */
        struct admin_request *backup_waiting[SRV_BACKUPS_MAX];
        uint32_t backup_waiting_count;
};

/*
 * Starts the server: data directory, snapshot + WAL recovery, raft (single voter),
 * listener. `config` is copied. Returns 0; SYN_ECORRUPT (a corrupt WAL or no valid
 * snapshot where one is needed: logged with the file), SYN_ESYS (bind, mkdir),
 * SYN_ENOMEM or another SYN_E* code. On error everything is released.
 */
int srv_init(struct srv *srv, const struct srv_config *config);

/* Runs until SIGINT/SIGTERM or a fatal error; returns 0 or that error. */
int srv_run(struct srv *srv);

/* Closes connections, waits for the WAL, frees everything. */
void srv_close(struct srv *srv);

/* ---- private to src/server ----
 * All run on the loop thread. Pointers to srv_conn stay valid until the next
 * before_sleep after the connection closed (conns_free_dead frees them then).
 */

/* host.c: the one place that steps raft and obeys its updates (persist → send → apply). */
/* Proposes `data` (borrowed for the call) as a normal entry; *index = its log index = zxid.
 * Errors: SYN_ENOTLEADER, SYN_EBUSY, SYN_ETOOBIG, SYN_ENOMEM from raft, or the fatal error. */
int host_propose(struct srv *srv, const uint8_t *data, size_t len, uint64_t *index);
/* One raft tick. */
void host_tick(struct srv *srv);
/* Hands the WAL batch to the I/O thread (group commit) and applies what is durable. */
void host_before_sleep(struct srv *srv);
/* The WAL's async wake-up (arg = srv): steps RAFT_EV_PERSISTED for durable marks. */
void host_wal_done(void *arg);
/* Starts an election now (a single voter wins it at once). */
void host_campaign(struct srv *srv);
/* Steps raft with `ev` (borrowed) and obeys the update; returns raft's error. */
int host_step(struct srv *srv, const struct raft_event *ev);
/* Sets srv->replica up over srv->raft and srv->sm (once both are open). */
void host_init(struct srv *srv);
/* Stops the server: logs `what` and `err` once, records err as the exit status. */
void host_fatal(struct srv *srv, int err, const char *what);
/* A leader asks Raft to hand leadership to the voter with the longest log; `why` is
 * logged. Returns raft's error, or SYN_ENOTFOUND when there is no other voter. */
int host_transfer_leadership(struct srv *srv, const char *why);

/* conns.c: the connection table. */
/* net's on_accept: false refuses (maxClientCnxns, SRV_CONNS_MAX, shutting down). */
bool conns_accept(struct srv *srv, struct net_conn *nc, const char *ip);
/* net's on_close: detaches the connection (session map, watches, waiters, queue). */
void conns_closed(struct srv *srv, struct srv_conn *conn);
/* Closes the socket (with `flush`, after the queued output); on_close follows at once. */
void conns_close(struct srv *srv, struct srv_conn *conn, bool flush);
/* Frees the connections retired since the last call. */
void conns_free_dead(struct srv *srv);
/* Retires a closed connection that nothing refers to any more (freed at the next
 * conns_free_dead, so no running caller holds a freed pointer). */
void conns_maybe_free(struct srv *srv, struct srv_conn *conn);
/* Closes connections that sent no ConnectRequest within minSessionTimeout (like
 * ZooKeeper's session-less connection expiry), so idle sockets cannot hold slots. */
void conns_close_silent(struct srv *srv);
/* Shutdown: frees every connection and queued request (the sockets are already closed). */
void conns_free_all(struct srv *srv);
/* Lookups; NULL if none. */
struct srv_conn *conns_by_id(struct srv *srv, uint64_t id);
struct srv_conn *conns_by_session(struct srv *srv, uint64_t session_id);
void conns_attach_session(struct srv *srv, struct srv_conn *conn);
void conns_detach_session(struct srv *srv, struct srv_conn *conn);
/* Appends a reply frame to the connection's output (dropped if it is closed); body may be
 * NULL and is borrowed for the call. */
void conns_send_reply(struct srv_conn *conn, const struct zk_reply_header *h,
                      const struct zk_response *body);
/* Closes every connection with a write in flight (proposed or forwarded, not yet
 * applied): its replies may no longer come in session order. Logs `why` once. */
void conns_close_inflight(struct srv *srv, const char *why);
/* Closes every client connection (the server stops serving). */
void conns_close_all(struct srv *srv, const char *why);
/* Request latency bookkeeping (stat, cons, mntr, /metrics) of a request of type op. */
void conns_record_latency(struct srv_conn *conn, int64_t recv_ms, int32_t op);
/* The connection's identities for ACL checks (borrowed from conn). */
struct txn_auth conns_auth(const struct srv_conn *conn);

/* handshake.c: the first frame of a connection, its ConnectRequest. */
void handshake_frame(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len);

/* pipeline.c: requests of ACTIVE connections through the per-session FIFO (pipeline.h). */
/* One frame (borrowed for the call) of a connection. */
void pipeline_frame(struct srv *srv, struct srv_conn *conn, const uint8_t *data, size_t len);
/* Runs what the head of the connection's FIFO allows (reads, proposals). */
void pipeline_pump(struct srv *srv, struct srv_conn *conn);
/* Committed entry e is about to be applied: if it is a write of a connection here, the
 * reads queued ahead of it run now, whatever the output room (pipeline.h, rule 1). */
void pipeline_before_apply(struct srv *srv, const struct raft_entry *e);
/* Runs the reads held back by backpressure where the output has room again. */
void pipeline_pump_stalled(struct srv *srv);
/* Marks the connection (not) stalled: it is pumped again from before_sleep. */
void pipeline_set_stalled(struct srv *srv, struct srv_conn *conn, bool stalled);
/* Frees a queued request (any kind); its waiter must not be registered. */
void pipeline_req_free(void *req);

/* propose.c: writes become txns and are proposed; their waiters are registered. */
/* Proposes the queued write `item` of conn (a request or a CREATE_SESSION). Returns 0
 * (proposed and registered), SYN_EBUSY (Raft refuses for now: retry later) or another
 * error (the write was not proposed). */
int propose_write(struct srv *srv, struct srv_conn *conn, struct pl_item *item);
/* Completes the barrier r at the head of conn's queue whose round is over: pops it,
 * answers it, frees it (the caller pumps the queue). */
void propose_sync_complete(struct srv *srv, struct srv_conn *conn, struct srv_req *r);
/* Proposes a txn of the server itself (expiry, reaping): nobody waits for it. */
int propose_server_txn(struct srv *srv, const struct txn *t);
/* Whether a request of this opcode is a write (goes through Raft). */
bool propose_is_write(int32_t type);

/* cluster.c: peer messages (Raft, forwarded writes, refusals, session touches). */
/* Starts the peer links of a clustered server (after raft_init). */
int cluster_init(struct srv *srv);
void cluster_close(struct srv *srv);
/* Sends a raft message now (dropped on failure: Raft retries). */
void cluster_send_raft(struct srv *srv, const struct raft_message *m);
/* The encoded copy of m the replica holds until its flush is durable (malloc'ed; NULL:
 * dropped), and its release: sent if `send`, then freed. */
struct srv_held *cluster_hold_raft(struct srv *srv, const struct raft_message *m);
void cluster_release_held(struct srv *srv, struct srv_held *h, bool send);
/* Follower: queues an encoded txn (borrowed for the call) for the leader. SYN_EBUSY
 * when no leader can take it now, SYN_ETOOBIG, SYN_ENOMEM. */
int cluster_forward(struct srv *srv, const uint8_t *txn, size_t len);
/* Sends the forward batch of this iteration. */
void cluster_flush(struct srv *srv);
/* Leader: proposes the forwarded txns that waited for room, in order (before_sleep). */
void cluster_drain_backlog(struct srv *srv);
/* Follower: tells the leader which sessions were active (every SRV_TOUCH_INTERVAL_MS). */
void cluster_touch_tick(struct srv *srv);

/* members.c: the membership in /zookeeper/config and Raft's configuration. */
/* The membership of the configuration file (start-up). */
void members_init(struct srv *srv);
/* /zookeeper/config may have changed (an apply, a snapshot load): re-read it. */
void members_tree_changed(struct srv *srv);
/* Raft's configuration changed: dial whom it names. */
void members_raft_changed(struct srv *srv);
/* Leader, every slow tick: write the first membership, or take one step toward it. */
void members_tick(struct srv *srv);
/* Whether path is /zookeeper/config. */
bool members_is_config_path(struct zk_bytes path);
/* Whether /zookeeper/config holds a membership: a clustered server serves clients only then,
 * so no client of a new cluster reads it empty. */
bool members_in_tree(const struct srv *srv);
/* The new /zookeeper/config text of a reconfig request into out (*len bytes) and the node
 * version it must replace. Returns ZOK or the ZooKeeper error to answer (ZBADVERSION,
 * ZBADARGUMENTS, ZNEWCONFIGNOQUORUM, ZRECONFIGINPROGRESS). */
int32_t members_reconfig(struct srv *srv, const struct zk_reconfig_request *rq, char *out,
                         size_t cap, int32_t *len, int32_t *expected_version);

/* readindex.c: ReadIndex waits. */
/* Starts w; `done(srv, w, ok)` runs once applied reaches the read index (ok) or the
 * wait timed out (!ok), never inside this call. SYN_EBUSY: no leader known: retry. */
int readindex_start(struct srv *srv, struct srv_read_wait *w,
                    void (*done)(struct srv *srv, struct srv_read_wait *w, bool ok));
/* Asks Raft once for every wait started since the last flush (before_sleep). */
void readindex_flush(struct srv *srv);
/* Forgets w if it is active (its connection closed). */
void readindex_cancel(struct srv *srv, struct srv_read_wait *w);
/* Records the read states of an update. */
void readindex_states(struct srv *srv, const struct raft_read_state *states, size_t n);
/* Completes the waits that are ready, and fails those that timed out. */
void readindex_advance(struct srv *srv, int64_t now_ms);
/* The leader changed: the waits still without an index were asked of the old one, which
 * will never answer (nor does Raft pass them on): ask the new one (outside an update). */
void readindex_resend(struct srv *srv);

/* registry.c: writes waiting for their entry, by (session id, cxid). */
/* Registers w (caller-owned until removed or taken). SYN_EEXIST if the key is taken. */
int registry_add(struct srv *srv, struct srv_waiter *w);
/* Unregisters w if it is registered. */
void registry_remove(struct srv *srv, struct srv_waiter *w);
/* The waiter of an applied txn, unregistered, or NULL if nobody here waits for it. */
struct srv_waiter *registry_take(struct srv *srv, const struct txn *txn);
/* The waiter registered under (session_id, cxid), unregistered, or NULL. */
struct srv_waiter *registry_take_key(struct srv *srv, uint64_t session_id, int32_t cxid);
/* The waiter registered under (session id, cxid), left in place; NULL if none. */
struct srv_waiter *registry_find(struct srv *srv, uint64_t session_id, int32_t cxid);

/* apply.c: the effects of a committed entry the replica applied to srv->sm (sm_apply's
 * result rc; any error is fatal): watch notifications, then the waiter's reply. */
void apply_effects(struct srv *srv, const struct raft_entry *e, int rc);
/* Writes srv->sm.deliveries as notifications to their connections, then resets it. */
void apply_deliver_events(struct srv *srv);
/* The reply of an applied write (result in srv->sm.result) to its connection. */
void apply_reply_write(struct srv *srv, struct srv_conn *conn, int32_t xid, int32_t op,
                       const struct txn *txn, uint64_t zxid);

/* reads.c: answers one read-type request of an ACTIVE connection (xid/type in req). */
void reads_run(struct srv *srv, struct srv_conn *conn, const struct zk_request *req);

/* sessions.c: ids, timeouts, leader-side expiry and reaping. */
uint64_t sessions_new_id(struct srv *srv);
/* Expires sessions past their deadline and reaps containers/TTL nodes (leader only). */
void sessions_tick(struct srv *srv);
/* Any packet of an ACTIVE connection refreshes its session's deadline. */
void sessions_touch(struct srv *srv, struct srv_conn *conn);
int32_t sessions_clamp_timeout(const struct srv *srv, int32_t requested_ms);
/* A new leader starts tracking every session of the table with its full timeout. */
void sessions_track_all(struct srv *srv);

/* snapshot_transfer.c: InstallSnapshot between servers. */
/* Leader: reads [offset, offset + *len) of its snapshot file for meta (at most cap
 * bytes into buf); *done if that reaches the end. SYN_ENOTFOUND if the file is gone. */
int snapshot_chunk_read(struct srv *srv, const struct raft_snapshot_meta *meta, uint64_t offset,
                        uint8_t *buf, size_t cap, size_t *len, bool *done);
/* Follower: writes a received chunk into the file being received (fatal on I/O error). */
void snapshot_recv_chunk(struct srv *srv, const struct raft_snapshot_chunk *c);
/* Follower: makes the received file durable, verifies and loads it, restarts the WAL
 * after it and steps RAFT_EV_SNAPSHOT_INSTALLED (fatal if any of it fails). */
void snapshot_install(struct srv *srv, const struct raft_snapshot_meta *meta);

/* Opens the snapshot file of index/term read-only: the fd (the caller closes it), or -1
 * with errno set. */
int snapshot_file_open(const struct srv *srv, uint64_t index, uint64_t term);

/* backup.c: the admin command `snapshot` (ZooKeeper 3.9's, /commands/snapshot), which
 * streams a consistent snapshot of this server's state: the newest snapshot file if it
 * is current, else one taken now by the forked writer (snapshot.c); the HTTP thread
 * sends the file, so the loop never reads it. r is borrowed until it is answered. */
void backup_request(struct srv *srv, struct admin_request *r);
/* snapshot.c calls it after reaping a child: answers the waiting requests with the file
 * of index/term when ok, with an error otherwise. */
void backup_snapshot_done(struct srv *srv, bool ok, uint64_t index, uint64_t term);
/* Answers every waiting request with 503 (before the admin server stops). */
void backup_stop(struct srv *srv);

/* snapshot.c: fork snapshots, start-up load, retention. */
void snapshot_maybe_start(struct srv *srv);
/* Whether a snapshot is due: snapCount entries applied since the last one, or more
 * entry bytes logged than snapSizeLimitInKb and than a quarter of the tree. */
bool snapshot_due(const struct srv *srv);
/* SIGCHLD: collects the snapshot child; on success SNAPSHOT_TAKEN and retention. */
void snapshot_reap_child(struct srv *srv);
/* autopurge.purgeInterval timer. */
void snapshot_purge_tick(struct srv *srv);
/* Loads the newest valid snapshot into srv->sm.tree (or an empty tree) and its index, term.
 * Errors: SYN_ECORRUPT/SYN_ETRUNC (a snapshot that verified but does not load), I/O. */
int snapshot_load(struct srv *srv, uint64_t *index, uint64_t *term);

/* stats.c: answers a four-letter word on nc and closes it. */
void stats_fourlw(struct srv *srv, struct net_conn *nc, const char *word);

/* tls_setup.c: a TLS context from ssl.* (key_prefix "ssl.") or ssl.quorum.* settings, for
 * the accepting (`server`) or the dialing side; the caller owns *out (net_tls_ctx_free).
 * Returns 0 or an error, logged naming the key. */
int srv_tls_make(const struct srv_tls_settings *s, const char *key_prefix, bool server,
                 struct net_tls_ctx **out);

/* admin_host.c: the admin server (admin.*). Start logs an error and goes on without it
 * if the port cannot be bound, as ZooKeeper does; stop joins its thread (before net_close). */
void admin_host_start(struct srv *srv);
void admin_host_stop(struct srv *srv);
/* Answers r with status and {"command": command, "error": error} (r is done after). */
void admin_host_error(struct srv *srv, struct admin_request *r, unsigned status,
                      const char *command, const char *error);

/* report.c: one collection of the server's state for every reporter (the four-letter
 * words, /commands, /metrics), so they all print the same numbers. */
enum srv_report_part {
        SRV_REPORT_CONF = 1u << 0,       /* in.conf */
        SRV_REPORT_ENV = 1u << 1,        /* in.env */
        SRV_REPORT_BY_SESSION = 1u << 2, /* in.watch_pairs, by session (not with BY_PATH) */
        SRV_REPORT_BY_PATH = 1u << 3,    /* in.watch_pairs, by path */
        SRV_REPORT_DUMP = 1u << 4,       /* in.dump */
        SRV_REPORT_DIRS = 1u << 5,       /* in.data_dir_size, in.log_dir_size */
};

struct report_store;

struct srv_report {
        struct fourlw_input in; /* server and watch_summary always; the rest per part */
        struct fourlw_server server;
        struct report_store *store; /* owned: what in's pointers point to */
};

/* Fills r (the caller's, overwritten) with the server's numbers and the parts asked for
 * (a mask of enum srv_report_part). Returns 0 or SYN_ENOMEM (r is then empty). Free with
 * srv_report_free, before the loop runs again (paths are borrowed from the watch table). */
int srv_report_collect(struct srv *srv, unsigned parts, struct srv_report *r);
/* The parts the four-letter word prints beyond the server's numbers. */
unsigned srv_report_parts(enum fourlw_cmd word);
void srv_report_free(struct srv_report *r);
/* srst (server_stats) and crst (conn_stats). */
void srv_report_reset(struct srv *srv, bool server_stats, bool conn_stats);
/* The class of request type op, and its name in /metrics ("getData", ...). */
enum srv_op_class srv_op_class_of(int32_t op);
const char *srv_op_class_name(enum srv_op_class c);
/* Sets up the histograms of srv->stats (their bucket bounds). */
void srv_report_init_stats(struct srv *srv);

#endif
