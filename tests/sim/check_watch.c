/*
 * The watch check: every notification a node's watch manager produces must be
 * one the committed history owes, and every one it owes must come, once.
 *
 * Each node keeps a model of its watches next to the real manager (src/replica/sm.h):
 * (connection, path, kinds), recorded when a client sets a watch
 * (workload.c), dropped with the connection, emptied when the node restarts
 * or installs a snapshot (watches are local and die with the process or the
 * connections). After every apply, for each tree event of the entry in order
 * and each connection in increasing id order (the order of watch_trigger),
 * the model works out what is owed, from the rules of docs/protocol-notes.md
 * ("Watches") written out again here as a table rather than shared with the
 * manager:
 *
 *   NodeCreated, NodeDataChanged  data, exist, persistent, recursive on the
 *                                 path; recursive on an ancestor
 *   NodeDeleted                   the same, and child on the path
 *   NodeChildrenChanged (parent)  child, persistent on the path, never
 *                                 recursive
 *
 * one notification per connection per event with the kinds that matched; the
 * one-shot kinds (data, exist, child) that fire are removed. The manager's
 * notifications must be exactly that list: a missing one, an extra one (a
 * one-shot watch firing twice, or a watch never set), another type, path,
 * connection or kind set all fail the run.
 *
 * The tree events themselves are held to the committed history by
 * sim_check_apply (the same outcome on every node at every index), so a watch
 * set at zxid r fires at the first later index of the committed history that
 * changes its path, on every node, with the same event; and a one-shot watch
 * fires at most once.
 */
#include <inttypes.h>
#include <string.h>

#include "base/assert.h"
#include "base/zk_types.h"
#include "sim.h"

#define SIM_WATCH_ONESHOT (WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD)

static const struct {
        int32_t type;
        const char *name;
        unsigned on_path; /* kinds on the event's own path that it fires */
        bool recursive;   /* whether recursive watches on ancestors fire */
} sim_watch_rules[] = {
    {ZK_EVENT_NODE_CREATED, "NodeCreated",
     WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT | WATCH_KIND_RECURSIVE, true},
    {ZK_EVENT_NODE_DELETED, "NodeDeleted",
     WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT |
         WATCH_KIND_RECURSIVE,
     true},
    {ZK_EVENT_NODE_DATA_CHANGED, "NodeDataChanged",
     WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT | WATCH_KIND_RECURSIVE, true},
    {ZK_EVENT_NODE_CHILDREN_CHANGED, "NodeChildrenChanged",
     WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT, false},
};
#define SIM_WATCH_RULES (sizeof(sim_watch_rules) / sizeof(sim_watch_rules[0]))

static size_t sim_watch_rule(int32_t type)
{
        for (size_t i = 0; i < SIM_WATCH_RULES; i++) {
                if (sim_watch_rules[i].type == type)
                        return i;
        }
        SYN_UNREACHABLE(); /* the tree emits only these four */
}

/* ---- the model ---- */

void sim_watch_model_clear(struct sim_watch_model *m)
{
        m->n = 0;
}

bool sim_watch_model_full(const struct sim_watch_model *m)
{
        return m->n == SIM_WATCHES_PER_NODE_MAX;
}

static struct sim_watch_entry *sim_watch_model_find(struct sim_watch_model *m, uint64_t conn_id,
                                                    const char *path, size_t path_len)
{
        for (uint32_t i = 0; i < m->n; i++) {
                struct sim_watch_entry *e = &m->e[i];
                if (e->conn_id == conn_id && e->path_len == path_len &&
                    memcmp(e->path, path, path_len) == 0)
                        return e;
        }
        return NULL;
}

bool sim_watch_model_add(struct sim_watch_model *m, uint64_t conn_id, unsigned kinds,
                         const char *path, size_t path_len)
{
        SYN_ASSERT(path_len < SIM_PATH_BYTES_MAX);
        struct sim_watch_entry *e = sim_watch_model_find(m, conn_id, path, path_len);
        if (e != NULL) {
                e->kinds |= kinds; /* one entry per (connection, path), as in the manager */
                return true;
        }
        if (sim_watch_model_full(m))
                return false;
        e = &m->e[m->n++];
        *e = (struct sim_watch_entry){
            .conn_id = conn_id, .kinds = kinds, .path_len = (uint32_t)path_len};
        memcpy(e->path, path, path_len);
        return true;
}

/* Removes the entries with no kind left and those of drop_conn (0: no
 * connection; ids start at 1), keeping the order of the rest. */
static void sim_watch_model_compact(struct sim_watch_model *m, uint64_t drop_conn)
{
        uint32_t kept = 0;
        for (uint32_t i = 0; i < m->n; i++) {
                if (m->e[i].kinds != 0 && m->e[i].conn_id != drop_conn)
                        m->e[kept++] = m->e[i];
        }
        m->n = kept;
}

void sim_watch_model_drop_conn(struct sim_watch_model *m, uint64_t conn_id)
{
        sim_watch_model_compact(m, conn_id);
}

/* Whether a is a proper ancestor of path p. */
static bool sim_watch_is_ancestor(const struct sim_watch_entry *a, const char *p, size_t len)
{
        if (a->path_len >= len || memcmp(a->path, p, a->path_len) != 0)
                return false;
        return a->path_len == 1 || p[a->path_len] == '/'; /* "/" is everyone's */
}

/* The kinds conn is owed for event ev, clearing the one-shot ones that fire. */
static unsigned sim_watch_model_fire(struct sim_watch_model *m, uint64_t conn,
                                     const struct tree_event *ev)
{
        size_t rule = sim_watch_rule(ev->type);
        const char *path = (const char *)ev->path.data;
        size_t len = (size_t)ev->path.len;
        unsigned owed = 0;
        for (uint32_t i = 0; i < m->n; i++) {
                struct sim_watch_entry *e = &m->e[i];
                if (e->conn_id != conn)
                        continue;
                if (e->path_len == len && memcmp(e->path, path, len) == 0) {
                        unsigned fired = e->kinds & sim_watch_rules[rule].on_path;
                        owed |= fired;
                        e->kinds &= ~(fired & SIM_WATCH_ONESHOT);
                } else if (sim_watch_rules[rule].recursive &&
                           (e->kinds & WATCH_KIND_RECURSIVE) != 0 &&
                           sim_watch_is_ancestor(e, path, len)) {
                        owed |= WATCH_KIND_RECURSIVE;
                }
        }
        return owed;
}

/* ---- the check ---- */

static bool sim_delivery_is(const struct watch_event *d, uint64_t conn, const struct tree_event *ev,
                            unsigned kinds)
{
        return d->conn_id == conn && d->type == ev->type && d->kinds == kinds &&
               d->path_len == (size_t)ev->path.len &&
               memcmp(d->path, ev->path.data, d->path_len) == 0;
}

static void sim_watch_fail(struct sim_cluster *c, struct sim_node *n, uint64_t index,
                           const struct tree_event *ev, uint64_t conn, unsigned owed,
                           const struct watch_event *got)
{
        char what[160] = "nothing";
        if (got != NULL)
                snprintf(what, sizeof(what), "%s on %.*s to conn %" PRIu64 " (kinds 0x%x)",
                         sim_watch_rules[sim_watch_rule(got->type)].name, (int)got->path_len,
                         got->path, got->conn_id, got->kinds);
        if (ev != NULL)
                sim_fail(c,
                         "watch notification diverged on n%" PRIu64 " at zxid %" PRIu64
                         ": the history owes conn %" PRIu64 " %s on %s (kinds 0x%x), the "
                         "manager delivered %s",
                         n->id, index, conn, sim_watch_rules[sim_watch_rule(ev->type)].name,
                         (const char *)ev->path.data, owed, what);
        else
                sim_fail(c,
                         "watch notification diverged on n%" PRIu64 " at zxid %" PRIu64
                         ": the manager delivered %s that no watch is owed (fired twice, or "
                         "never set)",
                         n->id, index, what);
}

void sim_check_watches_held(struct sim_cluster *c, struct sim_node *n)
{
        const struct sim_watch_model *m = &n->watch_model;
        struct watch_stats st;
        watch_get_stats(&n->sm.watches, &st);
        for (uint32_t i = 0; i < m->n; i++) {
                const struct sim_watch_entry *e = &m->e[i];
                unsigned held = watch_kinds_of(&n->sm.watches, e->conn_id, e->path, e->path_len);
                if (held != e->kinds) {
                        sim_fail(c,
                                 "watches diverged on n%" PRIu64 ": conn %" PRIu64
                                 " holds kinds 0x%x on %.*s, the model 0x%x",
                                 n->id, e->conn_id, held, (int)e->path_len, e->path, e->kinds);
                        return;
                }
        }
        if (st.entry_count != m->n || !watch_invariants_hold(&n->sm.watches))
                sim_fail(c,
                         "watches diverged on n%" PRIu64 ": the manager holds %" PRIu64
                         " (connection, path) entries, the model %u",
                         n->id, st.entry_count, m->n);
}

void sim_check_watches(struct sim_cluster *c, struct sim_node *n, uint64_t index)
{
        const struct tree_events *te = &n->sm.events;
        const struct watch_events *got = &n->sm.deliveries;
        size_t k = 0;
        for (int32_t i = 0; i < te->count; i++) {
                const struct tree_event *ev = &te->items[i];
                for (uint64_t conn = 1; conn <= SIM_WATCH_CONNS; conn++) {
                        unsigned owed = sim_watch_model_fire(&n->watch_model, conn, ev);
                        if (owed == 0)
                                continue;
                        const struct watch_event *d = k < got->count ? &got->items[k] : NULL;
                        if (d == NULL || !sim_delivery_is(d, conn, ev, owed)) {
                                sim_watch_fail(c, n, index, ev, conn, owed, d);
                                return;
                        }
                        k++;
                }
        }
        sim_watch_model_compact(&n->watch_model, 0);
        if (k < got->count) {
                sim_watch_fail(c, n, index, NULL, 0, 0, &got->items[k]);
                return;
        }
        c->st.watch_fires += k;
        if (k == 0)
                return;
        sim_trace(c, n, "zxid %" PRIu64 ": %zu watch notifications, as owed", index, k);
        /* What fired is gone from the manager too, and nothing else. */
        sim_check_watches_held(c, n);
}
