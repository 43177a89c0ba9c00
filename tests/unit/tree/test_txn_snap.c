/*
 * Unit tests of the txn codec and of snapshots: round trips, truncation at every
 * offset, hostile bytes, digests, and determinism (two trees fed the same txns
 * have equal digests and byte-identical snapshots; so does a tree restored from a
 * snapshot that then applies the same txns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/crc32c.h"
#include "tree/tree_int.h"
#include "tree_test_util.h"

#define F struct fx *f = *state

static const struct zk_id IDS[] = {
    {.scheme = {(const uint8_t *)"ip", 2}, .id = {(const uint8_t *)"127.0.0.1", 9}},
    {.scheme = {(const uint8_t *)"digest", 6}, .id = {(const uint8_t *)"bob:h", 5}},
};

static uint8_t *encode(const struct txn *t, size_t *len)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(txn_encode(t, &w), SYN_OK);
        return syn_writer_take(&w, len);
}

static void assert_bytes_eq(struct zk_bytes a, struct zk_bytes b)
{
        assert_int_equal(a.len, b.len);
        if (a.len > 0)
                assert_memory_equal(a.data, b.data, (size_t)a.len);
}

static void assert_op_eq(const struct txn_op *a, const struct txn_op *b)
{
        assert_int_equal(a->zk_op, b->zk_op);
        assert_bytes_eq(a->path, b->path);
        assert_int_equal(a->acl_count, b->acl_count);
        for (int32_t i = 0; i < a->acl_count; i++) {
                assert_int_equal(a->acl[i].perms, b->acl[i].perms);
                assert_bytes_eq(a->acl[i].id.scheme, b->acl[i].id.scheme);
                assert_bytes_eq(a->acl[i].id.id, b->acl[i].id.id);
        }
}

/* A sample of every txn type. */
static struct txn_op SAMPLE_OPS[4];
static struct txn sample(int kind)
{
        SAMPLE_OPS[0] = fx_op_create("/a/b-", "data", ZK_CREATE_EPHEMERAL_SEQUENTIAL);
        SAMPLE_OPS[0].zk_op = ZK_OP_CREATE2;
        SAMPLE_OPS[1] = fx_op_delete("/a/x", 3);
        SAMPLE_OPS[2] = fx_op_set("/a", NULL, -1);
        SAMPLE_OPS[3] = fx_op_check("/a", 7);
        struct txn t = {.session_id = 0x100000000001ull,
                        .cxid = 42,
                        .time_ms = 1700000000123,
                        .auth = {.ids = IDS, .id_count = 2, .super = true}};
        switch (kind) {
        case 0:
                t.type = TXN_OP;
                t.op = SAMPLE_OPS[0];
                t.op.ttl_ms = 99;
                t.op.zk_op = ZK_OP_CREATE_TTL;
                break;
        case 1:
                t.type = TXN_MULTI;
                t.ops = SAMPLE_OPS;
                t.op_count = 4;
                break;
        case 2:
                t.type = TXN_CREATE_SESSION;
                t.session.id = 77;
                t.session.timeout_ms = 4000;
                for (int i = 0; i < ZK_PASSWD_BYTES; i++)
                        t.session.passwd[i] = (uint8_t)(i * 13);
                break;
        case 3:
                t.type = TXN_CLOSE_SESSION;
                t.session.id = 78;
                break;
        case 4:
                t.type = TXN_REAP;
                t.reap.path = fx_bytes("/c");
                t.reap.reason = TXN_REAP_TTL;
                break;
        case 5:
                t.type = TXN_OP;
                t.op = (struct txn_op){.zk_op = ZK_OP_SET_ACL,
                                       .path = fx_bytes("/a"),
                                       .acl = OPEN_ACL,
                                       .acl_count = 1,
                                       .version = 2};
                break;
        default:
                t.type = TXN_NOOP;
                t.auth = (struct txn_auth){0};
                break;
        }
        return t;
}

static void txn_round_trips(void **state)
{
        (void)state;
        for (int k = 0; k <= 6; k++) {
                struct txn t = sample(k);
                size_t len;
                uint8_t *bytes = encode(&t, &len);
                struct txn d;
                assert_int_equal(txn_decode(bytes, len, &d), SYN_OK);
                assert_int_equal(d.type, t.type);
                assert_int_equal(d.session_id, t.session_id);
                assert_int_equal(d.cxid, t.cxid);
                assert_int_equal(d.time_ms, t.time_ms);
                assert_int_equal(d.auth.super, t.auth.super);
                assert_int_equal(d.auth.id_count, t.auth.id_count);
                for (int32_t i = 0; i < t.auth.id_count; i++)
                        assert_bytes_eq(d.auth.ids[i].id, t.auth.ids[i].id);
                if (t.type == TXN_OP) {
                        assert_op_eq(&d.op, &t.op);
                        if (t.op.zk_op == ZK_OP_CREATE_TTL) {
                                assert_int_equal(d.op.ttl_ms, 99);
                                assert_int_equal(d.op.flags, t.op.flags);
                                assert_bytes_eq(d.op.data, t.op.data);
                        } else {
                                assert_int_equal(d.op.version, t.op.version);
                        }
                }
                if (t.type == TXN_MULTI) {
                        assert_int_equal(d.op_count, 4);
                        for (int i = 0; i < 4; i++)
                                assert_op_eq(&d.ops[i], &t.ops[i]);
                        assert_int_equal(d.ops[1].version, 3);
                        assert_int_equal(d.ops[2].data.len, -1); /* null survives */
                }
                if (t.type == TXN_CREATE_SESSION) {
                        assert_int_equal(d.session.id, 77);
                        assert_int_equal(d.session.timeout_ms, 4000);
                        assert_memory_equal(d.session.passwd, t.session.passwd, ZK_PASSWD_BYTES);
                }
                if (t.type == TXN_REAP) {
                        assert_int_equal(d.reap.reason, TXN_REAP_TTL);
                        assert_bytes_eq(d.reap.path, t.reap.path);
                }
                /* re-encoding the decoded txn gives the same bytes */
                size_t len2;
                uint8_t *again = encode(&d, &len2);
                assert_int_equal(len2, len);
                assert_memory_equal(again, bytes, len);
                free(again);
                txn_release(&d);
                free(bytes);
        }
}

/* A forwarding leader reads the key and restamps the time without decoding. */
static void txn_key_peek_and_time_stamp(void **state)
{
        (void)state;
        struct txn t = sample(0);
        t.session_id = 0x0102030405060708ull;
        t.cxid = -77;
        t.time_ms = 1000;
        size_t len;
        uint8_t *bytes = encode(&t, &len);
        uint64_t sid = 0;
        int32_t cxid = 0;
        assert_int_equal(txn_peek_key(bytes, len, &sid, &cxid), SYN_OK);
        assert_int_equal(sid, t.session_id);
        assert_int_equal(cxid, -77);
        assert_int_equal(txn_stamp_time(bytes, len, 1700000000123ll), SYN_OK);
        struct txn d;
        assert_int_equal(txn_decode(bytes, len, &d), SYN_OK);
        assert_int_equal(d.time_ms, 1700000000123ll);
        assert_int_equal(d.session_id, t.session_id);
        assert_int_equal(d.cxid, -77);
        txn_release(&d);
        assert_int_equal(txn_peek_key(bytes, 21, &sid, &cxid), SYN_ECORRUPT);
        assert_int_equal(txn_stamp_time(bytes, 21, 5), SYN_ECORRUPT);
        bytes[0] = 99;
        assert_int_equal(txn_peek_key(bytes, len, &sid, &cxid), SYN_ECORRUPT);
        free(bytes);
}

static void txn_truncation_and_trailing_bytes(void **state)
{
        (void)state;
        for (int k = 0; k <= 6; k++) {
                struct txn t = sample(k);
                size_t len;
                uint8_t *bytes = encode(&t, &len);
                for (size_t cut = 0; cut < len; cut++) {
                        uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
                        memcpy(copy, bytes, cut);
                        struct txn d;
                        int rc = txn_decode(copy, cut, &d);
                        assert_int_not_equal(rc, SYN_OK);
                        assert_true(rc == SYN_ETRUNC || rc == SYN_ECORRUPT);
                        free(copy);
                }
                uint8_t *longer = malloc(len + 1);
                memcpy(longer, bytes, len);
                longer[len] = 0;
                struct txn d;
                assert_int_equal(txn_decode(longer, len + 1, &d), SYN_ECORRUPT);
                free(longer);
                free(bytes);
        }
}

static void txn_hostile_fields(void **state)
{
        (void)state;
        struct txn t = sample(1);
        size_t len;
        uint8_t *bytes = encode(&t, &len);
        struct txn d;
        bytes[0] = 2; /* version */
        assert_int_equal(txn_decode(bytes, len, &d), SYN_ECORRUPT);
        bytes[0] = 1;
        bytes[1] = 9; /* type */
        assert_int_equal(txn_decode(bytes, len, &d), SYN_ECORRUPT);
        bytes[1] = TXN_MULTI;
        /* id_count at offset 22: claim more ids than TXN_AUTH_IDS_MAX */
        syn_put_be32(bytes + 22, TXN_AUTH_IDS_MAX + 1);
        assert_int_equal(txn_decode(bytes, len, &d), SYN_ECORRUPT);
        syn_put_be32(bytes + 22, 60); /* within the limit but more than the bytes hold */
        assert_int_not_equal(txn_decode(bytes, len, &d), SYN_OK);
        free(bytes);
        /* set_acl inside a multi, a read op, an over-long path: refused by the encoder */
        struct txn_op sa = {
            .zk_op = ZK_OP_SET_ACL, .path = fx_bytes("/a"), .acl = OPEN_ACL, .acl_count = 1};
        struct txn m = {.type = TXN_MULTI, .ops = &sa, .op_count = 1};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(txn_encode(&m, &w), SYN_EINVAL);
        syn_writer_reset(&w);
        struct txn r = {.type = TXN_OP, .op = {.zk_op = ZK_OP_GET_DATA, .path = fx_bytes("/a")}};
        assert_int_equal(txn_encode(&r, &w), SYN_EINVAL);
        syn_writer_reset(&w);
        struct txn many = {.type = TXN_OP,
                           .op = fx_op_check("/a", 1),
                           .auth = {.ids = IDS, .id_count = TXN_AUTH_IDS_MAX + 1}};
        assert_int_equal(txn_encode(&many, &w), SYN_EINVAL);
        syn_writer_close(&w);
}

/* Every single-byte change of every sample: decode never crashes, and a success
 * decodes to something the encoder accepts again. */
static void txn_byte_flips_never_crash(void **state)
{
        (void)state;
        for (int k = 0; k <= 6; k++) {
                struct txn t = sample(k);
                size_t len;
                uint8_t *bytes = encode(&t, &len);
                for (size_t i = 0; i < len; i++) {
                        for (int v = 0; v < 256; v += 51) {
                                uint8_t *copy = malloc(len);
                                memcpy(copy, bytes, len);
                                copy[i] = (uint8_t)(copy[i] ^ (v | 1));
                                struct txn d;
                                if (txn_decode(copy, len, &d) == SYN_OK) {
                                        struct syn_writer w;
                                        syn_writer_init(&w, 0);
                                        assert_int_equal(txn_encode(&d, &w), SYN_OK);
                                        syn_writer_close(&w);
                                        txn_release(&d);
                                }
                                free(copy);
                        }
                }
                free(bytes);
        }
}

/* ---- snapshots ---- */

/* A tree with a bit of everything. */
static void populate(struct fx *f)
{
        static const struct zk_acl custom[] = {{.perms = 1,
                                                .id = {.scheme = {(const uint8_t *)"ip", 2},
                                                       .id = {(const uint8_t *)"10.0.0.0/8", 10}}},
                                               {.perms = 31,
                                                .id = {.scheme = {(const uint8_t *)"digest", 6},
                                                       .id = {(const uint8_t *)"bob:h", 5}}}};
        assert_int_equal(fx_new_session(f, 0x1001), ZOK);
        assert_int_equal(fx_new_session(f, 0x1002), ZOK);
        assert_int_equal(fx_create(f, "/app", "cfg", 0), ZOK);
        struct txn_op op = fx_op_create("/app/secure", "s", 0);
        op.acl = custom;
        op.acl_count = 2;
        assert_int_equal(fx_op(f, op), ZOK);
        for (int i = 0; i < 20; i++)
                assert_int_equal(
                    fx_create(f, "/app/n-", i % 3 ? "x" : NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL),
                    ZOK);
        assert_int_equal(fx_delete(f, "/app/n-0000000005", -1), ZOK);
        assert_int_equal(fx_set(f, "/app", "cfg2", -1), ZOK);
        f->session = 0x1001;
        assert_int_equal(fx_create(f, "/app/e1", "", ZK_CREATE_EPHEMERAL), ZOK);
        f->session = 0x1002;
        assert_int_equal(fx_create(f, "/app/e2", "yy", ZK_CREATE_EPHEMERAL), ZOK);
        f->session = 0;
        op = fx_op_create("/box", NULL, ZK_CREATE_CONTAINER);
        op.zk_op = ZK_OP_CREATE_CONTAINER;
        assert_int_equal(fx_op(f, op), ZOK);
        assert_int_equal(fx_create(f, "/box/k", NULL, 0), ZOK);
        op = fx_op_create("/ttl", NULL, ZK_CREATE_PERSISTENT_WITH_TTL);
        op.zk_op = ZK_OP_CREATE_TTL;
        op.ttl_ms = 1000;
        assert_int_equal(fx_op(f, op), ZOK);
        /* an ACL list that is later unused must not linger */
        struct txn_op tmp = fx_op_create("/tmp", NULL, 0);
        struct zk_acl ro = {.perms = 1, .id = OPEN_ACL[0].id};
        tmp.acl = &ro;
        assert_int_equal(fx_op(f, tmp), ZOK);
        assert_int_equal(fx_delete(f, "/tmp", -1), ZOK);
}

static uint8_t *snap(const struct tree *t, size_t *len)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(tree_snap_write(t, &w), SYN_OK);
        return syn_writer_take(&w, len);
}

static void snapshot_round_trip(void **state)
{
        F;
        populate(f);
        size_t len;
        uint8_t *bytes = snap(&f->t, &len);
        uint64_t zxid, count;
        assert_int_equal(tree_snap_peek(bytes, len, &zxid, &count), SYN_OK);
        assert_int_equal(zxid, f->zxid);
        assert_int_equal(count, tree_node_count(&f->t));
        struct tree r;
        assert_int_equal(tree_snap_read(bytes, len, &f->t.opt, &r), SYN_OK);
        assert_true(tree_digest(&r) == tree_digest(&f->t));
        assert_true(tree_digest(&r) == tree_digest_full(&r));
        assert_int_equal(tree_check(&r), SYN_OK);
        assert_int_equal(tree_last_zxid(&r), f->zxid);
        assert_int_equal(tree_node_count(&r), tree_node_count(&f->t));
        assert_int_equal(tree_data_bytes(&r), tree_data_bytes(&f->t));
        assert_int_equal(tree_ephemeral_count(&r), 2);
        assert_int_equal(session_table_count(tree_sessions(&r)), 2);
        assert_int_equal(tree_session(&r, 0x1001)->ephemeral_count, 1);
        const char *paths[] = {"/",       "/app", "/app/secure", "/app/n-0000000019",
                               "/app/e2", "/box", "/ttl",        "/zookeeper/config"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                const struct tree_node *a = tree_lookup(&f->t, paths[i], strlen(paths[i]));
                const struct tree_node *b = tree_lookup(&r, paths[i], strlen(paths[i]));
                assert_non_null(b);
                struct zk_stat sa, sb;
                tree_node_stat(a, &sa);
                tree_node_stat(b, &sb);
                assert_memory_equal(&sa, &sb, sizeof(sa));
                assert_bytes_eq(tree_node_data(a), tree_node_data(b));
                assert_int_equal(tree_node_owner(a), tree_node_owner(b));
        }
        /* children order survives */
        struct zk_bytes na[32], nb[32];
        int32_t ca = tree_children(tree_lookup(&f->t, "/app", 4), na, 32);
        assert_int_equal(tree_children(tree_lookup(&r, "/app", 4), nb, 32), ca);
        for (int32_t i = 0; i < ca; i++)
                assert_bytes_eq(na[i], nb[i]);
        /* writing the restored tree gives the same bytes */
        size_t len2;
        uint8_t *again = snap(&r, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(again, bytes, len);
        free(again);
        tree_close(&r);
        free(bytes);
}

/* Two trees (one restored from a snapshot of the other midway) fed the same txns. */
static void determinism_across_trees_and_restores(void **state)
{
        F;
        populate(f);
        size_t len;
        uint8_t *mid = snap(&f->t, &len);
        struct fx g = {.zxid = f->zxid, .now_ms = f->now_ms};
        assert_int_equal(tree_snap_read(mid, len, &f->t.opt, &g.t), SYN_OK);
        tree_result_init(&g.res);
        tree_events_init(&g.ev);
        free(mid);
        struct fx *both[2] = {f, &g};
        for (int k = 0; k < 2; k++) {
                struct fx *h = both[k];
                assert_int_equal(fx_close_session(h, 0x1001), ZOK);
                assert_int_equal(fx_delete(h, "/box/k", -1), ZOK);
                struct txn reap = {
                    .type = TXN_REAP,
                    .reap = {.path = fx_bytes("/box"), .reason = TXN_REAP_CONTAINER}};
                assert_int_equal(fx_apply(h, &reap), ZOK);
                struct zk_acl ro = {.perms = 1, .id = OPEN_ACL[0].id};
                struct txn_op op = fx_op_create("/ro", "r", 0);
                op.acl = &ro;
                assert_int_equal(fx_op(h, op), ZOK); /* a new ACL list: gets the next id */
                assert_int_equal(fx_create(h, "/app/n-", "z", ZK_CREATE_PERSISTENT_SEQUENTIAL),
                                 ZOK);
        }
        assert_true(tree_digest(&f->t) == tree_digest(&g.t));
        size_t la, lb;
        uint8_t *a = snap(&f->t, &la);
        uint8_t *b = snap(&g.t, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
        /* and the digest notices a difference */
        assert_int_equal(fx_set(&g, "/app", "R", -1), ZOK);
        assert_true(tree_digest(&f->t) != tree_digest(&g.t));
        tree_result_close(&g.res);
        tree_events_close(&g.ev);
        tree_close(&g.t);
}

static void snapshot_truncated_or_flipped_is_refused(void **state)
{
        F;
        populate(f);
        size_t len;
        uint8_t *bytes = snap(&f->t, &len);
        for (size_t cut = 0; cut < len; cut++) {
                uint8_t *copy = malloc(cut ? cut : 1);
                memcpy(copy, bytes, cut);
                struct tree r;
                int rc = tree_snap_read(copy, cut, &f->t.opt, &r);
                assert_true(rc == SYN_ETRUNC || rc == SYN_ECORRUPT);
                free(copy);
        }
        for (size_t i = 0; i < len; i++) {
                bytes[i] ^= 0x20;
                struct tree r;
                assert_int_equal(tree_snap_read(bytes, len, &f->t.opt, &r), SYN_ECORRUPT);
                bytes[i] ^= 0x20;
        }
        free(bytes);
}

/* Hostile bytes with a valid CRC: every byte changed, CRC recomputed. Must never
 * crash or leak (ASan); a success must be a consistent tree that snapshots again. */
static void snapshot_hostile_content_with_valid_crc(void **state)
{
        F;
        populate(f);
        size_t len;
        uint8_t *bytes = snap(&f->t, &len);
        uint8_t *copy = malloc(len);
        int accepted = 0;
        for (size_t i = 0; i + 4 < len; i++) {
                for (int v = 1; v < 256; v += 85) {
                        memcpy(copy, bytes, len);
                        copy[i] = (uint8_t)(copy[i] ^ v);
                        syn_put_be32(copy + len - 4, syn_crc32c(0, copy, len - 4));
                        struct tree r;
                        if (tree_snap_read(copy, len, &f->t.opt, &r) != SYN_OK)
                                continue;
                        accepted++;
                        assert_int_equal(tree_check(&r), SYN_OK);
                        size_t l2;
                        uint8_t *again = snap(&r, &l2);
                        struct tree r2;
                        assert_int_equal(tree_snap_read(again, l2, &f->t.opt, &r2), SYN_OK);
                        assert_true(tree_digest(&r2) == tree_digest(&r));
                        tree_close(&r2);
                        free(again);
                        tree_close(&r);
                }
        }
        assert_true(accepted > 0); /* changes to e.g. data bytes or mtimes are legal */
        free(copy);
        free(bytes);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup_ext, fx_teardown)
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(txn_round_trips),
            cmocka_unit_test(txn_truncation_and_trailing_bytes),
            cmocka_unit_test(txn_key_peek_and_time_stamp),
            cmocka_unit_test(txn_hostile_fields),
            cmocka_unit_test(txn_byte_flips_never_crash),
            T(snapshot_round_trip),
            T(determinism_across_trees_and_restores),
            T(snapshot_truncated_or_flipped_is_refused),
            T(snapshot_hostile_content_with_valid_crc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
