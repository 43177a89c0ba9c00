/*
 * A tiny in-process cluster for Raft scenario tests (etcd's raft_test.go
 * `network`): N cores, a FIFO of messages between them, links that can be
 * cut, and a host per node that obeys the update in order with a durable
 * store that survives net_restart().
 *
 * By default a node persists synchronously: each update's entries and hard
 * state are written to its store at once and RAFT_EV_PERSISTED is stepped
 * right away, and all its messages are queued. With node->hold_persist set,
 * updates are queued instead (persist then PERSISTED then after-persist
 * messages happen in net_flush), so tests can check what leaves before the
 * disk is done and what a crash loses.
 */
#ifndef SYN_TEST_RAFT_NET_H
#define SYN_TEST_RAFT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define NET_NODES_MAX 9
#define NET_MSGS_MAX  100000

struct net_entry {
        struct raft_entry e; /* e.data owned */
};

/* One queued update whose persistence has not completed (hold_persist). */
struct net_pending {
        bool hard_state_changed;
        struct raft_hard_state hs;
        uint64_t truncate_from;
        struct net_entry *entries;
        size_t n_entries;
        struct raft_persist_mark mark;
        struct raft_message *after; /* deep copies */
        size_t n_after;
};

struct net_node {
        uint64_t id;
        struct raft r;
        bool up;
        bool hold_persist;
        struct raft_options opts;
        /* durable store */
        struct raft_hard_state hs;
        struct net_entry *log; /* entries after snap.index */
        size_t n_log;
        struct raft_snapshot_meta snap;
        /* state machine: applied entries (copies), by index order */
        struct net_entry *applied; /* indexes (applied_base, applied_index] */
        size_t n_applied;
        uint64_t applied_base;
        uint64_t applied_index;
        uint64_t snap_bytes_len; /* size of the fake snapshot file */
        uint8_t *recv_buf;       /* snapshot being received */
        size_t recv_len;
        /* reads that became ready */
        struct raft_read_state reads[64];
        size_t n_reads;
        /* updates waiting for persistence */
        struct net_pending *pending; /* growable FIFO */
        size_t n_pending;
        size_t cap_pending;
        /* last update's observation */
        uint64_t last_proposal_index;
        uint64_t updates;
};

struct net_msg {
        struct raft_message m; /* entries/data deep copies, owned */
};

struct net {
        size_t n;
        struct net_node nodes[NET_NODES_MAX];
        bool cut[NET_NODES_MAX + 1][NET_NODES_MAX + 1]; /* [from][to] */
        struct net_msg *q;
        size_t q_head;
        size_t q_len;
        size_t q_cap;
        uint64_t delivered;
        size_t snapshot_chunk_bytes; /* what the host puts in one chunk */
        int (*filter)(void *arg, const struct raft_message *m); /* 0 drop, 1 keep */
        void *filter_arg;
        uint64_t term_leader[4096];   /* election safety: the one leader of each term */
        struct raft_config bootstrap; /* used at restart */
        bool trace;                   /* print role changes, votes and crashes */
        /* Every entry ever applied anywhere, by index: the committed history.
         * An apply that disagrees with it is a lost or changed committed entry. */
        struct raft_entry *history;
        size_t n_history;
};

/* Starts n voters 1..n (bootstrap config of all). options tweak may be NULL. */
void net_init(struct net *net, size_t n, void (*tweak)(struct raft_options *o));
/* Starts n nodes where only voters[0..n_voters) are in the bootstrap config. */
void net_init_config(struct net *net, size_t n, const struct raft_config *bootstrap,
                     void (*tweak)(struct raft_options *o));
void net_close(struct net *net);
struct net_node *net_node(struct net *net, uint64_t id);

/* Steps one node and handles the update like a host. Returns raft_step's result. */
int net_step(struct net *net, uint64_t id, const struct raft_event *ev);
int net_tick(struct net *net, uint64_t id);
void net_tick_all(struct net *net, unsigned ticks);
int net_propose(struct net *net, uint64_t id, const char *s);
int net_campaign(struct net *net, uint64_t id);
/* Delivers queued messages (and the ones they cause) until none are left. */
void net_deliver(struct net *net);
/* Delivers at most n queued messages. */
void net_deliver_n(struct net *net, size_t n);
/* Queue access by position from the head (for reordering, loss, duplication). */
size_t net_queued(const struct net *net);
void net_deliver_at(struct net *net, size_t i);
void net_drop_at(struct net *net, size_t i);
void net_duplicate_at(struct net *net, size_t i);
/* Drops every queued message. */
void net_drop_all(struct net *net);

void net_isolate(struct net *net, uint64_t id);
void net_cut(struct net *net, uint64_t a, uint64_t b);
void net_heal(struct net *net);

/* hold_persist: completes every pending write of the node, in order. */
void net_flush(struct net *net, uint64_t id);
/* Crash: loses the core and pending writes; restart from the durable store. */
void net_crash(struct net *net, uint64_t id);
void net_restart(struct net *net, uint64_t id);
/* Restart with another bootstrap configuration (a node joining with none). */
void net_restart_with(struct net *net, uint64_t id, const struct raft_config *bootstrap);

/* Replaces a crashed node's durable store: hard term `term`, entries 1..count
 * with the given terms (payload "i@t"). */
void net_store_reset(struct net *net, uint64_t id, uint64_t term, const uint64_t *terms,
                     size_t count);

/* The single leader among up nodes with the highest term, or 0. */
uint64_t net_leader(struct net *net);
/* Ticks everybody and delivers until some node leads (or max_ticks pass). */
uint64_t net_elect(struct net *net, unsigned max_ticks);

/* The host snapshots node id at its applied index and steps SNAPSHOT_TAKEN. */
int net_snapshot(struct net *net, uint64_t id);

/* Checks that every pair of up nodes agrees on applied entries (state machine
 * safety) and that no two nodes lead in one term. Fails the test otherwise. */
void net_check_safety(struct net *net);

#endif
