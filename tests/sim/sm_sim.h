/*
 * The replicated state machine of one simulated server: the real data tree
 * (src/tree, with its session table) and the server's watch manager
 * (src/watch), fed the committed Raft entries in log order.
 *
 * This is the part of a host that knows nothing of the simulator (no
 * cluster, clock, network, disk or checker: it includes only raft.h, the
 * tree, the watches and the snapshot stream), so that it can move as it is
 * into a host shared with the server, whose src/server/apply.c and
 * snapshot.c do the same work (docs/simulator.md, "Towards one host").
 *
 *   apply     sim_sm_apply() applies one committed entry at zxid = its index,
 *             as src/server/host.c does: a NORMAL entry is a txn
 *             (tree/txn.h) given to tree_apply; NOOP changes nothing; CONF
 *             changes only the applied Raft configuration. The tree events
 *             of the entry then go through the watch manager: the tree
 *             events stay in sm->events and the notifications, in the order
 *             a server sends them, in sm->deliveries, until the next apply.
 *   digest    tree_digest(): one 64-bit digest of the whole replicated state
 *             (nodes with their Stat, data and ACL, and the sessions), as
 *             ZooKeeper 3.6+ keeps one. Equal histories, equal digests.
 *   snapshot  the stream the server writes into its snapshot files
 *             (server/snapstream.h): the Raft configuration as of the
 *             snapshot's index, then tree_snap_write_cb's bytes.
 *
 * Nothing here reads a clock: a txn's time is what its proposer stamped.
 * Watches are local to a server and not part of a snapshot: loading one
 * starts with none (the server closes its client connections then).
 */
#ifndef SYN_TESTS_SIM_SM_SIM_H
#define SYN_TESTS_SIM_SM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"
#include "tree/tree.h"
#include "watch/watch.h"

struct sim_sm {
        bool open;
        struct tree tree;
        /* The last entry applied, or the index of the snapshot loaded. */
        uint64_t applied;
        struct raft_config applied_config;
        /* Of the last entry applied: its txn's type (TXN_NOOP for a NOOP or CONF
         * entry), outcome and tree events, and the watch notifications they
         * caused. */
        enum txn_type txn_type;
        struct tree_result result;
        struct tree_events events;
        struct watch_manager watches;
        struct watch_events deliveries;
};

/* Opens the initial tree with `config` as the applied configuration (the
 * bootstrap one, or empty for a server that joins later). SYN_OK or SYN_ENOMEM. */
int sim_sm_open(struct sim_sm *sm, const struct raft_config *config);

/*
 * Opens the state machine from a snapshot stream (hostile bytes, borrowed for
 * the call) covering the log up to `index`: the tree from tree_snap_read and
 * the applied configuration from the stream's prefix. Returns SYN_OK,
 * SYN_ECORRUPT (no configuration prefix, or it does not decode) or
 * tree_snap_read's error; then sm is not open.
 */
int sim_sm_open_snapshot(struct sim_sm *sm, const uint8_t *bytes, size_t len, uint64_t index);

/* Frees the tree and the watches; a closed sm may be closed again. */
void sim_sm_close(struct sim_sm *sm);

/*
 * Applies entry e, which must be the one after sm->applied (asserted).
 * Returns SYN_OK, SYN_ECORRUPT if a NORMAL entry is not a txn or a CONF entry
 * not a configuration (nothing changed), or SYN_ENOMEM (the replica can no
 * longer follow the log).
 */
int sim_sm_apply(struct sim_sm *sm, const struct raft_entry *e);

/* The tree's digest: equal on every server that applied the same entries. */
uint64_t sim_sm_digest(const struct sim_sm *sm);

/* Writes the snapshot stream of sm into *bytes (malloc'ed, the caller frees
 * it) and *len. SYN_OK or SYN_ENOMEM. Deterministic bytes. */
int sim_sm_snapshot(const struct sim_sm *sm, uint8_t **bytes, size_t *len);

#endif
