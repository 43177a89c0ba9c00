/*
 * Swarm testing (TigerBeetle's vopr options_swarm): every fault parameter of a
 * run is drawn from its seed, so different seeds stress different mixes, from
 * a quiet network with crashes only to a lossy, partitioned, pausing cluster
 * with membership churn. Some features are switched off entirely for some
 * seeds: a bug that needs "no loss but many crashes" is found by the seeds
 * that happen to choose that.
 *
 * Also the statistics summed over seeds.
 */
#include <inttypes.h>
#include <string.h>

#include "sim.h"

/* With probability on_ppm the rate is drawn from [1, max_ppm], else 0. */
static uint32_t sim_swarm_rate(struct syn_rand *r, uint32_t on_ppm, uint32_t max_ppm)
{
        if (!syn_rand_chance(r, on_ppm))
                return 0;
        return (uint32_t)syn_rand_range(r, 1, max_ppm);
}

/* The parameters of the state machine's world (snapshot chunks, watches,
 * clocks, the client mix), drawn after the Raft ones. */
static void sim_swarm_tree(struct sim_swarm *s, struct syn_rand *r)
{
        uint64_t k = syn_rand_below(r, 10);
        s->snapshot_chunk_bytes =
            k < 4   ? (uint32_t)syn_rand_range(r, SIM_SNAPSHOT_CHUNK_BYTES_MIN, 1024)
            : k < 8 ? (uint32_t)syn_rand_range(r, 1024, 16384)
                    : RAFT_SNAPSHOT_CHUNK_BYTES;
        s->watch_ppm = sim_swarm_rate(r, 800000, 100000);
        s->clock_drift_ppm_max = sim_swarm_rate(r, 800000, SIM_CLOCK_DRIFT_PPM_MAX);
        s->clock_offset_us_max = (uint32_t)syn_rand_range(r, 0, SIM_CLOCK_OFFSET_US_MAX);
        s->clock_jump_ppm = sim_swarm_rate(r, 500000, 2000);
        s->clock_jump_us_max = (uint32_t)syn_rand_range(r, 1000, SIM_CLOCK_JUMP_US_MAX);
        /* Creates always (a tree to act on); the rest may be off in a seed. */
        static const uint32_t weight_min[SIM_TXN_KINDS] = {[SIM_TXN_CREATE] = 4};
        static const uint32_t weight_max[SIM_TXN_KINDS] = {
            [SIM_TXN_CREATE_SESSION] = 4, [SIM_TXN_CLOSE_SESSION] = 2, [SIM_TXN_CREATE] = 12,
            [SIM_TXN_SET_DATA] = 8,       [SIM_TXN_DELETE] = 6,        [SIM_TXN_SET_ACL] = 2,
            [SIM_TXN_MULTI] = 6,          [SIM_TXN_REAP] = 3};
        for (int i = 0; i < SIM_TXN_KINDS; i++)
                s->txn_weight[i] = (uint32_t)syn_rand_range(r, weight_min[i], weight_max[i]);
}

void sim_swarm_from_seed(struct sim_swarm *s, uint64_t seed, uint32_t nodes_forced)
{
        static const uint32_t sizes[] = {3, 3, 3, 5, 5, 7};
        struct syn_rand r;
        syn_rand_seed(&r, seed ^ 0x73776172ull);
        memset(s, 0, sizeof(*s));
        s->seed = seed;
        s->nodes = sizes[syn_rand_below(&r, sizeof(sizes) / sizeof(sizes[0]))];
        if (nodes_forced != 0)
                s->nodes = nodes_forced;
        s->election_ticks = (uint32_t)syn_rand_range(&r, 8, 20);
        s->heartbeat_ticks = (uint32_t)syn_rand_range(&r, 1, s->election_ticks / 4);
        s->pre_vote = syn_rand_chance(&r, 800000);
        s->check_quorum = syn_rand_chance(&r, 800000);
        s->delay_us_min = (uint32_t)syn_rand_range(&r, 100, 2000);
        s->delay_us_max = s->delay_us_min + (uint32_t)syn_rand_range(&r, 0, 30000);
        s->drop_ppm = sim_swarm_rate(&r, 700000, 300000);
        s->delay_tail_ppm = sim_swarm_rate(&r, 500000, 50000);
        s->delay_tail_us_max = (uint32_t)syn_rand_range(&r, 10000, 500000);
        s->duplicate_ppm = sim_swarm_rate(&r, 500000, 100000);
        s->disk_us_min = (uint32_t)syn_rand_range(&r, 50, 3000);
        s->disk_us_max = s->disk_us_min + (uint32_t)syn_rand_range(&r, 0, 20000);
        s->crash_ppm = sim_swarm_rate(&r, 800000, 2000);
        s->down_us_max = (uint32_t)syn_rand_range(&r, 10000, 2000000);
        s->crash_after_receive_ppm = sim_swarm_rate(&r, 500000, 10000);
        s->crash_after_commit_ppm = sim_swarm_rate(&r, 300000, 100000);
        s->restart_fast_us_max = (uint32_t)syn_rand_range(&r, 100, 30000);
        s->torn_ppm = sim_swarm_rate(&r, 700000, 1000000);
        s->pause_ppm = sim_swarm_rate(&r, 500000, 2000);
        s->pause_us_max = (uint32_t)syn_rand_range(&r, 10000, 1000000);
        s->partition_ppm = sim_swarm_rate(&r, 700000, 2000);
        s->partition_modes = (uint32_t)syn_rand_range(&r, 1, 31);
        s->partition_us_max = (uint32_t)syn_rand_range(&r, 50000, 3000000);
        s->propose_ppm = (uint32_t)syn_rand_range(&r, 20000, 300000);
        s->read_ppm = sim_swarm_rate(&r, 900000, 200000);
        s->conf_ppm = sim_swarm_rate(&r, 600000, 5000);
        s->transfer_ppm = sim_swarm_rate(&r, 500000, 2000);
        s->snapshot_ppm = sim_swarm_rate(&r, 600000, 5000);
        s->snapshot_trailing = syn_rand_range(&r, 0, 64);
        s->max_msg_bytes = syn_rand_chance(&r, 300000) ? 1 : syn_rand_range(&r, 1, 8192);
        s->max_inflight_msgs = (uint32_t)syn_rand_range(&r, 1, 64);
        /* Drawn last so the other parameters of a seed stay what they were.
         * A lease is only as good as the clocks: a paused process whose ticks
         * stall is a clock that stopped, which a lease cannot survive (the
         * design assumes bounded drift), so lease swarms have no pauses. */
        s->lease_read = s->check_quorum && syn_rand_chance(&r, 400000);
        if (s->lease_read)
                s->pause_ppm = 0;
        sim_swarm_tree(s, &r);
}

void sim_swarm_print(const struct sim_swarm *s, FILE *f)
{
        fprintf(f,
                "  swarm: seed=%" PRIu64 " nodes=%u election_ticks=%u heartbeat_ticks=%u "
                "pre_vote=%d check_quorum=%d lease_read=%d\n"
                "         delay_us=%u..%u delay_tail_ppm=%u delay_tail_us_max=%u drop_ppm=%u "
                "duplicate_ppm=%u disk_us=%u..%u\n"
                "         crash_ppm=%u down_us_max=%u crash_after_receive_ppm=%u "
                "crash_after_commit_ppm=%u restart_fast_us_max=%u\n"
                "         torn_ppm=%u pause_ppm=%u pause_us_max=%u max_msg_bytes=%" PRIu64
                " max_inflight_msgs=%u\n"
                "         partition_ppm=%u partition_modes=0x%x partition_us_max=%u\n"
                "         propose_ppm=%u read_ppm=%u conf_ppm=%u transfer_ppm=%u "
                "snapshot_ppm=%u snapshot_trailing=%" PRIu64 "\n"
                "         snapshot_chunk_bytes=%u watch_ppm=%u clock_drift_ppm_max=%u "
                "clock_offset_us_max=%u clock_jump_ppm=%u clock_jump_us_max=%u\n"
                "         txn_weight: create_session=%u close_session=%u create=%u set_data=%u "
                "delete=%u set_acl=%u multi=%u reap=%u\n",
                s->seed, s->nodes, s->election_ticks, s->heartbeat_ticks, s->pre_vote,
                s->check_quorum, s->lease_read, s->delay_us_min, s->delay_us_max, s->delay_tail_ppm,
                s->delay_tail_us_max, s->drop_ppm, s->duplicate_ppm, s->disk_us_min, s->disk_us_max,
                s->crash_ppm, s->down_us_max, s->crash_after_receive_ppm, s->crash_after_commit_ppm,
                s->restart_fast_us_max, s->torn_ppm, s->pause_ppm, s->pause_us_max,
                s->max_msg_bytes, s->max_inflight_msgs, s->partition_ppm, s->partition_modes,
                s->partition_us_max, s->propose_ppm, s->read_ppm, s->conf_ppm, s->transfer_ppm,
                s->snapshot_ppm, s->snapshot_trailing, s->snapshot_chunk_bytes, s->watch_ppm,
                s->clock_drift_ppm_max, s->clock_offset_us_max, s->clock_jump_ppm,
                s->clock_jump_us_max, s->txn_weight[SIM_TXN_CREATE_SESSION],
                s->txn_weight[SIM_TXN_CLOSE_SESSION], s->txn_weight[SIM_TXN_CREATE],
                s->txn_weight[SIM_TXN_SET_DATA], s->txn_weight[SIM_TXN_DELETE],
                s->txn_weight[SIM_TXN_SET_ACL], s->txn_weight[SIM_TXN_MULTI],
                s->txn_weight[SIM_TXN_REAP]);
}

void sim_stats_add(struct sim_stats *sum, const struct sim_stats *s)
{
        sum->seeds += s->seeds;
        sum->events += s->events;
        sum->sim_time_us += s->sim_time_us;
        sum->msgs_sent += s->msgs_sent;
        sum->msgs_dropped += s->msgs_dropped;
        sum->msgs_duplicated += s->msgs_duplicated;
        sum->crashes += s->crashes;
        sum->torn_writes += s->torn_writes;
        sum->pauses += s->pauses;
        sum->partitions += s->partitions;
        sum->conf_changes += s->conf_changes;
        sum->transfers += s->transfers;
        sum->snapshots += s->snapshots;
        sum->snapshots_installed += s->snapshots_installed;
        sum->proposals += s->proposals;
        sum->acked_writes += s->acked_writes;
        sum->reads_served += s->reads_served;
        sum->elections += s->elections;
        if (s->committed_max > sum->committed_max)
                sum->committed_max = s->committed_max;
        sum->txns += s->txns;
        sum->txns_refused += s->txns_refused;
        sum->sessions_opened += s->sessions_opened;
        if (s->tree_nodes_max > sum->tree_nodes_max)
                sum->tree_nodes_max = s->tree_nodes_max;
        sum->watch_fires += s->watch_fires;
        sum->snapshot_chunks += s->snapshot_chunks;
        sum->snapshot_chunks_resent += s->snapshot_chunks_resent;
        sum->clock_jumps += s->clock_jumps;
        sum->failures += s->failures;
        sum->digest = sim_hash_bytes(sum->digest, &s->digest, sizeof(s->digest));
}

void sim_stats_print(const struct sim_stats *s, FILE *f)
{
        fprintf(f,
                "totals: seeds=%" PRIu64 " failures=%" PRIu64 " events=%" PRIu64
                " simulated_time=%.1fs\n"
                "  faults: crashes=%" PRIu64 " torn_writes=%" PRIu64 " pauses=%" PRIu64
                " partitions=%" PRIu64 " msgs_dropped=%" PRIu64 " msgs_duplicated=%" PRIu64
                " (of %" PRIu64 " sent)\n"
                "  churn: conf_changes=%" PRIu64 " transfers=%" PRIu64 " elections=%" PRIu64
                " snapshots=%" PRIu64 " installed=%" PRIu64 "\n"
                "  clients: proposals=%" PRIu64 " acked_writes=%" PRIu64 " reads_served=%" PRIu64
                " longest_log=%" PRIu64 "\n"
                "  tree: txns=%" PRIu64 " refused=%" PRIu64 " sessions_opened=%" PRIu64
                " largest_tree=%" PRIu64 " watch_notifications=%" PRIu64 "\n"
                "  snapshot_chunks=%" PRIu64 " resent=%" PRIu64 " clock_jumps=%" PRIu64 "\n",
                s->seeds, s->failures, s->events, (double)s->sim_time_us / 1e6, s->crashes,
                s->torn_writes, s->pauses, s->partitions, s->msgs_dropped, s->msgs_duplicated,
                s->msgs_sent, s->conf_changes, s->transfers, s->elections, s->snapshots,
                s->snapshots_installed, s->proposals, s->acked_writes, s->reads_served,
                s->committed_max, s->txns, s->txns_refused, s->sessions_opened, s->tree_nodes_max,
                s->watch_fires, s->snapshot_chunks, s->snapshot_chunks_resent, s->clock_jumps);
}
