/*
 * The simulated network between the nodes of one run.
 *
 * Every message is delayed by a uniform draw from the swarm's delay range, so
 * two messages on one link overtake each other whenever their draws cross
 * (reordering); with the swarm's probabilities a message is dropped or
 * delivered twice. Partitions are a matrix of cut directed links
 * (link_cut[from][to]) checked when a message is sent and again when it
 * arrives, so a partition also cuts what was already in flight. Each
 * partition mode models one failure: a symmetric split, random one-way cuts,
 * an isolated minority, a bridge node that alone talks to both halves, and an
 * isolated leader. In the liveness phase (c->healing) nothing is lost.
 */
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "sim.h"

struct sim_node *sim_node_by_id(struct sim_cluster *c, uint64_t id)
{
        for (uint32_t i = 0; i < c->n_slots; i++) {
                if (c->nodes[i].id == id)
                        return &c->nodes[i];
        }
        return NULL;
}

static void sim_net_enqueue(struct sim_cluster *c, struct sim_node *to, struct sim_packet *p)
{
        uint64_t delay = syn_rand_range(&c->rand, c->sw.delay_us_min, c->sw.delay_us_max);
        if (!c->healing && syn_rand_chance(&c->rand, c->sw.delay_tail_ppm))
                delay += syn_rand_range(&c->rand, 1, c->sw.delay_tail_us_max);
        int rc = sim_queue_push(&c->q, (struct sim_event){.time_us = c->now_us + delay,
                                                          .slot = to->slot,
                                                          .kind = SIM_EV_DELIVER,
                                                          .packet = p});
        if (rc != SYN_OK) {
                sim_packet_free(p);
                sim_fail(c, "event queue full");
        }
}

void sim_net_send(struct sim_cluster *c, struct sim_packet *p)
{
        struct sim_node *from = sim_node_by_id(c, p->msg.from);
        struct sim_node *to = sim_node_by_id(c, p->msg.to);
        c->st.msgs_sent++;
        if (from == NULL || to == NULL || from == to) {
                sim_packet_free(p); /* to a removed node, or nonsense: nobody listens */
                return;
        }
        bool lost = !c->healing && (c->link_cut[from->slot][to->slot] ||
                                    syn_rand_chance(&c->rand, c->sw.drop_ppm));
        if (lost) {
                c->st.msgs_dropped++;
                sim_packet_free(p);
                return;
        }
        if (!c->healing && syn_rand_chance(&c->rand, c->sw.duplicate_ppm)) {
                struct sim_packet *dup = sim_packet_copy(&p->msg);
                SYN_ASSERT(dup != NULL);
                c->st.msgs_duplicated++;
                sim_net_enqueue(c, to, dup);
        }
        sim_net_enqueue(c, to, p);
}

void sim_net_heal(struct sim_cluster *c)
{
        memset(c->link_cut, 0, sizeof(c->link_cut));
        c->heal_at_us = 0;
}

static void sim_cut_both(struct sim_cluster *c, uint32_t a, uint32_t b)
{
        c->link_cut[a][b] = true;
        c->link_cut[b][a] = true;
}

/* Cuts every link between group 1 and group 2 (group[i] in {0 bridge, 1, 2}). */
static void sim_cut_groups(struct sim_cluster *c, const uint8_t *group)
{
        for (uint32_t a = 0; a < c->n_slots; a++) {
                for (uint32_t b = 0; b < c->n_slots; b++) {
                        if (group[a] != 0 && group[b] != 0 && group[a] != group[b])
                                sim_cut_both(c, a, b);
                }
        }
}

/* A random set of `count` slots gets group 1, the rest group 2. */
static void sim_pick_group(struct sim_cluster *c, uint8_t *group, uint32_t count)
{
        uint32_t order[SIM_SLOTS_MAX];
        for (uint32_t i = 0; i < c->n_slots; i++) {
                order[i] = i;
                group[i] = 2;
        }
        for (uint32_t i = c->n_slots - 1; i > 0; i--) {
                uint32_t j = (uint32_t)syn_rand_below(&c->rand, i + 1);
                uint32_t t = order[i];
                order[i] = order[j];
                order[j] = t;
        }
        for (uint32_t i = 0; i < count && i < c->n_slots; i++)
                group[order[i]] = 1;
}

static const char *sim_net_cut(struct sim_cluster *c, enum sim_partition_mode mode)
{
        uint8_t group[SIM_SLOTS_MAX];
        uint32_t n = c->n_slots;
        switch (mode) {
        case SIM_PART_SYMMETRIC:
                sim_pick_group(c, group, (uint32_t)syn_rand_range(&c->rand, 1, n - 1));
                sim_cut_groups(c, group);
                return "symmetric";
        case SIM_PART_ASYMMETRIC:
                for (uint32_t a = 0; a < n; a++) {
                        for (uint32_t b = 0; b < n; b++) {
                                if (a != b && syn_rand_chance(&c->rand, 330000))
                                        c->link_cut[a][b] = true;
                        }
                }
                return "asymmetric";
        case SIM_PART_MINORITY:
                sim_pick_group(c, group, (uint32_t)syn_rand_range(&c->rand, 1, (n - 1) / 2));
                sim_cut_groups(c, group);
                return "minority";
        case SIM_PART_BRIDGE:
                sim_pick_group(c, group, (uint32_t)syn_rand_range(&c->rand, 1, n - 2));
                group[syn_rand_below(&c->rand, n)] = 0;
                sim_cut_groups(c, group);
                return "bridge";
        case SIM_PART_LEADER: {
                struct sim_node *l = sim_current_leader(c);
                uint32_t slot = l ? l->slot : (uint32_t)syn_rand_below(&c->rand, n);
                for (uint32_t b = 0; b < n; b++) {
                        if (b != slot)
                                sim_cut_both(c, slot, b);
                }
                return "leader isolated";
        }
        }
        SYN_UNREACHABLE();
}

void sim_net_partition(struct sim_cluster *c)
{
        uint32_t modes[5];
        uint32_t n_modes = 0;
        for (uint32_t bit = 0; bit < 5; bit++) {
                if (c->sw.partition_modes & (1u << bit))
                        modes[n_modes++] = 1u << bit;
        }
        if (n_modes == 0)
                return;
        sim_net_heal(c);
        enum sim_partition_mode mode = modes[syn_rand_below(&c->rand, n_modes)];
        const char *what = sim_net_cut(c, mode);
        c->heal_at_us = c->now_us + syn_rand_range(&c->rand, c->sw.partition_us_max / 4 + 1,
                                                   c->sw.partition_us_max);
        c->st.partitions++;
        sim_trace(c, NULL, "partition: %s until %llu us", what, (unsigned long long)c->heal_at_us);
}
