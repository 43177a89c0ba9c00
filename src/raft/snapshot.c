/*
 * Snapshots: compaction after the host snapshots its state machine, and
 * InstallSnapshot (§5) in chunks that resume by offset.
 *
 * The core never holds snapshot bytes on the sending side: it emits a
 * RAFT_MSG_SNAPSHOT with (meta, offset) and no data, and the host fills the
 * bytes [offset, offset + len) of its snapshot file for meta.index. The
 * follower answers each chunk with the offset it expects next, so a lost
 * chunk or answer is retried from there (the leader resends on heartbeats
 * when no answer came). On the receiving side the core copies the chunk
 * (bounded by RAFT_SNAPSHOT_CHUNK_BYTES) into the update for the host to
 * write; after the last chunk it asks the host to install, and only after
 * RAFT_EV_SNAPSHOT_INSTALLED does it replace its log and answer "done".
 *
 * A follower whose log already holds the snapshot's last entry (same index
 * and term), or whose commit index covers it, keeps its log (Figure 5.3:
 * "retain log entries following it") and answers "done" at once, so a
 * follower is never made to drop entries it already holds.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

void snapshot_send(struct raft_priv *p, struct progress *pr)
{
        SYN_ASSERT(p->role == RAFT_LEADER);
        SYN_ASSERT(p->snapshot.index > 0); /* the log is only compacted after one */
        if (pr->state != PROGRESS_SNAPSHOT || pr->snap_index != p->snapshot.index) {
                inflights_reset(&pr->inflight);
                pr->state = PROGRESS_SNAPSHOT;
                pr->probe_sent = false;
                pr->snap_index = p->snapshot.index;
                pr->snap_offset = 0;
        }
        struct raft_message *m = out_msg(p, RAFT_MSG_SNAPSHOT, pr->id);
        m->snapshot.meta = p->snapshot;
        m->snapshot.offset = pr->snap_offset; /* data, len, done: filled by the host */
}

void snapshot_recv_resp(struct raft_priv *p, const struct raft_message *m)
{
        struct progress *pr = raft_progress(p, m->from);
        if (pr == NULL) {
                return;
        }
        const struct raft_msg_snapshot_resp *r = &m->snapshot_resp;
        pr->recent_active = true;
        if (r->done) {
                if (r->index > pr->match && r->index <= rlog_last_index(&p->log)) {
                        pr->match = r->index;
                        /* A late or duplicated "done" can land after the
                         * progress left SNAPSHOT (appends caught it up): keep
                         * match < next, or the leader re-probes below match
                         * forever and the follower's acks of match are ignored. */
                        if (pr->next <= pr->match) {
                                pr->next = pr->match + 1;
                        }
                        if (pr->state == PROGRESS_REPLICATE) {
                                inflights_free_to(&pr->inflight, pr->match);
                        }
                }
                if (pr->state == PROGRESS_SNAPSHOT) {
                        progress_become_probe(pr);
                }
                repl_send_append(p, pr, true);
                return;
        }
        if (pr->state != PROGRESS_SNAPSHOT || r->index != pr->snap_index) {
                return;
        }
        pr->snap_answered = true;
        pr->snap_offset = r->next_offset;
        snapshot_send(p, pr); /* restarts at 0 if a newer snapshot replaced it */
}

static int check_chunk(const struct raft_message *m)
{
        const struct raft_msg_snapshot *s = &m->snapshot;
        if (s->meta.index == 0 || s->meta.term == 0 || s->meta.term > m->term ||
            !raft_config_valid(&s->meta.config) || s->len > RAFT_SNAPSHOT_CHUNK_BYTES ||
            (s->len > 0 && s->data == NULL) || (s->len == 0 && !s->done)) {
                return SYN_EPROTO;
        }
        return SYN_OK;
}

static void answer(struct raft_priv *p, uint64_t to, uint64_t index, uint64_t next_offset,
                   bool done)
{
        struct raft_message *r = out_msg_after(p, RAFT_MSG_SNAPSHOT_RESP, to);
        r->snapshot_resp = (struct raft_msg_snapshot_resp){
            .index = index, .next_offset = next_offset, .done = done};
}

static bool same_snapshot(const struct raft_priv *p, const struct raft_snapshot_meta *meta)
{
        return p->recv_active && p->recv_meta.index == meta->index &&
               p->recv_meta.term == meta->term;
}

/* Hands one in-order chunk to the host. */
static int accept_chunk(struct raft_priv *p, const struct raft_message *m)
{
        const struct raft_msg_snapshot *s = &m->snapshot;
        if (p->chunk_buf == NULL) {
                p->chunk_buf = malloc(RAFT_SNAPSHOT_CHUNK_BYTES);
                if (p->chunk_buf == NULL) {
                        return SYN_ENOMEM;
                }
        }
        if (s->len > 0) {
                memcpy(p->chunk_buf, s->data, s->len);
        }
        p->chunk = (struct raft_snapshot_chunk){
            .meta = s->meta,
            .offset = s->offset,
            .data = s->len > 0 ? p->chunk_buf : NULL,
            .len = s->len,
            .done = s->done,
        };
        p->out_chunk = true;
        p->recv_offset += s->len;
        if (s->done) {
                p->recv_active = false;
                p->install_pending = true;
                p->install_meta = s->meta;
                p->out_install = true;
        } else {
                answer(p, m->from, s->meta.index, p->recv_offset, false);
        }
        return SYN_OK;
}

int snapshot_recv(struct raft_priv *p, const struct raft_message *m)
{
        int rv = check_chunk(m);
        if (rv != 0 || p->install_pending) {
                return rv;
        }
        const struct raft_snapshot_meta *meta = &m->snapshot.meta;
        if (meta->index <= p->commit || rlog_term_at(&p->log, meta->index) == meta->term) {
                /* Already covered: keep the log; the entry at meta.index is committed. */
                if (meta->index > p->commit) {
                        p->commit = meta->index;
                }
                p->recv_active = false;
                answer(p, m->from, meta->index, 0, true);
                return SYN_OK;
        }
        if (m->snapshot.offset == 0 && !same_snapshot(p, meta)) {
                p->recv_active = true;
                p->recv_meta = *meta;
                p->recv_offset = 0;
                p->recv_from = m->from;
        }
        if (!same_snapshot(p, meta) || m->snapshot.offset != p->recv_offset) {
                answer(p, m->from, meta->index, same_snapshot(p, meta) ? p->recv_offset : 0, false);
                return SYN_OK;
        }
        p->recv_from = m->from;
        return accept_chunk(p, m);
}

int snapshot_installed(struct raft_priv *p, uint64_t index)
{
        if (!p->install_pending || index != p->install_meta.index) {
                return SYN_EINVAL;
        }
        const struct raft_snapshot_meta *meta = &p->install_meta;
        SYN_ASSERT(meta->index >= p->commit);
        p->install_pending = false;
        rlog_reset(&p->log, meta->index, meta->term);
        p->epoch++;
        p->snapshot = *meta;
        p->commit = meta->index;
        p->applied = meta->index;
        p->persisted = meta->index;
        p->unstable_from = meta->index + 1;
        raft_config_reload(p);
        p->out_config_changed = true;
        uint64_t to = p->leader != RAFT_NONE ? p->leader : p->recv_from;
        if (to != RAFT_NONE && to != p->id) {
                answer(p, to, meta->index, 0, true);
        }
        return SYN_OK;
}

int snapshot_taken(struct raft_priv *p, uint64_t index)
{
        if (index > p->applied || index <= p->snapshot.index || p->install_pending) {
                return SYN_EINVAL;
        }
        SYN_ASSERT(index > p->log.prev_index);
        struct raft_snapshot_meta meta = {.index = index, .term = rlog_term_at(&p->log, index)};
        SYN_ASSERT(meta.term > 0);
        raft_config_as_of(p, index, &meta.config);
        p->snapshot = meta;
        uint64_t keep = p->o.snapshot_trailing;
        uint64_t upto = index > keep ? index - keep : 0;
        if (upto > p->log.prev_index) {
                rlog_compact(&p->log, upto);
                p->out_compacted_to = upto;
        }
        return SYN_OK;
}
