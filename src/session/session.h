/*
 * Sessions: the replicated session table and the leader's expiry queue.
 *
 * The session table is part of the replicated state. It changes only when the
 * tree applies a CREATE_SESSION or CLOSE_SESSION txn (see tree/txn.h), so every
 * server holds the same table at the same zxid; the tree embeds one (tree.h:
 * tree_sessions()) and writes it into its snapshots. A session is
 * {id, 16-byte password, timeout}; the tree also hangs the session's
 * ephemeral nodes off it (an opaque list head the tree owns), so closing a
 * session finds its ephemerals without a scan.
 *
 * The expiry queue is NOT replicated: only the leader tracks liveness. The
 * server touches a session on every packet (and on pings forwarded by
 * followers), and pops the expired ones to propose CLOSE_SESSION txns. Time is
 * data: callers pass now_ms; deadlines are rounded up to the queue's interval
 * (ZooKeeper's tickTime buckets) so a busy session is re-filed rarely.
 *
 * Pure and deterministic: no I/O, no clock. Iteration that reaches the outside
 * (snapshots, listings, expiry) is ordered by session id, never by address.
 */
#ifndef SYN_SESSION_SESSION_H
#define SYN_SESSION_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/limits.h"

struct session {
        uint64_t id;
        int32_t timeout_ms; /* > 0, <= SESSION_TIMEOUT_MS_MAX */
        uint8_t passwd[ZK_PASSWD_BYTES];
        /* Owned and maintained by the tree: the number of ephemeral nodes this
         * session owns and the head of their list. Others treat them as read-only. */
        uint32_t ephemeral_count;
        void *ephemerals;
};

/* Open-addressing hash table id -> struct session * (each session its own allocation). */
struct session_table {
        struct session **slots; /* private; NULL or a session; cap is a power of two */
        uint32_t cap;
        uint32_t count;
};

/* Starts an empty table. Returns SYN_OK (no allocation until the first add). */
int session_table_init(struct session_table *t);
/* Frees every session and the table. */
void session_table_close(struct session_table *t);

/* The session with that id, or NULL. Pointer valid until the session is removed or the table
 * closed. */
struct session *session_table_find(const struct session_table *t, uint64_t id);

/*
 * Adds a session. passwd is copied. On success *out (if non-NULL) points at the new
 * session. Errors: SYN_EEXIST (id present), SYN_EINVAL (id 0, the container marker, a
 * TTL high byte, or timeout_ms outside 1..SESSION_TIMEOUT_MS_MAX), SYN_ELIMIT
 * (SESSION_COUNT_MAX sessions), SYN_ENOMEM. The table is unchanged on error.
 */
int session_table_add(struct session_table *t, uint64_t id, const uint8_t passwd[ZK_PASSWD_BYTES],
                      int32_t timeout_ms, struct session **out);

/* Removes and frees a session; returns SYN_ENOTFOUND if absent. The tree must have
 * emptied its ephemeral list first (asserted). */
int session_table_remove(struct session_table *t, uint64_t id);

static inline uint32_t session_table_count(const struct session_table *t)
{
        return t->count;
}

/*
 * All sessions sorted by id, in a new array (*out, *count) the caller frees with
 * free(); the sessions themselves stay owned by the table. Returns SYN_OK or
 * SYN_ENOMEM. An empty table gives *out == NULL, *count == 0.
 */
int session_table_sorted(const struct session_table *t, struct session ***out, uint32_t *count);

/* True if passwd equals the session's password (constant time). */
bool session_passwd_equal(const struct session *s, const uint8_t passwd[ZK_PASSWD_BYTES]);

/* A 64-bit digest of one session's replicated fields (id, password, timeout). */
uint64_t session_digest(const struct session *s);
/* The sum of session_digest() over the table: independent of insertion order. O(count). */
uint64_t session_table_digest(const struct session_table *t);

/* True if id may name a session: not 0, not the container marker, high byte not 0xff (TTL). */
bool session_id_valid(uint64_t id);

/* ---- leader-only expiry queue ---- */

struct sess_expiry_options {
        int64_t interval_ms;   /* bucket width, > 0: ZooKeeper's tickTime */
        uint32_t capacity_max; /* most tracked sessions (0 = SESSION_COUNT_MAX) */
};

struct sess_expiry_entry {
        uint64_t id;
        int64_t deadline_ms; /* a multiple of interval_ms */
};

/*
 * A binary min-heap ordered by (deadline_ms, id) plus an id -> heap position
 * hash, so touch/remove are O(log n) and pops come out in a deterministic order.
 */
struct sess_expiry {
        int64_t interval_ms;
        uint32_t capacity_max;
        struct sess_expiry_entry *heap; /* private */
        uint32_t count;
        uint32_t heap_cap;
        uint64_t *pos_keys; /* private: id -> heap index hash (open addressing) */
        uint32_t *pos_vals;
        uint32_t pos_cap;
        uint32_t pos_count;
};

/* Returns SYN_OK or SYN_EINVAL (interval_ms <= 0). */
int sess_expiry_init(struct sess_expiry *q, const struct sess_expiry_options *opt);
void sess_expiry_close(struct sess_expiry *q);

/*
 * Records activity of session id: its deadline becomes now_ms + timeout_ms rounded
 * up to the next multiple of interval_ms (never moved earlier). Adds the session
 * if unknown. Errors: SYN_EINVAL (id 0 or timeout_ms <= 0), SYN_ELIMIT (capacity_max
 * reached), SYN_ENOMEM.
 */
int sess_expiry_touch(struct sess_expiry *q, uint64_t id, int32_t timeout_ms, int64_t now_ms);

/* Stops tracking id (closed session). Returns SYN_OK or SYN_ENOTFOUND. */
int sess_expiry_remove(struct sess_expiry *q, uint64_t id);

/* The deadline of id, or -1 if not tracked. */
int64_t sess_expiry_deadline(const struct sess_expiry *q, uint64_t id);

/*
 * Removes up to max sessions whose deadline is <= now_ms and writes their ids to out,
 * earliest deadline first, ties by id. Returns how many were written. Sessions stay
 * untracked until touched again; the caller proposes a CLOSE_SESSION for each.
 */
int32_t sess_expiry_pop_expired(struct sess_expiry *q, int64_t now_ms, uint64_t *out, int32_t max);

/* The earliest deadline, or -1 if empty (for the host's timer). */
int64_t sess_expiry_next_deadline(const struct sess_expiry *q);

static inline uint32_t sess_expiry_count(const struct sess_expiry *q)
{
        return q->count;
}

#endif
