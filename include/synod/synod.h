/*
 * libsynod: the C client of synod (and of any ZooKeeper 3.8 server).
 *
 * This is the only installed header and the whole contract of the library.
 *
 * Model. A handle (struct synod) owns one ZooKeeper session and one I/O thread.
 * The thread connects to one server of the connect string (random start, then
 * round robin, with jittered exponential backoff after a full round), performs
 * the handshake (re-attaching the same session id and password after a
 * connection loss, with lastZxidSeen so no server older than what we saw is
 * accepted), re-sends auth and SetWatches (relativeZxid = lastZxidSeen), pings
 * after readTimeout/2 of silence (readTimeout = negotiated timeout * 2/3) and
 * drops the connection after readTimeout without a packet. Replies must come
 * back in request order; one that does not is a protocol error and the
 * connection is dropped (as the Java client does).
 *
 * States (enum synod_state), reported to the state callback on the I/O thread:
 *   CONNECTING -> CONNECTED            first session established
 *   CONNECTED  -> SUSPENDED            connection lost; the session may live on
 *   SUSPENDED  -> CONNECTED            same session re-attached (maybe elsewhere)
 *   SUSPENDED  -> EXPIRED              the server said so, or we were SUSPENDED
 *                                      for a whole session timeout (the server
 *                                      must assume us dead by then: locks and
 *                                      ephemerals held by this handle are gone)
 *   any        -> CLOSED               synod_close
 * EXPIRED and CLOSED are final: every call then fails with SYNOD_ESESSIONEXPIRED
 * or SYNOD_ECLOSING. To go on after expiry, open a new handle.
 *
 * Calls. Every function returns a ZooKeeper error code: SYNOD_OK (0) or one of
 * the negative SYNOD_E* codes below (the values of KeeperException.Code);
 * synod_strerror() names it. A request submitted while the client is not
 * connected is queued and sent once connected; requests in flight when the
 * connection drops fail with SYNOD_ECONNECTIONLOSS (the operation may or may
 * not have been applied: the recipes below deal with that).
 *
 * Threads. Async completions and watch callbacks run on the handle's I/O
 * thread, one at a time, in reply order. They must not block: the blocking
 * (sync) functions and recipes return SYNOD_EAPIERROR there, and synod_close
 * asserts. Async calls may be issued from callbacks.
 * Every other function may be called from any thread.
 *
 * Paths are absolute ("/a/b") and relative to the chroot of the connect string.
 */
#ifndef SYNOD_SYNOD_H
#define SYNOD_SYNOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes (ZooKeeper's KeeperException.Code values) ---- */

enum synod_error {
        SYNOD_OK = 0,
        SYNOD_ESYSTEMERROR = -1,
        SYNOD_ERUNTIMEINCONSISTENCY = -2,
        SYNOD_ECONNECTIONLOSS = -4,
        SYNOD_EMARSHALLINGERROR = -5,
        SYNOD_EUNIMPLEMENTED = -6,
        SYNOD_EOPERATIONTIMEOUT = -7,
        SYNOD_EBADARGUMENTS = -8,
        SYNOD_ENEWCONFIGNOQUORUM = -13,
        SYNOD_ERECONFIGINPROGRESS = -14,
        SYNOD_EAPIERROR = -100,
        SYNOD_ENONODE = -101,
        SYNOD_ENOAUTH = -102,
        SYNOD_EBADVERSION = -103,
        SYNOD_ENOCHILDRENFOREPHEMERALS = -108,
        SYNOD_ENODEEXISTS = -110,
        SYNOD_ENOTEMPTY = -111,
        SYNOD_ESESSIONEXPIRED = -112,
        SYNOD_EINVALIDACL = -114,
        SYNOD_EAUTHFAILED = -115,
        SYNOD_ECLOSING = -116,
        SYNOD_ENOTHING = -117,
        SYNOD_ESESSIONMOVED = -118,
        SYNOD_ENOWATCHER = -121,
        SYNOD_ERECONFIGDISABLED = -123,
};

/* Message for any ZooKeeper error code ("no node"); static storage. */
const char *synod_strerror(int err);
/* Name for any ZooKeeper error code ("ZNONODE"); static storage. */
const char *synod_errname(int err);

/* ---- vocabulary ---- */

enum synod_state {
        SYNOD_STATE_CONNECTING = 0,
        SYNOD_STATE_CONNECTED = 1,
        SYNOD_STATE_SUSPENDED = 2,
        SYNOD_STATE_EXPIRED = 3,
        SYNOD_STATE_CLOSED = 4,
};
const char *synod_state_name(enum synod_state s);

/* Create modes (CreateMode). TTL modes need the server's extended types. */
enum synod_create_mode {
        SYNOD_PERSISTENT = 0,
        SYNOD_EPHEMERAL = 1,
        SYNOD_PERSISTENT_SEQUENTIAL = 2,
        SYNOD_EPHEMERAL_SEQUENTIAL = 3,
        SYNOD_CONTAINER = 4,
        SYNOD_PERSISTENT_WITH_TTL = 5,
        SYNOD_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

enum synod_perm {
        SYNOD_PERM_READ = 1,
        SYNOD_PERM_WRITE = 2,
        SYNOD_PERM_CREATE = 4,
        SYNOD_PERM_DELETE = 8,
        SYNOD_PERM_ADMIN = 16,
        SYNOD_PERM_ALL = 31,
};

/* Watch event types; SYNOD_EVENT_SESSION carries a state change (ev->state). */
enum synod_event_type {
        SYNOD_EVENT_SESSION = -1,
        SYNOD_EVENT_CREATED = 1,
        SYNOD_EVENT_DELETED = 2,
        SYNOD_EVENT_DATA_CHANGED = 3,
        SYNOD_EVENT_CHILDREN_CHANGED = 4,
};

struct synod_stat {
        int64_t czxid;
        int64_t mzxid;
        int64_t ctime_ms;
        int64_t mtime_ms;
        int32_t version;
        int32_t cversion;
        int32_t aversion;
        int64_t ephemeral_owner;
        int32_t data_length;
        int32_t num_children;
        int64_t pzxid;
};

struct synod_acl {
        int32_t perms;      /* enum synod_perm bits */
        const char *scheme; /* "world", "digest", "ip", "auth" */
        const char *id;     /* "anyone", "user:hash", "10.0.0.0/8" */
};

/* The event of a watch; borrowed for the duration of the callback. */
struct synod_event {
        int type;         /* enum synod_event_type */
        int state;        /* enum synod_state for SYNOD_EVENT_SESSION */
        const char *path; /* chroot stripped; "" for session events */
};
typedef void (*synod_watch_fn)(const struct synod_event *ev, void *arg);

/* ---- requests and results ---- */

enum synod_op {
        SYNOD_OP_CREATE = 1,
        SYNOD_OP_DELETE = 2,
        SYNOD_OP_EXISTS = 3,
        SYNOD_OP_GET = 4,
        SYNOD_OP_SET = 5,
        SYNOD_OP_GET_ACL = 6,
        SYNOD_OP_SET_ACL = 7,
        SYNOD_OP_SYNC = 9,
        SYNOD_OP_CHILDREN = 12, /* getChildren2: names and the parent's stat */
        SYNOD_OP_CHECK = 13,    /* version check: only inside a multi */
        SYNOD_OP_MULTI = 14,
        SYNOD_OP_RECONFIG = 16, /* see synod_reconfig */
        SYNOD_OP_ADD_WATCH = 106,
};

/*
 * One request. Fields used per op:
 *   CREATE     path, data, data_len, mode, acl/acl_count (NULL = world:anyone ALL), ttl_ms
 *   DELETE     path, version (-1 = any)          CHECK   path, version
 *   EXISTS GET CHILDREN   path, watch/watch_arg (one-shot watch; NULL = none)
 *   SET        path, data, data_len, version     GET_ACL path
 *   SET_ACL    path, acl, acl_count, version     SYNC    path
 *   MULTI      ops/op_count (CREATE, DELETE, SET, CHECK; all applied or none)
 *   ADD_WATCH  path, recursive, watch/watch_arg (persistent: fires until the handle closes)
 *   RECONFIG   joining, leaving, new_members (NULL = omitted), from_config (-1 = any
 *              version; 0, what a zeroed request holds, is a version); no path: the
 *              membership is outside the chroot (see synod_reconfig)
 * All pointers are borrowed for the duration of the call only.
 */
struct synod_request {
        int op;
        const char *path;
        const void *data;
        int32_t data_len; /* -1 = null data */
        int32_t version;
        int mode;
        int64_t ttl_ms;
        const struct synod_acl *acl;
        int32_t acl_count;
        const struct synod_request *ops;
        int32_t op_count;
        bool recursive;
        synod_watch_fn watch;
        void *watch_arg;
        const char *joining;
        const char *leaving;
        const char *new_members;
        int64_t from_config;
};

/*
 * The result of one request. Owned by the library while passed to an async
 * completion (borrowed for the callback); owned by the caller after a sync
 * call (free with synod_result_free). Fields filled per op:
 *   CREATE: path (created path, chroot stripped), stat    EXISTS/SET: stat
 *   GET, RECONFIG: data/data_len (-1 = null; always NUL-terminated for convenience), stat
 *   (RECONFIG: the new membership text and the Stat of /zookeeper/config)
 *   CHILDREN: children/child_count (sorted by name), stat
 *   GET_ACL: acl/acl_count, stat      MULTI: results/result_count (one per op;
 *   err of the op that failed, 0 before it, SYNOD_ERUNTIMEINCONSISTENCY after)
 */
struct synod_result {
        int err;
        int op;
        char *path;
        char *data;
        int32_t data_len;
        struct synod_stat stat;
        char **children;
        int32_t child_count;
        struct synod_acl *acl;
        int32_t acl_count;
        struct synod_result *results;
        int32_t result_count;
        int64_t zxid; /* the reply's zxid */
};
typedef void (*synod_done_fn)(const struct synod_result *res, void *arg);

/* Frees a result returned by a sync call and everything it points to. NULL is fine. */
void synod_result_free(struct synod_result *res);

/* ---- the handle ---- */

struct synod;
typedef void (*synod_state_fn)(struct synod *h, enum synod_state state, void *arg);

struct synod_options {
        /* "host:port,host:port[/chroot]"; borrowed for synod_open only. Required. */
        const char *servers;
        int session_timeout_ms;  /* requested; the server clamps it. 0 = 10000 */
        uint64_t seed;           /* server order and backoff jitter; 0 = from the clock */
        synod_state_fn on_state; /* may be NULL; runs on the I/O thread */
        void *state_arg;
};

/*
 * Opens a handle and starts connecting (asynchronously: the state is
 * CONNECTING on return). *out is owned by the caller: synod_close frees it.
 * Errors: SYNOD_EBADARGUMENTS (bad connect string or options),
 * SYNOD_ESYSTEMERROR (out of memory, thread or pipe creation failed).
 */
int synod_open(struct synod **out, const struct synod_options *opt);

/*
 * Closes the session (closeSession, waiting briefly for the reply), fails
 * every pending request with SYNOD_ECLOSING, stops the I/O thread and frees h.
 * Must not be called from the I/O thread (asserted), and no other thread may
 * be using h, or use it afterwards: stop your threads (and recipes running on
 * them) first. Ephemeral nodes of the session are deleted by the server.
 */
void synod_close(struct synod *h);

/* Waits up to timeout_ms (-1 = forever) for CONNECTED. SYNOD_OK, SYNOD_EOPERATIONTIMEOUT,
 * SYNOD_ESESSIONEXPIRED or SYNOD_ECLOSING. */
int synod_wait_connected(struct synod *h, int timeout_ms);

enum synod_state synod_state(struct synod *h);
/* Session id (0 before the first session) and negotiated timeout (0 before). */
int64_t synod_session_id(struct synod *h);
int synod_session_timeout_ms(struct synod *h);
/* The server currently connected ("host:port"), or "" when not connected; copied into buf. */
void synod_current_server(struct synod *h, char *buf, size_t buf_len);

/* Adds an identity (e.g. "digest", "user:password"); re-sent on every reconnect.
 * Returns SYNOD_OK, SYNOD_EBADARGUMENTS or SYNOD_ESYSTEMERROR (out of memory). */
int synod_add_auth(struct synod *h, const char *scheme, const void *auth, int32_t auth_len);

/*
 * Async: submits req; done(res, arg) runs later on the I/O thread exactly once
 * (also when the call fails: res->err says why). done may be NULL.
 * Returns SYNOD_OK (submitted) or an error without calling done:
 * SYNOD_EBADARGUMENTS (invalid path or request, too big), SYNOD_ESESSIONEXPIRED,
 * SYNOD_ECLOSING, SYNOD_ESYSTEMERROR (out of memory).
 */
int synod_call(struct synod *h, const struct synod_request *req, synod_done_fn done, void *arg);

/*
 * Sync: submits req and waits for its reply. Returns res->err; *out (if not
 * NULL) receives the result, which the caller frees with synod_result_free
 * (also on error, when a result was produced; *out is NULL otherwise).
 */
int synod_call_sync(struct synod *h, const struct synod_request *req, struct synod_result **out);

/* ---- blocking convenience wrappers (all on synod_call_sync) ---- */

/* created_path (may be NULL) receives a malloc'd string the caller frees. */
int synod_create(struct synod *h, const char *path, const void *data, int32_t data_len, int mode,
                 char **created_path);
/* Creates path and any missing parents as persistent nodes; SYNOD_OK if it exists. */
int synod_create_parents(struct synod *h, const char *path);
int synod_delete(struct synod *h, const char *path, int32_t version);
/* Deletes path and everything below it (children first). SYNOD_OK if it was missing. */
int synod_delete_recursive(struct synod *h, const char *path);
/* Called after each node a long operation finished, with the count so far. */
typedef void (*synod_progress_fn)(void *arg, uint64_t done);
/* The same, calling progress(arg, deleted) after each node deleted (progress may be NULL). */
int synod_delete_recursive_progress(struct synod *h, const char *path, synod_progress_fn progress,
                                    void *arg);
/* stat may be NULL. Returns SYNOD_ENONODE if missing (the watch is then set on creation). */
int synod_exists(struct synod *h, const char *path, struct synod_stat *stat, synod_watch_fn watch,
                 void *watch_arg);
/* *data receives a malloc'd, NUL-terminated copy (caller frees); *data_len its length. */
int synod_get(struct synod *h, const char *path, char **data, int32_t *data_len,
              struct synod_stat *stat, synod_watch_fn watch, void *watch_arg);
int synod_set(struct synod *h, const char *path, const void *data, int32_t data_len,
              int32_t version, struct synod_stat *stat);
/* *children receives a malloc'd array of *count malloc'd names, sorted; free with
 * synod_strings_free. */
int synod_children(struct synod *h, const char *path, char ***children, int32_t *count,
                   synod_watch_fn watch, void *watch_arg);
void synod_strings_free(char **strings, int32_t count);
int synod_sync(struct synod *h, const char *path);
int synod_add_watch(struct synod *h, const char *path, bool recursive, synod_watch_fn watch,
                    void *watch_arg);

/* ---- membership (ZooKeeper's dynamic reconfiguration) ----
 *
 * The servers of the cluster are the data of /zookeeper/config, as text: one
 * "server.N=host:peerPort:electionPort:participant|observer;clientHost:clientPort"
 * line per server, then "version=<hex>" (the configuration's version).
 */

/*
 * Reads /zookeeper/config, outside any chroot of the connect string (as Java's
 * getConfig: the membership is the cluster's, not the application's; a GET of that
 * path through synod_call or synod_get is under the chroot like every other path).
 * config, config_len, stat may each be NULL; *config receives a malloc'd,
 * NUL-terminated copy the caller frees (NULL on error). watch: as synod_get.
 * A standalone server answers an empty text.
 */
int synod_get_config(struct synod *h, char **config, int32_t *config_len, struct synod_stat *stat,
                     synod_watch_fn watch, void *watch_arg);

/*
 * Changes the membership with ZooKeeper's reconfig request (opcode 16). Either
 * incremental, joining and/or leaving:
 *   joining      comma-separated server lines as in /zookeeper/config
 *                ("server.4=10.0.0.4:2888:3888:participant;10.0.0.4:2181,server.5=...")
 *   leaving      comma-separated ids ("4,5")
 * or complete, new_members: every server line of the new membership (joining and
 * leaving are then ignored by the server). NULL strings are sent as null, as the
 * Java client and kazoo send an omitted list. from_config: apply only if the
 * configuration's version (the "version=" value, parsed as hex) is still this one;
 * -1 = whatever it is. The strings are borrowed for the call.
 * On SYNOD_OK, *config (may be NULL) receives the new membership text, malloc'd and
 * NUL-terminated (the caller frees it), *config_len (may be NULL) its length and
 * *stat (may be NULL) the Stat of /zookeeper/config; on error *config is NULL.
 * The servers then bring their consensus configuration to it (ZooKeeper before it
 * answers; synod one server at a time after, see docs/cluster.md).
 * Needs reconfigEnabled=true on the servers and the super user (synod_add_auth with
 * "digest", "super:<password>" matching the servers' superDigest). Errors besides
 * those of every call: SYNOD_ERECONFIGDISABLED (reconfigEnabled is off), SYNOD_ENOAUTH
 * (not the super user), SYNOD_EBADVERSION (from_config is not the current version),
 * SYNOD_ENEWCONFIGNOQUORUM (ZooKeeper: the new voters cannot form a quorum with the
 * leader; synod: the new membership has no participant), SYNOD_ERECONFIGINPROGRESS
 * (another change is not finished; on synod also until a new cluster's first leader
 * has written the membership), SYNOD_EBADARGUMENTS (a malformed server line; leaving
 * ids that are not members are ignored, as by ZooKeeper), SYNOD_EUNIMPLEMENTED (a
 * standalone server).
 * Async: synod_call with op SYNOD_OP_RECONFIG and the same fields; the result carries
 * the text in data/data_len and the Stat in stat.
 */
int synod_reconfig(struct synod *h, const char *joining, const char *leaving,
                   const char *new_members, int64_t from_config, char **config, int32_t *config_len,
                   struct synod_stat *stat);

/* ---- recipes ----
 * Each recipe runs on the caller's thread with blocking calls, retries
 * SYNOD_ECONNECTIONLOSS while the session lives (SUSPENDED), and reports
 * SYNOD_ESESSIONEXPIRED when it does not. See docs/recipes.md for the
 * guarantees and their limits.
 */

/*
 * Lock: an ephemeral-sequential node "<dir>/_c_<guid>-<kind>-<seq>" per waiter;
 * each waiter watches only its predecessor (no herd). The guid in the name
 * finds our node again if a create succeeded but its reply was lost. The
 * fencing token is the czxid of our node: it only grows from one holder to
 * the next, so a resource can reject writes carrying an older token.
 * Guarantee: while synod_lock_held() and the handle is CONNECTED, no other
 * client holds the lock. After SUSPENDED, the lock may be lost; after EXPIRED
 * it is lost.
 * Read/write lock: kind "read" waits only for earlier "write" nodes; kind
 * "write" (and the plain lock, kind "lock") waits for every earlier node.
 */
struct synod_lock;
/* dir is copied. kind: "lock", "read" or "write". *out freed with synod_lock_free. */
int synod_lock_new(struct synod *h, const char *dir, const char *kind, struct synod_lock **out);
void synod_lock_free(struct synod_lock *l); /* releases if held */
/* Sets the data stored in the lock node (e.g. an owner id); copied. Before acquire. */
int synod_lock_set_data(struct synod_lock *l, const void *data, int32_t len);
/* Waits up to timeout_ms (-1 forever, 0 = try once). SYNOD_OK (held),
 * SYNOD_EOPERATIONTIMEOUT (not held, our node removed), SYNOD_ESESSIONEXPIRED, ... */
int synod_lock_acquire(struct synod_lock *l, int timeout_ms);
int synod_lock_release(struct synod_lock *l);
bool synod_lock_held(struct synod_lock *l);
int64_t synod_lock_token(struct synod_lock *l); /* czxid of our node; 0 if not held */
/* Our node's path (borrowed until release/free), or NULL. */
const char *synod_lock_path(struct synod_lock *l);
/* True if our node still exists and the session is alive: checked against the server. */
bool synod_lock_check(struct synod_lock *l);

/*
 * Leader election over a lock of kind "n" whose node data is the candidate's
 * id. campaign blocks until leader (or timeout); the leader is the owner of the
 * lowest node. observe returns the current leader's id.
 * Callbacks: synod_election_start runs the campaign on its own thread and
 * calls on_gain once leader and on_loss when leadership is lost (session
 * expired or our node deleted); on_loss is also called after resign.
 */
struct synod_election;
typedef void (*synod_leader_fn)(struct synod_election *e, void *arg);
int synod_election_new(struct synod *h, const char *dir, const char *id,
                       struct synod_election **out);
void synod_election_free(struct synod_election *e); /* resigns */
int synod_election_campaign(struct synod_election *e, int timeout_ms);
int synod_election_resign(struct synod_election *e);
bool synod_election_is_leader(struct synod_election *e);
int64_t synod_election_token(struct synod_election *e);
/* *leader_id: malloc'd id of the current leader (caller frees); SYNOD_ENONODE if none. */
int synod_election_observe(struct synod *h, const char *dir, char **leader_id);
/* Runs campaign + loss detection on a thread until resign/free; callbacks on that thread. */
int synod_election_start(struct synod_election *e, synod_leader_fn on_gain, synod_leader_fn on_loss,
                         void *arg);

/*
 * Service registry under "/services/<service>/<instance>": an ephemeral node
 * whose data is JSON {"address":"...","port":N,"metadata":{...}}. It lives as
 * long as the registering session.
 */
struct synod_instance {
        char *id;
        char *address;
        int port;
        char *metadata_json; /* "{}" if none */
};
/* instance_id NULL = a random id. metadata_json NULL = "{}"; must be a JSON object
 * (not validated beyond that it starts with '{'). *path_out (may be NULL) is malloc'd.
 * Returns SYNOD_OK only once the instance node exists and belongs to this session;
 * SYNOD_ENODEEXISTS if another session holds it; otherwise the error that stopped it,
 * or, when connection losses or a vanishing service node kept every one of
 * CLIENT_CAS_ROUNDS_MAX attempts from succeeding, the last attempt's error. */
int synod_service_register(struct synod *h, const char *service, const char *instance_id,
                           const char *address, int port, const char *metadata_json,
                           char **path_out);
/* Lists instances, sorted by id; free with synod_instances_free. A child watch is set
 * on the service when watch != NULL (one-shot; list again to re-arm). */
int synod_service_list(struct synod *h, const char *service, struct synod_instance **out,
                       int32_t *count, synod_watch_fn watch, void *watch_arg);
/* Frees the fields of every item and the array. */
void synod_instances_free(struct synod_instance *items, int32_t count);
/* Frees the fields of one instance (not the struct) and zeroes it. */
void synod_instance_clear(struct synod_instance *it);
/* Picks one live instance at random (seed picks), skipping avoid_id (the one that just
 * failed; may be NULL). SYNOD_ENONODE if none. Clear out with synod_instance_clear. */
int synod_service_pick(struct synod *h, const char *service, const char *avoid_id, uint64_t seed,
                       struct synod_instance *out);

/*
 * Configuration under a root node: one child per key, value = data. The
 * root's data version is a generation bumped by every apply, so a reader can
 * take a consistent snapshot: read the generation, the keys, then the
 * generation again, retrying if it moved. apply is one multi: check the
 * generation, then create/set/delete each key; all or nothing.
 */
struct synod_config_entry {
        char *key;
        char *value; /* NULL in an apply = delete the key */
        int32_t version;
};
struct synod_config {
        struct synod_config_entry *entries; /* sorted by key */
        int32_t count;
        int32_t generation; /* the root's data version */
};
/* A consistent snapshot of the subtree (see above); *out freed with synod_config_free.
 * SYNOD_ENONODE if root does not exist. To follow changes, add a persistent recursive
 * watch on root (synod_add_watch) and call this again on every event and session event;
 * compare generations to see whether anything changed. */
int synod_config_get(struct synod *h, const char *root, struct synod_config *out);
void synod_config_free(struct synod_config *cfg);
/* Applies entries atomically if the generation is still expected_generation (-1 = any:
 * then read and retry on conflict). Returns SYNOD_EBADVERSION on a lost race. */
int synod_config_apply(struct synod *h, const char *root, const struct synod_config_entry *entries,
                       int32_t count, int32_t expected_generation);

/* Barrier: up while node exists. wait blocks until it is removed (or timeout). */
int synod_barrier_set(struct synod *h, const char *path);
int synod_barrier_remove(struct synod *h, const char *path);
int synod_barrier_wait(struct synod *h, const char *path, int timeout_ms);
/* Double barrier: enter waits until `count` members are in; leave waits until all left. */
int synod_double_barrier_enter(struct synod *h, const char *dir, const char *member, int count,
                               int timeout_ms);
int synod_double_barrier_leave(struct synod *h, const char *dir, const char *member,
                               int timeout_ms);

/* Counter: an int64 in decimal text (then a newline and the last writer's id, which
 * tells after a lost reply whether our update landed), updated by compare-and-set on
 * the data version: each add counts exactly once. *result = the value after the add. */
int synod_counter_add(struct synod *h, const char *path, int64_t delta, int64_t *result);

/*
 * Group membership: each member is an ephemeral node "<dir>/<member>".
 * The partitioner gives item i (of the sorted items) to member (i mod n) of
 * the sorted live members, so every item has exactly one owner among the
 * members everyone sees, and a dead member's items move to the others.
 */
int synod_group_join(struct synod *h, const char *dir, const char *member);
int synod_group_leave(struct synod *h, const char *dir, const char *member);
int synod_group_members(struct synod *h, const char *dir, char ***members, int32_t *count,
                        synod_watch_fn watch, void *watch_arg);
/* Pure: which of items[0..n) belong to `member` among members (both any order).
 * Writes owned indexes into owned (capacity n_items); returns how many. */
int32_t synod_partition(const char *const *members, int32_t n_members, const char *member,
                        const char *const *items, int32_t n_items, int32_t *owned);

#ifdef __cplusplus
}
#endif

#endif
