/*
 * The watch manager's bookkeeping: init/close, registering, removing and
 * checking watches, dropping a connection, statistics, and the event list.
 *
 * Invariants (walked by watch_invariants_hold, which the tests call):
 * a path record exists exactly while it has an entry, a connection record
 * while it has an entry or is marked lost (then it is on the lost list);
 * an entry exists exactly while it has a kind bit; wm->watch_count is the sum
 * of all kind bits, wm->recursive_count the number of recursive bits, and each
 * path's recursive_count the recursive bits of its entries.
 */
#include "watch/watch_int.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/zk_types.h"

#include <stdlib.h>
#include <string.h>

static unsigned kind_count(unsigned kinds)
{
        return (unsigned)__builtin_popcount(kinds);
}

int watch_init(struct watch_manager *wm, const struct watch_options *options)
{
        memset(wm, 0, sizeof *wm);
        if (options->watches_per_conn_max == 0 ||
            options->watches_per_conn_max > WATCH_PER_CONN_MAX)
                return SYN_EINVAL;
        wm->hash_seed = options->hash_seed;
        wm->watches_per_conn_max = options->watches_per_conn_max;
        if (options->watch_bytes_per_conn_max > WATCH_PER_CONN_BYTES_MAX)
                return SYN_EINVAL;
        wm->watch_bytes_per_conn_max = options->watch_bytes_per_conn_max != 0
                                           ? options->watch_bytes_per_conn_max
                                           : WATCH_PER_CONN_BYTES_MAX;
        if (watch_table_init(&wm->paths) != 0)
                goto oom;
        if (watch_table_init(&wm->conns) != 0)
                goto oom;
        if (watch_table_init(&wm->entries) != 0)
                goto oom;
        return SYN_OK;
oom:
        watch_table_close(&wm->paths);
        watch_table_close(&wm->conns);
        watch_table_close(&wm->entries);
        return SYN_ENOMEM;
}

void watch_close(struct watch_manager *wm)
{
        /* Free everything directly: no list or table upkeep is needed on the way out. */
        struct watch_table *tables[] = {&wm->entries, &wm->paths, &wm->conns};
        for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
                for (size_t b = 0; b < tables[t]->bucket_count; b++) {
                        struct watch_node *n = tables[t]->buckets[b];
                        while (n != NULL) {
                                struct watch_node *next = n->next;
                                free(n);
                                n = next;
                        }
                }
                watch_table_close(tables[t]);
        }
        wm->watch_count = 0;
        wm->entry_count = 0;
        wm->recursive_count = 0;
        wm->lost_head = wm->lost_tail = NULL; /* their records were in wm->conns */
        wm->lost_pending_count = 0;
}

bool watch_path_valid(const char *path, size_t path_len)
{
        if (path == NULL || path_len == 0 || path_len > ZK_PATH_BYTES_MAX)
                return false;
        if (path[0] != '/')
                return false;
        return memchr(path, '\0', path_len) == NULL;
}

struct watch_path *watch_path_find(const struct watch_manager *wm, const char *path,
                                   size_t path_len)
{
        uint64_t h = syn_hash_bytes(wm->hash_seed, path, path_len);
        for (struct watch_node *n = watch_table_chain(&wm->paths, h); n != NULL; n = n->next) {
                struct watch_path *p = (struct watch_path *)n;
                if (n->hash == h && p->len == path_len && memcmp(p->name, path, path_len) == 0)
                        return p;
        }
        return NULL;
}

struct watch_conn *watch_conn_find(const struct watch_manager *wm, uint64_t conn_id)
{
        uint64_t h = watch_hash_u64(wm->hash_seed, conn_id);
        for (struct watch_node *n = watch_table_chain(&wm->conns, h); n != NULL; n = n->next) {
                struct watch_conn *c = (struct watch_conn *)n;
                if (c->conn_id == conn_id)
                        return c;
        }
        return NULL;
}

struct watch_entry *watch_entry_find(const struct watch_manager *wm, const struct watch_conn *c,
                                     const struct watch_path *p)
{
        uint64_t h = watch_hash_entry(wm->hash_seed, c->conn_id, p);
        for (struct watch_node *n = watch_table_chain(&wm->entries, h); n != NULL; n = n->next) {
                struct watch_entry *e = (struct watch_entry *)n;
                if (e->conn == c && e->path == p)
                        return e;
        }
        return NULL;
}

/* Finds or creates the entry of (conn_id, path); NULL on OOM (nothing created then). */
static struct watch_entry *entry_get(struct watch_manager *wm, uint64_t conn_id,
                                     uint64_t session_id, const char *path, size_t path_len)
{
        struct watch_path *p = watch_path_find(wm, path, path_len);
        struct watch_conn *c = watch_conn_find(wm, conn_id);
        if (p != NULL && c != NULL) {
                struct watch_entry *e = watch_entry_find(wm, c, p);
                if (e != NULL) {
                        c->session_id = session_id;
                        return e;
                }
        }
        struct watch_path *new_p = NULL;
        struct watch_conn *new_c = NULL;
        struct watch_entry *e = calloc(1, sizeof *e);
        if (p == NULL)
                p = new_p = calloc(1, sizeof *p + path_len + 1);
        if (c == NULL)
                c = new_c = calloc(1, sizeof *c);
        if (e == NULL || p == NULL || c == NULL) {
                free(e);
                free(new_p);
                free(new_c);
                return NULL;
        }
        if (new_p != NULL) {
                new_p->len = path_len;
                memcpy(new_p->name, path, path_len);
                new_p->name[path_len] = '\0';
                new_p->node.hash = syn_hash_bytes(wm->hash_seed, path, path_len);
                watch_table_insert(&wm->paths, &new_p->node);
        }
        if (new_c != NULL) {
                new_c->conn_id = conn_id;
                new_c->node.hash = watch_hash_u64(wm->hash_seed, conn_id);
                watch_table_insert(&wm->conns, &new_c->node);
        }
        c->session_id = session_id;
        e->path = p;
        e->conn = c;
        e->path_next = p->entries;
        if (p->entries != NULL)
                p->entries->path_prev = e;
        p->entries = e;
        p->entry_count++;
        e->conn_next = c->entries;
        if (c->entries != NULL)
                c->entries->conn_prev = e;
        c->entries = e;
        c->bytes += watch_entry_bytes(path_len);
        e->node.hash = watch_hash_entry(wm->hash_seed, conn_id, p);
        watch_table_insert(&wm->entries, &e->node);
        wm->entry_count++;
        return e;
}

static void entry_set_kinds(struct watch_manager *wm, struct watch_entry *e, unsigned kinds)
{
        unsigned added = kinds & ~e->kinds;
        e->kinds |= added;
        e->conn->watch_count += kind_count(added);
        wm->watch_count += kind_count(added);
        if (added & WATCH_KIND_RECURSIVE) {
                e->path->recursive_count++;
                wm->recursive_count++;
        }
}

int watch_add(struct watch_manager *wm, uint64_t conn_id, uint64_t session_id, unsigned kinds,
              const char *path, size_t path_len)
{
        if (kinds == 0 || (kinds & ~WATCH_KIND_ALL) != 0)
                return SYN_EINVAL;
        if (!watch_path_valid(path, path_len))
                return SYN_EINVAL;
        struct watch_conn *c = watch_conn_find(wm, conn_id);
        struct watch_path *p = watch_path_find(wm, path, path_len);
        struct watch_entry *e = (c != NULL && p != NULL) ? watch_entry_find(wm, c, p) : NULL;
        unsigned added = kinds & ~(e != NULL ? e->kinds : 0u);
        uint64_t held = c != NULL ? c->watch_count : 0;
        if (held + kind_count(added) > wm->watches_per_conn_max) {
                wm->rejected_count++;
                return SYN_ELIMIT;
        }
        uint64_t held_bytes = c != NULL ? c->bytes : 0;
        if (e == NULL && held_bytes + watch_entry_bytes(path_len) > wm->watch_bytes_per_conn_max) {
                wm->rejected_bytes_count++;
                return SYN_ELIMIT;
        }
        if (e == NULL)
                e = entry_get(wm, conn_id, session_id, path, path_len);
        if (e == NULL)
                return SYN_ENOMEM;
        e->conn->session_id = session_id;
        entry_set_kinds(wm, e, kinds);
        return SYN_OK;
}

/* Frees a connection record that has no entries and is not marked lost. */
static void conn_free(struct watch_manager *wm, struct watch_conn *c)
{
        SYN_ASSERT(c->entries == NULL);
        SYN_ASSERT(!c->lost);
        SYN_ASSERT(c->watch_count == 0);
        SYN_ASSERT(c->bytes == 0);
        watch_table_remove(&wm->conns, &c->node);
        free(c);
}

static void lost_unlink(struct watch_manager *wm, struct watch_conn *c)
{
        SYN_ASSERT(c->lost);
        if (c->lost_prev != NULL)
                c->lost_prev->lost_next = c->lost_next;
        else
                wm->lost_head = c->lost_next;
        if (c->lost_next != NULL)
                c->lost_next->lost_prev = c->lost_prev;
        else
                wm->lost_tail = c->lost_prev;
        c->lost_prev = c->lost_next = NULL;
        c->lost = false;
        SYN_ASSERT(wm->lost_pending_count > 0);
        wm->lost_pending_count--;
}

void watch_conn_mark_lost(struct watch_manager *wm, struct watch_conn *c)
{
        if (c->lost)
                return;
        c->lost = true;
        c->lost_next = NULL;
        c->lost_prev = wm->lost_tail;
        if (wm->lost_tail != NULL)
                wm->lost_tail->lost_next = c;
        else
                wm->lost_head = c;
        wm->lost_tail = c;
        wm->lost_pending_count++;
        wm->lost_count++;
}

size_t watch_take_lost(struct watch_manager *wm, uint64_t *ids, size_t cap)
{
        size_t n = 0;
        /* Bounded by cap: each pass takes one record off the list. */
        while (n < cap && wm->lost_head != NULL) {
                struct watch_conn *c = wm->lost_head;
                ids[n++] = c->conn_id;
                lost_unlink(wm, c);
                if (c->entries == NULL)
                        conn_free(wm, c); /* kept only for its mark */
        }
        return n;
}

static void entry_free(struct watch_manager *wm, struct watch_entry *e)
{
        struct watch_path *p = e->path;
        struct watch_conn *c = e->conn;
        if (e->path_prev != NULL)
                e->path_prev->path_next = e->path_next;
        else
                p->entries = e->path_next;
        if (e->path_next != NULL)
                e->path_next->path_prev = e->path_prev;
        if (e->conn_prev != NULL)
                e->conn_prev->conn_next = e->conn_next;
        else
                c->entries = e->conn_next;
        if (e->conn_next != NULL)
                e->conn_next->conn_prev = e->conn_prev;
        SYN_ASSERT(c->bytes >= watch_entry_bytes(p->len));
        c->bytes -= watch_entry_bytes(p->len);
        watch_table_remove(&wm->entries, &e->node);
        free(e);
        SYN_ASSERT(wm->entry_count > 0);
        wm->entry_count--;
        SYN_ASSERT(p->entry_count > 0);
        if (--p->entry_count == 0) {
                SYN_ASSERT(p->entries == NULL);
                SYN_ASSERT(p->recursive_count == 0);
                watch_table_remove(&wm->paths, &p->node);
                free(p);
        }
        if (c->entries == NULL && !c->lost)
                conn_free(wm, c);
}

void watch_entry_clear(struct watch_manager *wm, struct watch_entry *e, unsigned kinds)
{
        unsigned removed = e->kinds & kinds;
        e->kinds &= ~removed;
        SYN_ASSERT(e->conn->watch_count >= kind_count(removed));
        e->conn->watch_count -= kind_count(removed);
        SYN_ASSERT(wm->watch_count >= kind_count(removed));
        wm->watch_count -= kind_count(removed);
        if (removed & WATCH_KIND_RECURSIVE) {
                SYN_ASSERT(e->path->recursive_count > 0);
                e->path->recursive_count--;
                SYN_ASSERT(wm->recursive_count > 0);
                wm->recursive_count--;
        }
        if (e->kinds == 0)
                entry_free(wm, e);
}

/* The kinds a WatcherType names; 0 for an unknown type. */
static unsigned watcher_type_kinds(int32_t watcher_type)
{
        switch (watcher_type) {
        case ZK_WATCHER_CHILDREN:
                return WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT;
        case ZK_WATCHER_DATA:
                return WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT |
                       WATCH_KIND_RECURSIVE;
        case ZK_WATCHER_ANY:
                return WATCH_KIND_ALL;
        case WATCH_WATCHER_PERSISTENT:
                return WATCH_KIND_PERSISTENT;
        case WATCH_WATCHER_PERSISTENT_RECURSIVE:
                return WATCH_KIND_RECURSIVE;
        default:
                return 0;
        }
}

static struct watch_entry *entry_lookup(const struct watch_manager *wm, uint64_t conn_id,
                                        const char *path, size_t path_len)
{
        if (path == NULL)
                return NULL;
        struct watch_conn *c = watch_conn_find(wm, conn_id);
        if (c == NULL)
                return NULL;
        struct watch_path *p = watch_path_find(wm, path, path_len);
        if (p == NULL)
                return NULL;
        return watch_entry_find(wm, c, p);
}

int watch_remove(struct watch_manager *wm, uint64_t conn_id, const char *path, size_t path_len,
                 int32_t watcher_type)
{
        unsigned kinds = watcher_type_kinds(watcher_type);
        if (kinds == 0)
                return ZBADARGUMENTS;
        struct watch_entry *e = entry_lookup(wm, conn_id, path, path_len);
        if (e == NULL || (e->kinds & kinds) == 0)
                return ZNOWATCHER;
        watch_entry_clear(wm, e, kinds);
        return ZOK;
}

int watch_check(const struct watch_manager *wm, uint64_t conn_id, const char *path, size_t path_len,
                int32_t watcher_type)
{
        unsigned kinds = watcher_type_kinds(watcher_type);
        if (kinds == 0)
                return ZBADARGUMENTS;
        const struct watch_entry *e = entry_lookup(wm, conn_id, path, path_len);
        if (e == NULL || (e->kinds & kinds) == 0)
                return ZNOWATCHER;
        return ZOK;
}

unsigned watch_kinds_of(const struct watch_manager *wm, uint64_t conn_id, const char *path,
                        size_t path_len)
{
        const struct watch_entry *e = entry_lookup(wm, conn_id, path, path_len);
        return e != NULL ? e->kinds : 0u;
}

void watch_drop_conn(struct watch_manager *wm, uint64_t conn_id)
{
        struct watch_conn *c = watch_conn_find(wm, conn_id);
        if (c == NULL)
                return;
        if (c->lost)
                lost_unlink(wm, c); /* the connection is going anyway: nothing to take */
        if (c->entries == NULL) {
                conn_free(wm, c);
                return;
        }
        /* Clearing the last entry frees c: stop as soon as the list is down to one. */
        for (;;) {
                struct watch_entry *e = c->entries;
                SYN_ASSERT(e != NULL);
                bool last = e->conn_next == NULL;
                watch_entry_clear(wm, e, WATCH_KIND_ALL);
                if (last)
                        break;
        }
}

void watch_get_stats(const struct watch_manager *wm, struct watch_stats *stats)
{
        stats->conn_count = wm->conns.count;
        stats->path_count = wm->paths.count;
        stats->entry_count = wm->entry_count;
        stats->watch_count = wm->watch_count;
        stats->rejected_count = wm->rejected_count;
        stats->rejected_bytes_count = wm->rejected_bytes_count;
        stats->fired_count = wm->fired_count;
        stats->lost_count = wm->lost_count;
        stats->lost_pending_count = wm->lost_pending_count;
        /* How close the busiest connection is to the per-connection limits (metrics). */
        stats->conn_watch_peak = stats->conn_bytes_peak = 0;
        for (size_t b = 0; b < wm->conns.bucket_count; b++)
                for (const struct watch_node *n = wm->conns.buckets[b]; n != NULL; n = n->next) {
                        const struct watch_conn *c = (const struct watch_conn *)n;
                        if (c->watch_count > stats->conn_watch_peak)
                                stats->conn_watch_peak = c->watch_count;
                        if (c->bytes > stats->conn_bytes_peak)
                                stats->conn_bytes_peak = c->bytes;
                }
}

void watch_events_init(struct watch_events *events)
{
        events->items = NULL;
        events->count = 0;
        events->cap = 0;
}

void watch_events_reset(struct watch_events *events)
{
        events->count = 0;
}

void watch_events_close(struct watch_events *events)
{
        free(events->items);
        watch_events_init(events);
}

int watch_events_reserve(struct watch_events *out, size_t n)
{
        if (n <= out->cap - out->count)
                return SYN_OK;
        if (n > SIZE_MAX / sizeof *out->items - out->count)
                return SYN_ENOMEM;
        size_t need = out->count + n;
        size_t cap = out->cap != 0 ? out->cap : 16;
        while (cap < need)
                cap = cap <= SIZE_MAX / sizeof *out->items / 2 ? cap * 2 : need;
        struct watch_event *items = realloc(out->items, cap * sizeof *items);
        if (items == NULL)
                return SYN_ENOMEM;
        out->items = items;
        out->cap = cap;
        return SYN_OK;
}

int watch_events_push(struct watch_events *out, uint64_t conn_id, int32_t type, const char *path,
                      size_t path_len, unsigned kinds)
{
        int rc = watch_events_reserve(out, 1);
        if (rc != SYN_OK)
                return rc;
        out->items[out->count++] = (struct watch_event){
            .conn_id = conn_id, .type = type, .path = path, .path_len = path_len, .kinds = kinds};
        return SYN_OK;
}

/* Checks one path record against its entries; adds their kind bits to *watches. */
static bool path_consistent(const struct watch_path *p, uint64_t *watches)
{
        size_t entries = 0, recursive = 0;
        for (const struct watch_entry *e = p->entries; e != NULL; e = e->path_next) {
                if (e->path != p || e->kinds == 0 || (e->kinds & ~WATCH_KIND_ALL) != 0)
                        return false;
                if (e->path_next != NULL && e->path_next->path_prev != e)
                        return false;
                entries++;
                recursive += (e->kinds & WATCH_KIND_RECURSIVE) != 0;
                *watches += kind_count(e->kinds);
        }
        return entries > 0 && entries == p->entry_count && recursive == p->recursive_count;
}

/* The lost list is well linked and holds exactly the marked records of the table. */
static bool lost_list_consistent(const struct watch_manager *wm, uint64_t marked_in_table)
{
        uint64_t n = 0;
        const struct watch_conn *prev = NULL;
        for (const struct watch_conn *c = wm->lost_head; c != NULL; c = c->lost_next) {
                if (!c->lost || c->lost_prev != prev || watch_conn_find(wm, c->conn_id) != c)
                        return false;
                if (++n > wm->conns.count)
                        return false; /* a cycle */
                prev = c;
        }
        return prev == wm->lost_tail && n == wm->lost_pending_count && n == marked_in_table;
}

bool watch_invariants_hold(const struct watch_manager *wm)
{
        uint64_t watches = 0, entries = 0, recursive = 0;
        for (size_t b = 0; b < wm->paths.bucket_count; b++) {
                for (struct watch_node *n = wm->paths.buckets[b]; n != NULL; n = n->next) {
                        const struct watch_path *p = (const struct watch_path *)n;
                        if (!path_consistent(p, &watches))
                                return false;
                        entries += p->entry_count;
                        recursive += p->recursive_count;
                }
        }
        uint64_t conn_watches = 0, marked = 0;
        for (size_t b = 0; b < wm->conns.bucket_count; b++) {
                for (struct watch_node *n = wm->conns.buckets[b]; n != NULL; n = n->next) {
                        const struct watch_conn *c = (const struct watch_conn *)n;
                        uint64_t w = 0, bytes = 0;
                        marked += c->lost;
                        if (c->entries == NULL && !c->lost)
                                return false;
                        for (const struct watch_entry *e = c->entries; e != NULL;
                             e = e->conn_next) {
                                if (e->conn != c)
                                        return false;
                                w += kind_count(e->kinds);
                                bytes += watch_entry_bytes(e->path->len);
                        }
                        if (w != c->watch_count || bytes != c->bytes)
                                return false;
                        conn_watches += w;
                }
        }
        return watches == wm->watch_count && conn_watches == wm->watch_count &&
               entries == wm->entry_count && entries == wm->entries.count &&
               recursive == wm->recursive_count && lost_list_consistent(wm, marked);
}
