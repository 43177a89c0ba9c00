/*
 * raft_step: the single entry point. Handles terms first (etcd's Step), then
 * dispatches by event and by role.
 *
 * Term rules (§3.3, §9.6): a message from a newer term makes this node a
 * follower of that term, except (a) vote requests while the node is sticky to
 * a live leader (heard from one within the election timeout) are ignored
 * without looking at their term, unless the request comes from a leadership
 * transfer, and (b) pre-vote requests and granted pre-vote answers never change
 * anybody's term. A message from an older term is answered, when it comes
 * from a stale leader or candidate, with our term so the sender learns it and
 * steps down; otherwise it is dropped.
 */
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

void become_follower(struct raft_priv *p, uint64_t term, uint64_t leader)
{
        SYN_ASSERT(term >= p->term);
        if (term > p->term) {
                p->term = term;
                p->vote = RAFT_NONE;
        }
        if (p->role == RAFT_LEADER) {
                read_index_drop(p);
        }
        p->role = RAFT_FOLLOWER;
        p->leader = leader;
        p->transferee = RAFT_NONE;
        p->n_votes = 0;
        raft_reset_timeout(p);
}

/* Sticky (§9.6 / etcd's inLease): a live leader was heard within the timeout.
 * With lease reads, a node that (re)started less than an election timeout ago
 * is sticky too: before its crash it may have acknowledged the heartbeat round
 * that a leader's lease counts from, and that lease runs until the leader's own
 * election timeout passes. ticks restarts at 0 with the process. */
static bool in_lease(const struct raft_priv *p)
{
        if (p->o.lease_read && p->ticks < p->o.election_ticks)
                return true;
        return p->leader != RAFT_NONE && p->election_elapsed < p->o.election_ticks;
}

static bool from_leader_type(enum raft_msg_type t)
{
        return t == RAFT_MSG_APPEND || t == RAFT_MSG_HEARTBEAT || t == RAFT_MSG_SNAPSHOT ||
               t == RAFT_MSG_TIMEOUT_NOW;
}

/* A message from an older term. */
static void step_stale(struct raft_priv *p, const struct raft_message *m)
{
        if (from_leader_type(m->type)) {
                /* Tell the stale leader our term (it steps down on seeing it). */
                struct raft_message *r = out_msg_after(p, RAFT_MSG_APPEND_RESP, m->from);
                r->append_resp.success = false;
                r->append_resp.index = m->type == RAFT_MSG_APPEND ? m->append.prev_index : 0;
                r->append_resp.last_index = rlog_last_index(&p->log);
        } else if (m->type == RAFT_MSG_VOTE) {
#ifdef SYNOD_PLANT_PREVOTE_NO_TERM_CHECK
                if (m->vote.pre_vote) {
                        /* planted: grant a stale pre-vote */
                        struct raft_message *g = out_msg(p, RAFT_MSG_VOTE_RESP, m->from);
                        g->term = m->term;
                        g->vote_resp =
                            (struct raft_msg_vote_resp){.pre_vote = true, .granted = true};
                        return;
                }
#endif
                /* A refusal binds nothing: a pre-vote one need not wait for the disk. */
                struct raft_message *r = m->vote.pre_vote
                                             ? out_msg(p, RAFT_MSG_VOTE_RESP, m->from)
                                             : out_msg_after(p, RAFT_MSG_VOTE_RESP, m->from);
                r->vote_resp.pre_vote = m->vote.pre_vote;
                r->vote_resp.granted = false;
        }
        /* Anything else from an older term is dropped. */
}

/* Returns false if the message must be dropped. */
static bool step_term(struct raft_priv *p, const struct raft_message *m)
{
        if (m->term < p->term) {
                step_stale(p, m);
                return false;
        }
        if (m->term == p->term) {
                return true;
        }
        if (m->type == RAFT_MSG_VOTE) {
                if (!m->vote.transfer && in_lease(p)) {
                        return false; /* sticky: ignore without changing term */
                }
                if (m->vote.pre_vote) {
                        return true; /* answered without changing term */
                }
        }
        if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.pre_vote && m->vote_resp.granted) {
                return true; /* a pre-vote grant echoes the prospective term */
        }
        become_follower(p, m->term, from_leader_type(m->type) ? m->from : RAFT_NONE);
        return true;
}

static int step_leader_msg(struct raft_priv *p, const struct raft_message *m)
{
        switch (m->type) {
        case RAFT_MSG_APPEND_RESP:
                repl_recv_append_resp(p, m);
                break;
        case RAFT_MSG_HEARTBEAT_RESP:
                repl_recv_heartbeat_resp(p, m);
                break;
        case RAFT_MSG_SNAPSHOT_RESP:
                snapshot_recv_resp(p, m);
                break;
        case RAFT_MSG_READ_INDEX:
                read_index_recv(p, m);
                break;
        case RAFT_MSG_APPEND:
        case RAFT_MSG_HEARTBEAT:
        case RAFT_MSG_SNAPSHOT:
        case RAFT_MSG_TIMEOUT_NOW:
                /* Two leaders in one term would break election safety. */
                RAFT_PEER_ASSERT(m->from == p->id);
                break;
        default:
                break; /* vote answers to an old candidacy, read answers: ignore */
        }
        return SYN_OK;
}

static int step_follower_msg(struct raft_priv *p, const struct raft_message *m)
{
        if (from_leader_type(m->type)) {
                /* §3.4: a candidate that hears from the leader of its term steps down. */
                if (p->role != RAFT_FOLLOWER || p->leader != m->from) {
                        RAFT_PEER_ASSERT(p->leader == RAFT_NONE || p->leader == m->from);
                        become_follower(p, m->term, m->from);
                }
                p->election_elapsed = 0;
        }
        switch (m->type) {
        case RAFT_MSG_APPEND:
                return repl_recv_append(p, m);
        case RAFT_MSG_HEARTBEAT:
                repl_recv_heartbeat(p, m);
                break;
        case RAFT_MSG_SNAPSHOT:
                return snapshot_recv(p, m);
        case RAFT_MSG_TIMEOUT_NOW:
                transfer_recv_timeout_now(p, m);
                break;
        case RAFT_MSG_VOTE_RESP:
                election_recv_vote_resp(p, m);
                break;
        case RAFT_MSG_READ_INDEX:
                read_index_recv(p, m);
                break;
        case RAFT_MSG_READ_INDEX_RESP:
                read_index_recv_resp(p, m);
                break;
        default:
                break; /* answers meant for a leader we no longer are */
        }
        return SYN_OK;
}

static int step_receive(struct raft_priv *p, const struct raft_message *m)
{
        if (m == NULL || m->to != p->id || m->from == RAFT_NONE || m->from == p->id ||
            m->type < RAFT_MSG_VOTE || m->type > RAFT_MSG_READ_INDEX_RESP) {
                return SYN_EINVAL;
        }
        if (!step_term(p, m)) {
                return SYN_OK;
        }
        if (m->type == RAFT_MSG_VOTE) {
                election_recv_vote(p, m);
                return SYN_OK;
        }
        if (p->role == RAFT_LEADER) {
                return step_leader_msg(p, m);
        }
        return step_follower_msg(p, m);
}

static void tick_leader(struct raft_priv *p)
{
        p->heartbeat_elapsed++;
        p->election_elapsed++;
        if (p->election_elapsed >= p->o.election_ticks) {
                p->election_elapsed = 0;
                if (p->o.check_quorum) {
                        size_t active = 0;
                        for (uint32_t i = 0; i < p->config.n_voters; i++) {
                                uint64_t id = p->config.voters[i];
                                struct progress *pr = raft_progress(p, id);
                                if (id == p->id || (pr != NULL && pr->recent_active)) {
                                        active++;
                                }
                        }
                        for (size_t i = 0; i < p->n_prs; i++) {
                                p->prs[i].recent_active = false;
                        }
                        if (active < p->config.n_voters / 2 + 1) {
                                /* §6.2: cannot reach a majority: stop serving. */
                                become_follower(p, p->term, RAFT_NONE);
                                return;
                        }
                }
        }
        transfer_tick(p);
        if (p->role == RAFT_LEADER && p->heartbeat_elapsed >= p->o.heartbeat_ticks) {
                p->heartbeat_elapsed = 0;
                repl_broadcast_heartbeat(p);
        }
}

static void tick(struct raft_priv *p)
{
        p->ticks++;
        if (p->role == RAFT_LEADER) {
                tick_leader(p);
                return;
        }
        p->election_elapsed++;
        if (!raft_may_campaign(p) || p->install_pending) {
                return; /* learners and removed nodes never campaign */
        }
        bool alone = p->config.n_voters == 1 && raft_is_voter(p);
        if (alone || p->election_elapsed >= p->randomized_timeout) {
                election_campaign(p, p->o.pre_vote && !alone, false);
        }
}

static int step_propose(struct raft_priv *p, const struct raft_event *ev)
{
        if (p->role != RAFT_LEADER) {
                return SYN_ENOTLEADER;
        }
        if (p->transferee != RAFT_NONE) {
                return SYN_EBUSY;
        }
        size_t len = ev->propose.len;
        if (len > RAFT_ENTRY_BYTES_MAX || (len > 0 && ev->propose.data == NULL)) {
                return len > RAFT_ENTRY_BYTES_MAX ? SYN_ETOOBIG : SYN_EINVAL;
        }
        /* Always admit one entry when nothing is outstanding (etcd does too). */
        if (p->uncommitted_bytes > 0 && p->uncommitted_bytes + len > p->o.max_uncommitted_bytes) {
                return SYN_EBUSY;
        }
        int rv = repl_append_local(p, RAFT_ENTRY_NORMAL, ev->propose.data, len);
        if (rv != 0) {
                return rv;
        }
        p->uncommitted_bytes += len;
        p->out_proposal_index = rlog_last_index(&p->log);
        p->out_proposal_term = p->term;
        repl_broadcast_append(p);
        return SYN_OK;
}

static int step_event(struct raft_priv *p, const struct raft_event *ev)
{
        switch (ev->type) {
        case RAFT_EV_TICK:
                tick(p);
                return SYN_OK;
        case RAFT_EV_RECEIVE:
                return step_receive(p, ev->receive);
        case RAFT_EV_PROPOSE:
                return step_propose(p, ev);
        case RAFT_EV_PERSISTED:
                repl_persisted(p, &ev->persisted);
                return SYN_OK;
        case RAFT_EV_SNAPSHOT_TAKEN:
                return snapshot_taken(p, ev->snapshot_taken.index);
        case RAFT_EV_SNAPSHOT_INSTALLED:
                return snapshot_installed(p, ev->snapshot_installed.index);
        case RAFT_EV_READ_INDEX:
                return read_index_request(p, ev->read_index.ctx, p->id);
        case RAFT_EV_TRANSFER:
                return transfer_start(p, ev->transfer.target);
        case RAFT_EV_CONF_CHANGE:
                return membership_change(p, ev->conf_change.op, ev->conf_change.node_id);
        case RAFT_EV_CAMPAIGN:
                if (!raft_may_campaign(p)) {
                        return SYN_EINVAL;
                }
                if (p->install_pending) {
                        return SYN_EBUSY;
                }
                if (p->role != RAFT_LEADER) {
                        election_campaign(p, false, false);
                }
                return SYN_OK;
        }
        return SYN_EINVAL;
}

static void check_invariants(const struct raft_priv *p)
{
        uint64_t last = rlog_last_index(&p->log);
        SYN_ASSERT(p->commit <= last);
        SYN_ASSERT(p->persisted <= last);
        SYN_ASSERT(p->log.prev_index <= p->snapshot.index || p->install_pending);
        SYN_ASSERT(p->snapshot.index <= p->commit);
        SYN_ASSERT(p->term >= p->start_term);
        SYN_ASSERT(p->role != RAFT_LEADER || p->leader == p->id);
        SYN_ASSERT(rlog_last_term(&p->log) <= p->term);
}

#ifdef SYNOD_DEBUG_CHECKS
/* Expensive: walks the whole log (simulator and debug builds only). */
static void check_log(const struct raft_priv *p)
{
        uint64_t term = p->log.prev_term;
        for (uint64_t i = p->log.prev_index + 1; i <= rlog_last_index(&p->log); i++) {
                const struct raft_entry *e = rlog_get(&p->log, i);
                SYN_ASSERT(e->term >= term);
                SYN_ASSERT(e->len == 0 || e->data != NULL);
                term = e->term;
        }
}
#endif

int raft_step(struct raft *r, const struct raft_event *ev, struct raft_update *u)
{
        struct raft_priv *p = r->p;
        SYN_ASSERT(p != NULL);
        SYN_ASSERT(ev != NULL);
        SYN_ASSERT(u != NULL);
        out_begin(p);
        int rv = step_event(p, ev);
        check_invariants(p);
        out_finish(p, u);
        SYN_ASSERT(p->unstable_from == rlog_last_index(&p->log) + 1);
#ifdef SYNOD_DEBUG_CHECKS
        check_log(p);
#endif
        return rv;
}
