/*
 * The client's watch table: which callback to run for which server event.
 *
 * ZooKeeper keeps watches per connection on the server and fires each at most
 * once; the client mirrors them to know whom to call. A one-shot watch is
 * registered when the reply of the read that set it arrives (getData/exists
 * on an existing node: data watch; exists on a missing node: exist watch;
 * getChildren: child watch) and removed when an event triggers it, with the
 * same rules the server uses (docs/protocol-notes.md, "Watches"): created and data-changed
 * fire data and exist watches, deleted fires data, exist and child watches,
 * children-changed fires child watches. Persistent watches stay; recursive
 * ones also match descendants but never children-changed.
 *
 * After a reconnect the table is replayed to the server with SetWatches
 * (relativeZxid = last zxid seen) so no change in between is missed: the
 * server fires at once what changed after that zxid.
 *
 * The table is a singly linked list bounded by CLIENT_WATCHES_MAX; it is
 * touched only by the I/O thread.
 */
#include "client/client.h"

#include "base/assert.h"
#include "base/err.h"
#include "proto/zk_records.h"

#include <stdlib.h>
#include <string.h>

int cl_watch_add(struct cl_watch_table *t, enum cl_watch_kind kind, const char *path,
                 synod_watch_fn fn, void *arg)
{
        SYN_ASSERT(kind != CL_WATCH_NONE);
        if (t->count >= CLIENT_WATCHES_MAX)
                return SYNOD_ESYSTEMERROR;
        struct cl_watch *w = calloc(1, sizeof(*w));
        char *p = strdup(path);
        if (w == NULL || p == NULL) {
                free(w);
                free(p);
                return SYNOD_ESYSTEMERROR;
        }
        *w = (struct cl_watch){t->head, kind, p, fn, arg};
        t->head = w;
        t->count++;
        return SYNOD_OK;
}

static bool cl_under(const char *root, const char *path)
{
        size_t n = strlen(root);
        if (strcmp(root, "/") == 0)
                return true;
        return strncmp(root, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Does event (type, path) trigger watch w? */
static bool cl_watch_matches(const struct cl_watch *w, int type, const char *path)
{
        switch (w->kind) {
        case CL_WATCH_DATA:
                return strcmp(w->path, path) == 0 &&
                       (type == ZK_EVENT_NODE_CREATED || type == ZK_EVENT_NODE_DATA_CHANGED ||
                        type == ZK_EVENT_NODE_DELETED);
        case CL_WATCH_EXIST:
                return strcmp(w->path, path) == 0 &&
                       (type == ZK_EVENT_NODE_CREATED || type == ZK_EVENT_NODE_DATA_CHANGED ||
                        type == ZK_EVENT_NODE_DELETED);
        case CL_WATCH_CHILD:
                return strcmp(w->path, path) == 0 &&
                       (type == ZK_EVENT_NODE_CHILDREN_CHANGED || type == ZK_EVENT_NODE_DELETED);
        case CL_WATCH_PERSISTENT:
                return strcmp(w->path, path) == 0;
        case CL_WATCH_RECURSIVE:
                return type != ZK_EVENT_NODE_CHILDREN_CHANGED && cl_under(w->path, path);
        case CL_WATCH_NONE:
                break;
        }
        SYN_UNREACHABLE();
}

static struct cl_watch *cl_watch_dup(const struct cl_watch *w)
{
        struct cl_watch *c = malloc(sizeof(*c));
        char *p = strdup(w->path);
        if (c == NULL || p == NULL) {
                free(c);
                free(p);
                return NULL;
        }
        *c = *w;
        c->path = p;
        c->next = NULL;
        return c;
}

struct cl_watch *cl_watch_take(struct cl_watch_table *t, int type, const char *path)
{
        struct cl_watch *fired = NULL, **tail = &fired;
        struct cl_watch **link = &t->head;
        while (*link != NULL) {
                struct cl_watch *w = *link;
                if (!cl_watch_matches(w, type, path)) {
                        link = &w->next;
                        continue;
                }
                if (w->kind == CL_WATCH_PERSISTENT || w->kind == CL_WATCH_RECURSIVE) {
                        struct cl_watch *c = cl_watch_dup(w);
                        if (c != NULL) {
                                *tail = c;
                                tail = &c->next;
                        }
                        link = &w->next;
                        continue;
                }
                *link = w->next; /* one-shot: move to the fired list */
                t->count--;
                w->next = NULL;
                *tail = w;
                tail = &w->next;
        }
        return fired;
}

struct cl_watch *cl_watch_copy_all(struct cl_watch_table *t)
{
        struct cl_watch *all = NULL, **tail = &all;
        for (struct cl_watch *w = t->head; w != NULL; w = w->next) {
                struct cl_watch *c = cl_watch_dup(w);
                if (c == NULL)
                        continue;
                *tail = c;
                tail = &c->next;
        }
        return all;
}

void cl_watch_list_free(struct cl_watch *list)
{
        while (list != NULL) {
                struct cl_watch *next = list->next;
                free(list->path);
                free(list);
                list = next;
        }
}

void cl_watch_clear(struct cl_watch_table *t)
{
        cl_watch_list_free(t->head);
        t->head = NULL;
        t->count = 0;
}

/* ---- SetWatches on reconnect ---- */

struct cl_sw_lists {
        struct zk_bytes *items[5]; /* data, exist, child, persistent, recursive */
        int32_t counts[5];
};

static int cl_sw_flush(struct cl_sw_lists *l, int64_t rel_zxid, struct syn_writer *w)
{
        int32_t total = 0;
        for (int i = 0; i < 5; i++)
                total += l->counts[i];
        if (total == 0)
                return SYN_OK;
        bool v2 = l->counts[3] + l->counts[4] > 0;
        struct zk_request z;
        memset(&z, 0, sizeof(z));
        z.xid = ZK_XID_SET_WATCHES;
        z.type = v2 ? ZK_OP_SET_WATCHES2 : ZK_OP_SET_WATCHES;
        z.set_watches.relative_zxid = rel_zxid;
        struct zk_bytes_list *dst[5] = {&z.set_watches.data, &z.set_watches.exist,
                                        &z.set_watches.child, &z.set_watches.persistent,
                                        &z.set_watches.persistent_recursive};
        for (int i = 0; i < 5; i++)
                *dst[i] = (struct zk_bytes_list){l->counts[i] ? l->items[i] : NULL, l->counts[i]};
        int rc = zk_request_write(w, &z);
        for (int i = 0; i < 5; i++)
                l->counts[i] = 0;
        return rc;
}

int cl_watch_write_set_watches(struct cl_watch_table *t, int64_t relative_zxid,
                               struct syn_writer *w)
{
        if (t->count == 0)
                return SYN_OK;
        struct cl_sw_lists l;
        memset(&l, 0, sizeof(l));
        int rc = SYN_OK;
        for (int i = 0; i < 5; i++)
                if ((l.items[i] = calloc((size_t)t->count, sizeof(struct zk_bytes))) == NULL)
                        rc = SYN_ENOMEM;
        size_t bytes = 0;
        for (struct cl_watch *x = t->head; x != NULL && rc == SYN_OK; x = x->next) {
                int k = (int)x->kind - (int)CL_WATCH_DATA;
                SYN_ASSERT(k >= 0 && k < 5);
                l.items[k][l.counts[k]++] = zk_bytes_of(x->path);
                bytes += strlen(x->path) + 4;
                if (bytes >= CLIENT_SETWATCHES_BYTES_MAX) {
                        rc = cl_sw_flush(&l, relative_zxid, w);
                        bytes = 0;
                }
        }
        if (rc == SYN_OK)
                rc = cl_sw_flush(&l, relative_zxid, w);
        for (int i = 0; i < 5; i++)
                free(l.items[i]);
        return rc;
}
