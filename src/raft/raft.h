/*
 * The Raft core of synod: the whole contract.
 *
 * The core is a PURE state machine (cowsql's raft_step shape, etcd's Ready):
 * the host feeds it events (a tick, a received message, a proposal, "entries
 * are durable", ...) through raft_step() and gets back a struct raft_update
 * saying what to persist, what to send, what to apply, which snapshot to
 * install, which reads are ready and how the role changed. The core does no
 * I/O, reads no clock (it counts ticks), keeps no globals, starts no threads
 * and takes randomness only from a PRNG seeded through raft_options.seed, so
 * the same events give the same updates (the simulator depends on this).
 *
 * THE HOST'S ORDER OF OBLIGATIONS for one update `u` (docs/raft.md has more):
 *   1. Persist. If u->hard_state_changed, write u->hard_state (term, vote)
 *      durably. If u->truncate_from != 0, delete every log entry with
 *      index >= u->truncate_from, then append u->entries (consecutive indexes,
 *      starting right after what the log then holds). Persistence of
 *      successive updates must complete in the order the updates were
 *      produced (a FIFO; group commit is fine). When all of (1) for this update
 *      is durable and u->persist_mark.index != 0, step RAFT_EV_PERSISTED with
 *      that mark copied unchanged. This is also how the leader counts its own
 *      copy of the log and how a single-voter cluster commits.
 *   2. Send. u->msgs may be sent at once, before (1) is durable: these are the
 *      leader's appends/heartbeats/snapshot chunks/TimeoutNow, pre-vote
 *      traffic and ReadIndex forwarding; the leader writes its own entries in parallel with
 *      sending them (thesis §10.2.1). u->msgs_after_persist must be sent only
 *      after (1) of THIS update and of every earlier update is durable (queue
 *      them behind the last write in the FIFO; if no write is pending at all
 *      they may go at once): vote requests (the candidate's own vote and
 *      term), vote answers and every response to the leader (appends,
 *      heartbeats, snapshots: an ack says "I hold it on disk"), and every
 *      message of an update whose hard state changed, and every message of a
 *      leader whose term's no-op is not yet durable (a single voter wins its
 *      election in the step that writes its vote, and must not act as leader
 *      of a term it could forget in a crash). Messages can be dropped freely (the
 *      core retries) but must not be altered, except InstallSnapshot
 *      messages, whose data the host fills (see RAFT_MSG_SNAPSHOT).
 *   3. Apply u->committed in order (they are committed and, on this node,
 *      durable). Applying may lag, but entries must be applied in order and
 *      none skipped; entry index = zxid. NOOP and CONF entries apply as
 *      nothing. After raft_init the first update (of any event, e.g. a tick)
 *      hands the entries between the snapshot and the initial commit index.
 *   4. If u->snapshot_chunk is set, write the chunk into the snapshot being
 *      received. If u->snapshot_install is set, the last chunk has arrived:
 *      after the writes of earlier updates are done, make the received
 *      snapshot durable, drop the whole local log, load the state machine
 *      from the snapshot, then step RAFT_EV_SNAPSHOT_INSTALLED.
 *   5. u->read_states: each (ctx, index) may be served once the host's applied
 *      index >= index.
 *   6. Observe role/term/leader/commit/configuration changes.
 *
 * OWNERSHIP. Everything the host passes in (options, initial state, event,
 * received message, proposal bytes) is borrowed for the duration of the call;
 * the core copies what it keeps. Everything in a raft_update (arrays, entry
 * payloads, messages and the entries they point to) is owned by the core and
 * borrowed by the host until the next raft_step() or raft_close() on that
 * core: a host that queues messages must copy or encode them first.
 *
 * Errors: raft_step() returns 0, or a negative SYN_E* code when the host made
 * a mistake or the core refuses a request (see each event). A refused request
 * leaves the core unchanged, except that u is still valid (and may be empty).
 * Bugs (broken invariants) are SYN_ASSERTs, which stay on.
 *
 * PLANTED BUGS (for the simulator; every switch is off by default and each is
 * a small #ifdef at the exact spot in the named file):
 *   SYNOD_PLANT_COMMIT_OLD_TERM      replication.c: the leader commits entries
 *                                    of older terms by counting replicas (§5.4.2).
 *   SYNOD_PLANT_VOTE_NO_LOG_CHECK    election.c: votes are granted without the
 *                                    candidate-log-is-up-to-date check (§5.4.1).
 *   SYNOD_PLANT_VOTE_NOT_PERSISTED   election.c + out.c: a vote grant goes to
 *                                    u->msgs (sent before the vote is durable)
 *                                    and the vote is not reported as hard state.
 *   SYNOD_PLANT_APPLY_BEFORE_COMMIT  out.c: entries are handed to apply up to
 *                                    the last index, ignoring commit.
 *   SYNOD_PLANT_PREVOTE_NO_TERM_CHECK election.c + step.c: pre-votes are
 *                                    granted without the term and log checks.
 *   SYNOD_PLANT_COMMIT_UNPERSISTED   replication.c: the leader counts its whole
 *                                    log, not just what is durable, as its match.
 *   In a planted build the cross-node asserts (two leaders in one term) are
 *   off (RAFT_PEER_ASSERT in raft_priv.h) so the checkers notice, not an abort.
 */
#ifndef SYN_RAFT_RAFT_H
#define SYN_RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

/* Node ids are non-zero; 0 means "none" (no vote, no known leader). */
#define RAFT_NONE 0

enum raft_role {
        RAFT_FOLLOWER = 1,
        RAFT_PRE_CANDIDATE,
        RAFT_CANDIDATE,
        RAFT_LEADER,
};
const char *raft_role_name(enum raft_role role);

/* ---- configuration (membership) ---- */

/*
 * A cluster configuration: voters and learners, each list without duplicates,
 * no id in both. Ids are kept in the order they were added (deterministic).
 * Invariant: n_voters + n_learners <= RAFT_NODES_MAX.
 */
struct raft_config {
        uint32_t n_voters;
        uint32_t n_learners;
        uint64_t voters[RAFT_NODES_MAX];
        uint64_t learners[RAFT_NODES_MAX];
};

bool raft_config_is_voter(const struct raft_config *c, uint64_t id);
bool raft_config_is_learner(const struct raft_config *c, uint64_t id);
/* Checks a configuration from the outside: ids non-zero, no duplicates, within limits. */
bool raft_config_valid(const struct raft_config *c);
/* The same voters and learners, in the same order (as their encodings would be). */
bool raft_config_equal(const struct raft_config *a, const struct raft_config *b);
/*
 * Encoding used for the payload of RAFT_ENTRY_CONF entries (the core writes and
 * reads it; hosts only need it for tools). raft_config_encode() writes
 * RAFT_CONFIG_ENCODED_BYTES_MAX bytes at most into buf and returns the length,
 * or SYN_ETOOBIG if cap is too small. raft_config_decode() treats the bytes as
 * hostile: returns 0, or SYN_ECORRUPT if they are not a valid configuration.
 */
int raft_config_encode(const struct raft_config *c, uint8_t *buf, size_t cap);
int raft_config_decode(struct raft_config *c, const uint8_t *buf, size_t len);

/* ---- log entries ---- */

enum raft_entry_type {
        RAFT_ENTRY_NORMAL = 1, /* a host payload (a ZooKeeper transaction) */
        RAFT_ENTRY_NOOP,       /* appended by each new leader at the start of its term
                                * (§8: lets it commit); len 0; the host applies it as
                                * nothing but must still count its index */
        RAFT_ENTRY_CONF,       /* a new configuration (raft_config_encode payload); it
                                * takes effect when appended (§4.1), the host just
                                * persists it like any entry */
};

struct raft_entry {
        uint64_t term;
        uint64_t index;
        enum raft_entry_type type;
        const uint8_t *data; /* payload, opaque to the core; NULL iff len == 0 */
        size_t len;          /* <= RAFT_ENTRY_BYTES_MAX */
};

/* ---- snapshots ---- */

struct raft_snapshot_meta {
        uint64_t index;            /* last index the snapshot covers; 0 = no snapshot */
        uint64_t term;             /* term of the entry at index */
        struct raft_config config; /* configuration as of index */
};

/*
 * A chunk of a snapshot being received, for the host to write at `offset`
 * into its temporary snapshot file for meta.index (offset 0 = start a new
 * file, dropping any partial one). data is borrowed until the next step.
 */
struct raft_snapshot_chunk {
        struct raft_snapshot_meta meta;
        uint64_t offset;
        const uint8_t *data;
        size_t len;
        bool done; /* last chunk: u->snapshot_install follows in the same update */
};

/* ---- messages (encoding to bytes lives in proto/peer.c) ---- */

enum raft_msg_type {
        RAFT_MSG_VOTE = 1,        /* RequestVote, or a pre-vote request */
        RAFT_MSG_VOTE_RESP,       /* its answer */
        RAFT_MSG_APPEND,          /* AppendEntries (with or without entries) */
        RAFT_MSG_APPEND_RESP,     /* its answer */
        RAFT_MSG_HEARTBEAT,       /* leader liveness, commit and the ReadIndex round */
        RAFT_MSG_HEARTBEAT_RESP,  /* its answer (echoes read_seq) */
        RAFT_MSG_SNAPSHOT,        /* InstallSnapshot, one chunk */
        RAFT_MSG_SNAPSHOT_RESP,   /* its answer */
        RAFT_MSG_TIMEOUT_NOW,     /* leadership transfer: campaign now, skip pre-vote */
        RAFT_MSG_READ_INDEX,      /* follower -> leader: a ReadIndex request */
        RAFT_MSG_READ_INDEX_RESP, /* leader -> follower: its read state */
};
const char *raft_msg_type_name(enum raft_msg_type type);

struct raft_msg_vote {
        uint64_t last_log_index;
        uint64_t last_log_term;
        bool pre_vote; /* a pre-vote: the message term is the term the sender WOULD
                        * campaign in; nobody changes term or vote because of it */
        bool transfer; /* campaign caused by leadership transfer: overrides stickiness */
};

struct raft_msg_vote_resp {
        bool pre_vote;
        bool granted;
};

struct raft_msg_append {
        uint64_t prev_index;
        uint64_t prev_term;
        uint64_t commit;                  /* leader's commit index */
        const struct raft_entry *entries; /* consecutive, starting at prev_index + 1 */
        uint32_t n_entries;               /* <= RAFT_MSG_ENTRIES_MAX */
};

struct raft_msg_append_resp {
        bool success;
        /* success: the last index now known to match the leader's log (match).
         * failure: the prev_index that was rejected. */
        uint64_t index;
        /* failure only, for fast backtracking (§5.3 optimisation): hint_index is
         * the largest index <= the rejected prev_index whose term in the
         * follower's log is <= the rejected prev_term (or the follower's last
         * index if its log is shorter), hint_term the follower's term there.
         * The leader then skips back to its own largest index <= hint_index
         * with a term <= hint_term. */
        uint64_t hint_index;
        uint64_t hint_term;
        uint64_t last_index; /* the follower's last log index (informational) */
};

struct raft_msg_heartbeat {
        uint64_t commit;   /* min(leader commit, follower's match): never ahead of
                            * what the follower is known to hold */
        uint64_t read_seq; /* ReadIndex round number; echoed in the response */
};

struct raft_msg_heartbeat_resp {
        uint64_t read_seq;
};

/*
 * InstallSnapshot (thesis §5, Figure 5.3), chunked and resumable by offset.
 * THE CORE EMITS IT WITH data == NULL, len == 0, done == false: the host fills
 * data/len/done with the bytes [offset, offset + len) of its snapshot file for
 * meta.index (len <= RAFT_SNAPSHOT_CHUNK_BYTES, done = this chunk reaches the
 * end of the file), then sends it. If the host no longer has that snapshot it
 * drops the message; the leader retries with its newest snapshot.
 */
struct raft_msg_snapshot {
        struct raft_snapshot_meta meta;
        uint64_t offset;
        const uint8_t *data;
        size_t len;
        bool done;
};

struct raft_msg_snapshot_resp {
        uint64_t index;       /* meta.index of the snapshot this answers */
        uint64_t next_offset; /* bytes received so far: the next chunk wanted */
        bool done;            /* installed (or already covered by the log): match = index */
};

struct raft_msg_read_index {
        uint64_t ctx; /* the host's request id, opaque to the core */
};

struct raft_msg_read_index_resp {
        uint64_t ctx;
        uint64_t index; /* serve once applied >= index */
        bool ok;        /* false: the leader refused (not leader, busy); retry */
};

struct raft_message {
        enum raft_msg_type type;
        uint64_t from;
        uint64_t to;
        uint64_t term; /* sender's term (pre-vote requests: the prospective term) */
        union {
                struct raft_msg_vote vote;
                struct raft_msg_vote_resp vote_resp;
                struct raft_msg_append append;
                struct raft_msg_append_resp append_resp;
                struct raft_msg_heartbeat heartbeat;
                struct raft_msg_heartbeat_resp heartbeat_resp;
                struct raft_msg_snapshot snapshot;
                struct raft_msg_snapshot_resp snapshot_resp;
                struct raft_msg_read_index read_index;
                struct raft_msg_read_index_resp read_index_resp;
        };
};

/* ---- options and initial state ---- */

struct raft_options {
        uint64_t id;                    /* this node, non-zero */
        uint32_t election_ticks;        /* election timeout is drawn uniformly from
                                         * [election_ticks, 2 * election_ticks) */
        uint32_t heartbeat_ticks;       /* < election_ticks */
        bool pre_vote;                  /* §9.6: campaign only if a majority would vote */
        bool check_quorum;              /* §6.2: leader steps down without a quorum's contact
                                         * for an election timeout */
        bool lease_read;                /* ReadIndex without a heartbeat round while the
                                         * leader lease holds (a majority acked a round
                                         * sent < election_ticks - heartbeat_ticks ago, no
                                         * transfer this term); needs check_quorum; off by
                                         * default (relies on bounded clock drift) */
        uint32_t max_inflight_msgs;     /* appends in flight per follower */
        uint64_t max_inflight_bytes;    /* entry bytes in flight per follower */
        uint64_t max_msg_bytes;         /* entry bytes per append (one entry always fits) */
        uint64_t max_uncommitted_bytes; /* leader: proposals beyond this -> SYN_EBUSY */
        uint64_t snapshot_trailing;     /* entries kept after SNAPSHOT_TAKEN compaction */
        uint64_t seed;                  /* PRNG seed (election timeouts) */
};

/* Fills o with the RAFT_*_DEFAULT values of limits.h and the given id. */
void raft_options_default(struct raft_options *o, uint64_t id);

struct raft_hard_state {
        uint64_t term;
        uint64_t vote; /* RAFT_NONE = not voted in term */
};

/*
 * What the host recovered from disk (or zeroes for a brand-new node).
 * Ownership: borrowed for raft_init(); the core copies entries and payloads.
 */
struct raft_initial_state {
        struct raft_hard_state hard_state;
        uint64_t commit;                    /* a known commit index (0 if not stored) */
        struct raft_snapshot_meta snapshot; /* index 0 = none */
        const struct raft_entry *entries;   /* the durable log after snapshot.index,
                                             * consecutive indexes */
        size_t n_entries;
        /* Used only when there is no snapshot and no RAFT_ENTRY_CONF entry: the
         * configuration a new cluster starts with. A node that is to join an
         * existing cluster passes an empty one (n_voters 0) and waits to be
         * contacted by the leader. */
        struct raft_config bootstrap;
};

/* ---- events ---- */

enum raft_event_type {
        RAFT_EV_TICK = 1, /* one tick of the host's timer (10 ms in the server) */
        /* A message from a peer (borrowed for the call). Messages for another
         * node id, from node id 0 or self, or of unknown type are dropped with
         * SYN_EINVAL; malformed appends (indexes, terms, sizes, undecodable
         * configurations) and snapshot chunks with SYN_EPROTO, changing nothing.
         * SYN_ENOMEM if an entry could not be copied (the leader retries). */
        RAFT_EV_RECEIVE,
        /* Leader: append data as a RAFT_ENTRY_NORMAL entry; u->proposal_index /
         * proposal_term name it. Errors: SYN_ENOTLEADER (not leader), SYN_EBUSY
         * (transferring leadership, or over max_uncommitted_bytes), SYN_ETOOBIG
         * (len > RAFT_ENTRY_BYTES_MAX), SYN_ENOMEM. */
        RAFT_EV_PROPOSE,
        /* (1) of an update is durable; mark copied from u->persist_mark. Stale
         * marks (the log was since truncated) are ignored. */
        RAFT_EV_PERSISTED,
        /* The host's state machine was snapshotted at index (<= last index handed
         * to apply) and the snapshot is durable: the core compacts its log,
         * keeping snapshot_trailing entries, and uses it for lagging followers.
         * Errors: SYN_EINVAL if index is beyond what was applied or not above
         * the current snapshot. u->compacted_to says what the host may drop. */
        RAFT_EV_SNAPSHOT_TAKEN,
        /* The host finished u->snapshot_install (index = its meta.index). */
        RAFT_EV_SNAPSHOT_INSTALLED,
        /* A linearizable read (§6.4). On the leader the read state comes back in a
         * later (or this) update; on a follower it is forwarded to the leader and
         * the read state comes back when the answer arrives. Errors:
         * SYN_ENOTLEADER (no leader known), SYN_EBUSY (too many pending reads).
         * A forwarded read that gets lost is never answered: the host times out. */
        RAFT_EV_READ_INDEX,
        /* Leader: hand leadership to target (§3.10). Proposals get SYN_EBUSY until
         * it succeeds or aborts after an election timeout. Errors: SYN_ENOTLEADER,
         * SYN_EINVAL (target not a voter, or self), SYN_EBUSY (already transferring). */
        RAFT_EV_TRANSFER,
        /* Leader: one single-server membership change (§4.1). Errors:
         * SYN_ENOTLEADER; SYN_EBUSY (no entry of this term committed yet, or an
         * earlier change not yet committed, or transferring); SYN_EINVAL (the
         * change makes no sense: adding a member, removing a non-member, promoting
         * a non-learner, removing the last voter); SYN_ELIMIT (RAFT_NODES_MAX). */
        RAFT_EV_CONF_CHANGE,
        /* Start an election now, skipping pre-vote (tests, single-node start).
         * Errors: SYN_EINVAL if this node is not a voter. A leader ignores it. */
        RAFT_EV_CAMPAIGN,
};

enum raft_conf_op {
        RAFT_CONF_ADD_VOTER = 1, /* add a new node as a voter directly */
        RAFT_CONF_ADD_LEARNER,   /* add a new node as a non-voting learner */
        RAFT_CONF_PROMOTE,       /* learner -> voter (once it has caught up) */
        RAFT_CONF_REMOVE,        /* remove a voter or learner (may be the leader) */
};

struct raft_persist_mark {
        uint64_t index; /* last log index written by the update; 0 = nothing to report */
        uint64_t epoch; /* the log's truncation epoch when written (opaque to the host) */
};

struct raft_event {
        enum raft_event_type type;
        union {
                const struct raft_message *receive; /* borrowed for the call */
                struct {
                        const uint8_t *data; /* borrowed for the call */
                        size_t len;
                } propose;
                struct raft_persist_mark persisted;
                struct {
                        uint64_t index;
                } snapshot_taken;
                struct {
                        uint64_t index;
                } snapshot_installed;
                struct {
                        uint64_t ctx;
                } read_index;
                struct {
                        uint64_t target;
                } transfer;
                struct {
                        enum raft_conf_op op;
                        uint64_t node_id;
                } conf_change;
        };
};

/* ---- the update ---- */

struct raft_read_state {
        uint64_t ctx;   /* from RAFT_EV_READ_INDEX */
        uint64_t index; /* serve the read once applied >= index */
};

struct raft_update {
        /* (1) persist, then report RAFT_EV_PERSISTED with persist_mark */
        bool hard_state_changed; /* term or vote changed: write hard_state durably */
        struct raft_hard_state hard_state;
        uint64_t truncate_from;           /* 0 = none; else drop entries >= it first */
        const struct raft_entry *entries; /* to append after the truncation */
        size_t n_entries;
        struct raft_persist_mark persist_mark; /* index 0: nothing to report */

        /* (2) send */
        const struct raft_message *msgs; /* may be sent before (1) is durable */
        size_t n_msgs;
        const struct raft_message *msgs_after_persist; /* only after (1) is durable */
        size_t n_msgs_after_persist;

        /* (3) apply, in order */
        const struct raft_entry *committed;
        size_t n_committed;

        /* (4) snapshots received from the leader; NULL = none */
        const struct raft_snapshot_chunk *snapshot_chunk;
        const struct raft_snapshot_meta *snapshot_install;
        /* After RAFT_EV_SNAPSHOT_TAKEN: entries with index <= compacted_to left the
         * core's log; the host may drop them from its WAL (0 = no change). */
        uint64_t compacted_to;

        /* (5) reads ready to serve once applied */
        const struct raft_read_state *read_states;
        size_t n_read_states;

        /* (6) observation: the state after this step */
        bool role_changed; /* role, term or leader changed during this step */
        enum raft_role role;
        uint64_t term;
        uint64_t leader_id;  /* RAFT_NONE if unknown */
        uint64_t commit;     /* commit index */
        bool config_changed; /* raft_config() changed (appended, truncated or installed) */
        /* PROPOSE / CONF_CHANGE: the entry that was appended (0 otherwise). */
        uint64_t proposal_index;
        uint64_t proposal_term;
};

/* ---- the core ---- */

struct raft_priv;
/* The caller owns this struct; its contents are private to the core. */
struct raft {
        struct raft_priv *p;
};

/*
 * Initialises r from o and s (both borrowed for the call). Starts as a
 * follower with a randomized election timeout. A node that is the only voter
 * in its configuration becomes leader on its first tick (or on CAMPAIGN).
 * Errors: SYN_EINVAL (bad options, id 0, election_ticks <= heartbeat_ticks,
 * entries not consecutive or not after the snapshot, vote/term inconsistent),
 * SYN_ECORRUPT (a RAFT_ENTRY_CONF payload does not decode), SYN_ENOMEM.
 * On error nothing needs closing.
 */
int raft_init(struct raft *r, const struct raft_options *o, const struct raft_initial_state *s);

/* Frees everything; updates handed out become invalid. */
void raft_close(struct raft *r);

/*
 * Steps the core with one event. u is overwritten (caller-provided storage; it
 * need not be initialised) and its contents are borrowed until the next
 * raft_step()/raft_close(). Returns 0 or the SYN_E* code documented per event.
 */
int raft_step(struct raft *r, const struct raft_event *ev, struct raft_update *u);

/* Accessors (no side effects). */
uint64_t raft_id(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
/* Last index handed to the host in u->committed (or covered by a snapshot). */
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
/* First index still in the core's log (snapshot index + 1 when empty). */
uint64_t raft_first_index(const struct raft *r);
/* Last index known durable on this node (from RAFT_EV_PERSISTED). */
uint64_t raft_persisted_index(const struct raft *r);
/* The configuration in effect (the latest appended one); borrowed until the next step. */
const struct raft_config *raft_config(const struct raft *r);
/* The latest snapshot's metadata (index 0 = none); borrowed until the next step. */
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r);
/* Term of the entry at index, or 0 if it is not in the log or snapshot. */
uint64_t raft_term_at(const struct raft *r, uint64_t index);
/* Leader only: the transfer target in progress (RAFT_NONE if none). */
uint64_t raft_transferee(const struct raft *r);
/* Leader only: the last index known to match on member id (0 if unknown, or not leader). */
uint64_t raft_match_index(const struct raft *r, uint64_t id);

#endif
