/*
 * Unit tests of ACL handling (docs/protocol-notes.md, "ACLs"): the world, auth, digest and ip
 * schemes, validation and de-duplication on create/setACL, super, the permission
 * each op needs, and interning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tree_test_util.h"

#define F struct fx *f = *state

static struct zk_acl acl(int32_t perms, const char *scheme, const char *id)
{
        return (struct zk_acl){.perms = perms,
                               .id = {.scheme = fx_bytes(scheme), .id = fx_bytes(id)}};
}

static struct zk_id ident(const char *scheme, const char *id)
{
        return (struct zk_id){.scheme = fx_bytes(scheme), .id = fx_bytes(id)};
}

static int create_with(struct fx *f, const char *path, const struct zk_acl *a, int32_t n)
{
        struct txn_op op = fx_op_create(path, NULL, 0);
        op.acl = a;
        op.acl_count = n;
        return fx_op(f, op);
}

static bool can(struct fx *f, const char *path, int32_t perm, const struct zk_id *ids, int32_t n)
{
        const struct tree_node *node = tree_lookup(&f->t, path, strlen(path));
        assert_non_null(node);
        struct txn_auth a = {.ids = ids, .id_count = n};
        return tree_check_perm(node, perm, &a);
}

static void invalid_acls_are_refused(void **state)
{
        F;
        struct zk_acl bad[] = {
            acl(31, "world", "someone"),
            acl(31, "digest", "user"),
            acl(31, "digest", "a:b:c"),
            acl(31, "digest", "a::"),
            acl(31, "digest", ""),
            acl(31, "ip", "300.1.1.1"),
            acl(31, "ip", "1.2.3"),
            acl(31, "ip", "1.2.3.4/33"),
            acl(31, "ip", "1.2.3.4/x"),
            acl(31, "ip", ""),
            acl(31, "sasl", "bob"),
            acl(31, "x509", "CN=a"),
            acl(31, "", ""),
            acl(31, "auth", ""), /* no identities at all */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(create_with(f, "/x", &bad[i], 1), ZINVALIDACL);
                /* one bad entry spoils a list */
                struct zk_acl two[2] = {acl(31, "world", "anyone"), bad[i]};
                assert_int_equal(create_with(f, "/x", two, 2), ZINVALIDACL);
        }
        assert_int_equal(create_with(f, "/x", NULL, 0), ZINVALIDACL);
        struct zk_acl nul = {.perms = 31, .id = {.scheme = {NULL, -1}, .id = fx_bytes("anyone")}};
        assert_int_equal(create_with(f, "/x", &nul, 1), ZINVALIDACL);
        /* Java's String.split drops trailing empty parts: these have exactly two parts */
        struct zk_acl quirks[] = {acl(31, "digest", "a:b:"), acl(31, "digest", ":b")};
        assert_int_equal(create_with(f, "/q1", &quirks[0], 1), ZOK);
        assert_int_equal(create_with(f, "/q2", &quirks[1], 1), ZOK);
        assert_false(fx_exists(f, "/x"));
}

static void auth_scheme_expands_to_caller_ids(void **state)
{
        F;
        struct zk_acl a = acl(ZK_PERM_ALL, "auth", "");
        struct zk_id ip_only = ident("ip", "127.0.0.1");
        f->auth = (struct txn_auth){.ids = &ip_only, .id_count = 1};
        assert_int_equal(create_with(f, "/x", &a, 1), ZINVALIDACL); /* ip does not count */
        struct zk_id ids[] = {ident("ip", "127.0.0.1"), ident("digest", "bob:h1"),
                              ident("digest", "carol:h2")};
        f->auth = (struct txn_auth){.ids = ids, .id_count = 3};
        assert_int_equal(create_with(f, "/x", &a, 1), ZOK);
        const struct zk_acl *got;
        int32_t n;
        tree_node_acl(tree_lookup(&f->t, "/x", 2), &got, &n);
        assert_int_equal(n, 2);
        assert_int_equal(got[0].perms, ZK_PERM_ALL);
        assert_memory_equal(got[0].id.scheme.data, "digest", 6);
        assert_memory_equal(got[0].id.id.data, "bob:h1", 6);
        assert_memory_equal(got[1].id.id.data, "carol:h2", 8);
        /* bob may, anonymous may not */
        assert_true(can(f, "/x", ZK_PERM_WRITE, &ids[1], 1));
        assert_false(can(f, "/x", ZK_PERM_WRITE, &ids[0], 1));
}

static void acl_lists_are_deduplicated(void **state)
{
        F;
        struct zk_acl dup[] = {acl(31, "world", "anyone"), acl(1, "digest", "u:h"),
                               acl(31, "world", "anyone"), acl(1, "digest", "u:h"),
                               acl(3, "digest", "u:h")};
        assert_int_equal(create_with(f, "/d", dup, 5), ZOK);
        const struct zk_acl *got;
        int32_t n;
        tree_node_acl(tree_lookup(&f->t, "/d", 2), &got, &n);
        assert_int_equal(n, 3);
        assert_int_equal(got[0].perms, 31);
        assert_int_equal(got[1].perms, 1);
        assert_int_equal(got[2].perms, 3);
}

static void digest_ids_compare_as_strings(void **state)
{
        F;
        struct zk_acl a = acl(ZK_PERM_READ, "digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert_int_equal(create_with(f, "/s", &a, 1), ZOK);
        struct zk_id right = ident("digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        struct zk_id wrong = ident("digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU");
        struct zk_id other_scheme = ident("ip", "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert_true(can(f, "/s", ZK_PERM_READ, &right, 1));
        assert_false(can(f, "/s", ZK_PERM_WRITE, &right, 1)); /* perm bits matter */
        assert_false(can(f, "/s", ZK_PERM_READ, &wrong, 1));
        assert_false(can(f, "/s", ZK_PERM_READ, &other_scheme, 1));
        assert_false(can(f, "/s", ZK_PERM_READ, NULL, 0));
        struct txn_auth super = {.super = true};
        assert_true(tree_check_perm(tree_lookup(&f->t, "/s", 2), ZK_PERM_ADMIN, &super));
}

static void ip_ids_match_with_prefixes(void **state)
{
        F;
        struct zk_acl a[] = {
            acl(ZK_PERM_READ, "ip", "10.0.0.0/8"), acl(ZK_PERM_WRITE, "ip", "192.168.1.7"),
            acl(ZK_PERM_CREATE, "ip", "::1"), acl(ZK_PERM_DELETE, "ip", "172.16.5.4/0")};
        assert_int_equal(create_with(f, "/ip", a, 4), ZOK);
        struct zk_id in8 = ident("ip", "10.200.3.4");
        struct zk_id out8 = ident("ip", "11.0.0.1");
        struct zk_id exact = ident("ip", "192.168.1.7");
        struct zk_id near = ident("ip", "192.168.1.8");
        struct zk_id v6 = ident("ip", "0:0:0:0:0:0:0:1");
        struct zk_id junk = ident("ip", "banana");
        assert_true(can(f, "/ip", ZK_PERM_READ, &in8, 1));
        assert_false(can(f, "/ip", ZK_PERM_READ, &out8, 1));
        assert_true(can(f, "/ip", ZK_PERM_WRITE, &exact, 1));
        assert_false(can(f, "/ip", ZK_PERM_WRITE, &near, 1));
        assert_false(can(f, "/ip", ZK_PERM_WRITE, &in8, 1));
        assert_true(can(f, "/ip", ZK_PERM_CREATE, &v6, 1));
        assert_false(can(f, "/ip", ZK_PERM_CREATE, &exact, 1)); /* v4 never matches v6 */
        assert_true(can(f, "/ip", ZK_PERM_DELETE, &out8, 1));   /* /0 matches all v4 */
        assert_false(can(f, "/ip", ZK_PERM_READ, &junk, 1));
        /* a caller holding several ids passes if any matches */
        struct zk_id both[] = {out8, in8};
        assert_true(can(f, "/ip", ZK_PERM_READ, both, 2));
}

static void each_op_checks_its_permission(void **state)
{
        F;
        /* /p allows everything but one bit at a time; children inherit nothing */
        struct zk_acl open = acl(ZK_PERM_ALL, "world", "anyone");
        struct zk_acl no_create = acl(ZK_PERM_ALL & ~ZK_PERM_CREATE, "world", "anyone");
        struct zk_acl no_write = acl(ZK_PERM_ALL & ~ZK_PERM_WRITE, "world", "anyone");
        struct zk_acl no_read = acl(ZK_PERM_ALL & ~ZK_PERM_READ, "world", "anyone");
        struct zk_acl no_admin = acl(ZK_PERM_ALL & ~ZK_PERM_ADMIN, "world", "anyone");
        assert_int_equal(create_with(f, "/nc", &no_create, 1), ZOK);
        assert_int_equal(create_with(f, "/nc/x", &open, 1), ZNOAUTH);
        assert_int_equal(create_with(f, "/nw", &no_write, 1), ZOK);
        assert_int_equal(fx_set(f, "/nw", "x", -1), ZNOAUTH);
        assert_int_equal(fx_op(f, fx_op_check("/nw", -1)), ZOK); /* check needs READ */
        assert_int_equal(create_with(f, "/nr", &no_read, 1), ZOK);
        assert_int_equal(fx_op(f, fx_op_check("/nr", -1)), ZNOAUTH);
        assert_int_equal(fx_set(f, "/nr", "x", -1), ZOK);
        assert_int_equal(create_with(f, "/na", &no_admin, 1), ZOK);
        struct txn_op sa = {.zk_op = ZK_OP_SET_ACL,
                            .path = fx_bytes("/na"),
                            .acl = &open,
                            .acl_count = 1,
                            .version = -1};
        assert_int_equal(fx_op(f, sa), ZNOAUTH);
        f->auth.super = true;
        assert_int_equal(fx_op(f, sa), ZOK);
        assert_int_equal(fx_set(f, "/nw", "x", -1), ZOK);
}

/* /zookeeper/config is READ_ACL_UNSAFE, as in ZooKeeper: only the super user writes
 * the membership (reconfig); everyone may read it. */
static void config_node_is_read_only_but_for_super(void **state)
{
        F;
        const struct zk_acl *a;
        int32_t n;
        tree_node_acl(tree_lookup(&f->t, "/zookeeper/config", 17), &a, &n);
        assert_int_equal(n, 1);
        assert_int_equal(a[0].perms, ZK_PERM_READ);
        assert_int_equal(fx_set(f, "/zookeeper/config", "server.1=x", -1), ZNOAUTH);
        f->auth = (struct txn_auth){.super = true};
        assert_int_equal(fx_set(f, "/zookeeper/config", "server.1=x", -1), ZOK);
}

static void equal_acl_lists_are_shared(void **state)
{
        F;
        assert_int_equal(fx_create(f, "/a", NULL, 0), ZOK);
        assert_int_equal(fx_create(f, "/b", NULL, 0), ZOK);
        const struct zk_acl *a, *b, *r;
        int32_t n;
        tree_node_acl(tree_lookup(&f->t, "/a", 2), &a, &n);
        tree_node_acl(tree_lookup(&f->t, "/b", 2), &b, &n);
        tree_node_acl(tree_lookup(&f->t, "/", 1), &r, &n);
        assert_ptr_equal(a, b);
        assert_ptr_equal(a, r);
        /* OPEN_ACL_UNSAFE, and READ_ACL_UNSAFE of /zookeeper/config */
        assert_int_equal(f->t.acl_count, 2);
        struct zk_acl other = acl(ZK_PERM_READ | ZK_PERM_WRITE, "world", "anyone");
        assert_int_equal(create_with(f, "/c", &other, 1), ZOK);
        assert_int_equal(f->t.acl_count, 3);
        assert_int_equal(fx_delete(f, "/c", -1), ZOK);
        assert_int_equal(f->t.acl_count, 2); /* released with its last node */
}

/* Whether the identity may READ the node of event i, per the ACL the event carries. */
static bool event_readable(struct fx *f, int32_t i, const struct zk_id *id)
{
        assert_true(i < f->ev.count);
        struct txn_auth a = {.ids = id, .id_count = 1};
        return tree_acl_check(f->ev.items[i].acl, f->ev.items[i].acl_count, ZK_PERM_READ, &a);
}

/* Events carry a copy of the ACL of the node they are about (the parent for
 * NodeChildrenChanged), still valid after the node and its interned ACL list
 * are gone: persistent/recursive watch deliveries are checked against it. */
static void events_carry_the_node_acl(void **state)
{
        F;
        struct zk_id alice = ident("digest", "alice:h"), bob = ident("digest", "bob:h");
        struct zk_acl secret = acl(ZK_PERM_ALL, "digest", "alice:h");
        f->auth = (struct txn_auth){.ids = &alice, .id_count = 1}; /* alice writes */
        assert_int_equal(create_with(f, "/s", &secret, 1), ZOK);
        assert_int_equal(f->ev.count, 2);
        assert_int_equal(f->ev.items[0].type, ZK_EVENT_NODE_CREATED);
        assert_true(event_readable(f, 0, &alice));
        assert_false(event_readable(f, 0, &bob));
        assert_true(event_readable(f, 1, &bob)); /* "/" changed children: open */
        assert_int_equal(fx_create(f, "/s/x", NULL, 0), ZOK);
        assert_true(event_readable(f, 0, &bob));  /* /s/x itself is open */
        assert_false(event_readable(f, 1, &bob)); /* NodeChildrenChanged of /s */
        assert_int_equal(fx_set(f, "/s", "v", -1), ZOK);
        assert_int_equal(f->ev.items[0].type, ZK_EVENT_NODE_DATA_CHANGED);
        assert_false(event_readable(f, 0, &bob));
        assert_int_equal(fx_delete(f, "/s/x", -1), ZOK);
        assert_int_equal(fx_delete(f, "/s", -1), ZOK);
        assert_int_equal(f->t.acl_count, 2); /* alice's list was released */
        assert_int_equal(f->ev.items[0].type, ZK_EVENT_NODE_DELETED);
        assert_int_equal(f->ev.items[0].acl_count, 1);
        assert_false(event_readable(f, 0, &bob));
        assert_true(event_readable(f, 0, &alice));
        struct txn_auth super = {.super = true};
        assert_true(tree_acl_check(f->ev.items[0].acl, 1, ZK_PERM_READ, &super));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
        const struct CMUnitTest tests[] = {
            T(invalid_acls_are_refused),
            T(auth_scheme_expands_to_caller_ids),
            T(acl_lists_are_deduplicated),
            T(digest_ids_compare_as_strings),
            T(ip_ids_match_with_prefixes),
            T(each_op_checks_its_permission),
            T(equal_acl_lists_are_shared),
            T(events_carry_the_node_acl),
            T(config_node_is_read_only_but_for_super),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
