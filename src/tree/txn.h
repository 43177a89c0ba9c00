/*
 * The transaction: the Raft entry payload of every write.
 *
 * The server turns a client write into a txn, proposes it through Raft, and on
 * commit every server calls tree_apply() with it. Every decision that depends on
 * the state (ACL checks, version checks, sequence numbers, existence) is taken at
 * APPLY time, the only place that sees the committed state, so the txn carries
 * all its inputs: the caller's session, xid and identities, and the leader's
 * clock (time_ms) for ctime/mtime/TTL, never the applying server's clock.
 *
 * Encoding (txn_encode / txn_decode) is synod's own compact big-endian format,
 * not jute (documented in txn.c). The decoder treats its input as hostile (it
 * comes from disk and from peers): it is total, checks every length and count
 * against base/limits.h, allocates at most proportionally to the input, and
 * never asserts on input.
 *
 * Ownership: a txn built by the server borrows every string and array it points
 * at (request frame, connection auth list) for the duration of tree_apply /
 * txn_encode. A decoded txn borrows strings from the input bytes and owns one
 * allocation for its arrays; release it with txn_release().
 */
#ifndef SYN_TREE_TXN_H
#define SYN_TREE_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/zk_types.h"

/* Values are part of the on-disk format: never renumber. */
enum txn_type {
        TXN_NOOP = 0,  /* no effect; consumes a zxid (e.g. the leader's term-start entry) */
        TXN_OP = 1,    /* one client write: op.zk_op says which */
        TXN_MULTI = 2, /* ops[0..op_count): all or nothing */
        TXN_CREATE_SESSION = 3, /* session.{id, passwd, timeout_ms} */
        TXN_CLOSE_SESSION = 4,  /* session.id: client close or leader expiry */
        TXN_REAP = 5,           /* reap.{path, reason}: server-side container/TTL deletion */
};

enum txn_reap_reason {
        TXN_REAP_CONTAINER = 1,
        TXN_REAP_TTL = 2,
};

/*
 * One write operation, single or inside a multi. zk_op is the client's opcode and
 * selects the fields used:
 *   ZK_OP_CREATE, ZK_OP_CREATE2, ZK_OP_CREATE_CONTAINER, ZK_OP_CREATE_TTL:
 *       path, data, acl/acl_count, flags, ttl_ms (only for CREATE_TTL; else ignored)
 *   ZK_OP_DELETE: path, version         ZK_OP_SET_DATA: path, data, version
 *   ZK_OP_SET_ACL: path, acl/acl_count, version (= expected aversion)
 *   ZK_OP_CHECK: path, version
 * version -1 = any. data.len -1 = null data. Inside a multi, SET_ACL is not allowed.
 */
struct txn_op {
        int32_t zk_op;
        struct zk_bytes path;
        struct zk_bytes data;
        const struct zk_acl *acl; /* acl_count entries, borrowed */
        int32_t acl_count;
        int32_t flags;   /* zk_create_flags */
        int32_t version; /* expected version / aversion, -1 = any */
        int64_t ttl_ms;
};

/*
 * Who is asking, for ACL checks and the expansion of `auth` ACLs: the identities
 * the connection has (every connection has ip:<address>; digest auth adds
 * digest:<user>:<base64 sha1>) and whether one of them is the super user.
 */
struct txn_auth {
        const struct zk_id *ids; /* id_count entries, borrowed; may be NULL if id_count == 0 */
        int32_t id_count;        /* 0..TXN_AUTH_IDS_MAX */
        bool super;              /* bypasses every ACL check */
};

struct txn {
        enum txn_type type;
        uint64_t session_id; /* the caller's session; 0 = the server itself (no session check) */
        int32_t cxid;        /* the client's xid, for the server's bookkeeping */
        int64_t time_ms;     /* leader's clock at proposal: ctime/mtime, TTL and reap decisions */
        struct txn_auth auth;

        struct txn_op op; /* TXN_OP */

        const struct txn_op *ops; /* TXN_MULTI: op_count entries, borrowed */
        int32_t op_count;         /* 0..ZK_MULTI_OPS_MAX */

        struct {
                uint64_t id; /* CREATE_SESSION / CLOSE_SESSION */
                uint8_t passwd[ZK_PASSWD_BYTES];
                int32_t timeout_ms; /* CREATE_SESSION */
        } session;

        struct {
                struct zk_bytes path;
                enum txn_reap_reason reason;
        } reap; /* TXN_REAP */

        void *owned; /* private: set by txn_decode, freed by txn_release; NULL otherwise */
};

/*
 * Appends the encoding of t to w. Returns SYN_OK, SYN_EINVAL if t breaks a limit
 * (unknown type/op, a string or count over its limit: the decoder would refuse
 * it), or SYN_ENOMEM if the writer failed (w->failed). On error w may hold a
 * partial encoding; the caller resets it.
 */
int txn_encode(const struct txn *t, struct syn_writer *w);

/*
 * Decodes len bytes into *out. On success strings in *out borrow `bytes` (keep them
 * alive while using out) and arrays live in one allocation owned by out: call
 * txn_release(out). Errors: SYN_ETRUNC (input ends early), SYN_ECORRUPT (bad
 * version/type/opcode, negative or over-limit length or count, trailing bytes),
 * SYN_ENOMEM. On error *out needs no release.
 */
int txn_decode(const uint8_t *bytes, size_t len, struct txn *out);

/*
 * The caller's (session_id, cxid) from the header of an encoded txn (hostile
 * bytes, borrowed for the call), without decoding the rest. SYN_ECORRUPT if the
 * bytes are too short or of another format version.
 */
int txn_peek_key(const uint8_t *bytes, size_t len, uint64_t *session_id, int32_t *cxid);

/*
 * Rewrites time_ms in an encoded txn in place: the leader stamps its own clock
 * into a txn a follower forwarded, so every time in the tree is the leader's.
 * SYN_ECORRUPT as for txn_peek_key; the rest of the bytes are not checked.
 */
int txn_stamp_time(uint8_t *bytes, size_t len, int64_t time_ms);

/* Frees what txn_decode allocated; safe on a zeroed or server-built txn (owned == NULL). */
void txn_release(struct txn *t);

/* Short name of a type ("op", "multi", ...), static storage. */
const char *txn_type_name(enum txn_type type);

#endif
