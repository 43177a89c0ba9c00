/*
 * Snapshots of the tree and the session table.
 *
 * Format (big-endian, version 1):
 *   header: "SYNSNAP\0", u32 version=1, u32 flags=0, u64 last_zxid, u64 node_count,
 *           u64 acl_count, u32 acl_next_id, u32 session_count
 *   acl lists, by id:  u32 id, u32 count, count x (u32 perms, bytes scheme, bytes id)
 *   sessions, by id:   u64 id, u32 timeout_ms, 16 bytes password
 *   nodes, pre-order (children in list order), root first:
 *           u32 parent index (0xffffffff for the root), bytes name, u64 czxid, mzxid,
 *           ctime, mtime, pzxid, owner, bytes data (0xffffffff = null), u32 version,
 *           aversion, child_creates, acl id
 *   trailer: u32 crc32c of every byte before it
 *   bytes := u32 length + bytes
 *
 * Everything is written in a deterministic order (ids, then tree order) with no
 * padding, so equal trees give equal bytes. The writer only reads the tree and
 * streams through a 64 KiB buffer, so a forked child can run it. The reader
 * checks the CRC first, then every count, length, index and reference; the
 * derived fields (children counts, indexes, digest, ephemeral lists) are rebuilt,
 * never trusted.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/zk_path.h"
#include "tree/tree_int.h"

#define SNAP_MAGIC          "SYNSNAP"
#define SNAP_VERSION        1
#define SNAP_HEADER_BYTES   (8 + 4 + 4 + 8 + 8 + 8 + 4 + 4)
#define SNAP_NO_PARENT      0xffffffffu
#define SNAP_NULL_LEN       0xffffffffu
#define TREE_SNAP_BUF_BYTES (64 * 1024)
/* Smallest encodings, to bound counts by the bytes left. */
#define SNAP_ACL_MIN_BYTES  8
#define SNAP_SESSION_BYTES  (8 + 4 + ZK_PASSWD_BYTES)
#define SNAP_NODE_MIN_BYTES (4 + 4 + 6 * 8 + 4 + 4 * 4)

/* ---- writer ---- */

struct snap_out {
        int (*write)(void *arg, const void *p, size_t n);
        void *arg;
        uint8_t *buf;
        size_t len;
        uint32_t crc;
        int err;
};

static void out_flush(struct snap_out *o)
{
        if (o->err == SYN_OK && o->len > 0) {
                o->crc = syn_crc32c(o->crc, o->buf, o->len);
                o->err = o->write(o->arg, o->buf, o->len);
        }
        o->len = 0;
}

static void out_bytes(struct snap_out *o, const void *p, size_t n)
{
        const uint8_t *s = p;
        while (n > 0 && o->err == SYN_OK) {
                size_t room = TREE_SNAP_BUF_BYTES - o->len;
                size_t k = n < room ? n : room;
                memcpy(o->buf + o->len, s, k);
                o->len += k;
                s += k;
                n -= k;
                if (o->len == TREE_SNAP_BUF_BYTES)
                        out_flush(o);
        }
}

static void out_u32(struct snap_out *o, uint32_t v)
{
        uint8_t b[4];
        syn_put_be32(b, v);
        out_bytes(o, b, 4);
}

static void out_u64(struct snap_out *o, uint64_t v)
{
        uint8_t b[8];
        syn_put_be64(b, v);
        out_bytes(o, b, 8);
}

static void out_str(struct snap_out *o, const void *p, int32_t len)
{
        if (len < 0) {
                out_u32(o, SNAP_NULL_LEN);
                return;
        }
        out_u32(o, (uint32_t)len);
        out_bytes(o, p, (size_t)len);
}

static void write_node(struct snap_out *o, const struct tree_node *n, uint32_t parent)
{
        out_u32(o, parent);
        out_str(o, n->name, (int32_t)n->name_len);
        const int64_t v[] = {n->czxid, n->mzxid, n->ctime, n->mtime, n->pzxid, (int64_t)n->owner};
        for (size_t i = 0; i < 6; i++)
                out_u64(o, (uint64_t)v[i]);
        out_str(o, n->data, n->data_len);
        out_u32(o, (uint32_t)n->version);
        out_u32(o, (uint32_t)n->aversion);
        out_u32(o, (uint32_t)n->child_creates);
        out_u32(o, n->acl->id);
}

static int write_header_acls_sessions(struct snap_out *o, const struct tree *t)
{
        struct tree_acl_list **acls;
        uint64_t nacl;
        struct session **sess;
        uint32_t nsess;
        if (tree_acl_sorted(t, &acls, &nacl) != SYN_OK)
                return SYN_ENOMEM;
        if (session_table_sorted(&t->sessions, &sess, &nsess) != SYN_OK) {
                free(acls);
                return SYN_ENOMEM;
        }
        out_bytes(o, SNAP_MAGIC, 8);
        out_u32(o, SNAP_VERSION);
        out_u32(o, 0);
        out_u64(o, t->last_zxid);
        out_u64(o, t->node_count);
        out_u64(o, nacl);
        out_u32(o, t->acl_next_id);
        out_u32(o, nsess);
        for (uint64_t i = 0; i < nacl; i++) {
                out_u32(o, acls[i]->id);
                out_u32(o, (uint32_t)acls[i]->count);
                for (int32_t k = 0; k < acls[i]->count; k++) {
                        const struct zk_acl *a = &acls[i]->entries[k];
                        out_u32(o, (uint32_t)a->perms);
                        out_str(o, a->id.scheme.data, a->id.scheme.len);
                        out_str(o, a->id.id.data, a->id.id.len);
                }
        }
        for (uint32_t i = 0; i < nsess; i++) {
                out_u64(o, sess[i]->id);
                out_u32(o, (uint32_t)sess[i]->timeout_ms);
                out_bytes(o, sess[i]->passwd, ZK_PASSWD_BYTES);
        }
        free(acls);
        free(sess);
        return SYN_OK;
}

/* Pre-order walk; stack[] holds the stream indices of the current node's ancestors. */
static int write_nodes(struct snap_out *o, const struct tree *t)
{
        size_t cap = 64, depth = 0;
        uint32_t *stack = malloc(cap * sizeof(*stack));
        if (stack == NULL)
                return SYN_ENOMEM;
        uint32_t next = 0;
        const struct tree_node *n = t->root;
        write_node(o, n, SNAP_NO_PARENT);
        stack[depth++] = next++;
        while (o->err == SYN_OK) {
                const struct tree_node *c = tree_node_first_child(n);
                if (c == NULL) {
                        while (n != t->root && n->next_sibling == NULL) {
                                depth--;
                                n = n->parent;
                        }
                        if (n == t->root)
                                break;
                        depth--;
                        c = n->next_sibling;
                }
                if (depth == cap) {
                        uint32_t *s = realloc(stack, 2 * cap * sizeof(*stack));
                        if (s == NULL) {
                                free(stack);
                                return SYN_ENOMEM;
                        }
                        stack = s;
                        cap *= 2;
                }
                write_node(o, c, stack[depth - 1]);
                stack[depth++] = next++;
                n = c;
        }
        free(stack);
        SYN_ASSERT(o->err != SYN_OK || next == t->node_count);
        return SYN_OK;
}

int tree_snap_write_cb(const struct tree *t, int (*write)(void *arg, const void *p, size_t n),
                       void *arg)
{
        struct snap_out o = {.write = write, .arg = arg, .buf = malloc(TREE_SNAP_BUF_BYTES)};
        if (o.buf == NULL)
                return SYN_ENOMEM;
        int rc = write_header_acls_sessions(&o, t);
        if (rc == SYN_OK)
                rc = write_nodes(&o, t);
        out_flush(&o);
        if (rc == SYN_OK && o.err == SYN_OK) {
                uint8_t b[4];
                syn_put_be32(b, o.crc);
                o.err = write(arg, b, 4);
        }
        free(o.buf);
        return rc != SYN_OK ? rc : o.err;
}

static int snap_to_writer(void *arg, const void *p, size_t n)
{
        struct syn_writer *w = arg;
        syn_write_bytes(w, p, n);
        return w->failed ? SYN_ENOMEM : SYN_OK;
}

int tree_snap_write(const struct tree *t, struct syn_writer *w)
{
        return tree_snap_write_cb(t, snap_to_writer, w);
}

/* ---- reader ---- */

struct snap_in {
        struct syn_reader r;
        int err;
};

static void in_fail(struct snap_in *in, int err)
{
        if (in->err == SYN_OK)
                in->err = err;
}

static uint32_t in_u32(struct snap_in *in)
{
        uint32_t v = syn_read_be32(&in->r);
        if (in->r.failed)
                in_fail(in, SYN_ETRUNC);
        return v;
}

static uint64_t in_u64(struct snap_in *in)
{
        uint64_t v = syn_read_be64(&in->r);
        if (in->r.failed)
                in_fail(in, SYN_ETRUNC);
        return v;
}

static struct zk_bytes in_str(struct snap_in *in, uint32_t max, bool nullable)
{
        struct zk_bytes b = {.data = NULL, .len = -1};
        uint32_t len = in_u32(in);
        if (in->err != SYN_OK)
                return b;
        if (len == SNAP_NULL_LEN && nullable)
                return b;
        if (len > max) {
                in_fail(in, SYN_ECORRUPT);
                return b;
        }
        b.data = syn_read_bytes(&in->r, len);
        if (b.data == NULL) {
                in_fail(in, SYN_ETRUNC);
                return b;
        }
        b.len = (int32_t)len;
        return b;
}

static bool in_count_ok(struct snap_in *in, uint64_t n, uint64_t max, size_t min_bytes)
{
        if (n > max) {
                in_fail(in, SYN_ECORRUPT);
                return false;
        }
        if (n * min_bytes > syn_reader_left(&in->r)) {
                in_fail(in, SYN_ETRUNC);
                return false;
        }
        return true;
}

struct snap_hdr {
        uint64_t last_zxid;
        uint64_t node_count;
        uint64_t acl_count;
        uint32_t acl_next_id;
        uint32_t session_count;
};

/* Checks magic, version and CRC; leaves in positioned after the header, limited to the body. */
static int read_header(struct snap_in *in, const uint8_t *bytes, size_t len, struct snap_hdr *h)
{
        if (len < SNAP_HEADER_BYTES + 4)
                return SYN_ETRUNC;
        if (memcmp(bytes, SNAP_MAGIC, 8) != 0)
                return SYN_ECORRUPT;
        if (syn_crc32c(0, bytes, len - 4) != syn_get_be32(bytes + len - 4))
                return SYN_ECORRUPT;
        syn_reader_init(&in->r, bytes, len - 4);
        in->err = SYN_OK;
        (void)syn_read_bytes(&in->r, 8);
        uint32_t version = in_u32(in);
        uint32_t flags = in_u32(in);
        h->last_zxid = in_u64(in);
        h->node_count = in_u64(in);
        h->acl_count = in_u64(in);
        h->acl_next_id = in_u32(in);
        h->session_count = in_u32(in);
        if (in->err != SYN_OK)
                return in->err;
        if (version != SNAP_VERSION || flags != 0 || h->node_count == 0)
                return SYN_ECORRUPT;
        return SYN_OK;
}

static int acl_by_id_cmp(const void *key, const void *elem)
{
        uint32_t id = *(const uint32_t *)key;
        uint32_t e = (*(struct tree_acl_list *const *)elem)->id;
        return id < e ? -1 : id > e;
}

static int read_acls(struct snap_in *in, struct tree *t, const struct snap_hdr *h,
                     struct tree_acl_list **lists)
{
        struct zk_acl *tmp = malloc(sizeof(*tmp) * ZK_ACL_COUNT_MAX);
        if (tmp == NULL)
                return SYN_ENOMEM;
        int rc = SYN_OK;
        for (uint64_t i = 0; i < h->acl_count && rc == SYN_OK; i++) {
                uint32_t id = in_u32(in);
                uint32_t count = in_u32(in);
                if (in->err == SYN_OK &&
                    (count == 0 || id >= h->acl_next_id || (i > 0 && id <= lists[i - 1]->id)))
                        in_fail(in, SYN_ECORRUPT);
                if (in->err == SYN_OK)
                        in_count_ok(in, count, ZK_ACL_COUNT_MAX, 12);
                for (uint32_t k = 0; k < count && in->err == SYN_OK; k++) {
                        tmp[k].perms = (int32_t)in_u32(in);
                        tmp[k].id.scheme = in_str(in, TXN_AUTH_ID_BYTES_MAX, false);
                        tmp[k].id.id = in_str(in, TXN_AUTH_ID_BYTES_MAX, false);
                }
                if (in->err != SYN_OK) {
                        rc = in->err;
                        break;
                }
                rc = tree_acl_intern_id(t, tmp, (int32_t)count, id, &lists[i]);
                if (rc == SYN_OK && lists[i]->id != id)
                        rc = SYN_ECORRUPT; /* the same list twice */
        }
        free(tmp);
        return rc;
}

static int read_sessions(struct snap_in *in, struct tree *t, const struct snap_hdr *h)
{
        if (!in_count_ok(in, h->session_count, SESSION_COUNT_MAX, SNAP_SESSION_BYTES))
                return in->err;
        uint64_t prev = 0;
        for (uint32_t i = 0; i < h->session_count; i++) {
                uint64_t id = in_u64(in);
                int32_t timeout = (int32_t)in_u32(in);
                const uint8_t *pw = syn_read_bytes(&in->r, ZK_PASSWD_BYTES);
                if (in->err != SYN_OK || pw == NULL)
                        return SYN_ETRUNC;
                if (i > 0 && id <= prev)
                        return SYN_ECORRUPT;
                prev = id;
                struct session *s;
                int rc = session_table_add(&t->sessions, id, pw, timeout, &s);
                if (rc == SYN_ENOMEM)
                        return rc;
                if (rc != SYN_OK)
                        return SYN_ECORRUPT;
                t->session_digest += session_digest(s);
        }
        return SYN_OK;
}

struct snap_node_rec {
        uint32_t parent;
        struct zk_bytes name;
        int64_t v[6]; /* czxid, mzxid, ctime, mtime, pzxid, owner */
        struct zk_bytes data;
        int32_t version, aversion, child_creates;
        uint32_t acl_id;
};

static int read_node_rec(struct snap_in *in, struct snap_node_rec *rec)
{
        rec->parent = in_u32(in);
        rec->name = in_str(in, ZK_PATH_BYTES_MAX, false);
        for (int i = 0; i < 6; i++)
                rec->v[i] = (int64_t)in_u64(in);
        rec->data = in_str(in, TREE_DATA_BYTES_MAX, true);
        rec->version = (int32_t)in_u32(in);
        rec->aversion = (int32_t)in_u32(in);
        rec->child_creates = (int32_t)in_u32(in);
        rec->acl_id = in_u32(in);
        return in->err;
}

/* Validates one record against what is already loaded. */
static int check_node_rec(const struct tree *t, const struct snap_node_rec *rec, uint64_t i,
                          struct tree_node **nodes, const uint32_t *path_len)
{
        uint64_t owner = (uint64_t)rec->v[5];
        if (tree_owner_is_ephemeral(owner) && session_table_find(&t->sessions, owner) == NULL)
                return SYN_ECORRUPT;
        if (tree_owner_is_ttl(owner) && (owner & ~ZK_OWNER_TTL_MASK) > ZK_TTL_MAX_MS)
                return SYN_ECORRUPT;
        if (i == 0) {
                bool root_ok = rec->parent == SNAP_NO_PARENT && rec->name.len == 0 && owner == 0;
                return root_ok ? SYN_OK : SYN_ECORRUPT;
        }
        if (rec->parent >= i)
                return SYN_ECORRUPT;
        const struct tree_node *parent = nodes[rec->parent];
        if (tree_owner_is_ephemeral(parent->owner))
                return SYN_ECORRUPT;
        if (zk_name_validate(rec->name.data, (size_t)rec->name.len) != ZOK)
                return SYN_ECORRUPT;
        uint64_t base = rec->parent == 0 ? 0 : path_len[rec->parent]; /* "/" adds nothing */
        if (base + 1 + (uint64_t)rec->name.len > ZK_PATH_BYTES_MAX)
                return SYN_ECORRUPT;
        if (tree_index_find_child(t, parent, (const char *)rec->name.data, (size_t)rec->name.len))
                return SYN_ECORRUPT;
        return SYN_OK;
}

static int load_node(struct tree *t, const struct snap_node_rec *rec, uint64_t i,
                     struct tree_node **nodes, uint32_t *path_len, struct tree_acl_list **lists,
                     uint64_t nlists)
{
        struct tree_acl_list **acl =
            bsearch(&rec->acl_id, lists, nlists, sizeof(*lists), acl_by_id_cmp);
        if (acl == NULL)
                return SYN_ECORRUPT;
        struct tree_node *n = tree_node_new((const char *)rec->name.data, (size_t)rec->name.len,
                                            rec->data.data, rec->data.len);
        if (n == NULL)
                return SYN_ENOMEM;
        n->czxid = rec->v[0];
        n->mzxid = rec->v[1];
        n->ctime = rec->v[2];
        n->mtime = rec->v[3];
        n->pzxid = rec->v[4];
        n->owner = (uint64_t)rec->v[5];
        n->version = rec->version;
        n->aversion = rec->aversion;
        n->child_creates = rec->child_creates;
        n->acl = *acl;
        tree_acl_ref(n->acl);
        if (i == 0) {
                n->hash = tree_hash_root();
                t->root = n;
                path_len[0] = 1;
        } else {
                struct tree_node *parent = nodes[rec->parent];
                n->hash = tree_hash_child(parent->hash, n->name, n->name_len);
                tree_link_child(parent, n);
                parent->num_children++;
                path_len[i] = (rec->parent == 0 ? 0 : path_len[rec->parent]) + 1 + n->name_len;
        }
        nodes[i] = n;
        tree_index_insert(t, n);
        t->node_count++;
        t->data_bytes += path_len[i] + (uint64_t)(n->data_len > 0 ? n->data_len : 0);
        if (tree_owner_is_ephemeral(n->owner)) {
                tree_eph_add(session_table_find(&t->sessions, n->owner), n);
                t->ephemeral_count++;
        } else if (n->owner != 0) {
                t->special_count++;
        }
        return SYN_OK;
}

static int read_nodes(struct snap_in *in, struct tree *t, const struct snap_hdr *h,
                      struct tree_acl_list **lists)
{
        if (!in_count_ok(in, h->node_count, TREE_NODE_COUNT_MAX, SNAP_NODE_MIN_BYTES))
                return in->err;
        if (tree_index_reserve(t, h->node_count) != SYN_OK)
                return SYN_ENOMEM;
        struct tree_node **nodes = malloc(sizeof(*nodes) * h->node_count);
        uint32_t *path_len = malloc(sizeof(*path_len) * h->node_count);
        int rc = nodes && path_len ? SYN_OK : SYN_ENOMEM;
        for (uint64_t i = 0; i < h->node_count && rc == SYN_OK; i++) {
                struct snap_node_rec rec;
                rc = read_node_rec(in, &rec);
                if (rc == SYN_OK)
                        rc = check_node_rec(t, &rec, i, nodes, path_len);
                if (rc == SYN_OK)
                        rc = load_node(t, &rec, i, nodes, path_len, lists, h->acl_count);
        }
        free(nodes);
        free(path_len);
        return rc;
}

int tree_snap_read(const uint8_t *bytes, size_t len, const struct tree_options *opt,
                   struct tree *out)
{
        struct snap_in in;
        struct snap_hdr h;
        int rc = read_header(&in, bytes, len, &h);
        if (rc != SYN_OK)
                return rc;
        memset(out, 0, sizeof(*out));
        out->opt = *opt;
        session_table_init(&out->sessions);
        out->acl_next_id = h.acl_next_id;
        struct tree_acl_list **lists = NULL;
        if (in_count_ok(&in, h.acl_count, TREE_ACL_LISTS_MAX, SNAP_ACL_MIN_BYTES))
                lists = calloc(h.acl_count ? h.acl_count : 1, sizeof(*lists));
        rc = in.err != SYN_OK ? in.err : lists == NULL ? SYN_ENOMEM : SYN_OK;
        if (rc == SYN_OK)
                rc = read_acls(&in, out, &h, lists);
        if (rc == SYN_OK)
                rc = read_sessions(&in, out, &h);
        if (rc == SYN_OK)
                rc = read_nodes(&in, out, &h, lists);
        if (rc == SYN_OK && syn_reader_left(&in.r) != 0)
                rc = SYN_ECORRUPT;
        /* Drop the reference each list got when interned; unused lists go away. */
        for (uint64_t i = 0; lists && i < h.acl_count && rc == SYN_OK; i++)
                tree_acl_release(out, lists[i]);
        free(lists);
        if (rc != SYN_OK) {
                tree_close(out);
                return rc;
        }
        out->last_zxid = h.last_zxid;
        for (uint64_t i = 0; i < out->index_cap; i++) {
                if (out->index_slots[i])
                        tree_digest_add(out, out->index_slots[i]);
        }
        return SYN_OK;
}

int tree_snap_peek(const uint8_t *bytes, size_t len, uint64_t *last_zxid, uint64_t *node_count)
{
        struct snap_in in;
        struct snap_hdr h;
        int rc = read_header(&in, bytes, len, &h);
        if (rc != SYN_OK)
                return rc;
        *last_zxid = h.last_zxid;
        *node_count = h.node_count;
        return SYN_OK;
}
