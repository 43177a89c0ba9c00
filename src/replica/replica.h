/*
 * The replica: the one code that obeys the Raft core (house rule: the core
 * does no I/O and reads no clock; it returns what to persist, send and apply).
 * The server (src/server/host.c) and the simulator (tests/sim/host_sim.c) both
 * run it; each plugs in its own storage, network and effects through
 * struct replica_ops, so the simulator checks the order the server runs.
 *
 * Every replica_step() carries out the core's update in one fixed order:
 *
 *   1. PERSIST  ops->persist hands the term/vote, truncation and entries to
 *               storage, buffered. The update's persist mark is queued; the
 *               host's next flush gives it a ticket (replica_flushed), and when
 *               the host reports that ticket durable (replica_durable) the mark
 *               is stepped as RAFT_EV_PERSISTED.
 *   2. SEND     messages Raft allows before persistence go at once (ops->send);
 *               the others are held (ops->hold) with the ticket of the flush
 *               that carries this update, and released (ops->release) once it
 *               is durable: a vote or an acknowledgement never leaves before
 *               what it promises is on disk.
 *   3. APPLY    committed entries, in order, into the state machine (sm.h) at
 *               zxid = index; after each, ops->applied does the host's effects
 *               (watch deliveries, replies; the simulator's checks).
 *   4. SNAPSHOT chunks from the leader go to ops->snapshot_chunk; an install
 *               runs after the update is obeyed (ops->snapshot_install), since
 *               finishing it steps the core again.
 *   5. READS    read states go to ops->read_states.
 *   6. OBSERVE  role, term, commit, configuration and compaction: ops->observe.
 *
 * An update is borrowed from the core until its next step, so nothing may step
 * the core while one is obeyed (replica.obeying; asserted): work that would
 * (the next write a reply lets through) waits for ops->settled, which runs once
 * the update is obeyed and before the install.
 *
 * Raft commits an entry only after RAFT_EV_PERSISTED covers it, so nothing is
 * applied, and no reply written, before its entry is durable here and on a
 * majority.
 *
 * Ownership: the replica borrows the core and the state machine (the host opens
 * and closes them) and owns its queues of marks and held messages; a held
 * message is the host's object, returned to ops->release exactly once.
 */
#ifndef SYN_REPLICA_REPLICA_H
#define SYN_REPLICA_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"
#include "replica/sm.h"

struct replica_ops {
        /* 1. Hands u's hard state, truncation and entries to storage (durable after
         * a later flush). Non-zero: storage failed; the replica stops (failed). */
        int (*persist)(void *ctx, const struct raft_update *u);
        /* 2. Sends m (borrowed) now. */
        void (*send)(void *ctx, const struct raft_message *m);
        /* A copy of m (borrowed) to send later: the host's object, or NULL if it
         * cannot be made (then m is dropped, as a lost message; Raft retries). */
        void *(*hold)(void *ctx, const struct raft_message *m);
        /* Sends a held message (unless send is false: the replica is closing) and
         * frees it. */
        void (*release)(void *ctx, void *held, bool send);
        /* 3. Optional: called before entry e is applied; returns the entry to
         * apply (e, or a replacement written into *scratch), or NULL to stop
         * applying (the host has failed). */
        const struct raft_entry *(*will_apply)(void *ctx, const struct raft_entry *e,
                                               struct raft_entry *scratch);
        /* After sm_apply(e) returned rc (SYN_OK or its error; the sm holds the
         * outcome): the host's effects. Returns false to stop applying (failed). */
        bool (*applied)(void *ctx, const struct raft_entry *e, int rc);
        /* 4. A chunk of the leader's snapshot (borrowed). */
        void (*snapshot_chunk)(void *ctx, const struct raft_snapshot_chunk *c);
        /* The snapshot is complete: install it, then step
         * RAFT_EV_SNAPSHOT_INSTALLED (at once or later). Runs after settled. */
        void (*snapshot_install)(void *ctx, const struct raft_snapshot_meta *meta);
        /* 5. Read states (possibly none), after the applies of the same update. */
        void (*read_states)(void *ctx, const struct raft_read_state *rs, size_t n);
        /* 6. Role, term, commit, configuration changes, compaction of u. */
        void (*observe)(void *ctx, const struct raft_update *u);
        /* Optional: u is obeyed; the core may be stepped again from here (u is
         * then no longer valid). */
        void (*settled)(void *ctx, const struct raft_update *u);
        /* The replica failed on its own (out of memory keeping a persist mark, which
         * would stall commits forever): the host must stop. `what` is static text.
         * Not called for failures the host reported itself (persist, applied). */
        void (*failed)(void *ctx, int err, const char *what);
};

/* A FIFO of items each waiting for a flush ticket (internal to replica.c). */
struct replica_fifo {
        uint8_t *items;
        size_t item_bytes;
        size_t cap, head, count;
        size_t unticketed; /* the last `unticketed` items have no ticket yet */
};

struct replica {
        struct raft *core; /* borrowed */
        struct sm *sm;     /* borrowed */
        const struct replica_ops *ops;
        void *ctx;
        bool obeying; /* inside an update: the core must not be stepped */
        bool failed;  /* storage or apply failed: nothing more is obeyed */
        uint64_t proposal_index, proposal_term; /* of the last step (0: no proposal) */
        struct replica_fifo marks;              /* raft_persist_mark + ticket */
        struct replica_fifo held;               /* held message + ticket */
        uint64_t last_ticket;                   /* the newest flush ticket given */
        uint64_t done_ticket;                   /* the newest ticket reported durable */
};

/* Sets r up over a core and a state machine (both borrowed, open). */
void replica_init(struct replica *r, struct raft *core, struct sm *sm,
                  const struct replica_ops *ops, void *ctx);

/* Drops the queued marks and releases the held messages unsent. */
void replica_close(struct replica *r);

/* Steps the core with ev and obeys the update. Returns raft_step's result
 * (the update is obeyed either way). Asserts !r->obeying. A failed replica
 * steps nothing: SYN_ECLOSED. */
int replica_step(struct replica *r, const struct raft_event *ev);

/* The host flushed its storage as `ticket` (non-decreasing; the same ticket again
 * when there was nothing new to write): every mark and held message queued since
 * the last flush is durable with it. */
void replica_flushed(struct replica *r, uint64_t ticket);

/* Every flush up to done_ticket is durable: releases the messages held for them,
 * then steps RAFT_EV_PERSISTED for their marks, in order. */
void replica_durable(struct replica *r, uint64_t done_ticket);

/* Whether marks or held messages wait for a flush (the host should flush soon). */
bool replica_flush_wanted(const struct replica *r);

/* Marks the replica failed (the host's storage or state machine cannot go on). */
void replica_fail(struct replica *r);

#endif
