/*
 * The follower's side of AppendEntries and heartbeats (§3.5).
 *
 * Entries arrive from a peer and are checked like any hostile input (indexes
 * consecutive after prev, terms non-decreasing and not above the message
 * term, sizes within limits, configurations decodable) before anything
 * changes. The part of a message at or below our commit index is skipped:
 * committed entries are the same everywhere (§3.6.3), so only the suffix can
 * conflict. A conflicting suffix is truncated (never a committed entry), the
 * epoch bumps so persistence marks from before the truncation go stale, and
 * the update tells the host to truncate before appending.
 *
 * Acks go to msgs_after_persist: "I hold up to N" must be true on disk.
 */
#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

static int check_entries(const struct raft_message *m)
{
        const struct raft_msg_append *a = &m->append;
        if (a->n_entries > RAFT_MSG_ENTRIES_MAX || (a->n_entries > 0 && a->entries == NULL)) {
                return SYN_EPROTO;
        }
        uint64_t prev_term = a->prev_term;
        for (uint32_t i = 0; i < a->n_entries; i++) {
                const struct raft_entry *e = &a->entries[i];
                if (e->index != a->prev_index + 1 + i || e->term < prev_term || e->term == 0 ||
                    e->term > m->term || e->len > RAFT_ENTRY_BYTES_MAX ||
                    (e->len > 0 && e->data == NULL)) {
                        return SYN_EPROTO;
                }
                struct raft_config c;
                if (e->type == RAFT_ENTRY_CONF) {
                        if (raft_config_decode(&c, e->data, e->len) != 0) {
                                return SYN_EPROTO;
                        }
                } else if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_NOOP) {
                        return SYN_EPROTO;
                }
                prev_term = e->term;
        }
        if (a->prev_index > 0 && a->prev_term == 0) {
                return SYN_EPROTO;
        }
        return SYN_OK;
}

static void reject(struct raft_priv *p, const struct raft_message *m)
{
        uint64_t prev = m->append.prev_index;
        uint64_t last = rlog_last_index(&p->log);
        uint64_t hint = prev < last ? prev : last;
        /* Skip back over every entry whose term is above the leader's prev_term. */
        while (hint > p->log.prev_index && rlog_term_at(&p->log, hint) > m->append.prev_term) {
                hint--;
        }
        struct raft_message *r = out_msg_after(p, RAFT_MSG_APPEND_RESP, m->from);
        r->append_resp = (struct raft_msg_append_resp){
            .success = false,
            .index = prev,
            .hint_index = hint,
            .hint_term = rlog_term_at(&p->log, hint),
            .last_index = last,
        };
}

static void truncate_from(struct raft_priv *p, uint64_t from)
{
        /* §3.6.3: committed entries are never lost (entries at or below commit
         * were skipped before comparing, so this holds by construction). */
        SYN_ASSERT(from > p->commit);
        rlog_truncate(&p->log, from);
        p->epoch++;
        if (p->persisted >= from) {
                p->persisted = from - 1;
        }
        if (p->unstable_from > from) {
                p->unstable_from = from;
        }
        if (p->out_truncate_from == 0 || p->out_truncate_from > from) {
                p->out_truncate_from = from;
        }
}

/* Appends entries[skip..n) that are not already in the log; SYN_ENOMEM. */
static int append_new(struct raft_priv *p, const struct raft_msg_append *a, uint32_t skip)
{
        bool conf = false;
        for (uint32_t i = skip; i < a->n_entries; i++) {
                const struct raft_entry *e = &a->entries[i];
                uint64_t last = rlog_last_index(&p->log);
                if (e->index <= last) {
                        if (rlog_term_at(&p->log, e->index) == e->term) {
                                continue; /* log matching: same index and term, same entry */
                        }
                        conf = conf || p->config_index >= e->index;
                        truncate_from(p, e->index);
                }
                int rv = rlog_append(&p->log, e->term, e->type, e->data, e->len);
                if (rv != 0) {
                        if (conf) {
                                raft_config_reload(p);
                        }
                        return rv;
                }
                conf = conf || e->type == RAFT_ENTRY_CONF;
        }
        if (conf) {
                raft_config_reload(p); /* §4.1: a configuration takes effect when appended */
        }
        return SYN_OK;
}

int repl_recv_append(struct raft_priv *p, const struct raft_message *m)
{
        int rv = check_entries(m);
        if (rv != 0 || p->install_pending) {
                return rv;
        }
        const struct raft_msg_append *a = &m->append;
        uint64_t prev = a->prev_index;
        uint64_t prev_term = a->prev_term;
        uint32_t skip = 0;
        if (prev < p->commit) {
                /* Everything up to commit matches already: start after it. */
                uint64_t over = p->commit - prev;
                skip = over < a->n_entries ? (uint32_t)over : a->n_entries;
                prev += skip;
                prev_term = skip > 0 ? a->entries[skip - 1].term : prev_term;
                if (prev < p->commit) {
                        prev = p->commit; /* the whole message is below commit */
                        prev_term = rlog_term_at(&p->log, prev);
                }
        }
        if (rlog_term_at(&p->log, prev) != prev_term || prev > rlog_last_index(&p->log)) {
                reject(p, m);
                return SYN_OK;
        }
        rv = append_new(p, a, skip);
        if (rv != 0) {
                return rv;
        }
        uint64_t last_new = a->prev_index + a->n_entries;
        if (last_new < prev) {
                last_new = prev;
        }
        uint64_t commit = a->commit < last_new ? a->commit : last_new;
        if (commit > p->commit) {
                p->commit = commit;
        }
        struct raft_message *r = out_msg_after(p, RAFT_MSG_APPEND_RESP, m->from);
        r->append_resp = (struct raft_msg_append_resp){
            .success = true,
            .index = last_new,
            .last_index = rlog_last_index(&p->log),
        };
        return SYN_OK;
}

void repl_recv_heartbeat(struct raft_priv *p, const struct raft_message *m)
{
        uint64_t last = rlog_last_index(&p->log);
        uint64_t commit = m->heartbeat.commit < last ? m->heartbeat.commit : last;
        if (commit > p->commit && !p->install_pending) {
                p->commit = commit;
        }
        struct raft_message *r = out_msg_after(p, RAFT_MSG_HEARTBEAT_RESP, m->from);
        r->heartbeat_resp.read_seq = m->heartbeat.read_seq;
}
