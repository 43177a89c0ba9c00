/*
 * Leadership transfer (§3.10).
 *
 * The leader stops accepting proposals (so the target can catch up to a
 * fixed point), brings the target's log up to date, then sends it TimeoutNow;
 * the target campaigns at once, skipping pre-vote, and its vote requests
 * carry the transfer flag so voters drop their leader stickiness. If nothing
 * happens within an election timeout the transfer is abandoned and the
 * leader accepts proposals again.
 */
#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

int transfer_start(struct raft_priv *p, uint64_t target)
{
        if (p->role != RAFT_LEADER) {
                return SYN_ENOTLEADER;
        }
        if (target == p->id || !raft_config_is_voter(&p->config, target)) {
                return SYN_EINVAL;
        }
        if (p->transferee != RAFT_NONE) {
                return SYN_EBUSY;
        }
        struct progress *pr = raft_progress(p, target);
        if (pr == NULL) {
                return SYN_EINVAL;
        }
        p->transferee = target;
        p->transfer_elapsed = 0;
        transfer_maybe_send(p, pr);
        return SYN_OK;
}

void transfer_maybe_send(struct raft_priv *p, struct progress *pr)
{
        if (p->transferee == RAFT_NONE || pr->id != p->transferee) {
                return;
        }
        if (pr->match == rlog_last_index(&p->log)) {
                out_msg(p, RAFT_MSG_TIMEOUT_NOW, pr->id);
                p->lease_broken = true;
        } else {
                repl_send_append(p, pr, false);
        }
}

void transfer_tick(struct raft_priv *p)
{
        if (p->transferee == RAFT_NONE) {
                return;
        }
        if (++p->transfer_elapsed >= p->o.election_ticks) {
                p->transferee = RAFT_NONE; /* abandoned: serve proposals again */
        }
}

void transfer_recv_timeout_now(struct raft_priv *p, const struct raft_message *m)
{
        SYN_ASSERT(m->term == p->term);
        if (!raft_may_campaign(p) || p->install_pending) {
                return;
        }
        election_campaign(p, false, true);
}
