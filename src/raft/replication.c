/*
 * Log replication (§3.5), commitment (§3.6) and applying.
 *
 * Leader side: per follower, send what its progress state allows (one probe
 * at a time in PROBE, a pipeline bounded by the in-flight ring in REPLICATE,
 * nothing in SNAPSHOT), batched by count (RAFT_MSG_ENTRIES_MAX) and bytes
 * (max_msg_bytes). A rejection carries a hint (the follower's largest index
 * <= the rejected one whose term is <= the rejected term); the leader skips
 * back to its own largest index <= the hint with a term <= the hint's term,
 * so one round trip skips a whole term of conflicting entries.
 *
 * Commit (§3.6.2): the leader commits index N when a majority of voters hold
 * it AND the entry at N is of the current term; older entries are committed
 * only indirectly. The leader counts itself by what is durable on its own disk
 * (persisted), since it writes in parallel with sending (§10.2.1).
 *
 * Follower side: accept an append only if the log matches at prev (log
 * matching, §3.5), never truncate an entry that matches (a reordered old
 * append must not undo a newer one), and never truncate a committed entry.
 */
#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

int repl_append_local(struct raft_priv *p, enum raft_entry_type type, const uint8_t *data,
                      size_t len)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        int rv = rlog_append(&p->log, p->term, type, data, len);
        if (rv != 0) {
                return rv;
        }
        struct progress *self = raft_progress(p, p->id);
        if (self != NULL) {
                self->next = rlog_last_index(&p->log) + 1;
        }
        return SYN_OK;
}

/* Counts the entries [next, last] that fit in one message. */
static uint32_t batch_count(const struct raft_priv *p, uint64_t next, uint64_t *bytes_out)
{
        uint64_t last = rlog_last_index(&p->log);
        uint32_t n = 0;
        uint64_t bytes = 0;
        for (uint64_t i = next; i <= last && n < RAFT_MSG_ENTRIES_MAX; i++) {
                uint64_t len = rlog_get(&p->log, i)->len;
                if (n > 0 && bytes + len > p->o.max_msg_bytes) {
                        break;
                }
                n++;
                bytes += len;
        }
        *bytes_out = bytes;
        return n;
}

/* One append to pr; returns the number of entries it carries. */
static uint32_t send_one(struct raft_priv *p, struct progress *pr, bool allow_empty)
{
        uint64_t prev = pr->next - 1;
        uint64_t bytes = 0;
        uint32_t n = 0;
        bool window_full = pr->state == PROGRESS_REPLICATE &&
                           inflights_full(&pr->inflight, p->o.max_inflight_bytes);
        if (!window_full) {
                n = batch_count(p, pr->next, &bytes);
        }
        if (n == 0 && !allow_empty) {
                return 0;
        }
        struct raft_message *m = out_msg(p, RAFT_MSG_APPEND, pr->id);
        m->append.prev_index = prev;
        m->append.prev_term = rlog_term_at(&p->log, prev);
        m->append.commit = p->commit;
        m->append.n_entries = n; /* entries pointer resolved in out_finish */
        pr->commit_sent = p->commit;
        if (pr->state == PROGRESS_REPLICATE && n > 0) {
                inflights_add(&pr->inflight, prev + n, bytes);
                pr->next = prev + n + 1;
        } else if (pr->state == PROGRESS_PROBE) {
                pr->probe_sent = true;
        }
        return n;
}

void repl_send_append(struct raft_priv *p, struct progress *pr, bool allow_empty)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        if (pr->id == p->id || pr->state == PROGRESS_SNAPSHOT) {
                return;
        }
        if (pr->state == PROGRESS_PROBE && pr->probe_sent && !allow_empty) {
                return;
        }
        if (pr->next - 1 < p->log.prev_index) {
                snapshot_send(p, pr); /* §5: the entries it needs were compacted */
                return;
        }
        uint32_t n = send_one(p, pr, allow_empty);
        /* Pipeline in REPLICATE while the window allows (bounded by the ring). */
        while (n > 0 && pr->state == PROGRESS_REPLICATE && pr->next <= rlog_last_index(&p->log) &&
               !inflights_full(&pr->inflight, p->o.max_inflight_bytes)) {
                n = send_one(p, pr, false);
        }
}

void repl_broadcast_append(struct raft_priv *p)
{
        for (size_t i = 0; i < p->n_prs; i++) {
                repl_send_append(p, &p->prs[i], false);
        }
}

void repl_broadcast_heartbeat(struct raft_priv *p)
{
        if (p->o.lease_read) {
                /* Every round counts for the lease: remember when it was sent. */
                p->read_seq++;
                p->lease_sent_tick[p->read_seq % RAFT_LEASE_ROUNDS] = p->ticks;
        }
        for (size_t i = 0; i < p->n_prs; i++) {
                struct progress *pr = &p->prs[i];
                if (pr->id == p->id) {
                        continue;
                }
                struct raft_message *m = out_msg(p, RAFT_MSG_HEARTBEAT, pr->id);
                m->heartbeat.commit = pr->match < p->commit ? pr->match : p->commit;
                pr->commit_sent = m->heartbeat.commit;
                m->heartbeat.read_seq = p->read_seq;
                if (pr->state == PROGRESS_SNAPSHOT && !pr->snap_answered) {
                        snapshot_send(p, pr); /* the last chunk or its answer was lost */
                }
                pr->snap_answered = false;
        }
}

bool repl_maybe_commit(struct raft_priv *p)
{
        uint64_t match[RAFT_NODES_MAX];
        size_t n = 0;
        for (uint32_t i = 0; i < p->config.n_voters; i++) {
                uint64_t id = p->config.voters[i];
                struct progress *pr = raft_progress(p, id);
                match[n++] = id == p->id ? p->persisted : (pr != NULL ? pr->match : 0);
#ifdef SYNOD_PLANT_COMMIT_UNPERSISTED
                if (id == p->id)
                        match[n - 1] = rlog_last_index(&p->log); /* planted: not durable yet */
#endif
        }
        if (n == 0) {
                return false;
        }
        uint64_t q = quorum_index(match, n);
        if (q <= p->commit) {
                return false;
        }
        bool current_term = rlog_term_at(&p->log, q) == p->term;
#ifdef SYNOD_PLANT_COMMIT_OLD_TERM
        current_term = true; /* planted: count replicas of older terms too */
#endif
        if (!current_term) {
                return false; /* §3.6.2: only entries of the current term by counting */
        }
        p->commit = q;
        return true;
}

static void uncommitted_release(struct raft_priv *p, uint64_t old_commit)
{
        for (uint64_t i = old_commit + 1; i <= p->commit; i++) {
                const struct raft_entry *e = rlog_get(&p->log, i);
                if (e->term == p->term && e->type == RAFT_ENTRY_NORMAL) {
                        p->uncommitted_bytes -=
                            e->len < p->uncommitted_bytes ? e->len : p->uncommitted_bytes;
                }
        }
}

/*
 * Tells an idle follower the new commit index now rather than at the next
 * heartbeat (followers serve reads once they apply). A follower with appends
 * in flight is told when the answer to the last of them comes back.
 */
static void tell_commit(struct raft_priv *p, struct progress *pr)
{
        if (pr->id != p->id && pr->state == PROGRESS_REPLICATE && pr->inflight.count == 0 &&
            pr->commit_sent < p->commit) {
                repl_send_append(p, pr, true);
        }
}

void repl_after_commit(struct raft_priv *p, uint64_t old_commit)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        uncommitted_release(p, old_commit);
        if (old_commit < p->term_start && p->commit >= p->term_start) {
                read_index_term_committed(p);
        }
        membership_after_commit(p);
        if (p->role != RAFT_LEADER) {
                return;
        }
        for (size_t i = 0; i < p->n_prs; i++) {
                tell_commit(p, &p->prs[i]);
        }
}

void repl_persisted(struct raft_priv *p, const struct raft_persist_mark *mark)
{
        if (mark->epoch != p->epoch || mark->index > rlog_last_index(&p->log) ||
            mark->index <= p->persisted) {
                return; /* stale: the log was truncated since that write */
        }
        p->persisted = mark->index;
        if (p->role != RAFT_LEADER) {
                return;
        }
        struct progress *self = raft_progress(p, p->id);
        if (self != NULL && self->match < p->persisted) {
                self->match = p->persisted;
        }
        uint64_t old = p->commit;
        if (repl_maybe_commit(p)) {
                repl_after_commit(p, old);
        }
}

/* Leader: the largest index <= index whose term <= term (etcd findConflictByTerm). */
static uint64_t find_by_term(const struct raft_priv *p, uint64_t index, uint64_t term)
{
        uint64_t last = rlog_last_index(&p->log);
        uint64_t i = index < last ? index : last;
        while (i > p->log.prev_index && rlog_term_at(&p->log, i) > term) {
                i--;
        }
        return i;
}

static void recv_reject(struct raft_priv *p, struct progress *pr, const struct raft_message *m)
{
        uint64_t rejected = m->append_resp.index;
        if (pr->state == PROGRESS_REPLICATE && rejected <= pr->match) {
                return; /* stale */
        }
        if (pr->state == PROGRESS_PROBE && rejected != pr->next - 1) {
                return; /* stale: not the probe we are waiting for */
        }
        if (pr->state == PROGRESS_SNAPSHOT) {
                return;
        }
        uint64_t hint = m->append_resp.hint_index;
        if (m->append_resp.hint_term > 0) {
                hint = find_by_term(p, hint, m->append_resp.hint_term);
        }
        uint64_t next = hint + 1 < rejected ? hint + 1 : rejected;
        if (next < pr->match + 1) {
                next = pr->match + 1;
        }
        progress_become_probe(pr);
        pr->next = next;
        repl_send_append(p, pr, true);
}

void repl_recv_append_resp(struct raft_priv *p, const struct raft_message *m)
{
        struct progress *pr = raft_progress(p, m->from);
        if (pr == NULL) {
                return;
        }
        pr->recent_active = true;
        if (!m->append_resp.success) {
                recv_reject(p, pr, m);
                return;
        }
        uint64_t index = m->append_resp.index;
        if (index > rlog_last_index(&p->log)) {
                return; /* cannot match what we never had: a confused peer */
        }
        if (pr->state == PROGRESS_REPLICATE) {
                inflights_free_to(&pr->inflight, index);
        }
        if (index > pr->match) {
                pr->match = index;
                if (pr->next <= index) {
                        pr->next = index + 1;
                }
                if (pr->state != PROGRESS_REPLICATE) {
                        progress_become_replicate(pr);
                }
                uint64_t old = p->commit;
                if (repl_maybe_commit(p)) {
                        repl_after_commit(p, old);
                }
                if (p->role != RAFT_LEADER) {
                        return;
                }
                transfer_maybe_send(p, pr);
        }
        if (pr->state == PROGRESS_PROBE && index == pr->match && index + 1 == pr->next) {
                progress_become_replicate(pr); /* a duplicate answer to the probe */
        }
        repl_send_append(p, pr, false);
        tell_commit(p, pr);
}

void repl_recv_heartbeat_resp(struct raft_priv *p, const struct raft_message *m)
{
        struct progress *pr = raft_progress(p, m->from);
        if (pr == NULL) {
                return;
        }
        pr->recent_active = true;
        if (pr->state == PROGRESS_PROBE) {
                pr->probe_sent = false;
        }
        if (m->heartbeat_resp.read_seq > pr->read_seq &&
            m->heartbeat_resp.read_seq <= p->read_seq) {
                pr->read_seq = m->heartbeat_resp.read_seq;
                read_index_ack(p);
        }
        if (pr->match < rlog_last_index(&p->log)) {
                repl_send_append(p, pr, true);
        }
}
