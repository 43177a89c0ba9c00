/*
 * Building the update (etcd's Ready) during one raft_step.
 *
 * Messages are collected in two growable arrays (send now / send after
 * persistence) capped at RAFT_UPDATE_MSGS_MAX; a message past the cap is
 * dropped and counted, which is always safe because the network may drop
 * messages too and the core retries. Append messages are recorded with
 * entries == NULL and resolved into pointers to the log in out_finish(),
 * after every mutation of the step, because appending to the log may move
 * the array. The entries to persist are likewise [unstable_from, last].
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "raft/raft_priv.h"

void out_begin(struct raft_priv *p)
{
        p->n_msgs = 0;
        p->n_msgs_after = 0;
        p->n_read_states = 0;
        p->out_truncate_from = 0;
        p->out_compacted_to = 0;
        p->out_chunk = false;
        p->out_install = false;
        p->out_config_changed = false;
        p->out_proposal_index = 0;
        p->out_proposal_term = 0;
        p->start_role = p->role;
        p->start_term = p->term;
        p->start_vote = p->vote;
        p->start_leader = p->leader;
}

static struct raft_message *out_push(struct raft_message **arr, size_t *n, size_t *cap)
{
        if (*n == *cap) {
                size_t ncap = *cap == 0 ? 16 : *cap * 2;
                if (ncap > RAFT_UPDATE_MSGS_MAX) {
                        ncap = RAFT_UPDATE_MSGS_MAX;
                }
                struct raft_message *a = NULL;
                if (ncap > *cap) {
                        a = realloc(*arr, ncap * sizeof(*a));
                }
                if (a == NULL) {
                        return NULL;
                }
                *arr = a;
                *cap = ncap;
        }
        return &(*arr)[(*n)++];
}

static struct raft_message *out_fill(struct raft_priv *p, struct raft_message *m,
                                     enum raft_msg_type type, uint64_t to)
{
        /* Past the cap: a scratch message that is never sent. */
        if (m == NULL) {
                p->msgs_dropped++;
                m = &p->msg_scratch;
        }
        memset(m, 0, sizeof(*m));
        m->type = type;
        m->from = p->id;
        m->to = to;
        m->term = p->term;
        return m;
}

struct raft_message *out_msg(struct raft_priv *p, enum raft_msg_type type, uint64_t to)
{
        SYN_ASSERT(to != p->id);
        return out_fill(p, out_push(&p->msgs, &p->n_msgs, &p->msgs_cap), type, to);
}

struct raft_message *out_msg_after(struct raft_priv *p, enum raft_msg_type type, uint64_t to)
{
        SYN_ASSERT(to != p->id);
        return out_fill(p, out_push(&p->msgs_after, &p->n_msgs_after, &p->msgs_after_cap), type,
                        to);
}

void out_read_state(struct raft_priv *p, uint64_t ctx, uint64_t index)
{
        /* reads[] has RAFT_READ_PENDING_MAX slots and read_states as many. */
        SYN_ASSERT(p->n_read_states < RAFT_READ_PENDING_MAX);
        p->read_states[p->n_read_states++] = (struct raft_read_state){.ctx = ctx, .index = index};
}

/* Points append messages at their entries in the log; drops any whose
 * entries are no longer there (cannot happen today: asserted in debug). */
static void out_resolve_appends(struct raft_priv *p, struct raft_message *msgs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct raft_message *m = &msgs[i];
                if (m->type != RAFT_MSG_APPEND || m->append.n_entries == 0) {
                        continue;
                }
                uint64_t first = m->append.prev_index + 1;
                uint64_t last = m->append.prev_index + m->append.n_entries;
                SYN_ASSERT(first > p->log.prev_index);
                SYN_ASSERT(last <= rlog_last_index(&p->log));
                m->append.entries = rlog_get(&p->log, first);
        }
}

static void out_apply(struct raft_priv *p, struct raft_update *u)
{
        uint64_t target = p->commit < p->persisted ? p->commit : p->persisted;
#ifdef SYNOD_PLANT_APPLY_BEFORE_COMMIT
        target = rlog_last_index(&p->log); /* planted: apply uncommitted entries */
#endif
        if (p->install_pending || target <= p->applied) {
                return;
        }
        SYN_ASSERT(p->applied >= p->log.prev_index);
        u->committed = rlog_get(&p->log, p->applied + 1);
        u->n_committed = (size_t)(target - p->applied);
        p->applied = target;
}

static void out_persist(struct raft_priv *p, struct raft_update *u)
{
        uint64_t last = rlog_last_index(&p->log);
        u->truncate_from = p->out_truncate_from;
        if (p->unstable_from <= last) {
                SYN_ASSERT(p->unstable_from > p->log.prev_index);
                u->entries = rlog_get(&p->log, p->unstable_from);
                u->n_entries = (size_t)(last - p->unstable_from + 1);
                p->unstable_from = last + 1;
                u->persist_mark = (struct raft_persist_mark){.index = last, .epoch = p->epoch};
        }
        u->hard_state_changed = p->term != p->start_term || p->vote != p->start_vote;
        u->hard_state = (struct raft_hard_state){.term = p->term, .vote = p->vote};
#ifdef SYNOD_PLANT_VOTE_NOT_PERSISTED
        /* planted: a vote granted to another node in this step is never
         * reported for persistence (its grant already left in u->msgs) */
        if (p->vote != p->start_vote && p->vote != p->id) {
                u->hard_state.vote = p->term == p->start_term ? p->start_vote : RAFT_NONE;
                u->hard_state_changed = p->term != p->start_term;
        }
#endif
}

/*
 * In a step that changed the term or the vote nothing may leave before they
 * are durable: every message carries the term. And a leader sends nothing
 * until its term's no-op is durable (which, writes being FIFO, means its term
 * and vote are): a single voter wins in the step that writes its vote, with
 * no vote requests to wait for, and if it crashed before that write it could
 * win the same term again after restart and send different entries under the
 * same (index, term) — breaking log matching on the learners that got the
 * first ones (found by the randomized test, RAFT_CHAOS_HOLD=1 seed 2988).
 */
static void out_hold_all(struct raft_priv *p)
{
        for (size_t i = 0; i < p->n_msgs; i++) {
                struct raft_message *m =
                    out_push(&p->msgs_after, &p->n_msgs_after, &p->msgs_after_cap);
                if (m == NULL) {
                        p->msgs_dropped++;
                        continue;
                }
                *m = p->msgs[i];
        }
        p->n_msgs = 0;
}

void out_finish(struct raft_priv *p, struct raft_update *u)
{
        memset(u, 0, sizeof(*u));
        SYN_ASSERT(p->commit <= rlog_last_index(&p->log));
        SYN_ASSERT(p->persisted <= rlog_last_index(&p->log));
        out_persist(p, u);
        if (u->hard_state_changed || (p->role == RAFT_LEADER && p->persisted < p->term_start)) {
                out_hold_all(p);
        }
        out_resolve_appends(p, p->msgs, p->n_msgs);
        out_resolve_appends(p, p->msgs_after, p->n_msgs_after);
        u->msgs = p->msgs;
        u->n_msgs = p->n_msgs;
        u->msgs_after_persist = p->msgs_after;
        u->n_msgs_after_persist = p->n_msgs_after;
        out_apply(p, u);
#ifndef SYNOD_PLANT_APPLY_BEFORE_COMMIT
        SYN_ASSERT(p->applied <= p->commit);
#endif
        u->snapshot_chunk = p->out_chunk ? &p->chunk : NULL;
        u->snapshot_install = p->out_install ? &p->install_meta : NULL;
        u->compacted_to = p->out_compacted_to;
        u->read_states = p->read_states;
        u->n_read_states = p->n_read_states;
        u->role_changed =
            p->role != p->start_role || p->term != p->start_term || p->leader != p->start_leader;
        u->role = p->role;
        u->term = p->term;
        u->leader_id = p->leader;
        u->commit = p->commit;
        u->config_changed = p->out_config_changed;
        u->proposal_index = p->out_proposal_index;
        u->proposal_term = p->out_proposal_term;
}
