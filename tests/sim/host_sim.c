/*
 * One simulated node: the server's own host order (src/replica/replica.h) over
 * a raft core, with the simulated disk and network plugged in, and the
 * checker's hooks on every part of it.
 *
 * What replica_ops means here:
 *   1. persist  the hard state, the truncation and the entries go to the
 *               simulated disk as ONE write, queued FIFO behind earlier writes;
 *               the flush at the end of each step (sim_host_flush) gives the
 *               step's writes a ticket, and a ticket is durable when the last
 *               of its writes completes (SIM_EV_DISK): the replica then
 *               releases the messages held for it and steps RAFT_EV_PERSISTED;
 *   2. send     messages go to the network (net_sim.c); held ones are packet
 *               copies until the replica releases them;
 *   3. apply    the replica applies to the state machine (replica/sm.h: the
 *               real tree, sessions and watches, at zxid = index); each apply
 *               is checked against the committed history (the tree digest, the
 *               outcome, the watch notifications);
 *   4. snapshot chunks are buffered; an install is one more FIFO write whose
 *               completion loads the state machine and steps
 *               RAFT_EV_SNAPSHOT_INSTALLED (snapshot_sim.c);
 *   5. reads    read states are checked and served once applied >= index;
 *   6. observe  role, term and commit are recorded and checked; compaction
 *               trims the logs.
 *
 * The disk keeps only completed writes. A crash loses every pending write,
 * except that (with the swarm's torn_ppm) a prefix of them may have reached
 * the platter anyway, the last one torn: its hard state and truncation made
 * it, and only some of its entries. That is what a WAL with per-record CRCs
 * recovers after power loss; fsynced data is never lost.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "sim.h"

/* ---- the owned log ---- */

uint64_t sim_log_last_index(const struct sim_log *l)
{
        return l->snap_index + l->n;
}

uint64_t sim_log_term_at(const struct sim_log *l, uint64_t index)
{
        if (index == l->snap_index)
                return l->snap_term;
        if (index < l->snap_index || index > sim_log_last_index(l))
                return 0;
        return l->e[index - l->snap_index - 1].term;
}

static const struct raft_entry *sim_log_get(const struct sim_log *l, uint64_t index)
{
        if (index <= l->snap_index || index > sim_log_last_index(l))
                return NULL;
        return &l->e[index - l->snap_index - 1];
}

static void sim_log_truncate(struct sim_log *l, uint64_t from)
{
        while (l->n > 0 && sim_log_last_index(l) >= from) {
                l->n--;
                free((void *)l->e[l->n].data);
        }
        if (from <= l->snap_index) {
                /* Truncating below the start: the log restarts just before from. */
                l->snap_index = from - 1;
                l->snap_term = 0;
        }
}

/* Appends a copy of e; false (and nothing done) unless it follows the last entry. */
static bool sim_log_append(struct sim_log *l, const struct raft_entry *e)
{
        if (e->index != sim_log_last_index(l) + 1)
                return false;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                struct raft_entry *ne = realloc(l->e, cap * sizeof(*ne));
                SYN_ASSERT(ne != NULL);
                l->e = ne;
                l->cap = cap;
        }
        struct raft_entry c = *e;
        if (e->len > 0) {
                uint8_t *d = malloc(e->len);
                SYN_ASSERT(d != NULL);
                memcpy(d, e->data, e->len);
                c.data = d;
        } else {
                c.data = NULL;
        }
        l->e[l->n++] = c;
        return true;
}

/* Drops entries <= to, keeping the term of `to` as the new base. */
static void sim_log_compact(struct sim_log *l, uint64_t to, uint64_t to_term)
{
        if (to <= l->snap_index)
                return;
        size_t drop = to - l->snap_index;
        if (drop > l->n)
                drop = l->n;
        for (size_t i = 0; i < drop; i++)
                free((void *)l->e[i].data);
        memmove(l->e, l->e + drop, (l->n - drop) * sizeof(*l->e));
        l->n -= drop;
        l->snap_index = to;
        l->snap_term = to_term;
}

void sim_log_reset(struct sim_log *l, uint64_t index, uint64_t term)
{
        sim_log_truncate(l, l->snap_index + 1);
        l->snap_index = index;
        l->snap_term = term;
}

void sim_log_free(struct sim_log *l)
{
        sim_log_truncate(l, l->snap_index + 1);
        free(l->e);
        memset(l, 0, sizeof(*l));
}

/* ---- disk writes ---- */

static void sim_write_free(struct sim_write *w)
{
        for (size_t i = 0; i < w->n_entries; i++)
                free((void *)w->entries[i].data);
        free(w->entries);
        free(w->snapshot_bytes);
        free(w);
}

/* Applies (a prefix of the entries of) w to the durable disk. */
static void sim_disk_apply(struct sim_cluster *c, struct sim_node *n, const struct sim_write *w,
                           size_t n_entries)
{
        if (w->snapshot_install) {
                /* A copy: a crash may write w to the disk and then free it. */
                uint8_t *bytes = malloc(w->snapshot_len);
                SYN_ASSERT(bytes != NULL);
                memcpy(bytes, w->snapshot_bytes, w->snapshot_len);
                sim_snapshot_free(&n->disk_snapshot);
                n->disk_snapshot = (struct sim_snapshot){
                    .meta = w->snapshot_meta, .bytes = bytes, .len = w->snapshot_len};
                sim_log_reset(&n->disk_log, w->snapshot_meta.index, w->snapshot_meta.term);
                return;
        }
        if (w->has_hard_state)
                n->disk_hard_state = w->hard_state;
        if (w->truncate_from != 0)
                sim_log_truncate(&n->disk_log, w->truncate_from);
        for (size_t i = 0; i < n_entries; i++) {
                if (!sim_log_append(&n->disk_log, &w->entries[i])) {
                        sim_fail(c, "n%llu: durable log ends at %llu, cannot append entry %llu",
                                 (unsigned long long)n->id,
                                 (unsigned long long)sim_log_last_index(&n->disk_log),
                                 (unsigned long long)w->entries[i].index);
                        return;
                }
        }
}

void sim_write_queue(struct sim_cluster *c, struct sim_node *n, struct sim_write *w)
{
        if (n->writes_tail != NULL)
                n->writes_tail->next = w;
        else
                n->writes_head = w;
        n->writes_tail = w;
        uint64_t done = c->now_us + syn_rand_range(&c->rand, c->sw.disk_us_min, c->sw.disk_us_max);
        if (done < n->disk_free_us)
                done = n->disk_free_us; /* FIFO: one disk, writes complete in order */
        n->disk_free_us = done;
        int rc = sim_queue_push(&c->q, (struct sim_event){.time_us = done,
                                                          .slot = n->slot,
                                                          .kind = SIM_EV_DISK,
                                                          .incarnation = n->incarnation});
        if (rc != SYN_OK)
                sim_fail(c, "event queue full");
}

/* ---- node life cycle ---- */

static const struct replica_ops sim_replica_ops;

static void sim_node_schedule_tick(struct sim_cluster *c, struct sim_node *n, uint64_t at_us)
{
        int rc = sim_queue_push(&c->q, (struct sim_event){.time_us = at_us,
                                                          .slot = n->slot,
                                                          .kind = SIM_EV_TICK,
                                                          .incarnation = n->incarnation});
        if (rc != SYN_OK)
                sim_fail(c, "event queue full");
}

static void sim_node_bootstrap_config(const struct sim_cluster *c, struct raft_config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        for (uint32_t i = 0; i < c->sw.nodes; i++)
                cfg->voters[cfg->n_voters++] = i + 1;
}

int sim_node_start(struct sim_cluster *c, struct sim_node *n)
{
        SYN_ASSERT(!n->up);
        struct raft_options o;
        raft_options_default(&o, n->id);
        o.election_ticks = c->sw.election_ticks;
        o.heartbeat_ticks = c->sw.heartbeat_ticks;
        o.pre_vote = c->sw.pre_vote;
        o.check_quorum = c->sw.check_quorum;
        o.lease_read = c->sw.lease_read;
        o.snapshot_trailing = c->sw.snapshot_trailing;
        o.max_msg_bytes = c->sw.max_msg_bytes;
        o.max_inflight_msgs = c->sw.max_inflight_msgs;
        o.seed = c->sw.seed * 0x9e3779b97f4a7c15ull + n->id * 1000003ull + n->incarnation;

        struct raft_initial_state s;
        memset(&s, 0, sizeof(s));
        s.hard_state = n->disk_hard_state;
        s.snapshot = n->disk_snapshot.meta;
        uint64_t from = n->disk_snapshot.meta.index + 1;
        if (from <= n->disk_log.snap_index)
                from = n->disk_log.snap_index + 1;
        if (from <= sim_log_last_index(&n->disk_log)) {
                s.entries = sim_log_get(&n->disk_log, from);
                s.n_entries = sim_log_last_index(&n->disk_log) - from + 1;
        }
        if (n->bootstrap)
                sim_node_bootstrap_config(c, &s.bootstrap);
        int rc = raft_init(&n->core, &o, &s);
        if (rc != SYN_OK) {
                sim_fail(c, "n%llu: raft_init failed on its own durable state: %s",
                         (unsigned long long)n->id, syn_strerror(rc));
                return rc;
        }
        n->up = true;
        n->paused_until_us = 0;
        /* The mirror of the core's log starts as the durable log. */
        sim_log_free(&n->mirror);
        n->mirror.snap_index = n->disk_log.snap_index;
        n->mirror.snap_term = n->disk_log.snap_term;
        for (uint64_t i = n->disk_log.snap_index + 1; i <= sim_log_last_index(&n->disk_log); i++) {
                bool ok = sim_log_append(&n->mirror, sim_log_get(&n->disk_log, i));
                SYN_ASSERT(ok);
        }
        /* The state machine is volatile: it restarts from the durable snapshot
         * (or the initial tree), and the core hands the log after it again. */
        if (sim_snapshot_open_sm(c, n, &s.bootstrap) != SYN_OK)
                return SYN_ECORRUPT;
        replica_init(&n->rep, &n->core, &n->sm, &sim_replica_ops, n);
        n->ticket_seq = n->done_ticket = 0;
        n->role = raft_role(&n->core);
        n->term = raft_term(&n->core);
        n->commit = raft_commit_index(&n->core);
        n->n_proposals = 0;
        n->n_reads = 0;
        n->snapshot_installing = false;
        memset(n->chunk_offset_sent, 0, sizeof(n->chunk_offset_sent));
        n->disk_free_us = c->now_us;
        sim_node_schedule_tick(c, n, c->now_us + syn_rand_range(&c->rand, 1, n->tick_us));
        sim_trace(c, n, "start (incarnation %u) term=%llu vote=%llu log=%llu..%llu snap=%llu",
                  n->incarnation, (unsigned long long)s.hard_state.term,
                  (unsigned long long)s.hard_state.vote, (unsigned long long)from,
                  (unsigned long long)sim_log_last_index(&n->disk_log),
                  (unsigned long long)s.snapshot.index);
        return SYN_OK;
}

/* On a crash, a prefix of the pending writes may have reached the disk anyway,
 * the last of them torn after some of its entries. */
static void sim_node_crash_disk(struct sim_cluster *c, struct sim_node *n)
{
        size_t pending = 0;
        for (struct sim_write *w = n->writes_head; w != NULL; w = w->next)
                pending++;
        if (pending == 0 || c->healing || !syn_rand_chance(&c->rand, c->sw.torn_ppm))
                return;
        size_t k = syn_rand_range(&c->rand, 1, pending);
        size_t i = 0;
        for (struct sim_write *w = n->writes_head; w != NULL && i < k; w = w->next, i++) {
                size_t keep = w->n_entries;
                if (i + 1 == k && w->n_entries > 0)
                        keep = syn_rand_below(&c->rand, w->n_entries); /* torn */
                sim_disk_apply(c, n, w, keep);
        }
        c->st.torn_writes++;
        sim_trace(c, n, "crash: %zu of %zu unsynced writes reached the disk (last torn)", k,
                  pending);
}

void sim_node_crash(struct sim_cluster *c, struct sim_node *n)
{
        SYN_ASSERT(n->up);
        sim_node_crash_disk(c, n);
        struct sim_write *w = n->writes_head;
        while (w != NULL) {
                struct sim_write *next = w->next;
                sim_write_free(w);
                w = next;
        }
        n->writes_head = n->writes_tail = NULL;
        replica_close(&n->rep); /* held messages go with the process */
        raft_close(&n->core);
        sm_close(&n->sm);
        /* What was received of a snapshot goes with the process (the core
         * restarts the transfer from offset 0). */
        free(n->recv_snapshot);
        n->recv_snapshot = NULL;
        n->recv_snapshot_len = n->recv_snapshot_cap = 0;
        n->up = false;
        n->incarnation++;
        n->paused_until_us = 0;
        n->n_proposals = 0;
        n->n_reads = 0;
        n->role = RAFT_FOLLOWER;
        sim_trace(c, n, "crash");
}

void sim_node_wipe(struct sim_node *n)
{
        SYN_ASSERT(!n->up);
        sim_log_free(&n->disk_log);
        sim_log_free(&n->mirror);
        memset(&n->disk_hard_state, 0, sizeof(n->disk_hard_state));
        sim_snapshot_free(&n->disk_snapshot);
        n->sm.applied = 0;
        n->term = 0;
        n->commit = 0;
}

/* ---- (1) persist ---- */

/* Truncation must never take away an entry this node knew to be committed. */
static void sim_host_check_truncation(struct sim_cluster *c, struct sim_node *n,
                                      uint64_t truncate_from, uint64_t commit_before)
{
        uint64_t upto = commit_before > n->sm.applied ? commit_before : n->sm.applied;
        if (truncate_from == 0 || truncate_from > upto)
                return;
        if (sim_log_last_index(&n->mirror) < upto) {
                sim_fail(c, "n%llu truncated from %llu below its commit index %llu",
                         (unsigned long long)n->id, (unsigned long long)truncate_from,
                         (unsigned long long)upto);
                return;
        }
        for (uint64_t i = truncate_from; i <= upto && i <= c->ck.committed_max; i++) {
                const struct sim_committed *h = &c->ck.committed[i];
                if (h->known && sim_log_term_at(&n->mirror, i) != h->term)
                        sim_fail(c, "n%llu replaced committed entry %llu (term %llu)",
                                 (unsigned long long)n->id, (unsigned long long)i,
                                 (unsigned long long)h->term);
        }
}

static int sim_host_persist(void *ctx, const struct raft_update *u)
{
        struct sim_node *n = ctx;
        struct sim_cluster *c = n->cluster;
        /* The first thing of every step, before anything is applied: an entry
         * committed in this step was committed in a term <= u->term (the
         * checker's leader completeness). */
        if (u->term > c->ck.max_term)
                c->ck.max_term = u->term;
        uint64_t commit_before = n->commit;
        if (u->truncate_from != 0)
                sim_log_truncate(&n->mirror, u->truncate_from);
        for (size_t i = 0; i < u->n_entries; i++) {
                const struct raft_entry *e = &u->entries[i];
                if (e->index != sim_log_last_index(&n->mirror) + 1) {
                        sim_fail(c,
                                 "n%llu: entry %llu to persist does not follow the log (last %llu)",
                                 (unsigned long long)n->id, (unsigned long long)e->index,
                                 (unsigned long long)sim_log_last_index(&n->mirror));
                        return SYN_OK;
                }
                sim_check_append(c, n, e, sim_log_term_at(&n->mirror, e->index - 1));
                bool ok = sim_log_append(&n->mirror, e);
                SYN_ASSERT(ok);
        }
        sim_host_check_truncation(c, n, u->truncate_from, commit_before);
        if (!u->hard_state_changed && u->truncate_from == 0 && u->n_entries == 0) {
                if (u->persist_mark.index != 0)
                        sim_fail(c, "n%llu: persist mark %llu with nothing to persist",
                                 (unsigned long long)n->id,
                                 (unsigned long long)u->persist_mark.index);
                return SYN_OK;
        }
        struct sim_write *w = calloc(1, sizeof(*w));
        SYN_ASSERT(w != NULL);
        w->has_hard_state = u->hard_state_changed;
        w->hard_state = u->hard_state;
        w->truncate_from = u->truncate_from;
        if (u->n_entries > 0) {
                w->entries = calloc(u->n_entries, sizeof(*w->entries));
                SYN_ASSERT(w->entries != NULL);
                for (size_t i = 0; i < u->n_entries; i++) {
                        w->entries[i] = u->entries[i];
                        if (u->entries[i].len > 0) {
                                uint8_t *d = malloc(u->entries[i].len);
                                SYN_ASSERT(d != NULL);
                                memcpy(d, u->entries[i].data, u->entries[i].len);
                                w->entries[i].data = d;
                        }
                }
                w->n_entries = u->n_entries;
        }
        sim_write_queue(c, n, w);
        return SYN_OK;
}

/* ---- (2) send ---- */

/* A copy of m for the network, checked as emitted; NULL if it is not sent. */
static struct sim_packet *sim_host_packet(struct sim_cluster *c, struct sim_node *n,
                                          const struct raft_message *m)
{
        if (m->from != n->id) {
                sim_fail(c, "n%llu emitted a message from %llu", (unsigned long long)n->id,
                         (unsigned long long)m->from);
                return NULL;
        }
        sim_check_emit(c, n, m);
        /* The core leaves the bytes of an InstallSnapshot chunk to the host. */
        return m->type == RAFT_MSG_SNAPSHOT ? sim_snapshot_packet(c, n, m) : sim_packet_copy(m);
}

static void sim_host_net_send(struct sim_cluster *c, struct sim_node *n, struct sim_packet *p)
{
        sim_check_release(c, n, &p->msg);
        sim_net_send(c, p);
}

static void sim_host_send(void *ctx, const struct raft_message *m)
{
        struct sim_node *n = ctx;
        struct sim_packet *p = sim_host_packet(n->cluster, n, m);
        if (p != NULL)
                sim_host_net_send(n->cluster, n, p);
}

static void *sim_host_hold(void *ctx, const struct raft_message *m)
{
        struct sim_node *n = ctx;
        return sim_host_packet(n->cluster, n, m);
}

static void sim_host_release(void *ctx, void *held, bool send)
{
        struct sim_node *n = ctx;
        if (send)
                sim_host_net_send(n->cluster, n, held);
        else
                sim_packet_free(held);
}

/* ---- (3) apply ---- */

static void sim_host_ack_writes(struct sim_cluster *c, struct sim_node *n,
                                const struct raft_entry *e)
{
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n->n_proposals; i++) {
                struct sim_proposal *p = &n->proposals[i];
                if (p->index == e->index && p->term == e->term) {
                        /* The client hears back: its write is complete. */
                        if (e->index > c->ck.write_watermark)
                                c->ck.write_watermark = e->index;
                        c->st.acked_writes++;
                        sim_trace(c, n, "write %llu acknowledged to its client",
                                  (unsigned long long)e->index);
                        if (c->live_index == e->index && c->live_term == e->term)
                                c->live_proposer = n->id;
                        continue;
                }
                if (p->index <= e->index)
                        continue; /* lost: another entry took its place */
                n->proposals[kept++] = *p;
        }
        n->n_proposals = kept;
}

static void sim_host_serve_reads(struct sim_cluster *c, struct sim_node *n)
{
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n->n_reads; i++) {
                struct sim_read *r = &n->reads[i];
                if (r->answered && n->sm.applied >= r->index) {
                        /* Served at the state after n->sm.applied entries. */
                        SYN_ASSERT(n->sm.applied >= r->watermark);
                        c->st.reads_served++;
                        sim_trace(c, n, "read %llu served at applied %llu (read index %llu)",
                                  (unsigned long long)r->ctx, (unsigned long long)n->sm.applied,
                                  (unsigned long long)r->index);
                        continue;
                }
                n->reads[kept++] = *r;
        }
        n->n_reads = kept;
}

#ifdef SYNOD_PLANT_APPLY_LOCAL_TIME
/*
 * PLANTED BUG (tests/sim/CMakeLists.txt: sim_catches_apply_local_time): the
 * applying node restamps the txn with its own wall clock, as an apply that
 * read the clock would. Each node then gives the node it creates or changes
 * its own ctime/mtime, and the tree digest check must notice.
 */
static const struct raft_entry *sim_host_restamp(struct sim_cluster *c, struct sim_node *n,
                                                 const struct raft_entry *e,
                                                 struct raft_entry *scratch)
{
        static uint8_t restamped[SIM_TXN_BYTES_MAX];
        if (e->type != RAFT_ENTRY_NORMAL || e->len > sizeof(restamped))
                return e;
        memcpy(restamped, e->data, e->len);
        if (txn_stamp_time(restamped, e->len, sim_clock_wall_ms(c, n)) != SYN_OK)
                return e;
        *scratch = *e;
        scratch->data = restamped;
        return scratch;
}
#else
/* The txn as its proposer stamped it. */
static const struct raft_entry *sim_host_restamp(struct sim_cluster *c, struct sim_node *n,
                                                 const struct raft_entry *e,
                                                 struct raft_entry *scratch)
{
        (void)c;
        (void)n;
        (void)scratch;
        return e;
}
#endif

static const struct raft_entry *sim_host_will_apply(void *ctx, const struct raft_entry *e,
                                                    struct raft_entry *scratch)
{
        struct sim_node *n = ctx;
        struct sim_cluster *c = n->cluster;
        if (c->ck.failed)
                return NULL;
        if (e->index != n->sm.applied + 1) {
                sim_fail(c, "n%llu: applying entry %llu after %llu (gap or repeat)",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)n->sm.applied);
                return NULL;
        }
        if (c->opt.rule_checks && sim_log_term_at(&n->disk_log, e->index) != e->term) {
                sim_fail(c, "n%llu: applying entry %llu (term %llu) that is not durable here",
                         (unsigned long long)n->id, (unsigned long long)e->index,
                         (unsigned long long)e->term);
                return NULL;
        }
        return sim_host_restamp(c, n, e, scratch);
}

static bool sim_host_applied(void *ctx, const struct raft_entry *e, int rc)
{
        struct sim_node *n = ctx;
        struct sim_cluster *c = n->cluster;
        if (rc != SYN_OK) {
                sim_fail(c, "n%llu: committed entry %llu (type %d) does not apply: %s",
                         (unsigned long long)n->id, (unsigned long long)e->index, (int)e->type,
                         syn_strerror(rc));
                return false;
        }
        sim_check_apply(c, n, e);
        sim_check_watches(c, n, e->index);
        sim_host_ack_writes(c, n, e);
        return !c->ck.failed;
}

/* ---- (4) snapshots ---- */

static void sim_host_snapshot_chunk(void *ctx, const struct raft_snapshot_chunk *chunk)
{
        struct sim_node *n = ctx;
        sim_snapshot_chunk(n->cluster, n, chunk);
}

static void sim_host_snapshot_install(void *ctx, const struct raft_snapshot_meta *meta)
{
        struct sim_node *n = ctx;
        sim_snapshot_install(n->cluster, n, meta);
}

/* ---- (5) reads ---- */

/* Also with no read state: the applies of the step may serve waiting reads. */
static void sim_host_read_states(void *ctx, const struct raft_read_state *rs, size_t count)
{
        struct sim_node *n = ctx;
        struct sim_cluster *c = n->cluster;
        for (size_t i = 0; i < count; i++) {
                for (uint32_t j = 0; j < n->n_reads; j++) {
                        struct sim_read *r = &n->reads[j];
                        if (r->ctx != rs[i].ctx || r->answered)
                                continue;
                        if (rs[i].index < r->watermark) {
                                sim_fail(c,
                                         "n%llu: stale read: ReadIndex %llu for read %llu, but "
                                         "write %llu was acknowledged before the read started",
                                         (unsigned long long)n->id, (unsigned long long)rs[i].index,
                                         (unsigned long long)r->ctx,
                                         (unsigned long long)r->watermark);
                                return;
                        }
                        r->answered = true;
                        r->index = rs[i].index;
                }
        }
        sim_host_serve_reads(c, n);
}

void sim_host_expire_reads(struct sim_cluster *c, struct sim_node *n)
{
        uint32_t kept = 0;
        for (uint32_t i = 0; i < n->n_reads; i++) {
                if (n->reads[i].start_us + SIM_READ_TIMEOUT_US < c->now_us)
                        continue;
                n->reads[kept++] = n->reads[i];
        }
        n->n_reads = kept;
}

/* ---- (6) observe ---- */

static void sim_host_observe(void *ctx, const struct raft_update *u)
{
        struct sim_node *n = ctx;
        struct sim_cluster *c = n->cluster;
        if (u->compacted_to != 0) {
                sim_log_compact(&n->mirror, u->compacted_to,
                                sim_log_term_at(&n->mirror, u->compacted_to));
                sim_log_compact(&n->disk_log, u->compacted_to,
                                sim_log_term_at(&n->disk_log, u->compacted_to));
        }
        if (u->term < n->term)
                sim_fail(c, "n%llu: term went back from %llu to %llu", (unsigned long long)n->id,
                         (unsigned long long)n->term, (unsigned long long)u->term);
        if (u->commit < n->commit)
                sim_fail(c, "n%llu: commit went back from %llu to %llu", (unsigned long long)n->id,
                         (unsigned long long)n->commit, (unsigned long long)u->commit);
        if (u->term != raft_term(&n->core) || u->role != raft_role(&n->core) ||
            u->commit != raft_commit_index(&n->core))
                sim_fail(c, "n%llu: update and accessors disagree on role/term/commit",
                         (unsigned long long)n->id);
        if (!n->snapshot_installing && raft_last_index(&n->core) != sim_log_last_index(&n->mirror))
                sim_fail(c, "n%llu: core's last index %llu but it asked to persist up to %llu",
                         (unsigned long long)n->id, (unsigned long long)raft_last_index(&n->core),
                         (unsigned long long)sim_log_last_index(&n->mirror));
        bool new_leader = u->role == RAFT_LEADER && (n->role != RAFT_LEADER || n->term != u->term);
        /* Also in the step that made n leader: a single voter (or a planted
         * bug) can commit right there. */
        if (u->role == RAFT_LEADER)
                sim_check_leader_commit(c, n, n->commit);
        if (u->role == RAFT_LEADER && !new_leader && u->commit > n->commit)
                n->leader_committed = true;
        n->role = u->role;
        n->term = u->term;
        n->commit = u->commit;
        if (u->role == RAFT_LEADER)
                sim_check_leader(c, n, new_leader);
        if (new_leader) {
                c->st.elections++;
                sim_trace(c, n, "became leader of term %llu", (unsigned long long)u->term);
        }
}

/* ---- the host order: the server's, over the simulated disk and network ---- */

static void sim_host_failed(void *ctx, int err, const char *what)
{
        struct sim_node *n = ctx;
        sim_fail(n->cluster, "n%llu: the replica failed %s: %s", (unsigned long long)n->id, what,
                 syn_strerror(err));
}

static const struct replica_ops sim_replica_ops = {
    .persist = sim_host_persist,
    .send = sim_host_send,
    .hold = sim_host_hold,
    .release = sim_host_release,
    .will_apply = sim_host_will_apply,
    .applied = sim_host_applied,
    .snapshot_chunk = sim_host_snapshot_chunk,
    .snapshot_install = sim_host_snapshot_install,
    .read_states = sim_host_read_states,
    .observe = sim_host_observe,
    .settled = NULL,
    .failed = sim_host_failed,
};

/* Rounds of flushing at the end of a step: a flush's durable marks may step the
 * core, whose new writes take the next round's ticket (never already durable),
 * so a second round ends it. */
#define SIM_FLUSH_ROUNDS_MAX 4

/*
 * The end of a step, as the server's before_sleep: the writes queued since the
 * last flush take a new ticket (or, if none, the last one again), the replica
 * is told, and whatever is already durable is released.
 */
static void sim_host_flush(struct sim_cluster *c, struct sim_node *n)
{
        for (int round = 0; round < SIM_FLUSH_ROUNDS_MAX; round++) {
                bool new_writes = false;
                for (struct sim_write *w = n->writes_head; w != NULL; w = w->next)
                        if (!w->snapshot_install && w->ticket == 0)
                                new_writes = true;
                if (!new_writes && !replica_flush_wanted(&n->rep))
                        return;
                if (new_writes)
                        n->ticket_seq++;
                for (struct sim_write *w = n->writes_head; w != NULL; w = w->next)
                        if (!w->snapshot_install && w->ticket == 0)
                                w->ticket = n->ticket_seq;
                replica_flushed(&n->rep, n->ticket_seq);
                replica_durable(&n->rep, n->done_ticket);
                if (!n->up || c->ck.failed)
                        return;
        }
        sim_fail(c, "n%llu: flushing did not settle in %d rounds", (unsigned long long)n->id,
                 SIM_FLUSH_ROUNDS_MAX);
}

int sim_host_step(struct sim_cluster *c, struct sim_node *n, const struct raft_event *ev)
{
        SYN_ASSERT(n->up);
        int rc = replica_step(&n->rep, ev);
        sim_host_flush(c, n);
        return rc;
}

/* The disk completed n's oldest write: once the last write of its ticket is
 * durable, the replica releases what waited for that ticket. */
void sim_host_disk_done(struct sim_cluster *c, struct sim_node *n)
{
        struct sim_write *w = n->writes_head;
        SYN_ASSERT(w != NULL);
        n->writes_head = w->next;
        if (n->writes_head == NULL)
                n->writes_tail = NULL;
        sim_disk_apply(c, n, w, w->n_entries);
        if (w->snapshot_install) {
                sim_snapshot_installed(c, n, w);
        } else {
                SYN_ASSERT(w->ticket != 0); /* flushed at the end of its step */
                if (n->writes_head == NULL || n->writes_head->ticket != w->ticket) {
                        n->done_ticket = w->ticket;
                        replica_durable(&n->rep, n->done_ticket);
                        sim_host_flush(c, n);
                }
        }
        sim_write_free(w);
}

/* ---- clients ---- */

int sim_host_propose(struct sim_cluster *c, struct sim_node *n, bool liveness)
{
        uint8_t payload[SIM_TXN_BYTES_MAX];
        size_t len = sim_workload_txn(c, n, payload);
        struct raft_event ev = {.type = RAFT_EV_PROPOSE, .propose = {.data = payload, .len = len}};
        int rc = sim_host_step(c, n, &ev);
        uint64_t index = n->rep.proposal_index, term = n->rep.proposal_term;
        sim_trace(c, n, "client proposes a %zu-byte txn%s: %s index %llu", len,
                  liveness ? " (liveness probe)" : "", syn_errname(rc), (unsigned long long)index);
        if (rc != SYN_OK)
                return rc;
        if (index == 0 || term != n->term) {
                sim_fail(c, "n%llu: accepted proposal named entry %llu of term %llu",
                         (unsigned long long)n->id, (unsigned long long)index,
                         (unsigned long long)term);
                return SYN_OK;
        }
        c->st.proposals++;
        if (liveness) {
                c->live_index = index;
                c->live_term = term;
        }
        if (n->n_proposals == SIM_PROPOSALS_PER_NODE_MAX) {
                /* The oldest client gives up waiting. */
                memmove(n->proposals, n->proposals + 1,
                        (SIM_PROPOSALS_PER_NODE_MAX - 1) * sizeof(n->proposals[0]));
                n->n_proposals--;
        }
        n->proposals[n->n_proposals++] = (struct sim_proposal){.index = index, .term = term};
        return SYN_OK;
}

int sim_host_read(struct sim_cluster *c, struct sim_node *n)
{
        if (n->n_reads == SIM_READS_PER_NODE_MAX)
                return SYN_EBUSY;
        uint64_t ctx = ++c->next_ctx;
        /* Registered before the step: a leader may answer within it. */
        n->reads[n->n_reads++] = (struct sim_read){
            .ctx = ctx, .start_us = c->now_us, .watermark = c->ck.write_watermark};
        struct raft_event ev = {.type = RAFT_EV_READ_INDEX, .read_index = {.ctx = ctx}};
        int rc = sim_host_step(c, n, &ev);
        sim_trace(c, n, "client read %llu (after write %llu): %s", (unsigned long long)ctx,
                  (unsigned long long)c->ck.write_watermark, syn_errname(rc));
        if (rc != SYN_OK) {
                for (uint32_t i = 0; i < n->n_reads; i++) {
                        if (n->reads[i].ctx == ctx) {
                                n->reads[i] = n->reads[--n->n_reads];
                                break;
                        }
                }
        }
        return rc;
}
