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
 *   2. SEND     messages to peers. A single node has none; a message here is
 *               logged and dropped (Raft tolerates loss).
 *   3. APPLY    committed entries, in order, each at zxid = its log index
 *               (apply.c): tree_apply, then the watch events it triggered are
 *               queued to the watching connections...
 *   4. REPLY    ...and only then the reply of the write itself (its waiter in
 *               the registry), followed by the reads of that session that
 *               waited behind it.
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

static void send_messages(struct srv *srv, const struct raft_update *u)
{
        (void)srv;
        /* Single node: no peers. The core retries anything that matters. */
        if (u->n_msgs + u->n_msgs_after_persist > 0)
                SYN_DEBUG("raft: dropping %zu messages (no peers)",
                          u->n_msgs + u->n_msgs_after_persist);
}

static void apply_committed(struct srv *srv, const struct raft_update *u)
{
        for (size_t i = 0; i < u->n_committed && !srv->fatal; i++) {
                const struct raft_entry *e = &u->committed[i];
                SYN_ASSERT(e->index == srv->applied_index + 1);
                if (e->type == RAFT_ENTRY_NORMAL)
                        apply_entry(srv, e);
                else
                        srv->applied_index = e->index; /* NOOP / CONF: an index, no change */
        }
}

static void observe(struct srv *srv, const struct raft_update *u)
{
        if (u->compacted_to != 0)
                SYN_DEBUG("raft: log compacted to %llu", (unsigned long long)u->compacted_to);
        if (u->role_changed) {
                if (u->role == RAFT_LEADER && srv->role != RAFT_LEADER) {
                        SYN_INFO("raft: leader of term %llu", (unsigned long long)u->term);
                        sessions_track_all(srv);
                }
                srv->role = u->role;
        }
}

/*
 * This host serves a single voter: no snapshot can arrive from a leader, no
 * ReadIndex is asked for, and no message waits for persistence because none has
 * a peer to go to. Adding peers must fail loudly here, not quietly drop them.
 */
static void assert_single_voter(struct srv *srv, const struct raft_update *u)
{
        if (raft_config(&srv->raft)->n_voters != 1)
                return;
        SYN_ASSERT(u->snapshot_install == NULL);
        SYN_ASSERT(u->snapshot_chunk == NULL);
        SYN_ASSERT(u->n_read_states == 0);
        SYN_ASSERT(u->n_msgs_after_persist == 0);
}

static void host_obey(struct srv *srv, const struct raft_update *u)
{
        assert_single_voter(srv, u);
        persist(srv, u);
        send_messages(srv, u);
        apply_committed(srv, u);
        observe(srv, u);
}

int host_step(struct srv *srv, const struct raft_event *ev)
{
        struct raft_update u;
        int rc = raft_step(&srv->raft, ev, &u);
        host_obey(srv, &u);
        return rc;
}

int host_propose(struct srv *srv, const uint8_t *data, size_t len, uint64_t *index)
{
        if (srv->fatal)
                return srv->fatal;
        if (srv->role != RAFT_LEADER)
                return SYN_ENOTLEADER;
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
        srv->last_ticket = ticket;
        /* A ticket may already be done (nothing new to write): apply without waiting. */
        advance_persisted(srv);
        if (srv->marks_unticketed != NULL)
                net_wake(&srv->net); /* queued by the step above: flush next pass */
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
