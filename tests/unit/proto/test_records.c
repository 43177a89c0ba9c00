/*
 * Unit tests of the record codecs (src/proto/requests.c, responses.c):
 * round trips of every request and reply layout, byte-exact layouts of the
 * protocol traps against hand-written bytes, truncation at every offset, and
 * rejection of hostile lengths, counts and op mixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/limits.h"
#include "base/rand.h"
#include "proto/frame.h"
#include "proto/jute.h"
#include "proto/zk_records.h"
#include "samples.h"
#include "test_proto.h"

#define SAMPLES_MAX 64

/* Asserts w holds exactly the bytes of want. */
static void assert_writer_bytes(const struct syn_writer *w, const uint8_t *want, size_t n)
{
        assert_false(w->failed);
        assert_int_equal(w->len, n);
        assert_memory_equal(w->data, want, n);
}

/* ---- round trips ---- */

static void every_request_round_trips(void **state)
{
        (void)state;
        struct zk_request samples[SAMPLES_MAX];
        size_t n = sample_requests(samples, SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
                size_t len;
                uint8_t *payload = sample_request_payload(&samples[i], &len);
                struct zk_request got;
                assert_int_equal(zk_request_decode(payload, len, &got), SYN_OK);
                assert_true(zk_request_equal(&samples[i], &got));
                assert_int_equal(got.trailing_bytes, 0);
                /* Encoding what was decoded gives the same bytes back. */
                size_t len2;
                uint8_t *again = sample_request_payload(&got, &len2);
                assert_int_equal(len2, len);
                assert_memory_equal(again, payload, len);
                zk_request_free(&got);
                zk_request_free(&got); /* idempotent */
                free(again);
                free(payload);
        }
}

static bool type_in(int32_t type, const int32_t *types, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (types[i] == type)
                        return true;
        }
        return false;
}

/* The samples cover every client opcode, so the round trip above has reach. */
static void samples_cover_every_client_opcode(void **state)
{
        (void)state;
        static const int32_t ops[] = {1,   2,   3,   4,   5,   6,   7,   8,   9,  11,
                                      12,  13,  14,  15,  16,  17,  18,  19,  21, 22,
                                      100, 101, 102, 103, 104, 105, 106, 107, -11};
        struct zk_request samples[SAMPLES_MAX];
        size_t n = sample_requests(samples, SAMPLES_MAX);
        int32_t seen[SAMPLES_MAX];
        for (size_t i = 0; i < n; i++)
                seen[i] = samples[i].type;
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
                assert_true(type_in(ops[i], seen, n));
}

static void every_response_round_trips(void **state)
{
        (void)state;
        struct zk_response samples[SAMPLES_MAX];
        size_t n = sample_responses(samples, SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
                size_t len;
                uint8_t *body = sample_response_body(&samples[i], &len);
                struct zk_response got;
                assert_int_equal(zk_response_decode(samples[i].type, body, len, &got), SYN_OK);
                assert_true(zk_response_equal(&samples[i], &got));
                size_t len2;
                uint8_t *again = sample_response_body(&got, &len2);
                assert_int_equal(len2, len);
                assert_memory_equal(again, body, len);
                zk_response_free(&got);
                free(again);
                free(body);
        }
}

/* Equality must see a change in any field, or the round trips prove nothing. */
static void equality_detects_changes(void **state)
{
        (void)state;
        struct zk_request samples[SAMPLES_MAX];
        size_t n = sample_requests(samples, SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
                /* Multi headers carry an err field ZooKeeper ignores: checked below. */
                if (samples[i].type == ZK_OP_MULTI || samples[i].type == ZK_OP_MULTI_READ)
                        continue;
                size_t len;
                uint8_t *payload = sample_request_payload(&samples[i], &len);
                /* Flip each byte after the header in turn: the decode must fail or differ. */
                for (size_t k = 8; k < len; k++) {
                        uint8_t *mut = malloc(len);
                        memcpy(mut, payload, len);
                        mut[k] ^= 0x01;
                        struct zk_request got;
                        if (zk_request_decode(mut, len, &got) == SYN_OK) {
                                /* A trailing byte change is ignored; a bool 0<->1 is not. */
                                bool same = zk_request_equal(&samples[i], &got);
                                assert_false(same && got.trailing_bytes == 0);
                        }
                        zk_request_free(&got);
                        free(mut);
                }
                free(payload);
        }
        /* A change inside one multi sub-op is seen. */
        struct zk_request *multi = NULL;
        for (size_t i = 0; i < n; i++) {
                if (samples[i].type == ZK_OP_MULTI && samples[i].multi.count > 2)
                        multi = &samples[i];
        }
        assert_non_null(multi);
        struct zk_request ops[16];
        memcpy(ops, multi->multi.ops, (size_t)multi->multi.count * sizeof ops[0]);
        struct zk_request changed_multi = *multi;
        changed_multi.multi.ops = ops;
        assert_true(zk_request_equal(multi, &changed_multi));
        ops[1].path_ver.version++;
        assert_false(zk_request_equal(multi, &changed_multi));
        /* Responses: a stat field, and a multi result. */
        struct zk_response rs[SAMPLES_MAX];
        size_t nr = sample_responses(rs, SAMPLES_MAX);
        assert_int_equal(rs[1].type, ZK_OP_CREATE2);
        struct zk_response changed = rs[1];
        changed.stat.pzxid++;
        assert_false(zk_response_equal(&rs[1], &changed));
        for (size_t i = 0; i < nr; i++) {
                if (rs[i].type != ZK_OP_MULTI || rs[i].multi.count == 0)
                        continue;
                struct zk_response res[16];
                memcpy(res, rs[i].multi.results, (size_t)rs[i].multi.count * sizeof res[0]);
                changed = rs[i];
                changed.multi.results = res;
                assert_true(zk_response_equal(&rs[i], &changed));
                res[rs[i].multi.count - 1].err--;
                assert_false(zk_response_equal(&rs[i], &changed));
        }
}

/* ---- truncation ---- */

static void truncated_requests_never_decode(void **state)
{
        (void)state;
        struct zk_request samples[SAMPLES_MAX];
        size_t n = sample_requests(samples, SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
                size_t len;
                uint8_t *payload = sample_request_payload(&samples[i], &len);
                for (size_t k = 0; k < len; k++) {
                        /* An exact-size heap copy: ASan flags any read past k. */
                        uint8_t *cut = malloc(k ? k : 1);
                        memcpy(cut, payload, k);
                        struct zk_request got;
                        int rc = zk_request_decode(cut, k, &got);
                        assert_int_equal(rc, SYN_EPROTO);
                        assert_null(got.pool);
                        zk_request_free(&got);
                        free(cut);
                }
                free(payload);
        }
}

static void truncated_responses_never_decode(void **state)
{
        (void)state;
        struct zk_response samples[SAMPLES_MAX];
        size_t n = sample_responses(samples, SAMPLES_MAX);
        for (size_t i = 0; i < n; i++) {
                size_t len;
                uint8_t *body = sample_response_body(&samples[i], &len);
                for (size_t k = 0; k < len; k++) {
                        uint8_t *cut = malloc(k ? k : 1);
                        memcpy(cut, body, k);
                        struct zk_response got;
                        assert_int_equal(zk_response_decode(samples[i].type, cut, k, &got),
                                         SYN_EPROTO);
                        zk_response_free(&got);
                        free(cut);
                }
                free(body);
        }
}

/* ---- byte-exact traps ---- */

static const uint8_t passwd16[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void connect_response_is_37_or_36_bytes(void **state)
{
        (void)state;
        struct zk_connect_response resp = {.protocol_version = 0,
                                           .timeout_ms = 30000,
                                           .session_id = 0x1000022ba4f0000,
                                           .read_only = false,
                                           .has_read_only = true};
        memcpy(resp.passwd, passwd16, 16);
        const uint8_t want[] = {0,    0,    0,    37,                       /* frame length */
                                0,    0,    0,    0,                        /* protocolVersion */
                                0,    0,    0x75, 0x30,                     /* timeOut 30000 */
                                0x01, 0x00, 0x00, 0x22, 0xba, 0x4f, 0,  0,  /* sessionId */
                                0,    0,    0,    16,                       /* passwd length */
                                1,    2,    3,    4,    5,    6,    7,  8,  /* passwd */
                                9,    10,   11,   12,   13,   14,   15, 16, /* */
                                0};                                         /* readOnly */
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_connect_response_write(&w, &resp), SYN_OK);
        assert_writer_bytes(&w, want, sizeof want);
        struct zk_connect_response got;
        assert_int_equal(zk_connect_response_decode(w.data + 4, w.len - 4, &got), SYN_OK);
        assert_true(got.has_read_only);
        assert_true(got.session_id == resp.session_id);
        assert_memory_equal(got.passwd, passwd16, 16);

        /* Without the flag in the request: 36 bytes, nothing after the password. */
        resp.has_read_only = false;
        syn_writer_reset(&w);
        assert_int_equal(zk_connect_response_write(&w, &resp), SYN_OK);
        uint8_t want36[sizeof want - 1];
        memcpy(want36, want, sizeof want36);
        want36[3] = 36;
        assert_writer_bytes(&w, want36, sizeof want36);
        assert_int_equal(zk_connect_response_decode(w.data + 4, w.len - 4, &got), SYN_OK);
        assert_false(got.has_read_only);
        syn_writer_close(&w);
}

static void connect_request_45_bytes_with_read_only(void **state)
{
        (void)state;
        uint8_t in[45] = {0, 0, 0,    0,                   /* protocolVersion */
                          0, 0, 0,    0,    0, 0, 0, 0x2a, /* lastZxidSeen 42 */
                          0, 0, 0x27, 0x10,                /* timeOut 10000 */
                          0, 0, 0,    0,    0, 0, 0, 0,    /* sessionId 0 */
                          0, 0, 0,    16};                 /* passwd: 16 zero bytes */
        in[44] = 1;                                        /* readOnly */
        struct zk_connect_request req;
        assert_int_equal(zk_connect_request_decode(in, 45, &req), SYN_OK);
        assert_int_equal(req.last_zxid_seen, 42);
        assert_int_equal(req.timeout_ms, 10000);
        assert_int_equal(req.passwd.len, 16);
        assert_true(req.has_read_only);
        assert_true(req.read_only);
        /* Old clients omit the byte. */
        assert_int_equal(zk_connect_request_decode(in, 44, &req), SYN_OK);
        assert_false(req.has_read_only);
        /* Any shorter is broken. */
        for (size_t k = 0; k < 44; k++)
                assert_int_equal(zk_connect_request_decode(in, k, &req), SYN_EPROTO);
        /* Re-encoding gives the 45 bytes back. */
        assert_int_equal(zk_connect_request_decode(in, 45, &req), SYN_OK);
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_connect_request_write(&w, &req), SYN_OK);
        assert_int_equal(w.len, 49);
        assert_memory_equal(w.data + 4, in, 45);
        syn_writer_close(&w);
}

static void connect_password_limits(void **state)
{
        (void)state;
        uint8_t in[64] = {0};
        in[27] = 17; /* a 17-byte password */
        struct zk_connect_request req;
        assert_int_equal(zk_connect_request_decode(in, 24 + 4 + 17, &req), SYN_ETOOBIG);
        /* A ConnectResponse must carry exactly 16 password bytes. */
        uint8_t resp[4 + 4 + 8 + 4 + 15] = {0};
        resp[19] = 15;
        struct zk_connect_response got;
        assert_int_equal(zk_connect_response_decode(resp, sizeof resp, &got), SYN_EPROTO);
        uint8_t resp17[4 + 4 + 8 + 4 + 17] = {0};
        resp17[19] = 17;
        assert_int_equal(zk_connect_response_decode(resp17, sizeof resp17, &got), SYN_EPROTO);
}

static void error_reply_is_16_bytes_without_body(void **state)
{
        (void)state;
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_GET_DATA;
        body.data = SAMPLE_BYTES("must not be sent");
        struct zk_reply_header h = {.xid = 5, .zxid = 0x100000003, .err = ZNONODE};
        const uint8_t want[] = {0,    0,    0,    16,              /* length */
                                0,    0,    0,    5,               /* xid */
                                0,    0,    0,    1,   0, 0, 0, 3, /* zxid */
                                0xff, 0xff, 0xff, 0x9b};           /* err -101 */
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_OK);
        assert_writer_bytes(&w, want, sizeof want);
        struct zk_reply_header got;
        size_t off;
        assert_int_equal(zk_reply_header_decode(w.data + 4, w.len - 4, &got, &off), SYN_OK);
        assert_int_equal(got.err, ZNONODE);
        assert_int_equal(off, 16);
        syn_writer_close(&w);
}

static void failed_multi_layout(void **state)
{
        (void)state;
        struct zk_response results[3];
        int32_t errs[3] = {ZOK, ZBADVERSION, ZRUNTIMEINCONSISTENCY};
        for (int i = 0; i < 3; i++) {
                memset(&results[i], 0, sizeof results[i]);
                results[i].type = ZK_OP_ERROR;
                results[i].err = errs[i];
        }
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_MULTI;
        body.multi = (struct zk_multi_response){results, 3};
        struct zk_reply_header h = {.xid = 9, .zxid = 0x10, .err = ZOK};
        const uint8_t want[] = {
            0,    0,    0,    64, /* length: 16 + 3 * 13 + 9 */
            0,    0,    0,    9,    0, 0,    0,    0,    0,
            0,    0,    0x10, 0,    0, 0,    0,                /* header, err 0 */
            0xff, 0xff, 0xff, 0xff, 0, 0,    0,    0,    0,    /* {-1, false, 0} */
            0,    0,    0,    0,                               /* ErrorResponse 0 */
            0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x99, /* {-1, false, -103} */
            0xff, 0xff, 0xff, 0x99,                            /* ErrorResponse -103 */
            0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xfe, /* {-1, false, -2} */
            0xff, 0xff, 0xff, 0xfe,                            /* ErrorResponse -2 */
            0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, /* {-1, true, -1} */
        };
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_OK);
        assert_writer_bytes(&w, want, sizeof want);
        struct zk_response got;
        assert_int_equal(zk_response_decode(ZK_OP_MULTI, w.data + 20, w.len - 20, &got), SYN_OK);
        assert_int_equal(got.multi.count, 3);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(got.multi.results[i].type, ZK_OP_ERROR);
                assert_int_equal(got.multi.results[i].err, errs[i]);
        }
        zk_response_free(&got);
        syn_writer_close(&w);
}

static void notification_header_and_event(void **state)
{
        (void)state;
        struct zk_watcher_event ev = {ZK_EVENT_NODE_DATA_CHANGED, ZK_STATE_SYNC_CONNECTED,
                                      SAMPLE_BYTES("/a")};
        const uint8_t want[] = {0,    0,    0,    30,                           /* length */
                                0xff, 0xff, 0xff, 0xff,                         /* xid -1 */
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* zxid -1 */
                                0,    0,    0,    0,                            /* err 0 */
                                0,    0,    0,    3,                            /* type */
                                0,    0,    0,    3,                            /* state */
                                0,    0,    0,    2,    '/',  'a'};             /* path */
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_notification_write(&w, &ev), SYN_OK);
        assert_writer_bytes(&w, want, sizeof want);
        struct zk_watcher_event got;
        assert_int_equal(zk_watcher_event_decode(w.data + 20, w.len - 20, &got), SYN_OK);
        assert_int_equal(got.type, ev.type);
        assert_true(zk_bytes_equal(got.path, ev.path));
        syn_writer_close(&w);
}

static void add_watch_reply_has_error_response_body(void **state)
{
        (void)state;
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_ADD_WATCH;
        struct zk_reply_header h = {.xid = 3, .zxid = 7, .err = ZOK};
        const uint8_t want[] = {0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 0,
                                0, 0, 0, 7,  0, 0, 0, 0, 0, 0, 0, 0};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_OK);
        assert_writer_bytes(&w, want, sizeof want);
        syn_writer_close(&w);
}

static void stat_is_68_bytes_and_ping_is_bare(void **state)
{
        (void)state;
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_EXISTS;
        body.stat.czxid = 1;
        body.stat.pzxid = 0x0102030405060708;
        struct zk_reply_header h = {.xid = 1, .zxid = 2, .err = ZOK};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_OK);
        assert_int_equal(w.len, 4 + 16 + 68);
        const uint8_t tail[] = {1, 2, 3, 4, 5, 6, 7, 8}; /* pzxid is the last field */
        assert_memory_equal(w.data + w.len - 8, tail, 8);
        /* Ping: request {-2, 11} with no body, reply header alone. */
        syn_writer_reset(&w);
        struct zk_request ping;
        memset(&ping, 0, sizeof ping);
        ping.xid = ZK_XID_PING;
        ping.type = ZK_OP_PING;
        assert_int_equal(zk_request_write(&w, &ping), SYN_OK);
        const uint8_t want_ping[] = {0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11};
        assert_writer_bytes(&w, want_ping, sizeof want_ping);
        syn_writer_close(&w);
}

static void create_request_from_hand_bytes(void **state)
{
        (void)state;
        const uint8_t in[] = {0,    0,   0, 1,  0,   0,   0,   1,        /* xid 1, create */
                              0,    0,   0, 2,  '/', 'a',                /* path */
                              0,    0,   0, 2,  'h', 'i',                /* data */
                              0,    0,   0, 1,                           /* 1 ACL */
                              0,    0,   0, 31,                          /* perms */
                              0,    0,   0, 5,  'w', 'o', 'r', 'l', 'd', /* scheme */
                              0,    0,   0, 6,  'a', 'n', 'y', 'o', 'n',
                              'e',  0,   0, 0,  3, /* flags */
                              0xde, 0xad};         /* trailing */
        struct zk_request r;
        assert_int_equal(zk_request_decode(in, sizeof in, &r), SYN_OK);
        assert_int_equal(r.xid, 1);
        assert_int_equal(r.type, ZK_OP_CREATE);
        assert_true(zk_bytes_equal(r.create.path, SAMPLE_BYTES("/a")));
        assert_true(zk_bytes_equal(r.create.data, SAMPLE_BYTES("hi")));
        assert_int_equal(r.create.acl.count, 1);
        assert_int_equal(r.create.acl.items[0].perms, ZK_PERM_ALL);
        assert_true(zk_bytes_equal(r.create.acl.items[0].id.id, SAMPLE_BYTES("anyone")));
        assert_int_equal(r.create.flags, ZK_CREATE_EPHEMERAL_SEQUENTIAL);
        /* Views are zero-copy into the frame. */
        assert_ptr_equal(r.create.path.data, in + 12);
        assert_int_equal(r.trailing_bytes, 2);
        zk_request_free(&r);
}

/* ---- rejection ---- */

/* Builds {xid 1, type} + body into buf, returns the length. */
static size_t put_header(uint8_t *buf, int32_t type)
{
        syn_put_be32(buf, 1);
        syn_put_be32(buf + 4, (uint32_t)type);
        return 8;
}

static void bad_lengths_rejected(void **state)
{
        (void)state;
        uint8_t buf[64] = {0};
        size_t n = put_header(buf, ZK_OP_GET_DATA);
        struct zk_request r;
        syn_put_be32(buf + n, (uint32_t)-2); /* length below -1 */
        assert_int_equal(zk_request_decode(buf, n + 5, &r), SYN_EPROTO);
        assert_int_equal(r.xid, 1); /* header kept for the error reply */
        assert_int_equal(r.type, ZK_OP_GET_DATA);
        syn_put_be32(buf + n, (uint32_t)INT32_MIN);
        assert_int_equal(zk_request_decode(buf, n + 5, &r), SYN_EPROTO);
        syn_put_be32(buf + n, ZK_PATH_BYTES_MAX + 1); /* over the path limit */
        assert_int_equal(zk_request_decode(buf, sizeof buf, &r), SYN_ETOOBIG);
        syn_put_be32(buf + n, 40); /* more than is left */
        assert_int_equal(zk_request_decode(buf, n + 4 + 39, &r), SYN_EPROTO);
        syn_put_be32(buf + n, (uint32_t)-1); /* null path: decodes, the server validates */
        assert_int_equal(zk_request_decode(buf, n + 5, &r), SYN_OK);
        assert_int_equal(r.path_watch.path.len, -1);
        /* Auth bytes over ZK_AUTH_BYTES_MAX. */
        uint8_t *big = calloc(1, 8 + 4 + 4 + 4 + ZK_AUTH_BYTES_MAX + 1);
        n = put_header(big, ZK_OP_AUTH);
        syn_put_be32(big + n + 4, 0);
        syn_put_be32(big + n + 8, ZK_AUTH_BYTES_MAX + 1);
        assert_int_equal(zk_request_decode(big, 8 + 12 + ZK_AUTH_BYTES_MAX + 1, &r), SYN_ETOOBIG);
        syn_put_be32(big + n + 8, ZK_AUTH_BYTES_MAX);
        assert_int_equal(zk_request_decode(big, 8 + 12 + ZK_AUTH_BYTES_MAX, &r), SYN_OK);
        free(big);
}

static void bad_counts_rejected(void **state)
{
        (void)state;
        uint8_t buf[64] = {0};
        size_t n = put_header(buf, ZK_OP_SET_ACL);
        syn_put_be32(buf + n, 2); /* path "/a" */
        buf[n + 4] = '/';
        buf[n + 5] = 'a';
        size_t at = n + 6;
        struct zk_request r;
        syn_put_be32(buf + at, (uint32_t)-5);
        assert_int_equal(zk_request_decode(buf, sizeof buf, &r), SYN_EPROTO);
        syn_put_be32(buf + at, ZK_ACL_COUNT_MAX + 1);
        assert_int_equal(zk_request_decode(buf, sizeof buf, &r), SYN_ETOOBIG);
        /* A count the bytes left cannot hold fails before allocating anything. */
        syn_put_be32(buf + at, 1000);
        assert_int_equal(zk_request_decode(buf, sizeof buf, &r), SYN_EPROTO);
        assert_null(r.pool);
        /* Null ACL vector is kept apart from an empty one. */
        syn_put_be32(buf + at, (uint32_t)-1);
        assert_int_equal(zk_request_decode(buf, at + 8, &r), SYN_OK);
        assert_int_equal(r.set_acl.acl.count, -1);
        assert_null(r.set_acl.acl.items);
        zk_request_free(&r);
}

/* setWatches with `per_list` empty paths in each of 3 lists. */
static uint8_t *set_watches_frame(int32_t per_list, size_t *len)
{
        *len = 8 + 8 + 3 * (4 + (size_t)per_list * 4);
        uint8_t *buf = calloc(1, *len);
        size_t n = put_header(buf, ZK_OP_SET_WATCHES);
        n += 8;
        for (int l = 0; l < 3; l++) {
                syn_put_be32(buf + n, (uint32_t)per_list);
                n += 4 + (size_t)per_list * 4; /* each path is "" (length 0) */
        }
        return buf;
}

static void set_watches_total_is_bounded(void **state)
{
        (void)state;
        size_t len;
        struct zk_request r;
        int32_t ok_per_list = ZK_SETWATCHES_PATHS_MAX / 3;
        uint8_t *buf = set_watches_frame(ok_per_list, &len);
        assert_int_equal(zk_request_decode(buf, len, &r), SYN_OK);
        assert_int_equal(r.set_watches.child.count, ok_per_list);
        zk_request_free(&r);
        free(buf);
        buf = set_watches_frame(ZK_SETWATCHES_PATHS_MAX / 3 + 1, &len);
        assert_int_equal(zk_request_decode(buf, len, &r), SYN_ETOOBIG);
        free(buf);
}

/* A multi of n delete("") ops, each MultiHeader + path + version. */
static uint8_t *multi_of_deletes(int32_t type, int32_t op, size_t n_ops, size_t *len)
{
        *len = 8 + n_ops * (9 + 4 + 4) + 9;
        uint8_t *buf = calloc(1, *len);
        size_t n = put_header(buf, type);
        for (size_t i = 0; i < n_ops; i++) {
                syn_put_be32(buf + n, (uint32_t)op);
                buf[n + 4] = 0;
                syn_put_be32(buf + n + 5, (uint32_t)-1);
                n += 9 + 8; /* path "" and version 0 (or watch + padding for reads) */
        }
        syn_put_be32(buf + n, (uint32_t)-1);
        buf[n + 4] = 1;
        syn_put_be32(buf + n + 5, (uint32_t)-1);
        return buf;
}

static void multi_ops_bounded_and_kinds_checked(void **state)
{
        (void)state;
        size_t len;
        struct zk_request r;
        uint8_t *buf = multi_of_deletes(ZK_OP_MULTI, ZK_OP_DELETE, ZK_MULTI_OPS_MAX, &len);
        assert_int_equal(zk_request_decode(buf, len, &r), SYN_OK);
        assert_int_equal(r.multi.count, ZK_MULTI_OPS_MAX);
        assert_int_equal(r.multi.ops[ZK_MULTI_OPS_MAX - 1].type, ZK_OP_DELETE);
        zk_request_free(&r);
        free(buf);
        buf = multi_of_deletes(ZK_OP_MULTI, ZK_OP_DELETE, ZK_MULTI_OPS_MAX + 1, &len);
        assert_int_equal(zk_request_decode(buf, len, &r), SYN_ETOOBIG);
        free(buf);
        /* Reads in a multi, writes in a multiRead, nested multis, pings: all refused. */
        const int32_t bad[][2] = {
            {ZK_OP_MULTI, ZK_OP_GET_DATA}, {ZK_OP_MULTI_READ, ZK_OP_DELETE},
            {ZK_OP_MULTI, ZK_OP_MULTI},    {ZK_OP_MULTI_READ, ZK_OP_MULTI_READ},
            {ZK_OP_MULTI, ZK_OP_PING},     {ZK_OP_MULTI, ZK_OP_ERROR}};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                buf = multi_of_deletes(bad[i][0], bad[i][1], 1, &len);
                assert_int_equal(zk_request_decode(buf, len, &r), SYN_EPROTO);
                free(buf);
        }
        /* Without the terminating header a multi is truncated. */
        buf = multi_of_deletes(ZK_OP_MULTI, ZK_OP_CHECK, 2, &len);
        assert_int_equal(zk_request_decode(buf, len, &r), SYN_OK);
        zk_request_free(&r);
        assert_int_equal(zk_request_decode(buf, len - 9, &r), SYN_EPROTO);
        free(buf);
}

/* The largest multi (check ops) and multiRead (getData ops) that fit in a frame, every
 * path null: the smallest ops there are. ZooKeeper runs them (it has only jute.maxbuffer),
 * so they must decode: the op count bound derives from the frame size. */
static uint8_t *multi_filling_frame(int32_t type, int32_t op, size_t *n_ops, size_t *len)
{
        size_t op_bytes = op == ZK_OP_CHECK ? 9 + 4 + 4 : 9 + 4 + 1;
        *n_ops = (ZK_FRAME_BYTES_MAX - 8 - 9) / op_bytes;
        *len = 8 + *n_ops * op_bytes + 9;
        assert_true(*len <= ZK_FRAME_BYTES_MAX);
        uint8_t *buf = calloc(1, *len);
        size_t n = put_header(buf, type);
        for (size_t i = 0; i < *n_ops; i++) {
                syn_put_be32(buf + n, (uint32_t)op);
                syn_put_be32(buf + n + 5, (uint32_t)-1);
                syn_put_be32(buf + n + 9, (uint32_t)-1); /* null path */
                n += op_bytes;                           /* version 0 / watch false */
        }
        syn_put_be32(buf + n, (uint32_t)-1);
        buf[n + 4] = 1;
        syn_put_be32(buf + n + 5, (uint32_t)-1);
        return buf;
}

static void every_multi_that_fits_a_frame_decodes(void **state)
{
        (void)state;
        const int32_t kinds[][2] = {{ZK_OP_MULTI, ZK_OP_CHECK}, {ZK_OP_MULTI_READ, ZK_OP_GET_DATA}};
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                size_t n_ops, len;
                uint8_t *buf = multi_filling_frame(kinds[k][0], kinds[k][1], &n_ops, &len);
                assert_true(n_ops > 16384); /* the old fixed cap */
                assert_true(n_ops <= ZK_MULTI_OPS_MAX);
                struct zk_request r;
                assert_int_equal(zk_request_decode(buf, len, &r), SYN_OK);
                assert_int_equal(r.multi.count, (int32_t)n_ops);
                assert_int_equal(r.multi.ops[n_ops - 1].type, kinds[k][1]);
                assert_int_equal(r.multi.ops[n_ops - 1].path_watch.path.len, -1);
                /* and it encodes back to the same bytes */
                struct syn_writer w;
                syn_writer_init(&w, 0);
                assert_int_equal(zk_request_write(&w, &r), SYN_OK);
                assert_int_equal(w.len, 4 + len);
                assert_memory_equal(w.data + 4, buf, len);
                syn_writer_close(&w);
                zk_request_free(&r);
                free(buf);
        }
}

static void unknown_opcode_is_distinct(void **state)
{
        (void)state;
        const int32_t unknown[] = {10, 23, 99, 108, -10, 20, 0, -1, INT32_MAX, INT32_MIN};
        for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
                uint8_t buf[16] = {0};
                put_header(buf, unknown[i]);
                syn_put_be32(buf, 77);
                struct zk_request r;
                assert_int_equal(zk_request_decode(buf, sizeof buf, &r), SYN_ENOTSUP);
                assert_int_equal(r.xid, 77);
                assert_int_equal(r.type, unknown[i]);
        }
        /* And encoding refuses what decoding does not know. */
        struct zk_request r;
        memset(&r, 0, sizeof r);
        r.type = 99;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        syn_write_u8(&w, 0xaa);
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        assert_int_equal(w.len, 1); /* rolled back */
        syn_writer_close(&w);
}

static void response_decode_rejects_bad_input(void **state)
{
        (void)state;
        struct zk_response got;
        uint8_t b[16] = {0};
        assert_int_equal(zk_response_decode(999, b, sizeof b, &got), SYN_EINVAL);
        /* A multi result type Java cannot parse. */
        syn_put_be32(b, ZK_OP_SYNC);
        assert_int_equal(zk_response_decode(ZK_OP_MULTI, b, sizeof b, &got), SYN_EPROTO);
        /* A children count that the bytes left cannot hold. */
        syn_put_be32(b, 1000000);
        assert_int_equal(zk_response_decode(ZK_OP_GET_CHILDREN, b, sizeof b, &got), SYN_EPROTO);
        assert_null(got.pool);
        /* Encoding a body with items missing is refused and rolled back. */
        struct zk_response bad;
        memset(&bad, 0, sizeof bad);
        bad.type = ZK_OP_GET_CHILDREN;
        bad.names.count = 2;
        struct zk_reply_header h = {1, 1, ZOK};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &bad), SYN_EINVAL);
        assert_int_equal(w.len, 0);
        bad.type = 999;
        bad.names.count = 0;
        assert_int_equal(zk_reply_write(&w, &h, &bad), SYN_EINVAL);
        assert_int_equal(w.len, 0);
        syn_writer_close(&w);
}

static void oversized_reply_is_rolled_back(void **state)
{
        (void)state;
        size_t n = ZK_REPLY_BYTES_MAX;
        uint8_t *data = calloc(1, n);
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_GET_DATA;
        body.data = (struct zk_bytes){data, (int32_t)n};
        struct zk_reply_header h = {1, 1, ZOK};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_ETOOBIG);
        assert_int_equal(w.len, 0);
        body.data.len = (int32_t)(n - 16 - 4 - 68);
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_OK);
        assert_int_equal(w.len, 4 + n);
        syn_writer_close(&w);
        free(data);
}

/* Random mutations of valid requests: decode never crashes, and whatever decodes
 * re-encodes to something that decodes to the same request. */
static void mutated_requests_decode_or_fail_cleanly(void **state)
{
        (void)state;
        struct zk_request samples[SAMPLES_MAX];
        size_t n = sample_requests(samples, SAMPLES_MAX);
        struct syn_rand rng;
        syn_rand_seed(&rng, 0x5eed);
        size_t decoded = 0;
        for (int iter = 0; iter < 20000; iter++) {
                size_t len;
                uint8_t *p = sample_request_payload(&samples[syn_rand_below(&rng, n)], &len);
                int flips = 1 + (int)syn_rand_below(&rng, 3);
                for (int f = 0; f < flips && len > 0; f++)
                        p[syn_rand_below(&rng, len)] = (uint8_t)syn_rand_next(&rng);
                size_t cut = len - (size_t)syn_rand_below(&rng, 2);
                struct zk_request got;
                int rc = zk_request_decode(p, cut, &got);
                assert_true(rc == SYN_OK || rc == SYN_EPROTO || rc == SYN_ETOOBIG ||
                            rc == SYN_ENOTSUP);
                if (rc == SYN_OK) {
                        decoded++;
                        size_t len2;
                        uint8_t *again = sample_request_payload(&got, &len2);
                        struct zk_request back;
                        assert_int_equal(zk_request_decode(again, len2, &back), SYN_OK);
                        assert_true(zk_request_equal(&got, &back));
                        zk_request_free(&back);
                        free(again);
                }
                zk_request_free(&got);
                free(p);
        }
        assert_true(decoded > 1000); /* the mutations did not just break everything */
}

/* Encoders refuse records whose counts disagree with their items, sub-ops that do
 * not belong, and report a full writer; nothing half-written is left behind. */
static void encoders_refuse_inconsistent_records(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        struct zk_request r;
        memset(&r, 0, sizeof r);
        r.type = ZK_OP_SET_ACL;
        r.set_acl.acl.count = 3; /* items missing */
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        memset(&r, 0, sizeof r);
        r.type = ZK_OP_CREATE;
        r.create.acl.count = -2;
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        memset(&r, 0, sizeof r);
        r.type = ZK_OP_SET_WATCHES2;
        r.set_watches.persistent_recursive.count = 1;
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        struct zk_request sub;
        memset(&sub, 0, sizeof sub);
        sub.type = ZK_OP_GET_DATA; /* a read inside a write multi */
        memset(&r, 0, sizeof r);
        r.type = ZK_OP_MULTI;
        r.multi = (struct zk_multi_request){&sub, 1};
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        r.multi = (struct zk_multi_request){NULL, 1};
        assert_int_equal(zk_request_write(&w, &r), SYN_EINVAL);
        struct zk_connect_request cr;
        memset(&cr, 0, sizeof cr);
        cr.passwd = SAMPLE_BYTES("seventeen bytes!!");
        assert_int_equal(zk_connect_request_write(&w, &cr), SYN_EINVAL);
        assert_int_equal(w.len, 0);

        struct zk_response res;
        memset(&res, 0, sizeof res);
        res.type = ZK_OP_SYNC; /* not a multi result type */
        struct zk_response body;
        memset(&body, 0, sizeof body);
        body.type = ZK_OP_MULTI;
        body.multi = (struct zk_multi_response){&res, 1};
        struct zk_reply_header h = {1, 1, ZOK};
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_EINVAL);
        body.type = ZK_OP_GET_ACL;
        body.acl.count = 1;
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_EINVAL);
        body.type = ZK_OP_WHO_AM_I;
        body.infos.count = 1;
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_EINVAL);
        assert_int_equal(w.len, 0);
        syn_writer_close(&w);

        /* A writer at its cap: ENOMEM from every frame writer. */
        syn_writer_init(&w, 12);
        body.type = ZK_OP_EXISTS;
        assert_int_equal(zk_reply_write(&w, &h, &body), SYN_ENOMEM);
        syn_writer_close(&w);
        syn_writer_init(&w, 12);
        struct zk_watcher_event ev = {1, 3, SAMPLE_BYTES("/a")};
        assert_int_equal(zk_notification_write(&w, &ev), SYN_ENOMEM);
        syn_writer_close(&w);
        syn_writer_init(&w, 12);
        struct zk_connect_response resp;
        memset(&resp, 0, sizeof resp);
        assert_int_equal(zk_connect_response_write(&w, &resp), SYN_ENOMEM);
        syn_writer_close(&w);
}

/* A multi reply with more results than ZK_MULTI_OPS_MAX is refused. */
static void multi_reply_results_bounded(void **state)
{
        (void)state;
        size_t n_ok = ZK_MULTI_OPS_MAX;
        size_t len = (n_ok + 1) * 9 + 9;
        uint8_t *b = calloc(1, len);
        for (size_t i = 0; i <= n_ok; i++)
                syn_put_be32(b + i * 9, ZK_OP_DELETE); /* {2, false, 0}, no body */
        size_t end = (n_ok + 1) * 9;
        syn_put_be32(b + end, (uint32_t)-1);
        b[end + 4] = 1;
        struct zk_response got;
        assert_int_equal(zk_response_decode(ZK_OP_MULTI, b, len, &got), SYN_ETOOBIG);
        /* One fewer is fine: move the terminator up one slot. */
        memcpy(b + end - 9, b + end, 9);
        assert_int_equal(zk_response_decode(ZK_OP_MULTI, b, len - 9, &got), SYN_OK);
        assert_int_equal(got.multi.count, ZK_MULTI_OPS_MAX);
        zk_response_free(&got);
        free(b);
}

int run_record_tests(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(every_request_round_trips),
            cmocka_unit_test(samples_cover_every_client_opcode),
            cmocka_unit_test(every_response_round_trips),
            cmocka_unit_test(equality_detects_changes),
            cmocka_unit_test(truncated_requests_never_decode),
            cmocka_unit_test(truncated_responses_never_decode),
            cmocka_unit_test(connect_response_is_37_or_36_bytes),
            cmocka_unit_test(connect_request_45_bytes_with_read_only),
            cmocka_unit_test(connect_password_limits),
            cmocka_unit_test(error_reply_is_16_bytes_without_body),
            cmocka_unit_test(failed_multi_layout),
            cmocka_unit_test(notification_header_and_event),
            cmocka_unit_test(add_watch_reply_has_error_response_body),
            cmocka_unit_test(stat_is_68_bytes_and_ping_is_bare),
            cmocka_unit_test(create_request_from_hand_bytes),
            cmocka_unit_test(bad_lengths_rejected),
            cmocka_unit_test(bad_counts_rejected),
            cmocka_unit_test(set_watches_total_is_bounded),
            cmocka_unit_test(multi_ops_bounded_and_kinds_checked),
            cmocka_unit_test(unknown_opcode_is_distinct),
            cmocka_unit_test(response_decode_rejects_bad_input),
            cmocka_unit_test(oversized_reply_is_rolled_back),
            cmocka_unit_test(mutated_requests_decode_or_fail_cleanly),
            cmocka_unit_test(encoders_refuse_inconsistent_records),
            cmocka_unit_test(multi_reply_results_bounded),
            cmocka_unit_test(every_multi_that_fits_a_frame_decodes),
        };
        return cmocka_run_group_tests_name("proto records", tests, NULL, NULL);
}
