/*
 * ZooKeeper client-protocol records, both directions (docs/protocol-notes.md,
 * "The protocol as synod serves it").
 *
 * The server decodes ConnectRequest and requests and encodes ConnectResponse,
 * replies and watch notifications; synod's client library and the tests do the
 * opposite. Encoders write whole length-prefixed frames into a syn_writer so
 * the server can batch many replies into one buffer and one write(2).
 *
 * Decoding is a total function over hostile bytes: any input either decodes
 * or returns SYN_EPROTO (malformed, truncated, impossible value) or
 * SYN_ETOOBIG (a length or count above a limit of base/limits.h). It never
 * reads out of bounds and never asserts on input.
 *
 * Zero-copy: every struct zk_bytes in a decoded record is a view into the
 * frame bytes passed to the decoder. It stays valid while that buffer does, so
 * keep the frame alive (and unmodified) as long as the decoded record is used.
 *
 * Vectors (ACL lists, path lists, children, multi ops): a decode that needs
 * any runs in two passes over the bytes, first counting elements, then
 * filling them into ONE heap block sized exactly (owned by the record, freed
 * with zk_request_free / zk_response_free). Every count is bounded by a limit
 * and by the bytes left, so the block is at most a small multiple of the frame.
 *
 * Encoding trusts the caller's structs as program data: a struct zk_bytes must
 * have len >= -1 and non-NULL data when len > 0 (asserted); vector counts that
 * disagree with their items and unknown types are returned as SYN_EINVAL.
 *
 * Trailing bytes after a complete record are ignored, as ZooKeeper does (its
 * deserializers never check for leftovers); `trailing_bytes` reports how many
 * there were so the server may log it. The one exception is the ConnectRequest,
 * whose optional readOnly byte is read if present (ZooKeeper does the same).
 */
#ifndef SYN_PROTO_ZK_RECORDS_H
#define SYN_PROTO_ZK_RECORDS_H

#include "base/buf.h"
#include "base/limits.h"
#include "base/zk_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- shared ---- */

/* vector<ACL>. count -1 = null vector; items is NULL when count <= 0. */
struct zk_acl_list {
        struct zk_acl *items;
        int32_t count;
};

/* vector<ustring>. count -1 = null vector; items is NULL when count <= 0. */
struct zk_bytes_list {
        struct zk_bytes *items;
        int32_t count;
};

/* ClientInfo {authScheme, user} of whoAmI. */
struct zk_client_info {
        struct zk_bytes scheme;
        struct zk_bytes user;
};

struct zk_client_info_list {
        struct zk_client_info *items;
        int32_t count; /* -1 = null vector */
};

/* ---- handshake ---- */

struct zk_connect_request {
        int32_t protocol_version;
        int64_t last_zxid_seen;
        int32_t timeout_ms;
        int64_t session_id;
        struct zk_bytes passwd; /* 0..ZK_PASSWD_BYTES bytes or null */
        bool read_only;         /* meaningful only if has_read_only */
        bool has_read_only;     /* the optional trailing readOnly byte was present */
};

struct zk_connect_response {
        int32_t protocol_version;
        int32_t timeout_ms; /* 0 = session expired / invalid */
        int64_t session_id;
        uint8_t passwd[ZK_PASSWD_BYTES]; /* always sent as exactly 16 bytes */
        bool read_only;
        bool has_read_only; /* encode the flag: set iff the request had it (37 vs 36 bytes) */
};

/* ---- headers ---- */

struct zk_reply_header {
        int32_t xid;
        int64_t zxid;
        int32_t err; /* ZOK or a ZooKeeper error code; != 0 means no body */
};

/* WatcherEvent, the body of a notification (xid -1, zxid -1). */
struct zk_watcher_event {
        int32_t type;  /* enum zk_event_type */
        int32_t state; /* enum zk_state; the server always sends ZK_STATE_SYNC_CONNECTED */
        struct zk_bytes path;
};

/* ---- requests ---- */

/* create (1), create2 (15), createContainer (19): CreateRequest; createTTL (21) adds ttl. */
struct zk_create_request {
        struct zk_bytes path;
        struct zk_bytes data;
        struct zk_acl_list acl;
        int32_t flags;  /* enum zk_create_flags; not validated here */
        int64_t ttl_ms; /* createTTL only, 0 otherwise; not validated here */
};

/* exists (3), getData (4), getChildren (8), getChildren2 (12). */
struct zk_path_watch_request {
        struct zk_bytes path;
        bool watch;
};

/* delete (2), check (13). */
struct zk_path_version_request {
        struct zk_bytes path;
        int32_t version; /* -1 = any */
};

/* getACL (6), sync (9), getEphemerals (103, prefixPath), getAllChildrenNumber (104). */
struct zk_path_request {
        struct zk_bytes path;
};

/* setData (5). */
struct zk_set_data_request {
        struct zk_bytes path;
        struct zk_bytes data;
        int32_t version;
};

/* setACL (7). */
struct zk_set_acl_request {
        struct zk_bytes path;
        struct zk_acl_list acl;
        int32_t version; /* expected aversion, -1 = any */
};

struct zk_request;

/*
 * multi (14): sub-ops create/create2/createContainer/createTTL/delete/setData/
 * check only; multiRead (22): getData/getChildren only. Anything else (also a
 * nested multi, or mixing the two kinds) fails to decode with SYN_EPROTO.
 * Each sub-op is a struct zk_request with xid = the multi's xid.
 */
struct zk_multi_request {
        struct zk_request *ops; /* count entries, NULL when count == 0 */
        int32_t count;          /* 0..ZK_MULTI_OPS_MAX */
};

/* reconfig (16). */
struct zk_reconfig_request {
        struct zk_bytes joining_servers;
        struct zk_bytes leaving_servers;
        struct zk_bytes new_members;
        int64_t cur_config_id;
};

/* checkWatches (17), removeWatches (18). */
struct zk_watches_request {
        struct zk_bytes path;
        int32_t type; /* enum zk_watcher_type; not validated here */
};

/* auth (100): AuthPacket. */
struct zk_auth_request {
        int32_t type; /* always 0 */
        struct zk_bytes scheme;
        struct zk_bytes auth; /* at most ZK_AUTH_BYTES_MAX */
};

/*
 * setWatches (101) and setWatches2 (105). The last two lists exist only in
 * setWatches2 (count 0 after decoding setWatches, not written when encoding
 * it). All five lists together hold at most ZK_SETWATCHES_PATHS_MAX paths.
 */
struct zk_set_watches_request {
        int64_t relative_zxid;
        struct zk_bytes_list data;
        struct zk_bytes_list exist;
        struct zk_bytes_list child;
        struct zk_bytes_list persistent;
        struct zk_bytes_list persistent_recursive;
};

/* addWatch (106). */
struct zk_add_watch_request {
        struct zk_bytes path;
        int32_t mode; /* enum zk_add_watch_mode; not validated here */
};

/* sasl (102): GetSASLRequest. */
struct zk_sasl_request {
        struct zk_bytes token;
};

/*
 * A decoded request: header fields plus the record selected by `type`.
 * Requests without a body: ping (11), closeSession (-11), whoAmI (107).
 */
struct zk_request {
        int32_t xid;
        int32_t type; /* enum zk_op */
        union {
                struct zk_create_request create;           /* 1, 15, 19, 21 */
                struct zk_path_version_request path_ver;   /* 2, 13 */
                struct zk_path_watch_request path_watch;   /* 3, 4, 8, 12 */
                struct zk_set_data_request set_data;       /* 5 */
                struct zk_path_request path_only;          /* 6, 9, 103, 104 */
                struct zk_set_acl_request set_acl;         /* 7 */
                struct zk_multi_request multi;             /* 14, 22 */
                struct zk_reconfig_request reconfig;       /* 16 */
                struct zk_watches_request watches;         /* 17, 18 */
                struct zk_auth_request auth;               /* 100 */
                struct zk_set_watches_request set_watches; /* 101, 105 */
                struct zk_add_watch_request add_watch;     /* 106 */
                struct zk_sasl_request sasl;               /* 102 */
        };
        size_t trailing_bytes; /* bytes after the record, ignored (decode only) */
        void *pool;            /* owned vector storage (decode only), see zk_request_free */
};

/* ---- responses ---- */

struct zk_response;

struct zk_multi_response {
        struct zk_response *results; /* count entries, NULL when count == 0 */
        int32_t count;
};

/*
 * A reply body. `type` selects the layout (the opcode of the request, except
 * inside a multi where it is the result type: 1 create, 15 create2, 2 delete,
 * 13 check, 5 setData, 4 getData, 8 getChildren, -1 error). Only the fields of
 * that layout are written / filled in:
 *
 *   1 create, 9 sync                      path
 *   15 create2, 19, 21                    path, stat
 *   3 exists, 5 setData, 7 setACL, 13     stat
 *   4 getData, 16 reconfig                data, stat
 *   6 getACL                              acl, stat
 *   8 getChildren, 103 getEphemerals      names
 *   12 getChildren2                       names, stat
 *   14 multi, 22 multiRead                multi
 *   104 getAllChildrenNumber              number
 *   106 addWatch                          err (ErrorResponse, always 0)
 *   107 whoAmI                            infos
 *   102 sasl                              data (the token)
 *   -1 error (multi results only)         err (ErrorResponse)
 *   2, 11, 17, 18, 100, 101, 105, -11     nothing
 *
 * When encoding, every pointer is borrowed from the caller for the duration of
 * the call only.
 */
struct zk_response {
        int32_t type;
        int32_t err;
        struct zk_bytes path;
        struct zk_bytes data;
        struct zk_stat stat;
        struct zk_acl_list acl;
        struct zk_bytes_list names;
        struct zk_multi_response multi;
        int32_t number;
        struct zk_client_info_list infos;
        void *pool; /* owned vector storage (decode only), see zk_response_free */
};

/* ---- server direction: decode requests, encode replies ---- */

/*
 * Decodes the payload of the first frame of a connection (no length prefix).
 * Views in out borrow frame. The optional readOnly byte is read if at least one
 * byte follows the record (has_read_only tells); further bytes are ignored.
 * Returns SYN_OK, SYN_EPROTO or SYN_ETOOBIG (password over ZK_PASSWD_BYTES).
 */
int zk_connect_request_decode(const uint8_t *frame, size_t len, struct zk_connect_request *out);

/*
 * Decodes one request frame payload (RequestHeader + record). On any return,
 * out->xid and out->type are filled in if the 8-byte header was readable (else
 * 0), so the server can answer with the right xid; out is always safe to pass
 * to zk_request_free. Views borrow frame.
 * Returns:
 *   SYN_OK        decoded; free with zk_request_free
 *   SYN_ENOTSUP   the opcode is not a client request synod knows (answer ZUNIMPLEMENTED)
 *   SYN_EPROTO    malformed or truncated (ZooKeeper answers ZMARSHALLINGERROR)
 *   SYN_ETOOBIG   a length or count over a limit
 *   SYN_ENOMEM    vector storage could not be allocated
 */
int zk_request_decode(const uint8_t *frame, size_t len, struct zk_request *out);

/* Frees the vector storage of a decoded request (not req itself). Idempotent. */
void zk_request_free(struct zk_request *req);

/*
 * Appends a ConnectResponse frame (length prefix + 36 or 37 bytes) to w.
 * Returns SYN_OK or SYN_ENOMEM (w failed; its contents are then unusable).
 */
int zk_connect_response_write(struct syn_writer *w, const struct zk_connect_response *resp);

/*
 * Appends a reply frame: ReplyHeader, then body's record if h->err == ZOK and
 * body != NULL (an error reply is the 16-byte header alone). body->type must be
 * a response layout listed above; pointers in body are borrowed for the call.
 * Returns SYN_OK; SYN_EINVAL for an unknown body type or malformed body (a
 * count that disagrees with its items); SYN_ETOOBIG if the frame would exceed
 * ZK_REPLY_BYTES_MAX; SYN_ENOMEM if w failed. On SYN_EINVAL / SYN_ETOOBIG, w is
 * rolled back to its length before the call.
 */
int zk_reply_write(struct syn_writer *w, const struct zk_reply_header *h,
                   const struct zk_response *body);

/*
 * Appends a watch notification frame: ReplyHeader{-1, -1, 0} + WatcherEvent.
 * Returns as zk_reply_write.
 */
int zk_notification_write(struct syn_writer *w, const struct zk_watcher_event *ev);

/* ---- client direction: encode requests, decode replies ---- */

/* Appends a ConnectRequest frame (44 bytes + the readOnly byte if has_read_only). */
int zk_connect_request_write(struct syn_writer *w, const struct zk_connect_request *req);

/*
 * Appends a request frame: RequestHeader{xid, type} + the record for type.
 * Returns SYN_OK; SYN_EINVAL for an unknown type, a sub-op not allowed in
 * a multi, or inconsistent counts; SYN_ETOOBIG over ZK_FRAME_BYTES_MAX (what a
 * ZooKeeper server accepts); SYN_ENOMEM if w failed. On SYN_EINVAL /
 * SYN_ETOOBIG, w is rolled back.
 */
int zk_request_write(struct syn_writer *w, const struct zk_request *req);

/*
 * Decodes a ConnectResponse payload. The password must be exactly
 * ZK_PASSWD_BYTES bytes; the readOnly byte is optional. Returns SYN_OK or
 * SYN_EPROTO.
 */
int zk_connect_response_decode(const uint8_t *frame, size_t len, struct zk_connect_response *out);

/*
 * Decodes the 16-byte ReplyHeader at the start of a reply payload; *body_off
 * is set to 16 (where the body starts). Returns SYN_OK or SYN_EPROTO.
 */
int zk_reply_header_decode(const uint8_t *frame, size_t len, struct zk_reply_header *out,
                           size_t *body_off);

/*
 * Decodes a reply body of the layout `type` (the opcode of the request being
 * answered, see struct zk_response). Views borrow body; vectors are owned by
 * out (free with zk_response_free, also safe after a failure).
 * Returns SYN_OK, SYN_EINVAL (unknown type), SYN_EPROTO, SYN_ETOOBIG, SYN_ENOMEM.
 */
int zk_response_decode(int32_t type, const uint8_t *body, size_t len, struct zk_response *out);

/* Frees the vector storage of a decoded response (not resp itself). Idempotent. */
void zk_response_free(struct zk_response *resp);

/* Decodes a WatcherEvent (the body of an xid -1 reply). SYN_OK, SYN_EPROTO, SYN_ETOOBIG. */
int zk_watcher_event_decode(const uint8_t *body, size_t len, struct zk_watcher_event *out);

/* ---- helpers ---- */

/* A view of a NUL-terminated string (borrowed like s); NULL gives the null view. */
struct zk_bytes zk_bytes_of(const char *s);

/* True if both are null, or both are non-null with equal bytes. */
bool zk_bytes_equal(struct zk_bytes a, struct zk_bytes b);

/*
 * True if a and b are the same request: same header, same record fields for
 * their type, recursively for multi (trailing_bytes and pool are ignored).
 */
bool zk_request_equal(const struct zk_request *a, const struct zk_request *b);

/* True if a and b have the same type and equal fields of that type's layout. */
bool zk_response_equal(const struct zk_response *a, const struct zk_response *b);

#endif
