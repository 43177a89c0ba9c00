/*
 * Encoding of struct txn, the Raft entry payload of every write.
 *
 * Format (big-endian, version 1):
 *   u8 version=1, u8 type, u64 session_id, u32 cxid, u64 time_ms, u8 super,
 *   u32 id_count, id_count x (bytes scheme, bytes id), then by type:
 *     OP: op            MULTI: u32 count, count x op
 *     CREATE_SESSION: u64 id, 16 bytes passwd, u32 timeout_ms
 *     CLOSE_SESSION: u64 id          REAP: u8 reason, bytes path       NOOP: -
 *   op := u32 zk_op, bytes path, then
 *     create*: bytes data, acls, u32 flags, u64 ttl_ms
 *     delete/check: u32 version      set_data: bytes data, u32 version
 *     set_acl: acls, u32 version
 *   acls := u32 count, count x (u32 perms, bytes scheme, bytes id)
 *   bytes := u32 length (0xffffffff = null) + that many bytes
 * No trailing bytes.
 *
 * The decoder runs twice over the input: a counting pass that validates
 * everything and sizes one allocation for all arrays, then a filling pass.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "tree/txn.h"

#define TXN_FORMAT_VERSION 1
#define TXN_NULL_LEN       0xffffffffu

static bool op_is_create(int32_t op)
{
        return op == ZK_OP_CREATE || op == ZK_OP_CREATE2 || op == ZK_OP_CREATE_CONTAINER ||
               op == ZK_OP_CREATE_TTL;
}

static bool op_allowed(int32_t op, bool in_multi)
{
        return op_is_create(op) || op == ZK_OP_DELETE || op == ZK_OP_SET_DATA ||
               op == ZK_OP_CHECK || (!in_multi && op == ZK_OP_SET_ACL);
}

const char *txn_type_name(enum txn_type type)
{
        switch (type) {
        case TXN_NOOP:
                return "noop";
        case TXN_OP:
                return "op";
        case TXN_MULTI:
                return "multi";
        case TXN_CREATE_SESSION:
                return "create_session";
        case TXN_CLOSE_SESSION:
                return "close_session";
        case TXN_REAP:
                return "reap";
        }
        return "unknown";
}

/* ---- encode ---- */

static int put_bytes(struct syn_writer *w, struct zk_bytes b, int32_t max, bool nullable)
{
        if (b.len < 0) {
                if (!nullable)
                        return SYN_EINVAL;
                syn_write_be32(w, TXN_NULL_LEN);
                return SYN_OK;
        }
        if (b.len > max || (b.len > 0 && b.data == NULL))
                return SYN_EINVAL;
        syn_write_be32(w, (uint32_t)b.len);
        syn_write_bytes(w, b.data, (size_t)b.len);
        return SYN_OK;
}

static int put_acls(struct syn_writer *w, const struct zk_acl *acl, int32_t count)
{
        if (count < 0 || count > ZK_ACL_COUNT_MAX || (count > 0 && acl == NULL))
                return SYN_EINVAL;
        syn_write_be32(w, (uint32_t)count);
        for (int32_t i = 0; i < count; i++) {
                syn_write_be32(w, (uint32_t)acl[i].perms);
                if (put_bytes(w, acl[i].id.scheme, TXN_AUTH_ID_BYTES_MAX, false) != SYN_OK ||
                    put_bytes(w, acl[i].id.id, TXN_AUTH_ID_BYTES_MAX, false) != SYN_OK)
                        return SYN_EINVAL;
        }
        return SYN_OK;
}

static int put_op(struct syn_writer *w, const struct txn_op *op, bool in_multi)
{
        if (!op_allowed(op->zk_op, in_multi))
                return SYN_EINVAL;
        syn_write_be32(w, (uint32_t)op->zk_op);
        int rc = put_bytes(w, op->path, ZK_PATH_BYTES_MAX, false);
        if (rc == SYN_OK && (op_is_create(op->zk_op) || op->zk_op == ZK_OP_SET_DATA))
                rc = put_bytes(w, op->data, TREE_DATA_BYTES_MAX, true);
        if (rc == SYN_OK && (op_is_create(op->zk_op) || op->zk_op == ZK_OP_SET_ACL))
                rc = put_acls(w, op->acl, op->acl_count);
        if (rc != SYN_OK)
                return rc;
        if (op_is_create(op->zk_op)) {
                syn_write_be32(w, (uint32_t)op->flags);
                syn_write_be64(w, (uint64_t)op->ttl_ms);
        } else {
                syn_write_be32(w, (uint32_t)op->version);
        }
        return SYN_OK;
}

static int put_body(struct syn_writer *w, const struct txn *t)
{
        switch (t->type) {
        case TXN_NOOP:
                return SYN_OK;
        case TXN_OP:
                return put_op(w, &t->op, false);
        case TXN_MULTI:
                if (t->op_count < 0 || t->op_count > ZK_MULTI_OPS_MAX ||
                    (t->op_count > 0 && t->ops == NULL))
                        return SYN_EINVAL;
                syn_write_be32(w, (uint32_t)t->op_count);
                for (int32_t i = 0; i < t->op_count; i++) {
                        int rc = put_op(w, &t->ops[i], true);
                        if (rc != SYN_OK)
                                return rc;
                }
                return SYN_OK;
        case TXN_CREATE_SESSION:
                syn_write_be64(w, t->session.id);
                syn_write_bytes(w, t->session.passwd, ZK_PASSWD_BYTES);
                syn_write_be32(w, (uint32_t)t->session.timeout_ms);
                return SYN_OK;
        case TXN_CLOSE_SESSION:
                syn_write_be64(w, t->session.id);
                return SYN_OK;
        case TXN_REAP:
                if (t->reap.reason != TXN_REAP_CONTAINER && t->reap.reason != TXN_REAP_TTL)
                        return SYN_EINVAL;
                syn_write_u8(w, (uint8_t)t->reap.reason);
                return put_bytes(w, t->reap.path, ZK_PATH_BYTES_MAX, false);
        }
        return SYN_EINVAL;
}

int txn_encode(const struct txn *t, struct syn_writer *w)
{
        if (t->auth.id_count < 0 || t->auth.id_count > TXN_AUTH_IDS_MAX ||
            (t->auth.id_count > 0 && t->auth.ids == NULL))
                return SYN_EINVAL;
        syn_write_u8(w, TXN_FORMAT_VERSION);
        syn_write_u8(w, (uint8_t)t->type);
        syn_write_be64(w, t->session_id);
        syn_write_be32(w, (uint32_t)t->cxid);
        syn_write_be64(w, (uint64_t)t->time_ms);
        syn_write_u8(w, t->auth.super ? 1 : 0);
        syn_write_be32(w, (uint32_t)t->auth.id_count);
        for (int32_t i = 0; i < t->auth.id_count; i++) {
                if (put_bytes(w, t->auth.ids[i].scheme, TXN_AUTH_ID_BYTES_MAX, false) != SYN_OK ||
                    put_bytes(w, t->auth.ids[i].id, TXN_AUTH_ID_BYTES_MAX, false) != SYN_OK)
                        return SYN_EINVAL;
        }
        int rc = put_body(w, t);
        if (rc != SYN_OK)
                return rc;
        return w->failed ? SYN_ENOMEM : SYN_OK;
}

/* Offsets of the header fields a forwarding leader reads and rewrites in place. */
#define TXN_SESSION_ID_OFFSET 2
#define TXN_CXID_OFFSET       (TXN_SESSION_ID_OFFSET + 8)
#define TXN_TIME_OFFSET       (TXN_CXID_OFFSET + 4)
#define TXN_HEADER_BYTES      (TXN_TIME_OFFSET + 8)

int txn_peek_key(const uint8_t *bytes, size_t len, uint64_t *session_id, int32_t *cxid)
{
        if (len < TXN_HEADER_BYTES || bytes[0] != TXN_FORMAT_VERSION)
                return SYN_ECORRUPT;
        *session_id = syn_get_be64(bytes + TXN_SESSION_ID_OFFSET);
        *cxid = (int32_t)syn_get_be32(bytes + TXN_CXID_OFFSET);
        return SYN_OK;
}

int txn_stamp_time(uint8_t *bytes, size_t len, int64_t time_ms)
{
        if (len < TXN_HEADER_BYTES || bytes[0] != TXN_FORMAT_VERSION)
                return SYN_ECORRUPT;
        syn_put_be64(bytes + TXN_TIME_OFFSET, (uint64_t)time_ms);
        return SYN_OK;
}

/* ---- decode ---- */

struct txn_dec {
        struct syn_reader r;
        int err;      /* first error (sticky) */
        bool fill;    /* second pass: write into the arrays */
        size_t n_ids; /* counted (pass 1) / used (pass 2) */
        size_t n_ops;
        size_t n_acls;
        struct zk_id *ids;
        struct txn_op *ops;
        struct zk_acl *acls;
};

static void dec_fail(struct txn_dec *d, int err)
{
        if (d->err == SYN_OK)
                d->err = err;
}

static uint32_t dec_u32(struct txn_dec *d)
{
        uint32_t v = syn_read_be32(&d->r);
        if (d->r.failed)
                dec_fail(d, SYN_ETRUNC);
        return v;
}

static uint64_t dec_u64(struct txn_dec *d)
{
        uint64_t v = syn_read_be64(&d->r);
        if (d->r.failed)
                dec_fail(d, SYN_ETRUNC);
        return v;
}

static uint8_t dec_u8(struct txn_dec *d)
{
        uint8_t v = syn_read_u8(&d->r);
        if (d->r.failed)
                dec_fail(d, SYN_ETRUNC);
        return v;
}

static struct zk_bytes dec_bytes(struct txn_dec *d, uint32_t max, bool nullable)
{
        struct zk_bytes b = {.data = NULL, .len = -1};
        uint32_t len = dec_u32(d);
        if (d->err != SYN_OK)
                return b;
        if (len == TXN_NULL_LEN) {
                if (!nullable)
                        dec_fail(d, SYN_ECORRUPT);
                return b;
        }
        if (len > max) {
                dec_fail(d, SYN_ECORRUPT);
                return b;
        }
        const uint8_t *p = syn_read_bytes(&d->r, len);
        if (p == NULL) {
                dec_fail(d, SYN_ETRUNC);
                return b;
        }
        b.data = p;
        b.len = (int32_t)len;
        return b;
}

/* A count prefix: at most max and at most what the remaining bytes could hold. */
static uint32_t dec_count(struct txn_dec *d, uint32_t max, size_t min_item_bytes)
{
        uint32_t n = dec_u32(d);
        if (d->err != SYN_OK)
                return 0;
        if (n > max) {
                dec_fail(d, SYN_ECORRUPT);
                return 0;
        }
        if ((uint64_t)n * min_item_bytes > syn_reader_left(&d->r)) {
                dec_fail(d, SYN_ETRUNC);
                return 0;
        }
        return n;
}

static void dec_acls(struct txn_dec *d, const struct zk_acl **out, int32_t *count)
{
        uint32_t n = dec_count(d, ZK_ACL_COUNT_MAX, 12);
        struct zk_acl *base = d->fill && n > 0 ? d->acls + d->n_acls : NULL;
        for (uint32_t i = 0; i < n && d->err == SYN_OK; i++) {
                struct zk_acl a;
                a.perms = (int32_t)dec_u32(d);
                a.id.scheme = dec_bytes(d, TXN_AUTH_ID_BYTES_MAX, false);
                a.id.id = dec_bytes(d, TXN_AUTH_ID_BYTES_MAX, false);
                if (d->fill)
                        base[i] = a;
        }
        d->n_acls += n;
        *out = base;
        *count = (int32_t)n;
}

static void dec_op(struct txn_dec *d, struct txn_op *op, bool in_multi)
{
        memset(op, 0, sizeof(*op));
        op->zk_op = (int32_t)dec_u32(d);
        if (d->err == SYN_OK && !op_allowed(op->zk_op, in_multi))
                dec_fail(d, SYN_ECORRUPT);
        op->path = dec_bytes(d, ZK_PATH_BYTES_MAX, false);
        op->data = (struct zk_bytes){.data = NULL, .len = -1};
        op->version = -1;
        op->ttl_ms = -1;
        bool create = op_is_create(op->zk_op);
        if (create || op->zk_op == ZK_OP_SET_DATA)
                op->data = dec_bytes(d, TREE_DATA_BYTES_MAX, true);
        if (create || op->zk_op == ZK_OP_SET_ACL)
                dec_acls(d, &op->acl, &op->acl_count);
        if (create) {
                op->flags = (int32_t)dec_u32(d);
                op->ttl_ms = (int64_t)dec_u64(d);
        } else {
                op->version = (int32_t)dec_u32(d);
        }
}

static void dec_body(struct txn_dec *d, struct txn *t)
{
        switch (t->type) {
        case TXN_NOOP:
                return;
        case TXN_OP:
                dec_op(d, &t->op, false);
                return;
        case TXN_MULTI: {
                uint32_t n = dec_count(d, ZK_MULTI_OPS_MAX, 8);
                t->op_count = (int32_t)n;
                t->ops = d->fill ? d->ops : NULL;
                for (uint32_t i = 0; i < n && d->err == SYN_OK; i++) {
                        struct txn_op tmp;
                        dec_op(d, d->fill ? &d->ops[i] : &tmp, true);
                }
                d->n_ops = n;
                return;
        }
        case TXN_CREATE_SESSION: {
                t->session.id = dec_u64(d);
                const uint8_t *p = syn_read_bytes(&d->r, ZK_PASSWD_BYTES);
                if (p == NULL)
                        dec_fail(d, SYN_ETRUNC);
                else
                        memcpy(t->session.passwd, p, ZK_PASSWD_BYTES);
                t->session.timeout_ms = (int32_t)dec_u32(d);
                return;
        }
        case TXN_CLOSE_SESSION:
                t->session.id = dec_u64(d);
                return;
        case TXN_REAP: {
                uint8_t reason = dec_u8(d);
                if (d->err == SYN_OK && reason != TXN_REAP_CONTAINER && reason != TXN_REAP_TTL)
                        dec_fail(d, SYN_ECORRUPT);
                t->reap.reason = (enum txn_reap_reason)reason;
                t->reap.path = dec_bytes(d, ZK_PATH_BYTES_MAX, false);
                return;
        }
        }
        dec_fail(d, SYN_ECORRUPT);
}

static int dec_pass(struct txn_dec *d, const uint8_t *bytes, size_t len, struct txn *t)
{
        syn_reader_init(&d->r, bytes, len);
        d->err = SYN_OK;
        d->n_ids = d->n_ops = d->n_acls = 0;
        memset(t, 0, sizeof(*t));
        uint8_t version = dec_u8(d);
        if (d->err == SYN_OK && version != TXN_FORMAT_VERSION)
                dec_fail(d, SYN_ECORRUPT);
        uint8_t type = dec_u8(d);
        if (d->err == SYN_OK && type > TXN_REAP)
                dec_fail(d, SYN_ECORRUPT);
        t->type = (enum txn_type)type;
        t->session_id = dec_u64(d);
        t->cxid = (int32_t)dec_u32(d);
        t->time_ms = (int64_t)dec_u64(d);
        uint8_t super = dec_u8(d);
        if (d->err == SYN_OK && super > 1)
                dec_fail(d, SYN_ECORRUPT);
        t->auth.super = super == 1;
        uint32_t nid = dec_count(d, TXN_AUTH_IDS_MAX, 8);
        t->auth.id_count = (int32_t)nid;
        t->auth.ids = d->fill ? d->ids : NULL;
        for (uint32_t i = 0; i < nid && d->err == SYN_OK; i++) {
                struct zk_id id;
                id.scheme = dec_bytes(d, TXN_AUTH_ID_BYTES_MAX, false);
                id.id = dec_bytes(d, TXN_AUTH_ID_BYTES_MAX, false);
                if (d->fill)
                        d->ids[i] = id;
        }
        d->n_ids = nid;
        if (d->err == SYN_OK)
                dec_body(d, t);
        if (d->err == SYN_OK && syn_reader_left(&d->r) != 0)
                dec_fail(d, SYN_ECORRUPT);
        return d->err;
}

int txn_decode(const uint8_t *bytes, size_t len, struct txn *out)
{
        struct txn_dec d;
        memset(&d, 0, sizeof(d));
        int rc = dec_pass(&d, bytes, len, out);
        if (rc != SYN_OK) {
                memset(out, 0, sizeof(*out));
                return rc;
        }
        size_t total = d.n_ids * sizeof(struct zk_id) + d.n_ops * sizeof(struct txn_op) +
                       d.n_acls * sizeof(struct zk_acl);
        void *block = NULL;
        if (total > 0 && (block = malloc(total)) == NULL) {
                memset(out, 0, sizeof(*out));
                return SYN_ENOMEM;
        }
        /* One block: ops (8-byte aligned), then ids, then acls (pointer aligned). */
        if (block != NULL) {
                char *p = block;
                d.ops = (struct txn_op *)(void *)p;
                p += d.n_ops * sizeof(struct txn_op);
                d.ids = (struct zk_id *)(void *)p;
                p += d.n_ids * sizeof(struct zk_id);
                d.acls = (struct zk_acl *)(void *)p;
        }
        d.fill = true;
        rc = dec_pass(&d, bytes, len, out);
        SYN_ASSERT(rc == SYN_OK); /* same bytes, same verdict */
        out->owned = block;
        return SYN_OK;
}

void txn_release(struct txn *t)
{
        free(t->owned);
        t->owned = NULL;
}
