/*
 * The replicated state machine of a simulated server (sm_sim.h): apply,
 * digest and snapshot stream, written against the real tree, session table
 * and watch manager, with nothing from the simulator, so it can move into a
 * host shared with the server.
 */
#include "sm_sim.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "server/snapstream.h"

/* The path hash seed of the watch tables: fixed, since it only spreads paths
 * over buckets (watch_trigger's output order does not depend on it). */
#define SIM_SM_WATCH_HASH_SEED 0x73796e6f64776174ull

static const struct tree_options sim_sm_tree_options = {.extended_types_enabled = true};

/* Everything but the tree, which the callers open in their own way. */
static int sim_sm_open_rest(struct sim_sm *sm)
{
        struct watch_options wo = {.watches_per_conn_max = WATCH_PER_CONN_MAX,
                                   .hash_seed = SIM_SM_WATCH_HASH_SEED};
        int rc = watch_init(&sm->watches, &wo);
        if (rc != SYN_OK) {
                tree_close(&sm->tree);
                return rc;
        }
        tree_result_init(&sm->result);
        tree_events_init(&sm->events);
        watch_events_init(&sm->deliveries);
        sm->open = true;
        return SYN_OK;
}

int sim_sm_open(struct sim_sm *sm, const struct raft_config *config)
{
        memset(sm, 0, sizeof(*sm));
        int rc = tree_init(&sm->tree, &sim_sm_tree_options);
        if (rc != SYN_OK)
                return rc;
        sm->applied_config = *config;
        return sim_sm_open_rest(sm);
}

int sim_sm_open_snapshot(struct sim_sm *sm, const uint8_t *bytes, size_t len, uint64_t index)
{
        memset(sm, 0, sizeof(*sm));
        const uint8_t *tree_bytes;
        size_t tree_len;
        bool has_config = false;
        int rc =
            snapstream_split(bytes, len, &sm->applied_config, &has_config, &tree_bytes, &tree_len);
        if (rc != SYN_OK)
                return rc;
        if (!has_config)
                return SYN_ECORRUPT; /* this host always writes the prefix */
        rc = tree_snap_read(tree_bytes, tree_len, &sim_sm_tree_options, &sm->tree);
        if (rc != SYN_OK)
                return rc;
        if (tree_last_zxid(&sm->tree) > index) {
                tree_close(&sm->tree);
                return SYN_ECORRUPT; /* a tree from beyond the snapshot's index */
        }
        sm->applied = index;
        return sim_sm_open_rest(sm);
}

void sim_sm_close(struct sim_sm *sm)
{
        if (!sm->open)
                return;
        tree_close(&sm->tree);
        tree_result_close(&sm->result);
        tree_events_close(&sm->events);
        watch_close(&sm->watches);
        watch_events_close(&sm->deliveries);
        sm->open = false;
}

/* The watch notifications of the tree events just produced, in the order the
 * server sends them (src/server/apply.c fire_watches). */
static int sim_sm_fire_watches(struct sim_sm *sm)
{
        watch_events_reset(&sm->deliveries);
        for (int32_t i = 0; i < sm->events.count; i++) {
                const struct tree_event *ev = &sm->events.items[i];
                int rc = watch_trigger(&sm->watches, ev->type, (const char *)ev->path.data,
                                       (size_t)ev->path.len, &sm->deliveries);
                if (rc != SYN_OK)
                        return rc;
        }
        return SYN_OK;
}

static int sim_sm_apply_txn(struct sim_sm *sm, const struct raft_entry *e)
{
        struct txn txn;
        int rc = txn_decode(e->data, e->len, &txn);
        if (rc != SYN_OK)
                return rc == SYN_ENOMEM ? rc : SYN_ECORRUPT;
        rc = tree_apply(&sm->tree, &txn, e->index, &sm->result, &sm->events);
        sm->txn_type = txn.type;
        txn_release(&txn);
        if (rc != SYN_OK)
                return rc;
        return sim_sm_fire_watches(sm);
}

int sim_sm_apply(struct sim_sm *sm, const struct raft_entry *e)
{
        SYN_ASSERT(sm->open);
        SYN_ASSERT(e->index == sm->applied + 1);
        sm->txn_type = TXN_NOOP;
        tree_result_reset(&sm->result);
        tree_events_reset(&sm->events);
        watch_events_reset(&sm->deliveries);
        int rc = SYN_OK;
        if (e->type == RAFT_ENTRY_NORMAL) {
                rc = sim_sm_apply_txn(sm, e);
        } else if (e->type == RAFT_ENTRY_CONF) {
                /* Decoded into a copy: a bad entry leaves the configuration as it was. */
                struct raft_config cfg;
                rc = raft_config_decode(&cfg, e->data, e->len) == SYN_OK ? SYN_OK : SYN_ECORRUPT;
                if (rc == SYN_OK)
                        sm->applied_config = cfg;
        }
        if (rc == SYN_OK)
                sm->applied = e->index;
        return rc;
}

uint64_t sim_sm_digest(const struct sim_sm *sm)
{
        SYN_ASSERT(sm->open);
        return tree_digest(&sm->tree);
}

static int sim_sm_write(void *arg, const void *p, size_t n)
{
        struct syn_writer *w = arg;
        syn_write_bytes(w, p, n);
        return w->failed ? SYN_ENOMEM : SYN_OK;
}

int sim_sm_snapshot(const struct sim_sm *sm, uint8_t **bytes, size_t *len)
{
        SYN_ASSERT(sm->open);
        struct syn_writer w;
        syn_writer_init(&w, 0);
        int rc = snapstream_write_config(&sm->applied_config, sim_sm_write, &w);
        if (rc == SYN_OK)
                rc = tree_snap_write_cb(&sm->tree, sim_sm_write, &w);
        if (rc != SYN_OK) {
                syn_writer_close(&w);
                return rc;
        }
        *bytes = syn_writer_take(&w, len);
        return *bytes != NULL ? SYN_OK : SYN_ENOMEM;
}
