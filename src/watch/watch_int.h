/*
 * Internals of the watch manager shared by its .c files (not part of the
 * contract: include watch/watch.h from outside).
 *
 * Three intrusive hash tables (table.c) link the same objects: every watched
 * path, every watching connection and every (connection, path) entry embeds a
 * struct watch_node as its first member. An entry is also on two doubly
 * linked lists, its path's and its connection's, so both "who watches P" and
 * "what does C watch" are walks of exactly the right entries.
 */
#ifndef SYN_WATCH_WATCH_INT_H
#define SYN_WATCH_WATCH_INT_H

#include "watch/watch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/limits.h"

/* One-shot kinds: removed when they fire. */
#define WATCH_KIND_ONESHOT (WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD)

struct watch_node {
        struct watch_node *next; /* hash chain */
        uint64_t hash;
};

struct watch_entry;

struct watch_path {
        struct watch_node node;      /* first member: key = (name, len) */
        struct watch_entry *entries; /* invariant: non-empty while in the table */
        size_t entry_count;
        size_t recursive_count; /* entries with WATCH_KIND_RECURSIVE */
        size_t len;
        char name[]; /* len bytes + NUL */
};

struct watch_conn {
        struct watch_node node; /* first member: key = conn_id */
        uint64_t conn_id;
        uint64_t session_id;
        struct watch_entry *entries; /* invariant: non-empty while in the table */
        uint64_t watch_count;        /* kind bits over its entries */
        uint64_t bytes;              /* watch_entry_bytes() over its entries */
        /*
         * Marked by watch_trigger when a notification for this connection could
         * not be queued; on the manager's lost list while set. Invariant: the
         * record stays in the table while it has entries OR is marked, so the
         * mark survives the removal of the connection's last watch.
         */
        bool lost;
        struct watch_conn *lost_prev, *lost_next;
};

struct watch_entry {
        struct watch_node node; /* first member: key = (conn_id, path) */
        struct watch_path *path;
        struct watch_conn *conn;
        struct watch_entry *path_prev, *path_next;
        struct watch_entry *conn_prev, *conn_next;
        unsigned kinds; /* invariant: non-zero, within WATCH_KIND_ALL */
};

/* What one (connection, path) entry is charged against watch_bytes_per_conn_max. */
static inline uint64_t watch_entry_bytes(size_t path_len)
{
        return WATCH_ENTRY_OVERHEAD_BYTES + (uint64_t)path_len;
}

/* ---- table.c ---- */
uint64_t watch_hash_u64(uint64_t seed, uint64_t v);
uint64_t watch_hash_entry(uint64_t seed, uint64_t conn_id, const struct watch_path *path);
int watch_table_init(struct watch_table *t);
void watch_table_close(struct watch_table *t);
/* First node of the chain `hash` falls in; walk with ->next. */
struct watch_node *watch_table_chain(const struct watch_table *t, uint64_t hash);
/* Links n (n->hash set); grows the table when it is loaded, keeping it on OOM. */
void watch_table_insert(struct watch_table *t, struct watch_node *n);
/* Unlinks n, which must be in t; shrinks the table when it is mostly empty. */
void watch_table_remove(struct watch_table *t, struct watch_node *n);

/* ---- manager.c ---- */
struct watch_path *watch_path_find(const struct watch_manager *wm, const char *path,
                                   size_t path_len);
struct watch_conn *watch_conn_find(const struct watch_manager *wm, uint64_t conn_id);
struct watch_entry *watch_entry_find(const struct watch_manager *wm, const struct watch_conn *c,
                                     const struct watch_path *p);
/* Clears `kinds` on e; frees e, and its path and connection if they become empty
 * (a connection marked lost is kept until watch_take_lost or watch_drop_conn). */
void watch_entry_clear(struct watch_manager *wm, struct watch_entry *e, unsigned kinds);
/* Marks c lost (idempotent): puts it on the manager's lost list. Allocates nothing. */
void watch_conn_mark_lost(struct watch_manager *wm, struct watch_conn *c);
bool watch_path_valid(const char *path, size_t path_len);
/* Appends one event; SYN_ENOMEM if `out` cannot grow. */
int watch_events_push(struct watch_events *out, uint64_t conn_id, int32_t type, const char *path,
                      size_t path_len, unsigned kinds);
/* Makes room for n more events without further allocation; SYN_ENOMEM. */
int watch_events_reserve(struct watch_events *out, size_t n);

#endif
