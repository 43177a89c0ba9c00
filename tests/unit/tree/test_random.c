/*
 * Randomised tree workload (seeded, replayable): thousands of random txns of
 * every kind over a small path space, so creates collide, multis fail midway and
 * sessions close with ephemerals. Checked after every txn (by the fixture): the
 * incremental digest equals a full recomputation. At the end: a second tree fed
 * the same txns, and a third restored from a mid-run snapshot, reach the same
 * digest and byte-identical snapshots. SYNOD_SEED=<n> picks another seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/rand.h"
#include "tree/tree_int.h"
#include "tree_test_util.h"

#define STEPS   4000
#define SNAP_AT 1500

static const char *const PATHS[] = {"/a",     "/b",         "/a/x",   "/a/y", "/b/x",
                                    "/a/x/z", "/c",         "/c/q",   "/a/",  "/b/s-",
                                    "/c/",    "/zookeeper", "/a/y/w", "/d",   "/d/e"};
#define NPATHS (sizeof(PATHS) / sizeof(PATHS[0]))
static const uint64_t SESSIONS[] = {0x101, 0x102, 0x103};

static struct txn_op random_op(struct syn_rand *r, bool in_multi)
{
        const char *path = PATHS[syn_rand_below(r, NPATHS)];
        static const char *const data[] = {NULL, "", "v", "value-2"};
        const char *d = data[syn_rand_below(r, 4)];
        int32_t version = (int32_t)syn_rand_below(r, 3) - 1;
        switch (syn_rand_below(r, in_multi ? 5 : 6)) {
        case 0:
        case 1: {
                struct txn_op op = fx_op_create(path, d, (int32_t)syn_rand_below(r, 7));
                uint64_t kind = syn_rand_below(r, 4);
                op.zk_op = kind == 0   ? ZK_OP_CREATE
                           : kind == 1 ? ZK_OP_CREATE2
                           : kind == 2 ? ZK_OP_CREATE_CONTAINER
                                       : ZK_OP_CREATE_TTL;
                op.ttl_ms = (int64_t)syn_rand_below(r, 50);
                return op;
        }
        case 2:
                return fx_op_delete(path, version);
        case 3:
                return fx_op_set(path, d, version);
        case 4:
                return fx_op_check(path, version);
        default: {
                static const struct zk_acl ro = {.perms = ZK_PERM_READ | ZK_PERM_ADMIN,
                                                 .id = {.scheme = {(const uint8_t *)"world", 5},
                                                        .id = {(const uint8_t *)"anyone", 6}}};
                struct txn_op op = {.zk_op = ZK_OP_SET_ACL,
                                    .path = fx_bytes(path),
                                    .acl_count = 1,
                                    .version = version};
                op.acl = syn_rand_below(r, 2) ? &ro : OPEN_ACL;
                return op;
        }
        }
}

/* Builds txn number i of the workload (deterministic in the generator state). */
static struct txn random_txn(struct syn_rand *r, struct txn_op *ops, int32_t max_ops)
{
        struct txn t = {.session_id = syn_rand_below(r, 4) ? SESSIONS[syn_rand_below(r, 3)] : 0};
        uint64_t k = syn_rand_below(r, 20);
        if (k < 12) {
                t.type = TXN_OP;
                t.op = random_op(r, false);
        } else if (k < 16) {
                t.type = TXN_MULTI;
                t.op_count = (int32_t)syn_rand_below(r, (uint64_t)max_ops) + 1;
                for (int32_t i = 0; i < t.op_count; i++)
                        ops[i] = random_op(r, true);
                t.ops = ops;
        } else if (k < 18) {
                t.type = k == 16 ? TXN_CREATE_SESSION : TXN_CLOSE_SESSION;
                t.session.id = SESSIONS[syn_rand_below(r, 3)];
                t.session.timeout_ms = 1000;
                t.session.passwd[0] = (uint8_t)t.session.id;
        } else {
                t.type = TXN_REAP;
                t.reap.path = fx_bytes(PATHS[syn_rand_below(r, NPATHS)]);
                t.reap.reason = syn_rand_below(r, 2) ? TXN_REAP_CONTAINER : TXN_REAP_TTL;
        }
        return t;
}

static uint8_t *snap_bytes(const struct tree *t, size_t *len)
{
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(tree_snap_write(t, &w), SYN_OK);
        return syn_writer_take(&w, len);
}

static void run(struct fx *f, struct fx *g, struct fx *h, uint64_t seed)
{
        struct syn_rand r;
        syn_rand_seed(&r, seed);
        struct txn_op ops[6];
        int outcomes[4] = {0};
        for (int step = 0; step < STEPS; step++) {
                struct txn t = random_txn(&r, ops, 3);
                f->now_ms += (int64_t)syn_rand_below(&r, 20);
                g->now_ms = f->now_ms;
                h->now_ms = f->now_ms;
                int ef = fx_apply(f, &t);
                int eg = fx_apply(g, &t);
                assert_int_equal(ef, eg);
                if (step == SNAP_AT) {
                        size_t len;
                        uint8_t *b = snap_bytes(&f->t, &len);
                        assert_int_equal(tree_snap_read(b, len, &f->t.opt, &h->t), SYN_OK);
                        h->zxid = f->zxid;
                        free(b);
                } else if (step > SNAP_AT) {
                        assert_int_equal(fx_apply(h, &t), ef);
                        assert_true(tree_digest(&h->t) == tree_digest(&f->t));
                }
                if (t.type == TXN_MULTI)
                        outcomes[f->res.failed_index >= 0 ? 1 : 3]++;
                else
                        outcomes[ef == ZOK ? 0 : 2]++;
                /* a multi's result: ZOK header, and failure layout when an op failed */
                if (t.type == TXN_MULTI && f->res.failed_index >= 0) {
                        for (int32_t i = 0; i < t.op_count; i++)
                                assert_int_equal(f->res.ops[i].err == ZOK, i < f->res.failed_index);
                }
        }
        printf("ok %d, failed %d, multi failed %d, multi ok %d; nodes %llu, ephemerals %llu\n",
               outcomes[0], outcomes[2], outcomes[1], outcomes[3],
               (unsigned long long)tree_node_count(&f->t),
               (unsigned long long)tree_ephemeral_count(&f->t));
        /* the workload really exercised successes and failures */
        assert_true(outcomes[0] > STEPS / 10);
        assert_true(outcomes[2] > STEPS / 10);
        assert_true(outcomes[1] > 0);
        assert_true(outcomes[3] > 0);
        size_t la, lb, lc;
        uint8_t *a = snap_bytes(&f->t, &la);
        uint8_t *b = snap_bytes(&g->t, &lb);
        uint8_t *c = snap_bytes(&h->t, &lc);
        assert_int_equal(la, lb);
        assert_int_equal(la, lc);
        assert_memory_equal(a, b, la);
        assert_memory_equal(a, c, la);
        free(a);
        free(b);
        free(c);
}

static void random_workload_is_deterministic(void **state)
{
        (void)state;
        void *sf, *sg, *sh;
        assert_int_equal(fx_setup_ext(&sf), 0);
        assert_int_equal(fx_setup_ext(&sg), 0);
        assert_int_equal(fx_setup_ext(&sh), 0);
        struct fx *h = sh;
        tree_close(&h->t); /* replaced by a snapshot restore mid-run */
        uint64_t seed = 20261124;
        const char *env = getenv("SYNOD_SEED");
        if (env != NULL)
                seed = strtoull(env, NULL, 0);
        printf("seed %llu (replay with SYNOD_SEED=%llu)\n", (unsigned long long)seed,
               (unsigned long long)seed);
        run(sf, sg, sh, seed);
        fx_teardown(&sf);
        fx_teardown(&sg);
        fx_teardown(&sh);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(random_workload_is_deterministic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
