/*
 * Client requests, both directions: ConnectRequest and RequestHeader + the
 * record of each opcode (docs/protocol-notes.md: "Handshake", "Headers and
 * special xids", "multi and multiRead"). See zk_records.h for the contract.
 *
 * Decoding dispatches on the opcode to one reader per record shape; multi and
 * multiRead read MultiHeaders until one says done, each followed by a sub-op
 * record of an allowed type. Encoding mirrors it field for field, so the two
 * are checked against each other by the round-trip tests and the fuzzer.
 */
#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"
#include "proto/frame.h"
#include "proto/jute.h"
#include "proto/rec_dec.h"
#include "proto/zk_records.h"

#include <stdlib.h>
#include <string.h>

/* ConnectRequest without the optional readOnly byte, with a 16-byte password. */
#define ZK_CONNECT_REQUEST_BYTES 44
/* MultiHeader {int type; boolean done; int err}. */
#define ZK_MULTI_HEADER_BYTES 9

/* ---- connect ---- */

int zk_connect_request_decode(const uint8_t *frame, size_t len, struct zk_connect_request *out)
{
        struct jute_reader in;
        memset(out, 0, sizeof *out);
        jute_reader_init(&in, frame, len);
        out->protocol_version = jute_read_int(&in);
        out->last_zxid_seen = jute_read_long(&in);
        out->timeout_ms = jute_read_int(&in);
        out->session_id = jute_read_long(&in);
        out->passwd = jute_read_buffer(&in, ZK_PASSWD_BYTES);
        /* readOnly is appended after the jute record; old clients omit it. */
        if (in.err == SYN_OK && jute_reader_left(&in) > 0) {
                out->has_read_only = true;
                out->read_only = jute_read_bool(&in);
        }
        return in.err;
}

int zk_connect_request_write(struct syn_writer *w, const struct zk_connect_request *req)
{
        if (req->passwd.len < -1 || req->passwd.len > ZK_PASSWD_BYTES)
                return SYN_EINVAL;
        size_t start = zk_frame_begin(w);
        jute_write_int(w, req->protocol_version);
        jute_write_long(w, req->last_zxid_seen);
        jute_write_int(w, req->timeout_ms);
        jute_write_long(w, req->session_id);
        jute_write_buffer(w, req->passwd);
        if (req->has_read_only)
                jute_write_bool(w, req->read_only);
        return zk_frame_end(w, start, ZK_FRAME_BYTES_MAX);
}

/* ---- decode ---- */

static void read_create(struct rec_dec *d, int32_t type, struct zk_create_request *c)
{
        c->path = jute_read_buffer(&d->in, ZK_PATH_BYTES_MAX);
        c->data = jute_read_buffer(&d->in, ZK_FRAME_BYTES_MAX);
        rec_read_acl_list(d, &c->acl);
        c->flags = jute_read_int(&d->in);
        c->ttl_ms = type == ZK_OP_CREATE_TTL ? jute_read_long(&d->in) : 0;
}

/* Reads SetWatches / SetWatches2 with ZK_SETWATCHES_PATHS_MAX over all lists. */
static void read_set_watches(struct rec_dec *d, int32_t type, struct zk_set_watches_request *s)
{
        struct zk_bytes_list *lists[] = {&s->data, &s->exist, &s->child, &s->persistent,
                                         &s->persistent_recursive};
        int nlists = type == ZK_OP_SET_WATCHES2 ? 5 : 3;
        int32_t budget = ZK_SETWATCHES_PATHS_MAX;
        s->relative_zxid = jute_read_long(&d->in);
        for (int i = 0; i < 5; i++) {
                lists[i]->items = NULL;
                lists[i]->count = 0;
        }
        for (int i = 0; i < nlists; i++) {
                rec_read_bytes_list(d, lists[i], budget, ZK_PATH_BYTES_MAX);
                if (lists[i]->count > 0)
                        budget -= lists[i]->count;
        }
}

static void read_reconfig(struct jute_reader *in, struct zk_reconfig_request *rc)
{
        rc->joining_servers = jute_read_buffer(in, ZK_FRAME_BYTES_MAX);
        rc->leaving_servers = jute_read_buffer(in, ZK_FRAME_BYTES_MAX);
        rc->new_members = jute_read_buffer(in, ZK_FRAME_BYTES_MAX);
        rc->cur_config_id = jute_read_long(in);
}

static void read_auth(struct jute_reader *in, struct zk_auth_request *a)
{
        a->type = jute_read_int(in);
        a->scheme = jute_read_buffer(in, ZK_ACL_ID_BYTES_MAX);
        a->auth = jute_read_buffer(in, ZK_AUTH_BYTES_MAX);
}

static bool multi_allows(int32_t multi_type, int32_t op)
{
        if (multi_type == ZK_OP_MULTI_READ)
                return op == ZK_OP_GET_DATA || op == ZK_OP_GET_CHILDREN;
        switch (op) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
        case ZK_OP_DELETE:
        case ZK_OP_SET_DATA:
        case ZK_OP_CHECK:
                return true;
        default:
                return false;
        }
}

static void read_body(struct rec_dec *d, struct zk_request *r);

static void read_multi(struct rec_dec *d, struct zk_request *r)
{
        struct zk_multi_request *m = &r->multi;
        m->ops = NULL;
        m->count = 0;
        while (d->in.err == SYN_OK) {
                int32_t type = jute_read_int(&d->in);
                bool done = jute_read_bool(&d->in);
                (void)jute_read_int(&d->in); /* err: -1 in requests, not checked by ZooKeeper */
                if (d->in.err || done)
                        break;
                if (!multi_allows(r->type, type)) {
                        jute_reader_fail(&d->in, SYN_EPROTO);
                        break;
                }
                if (m->count == ZK_MULTI_OPS_MAX) {
                        jute_reader_fail(&d->in, SYN_ETOOBIG);
                        break;
                }
                /* Sub-ops are taken one at a time but are contiguous: nothing else
                 * takes REC_REQUEST while a multi is read (multis do not nest). */
                struct zk_request scratch;
                struct zk_request *op = rec_take(d, REC_REQUEST, 1);
                if (op == NULL)
                        op = &scratch;
                memset(op, 0, sizeof *op);
                op->xid = r->xid;
                op->type = type;
                read_body(d, op);
                if (m->count == 0 && op != &scratch)
                        m->ops = op;
                m->count++;
        }
}

static void read_body(struct rec_dec *d, struct zk_request *r)
{
        struct jute_reader *in = &d->in;
        switch (r->type) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                read_create(d, r->type, &r->create);
                break;
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                r->path_ver.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                r->path_ver.version = jute_read_int(in);
                break;
        case ZK_OP_EXISTS:
        case ZK_OP_GET_DATA:
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
                r->path_watch.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                r->path_watch.watch = jute_read_bool(in);
                break;
        case ZK_OP_SET_DATA:
                r->set_data.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                r->set_data.data = jute_read_buffer(in, ZK_FRAME_BYTES_MAX);
                r->set_data.version = jute_read_int(in);
                break;
        case ZK_OP_GET_ACL:
        case ZK_OP_SYNC:
        case ZK_OP_GET_EPHEMERALS:
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
                r->path_only.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                break;
        case ZK_OP_SET_ACL:
                r->set_acl.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                rec_read_acl_list(d, &r->set_acl.acl);
                r->set_acl.version = jute_read_int(in);
                break;
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                read_multi(d, r);
                break;
        case ZK_OP_RECONFIG:
                read_reconfig(in, &r->reconfig);
                break;
        case ZK_OP_CHECK_WATCHES:
        case ZK_OP_REMOVE_WATCHES:
                r->watches.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                r->watches.type = jute_read_int(in);
                break;
        case ZK_OP_AUTH:
                read_auth(in, &r->auth);
                break;
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                read_set_watches(d, r->type, &r->set_watches);
                break;
        case ZK_OP_ADD_WATCH:
                r->add_watch.path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                r->add_watch.mode = jute_read_int(in);
                break;
        case ZK_OP_SASL:
                r->sasl.token = jute_read_buffer(in, ZK_FRAME_BYTES_MAX);
                break;
        case ZK_OP_PING:
        case ZK_OP_CLOSE_SESSION:
        case ZK_OP_WHO_AM_I:
                break;
        default:
                /* Includes server-internal opcodes (createSession, deleteContainer, ...). */
                jute_reader_fail(in, SYN_ENOTSUP);
                break;
        }
}

static void read_request(struct rec_dec *d, void *out)
{
        struct zk_request *r = out;
        memset(r, 0, sizeof *r);
        r->xid = jute_read_int(&d->in);
        r->type = jute_read_int(&d->in);
        if (d->in.err == SYN_OK)
                read_body(d, r);
}

int zk_request_decode(const uint8_t *frame, size_t len, struct zk_request *out)
{
        memset(out, 0, sizeof *out);
        void *pool = NULL;
        size_t trailing = 0;
        int rc = rec_decode(frame, len, read_request, out, &pool, &trailing);
        out->pool = pool;
        out->trailing_bytes = trailing;
        if (rc) {
                /* Keep the header for the error reply, drop every view into the body. */
                bool header_read = len >= 8;
                int32_t xid = header_read ? out->xid : 0;
                int32_t type = header_read ? out->type : 0;
                zk_request_free(out);
                memset(out, 0, sizeof *out);
                out->xid = xid;
                out->type = type;
        }
        return rc;
}

void zk_request_free(struct zk_request *req)
{
        free(req->pool);
        req->pool = NULL;
}

/* ---- encode ---- */

static bool write_create(struct syn_writer *w, int32_t type, const struct zk_create_request *c)
{
        jute_write_buffer(w, c->path);
        jute_write_buffer(w, c->data);
        if (!rec_write_acl_list(w, &c->acl))
                return false;
        jute_write_int(w, c->flags);
        if (type == ZK_OP_CREATE_TTL)
                jute_write_long(w, c->ttl_ms);
        return true;
}

static bool write_set_watches(struct syn_writer *w, int32_t type,
                              const struct zk_set_watches_request *s)
{
        const struct zk_bytes_list *lists[] = {&s->data, &s->exist, &s->child, &s->persistent,
                                               &s->persistent_recursive};
        int nlists = type == ZK_OP_SET_WATCHES2 ? 5 : 3;
        jute_write_long(w, s->relative_zxid);
        for (int i = 0; i < nlists; i++) {
                if (!rec_write_bytes_list(w, lists[i]))
                        return false;
        }
        return true;
}

static void write_reconfig(struct syn_writer *w, const struct zk_reconfig_request *rc)
{
        jute_write_buffer(w, rc->joining_servers);
        jute_write_buffer(w, rc->leaving_servers);
        jute_write_buffer(w, rc->new_members);
        jute_write_long(w, rc->cur_config_id);
}

static void write_auth(struct syn_writer *w, const struct zk_auth_request *a)
{
        jute_write_int(w, a->type);
        jute_write_buffer(w, a->scheme);
        jute_write_buffer(w, a->auth);
}

static bool write_body(struct syn_writer *w, const struct zk_request *r);

static bool write_multi(struct syn_writer *w, const struct zk_request *r)
{
        const struct zk_multi_request *m = &r->multi;
        if (m->count < 0 || m->count > ZK_MULTI_OPS_MAX || (m->count > 0 && m->ops == NULL))
                return false;
        for (int32_t i = 0; i < m->count; i++) {
                const struct zk_request *op = &m->ops[i];
                if (!multi_allows(r->type, op->type))
                        return false;
                jute_write_int(w, op->type);
                jute_write_bool(w, false);
                jute_write_int(w, -1);
                if (!write_body(w, op))
                        return false;
        }
        jute_write_int(w, -1);
        jute_write_bool(w, true);
        jute_write_int(w, -1);
        return true;
}

/* Like read_body, field for field. Returns false for an unknown type or bad counts. */
static bool write_body(struct syn_writer *w, const struct zk_request *r)
{
        switch (r->type) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return write_create(w, r->type, &r->create);
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                jute_write_buffer(w, r->path_ver.path);
                jute_write_int(w, r->path_ver.version);
                return true;
        case ZK_OP_EXISTS:
        case ZK_OP_GET_DATA:
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
                jute_write_buffer(w, r->path_watch.path);
                jute_write_bool(w, r->path_watch.watch);
                return true;
        case ZK_OP_SET_DATA:
                jute_write_buffer(w, r->set_data.path);
                jute_write_buffer(w, r->set_data.data);
                jute_write_int(w, r->set_data.version);
                return true;
        case ZK_OP_GET_ACL:
        case ZK_OP_SYNC:
        case ZK_OP_GET_EPHEMERALS:
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
                jute_write_buffer(w, r->path_only.path);
                return true;
        case ZK_OP_SET_ACL:
                jute_write_buffer(w, r->set_acl.path);
                if (!rec_write_acl_list(w, &r->set_acl.acl))
                        return false;
                jute_write_int(w, r->set_acl.version);
                return true;
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                return write_multi(w, r);
        case ZK_OP_RECONFIG:
                write_reconfig(w, &r->reconfig);
                return true;
        case ZK_OP_CHECK_WATCHES:
        case ZK_OP_REMOVE_WATCHES:
                jute_write_buffer(w, r->watches.path);
                jute_write_int(w, r->watches.type);
                return true;
        case ZK_OP_AUTH:
                write_auth(w, &r->auth);
                return true;
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                return write_set_watches(w, r->type, &r->set_watches);
        case ZK_OP_ADD_WATCH:
                jute_write_buffer(w, r->add_watch.path);
                jute_write_int(w, r->add_watch.mode);
                return true;
        case ZK_OP_SASL:
                jute_write_buffer(w, r->sasl.token);
                return true;
        case ZK_OP_PING:
        case ZK_OP_CLOSE_SESSION:
        case ZK_OP_WHO_AM_I:
                return true;
        default:
                return false;
        }
}

int zk_request_write(struct syn_writer *w, const struct zk_request *req)
{
        size_t start = zk_frame_begin(w);
        jute_write_int(w, req->xid);
        jute_write_int(w, req->type);
        if (!write_body(w, req)) {
                if (w->failed)
                        return SYN_ENOMEM;
                zk_frame_abort(w, start);
                return SYN_EINVAL;
        }
        return zk_frame_end(w, start, ZK_FRAME_BYTES_MAX);
}

/* ---- equality ---- */

static bool set_watches_equal(int32_t type, const struct zk_set_watches_request *a,
                              const struct zk_set_watches_request *b)
{
        bool eq = a->relative_zxid == b->relative_zxid &&
                  rec_bytes_list_equal(&a->data, &b->data) &&
                  rec_bytes_list_equal(&a->exist, &b->exist) &&
                  rec_bytes_list_equal(&a->child, &b->child);
        if (type == ZK_OP_SET_WATCHES2)
                eq = eq && rec_bytes_list_equal(&a->persistent, &b->persistent) &&
                     rec_bytes_list_equal(&a->persistent_recursive, &b->persistent_recursive);
        return eq;
}

static bool body_equal(const struct zk_request *a, const struct zk_request *b)
{
        switch (a->type) {
        case ZK_OP_CREATE:
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return zk_bytes_equal(a->create.path, b->create.path) &&
                       zk_bytes_equal(a->create.data, b->create.data) &&
                       rec_acl_list_equal(&a->create.acl, &b->create.acl) &&
                       a->create.flags == b->create.flags &&
                       (a->type != ZK_OP_CREATE_TTL || a->create.ttl_ms == b->create.ttl_ms);
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                return zk_bytes_equal(a->path_ver.path, b->path_ver.path) &&
                       a->path_ver.version == b->path_ver.version;
        case ZK_OP_EXISTS:
        case ZK_OP_GET_DATA:
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
                return zk_bytes_equal(a->path_watch.path, b->path_watch.path) &&
                       a->path_watch.watch == b->path_watch.watch;
        case ZK_OP_SET_DATA:
                return zk_bytes_equal(a->set_data.path, b->set_data.path) &&
                       zk_bytes_equal(a->set_data.data, b->set_data.data) &&
                       a->set_data.version == b->set_data.version;
        case ZK_OP_GET_ACL:
        case ZK_OP_SYNC:
        case ZK_OP_GET_EPHEMERALS:
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
                return zk_bytes_equal(a->path_only.path, b->path_only.path);
        case ZK_OP_SET_ACL:
                return zk_bytes_equal(a->set_acl.path, b->set_acl.path) &&
                       rec_acl_list_equal(&a->set_acl.acl, &b->set_acl.acl) &&
                       a->set_acl.version == b->set_acl.version;
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                if (a->multi.count != b->multi.count)
                        return false;
                for (int32_t i = 0; i < a->multi.count; i++) {
                        if (!zk_request_equal(&a->multi.ops[i], &b->multi.ops[i]))
                                return false;
                }
                return true;
        case ZK_OP_RECONFIG:
                return zk_bytes_equal(a->reconfig.joining_servers, b->reconfig.joining_servers) &&
                       zk_bytes_equal(a->reconfig.leaving_servers, b->reconfig.leaving_servers) &&
                       zk_bytes_equal(a->reconfig.new_members, b->reconfig.new_members) &&
                       a->reconfig.cur_config_id == b->reconfig.cur_config_id;
        case ZK_OP_CHECK_WATCHES:
        case ZK_OP_REMOVE_WATCHES:
                return zk_bytes_equal(a->watches.path, b->watches.path) &&
                       a->watches.type == b->watches.type;
        case ZK_OP_AUTH:
                return a->auth.type == b->auth.type &&
                       zk_bytes_equal(a->auth.scheme, b->auth.scheme) &&
                       zk_bytes_equal(a->auth.auth, b->auth.auth);
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                return set_watches_equal(a->type, &a->set_watches, &b->set_watches);
        case ZK_OP_ADD_WATCH:
                return zk_bytes_equal(a->add_watch.path, b->add_watch.path) &&
                       a->add_watch.mode == b->add_watch.mode;
        case ZK_OP_SASL:
                return zk_bytes_equal(a->sasl.token, b->sasl.token);
        default:
                return true; /* no body */
        }
}

bool zk_request_equal(const struct zk_request *a, const struct zk_request *b)
{
        return a->xid == b->xid && a->type == b->type && body_equal(a, b);
}
