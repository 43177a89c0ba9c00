/*
 * The replicated state machine: the data tree (src/tree, with its session
 * table) and the watch manager (src/watch), fed the committed Raft entries in
 * log order. The server and the simulator (tests/sim) apply through this one
 * module, so what the simulator checks is what the server runs.
 *
 *   apply     sm_apply() applies one committed entry at zxid = its index: a
 *             NORMAL entry is a txn (tree/txn.h) given to tree_apply; NOOP
 *             changes nothing; CONF changes only the applied Raft
 *             configuration. The tree events of a txn then go through the
 *             watch manager. The decoded txn, its outcome, its tree events and
 *             the notifications they caused (in the order a server sends them)
 *             stay in the sm until the next apply, for the caller's effects
 *             (replies, deliveries, checks).
 *   digest    tree_digest(): one 64-bit digest of the whole replicated state
 *             (nodes with Stat, data and ACL, and the sessions), as ZooKeeper
 *             3.6+ keeps one. Equal histories, equal digests.
 *   snapshot  the stream written into snapshot files and sent to followers
 *             (snapstream.h): the Raft configuration as of the snapshot's
 *             index, then the tree's bytes.
 *
 * Nothing here reads a clock or does I/O: a txn's time is what its proposer
 * stamped. Watches are local to a server and not part of a snapshot: opening
 * one starts with none (a server closes its client connections then).
 *
 * A notification the watch manager cannot queue (out of memory) does not fail
 * the apply: the connections it was for are marked lost (watch_take_lost) and
 * the caller closes them, so nothing is dropped silently.
 */
#ifndef SYN_REPLICA_SM_H
#define SYN_REPLICA_SM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"
#include "tree/tree.h"
#include "tree/txn.h"
#include "watch/watch.h"

struct sm_options {
        struct tree_options tree;
        /* The watch tables' limits and hash seed (notification order does not
         * depend on the seed). */
        struct watch_options watch;
};

struct sm {
        bool open;
        struct tree tree;
        struct watch_manager watches;
        /* The last entry applied, or the index of the snapshot opened. */
        uint64_t applied;
        /* The Raft configuration as of `applied` (written into snapshots). */
        struct raft_config applied_config;
        /* Of the last entry applied, valid until the next sm_apply or sm_close:
         * has_txn and the txn (its strings borrow the entry's bytes, which the Raft
         * core owns only until its next step), the outcome, the tree events and the
         * notifications they caused. */
        bool has_txn;
        struct txn txn;
        struct tree_result result;
        struct tree_events events;
        struct watch_events deliveries;
};

/* Opens the initial tree with `config` as the applied configuration (the bootstrap
 * one, or empty for a server that joins later). SYN_OK or SYN_ENOMEM (then sm is
 * not open). */
int sm_open(struct sm *sm, const struct sm_options *opt, const struct raft_config *config);

/*
 * Opens the state machine from a snapshot stream (hostile bytes, borrowed for the
 * call) covering the log up to `index`. *has_config tells whether the stream
 * carried the Raft configuration (a stream written before the prefix existed does
 * not; applied_config is then empty and the caller decides). Returns SYN_OK,
 * SYN_ECORRUPT (a prefix that does not decode, or a tree from beyond `index`) or
 * tree_snap_read's error; then sm is not open.
 */
int sm_open_snapshot(struct sm *sm, const struct sm_options *opt, const uint8_t *bytes, size_t len,
                     uint64_t index, bool *has_config);

/* Frees the tree, the watches and the last apply's results; closing a closed sm
 * does nothing. */
void sm_close(struct sm *sm);

/*
 * Applies committed entry e (borrowed), which must follow sm->applied
 * (asserted). Returns SYN_OK, SYN_ECORRUPT if a NORMAL entry is not a txn or a
 * CONF entry not a configuration (nothing changed), or SYN_ENOMEM (the tree is as
 * before; this replica can no longer follow the log).
 */
int sm_apply(struct sm *sm, const struct raft_entry *e);

/* The tree's digest: equal on every replica that applied the same entries. */
uint64_t sm_digest(const struct sm *sm);

/* Writes the snapshot stream of sm through write(arg, p, n) (a non-zero return
 * stops and is returned). Deterministic bytes. */
int sm_snapshot_write(const struct sm *sm, int (*write)(void *arg, const void *p, size_t n),
                      void *arg);

#endif
