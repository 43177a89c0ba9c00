/*
 * Scenario tests of the Raft core, each named after the rule it checks.
 *
 * Two styles: "core" tests step one core by hand and look at the exact
 * update (what must be persisted, which message waits for the disk); "net"
 * tests drive a small cluster through net.h and read as stories. Every net
 * test ends with net_check_safety (applied entries agree on every node) and
 * the network asserts one leader per term on every update.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/rand.h"
#include "net.h"
#include "raft/raft.h"
#include "raft/raft_priv.h"

/* ---- helpers for core tests ---- */

static struct raft_config voters_1_to(uint32_t n)
{
        struct raft_config c = {0};
        for (uint32_t i = 1; i <= n; i++) {
                c.voters[c.n_voters++] = i;
        }
        return c;
}

static void core_open(struct raft *r, uint64_t id, uint32_t n_voters)
{
        struct raft_options o;
        raft_options_default(&o, id);
        o.election_ticks = 10;
        o.heartbeat_ticks = 1;
        struct raft_initial_state s = {.bootstrap = voters_1_to(n_voters)};
        assert_int_equal(raft_init(r, &o, &s), 0);
}

static int core_event(struct raft *r, enum raft_event_type type, struct raft_update *u)
{
        struct raft_event ev = {.type = type};
        return raft_step(r, &ev, u);
}

static int core_recv(struct raft *r, const struct raft_message *m, struct raft_update *u)
{
        struct raft_event ev = {.type = RAFT_EV_RECEIVE, .receive = m};
        return raft_step(r, &ev, u);
}

static int core_persisted(struct raft *r, struct raft_persist_mark mark, struct raft_update *u)
{
        struct raft_event ev = {.type = RAFT_EV_PERSISTED, .persisted = mark};
        return raft_step(r, &ev, u);
}

static size_t count_type(const struct raft_message *ms, size_t n, enum raft_msg_type t)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                k += ms[i].type == t;
        }
        return k;
}

static void quick(struct raft_options *o)
{
        o->election_ticks = 10;
        o->heartbeat_ticks = 1;
}

static void no_prevote(struct raft_options *o)
{
        o->pre_vote = false;
}

static void no_check_quorum(struct raft_options *o)
{
        o->check_quorum = false;
}

static void isolate_and_tick(struct net *net, uint64_t id, int ticks)
{
        net_isolate(net, id);
        for (int i = 0; i < ticks; i++) {
                net_tick(net, id);
                net_deliver(net);
        }
}

/* ---- 1. elections, single node ---- */

static void test_single_voter_elects_itself_on_first_tick(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 1, 1);
        assert_int_equal(raft_role(&r), RAFT_FOLLOWER);
        assert_int_equal(core_event(&r, RAFT_EV_TICK, &u), 0);
        assert_int_equal(raft_role(&r), RAFT_LEADER);
        assert_int_equal(raft_term(&r), 1);
        assert_true(u.role_changed);
        assert_int_equal(u.leader_id, 1);
        /* term and self-vote must be written, with the new term's no-op */
        assert_true(u.hard_state_changed);
        assert_int_equal(u.hard_state.term, 1);
        assert_int_equal(u.hard_state.vote, 1);
        assert_int_equal(u.n_entries, 1);
        assert_int_equal(u.entries[0].type, RAFT_ENTRY_NOOP);
        assert_int_equal(u.entries[0].index, 1);
        assert_int_equal(u.n_committed, 0);
        raft_close(&r);
}

static void test_single_voter_commits_only_after_own_persist(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 1, 1);
        core_event(&r, RAFT_EV_TICK, &u);
        struct raft_persist_mark noop = u.persist_mark;
        assert_int_equal(noop.index, 1);
        assert_int_equal(core_persisted(&r, noop, &u), 0);
        assert_int_equal(raft_commit_index(&r), 1);
        assert_int_equal(u.n_committed, 1);

        struct raft_event ev = {.type = RAFT_EV_PROPOSE,
                                .propose = {.data = (const uint8_t *)"set x", .len = 5}};
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        assert_int_equal(u.proposal_index, 2);
        assert_int_equal(u.proposal_term, 1);
        assert_int_equal(u.n_entries, 1);
        assert_memory_equal(u.entries[0].data, "set x", 5);
        struct raft_persist_mark mark = u.persist_mark;
        /* Not durable yet: not committed, nothing to apply. */
        assert_int_equal(raft_commit_index(&r), 1);
        assert_int_equal(u.n_committed, 0);
        core_event(&r, RAFT_EV_TICK, &u);
        assert_int_equal(u.n_committed, 0);
        assert_int_equal(core_persisted(&r, mark, &u), 0);
        assert_int_equal(raft_commit_index(&r), 2);
        assert_int_equal(u.n_committed, 1);
        assert_int_equal(u.committed[0].index, 2);
        assert_memory_equal(u.committed[0].data, "set x", 5);
        assert_int_equal(raft_applied_index(&r), 2);
        raft_close(&r);
}

/* Found by the randomized test (seeds 2424 and, with RAFT_CHAOS_HOLD, 2988): a
 * single voter wins in the step that writes its vote; until that write is
 * durable (its no-op is persisted) it must not send anything of that term. */
static void test_single_voter_leader_sends_nothing_before_its_vote_is_durable(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 1);
        o.heartbeat_ticks = 1;
        struct raft_config c = voters_1_to(1);
        c.learners[c.n_learners++] = 2;
        struct raft_initial_state s = {.bootstrap = c};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        assert_int_equal(core_event(&r, RAFT_EV_TICK, &u), 0);
        assert_int_equal(raft_role(&r), RAFT_LEADER);
        assert_true(u.hard_state_changed);
        assert_int_equal(u.n_msgs, 0);
        assert_int_equal(count_type(u.msgs_after_persist, u.n_msgs_after_persist, RAFT_MSG_APPEND),
                         1);
        struct raft_persist_mark noop = u.persist_mark;
        /* A heartbeat before the vote is durable waits too. */
        assert_int_equal(core_event(&r, RAFT_EV_TICK, &u), 0);
        assert_false(u.hard_state_changed);
        assert_int_equal(u.n_msgs, 0);
        assert_int_equal(
            count_type(u.msgs_after_persist, u.n_msgs_after_persist, RAFT_MSG_HEARTBEAT), 1);
        /* Once the no-op (and so the vote before it) is durable, messages go at once. */
        assert_int_equal(core_persisted(&r, noop, &u), 0);
        assert_int_equal(core_event(&r, RAFT_EV_TICK, &u), 0);
        assert_int_equal(count_type(u.msgs, u.n_msgs, RAFT_MSG_HEARTBEAT), 1);
        assert_int_equal(u.n_msgs_after_persist, 0);
        raft_close(&r);
}

static void test_single_voter_crash_before_vote_durable_cannot_fork_a_learner(void **state)
{
        (void)state;
        struct net net;
        struct raft_config c = voters_1_to(1);
        c.learners[c.n_learners++] = 2;
        net_init_config(&net, 2, &c, quick);
        net_node(&net, 1)->hold_persist = true;
        net_tick(&net, 1);
        assert_int_equal(raft_role(&net_node(&net, 1)->r), RAFT_LEADER);
        net_propose(&net, 1, "first life");
        for (int i = 0; i < 3; i++) {
                net_tick(&net, 1); /* heartbeats, probes: all held back */
                net_deliver(&net);
        }
        /* nothing may have left for the learner */
        assert_int_equal(raft_last_index(&net_node(&net, 2)->r), 0);
        net_crash(&net, 1); /* loses term 1, its vote and both entries */
        net_restart(&net, 1);
        net_node(&net, 1)->hold_persist = false;
        net_tick(&net, 1);
        assert_int_equal(raft_term(&net_node(&net, 1)->r), 1); /* the same term again */
        net_propose(&net, 1, "second life");
        net_deliver(&net);
        net_tick(&net, 1);
        net_deliver(&net);
        struct net_node *learner = net_node(&net, 2);
        assert_int_equal(learner->applied_index, 2);
        assert_int_equal(learner->applied[1].e.len, strlen("second life"));
        assert_memory_equal(learner->applied[1].e.data, "second life", strlen("second life"));
        net_close(&net);
}

static void test_proposal_on_follower_is_refused(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 1, 3);
        struct raft_event ev = {.type = RAFT_EV_PROPOSE,
                                .propose = {.data = (const uint8_t *)"x", .len = 1}};
        assert_int_equal(raft_step(&r, &ev, &u), SYN_ENOTLEADER);
        assert_int_equal(u.n_entries, 0);
        assert_int_equal(raft_last_index(&r), 0);
        raft_close(&r);
}

static void test_candidate_sends_vote_requests_only_after_persisting_vote(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 1, 3);
        assert_int_equal(core_event(&r, RAFT_EV_CAMPAIGN, &u), 0);
        assert_int_equal(raft_role(&r), RAFT_CANDIDATE);
        assert_true(u.hard_state_changed);
        assert_int_equal(u.hard_state.term, 1);
        assert_int_equal(u.hard_state.vote, 1);
        assert_int_equal(count_type(u.msgs, u.n_msgs, RAFT_MSG_VOTE), 0);
        assert_int_equal(count_type(u.msgs_after_persist, u.n_msgs_after_persist, RAFT_MSG_VOTE),
                         2);
        raft_close(&r);
}

static void test_vote_grant_waits_for_persisted_vote(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 2, 3);
        struct raft_message m = {.type = RAFT_MSG_VOTE,
                                 .from = 1,
                                 .to = 2,
                                 .term = 1,
                                 .vote = {.last_log_index = 0, .last_log_term = 0}};
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(raft_vote(&r), 1);
        assert_true(u.hard_state_changed);
        assert_int_equal(u.hard_state.vote, 1);
        assert_int_equal(u.n_msgs, 0);
        assert_int_equal(u.n_msgs_after_persist, 1);
        assert_int_equal(u.msgs_after_persist[0].type, RAFT_MSG_VOTE_RESP);
        assert_true(u.msgs_after_persist[0].vote_resp.granted);
        /* A second candidate in the same term is refused. */
        m.from = 3;
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(u.n_msgs_after_persist, 1);
        assert_false(u.msgs_after_persist[0].vote_resp.granted);
        raft_close(&r);
}

static void test_vote_refused_to_candidate_with_older_log(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 2);
        struct raft_entry es[2] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP},
        };
        struct raft_initial_state s = {
            .hard_state = {.term = 2}, .entries = es, .n_entries = 2, .bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        /* Longer log but older last term: not up to date (§3.6.1). */
        struct raft_message m = {.type = RAFT_MSG_VOTE,
                                 .from = 1,
                                 .to = 2,
                                 .term = 3,
                                 .vote = {.last_log_index = 5, .last_log_term = 1}};
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(raft_term(&r), 3);
        assert_int_equal(raft_vote(&r), RAFT_NONE);
        assert_int_equal(u.n_msgs_after_persist, 1);
        assert_false(u.msgs_after_persist[0].vote_resp.granted);
        /* Same last term and as long: up to date. */
        m.from = 3;
        m.vote.last_log_index = 2;
        m.vote.last_log_term = 2;
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(raft_vote(&r), 3);
        raft_close(&r);
}

static void test_prevote_refused_to_candidate_with_older_log_or_term(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 2);
        struct raft_entry es[2] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 3, .index = 2, .type = RAFT_ENTRY_NOOP},
        };
        struct raft_initial_state s = {
            .hard_state = {.term = 3}, .entries = es, .n_entries = 2, .bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        /* No leader known: not sticky, so only the log check can refuse. */
        struct raft_message m = {
            .type = RAFT_MSG_VOTE,
            .from = 1,
            .to = 2,
            .term = 4,
            .vote = {.last_log_index = 9, .last_log_term = 2, .pre_vote = true}};
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(raft_term(&r), 3); /* a pre-vote changes no term */
        assert_false(u.hard_state_changed);
        assert_int_equal(u.n_msgs, 1);
        assert_int_equal(u.msgs[0].type, RAFT_MSG_VOTE_RESP);
        assert_true(u.msgs[0].vote_resp.pre_vote);
        assert_false(u.msgs[0].vote_resp.granted);
        assert_int_equal(u.msgs[0].term, 3); /* the refusal teaches our term */
        /* A pre-vote for a term we are already past is refused too. */
        m.term = 2;
        m.vote.last_log_term = 3;
        m.vote.last_log_index = 2;
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(u.n_msgs + u.n_msgs_after_persist, 1);
        const struct raft_message *a = u.n_msgs ? &u.msgs[0] : &u.msgs_after_persist[0];
        assert_false(a->vote_resp.granted);
        /* Up to date and for the next term: granted, echoing that term, no vote cast. */
        m.term = 4;
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(u.n_msgs, 1);
        assert_true(u.msgs[0].vote_resp.granted);
        assert_int_equal(u.msgs[0].term, 4);
        assert_int_equal(raft_vote(&r), RAFT_NONE);
        assert_int_equal(raft_term(&r), 3);
        raft_close(&r);
}

static void test_three_nodes_elect_exactly_one_leader(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        assert_int_not_equal(l, 0);
        net_tick_all(&net, 1);
        net_deliver(&net);
        size_t leaders = 0;
        for (uint64_t id = 1; id <= 3; id++) {
                struct net_node *n = net_node(&net, id);
                leaders += raft_role(&n->r) == RAFT_LEADER;
                assert_int_equal(raft_leader(&n->r), l);
                assert_int_equal(raft_term(&n->r), raft_term(&net_node(&net, l)->r));
                /* the new leader's no-op reached everyone and committed */
                assert_int_equal(raft_commit_index(&n->r), 1);
        }
        assert_int_equal(leaders, 1);
        net_close(&net);
}

static void test_vote_not_sent_until_voter_disk_done(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        net_node(&net, 2)->hold_persist = true;
        net_node(&net, 3)->hold_persist = true;
        net_campaign(&net, 1);
        net_deliver(&net);
        /* Voters wrote nothing durable yet: no grant has left them. */
        assert_int_equal(raft_role(&net_node(&net, 1)->r), RAFT_CANDIDATE);
        net_flush(&net, 2);
        net_deliver(&net);
        assert_int_equal(raft_role(&net_node(&net, 1)->r), RAFT_LEADER);
        net_node(&net, 2)->hold_persist = false;
        net_node(&net, 3)->hold_persist = false;
        net_flush(&net, 2);
        net_flush(&net, 3);
        net_deliver(&net);
        net_close(&net);
}

static void test_prevote_keeps_isolated_node_from_bumping_term(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        uint64_t term = raft_term(&net_node(&net, l)->r);
        uint64_t lonely = l == 3 ? 2 : 3;
        net_isolate(&net, lonely);
        for (int i = 0; i < 100; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        /* It kept asking "would you vote for me?" without changing its term. */
        assert_int_equal(raft_term(&net_node(&net, lonely)->r), term);
        assert_int_equal(raft_role(&net_node(&net, lonely)->r), RAFT_PRE_CANDIDATE);
        net_heal(&net);
        for (int i = 0; i < 5; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        /* It rejoins without disrupting the leader. */
        assert_int_equal(net_leader(&net), l);
        assert_int_equal(raft_term(&net_node(&net, l)->r), term);
        assert_int_equal(raft_leader(&net_node(&net, lonely)->r), l);
        net_close(&net);
}

static void test_without_prevote_isolated_node_bumps_term(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, no_prevote);
        uint64_t l = net_elect(&net, 100);
        uint64_t term = raft_term(&net_node(&net, l)->r);
        uint64_t lonely = l == 3 ? 2 : 3;
        net_isolate(&net, lonely);
        for (int i = 0; i < 100; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        assert_true(raft_term(&net_node(&net, lonely)->r) > term);
        net_close(&net);
}

static void test_sticky_voters_ignore_vote_requests_while_leader_is_live(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        uint64_t term = raft_term(&net_node(&net, l)->r);
        uint64_t other = l == 3 ? 2 : 3;
        /* A forced real election: voters heard from the leader just now. */
        net_campaign(&net, other);
        net_deliver_n(&net, 2); /* only the two vote requests */
        for (uint64_t id = 1; id <= 3; id++) {
                if (id != other) {
                        assert_int_equal(raft_term(&net_node(&net, id)->r), term);
                }
        }
        assert_int_equal(raft_role(&net_node(&net, other)->r), RAFT_CANDIDATE);
        net_deliver(&net);
        net_close(&net);
}

static void test_check_quorum_leader_steps_down_when_cut_off(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        net_isolate(&net, l);
        for (int i = 0; i < 25; i++) {
                net_tick(&net, l);
                net_deliver(&net);
        }
        assert_int_equal(raft_role(&net_node(&net, l)->r), RAFT_FOLLOWER);
        net_close(&net);
}

static void test_stale_leader_learns_newer_term_and_steps_down(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, no_check_quorum);
        uint64_t old = net_elect(&net, 100);
        net_isolate(&net, old);
        /* The other two elect a new leader while the old one still thinks it leads. */
        uint64_t l = 0;
        for (int i = 0; i < 200 && (l == 0 || l == old); i++) {
                for (uint64_t id = 1; id <= 3; id++) {
                        if (id != old) {
                                net_tick(&net, id);
                        }
                }
                net_deliver(&net);
                l = 0;
                for (uint64_t id = 1; id <= 3; id++) {
                        if (id != old && raft_role(&net_node(&net, id)->r) == RAFT_LEADER) {
                                l = id;
                        }
                }
        }
        assert_int_not_equal(l, 0);
        assert_int_equal(raft_role(&net_node(&net, old)->r), RAFT_LEADER);
        /* The old leader's proposal cannot commit. */
        assert_int_equal(net_propose(&net, old, "lost"), 0);
        net_heal(&net);
        net_tick(&net, old); /* its heartbeat is answered with the newer term */
        net_deliver(&net);
        assert_int_equal(raft_role(&net_node(&net, old)->r), RAFT_FOLLOWER);
        assert_int_equal(raft_term(&net_node(&net, old)->r), raft_term(&net_node(&net, l)->r));
        net_propose(&net, l, "kept");
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        net_check_safety(&net);
        /* "lost" was overwritten everywhere, "kept" applied everywhere. */
        for (uint64_t id = 1; id <= 3; id++) {
                struct net_node *n = net_node(&net, id);
                bool kept = false;
                for (size_t i = 0; i < n->n_applied; i++) {
                        const struct raft_entry *e = &n->applied[i].e;
                        assert_false(e->len == 4 && memcmp(e->data, "lost", 4) == 0);
                        kept = kept || (e->len == 4 && memcmp(e->data, "kept", 4) == 0);
                }
                assert_true(kept);
        }
        net_close(&net);
}

/* ---- 2. log replication ---- */

static void test_replication_applies_same_entries_everywhere(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 5, quick);
        uint64_t l = net_elect(&net, 100);
        const char *vals[] = {"a", "bb", "ccc", "dddd", "eeeee"};
        for (int i = 0; i < 5; i++) {
                assert_int_equal(net_propose(&net, l, vals[i]), 0);
        }
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        for (uint64_t id = 1; id <= 5; id++) {
                struct net_node *n = net_node(&net, id);
                assert_int_equal(raft_commit_index(&n->r), 6);
                assert_int_equal(n->applied_index, 6);
                assert_int_equal(n->applied[5].e.len, 5);
                assert_memory_equal(n->applied[5].e.data, "eeeee", 5);
        }
        net_check_safety(&net);
        net_close(&net);
}

/* Figure 8 / §3.6.2: an entry of an older term is not committed by counting. */
static void test_leader_commits_only_current_term_by_counting(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 1);
        struct raft_entry es[2] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1,
             .index = 2,
             .type = RAFT_ENTRY_NORMAL,
             .data = (const uint8_t *)"x",
             .len = 1},
        };
        struct raft_initial_state s = {
            .hard_state = {.term = 1}, .entries = es, .n_entries = 2, .bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        core_event(&r, RAFT_EV_CAMPAIGN, &u);
        struct raft_message grant = {.type = RAFT_MSG_VOTE_RESP,
                                     .from = 2,
                                     .to = 1,
                                     .term = 2,
                                     .vote_resp = {.granted = true}};
        core_recv(&r, &grant, &u);
        assert_int_equal(raft_role(&r), RAFT_LEADER);
        struct raft_persist_mark noop = u.persist_mark; /* index 3, term 2 */
        assert_int_equal(noop.index, 3);
        /* Follower 2 now holds index 2 (term 1): a majority holds it... */
        struct raft_message ack = {.type = RAFT_MSG_APPEND_RESP,
                                   .from = 2,
                                   .to = 1,
                                   .term = 2,
                                   .append_resp = {.success = true, .index = 2}};
        core_recv(&r, &ack, &u);
        /* ...but it is of term 1: not committed by counting. */
        assert_int_equal(raft_commit_index(&r), 0);
        assert_int_equal(u.n_committed, 0);
        /* Once the no-op of term 2 is on a majority, everything up to it commits. */
        core_persisted(&r, noop, &u);
        assert_int_equal(raft_commit_index(&r), 0);
        ack.append_resp.index = 3;
        core_recv(&r, &ack, &u);
        assert_int_equal(raft_commit_index(&r), 3);
        assert_int_equal(u.n_committed, 3);
        raft_close(&r);
}

static void test_follower_truncates_conflicting_suffix_before_appending(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 2);
        struct raft_entry es[3] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 2, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP},
        };
        struct raft_initial_state s = {
            .hard_state = {.term = 1}, .entries = es, .n_entries = 3, .bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        struct raft_entry in[1] = {{.term = 2,
                                    .index = 2,
                                    .type = RAFT_ENTRY_NORMAL,
                                    .data = (const uint8_t *)"new",
                                    .len = 3}};
        struct raft_message m = {
            .type = RAFT_MSG_APPEND,
            .from = 1,
            .to = 2,
            .term = 2,
            .append = {
                .prev_index = 1, .prev_term = 1, .commit = 1, .entries = in, .n_entries = 1}};
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(u.truncate_from, 2);
        assert_int_equal(u.n_entries, 1);
        assert_int_equal(u.entries[0].index, 2);
        assert_int_equal(u.entries[0].term, 2);
        assert_int_equal(raft_last_index(&r), 2);
        assert_int_equal(raft_persisted_index(&r), 1);
        /* The ack waits for the disk. */
        assert_int_equal(u.n_msgs, 0);
        assert_int_equal(u.n_msgs_after_persist, 1);
        assert_true(u.msgs_after_persist[0].append_resp.success);
        assert_int_equal(u.msgs_after_persist[0].append_resp.index, 2);
        assert_int_equal(raft_commit_index(&r), 1);
        raft_close(&r);
}

static void test_reordered_old_append_does_not_truncate_newer_entries(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 2, 3);
        struct raft_entry in[3] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 2, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP},
        };
        struct raft_message m = {
            .type = RAFT_MSG_APPEND,
            .from = 1,
            .to = 2,
            .term = 1,
            .append = {
                .prev_index = 0, .prev_term = 0, .commit = 0, .entries = in, .n_entries = 3}};
        core_recv(&r, &m, &u);
        assert_int_equal(raft_last_index(&r), 3);
        m.append.n_entries = 1; /* an older, shorter copy arrives late */
        core_recv(&r, &m, &u);
        assert_int_equal(raft_last_index(&r), 3);
        assert_int_equal(u.truncate_from, 0);
        assert_int_equal(u.n_entries, 0);
        assert_int_equal(u.msgs_after_persist[0].append_resp.index, 1);
        raft_close(&r);
}

static void test_stale_term_append_is_answered_with_newer_term(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 2);
        struct raft_initial_state s = {.hard_state = {.term = 5}, .bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 4};
        assert_int_equal(core_recv(&r, &m, &u), 0);
        assert_int_equal(raft_term(&r), 5);
        assert_int_equal(raft_leader(&r), RAFT_NONE);
        assert_int_equal(u.n_msgs_after_persist, 1);
        assert_int_equal(u.msgs_after_persist[0].term, 5);
        assert_false(u.msgs_after_persist[0].append_resp.success);
        raft_close(&r);
}

static void test_malformed_append_is_refused_without_change(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 2, 3);
        struct raft_entry in[2] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP}, /* gap */
        };
        struct raft_message m = {.type = RAFT_MSG_APPEND,
                                 .from = 1,
                                 .to = 2,
                                 .term = 1,
                                 .append = {.entries = in, .n_entries = 2}};
        assert_int_equal(core_recv(&r, &m, &u), SYN_EPROTO);
        assert_int_equal(raft_last_index(&r), 0);
        in[1].index = 2;
        in[1].term = 7; /* entry from a term above the message's */
        assert_int_equal(core_recv(&r, &m, &u), SYN_EPROTO);
        in[1].term = 1;
        in[1].type = RAFT_ENTRY_CONF; /* undecodable configuration */
        in[1].data = (const uint8_t *)"junk";
        in[1].len = 4;
        assert_int_equal(core_recv(&r, &m, &u), SYN_EPROTO);
        assert_int_equal(raft_last_index(&r), 0);
        /* A message for another node is refused. */
        m.to = 3;
        assert_int_equal(core_recv(&r, &m, &u), SYN_EINVAL);
        raft_close(&r);
}

static int count_rejects(void *arg, const struct raft_message *m)
{
        size_t *n = arg;
        if (m->type == RAFT_MSG_APPEND_RESP && !m->append_resp.success) {
                (*n)++;
        }
        return 1;
}

static void test_fast_backtracking_skips_a_conflicting_term_per_round_trip(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t t_leader[10] = {1, 3, 3, 3, 3, 3, 3, 3, 3, 3};
        uint64_t t_follower[30];
        t_follower[0] = 1;
        for (int i = 1; i < 30; i++) {
                t_follower[i] = 2; /* a long suffix from a deposed term-2 leader */
        }
        for (uint64_t id = 1; id <= 3; id++) {
                net_crash(&net, id);
        }
        net_store_reset(&net, 1, 3, t_leader, 10);
        net_store_reset(&net, 2, 3, t_follower, 30);
        net_store_reset(&net, 3, 3, t_leader, 10);
        for (uint64_t id = 1; id <= 3; id++) {
                net_restart(&net, id);
        }
        size_t rejects = 0;
        net.filter = count_rejects;
        net.filter_arg = &rejects;
        net_campaign(&net, 1);
        net_deliver(&net);
        assert_int_equal(raft_role(&net_node(&net, 1)->r), RAFT_LEADER);
        /* Without the hint this would take ~20 rejections (one per entry). */
        assert_true(rejects <= 2);
        net_tick_all(&net, 1);
        net_deliver(&net);
        struct net_node *f = net_node(&net, 2);
        assert_int_equal(raft_last_index(&f->r), 11);
        assert_int_equal(raft_term_at(&f->r, 11), 4);
        assert_int_equal(raft_term_at(&f->r, 5), 3);
        assert_int_equal(raft_commit_index(&f->r), 11);
        net_check_safety(&net);
        net_close(&net);
}

static void tiny_batches(struct raft_options *o)
{
        quick(o);
        o->max_msg_bytes = 8;
        o->max_inflight_msgs = 2;
}

static int max_batch(void *arg, const struct raft_message *m)
{
        uint32_t *n = arg;
        if (m->type == RAFT_MSG_APPEND && m->append.n_entries > *n) {
                *n = m->append.n_entries;
        }
        return 1;
}

static void test_appends_are_batched_by_bytes_and_window_bounded(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, tiny_batches);
        uint64_t l = net_elect(&net, 100);
        net_tick_all(&net, 1);
        net_deliver(&net); /* followers in REPLICATE now */
        for (int i = 0; i < 10; i++) {
                assert_int_equal(net_propose(&net, l, "abcd"), 0);
        }
        /* Nothing delivered yet: at most two appends per follower in flight. */
        size_t appends = 0;
        for (size_t i = 0; i < net_queued(&net); i++) {
                const struct raft_message *m = &net.q[net.q_head + i].m;
                if (m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) {
                        appends++;
                }
        }
        assert_int_equal(appends, 2 * 2);
        uint32_t biggest = 0;
        net.filter = max_batch;
        net.filter_arg = &biggest;
        net_deliver(&net);
        assert_int_equal(biggest, 2); /* 8 bytes = two 4-byte entries */
        net_tick_all(&net, 1);
        net_deliver(&net);
        for (uint64_t id = 1; id <= 3; id++) {
                assert_int_equal(net_node(&net, id)->applied_index, 11);
        }
        net_close(&net);
}

static void test_uncommitted_bytes_limit_refuses_proposals(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        struct raft_options o;
        raft_options_default(&o, 1);
        o.max_uncommitted_bytes = 10;
        struct raft_initial_state s = {.bootstrap = voters_1_to(3)};
        assert_int_equal(raft_init(&r, &o, &s), 0);
        core_event(&r, RAFT_EV_CAMPAIGN, &u);
        struct raft_message grant = {.type = RAFT_MSG_VOTE_RESP,
                                     .from = 2,
                                     .to = 1,
                                     .term = 1,
                                     .vote_resp = {.granted = true}};
        core_recv(&r, &grant, &u);
        assert_int_equal(raft_role(&r), RAFT_LEADER);
        struct raft_event ev = {.type = RAFT_EV_PROPOSE,
                                .propose = {.data = (const uint8_t *)"123456", .len = 6}};
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        assert_int_equal(raft_step(&r, &ev, &u), SYN_EBUSY);
        ev.propose.len = 4;
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        ev.propose.len = 1;
        assert_int_equal(raft_step(&r, &ev, &u), SYN_EBUSY);
        raft_close(&r);
}

/* ---- 3. ReadIndex ---- */

static int transfer_to(struct net *net, uint64_t id, uint64_t target)
{
        struct raft_event ev = {.type = RAFT_EV_TRANSFER, .transfer.target = target};
        return net_step(net, id, &ev);
}

static int read_index(struct net *net, uint64_t id, uint64_t ctx)
{
        struct raft_event ev = {.type = RAFT_EV_READ_INDEX, .read_index.ctx = ctx};
        return net_step(net, id, &ev);
}

static void test_read_index_needs_a_quorum_heartbeat_round(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        net_propose(&net, l, "w");
        net_deliver(&net);
        struct net_node *ln = net_node(&net, l);
        uint64_t commit = raft_commit_index(&ln->r);
        assert_int_equal(commit, 2);
        assert_int_equal(read_index(&net, l, 42), 0);
        assert_int_equal(ln->n_reads, 0); /* not before leadership is confirmed */
        net_deliver(&net);
        assert_int_equal(ln->n_reads, 1);
        assert_int_equal(ln->reads[0].ctx, 42);
        assert_int_equal(ln->reads[0].index, commit);
        /* A leader cut off from the others cannot confirm: no read state. */
        net_isolate(&net, l);
        assert_int_equal(read_index(&net, l, 43), 0);
        net_deliver(&net);
        net_tick(&net, l);
        net_deliver(&net);
        assert_int_equal(ln->n_reads, 1);
        net_close(&net);
}

static int drop_append_acks(void *arg, const struct raft_message *m)
{
        (void)arg;
        return m->type != RAFT_MSG_APPEND_RESP;
}

static void test_read_index_waits_for_leader_to_commit_in_its_term(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        net.filter = drop_append_acks;
        net_node(&net, 1)->hold_persist = true;
        net_campaign(&net, 1);
        net_flush(&net, 1);
        net_deliver(&net);
        struct net_node *ln = net_node(&net, 1);
        assert_int_equal(raft_role(&ln->r), RAFT_LEADER);
        /* The no-op is not committed: the leader does not know the commit index. */
        assert_int_equal(raft_commit_index(&ln->r), 0);
        assert_int_equal(read_index(&net, 1, 7), 0);
        net_deliver(&net); /* heartbeats are answered, but the read still waits */
        assert_int_equal(ln->n_reads, 0);
        net.filter = NULL;
        net_node(&net, 1)->hold_persist = false;
        net_flush(&net, 1);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(raft_commit_index(&ln->r), 1);
        assert_int_equal(ln->n_reads, 1);
        assert_int_equal(ln->reads[0].ctx, 7);
        assert_int_equal(ln->reads[0].index, 1); /* covers the no-op of its term */
        net_close(&net);
}

static void test_follower_read_index_is_forwarded_to_leader(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        net_propose(&net, l, "w");
        net_deliver(&net);
        uint64_t f = l == 1 ? 2 : 1;
        assert_int_equal(read_index(&net, f, 9), 0);
        net_deliver(&net);
        struct net_node *fn = net_node(&net, f);
        assert_int_equal(fn->n_reads, 1);
        assert_int_equal(fn->reads[0].ctx, 9);
        assert_int_equal(fn->reads[0].index, raft_commit_index(&net_node(&net, l)->r));
        net_close(&net);
}

static void test_read_index_without_leader_is_refused(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 1, 3);
        struct raft_event ev = {.type = RAFT_EV_READ_INDEX, .read_index.ctx = 1};
        assert_int_equal(raft_step(&r, &ev, &u), SYN_ENOTLEADER);
        raft_close(&r);
}

static void lease(struct raft_options *o)
{
        quick(o);
        o->lease_read = true;
}

static void test_lease_read_answers_without_a_round_only_while_lease_holds(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, lease);
        uint64_t l = net_elect(&net, 100);
        struct net_node *ln = net_node(&net, l);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(read_index(&net, l, 5), 0);
        assert_int_equal(ln->n_reads, 1); /* fresh lease: at once */
        /* Cut off, the lease runs out before check-quorum deposes the leader. */
        net_isolate(&net, l);
        for (int i = 0; i < 9; i++) {
                net_tick(&net, l);
                net_deliver(&net);
        }
        assert_int_equal(raft_role(&ln->r), RAFT_LEADER);
        assert_int_equal(read_index(&net, l, 6), 0);
        net_deliver(&net);
        assert_int_equal(ln->n_reads, 1); /* no lease: it needs a round it cannot get */
        net_heal(&net);
        net_tick(&net, l);
        net_deliver(&net);
        assert_int_equal(ln->n_reads, 2);
        assert_int_equal(ln->reads[1].ctx, 6);
        /* A transfer in progress voids the lease. */
        uint64_t t = l == 3 ? 2 : 3;
        net_isolate(&net, t);
        net_propose(&net, l, "t");
        net_deliver(&net);
        assert_int_equal(transfer_to(&net, l, t), 0);
        assert_int_equal(read_index(&net, l, 7), 0);
        assert_int_equal(ln->n_reads, 2);
        net_close(&net);
}

/* A follower that restarts forgets its leader; unless it stays sticky for an
 * election timeout it grants (pre-)votes at once, while the old leader still
 * holds a lease that a round acknowledged by that very follower gave it, and a
 * lease read there would miss a write the new leader committed. */
static void test_lease_survives_follower_restart(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, lease);
        uint64_t l = net_elect(&net, 100);
        uint64_t a = l == 1 ? 2 : 1;
        uint64_t b = 6 - l - a;
        struct net_node *ln = net_node(&net, l);
        struct net_node *bn = net_node(&net, b);
        net_propose(&net, l, "w0");
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        net_cut(&net, l, b);
        /* b stops hearing l; a keeps hearing l (sticky). Run until b is one tick
         * from its next (pre-)campaign. */
        for (int i = 0; i < 200; i++) {
                struct raft_priv *bp = bn->r.p;
                if (bp->election_elapsed + 1 >= bp->randomized_timeout &&
                    raft_role(&bn->r) != RAFT_LEADER && i > 30)
                        break;
                net_tick(&net, l);
                net_tick(&net, a);
                net_tick(&net, b);
                net_deliver(&net);
        }
        assert_int_equal(raft_role(&ln->r), RAFT_LEADER);
        uint64_t term_l = raft_term(&ln->r);
        /* A fresh heartbeat round acknowledged by a: the lease starts now. */
        net_tick(&net, l);
        net_deliver(&net);
        net_isolate(&net, l);
        net_crash(&net, a);
        net_restart(&net, a);
        /* b campaigns at its next tick; the restarted a must stay sticky until
         * the lease l counts from that round has run out. While l still leads
         * in term_l, every read it answers must see everything b committed. */
        struct net_node *an = net_node(&net, a);
        struct net_node *nn = NULL; /* the new leader */
        uint64_t w1 = 0;
        for (int i = 0; i < 60; i++) {
                net_tick(&net, l);
                net_tick(&net, a);
                net_tick(&net, b);
                net_deliver(&net);
                if (w1 == 0 && raft_role(&an->r) == RAFT_LEADER)
                        nn = an;
                if (w1 == 0 && raft_role(&bn->r) == RAFT_LEADER)
                        nn = bn;
                if (w1 == 0 && nn != NULL) {
                        assert_int_equal(net_propose(&net, nn->id, "w1"), 0);
                        w1 = raft_last_index(&nn->r);
                        net_deliver(&net);
                }
                if (raft_role(&ln->r) != RAFT_LEADER || raft_term(&ln->r) != term_l)
                        continue;
                size_t before = ln->n_reads;
                assert_int_equal(read_index(&net, l, 4242 + (uint64_t)i), 0);
                for (size_t k = before; k < ln->n_reads; k++) {
                        if (w1 != 0 && raft_commit_index(&nn->r) >= w1)
                                assert_true(ln->reads[k].index >= w1);
                }
        }
        /* Liveness: a and b elect a leader and commit w1 once the lease is over. */
        assert_true(w1 != 0);
        assert_true(raft_commit_index(&nn->r) >= w1);
        net_close(&net);
}

/* The i-th queued message from the head (to inspect before delivering). */
static struct raft_message *queued_msg(struct net *net, size_t i)
{
        return &net->q[(net->q_head + i) % net->q_cap].m;
}

/* §6.4: a heartbeat answer to a round sent BEFORE a read arrived does not
 * confirm leadership for that read (the answer may predate a new leader). */
static void test_old_heartbeat_answer_does_not_confirm_newer_read(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        struct net_node *ln = net_node(&net, l);
        net_propose(&net, l, "w");
        net_deliver(&net);
        net_drop_all(&net);
        /* Read 1 sends round 1; deliver its heartbeats, keep one answer back. */
        assert_int_equal(read_index(&net, l, 1), 0);
        size_t n0 = ln->n_reads;
        for (size_t i = 0; i < net_queued(&net);) {
                struct raft_message *m = queued_msg(&net, i);
                if (m->type == RAFT_MSG_HEARTBEAT) {
                        net_deliver_at(&net, i);
                        continue;
                }
                i++;
        }
        /* Now the answers to round 1 are queued. Keep the first, drop the rest. */
        size_t kept = 0;
        for (size_t i = 0; i < net_queued(&net);) {
                struct raft_message *m = queued_msg(&net, i);
                if (m->type == RAFT_MSG_HEARTBEAT_RESP && kept == 0) {
                        kept = 1;
                        i++;
                        continue;
                }
                net_drop_at(&net, i);
        }
        assert_int_equal(kept, 1);
        /* A new read starts: round 2 goes out and is lost. */
        assert_int_equal(read_index(&net, l, 2), 0);
        for (size_t i = 1; i < net_queued(&net);)
                net_drop_at(&net, i);
        /* The old answer (round 1) arrives: it confirms read 1 only. */
        net_deliver_at(&net, 0);
        for (size_t i = n0; i < ln->n_reads; i++)
                assert_int_not_equal(ln->reads[i].ctx, 2);
        net_close(&net);
}

/*: a persist mark written before a truncation must not vouch for the
 * entries that replaced the truncated ones at the same indexes (ABA). */
static void test_stale_mark_after_truncation_and_regrowth_is_ignored(void **state)
{
        (void)state;
        struct raft_options o;
        raft_options_default(&o, 2);
        quick(&o);
        struct raft_initial_state s;
        memset(&s, 0, sizeof(s));
        s.bootstrap.n_voters = 3;
        s.bootstrap.voters[0] = 1;
        s.bootstrap.voters[1] = 2;
        s.bootstrap.voters[2] = 3;
        struct raft r;
        assert_int_equal(raft_init(&r, &o, &s), 0);
        struct raft_update u;
        struct raft_entry e1[3], e2[3];
        for (int i = 0; i < 3; i++) {
                e1[i] = (struct raft_entry){
                    .term = 1, .index = (uint64_t)i + 1, .type = RAFT_ENTRY_NOOP};
                e2[i] = (struct raft_entry){
                    .term = 2, .index = (uint64_t)i + 1, .type = RAFT_ENTRY_NOOP};
        }
        struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1};
        m.append = (struct raft_msg_append){
            .prev_index = 0, .prev_term = 0, .entries = e1, .n_entries = 3};
        struct raft_event ev = {.type = RAFT_EV_RECEIVE, .receive = &m};
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        struct raft_persist_mark old = u.persist_mark;
        assert_int_equal(old.index, 3);
        struct raft_message m2 = {.type = RAFT_MSG_APPEND, .from = 3, .to = 2, .term = 2};
        m2.append = (struct raft_msg_append){
            .prev_index = 0, .prev_term = 0, .entries = e2, .n_entries = 3};
        ev.receive = &m2;
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        assert_int_equal(u.truncate_from, 1);
        assert_int_equal(u.persist_mark.index, 3);
        /* The first write completes; the second (term-2 entries) is still pending. */
        struct raft_event pe = {.type = RAFT_EV_PERSISTED, .persisted = old};
        assert_int_equal(raft_step(&r, &pe, &u), 0);
        assert_int_equal(raft_persisted_index(&r), 0);
        raft_close(&r);
}

/* Figure 3.1: commitIndex = min(leaderCommit, index of last NEW entry),
 * not the follower's last index, which may be a stale suffix. */
static void test_follower_commit_stops_at_last_new_entry(void **state)
{
        (void)state;
        struct raft_options o;
        raft_options_default(&o, 2);
        quick(&o);
        struct raft_initial_state s;
        memset(&s, 0, sizeof(s));
        s.bootstrap.n_voters = 3;
        s.bootstrap.voters[0] = 1;
        s.bootstrap.voters[1] = 2;
        s.bootstrap.voters[2] = 3;
        struct raft r;
        assert_int_equal(raft_init(&r, &o, &s), 0);
        struct raft_update u;
        struct raft_entry e1[5];
        for (int i = 0; i < 5; i++)
                e1[i] = (struct raft_entry){
                    .term = 1, .index = (uint64_t)i + 1, .type = RAFT_ENTRY_NOOP};
        struct raft_message m = {.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1};
        m.append = (struct raft_msg_append){.entries = e1, .n_entries = 5};
        struct raft_event ev = {.type = RAFT_EV_RECEIVE, .receive = &m};
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        /* Leader of term 2 holds 1..2 of term 1, then its own entries from 3 on;
         * it has committed 4 and sends (prev 0, [1]). */
        struct raft_message m2 = {.type = RAFT_MSG_APPEND, .from = 3, .to = 2, .term = 2};
        m2.append = (struct raft_msg_append){.entries = e1, .n_entries = 1, .commit = 4};
        ev.receive = &m2;
        assert_int_equal(raft_step(&r, &ev, &u), 0);
        assert_int_equal(raft_commit_index(&r), 1);
        raft_close(&r);
}

/* ---- 4. snapshots ---- */

static void trailing_two(struct raft_options *o)
{
        quick(o);
        o->snapshot_trailing = 2;
}

static void test_snapshot_taken_compacts_log_keeping_trailing_entries(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 1, trailing_two);
        net_tick(&net, 1);
        for (int i = 0; i < 9; i++) {
                net_propose(&net, 1, "e");
        }
        struct net_node *n = net_node(&net, 1);
        assert_int_equal(n->applied_index, 10);
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_TAKEN, .snapshot_taken.index = 11};
        assert_int_equal(net_step(&net, 1, &ev), SYN_EINVAL); /* beyond applied */
        assert_int_equal(net_snapshot(&net, 1), 0);
        assert_int_equal(raft_snapshot(&n->r)->index, 10);
        assert_int_equal(raft_snapshot(&n->r)->term, 1);
        assert_int_equal(raft_snapshot(&n->r)->config.n_voters, 1);
        assert_int_equal(raft_first_index(&n->r), 9);
        assert_int_equal(raft_term_at(&n->r, 10), 1);
        assert_int_equal(net_snapshot(&net, 1), SYN_EINVAL); /* not above the current one */
        net_propose(&net, 1, "after");
        assert_int_equal(n->applied_index, 11);
        /* A restart recovers from the snapshot plus the log after it. */
        net_crash(&net, 1);
        net_restart(&net, 1);
        assert_int_equal(raft_first_index(&n->r), 11);
        assert_int_equal(raft_last_index(&n->r), 11);
        net_close(&net);
}

static int drop_third_chunk(void *arg, const struct raft_message *m)
{
        int *seen = arg;
        if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.offset == 32 && (*seen)++ == 0) {
                return 0;
        }
        return 1;
}

static void test_lagging_follower_catches_up_by_chunked_snapshot(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, trailing_two);
        uint64_t l = net_elect(&net, 100);
        uint64_t lag = l == 3 ? 2 : 3;
        net_isolate(&net, lag);
        for (int i = 0; i < 20; i++) {
                net_propose(&net, l, "x");
        }
        net_deliver(&net);
        assert_int_equal(net_snapshot(&net, l), 0);
        assert_true(raft_first_index(&net_node(&net, l)->r) > 2);
        net_heal(&net);
        int seen = 0;
        net.filter = drop_third_chunk;
        net.filter_arg = &seen;
        for (int i = 0; i < 20; i++) {
                net_tick(&net, l);
                net_deliver(&net);
        }
        assert_int_equal(seen, 2); /* the lost chunk was sent again from its offset */
        struct net_node *n = net_node(&net, lag);
        /* net.c checked the reassembled bytes when the host installed it */
        assert_int_equal(raft_snapshot(&n->r)->index, raft_snapshot(&net_node(&net, l)->r)->index);
        net_propose(&net, l, "later");
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(n->applied_index, raft_commit_index(&net_node(&net, l)->r));
        assert_int_equal(n->applied_index, 22);
        net_check_safety(&net);
        net_close(&net);
}

static void test_snapshot_covering_follower_log_keeps_its_entries(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 2, 3);
        struct raft_entry in[3] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 2, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 3, .type = RAFT_ENTRY_NOOP},
        };
        struct raft_message m = {.type = RAFT_MSG_APPEND,
                                 .from = 1,
                                 .to = 2,
                                 .term = 1,
                                 .append = {.entries = in, .n_entries = 3}};
        core_recv(&r, &m, &u);
        struct raft_message snap = {
            .type = RAFT_MSG_SNAPSHOT,
            .from = 1,
            .to = 2,
            .term = 1,
            .snapshot = {.meta = {.index = 2, .term = 1, .config = voters_1_to(3)},
                         .data = (const uint8_t *)"abc",
                         .len = 3}};
        assert_int_equal(core_recv(&r, &snap, &u), 0);
        assert_null(u.snapshot_chunk);
        assert_null(u.snapshot_install);
        assert_int_equal(raft_last_index(&r), 3);
        assert_int_equal(raft_commit_index(&r), 2);
        assert_true(u.msgs_after_persist[0].snapshot_resp.done);
        raft_close(&r);
}

/* One entry per append, two entries kept after compaction. */
static void one_per_append_trailing_two(struct raft_options *o)
{
        trailing_two(o);
        o->max_msg_bytes = 1;
}

/* Position in the queue of the first message of type t from `from` to `to`. */
static size_t queued_find(const struct net *net, uint64_t from, uint64_t to, enum raft_msg_type t)
{
        for (size_t i = 0; i < net_queued(net); i++) {
                const struct raft_message *m = &net->q[net->q_head + i].m;
                if (m->from == from && m->to == to && m->type == t) {
                        return i;
                }
        }
        return SIZE_MAX;
}

/* Moves queued message i to the head, keeping the others in order. */
static void queued_to_head(struct net *net, size_t i)
{
        assert_true(i < net_queued(net));
        struct net_msg m = net->q[net->q_head + i];
        memmove(&net->q[net->q_head + 1], &net->q[net->q_head], i * sizeof(m));
        net->q[net->q_head] = m;
}

static void deliver_one(struct net *net, uint64_t from, uint64_t to, enum raft_msg_type t)
{
        size_t i = queued_find(net, from, to, t);
        assert_true(i != SIZE_MAX);
        queued_to_head(net, i);
        net_deliver_n(net, 1);
}

/* Delivers, in order, every queued message that neither comes from nor goes to f. */
static void deliver_avoiding(struct net *net, uint64_t f)
{
        for (;;) {
                size_t i = 0;
                while (i < net_queued(net) &&
                       (net->q[net->q_head + i].m.from == f || net->q[net->q_head + i].m.to == f)) {
                        i++;
                }
                if (i == net_queued(net)) {
                        return;
                }
                queued_to_head(net, i);
                net_deliver_n(net, 1);
        }
}

/*
 * The leader sends f a snapshot, then late acks of appends sent before the
 * compaction take f's progress out of SNAPSHOT (and a stale reject into PROBE)
 * before the snapshot's "done" answer arrives. That answer raises match past
 * next: the leader must still move next past match, or it re-probes below
 * f's commit forever (f answers "ok match", which changes nothing).
 */
static void
test_late_snapshot_done_after_leaving_snapshot_state_keeps_next_above_match(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, one_per_append_trailing_two);
        uint64_t l = net_elect(&net, 100);
        uint64_t f = l % 3 + 1;
        net_propose(&net, l, "a");
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        uint64_t a = raft_last_index(&net_node(&net, l)->r);
        assert_int_equal(net_node(&net, f)->applied_index, a);
        /* Four entries; the appends to f are held back in the queue. */
        for (int i = 0; i < 4; i++) {
                assert_int_equal(net_propose(&net, l, "x"), 0);
        }
        deliver_avoiding(&net, f);
        uint64_t s = a + 4;
        assert_int_equal(raft_commit_index(&net_node(&net, l)->r), s);
        assert_int_equal(net_snapshot(&net, l), 0);
        assert_int_equal(raft_first_index(&net_node(&net, l)->r), s - 1);
        /* A heartbeat overtakes them; the leader's empty append at s is
         * rejected (f is at a), so the leader starts sending the snapshot. */
        net_tick(&net, l);
        deliver_one(&net, l, f, RAFT_MSG_HEARTBEAT);
        deliver_avoiding(&net, f);
        deliver_one(&net, f, l, RAFT_MSG_HEARTBEAT_RESP);
        size_t i = queued_find(&net, l, f, RAFT_MSG_APPEND);
        while (net.q[net.q_head + i].m.append.prev_index != s) {
                i++;
        }
        queued_to_head(&net, i);
        net_deliver_n(&net, 1);
        i = queued_find(&net, f, l, RAFT_MSG_APPEND_RESP);
        assert_false(net.q[net.q_head + i].m.append_resp.success);
        net_duplicate_at(&net, i); /* the network delivers this reject twice */
        deliver_one(&net, f, l, RAFT_MSG_APPEND_RESP);
        assert_true(queued_find(&net, l, f, RAFT_MSG_SNAPSHOT) != SIZE_MAX);
        /* The old appends of a+1..s-1 reach f now (the one of s is lost); the
         * acks stay in the queue. */
        for (int k = 0; k < 3; k++) {
                deliver_one(&net, l, f, RAFT_MSG_APPEND);
                assert_int_equal(raft_last_index(&net_node(&net, f)->r), a + 1 + (uint64_t)k);
        }
        net_drop_at(&net, queued_find(&net, l, f, RAFT_MSG_APPEND));
        /* The snapshot goes through; f installs it and answers "done" (held). */
        while (raft_snapshot(&net_node(&net, f)->r)->index != s) {
                deliver_one(&net, l, f, RAFT_MSG_SNAPSHOT);
                i = queued_find(&net, f, l, RAFT_MSG_SNAPSHOT_RESP);
                if (!net.q[net.q_head + i].m.snapshot_resp.done) {
                        queued_to_head(&net, i);
                        net_deliver_n(&net, 1);
                }
        }
        assert_int_equal(raft_commit_index(&net_node(&net, f)->r), s);
        /* The late acks (REPLICATE again, match s-1), then the duplicated
         * reject of s (PROBE at next = s); the appends they cause are lost. */
        for (i = 0; i < net_queued(&net); i++) {
                const struct raft_message *m = &net.q[net.q_head + i].m;
                if (m->from == f && m->type == RAFT_MSG_APPEND_RESP && m->append_resp.success) {
                        queued_to_head(&net, i);
                        net_deliver_n(&net, 1);
                        i = (size_t)-1;
                }
        }
        deliver_one(&net, f, l, RAFT_MSG_APPEND_RESP);
        assert_true(queued_find(&net, f, l, RAFT_MSG_APPEND_RESP) == SIZE_MAX);
        while ((i = queued_find(&net, l, f, RAFT_MSG_APPEND)) != SIZE_MAX) {
                net_drop_at(&net, i); /* lost */
        }
        while ((i = queued_find(&net, l, f, RAFT_MSG_SNAPSHOT)) != SIZE_MAX) {
                net_drop_at(&net, i);
        }
        /* Now the "done" for s arrives: the next append must start at s. */
        deliver_one(&net, f, l, RAFT_MSG_SNAPSHOT_RESP);
        i = queued_find(&net, l, f, RAFT_MSG_APPEND);
        assert_true(i != SIZE_MAX);
        assert_int_equal(net.q[net.q_head + i].m.append.prev_index, s);
        /* And f keeps up from here on. */
        net_deliver(&net);
        assert_int_equal(net_propose(&net, l, "later"), 0);
        for (int k = 0; k < 5; k++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        assert_int_equal(raft_last_index(&net_node(&net, f)->r), s + 1);
        assert_int_equal(net_node(&net, f)->applied_index,
                         raft_commit_index(&net_node(&net, l)->r));
        net_check_safety(&net);
        net_close(&net);
}

/* ---- 5. membership ---- */

static int conf_change(struct net *net, uint64_t id, enum raft_conf_op op, uint64_t node)
{
        struct raft_event ev = {.type = RAFT_EV_CONF_CHANGE,
                                .conf_change = {.op = op, .node_id = node}};
        return net_step(net, id, &ev);
}

static void test_conf_change_waits_for_commit_in_leader_term(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        net.filter = drop_append_acks;
        net_campaign(&net, 1);
        net_deliver(&net);
        assert_int_equal(raft_role(&net_node(&net, 1)->r), RAFT_LEADER);
        assert_int_equal(raft_commit_index(&net_node(&net, 1)->r), 0);
        /* The known single-server bug: no change before an entry of this term commits. */
        assert_int_equal(conf_change(&net, 1, RAFT_CONF_REMOVE, 3), SYN_EBUSY);
        net.filter = NULL;
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(raft_commit_index(&net_node(&net, 1)->r), 1);
        assert_int_equal(conf_change(&net, 1, RAFT_CONF_REMOVE, 3), 0);
        net_close(&net);
}

static struct raft_config first_three(void)
{
        return voters_1_to(3);
}

static void test_learner_replicates_without_voting_then_is_promoted(void **state)
{
        (void)state;
        struct net net;
        struct raft_config c = first_three();
        net_init_config(&net, 4, &c, quick);
        uint64_t l = net_elect(&net, 100);
        assert_int_not_equal(l, 4);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_ADD_VOTER, 2), SYN_EINVAL);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_PROMOTE, 4), SYN_EINVAL);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_ADD_LEARNER, 4), 0);
        uint64_t conf_index = net_node(&net, l)->last_proposal_index;
        /* One change at a time: the first is not committed yet. */
        assert_int_equal(conf_change(&net, l, RAFT_CONF_ADD_LEARNER, 5), SYN_EBUSY);
        net_propose(&net, l, "for the learner");
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        struct net_node *learner = net_node(&net, 4);
        assert_true(raft_config_is_learner(raft_config(&learner->r), 4));
        assert_true(learner->applied_index >= conf_index + 1);
        /* A learner never campaigns, whatever its timers say. */
        isolate_and_tick(&net, 4, 100);
        assert_int_equal(raft_role(&learner->r), RAFT_FOLLOWER);
        net_heal(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_PROMOTE, 4), 0);
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        for (uint64_t id = 1; id <= 4; id++) {
                const struct raft_config *cc = raft_config(&net_node(&net, id)->r);
                assert_int_equal(cc->n_voters, 4);
                assert_int_equal(cc->n_learners, 0);
        }
        /* Four voters: commits need three. */
        net_isolate(&net, 4);
        uint64_t other = l == 1 ? 2 : 1;
        net_cut(&net, l, other);
        net_propose(&net, l, "needs three");
        uint64_t before = raft_commit_index(&net_node(&net, l)->r);
        net_deliver(&net);
        assert_int_equal(raft_commit_index(&net_node(&net, l)->r), before);
        net_check_safety(&net);
        net_close(&net);
}

static void trailing_none(struct raft_options *o)
{
        quick(o);
        o->snapshot_trailing = 0;
}

static void test_new_node_joins_as_learner_from_snapshot_then_votes(void **state)
{
        (void)state;
        struct net net;
        struct raft_config c = first_three();
        net_init_config(&net, 4, &c, trailing_none);
        struct raft_config none = {0};
        net_crash(&net, 4);
        net_restart_with(&net, 4, &none); /* knows no cluster: waits to be contacted */
        uint64_t l = net_elect(&net, 100);
        for (int i = 0; i < 10; i++) {
                net_propose(&net, l, "before join");
        }
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        assert_int_equal(net_snapshot(&net, l), 0);
        assert_int_equal(raft_first_index(&net_node(&net, l)->r), 12);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_ADD_LEARNER, 4), 0);
        /* Not caught up yet: promotion is refused. */
        assert_int_equal(conf_change(&net, l, RAFT_CONF_PROMOTE, 4), SYN_EBUSY);
        for (int i = 0; i < 10; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        struct net_node *n4 = net_node(&net, 4);
        assert_int_equal(raft_snapshot(&n4->r)->index, 11);
        assert_true(raft_config_is_learner(raft_config(&n4->r), 4));
        assert_int_equal(n4->applied_index, raft_commit_index(&net_node(&net, l)->r));
        assert_int_equal(conf_change(&net, l, RAFT_CONF_PROMOTE, 4), 0);
        for (int i = 0; i < 3; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        assert_true(raft_config_is_voter(raft_config(&n4->r), 4));
        assert_int_equal(raft_config(&n4->r)->n_voters, 4);
        net_check_safety(&net);
        net_close(&net);
}

static void test_config_takes_effect_when_appended_and_reverts_on_truncation(void **state)
{
        (void)state;
        struct raft r;
        struct raft_update u;
        core_open(&r, 2, 3);
        struct raft_config c4 = voters_1_to(4);
        uint8_t buf[RAFT_CONFIG_ENCODED_BYTES_MAX];
        int len = raft_config_encode(&c4, buf, sizeof(buf));
        assert_true(len > 0);
        struct raft_entry in[2] = {
            {.term = 1, .index = 1, .type = RAFT_ENTRY_NOOP},
            {.term = 1, .index = 2, .type = RAFT_ENTRY_CONF, .data = buf, .len = (size_t)len},
        };
        struct raft_message m = {.type = RAFT_MSG_APPEND,
                                 .from = 1,
                                 .to = 2,
                                 .term = 1,
                                 .append = {.entries = in, .n_entries = 2, .commit = 1}};
        core_recv(&r, &m, &u);
        assert_true(u.config_changed);
        assert_int_equal(raft_config(&r)->n_voters, 4); /* in effect, though uncommitted */
        struct raft_entry other[1] = {{.term = 2, .index = 2, .type = RAFT_ENTRY_NOOP}};
        struct raft_message m2 = {
            .type = RAFT_MSG_APPEND,
            .from = 3,
            .to = 2,
            .term = 2,
            .append = {
                .prev_index = 1, .prev_term = 1, .entries = other, .n_entries = 1, .commit = 1}};
        core_recv(&r, &m2, &u);
        assert_int_equal(u.truncate_from, 2);
        assert_true(u.config_changed);
        assert_int_equal(raft_config(&r)->n_voters, 3);
        raft_close(&r);
}

static void test_removed_leader_steps_down_after_committing_removal(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        net_tick_all(&net, 1);
        net_deliver(&net);
        net.filter = drop_append_acks;
        assert_int_equal(conf_change(&net, l, RAFT_CONF_REMOVE, l), 0);
        net_deliver(&net);
        /* Still leading (for the others) until the removal commits. */
        assert_int_equal(raft_role(&net_node(&net, l)->r), RAFT_LEADER);
        net.filter = NULL;
        net_tick(&net, l);
        net_deliver(&net);
        assert_int_not_equal(raft_role(&net_node(&net, l)->r), RAFT_LEADER);
        uint64_t nl = net_elect(&net, 100);
        assert_int_not_equal(nl, 0);
        assert_int_not_equal(nl, l);
        assert_int_equal(net_propose(&net, nl, "two voters now"), 0);
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        /* The removed node is never a candidate again. */
        for (int i = 0; i < 50; i++) {
                net_tick(&net, l);
                assert_int_equal(raft_role(&net_node(&net, l)->r), RAFT_FOLLOWER);
        }
        net_deliver(&net);
        assert_int_equal(net_leader(&net), nl);
        net_check_safety(&net);
        net_close(&net);
}

static void test_removed_node_that_missed_its_removal_cannot_disrupt(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        net_tick_all(&net, 1);
        net_deliver(&net);
        uint64_t gone = l == 3 ? 2 : 3;
        net_isolate(&net, gone);
        assert_int_equal(conf_change(&net, l, RAFT_CONF_REMOVE, gone), 0);
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        uint64_t term = raft_term(&net_node(&net, l)->r);
        assert_int_equal(raft_config(&net_node(&net, l)->r)->n_voters, 2);
        /* It still thinks it is a voter, times out and asks for (pre-)votes. */
        net_heal(&net);
        for (int i = 0; i < 100; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
        }
        assert_int_equal(net_leader(&net), l);
        assert_int_equal(raft_term(&net_node(&net, l)->r), term);
        net_close(&net);
}

static int drop_all(void *arg, const struct raft_message *m)
{
        (void)arg;
        (void)m;
        return 0;
}

/* Found by the randomized test (seed 1308): the only log holding a removal
 * belongs to the removed node; it must still campaign until the removal
 * commits, or nobody can be elected. */
static void test_node_removed_by_uncommitted_change_still_campaigns(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 2, quick);
        uint64_t l = net_elect(&net, 100);
        uint64_t o = 3 - l;
        net_tick_all(&net, 1);
        net_deliver(&net);
        net.filter = drop_all;
        assert_int_equal(conf_change(&net, l, RAFT_CONF_REMOVE, l), 0);
        net_deliver(&net);
        net_crash(&net, l);
        net_restart(&net, l);
        net.filter = NULL;
        struct net_node *ln = net_node(&net, l);
        assert_false(raft_config_is_voter(raft_config(&ln->r), l));
        uint64_t leader = 0;
        for (int i = 0; i < 300 && leader != o; i++) {
                net_tick_all(&net, 1);
                net_deliver(&net);
                leader = net_leader(&net);
        }
        assert_int_equal(leader, o);
        const struct raft_config *c = raft_config(&net_node(&net, o)->r);
        assert_int_equal(c->n_voters, 1);
        assert_int_equal(c->voters[0], o);
        assert_int_equal(net_propose(&net, o, "alone now"), 0);
        net_check_safety(&net);
        net_close(&net);
}

/* ---- 6. leadership transfer ---- */

static int transfer(struct net *net, uint64_t id, uint64_t target)
{
        struct raft_event ev = {.type = RAFT_EV_TRANSFER, .transfer.target = target};
        return net_step(net, id, &ev);
}

static void test_transfer_hands_leadership_to_caught_up_target(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        uint64_t t = l == 3 ? 2 : 3;
        uint64_t term = raft_term(&net_node(&net, l)->r);
        net_propose(&net, l, "before");
        assert_int_equal(transfer(&net, l, l), SYN_EINVAL);
        assert_int_equal(transfer(&net, l, t), 0);
        assert_int_equal(raft_transferee(&net_node(&net, l)->r), t);
        assert_int_equal(net_propose(&net, l, "during"), SYN_EBUSY);
        net_deliver(&net);
        assert_int_equal(net_leader(&net), t);
        assert_int_equal(raft_term(&net_node(&net, t)->r), term + 1);
        assert_int_equal(raft_role(&net_node(&net, l)->r), RAFT_FOLLOWER);
        assert_int_equal(net_propose(&net, t, "after"), 0);
        net_deliver(&net);
        net_tick_all(&net, 1);
        net_deliver(&net);
        net_check_safety(&net);
        net_close(&net);
}

static void test_transfer_aborts_after_an_election_timeout(void **state)
{
        (void)state;
        struct net net;
        net_init(&net, 3, quick);
        uint64_t l = net_elect(&net, 100);
        uint64_t t = l == 3 ? 2 : 3;
        net_isolate(&net, t);
        assert_int_equal(transfer(&net, l, t), 0);
        assert_int_equal(net_propose(&net, l, "x"), SYN_EBUSY);
        for (int i = 0; i < 10; i++) {
                net_tick(&net, l);
                net_deliver(&net);
        }
        assert_int_equal(raft_role(&net_node(&net, l)->r), RAFT_LEADER);
        assert_int_equal(raft_transferee(&net_node(&net, l)->r), RAFT_NONE);
        assert_int_equal(net_propose(&net, l, "x"), 0);
        net_close(&net);
}

/* ---- randomized faults (a small simulator of our own; tests/sim is the big one) ---- */

struct chaos {
        struct net net;
        struct syn_rand rng;
        uint64_t read_floor[8192]; /* ctx -> highest commit anywhere when it was asked */
        uint64_t next_ctx;
        bool membership; /* random membership changes too */
        size_t window;   /* deliveries pick among the first `window` queued */
        char buf[64];
};

static uint64_t max_commit(struct net *net)
{
        uint64_t c = 0;
        for (size_t i = 0; i < net->n; i++) {
                struct net_node *n = &net->nodes[i];
                if (n->up && raft_commit_index(&n->r) > c) {
                        c = raft_commit_index(&n->r);
                }
        }
        return c;
}

static uint64_t pick_node(struct chaos *c, bool up)
{
        for (int tries = 0; tries < 20; tries++) {
                uint64_t id = 1 + syn_rand_below(&c->rng, c->net.n);
                if (net_node(&c->net, id)->up == up) {
                        return id;
                }
        }
        return 0;
}

static void chaos_check_reads(struct chaos *c)
{
        for (size_t i = 0; i < c->net.n; i++) {
                struct net_node *n = &c->net.nodes[i];
                for (size_t k = 0; k < n->n_reads; k++) {
                        /* linearizable: the read index covers every commit that
                         * happened anywhere before the read was asked */
                        assert_true(n->reads[k].ctx < c->next_ctx);
                        assert_true(n->reads[k].index >= c->read_floor[n->reads[k].ctx]);
                }
                n->n_reads = 0;
        }
}

static void chaos_crash_restart(struct chaos *c, unsigned r)
{
        uint64_t id = pick_node(c, r % 2 == 0);
        if (id == 0) {
                return;
        }
        if (net_node(&c->net, id)->up) {
                net_crash(&c->net, id);
        } else {
                net_restart(&c->net, id);
        }
}

static void chaos_misc(struct chaos *c, unsigned r, uint64_t id)
{
        struct net_node *n = net_node(&c->net, id);
        if (r < 3) {
                n->hold_persist = !n->hold_persist;
                if (!n->hold_persist) {
                        net_flush(&c->net, id);
                }
        } else if (r < 6) {
                net_flush(&c->net, id);
        } else if (r < 8) {
                net_snapshot(&c->net, id);
        } else if (r < 10 && c->next_ctx < 8192) {
                c->read_floor[c->next_ctx] = max_commit(&c->net);
                struct raft_event ev = {.type = RAFT_EV_READ_INDEX,
                                        .read_index.ctx = c->next_ctx++};
                net_step(&c->net, id, &ev);
        } else if (r < 11 && raft_role(&n->r) == RAFT_LEADER) {
                struct raft_event ev = {.type = RAFT_EV_TRANSFER,
                                        .transfer.target = 1 + syn_rand_below(&c->rng, c->net.n)};
                net_step(&c->net, id, &ev);
        } else if (r < 13 && c->membership && raft_role(&n->r) == RAFT_LEADER) {
                struct raft_event ev = {
                    .type = RAFT_EV_CONF_CHANGE,
                    .conf_change = {.op = 1 + syn_rand_below(&c->rng, 4),
                                    .node_id = 1 + syn_rand_below(&c->rng, c->net.n)}};
                net_step(&c->net, id, &ev);
        } else {
                net_tick_all(&c->net, 1);
        }
}

static void chaos_step(struct chaos *c, unsigned step)
{
        struct net *net = &c->net;
        unsigned r = (unsigned)syn_rand_below(&c->rng, 100);
        size_t q = net_queued(net);
        uint64_t id = pick_node(c, true);
        if (r < 25) {
                if (id != 0) {
                        net_tick(net, id);
                }
        } else if (r < 55) {
                size_t k = 1 + syn_rand_below(&c->rng, 8);
                for (size_t i = 0; i < k && net_queued(net) > 0; i++) {
                        q = net_queued(net);
                        size_t w = q < c->window ? q : c->window;
                        net_deliver_at(net, syn_rand_below(&c->rng, w));
                }
        } else if (r < 58) {
                if (q > 0) {
                        net_drop_at(net, syn_rand_below(&c->rng, q));
                }
        } else if (r < 60) {
                if (q > 0) {
                        net_duplicate_at(net, syn_rand_below(&c->rng, q));
                }
        } else if (r < 72) {
                uint64_t l = net_leader(net);
                if (l != 0) {
                        snprintf(c->buf, sizeof(c->buf), "v%u", step);
                        net_propose(net, l, c->buf);
                }
        } else if (r < 73) {
                net_isolate(net, 1 + syn_rand_below(&c->rng, net->n));
        } else if (r < 74) {
                net_cut(net, 1 + syn_rand_below(&c->rng, net->n),
                        1 + syn_rand_below(&c->rng, net->n));
        } else if (r < 78) {
                net_heal(net);
        } else if (r < 80) {
                chaos_crash_restart(c, r);
        } else if (id != 0) {
                chaos_misc(c, r - 80, id);
        }
        net_check_safety(net);
        chaos_check_reads(c);
}

static void chaos_dump(struct net *net)
{
        for (uint64_t id = 1; id <= net->n; id++) {
                struct net_node *n = net_node(net, id);
                const struct raft_config *cf = raft_config(&n->r);
                fprintf(stderr,
                        "node %llu: %s term %llu vote %llu leader %llu last %llu/%llu commit %llu "
                        "voters %u learners %u voter? %d\n",
                        (unsigned long long)id, raft_role_name(raft_role(&n->r)),
                        (unsigned long long)raft_term(&n->r), (unsigned long long)raft_vote(&n->r),
                        (unsigned long long)raft_leader(&n->r),
                        (unsigned long long)raft_last_index(&n->r),
                        (unsigned long long)raft_last_term(&n->r),
                        (unsigned long long)raft_commit_index(&n->r), cf->n_voters, cf->n_learners,
                        raft_config_is_voter(cf, id));
        }
}

static void chaos_converge(struct chaos *c)
{
        struct net *net = &c->net;
        net_heal(net);
        for (uint64_t id = 1; id <= net->n; id++) {
                struct net_node *n = net_node(net, id);
                if (!n->up) {
                        net_restart(net, id);
                }
                n->hold_persist = false;
                net_flush(net, id);
        }
        uint64_t l = 0;
        for (int i = 0; i < 400 && l == 0; i++) {
                net_tick_all(net, 1);
                net_deliver(net);
                l = net_leader(net);
                if (l != 0 && net_propose(net, l, "final") != 0) {
                        l = 0; /* transferring: try again */
                }
        }
        if (l == 0) {
                chaos_dump(net);
        }
        assert_int_not_equal(l, 0);
        for (int i = 0; i < 100; i++) {
                net_tick_all(net, 1);
                net_deliver(net);
        }
        l = net_leader(net); /* it may have changed: a leader may remove itself */
        if (l == 0) {
                chaos_dump(net);
        }
        assert_int_not_equal(l, 0);
        uint64_t commit = raft_commit_index(&net_node(net, l)->r);
        const struct raft_config *conf = raft_config(&net_node(net, l)->r);
        for (uint64_t id = 1; id <= net->n; id++) {
                struct net_node *n = net_node(net, id);
                if (!raft_config_is_voter(conf, id) && !raft_config_is_learner(conf, id)) {
                        continue; /* removed: it may never hear of what followed */
                }
                assert_int_equal(raft_commit_index(&n->r), commit);
                assert_int_equal(n->applied_index, commit);
        }
        net_check_safety(net);
}

static void small_trailing(struct raft_options *o)
{
        o->snapshot_trailing = 3;
        o->max_inflight_msgs = 4;
        o->max_msg_bytes = 16;
}

static void test_random_faults_keep_safety_and_converge(void **state)
{
        (void)state;
        static struct chaos c;
        const char *env = getenv("RAFT_CHAOS_SEEDS");
        unsigned seeds = env != NULL ? (unsigned)atoi(env) : 40;
        unsigned first = getenv("RAFT_CHAOS_SEED") ? (unsigned)atoi(getenv("RAFT_CHAOS_SEED")) : 1;
        for (unsigned seed = first; seed < first + seeds; seed++) {
                memset(&c, 0, sizeof(c));
                syn_rand_seed(&c.rng, seed);
                c.window =
                    getenv("RAFT_CHAOS_WINDOW") ? (size_t)atoi(getenv("RAFT_CHAOS_WINDOW")) : 4;
                if (seed % 7 == 6) {
                        net_init(&c.net, 7, small_trailing);
                } else if (seed % 3 == 0) {
                        /* five nodes, three voters, membership changes on */
                        struct raft_config three = voters_1_to(3);
                        c.membership = true;
                        net_init_config(&c.net, 5, &three, small_trailing);
                } else {
                        net_init(&c.net, 3 + 2 * (seed % 2), small_trailing);
                }
                c.net.trace = getenv("RAFT_CHAOS_TRACE") != NULL;
                for (size_t i = 0; getenv("RAFT_CHAOS_HOLD") != NULL && i < c.net.n; i++) {
                        c.net.nodes[i].hold_persist = true; /* every write waits for a flush */
                }
                for (unsigned step = 0; step < 3000; step++) {
                        chaos_step(&c, step);
                }
                chaos_converge(&c);
                if (getenv("RAFT_CHAOS_VERBOSE") != NULL) {
                        struct net_node *n1 = net_node(&c.net, 1);
                        fprintf(
                            stderr,
                            "seed %u: voters %u learners %u commit %llu term %llu snap %llu first "
                            "%llu reads %llu delivered %llu\n",
                            seed, raft_config(&n1->r)->n_voters, raft_config(&n1->r)->n_learners,
                            (unsigned long long)raft_commit_index(&n1->r),
                            (unsigned long long)raft_term(&n1->r),
                            (unsigned long long)raft_snapshot(&n1->r)->index,
                            (unsigned long long)raft_first_index(&n1->r),
                            (unsigned long long)c.next_ctx, (unsigned long long)c.net.delivered);
                }
                net_close(&c.net);
        }
}

/* The log's payload chunks: entries larger than a third of a chunk spill into new chunks;
 * a truncation in the middle of a chunk cuts it back and frees the later ones, the bytes
 * appended next take the cut place, and a compaction frees only the chunks wholly before
 * its point. Every payload reads back as written throughout. */
enum { BIG_PAYLOAD = RAFT_LOG_CHUNK_BYTES / 3 + 1 };

static void fill_payload(uint8_t *buf, uint64_t index, uint64_t term)
{
        memset(buf, (int)((index * 7 + term) & 0xff), BIG_PAYLOAD);
}

static void assert_payloads(const struct rlog *l, uint64_t from, uint64_t to, uint64_t term_from)
{
        uint8_t want[BIG_PAYLOAD];
        for (uint64_t i = from; i <= to; i++) {
                const struct raft_entry *e = rlog_get(l, i);
                fill_payload(want, i, i >= term_from ? 2 : 1);
                assert_int_equal(e->len, BIG_PAYLOAD);
                assert_memory_equal(e->data, want, BIG_PAYLOAD);
        }
}

static size_t chunk_count(const struct rlog *l)
{
        size_t n = 0;
        for (const struct rlog_chunk *c = l->chunks; c != NULL; c = c->next)
                n++;
        return n;
}

static void test_log_payload_chunks(void **state)
{
        (void)state;
        struct rlog l;
        rlog_init(&l, 0, 0);
        uint8_t buf[BIG_PAYLOAD];
        for (uint64_t i = 1; i <= 9; i++) {
                fill_payload(buf, i, 1);
                assert_int_equal(rlog_append(&l, 1, RAFT_ENTRY_NORMAL, buf, sizeof buf), SYN_OK);
        }
        assert_int_equal(chunk_count(&l), 5); /* two payloads fit a chunk */
        assert_payloads(&l, 1, 9, 10);
        rlog_truncate(&l, 6); /* 6 shares a chunk with 5: cut back; 7..9 freed */
        assert_int_equal(rlog_last_index(&l), 5);
        assert_int_equal(chunk_count(&l), 3);
        for (uint64_t i = 6; i <= 8; i++) {
                fill_payload(buf, i, 2);
                assert_int_equal(rlog_append(&l, 2, RAFT_ENTRY_NORMAL, buf, sizeof buf), SYN_OK);
        }
        assert_payloads(&l, 1, 8, 6);
        rlog_truncate(&l, 7); /* 7 starts a chunk: that chunk goes whole */
        assert_int_equal(chunk_count(&l), 3);
        assert_payloads(&l, 1, 6, 6);
        rlog_compact(&l, 3); /* 3 shares a chunk with 4: only the first chunk goes */
        assert_int_equal(chunk_count(&l), 2);
        assert_payloads(&l, 4, 6, 6);
        rlog_compact(&l, 6);
        assert_int_equal(chunk_count(&l), 0);
        fill_payload(buf, 7, 2);
        assert_int_equal(rlog_append(&l, 2, RAFT_ENTRY_NORMAL, buf, sizeof buf), SYN_OK);
        assert_payloads(&l, 7, 7, 6);
        rlog_close(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_log_payload_chunks),
            cmocka_unit_test(test_single_voter_elects_itself_on_first_tick),
            cmocka_unit_test(test_single_voter_commits_only_after_own_persist),
            cmocka_unit_test(test_single_voter_leader_sends_nothing_before_its_vote_is_durable),
            cmocka_unit_test(test_single_voter_crash_before_vote_durable_cannot_fork_a_learner),
            cmocka_unit_test(test_proposal_on_follower_is_refused),
            cmocka_unit_test(test_candidate_sends_vote_requests_only_after_persisting_vote),
            cmocka_unit_test(test_vote_grant_waits_for_persisted_vote),
            cmocka_unit_test(test_vote_refused_to_candidate_with_older_log),
            cmocka_unit_test(test_prevote_refused_to_candidate_with_older_log_or_term),
            cmocka_unit_test(test_three_nodes_elect_exactly_one_leader),
            cmocka_unit_test(test_vote_not_sent_until_voter_disk_done),
            cmocka_unit_test(test_prevote_keeps_isolated_node_from_bumping_term),
            cmocka_unit_test(test_without_prevote_isolated_node_bumps_term),
            cmocka_unit_test(test_sticky_voters_ignore_vote_requests_while_leader_is_live),
            cmocka_unit_test(test_check_quorum_leader_steps_down_when_cut_off),
            cmocka_unit_test(test_stale_leader_learns_newer_term_and_steps_down),
            cmocka_unit_test(test_replication_applies_same_entries_everywhere),
            cmocka_unit_test(test_leader_commits_only_current_term_by_counting),
            cmocka_unit_test(test_follower_truncates_conflicting_suffix_before_appending),
            cmocka_unit_test(test_reordered_old_append_does_not_truncate_newer_entries),
            cmocka_unit_test(test_stale_term_append_is_answered_with_newer_term),
            cmocka_unit_test(test_malformed_append_is_refused_without_change),
            cmocka_unit_test(test_fast_backtracking_skips_a_conflicting_term_per_round_trip),
            cmocka_unit_test(test_appends_are_batched_by_bytes_and_window_bounded),
            cmocka_unit_test(test_uncommitted_bytes_limit_refuses_proposals),
            cmocka_unit_test(test_read_index_needs_a_quorum_heartbeat_round),
            cmocka_unit_test(test_read_index_waits_for_leader_to_commit_in_its_term),
            cmocka_unit_test(test_follower_read_index_is_forwarded_to_leader),
            cmocka_unit_test(test_read_index_without_leader_is_refused),
            cmocka_unit_test(test_lease_read_answers_without_a_round_only_while_lease_holds),
            cmocka_unit_test(test_lease_survives_follower_restart),
            cmocka_unit_test(test_old_heartbeat_answer_does_not_confirm_newer_read),
            cmocka_unit_test(test_stale_mark_after_truncation_and_regrowth_is_ignored),
            cmocka_unit_test(test_follower_commit_stops_at_last_new_entry),
            cmocka_unit_test(test_snapshot_taken_compacts_log_keeping_trailing_entries),
            cmocka_unit_test(test_lagging_follower_catches_up_by_chunked_snapshot),
            cmocka_unit_test(test_snapshot_covering_follower_log_keeps_its_entries),
            cmocka_unit_test(
                test_late_snapshot_done_after_leaving_snapshot_state_keeps_next_above_match),
            cmocka_unit_test(test_conf_change_waits_for_commit_in_leader_term),
            cmocka_unit_test(test_learner_replicates_without_voting_then_is_promoted),
            cmocka_unit_test(test_new_node_joins_as_learner_from_snapshot_then_votes),
            cmocka_unit_test(test_config_takes_effect_when_appended_and_reverts_on_truncation),
            cmocka_unit_test(test_removed_leader_steps_down_after_committing_removal),
            cmocka_unit_test(test_removed_node_that_missed_its_removal_cannot_disrupt),
            cmocka_unit_test(test_node_removed_by_uncommitted_change_still_campaigns),
            cmocka_unit_test(test_transfer_hands_leadership_to_caught_up_target),
            cmocka_unit_test(test_transfer_aborts_after_an_election_timeout),
            cmocka_unit_test(test_random_faults_keep_safety_and_converge),
        };
        /* RAFT_TEST_FILTER=test_random* runs a subset (the planted-bug builds do). */
        const char *filter = getenv("RAFT_TEST_FILTER");
        if (filter != NULL) {
                cmocka_set_test_filter(filter);
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
