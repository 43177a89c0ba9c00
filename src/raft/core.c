/*
 * Life cycle of a core (init from the host's recovered state, close),
 * accessors, and small helpers shared by the step files.
 *
 * raft_init copies everything it keeps: the entries the host recovered become
 * the in-memory log (all durable, so persisted = last index), the snapshot
 * metadata is the compaction point, and the configuration in effect is the
 * latest one found in the log, else the snapshot's, else the bootstrap one.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

void raft_options_default(struct raft_options *o, uint64_t id)
{
        *o = (struct raft_options){
            .id = id,
            .election_ticks = RAFT_ELECTION_TICKS_DEFAULT,
            .heartbeat_ticks = RAFT_HEARTBEAT_TICKS_DEFAULT,
            .pre_vote = true,
            .check_quorum = true,
            .lease_read = false,
            .max_inflight_msgs = RAFT_INFLIGHT_MSGS_DEFAULT,
            .max_inflight_bytes = RAFT_INFLIGHT_BYTES_DEFAULT,
            .max_msg_bytes = RAFT_MSG_BYTES_DEFAULT,
            .max_uncommitted_bytes = RAFT_UNCOMMITTED_BYTES_DEFAULT,
            .snapshot_trailing = RAFT_SNAPSHOT_TRAILING_DEFAULT,
            .seed = id,
        };
}

static bool options_valid(const struct raft_options *o)
{
        return o->id != RAFT_NONE && o->heartbeat_ticks >= 1 &&
               o->election_ticks > o->heartbeat_ticks && o->election_ticks <= UINT32_MAX / 2 &&
               o->max_inflight_msgs >= 1 && o->max_inflight_msgs <= RAFT_INFLIGHT_MSGS_MAX &&
               o->max_inflight_bytes >= 1 && o->max_msg_bytes >= 1 && o->max_uncommitted_bytes >= 1;
}

static int state_check(const struct raft_initial_state *s)
{
        const struct raft_snapshot_meta *snap = &s->snapshot;
        if (s->hard_state.term == 0 && s->hard_state.vote != RAFT_NONE) {
                return SYN_EINVAL;
        }
        if (!raft_config_valid(&s->bootstrap) ||
            (snap->index > 0 && (!raft_config_valid(&snap->config) || snap->term == 0))) {
                return SYN_EINVAL;
        }
        uint64_t prev_term = snap->term;
        for (size_t i = 0; i < s->n_entries; i++) {
                const struct raft_entry *e = &s->entries[i];
                if (e->index != snap->index + 1 + i || e->term < prev_term || e->term == 0 ||
                    e->term > s->hard_state.term || e->len > RAFT_ENTRY_BYTES_MAX ||
                    (e->len > 0 && e->data == NULL)) {
                        return SYN_EINVAL;
                }
                if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_NOOP &&
                    e->type != RAFT_ENTRY_CONF) {
                        return SYN_EINVAL;
                }
                struct raft_config c;
                if (e->type == RAFT_ENTRY_CONF && raft_config_decode(&c, e->data, e->len) != 0) {
                        return SYN_ECORRUPT;
                }
                prev_term = e->term;
        }
        if (snap->term > s->hard_state.term) {
                return SYN_EINVAL;
        }
        return SYN_OK;
}

static int init_log(struct raft_priv *p, const struct raft_initial_state *s)
{
        rlog_init(&p->log, s->snapshot.index, s->snapshot.term);
        for (size_t i = 0; i < s->n_entries; i++) {
                const struct raft_entry *e = &s->entries[i];
                int rv = rlog_append(&p->log, e->term, e->type, e->data, e->len);
                if (rv != 0) {
                        return rv;
                }
        }
        uint64_t last = rlog_last_index(&p->log);
        p->persisted = last;
        p->unstable_from = last + 1;
        p->applied = s->snapshot.index;
        p->commit = s->commit > s->snapshot.index ? s->commit : s->snapshot.index;
        if (p->commit > last) {
                /* A stored commit beyond the durable log would be a host bug. */
                return SYN_EINVAL;
        }
        return SYN_OK;
}

int raft_init(struct raft *r, const struct raft_options *o, const struct raft_initial_state *s)
{
        r->p = NULL;
        if (!options_valid(o)) {
                return SYN_EINVAL;
        }
        int rv = state_check(s);
        if (rv != 0) {
                return rv;
        }
        struct raft_priv *p = calloc(1, sizeof(*p));
        if (p == NULL) {
                return SYN_ENOMEM;
        }
        p->o = *o;
        p->id = o->id;
        syn_rand_seed(&p->rand, o->seed ^ (o->id * 0x9e3779b97f4a7c15ull));
        p->role = RAFT_FOLLOWER;
        p->term = s->hard_state.term;
        p->vote = s->hard_state.vote;
        p->snapshot = s->snapshot;
        p->bootstrap = s->bootstrap;
        p->reads = calloc(RAFT_READ_PENDING_MAX, sizeof(*p->reads));
        p->read_states = calloc(RAFT_READ_PENDING_MAX, sizeof(*p->read_states));
        rv = p->reads == NULL || p->read_states == NULL ? SYN_ENOMEM : init_log(p, s);
        if (rv != 0) {
                r->p = p;
                raft_close(r);
                return rv;
        }
        raft_config_reload(p);
        raft_reset_timeout(p);
        r->p = p;
        return SYN_OK;
}

void raft_close(struct raft *r)
{
        struct raft_priv *p = r->p;
        if (p == NULL) {
                return;
        }
        for (size_t i = 0; i < p->n_prs; i++) {
                progress_close(&p->prs[i]);
        }
        rlog_close(&p->log);
        free(p->reads);
        free(p->read_states);
        free(p->chunk_buf);
        free(p->msgs);
        free(p->msgs_after);
        free(p);
        r->p = NULL;
}

bool raft_is_voter(const struct raft_priv *p)
{
        return raft_config_is_voter(&p->config, p->id);
}

size_t raft_voter_count(const struct raft_priv *p)
{
        return p->config.n_voters;
}

struct progress *raft_progress(struct raft_priv *p, uint64_t id)
{
        for (size_t i = 0; i < p->n_prs; i++) {
                if (p->prs[i].id == id) {
                        return &p->prs[i];
                }
        }
        return NULL;
}

void raft_reset_timeout(struct raft_priv *p)
{
        uint32_t e = p->o.election_ticks;
        p->randomized_timeout = (uint32_t)syn_rand_range(&p->rand, e, 2 * (uint64_t)e - 1);
        p->election_elapsed = 0;
}

uint64_t raft_config_as_of(const struct raft_priv *p, uint64_t index, struct raft_config *c)
{
        uint64_t last = rlog_last_index(&p->log);
        for (uint64_t i = index < last ? index : last;
             i > p->log.prev_index && i > p->snapshot.index; i--) {
                const struct raft_entry *e = rlog_get(&p->log, i);
                if (e->type == RAFT_ENTRY_CONF) {
                        int rv = raft_config_decode(c, e->data, e->len);
                        SYN_ASSERT(rv == 0); /* validated when it entered the log */
                        return i;
                }
        }
        *c = p->snapshot.index > 0 ? p->snapshot.config : p->bootstrap;
        return 0;
}

void raft_config_reload(struct raft_priv *p)
{
        struct raft_config c;
        uint64_t index = raft_config_as_of(p, rlog_last_index(&p->log), &c);
        if (memcmp(&c, &p->config, sizeof(c)) != 0) {
                p->out_config_changed = true;
        }
        p->config = c;
        p->config_index = index;
        p->config_prev_voter = raft_config_is_voter(&c, p->id);
        if (index > 0) {
                struct raft_config prev;
                raft_config_as_of(p, index - 1, &prev);
                p->config_prev_voter = raft_config_is_voter(&prev, p->id);
        }
}

bool raft_may_campaign(const struct raft_priv *p)
{
        /* A node removed by a configuration that is not committed yet may still
         * be needed to elect anybody (its log may be the only one holding the
         * change), so it campaigns until the change commits (§4.2.2). */
        return raft_is_voter(p) || (p->config_index > p->commit && p->config_prev_voter);
}

/* ---- accessors ---- */

uint64_t raft_id(const struct raft *r)
{
        return r->p->id;
}

enum raft_role raft_role(const struct raft *r)
{
        return r->p->role;
}

uint64_t raft_term(const struct raft *r)
{
        return r->p->term;
}

uint64_t raft_vote(const struct raft *r)
{
        return r->p->vote;
}

uint64_t raft_leader(const struct raft *r)
{
        return r->p->leader;
}

uint64_t raft_commit_index(const struct raft *r)
{
        return r->p->commit;
}

uint64_t raft_applied_index(const struct raft *r)
{
        return r->p->applied;
}

uint64_t raft_last_index(const struct raft *r)
{
        return rlog_last_index(&r->p->log);
}

uint64_t raft_last_term(const struct raft *r)
{
        return rlog_last_term(&r->p->log);
}

uint64_t raft_first_index(const struct raft *r)
{
        return r->p->log.prev_index + 1;
}

uint64_t raft_persisted_index(const struct raft *r)
{
        return r->p->persisted;
}

const struct raft_config *raft_config(const struct raft *r)
{
        return &r->p->config;
}

const struct raft_snapshot_meta *raft_snapshot(const struct raft *r)
{
        return &r->p->snapshot;
}

uint64_t raft_term_at(const struct raft *r, uint64_t index)
{
        return rlog_term_at(&r->p->log, index);
}

uint64_t raft_transferee(const struct raft *r)
{
        return r->p->transferee;
}

uint64_t raft_match_index(const struct raft *r, uint64_t id)
{
        if (r->p->role != RAFT_LEADER)
                return 0;
        const struct progress *pr = raft_progress(r->p, id);
        return pr != NULL ? pr->match : 0;
}

const char *raft_role_name(enum raft_role role)
{
        switch (role) {
        case RAFT_FOLLOWER:
                return "follower";
        case RAFT_PRE_CANDIDATE:
                return "pre-candidate";
        case RAFT_CANDIDATE:
                return "candidate";
        case RAFT_LEADER:
                return "leader";
        }
        return "unknown";
}

const char *raft_msg_type_name(enum raft_msg_type type)
{
        static const char *const names[] = {
            [RAFT_MSG_VOTE] = "vote",
            [RAFT_MSG_VOTE_RESP] = "vote_resp",
            [RAFT_MSG_APPEND] = "append",
            [RAFT_MSG_APPEND_RESP] = "append_resp",
            [RAFT_MSG_HEARTBEAT] = "heartbeat",
            [RAFT_MSG_HEARTBEAT_RESP] = "heartbeat_resp",
            [RAFT_MSG_SNAPSHOT] = "snapshot",
            [RAFT_MSG_SNAPSHOT_RESP] = "snapshot_resp",
            [RAFT_MSG_TIMEOUT_NOW] = "timeout_now",
            [RAFT_MSG_READ_INDEX] = "read_index",
            [RAFT_MSG_READ_INDEX_RESP] = "read_index_resp",
        };
        if ((unsigned)type >= sizeof(names) / sizeof(names[0]) || names[type] == NULL) {
                return "unknown";
        }
        return names[type];
}
