/*
 * Private state of the Raft core, shared by the files of src/raft only.
 *
 * One struct raft_priv per core. Fields are grouped by concept (persistent
 * state, log, timers, election, leader, reads, snapshots, the update being
 * built); each group says its invariants. The update under construction is
 * collected in the `out` group during a step and turned into the caller's
 * struct raft_update by out_finish() at the end of raft_step(), after every
 * mutation, so pointers into the log handed to the host stay valid until the
 * next step even if the log array was reallocated during this one.
 */
#ifndef SYN_RAFT_PRIV_H
#define SYN_RAFT_PRIV_H

#include "base/rand.h"
#include "raft/raft.h"

/*
 * Assertions about what OTHER nodes did (two leaders in one term, a leader
 * truncating committed entries). In a correct cluster they hold, so they are
 * asserts; in a build with a planted bug they are expected to break, and the
 * simulator's checkers (not an abort inside one core) must be what notices.
 */
#if defined(SYNOD_PLANT_COMMIT_OLD_TERM) || defined(SYNOD_PLANT_VOTE_NO_LOG_CHECK) ||              \
    defined(SYNOD_PLANT_VOTE_NOT_PERSISTED) || defined(SYNOD_PLANT_APPLY_BEFORE_COMMIT) ||         \
    defined(SYNOD_PLANT_PREVOTE_NO_TERM_CHECK) || defined(SYNOD_PLANT_COMMIT_UNPERSISTED)
#define RAFT_PLANTED           1
#define RAFT_PEER_ASSERT(expr) ((void)0)
#else
#define RAFT_PLANTED           0
#define RAFT_PEER_ASSERT(expr) SYN_ASSERT(expr)
#endif

/* ---- log.c: the in-memory log ---- */

/*
 * Entries (prev_index, prev_index + n]; payloads are owned (malloc'd copies).
 * prev_index/prev_term name the entry just before e[0] (the compaction point,
 * 0/0 for a log that starts at 1). Invariant: terms never decrease along e[].
 */
/* Payload bytes of consecutive entries (first_index..last_index, those with data). */
struct rlog_chunk {
        struct rlog_chunk *next;
        uint64_t first_index, last_index;
        size_t used, cap;
        uint8_t bytes[];
};

struct rlog {
        struct raft_entry *e;
        size_t n;
        size_t cap;
        uint64_t prev_index;
        uint64_t prev_term;
        /* Owned: the entries' payloads, oldest chunk first (appends go to the last). */
        struct rlog_chunk *chunks, *last_chunk;
};

void rlog_init(struct rlog *l, uint64_t prev_index, uint64_t prev_term);
void rlog_close(struct rlog *l);
uint64_t rlog_last_index(const struct rlog *l);
uint64_t rlog_last_term(const struct rlog *l);
/* Term at index if known (prev_index or in the log), else 0. */
uint64_t rlog_term_at(const struct rlog *l, uint64_t index);
/* The entry at index, which must be in (prev_index, last]. */
const struct raft_entry *rlog_get(const struct rlog *l, uint64_t index);
/* Appends a copy of data at last + 1. SYN_ENOMEM. */
int rlog_append(struct rlog *l, uint64_t term, enum raft_entry_type type, const uint8_t *data,
                size_t len);
/* Drops entries >= from (from > prev_index). */
void rlog_truncate(struct rlog *l, uint64_t from);
/* Drops entries <= upto (prev_index < upto <= last). */
void rlog_compact(struct rlog *l, uint64_t upto);
/* Drops everything; the log restarts after (index, term). */
void rlog_reset(struct rlog *l, uint64_t index, uint64_t term);

/* ---- quorum.c: pure arithmetic ---- */

/* The largest index a majority of the n values have reached (n >= 1). */
uint64_t quorum_index(const uint64_t *match, size_t n);
enum quorum_result { QUORUM_PENDING, QUORUM_WON, QUORUM_LOST };
enum quorum_result quorum_vote(size_t granted, size_t rejected, size_t voters);

/* ---- progress.c: the leader's view of one member ---- */

enum progress_state { PROGRESS_PROBE, PROGRESS_REPLICATE, PROGRESS_SNAPSHOT };

/* A ring of appends in flight: (last index, bytes) each, oldest first. */
struct inflights {
        uint64_t *last; /* cap entries */
        uint64_t *bytes;
        size_t start;
        size_t count;
        size_t cap;
        uint64_t total_bytes;
};

/* Invariant: match < next; match <= leader's last index. */
struct progress {
        uint64_t id;
        uint64_t match;
        uint64_t next;
        enum progress_state state;
        bool probe_sent;      /* PROBE: an append is out, wait for its answer or a heartbeat */
        bool recent_active;   /* heard from it in this election timeout (check-quorum) */
        uint64_t read_seq;    /* highest ReadIndex round it acknowledged */
        uint64_t commit_sent; /* commit index in the last append or heartbeat sent */
        uint64_t snap_index;  /* SNAPSHOT: the snapshot being sent */
        uint64_t snap_offset; /* SNAPSHOT: bytes acknowledged */
        bool snap_answered;   /* SNAPSHOT: an answer came since the last chunk went out */
        struct inflights inflight;
};

int progress_init(struct progress *p, uint64_t id, uint64_t next, size_t inflight_cap);
void progress_close(struct progress *p);
void progress_become_probe(struct progress *p);
void progress_become_replicate(struct progress *p);
bool inflights_full(const struct inflights *f, uint64_t max_bytes);
void inflights_add(struct inflights *f, uint64_t last, uint64_t bytes);
/* Frees every in-flight append whose last index <= index. */
void inflights_free_to(struct inflights *f, uint64_t index);
void inflights_reset(struct inflights *f);

/* ---- pending reads (read_index.c) ---- */

struct pending_read {
        uint64_t ctx;
        uint64_t from;  /* node that asked (this node for a local read) */
        uint64_t index; /* commit index recorded when the round started */
        uint64_t seq;   /* heartbeat round confirming it; 0 = waiting for the term's commit */
};

/* ---- the core ---- */

struct raft_priv {
        struct raft_options o;
        struct syn_rand rand;
        uint64_t id;

        /* persistent: term only grows; vote is for term */
        enum raft_role role;
        uint64_t term;
        uint64_t vote;
        uint64_t leader;

        /* log. Invariants: applied <= commit <= last; persisted <= last;
         * snapshot.index <= commit; log.prev_index <= snapshot.index;
         * unstable_from = last + 1 between steps (everything was handed out). */
        struct rlog log;
        uint64_t commit;
        uint64_t applied;
        uint64_t persisted;     /* durable on this node (RAFT_EV_PERSISTED) */
        uint64_t unstable_from; /* first index not yet handed to the host to persist */
        uint64_t epoch;         /* bumped whenever entries are removed from the log tail */
        struct raft_snapshot_meta snapshot;

        /* configuration in effect: the latest in the log (§4.1), from config_index
         * (0 = from the snapshot or the bootstrap) */
        struct raft_config bootstrap;
        struct raft_config config;
        uint64_t config_index;
        bool config_prev_voter; /* a voter in the configuration before config_index */

        /* timers, in ticks; ticks counts every tick since init (the lease clock) */
        uint64_t ticks;
        uint32_t election_elapsed;
        uint32_t heartbeat_elapsed;
        uint32_t randomized_timeout;

        /* (pre-)candidate: answers received in this election, one per voter */
        uint64_t votes_from[RAFT_NODES_MAX];
        bool votes_granted[RAFT_NODES_MAX];
        size_t n_votes;

        /* leader */
        struct progress prs[RAFT_NODES_MAX];
        size_t n_prs;
        uint64_t term_start;        /* index of this term's no-op entry */
        uint64_t uncommitted_bytes; /* payload bytes proposed in this term, not committed */
        uint64_t transferee;
        uint32_t transfer_elapsed;
        bool lease_broken; /* sent TimeoutNow in this term: its votes ignore stickiness */

        /* ReadIndex (§6.4): reads[] in arrival order, seq non-decreasing */
        struct pending_read *reads;
        size_t n_reads;
        uint64_t read_seq;
        /* lease_read: the tick each recent heartbeat round was sent, by seq */
        uint64_t lease_sent_tick[RAFT_LEASE_ROUNDS];

        /* snapshot being received; install_pending while the host installs it */
        bool recv_active;
        struct raft_snapshot_meta recv_meta;
        uint64_t recv_offset;
        uint64_t recv_from;
        bool install_pending;
        struct raft_snapshot_meta install_meta;
        uint8_t *chunk_buf;
        struct raft_snapshot_chunk chunk;

        /* the update being built (out.c) */
        struct raft_message *msgs;
        size_t n_msgs;
        struct raft_message *msgs_after;
        size_t n_msgs_after;
        size_t msgs_cap;
        size_t msgs_after_cap;
        uint64_t msgs_dropped; /* over RAFT_UPDATE_MSGS_MAX (counted, never a failure) */
        struct raft_message msg_scratch;
        struct raft_read_state *read_states;
        size_t n_read_states;
        uint64_t out_truncate_from;
        uint64_t out_compacted_to;
        bool out_chunk;
        bool out_install;
        bool out_config_changed;
        uint64_t out_proposal_index;
        uint64_t out_proposal_term;
        enum raft_role start_role;
        uint64_t start_term;
        uint64_t start_vote;
        uint64_t start_leader;
};

/* ---- out.c ---- */
void out_begin(struct raft_priv *p);
void out_finish(struct raft_priv *p, struct raft_update *u);
/* A message to send at once / after persistence. Returns the slot (never NULL:
 * past RAFT_UPDATE_MSGS_MAX it returns a scratch slot that is dropped). */
struct raft_message *out_msg(struct raft_priv *p, enum raft_msg_type type, uint64_t to);
struct raft_message *out_msg_after(struct raft_priv *p, enum raft_msg_type type, uint64_t to);
void out_read_state(struct raft_priv *p, uint64_t ctx, uint64_t index);

/* ---- core.c helpers ---- */
bool raft_is_voter(const struct raft_priv *p);
size_t raft_voter_count(const struct raft_priv *p);
struct progress *raft_progress(struct raft_priv *p, uint64_t id);
void raft_reset_timeout(struct raft_priv *p);
/* Recomputes config/config_index from the log, snapshot and bootstrap. */
void raft_config_reload(struct raft_priv *p);
/* The configuration as of index: fills c, returns the index of the entry it
 * came from (0 = the snapshot's or the bootstrap one). */
uint64_t raft_config_as_of(const struct raft_priv *p, uint64_t index, struct raft_config *c);
/* A voter in the latest configuration, or in the one before it while the latest
 * is uncommitted. */
bool raft_may_campaign(const struct raft_priv *p);

/* ---- step.c / election.c: roles ---- */
void become_follower(struct raft_priv *p, uint64_t term, uint64_t leader);
void become_leader(struct raft_priv *p);
void election_campaign(struct raft_priv *p, bool pre_vote, bool transfer);
void election_recv_vote(struct raft_priv *p, const struct raft_message *m);
void election_recv_vote_resp(struct raft_priv *p, const struct raft_message *m);

/* ---- replication.c ---- */
/* Sends what it can to id; with allow_empty an empty append (a probe) too. */
void repl_send_append(struct raft_priv *p, struct progress *pr, bool allow_empty);
void repl_broadcast_append(struct raft_priv *p);
void repl_broadcast_heartbeat(struct raft_priv *p);
int repl_recv_append(struct raft_priv *p, const struct raft_message *m);
void repl_recv_append_resp(struct raft_priv *p, const struct raft_message *m);
void repl_recv_heartbeat(struct raft_priv *p, const struct raft_message *m);
void repl_recv_heartbeat_resp(struct raft_priv *p, const struct raft_message *m);
/* Leader: advances commit by counting voters' matches (§3.6.2). */
bool repl_maybe_commit(struct raft_priv *p);
/* Leader: appends one entry of the current term. */
int repl_append_local(struct raft_priv *p, enum raft_entry_type type, const uint8_t *data,
                      size_t len);
/* Any role: adopts a persisted mark. */
void repl_persisted(struct raft_priv *p, const struct raft_persist_mark *mark);
/* Leader: after commit moved (reads, removal, transfer, uncommitted bytes). */
void repl_after_commit(struct raft_priv *p, uint64_t old_commit);

/* ---- read_index.c ---- */
int read_index_request(struct raft_priv *p, uint64_t ctx, uint64_t from);
void read_index_recv(struct raft_priv *p, const struct raft_message *m);
void read_index_recv_resp(struct raft_priv *p, const struct raft_message *m);
/* Leader: a voter acknowledged round seq; releases confirmed reads. */
void read_index_ack(struct raft_priv *p);
/* Leader: this term's first entry just committed: start waiting reads. */
void read_index_term_committed(struct raft_priv *p);
/* Any role change away from leader: forget pending reads. */
void read_index_drop(struct raft_priv *p);

/* ---- snapshot.c ---- */
void snapshot_send(struct raft_priv *p, struct progress *pr);
int snapshot_recv(struct raft_priv *p, const struct raft_message *m);
void snapshot_recv_resp(struct raft_priv *p, const struct raft_message *m);
int snapshot_taken(struct raft_priv *p, uint64_t index);
int snapshot_installed(struct raft_priv *p, uint64_t index);

/* ---- membership.c ---- */
int membership_change(struct raft_priv *p, enum raft_conf_op op, uint64_t node_id);
/* Leader: rebuilds prs[] for the configuration in effect. SYN_ENOMEM. */
int membership_sync_progress(struct raft_priv *p, bool reset);
/* Leader: the configuration that removed it is committed: step down. */
void membership_after_commit(struct raft_priv *p);

/* ---- transfer.c ---- */
int transfer_start(struct raft_priv *p, uint64_t target);
void transfer_maybe_send(struct raft_priv *p, struct progress *pr);
void transfer_tick(struct raft_priv *p);
void transfer_recv_timeout_now(struct raft_priv *p, const struct raft_message *m);

#endif
