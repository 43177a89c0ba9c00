/*
 * One run of the simulator: a cluster, its event loop and its driver.
 *
 * The loop pops the earliest event (sim_queue.c gives a total order) and hands
 * it to its node: a timer tick, a disk completion or a message delivery; the
 * node's host (host_sim.c) steps the core and the checker (checker.c) runs on
 * the update. The driver is an event of its own every SIM_DRIVER_PERIOD_US: it
 * plays the clients (txns proposed on the leader, ReadIndex reads and watches
 * anywhere: workload.c) and, in the fault phase, the adversary (crash,
 * restart, pause, partition, membership change, leadership transfer,
 * snapshot, wall clock jump), each with the seed's swarm rate.
 *
 * Phases, as in TigerBeetle's VOPR. The fault phase runs opt.steps events.
 * Then everything heals: every node that should run is restarted and
 * unpaused, partitions end, nothing is lost or duplicated. The liveness phase
 * then requires that within a bound (sim_liveness_bound_us) a leader commits
 * a new entry and every member of its configuration applies it; otherwise the
 * run fails. Last, with pre-vote and check-quorum on, the stability phase cuts
 * one follower off and lets it back: the leader must stay (sim_stability).
 *
 * Membership: one slot more than the initial voters. The driver adds the spare
 * slot's node as a learner, promotes it once it has caught up, and, while
 * there are more voters than the initial count, removes a random voter (maybe
 * the leader). Once a configuration without a node commits, that node is
 * killed and wiped, and its slot gets a fresh node id: a removed server is
 * never re-added under its old identity with its old disk.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "sim.h"

void sim_trace(struct sim_cluster *c, struct sim_node *n, const char *fmt, ...)
{
        if (!c->opt.trace)
                return;
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n != NULL)
                printf("[%8" PRIu64 ".%03" PRIu64 "] n%-2" PRIu64 " %s\n", c->now_us / 1000,
                       c->now_us % 1000, n->id, line);
        else
                printf("[%8" PRIu64 ".%03" PRIu64 "] --  %s\n", c->now_us / 1000, c->now_us % 1000,
                       line);
}

struct sim_node *sim_current_leader(struct sim_cluster *c)
{
        struct sim_node *best = NULL;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                if (!n->up || n->role != RAFT_LEADER)
                        continue;
                if (best == NULL || n->term > best->term)
                        best = n;
        }
        return best;
}

static struct sim_node *sim_random_up_node(struct sim_cluster *c)
{
        uint32_t up[SIM_SLOTS_MAX];
        uint32_t count = 0;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                if (c->nodes[i].up)
                        up[count++] = i;
        }
        if (count == 0)
                return NULL;
        return &c->nodes[up[syn_rand_below(&c->rand, count)]];
}

static bool sim_config_has(const struct raft_config *cfg, uint64_t id)
{
        return raft_config_is_voter(cfg, id) || raft_config_is_learner(cfg, id);
}

/* ---- trace lines for events ---- */

static void sim_describe_msg(const struct raft_message *m, char *buf, size_t cap)
{
        int k = snprintf(buf, cap, "%s from n%" PRIu64 " term %" PRIu64,
                         raft_msg_type_name(m->type), m->from, m->term);
        if (k < 0 || (size_t)k >= cap)
                return;
        buf += k;
        cap -= (size_t)k;
        switch (m->type) {
        case RAFT_MSG_VOTE:
                snprintf(buf, cap, " last %" PRIu64 "/%" PRIu64 "%s%s", m->vote.last_log_index,
                         m->vote.last_log_term, m->vote.pre_vote ? " pre" : "",
                         m->vote.transfer ? " transfer" : "");
                break;
        case RAFT_MSG_VOTE_RESP:
                snprintf(buf, cap, "%s %s", m->vote_resp.pre_vote ? " pre" : "",
                         m->vote_resp.granted ? "granted" : "rejected");
                break;
        case RAFT_MSG_APPEND:
                snprintf(buf, cap, " prev %" PRIu64 "/%" PRIu64 " n=%u commit %" PRIu64,
                         m->append.prev_index, m->append.prev_term, m->append.n_entries,
                         m->append.commit);
                break;
        case RAFT_MSG_APPEND_RESP:
                snprintf(buf, cap, " %s index %" PRIu64 " hint %" PRIu64 "/%" PRIu64,
                         m->append_resp.success ? "ok" : "reject", m->append_resp.index,
                         m->append_resp.hint_index, m->append_resp.hint_term);
                break;
        case RAFT_MSG_HEARTBEAT:
                snprintf(buf, cap, " commit %" PRIu64 " read_seq %" PRIu64, m->heartbeat.commit,
                         m->heartbeat.read_seq);
                break;
        case RAFT_MSG_SNAPSHOT:
                snprintf(buf, cap, " snap %" PRIu64 "/%" PRIu64 " offset %" PRIu64,
                         m->snapshot.meta.index, m->snapshot.meta.term, m->snapshot.offset);
                break;
        case RAFT_MSG_READ_INDEX_RESP:
                snprintf(buf, cap, " ctx %" PRIu64 " index %" PRIu64 " %s", m->read_index_resp.ctx,
                         m->read_index_resp.index, m->read_index_resp.ok ? "ok" : "refused");
                break;
        default:
                break;
        }
}

static void sim_trace_state(struct sim_cluster *c, struct sim_node *n, const char *what)
{
        if (!c->opt.trace)
                return;
        if (!n->up) {
                sim_trace(c, n, "%s (down)", what);
                return;
        }
        sim_trace(c, n,
                  "%-9s t%-3" PRIu64 " commit %-5" PRIu64 " last %-5" PRIu64 " applied %-5" PRIu64
                  " | %s",
                  raft_role_name(n->role), n->term, n->commit, raft_last_index(&n->core),
                  n->sm.applied, what);
}

/* ---- events ---- */

static void sim_push(struct sim_cluster *c, struct sim_event ev)
{
        if (sim_queue_push(&c->q, ev) != SYN_OK) {
                sim_packet_free(ev.packet);
                sim_fail(c, "event queue full");
        }
}

static void sim_check_rc(struct sim_cluster *c, struct sim_node *n, int rc, const char *what)
{
        if (rc != SYN_OK)
                sim_fail(c, "n%" PRIu64 ": %s returned %s", n->id, what, syn_errname(rc));
}

static void sim_on_tick(struct sim_cluster *c, struct sim_node *n)
{
        struct raft_event ev = {.type = RAFT_EV_TICK};
        sim_check_rc(c, n, sim_host_step(c, n, &ev), "TICK");
        if (n->up)
                sim_push(c, (struct sim_event){.time_us = c->now_us + n->tick_us,
                                               .slot = n->slot,
                                               .kind = SIM_EV_TICK,
                                               .incarnation = n->incarnation});
        sim_trace_state(c, n, "tick");
}

static void sim_on_deliver(struct sim_cluster *c, struct sim_node *n, struct sim_packet *p)
{
        struct sim_node *from = sim_node_by_id(c, p->msg.from);
        if (!n->up || n->id != p->msg.to || from == NULL || c->link_cut[from->slot][n->slot]) {
                sim_packet_free(p);
                return;
        }
        struct raft_event ev = {.type = RAFT_EV_RECEIVE, .receive = &p->msg};
        n->vote_req_valid = p->msg.type == RAFT_MSG_VOTE;
        n->vote_req = p->msg;
        n->vote_req_term_before = raft_term(&n->core);
        n->vote_req_last_index = raft_last_index(&n->core);
        n->vote_req_last_term = raft_last_term(&n->core);
        int rc = sim_host_step(c, n, &ev);
        n->vote_req_valid = false;
        if (c->opt.trace) {
                char what[256];
                sim_describe_msg(&p->msg, what, sizeof(what));
                sim_trace_state(c, n, what);
        }
        sim_packet_free(p);
        sim_check_rc(c, n, rc, "RECEIVE");
        if (!c->healing && n->up && syn_rand_chance(&c->rand, c->sw.crash_after_receive_ppm)) {
                sim_node_crash(c, n);
                n->down_until_us =
                    c->now_us + syn_rand_range(&c->rand, 1, c->sw.restart_fast_us_max);
                c->st.crashes++;
        }
}

/* Postpones an event of a paused node to the end of its pause. */
static bool sim_postpone_if_paused(struct sim_cluster *c, struct sim_node *n,
                                   const struct sim_event *ev)
{
        if (!n->up || n->paused_until_us <= c->now_us)
                return false;
        struct sim_event later = *ev;
        later.time_us = n->paused_until_us;
        sim_push(c, later);
        return true;
}

static void sim_driver(struct sim_cluster *c);

/* Folds the event and the state it left into the run's digest. */
static void sim_digest(struct sim_cluster *c, const struct sim_event *ev)
{
        uint64_t v[8] = {ev->time_us, ev->slot, ev->kind, 0, 0, 0, 0, 0};
        if (ev->slot < c->n_slots && c->nodes[ev->slot].up) {
                const struct sim_node *n = &c->nodes[ev->slot];
                v[3] = n->id;
                v[4] = ((uint64_t)n->role << 56) ^ n->term;
                v[5] = n->commit;
                v[6] = n->sm.applied;
                v[7] = n->sm.open ? sm_digest(&n->sm) : 0;
        }
        c->st.digest = sim_hash_bytes(c->st.digest, v, sizeof(v));
}

static void sim_dispatch_event(struct sim_cluster *c, const struct sim_event *ev);

static void sim_dispatch(struct sim_cluster *c, const struct sim_event *ev)
{
        sim_dispatch_event(c, ev);
        sim_digest(c, ev);
}

static void sim_dispatch_event(struct sim_cluster *c, const struct sim_event *ev)
{
        SYN_ASSERT(ev->time_us >= c->now_us);
        c->now_us = ev->time_us;
        c->st.events++;
        if (ev->kind == SIM_EV_DRIVER) {
                sim_driver(c);
                sim_push(c, (struct sim_event){.time_us = c->now_us + SIM_DRIVER_PERIOD_US,
                                               .slot = SIM_SLOTS_MAX,
                                               .kind = SIM_EV_DRIVER});
                return;
        }
        SYN_ASSERT(ev->slot < c->n_slots);
        struct sim_node *n = &c->nodes[ev->slot];
        if (sim_postpone_if_paused(c, n, ev))
                return;
        switch (ev->kind) {
        case SIM_EV_TICK:
                if (n->up && ev->incarnation == n->incarnation)
                        sim_on_tick(c, n);
                break;
        case SIM_EV_DISK:
                if (n->up && ev->incarnation == n->incarnation) {
                        sim_host_disk_done(c, n);
                        sim_trace_state(c, n, "disk write done");
                }
                break;
        case SIM_EV_DELIVER:
                sim_on_deliver(c, n, ev->packet);
                break;
        case SIM_EV_DRIVER:
                SYN_UNREACHABLE();
        }
}

/* ---- membership bookkeeping ---- */

/* A configuration entry was first seen committed (the checker set
 * recycle_pending): retire the nodes it removed. Called between steps, never
 * inside one: the removed node may be the one that applied it. */
static void sim_config_committed(struct sim_cluster *c)
{
        for (uint32_t s = 0; s < c->n_slots; s++) {
                struct sim_node *n = &c->nodes[s];
                if (sim_config_has(&c->committed_config, n->id) || !n->was_member)
                        continue;
                /* Removed: the server is decommissioned and its data deleted. */
                if (n->up)
                        sim_node_crash(c, n);
                sim_node_wipe(n);
                sim_trace(c, n, "removed from the cluster; slot %u becomes n%" PRIu64, s,
                          c->next_id);
                n->id = c->next_id++;
                n->was_member = false;
                n->active = false;
                n->bootstrap = false;
        }
}

/* ---- the driver ---- */

static void sim_driver_restart(struct sim_cluster *c)
{
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                if (!n->up && n->active && n->down_until_us <= c->now_us)
                        sim_node_start(c, n);
        }
}

static void sim_driver_crash(struct sim_cluster *c)
{
        /* Half the crashes hit the leader: elections are where votes and terms
         * must have been persisted. */
        struct sim_node *n = syn_rand_chance(&c->rand, 500000) ? sim_current_leader(c) : NULL;
        if (n == NULL)
                n = sim_random_up_node(c);
        if (n == NULL)
                return;
        sim_node_crash(c, n);
        /* Half the crashes are quick restarts (a process supervisor), half are long. */
        uint32_t down_max =
            syn_rand_chance(&c->rand, 500000) ? c->sw.restart_fast_us_max : c->sw.down_us_max;
        n->down_until_us = c->now_us + syn_rand_range(&c->rand, 1, down_max);
        c->st.crashes++;
}

static void sim_driver_pause(struct sim_cluster *c)
{
        struct sim_node *n = sim_random_up_node(c);
        if (n == NULL || n->paused_until_us > c->now_us)
                return;
        n->paused_until_us = c->now_us + syn_rand_range(&c->rand, 1, c->sw.pause_us_max);
        c->st.pauses++;
        sim_trace(c, n, "paused until %" PRIu64 " us", n->paused_until_us);
}

static void sim_driver_conf(struct sim_cluster *c)
{
        struct sim_node *l = sim_current_leader(c);
        if (l == NULL || l->paused_until_us > c->now_us)
                return;
        struct raft_config cfg = *raft_config(&l->core);
        struct raft_event ev = {.type = RAFT_EV_CONF_CHANGE};
        for (uint32_t s = 0; s < c->n_slots; s++) {
                struct sim_node *n = &c->nodes[s];
                if (sim_config_has(&cfg, n->id) || n->was_member)
                        continue;
                if (!n->up) {
                        n->active = true;
                        n->bootstrap = false;
                        if (sim_node_start(c, n) != SYN_OK)
                                return;
                }
                ev.conf_change.op = RAFT_CONF_ADD_LEARNER;
                ev.conf_change.node_id = n->id;
        }
        for (uint32_t i = 0; i < cfg.n_learners && ev.conf_change.op == 0; i++) {
                struct sim_node *n = sim_node_by_id(c, cfg.learners[i]);
                if (n != NULL && n->up && raft_last_index(&n->core) >= l->commit) {
                        ev.conf_change.op = RAFT_CONF_PROMOTE;
                        ev.conf_change.node_id = n->id;
                }
        }
        if (ev.conf_change.op == 0 && cfg.n_learners == 0 && cfg.n_voters > c->sw.nodes) {
                ev.conf_change.op = RAFT_CONF_REMOVE;
                ev.conf_change.node_id = cfg.voters[syn_rand_below(&c->rand, cfg.n_voters)];
        }
        if (ev.conf_change.op == 0)
                return;
        int rc = sim_host_step(c, l, &ev);
        if (rc == SYN_OK)
                c->st.conf_changes++;
        sim_trace(c, l, "conf change op %d n%" PRIu64 ": %s", ev.conf_change.op,
                  ev.conf_change.node_id, syn_errname(rc));
}

static void sim_driver_transfer(struct sim_cluster *c)
{
        struct sim_node *l = sim_current_leader(c);
        if (l == NULL || l->paused_until_us > c->now_us)
                return;
        const struct raft_config *cfg = raft_config(&l->core);
        if (cfg->n_voters < 2)
                return;
        uint64_t target = cfg->voters[syn_rand_below(&c->rand, cfg->n_voters)];
        if (target == l->id)
                return;
        struct raft_event ev = {.type = RAFT_EV_TRANSFER, .transfer = {.target = target}};
        int rc = sim_host_step(c, l, &ev);
        if (rc == SYN_OK)
                c->st.transfers++;
        sim_trace(c, l, "transfer leadership to n%" PRIu64 ": %s", target, syn_errname(rc));
}

static void sim_driver_faults(struct sim_cluster *c)
{
        struct syn_rand *r = &c->rand;
        if (c->heal_at_us != 0 && c->now_us >= c->heal_at_us) {
                sim_net_heal(c);
                sim_trace(c, NULL, "partition healed");
        }
        if (syn_rand_chance(r, c->sw.crash_ppm))
                sim_driver_crash(c);
        if (syn_rand_chance(r, c->sw.pause_ppm))
                sim_driver_pause(c);
        if (c->heal_at_us == 0 && syn_rand_chance(r, c->sw.partition_ppm))
                sim_net_partition(c);
        if (syn_rand_chance(r, c->sw.conf_ppm))
                sim_driver_conf(c);
        if (syn_rand_chance(r, c->sw.transfer_ppm))
                sim_driver_transfer(c);
        if (syn_rand_chance(r, c->sw.snapshot_ppm)) {
                struct sim_node *n = sim_random_up_node(c);
                if (n != NULL && n->paused_until_us <= c->now_us)
                        sim_snapshot_take(c, n);
        }
        if (syn_rand_chance(r, c->sw.clock_jump_ppm))
                sim_clock_jump(c);
}

static void sim_driver_clients(struct sim_cluster *c)
{
        struct syn_rand *r = &c->rand;
        if (syn_rand_chance(r, c->sw.propose_ppm)) {
                struct sim_node *l = sim_current_leader(c);
                if (l != NULL && l->paused_until_us <= c->now_us &&
                    raft_last_index(&l->core) - l->commit < SIM_UNCOMMITTED_ENTRIES_MAX)
                        (void)sim_host_propose(c, l, false);
        }
        if (syn_rand_chance(r, c->sw.read_ppm)) {
                struct sim_node *n = sim_random_up_node(c);
                if (n != NULL && n->paused_until_us <= c->now_us)
                        (void)sim_host_read(c, n);
        }
        if (syn_rand_chance(r, c->sw.watch_ppm)) {
                struct sim_node *n = sim_random_up_node(c);
                if (n != NULL && n->paused_until_us <= c->now_us)
                        sim_workload_watch(c, n);
        }
        if (c->now_us % (100 * SIM_DRIVER_PERIOD_US) == 0) {
                for (uint32_t i = 0; i < c->n_slots; i++)
                        sim_host_expire_reads(c, &c->nodes[i]);
        }
}

static void sim_driver(struct sim_cluster *c)
{
        sim_driver_restart(c);
        if (!c->healing)
                sim_driver_faults(c);
        sim_driver_clients(c);
}

/* ---- the run ---- */

static void sim_cluster_init(struct sim_cluster *c, const struct sim_swarm *sw,
                             const struct sim_options *opt)
{
        memset(c, 0, sizeof(*c));
        c->sw = *sw;
        c->opt = *opt;
        syn_rand_seed(&c->rand, sw->seed ^ 0x5851f42d4c957f2dull);
        sim_queue_init(&c->q);
        sim_checker_init(&c->ck);
        c->n_slots = sw->nodes + 1;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                n->cluster = c;
                n->slot = i;
                n->id = i + 1;
                n->bootstrap = i < sw->nodes;
                n->was_member = n->bootstrap;
                n->active = n->bootstrap;
                sim_clock_init(c, n);
                if (n->bootstrap)
                        c->committed_config.voters[c->committed_config.n_voters++] = n->id;
        }
        c->next_id = c->n_slots + 1;
        c->st.seeds = 1;
        c->st.digest = SIM_HASH_INIT;
}

static void sim_cluster_close(struct sim_cluster *c)
{
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                if (n->up) {
                        bool healing = c->healing;
                        c->healing = true; /* no torn writes on the way out */
                        sim_node_crash(c, n);
                        c->healing = healing;
                }
                sim_node_wipe(n);
        }
        sim_queue_close(&c->q);
        sim_checker_close(&c->ck);
}

static void sim_after_step(struct sim_cluster *c)
{
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                bool hit = n->leader_committed && n->up && !c->healing &&
                           syn_rand_chance(&c->rand, c->sw.crash_after_commit_ppm);
                n->leader_committed = false;
                if (hit) {
                        sim_node_crash(c, n);
                        n->down_until_us =
                            c->now_us + syn_rand_range(&c->rand, 1, c->sw.restart_fast_us_max);
                        c->st.crashes++;
                }
        }
        if (c->recycle_pending) {
                c->recycle_pending = false;
                sim_config_committed(c);
        }
}

/* Runs events until the queue has run `steps` more, or until stop() holds. */
static void sim_loop(struct sim_cluster *c, uint64_t steps, uint64_t until_us,
                     bool (*stop)(struct sim_cluster *))
{
        struct sim_event ev;
        for (uint64_t i = 0; i < steps && !c->ck.failed; i++) {
                if (stop != NULL && stop(c))
                        return;
                if (!sim_queue_pop(&c->q, &ev)) {
                        sim_fail(c, "event queue ran dry");
                        return;
                }
                if (ev.time_us > until_us) {
                        sim_push(c, ev);
                        return;
                }
                sim_dispatch(c, &ev);
                sim_after_step(c);
        }
}

/* Liveness: the current leader's configuration has applied the probe entry. */
static bool sim_live(struct sim_cluster *c)
{
        struct sim_node *l = sim_current_leader(c);
        if (l == NULL || c->live_index == 0)
                return false;
        if (c->live_index > c->ck.committed_max || !c->ck.committed[c->live_index].known ||
            c->ck.committed[c->live_index].term != c->live_term)
                return false;
        const struct raft_config *cfg = raft_config(&l->core);
        for (uint32_t s = 0; s < c->n_slots; s++) {
                struct sim_node *n = &c->nodes[s];
                if (!sim_config_has(cfg, n->id))
                        continue;
                if (!n->up || n->sm.applied < c->live_index)
                        return false;
        }
        return true;
}

static bool sim_live_probe(struct sim_cluster *c)
{
        if (sim_live(c))
                return true;
        /* Propose the probe on the leader; again only if the leader no longer
         * holds it (it was lost with a leader change). */
        struct sim_node *l = sim_current_leader(c);
        if (l == NULL || c->now_us < c->live_retry_us)
                return false;
        if (c->live_index != 0 && raft_term_at(&l->core, c->live_index) == c->live_term)
                return false;
        if (sim_host_propose(c, l, true) == SYN_OK)
                sim_trace(c, l, "liveness probe proposed at %" PRIu64, c->live_index);
        c->live_retry_us = c->now_us + (uint64_t)c->sw.election_ticks * sim_clock_tick_us_max(c);
        return false;
}

/* The longest snapshot file of the nodes that should run: a lagging node may
 * need it, one chunk per round trip. */
static size_t sim_snapshot_len_max(const struct sim_cluster *c)
{
        size_t len = 0;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                const struct sim_node *n = &c->nodes[i];
                if (n->active && n->disk_snapshot.len > len)
                        len = n->disk_snapshot.len;
        }
        return len;
}

/*
 * How long the healed cluster may take: elections (at the slowest tick), plus
 * the time to ship the longest lag at the slowest rate the swarm allows
 * (max_msg_bytes entries of the largest txn per append, max_inflight_msgs
 * appends per round trip, one round trip = two maximal delays and a maximal
 * disk write) and the largest snapshot (one chunk per round trip: the leader
 * sends the next on the answer), times three for rejected out-of-order
 * appends and transfers restarted by a new leader.
 */
static uint64_t sim_liveness_bound_us(struct sim_cluster *c)
{
        uint64_t last_max = 0, last_min = UINT64_MAX;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                const struct sim_node *n = &c->nodes[i];
                if (!n->active)
                        continue;
                uint64_t last = sim_log_last_index(&n->mirror);
                if (last > last_max)
                        last_max = last;
                if (last < last_min)
                        last_min = last;
        }
        uint64_t lag = last_max > last_min ? last_max - last_min : 0;
        uint64_t per_msg = c->sw.max_msg_bytes / (SIM_TXN_BYTES_MAX + 16);
        uint64_t per_rtt = (per_msg ? per_msg : 1) * c->sw.max_inflight_msgs;
        uint64_t rtt_us = 2ull * c->sw.delay_us_max + c->sw.disk_us_max;
        uint64_t chunks = sim_snapshot_len_max(c) / c->sw.snapshot_chunk_bytes + 1;
        uint64_t elections_us = (uint64_t)SIM_LIVENESS_ELECTIONS_MAX * 2 * c->sw.election_ticks *
                                sim_clock_tick_us_max(c);
        return elections_us + 3 * ((lag + SIM_UNCOMMITTED_ENTRIES_MAX) / per_rtt + chunks) * rtt_us;
}

static void sim_heal(struct sim_cluster *c)
{
        c->healing = true;
        sim_net_heal(c);
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                n->paused_until_us = 0;
                n->down_until_us = 0;
                if (!n->up && n->active)
                        sim_node_start(c, n);
        }
        sim_trace(c, NULL, "healed: liveness phase");
}

/* ---- stability: a returning partitioned node must not depose the leader ---- */

/* The highest term of the running nodes other than `except` (may be NULL). */
static uint64_t sim_max_term(const struct sim_cluster *c, const struct sim_node *except)
{
        uint64_t t = 0;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                const struct sim_node *n = &c->nodes[i];
                if (n != except && n->up && n->term > t)
                        t = n->term;
        }
        return t;
}

/* Runs `us` of simulated time; true if the same leader still leads the same
 * term and nobody (but `except`) has a higher one. */
static bool sim_run_stable(struct sim_cluster *c, uint64_t us, struct sim_node *l, uint64_t term,
                           const struct sim_node *except)
{
        sim_loop(c, UINT64_MAX, c->now_us + us, NULL);
        return !c->ck.failed && sim_current_leader(c) == l && l->term == term &&
               sim_max_term(c, except) == term;
}

/* Picks a voter other than the leader, or NULL. */
static struct sim_node *sim_pick_follower(struct sim_cluster *c, struct sim_node *l)
{
        const struct raft_config *cfg = raft_config(&l->core);
        struct sim_node *pick[SIM_SLOTS_MAX];
        uint32_t count = 0;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                struct sim_node *n = &c->nodes[i];
                if (n != l && n->up && raft_config_is_voter(cfg, n->id))
                        pick[count++] = n;
        }
        return count ? pick[syn_rand_below(&c->rand, count)] : NULL;
}

/*
 * §9.6 (pre-vote) with leader stickiness, the design's promise that "a
 * partitioned node does not disrupt the cluster when it returns": after the
 * liveness phase, cut one follower off for two maximal election timeouts
 * while clients write (its log falls behind; its timer fires; pre-vote keeps
 * its term), then let it back. For two more timeouts the leader must keep its
 * term and its leadership. Checked only when pre-vote and check-quorum are on
 * and the cluster is first seen stable for a maximal election timeout (a
 * transfer or a removal may still be settling after the faults).
 */
static void sim_stability(struct sim_cluster *c)
{
        uint64_t timeout_us = 2ull * c->sw.election_ticks * sim_clock_tick_us_max(c);
        struct sim_node *l = NULL;
        uint64_t term = 0;
        for (int attempt = 0; attempt < 5 && !c->ck.failed; attempt++) {
                l = sim_current_leader(c);
                term = l ? l->term : 0;
                if (l != NULL && raft_transferee(&l->core) == RAFT_NONE &&
                    sim_run_stable(c, timeout_us, l, term, NULL))
                        break;
                l = NULL;
        }
        struct sim_node *v = l ? sim_pick_follower(c, l) : NULL;
        if (v == NULL)
                return;
        for (uint32_t b = 0; b < c->n_slots; b++) {
                if (b != v->slot) {
                        c->link_cut[v->slot][b] = true;
                        c->link_cut[b][v->slot] = true;
                }
        }
        sim_trace(c, v, "stability: isolated from leader n%" PRIu64 " of term %" PRIu64, l->id,
                  term);
        bool stable = sim_run_stable(c, 2 * timeout_us, l, term, v);
        bool behind = raft_last_index(&l->core) > raft_last_index(&v->core);
        sim_net_heal(c);
        sim_trace(c, v, "stability: back (log %s the leader's)", behind ? "behind" : "level with");
        if (!c->ck.failed && v->up && v->term != term) {
                /* With pre-vote a node that reaches nobody never gets a majority. */
                sim_fail(c,
                         "pre-vote: n%" PRIu64 " moved from term %" PRIu64 " to %" PRIu64
                         " while cut off from everyone (§9.6)",
                         v->id, term, v->term);
                return;
        }
        if (!stable || !behind)
                return; /* the leader moved without v's doing: not this check's business */
        if (!sim_run_stable(c, 2 * timeout_us, l, term, NULL) && !c->ck.failed)
                sim_fail(c,
                         "disruption: n%" PRIu64 " returning from isolation with a stale log "
                         "unseated leader n%" PRIu64 " of term %" PRIu64 " (now term %" PRIu64
                         ", §9.6)",
                         v->id, l->id, term, sim_max_term(c, NULL));
}

int sim_run(const struct sim_swarm *sw, const struct sim_options *opt, struct sim_stats *st)
{
        struct sim_cluster *c = malloc(sizeof(*c));
        SYN_ASSERT(c != NULL);
        sim_cluster_init(c, sw, opt);
        for (uint32_t i = 0; i < sw->nodes; i++)
                sim_node_start(c, &c->nodes[i]);
        sim_push(c, (struct sim_event){.time_us = 0, .slot = SIM_SLOTS_MAX, .kind = SIM_EV_DRIVER});

        sim_loop(c, opt->steps, UINT64_MAX, NULL);
        if (!c->ck.failed) {
                sim_heal(c);
                uint64_t bound_us = sim_liveness_bound_us(c);
                sim_loop(c, UINT64_MAX, c->now_us + bound_us, sim_live_probe);
                if (!c->ck.failed && !sim_live(c))
                        sim_fail(c,
                                 "liveness: no leader committed a new entry on every member "
                                 "within %" PRIu64 " ms after healing",
                                 bound_us / 1000);
                if (!c->ck.failed && c->sw.pre_vote && c->sw.check_quorum)
                        sim_stability(c);
                sim_check_end(c);
        }
        c->st.sim_time_us = c->now_us;
        c->st.committed_max = c->ck.committed_max;
        int failed = c->ck.failed;
        if (failed) {
                c->st.failures = 1;
                printf("FAIL seed %" PRIu64 " at %" PRIu64 " us (event %" PRIu64 "): %s\n",
                       sw->seed, c->now_us, c->st.events, c->ck.reason);
                sim_swarm_print(sw, stdout);
        }
        *st = c->st;
        sim_cluster_close(c);
        free(c);
        return failed ? 1 : 0;
}
