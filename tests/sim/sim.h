/*
 * The deterministic Raft simulator of synod: the internal contract between its files.
 *
 * One process runs a whole cluster of raft cores (src/raft) with a simulated
 * clock, network and disk, all driven by one seed (TigerBeetle's VOPR and
 * cowsql's raft fixture are the models). Nothing reads the real clock and
 * nothing iterates in pointer order, so a seed replays exactly.
 *
 * Files:
 *   sim_queue.c   the priority queue of events, ordered by (time, slot, kind, seq)
 *   sim_msg.c     deep copies of raft messages and entries (the core's are borrowed)
 *   host_sim.c    one simulated node: the server's host order (src/replica:
 *                 replica.c obeys the core, sm.c is the real tree, sessions
 *                 and watches) over the non-durable disk and the network, the
 *                 checker's hooks, crash and restart
 *   snapshot_sim.c  the snapshot file: taken from the tree, sent in chunks
 *                 at the offsets the core asks for, received, installed
 *   workload.c    the clients: real txns (sessions, creates, setData, delete,
 *                 multi, reap) and watches set on the nodes
 *   clock_sim.c   each node's wall clock: offset, drift and jumps
 *   net_sim.c     the network: delay, loss, duplication, reordering, partitions
 *   checker.c     the safety invariants and Raft's rules as seen in messages,
 *                 checked after every step (docs/simulator.md lists them)
 *   check_watch.c the watch notifications against a model of one-shot and
 *                 persistent watches driven by the committed history
 *   cluster.c     the run: event loop, driver (clients, faults, membership),
 *                 fault phase, liveness phase, stability phase
 *   swarm.c       per-seed fault parameters ("swarm testing")
 *   main.c        the command line: one seed, or many in forked processes
 *
 * Time is in simulated microseconds. A node's timer ticks every SIM_TICK_US,
 * drifted by its clock (clock_sim.c) outside lease swarms. Every limit of the simulator is a named
 * constant here (tests are not a module of base/limits.h).
 */
#ifndef SYN_TESTS_SIM_SIM_H
#define SYN_TESTS_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/rand.h"
#include "raft/raft.h"
#include "replica/replica.h"
#include "replica/sm.h"

/* ---- limits ---- */

/* One tick of a node's timer, simulated us (the server ticks every 10 ms). */
#define SIM_TICK_US 10000
/* The driver (clients, fault injection) acts every this many simulated us. */
#define SIM_DRIVER_PERIOD_US 1000
/* Node slots: the initial voters plus one spare for membership changes. */
#define SIM_NODES_MIN 3
#define SIM_NODES_MAX 7
#define SIM_SLOTS_MAX (SIM_NODES_MAX + 1)
/* Client requests remembered per node until acknowledged or dropped. */
#define SIM_PROPOSALS_PER_NODE_MAX 64
#define SIM_READS_PER_NODE_MAX     64
/* A read not answered within this many simulated us is forgotten (the client times out). */
#define SIM_READ_TIMEOUT_US (2 * 1000 * 1000)
/* Clients wait for their writes: no new proposal while the leader has this many
 * uncommitted entries (closed-loop load; an open loop would outgrow replication
 * in the swarm's slowest configurations and make liveness meaningless). */
#define SIM_UNCOMMITTED_ENTRIES_MAX 32
/* Client txns (workload.c): the encoded size at most (a generator that
 * exceeds it is a simulator bug), data bytes per node, ops per multi. */
#define SIM_TXN_BYTES_MAX  1024
#define SIM_DATA_BYTES_MAX 32
#define SIM_MULTI_OPS_MAX  4
/* Live sessions the workload opens at most, and their timeouts. */
#define SIM_SESSIONS_MAX           4
#define SIM_SESSION_TIMEOUT_MS_MIN 2000
#define SIM_SESSION_TIMEOUT_MS_MAX 30000
/* TTL of TTL nodes, ms: short enough that some expire within a run. */
#define SIM_TTL_MS_MAX 3000
/* Children of one node before sequential creates under it give way to
 * deletes: with the fixed path set of workload.c this bounds the tree. */
#define SIM_TREE_CHILDREN_MAX 12
/* Nodes a REAP proposal looks at (tree_collect_reapable's max). */
#define SIM_REAP_SCAN_MAX 8
/* The bytes of a path of the workload, a sequence suffix included. */
#define SIM_PATH_BYTES_MAX 48
/* Watches: simulated client connections per node (ids 1..SIM_WATCH_CONNS),
 * the watches the model of a node tracks (registrations beyond are skipped),
 * and how often a watch action is a connection going away instead. */
#define SIM_WATCH_CONNS          3
#define SIM_WATCHES_PER_NODE_MAX 32
#define SIM_WATCH_DROP_PPM       100000
/* A snapshot stream, bytes at most. The workload bounds the tree far below:
 * ten fixed paths, each with at most SIM_TREE_CHILDREN_MAX sequential children
 * plus those proposed while earlier ones were uncommitted (up to
 * SIM_UNCOMMITTED_ENTRIES_MAX multis of SIM_MULTI_OPS_MAX creates), each node
 * well under 200 bytes of path, data and Stat: about 1,700 nodes, 340 KB. */
#define SIM_SNAPSHOT_BYTES_MAX (1024 * 1024)
/* InstallSnapshot chunk sizes the swarm draws from, bytes. */
#define SIM_SNAPSHOT_CHUNK_BYTES_MIN 64
/* Wall clocks (clock_sim.c): the epoch every clock starts near, the largest
 * drift rate, initial offset and jump (an NTP step) the swarm may draw. */
#define SIM_CLOCK_EPOCH_MS      1700000000000ll
#define SIM_CLOCK_DRIFT_PPM_MAX 10000
#define SIM_CLOCK_OFFSET_US_MAX (2ll * 1000 * 1000)
#define SIM_CLOCK_JUMP_US_MAX   (10ll * 1000 * 1000)
/* Default events per seed in the fault phase. */
#define SIM_STEPS_DEFAULT 20000
/* Liveness phase: after healing, a leader must commit a new entry on every member
 * within this many maximal election timeouts, plus the time to ship the largest
 * lag between logs (cluster.c, sim_liveness_bound_us). */
#define SIM_LIVENESS_ELECTIONS_MAX 40
/* Events queued at once: bounds the heap; exceeding it is a simulator failure. */
#define SIM_QUEUE_EVENTS_MAX (1u << 20)
/* Highest term the checker tracks: an election storm beyond it is reported. */
#define SIM_TERMS_MAX (1u << 20)
/* Highest log index the checker tracks. */
#define SIM_INDEX_MAX (1u << 22)
/* Parallel seed processes at most. */
#define SIM_JOBS_MAX 64

_Static_assert(SIM_SLOTS_MAX <= RAFT_NODES_MAX, "every slot can be a member");
_Static_assert(SIM_DRIVER_PERIOD_US < SIM_TICK_US, "the driver acts between ticks");
_Static_assert(SIM_TXN_BYTES_MAX <= RAFT_ENTRY_BYTES_MAX, "a txn is one entry");
_Static_assert(SIM_MULTI_OPS_MAX <= ZK_MULTI_OPS_MAX, "a multi the server accepts");
_Static_assert(SIM_SNAPSHOT_CHUNK_BYTES_MIN <= RAFT_SNAPSHOT_CHUNK_BYTES, "chunks are messages");
_Static_assert(SIM_CLOCK_DRIFT_PPM_MAX < 1000000, "a clock never runs backwards by drift");

/* ---- swarm parameters (swarm.c) ---- */

enum sim_partition_mode {
        SIM_PART_SYMMETRIC = 1 << 0,  /* random split into two groups */
        SIM_PART_ASYMMETRIC = 1 << 1, /* random one-way cuts */
        SIM_PART_MINORITY = 1 << 2,   /* one minority group cut off */
        SIM_PART_BRIDGE = 1 << 3,     /* two groups, one node talks to both */
        SIM_PART_LEADER = 1 << 4,     /* the current leader cut off from everyone */
};

/* The kinds of client txn (workload.c); the swarm weighs each per seed. */
enum sim_txn_kind {
        SIM_TXN_CREATE_SESSION,
        SIM_TXN_CLOSE_SESSION,
        SIM_TXN_CREATE,
        SIM_TXN_SET_DATA,
        SIM_TXN_DELETE,
        SIM_TXN_SET_ACL,
        SIM_TXN_MULTI,
        SIM_TXN_REAP,
        SIM_TXN_KINDS
};

/* Everything a seed decides about its run; printed on failure. Rates are per
 * driver action (every SIM_DRIVER_PERIOD_US) in parts per million. */
struct sim_swarm {
        uint64_t seed;
        uint32_t nodes; /* initial voters: 3, 5 or 7 */
        uint32_t election_ticks;
        uint32_t heartbeat_ticks;
        bool pre_vote;
        bool check_quorum;
        bool lease_read; /* only with check_quorum; such swarms never pause a node */
        uint32_t delay_us_min, delay_us_max;
        uint32_t drop_ppm;       /* per message */
        uint32_t delay_tail_ppm; /* per message: a long delay (a TCP retransmit) */
        uint32_t delay_tail_us_max;
        uint32_t duplicate_ppm; /* per message */
        uint32_t disk_us_min, disk_us_max;
        uint32_t crash_ppm;
        uint32_t down_us_max;
        /* Per delivered message: the receiver crashes right after handling it
         * (the moment a lost write or an early reply would matter), and comes
         * back within restart_fast_us_max. */
        uint32_t crash_after_receive_ppm;
        /* Per commit advance of a leader: it crashes right after (before the
         * rest of its term's entries spread: the Figure 3.7 schedule). */
        uint32_t crash_after_commit_ppm;
        uint32_t restart_fast_us_max;
        uint32_t torn_ppm; /* on a crash: unacknowledged writes partly reach the disk */
        uint32_t pause_ppm;
        uint32_t pause_us_max;
        uint32_t partition_ppm;
        uint32_t partition_modes; /* enum sim_partition_mode bits */
        uint32_t partition_us_max;
        uint32_t propose_ppm;
        uint32_t read_ppm;
        uint32_t conf_ppm;
        uint32_t transfer_ppm;
        uint32_t snapshot_ppm;
        uint64_t snapshot_trailing;
        uint64_t max_msg_bytes;     /* raft option: small values send one entry per append */
        uint32_t max_inflight_msgs; /* raft option */
        /* InstallSnapshot chunk size: small ones make transfers of many chunks,
         * resumed at the receiver's offset when one is lost. */
        uint32_t snapshot_chunk_bytes;
        uint32_t watch_ppm; /* a client sets a watch on some node */
        /* Clocks: each node's drift is drawn from +-clock_drift_ppm_max and its
         * initial offset from +-clock_offset_us_max; with clock_jump_ppm a
         * node's wall clock steps by up to +-clock_jump_us_max. Drift moves
         * the ticks too, except in lease swarms (clock_sim.c says why). */
        uint32_t clock_drift_ppm_max;
        uint32_t clock_offset_us_max;
        uint32_t clock_jump_ppm;
        uint32_t clock_jump_us_max;
        uint32_t txn_weight[SIM_TXN_KINDS]; /* the client mix, relative weights */
};

/* Fills s from seed; nodes_forced != 0 overrides the node count. */
void sim_swarm_from_seed(struct sim_swarm *s, uint64_t seed, uint32_t nodes_forced);
void sim_swarm_print(const struct sim_swarm *s, FILE *f);

/* ---- statistics (summed over seeds for the totals) ---- */

struct sim_stats {
        uint64_t seeds;
        uint64_t events;
        uint64_t sim_time_us;
        uint64_t msgs_sent, msgs_dropped, msgs_duplicated;
        uint64_t crashes, torn_writes, pauses, partitions;
        uint64_t conf_changes, transfers, snapshots, snapshots_installed;
        uint64_t proposals, acked_writes, reads_served, elections;
        uint64_t committed_max;
        /* Committed txns (counted once, on their first apply) and those whose
         * ZooKeeper outcome was an error (ZNONODE, ZBADVERSION, a failed multi,
         * ...), sessions opened, the largest tree; watch notifications checked;
         * snapshot chunks sent and those resent from an earlier offset; clock
         * jumps. */
        uint64_t txns, txns_refused, sessions_opened, tree_nodes_max;
        uint64_t watch_fires;
        uint64_t snapshot_chunks, snapshot_chunks_resent;
        uint64_t clock_jumps;
        uint64_t failures;
        /* Hash of every event and the state it left (one seed; not summed):
         * two runs of a seed must agree on it. */
        uint64_t digest;
};

void sim_stats_add(struct sim_stats *sum, const struct sim_stats *s);
void sim_stats_print(const struct sim_stats *s, FILE *f);

/* ---- messages (sim_msg.c) ---- */

/* A deep copy of a raft_message with its entries and payloads in one allocation. */
struct sim_packet {
        struct sim_packet *next; /* intrusive list (writes waiting to release messages) */
        struct raft_message msg; /* entries / snapshot data point into this allocation */
};

/* Copies m deeply. Returns NULL on allocation failure. Caller frees with sim_packet_free. */
struct sim_packet *sim_packet_copy(const struct raft_message *m);
void sim_packet_free(struct sim_packet *p);
/* 64-bit FNV-1a, extended: hash of a byte string continuing from h. */
uint64_t sim_hash_bytes(uint64_t h, const void *data, size_t len);
#define SIM_HASH_INIT 0xcbf29ce484222325ull
/* Hash of an entry's identity-free content (type and payload). */
uint64_t sim_entry_content_hash(const struct raft_entry *e);

/* ---- a simple owned log (host_sim.c) ---- */

struct sim_log {
        uint64_t snap_index; /* entries start at snap_index + 1 */
        uint64_t snap_term;
        struct raft_entry *e; /* e[i].index == snap_index + 1 + i; data owned */
        size_t n, cap;
};

/* ---- the event queue (sim_queue.c) ---- */

/* Ties at equal time are broken by slot, then kind, then insertion order. */
enum sim_ev_kind {
        SIM_EV_TICK = 0,
        SIM_EV_DISK = 1,
        SIM_EV_DELIVER = 2,
        SIM_EV_DRIVER = 3,
};

struct sim_event {
        uint64_t time_us;
        uint32_t slot; /* SIM_SLOTS_MAX for the driver */
        enum sim_ev_kind kind;
        uint64_t seq;
        uint32_t incarnation;      /* TICK/DISK: ignored if the node restarted since */
        struct sim_packet *packet; /* DELIVER: owned by the event */
};

struct sim_queue {
        struct sim_event *heap;
        size_t n, cap;
        uint64_t seq_next;
};

void sim_queue_init(struct sim_queue *q);
/* Frees the queue and any packets still in it. */
void sim_queue_close(struct sim_queue *q);
/* Copies ev in (seq is assigned). Returns SYN_ELIMIT over SIM_QUEUE_EVENTS_MAX. */
int sim_queue_push(struct sim_queue *q, struct sim_event ev);
/* Pops the earliest event into *ev; false when empty. */
bool sim_queue_pop(struct sim_queue *q, struct sim_event *ev);

/* ---- a node (host_sim.c) ---- */

/* A write handed to the simulated disk: (1) of one update. */
struct sim_write {
        struct sim_write *next;
        bool has_hard_state;
        struct raft_hard_state hard_state;
        uint64_t truncate_from;
        struct raft_entry *entries; /* owned copies */
        size_t n_entries;
        /* The flush that carries it (0 until the flush at the end of its step):
         * when the last write of a ticket is durable, so is the ticket. */
        uint64_t ticket;
        /* A received snapshot to make durable (u->snapshot_install); then the
         * write is nothing else and has no ticket. */
        bool snapshot_install;
        struct raft_snapshot_meta snapshot_meta;
        uint8_t *snapshot_bytes; /* owned: the received stream */
        size_t snapshot_len;
};

/* The host's snapshot file: the stream of replica/sm.h (configuration, tree) as
 * of meta.index, byte for byte what the server writes into its file. */
struct sim_snapshot {
        struct raft_snapshot_meta meta; /* index 0 = none */
        uint8_t *bytes;                 /* owned; NULL iff meta.index == 0 */
        size_t len;
};

/* The model of one node's watches (check_watch.c): what the committed history
 * says the watch manager must hold. */
struct sim_watch_entry {
        uint64_t conn_id;
        unsigned kinds; /* enum watch_kind bits */
        uint32_t path_len;
        char path[SIM_PATH_BYTES_MAX];
};

struct sim_watch_model {
        struct sim_watch_entry e[SIM_WATCHES_PER_NODE_MAX];
        uint32_t n;
};

struct sim_proposal {
        uint64_t index, term;
};

struct sim_read {
        uint64_t ctx;
        uint64_t start_us;
        uint64_t watermark; /* highest write acknowledged before the read started */
        uint64_t index;     /* from the read state; 0 = not yet answered */
        bool answered;
};

struct sim_node {
        struct sim_cluster *cluster; /* the run the node belongs to */
        uint32_t slot;
        uint64_t id;
        bool up;
        bool was_member; /* in some committed configuration (removal then kills it) */
        bool bootstrap;  /* an initial voter: starts with the bootstrap configuration */
        bool active; /* the slot holds a node that should be running (restarted after crashes) */
        uint32_t incarnation;
        uint64_t down_until_us;   /* while !up: restart at this time (0: stays down) */
        uint64_t paused_until_us; /* events postponed until then */
        struct raft core;
        /* The host order over core and sm: the server's own (src/replica). */
        struct replica rep;
        uint64_t ticket_seq;  /* the last flush ticket given */
        uint64_t done_ticket; /* the last ticket whose writes are all durable */

        /* The durable disk: what survives a crash. */
        struct raft_hard_state disk_hard_state;
        struct sim_log disk_log;
        struct sim_snapshot disk_snapshot;
        /* What the core asked to persist so far (durable or not): its log. */
        struct sim_log mirror;
        struct sim_write *writes_head, *writes_tail; /* FIFO of pending writes */
        uint64_t disk_free_us; /* the disk finishes the last pending write then */
        /* A snapshot being received (u->snapshot_chunk), growing to
         * SIM_SNAPSHOT_BYTES_MAX; volatile, like the server's recv.tmp whose
         * transfer restarts from offset 0 after a crash. */
        uint8_t *recv_snapshot;
        size_t recv_snapshot_len, recv_snapshot_cap;
        bool snapshot_installing;
        /* The offset of the last chunk sent to each slot (a resend counts). */
        uint64_t chunk_offset_sent[SIM_SLOTS_MAX];

        /* The state machine (volatile: rebuilt from the durable snapshot and log
         * after a restart) and the model its watch notifications must obey. */
        struct sm sm;
        struct sim_watch_model watch_model;

        /* The node's clocks (clock_sim.c): its hardware, so they stay with the
         * slot across restarts and new ids. */
        int64_t clock_drift_ppm;
        int64_t clock_offset_us; /* steps by the jumps */
        uint64_t tick_us;        /* its tick period: SIM_TICK_US, drifted */

        /* The vote request being handled in the current step, if any, and this
         * node's term and log before it (the checker's vote rules). */
        bool vote_req_valid;
        struct raft_message vote_req;
        uint64_t vote_req_term_before, vote_req_last_index, vote_req_last_term;
        bool leader_committed; /* its commit advanced as leader in the last step */
        /* Observed from the core. */
        enum raft_role role;
        uint64_t term;
        uint64_t commit;

        /* Clients of this node. */
        struct sim_proposal proposals[SIM_PROPOSALS_PER_NODE_MAX];
        uint32_t n_proposals;
        struct sim_read reads[SIM_READS_PER_NODE_MAX];
        uint32_t n_reads;
};

/* ---- the checker (checker.c) ---- */

struct sim_committed {
        uint64_t term;
        /* The highest term any node had when this entry was first known committed:
         * it was committed in a term <= this, so every leader of a higher term
         * must hold it (leader completeness, §5.4). */
        uint64_t term_bound;
        uint64_t content_hash;
        /* The tree's digest after applying this entry, a hash of the apply's
         * outcome (the result and the tree events), and the first node that
         * applied it (for the report). */
        uint64_t digest;
        uint64_t outcome_hash;
        uint64_t digest_node;
        /* The hash of the snapshot bytes taken at this index and who took it
         * first (0: none): snapshots at one index must be byte-identical,
         * since a receiver resumes a transfer from another leader's copy. */
        uint64_t snapshot_hash;
        uint64_t snapshot_node;
        bool known;
};

struct sim_checker {
        uint64_t *leader_of_term; /* [term] = leader id, 0 none; grows */
        size_t terms_cap;
        struct sim_committed *committed; /* [index]; grows */
        size_t committed_cap;
        uint64_t committed_max; /* highest index known committed */
        /* Log matching: every (index, term) ever appended anywhere -> content and
         * the term of the entry before it (open addressing). */
        struct sim_match_slot *match;
        size_t match_cap, match_n;
        uint64_t write_watermark; /* highest write index acknowledged to a client */
        uint64_t max_term;        /* highest term any node has reached */
        bool failed;
        char reason[512];
};

struct sim_cluster;

int sim_checker_init(struct sim_checker *ck);
void sim_checker_close(struct sim_checker *ck);
/* Records a violation (the first one wins) and stops the run. */
void sim_fail(struct sim_cluster *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An entry was appended to n's log after prev_term: log matching (§5.3). */
void sim_check_append(struct sim_cluster *c, struct sim_node *n, const struct raft_entry *e,
                      uint64_t prev_term);
/* n applied e (n->sm is the state after it): committed history, and the tree
 * digest and tree events equal on every node that applied e. */
void sim_check_apply(struct sim_cluster *c, struct sim_node *n, const struct raft_entry *e);
/* n reports role leader in term: election safety, and leader completeness. */
void sim_check_leader(struct sim_cluster *c, struct sim_node *n, bool new_leader);
/* n emits m (about to leave, or to wait for persistence): the vote rules of
 * Figure 3.1 / §9.6 as seen in messages. */
void sim_check_emit(struct sim_cluster *c, struct sim_node *n, const struct raft_message *m);
/* m leaves n now: whatever it promises must already be durable on n. */
void sim_check_release(struct sim_cluster *c, struct sim_node *n, const struct raft_message *m);
/* n's commit index moved from `before` in a step that n ended as leader (of
 * its current term, possibly since this step): the new commit must be of that
 * term and durable on a majority of n's voters. */
void sim_check_leader_commit(struct sim_cluster *c, struct sim_node *n, uint64_t before);
/* n loaded a snapshot into n->sm: its tree digest must match the committed
 * history at the snapshot's index, and its configuration the snapshot's meta. */
void sim_check_snapshot_loaded(struct sim_cluster *c, struct sim_node *n,
                               const struct raft_snapshot_meta *meta);
/* At the end of a run: every running node's tree passes tree_check (its
 * derived structures and digest recomputed from scratch) and its watch
 * manager holds what the model says. */
void sim_check_end(struct sim_cluster *c);
/* n wrote a snapshot of len bytes at index: byte-identical to every other
 * snapshot at that index. */
void sim_check_snapshot_taken(struct sim_cluster *c, struct sim_node *n, uint64_t index,
                              const uint8_t *bytes, size_t len);

/* check_watch.c: the model of a node's watches, and the check after an apply
 * that n->sm.deliveries are exactly the notifications the model owes for
 * n->sm.events (which sim_check_apply holds to the committed history). */
void sim_watch_model_clear(struct sim_watch_model *m);
/* Records a registration the watch manager accepted; false if the model is full. */
bool sim_watch_model_add(struct sim_watch_model *m, uint64_t conn_id, unsigned kinds,
                         const char *path, size_t path_len);
bool sim_watch_model_full(const struct sim_watch_model *m);
void sim_watch_model_drop_conn(struct sim_watch_model *m, uint64_t conn_id);
void sim_check_watches(struct sim_cluster *c, struct sim_node *n, uint64_t index);
/* The manager holds exactly the watches of the model (after notifications,
 * and at the end of a run). */
void sim_check_watches_held(struct sim_cluster *c, struct sim_node *n);

/* ---- the cluster (cluster.c, net_sim.c, host_sim.c) ---- */

struct sim_options {
        uint64_t steps; /* events in the fault phase */
        bool trace;
        /* Off: only the end-to-end properties are checked (election safety, log
         * matching, completeness, state machines, reads, liveness), not the
         * rules as seen in messages and in what is applied. To measure what
         * the end-to-end checks catch on their own. */
        bool rule_checks;
};

struct sim_cluster {
        struct sim_swarm sw;
        struct sim_options opt;
        struct syn_rand rand;
        struct sim_queue q;
        uint64_t now_us;
        uint32_t n_slots;
        struct sim_node nodes[SIM_SLOTS_MAX];
        uint64_t next_id;
        bool link_cut[SIM_SLOTS_MAX][SIM_SLOTS_MAX]; /* [from][to] */
        uint64_t heal_at_us;                         /* partition ends (0: none) */
        bool healing;                                /* liveness phase: no faults */
        uint64_t next_ctx;
        uint64_t next_session; /* the counter in session ids (workload.c) */
        int32_t next_cxid;
        struct raft_config committed_config; /* latest committed configuration */
        uint64_t committed_config_index;
        struct sim_checker ck;
        struct sim_stats st;
        /* liveness phase */
        uint64_t live_index, live_term;
        uint64_t live_proposer;
        uint64_t live_retry_us;
        uint64_t live_deadline_us;
        bool recycle_pending; /* a configuration committed: kill removed nodes after the step */
};

/* host_sim.c */
int sim_node_start(struct sim_cluster *c, struct sim_node *n);
void sim_node_crash(struct sim_cluster *c, struct sim_node *n);
/* Wipes a node's disk (a removed server's data is deleted) and frees its memory. */
void sim_node_wipe(struct sim_node *n);
/* Steps n's core with ev and carries out the update in the host order. Returns
 * raft_step's result. */
int sim_host_step(struct sim_cluster *c, struct sim_node *n, const struct raft_event *ev);
/* The disk finished n's oldest pending write. */
void sim_host_disk_done(struct sim_cluster *c, struct sim_node *n);
/* Client actions against n's core. */
int sim_host_propose(struct sim_cluster *c, struct sim_node *n, bool liveness);
int sim_host_read(struct sim_cluster *c, struct sim_node *n);
/* Drops reads that timed out. */
void sim_host_expire_reads(struct sim_cluster *c, struct sim_node *n);
/* Queues a write on n's disk (FIFO); it completes at a random disk latency. */
void sim_write_queue(struct sim_cluster *c, struct sim_node *n, struct sim_write *w);
uint64_t sim_log_term_at(const struct sim_log *l, uint64_t index);
uint64_t sim_log_last_index(const struct sim_log *l);
/* Empties the log and restarts it after (index, term): a snapshot was installed. */
void sim_log_reset(struct sim_log *l, uint64_t index, uint64_t term);
void sim_log_free(struct sim_log *l);

/* snapshot_sim.c */
/* n snapshots its state machine at its applied index (the driver). */
void sim_snapshot_take(struct sim_cluster *c, struct sim_node *n);
/* The InstallSnapshot message m of n's core with its chunk filled from n's
 * snapshot file, as a packet; NULL if n no longer has that snapshot (the
 * leader retries with its newest). */
struct sim_packet *sim_snapshot_packet(struct sim_cluster *c, struct sim_node *n,
                                       const struct raft_message *m);
void sim_snapshot_chunk(struct sim_cluster *c, struct sim_node *n,
                        const struct raft_snapshot_chunk *ch);
/* u->snapshot_install: queues the received stream as one more FIFO write. */
void sim_snapshot_install(struct sim_cluster *c, struct sim_node *n,
                          const struct raft_snapshot_meta *meta);
/* The install write w is durable: n's state machine becomes the snapshot. */
void sim_snapshot_installed(struct sim_cluster *c, struct sim_node *n, const struct sim_write *w);
/* Opens n's state machine at start: from its durable snapshot, if any. */
int sim_snapshot_open_sm(struct sim_cluster *c, struct sim_node *n,
                         const struct raft_config *initial);
void sim_snapshot_free(struct sim_snapshot *s);

/* workload.c */
/* Writes a client txn for proposer n (its applied tree, its wall clock) into
 * buf (SIM_TXN_BYTES_MAX bytes); returns its length. */
size_t sim_workload_txn(struct sim_cluster *c, struct sim_node *n, uint8_t *buf);
/* A client of n sets a watch (or one of n's connections goes away). */
void sim_workload_watch(struct sim_cluster *c, struct sim_node *n);

/* clock_sim.c */
/* Draws the clocks of the node in slot n (at cluster start). */
void sim_clock_init(struct sim_cluster *c, struct sim_node *n);
/* n's wall clock now, ms since the epoch: what its proposals stamp. */
int64_t sim_clock_wall_ms(const struct sim_cluster *c, const struct sim_node *n);
/* The slowest node's tick period, us: what "a maximal election timeout" takes. */
uint64_t sim_clock_tick_us_max(const struct sim_cluster *c);
/* Steps a random node's wall clock (the driver, with clock_jump_ppm). */
void sim_clock_jump(struct sim_cluster *c);

/* net_sim.c */
/* Queues a copy of m for delivery (or drops it). */
void sim_net_send(struct sim_cluster *c, struct sim_packet *p);
/* Cuts links per one randomly chosen enabled mode. */
void sim_net_partition(struct sim_cluster *c);
void sim_net_heal(struct sim_cluster *c);
struct sim_node *sim_node_by_id(struct sim_cluster *c, uint64_t id);

/* cluster.c */
/* Runs one seed. Returns 0 if every check held, 1 on a violation. */
int sim_run(const struct sim_swarm *sw, const struct sim_options *opt, struct sim_stats *st);
void sim_trace(struct sim_cluster *c, struct sim_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The leader with the highest term among running nodes, or NULL. */
struct sim_node *sim_current_leader(struct sim_cluster *c);

#endif
