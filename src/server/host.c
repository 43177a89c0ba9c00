/*
 * The server's side of the host (replica.h runs the order): what each step of
 * that order means here.
 *
 *   1. PERSIST  term/vote, truncation and new entries are handed to the WAL
 *               (encoded in memory; the I/O thread writes and fdatasyncs them
 *               in one group commit when before_sleep flushes). The flush's
 *               ticket goes to the replica, and the WAL's wake-up reports the
 *               durable tickets (host_wal_done).
 *   2. SEND     messages to peers (cluster.c), encoded; those held for a flush
 *               are encoded at once and sent when the replica releases them.
 *   3. APPLY    the reads a client queued ahead of its write run just before
 *               the write's entry is applied (pipeline.c); the replica applies
 *               each committed entry to srv->sm; apply.c
 *               then queues the watch events it triggered to the watching
 *               connections, and only then the reply of the write itself (its
 *               waiter in the registry), followed by the reads of that session
 *               that waited behind it.
 *   4. SNAPSHOTS from the leader: chunks are written into a file; the install
 *               runs after the update (snapshot_transfer.c).
 *   5. READS    read states let the ReadIndex waits (sync) complete once
 *               applied; then, if the leader or term changed, connections with
 *               writes in flight are closed (cluster.c says why).
 *
 * Nothing steps the core while an update is obeyed (replica.obeying): a write
 * that an apply lets through (the reply of one write unblocks the next) gets
 * SYN_EBUSY and is proposed by the stalled-list pump in before_sleep, in the
 * same WAL flush.
 *
 * Replies reach the socket in the net flush that ends the loop iteration. A
 * failed fdatasync, a corrupt entry or an out-of-memory apply is fatal: the
 * server stops (house rule 7).
 *
 * A full disk is not: the WAL keeps what it could not write and tries again
 * (storage.h), so nothing this server acknowledged or voted is lost, and its
 * durable marks simply stop. Meanwhile it refuses client writes with
 * ZSYSTEMERROR (propose.c; a write it took could not be answered before the disk
 * has room: a follower answers once it applied the entry, and it applies only
 * what it made durable), keeps answering reads from what it has applied, and,
 * when it leads, hands leadership to a follower, again every election timeout,
 * so the cluster goes on writing without it. It catches up when space returns.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

void host_fatal(struct srv *srv, int err, const char *what)
{
        if (srv->fatal == SYN_OK) {
                SYN_ERROR("fatal: %s: %s; stopping", what, syn_strerror(err));
                srv->fatal = err;
        }
        replica_fail(&srv->replica);
        srv->stopping = true;
        net_stop(&srv->net);
}

static int wal_persist(void *ctx, const struct raft_update *u)
{
        struct srv *srv = ctx;
        int rc = 0;
        if (u->hard_state_changed) {
                struct wal_meta meta = {.term = u->hard_state.term, .vote = u->hard_state.vote};
                rc = wal_save_meta(&srv->wal, &meta);
        }
        if (rc == 0 && u->truncate_from != 0)
                rc = wal_truncate_suffix(&srv->wal, u->truncate_from);
        for (size_t i = 0; rc == 0 && i < u->n_entries; i++) {
                const struct raft_entry *e = &u->entries[i];
                rc = wal_append(&srv->wal, (uint8_t)e->type, e->term, e->index, e->data, e->len);
                srv->logged_bytes += e->len; /* the core holds them too, until a snapshot */
        }
        if (rc != 0)
                host_fatal(srv, rc, "writing the WAL");
        return rc;
}

/* A standalone server has no peers (and Raft sends it nothing). */
static void peer_send(void *ctx, const struct raft_message *m)
{
        struct srv *srv = ctx;
        if (srv->peers_ready)
                cluster_send_raft(srv, m);
}

static void *peer_hold(void *ctx, const struct raft_message *m)
{
        struct srv *srv = ctx;
        return srv->peers_ready ? cluster_hold_raft(srv, m) : NULL;
}

static void peer_release(void *ctx, void *held, bool send_it)
{
        cluster_release_held(ctx, held, send_it);
}

static const struct raft_entry *before_apply(void *ctx, const struct raft_entry *e,
                                             struct raft_entry *scratch)
{
        (void)scratch;
        struct srv *srv = ctx;
        if (srv->fatal)
                return NULL;
        pipeline_before_apply(srv, e);
        return e;
}

static bool apply_done(void *ctx, const struct raft_entry *e, int rc)
{
        struct srv *srv = ctx;
        apply_effects(srv, e, rc);
        return !srv->fatal;
}

static void snapshot_chunk_received(void *ctx, const struct raft_snapshot_chunk *c)
{
        snapshot_recv_chunk(ctx, c);
}

static void snapshot_ready(void *ctx, const struct raft_snapshot_meta *meta)
{
        snapshot_install(ctx, meta);
}

static void read_states_ready(void *ctx, const struct raft_read_state *rs, size_t n)
{
        readindex_states(ctx, rs, n);
}

/* The leader or the term changed: a write proposed to, or forwarded to, the old
 * leader may be lost while a later one of its session is not. */
static void leader_changed(struct srv *srv, const struct raft_update *u)
{
        bool had_leader = srv->leader_id != RAFT_NONE;
        if (srv->leader_id != u->leader_id || srv->term != u->term) {
                srv->inflight_doomed = true;
                srv->reads_orphaned = true;
        }
        if (u->role == RAFT_LEADER && srv->role != RAFT_LEADER) {
                SYN_INFO("raft: leader of term %llu", (unsigned long long)u->term);
                srv->leader_since_ms = (int64_t)net_now_ms(&srv->net);
                sessions_track_all(srv);
        } else if (u->leader_id != srv->leader_id && u->leader_id != RAFT_NONE) {
                SYN_INFO("raft: following %llu in term %llu", (unsigned long long)u->leader_id,
                         (unsigned long long)u->term);
        }
        if (u->leader_id == RAFT_NONE && had_leader)
                srv->leader_lost_ms = (int64_t)net_now_ms(&srv->net);
        srv->role = u->role;
        srv->term = u->term;
        srv->leader_id = u->leader_id;
}

static void observe_update(void *ctx, const struct raft_update *u)
{
        struct srv *srv = ctx;
        if (u->compacted_to != 0)
                SYN_DEBUG("raft: log compacted to %llu", (unsigned long long)u->compacted_to);
        if (u->role_changed)
                leader_changed(srv, u);
        if (u->config_changed)
                members_raft_changed(srv);
}

/* Work that may step raft again: only once the update is obeyed. */
static void update_settled(void *ctx, const struct raft_update *u)
{
        struct srv *srv = ctx;
        if (u->n_committed > 0 || u->n_read_states > 0)
                readindex_advance(srv, (int64_t)net_now_ms(&srv->net));
        if (srv->inflight_doomed) {
                srv->inflight_doomed = false;
                conns_close_inflight(srv, "the leader changed");
        }
        if (srv->reads_orphaned && srv->leader_id != RAFT_NONE) {
                srv->reads_orphaned = false;
                readindex_resend(srv);
        }
}

static void replica_failed(void *ctx, int err, const char *what)
{
        host_fatal(ctx, err, what);
}

static const struct replica_ops host_ops = {
    .persist = wal_persist,
    .send = peer_send,
    .hold = peer_hold,
    .release = peer_release,
    .will_apply = before_apply,
    .applied = apply_done,
    .snapshot_chunk = snapshot_chunk_received,
    .snapshot_install = snapshot_ready,
    .read_states = read_states_ready,
    .observe = observe_update,
    .settled = update_settled,
    .failed = replica_failed,
};

void host_init(struct srv *srv)
{
        replica_init(&srv->replica, &srv->raft, &srv->sm, &host_ops, srv);
}

int host_step(struct srv *srv, const struct raft_event *ev)
{
        return replica_step(&srv->replica, ev);
}

int host_propose(struct srv *srv, const uint8_t *data, size_t len, uint64_t *index)
{
        if (srv->fatal)
                return srv->fatal;
        if (srv->role != RAFT_LEADER)
                return SYN_ENOTLEADER;
        if (srv->replica.obeying)
                return SYN_EBUSY; /* proposed from an apply: the stalled pump retries */
        struct raft_event ev = {.type = RAFT_EV_PROPOSE};
        ev.propose.data = data;
        ev.propose.len = len;
        int rc = replica_step(&srv->replica, &ev);
        if (rc == 0)
                *index = srv->replica.proposal_index;
        return rc;
}

int host_transfer_leadership(struct srv *srv, const char *why)
{
        const struct raft_config *c = raft_config(&srv->raft);
        uint64_t best = RAFT_NONE, best_match = 0;
        for (uint32_t i = 0; i < c->n_voters; i++) {
                uint64_t id = c->voters[i];
                uint64_t match = raft_match_index(&srv->raft, id);
                if (id != (uint64_t)srv->config.server_id &&
                    (best == RAFT_NONE || match > best_match)) {
                        best = id;
                        best_match = match;
                }
        }
        if (best == RAFT_NONE)
                return SYN_ENOTFOUND;
        struct raft_event ev = {.type = RAFT_EV_TRANSFER};
        ev.transfer.target = best;
        int rc = host_step(srv, &ev);
        SYN_INFO("%s: handing leadership to %llu%s%s", why, (unsigned long long)best,
                 rc != 0 ? ": " : "", rc != 0 ? syn_strerror(rc) : "");
        return rc;
}

/* A leader whose disk is full hands leadership over (and asks again every election
 * timeout while it still leads: a transfer may time out). */
static void no_space_step_down(struct srv *srv)
{
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (!srv->wal_no_space || srv->role != RAFT_LEADER || !srv->clustered ||
            now - srv->no_space_transfer_ms < srv->config.election_timeout_ms)
                return;
        srv->no_space_transfer_ms = now;
        host_transfer_leadership(srv, "no space for the WAL");
}

/* Hands the replica the tickets the WAL reports durable. */
static void advance_persisted(struct srv *srv)
{
        struct wal_status st;
        wal_poll(&srv->wal, &st);
        srv->stats.fsync_count = st.fsync_count;
        srv->stats.wal = st;
        srv->stats.wal_no_space_stalls = st.no_space_stalls;
        if (st.error != SYN_OK) {
                host_fatal(srv, st.error, "WAL I/O (fdatasync)");
                return;
        }
        if (st.no_space != srv->wal_no_space) {
                srv->wal_no_space = st.no_space;
                srv->no_space_transfer_ms = INT64_MIN / 2; /* ask at once */
                SYN_WARN("%s", st.no_space ? "disk full: refusing client writes until the WAL has "
                                             "space again"
                                           : "accepting client writes again");
        }
        replica_durable(&srv->replica, st.done_ticket);
        no_space_step_down(srv);
}

void host_wal_done(void *arg)
{
        struct srv *srv = arg;
        if (srv->wal_open)
                advance_persisted(srv);
}

void host_before_sleep(struct srv *srv)
{
        if (!srv->wal_open || srv->fatal)
                return;
        uint64_t ticket = 0;
        int rc = wal_flush(&srv->wal, &ticket);
        if (rc != 0) {
                host_fatal(srv, rc, "flushing the WAL");
                return;
        }
        replica_flushed(&srv->replica, ticket);
        /* A ticket may already be done (nothing new to write): apply without waiting. */
        advance_persisted(srv);
        if (replica_flush_wanted(&srv->replica))
                net_wake(&srv->net); /* queued by the steps above: flush next pass */
        cluster_flush(srv);
}

void host_tick(struct srv *srv)
{
        if (srv->fatal)
                return;
        struct raft_event ev = {.type = RAFT_EV_TICK};
        host_step(srv, &ev);
        no_space_step_down(srv);
}

void host_campaign(struct srv *srv)
{
        struct raft_event ev = {.type = RAFT_EV_CAMPAIGN};
        int rc = host_step(srv, &ev);
        if (rc != 0)
                SYN_WARN("raft: campaign refused: %s", syn_strerror(rc));
}
