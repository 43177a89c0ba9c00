/*
 * Membership changes: one server at a time (§4.1), with learners.
 *
 * A change is an ordinary log entry (RAFT_ENTRY_CONF) and takes effect on
 * each node as soon as it is appended to that node's log, committed or not;
 * if a truncation removes it, the previous configuration comes back
 * (raft_config_reload). Because any two majorities of configurations that
 * differ by one voter overlap, single-server changes need no joint consensus,
 * provided (a) only one change is uncommitted at a time and (b) the leader has
 * committed an entry of its own term before it starts one: the fix, from the
 * raft-dev list (2015), for the bug where a new leader's change and a
 * deposed leader's uncommitted change could otherwise form disjoint majorities.
 *
 * A leader that removes itself keeps leading until the entry commits
 * (counting only the voters of the new configuration, §4.2.2), then hands over
 * with TimeoutNow to the most up-to-date voter and steps down.
 */
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

static void id_remove(uint64_t *ids, uint32_t *n, uint64_t id)
{
        for (uint32_t i = 0; i < *n; i++) {
                if (ids[i] == id) {
                        memmove(&ids[i], &ids[i + 1], (*n - i - 1) * sizeof(*ids));
                        (*n)--;
                        return;
                }
        }
}

/* Applies op to c; returns 0 or the refusal. */
static int config_apply_op(struct raft_priv *p, struct raft_config *c, enum raft_conf_op op,
                           uint64_t id)
{
        bool voter = raft_config_is_voter(c, id);
        bool learner = raft_config_is_learner(c, id);
        bool full = c->n_voters + c->n_learners >= RAFT_NODES_MAX;
        switch (op) {
        case RAFT_CONF_ADD_VOTER:
        case RAFT_CONF_ADD_LEARNER:
                if (voter || learner) {
                        return SYN_EINVAL;
                }
                if (full) {
                        return SYN_ELIMIT;
                }
                if (op == RAFT_CONF_ADD_VOTER) {
                        c->voters[c->n_voters++] = id;
                } else {
                        c->learners[c->n_learners++] = id;
                }
                return SYN_OK;
        case RAFT_CONF_PROMOTE: {
                if (!learner) {
                        return SYN_EINVAL;
                }
                const struct progress *pr = raft_progress(p, id);
                if (pr == NULL || pr->match < p->commit) {
                        return SYN_EBUSY; /* not caught up yet: it would stall commits */
                }
                id_remove(c->learners, &c->n_learners, id);
                c->voters[c->n_voters++] = id;
                return SYN_OK;
        }
        case RAFT_CONF_REMOVE:
                if (voter && c->n_voters == 1) {
                        return SYN_EINVAL;
                }
                if (!voter && !learner) {
                        return SYN_EINVAL;
                }
                id_remove(c->voters, &c->n_voters, id);
                id_remove(c->learners, &c->n_learners, id);
                return SYN_OK;
        }
        return SYN_EINVAL;
}

int membership_change(struct raft_priv *p, enum raft_conf_op op, uint64_t node_id)
{
        if (p->role != RAFT_LEADER) {
                return SYN_ENOTLEADER;
        }
        if (node_id == RAFT_NONE) {
                return SYN_EINVAL;
        }
        if (p->transferee != RAFT_NONE || p->commit < p->term_start ||
            p->config_index > p->commit) {
                return SYN_EBUSY;
        }
        struct raft_config c = p->config;
        int rv = config_apply_op(p, &c, op, node_id);
        if (rv != 0) {
                return rv;
        }
        SYN_ASSERT(raft_config_valid(&c));
        uint8_t buf[RAFT_CONFIG_ENCODED_BYTES_MAX];
        int len = raft_config_encode(&c, buf, sizeof(buf));
        SYN_ASSERT(len > 0);
        rv = repl_append_local(p, RAFT_ENTRY_CONF, buf, (size_t)len);
        if (rv != 0) {
                return rv;
        }
        raft_config_reload(p);
        SYN_ASSERT(p->config_index == rlog_last_index(&p->log));
        p->out_proposal_index = p->config_index;
        p->out_proposal_term = p->term;
        rv = membership_sync_progress(p, false);
        SYN_ASSERT(rv == 0 || rv == SYN_ENOMEM);
        /* Out of memory for a new tracker: the entry is appended anyway; the
         * member gets its tracker at the next change or election. */
        repl_broadcast_append(p);
        return SYN_OK;
}

static int tracker_for(struct raft_priv *p, struct progress *out, uint64_t id, bool reset)
{
        struct progress *old = reset ? NULL : raft_progress(p, id);
        if (old != NULL) {
                *out = *old;
                old->id = RAFT_NONE; /* moved */
                return SYN_OK;
        }
        int rv = progress_init(out, id, rlog_last_index(&p->log) + 1, p->o.max_inflight_msgs);
        if (rv != 0) {
                return rv;
        }
        out->recent_active = true;
        if (id == p->id) {
                out->match = p->persisted;
        }
        return SYN_OK;
}

int membership_sync_progress(struct raft_priv *p, bool reset)
{
        struct progress fresh[RAFT_NODES_MAX];
        size_t n = 0;
        int rv = SYN_OK;
        const struct raft_config *c = &p->config;
        for (uint32_t i = 0; i < c->n_voters + c->n_learners && rv == 0; i++) {
                uint64_t id = i < c->n_voters ? c->voters[i] : c->learners[i - c->n_voters];
                rv = tracker_for(p, &fresh[n], id, reset);
                n += rv == 0;
        }
        for (size_t i = 0; i < p->n_prs; i++) {
                if (p->prs[i].id != RAFT_NONE || reset) {
                        progress_close(&p->prs[i]);
                }
        }
        memcpy(p->prs, fresh, n * sizeof(fresh[0]));
        p->n_prs = n;
        return rv;
}

void membership_after_commit(struct raft_priv *p)
{
        if (p->role != RAFT_LEADER || p->config_index == 0 || p->config_index > p->commit ||
            raft_is_voter(p)) {
                return;
        }
        /* §4.2.2: our removal is committed. Hand over to the most caught-up voter. */
        struct progress *best = NULL;
        for (size_t i = 0; i < p->n_prs; i++) {
                struct progress *pr = &p->prs[i];
                if (raft_config_is_voter(&p->config, pr->id) &&
                    (best == NULL || pr->match > best->match)) {
                        best = pr;
                }
        }
        if (best != NULL && best->match == rlog_last_index(&p->log)) {
                out_msg(p, RAFT_MSG_TIMEOUT_NOW, best->id);
                p->lease_broken = true;
        }
        become_follower(p, p->term, RAFT_NONE);
}
