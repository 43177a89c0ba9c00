/*
 * Elections (§3.4), pre-vote (§9.6) and votes.
 *
 * A pre-candidate asks "would you vote for me in term+1?" without changing
 * its own term or anybody's vote; only with a majority of yes does it become
 * a real candidate. So a node that was partitioned away (and kept timing out)
 * cannot force the cluster into a new term when it returns. Voters apply the
 * same checks to pre-votes as to votes: the candidate's log must be at least
 * as up to date as theirs (§3.6.1), and a voter that heard from a live leader
 * within the election timeout ignores the request (stickiness, step.c).
 *
 * The candidate's own term and vote, and every vote grant, must be durable
 * before the messages that depend on them leave: those go to
 * msgs_after_persist. Pre-vote traffic changes no durable state and goes at
 * once.
 */
#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

static bool log_up_to_date(const struct raft_priv *p, uint64_t last_index, uint64_t last_term)
{
        uint64_t my_term = rlog_last_term(&p->log);
        return last_term > my_term ||
               (last_term == my_term && last_index >= rlog_last_index(&p->log));
}

static void votes_reset(struct raft_priv *p)
{
        p->n_votes = 0;
        p->votes_from[0] = p->id;
        p->votes_granted[0] = true;
        p->n_votes = 1;
}

static enum quorum_result votes_tally(const struct raft_priv *p)
{
        size_t granted = 0;
        size_t rejected = 0;
        for (size_t i = 0; i < p->n_votes; i++) {
                if (!raft_config_is_voter(&p->config, p->votes_from[i])) {
                        continue;
                }
                if (p->votes_granted[i]) {
                        granted++;
                } else {
                        rejected++;
                }
        }
        return quorum_vote(granted, rejected, p->config.n_voters);
}

static void send_vote_requests(struct raft_priv *p, bool pre_vote, bool transfer)
{
        for (uint32_t i = 0; i < p->config.n_voters; i++) {
                uint64_t to = p->config.voters[i];
                if (to == p->id) {
                        continue;
                }
                struct raft_message *m =
                    pre_vote ? out_msg(p, RAFT_MSG_VOTE, to) : out_msg_after(p, RAFT_MSG_VOTE, to);
                m->term = pre_vote ? p->term + 1 : p->term;
                m->vote = (struct raft_msg_vote){
                    .last_log_index = rlog_last_index(&p->log),
                    .last_log_term = rlog_last_term(&p->log),
                    .pre_vote = pre_vote,
                    .transfer = transfer,
                };
        }
}

void election_campaign(struct raft_priv *p, bool pre_vote, bool transfer)
{
        SYN_ASSERT(raft_may_campaign(p));
        SYN_ASSERT(p->role != RAFT_LEADER);
        if (pre_vote) {
                p->role = RAFT_PRE_CANDIDATE;
        } else {
                p->term++;
                p->vote = p->id;
                p->role = RAFT_CANDIDATE;
        }
        p->leader = RAFT_NONE;
        raft_reset_timeout(p);
        votes_reset(p);
        if (votes_tally(p) == QUORUM_WON) {
                /* The only voter. */
                if (pre_vote) {
                        election_campaign(p, false, transfer);
                } else {
                        become_leader(p);
                }
                return;
        }
        send_vote_requests(p, pre_vote, transfer);
}

static void answer_vote(struct raft_priv *p, const struct raft_message *m, bool granted)
{
        bool pre = m->vote.pre_vote;
        struct raft_message *r;
#ifdef SYNOD_PLANT_VOTE_NOT_PERSISTED
        /* planted: the grant leaves before the vote is durable */
        r = out_msg(p, RAFT_MSG_VOTE_RESP, m->from);
#else
        r = pre ? out_msg(p, RAFT_MSG_VOTE_RESP, m->from)
                : out_msg_after(p, RAFT_MSG_VOTE_RESP, m->from);
#endif
        /* A granted pre-vote echoes the prospective term; a refusal carries ours. */
        r->term = pre && granted ? m->term : p->term;
        r->vote_resp = (struct raft_msg_vote_resp){.pre_vote = pre, .granted = granted};
}

void election_recv_vote(struct raft_priv *p, const struct raft_message *m)
{
        bool pre = m->vote.pre_vote;
        SYN_ASSERT(m->term >= p->term);
        /* Real votes: one per term (§3.4). A pre-vote for a later term binds nothing. */
        bool can_vote = p->vote == m->from || (p->vote == RAFT_NONE && p->leader == RAFT_NONE) ||
                        (pre && m->term > p->term);
        bool up_to_date = log_up_to_date(p, m->vote.last_log_index, m->vote.last_log_term);
#ifdef SYNOD_PLANT_VOTE_NO_LOG_CHECK
        up_to_date = true; /* planted: no §5.4.1 check */
#endif
#ifdef SYNOD_PLANT_PREVOTE_NO_TERM_CHECK
        if (pre) {
                can_vote = true; /* planted: pre-votes granted unconditionally */
                up_to_date = true;
        }
#endif
        bool granted = can_vote && up_to_date;
        if (granted && !pre) {
                p->vote = m->from;
                p->election_elapsed = 0;
        }
        answer_vote(p, m, granted);
}

static void record_vote(struct raft_priv *p, uint64_t from, bool granted)
{
        for (size_t i = 0; i < p->n_votes; i++) {
                if (p->votes_from[i] == from) {
                        return; /* a duplicate answer counts once */
                }
        }
        if (p->n_votes < RAFT_NODES_MAX) {
                p->votes_from[p->n_votes] = from;
                p->votes_granted[p->n_votes] = granted;
                p->n_votes++;
        }
}

void election_recv_vote_resp(struct raft_priv *p, const struct raft_message *m)
{
        bool pre = m->vote_resp.pre_vote;
        if (pre &&
            (p->role != RAFT_PRE_CANDIDATE || (m->vote_resp.granted && m->term != p->term + 1))) {
                return;
        }
        if (!pre && p->role != RAFT_CANDIDATE) {
                return;
        }
        if (!raft_config_is_voter(&p->config, m->from)) {
                return;
        }
        record_vote(p, m->from, m->vote_resp.granted);
        switch (votes_tally(p)) {
        case QUORUM_WON:
                if (pre) {
                        election_campaign(p, false, false);
                } else {
                        become_leader(p);
                }
                break;
        case QUORUM_LOST:
                become_follower(p, p->term, RAFT_NONE);
                break;
        case QUORUM_PENDING:
                break;
        }
}

void become_leader(struct raft_priv *p)
{
        SYN_ASSERT(p->role == RAFT_CANDIDATE);
        SYN_ASSERT(p->vote == p->id);
        p->role = RAFT_LEADER;
        p->leader = p->id;
        p->transferee = RAFT_NONE;
        p->lease_broken = false;
        p->heartbeat_elapsed = 0;
        p->election_elapsed = 0;
        p->uncommitted_bytes = 0;
        /* §8 / §6.4: a no-op of the new term lets the leader commit (and learn
         * the commit index) without waiting for a client. */
        int rv = membership_sync_progress(p, true);
        if (rv == 0) {
                rv = repl_append_local(p, RAFT_ENTRY_NOOP, NULL, 0);
        }
        if (rv != 0) {
                /* Out of memory while winning: give the term up, someone else leads. */
                become_follower(p, p->term, RAFT_NONE);
                return;
        }
        p->term_start = rlog_last_index(&p->log);
        repl_broadcast_append(p);
}
