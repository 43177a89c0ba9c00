/*
 * Each node's clocks. A server has two: the wall clock, which the leader
 * stamps into every txn it proposes (ctime, mtime, TTL expiry and reap
 * decisions: tree/txn.h), and the monotonic tick that drives Raft's timers.
 *
 * The wall clock of node n at simulated time t (us) is
 *
 *     SIM_CLOCK_EPOCH + t + t * drift_ppm / 10^6 + offset
 *
 * where drift_ppm is the node's oscillator error, drawn once per slot from
 * +-clock_drift_ppm_max, and offset its initial error, drawn from
 * +-clock_offset_us_max and moved by jumps (an NTP step, forwards or
 * backwards by up to clock_jump_us_max, at the swarm's clock_jump_ppm). So
 * two leaders stamp different times for the same moment, and a new leader's
 * clock may be behind its predecessor's: mtime can go backwards in the tree,
 * which is harmless as long as every server applies the stamp it is given.
 * Applying must never read a clock: SYNOD_PLANT_APPLY_LOCAL_TIME (host_sim.c)
 * shows that the tree digest check notices when it does.
 *
 * The tick period drifts with the same oscillator (SIM_TICK_US scaled by
 * drift_ppm) except in lease swarms. A lease read is safe only while the
 * voters' stickiness (election_ticks of their ticks) outlasts the leader's
 * lease (election_ticks - heartbeat_ticks of its ticks, docs/raft.md); with
 * heartbeat_ticks = 1 that margin is one tick of quantisation and no rate
 * difference at all, so the lease assumes equal tick rates and lease swarms
 * keep exact ticks. Jumps never move ticks: a monotonic clock does not step.
 */
#include "base/assert.h"
#include "sim.h"

#define SIM_PPM 1000000

/* Uniform in [-max, +max]. */
static int64_t sim_clock_signed(struct syn_rand *r, uint32_t max)
{
        return (int64_t)syn_rand_range(r, 0, 2ull * max) - (int64_t)max;
}

void sim_clock_init(struct sim_cluster *c, struct sim_node *n)
{
        n->clock_drift_ppm = sim_clock_signed(&c->rand, c->sw.clock_drift_ppm_max);
        n->clock_offset_us = sim_clock_signed(&c->rand, c->sw.clock_offset_us_max);
        n->tick_us = SIM_TICK_US;
        if (!c->sw.lease_read)
                n->tick_us = (uint64_t)(SIM_TICK_US + SIM_TICK_US * n->clock_drift_ppm / SIM_PPM);
        SYN_ASSERT(n->tick_us > SIM_DRIVER_PERIOD_US);
}

uint64_t sim_clock_tick_us_max(const struct sim_cluster *c)
{
        uint64_t max = 0;
        for (uint32_t i = 0; i < c->n_slots; i++) {
                if (c->nodes[i].tick_us > max)
                        max = c->nodes[i].tick_us;
        }
        return max;
}

int64_t sim_clock_wall_ms(const struct sim_cluster *c, const struct sim_node *n)
{
        int64_t t = (int64_t)c->now_us;
        int64_t us = t + t * n->clock_drift_ppm / SIM_PPM + n->clock_offset_us;
        return SIM_CLOCK_EPOCH_MS + us / 1000;
}

void sim_clock_jump(struct sim_cluster *c)
{
        struct sim_node *n = &c->nodes[syn_rand_below(&c->rand, c->n_slots)];
        int64_t step_us = sim_clock_signed(&c->rand, c->sw.clock_jump_us_max);
        n->clock_offset_us += step_us;
        c->st.clock_jumps++;
        sim_trace(c, n, "wall clock steps by %lld ms", (long long)(step_us / 1000));
}
