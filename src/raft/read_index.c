/*
 * ReadIndex (§6.4): linearizable reads without writing to the log.
 *
 * The leader records its commit index for the read, then confirms it is
 * still the leader with a heartbeat round: every round has a sequence number
 * (read_seq) carried in the heartbeats and echoed in the answers; once a
 * majority of voters (the leader included) acknowledged round s, every read
 * recorded in a round <= s is ready at its recorded index. A leader that has
 * not yet committed an entry of its own term does not know the latest commit
 * index, so reads wait (seq 0) until its no-op commits. A follower forwards
 * the read to the leader and gets (ctx, index) back in a message.
 *
 * With lease_read (and check_quorum) the round is skipped while the leader
 * holds a lease: a majority acknowledged a heartbeat round the leader SENT
 * less than election_ticks - heartbeat_ticks ticks ago. Each of those voters
 * ignores vote requests for an election timeout after receiving it
 * (stickiness), so no other leader can exist before the lease ends, provided
 * clocks drift less than the margin; that assumption is why it is off by
 * default.
 */
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

static void release(struct raft_priv *p, const struct pending_read *rd)
{
        if (rd->from == p->id) {
                out_read_state(p, rd->ctx, rd->index);
                return;
        }
        struct raft_message *m = out_msg(p, RAFT_MSG_READ_INDEX_RESP, rd->from);
        m->read_index_resp =
            (struct raft_msg_read_index_resp){.ctx = rd->ctx, .index = rd->index, .ok = true};
}

static bool term_committed(const struct raft_priv *p)
{
        return p->commit >= p->term_start;
}

/* The newest heartbeat round a majority of voters acknowledged. */
static uint64_t confirmed_seq(struct raft_priv *p)
{
        uint64_t acked[RAFT_NODES_MAX];
        size_t n = 0;
        for (uint32_t i = 0; i < p->config.n_voters; i++) {
                uint64_t id = p->config.voters[i];
                struct progress *pr = raft_progress(p, id);
                acked[n++] = id == p->id ? p->read_seq : (pr != NULL ? pr->read_seq : 0);
        }
        return n == 0 ? 0 : quorum_index(acked, n);
}

static bool lease_held(struct raft_priv *p)
{
        /* A TimeoutNow (transfer) lets its target's vote requests past every
         * voter's stickiness: no lease for the rest of the term. */
        if (!p->o.lease_read || !p->o.check_quorum || p->lease_broken ||
            p->transferee != RAFT_NONE) {
                return false;
        }
        uint64_t seq = confirmed_seq(p);
        if (seq == 0 || p->read_seq - seq >= RAFT_LEASE_ROUNDS) {
                return false;
        }
        uint64_t sent = p->lease_sent_tick[seq % RAFT_LEASE_ROUNDS];
        return p->ticks < sent + p->o.election_ticks - p->o.heartbeat_ticks;
}

static bool no_round_needed(struct raft_priv *p)
{
        return (p->config.n_voters == 1 && raft_is_voter(p)) || lease_held(p);
}

/* Releases reads [0, n) and shifts the rest down. */
static void release_prefix(struct raft_priv *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                release(p, &p->reads[i]);
        }
        memmove(p->reads, p->reads + n, (p->n_reads - n) * sizeof(*p->reads));
        p->n_reads -= n;
}

int read_index_request(struct raft_priv *p, uint64_t ctx, uint64_t from)
{
        if (p->role != RAFT_LEADER) {
                if (p->leader == RAFT_NONE || from != p->id) {
                        return SYN_ENOTLEADER;
                }
                struct raft_message *m = out_msg(p, RAFT_MSG_READ_INDEX, p->leader);
                m->read_index.ctx = ctx;
                return SYN_OK;
        }
        if (p->n_reads >= RAFT_READ_PENDING_MAX) {
                return SYN_EBUSY;
        }
        struct pending_read rd = {.ctx = ctx, .from = from, .index = p->commit, .seq = 0};
        if (term_committed(p) && no_round_needed(p)) {
                release(p, &rd);
                return SYN_OK;
        }
        if (term_committed(p)) {
                rd.seq = ++p->read_seq;
        }
        p->reads[p->n_reads++] = rd;
        if (rd.seq != 0) {
                repl_broadcast_heartbeat(p);
        }
        return SYN_OK;
}

void read_index_term_committed(struct raft_priv *p)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        if (p->n_reads == 0) {
                return;
        }
        if (no_round_needed(p)) {
                for (size_t i = 0; i < p->n_reads; i++) {
                        p->reads[i].index = p->commit;
                }
                release_prefix(p, p->n_reads);
                return;
        }
        p->read_seq++;
        for (size_t i = 0; i < p->n_reads; i++) {
                if (p->reads[i].seq == 0) {
                        p->reads[i].seq = p->read_seq;
                        p->reads[i].index = p->commit;
                }
        }
        repl_broadcast_heartbeat(p);
}

void read_index_ack(struct raft_priv *p)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        uint64_t confirmed = confirmed_seq(p);
        size_t k = 0;
        while (k < p->n_reads && p->reads[k].seq != 0 && p->reads[k].seq <= confirmed) {
                k++;
        }
        release_prefix(p, k);
}

void read_index_drop(struct raft_priv *p)
{
        for (size_t i = 0; i < p->n_reads; i++) {
                const struct pending_read *rd = &p->reads[i];
                if (rd->from != p->id) {
                        struct raft_message *m = out_msg(p, RAFT_MSG_READ_INDEX_RESP, rd->from);
                        m->read_index_resp.ctx = rd->ctx;
                        m->read_index_resp.ok = false;
                }
        }
        p->n_reads = 0;
}

void read_index_recv(struct raft_priv *p, const struct raft_message *m)
{
        int rv = SYN_ENOTLEADER;
        if (p->role == RAFT_LEADER) {
                rv = read_index_request(p, m->read_index.ctx, m->from);
        }
        if (rv != 0) {
                struct raft_message *r = out_msg(p, RAFT_MSG_READ_INDEX_RESP, m->from);
                r->read_index_resp.ctx = m->read_index.ctx;
                r->read_index_resp.ok = false;
        }
}

void read_index_recv_resp(struct raft_priv *p, const struct raft_message *m)
{
        if (m->read_index_resp.ok && p->n_read_states < RAFT_READ_PENDING_MAX) {
                out_read_state(p, m->read_index_resp.ctx, m->read_index_resp.index);
        }
}
