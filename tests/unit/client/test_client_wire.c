/*
 * Wire-level unit tests of libsynod: requests encode to what the proto
 * decoder reads back (chroot applied, create sent as create2), replies turn
 * into results (chroot stripped, children sorted, multi errors), the watch
 * table fires by ZooKeeper's rules, SetWatches carries every watch, and,
 * against a scripted fake server on a local socket, the handle re-attaches
 * its session with lastZxidSeen and treats an out-of-order xid as a
 * protocol error (connection dropped, request failed with connection loss),
 * and reconfig / getConfig put on the wire what the Java client does.
 */
/* cmocka.h needs these before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "client/client.h"

#include "base/err.h"
#include "proto/frame.h"
#include "proto/zk_records.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void test_wire_register(const struct CMUnitTest **tests, size_t *n);

static void decode_req(const struct cl_req *r, struct zk_request *z)
{
        assert_true(r->frame_len > 4);
        assert_int_equal(syn_get_be32(r->frame), r->frame_len - 4);
        assert_int_equal(zk_request_decode(r->frame + 4, r->frame_len - 4, z), SYN_OK);
}

static void request_encodes_with_chroot(void **state)
{
        (void)state;
        struct synod_request q = {.op = SYNOD_OP_CREATE,
                                  .path = "/x",
                                  .data = "hi",
                                  .data_len = 2,
                                  .mode = SYNOD_EPHEMERAL_SEQUENTIAL};
        struct cl_req *r;
        assert_int_equal(cl_req_build("/app", &q, &r), SYNOD_OK);
        cl_req_set_xid(r, 77);
        struct zk_request z;
        decode_req(r, &z);
        assert_int_equal(z.xid, 77);
        assert_int_equal(z.type, ZK_OP_CREATE2);
        assert_true(zk_bytes_equal(z.create.path, zk_bytes_of("/app/x")));
        assert_int_equal(z.create.flags, SYNOD_EPHEMERAL_SEQUENTIAL);
        assert_int_equal(z.create.acl.count, 1); /* world:anyone ALL by default */
        assert_int_equal(z.create.acl.items[0].perms, ZK_PERM_ALL);
        zk_request_free(&z);
        cl_req_free(r);

        struct synod_request g = {.op = SYNOD_OP_EXISTS, .path = "/", .watch = (synod_watch_fn)1};
        assert_int_equal(cl_req_build("/app", &g, &r), SYNOD_OK);
        decode_req(r, &z);
        assert_int_equal(z.type, ZK_OP_EXISTS);
        assert_true(z.path_watch.watch);
        assert_true(zk_bytes_equal(z.path_watch.path, zk_bytes_of("/app")));
        assert_int_equal(r->watch_kind, CL_WATCH_DATA);
        assert_string_equal(r->watch_path, "/app");
        zk_request_free(&z);
        cl_req_free(r);
}

static void request_rejects_bad_input(void **state)
{
        (void)state;
        struct cl_req *r;
        struct synod_request bad[] = {
            {.op = SYNOD_OP_GET, .path = "relative"},
            {.op = SYNOD_OP_GET, .path = "/a/"},
            {.op = SYNOD_OP_GET, .path = NULL},
            {.op = SYNOD_OP_SET, .path = "/a", .data_len = -2},
            {.op = SYNOD_OP_CREATE, .path = "/a", .data_len = -1, .mode = 9},
            {.op = SYNOD_OP_ADD_WATCH, .path = "/a"}, /* needs a callback */
            {.op = 12345, .path = "/a"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(cl_req_build("", &bad[i], &r), SYNOD_EBADARGUMENTS);
        struct synod_request get_in_multi = {.op = SYNOD_OP_GET, .path = "/a"};
        struct synod_request m = {.op = SYNOD_OP_MULTI, .ops = &get_in_multi, .op_count = 1};
        assert_int_equal(cl_req_build("", &m, &r), SYNOD_EBADARGUMENTS);
        /* A sequential create may end in '/' (the server appends the number). */
        struct synod_request seq = {.op = SYNOD_OP_CREATE,
                                    .path = "/a/",
                                    .data_len = -1,
                                    .mode = SYNOD_PERSISTENT_SEQUENTIAL};
        assert_int_equal(cl_req_build("", &seq, &r), SYNOD_OK);
        cl_req_free(r);
}

/* reconfig: an omitted list is a null ustring (length -1), not ""; no chroot (the
 * request has no path); never inside a multi. */
static void request_encodes_reconfig(void **state)
{
        (void)state;
        struct synod_request q = {.op = SYNOD_OP_RECONFIG,
                                  .joining = "",
                                  .leaving = "2,3",
                                  .new_members = NULL,
                                  .from_config = -1};
        struct cl_req *r;
        assert_int_equal(cl_req_build("/app", &q, &r), SYNOD_OK);
        struct zk_request z;
        decode_req(r, &z);
        assert_int_equal(z.type, ZK_OP_RECONFIG);
        assert_int_equal(r->user_op, SYNOD_OP_RECONFIG);
        assert_int_equal(z.reconfig.joining_servers.len, 0);
        assert_true(zk_bytes_equal(z.reconfig.leaving_servers, zk_bytes_of("2,3")));
        assert_int_equal(z.reconfig.new_members.len, -1);
        assert_int_equal(z.reconfig.cur_config_id, -1);
        zk_request_free(&z);
        cl_req_free(r);
        struct synod_request m = {.op = SYNOD_OP_MULTI, .ops = &q, .op_count = 1};
        assert_int_equal(cl_req_build("", &m, &r), SYNOD_EBADARGUMENTS);
}

/* Encodes a reply body of type `type` as the server would, returns the body bytes. */
static uint8_t *encode_reply(const struct zk_response *body, size_t *len)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        struct zk_reply_header h = {5, 9, 0};
        assert_int_equal(zk_reply_write(&w, &h, body), SYN_OK);
        size_t total;
        uint8_t *all = syn_writer_take(&w, &total);
        *len = total - 20; /* length prefix + reply header */
        uint8_t *b = malloc(*len);
        memcpy(b, all + 20, *len);
        free(all);
        return b;
}

static void result_strips_chroot_and_sorts(void **state)
{
        (void)state;
        struct zk_bytes names[] = {zk_bytes_of("b"), zk_bytes_of("c"), zk_bytes_of("a")};
        struct zk_response body = {.type = ZK_OP_GET_CHILDREN2, .names = {names, 3}};
        body.stat.num_children = 3;
        size_t len;
        uint8_t *b = encode_reply(&body, &len);
        struct cl_req req = {.op = ZK_OP_GET_CHILDREN2, .user_op = SYNOD_OP_CHILDREN};
        struct synod_result *res = cl_result_build("/app", &req, ZOK, 9, b, len);
        assert_non_null(res);
        assert_int_equal(res->child_count, 3);
        assert_string_equal(res->children[0], "a");
        assert_string_equal(res->children[2], "c");
        assert_int_equal(res->stat.num_children, 3);
        synod_result_free(res);
        free(b);

        struct zk_response cr = {.type = ZK_OP_CREATE2, .path = zk_bytes_of("/app/n0000000001")};
        cr.stat.czxid = 1234;
        b = encode_reply(&cr, &len);
        req = (struct cl_req){.op = ZK_OP_CREATE2, .user_op = SYNOD_OP_CREATE};
        res = cl_result_build("/app", &req, ZOK, 9, b, len);
        assert_string_equal(res->path, "/n0000000001");
        assert_int_equal(res->stat.czxid, 1234);
        synod_result_free(res);
        free(b);

        res = cl_result_build("", &req, ZNONODE, 9, NULL, 0);
        assert_int_equal(res->err, ZNONODE);
        assert_null(res->path);
        synod_result_free(res);

        /* A truncated body is a marshalling error, never a crash. */
        uint8_t junk[3] = {0, 0, 9};
        res = cl_result_build("", &req, ZOK, 9, junk, sizeof(junk));
        assert_int_equal(res->err, ZMARSHALLINGERROR);
        synod_result_free(res);
}

/* A hostile server's null strings (length -1) become "", never NULL: callers print and
 * compare children, ACL ids and created paths without checking (found by the fuzzer). */
static void result_null_strings_become_empty(void **state)
{
        (void)state;
        struct zk_bytes null_str = {NULL, -1};
        struct zk_acl acls[] = {{ZK_PERM_READ, {null_str, null_str}}};
        struct zk_response body = {.type = ZK_OP_GET_ACL, .acl = {acls, 1}};
        size_t len;
        uint8_t *b = encode_reply(&body, &len);
        struct cl_req req = {.op = ZK_OP_GET_ACL, .user_op = SYNOD_OP_GET_ACL};
        struct synod_result *res = cl_result_build("", &req, ZOK, 9, b, len);
        assert_int_equal(res->err, ZOK);
        assert_int_equal(res->acl_count, 1);
        assert_string_equal(res->acl[0].scheme, "");
        assert_string_equal(res->acl[0].id, "");
        assert_int_equal(res->acl[0].perms, ZK_PERM_READ);
        synod_result_free(res);
        free(b);

        struct zk_bytes names[] = {zk_bytes_of("b"), null_str};
        struct zk_response ch = {.type = ZK_OP_GET_CHILDREN2, .names = {names, 2}};
        b = encode_reply(&ch, &len);
        req = (struct cl_req){.op = ZK_OP_GET_CHILDREN2, .user_op = SYNOD_OP_CHILDREN};
        res = cl_result_build("/app", &req, ZOK, 9, b, len);
        assert_int_equal(res->child_count, 2);
        assert_string_equal(res->children[0], "");
        assert_string_equal(res->children[1], "b");
        synod_result_free(res);
        free(b);

        struct zk_response cr = {.type = ZK_OP_CREATE2, .path = null_str};
        b = encode_reply(&cr, &len);
        req = (struct cl_req){.op = ZK_OP_CREATE2, .user_op = SYNOD_OP_CREATE};
        res = cl_result_build("/app", &req, ZOK, 9, b, len);
        assert_non_null(res->path);
        assert_string_equal(res->path, "");
        synod_result_free(res);
        free(b);
}

static void result_multi_reports_first_failure(void **state)
{
        (void)state;
        struct zk_response subs[3] = {
            {.type = ZK_OP_ERROR, .err = 0},
            {.type = ZK_OP_ERROR, .err = ZBADVERSION},
            {.type = ZK_OP_ERROR, .err = ZRUNTIMEINCONSISTENCY},
        };
        struct zk_response body = {.type = ZK_OP_MULTI, .multi = {subs, 3}};
        size_t len;
        uint8_t *b = encode_reply(&body, &len);
        struct cl_req req = {.op = ZK_OP_MULTI, .user_op = SYNOD_OP_MULTI};
        struct synod_result *res = cl_result_build("", &req, ZOK, 9, b, len);
        assert_int_equal(res->err, ZBADVERSION);
        assert_int_equal(res->result_count, 3);
        assert_int_equal(res->results[0].err, 0);
        assert_int_equal(res->results[1].err, ZBADVERSION);
        assert_int_equal(res->results[2].err, ZRUNTIMEINCONSISTENCY);
        synod_result_free(res);
        free(b);
}

static int fired_count(struct cl_watch *l)
{
        int n = 0;
        for (; l; l = l->next)
                n++;
        return n;
}

static void noop_watch(const struct synod_event *ev, void *arg)
{
        (void)ev;
        (void)arg;
}

static void watch_table_follows_zookeeper_rules(void **state)
{
        (void)state;
        struct cl_watch_table t = {0};
        assert_int_equal(cl_watch_add(&t, CL_WATCH_DATA, "/a", noop_watch, NULL), SYNOD_OK);
        assert_int_equal(cl_watch_add(&t, CL_WATCH_CHILD, "/a", noop_watch, NULL), SYNOD_OK);
        assert_int_equal(cl_watch_add(&t, CL_WATCH_EXIST, "/b", noop_watch, NULL), SYNOD_OK);
        assert_int_equal(cl_watch_add(&t, CL_WATCH_RECURSIVE, "/r", noop_watch, NULL), SYNOD_OK);
        assert_int_equal(cl_watch_add(&t, CL_WATCH_PERSISTENT, "/a", noop_watch, NULL), SYNOD_OK);

        /* children-changed: the child watch and the persistent one; recursive never. */
        struct cl_watch *f = cl_watch_take(&t, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
        assert_int_equal(fired_count(f), 2);
        cl_watch_list_free(f);
        assert_int_equal(t.count, 4); /* the one-shot child watch is gone */
        f = cl_watch_take(&t, ZK_EVENT_NODE_CHILDREN_CHANGED, "/r");
        assert_int_equal(fired_count(f), 0);
        /* recursive: descendants, but not a sibling with the same prefix */
        f = cl_watch_take(&t, ZK_EVENT_NODE_DATA_CHANGED, "/r/x/y");
        assert_int_equal(fired_count(f), 1);
        cl_watch_list_free(f);
        f = cl_watch_take(&t, ZK_EVENT_NODE_CREATED, "/rx");
        assert_int_equal(fired_count(f), 0);
        /* deleted fires data watch + persistent; the data watch fires once only. */
        f = cl_watch_take(&t, ZK_EVENT_NODE_DELETED, "/a");
        assert_int_equal(fired_count(f), 2);
        cl_watch_list_free(f);
        f = cl_watch_take(&t, ZK_EVENT_NODE_DELETED, "/a");
        assert_int_equal(fired_count(f), 1); /* persistent stays */
        cl_watch_list_free(f);
        f = cl_watch_take(&t, ZK_EVENT_NODE_CREATED, "/b");
        assert_int_equal(fired_count(f), 1);
        cl_watch_list_free(f);
        assert_int_equal(t.count, 2);
        cl_watch_clear(&t);
        assert_int_equal(t.count, 0);
}

static void set_watches_carries_every_watch(void **state)
{
        (void)state;
        struct cl_watch_table t = {0};
        cl_watch_add(&t, CL_WATCH_DATA, "/d", noop_watch, NULL);
        cl_watch_add(&t, CL_WATCH_EXIST, "/e", noop_watch, NULL);
        cl_watch_add(&t, CL_WATCH_CHILD, "/c", noop_watch, NULL);
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(cl_watch_write_set_watches(&t, 0x55, &w), SYN_OK);
        struct zk_request z;
        assert_int_equal(zk_request_decode(w.data + 4, w.len - 4, &z), SYN_OK);
        assert_int_equal(z.xid, ZK_XID_SET_WATCHES);
        assert_int_equal(z.type, ZK_OP_SET_WATCHES); /* no persistent: the old opcode */
        assert_int_equal(z.set_watches.relative_zxid, 0x55);
        assert_int_equal(z.set_watches.data.count, 1);
        assert_true(zk_bytes_equal(z.set_watches.exist.items[0], zk_bytes_of("/e")));
        assert_true(zk_bytes_equal(z.set_watches.child.items[0], zk_bytes_of("/c")));
        zk_request_free(&z);
        syn_writer_reset(&w);
        cl_watch_add(&t, CL_WATCH_RECURSIVE, "/r", noop_watch, NULL);
        assert_int_equal(cl_watch_write_set_watches(&t, 1, &w), SYN_OK);
        assert_int_equal(zk_request_decode(w.data + 4, w.len - 4, &z), SYN_OK);
        assert_int_equal(z.type, ZK_OP_SET_WATCHES2);
        assert_int_equal(z.set_watches.persistent_recursive.count, 1);
        zk_request_free(&z);
        syn_writer_close(&w);
        cl_watch_clear(&t);
}

/* ---- a scripted fake server ---- */

struct fake {
        int listen_fd;
        int port;
        pthread_t thread;
        int64_t seen_last_zxid[2]; /* lastZxidSeen of the two handshakes */
        int64_t seen_session[2];
        int handshakes;
};

static bool fake_read_frame(int fd, uint8_t *buf, size_t cap, size_t *len)
{
        size_t have = 0;
        for (;;) {
                struct zk_frame f;
                zk_frame_parse(buf, have, false, cap - 4, &f);
                if (f.kind == ZK_FRAME_READY) {
                        memmove(buf, f.payload, f.payload_len);
                        *len = f.payload_len;
                        return true;
                }
                if (f.kind != ZK_FRAME_NEED_MORE)
                        return false;
                ssize_t n = recv(fd, buf + have, 1, 0); /* one byte at a time: no over-read */
                if (n <= 0)
                        return false;
                have += (size_t)n;
        }
}

static void fake_send(int fd, struct syn_writer *w)
{
        assert_int_equal(send(fd, w->data, w->len, MSG_NOSIGNAL), (ssize_t)w->len);
        syn_writer_reset(w);
}

/* Connection 1: accept the session, answer a ping-free request with a wrong xid.
 * Connection 2: the client must re-attach the same session with the zxid seen. */
static void *fake_main(void *arg)
{
        struct fake *fk = arg;
        uint8_t buf[4096];
        struct syn_writer w;
        syn_writer_init(&w, 0);
        for (int conn = 0; conn < 2; conn++) {
                struct pollfd pl = {fk->listen_fd, POLLIN, 0};
                if (poll(&pl, 1, 10000) != 1) /* never hang the suite */
                        break;
                int fd = accept(fk->listen_fd, NULL, NULL);
                size_t len;
                struct zk_connect_request cr;
                if (!fake_read_frame(fd, buf, sizeof(buf), &len) ||
                    zk_connect_request_decode(buf, len, &cr) != SYN_OK) {
                        close(fd);
                        break;
                }
                fk->seen_last_zxid[conn] = cr.last_zxid_seen;
                fk->seen_session[conn] = cr.session_id;
                fk->handshakes++;
                struct zk_connect_response resp = {
                    .timeout_ms = 6000, .session_id = 0x1234, .has_read_only = true};
                memset(resp.passwd, 7, sizeof(resp.passwd));
                zk_connect_response_write(&w, &resp);
                fake_send(fd, &w);
                if (conn == 1) {
                        fake_read_frame(fd, buf, sizeof(buf), &len); /* closeSession */
                        close(fd);
                        break;
                }
                struct zk_request z;
                fake_read_frame(fd, buf, sizeof(buf), &len);
                zk_request_decode(buf, len, &z);
                struct zk_reply_header ok = {z.xid, 0x77, 0};
                struct zk_response st = {.type = ZK_OP_EXISTS};
                zk_reply_write(&w, &ok, &st); /* first request: answered, zxid 0x77 */
                zk_request_free(&z);
                fake_send(fd, &w);
                fake_read_frame(fd, buf, sizeof(buf), &len);
                zk_request_decode(buf, len, &z);
                struct zk_reply_header wrong = {z.xid + 5, 0x78, 0};
                zk_reply_write(&w, &wrong, &st); /* second: an xid out of order */
                zk_request_free(&z);
                fake_send(fd, &w);
                fake_read_frame(fd, buf, sizeof(buf), &len); /* until the client hangs up */
                close(fd);
        }
        syn_writer_close(&w);
        return NULL;
}

static void fake_start_listener(struct fake *fk)
{
        fk->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(fk->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t al = sizeof(a);
        getsockname(fk->listen_fd, (struct sockaddr *)&a, &al);
        fk->port = ntohs(a.sin_port);
        assert_int_equal(listen(fk->listen_fd, 4), 0);
}

static void fake_start(struct fake *fk)
{
        memset(fk, 0, sizeof(*fk));
        fake_start_listener(fk);
        pthread_create(&fk->thread, NULL, fake_main, fk);
}

struct states {
        pthread_mutex_t mu;
        int seen[8];
        int n;
};

static void record_state(struct synod *h, enum synod_state s, void *arg)
{
        (void)h;
        struct states *st = arg;
        pthread_mutex_lock(&st->mu);
        if (st->n < 8)
                st->seen[st->n++] = (int)s;
        pthread_mutex_unlock(&st->mu);
}

static void xid_out_of_order_drops_connection_and_reattaches(void **state)
{
        (void)state;
        struct fake fk;
        fake_start(&fk);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", fk.port);
        struct states st = {.n = 0};
        pthread_mutex_init(&st.mu, NULL);
        struct synod *h;
        struct synod_options opt = {.servers = servers,
                                    .session_timeout_ms = 6000,
                                    .seed = 1,
                                    .on_state = record_state,
                                    .state_arg = &st};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        assert_int_equal(synod_wait_connected(h, 5000), SYNOD_OK);
        assert_int_equal(synod_exists(h, "/x", NULL, NULL, NULL), SYNOD_OK);
        assert_int_equal(synod_exists(h, "/y", NULL, NULL, NULL), SYNOD_ECONNECTIONLOSS);
        assert_int_equal(synod_wait_connected(h, 5000), SYNOD_OK); /* re-attached */
        assert_int_equal(synod_session_id(h), 0x1234);
        synod_close(h);
        pthread_join(fk.thread, NULL);
        close(fk.listen_fd);
        assert_int_equal(fk.handshakes, 2);
        assert_int_equal(fk.seen_session[0], 0);
        assert_int_equal(fk.seen_session[1], 0x1234); /* same session */
        /* lastZxidSeen = the zxid of the last good reply; the out-of-order one is not trusted */
        assert_int_equal(fk.seen_last_zxid[1], 0x77);
        assert_true(st.n >= 4);
        assert_int_equal(st.seen[0], SYNOD_STATE_CONNECTED);
        assert_int_equal(st.seen[1], SYNOD_STATE_SUSPENDED);
        assert_int_equal(st.seen[2], SYNOD_STATE_CONNECTED);
        assert_int_equal(st.seen[st.n - 1], SYNOD_STATE_CLOSED);
        pthread_mutex_destroy(&st.mu);
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ping_fake {
        struct fake base;
        int64_t ping_after_ms;    /* first ping, after the handshake */
        int64_t dropped_after_ms; /* client hung up, after the handshake */
        int32_t ping_xid, ping_type;
};

/* Accepts the session with a 1500 ms timeout, then never answers: the client must
 * ping after readTimeout/2 (500 ms) and give up after readTimeout (1000 ms). */
static void *ping_fake_main(void *arg)
{
        struct ping_fake *pf = arg;
        uint8_t buf[4096];
        size_t len;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        struct pollfd pl = {pf->base.listen_fd, POLLIN, 0};
        int fd = poll(&pl, 1, 10000) == 1 ? accept(pf->base.listen_fd, NULL, NULL) : -1;
        struct zk_connect_request cr;
        if (fd >= 0 && fake_read_frame(fd, buf, sizeof(buf), &len) &&
            zk_connect_request_decode(buf, len, &cr) == SYN_OK) {
                struct zk_connect_response resp = {
                    .timeout_ms = 1500, .session_id = 0x99, .has_read_only = true};
                zk_connect_response_write(&w, &resp);
                fake_send(fd, &w);
                int64_t t0 = mono_ms();
                struct zk_request z = {0};
                if (fake_read_frame(fd, buf, sizeof(buf), &len) &&
                    zk_request_decode(buf, len, &z) == SYN_OK) {
                        pf->ping_after_ms = mono_ms() - t0;
                        pf->ping_xid = z.xid;
                        pf->ping_type = z.type;
                }
                while (fake_read_frame(fd, buf, sizeof(buf), &len)) { /* more pings */
                }
                pf->dropped_after_ms = mono_ms() - t0;
        }
        if (fd >= 0)
                close(fd);
        syn_writer_close(&w);
        return NULL;
}

static void pings_at_half_read_timeout_and_drops_silent_server(void **state)
{
        (void)state;
        struct ping_fake pf;
        memset(&pf, 0, sizeof(pf));
        fake_start_listener(&pf.base);
        pthread_create(&pf.base.thread, NULL, ping_fake_main, &pf);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", pf.base.port);
        struct synod *h;
        struct synod_options opt = {.servers = servers, .session_timeout_ms = 1500, .seed = 3};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        assert_int_equal(synod_wait_connected(h, 5000), SYNOD_OK);
        pthread_join(pf.base.thread, NULL);
        assert_int_equal(pf.ping_xid, ZK_XID_PING);
        assert_int_equal(pf.ping_type, ZK_OP_PING);
        assert_in_range(pf.ping_after_ms, 400,
                        1200); /* rt/2 = 500 ms, with slack for a loaded machine */
        assert_in_range(pf.dropped_after_ms, 900, 3000); /* rt = 1000 ms */
        assert_int_not_equal(synod_state(h), SYNOD_STATE_CONNECTED);
        synod_close(h);
        close(pf.base.listen_fd);
}

/* Accepts a session, drops the connection, then answers the re-attach with
 * timeOut 0 (what a server says for an expired session). */
static void *expiring_fake_main(void *arg)
{
        struct fake *fk = arg;
        uint8_t buf[4096];
        size_t len;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        for (int conn = 0; conn < 2; conn++) {
                struct pollfd pl = {fk->listen_fd, POLLIN, 0};
                int fd = poll(&pl, 1, 10000) == 1 ? accept(fk->listen_fd, NULL, NULL) : -1;
                struct zk_connect_request cr;
                if (fd < 0 || !fake_read_frame(fd, buf, sizeof(buf), &len) ||
                    zk_connect_request_decode(buf, len, &cr) != SYN_OK) {
                        if (fd >= 0)
                                close(fd);
                        break;
                }
                fk->seen_session[conn] = cr.session_id;
                fk->handshakes++;
                struct zk_connect_response resp = {.timeout_ms = conn == 0 ? 6000 : 0,
                                                   .session_id = conn == 0 ? 0x4242 : 0,
                                                   .has_read_only = true};
                zk_connect_response_write(&w, &resp);
                fake_send(fd, &w);
                close(fd);
        }
        syn_writer_close(&w);
        return NULL;
}

static void expired_reattach_makes_the_handle_final(void **state)
{
        (void)state;
        struct fake fk;
        memset(&fk, 0, sizeof(fk));
        fake_start_listener(&fk);
        pthread_create(&fk.thread, NULL, expiring_fake_main, &fk);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", fk.port);
        struct states st = {.n = 0};
        pthread_mutex_init(&st.mu, NULL);
        struct synod *h;
        struct synod_options opt = {.servers = servers,
                                    .session_timeout_ms = 6000,
                                    .seed = 5,
                                    .on_state = record_state,
                                    .state_arg = &st};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        pthread_join(fk.thread, NULL);
        assert_int_equal(synod_wait_connected(h, 5000), SYNOD_ESESSIONEXPIRED);
        assert_int_equal(synod_state(h), SYNOD_STATE_EXPIRED);
        assert_int_equal(synod_exists(h, "/x", NULL, NULL, NULL), SYNOD_ESESSIONEXPIRED);
        synod_close(h);
        close(fk.listen_fd);
        assert_int_equal(fk.handshakes, 2);
        assert_int_equal(fk.seen_session[1], 0x4242);
        assert_int_equal(st.n, 4);
        assert_int_equal(st.seen[1], SYNOD_STATE_SUSPENDED);
        assert_int_equal(st.seen[2], SYNOD_STATE_EXPIRED);
        assert_int_equal(st.seen[3], SYNOD_STATE_CLOSED);
        pthread_mutex_destroy(&st.mu);
}

/* Hostile server bytes after a good handshake; each connection gets the next one. */
#define HOSTILE_COUNT 6
struct hostile_fake {
        struct fake base;
        int64_t sessions[HOSTILE_COUNT];
};

static size_t hostile_payload(int i, uint8_t *out)
{
        switch (i) {
        case 0: /* a negative length */
                memcpy(out, "\xff\xff\xff\xff", 4);
                return 4;
        case 1: /* a length over CLIENT_REPLY_BYTES_MAX */
                syn_put_be32(out, CLIENT_REPLY_BYTES_MAX + 1);
                return 4;
        case 2: /* a frame too short for a reply header */
                syn_put_be32(out, 3);
                memcpy(out + 4, "abc", 3);
                return 7;
        case 3: /* a reply to a request never sent */
                syn_put_be32(out, 16);
                memset(out + 4, 0, 16);
                syn_put_be32(out + 4, 99);
                return 20;
        case 4: /* a watch event whose path length runs past the frame */
                syn_put_be32(out, 16 + 12);
                memset(out + 4, 0, 28);
                syn_put_be32(out + 4, (uint32_t)ZK_XID_WATCH_EVENT);
                syn_put_be32(out + 28, 1000);
                return 32;
        default: /* a valid notification for a path nobody watches */
                syn_put_be32(out, 16 + 14);
                memset(out + 4, 0, 30);
                syn_put_be32(out + 4, (uint32_t)ZK_XID_WATCH_EVENT);
                syn_put_be32(out + 20, ZK_EVENT_NODE_CREATED);
                syn_put_be32(out + 24, ZK_STATE_SYNC_CONNECTED);
                syn_put_be32(out + 28, 2);
                memcpy(out + 32, "/x", 2);
                return 34;
        }
}

static void *hostile_fake_main(void *arg)
{
        struct hostile_fake *hf = arg;
        uint8_t buf[4096];
        size_t len;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        for (int i = 0; i < HOSTILE_COUNT; i++) {
                struct pollfd pl = {hf->base.listen_fd, POLLIN, 0};
                int fd = poll(&pl, 1, 10000) == 1 ? accept(hf->base.listen_fd, NULL, NULL) : -1;
                struct zk_connect_request cr;
                if (fd < 0 || !fake_read_frame(fd, buf, sizeof(buf), &len) ||
                    zk_connect_request_decode(buf, len, &cr) != SYN_OK) {
                        if (fd >= 0)
                                close(fd);
                        break;
                }
                hf->sessions[i] = cr.session_id;
                hf->base.handshakes++;
                struct zk_connect_response resp = {
                    .timeout_ms = 30000, .session_id = 0x77, .has_read_only = true};
                zk_connect_response_write(&w, &resp);
                size_t n = hostile_payload(i, buf);
                syn_write_bytes(&w, buf, n);
                fake_send(fd, &w);
                struct pollfd pc = {fd, POLLIN, 0};
                poll(&pc, 1, 300); /* the client hangs up on a protocol error */
                close(fd);
        }
        syn_writer_close(&w);
        return NULL;
}

static void hostile_replies_drop_the_connection_not_the_process(void **state)
{
        (void)state;
        struct hostile_fake hf;
        memset(&hf, 0, sizeof(hf));
        fake_start_listener(&hf.base);
        pthread_create(&hf.base.thread, NULL, hostile_fake_main, &hf);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d", hf.base.port);
        struct synod *h;
        struct synod_options opt = {.servers = servers, .session_timeout_ms = 30000, .seed = 9};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        pthread_join(hf.base.thread, NULL);
        assert_int_equal(hf.base.handshakes, HOSTILE_COUNT);
        for (int i = 1; i < HOSTILE_COUNT; i++)
                assert_int_equal(hf.sessions[i], 0x77); /* always re-attached, never expired */
        enum synod_state s = synod_state(h);
        assert_true(s == SYNOD_STATE_SUSPENDED || s == SYNOD_STATE_CONNECTED);
        synod_close(h);
        close(hf.base.listen_fd);
}

static void calls_after_close_path_fail_cleanly(void **state)
{
        (void)state;
        struct synod *h;
        struct synod_options bad = {.servers = "nohost:99999"};
        assert_int_equal(synod_open(&h, &bad), SYNOD_EBADARGUMENTS);
        /* Nothing listens on port 1: requests fail with connection loss, never hang. */
        struct synod_options opt = {.servers = "127.0.0.1:1", .session_timeout_ms = 2000};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        assert_int_equal(synod_wait_connected(h, 300), SYNOD_EOPERATIONTIMEOUT);
        assert_int_equal(synod_exists(h, "/x", NULL, NULL, NULL), SYNOD_ECONNECTIONLOSS);
        assert_int_equal(synod_exists(h, "bad", NULL, NULL, NULL), SYNOD_EBADARGUMENTS);
        synod_close(h);
}

/* ---- a fake server answering every request by rule ---- */

/* One connection: accepts the session, then answers each request with what
 * answer(arg, request, &body) returns (body.type 0 = no body) until closeSession. */
struct rule_fake {
        struct fake base;
        int32_t (*answer)(void *arg, const struct zk_request *z, struct zk_response *body);
        void *arg;
};

static void *rule_fake_main(void *p)
{
        struct rule_fake *rf = p;
        static uint8_t buf[65536];
        size_t len;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        struct pollfd pl = {rf->base.listen_fd, POLLIN, 0};
        int fd = poll(&pl, 1, 10000) == 1 ? accept(rf->base.listen_fd, NULL, NULL) : -1;
        struct zk_connect_request cr;
        if (fd >= 0 && fake_read_frame(fd, buf, sizeof(buf), &len) &&
            zk_connect_request_decode(buf, len, &cr) == SYN_OK) {
                rf->base.handshakes++;
                struct zk_connect_response resp = {
                    .timeout_ms = 30000, .session_id = 0x51, .has_read_only = true};
                zk_connect_response_write(&w, &resp);
                fake_send(fd, &w);
                struct zk_request z;
                while (fake_read_frame(fd, buf, sizeof(buf), &len) &&
                       zk_request_decode(buf, len, &z) == SYN_OK) {
                        struct zk_response body = {.type = 0};
                        struct zk_reply_header h = {z.xid, 0x10, rf->answer(rf->arg, &z, &body)};
                        zk_reply_write(&w, &h, body.type != 0 ? &body : NULL);
                        fake_send(fd, &w);
                        bool closing = z.type == ZK_OP_CLOSE_SESSION;
                        zk_request_free(&z);
                        if (closing)
                                break;
                }
        }
        if (fd >= 0)
                close(fd);
        syn_writer_close(&w);
        return NULL;
}

/* Starts a rule fake and opens a handle on it (connect string suffix: a chroot). */
static struct synod *rule_fake_open(struct rule_fake *rf, const char *chroot)
{
        fake_start_listener(&rf->base);
        pthread_create(&rf->base.thread, NULL, rule_fake_main, rf);
        char servers[64];
        snprintf(servers, sizeof(servers), "127.0.0.1:%d%s", rf->base.port, chroot);
        struct synod *h;
        struct synod_options opt = {.servers = servers, .session_timeout_ms = 30000, .seed = 11};
        assert_int_equal(synod_open(&h, &opt), SYNOD_OK);
        assert_int_equal(synod_wait_connected(h, 5000), SYNOD_OK);
        return h;
}

static void rule_fake_close(struct rule_fake *rf, struct synod *h)
{
        synod_close(h);
        pthread_join(rf->base.thread, NULL);
        close(rf->base.listen_fd);
        assert_int_equal(rf->base.handshakes, 1);
}

/* Answers creates of `instance` with ZNONODE (the service node "vanished" again)
 * and every other create with ZNODEEXISTS (the parents are there), until the
 * client closes its session: registration can never succeed. */
struct vanishing_fake {
        const char *instance;
        int instance_creates;
        int parent_creates;
};

static int32_t vanishing_answer(void *arg, const struct zk_request *z, struct zk_response *body)
{
        struct vanishing_fake *vf = arg;
        if (z->type == ZK_OP_EXISTS)
                body->type = ZK_OP_EXISTS; /* a Stat */
        if (z->type != ZK_OP_CREATE && z->type != ZK_OP_CREATE2)
                return ZOK;
        struct zk_bytes p = z->create.path;
        if (p.len == (int32_t)strlen(vf->instance) && memcmp(p.data, vf->instance, p.len) == 0) {
                vf->instance_creates++;
                return ZNONODE;
        }
        vf->parent_creates++;
        return ZNODEEXISTS;
}

/* Bug: when every round failed, synod_service_register returned SYNOD_OK (and a
 * path) for a node that was never created. It must return the last error. */
static void service_register_reports_failure_when_every_round_fails(void **state)
{
        (void)state;
        struct vanishing_fake vf = {.instance = "/services/svc/one"};
        struct rule_fake rf = {.answer = vanishing_answer, .arg = &vf};
        struct synod *h = rule_fake_open(&rf, "");
        char *path = NULL;
        int rc = synod_service_register(h, "svc", "one", "10.0.0.1", 80, NULL, &path);
        assert_int_equal(rc, SYNOD_ENONODE);
        assert_null(path);
        rule_fake_close(&rf, h);
        assert_int_equal(vf.instance_creates, CLIENT_CAS_ROUNDS_MAX); /* bounded, all tried */
        assert_true(vf.parent_creates >= CLIENT_CAS_ROUNDS_MAX);
}

/* ---- membership: reconfig and getConfig ---- */

#define RECONFIG_TEXT "server.1=10.0.0.1:2888:3888:participant;10.0.0.1:2181\nversion=2"

/* Answers reconfig with the new text (or ZRECONFIGDISABLED when nobody joins) and
 * getData with a one-line membership, recording what the client sent. */
struct reconfig_fake {
        int reconfigs;
        char *joining; /* of the first reconfig: "(null)" if sent as null */
        int32_t leaving_len, new_members_len;
        int64_t cur_config_id;
        char *get_path; /* of the last getData */
};

static char *bytes_dup(struct zk_bytes b)
{
        return b.len < 0 ? strdup("(null)") : strndup((const char *)b.data, (size_t)b.len);
}

static int32_t reconfig_answer(void *arg, const struct zk_request *z, struct zk_response *body)
{
        struct reconfig_fake *rf = arg;
        if (z->type == ZK_OP_GET_DATA) {
                free(rf->get_path);
                rf->get_path = bytes_dup(z->path_watch.path);
                *body =
                    (struct zk_response){.type = ZK_OP_GET_DATA, .data = zk_bytes_of("version=1")};
                return ZOK;
        }
        if (z->type != ZK_OP_RECONFIG)
                return ZOK;
        if (rf->reconfigs++ == 0) {
                rf->joining = bytes_dup(z->reconfig.joining_servers);
                rf->leaving_len = z->reconfig.leaving_servers.len;
                rf->new_members_len = z->reconfig.new_members.len;
                rf->cur_config_id = z->reconfig.cur_config_id;
        }
        if (z->reconfig.joining_servers.len < 0)
                return ZRECONFIGDISABLED;
        *body = (struct zk_response){.type = ZK_OP_RECONFIG, .data = zk_bytes_of(RECONFIG_TEXT)};
        body->stat.version = 3;
        return ZOK;
}

/* reconfig sends null for an omitted list (as Java and kazoo) and no chroot, returns the
 * new text and Stat; its errors come back as codes; getConfig ignores the chroot. */
static void reconfig_and_get_config_over_the_wire(void **state)
{
        (void)state;
        struct reconfig_fake st = {0};
        struct rule_fake rf = {.answer = reconfig_answer, .arg = &st};
        struct synod *h = rule_fake_open(&rf, "/app");
        const char *join = "server.4=10.0.0.4:2888:3888:participant;10.0.0.4:2181";
        char *text = NULL;
        int32_t len = 0;
        struct synod_stat stat = {0};
        assert_int_equal(synod_reconfig(h, join, NULL, NULL, 0x100000002, &text, &len, &stat),
                         SYNOD_OK);
        assert_string_equal(text, RECONFIG_TEXT);
        assert_int_equal(len, (int32_t)strlen(text));
        assert_int_equal(stat.version, 3);
        free(text);
        assert_int_equal(synod_reconfig(h, NULL, "4", NULL, -1, &text, &len, NULL),
                         SYNOD_ERECONFIGDISABLED);
        assert_null(text);
        assert_int_equal(len, -1);
        assert_int_equal(synod_get_config(h, &text, NULL, NULL, NULL, NULL), SYNOD_OK);
        assert_string_equal(text, "version=1");
        free(text);
        rule_fake_close(&rf, h);
        assert_int_equal(st.reconfigs, 2);
        assert_string_equal(st.joining, join);
        assert_int_equal(st.leaving_len, -1);
        assert_int_equal(st.new_members_len, -1);
        assert_int_equal(st.cur_config_id, 0x100000002);
        assert_string_equal(st.get_path, "/zookeeper/config"); /* not /app/zookeeper/config */
        free(st.joining);
        free(st.get_path);
}

static const struct CMUnitTest wire_tests[] = {
    cmocka_unit_test(request_encodes_with_chroot),
    cmocka_unit_test(request_rejects_bad_input),
    cmocka_unit_test(result_strips_chroot_and_sorts),
    cmocka_unit_test(result_multi_reports_first_failure),
    cmocka_unit_test(result_null_strings_become_empty),
    cmocka_unit_test(watch_table_follows_zookeeper_rules),
    cmocka_unit_test(set_watches_carries_every_watch),
    cmocka_unit_test(xid_out_of_order_drops_connection_and_reattaches),
    cmocka_unit_test(pings_at_half_read_timeout_and_drops_silent_server),
    cmocka_unit_test(expired_reattach_makes_the_handle_final),
    cmocka_unit_test(hostile_replies_drop_the_connection_not_the_process),
    cmocka_unit_test(calls_after_close_path_fail_cleanly),
    cmocka_unit_test(service_register_reports_failure_when_every_round_fails),
    cmocka_unit_test(request_encodes_reconfig),
    cmocka_unit_test(reconfig_and_get_config_over_the_wire),
};

void test_wire_register(const struct CMUnitTest **tests, size_t *n)
{
        *tests = wire_tests;
        *n = sizeof(wire_tests) / sizeof(wire_tests[0]);
}
