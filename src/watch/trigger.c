/*
 * watch_trigger: from one tree event to the connections to notify.
 *
 * Two passes. The first sizes the worst case (every entry on the path plus
 * every recursive entry on an ancestor) and reserves that room in the output,
 * so the second pass, which removes fired one-shot watches, cannot fail half
 * way. The second pass appends one event per matching entry; a connection can
 * then appear more than once (its entry on the path and a recursive entry on
 * an ancestor, or recursive entries on two ancestors), so the new events are
 * sorted by conn_id and duplicates dropped: one delivery per connection per
 * trigger, in a deterministic order. Each event carries the kinds that
 * matched (merged over the duplicates) so the server can tell deliveries owed
 * to a one-shot watch from those owed only to persistent / recursive ones.
 *
 * Ancestors are only walked when some recursive watch exists, and only for
 * events a recursive watch can receive (not NodeChildrenChanged).
 *
 * If the room cannot be reserved, the event is not dropped silently: the same
 * walk marks every connection it was meant for as lost (watch_take_lost), which
 * needs no memory, and the caller closes them.
 */
#include "watch/watch_int.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/zk_types.h"

#include <stdlib.h>

/* Kinds on the event's own path that receive the event. */
static unsigned exact_kinds(int32_t type)
{
        switch (type) {
        case ZK_EVENT_NODE_CREATED:
        case ZK_EVENT_NODE_DATA_CHANGED:
                return WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT |
                       WATCH_KIND_RECURSIVE;
        case ZK_EVENT_NODE_DELETED:
                return WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD |
                       WATCH_KIND_PERSISTENT | WATCH_KIND_RECURSIVE;
        case ZK_EVENT_NODE_CHILDREN_CHANGED:
                return WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT;
        default:
                SYN_UNREACHABLE(); /* the tree only emits these four */
        }
}

/* Length of the parent of path[0..len) ("/a/b" -> 2, "/a" -> 1); 0 for the root. */
static size_t parent_len(const char *path, size_t len)
{
        if (len <= 1)
                return 0;
        size_t i = len - 1;
        while (i > 0 && path[i] != '/')
                i--;
        return i == 0 ? 1 : i;
}

/* Appends into room made by watch_events_reserve: cannot fail. */
static void push_reserved(struct watch_events *out, uint64_t conn_id, int32_t type,
                          const char *path, size_t path_len, unsigned kinds)
{
        SYN_ASSERT(out->count < out->cap);
        out->items[out->count++] = (struct watch_event){
            .conn_id = conn_id, .type = type, .path = path, .path_len = path_len, .kinds = kinds};
}

static size_t ancestors_bound(const struct watch_manager *wm, const char *path, size_t path_len)
{
        size_t n = 0;
        for (size_t len = parent_len(path, path_len); len > 0; len = parent_len(path, len)) {
                const struct watch_path *p = watch_path_find(wm, path, len);
                if (p != NULL)
                        n += p->recursive_count;
        }
        return n;
}

static void ancestors_fire(const struct watch_manager *wm, int32_t type, const char *path,
                           size_t path_len, struct watch_events *out)
{
        for (size_t len = parent_len(path, path_len); len > 0; len = parent_len(path, len)) {
                const struct watch_path *p = watch_path_find(wm, path, len);
                if (p == NULL || p->recursive_count == 0)
                        continue;
                for (const struct watch_entry *e = p->entries; e != NULL; e = e->path_next) {
                        if (e->kinds & WATCH_KIND_RECURSIVE)
                                push_reserved(out, e->conn->conn_id, type, path, path_len,
                                              WATCH_KIND_RECURSIVE);
                }
        }
}

/* The event cannot be queued: marks every connection it would have gone to. */
static void mark_targets_lost(struct watch_manager *wm, struct watch_path *p, unsigned kinds,
                              bool walk, const char *path, size_t path_len)
{
        for (size_t len = walk ? parent_len(path, path_len) : 0; len > 0;
             len = parent_len(path, len)) {
                const struct watch_path *a = watch_path_find(wm, path, len);
                if (a == NULL || a->recursive_count == 0)
                        continue;
                for (const struct watch_entry *e = a->entries; e != NULL; e = e->path_next) {
                        if (e->kinds & WATCH_KIND_RECURSIVE)
                                watch_conn_mark_lost(wm, e->conn);
                }
        }
        for (const struct watch_entry *e = p != NULL ? p->entries : NULL; e != NULL;
             e = e->path_next) {
                if (e->kinds & kinds)
                        watch_conn_mark_lost(wm, e->conn);
        }
}

static int event_cmp_conn(const void *a, const void *b)
{
        const struct watch_event *x = a, *y = b;
        return (x->conn_id > y->conn_id) - (x->conn_id < y->conn_id);
}

/* Sorts out->items[start..] by conn_id and merges repeated connections (kinds OR-ed). */
static void events_sort_unique(struct watch_events *out, size_t start)
{
        size_t n = out->count - start;
        if (n < 2)
                return;
        struct watch_event *v = out->items + start;
        qsort(v, n, sizeof *v, event_cmp_conn);
        size_t kept = 1;
        for (size_t i = 1; i < n; i++) {
                if (v[i].conn_id != v[kept - 1].conn_id)
                        v[kept++] = v[i];
                else
                        v[kept - 1].kinds |= v[i].kinds;
        }
        out->count = start + kept;
}

int watch_trigger(struct watch_manager *wm, int32_t type, const char *path, size_t path_len,
                  struct watch_events *out)
{
        unsigned kinds = exact_kinds(type);
        SYN_ASSERT(path != NULL);
        bool walk = wm->recursive_count > 0 && type != ZK_EVENT_NODE_CHILDREN_CHANGED;
        struct watch_path *p = watch_path_find(wm, path, path_len);
        size_t bound =
            (p != NULL ? p->entry_count : 0) + (walk ? ancestors_bound(wm, path, path_len) : 0);
        if (bound == 0)
                return SYN_OK;
        int rc = watch_events_reserve(out, bound);
        if (rc != SYN_OK) {
                mark_targets_lost(wm, p, kinds, walk, path, path_len);
                return rc;
        }
        size_t start = out->count;
        if (walk)
                ancestors_fire(wm, type, path, path_len, out);
        struct watch_entry *e = p != NULL ? p->entries : NULL;
        while (e != NULL) {
                /* Clearing may free e and, with the last entry, p: read next first. */
                struct watch_entry *next = e->path_next;
                unsigned fired = e->kinds & kinds;
                if (fired != 0) {
                        push_reserved(out, e->conn->conn_id, type, path, path_len, fired);
                        if (fired & WATCH_KIND_ONESHOT)
                                watch_entry_clear(wm, e, fired & WATCH_KIND_ONESHOT);
                }
                e = next;
        }
        events_sort_unique(out, start);
        wm->fired_count += out->count - start;
        return SYN_OK;
}
