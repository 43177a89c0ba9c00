/*
 * The simulator's safety checks, run on every step's update (TigerBeetle's
 * state checker, cowsql's fixture invariants). Each check states the Raft
 * property it holds the core to:
 *
 *   election safety      at most one leader per term (§5.2): a table term -> id
 *                        that is never forgotten, even after the leader steps down;
 *   log matching         (§5.3) every (index, term) ever appended on any node
 *                        names one content and one previous term; by induction
 *                        two logs with the same (index, term) agree before it;
 *   leader completeness  (§5.4) an entry first seen committed while the highest
 *                        term anywhere was B was committed in a term <= B, so
 *                        every leader of a term > B must hold it;
 *   state machine safety a global history index -> (term, content, tree digest,
 *                        outcome) built from every apply on every node: nothing
 *                        committed is ever changed, and every node that applied
 *                        index i has the same tree at i (the tree's digest, as
 *                        ZooKeeper 3.6+ keeps one), the same result and the same
 *                        tree events; a snapshot loaded at i has the digest of
 *                        the history at i, and snapshots taken at i are
 *                        byte-identical;
 *   rules in messages    (Figure 3.1, §9.6) a vote or pre-vote is granted only to
 *                        a candidate whose log is at least as up to date and
 *                        whose term is not behind; a vote grant, a vote request
 *                        and an append acknowledgement leave only once the vote,
 *                        the term or the entries they promise are durable; a
 *                        leader moves its commit index only onto an entry of its
 *                        own term (§3.6.2: older entries are committed only
 *                        indirectly). These catch a broken rule at once, where the
 *                        end-to-end checks above need the rare schedule in which
 *                        it loses data;
 *   linearizable reads   (in host_sim.c) a read state's index is at least the
 *                        highest write acknowledged before the read started.
 *
 * The checker must never report a false violation: each rule above only uses
 * facts that hold for every correct Raft (for example, leader completeness is
 * not checked against the entry's own term, because a leader of a term between
 * the entry's term and its commit term may legitimately lack it).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "sim.h"

struct sim_match_slot {
        uint64_t index; /* 0 = empty */
        uint64_t term;
        uint64_t content_hash;
        uint64_t prev_term;
        uint64_t node_id; /* who appended it first (for the report) */
};

int sim_checker_init(struct sim_checker *ck)
{
        memset(ck, 0, sizeof(*ck));
        return 0;
}

void sim_checker_close(struct sim_checker *ck)
{
        free(ck->leader_of_term);
        free(ck->committed);
        free(ck->match);
        memset(ck, 0, sizeof(*ck));
}

void sim_fail(struct sim_cluster *c, const char *fmt, ...)
{
        if (c->ck.failed)
                return;
        c->ck.failed = true;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->ck.reason, sizeof(c->ck.reason), fmt, ap);
        va_end(ap);
        sim_trace(c, NULL, "VIOLATION: %s", c->ck.reason);
}

/* Grows a zeroed array of elem-sized items so that index is valid. */
static bool sim_grow(void **array, size_t *cap, size_t index, size_t elem, size_t max)
{
        if (index < *cap)
                return true;
        if (index >= max)
                return false;
        size_t ncap = *cap ? *cap : 256;
        while (ncap <= index)
                ncap *= 2;
        uint8_t *p = realloc(*array, ncap * elem);
        SYN_ASSERT(p != NULL);
        memset(p + *cap * elem, 0, (ncap - *cap) * elem);
        *array = p;
        *cap = ncap;
        return true;
}

/* ---- log matching ---- */

static uint64_t sim_match_hash(uint64_t index, uint64_t term)
{
        uint64_t h = index * 0x9e3779b97f4a7c15ull ^ term * 0xc2b2ae3d27d4eb4full;
        return h ^ (h >> 29);
}

static void sim_match_grow(struct sim_checker *ck)
{
        size_t ncap = ck->match_cap ? ck->match_cap * 2 : 4096;
        struct sim_match_slot *old = ck->match;
        size_t old_cap = ck->match_cap;
        ck->match = calloc(ncap, sizeof(*ck->match));
        SYN_ASSERT(ck->match != NULL);
        ck->match_cap = ncap;
        for (size_t i = 0; i < old_cap; i++) {
                if (old[i].index == 0)
                        continue;
                size_t j = sim_match_hash(old[i].index, old[i].term) & (ncap - 1);
                while (ck->match[j].index != 0)
                        j = (j + 1) & (ncap - 1);
                ck->match[j] = old[i];
        }
        free(old);
}

void sim_check_append(struct sim_cluster *c, struct sim_node *n, const struct raft_entry *e,
                      uint64_t prev_term)
{
        struct sim_checker *ck = &c->ck;
        if (e->index == 0 || e->term == 0) {
                sim_fail(c, "n%llu appended an entry with index %llu term %llu",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)e->term);
                return;
        }
        if (e->term < prev_term) {
                sim_fail(c, "n%llu: entry %llu has term %llu below its predecessor's %llu",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)e->term, (unsigned long long)prev_term);
                return;
        }
        if ((ck->match_n + 1) * 2 > ck->match_cap)
                sim_match_grow(ck);
        uint64_t content = sim_entry_content_hash(e);
        size_t j = sim_match_hash(e->index, e->term) & (ck->match_cap - 1);
        while (ck->match[j].index != 0) {
                struct sim_match_slot *s = &ck->match[j];
                if (s->index == e->index && s->term == e->term) {
                        if (s->content_hash != content)
                                sim_fail(c,
                                         "log matching: n%llu has entry %llu of term %llu with "
                                         "other content than n%llu's",
                                         (unsigned long long)n->id, (unsigned long long)e->index,
                                         (unsigned long long)e->term,
                                         (unsigned long long)s->node_id);
                        else if (s->prev_term != prev_term)
                                sim_fail(c,
                                         "log matching: entry %llu of term %llu follows term "
                                         "%llu on n%llu but term %llu on n%llu",
                                         (unsigned long long)e->index, (unsigned long long)e->term,
                                         (unsigned long long)prev_term, (unsigned long long)n->id,
                                         (unsigned long long)s->prev_term,
                                         (unsigned long long)s->node_id);
                        return;
                }
                j = (j + 1) & (ck->match_cap - 1);
        }
        ck->match[j] = (struct sim_match_slot){.index = e->index,
                                               .term = e->term,
                                               .content_hash = content,
                                               .prev_term = prev_term,
                                               .node_id = n->id};
        ck->match_n++;
}

/* ---- committed history and state machines ---- */

/* A configuration is committed: every node in it is a member now; nodes it
 * leaves out are retired by the cluster after the step. */
static void sim_check_config_committed(struct sim_cluster *c, const struct raft_entry *e)
{
        struct raft_config cfg;
        if (e->index <= c->committed_config_index || raft_config_decode(&cfg, e->data, e->len) != 0)
                return; /* an older one, or garbage (the host reports that) */
        c->committed_config = cfg;
        c->committed_config_index = e->index;
        for (uint32_t s = 0; s < c->n_slots; s++) {
                struct sim_node *n = &c->nodes[s];
                if (raft_config_is_voter(&cfg, n->id) || raft_config_is_learner(&cfg, n->id))
                        n->was_member = true;
        }
        c->recycle_pending = true;
}

/* The txn type of the entry just applied (TXN_NOOP for a NOOP or CONF entry). */
static enum txn_type sim_applied_txn_type(const struct sim_node *n)
{
        return n->sm.has_txn ? n->sm.txn.type : TXN_NOOP;
}

/* A hash of what an apply produced besides the tree: the ZooKeeper outcome
 * (the reply's err, the failed op of a multi) and the tree events, in order,
 * which decide the watch notifications on every server. */
static uint64_t sim_outcome_hash(const struct sm *sm)
{
        int32_t r[2] = {sm->result.err, sm->result.failed_index};
        uint64_t h = sim_hash_bytes(SIM_HASH_INIT, r, sizeof(r));
        for (int32_t i = 0; i < sm->events.count; i++) {
                const struct tree_event *ev = &sm->events.items[i];
                h = sim_hash_bytes(h, &ev->type, sizeof(ev->type));
                h = sim_hash_bytes(h, ev->path.data, (size_t)ev->path.len);
        }
        return h;
}

/* The first apply of an index: it becomes history. */
static void sim_check_apply_first(struct sim_cluster *c, struct sim_node *n,
                                  const struct raft_entry *e, struct sim_committed *h)
{
        struct sim_checker *ck = &c->ck;
        *h = (struct sim_committed){.term = e->term,
                                    .term_bound = ck->max_term,
                                    .content_hash = sim_entry_content_hash(e),
                                    .digest = sm_digest(&n->sm),
                                    .outcome_hash = sim_outcome_hash(&n->sm),
                                    .digest_node = n->id,
                                    .known = true};
        if (e->index > ck->committed_max)
                ck->committed_max = e->index;
        if (e->type == RAFT_ENTRY_CONF)
                sim_check_config_committed(c, e);
        if (e->type != RAFT_ENTRY_NORMAL)
                return;
        sim_trace(c, n, "history %llu: %s -> %s (failed op %d), %d tree events, digest %016llx",
                  (unsigned long long)e->index, txn_type_name(sim_applied_txn_type(n)),
                  zk_errname(n->sm.result.err), n->sm.result.failed_index, n->sm.events.count,
                  (unsigned long long)h->digest);
        c->st.txns++;
        if (n->sm.result.err != ZOK || n->sm.result.failed_index >= 0)
                c->st.txns_refused++;
        else if (sim_applied_txn_type(n) == TXN_CREATE_SESSION)
                c->st.sessions_opened++;
        if (tree_node_count(&n->sm.tree) > c->st.tree_nodes_max)
                c->st.tree_nodes_max = tree_node_count(&n->sm.tree);
}

void sim_check_apply(struct sim_cluster *c, struct sim_node *n, const struct raft_entry *e)
{
        struct sim_checker *ck = &c->ck;
        if (!sim_grow((void **)&ck->committed, &ck->committed_cap, e->index, sizeof(*ck->committed),
                      SIM_INDEX_MAX)) {
                sim_fail(c, "log index %llu beyond what the checker tracks",
                         (unsigned long long)e->index);
                return;
        }
        struct sim_committed *h = &ck->committed[e->index];
        if (!h->known) {
                sim_check_apply_first(c, n, e, h);
                return;
        }
        if (h->term != e->term || h->content_hash != sim_entry_content_hash(e)) {
                sim_fail(c,
                         "committed entry %llu changed: n%llu applied term %llu, history has "
                         "term %llu%s",
                         (unsigned long long)e->index, (unsigned long long)n->id,
                         (unsigned long long)e->term, (unsigned long long)h->term,
                         h->term == e->term ? " with other content" : "");
                return;
        }
        uint64_t digest = sm_digest(&n->sm);
        if (h->digest != digest)
                sim_fail(c,
                         "tree digest diverged at index %llu: n%llu has %016llx, n%llu had %016llx",
                         (unsigned long long)e->index, (unsigned long long)n->id,
                         (unsigned long long)digest, (unsigned long long)h->digest_node,
                         (unsigned long long)h->digest);
        else if (h->outcome_hash != sim_outcome_hash(&n->sm))
                sim_fail(c,
                         "apply outcome diverged at index %llu: n%llu's result or tree events "
                         "differ from n%llu's",
                         (unsigned long long)e->index, (unsigned long long)n->id,
                         (unsigned long long)h->digest_node);
}

/* Configurations compare by their canonical encoding. */
void sim_check_snapshot_loaded(struct sim_cluster *c, struct sim_node *n,
                               const struct raft_snapshot_meta *meta)
{
        const struct sim_checker *ck = &c->ck;
        if (!raft_config_equal(&n->sm.applied_config, &meta->config))
                sim_fail(c, "n%llu loaded snapshot %llu whose configuration is not its meta's",
                         (unsigned long long)n->id, (unsigned long long)meta->index);
        else if (tree_check(&n->sm.tree) != SYN_OK)
                sim_fail(c, "n%llu loaded snapshot %llu into a tree that fails tree_check",
                         (unsigned long long)n->id, (unsigned long long)meta->index);
        if (c->ck.failed || meta->index >= ck->committed_cap || !ck->committed[meta->index].known)
                return;
        const struct sim_committed *h = &ck->committed[meta->index];
        uint64_t digest = sm_digest(&n->sm);
        if (h->digest != digest)
                sim_fail(c,
                         "tree digest diverged at index %llu: n%llu loaded a snapshot with "
                         "%016llx, n%llu had %016llx",
                         (unsigned long long)meta->index, (unsigned long long)n->id,
                         (unsigned long long)digest, (unsigned long long)h->digest_node,
                         (unsigned long long)h->digest);
}

void sim_check_snapshot_taken(struct sim_cluster *c, struct sim_node *n, uint64_t index,
                              const uint8_t *bytes, size_t len)
{
        struct sim_checker *ck = &c->ck;
        SYN_ASSERT(index < ck->committed_cap && ck->committed[index].known); /* n applied it */
        struct sim_committed *h = &ck->committed[index];
        uint64_t hash = sim_hash_bytes(SIM_HASH_INIT, bytes, len);
        if (h->snapshot_node == 0) {
                h->snapshot_node = n->id;
                h->snapshot_hash = hash;
        } else if (h->snapshot_hash != hash) {
                sim_fail(c, "snapshots at index %llu differ: n%llu's bytes are not n%llu's",
                         (unsigned long long)index, (unsigned long long)n->id,
                         (unsigned long long)h->snapshot_node);
        }
}

void sim_check_end(struct sim_cluster *c)
{
        for (uint32_t i = 0; i < c->n_slots && !c->ck.failed; i++) {
                struct sim_node *n = &c->nodes[i];
                if (!n->up || !n->sm.open)
                        continue;
                if (tree_check(&n->sm.tree) != SYN_OK)
                        sim_fail(c, "n%llu: its tree fails tree_check at the end of the run",
                                 (unsigned long long)n->id);
                else
                        sim_check_watches_held(c, n);
        }
}

/* ---- leaders ---- */

static void sim_check_completeness(struct sim_cluster *c, struct sim_node *n)
{
        const struct sim_checker *ck = &c->ck;
        uint64_t snap = raft_snapshot(&n->core)->index;
        for (uint64_t i = snap + 1; i <= ck->committed_max; i++) {
                const struct sim_committed *h = &ck->committed[i];
                if (!h->known || h->term_bound >= n->term)
                        continue;
                uint64_t have = raft_term_at(&n->core, i);
                if (have != h->term) {
                        sim_fail(c,
                                 "leader completeness: n%llu leads term %llu without committed "
                                 "entry %llu of term %llu (has term %llu)",
                                 (unsigned long long)n->id, (unsigned long long)n->term,
                                 (unsigned long long)i, (unsigned long long)h->term,
                                 (unsigned long long)have);
                        return;
                }
        }
}

void sim_check_leader(struct sim_cluster *c, struct sim_node *n, bool new_leader)
{
        struct sim_checker *ck = &c->ck;
        if (!sim_grow((void **)&ck->leader_of_term, &ck->terms_cap, n->term,
                      sizeof(*ck->leader_of_term), SIM_TERMS_MAX)) {
                sim_fail(c, "term %llu beyond what the checker tracks (election storm)",
                         (unsigned long long)n->term);
                return;
        }
        uint64_t *l = &ck->leader_of_term[n->term];
        if (*l != 0 && *l != n->id) {
                sim_fail(c, "election safety: n%llu and n%llu both lead term %llu",
                         (unsigned long long)*l, (unsigned long long)n->id,
                         (unsigned long long)n->term);
                return;
        }
        *l = n->id;
        if (new_leader)
                sim_check_completeness(c, n);
}

/* ---- rules visible in messages ---- */

void sim_check_emit(struct sim_cluster *c, struct sim_node *n, const struct raft_message *m)
{
        if (!c->opt.rule_checks || m->type != RAFT_MSG_VOTE_RESP || !m->vote_resp.granted)
                return;
        const struct raft_message *req = &n->vote_req;
        if (!n->vote_req_valid || req->from != m->to || req->vote.pre_vote != m->vote_resp.pre_vote)
                return; /* not an answer to the request of this step */
        const char *kind = req->vote.pre_vote ? "pre-vote" : "vote";
        bool up_to_date = req->vote.last_log_term > n->vote_req_last_term ||
                          (req->vote.last_log_term == n->vote_req_last_term &&
                           req->vote.last_log_index >= n->vote_req_last_index);
        if (!up_to_date)
                sim_fail(c,
                         "n%llu granted a %s to n%llu whose log ends at %llu/%llu, behind its "
                         "own %llu/%llu (§5.4.1)",
                         (unsigned long long)n->id, kind, (unsigned long long)req->from,
                         (unsigned long long)req->vote.last_log_index,
                         (unsigned long long)req->vote.last_log_term,
                         (unsigned long long)n->vote_req_last_index,
                         (unsigned long long)n->vote_req_last_term);
        else if (req->term < n->vote_req_term_before)
                sim_fail(c, "n%llu granted a %s for term %llu while in term %llu",
                         (unsigned long long)n->id, kind, (unsigned long long)req->term,
                         (unsigned long long)n->vote_req_term_before);
}

void sim_check_release(struct sim_cluster *c, struct sim_node *n, const struct raft_message *m)
{
        if (!c->opt.rule_checks)
                return;
        const struct raft_hard_state *hs = &n->disk_hard_state;
        bool term_moved_on = hs->term > m->term;
        if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.granted && !m->vote_resp.pre_vote &&
            !term_moved_on && !(hs->term == m->term && hs->vote == m->to))
                sim_fail(c,
                         "n%llu sent its vote for n%llu in term %llu before it was durable "
                         "(disk has term %llu vote %llu)",
                         (unsigned long long)n->id, (unsigned long long)m->to,
                         (unsigned long long)m->term, (unsigned long long)hs->term,
                         (unsigned long long)hs->vote);
        if (m->type == RAFT_MSG_VOTE && !m->vote.pre_vote && !term_moved_on &&
            !(hs->term == m->term && hs->vote == n->id))
                sim_fail(c,
                         "n%llu asked for votes in term %llu before its own vote was durable "
                         "(disk has term %llu vote %llu)",
                         (unsigned long long)n->id, (unsigned long long)m->term,
                         (unsigned long long)hs->term, (unsigned long long)hs->vote);
        if (m->type == RAFT_MSG_APPEND_RESP && m->append_resp.success && !term_moved_on) {
                uint64_t durable = sim_log_last_index(&n->disk_log);
                if (n->disk_snapshot.meta.index > durable)
                        durable = n->disk_snapshot.meta.index;
                if (durable < m->append_resp.index)
                        sim_fail(c, "n%llu acknowledged entries up to %llu with only %llu durable",
                                 (unsigned long long)n->id,
                                 (unsigned long long)m->append_resp.index,
                                 (unsigned long long)durable);
        }
}

/* Voters of the leader's configuration whose disk (log or snapshot) holds
 * (index, term): a crashed voter's disk counts, its memory does not. */
static uint32_t sim_voters_holding(struct sim_cluster *c, struct sim_node *n, uint64_t index,
                                   uint64_t term)
{
        const struct raft_config *cfg = raft_config(&n->core);
        uint32_t have = 0;
        for (uint32_t i = 0; i < cfg->n_voters; i++) {
                struct sim_node *v = sim_node_by_id(c, cfg->voters[i]);
                if (v == NULL)
                        continue;
                if (v->disk_snapshot.meta.index >= index || v->disk_log.snap_index >= index ||
                    sim_log_term_at(&v->disk_log, index) == term)
                        have++;
        }
        return have;
}

void sim_check_leader_commit(struct sim_cluster *c, struct sim_node *n, uint64_t before)
{
        uint64_t commit = raft_commit_index(&n->core);
        if (!c->opt.rule_checks || commit <= before)
                return;
        uint64_t term = raft_term_at(&n->core, commit);
        if (term != n->term)
                sim_fail(c,
                         "leader n%llu of term %llu moved its commit index to %llu, an entry of "
                         "term %llu (§3.6.2)",
                         (unsigned long long)n->id, (unsigned long long)n->term,
                         (unsigned long long)commit, (unsigned long long)term);
        /* Committed means durable on a majority of the leader's voters (§3.8:
         * the leader counts itself only for what its own disk holds). */
        uint32_t voters = raft_config(&n->core)->n_voters;
        uint32_t have = sim_voters_holding(c, n, commit, term);
        if (have < voters / 2 + 1)
                sim_fail(c,
                         "leader n%llu of term %llu committed %llu with only %u of %u voters "
                         "holding it on disk",
                         (unsigned long long)n->id, (unsigned long long)n->term,
                         (unsigned long long)commit, have, voters);
}
