/*
 * Unit tests of tree_apply and the tree reads: create modes and check order,
 * sequential naming, Stat values (ZooKeeper 3.8's, see docs/protocol-notes.md, "Stat"), delete,
 * setData, setACL, check, multi rollback, sessions and ephemerals, containers and
 * TTL nodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tree/tree_int.h"
#include "tree_test_util.h"

#define F struct fx *f = *state

static void expect_event(struct fx *f, int32_t i, int32_t type, const char *path)
{
        assert_true(i < f->ev.count);
        assert_int_equal(f->ev.items[i].type, type);
        assert_int_equal(f->ev.items[i].path.len, (int32_t)strlen(path));
        assert_memory_equal(f->ev.items[i].path.data, path, strlen(path));
        assert_int_equal(f->ev.items[i].path.data[strlen(path)], '\0');
}

static void expect_path(struct zk_bytes b, const char *s)
{
        assert_int_equal(b.len, (int32_t)strlen(s));
        assert_memory_equal(b.data, s, strlen(s));
}

static void init_has_system_nodes(void **state)
{
        F;
        assert_int_equal(tree_node_count(&f->t), 4);
        assert_true(fx_exists(f, "/"));
        assert_true(fx_exists(f, "/zookeeper"));
        assert_true(fx_exists(f, "/zookeeper/quota"));
        assert_true(fx_exists(f, "/zookeeper/config"));
        assert_false(fx_exists(f, "/zookeeper/"));
        assert_false(fx_exists(f, "//zookeeper"));
        struct zk_stat st = fx_stat(f, "/");
        assert_int_equal(st.czxid, 0);
        assert_int_equal(st.mzxid, 0);
        assert_int_equal(st.ctime, 0);
        assert_int_equal(st.num_children, 1);
        const struct tree_node *root = tree_lookup(&f->t, "/", 1);
        struct zk_bytes names[4];
        assert_int_equal(tree_children(root, names, 4), 1);
        expect_path(names[0], "zookeeper");
        assert_int_equal(tree_count_descendants(root), 3);
}

static void create_sets_stat_and_fires_events(void **state)
{
        F;
        f->now_ms = 1234;
        assert_int_equal(fx_create(f, "/a", "hello", ZK_CREATE_PERSISTENT), ZOK);
        assert_int_equal(f->res.op_count, 1);
        expect_path(f->res.ops[0].path, "/a");
        struct zk_stat st = fx_stat(f, "/a");
        assert_int_equal(st.czxid, 1);
        assert_int_equal(st.mzxid, 1);
        assert_int_equal(st.pzxid, 1);
        assert_int_equal(st.ctime, 1234);
        assert_int_equal(st.mtime, 1234);
        assert_int_equal(st.version, 0);
        assert_int_equal(st.cversion, 0);
        assert_int_equal(st.aversion, 0);
        assert_int_equal(st.ephemeral_owner, 0);
        assert_int_equal(st.data_length, 5);
        assert_int_equal(st.num_children, 0);
        assert_memory_equal(&f->res.ops[0].stat, &st, sizeof(st));
        assert_int_equal(f->ev.count, 2);
        expect_event(f, 0, ZK_EVENT_NODE_CREATED, "/a");
        expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
        struct zk_stat root = fx_stat(f, "/");
        assert_int_equal(root.pzxid, 1);
        assert_int_equal(root.num_children, 2);
        struct zk_bytes d = tree_node_data(tree_lookup(&f->t, "/a", 2));
        expect_path(d, "hello");
        /* null data stays null; empty stays empty */
        assert_int_equal(fx_create(f, "/n", NULL, 0), ZOK);
        assert_int_equal(tree_node_data(tree_lookup(&f->t, "/n", 2)).len, -1);
        assert_int_equal(fx_stat(f, "/n").data_length, 0);
        assert_int_equal(fx_create(f, "/e", "", 0), ZOK);
        assert_int_equal(tree_node_data(tree_lookup(&f->t, "/e", 2)).len, 0);
        assert_int_equal(tree_node_count(&f->t), 7);
}

/* docs/protocol-notes.md, "Stat": 4 creates + 1 delete -> cversion 5; next suffix 4. */
static void sequential_numbering_and_cversion(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/s", NULL, 0), ZOK);
        char want[64];
        for (int i = 0; i < 4; i++) {
                assert_int_equal(fx_create(f, "/s/lock-", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL),
                                 ZOK);
                snprintf(want, sizeof(want), "/s/lock-%010d", i);
                expect_path(f->res.ops[0].path, want);
                assert_true(fx_exists(f, want));
        }
        assert_int_equal(fx_delete(f, "/s/lock-0000000001", -1), ZOK);
        struct zk_stat st = fx_stat(f, "/s");
        assert_int_equal(st.cversion, 5);
        assert_int_equal(st.num_children, 3);
        assert_int_equal(st.pzxid, (int64_t)f->zxid);
        assert_int_equal(fx_create(f, "/s/lock-", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/s/lock-0000000004");
        /* any create mode counts; a failed create does not */
        assert_int_equal(fx_create(f, "/s/plain", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/s/plain", NULL, 0), ZNODEEXISTS);
        assert_int_equal(fx_create(f, "/s/", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/s/0000000006");
        /* a trailing slash is only legal for sequential creates */
        assert_int_equal(fx_create(f, "/s/", NULL, 0), ZBADARGUMENTS);
        /* root children: /zookeeper was not counted, so the root starts at 0 */
        assert_int_equal(fx_create(f, "/", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/0000000001"); /* "/s" was create #0 */
}

static void sequential_counter_wraps_negative(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/w", NULL, 0), ZOK);
        /* Reaching 2^31 creates takes too long: set the stored counter directly. */
        struct tree_node *w = (struct tree_node *)tree_lookup(&f->t, "/w", 2);
        tree_digest_remove(&f->t, w);
        w->child_creates = INT32_MAX;
        tree_digest_add(&f->t, w);
        assert_int_equal(fx_create(f, "/w/s", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/w/s2147483647");
        assert_int_equal(fx_create(f, "/w/s", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/w/s-2147483648");
        assert_int_equal(fx_create(f, "/w/s", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/w/s-2147483647");
        tree_digest_remove(&f->t, w);
        w->child_creates = -5;
        tree_digest_add(&f->t, w);
        assert_int_equal(fx_create(f, "/w/s", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/w/s-000000005"); /* Java's %010d pads after the sign */
}

static void create_check_order(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/p", NULL, 0), ZOK);
        /* flags first */
        assert_int_equal(fx_create(f, "bad", NULL, 9), ZBADARGUMENTS);
        assert_int_equal(fx_create(f, "/p/x", NULL, -1), ZBADARGUMENTS);
        /* TTL flags without extended types: unimplemented, before the path check */
        assert_int_equal(fx_create(f, "bad", NULL, ZK_CREATE_PERSISTENT_WITH_TTL), ZUNIMPLEMENTED);
        /* path syntax before ACL */
        struct txn_op op = fx_op_create("/p/a/", NULL, 0);
        op.acl_count = 0;
        assert_int_equal(fx_op(f, op), ZBADARGUMENTS);
        /* ACL before parent existence */
        op = fx_op_create("/missing/a", NULL, 0);
        op.acl_count = 0;
        assert_int_equal(fx_op(f, op), ZINVALIDACL);
        /* parent existence */
        assert_int_equal(fx_create(f, "/missing/a", NULL, 0), ZNONODE);
        /* existence, then ephemeral parent */
        assert_int_equal(fx_create(f, "/p", NULL, 0), ZNODEEXISTS);
        assert_int_equal(fx_new_session(f, 0x100), ZOK);
        f->session = 0x100;
        assert_int_equal(fx_create(f, "/eph", NULL, ZK_CREATE_EPHEMERAL), ZOK);
        assert_int_equal(fx_create(f, "/eph/child", NULL, 0), ZNOCHILDRENFOREPHEMERALS);
        assert_int_equal(fx_create(f, "/eph/", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL),
                         ZNOCHILDRENFOREPHEMERALS);
        /* the create of "/" itself */
        assert_int_equal(fx_create(f, "/", NULL, 0), ZNODEEXISTS);
        /* nothing above changed the tree */
        assert_int_equal(tree_node_count(&f->t), 6);
        assert_int_equal(f->ev.count, 0);
}

static void create_permission_checked_before_existence(void **state)
{
        F;
        static const char digest[] = "digest", alice[] = "alice:hash";
        struct zk_acl only_alice = {.perms = ZK_PERM_ALL,
                                    .id = {.scheme = fx_bytes(digest), .id = fx_bytes(alice)}};
        struct txn_op op = fx_op_create("/locked", NULL, 0);
        op.acl = &only_alice;
        assert_int_equal(fx_op(f, op), ZOK);
        /* as alice */
        struct zk_id alice_id = {.scheme = fx_bytes(digest), .id = fx_bytes(alice)};
        f->auth = (struct txn_auth){.ids = &alice_id, .id_count = 1};
        assert_int_equal(fx_create(f, "/locked/x", NULL, 0), ZOK);
        /* as nobody: NoAuth even though the node exists (-102 comes before -110) */
        f->auth = (struct txn_auth){0};
        assert_int_equal(fx_create(f, "/locked/x", NULL, 0), ZNOAUTH);
        assert_int_equal(fx_create(f, "/locked/y", NULL, 0), ZNOAUTH);
        /* super bypasses */
        f->auth.super = true;
        assert_int_equal(fx_create(f, "/locked/y", NULL, 0), ZOK);
}

static void create_path_syntax(void **state)
{
        F;
        const char *bad[] = {"",
                             "a",
                             "/a/",
                             "//",
                             "/a//b",
                             "/.",
                             "/..",
                             "/a/./b",
                             "/a/../b",
                             "/a\x01",
                             "/\x7f",
                             "/a\xc2\x80",
                             "/\xed\xa0\x80",
                             "/\xef\xbf\xbd",
                             "/\xf0\x9f\x98\x80",
                             "/\xff",
                             "/\xc0\xaf",
                             "/\xe2\x82"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(fx_create(f, bad[i], NULL, 0), ZBADARGUMENTS);
        /* NUL inside */
        struct txn_op op = fx_op_create("/a", NULL, 0);
        op.path = (struct zk_bytes){.data = (const uint8_t *)"/a\0b", .len = 4};
        assert_int_equal(fx_op(f, op), ZBADARGUMENTS);
        const char *good[] = {"/...", "/.a", "/a.", "/\xc3\xa9t\xc3\xa9", "/\xe4\xb8\xad", "/ "};
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                assert_int_equal(fx_create(f, good[i], NULL, 0), ZOK);
        /* the longest path fits; a sequential suffix may not push past it */
        char *longp = malloc(ZK_PATH_BYTES_MAX + 2);
        memset(longp, 'a', ZK_PATH_BYTES_MAX + 1);
        longp[0] = '/';
        longp[ZK_PATH_BYTES_MAX + 1] = '\0';
        assert_int_equal(fx_create(f, longp, NULL, 0), ZBADARGUMENTS);
        longp[ZK_PATH_BYTES_MAX] = '\0';
        assert_int_equal(fx_create(f, longp, NULL, 0), ZOK);
        longp[ZK_PATH_BYTES_MAX - 5] = '\0';
        assert_int_equal(fx_create(f, longp, NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZBADARGUMENTS);
        longp[ZK_PATH_BYTES_MAX - 10] = '\0';
        assert_int_equal(fx_create(f, longp, NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        free(longp);
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(tree_snap_write(&f->t, &w), SYN_OK);
        struct tree back;
        assert_int_equal(tree_snap_read(w.data, w.len, &f->t.opt, &back), SYN_OK);
        assert_true(tree_digest(&back) == tree_digest(&f->t));
        tree_close(&back);
        syn_writer_close(&w);
        /* sequential: "." plus digits is a fine name */
        assert_int_equal(fx_create(f, "/.", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
}

static void ttl_and_container_modes(void **state)
{
        F;
        /* Extended types are off in this fixture; containers need no switch. */
        struct txn_op op = fx_op_create("/c", NULL, ZK_CREATE_CONTAINER);
        op.zk_op = ZK_OP_CREATE_CONTAINER;
        assert_int_equal(fx_op(f, op), ZOK);
        assert_int_equal(tree_node_owner(tree_lookup(&f->t, "/c", 2)), ZK_OWNER_CONTAINER);
        assert_int_equal(fx_stat(f, "/c").ephemeral_owner, 0);
        op = fx_op_create("/c2", NULL, ZK_CREATE_PERSISTENT);
        op.zk_op = ZK_OP_CREATE_CONTAINER;
        assert_int_equal(fx_op(f, op), ZBADARGUMENTS);
        op = fx_op_create("/t", NULL, ZK_CREATE_PERSISTENT_WITH_TTL);
        op.zk_op = ZK_OP_CREATE_TTL;
        op.ttl_ms = 100;
        assert_int_equal(fx_op(f, op), ZUNIMPLEMENTED);
}

static void ttl_validity(void **state)
{
        F;
        struct txn_op op = fx_op_create("/t", NULL, ZK_CREATE_PERSISTENT_WITH_TTL);
        op.zk_op = ZK_OP_CREATE_TTL;
        op.ttl_ms = 0;
        assert_int_equal(fx_op(f, op), ZBADARGUMENTS);
        op.ttl_ms = (int64_t)ZK_TTL_MAX_MS + 1;
        assert_int_equal(fx_op(f, op), ZBADARGUMENTS);
        /* a TTL with a non-TTL mode */
        struct txn_op p = fx_op_create("/t", NULL, ZK_CREATE_PERSISTENT);
        p.zk_op = ZK_OP_CREATE_TTL;
        p.ttl_ms = 100;
        assert_int_equal(fx_op(f, p), ZBADARGUMENTS);
        /* TTL mode through plain create (no ttl field) */
        struct txn_op q = fx_op_create("/t", NULL, ZK_CREATE_PERSISTENT_WITH_TTL);
        q.ttl_ms = 100; /* ignored for ZK_OP_CREATE */
        assert_int_equal(fx_op(f, q), ZBADARGUMENTS);
        op.ttl_ms = (int64_t)ZK_TTL_MAX_MS;
        assert_int_equal(fx_op(f, op), ZOK);
        assert_int_equal(tree_node_owner(tree_lookup(&f->t, "/t", 2)),
                         ZK_OWNER_TTL_MASK | ZK_TTL_MAX_MS);
        assert_int_equal(fx_stat(f, "/t").ephemeral_owner, 0);
        op = fx_op_create("/t/s-", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL);
        op.zk_op = ZK_OP_CREATE_TTL;
        op.ttl_ms = 5;
        assert_int_equal(fx_op(f, op), ZOK);
        expect_path(f->res.ops[0].path, "/t/s-0000000000");
}

static void delete_rules(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/d", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/d/c", NULL, 0), ZOK);
        assert_int_equal(fx_delete(f, "/d", -1), ZNOTEMPTY);
        assert_int_equal(fx_delete(f, "/d/c", 3), ZBADVERSION);
        assert_int_equal(fx_delete(f, "/d/x", -1), ZNONODE);
        assert_int_equal(fx_delete(f, "/d/c/", -1), ZBADARGUMENTS);
        assert_int_equal(fx_delete(f, "/", -1), ZBADARGUMENTS);
        assert_int_equal(fx_delete(f, "/zookeeper", -1), ZBADARGUMENTS);
        assert_int_equal(fx_delete(f, "/zookeeper/quota", -1), ZBADARGUMENTS);
        assert_int_equal(fx_delete(f, "/zookeeper/config", -1), ZBADARGUMENTS);
        assert_int_equal(f->ev.count, 0);
        assert_int_equal(fx_delete(f, "/d/c", 0), ZOK);
        uint64_t del_zxid = f->zxid;
        assert_int_equal(f->ev.count, 2);
        expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/d/c");
        expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/d");
        struct zk_stat st = fx_stat(f, "/d");
        assert_int_equal(st.cversion, 2);
        assert_int_equal(st.pzxid, (int64_t)del_zxid);
        assert_int_equal(st.num_children, 0);
        assert_false(fx_exists(f, "/d/c"));
        assert_int_equal(fx_delete(f, "/d", -1), ZOK);
        assert_int_equal(tree_node_count(&f->t), 4);
}

static void delete_needs_delete_perm_on_parent(void **state)
{
        F;
        static const char world[] = "world", anyone[] = "anyone";
        struct zk_acl no_delete = {.perms = ZK_PERM_ALL & ~ZK_PERM_DELETE,
                                   .id = {.scheme = fx_bytes(world), .id = fx_bytes(anyone)}};
        struct txn_op op = fx_op_create("/nd", NULL, 0);
        op.acl = &no_delete;
        assert_int_equal(fx_op(f, op), ZOK);
        assert_int_equal(fx_create(f, "/nd/c", NULL, 0), ZOK);
        assert_int_equal(fx_delete(f, "/nd/c", 99), ZNOAUTH); /* -102 before -103 */
        assert_int_equal(fx_delete(f, "/nd", -1), ZNOTEMPTY); /* root allows delete */
}

static void set_data_versions(void **state)
{
        F;
        f->now_ms = 10;
        assert_int_equal(fx_create(f, "/v", "a", 0), ZOK);
        uint64_t cz = f->zxid;
        f->now_ms = 20;
        assert_int_equal(fx_set(f, "/v", "bb", 0), ZOK);
        assert_int_equal(f->ev.count, 1);
        expect_event(f, 0, ZK_EVENT_NODE_DATA_CHANGED, "/v");
        struct zk_stat st = fx_stat(f, "/v");
        assert_int_equal(st.version, 1);
        assert_int_equal(st.mzxid, (int64_t)f->zxid);
        assert_int_equal(st.czxid, (int64_t)cz);
        assert_int_equal(st.mtime, 20);
        assert_int_equal(st.ctime, 10);
        assert_int_equal(st.data_length, 2);
        assert_memory_equal(&f->res.ops[0].stat, &st, sizeof(st));
        assert_int_equal(fx_set(f, "/v", "c", 0), ZBADVERSION);
        assert_int_equal(f->ev.count, 0);
        assert_int_equal(fx_set(f, "/v", "c", -1), ZOK);
        assert_int_equal(fx_stat(f, "/v").version, 2);
        assert_int_equal(fx_set(f, "/nope", "c", -1), ZNONODE);
        assert_int_equal(fx_set(f, "/v/", "c", -1), ZBADARGUMENTS);
        assert_int_equal(fx_set(f, "/v", NULL, -1), ZOK);
        assert_int_equal(tree_node_data(tree_lookup(&f->t, "/v", 2)).len, -1);
        /* the parent is untouched by setData */
        assert_int_equal(fx_stat(f, "/").pzxid, (int64_t)cz);
}

static void set_acl_and_check(void **state)
{
        F;
        static const char world[] = "world", anyone[] = "anyone";
        assert_int_equal(fx_create(f, "/x", "d", 0), ZOK);
        struct zk_acl read_only = {.perms = ZK_PERM_READ,
                                   .id = {.scheme = fx_bytes(world), .id = fx_bytes(anyone)}};
        struct txn_op op = {.zk_op = ZK_OP_SET_ACL,
                            .path = fx_bytes("/x"),
                            .acl = &read_only,
                            .acl_count = 1,
                            .version = 5};
        assert_int_equal(fx_op(f, op), ZBADVERSION);
        op.version = 0;
        assert_int_equal(fx_op(f, op), ZOK);
        assert_int_equal(f->ev.count, 0); /* setACL fires no watch */
        struct zk_stat st = fx_stat(f, "/x");
        assert_int_equal(st.aversion, 1);
        assert_int_equal(st.version, 0);
        assert_int_equal(f->res.ops[0].stat.aversion, 1);
        const struct zk_acl *acl;
        int32_t n;
        tree_node_acl(tree_lookup(&f->t, "/x", 2), &acl, &n);
        assert_int_equal(n, 1);
        assert_int_equal(acl[0].perms, ZK_PERM_READ);
        /* now: no WRITE, no ADMIN */
        assert_int_equal(fx_set(f, "/x", "e", -1), ZNOAUTH);
        assert_int_equal(fx_op(f, op), ZNOAUTH);
        op.acl_count = 0;
        assert_int_equal(fx_op(f, op), ZINVALIDACL); /* fixup comes before the ADMIN check */
        op.path = fx_bytes("/nope");
        op.acl_count = 1;
        assert_int_equal(fx_op(f, op), ZNONODE);
        /* check: READ and version */
        assert_int_equal(fx_op(f, fx_op_check("/x", 0)), ZOK);
        assert_int_equal(f->res.ops[0].stat.version, 0);
        assert_int_equal(fx_op(f, fx_op_check("/x", 1)), ZBADVERSION);
        assert_int_equal(fx_op(f, fx_op_check("/nope", 1)), ZNONODE);
        uint64_t d = tree_digest(&f->t);
        assert_int_equal(fx_op(f, fx_op_check("/x", -1)), ZOK);
        assert_true(tree_digest(&f->t) == d);
}

static void multi_failure_rolls_back(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/m", "0", 0), ZOK);
        assert_int_equal(fx_create(f, "/m/old", NULL, 0), ZOK);
        uint64_t before = tree_digest(&f->t);
        struct zk_stat mst = fx_stat(f, "/m");
        struct txn_op ops[] = {
            fx_op_create("/m/new", "x", 0), fx_op_delete("/m/old", -1), fx_op_set("/m", "1", -1),
            fx_op_check("/m", 7),           fx_op_set("/m", "2", -1),
        };
        struct txn txn = {.type = TXN_MULTI, .ops = ops, .op_count = 5};
        uint64_t z = f->zxid;
        assert_int_equal(fx_apply(f, &txn), ZOK); /* the header err of a multi is 0 */
        assert_int_equal(f->zxid, z + 1);         /* a zxid is consumed */
        assert_int_equal(f->res.failed_index, 3);
        assert_int_equal(f->res.op_count, 5);
        const int32_t want[] = {ZOK, ZOK, ZOK, ZBADVERSION, ZRUNTIMEINCONSISTENCY};
        for (int i = 0; i < 5; i++)
                assert_int_equal(f->res.ops[i].err, want[i]);
        assert_int_equal(f->ev.count, 0);
        assert_true(tree_digest(&f->t) == before);
        assert_false(fx_exists(f, "/m/new"));
        assert_true(fx_exists(f, "/m/old"));
        struct zk_stat now = fx_stat(f, "/m");
        assert_memory_equal(&now, &mst, sizeof(now));
        assert_memory_equal(tree_node_data(tree_lookup(&f->t, "/m", 2)).data, "0", 1);
        /* the sequence counter is back too */
        assert_int_equal(fx_create(f, "/m/s", NULL, ZK_CREATE_PERSISTENT_SEQUENTIAL), ZOK);
        expect_path(f->res.ops[0].path, "/m/s0000000001");
        /* and children order is intact */
        struct zk_bytes names[4];
        assert_int_equal(tree_children(tree_lookup(&f->t, "/m", 2), names, 4), 2);
        expect_path(names[0], "old");
}

static void multi_success_sees_earlier_ops(void **state)
{
        F;
        struct txn_op ops[] = {
            fx_op_create("/a", "x", 0),
            fx_op_create("/a/b-", "y", ZK_CREATE_PERSISTENT_SEQUENTIAL),
            fx_op_check("/a", 0),
            fx_op_set("/a", "z", 0),
            fx_op_delete("/a/b-0000000000", 0),
        };
        ops[1].zk_op = ZK_OP_CREATE2;
        struct txn txn = {.type = TXN_MULTI, .ops = ops, .op_count = 5};
        assert_int_equal(fx_apply(f, &txn), ZOK);
        assert_int_equal(f->res.failed_index, -1);
        for (int i = 0; i < 5; i++)
                assert_int_equal(f->res.ops[i].err, ZOK);
        assert_int_equal(f->res.ops[1].zk_op, ZK_OP_CREATE2);
        expect_path(f->res.ops[1].path, "/a/b-0000000000");
        assert_int_equal(f->res.ops[1].stat.czxid, (int64_t)f->zxid);
        assert_int_equal(f->res.ops[3].stat.version, 1);
        struct zk_stat st = fx_stat(f, "/a");
        assert_int_equal(st.czxid, (int64_t)f->zxid); /* one zxid for the whole multi */
        assert_int_equal(st.mzxid, (int64_t)f->zxid);
        assert_int_equal(st.cversion, 2);
        assert_int_equal(st.num_children, 0);
        /* events in op order */
        assert_int_equal(f->ev.count, 7);
        expect_event(f, 0, ZK_EVENT_NODE_CREATED, "/a");
        expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
        expect_event(f, 2, ZK_EVENT_NODE_CREATED, "/a/b-0000000000");
        expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
        expect_event(f, 4, ZK_EVENT_NODE_DATA_CHANGED, "/a");
        expect_event(f, 5, ZK_EVENT_NODE_DELETED, "/a/b-0000000000");
        expect_event(f, 6, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a");
        /* an empty multi is fine */
        struct txn empty = {.type = TXN_MULTI};
        assert_int_equal(fx_apply(f, &empty), ZOK);
        assert_int_equal(f->res.op_count, 0);
}

static void multi_first_op_fails(void **state)
{
        F;
        struct txn_op ops[] = {fx_op_delete("/nope", -1), fx_op_create("/ok", NULL, 0)};
        struct txn txn = {.type = TXN_MULTI, .ops = ops, .op_count = 2};
        assert_int_equal(fx_apply(f, &txn), ZOK);
        assert_int_equal(f->res.failed_index, 0);
        assert_int_equal(f->res.ops[0].err, ZNONODE);
        assert_int_equal(f->res.ops[1].err, ZRUNTIMEINCONSISTENCY);
        assert_false(fx_exists(f, "/ok"));
        /* setACL is not a multi op */
        struct txn_op sa = {.zk_op = ZK_OP_SET_ACL,
                            .path = fx_bytes("/"),
                            .acl = OPEN_ACL,
                            .acl_count = 1,
                            .version = -1};
        struct txn t2 = {.type = TXN_MULTI, .ops = &sa, .op_count = 1};
        assert_int_equal(fx_apply(f, &t2), ZOK);
        assert_int_equal(f->res.ops[0].err, ZBADARGUMENTS);
}

static void ephemerals_and_session_close(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/app", NULL, 0), ZOK);
        /* no session: ephemeral refused */
        assert_int_equal(fx_create(f, "/app/e", NULL, ZK_CREATE_EPHEMERAL), ZSESSIONEXPIRED);
        /* unknown session: every client op refused */
        f->session = 0x77;
        assert_int_equal(fx_create(f, "/app/p", NULL, 0), ZSESSIONEXPIRED);
        assert_int_equal(fx_set(f, "/app", "x", -1), ZSESSIONEXPIRED);
        f->session = 0;
        assert_int_equal(fx_new_session(f, 0x77), ZOK);
        assert_int_equal(fx_new_session(f, 0x77), ZRUNTIMEINCONSISTENCY);
        assert_int_equal(fx_new_session(f, 0), ZBADARGUMENTS);
        assert_int_equal(fx_new_session(f, 0x88), ZOK);
        f->session = 0x77;
        assert_int_equal(fx_create(f, "/app/z", NULL, ZK_CREATE_EPHEMERAL), ZOK);
        assert_int_equal(fx_create(f, "/app/b", NULL, ZK_CREATE_EPHEMERAL), ZOK);
        assert_int_equal(fx_create(f, "/app/q-", NULL, ZK_CREATE_EPHEMERAL_SEQUENTIAL), ZOK);
        assert_int_equal(fx_create(f, "/a0", NULL, ZK_CREATE_EPHEMERAL), ZOK);
        assert_int_equal(fx_stat(f, "/app/z").ephemeral_owner, 0x77);
        f->session = 0x88;
        assert_int_equal(fx_create(f, "/app/other", NULL, ZK_CREATE_EPHEMERAL), ZOK);
        assert_int_equal(tree_ephemeral_count(&f->t), 5);
        assert_int_equal(tree_session(&f->t, 0x77)->ephemeral_count, 4);
        /* getEphemerals: sorted, prefix-filtered */
        struct tree_paths p;
        tree_paths_init(&p);
        assert_int_equal(tree_session_ephemerals(&f->t, 0x77, "/app", 4, &p, 100), 3);
        expect_path(p.items[0].path, "/app/b");
        expect_path(p.items[1].path, "/app/q-0000000002");
        expect_path(p.items[2].path, "/app/z");
        assert_int_equal(tree_session_ephemerals(&f->t, 0x77, "/", 1, &p, 100), 4);
        expect_path(p.items[0].path, "/a0");
        assert_int_equal(tree_session_ephemerals(&f->t, 0x77, "", 0, &p, 2), 2);
        assert_int_equal(tree_session_ephemerals(&f->t, 0x99, "", 0, &p, 2), 0);
        tree_paths_close(&p);
        /* deleting one ephemeral by hand keeps the session's list right */
        assert_int_equal(fx_delete(f, "/app/b", -1), ZOK);
        assert_int_equal(tree_session(&f->t, 0x77)->ephemeral_count, 3);
        f->session = 0;
        assert_int_equal(fx_close_session(f, 0x77), ZOK);
        /* sorted by path: /a0, /app/q-0000000002, /app/z */
        assert_int_equal(f->ev.count, 6);
        expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/a0");
        expect_event(f, 1, ZK_EVENT_NODE_CHILDREN_CHANGED, "/");
        expect_event(f, 2, ZK_EVENT_NODE_DELETED, "/app/q-0000000002");
        expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/app");
        expect_event(f, 4, ZK_EVENT_NODE_DELETED, "/app/z");
        expect_event(f, 5, ZK_EVENT_NODE_CHILDREN_CHANGED, "/app");
        assert_null(tree_session(&f->t, 0x77));
        assert_true(fx_exists(f, "/app/other"));
        assert_int_equal(tree_ephemeral_count(&f->t), 1);
        assert_int_equal(fx_stat(f, "/app").pzxid, (int64_t)f->zxid);
        /* closing again is a no-op */
        assert_int_equal(fx_close_session(f, 0x77), ZOK);
        assert_int_equal(f->ev.count, 0);
}

static void containers_are_reaped_once_emptied(void **state)
{
        F;
        struct txn_op op = fx_op_create("/c", NULL, ZK_CREATE_CONTAINER);
        op.zk_op = ZK_OP_CREATE_CONTAINER;
        assert_int_equal(fx_op(f, op), ZOK);
        struct tree_paths p;
        tree_paths_init(&p);
        assert_int_equal(tree_collect_reapable(&f->t, f->now_ms, &p, 10),
                         0); /* never had a child */
        struct txn reap = {.type = TXN_REAP,
                           .reap = {.path = fx_bytes("/c"), .reason = TXN_REAP_CONTAINER}};
        assert_int_equal(fx_apply(f, &reap), ZBADARGUMENTS);
        assert_true(fx_exists(f, "/c"));
        assert_int_equal(fx_create(f, "/c/x", NULL, 0), ZOK);
        assert_int_equal(tree_collect_reapable(&f->t, f->now_ms, &p, 10), 0);
        assert_int_equal(fx_apply(f, &reap), ZNOTEMPTY);
        assert_int_equal(fx_delete(f, "/c/x", -1), ZOK);
        assert_int_equal(tree_collect_reapable(&f->t, f->now_ms, &p, 10), 1);
        expect_path(p.items[0].path, "/c");
        assert_int_equal(p.items[0].reason, TXN_REAP_CONTAINER);
        /* the wrong reason is refused */
        reap.reap.reason = TXN_REAP_TTL;
        assert_int_equal(fx_apply(f, &reap), ZBADARGUMENTS);
        reap.reap.reason = TXN_REAP_CONTAINER;
        assert_int_equal(fx_apply(f, &reap), ZOK);
        assert_false(fx_exists(f, "/c"));
        expect_event(f, 0, ZK_EVENT_NODE_DELETED, "/c");
        assert_int_equal(fx_apply(f, &reap), ZNONODE);
        assert_int_equal(tree_collect_reapable(&f->t, f->now_ms, &p, 10), 0);
        tree_paths_close(&p);
}

static void ttl_nodes_expire_after_mtime_plus_ttl(void **state)
{
        F;
        f->now_ms = 1000;
        struct txn_op op = fx_op_create("/t", NULL, ZK_CREATE_PERSISTENT_WITH_TTL);
        op.zk_op = ZK_OP_CREATE_TTL;
        op.ttl_ms = 500;
        assert_int_equal(fx_op(f, op), ZOK);
        struct tree_paths p;
        tree_paths_init(&p);
        assert_int_equal(tree_collect_reapable(&f->t, 1500, &p, 10), 0); /* not strictly after */
        assert_int_equal(tree_collect_reapable(&f->t, 1501, &p, 10), 1);
        assert_int_equal(p.items[0].reason, TXN_REAP_TTL);
        /* a setData moves mtime: the leader's reap, decided earlier, is re-checked */
        f->now_ms = 1400;
        assert_int_equal(fx_set(f, "/t", "x", -1), ZOK);
        struct txn reap = {.type = TXN_REAP,
                           .reap = {.path = fx_bytes("/t"), .reason = TXN_REAP_TTL}};
        f->now_ms = 1600;
        assert_int_equal(fx_apply(f, &reap), ZBADARGUMENTS);
        f->now_ms = 1901;
        assert_int_equal(fx_create(f, "/t/kid", NULL, 0), ZOK);
        assert_int_equal(tree_collect_reapable(&f->t, 5000, &p, 10), 0); /* has a child */
        assert_int_equal(fx_apply(f, &reap), ZNOTEMPTY);
        assert_int_equal(fx_delete(f, "/t/kid", -1), ZOK);
        assert_int_equal(fx_apply(f, &reap), ZOK);
        assert_false(fx_exists(f, "/t"));
        tree_paths_close(&p);
}

static void node_path_and_descendants(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/a", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/a/b", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/a/b/c", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/a/d", NULL, 0), ZOK);
        const struct tree_node *c = tree_lookup(&f->t, "/a/b/c", 6);
        char buf[16];
        assert_int_equal(tree_node_path(c, buf, sizeof(buf)), 6);
        assert_string_equal(buf, "/a/b/c");
        assert_int_equal(tree_node_path(c, buf, 6), SYN_ETOOBIG);
        assert_int_equal(tree_count_descendants(tree_lookup(&f->t, "/a", 2)), 3);
        assert_int_equal(tree_count_descendants(c), 0);
        assert_int_equal(tree_count_descendants(tree_lookup(&f->t, "/", 1)), 7);
        /* data size: paths + data (approximate, like ZooKeeper) */
        uint64_t before = tree_data_bytes(&f->t);
        assert_int_equal(fx_set(f, "/a/d", "12345", -1), ZOK);
        assert_int_equal(tree_data_bytes(&f->t), before + 5);
        assert_int_equal(fx_delete(f, "/a/d", -1), ZOK);
        assert_int_equal(tree_data_bytes(&f->t), before - 4);
}

/* Many nodes, deletes and re-creates: the index stays consistent through growth. */
static void index_survives_growth_and_churn(void **state)
{
        F;
        char path[64];
        assert_int_equal(fx_create(f, "/big", NULL, 0), ZOK);
        for (int i = 0; i < 3000; i++) {
                snprintf(path, sizeof(path), "/big/n%d", i);
                assert_int_equal(fx_create(f, path, "v", 0), ZOK);
        }
        for (int i = 0; i < 3000; i += 2) {
                snprintf(path, sizeof(path), "/big/n%d", i);
                assert_int_equal(fx_delete(f, path, -1), ZOK);
        }
        for (int i = 0; i < 3000; i++) {
                snprintf(path, sizeof(path), "/big/n%d", i);
                assert_int_equal(fx_exists(f, path), i % 2 == 1);
        }
        assert_int_equal(fx_stat(f, "/big").num_children, 1500);
        assert_int_equal(fx_stat(f, "/big").cversion, 4500);
        assert_int_equal(tree_node_count(&f->t), 4 + 1 + 1500);
}

int main(void)
{
#define T(name)  cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
#define TX(name) cmocka_unit_test_setup_teardown(name, fx_setup_ext, fx_teardown)
        const struct CMUnitTest tests[] = {
            T(init_has_system_nodes),
            T(create_sets_stat_and_fires_events),
            T(sequential_numbering_and_cversion),
            T(sequential_counter_wraps_negative),
            T(create_check_order),
            T(create_permission_checked_before_existence),
            T(create_path_syntax),
            T(ttl_and_container_modes),
            TX(ttl_validity),
            T(delete_rules),
            T(delete_needs_delete_perm_on_parent),
            T(set_data_versions),
            T(set_acl_and_check),
            T(multi_failure_rolls_back),
            T(multi_success_sees_earlier_ops),
            T(multi_first_op_fails),
            T(ephemerals_and_session_close),
            T(containers_are_reaped_once_emptied),
            TX(ttl_nodes_expire_after_mtime_plus_ttl),
            T(node_path_and_descendants),
            T(index_survives_growth_and_churn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
