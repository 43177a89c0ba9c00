/* Sample records for the proto tests: see samples.h. */
#include "samples.h"

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

static const struct zk_stat stat_a = {
    .czxid = 0x100000002,
    .mzxid = 0x100000007,
    .ctime = 1700000000123,
    .mtime = 1700000000456,
    .version = 3,
    .cversion = -2,
    .aversion = 1,
    .ephemeral_owner = 0x1000022ba4f0000,
    .data_length = 5,
    .num_children = 2,
    .pzxid = 0x100000009,
};

static struct zk_acl acl_open[1];
static struct zk_acl acl_two[2];
static struct zk_bytes names[3];
static struct zk_bytes watch_paths[4];
static struct zk_request multi_ops[7];
static struct zk_request read_ops[2];
static struct zk_response multi_results[6];
static struct zk_response failed_results[3];
static struct zk_response read_results[3];
static struct zk_client_info infos[2];

static void fill_shared(void)
{
        acl_open[0] = (struct zk_acl){ZK_PERM_ALL, {SAMPLE_BYTES("world"), SAMPLE_BYTES("anyone")}};
        acl_two[0] = acl_open[0];
        acl_two[1] = (struct zk_acl){
            ZK_PERM_READ | ZK_PERM_ADMIN,
            {SAMPLE_BYTES("digest"), SAMPLE_BYTES("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")}};
        names[0] = SAMPLE_BYTES("alpha");
        names[1] = SAMPLE_BYTES("");
        names[2] = SAMPLE_BYTES("lock-0000000007");
        watch_paths[0] = SAMPLE_BYTES("/a");
        watch_paths[1] = SAMPLE_BYTES("/b/c");
        watch_paths[2] = SAMPLE_BYTES("/");
        watch_paths[3] = SAMPLE_BYTES("/\xc3\xa9t\xc3\xa9");
        infos[0] = (struct zk_client_info){SAMPLE_BYTES("ip"), SAMPLE_BYTES("127.0.0.1")};
        infos[1] = (struct zk_client_info){SAMPLE_BYTES("digest"), SAMPLE_BYTES("user")};
}

static struct zk_request req(int32_t xid, int32_t type)
{
        struct zk_request r;
        memset(&r, 0, sizeof r);
        r.xid = xid;
        r.type = type;
        return r;
}

static struct zk_request create_req(int32_t type, struct zk_bytes path, struct zk_bytes data,
                                    struct zk_acl *acl, int32_t nacl, int32_t flags, int64_t ttl)
{
        struct zk_request r = req(1, type);
        r.create.path = path;
        r.create.data = data;
        r.create.acl.items = nacl > 0 ? acl : NULL;
        r.create.acl.count = nacl;
        r.create.flags = flags;
        r.create.ttl_ms = ttl;
        return r;
}

static struct zk_request path_ver(int32_t type, const char *path, int32_t version)
{
        struct zk_request r = req(2, type);
        r.path_ver.path = zk_bytes_of(path);
        r.path_ver.version = version;
        return r;
}

static struct zk_request path_watch(int32_t type, const char *path, bool watch)
{
        struct zk_request r = req(3, type);
        r.path_watch.path = zk_bytes_of(path);
        r.path_watch.watch = watch;
        return r;
}

static struct zk_request path_only(int32_t type, const char *path)
{
        struct zk_request r = req(4, type);
        r.path_only.path = zk_bytes_of(path);
        return r;
}

static struct zk_request set_data(const char *path, struct zk_bytes data, int32_t version)
{
        struct zk_request r = req(5, ZK_OP_SET_DATA);
        r.set_data.path = zk_bytes_of(path);
        r.set_data.data = data;
        r.set_data.version = version;
        return r;
}

static void fill_multi_ops(void)
{
        multi_ops[0] =
            create_req(ZK_OP_CREATE, SAMPLE_BYTES("/m"), SAMPLE_BYTES("d"), acl_two, 2, 0, 0);
        multi_ops[1] = path_ver(ZK_OP_DELETE, "/m/x", 4);
        multi_ops[2] = set_data("/m", SAMPLE_NULL, -1);
        multi_ops[3] = path_ver(ZK_OP_CHECK, "/m", 0);
        multi_ops[4] =
            create_req(ZK_OP_CREATE2, SAMPLE_BYTES("/m/s-"), SAMPLE_BYTES(""), acl_open, 1, 2, 0);
        multi_ops[5] =
            create_req(ZK_OP_CREATE_TTL, SAMPLE_BYTES("/m/t"), SAMPLE_NULL, acl_open, 1, 5, 1000);
        multi_ops[6] =
            create_req(ZK_OP_CREATE_CONTAINER, SAMPLE_BYTES("/m/c"), SAMPLE_NULL, acl_two, 2, 4, 0);
        for (int i = 0; i < 7; i++)
                multi_ops[i].xid = 40;
        read_ops[0] = path_watch(ZK_OP_GET_DATA, "/m", false);
        read_ops[1] = path_watch(ZK_OP_GET_CHILDREN, "/", false);
        for (int i = 0; i < 2; i++)
                read_ops[i].xid = 41;
}

static size_t add_set_watches(struct zk_request *out)
{
        size_t n = 0;
        struct zk_request r = req(ZK_XID_SET_WATCHES, ZK_OP_SET_WATCHES);
        r.set_watches.relative_zxid = 42;
        r.set_watches.data = (struct zk_bytes_list){watch_paths, 2};
        r.set_watches.exist = (struct zk_bytes_list){NULL, 0};
        r.set_watches.child = (struct zk_bytes_list){NULL, -1};
        out[n++] = r;
        r = req(ZK_XID_SET_WATCHES, ZK_OP_SET_WATCHES2);
        r.set_watches.relative_zxid = -1;
        r.set_watches.data = (struct zk_bytes_list){watch_paths, 1};
        r.set_watches.exist = (struct zk_bytes_list){watch_paths + 1, 1};
        r.set_watches.child = (struct zk_bytes_list){watch_paths, 4};
        r.set_watches.persistent = (struct zk_bytes_list){watch_paths + 2, 2};
        r.set_watches.persistent_recursive = (struct zk_bytes_list){watch_paths + 3, 1};
        out[n++] = r;
        return n;
}

static size_t add_misc(struct zk_request *out)
{
        size_t n = 0;
        struct zk_request r = req(16, ZK_OP_RECONFIG);
        r.reconfig.joining_servers = SAMPLE_BYTES("server.4=127.0.0.1:2888:3888;2181");
        r.reconfig.leaving_servers = SAMPLE_NULL;
        r.reconfig.new_members = SAMPLE_BYTES("");
        r.reconfig.cur_config_id = 0x100000000;
        out[n++] = r;
        r = req(17, ZK_OP_CHECK_WATCHES);
        r.watches.path = SAMPLE_BYTES("/a");
        r.watches.type = ZK_WATCHER_ANY;
        out[n++] = r;
        r = req(18, ZK_OP_REMOVE_WATCHES);
        r.watches.path = SAMPLE_BYTES("/a");
        r.watches.type = ZK_WATCHER_CHILDREN;
        out[n++] = r;
        r = req(ZK_XID_AUTH, ZK_OP_AUTH);
        r.auth.scheme = SAMPLE_BYTES("digest");
        r.auth.auth = SAMPLE_BYTES("user:pw");
        out[n++] = r;
        r = req(19, ZK_OP_SASL);
        r.sasl.token = SAMPLE_BYTES("\x60\x00\x01tok");
        out[n++] = r;
        r = req(20, ZK_OP_ADD_WATCH);
        r.add_watch.path = SAMPLE_BYTES("/a");
        r.add_watch.mode = ZK_ADD_WATCH_PERSISTENT_RECURSIVE;
        out[n++] = r;
        out[n++] = req(ZK_XID_PING, ZK_OP_PING);
        out[n++] = req(21, ZK_OP_WHO_AM_I);
        out[n++] = req(22, ZK_OP_CLOSE_SESSION);
        return n;
}

size_t sample_requests(struct zk_request *out, size_t max)
{
        SYN_ASSERT(max >= 40);
        fill_shared();
        fill_multi_ops();
        size_t n = 0;
        out[n++] =
            create_req(ZK_OP_CREATE, SAMPLE_BYTES("/a"), SAMPLE_BYTES("hello"), acl_open, 1, 0, 0);
        out[n++] = create_req(ZK_OP_CREATE2, SAMPLE_BYTES("/b-"), SAMPLE_NULL, NULL, -1, 3, 0);
        out[n++] = create_req(ZK_OP_CREATE_CONTAINER, SAMPLE_BYTES("/c"), SAMPLE_BYTES(""), acl_two,
                              2, 4, 0);
        out[n++] = create_req(ZK_OP_CREATE_TTL, SAMPLE_BYTES("/t"), SAMPLE_BYTES("\0\1\2"),
                              acl_open, 1, 6, 60000);
        out[n++] = create_req(ZK_OP_CREATE, SAMPLE_BYTES("/e"), SAMPLE_BYTES("x"), NULL, 0, 1, 0);
        out[n++] = path_ver(ZK_OP_DELETE, "/a", -1);
        out[n++] = path_watch(ZK_OP_EXISTS, "/a", true);
        out[n++] = path_watch(ZK_OP_GET_DATA, "/a", false);
        out[n++] = set_data("/a", SAMPLE_BYTES("x"), 3);
        out[n++] = path_only(ZK_OP_GET_ACL, "/a");
        struct zk_request r = req(7, ZK_OP_SET_ACL);
        r.set_acl.path = SAMPLE_BYTES("/a");
        r.set_acl.acl = (struct zk_acl_list){acl_two, 2};
        r.set_acl.version = 1;
        out[n++] = r;
        out[n++] = path_watch(ZK_OP_GET_CHILDREN, "/", true);
        out[n++] = path_only(ZK_OP_SYNC, "/");
        out[n++] = path_watch(ZK_OP_GET_CHILDREN2, "/a", false);
        out[n++] = path_ver(ZK_OP_CHECK, "/a", 5);
        r = req(40, ZK_OP_MULTI);
        r.multi = (struct zk_multi_request){multi_ops, 7};
        out[n++] = r;
        r = req(41, ZK_OP_MULTI_READ);
        r.multi = (struct zk_multi_request){read_ops, 2};
        out[n++] = r;
        r = req(42, ZK_OP_MULTI);
        out[n++] = r; /* empty multi */
        out[n++] = path_only(ZK_OP_GET_EPHEMERALS, "");
        out[n++] = path_only(ZK_OP_GET_ALL_CHILDREN_NUMBER, "/a");
        out[n++] = path_only(ZK_OP_SYNC, NULL); /* null path: decodes; the server says -8 */
        n += add_set_watches(out + n);
        n += add_misc(out + n);
        SYN_ASSERT(n <= max);
        return n;
}

static struct zk_response resp(int32_t type)
{
        struct zk_response r;
        memset(&r, 0, sizeof r);
        r.type = type;
        r.stat = stat_a;
        return r;
}

static void fill_results(void)
{
        multi_results[0] = resp(ZK_OP_CREATE);
        multi_results[0].path = SAMPLE_BYTES("/m");
        multi_results[1] = resp(ZK_OP_CREATE2);
        multi_results[1].path = SAMPLE_BYTES("/m/s-0000000000");
        multi_results[2] = resp(ZK_OP_DELETE);
        multi_results[3] = resp(ZK_OP_CHECK);
        multi_results[4] = resp(ZK_OP_SET_DATA);
        multi_results[5] = resp(ZK_OP_ERROR);
        multi_results[5].err = ZNONODE;
        int32_t errs[3] = {ZOK, ZBADVERSION, ZRUNTIMEINCONSISTENCY};
        for (int i = 0; i < 3; i++) {
                failed_results[i] = resp(ZK_OP_ERROR);
                failed_results[i].err = errs[i];
        }
        read_results[0] = resp(ZK_OP_GET_DATA);
        read_results[0].data = SAMPLE_BYTES("payload");
        read_results[1] = resp(ZK_OP_GET_CHILDREN);
        read_results[1].names = (struct zk_bytes_list){names, 3};
        read_results[2] = resp(ZK_OP_ERROR);
        read_results[2].err = ZNOAUTH;
}

static size_t add_simple_responses(struct zk_response *out)
{
        static const int32_t stat_only[] = {ZK_OP_EXISTS, ZK_OP_SET_DATA, ZK_OP_SET_ACL,
                                            ZK_OP_CHECK};
        static const int32_t no_body[] = {
            ZK_OP_DELETE, ZK_OP_PING,        ZK_OP_CHECK_WATCHES, ZK_OP_REMOVE_WATCHES,
            ZK_OP_AUTH,   ZK_OP_SET_WATCHES, ZK_OP_SET_WATCHES2,  ZK_OP_CLOSE_SESSION};
        size_t n = 0;
        for (size_t i = 0; i < sizeof stat_only / sizeof stat_only[0]; i++)
                out[n++] = resp(stat_only[i]);
        for (size_t i = 0; i < sizeof no_body / sizeof no_body[0]; i++)
                out[n++] = resp(no_body[i]);
        out[n] = resp(ZK_OP_GET_ALL_CHILDREN_NUMBER);
        out[n++].number = 12345;
        out[n] = resp(ZK_OP_ADD_WATCH);
        out[n++].err = ZOK;
        out[n] = resp(ZK_OP_WHO_AM_I);
        out[n++].infos = (struct zk_client_info_list){infos, 2};
        out[n] = resp(ZK_OP_SASL);
        out[n++].data = SAMPLE_BYTES("token");
        return n;
}

size_t sample_responses(struct zk_response *out, size_t max)
{
        SYN_ASSERT(max >= 40);
        fill_shared();
        fill_results();
        size_t n = 0;
        static const int32_t path_stat[] = {ZK_OP_CREATE2, ZK_OP_CREATE_CONTAINER,
                                            ZK_OP_CREATE_TTL};
        out[n] = resp(ZK_OP_CREATE);
        out[n++].path = SAMPLE_BYTES("/a");
        for (int i = 0; i < 3; i++) {
                out[n] = resp(path_stat[i]);
                out[n++].path = SAMPLE_BYTES("/b-0000000001");
        }
        out[n] = resp(ZK_OP_SYNC);
        out[n++].path = SAMPLE_BYTES("/");
        out[n] = resp(ZK_OP_GET_DATA);
        out[n++].data = SAMPLE_BYTES("hello");
        out[n] = resp(ZK_OP_GET_DATA);
        out[n++].data = SAMPLE_NULL;
        out[n] = resp(ZK_OP_RECONFIG);
        out[n++].data = SAMPLE_BYTES("server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181");
        out[n] = resp(ZK_OP_GET_ACL);
        out[n++].acl = (struct zk_acl_list){acl_two, 2};
        out[n] = resp(ZK_OP_GET_CHILDREN);
        out[n++].names = (struct zk_bytes_list){names, 3};
        out[n] = resp(ZK_OP_GET_CHILDREN);
        out[n++].names = (struct zk_bytes_list){NULL, 0};
        out[n] = resp(ZK_OP_GET_CHILDREN2);
        out[n++].names = (struct zk_bytes_list){names + 1, 2};
        out[n] = resp(ZK_OP_GET_EPHEMERALS);
        out[n++].names = (struct zk_bytes_list){watch_paths, 4};
        out[n] = resp(ZK_OP_MULTI);
        out[n++].multi = (struct zk_multi_response){multi_results, 6};
        out[n] = resp(ZK_OP_MULTI);
        out[n++].multi = (struct zk_multi_response){failed_results, 3};
        out[n] = resp(ZK_OP_MULTI_READ);
        out[n++].multi = (struct zk_multi_response){read_results, 3};
        out[n] = resp(ZK_OP_MULTI);
        out[n++].multi = (struct zk_multi_response){NULL, 0};
        n += add_simple_responses(out + n);
        SYN_ASSERT(n <= max);
        return n;
}

static uint8_t *copy_exact(const uint8_t *p, size_t n)
{
        uint8_t *c = malloc(n ? n : 1);
        SYN_ASSERT(c != NULL);
        if (n)
                memcpy(c, p, n);
        return c;
}

uint8_t *sample_request_payload(const struct zk_request *r, size_t *len)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        SYN_ASSERT(zk_request_write(&w, r) == SYN_OK);
        SYN_ASSERT(w.len >= 4);
        SYN_ASSERT(syn_get_be32(w.data) == w.len - 4);
        *len = w.len - 4;
        uint8_t *c = copy_exact(w.data + 4, *len);
        syn_writer_close(&w);
        return c;
}

uint8_t *sample_response_body(const struct zk_response *body, size_t *len)
{
        struct syn_writer w;
        struct zk_reply_header h = {7, 9, ZOK};
        syn_writer_init(&w, 0);
        SYN_ASSERT(zk_reply_write(&w, &h, body) == SYN_OK);
        SYN_ASSERT(w.len >= 20);
        SYN_ASSERT(syn_get_be32(w.data) == w.len - 4);
        *len = w.len - 20;
        uint8_t *c = copy_exact(w.data + 20, *len);
        syn_writer_close(&w);
        return c;
}
