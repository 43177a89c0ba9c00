/*
 * Server replies, both directions: ConnectResponse, ReplyHeader + the body of
 * each opcode, MultiResponse and watch notifications (docs/protocol-notes.md:
 * "Handshake", "Headers and special xids", "multi and multiRead",
 * "Watches"). See zk_records.h for the contract.
 *
 * A response type maps to one of a dozen body layouts (path, path+stat, stat,
 * data+stat, ...); the reader, the writer and the equality check all switch on
 * the layout, so they cannot disagree about which fields a type carries.
 * Traps kept here: an error reply has no body (16 bytes); a ConnectResponse
 * always carries exactly 16 password bytes and the readOnly byte only when the
 * request had one; a failed multi is all error entries (ErrorResponse bodies,
 * header type -1) with ReplyHeader err 0; addWatch answers ErrorResponse{0}.
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

enum body_layout {
        L_INVALID,
        L_NONE,
        L_PATH,
        L_PATH_STAT,
        L_STAT,
        L_DATA_STAT,
        L_ACL_STAT,
        L_NAMES,
        L_NAMES_STAT,
        L_MULTI,
        L_NUMBER,
        L_ERR,
        L_INFOS,
        L_DATA,
};

/* Result types MultiResponse can carry (Java's MultiResponse.deserialize). */
static enum body_layout multi_result_layout(int32_t type)
{
        switch (type) {
        case ZK_OP_CREATE:
                return L_PATH;
        case ZK_OP_CREATE2:
                return L_PATH_STAT;
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                return L_NONE;
        case ZK_OP_SET_DATA:
                return L_STAT;
        case ZK_OP_GET_DATA:
                return L_DATA_STAT;
        case ZK_OP_GET_CHILDREN:
                return L_NAMES;
        case ZK_OP_ERROR:
                return L_ERR;
        default:
                return L_INVALID;
        }
}

static enum body_layout reply_layout(int32_t type)
{
        switch (type) {
        case ZK_OP_CREATE:
        case ZK_OP_SYNC:
                return L_PATH;
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                return L_PATH_STAT;
        case ZK_OP_EXISTS:
        case ZK_OP_SET_DATA:
        case ZK_OP_SET_ACL:
        case ZK_OP_CHECK:
                return L_STAT;
        case ZK_OP_GET_DATA:
        case ZK_OP_RECONFIG:
                return L_DATA_STAT;
        case ZK_OP_GET_ACL:
                return L_ACL_STAT;
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_EPHEMERALS:
                return L_NAMES;
        case ZK_OP_GET_CHILDREN2:
                return L_NAMES_STAT;
        case ZK_OP_MULTI:
        case ZK_OP_MULTI_READ:
                return L_MULTI;
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
                return L_NUMBER;
        case ZK_OP_ADD_WATCH:
                return L_ERR;
        case ZK_OP_WHO_AM_I:
                return L_INFOS;
        case ZK_OP_SASL:
                return L_DATA;
        case ZK_OP_DELETE:
        case ZK_OP_PING:
        case ZK_OP_CHECK_WATCHES:
        case ZK_OP_REMOVE_WATCHES:
        case ZK_OP_AUTH:
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
        case ZK_OP_CLOSE_SESSION:
                return L_NONE;
        default:
                return L_INVALID;
        }
}

/* ---- decode ---- */

static void read_layout(struct rec_dec *d, enum body_layout l, struct zk_response *r);

static void read_infos(struct rec_dec *d, struct zk_client_info_list *out)
{
        int32_t n = jute_read_count(&d->in, INT32_MAX, 8);
        out->count = n;
        out->items = rec_take(d, REC_INFO, n > 0 ? n : 0);
        for (int32_t i = 0; i < n; i++) {
                struct zk_client_info ci;
                ci.scheme = jute_read_buffer(&d->in, ZK_ACL_ID_BYTES_MAX);
                ci.user = jute_read_buffer(&d->in, ZK_ACL_ID_BYTES_MAX);
                if (out->items)
                        out->items[i] = ci;
        }
}

static void read_multi_results(struct rec_dec *d, struct zk_multi_response *m)
{
        m->results = NULL;
        m->count = 0;
        while (d->in.err == SYN_OK) {
                int32_t type = jute_read_int(&d->in);
                bool done = jute_read_bool(&d->in);
                (void)jute_read_int(&d->in); /* header err: the ErrorResponse body is used */
                if (d->in.err || done)
                        break;
                enum body_layout l = multi_result_layout(type);
                if (l == L_INVALID) {
                        jute_reader_fail(&d->in, SYN_EPROTO);
                        break;
                }
                if (m->count == ZK_MULTI_OPS_MAX) {
                        jute_reader_fail(&d->in, SYN_ETOOBIG);
                        break;
                }
                /* Contiguous: results do not nest, nothing else takes REC_RESPONSE. */
                struct zk_response scratch;
                struct zk_response *res = rec_take(d, REC_RESPONSE, 1);
                if (res == NULL)
                        res = &scratch;
                memset(res, 0, sizeof *res);
                res->type = type;
                read_layout(d, l, res);
                if (m->count == 0 && res != &scratch)
                        m->results = res;
                m->count++;
        }
}

static void read_layout(struct rec_dec *d, enum body_layout l, struct zk_response *r)
{
        struct jute_reader *in = &d->in;
        switch (l) {
        case L_PATH:
        case L_PATH_STAT:
                r->path = jute_read_buffer(in, ZK_PATH_BYTES_MAX);
                if (l == L_PATH_STAT)
                        rec_read_stat(d, &r->stat);
                break;
        case L_STAT:
                rec_read_stat(d, &r->stat);
                break;
        case L_DATA_STAT:
        case L_DATA:
                r->data = jute_read_buffer(in, ZK_REPLY_BYTES_MAX);
                if (l == L_DATA_STAT)
                        rec_read_stat(d, &r->stat);
                break;
        case L_ACL_STAT:
                rec_read_acl_list(d, &r->acl);
                rec_read_stat(d, &r->stat);
                break;
        case L_NAMES:
        case L_NAMES_STAT:
                rec_read_bytes_list(d, &r->names, INT32_MAX, ZK_PATH_BYTES_MAX);
                if (l == L_NAMES_STAT)
                        rec_read_stat(d, &r->stat);
                break;
        case L_MULTI:
                read_multi_results(d, &r->multi);
                break;
        case L_NUMBER:
                r->number = jute_read_int(in);
                break;
        case L_ERR:
                r->err = jute_read_int(in);
                break;
        case L_INFOS:
                read_infos(d, &r->infos);
                break;
        case L_NONE:
                break;
        case L_INVALID:
                jute_reader_fail(in, SYN_EINVAL);
                break;
        }
}

static void read_response(struct rec_dec *d, void *out)
{
        struct zk_response *r = out;
        int32_t type = r->type;
        memset(r, 0, sizeof *r);
        r->type = type;
        read_layout(d, reply_layout(type), r);
}

int zk_response_decode(int32_t type, const uint8_t *body, size_t len, struct zk_response *out)
{
        memset(out, 0, sizeof *out);
        out->type = type;
        void *pool = NULL;
        size_t trailing = 0;
        int rc = rec_decode(body, len, read_response, out, &pool, &trailing);
        out->pool = pool;
        if (rc) {
                zk_response_free(out);
                memset(out, 0, sizeof *out);
                out->type = type;
        }
        return rc;
}

void zk_response_free(struct zk_response *resp)
{
        free(resp->pool);
        resp->pool = NULL;
}

int zk_connect_response_decode(const uint8_t *frame, size_t len, struct zk_connect_response *out)
{
        struct jute_reader in;
        memset(out, 0, sizeof *out);
        jute_reader_init(&in, frame, len);
        out->protocol_version = jute_read_int(&in);
        out->timeout_ms = jute_read_int(&in);
        out->session_id = jute_read_long(&in);
        /* Any other length is a broken server: the C client would misparse it. */
        struct zk_bytes pw = jute_read_buffer(&in, ZK_FRAME_BYTES_MAX);
        if (in.err == SYN_OK && pw.len != ZK_PASSWD_BYTES)
                jute_reader_fail(&in, SYN_EPROTO);
        if (in.err)
                return in.err;
        memcpy(out->passwd, pw.data, ZK_PASSWD_BYTES);
        if (jute_reader_left(&in) > 0) {
                out->has_read_only = true;
                out->read_only = jute_read_bool(&in);
        }
        return in.err;
}

int zk_reply_header_decode(const uint8_t *frame, size_t len, struct zk_reply_header *out,
                           size_t *body_off)
{
        struct jute_reader in;
        jute_reader_init(&in, frame, len);
        out->xid = jute_read_int(&in);
        out->zxid = jute_read_long(&in);
        out->err = jute_read_int(&in);
        *body_off = in.err ? 0 : 16;
        return in.err;
}

int zk_watcher_event_decode(const uint8_t *body, size_t len, struct zk_watcher_event *out)
{
        struct jute_reader in;
        jute_reader_init(&in, body, len);
        out->type = jute_read_int(&in);
        out->state = jute_read_int(&in);
        out->path = jute_read_buffer(&in, ZK_PATH_BYTES_MAX);
        return in.err;
}

/* ---- encode ---- */

static bool write_layout(struct syn_writer *w, enum body_layout l, const struct zk_response *r);

static bool write_infos(struct syn_writer *w, const struct zk_client_info_list *l)
{
        if (l->count < -1 || (l->count > 0 && l->items == NULL))
                return false;
        jute_write_int(w, l->count);
        for (int32_t i = 0; i < l->count; i++) {
                jute_write_buffer(w, l->items[i].scheme);
                jute_write_buffer(w, l->items[i].user);
        }
        return true;
}

static bool write_multi_results(struct syn_writer *w, const struct zk_multi_response *m)
{
        if (m->count < 0 || m->count > ZK_MULTI_OPS_MAX || (m->count > 0 && m->results == NULL))
                return false;
        for (int32_t i = 0; i < m->count; i++) {
                const struct zk_response *res = &m->results[i];
                enum body_layout l = multi_result_layout(res->type);
                if (l == L_INVALID)
                        return false;
                /* Java's MultiResponse: header err is the error code for error
                 * entries and 0 for every successful result. */
                jute_write_int(w, res->type);
                jute_write_bool(w, false);
                jute_write_int(w, l == L_ERR ? res->err : 0);
                if (!write_layout(w, l, res))
                        return false;
        }
        jute_write_int(w, -1);
        jute_write_bool(w, true);
        jute_write_int(w, -1);
        return true;
}

static bool write_layout(struct syn_writer *w, enum body_layout l, const struct zk_response *r)
{
        switch (l) {
        case L_PATH:
        case L_PATH_STAT:
                jute_write_buffer(w, r->path);
                if (l == L_PATH_STAT)
                        rec_write_stat(w, &r->stat);
                return true;
        case L_STAT:
                rec_write_stat(w, &r->stat);
                return true;
        case L_DATA_STAT:
        case L_DATA:
                jute_write_buffer(w, r->data);
                if (l == L_DATA_STAT)
                        rec_write_stat(w, &r->stat);
                return true;
        case L_ACL_STAT:
                if (!rec_write_acl_list(w, &r->acl))
                        return false;
                rec_write_stat(w, &r->stat);
                return true;
        case L_NAMES:
        case L_NAMES_STAT:
                if (!rec_write_bytes_list(w, &r->names))
                        return false;
                if (l == L_NAMES_STAT)
                        rec_write_stat(w, &r->stat);
                return true;
        case L_MULTI:
                return write_multi_results(w, &r->multi);
        case L_NUMBER:
                jute_write_int(w, r->number);
                return true;
        case L_ERR:
                jute_write_int(w, r->err);
                return true;
        case L_INFOS:
                return write_infos(w, &r->infos);
        case L_NONE:
                return true;
        case L_INVALID:
                return false;
        }
        return false;
}

int zk_connect_response_write(struct syn_writer *w, const struct zk_connect_response *resp)
{
        size_t start = zk_frame_begin(w);
        jute_write_int(w, resp->protocol_version);
        jute_write_int(w, resp->timeout_ms);
        jute_write_long(w, resp->session_id);
        jute_write_int(w, ZK_PASSWD_BYTES);
        syn_write_bytes(w, resp->passwd, ZK_PASSWD_BYTES);
        if (resp->has_read_only)
                jute_write_bool(w, resp->read_only);
        return zk_frame_end(w, start, ZK_REPLY_BYTES_MAX);
}

int zk_reply_write(struct syn_writer *w, const struct zk_reply_header *h,
                   const struct zk_response *body)
{
        size_t start = zk_frame_begin(w);
        jute_write_int(w, h->xid);
        jute_write_long(w, h->zxid);
        jute_write_int(w, h->err);
        if (h->err == ZOK && body != NULL && !write_layout(w, reply_layout(body->type), body)) {
                if (w->failed)
                        return SYN_ENOMEM;
                zk_frame_abort(w, start);
                return SYN_EINVAL;
        }
        return zk_frame_end(w, start, ZK_REPLY_BYTES_MAX);
}

int zk_notification_write(struct syn_writer *w, const struct zk_watcher_event *ev)
{
        size_t start = zk_frame_begin(w);
        jute_write_int(w, ZK_XID_WATCH_EVENT);
        jute_write_long(w, -1);
        jute_write_int(w, ZOK);
        jute_write_int(w, ev->type);
        jute_write_int(w, ev->state);
        jute_write_buffer(w, ev->path);
        return zk_frame_end(w, start, ZK_REPLY_BYTES_MAX);
}

/* ---- equality ---- */

static bool infos_equal(const struct zk_client_info_list *a, const struct zk_client_info_list *b)
{
        if (a->count != b->count)
                return false;
        for (int32_t i = 0; i < a->count; i++) {
                if (!zk_bytes_equal(a->items[i].scheme, b->items[i].scheme) ||
                    !zk_bytes_equal(a->items[i].user, b->items[i].user))
                        return false;
        }
        return true;
}

static bool layout_equal(enum body_layout l, const struct zk_response *a,
                         const struct zk_response *b)
{
        switch (l) {
        case L_PATH:
                return zk_bytes_equal(a->path, b->path);
        case L_PATH_STAT:
                return zk_bytes_equal(a->path, b->path) && rec_stat_equal(&a->stat, &b->stat);
        case L_STAT:
                return rec_stat_equal(&a->stat, &b->stat);
        case L_DATA:
                return zk_bytes_equal(a->data, b->data);
        case L_DATA_STAT:
                return zk_bytes_equal(a->data, b->data) && rec_stat_equal(&a->stat, &b->stat);
        case L_ACL_STAT:
                return rec_acl_list_equal(&a->acl, &b->acl) && rec_stat_equal(&a->stat, &b->stat);
        case L_NAMES:
                return rec_bytes_list_equal(&a->names, &b->names);
        case L_NAMES_STAT:
                return rec_bytes_list_equal(&a->names, &b->names) &&
                       rec_stat_equal(&a->stat, &b->stat);
        case L_MULTI:
                if (a->multi.count != b->multi.count)
                        return false;
                for (int32_t i = 0; i < a->multi.count; i++) {
                        const struct zk_response *x = &a->multi.results[i];
                        const struct zk_response *y = &b->multi.results[i];
                        if (x->type != y->type || !layout_equal(multi_result_layout(x->type), x, y))
                                return false;
                }
                return true;
        case L_NUMBER:
                return a->number == b->number;
        case L_ERR:
                return a->err == b->err;
        case L_INFOS:
                return infos_equal(&a->infos, &b->infos);
        case L_NONE:
        case L_INVALID:
                return true;
        }
        return false;
}

bool zk_response_equal(const struct zk_response *a, const struct zk_response *b)
{
        return a->type == b->type && layout_equal(reply_layout(a->type), a, b);
}
