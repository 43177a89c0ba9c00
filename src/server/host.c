/*
 * The host: the one place that obeys the Raft core (house rule 2).
 *
 * Every raft_step() returns an update, and host_obey() carries it out in one
 * fixed order:
 *
 *   1. PERSIST  term/vote, truncation and new entries are handed to the WAL
 *               (encoded in memory; the I/O thread writes and fdatasyncs them
 *               in one group commit when before_sleep flushes). The update's
 *               persist mark waits, tagged with the flush ticket, until the WAL
 *               reports that ticket durable; then RAFT_EV_PERSISTED is stepped.
 *   2. SEND     messages to peers (cluster.c): the ones Raft allows before
 *               persistence at once, the others after the WAL flush that
 *               carries this update is durable.
 *   3. APPLY    committed entries, in order, each at zxid = its log index
 *               (apply.c): tree_apply, then the watch events it triggered are
 *               queued to the watching connections...
 *   4. REPLY    ...and only then the reply of the write itself (its waiter in
 *               the registry), followed by the reads of that session that
 *               waited behind it.
 *
 *   5. SNAPSHOTS from the leader: chunks are written into a file; the install
 *               runs after the update, since it steps the core again.
 *   6. READS    read states let the ReadIndex waits (sync) complete once
 *               applied; then, if the leader or term changed, connections with
 *               writes in flight are closed (cluster.c says why).
 *
 * An update is borrowed from the core until its next step, so nothing steps the
 * core while an update is obeyed (srv.obeying): a write that an apply lets
 * through (the reply of one write unblocks the next) gets SYN_EBUSY and is
 * proposed by the stalled-list pump in before_sleep, in the same WAL flush.
 *
 * Raft commits an entry only after RAFT_EV_PERSISTED covers it, so a reply is
 * never written before its entry is on disk; replies reach the socket in the
 * net flush that ends the loop iteration. A failed fdatasync, a corrupt entry or
 * an out-of-memory apply is fatal: the server stops (house rule 7).
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
        srv->stopping = true;
        net_stop(&srv->net);
}

static void persist(struct srv *srv, const struct raft_update *u)
{
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
        if (rc != 0) {
                host_fatal(srv, rc, "writing the WAL");
                return;
        }
        if (u->persist_mark.index != 0) {
                struct srv_persist_mark *m = calloc(1, sizeof *m);
                if (m == NULL) {
                        host_fatal(srv, SYN_ENOMEM, "persist mark");
                        return;
                }
                m->mark = u->persist_mark;
                if (srv->marks_tail)
                        srv->marks_tail->next = m;
                else
                        srv->marks_head = m;
                srv->marks_tail = m;
                if (srv->marks_unticketed == NULL)
                        srv->marks_unticketed = m;
        }
}

/* Raft messages: those allowed before persistence go now, the others after the WAL
 * flush that carries this update (cluster.c). A standalone server has no peers. */
static void send_messages(struct srv *srv, const struct raft_update *u)
{
        if (!srv->peers_ready)
                return;
        for (size_t i = 0; i < u->n_msgs; i++)
                cluster_send_raft(srv, &u->msgs[i]);
        for (size_t i = 0; i < u->n_msgs_after_persist; i++)
                cluster_defer_raft(srv, &u->msgs_after_persist[i]);
}

static void apply_committed(struct srv *srv, const struct raft_update *u)
{
        for (size_t i = 0; i < u->n_committed && !srv->fatal; i++) {
                const struct raft_entry *e = &u->committed[i];
                apply_entry(srv, e);
        }
}

/* The leader or the term changed: a write proposed to, or forwarded to, the old
 * leader may be lost while a later one of its session is not. */
static void leader_changed(struct srv *srv, const struct raft_update *u)
{
        bool had_leader = srv->leader_id != RAFT_NONE;
        if (srv->leader_id != u->leader_id || srv->term != u->term)
                srv->inflight_doomed = true;
        if (u->role == RAFT_LEADER && srv->role != RAFT_LEADER) {
                SYN_INFO("raft: leader of term %llu", (unsigned long long)u->term);
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

static void observe(struct srv *srv, const struct raft_update *u)
{
        if (u->compacted_to != 0)
                SYN_DEBUG("raft: log compacted to %llu", (unsigned long long)u->compacted_to);
        if (u->role_changed)
                leader_changed(srv, u);
        if (u->config_changed)
                members_raft_changed(srv);
}

/* Snapshots from the leader: chunks are written now; the install needs raft steps
 * of its own, so it runs once this update is fully obeyed (host_step). */
static void receive_snapshot(struct srv *srv, const struct raft_update *u)
{
        if (u->snapshot_chunk != NULL)
                snapshot_recv_chunk(srv, u->snapshot_chunk);
        if (u->snapshot_install != NULL) {
                srv->install = *u->snapshot_install;
                srv->install_pending = true;
        }
}

static void host_obey(struct srv *srv, const struct raft_update *u)
{
        SYN_ASSERT(!srv->obeying);
        srv->obeying = true;
        persist(srv, u);
        send_messages(srv, u);
        apply_committed(srv, u);
        receive_snapshot(srv, u);
        readindex_states(srv, u->read_states, u->n_read_states);
        observe(srv, u);
        srv->obeying = false;
        /* Work that may step raft again: only now, with u no longer in use. */
        if (u->n_committed > 0 || u->n_read_states > 0)
                readindex_advance(srv, (int64_t)net_now_ms(&srv->net));
        if (srv->inflight_doomed) {
                srv->inflight_doomed = false;
                conns_close_inflight(srv, "the leader changed");
        }
}

int host_step(struct srv *srv, const struct raft_event *ev)
{
        SYN_ASSERT(!srv->obeying); /* an update is borrowed until the next step */
        struct raft_update u;
        int rc = raft_step(&srv->raft, ev, &u);
        host_obey(srv, &u);
        if (srv->install_pending && !srv->fatal) {
                srv->install_pending = false;
                snapshot_install(srv, &srv->install);
        }
        return rc;
}

int host_propose(struct srv *srv, const uint8_t *data, size_t len, uint64_t *index)
{
        if (srv->fatal)
                return srv->fatal;
        if (srv->role != RAFT_LEADER)
                return SYN_ENOTLEADER;
        if (srv->obeying)
                return SYN_EBUSY; /* proposed from an apply: the stalled pump retries */
        struct raft_event ev = {.type = RAFT_EV_PROPOSE};
        ev.propose.data = data;
        ev.propose.len = len;
        struct raft_update u;
        int rc = raft_step(&srv->raft, &ev, &u);
        if (rc == 0)
                *index = u.proposal_index;
        host_obey(srv, &u);
        return rc;
}

/* Steps RAFT_EV_PERSISTED for every mark whose flush is durable. */
static void advance_persisted(struct srv *srv)
{
        struct wal_status st;
        wal_poll(&srv->wal, &st);
        srv->stats.fsync_count = st.fsync_count;
        if (st.error != SYN_OK) {
                host_fatal(srv, st.error, "WAL I/O (fdatasync)");
                return;
        }
        cluster_release_deferred(srv, st.done_ticket);
        /* Bounded by the marks queued, each popped once. */
        while (srv->marks_head != NULL && srv->marks_head->ticket != 0 &&
               srv->marks_head->ticket <= st.done_ticket && !srv->fatal) {
                struct srv_persist_mark *m = srv->marks_head;
                srv->marks_head = m->next;
                if (srv->marks_head == NULL)
                        srv->marks_tail = NULL;
                struct raft_event ev = {.type = RAFT_EV_PERSISTED};
                ev.persisted = m->mark;
                free(m);
                host_step(srv, &ev);
        }
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
        /* Only the marks queued since the last flush (a suffix) take this ticket: not a
         * walk over every mark still waiting for an fdatasync, each iteration. */
        for (struct srv_persist_mark *m = srv->marks_unticketed; m != NULL; m = m->next) {
                SYN_ASSERT(m->ticket == 0);
                m->ticket = ticket;
        }
        srv->marks_unticketed = NULL;
        cluster_ticket_deferred(srv, ticket);
        srv->last_ticket = ticket;
        /* A ticket may already be done (nothing new to write): apply without waiting. */
        advance_persisted(srv);
        if (srv->marks_unticketed != NULL || srv->deferred_unticketed != NULL)
                net_wake(&srv->net); /* queued by the step above: flush next pass */
        cluster_flush(srv);
}

void host_tick(struct srv *srv)
{
        if (srv->fatal)
                return;
        struct raft_event ev = {.type = RAFT_EV_TICK};
        host_step(srv, &ev);
}

void host_campaign(struct srv *srv)
{
        struct raft_event ev = {.type = RAFT_EV_CAMPAIGN};
        int rc = host_step(srv, &ev);
        if (rc != 0)
                SYN_WARN("raft: campaign refused: %s", syn_strerror(rc));
}
