/*
 * Requests in, results out: the translation between the public
 * struct synod_request / struct synod_result and the wire records of
 * proto/zk_records.h.
 *
 * A request is encoded once, on the caller's thread, into a whole frame with
 * a placeholder xid (patched when it is queued, so xids grow in queue order).
 * Paths get the chroot prepended and are validated as ZooKeeper does; a bad
 * path never reaches the wire. CREATE is sent as create2 (or createTTL /
 * createContainer by mode) so the caller gets the new node's stat.
 *
 * A result is built on the I/O thread from the reply body into owned, NUL-
 * terminated copies (the frame buffer is reused right after), with the chroot
 * stripped and children sorted, so callers never see wire views.
 */
#include "client/client.h"

#include "base/assert.h"
#include "base/err.h"
#include "base/zk_path.h"
#include "proto/zk_records.h"

#include <stdlib.h>
#include <string.h>

/* Scratch allocations of one encode, freed together. */
struct cl_scratch {
        void **ptrs;
        int32_t n, cap;
        bool failed;
};

static void *cl_scratch_keep(struct cl_scratch *s, void *p)
{
        if (p == NULL || s->n == s->cap) {
                s->failed = true;
                free(p);
                return NULL;
        }
        s->ptrs[s->n++] = p;
        return p;
}

static void cl_scratch_free(struct cl_scratch *s)
{
        for (int32_t i = 0; i < s->n; i++)
                free(s->ptrs[i]);
        free(s->ptrs);
}

static int32_t cl_wire_create_op(int mode, bool in_multi)
{
        if (mode == SYNOD_CONTAINER)
                return ZK_OP_CREATE_CONTAINER;
        if (mode == SYNOD_PERSISTENT_WITH_TTL || mode == SYNOD_PERSISTENT_SEQUENTIAL_WITH_TTL)
                return ZK_OP_CREATE_TTL;
        return in_multi ? ZK_OP_CREATE : ZK_OP_CREATE2;
}

static bool cl_mode_sequential(int mode)
{
        return mode == SYNOD_PERSISTENT_SEQUENTIAL || mode == SYNOD_EPHEMERAL_SEQUENTIAL ||
               mode == SYNOD_PERSISTENT_SEQUENTIAL_WITH_TTL;
}

static const struct synod_acl cl_open_acl = {SYNOD_PERM_ALL, "world", "anyone"};

/* Fills the zk path of a request; returns false if invalid. */
static bool cl_fill_path(struct cl_scratch *s, const char *chroot, const char *path, bool seq,
                         struct zk_bytes *out)
{
        if (path == NULL)
                return false;
        char *full = cl_scratch_keep(s, cl_path_join(chroot, path));
        if (full == NULL)
                return false;
        size_t n = strlen(full);
        if (n > ZK_PATH_BYTES_MAX || zk_path_validate((const uint8_t *)full, n, seq) != ZOK)
                return false;
        *out = (struct zk_bytes){(const uint8_t *)full, (int32_t)n};
        return true;
}

static bool cl_fill_acl(struct cl_scratch *s, const struct synod_acl *acl, int32_t count,
                        struct zk_acl_list *out)
{
        if (acl == NULL) {
                acl = &cl_open_acl;
                count = 1;
        }
        if (count <= 0 || count > ZK_ACL_COUNT_MAX)
                return false;
        struct zk_acl *items = cl_scratch_keep(s, calloc((size_t)count, sizeof(*items)));
        if (items == NULL)
                return false;
        for (int32_t i = 0; i < count; i++) {
                if (acl[i].scheme == NULL || acl[i].id == NULL)
                        return false;
                items[i].perms = acl[i].perms;
                items[i].id.scheme = zk_bytes_of(acl[i].scheme);
                items[i].id.id = zk_bytes_of(acl[i].id);
        }
        *out = (struct zk_acl_list){items, count};
        return true;
}

static bool cl_fill_data(const void *data, int32_t len, struct zk_bytes *out)
{
        if (len < -1 || len > ZK_FRAME_BYTES_MAX || (len > 0 && data == NULL))
                return false;
        *out = (struct zk_bytes){data, len};
        return true;
}

/* An optional string field: NULL is sent as a null ustring (length -1), as Java and
 * kazoo send an omitted reconfig list. */
static bool cl_fill_string(const char *s, struct zk_bytes *out)
{
        size_t n = s != NULL ? strnlen(s, (size_t)ZK_FRAME_BYTES_MAX + 1) : 0;
        return cl_fill_data(s, s != NULL ? (int32_t)n : -1, out);
}

static bool cl_fill_one(struct cl_scratch *s, const char *chroot, const struct synod_request *q,
                        bool in_multi, struct zk_request *z)
{
        switch (q->op) {
        case SYNOD_OP_CREATE:
                z->type = cl_wire_create_op(q->mode, in_multi);
                z->create.flags = q->mode;
                z->create.ttl_ms = z->type == ZK_OP_CREATE_TTL ? q->ttl_ms : 0;
                if (q->mode < SYNOD_PERSISTENT || q->mode > SYNOD_PERSISTENT_SEQUENTIAL_WITH_TTL)
                        return false;
                return cl_fill_path(s, chroot, q->path, cl_mode_sequential(q->mode),
                                    &z->create.path) &&
                       cl_fill_data(q->data, q->data_len, &z->create.data) &&
                       cl_fill_acl(s, q->acl, q->acl_count, &z->create.acl);
        case SYNOD_OP_DELETE:
        case SYNOD_OP_CHECK:
                z->type = q->op;
                z->path_ver.version = q->version;
                return cl_fill_path(s, chroot, q->path, false, &z->path_ver.path);
        case SYNOD_OP_SET:
                z->type = ZK_OP_SET_DATA;
                z->set_data.version = q->version;
                return cl_fill_path(s, chroot, q->path, false, &z->set_data.path) &&
                       cl_fill_data(q->data, q->data_len, &z->set_data.data);
        default:
                break;
        }
        if (in_multi)
                return false;
        switch (q->op) {
        case SYNOD_OP_EXISTS:
        case SYNOD_OP_GET:
        case SYNOD_OP_CHILDREN:
                z->type = q->op;
                z->path_watch.watch = q->watch != NULL;
                return cl_fill_path(s, chroot, q->path, false, &z->path_watch.path);
        case SYNOD_OP_GET_ACL:
        case SYNOD_OP_SYNC:
                z->type = q->op;
                return cl_fill_path(s, chroot, q->path, false, &z->path_only.path);
        case SYNOD_OP_SET_ACL:
                z->type = q->op;
                z->set_acl.version = q->version;
                return cl_fill_path(s, chroot, q->path, false, &z->set_acl.path) &&
                       q->acl != NULL && cl_fill_acl(s, q->acl, q->acl_count, &z->set_acl.acl);
        case SYNOD_OP_ADD_WATCH:
                z->type = ZK_OP_ADD_WATCH;
                z->add_watch.mode =
                    q->recursive ? ZK_ADD_WATCH_PERSISTENT_RECURSIVE : ZK_ADD_WATCH_PERSISTENT;
                return q->watch != NULL &&
                       cl_fill_path(s, chroot, q->path, false, &z->add_watch.path);
        case SYNOD_OP_RECONFIG:
                z->type = ZK_OP_RECONFIG;
                z->reconfig.cur_config_id = q->from_config;
                return cl_fill_string(q->joining, &z->reconfig.joining_servers) &&
                       cl_fill_string(q->leaving, &z->reconfig.leaving_servers) &&
                       cl_fill_string(q->new_members, &z->reconfig.new_members);
        default:
                return false;
        }
}

static bool cl_fill_multi(struct cl_scratch *s, const char *chroot, const struct synod_request *q,
                          struct zk_request *z)
{
        if (q->op_count < 0 || q->op_count > ZK_MULTI_OPS_MAX || (q->op_count > 0 && !q->ops))
                return false;
        z->type = ZK_OP_MULTI;
        z->multi.count = q->op_count;
        if (q->op_count == 0)
                return true;
        z->multi.ops = cl_scratch_keep(s, calloc((size_t)q->op_count, sizeof(*z->multi.ops)));
        if (z->multi.ops == NULL)
                return false;
        for (int32_t i = 0; i < q->op_count; i++)
                if (!cl_fill_one(s, chroot, &q->ops[i], true, &z->multi.ops[i]))
                        return false;
        return true;
}

static enum cl_watch_kind cl_watch_kind_of(const struct synod_request *q)
{
        if (q->watch == NULL)
                return CL_WATCH_NONE;
        switch (q->op) {
        case SYNOD_OP_EXISTS:
        case SYNOD_OP_GET:
                return CL_WATCH_DATA; /* EXISTS becomes an exist watch on ZNONODE */
        case SYNOD_OP_CHILDREN:
                return CL_WATCH_CHILD;
        case SYNOD_OP_ADD_WATCH:
                return q->recursive ? CL_WATCH_RECURSIVE : CL_WATCH_PERSISTENT;
        default:
                return CL_WATCH_NONE;
        }
}

static int cl_req_encode(struct cl_req *r, const struct zk_request *z)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        int rc = zk_request_write(&w, z);
        if (rc != SYN_OK) {
                syn_writer_close(&w);
                return rc == SYN_ENOMEM ? SYNOD_ESYSTEMERROR : SYNOD_EBADARGUMENTS;
        }
        r->frame = syn_writer_take(&w, &r->frame_len);
        return SYNOD_OK;
}

int cl_req_build(const char *chroot, const struct synod_request *q, struct cl_req **out)
{
        *out = NULL;
        int32_t ptr_cap = 2 * (q->op == SYNOD_OP_MULTI && q->op_count > 0 ? q->op_count : 1) + 4;
        struct cl_scratch s = {calloc((size_t)ptr_cap, sizeof(void *)), 0, ptr_cap, false};
        struct cl_req *r = calloc(1, sizeof(*r));
        if (s.ptrs == NULL || r == NULL) {
                free(s.ptrs);
                free(r);
                return SYNOD_ESYSTEMERROR;
        }
        struct zk_request z;
        memset(&z, 0, sizeof(z));
        bool ok = q->op == SYNOD_OP_MULTI ? cl_fill_multi(&s, chroot, q, &z)
                                          : cl_fill_one(&s, chroot, q, false, &z);
        int rc = ok ? SYNOD_OK : (s.failed ? SYNOD_ESYSTEMERROR : SYNOD_EBADARGUMENTS);
        if (rc == SYNOD_OK) {
                r->op = z.type;
                r->user_op = q->op;
                rc = cl_req_encode(r, &z);
        }
        r->watch_kind = rc == SYNOD_OK ? cl_watch_kind_of(q) : CL_WATCH_NONE;
        if (r->watch_kind != CL_WATCH_NONE) {
                r->watch_path = cl_path_join(chroot, q->path);
                r->watch = q->watch;
                r->watch_arg = q->watch_arg;
                if (r->watch_path == NULL)
                        rc = SYNOD_ESYSTEMERROR;
        }
        cl_scratch_free(&s);
        if (rc != SYNOD_OK) {
                cl_req_free(r);
                return rc;
        }
        *out = r;
        return SYNOD_OK;
}

void cl_req_free(struct cl_req *r)
{
        if (r == NULL)
                return;
        free(r->frame);
        free(r->watch_path);
        free(r);
}

void cl_req_set_xid(struct cl_req *r, int32_t xid)
{
        SYN_ASSERT(r->frame_len >= 12);
        r->xid = xid;
        syn_put_be32(r->frame + 4, (uint32_t)xid);
}

/* ---- results ---- */

static char *cl_strdup_bytes(struct zk_bytes b, bool *oom)
{
        if (b.len < 0)
                return NULL;
        char *s = malloc((size_t)b.len + 1);
        if (s == NULL) {
                *oom = true;
                return NULL;
        }
        if (b.len > 0)
                memcpy(s, b.data, (size_t)b.len);
        s[b.len] = '\0';
        return s;
}

/* A string field of a result: never NULL but on out of memory (a hostile server's null
 * string becomes "", so callers may print or compare every name without checks). */
static char *cl_strdup_str(struct zk_bytes b, bool *oom)
{
        if (b.len < 0)
                b = (struct zk_bytes){(const uint8_t *)"", 0};
        return cl_strdup_bytes(b, oom);
}

static char *cl_strdup_path(const char *chroot, struct zk_bytes b, bool *oom)
{
        char *full = cl_strdup_str(b, oom);
        if (full == NULL)
                return NULL;
        const char *stripped = cl_path_strip(chroot, full);
        if (stripped != full)
                memmove(full, stripped, strlen(stripped) + 1);
        return full;
}

static void cl_stat_copy(const struct zk_stat *z, struct synod_stat *s)
{
        *s = (struct synod_stat){z->czxid,       z->mzxid,        z->ctime,    z->mtime,
                                 z->version,     z->cversion,     z->aversion, z->ephemeral_owner,
                                 z->data_length, z->num_children, z->pzxid};
}

static int cl_strcmp_ptr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void cl_result_fill_lists(const struct zk_response *z, struct synod_result *res, bool *oom)
{
        if (z->names.count > 0) {
                res->children = calloc((size_t)z->names.count, sizeof(char *));
                if (res->children == NULL) {
                        *oom = true;
                        return;
                }
                res->child_count = z->names.count;
                for (int32_t i = 0; i < z->names.count; i++) {
                        res->children[i] = cl_strdup_str(z->names.items[i], oom);
                }
                if (!*oom)
                        qsort(res->children, (size_t)res->child_count, sizeof(char *),
                              cl_strcmp_ptr);
        }
        if (z->acl.count > 0) {
                res->acl = calloc((size_t)z->acl.count, sizeof(*res->acl));
                if (res->acl == NULL) {
                        *oom = true;
                        return;
                }
                res->acl_count = z->acl.count;
                for (int32_t i = 0; i < z->acl.count; i++) {
                        res->acl[i].perms = z->acl.items[i].perms;
                        res->acl[i].scheme = cl_strdup_str(z->acl.items[i].id.scheme, oom);
                        res->acl[i].id = cl_strdup_str(z->acl.items[i].id.id, oom);
                }
        }
}

static void cl_result_fill(const char *chroot, const struct zk_response *z,
                           struct synod_result *res, bool *oom);

static void cl_result_fill_multi(const char *chroot, const struct zk_response *z,
                                 struct synod_result *res, bool *oom)
{
        if (z->multi.count <= 0)
                return;
        res->results = calloc((size_t)z->multi.count, sizeof(*res->results));
        if (res->results == NULL) {
                *oom = true;
                return;
        }
        res->result_count = z->multi.count;
        for (int32_t i = 0; i < z->multi.count; i++) {
                const struct zk_response *sub = &z->multi.results[i];
                struct synod_result *r = &res->results[i];
                r->data_len = -1;
                r->op = sub->type;
                r->err = sub->type == ZK_OP_ERROR ? sub->err : ZOK;
                if (r->err == ZOK)
                        cl_result_fill(chroot, sub, r, oom);
                /* The first failing op decides the multi's outcome. */
                if (r->err != ZOK && res->err == ZOK)
                        res->err = r->err;
        }
}

static void cl_result_fill(const char *chroot, const struct zk_response *z,
                           struct synod_result *res, bool *oom)
{
        switch (z->type) {
        case ZK_OP_CREATE:
        case ZK_OP_SYNC:
                res->path = cl_strdup_path(chroot, z->path, oom);
                break;
        case ZK_OP_CREATE2:
        case ZK_OP_CREATE_CONTAINER:
        case ZK_OP_CREATE_TTL:
                res->path = cl_strdup_path(chroot, z->path, oom);
                cl_stat_copy(&z->stat, &res->stat);
                break;
        case ZK_OP_GET_DATA:
        case ZK_OP_RECONFIG:
                res->data = cl_strdup_bytes(z->data, oom);
                res->data_len = z->data.len;
                cl_stat_copy(&z->stat, &res->stat);
                break;
        case ZK_OP_EXISTS:
        case ZK_OP_SET_DATA:
        case ZK_OP_SET_ACL:
        case ZK_OP_GET_ACL:
        case ZK_OP_GET_CHILDREN2:
                cl_stat_copy(&z->stat, &res->stat);
                cl_result_fill_lists(z, res, oom);
                break;
        case ZK_OP_MULTI:
                cl_result_fill_multi(chroot, z, res, oom);
                break;
        default:
                break;
        }
}

struct synod_result *cl_result_error(int user_op, int err)
{
        struct synod_result *res = calloc(1, sizeof(*res));
        if (res == NULL)
                return NULL;
        res->op = user_op;
        res->err = err;
        res->data_len = -1;
        return res;
}

struct synod_result *cl_result_build(const char *chroot, const struct cl_req *r, int err,
                                     int64_t zxid, const uint8_t *body, size_t body_len)
{
        struct synod_result *res = cl_result_error(r->user_op, err);
        if (res == NULL || err != ZOK || body == NULL)
                return res;
        res->zxid = zxid;
        struct zk_response z;
        memset(&z, 0, sizeof(z));
        int rc = zk_response_decode(r->op, body, body_len, &z);
        if (rc != SYN_OK) {
                zk_response_free(&z);
                res->err = rc == SYN_ENOMEM ? ZSYSTEMERROR : ZMARSHALLINGERROR;
                return res;
        }
        bool oom = false;
        cl_result_fill(chroot, &z, res, &oom);
        zk_response_free(&z);
        if (oom) {
                synod_result_free(res);
                return NULL;
        }
        return res;
}

static void cl_result_free_fields(struct synod_result *res)
{
        free(res->path);
        free(res->data);
        synod_strings_free(res->children, res->child_count);
        for (int32_t i = 0; i < res->acl_count; i++) {
                free((char *)res->acl[i].scheme);
                free((char *)res->acl[i].id);
        }
        free(res->acl);
        for (int32_t i = 0; i < res->result_count; i++)
                cl_result_free_fields(&res->results[i]);
        free(res->results);
}

void synod_result_free(struct synod_result *res)
{
        if (res == NULL)
                return;
        cl_result_free_fields(res);
        free(res);
}

void synod_strings_free(char **strings, int32_t count)
{
        if (strings == NULL)
                return;
        for (int32_t i = 0; i < count; i++)
                free(strings[i]);
        free(strings);
}
