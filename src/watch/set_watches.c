/*
 * watch_set_watches: the watches a client re-sends after reconnecting.
 *
 * The client tells us the last zxid it saw (relative_zxid) and the watches it
 * held. Whatever changed after that zxid on this server's tree is an event the
 * client missed: we fire it now instead of registering the watch, exactly as
 * ZooKeeper's DataTree.setWatches does (docs/protocol-notes.md, "Watches"). The node lookup
 * is a callback so this module does not depend on the tree.
 *
 * The paths come from the wire: invalid ones are skipped (a watch on them
 * could never fire anyway), and registrations go through the per-connection
 * limit like any other.
 */
#include "watch/watch_int.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/zk_types.h"

enum list_rule {
        RULE_DATA,
        RULE_EXIST,
        RULE_CHILD,
        RULE_PERSISTENT,
        RULE_RECURSIVE,
};

/* The event the client missed on this path, or 0 to register the watch instead. */
static int32_t missed_event(enum list_rule rule, const struct watch_node_info *info,
                            int64_t relative_zxid)
{
        switch (rule) {
        case RULE_DATA:
                if (!info->exists)
                        return ZK_EVENT_NODE_DELETED;
                return info->mzxid > relative_zxid ? ZK_EVENT_NODE_DATA_CHANGED : 0;
        case RULE_EXIST:
                return info->exists ? ZK_EVENT_NODE_CREATED : 0;
        case RULE_CHILD:
                if (!info->exists)
                        return ZK_EVENT_NODE_DELETED;
                return info->pzxid > relative_zxid ? ZK_EVENT_NODE_CHILDREN_CHANGED : 0;
        case RULE_PERSISTENT:
        case RULE_RECURSIVE:
                return 0;
        }
        SYN_UNREACHABLE();
}

static unsigned rule_kind(enum list_rule rule)
{
        static const unsigned kinds[] = {
            [RULE_DATA] = WATCH_KIND_DATA,           [RULE_EXIST] = WATCH_KIND_EXIST,
            [RULE_CHILD] = WATCH_KIND_CHILD,         [RULE_PERSISTENT] = WATCH_KIND_PERSISTENT,
            [RULE_RECURSIVE] = WATCH_KIND_RECURSIVE,
        };
        return kinds[rule];
}

/* Applies one list; returns SYN_ENOMEM (stop) or SYN_OK, counting limit refusals. */
static int apply_list(struct watch_manager *wm, uint64_t conn_id, uint64_t session_id,
                      enum list_rule rule, const struct watch_paths *list, int64_t relative_zxid,
                      struct watch_events *out, void *lookup_arg, watch_lookup_fn lookup,
                      size_t *refused)
{
        SYN_ASSERT(list->count == 0 || list->paths != NULL);
        SYN_ASSERT(list->count == 0 || list->path_lens != NULL);
        for (size_t i = 0; i < list->count; i++) {
                const char *path = list->paths[i];
                size_t len = list->path_lens[i];
                if (!watch_path_valid(path, len))
                        continue;
                int32_t type = 0;
                if (rule != RULE_PERSISTENT && rule != RULE_RECURSIVE) {
                        struct watch_node_info info = {.exists = false};
                        lookup(lookup_arg, path, len, &info);
                        type = missed_event(rule, &info, relative_zxid);
                }
                int rc = type != 0
                             ? watch_events_push(out, conn_id, type, path, len, rule_kind(rule))
                             : watch_add(wm, conn_id, session_id, rule_kind(rule), path, len);
                if (rc == SYN_ELIMIT)
                        (*refused)++;
                else if (rc != SYN_OK)
                        return rc;
        }
        return SYN_OK;
}

int watch_set_watches(struct watch_manager *wm, uint64_t conn_id, uint64_t session_id,
                      const struct watch_set_request *request, struct watch_events *out,
                      void *lookup_arg, watch_lookup_fn lookup)
{
        SYN_ASSERT(lookup != NULL);
        const struct {
                enum list_rule rule;
                const struct watch_paths *list;
        } lists[] = {
            {RULE_DATA, &request->data},
            {RULE_EXIST, &request->exist},
            {RULE_CHILD, &request->child},
            {RULE_PERSISTENT, &request->persistent},
            {RULE_RECURSIVE, &request->persistent_recursive},
        };
        size_t refused = 0;
        for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
                int rc = apply_list(wm, conn_id, session_id, lists[i].rule, lists[i].list,
                                    request->relative_zxid, out, lookup_arg, lookup, &refused);
                if (rc != SYN_OK)
                        return rc;
        }
        return refused > 0 ? SYN_ELIMIT : SYN_OK;
}
