/*
 * The scenario network of net.h: a deterministic host per node (persist,
 * send, apply, snapshot, reads, in that order) and a FIFO between nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"

#define NET_SNAPSHOT_FILE_BYTES 100

static void *xmalloc(size_t n)
{
        void *p = malloc(n == 0 ? 1 : n);
        assert_non_null(p);
        return p;
}

static void entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
        *dst = *src;
        if (src->len > 0) {
                uint8_t *d = xmalloc(src->len);
                memcpy(d, src->data, src->len);
                dst->data = d;
        } else {
                dst->data = NULL;
        }
}

static void msg_copy(struct raft_message *dst, const struct raft_message *src)
{
        *dst = *src;
        if (src->type == RAFT_MSG_APPEND && src->append.n_entries > 0) {
                struct raft_entry *es = xmalloc(src->append.n_entries * sizeof(*es));
                for (uint32_t i = 0; i < src->append.n_entries; i++) {
                        entry_copy(&es[i], &src->append.entries[i]);
                }
                dst->append.entries = es;
        }
        if (src->type == RAFT_MSG_SNAPSHOT && src->snapshot.len > 0) {
                uint8_t *d = xmalloc(src->snapshot.len);
                memcpy(d, src->snapshot.data, src->snapshot.len);
                dst->snapshot.data = d;
        }
}

static void msg_free(struct raft_message *m)
{
        if (m->type == RAFT_MSG_APPEND && m->append.n_entries > 0) {
                for (uint32_t i = 0; i < m->append.n_entries; i++) {
                        free((void *)m->append.entries[i].data);
                }
                free((void *)m->append.entries);
        }
        if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.len > 0) {
                free((void *)m->snapshot.data);
        }
}

static uint8_t snapshot_byte(uint64_t index, uint64_t off)
{
        return (uint8_t)(index * 31 + off * 7);
}

/* The host fills an InstallSnapshot chunk from its snapshot "file". */
static bool fill_snapshot(struct net *net, struct net_node *n, struct raft_message *m)
{
        if (n->snap.index != m->snapshot.meta.index) {
                return false; /* no longer have it: drop */
        }
        uint64_t off = m->snapshot.offset;
        if (off > NET_SNAPSHOT_FILE_BYTES) {
                return false;
        }
        size_t len = NET_SNAPSHOT_FILE_BYTES - off;
        if (len > net->snapshot_chunk_bytes) {
                len = net->snapshot_chunk_bytes;
        }
        uint8_t *d = xmalloc(len);
        for (size_t i = 0; i < len; i++) {
                d[i] = snapshot_byte(n->snap.index, off + i);
        }
        m->snapshot.data = d;
        m->snapshot.len = len;
        m->snapshot.done = off + len == NET_SNAPSHOT_FILE_BYTES;
        return true;
}

static void enqueue(struct net *net, const struct raft_message *m)
{
        if (net->q_len == net->q_cap && net->q_head > 0) {
                /* compact first */
                memmove(net->q, net->q + net->q_head, (net->q_len - net->q_head) * sizeof(*net->q));
                net->q_len -= net->q_head;
                net->q_head = 0;
        }
        if (net->q_len == net->q_cap) {
                net->q_cap = net->q_cap == 0 ? 64 : net->q_cap * 2;
                net->q = realloc(net->q, net->q_cap * sizeof(*net->q));
                assert_non_null(net->q);
        }
        assert_true(net->q_len - net->q_head < NET_MSGS_MAX);
        struct net_node *src = net_node(net, m->from);
        struct raft_message *dst = &net->q[net->q_len].m;
        msg_copy(dst, m);
        if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.data == NULL) {
                if (!fill_snapshot(net, src, dst)) {
                        return;
                }
        }
        net->q_len++;
}

static uint64_t store_last(const struct net_node *n)
{
        return n->n_log == 0 ? n->snap.index : n->log[n->n_log - 1].e.index;
}

static void store_truncate(struct net_node *n, uint64_t from)
{
        while (n->n_log > 0 && n->log[n->n_log - 1].e.index >= from) {
                free((void *)n->log[n->n_log - 1].e.data);
                n->n_log--;
        }
}

static void store_append(struct net_node *n, const struct raft_entry *es, size_t count)
{
        if (count == 0) {
                return;
        }
        n->log = realloc(n->log, (n->n_log + count) * sizeof(*n->log));
        assert_non_null(n->log);
        for (size_t i = 0; i < count; i++) {
                assert_int_equal(es[i].index, store_last(n) + 1);
                entry_copy(&n->log[n->n_log].e, &es[i]);
                n->n_log++;
        }
}

static void store_write(struct net_node *n, bool hs_changed, const struct raft_hard_state *hs,
                        uint64_t truncate_from, const struct raft_entry *es, size_t count)
{
        if (hs_changed) {
                n->hs = *hs;
        }
        if (truncate_from != 0) {
                store_truncate(n, truncate_from);
        }
        store_append(n, es, count);
}

static void history_check(struct net *net, const struct raft_entry *e)
{
        assert_true(e->index >= 1);
        assert_true(e->index <= net->n_history + 1); /* applied in order everywhere */
        if (e->index == net->n_history + 1) {
                net->history = realloc(net->history, (net->n_history + 1) * sizeof(*e));
                assert_non_null(net->history);
                entry_copy(&net->history[net->n_history++], e);
                return;
        }
        const struct raft_entry *h = &net->history[e->index - 1];
        assert_int_equal(h->term, e->term);
        assert_int_equal(h->type, e->type);
        assert_int_equal(h->len, e->len);
        if (e->len > 0) {
                assert_memory_equal(h->data, e->data, e->len);
        }
}

static void sm_apply(struct net *net, struct net_node *n, const struct raft_entry *e)
{
        history_check(net, e);
        assert_int_equal(e->index, n->applied_index + 1);
        n->applied = realloc(n->applied, (n->n_applied + 1) * sizeof(*n->applied));
        assert_non_null(n->applied);
        entry_copy(&n->applied[n->n_applied].e, e);
        n->n_applied++;
        n->applied_index = e->index;
}

static void sm_reset(struct net_node *n, uint64_t index)
{
        for (size_t i = 0; i < n->n_applied; i++) {
                free((void *)n->applied[i].e.data);
        }
        free(n->applied);
        n->applied = NULL;
        n->n_applied = 0;
        n->applied_base = index;
        n->applied_index = index;
}

static void snapshot_chunk(struct net_node *n, const struct raft_snapshot_chunk *c)
{
        if (c->offset == 0) {
                n->recv_len = 0;
        }
        assert_int_equal(c->offset, n->recv_len);
        n->recv_buf = realloc(n->recv_buf, n->recv_len + c->len + 1);
        assert_non_null(n->recv_buf);
        memcpy(n->recv_buf + n->recv_len, c->data, c->len);
        n->recv_len += c->len;
}

static void snapshot_install(struct net_node *n, const struct raft_snapshot_meta *meta)
{
        /* The chunks must have rebuilt the leader's file exactly. */
        assert_int_equal(n->recv_len, NET_SNAPSHOT_FILE_BYTES);
        for (size_t i = 0; i < n->recv_len; i++) {
                assert_int_equal(n->recv_buf[i], snapshot_byte(meta->index, i));
        }
        n->snap = *meta;
        store_truncate(n, 1);
        sm_reset(n, meta->index);
}

/*
 * Election safety, as others can observe it: every message a leader sends
 * (appends, heartbeats, snapshots, TimeoutNow) names one leader per term. A
 * single voter becomes leader in the step that writes its own vote and holds
 * every message until that write is durable, so a crash before then leaves no
 * trace of that leadership; judging by messages accepts that, and catches any
 * second leader that actually acted.
 */
static void check_leader(struct net *net, const struct raft_message *m)
{
        bool from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
                           m->type == RAFT_MSG_SNAPSHOT || m->type == RAFT_MSG_TIMEOUT_NOW;
        if (!from_leader || m->term >= 4096) {
                return;
        }
        uint64_t *slot = &net->term_leader[m->term];
        if (*slot == 0) {
                *slot = m->from;
        }
        assert_int_equal(*slot, m->from);
}

static void trace_update(struct net_node *n, const struct raft_update *u)
{
        if (u->role_changed) {
                fprintf(stderr, "  n%llu: %s term %llu leader %llu last %llu commit %llu\n",
                        (unsigned long long)n->id, raft_role_name(u->role),
                        (unsigned long long)u->term, (unsigned long long)u->leader_id,
                        (unsigned long long)raft_last_index(&n->r), (unsigned long long)u->commit);
        }
        if (u->hard_state_changed) {
                fprintf(stderr, "  n%llu: hard state term %llu vote %llu\n",
                        (unsigned long long)n->id, (unsigned long long)u->hard_state.term,
                        (unsigned long long)u->hard_state.vote);
        }
        if (u->config_changed) {
                const struct raft_config *c = raft_config(&n->r);
                fprintf(stderr, "  n%llu: config voters", (unsigned long long)n->id);
                for (uint32_t i = 0; i < c->n_voters; i++) {
                        fprintf(stderr, " %llu", (unsigned long long)c->voters[i]);
                }
                fprintf(stderr, " learners");
                for (uint32_t i = 0; i < c->n_learners; i++) {
                        fprintf(stderr, " %llu", (unsigned long long)c->learners[i]);
                }
                fprintf(stderr, "\n");
        }
        for (int pass = 0; pass < 2; pass++) {
                const struct raft_message *ms = pass ? u->msgs_after_persist : u->msgs;
                size_t count = pass ? u->n_msgs_after_persist : u->n_msgs;
                for (size_t i = 0; i < count; i++) {
                        if (ms[i].type == RAFT_MSG_VOTE_RESP && ms[i].vote_resp.granted) {
                                fprintf(stderr, "  n%llu: grants %svote to %llu term %llu\n",
                                        (unsigned long long)n->id,
                                        ms[i].vote_resp.pre_vote ? "pre-" : "",
                                        (unsigned long long)ms[i].to,
                                        (unsigned long long)ms[i].term);
                        }
                }
        }
}

static void handle(struct net *net, struct net_node *n, const struct raft_update *u)
{
        n->updates++;
        if (net->trace) {
                trace_update(n, u);
        }
        if (u->proposal_index != 0) {
                n->last_proposal_index = u->proposal_index;
        }
        if (n->hold_persist && (u->hard_state_changed || u->n_entries > 0 ||
                                u->n_msgs_after_persist > 0 || n->n_pending > 0)) {
                if (n->n_pending == n->cap_pending) {
                        n->cap_pending = n->cap_pending == 0 ? 16 : 2 * n->cap_pending;
                        n->pending = realloc(n->pending, n->cap_pending * sizeof(*n->pending));
                        assert_non_null(n->pending);
                }
                struct net_pending *pw = &n->pending[n->n_pending++];
                memset(pw, 0, sizeof(*pw));
                pw->hard_state_changed = u->hard_state_changed;
                pw->hs = u->hard_state;
                pw->truncate_from = u->truncate_from;
                pw->entries = xmalloc(u->n_entries * sizeof(*pw->entries));
                for (size_t i = 0; i < u->n_entries; i++) {
                        entry_copy(&pw->entries[i].e, &u->entries[i]);
                }
                pw->n_entries = u->n_entries;
                pw->mark = u->persist_mark;
                pw->after = xmalloc(u->n_msgs_after_persist * sizeof(*pw->after));
                for (size_t i = 0; i < u->n_msgs_after_persist; i++) {
                        msg_copy(&pw->after[i], &u->msgs_after_persist[i]);
                }
                pw->n_after = u->n_msgs_after_persist;
        } else {
                store_write(n, u->hard_state_changed, &u->hard_state, u->truncate_from, u->entries,
                            u->n_entries);
        }
        for (size_t i = 0; i < u->n_msgs; i++) {
                enqueue(net, &u->msgs[i]);
        }
        if (!n->hold_persist || n->n_pending == 0) {
                for (size_t i = 0; i < u->n_msgs_after_persist; i++) {
                        enqueue(net, &u->msgs_after_persist[i]);
                }
        }
        for (size_t i = 0; i < u->n_committed; i++) {
                sm_apply(net, n, &u->committed[i]);
        }
        if (u->snapshot_chunk != NULL) {
                snapshot_chunk(n, u->snapshot_chunk);
        }
        for (size_t i = 0; i < u->n_read_states; i++) {
                assert_true(n->n_reads < 64);
                n->reads[n->n_reads++] = u->read_states[i];
        }
}

int net_step(struct net *net, uint64_t id, const struct raft_event *ev)
{
        struct net_node *n = net_node(net, id);
        assert_true(n->up);
        struct raft_update u;
        int rv = raft_step(&n->r, ev, &u);
        handle(net, n, &u);
        /* Copy what drives the follow-up steps before u goes stale. */
        struct raft_persist_mark mark = u.persist_mark;
        bool install = u.snapshot_install != NULL;
        struct raft_snapshot_meta meta;
        if (install) {
                meta = *u.snapshot_install;
                snapshot_install(n, &meta);
        }
        if (!n->hold_persist && mark.index != 0) {
                struct raft_event pe = {.type = RAFT_EV_PERSISTED, .persisted = mark};
                net_step(net, id, &pe);
        }
        if (install) {
                struct raft_event ie = {.type = RAFT_EV_SNAPSHOT_INSTALLED,
                                        .snapshot_installed.index = meta.index};
                assert_int_equal(net_step(net, id, &ie), 0);
        }
        return rv;
}

void net_flush(struct net *net, uint64_t id)
{
        struct net_node *n = net_node(net, id);
        /* Each completion may queue more; finish them all in FIFO order. */
        while (n->n_pending > 0) {
                struct net_pending pw = n->pending[0];
                memmove(n->pending, n->pending + 1, (n->n_pending - 1) * sizeof(pw));
                n->n_pending--;
                struct raft_entry *es = xmalloc(pw.n_entries * sizeof(*es));
                for (size_t i = 0; i < pw.n_entries; i++) {
                        es[i] = pw.entries[i].e;
                }
                store_write(n, pw.hard_state_changed, &pw.hs, pw.truncate_from, es, pw.n_entries);
                for (size_t i = 0; i < pw.n_entries; i++) {
                        free((void *)pw.entries[i].e.data);
                }
                free(es);
                free(pw.entries);
                for (size_t i = 0; i < pw.n_after; i++) {
                        enqueue(net, &pw.after[i]);
                        msg_free(&pw.after[i]);
                }
                free(pw.after);
                if (pw.mark.index != 0) {
                        struct raft_event pe = {.type = RAFT_EV_PERSISTED, .persisted = pw.mark};
                        net_step(net, id, &pe);
                }
        }
}

static void node_start(struct net_node *n, const struct raft_config *bootstrap)
{
        size_t first = 0;
        while (first < n->n_log && n->log[first].e.index <= n->snap.index) {
                first++;
        }
        struct raft_entry *es = xmalloc((n->n_log - first) * sizeof(*es));
        for (size_t i = first; i < n->n_log; i++) {
                es[i - first] = n->log[i].e;
        }
        struct raft_initial_state s = {
            .hard_state = n->hs,
            .snapshot = n->snap,
            .entries = es,
            .n_entries = n->n_log - first,
            .bootstrap = *bootstrap,
        };
        assert_int_equal(raft_init(&n->r, &n->opts, &s), 0);
        free(es);
        n->up = true;
        sm_reset(n, n->snap.index);
}

static struct raft_config net_bootstrap_all(size_t count)
{
        struct raft_config c = {0};
        for (size_t i = 0; i < count; i++) {
                c.voters[c.n_voters++] = i + 1;
        }
        return c;
}

void net_init_config(struct net *net, size_t count, const struct raft_config *bootstrap,
                     void (*tweak)(struct raft_options *o))
{
        memset(net, 0, sizeof(*net));
        assert_true(count <= NET_NODES_MAX);
        net->n = count;
        net->snapshot_chunk_bytes = 16;
        net->bootstrap = *bootstrap;
        for (size_t i = 0; i < count; i++) {
                struct net_node *n = &net->nodes[i];
                n->id = i + 1;
                raft_options_default(&n->opts, n->id);
                n->opts.election_ticks = 10;
                n->opts.heartbeat_ticks = 1;
                n->opts.seed = 1000 + i;
                if (tweak != NULL) {
                        tweak(&n->opts);
                }
                node_start(n, bootstrap);
        }
}

void net_init(struct net *net, size_t count, void (*tweak)(struct raft_options *o))
{
        struct raft_config c = net_bootstrap_all(count);
        net_init_config(net, count, &c, tweak);
}

static void pending_free(struct net_node *n)
{
        for (size_t k = 0; k < n->n_pending; k++) {
                struct net_pending *pw = &n->pending[k];
                for (size_t i = 0; i < pw->n_entries; i++) {
                        free((void *)pw->entries[i].e.data);
                }
                free(pw->entries);
                for (size_t i = 0; i < pw->n_after; i++) {
                        msg_free(&pw->after[i]);
                }
                free(pw->after);
        }
        n->n_pending = 0;
        free(n->pending);
        n->pending = NULL;
        n->cap_pending = 0;
}

void net_close(struct net *net)
{
        for (size_t i = 0; i < net->n; i++) {
                struct net_node *n = &net->nodes[i];
                if (n->up) {
                        raft_close(&n->r);
                }
                pending_free(n);
                store_truncate(n, 1);
                free(n->log);
                sm_reset(n, 0);
                free(n->recv_buf);
        }
        net_drop_all(net);
        free(net->q);
        for (size_t i = 0; i < net->n_history; i++) {
                free((void *)net->history[i].data);
        }
        free(net->history);
}

struct net_node *net_node(struct net *net, uint64_t id)
{
        assert_true(id >= 1 && id <= net->n);
        return &net->nodes[id - 1];
}

int net_tick(struct net *net, uint64_t id)
{
        struct raft_event ev = {.type = RAFT_EV_TICK};
        return net_step(net, id, &ev);
}

void net_tick_all(struct net *net, unsigned ticks)
{
        for (unsigned t = 0; t < ticks; t++) {
                for (size_t i = 0; i < net->n; i++) {
                        if (net->nodes[i].up) {
                                net_tick(net, net->nodes[i].id);
                        }
                }
        }
}

int net_propose(struct net *net, uint64_t id, const char *s)
{
        struct raft_event ev = {.type = RAFT_EV_PROPOSE,
                                .propose = {.data = (const uint8_t *)s, .len = strlen(s)}};
        return net_step(net, id, &ev);
}

int net_campaign(struct net *net, uint64_t id)
{
        struct raft_event ev = {.type = RAFT_EV_CAMPAIGN};
        return net_step(net, id, &ev);
}

void net_deliver_n(struct net *net, size_t max)
{
        for (size_t k = 0; k < max && net->q_head < net->q_len; k++) {
                assert_true(net->delivered < 50u * NET_MSGS_MAX); /* livelock guard */
                struct raft_message m = net->q[net->q_head++].m;
                struct net_node *dst = net_node(net, m.to);
                bool keep = dst->up && !net->cut[m.from][m.to] &&
                            (net->filter == NULL || net->filter(net->filter_arg, &m));
                check_leader(net, &m);
                if (keep) {
                        struct raft_event ev = {.type = RAFT_EV_RECEIVE, .receive = &m};
                        net->delivered++;
                        net_step(net, m.to, &ev);
                }
                msg_free(&m);
        }
        if (net->q_head == net->q_len) {
                net->q_head = 0;
                net->q_len = 0;
        }
}

void net_deliver(struct net *net)
{
        for (int round = 0; round < 1000 && net->q_head < net->q_len; round++) {
                net_deliver_n(net, net->q_len - net->q_head);
        }
        assert_int_equal(net->q_head, net->q_len);
}

void net_drop_all(struct net *net)
{
        while (net->q_head < net->q_len) {
                msg_free(&net->q[net->q_head++].m);
        }
        net->q_head = 0;
        net->q_len = 0;
}

void net_isolate(struct net *net, uint64_t id)
{
        for (size_t i = 1; i <= net->n; i++) {
                net->cut[id][i] = true;
                net->cut[i][id] = true;
        }
}

void net_cut(struct net *net, uint64_t a, uint64_t b)
{
        net->cut[a][b] = true;
        net->cut[b][a] = true;
}

void net_heal(struct net *net)
{
        memset(net->cut, 0, sizeof(net->cut));
}

void net_crash(struct net *net, uint64_t id)
{
        struct net_node *n = net_node(net, id);
        assert_true(n->up);
        raft_close(&n->r);
        if (net->trace) {
                fprintf(stderr, "  n%llu: CRASH (lost %zu pending writes)\n",
                        (unsigned long long)id, n->n_pending);
        }
        pending_free(n);
        n->up = false;
}

void net_restart(struct net *net, uint64_t id)
{
        net_restart_with(net, id, &net->bootstrap);
}

void net_restart_with(struct net *net, uint64_t id, const struct raft_config *bootstrap)
{
        struct net_node *n = net_node(net, id);
        assert_false(n->up);
        node_start(n, bootstrap);
        if (net->trace) {
                fprintf(stderr, "  n%llu: RESTART term %llu vote %llu last %llu\n",
                        (unsigned long long)id, (unsigned long long)n->hs.term,
                        (unsigned long long)n->hs.vote, (unsigned long long)raft_last_index(&n->r));
        }
}

uint64_t net_leader(struct net *net)
{
        uint64_t best = 0;
        uint64_t best_term = 0;
        for (size_t i = 0; i < net->n; i++) {
                struct net_node *n = &net->nodes[i];
                if (n->up && raft_role(&n->r) == RAFT_LEADER && raft_term(&n->r) >= best_term) {
                        best = n->id;
                        best_term = raft_term(&n->r);
                }
        }
        return best;
}

uint64_t net_elect(struct net *net, unsigned max_ticks)
{
        for (unsigned t = 0; t < max_ticks; t++) {
                net_tick_all(net, 1);
                net_deliver(net);
                uint64_t l = net_leader(net);
                if (l != 0) {
                        return l;
                }
        }
        return 0;
}

int net_snapshot(struct net *net, uint64_t id)
{
        struct net_node *n = net_node(net, id);
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_TAKEN,
                                .snapshot_taken.index = n->applied_index};
        int rv = net_step(net, id, &ev);
        if (rv == 0) {
                n->snap = *raft_snapshot(&n->r);
        }
        return rv;
}

/* Log matching (§3.5): same index and term => same terms before it too. */
static void check_log_matching(struct raft *x, struct raft *y)
{
        uint64_t lo =
            raft_first_index(x) > raft_first_index(y) ? raft_first_index(x) : raft_first_index(y);
        uint64_t hi =
            raft_last_index(x) < raft_last_index(y) ? raft_last_index(x) : raft_last_index(y);
        bool matched = false;
        for (uint64_t i = hi; i >= lo && i > 0; i--) {
                uint64_t tx = raft_term_at(x, i);
                uint64_t ty = raft_term_at(y, i);
                if (matched) {
                        assert_int_equal(tx, ty);
                } else {
                        matched = tx == ty;
                }
        }
}

/* Leader completeness (§3.6): the leader of the newest term holds every entry
 * ever applied anywhere (all were committed in its term or before it). */
static void check_leader_complete(struct net *net, struct raft *r)
{
        for (uint64_t i = raft_first_index(r); i <= net->n_history; i++) {
                assert_true(i <= raft_last_index(r));
                assert_int_equal(raft_term_at(r, i), net->history[i - 1].term);
        }
}

static uint64_t newest_term(const struct net *net)
{
        uint64_t t = 0;
        for (size_t i = 0; i < net->n; i++) {
                const struct net_node *n = &net->nodes[i];
                uint64_t nt = n->up ? raft_term(&n->r) : n->hs.term;
                t = nt > t ? nt : t;
        }
        return t;
}

void net_check_safety(struct net *net)
{
        uint64_t newest = newest_term(net);
        for (size_t a = 0; a < net->n; a++) {
                struct net_node *x = &net->nodes[a];
                if (!x->up) {
                        continue;
                }
                /* Only a leader whose vote is durable has really been elected. */
                if (raft_role(&x->r) == RAFT_LEADER && raft_term(&x->r) == newest &&
                    x->hs.term == newest && x->n_pending == 0) {
                        check_leader_complete(net, &x->r);
                }
                for (size_t b = a + 1; b < net->n; b++) {
                        if (net->nodes[b].up) {
                                check_log_matching(&x->r, &net->nodes[b].r);
                        }
                }
        }
        for (size_t a = 0; a < net->n; a++) {
                for (size_t b = a + 1; b < net->n; b++) {
                        struct net_node *x = &net->nodes[a];
                        struct net_node *y = &net->nodes[b];
                        for (size_t i = 0; i < x->n_applied; i++) {
                                const struct raft_entry *e = &x->applied[i].e;
                                if (e->index <= y->applied_base || e->index > y->applied_index) {
                                        continue;
                                }
                                const struct raft_entry *f =
                                    &y->applied[e->index - y->applied_base - 1].e;
                                assert_int_equal(e->term, f->term);
                                assert_int_equal(e->len, f->len);
                                if (e->len > 0) {
                                        assert_memory_equal(e->data, f->data, e->len);
                                }
                        }
                }
        }
}

void net_store_reset(struct net *net, uint64_t id, uint64_t term, const uint64_t *terms,
                     size_t count)
{
        struct net_node *n = net_node(net, id);
        assert_false(n->up);
        store_truncate(n, 1);
        memset(&n->snap, 0, sizeof(n->snap));
        n->hs = (struct raft_hard_state){.term = term, .vote = RAFT_NONE};
        for (size_t i = 0; i < count; i++) {
                char buf[32];
                int len =
                    snprintf(buf, sizeof(buf), "%zu@%llu", i + 1, (unsigned long long)terms[i]);
                struct raft_entry e = {.term = terms[i],
                                       .index = i + 1,
                                       .type = RAFT_ENTRY_NORMAL,
                                       .data = (const uint8_t *)buf,
                                       .len = (size_t)len};
                store_append(n, &e, 1);
        }
}

size_t net_queued(const struct net *net)
{
        return net->q_len - net->q_head;
}

void net_deliver_at(struct net *net, size_t i)
{
        assert_true(i < net_queued(net));
        struct net_msg tmp = net->q[net->q_head];
        net->q[net->q_head] = net->q[net->q_head + i];
        net->q[net->q_head + i] = tmp;
        net_deliver_n(net, 1);
}

void net_drop_at(struct net *net, size_t i)
{
        assert_true(i < net_queued(net));
        struct net_msg tmp = net->q[net->q_head];
        net->q[net->q_head] = net->q[net->q_head + i];
        net->q[net->q_head + i] = tmp;
        msg_free(&net->q[net->q_head++].m);
}

void net_duplicate_at(struct net *net, size_t i)
{
        assert_true(i < net_queued(net));
        struct raft_message copy;
        msg_copy(&copy, &net->q[net->q_head + i].m);
        enqueue(net, &copy);
        msg_free(&copy);
}
