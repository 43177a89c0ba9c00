/*
 * Unit tests of snapshot_due (server/snapshot.c): a snapshot is due after snapCount
 * applied entries, or once the bytes logged since the last one pass both
 * snapSizeLimitInKb and a quarter of the tree's data, and never with nothing new.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "server/server.h"

static struct srv *make_srv(void)
{
        struct srv *srv = calloc(1, sizeof *srv);
        assert_non_null(srv);
        srv->config.snap_count = 1000;
        srv->config.snap_size_limit_kb = 64;
        srv->snapshot_index = 500;
        srv->sm.applied = 510;
        return srv;
}

static void test_count_trigger(void **state)
{
        (void)state;
        struct srv *srv = make_srv();
        assert_false(snapshot_due(srv));
        srv->sm.applied = 500 + 999;
        assert_false(snapshot_due(srv));
        srv->sm.applied = 500 + 1000;
        assert_true(snapshot_due(srv));
        free(srv);
}

static void test_size_trigger(void **state)
{
        (void)state;
        struct srv *srv = make_srv();
        srv->logged_bytes = 64 * 1024 - 1;
        assert_false(snapshot_due(srv));
        srv->logged_bytes = 64 * 1024;
        assert_true(snapshot_due(srv));
        /* Nothing applied since the last snapshot: never due, whatever was logged. */
        srv->sm.applied = srv->snapshot_index;
        assert_false(snapshot_due(srv));
        free(srv);
}

static void test_big_tree_raises_the_size_trigger(void **state)
{
        (void)state;
        struct srv *srv = make_srv();
        uint64_t tree_bytes = 100ull * 1024 * 1024;
        srv->sm.tree.data_bytes = tree_bytes;
        uint64_t share = tree_bytes / SRV_SNAP_TREE_SHARE_DIVISOR;
        srv->logged_bytes = 64 * 1024; /* over the configured limit, under the share */
        assert_false(snapshot_due(srv));
        srv->logged_bytes = share - 1;
        assert_false(snapshot_due(srv));
        srv->logged_bytes = share;
        assert_true(snapshot_due(srv));
        free(srv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_count_trigger),
            cmocka_unit_test(test_size_trigger),
            cmocka_unit_test(test_big_tree_raises_the_size_trigger),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
