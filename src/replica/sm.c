/* The replicated state machine (sm.h): apply, digest and snapshot stream. */
#include "replica/sm.h"

#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "replica/snapstream.h"

/* Everything but the tree, which the callers open in their own way. */
static int open_rest(struct sm *sm, const struct sm_options *opt)
{
        int rc = watch_init(&sm->watches, &opt->watch);
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

int sm_open(struct sm *sm, const struct sm_options *opt, const struct raft_config *config)
{
        memset(sm, 0, sizeof(*sm));
        int rc = tree_init(&sm->tree, &opt->tree);
        if (rc != SYN_OK)
                return rc;
        sm->applied_config = *config;
        return open_rest(sm, opt);
}

int sm_open_snapshot(struct sm *sm, const struct sm_options *opt, const uint8_t *bytes, size_t len,
                     uint64_t index, bool *has_config)
{
        memset(sm, 0, sizeof(*sm));
        const uint8_t *tree_bytes;
        size_t tree_len;
        *has_config = false;
        int rc =
            snapstream_split(bytes, len, &sm->applied_config, has_config, &tree_bytes, &tree_len);
        if (rc != SYN_OK)
                return rc;
        rc = tree_snap_read(tree_bytes, tree_len, &opt->tree, &sm->tree);
        if (rc != SYN_OK)
                return rc;
        if (tree_last_zxid(&sm->tree) > index) {
                tree_close(&sm->tree);
                return SYN_ECORRUPT; /* a tree from beyond the snapshot's index */
        }
        sm->applied = index;
        return open_rest(sm, opt);
}

static void release_txn(struct sm *sm)
{
        if (sm->has_txn)
                txn_release(&sm->txn);
        sm->has_txn = false;
}

void sm_close(struct sm *sm)
{
        if (!sm->open)
                return;
        release_txn(sm);
        tree_close(&sm->tree);
        tree_result_close(&sm->result);
        tree_events_close(&sm->events);
        watch_close(&sm->watches);
        watch_events_close(&sm->deliveries);
        sm->open = false;
}

/* The notifications of the tree events just produced, in the order a server sends
 * them. A trigger that runs out of memory marks its connections lost instead (the
 * caller closes them): the apply itself has happened and must stand. */
static void fire_watches(struct sm *sm)
{
        for (int32_t i = 0; i < sm->events.count; i++) {
                const struct tree_event *ev = &sm->events.items[i];
                (void)watch_trigger(&sm->watches, ev->type, (const char *)ev->path.data,
                                    (size_t)ev->path.len, &sm->deliveries);
        }
}

static int apply_txn(struct sm *sm, const struct raft_entry *e)
{
        int rc = txn_decode(e->data, e->len, &sm->txn);
        if (rc != SYN_OK)
                return rc == SYN_ENOMEM ? rc : SYN_ECORRUPT;
        sm->has_txn = true;
        rc = tree_apply(&sm->tree, &sm->txn, e->index, &sm->result, &sm->events);
        if (rc != SYN_OK)
                return rc;
        fire_watches(sm);
        return SYN_OK;
}

int sm_apply(struct sm *sm, const struct raft_entry *e)
{
        SYN_ASSERT(sm->open);
        SYN_ASSERT(e->index == sm->applied + 1);
        release_txn(sm);
        tree_result_reset(&sm->result);
        tree_events_reset(&sm->events);
        watch_events_reset(&sm->deliveries);
        int rc = SYN_OK;
        if (e->type == RAFT_ENTRY_NORMAL) {
                rc = apply_txn(sm, e);
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

uint64_t sm_digest(const struct sm *sm)
{
        SYN_ASSERT(sm->open);
        return tree_digest(&sm->tree);
}

int sm_snapshot_write(const struct sm *sm, int (*write)(void *arg, const void *p, size_t n),
                      void *arg)
{
        SYN_ASSERT(sm->open);
        int rc = snapstream_write_config(&sm->applied_config, write, arg);
        if (rc == SYN_OK)
                rc = tree_snap_write_cb(&sm->tree, write, arg);
        return rc;
}
