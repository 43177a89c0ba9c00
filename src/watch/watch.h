/*
 * watch: the ZooKeeper watches of the client connections of THIS server.
 *
 * Watches are not replicated. Each belongs to a client connection, named by an
 * opaque conn_id the server assigns, and remembers the connection's session id
 * only to print it in the wchc / wchp listings. The manager answers four
 * questions: register a watch, which connections to notify when the tree
 * changes a path (watch_trigger), remove or check a connection's watches on a
 * path (removeWatches / checkWatches), and what to do with the watches a client
 * re-sends after reconnecting (SetWatches / SetWatches2).
 *
 * Model. One entry per (connection, path) pair carries a bit set of watch kinds
 * (enum watch_kind). Entries hang off two hash tables: path -> watched path
 * (the entries of all connections on that path) and conn_id -> connection (the
 * entries of that connection), each entry being on one list of each, so a
 * trigger costs O(watchers of the path) plus one hash probe per ancestor when
 * recursive watches exist, and dropping a connection costs O(its watches).
 * Because a connection has one entry per path, "at most one delivery per
 * trigger per path" falls out of the model; recursive watches on ancestors are
 * merged by sorting the deliveries by conn_id.
 *
 * Trigger rules (docs/protocol-notes.md, "Watches"), for an event on path P:
 *   NodeCreated         data, exist, persistent on P; recursive on P or above
 *   NodeDeleted         data, exist, child, persistent on P; recursive on P or above
 *   NodeDataChanged     data, exist, persistent on P; recursive on P or above
 *   NodeChildrenChanged child, persistent on P (the parent); never recursive
 * Data, exist and child watches are one-shot and removed when they fire;
 * persistent and recursive ones stay until removed or the connection goes.
 *
 * Counting: a "watch" is one kind bit of one entry, so data + child on the
 * same path by one connection are two watches (like ZooKeeper's mntr
 * zk_watch_count); listings report entries, i.e. (session, path) pairs.
 *
 * Lost notifications. A notification the manager cannot queue (watch_trigger
 * runs out of memory growing the caller's list) is never dropped silently:
 * every connection it was meant for is marked "lost" instead, which costs no
 * allocation (a flag and a list link in the connection's record, kept alive
 * while marked), and watch_take_lost hands those connections to the server,
 * which closes them. The client then reconnects and re-sends its watches with
 * its last zxid (SetWatches), and watch_set_watches fires what it missed.
 *
 * Paths are byte strings with a length; the manager copies what it keeps.
 * It never reads a clock or does I/O; it is single-threaded like its caller.
 */
#ifndef SYN_WATCH_WATCH_H
#define SYN_WATCH_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kinds of watch, as bits of a mask. */
enum watch_kind {
        WATCH_KIND_DATA = 1u << 0,       /* getData, or exists on an existing node: one-shot */
        WATCH_KIND_EXIST = 1u << 1,      /* exists on a missing node: one-shot */
        WATCH_KIND_CHILD = 1u << 2,      /* getChildren / getChildren2: one-shot */
        WATCH_KIND_PERSISTENT = 1u << 3, /* addWatch mode 0 */
        WATCH_KIND_RECURSIVE = 1u << 4,  /* addWatch mode 1 (persistent recursive) */
};
#define WATCH_KIND_ALL 0x1fu

/*
 * WatcherType values of removeWatches / checkWatches beyond the 3.8 ones
 * (Children 1, Data 2, Any 3 in base/zk_types.h): ZooKeeper 3.9 clients also
 * send these two to remove one persistent watch.
 */
#define WATCH_WATCHER_PERSISTENT           4
#define WATCH_WATCHER_PERSISTENT_RECURSIVE 5

struct watch_options {
        /* Watches one connection may hold, 1..WATCH_PER_CONN_MAX (base/limits.h). */
        uint32_t watches_per_conn_max;
        /* Bytes of watch entries one connection may hold (see WATCH_PER_CONN_BYTES_MAX
         * for the charge); 0 means WATCH_PER_CONN_BYTES_MAX, else at most that. */
        uint64_t watch_bytes_per_conn_max;
        /* Seed of the path hash, so a client cannot choose colliding paths offline. */
        uint64_t hash_seed;
};

/* One notification to send: WatcherEvent{type, SyncConnected, path} to conn_id. */
struct watch_event {
        uint64_t conn_id;
        int32_t type;     /* enum zk_event_type */
        const char *path; /* borrowed from the caller's input: see the producing call */
        size_t path_len;
        /*
         * The kinds (enum watch_kind) of the watches that caused this delivery,
         * merged over the connection's matching entries. If it holds no one-shot
         * kind (WATCH_KIND_PERSISTENT / RECURSIVE only), the server must check
         * READ on the node the event is about before sending it (ZooKeeper
         * 3.8.4, CVE-2024-23944); one-shot watches were checked when set.
         */
        unsigned kinds;
};

/*
 * A growable list of events the caller owns. The watch calls append to it,
 * so one list can collect the deliveries of a whole batch of tree events.
 */
struct watch_events {
        struct watch_event *items; /* owned; freed by watch_events_close */
        size_t count;
        size_t cap;
};

void watch_events_init(struct watch_events *events);
/* Forgets the events, keeps the memory. */
void watch_events_reset(struct watch_events *events);
void watch_events_close(struct watch_events *events);

struct watch_stats {
        uint64_t conn_count;           /* connections holding a watch (or a lost mark) */
        uint64_t path_count;           /* distinct watched paths */
        uint64_t entry_count;          /* (connection, path) pairs */
        uint64_t watch_count;          /* watches: kind bits over all entries */
        uint64_t rejected_count;       /* registrations refused by watches_per_conn_max */
        uint64_t rejected_bytes_count; /* ... refused by watch_bytes_per_conn_max */
        uint64_t fired_count;          /* deliveries produced by watch_trigger */
        uint64_t lost_count;           /* connections marked lost by watch_trigger (ever) */
        uint64_t lost_pending_count;   /* ... of which watch_take_lost has not taken yet */
        uint64_t conn_watch_peak;      /* the most watches one connection holds */
        uint64_t conn_bytes_peak;      /* the most bookkeeping bytes one connection holds */
};

/* Internal (watch_int.h): the hash-chain link embedded in paths, connections and entries,
 * and the per-connection record. */
struct watch_node;
struct watch_conn;

struct watch_table {
        struct watch_node **buckets; /* owned array of chains */
        size_t bucket_count;         /* a power of two >= WATCH_TABLE_BUCKETS_MIN */
        size_t count;
};

struct watch_manager {
        struct watch_table paths;   /* path -> struct watch_path */
        struct watch_table conns;   /* conn_id -> struct watch_conn */
        struct watch_table entries; /* (conn, path) -> struct watch_entry */
        uint64_t hash_seed;
        uint32_t watches_per_conn_max;
        uint64_t watch_bytes_per_conn_max;
        uint64_t watch_count;
        uint64_t entry_count;
        uint64_t recursive_count; /* recursive watches anywhere: 0 = skip the ancestor walk */
        uint64_t rejected_count;
        uint64_t rejected_bytes_count;
        uint64_t fired_count;
        /* Connections marked lost and not yet taken (struct watch_conn.lost_*), oldest
         * first; a marked record stays allocated even without entries until taken. */
        struct watch_conn *lost_head, *lost_tail;
        uint64_t lost_pending_count;
        uint64_t lost_count;
};

/*
 * Initialises an empty manager in place. Errors: SYN_EINVAL for options out of
 * range, SYN_ENOMEM. On error nothing needs closing.
 */
int watch_init(struct watch_manager *wm, const struct watch_options *options);
/* Frees every watch. */
void watch_close(struct watch_manager *wm);

/*
 * Registers watches of the kinds in `kinds` (a non-empty mask of enum
 * watch_kind) for conn_id on path; registering a watch that exists is a no-op.
 * session_id is remembered for the listings (the latest value wins). path is
 * borrowed for the call only. Errors: SYN_EINVAL for an empty or unknown kind
 * mask or a path that is empty, longer than ZK_PATH_BYTES_MAX, not starting
 * with '/' or containing a NUL; SYN_ELIMIT if the connection would exceed
 * watches_per_conn_max (nothing registered, counted in rejected_count) or,
 * with a new (connection, path) entry, watch_bytes_per_conn_max (counted in
 * rejected_bytes_count); SYN_ENOMEM. On error the manager is unchanged.
 */
int watch_add(struct watch_manager *wm, uint64_t conn_id, uint64_t session_id, unsigned kinds,
              const char *path, size_t path_len);

/*
 * Applies one tree event: type is NodeCreated, NodeDeleted, NodeDataChanged
 * (for the node at path) or NodeChildrenChanged (path = the parent). Appends
 * one event per connection to notify, in increasing conn_id order, and removes
 * the one-shot watches that fired. The appended events' path points at the
 * caller's `path` (borrowed: valid as long as the caller keeps it). A type
 * outside these four is a caller bug (assert). Errors: SYN_ENOMEM while
 * growing `out`; then nothing was appended, no watch was removed, and every
 * connection the event was meant for is marked lost instead (no allocation
 * needed): the caller must then fetch them with watch_take_lost and close them.
 */
int watch_trigger(struct watch_manager *wm, int32_t type, const char *path, size_t path_len,
                  struct watch_events *out);

/*
 * The connections that lost a notification (see watch_trigger), oldest mark
 * first: moves up to `cap` of their conn_ids into ids[0..) and returns how many
 * it moved, clearing their marks; 0 when none is left. Call it after every
 * batch of watch_trigger calls that returned an error (or simply after every
 * batch: it is O(1) when nothing is marked), until it returns 0, and close each
 * connection it names: their clients reconnect and re-send their watches with
 * SetWatches, which fires the events they missed. The connections' watches stay
 * registered until watch_drop_conn (closing them drops them anyway). A
 * connection dropped with watch_drop_conn before being taken is not returned.
 * Never fails.
 */
size_t watch_take_lost(struct watch_manager *wm, uint64_t *ids, size_t cap);

/*
 * removeWatches: removes conn_id's watches on path of WatcherType
 * watcher_type: Children (1) removes child and persistent watches; Data (2)
 * removes data, exist, persistent and recursive watches (ZooKeeper 3.8 keeps
 * persistent watches in both of its managers and recursive ones in the data
 * manager); Any (3) removes all; 4 / 5 (3.9) remove the persistent /
 * recursive one. Returns ZOK if something was removed, ZNOWATCHER if nothing
 * matched, ZBADARGUMENTS for another watcher_type (client input). Never fails
 * otherwise.
 */
int watch_remove(struct watch_manager *wm, uint64_t conn_id, const char *path, size_t path_len,
                 int32_t watcher_type);

/* checkWatches: like watch_remove but removes nothing. Same return values. */
int watch_check(const struct watch_manager *wm, uint64_t conn_id, const char *path, size_t path_len,
                int32_t watcher_type);

/* Drops every watch of conn_id (disconnect, session expiry). O(its watches). */
void watch_drop_conn(struct watch_manager *wm, uint64_t conn_id);

/* The kinds (enum watch_kind mask) of conn_id's watches on path; 0 if none. */
unsigned watch_kinds_of(const struct watch_manager *wm, uint64_t conn_id, const char *path,
                        size_t path_len);

/* What SetWatches needs to know about a node of this server's tree. */
struct watch_node_info {
        bool exists;
        int64_t mzxid;
        int64_t pzxid;
};

/*
 * A node lookup supplied by the caller (the tree), so watch does not depend on
 * the tree's API: fills *info for path (path_len bytes, not NUL-terminated).
 */
typedef void (*watch_lookup_fn)(void *arg, const char *path, size_t path_len,
                                struct watch_node_info *info);

/* SetWatches / SetWatches2 as decoded: paths borrowed from the request frame. */
struct watch_paths {
        const char *const *paths;
        const size_t *path_lens;
        size_t count;
};

struct watch_set_request {
        int64_t relative_zxid;
        struct watch_paths data;
        struct watch_paths exist;
        struct watch_paths child;
        struct watch_paths persistent;           /* SetWatches2 only; else count 0 */
        struct watch_paths persistent_recursive; /* SetWatches2 only; else count 0 */
};

/*
 * Applies a SetWatches(2) of conn_id after a reconnect (docs/protocol-notes.md,
 * "Watches"):
 *   data:  missing -> NodeDeleted; mzxid > relative_zxid -> NodeDataChanged; else register
 *   exist: exists -> NodeCreated; else register
 *   child: missing -> NodeDeleted; pzxid > relative_zxid -> NodeChildrenChanged; else register
 *   persistent, persistent_recursive: register
 * Events are appended to `out` in that order (lists in the order above, paths in
 * request order), all for conn_id; their paths are borrowed from `request`.
 * Like ZooKeeper, a path in two lists can yield two events. Invalid paths
 * (see watch_add) are skipped: they come from the wire. Errors: SYN_ENOMEM
 * (events appended so far stay valid, some registrations may be missing:
 * the server should close the connection); SYN_ELIMIT if some registrations
 * were refused by watches_per_conn_max (everything else was done and the
 * events must still be sent).
 */
int watch_set_watches(struct watch_manager *wm, uint64_t conn_id, uint64_t session_id,
                      const struct watch_set_request *request, struct watch_events *out,
                      void *lookup_arg, watch_lookup_fn lookup);

/* The peaks walk the connections: O(connections holding a watch). */
void watch_get_stats(const struct watch_manager *wm, struct watch_stats *stats);

/* Walks everything and checks the bookkeeping (counts, links). O(all watches): for tests. */
bool watch_invariants_hold(const struct watch_manager *wm);

/* One (session, path) pair of a listing. */
struct watch_pair {
        uint64_t session_id;
        const char *path; /* borrowed from the manager until its next change; NUL-terminated */
        size_t path_len;
};

enum watch_order {
        WATCH_BY_SESSION = 1, /* wchc: by session id, then path */
        WATCH_BY_PATH = 2,    /* wchp: by path, then session id */
};

/*
 * Lists every (session, path) pair holding at least one watch, sorted by
 * `order` (bytewise path order); a session with two connections on one path is
 * listed once. Sets *pairs to an array the caller frees with free() (NULL when
 * empty) and *count. Errors: SYN_ENOMEM.
 */
int watch_list(const struct watch_manager *wm, enum watch_order order, struct watch_pair **pairs,
               size_t *count);

#endif
