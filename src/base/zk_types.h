/*
 * The ZooKeeper vocabulary shared by proto (the wire), tree (the data) and the
 * server: error codes, opcodes, create modes, permissions, watch event types and
 * the Stat and ACL records. Pure data, no functions but small inline helpers.
 *
 * ZooKeeper error codes are outcomes, not failures: they travel in replies.
 * Operating errors of synod itself are SYN_E* codes in err.h.
 */
#ifndef SYN_BASE_ZK_TYPES_H
#define SYN_BASE_ZK_TYPES_H

#include <stdint.h>

/* KeeperException.Code */
#define ZK_ERRORS(X)                                                                               \
        X(ZOK, 0, "ok")                                                                            \
        X(ZSYSTEMERROR, -1, "system error")                                                        \
        X(ZRUNTIMEINCONSISTENCY, -2, "runtime inconsistency")                                      \
        X(ZDATAINCONSISTENCY, -3, "data inconsistency")                                            \
        X(ZCONNECTIONLOSS, -4, "connection loss")                                                  \
        X(ZMARSHALLINGERROR, -5, "marshalling error")                                              \
        X(ZUNIMPLEMENTED, -6, "unimplemented")                                                     \
        X(ZOPERATIONTIMEOUT, -7, "operation timeout")                                              \
        X(ZBADARGUMENTS, -8, "bad arguments")                                                      \
        X(ZUNKNOWNSESSION, -12, "unknown session")                                                 \
        X(ZNEWCONFIGNOQUORUM, -13, "new config has no quorum")                                     \
        X(ZRECONFIGINPROGRESS, -14, "reconfig in progress")                                        \
        X(ZAPIERROR, -100, "api error")                                                            \
        X(ZNONODE, -101, "no node")                                                                \
        X(ZNOAUTH, -102, "not authenticated")                                                      \
        X(ZBADVERSION, -103, "bad version")                                                        \
        X(ZNOCHILDRENFOREPHEMERALS, -108, "no children for ephemerals")                            \
        X(ZNODEEXISTS, -110, "node exists")                                                        \
        X(ZNOTEMPTY, -111, "not empty")                                                            \
        X(ZSESSIONEXPIRED, -112, "session expired")                                                \
        X(ZINVALIDCALLBACK, -113, "invalid callback")                                              \
        X(ZINVALIDACL, -114, "invalid acl")                                                        \
        X(ZAUTHFAILED, -115, "authentication failed")                                              \
        X(ZCLOSING, -116, "closing")                                                               \
        X(ZNOTHING, -117, "nothing")                                                               \
        X(ZSESSIONMOVED, -118, "session moved")                                                    \
        X(ZNOTREADONLY, -119, "not read-only")                                                     \
        X(ZEPHEMERALONLOCALSESSION, -120, "ephemeral on local session")                            \
        X(ZNOWATCHER, -121, "no watcher")                                                          \
        X(ZREQUESTTIMEOUT, -122, "request timeout")                                                \
        X(ZRECONFIGDISABLED, -123, "reconfig disabled")                                            \
        X(ZSESSIONCLOSEDREQUIRESASLAUTH, -124, "session closed, requires SASL auth")               \
        X(ZQUOTAEXCEEDED, -125, "quota exceeded")                                                  \
        X(ZTHROTTLED, -127, "throttled")

enum zk_err {
#define ZK_ERR_ENUM(name, value, msg) name = (value),
        ZK_ERRORS(ZK_ERR_ENUM)
#undef ZK_ERR_ENUM
};

/* ZooDefs.OpCode */
enum zk_op {
        ZK_OP_NOTIFICATION = 0,
        ZK_OP_CREATE = 1,
        ZK_OP_DELETE = 2,
        ZK_OP_EXISTS = 3,
        ZK_OP_GET_DATA = 4,
        ZK_OP_SET_DATA = 5,
        ZK_OP_GET_ACL = 6,
        ZK_OP_SET_ACL = 7,
        ZK_OP_GET_CHILDREN = 8,
        ZK_OP_SYNC = 9,
        ZK_OP_PING = 11,
        ZK_OP_GET_CHILDREN2 = 12,
        ZK_OP_CHECK = 13,
        ZK_OP_MULTI = 14,
        ZK_OP_CREATE2 = 15,
        ZK_OP_RECONFIG = 16,
        ZK_OP_CHECK_WATCHES = 17,
        ZK_OP_REMOVE_WATCHES = 18,
        ZK_OP_CREATE_CONTAINER = 19,
        ZK_OP_DELETE_CONTAINER = 20,
        ZK_OP_CREATE_TTL = 21,
        ZK_OP_MULTI_READ = 22,
        ZK_OP_AUTH = 100,
        ZK_OP_SET_WATCHES = 101,
        ZK_OP_SASL = 102,
        ZK_OP_GET_EPHEMERALS = 103,
        ZK_OP_GET_ALL_CHILDREN_NUMBER = 104,
        ZK_OP_SET_WATCHES2 = 105,
        ZK_OP_ADD_WATCH = 106,
        ZK_OP_WHO_AM_I = 107,
        ZK_OP_CREATE_SESSION = -10,
        ZK_OP_CLOSE_SESSION = -11,
        ZK_OP_ERROR = -1,
};

/* ZooDefs.CONFIG_NODE: the membership, as dynamic-config text. */
#define ZK_CONFIG_NODE "/zookeeper/config"

/* Special xids (client→server and server→client). */
enum zk_xid {
        ZK_XID_WATCH_EVENT = -1,
        ZK_XID_PING = -2,
        ZK_XID_AUTH = -4,
        ZK_XID_SET_WATCHES = -8,
};

/* CreateMode flags. */
enum zk_create_flags {
        ZK_CREATE_PERSISTENT = 0,
        ZK_CREATE_EPHEMERAL = 1,
        ZK_CREATE_PERSISTENT_SEQUENTIAL = 2,
        ZK_CREATE_EPHEMERAL_SEQUENTIAL = 3,
        ZK_CREATE_CONTAINER = 4,
        ZK_CREATE_PERSISTENT_WITH_TTL = 5,
        ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6,
};

/* ZooDefs.Perms */
enum zk_perm {
        ZK_PERM_READ = 1,
        ZK_PERM_WRITE = 2,
        ZK_PERM_CREATE = 4,
        ZK_PERM_DELETE = 8,
        ZK_PERM_ADMIN = 16,
        ZK_PERM_ALL = 31,
};

/* Watcher.Event.EventType */
enum zk_event_type {
        ZK_EVENT_NONE = -1,
        ZK_EVENT_NODE_CREATED = 1,
        ZK_EVENT_NODE_DELETED = 2,
        ZK_EVENT_NODE_DATA_CHANGED = 3,
        ZK_EVENT_NODE_CHILDREN_CHANGED = 4,
        ZK_EVENT_DATA_WATCH_REMOVED = 5,
        ZK_EVENT_CHILD_WATCH_REMOVED = 6,
        ZK_EVENT_PERSISTENT_WATCH_REMOVED = 7,
};

/* Watcher.Event.KeeperState */
enum zk_state {
        ZK_STATE_UNKNOWN = -1,
        ZK_STATE_DISCONNECTED = 0,
        ZK_STATE_NO_SYNC_CONNECTED = 1,
        ZK_STATE_SYNC_CONNECTED = 3,
        ZK_STATE_AUTH_FAILED = 4,
        ZK_STATE_CONNECTED_READ_ONLY = 5,
        ZK_STATE_SASL_AUTHENTICATED = 6,
        ZK_STATE_EXPIRED = -112,
        ZK_STATE_CLOSED = 7,
};

/* WatcherType for checkWatches / removeWatches. */
enum zk_watcher_type {
        ZK_WATCHER_CHILDREN = 1,
        ZK_WATCHER_DATA = 2,
        ZK_WATCHER_ANY = 3,
};

/* AddWatchModes */
enum zk_add_watch_mode {
        ZK_ADD_WATCH_PERSISTENT = 0,
        ZK_ADD_WATCH_PERSISTENT_RECURSIVE = 1,
};

/* Owner-field markers of special nodes (EphemeralType). */
#define ZK_OWNER_CONTAINER 0x8000000000000000ull
#define ZK_OWNER_TTL_MASK  0xff00000000000000ull
#define ZK_TTL_MAX_MS      ((1ull << 40) - 1)

/* Stat: 68 bytes on the wire. */
struct zk_stat {
        int64_t czxid;
        int64_t mzxid;
        int64_t ctime;
        int64_t mtime;
        int32_t version;
        int32_t cversion;
        int32_t aversion;
        int64_t ephemeral_owner;
        int32_t data_length;
        int32_t num_children;
        int64_t pzxid;
};

/*
 * A length-delimited string or buffer as jute has them: bytes borrowed from
 * whoever owns the storage (a received frame, a tree node), not NUL-terminated;
 * len == -1 is jute's null, 0 is empty. Whoever hands one out states how long it
 * stays valid.
 */
struct zk_bytes {
        const uint8_t *data;
        int32_t len;
};

/* Id {scheme, id}, viewed through borrowed bytes. */
struct zk_id {
        struct zk_bytes scheme;
        struct zk_bytes id;
};

struct zk_acl {
        int32_t perms;
        struct zk_id id;
};

/* Message for a ZooKeeper error code ("no node"); static storage, never NULL. */
const char *zk_strerror(int zk_err);
/* Name for a ZooKeeper error code ("ZNONODE"); static storage, never NULL. */
const char *zk_errname(int zk_err);

#endif
