/*
 * The per-session FIFO of the request pipeline (pure bookkeeping, no I/O).
 *
 * ZooKeeper clients need replies in request order, and a read must see exactly
 * the earlier writes of its session: all of them, and none that came after it.
 * Writes go through Raft and complete when their entry is applied; reads are
 * answered from the local tree. The rules:
 *
 *   1. A read runs when it reaches the head of its connection's queue: right
 *      away if the queue is empty, else right after the write ahead of it is
 *      applied, or later if the server holds it back because the connection's
 *      output is full -- but never after the entry of a later write of its
 *      session is applied: just before that entry is applied, the reads at the
 *      head run whatever the output (pl_pop_read), against the tree without it.
 *   2. A write is proposed to Raft when it is submitted, unless an unproposed
 *      write or a barrier is queued: reads ahead of it do not hold it (as in
 *      ZooKeeper), so one connection's writes share group commits even when
 *      reads are mixed in -- unless more reads are queued than the replies rule 1
 *      may force out at once (overtake_reads_max): then the write waits for them
 *      to run. Proposals keep queue order.
 *   3. A barrier (sync, or a read under linearizableReads) is a write-kind item
 *      whose "proposal" starts its ReadIndex round. It is proposed when it is
 *      submitted, unless an unproposed write is queued (proposals keep queue
 *      order), so a connection's barriers share rounds instead of waiting for
 *      each other. Its round may end before it reaches the head: it completes
 *      (its reply) only at the head, and writes behind it stay unproposed until
 *      it has completed: the reads after a sync see at least what was committed
 *      when the sync arrived, and none of their session's later writes.
 *
 * Hence entries of a session are applied in queue order, each reply is written
 * the moment its item completes (a read's when it runs, a write's when its entry
 * is applied), and every read sees exactly the writes of its session before it.
 */
#ifndef SYN_SERVER_PIPELINE_H
#define SYN_SERVER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pl_kind {
        PL_READ = 1, /* runs at the head: a read, ping, setWatches, a canned error ... */
        PL_WRITE,    /* proposed to Raft; completes when entry `index` is applied */
};

struct pl_item {
        struct pl_item *next;
        enum pl_kind kind;
        bool barrier;   /* PL_WRITE: a ReadIndex round (sync); see rule 3 */
        bool ready;     /* barrier: its round is over; it completes at the head */
        bool proposed;  /* PL_WRITE: handed to Raft (or forwarded to the leader) */
        uint64_t index; /* PL_WRITE: the Raft index (= zxid) of its entry; 0 if forwarded */
        int32_t xid;
        int32_t op;
        size_t bytes; /* memory the item holds (its request copy), charged to queue.bytes */
        void *data;   /* the caller's: the request (owned by the caller) */
};

struct pl_queue {
        struct pl_item *head, *tail;
        uint32_t count;
        uint32_t writes;             /* PL_WRITE items (proposed or not) */
        uint32_t reads;              /* PL_READ items; invariant: reads + writes == count */
        uint32_t unproposed;         /* PL_WRITE items not yet proposed */
        uint32_t barriers;           /* barrier items (proposed or not) */
        uint32_t barriers_proposed;  /* of those, proposed: they hold the writes behind */
        uint32_t in_flight;          /* proposed PL_WRITE items that are no barriers: entries of
                                      * this session in the log, wherever they stand in the queue */
        uint32_t overtake_reads_max; /* rule 2: most queued reads a write is proposed past */
        size_t bytes; /* sum of the queued items' `bytes` (a read run at once is not queued) */
        /* private: NULL, or an item such that it and all items before it are reads or
         * proposed items (pl_next resumes its scan there instead of at the head).
         * Proposals keep queue order, so every proposed item precedes every
         * unproposed one. */
        struct pl_item *proposed_scan;
};

enum pl_action {
        PL_RUN_NOW = 1, /* a read with nothing ahead: run it now; it was not queued */
        PL_PROPOSE_NOW, /* a write with nothing unproposed ahead: queued; propose it now,
                         * then pl_proposed */
        PL_QUEUED,      /* queued; the queue hands it back later */
};

/* overtake_reads_max: see rule 2 and pl_overtake_reads_max. */
void pl_queue_init(struct pl_queue *q, uint32_t overtake_reads_max);

/*
 * Rule 2's bound for replies of at most reply_bytes_max each (a client reads no
 * frame over its jute.maxbuffer): that many replies, forced out by rule 1 whatever
 * the output, fit between the output's soft limit (where reads are held back) and
 * its hard limit (where the connection is closed). At least 1.
 */
uint32_t pl_overtake_reads_max(size_t reply_bytes_max);

/* Offers a new item (borrowed by the queue until handed back). */
enum pl_action pl_submit(struct pl_queue *q, struct pl_item *item);

/* Records that the queued write was proposed as entry `index`. */
void pl_proposed(struct pl_queue *q, struct pl_item *item, uint64_t index);

/* Pops the head if it is a read (to run it now: an entry of this connection is
 * about to be applied, rule 1), else NULL. */
struct pl_item *pl_pop_read(struct pl_queue *q);

/* The round of the proposed barrier `item` is over, but it is not the head: pl_next
 * hands it back once it is (rule 3). */
void pl_barrier_ready(struct pl_queue *q, struct pl_item *item);

/*
 * The entry of this connection's proposed write `item` was applied (or a barrier
 * at the head completes): pops it and returns true if it is the head. False (nothing changed) if an
 * earlier write is still queued: that one never reached the log (a proposal lost with a leader),
 * and the session's replies can no longer be given in order.
 */
bool pl_write_applied(struct pl_queue *q, struct pl_item *item);

/*
 * Backpressure: if Raft refuses a proposal for now (SYN_EBUSY, too many
 * uncommitted bytes), the caller leaves the write queued and unproposed and
 * simply stops pumping; pl_next hands the same write back on the next pump,
 * and later writes queue behind it (pl_submit answers PL_QUEUED), so
 * proposals stay in request order.
 *
 * What the queue asks for, after a completion:
 *   returns the head PL_READ item, popped: run it (only if `may_run_reads`);
 *   returns the head barrier, ready and still queued: complete it (only if
 *     `may_run_reads`; pl_write_applied pops it), then call pl_next again;
 *   returns the first unproposed PL_WRITE item, still queued (a write only when
 *     no barrier is ahead of it): propose it and call pl_proposed, then call
 *     pl_next again;
 *   returns NULL: nothing to do until an apply (or until reads may run).
 */
struct pl_item *pl_next(struct pl_queue *q, bool may_run_reads);

/* Turns a queued unproposed write into a read-kind item (its proposal failed:
 * the caller answers it with an error when it reaches the head). */
void pl_write_failed(struct pl_queue *q, struct pl_item *item);

/* Pops the head whatever it is (tearing a connection down), or NULL if empty. */
struct pl_item *pl_pop_any(struct pl_queue *q);

#endif
