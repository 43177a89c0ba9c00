/*
 * Out-of-memory tests: every allocation inside tree_apply, tree_init and
 * tree_snap_read is made to fail in turn (and every one after it). Each call
 * must then return SYN_ENOMEM, leak nothing (LeakSanitizer), and for tree_apply
 * leave the tree exactly as before the txn (digest, node count, a full digest
 * recomputation) apart from last_zxid; retried with memory, the txn applies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "nomem_alloc.h"
#include "tree/tree_int.h"

static const struct zk_acl OPEN = {
    .perms = 31,
    .id = {.scheme = {(const uint8_t *)"world", 5}, .id = {(const uint8_t *)"anyone", 6}}};
static const struct zk_acl READ_ONLY = {
    .perms = 1,
    .id = {.scheme = {(const uint8_t *)"world", 5}, .id = {(const uint8_t *)"anyone", 6}}};

static struct zk_bytes B(const char *s) {
        return (struct zk_bytes){.data = (const uint8_t *)s, .len = (int32_t)strlen(s)};
}

static struct txn_op
create_op(const char *path, int32_t flags, const struct zk_acl *acl)
{
        return (struct txn_op){.zk_op = ZK_OP_CREATE,
                               .path = B(path),
                               .data = B("data"),
                               .acl = acl,
                               .acl_count = 1,
                               .flags = flags,
                               .ttl_ms = -1};
}

struct world {
        struct tree t;
        struct tree_result res;
        struct tree_events ev;
        uint64_t zxid;
};

static void must_apply(struct world *w, struct txn *txn)
{
        nomem_fail_from(-1);
        assert_int_equal(tree_apply(&w->t, txn, ++w->zxid, &w->res, &w->ev), SYN_OK);
}

static void world_init(struct world *w)
{
        nomem_fail_from(-1);
        assert_int_equal(tree_init(&w->t, &(struct tree_options){.extended_types_enabled = true}),
                         SYN_OK);
        tree_result_init(&w->res);
        tree_events_init(&w->ev);
        w->zxid = 0;
        struct txn s = {.type = TXN_CREATE_SESSION, .session = {.id = 0x42, .timeout_ms = 100}};
        must_apply(w, &s);
        const char *paths[] = {"/a", "/a/b", "/a/c", "/d"};
        for (int i = 0; i < 4; i++) {
                struct txn t = {.type = TXN_OP, .op = create_op(paths[i], 0, &OPEN)};
                must_apply(w, &t);
        }
        struct txn e1 = {.type = TXN_OP,
                         .session_id = 0x42,
                         .op = create_op("/a/e1", ZK_CREATE_EPHEMERAL, &OPEN)};
        must_apply(w, &e1);
        struct txn e2 = {.type = TXN_OP,
                         .session_id = 0x42,
                         .op = create_op("/d/e2", ZK_CREATE_EPHEMERAL, &READ_ONLY)};
        must_apply(w, &e2);
}

static void world_close(struct world *w)
{
        nomem_fail_from(-1);
        tree_result_close(&w->res);
        tree_events_close(&w->ev);
        tree_close(&w->t);
}

/* Fails allocation k, k+1, ... of one apply of txn, for every k, then applies it. */
static void apply_under_pressure(struct txn *txn, int32_t want_err)
{
        struct world w;
        int failures = 0;
        for (long k = 0;; k++) {
                world_init(&w);
                uint64_t digest = tree_digest(&w.t);
                uint64_t nodes = tree_node_count(&w.t);
                nomem_fail_from(k);
                int rc = tree_apply(&w.t, txn, ++w.zxid, &w.res, &w.ev);
                int hit = nomem_failed();
                nomem_fail_from(-1);
                if (!hit) {
                        assert_int_equal(rc, SYN_OK);
                        assert_int_equal(w.res.err, want_err);
                        assert_true(tree_digest(&w.t) == tree_digest_full(&w.t));
                        world_close(&w);
                        break;
                }
                failures++;
                if (rc == SYN_OK) {
                        /* a failed allocation that did not matter (e.g. a result buffer
                         * growth retried later) must still leave a consistent tree */
                        assert_true(tree_digest(&w.t) == tree_digest_full(&w.t));
                } else {
                        assert_int_equal(rc, SYN_ENOMEM);
                        assert_true(tree_digest(&w.t) == digest);
                        assert_true(tree_digest_full(&w.t) == digest);
                        assert_int_equal(tree_node_count(&w.t), nodes);
                        assert_int_equal(tree_check(&w.t), SYN_OK);
                        /* the same txn applies cleanly afterwards */
                        assert_int_equal(tree_apply(&w.t, txn, ++w.zxid, &w.res, &w.ev), SYN_OK);
                        assert_int_equal(w.res.err, want_err);
                        assert_true(tree_digest(&w.t) == tree_digest_full(&w.t));
                }
                world_close(&w);
        }
        assert_true(failures > 0); /* the txn did allocate */
}

static void create_with_a_new_acl(void **state)
{
        (void)state;
        struct txn t = {.type = TXN_OP,
                        .op = create_op("/a/new-", ZK_CREATE_PERSISTENT_SEQUENTIAL, &READ_ONLY)};
        apply_under_pressure(&t, ZOK);
}

static void multi_with_every_op(void **state)
{
        (void)state;
        struct txn_op ops[] = {
            create_op("/m", 0, &OPEN),
            create_op("/m/x", 0, &READ_ONLY),
            {.zk_op = ZK_OP_SET_DATA, .path = B("/a"), .data = B("new data"), .version = -1},
            {.zk_op = ZK_OP_DELETE, .path = B("/a/c"), .version = -1},
            {.zk_op = ZK_OP_CHECK, .path = B("/a"), .version = 1},
        };
        struct txn t = {.type = TXN_MULTI, .ops = ops, .op_count = 5};
        apply_under_pressure(&t, ZOK);
}

static void close_session_with_ephemerals(void **state)
{
        (void)state;
        struct txn t = {.type = TXN_CLOSE_SESSION, .session = {.id = 0x42}};
        apply_under_pressure(&t, ZOK);
}

static void set_acl_and_create_session(void **state)
{
        (void)state;
        struct txn_op op = {.zk_op = ZK_OP_SET_ACL,
                            .path = B("/d"),
                            .acl = &READ_ONLY,
                            .acl_count = 1,
                            .version = -1};
        struct txn t = {.type = TXN_OP, .op = op};
        apply_under_pressure(&t, ZOK);
        struct txn s = {.type = TXN_CREATE_SESSION, .session = {.id = 0x43, .timeout_ms = 100}};
        apply_under_pressure(&s, ZOK);
}

static void init_and_snapshot_read(void **state)
{
        (void)state;
        struct world w;
        world_init(&w);
        struct syn_writer out;
        syn_writer_init(&out, 0);
        assert_int_equal(tree_snap_write(&w.t, &out), SYN_OK);
        uint64_t digest = tree_digest(&w.t);
        world_close(&w);
        int failures = 0;
        for (long k = 0;; k++) {
                struct tree r;
                nomem_fail_from(k);
                int rc = tree_snap_read(out.data, out.len, &w.t.opt, &r);
                int hit = nomem_failed();
                nomem_fail_from(-1);
                if (rc == SYN_OK) {
                        assert_true(tree_digest(&r) == digest);
                        tree_close(&r);
                }
                if (!hit)
                        break;
                failures++;
                assert_true(rc == SYN_OK || rc == SYN_ENOMEM);
        }
        assert_true(failures > 3);
        for (long k = 0;; k++) {
                struct tree t;
                nomem_fail_from(k);
                int rc = tree_init(&t, &(struct tree_options){0});
                int hit = nomem_failed();
                nomem_fail_from(-1);
                if (rc == SYN_OK)
                        tree_close(&t);
                else
                        assert_int_equal(rc, SYN_ENOMEM);
                if (!hit)
                        break;
        }
        syn_writer_close(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(create_with_a_new_acl),
            cmocka_unit_test(multi_with_every_op),
            cmocka_unit_test(close_session_with_ephemerals),
            cmocka_unit_test(set_acl_and_create_session),
            cmocka_unit_test(init_and_snapshot_read),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
