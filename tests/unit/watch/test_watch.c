/*
 * Unit tests of the watch manager (src/watch): registration, the trigger
 * rules of docs/protocol-notes.md ("Watches"), one-shot removal, one delivery per connection
 * per trigger, recursive watches on descendants, removeWatches/checkWatches by
 * WatcherType, dropping a connection, SetWatches with a fake tree, listings
 * and the per-connection limit. Every test ends with the bookkeeping walk
 * watch_invariants_hold().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/limits.h"
#include "base/rand.h"
#include "base/zk_types.h"
#include "watch/watch.h"

#define S(lit) (lit), (sizeof(lit) - 1)

struct fixture {
        struct watch_manager wm;
        struct watch_events ev;
};

static int setup_with_limit(void **state, uint32_t limit)
{
        struct fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        assert_int_equal(watch_init(&f->wm, &(struct watch_options){.watches_per_conn_max = limit,
                                                                    .hash_seed = 0x1234}),
                         SYN_OK);
        watch_events_init(&f->ev);
        *state = f;
        return 0;
}

static int setup(void **state)
{
        return setup_with_limit(state, WATCH_PER_CONN_MAX);
}

static int setup_small(void **state)
{
        return setup_with_limit(state, 3);
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        assert_true(watch_invariants_hold(&f->wm));
        watch_close(&f->wm);
        watch_events_close(&f->ev);
        free(f);
        return 0;
}

static void add(struct fixture *f, uint64_t conn, unsigned kinds, const char *path)
{
        assert_int_equal(watch_add(&f->wm, conn, conn + 0x1000, kinds, path, strlen(path)), SYN_OK);
}

/* Triggers and returns the number of deliveries; checks type and path of each. */
static size_t fire(struct fixture *f, int32_t type, const char *path)
{
        watch_events_reset(&f->ev);
        assert_int_equal(watch_trigger(&f->wm, type, path, strlen(path), &f->ev), SYN_OK);
        for (size_t i = 0; i < f->ev.count; i++) {
                assert_int_equal(f->ev.items[i].type, type);
                assert_int_equal(f->ev.items[i].path_len, strlen(path));
                assert_memory_equal(f->ev.items[i].path, path, strlen(path));
        }
        assert_true(watch_invariants_hold(&f->wm));
        return f->ev.count;
}

static uint64_t conn_at(struct fixture *f, size_t i)
{
        assert_true(i < f->ev.count);
        return f->ev.items[i].conn_id;
}

static void test_init_rejects_bad_options(void **state)
{
        (void)state;
        struct watch_manager wm;
        assert_int_equal(watch_init(&wm, &(struct watch_options){.watches_per_conn_max = 0}),
                         SYN_EINVAL);
        assert_int_equal(watch_init(&wm, &(struct watch_options){.watches_per_conn_max =
                                                                     WATCH_PER_CONN_MAX + 1}),
                         SYN_EINVAL);
}

static void test_add_rejects_bad_input(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(watch_add(&f->wm, 1, 1, 0, S("/a")), SYN_EINVAL);
        assert_int_equal(watch_add(&f->wm, 1, 1, 1u << 7, S("/a")), SYN_EINVAL);
        assert_int_equal(watch_add(&f->wm, 1, 1, WATCH_KIND_DATA, S("a")), SYN_EINVAL);
        assert_int_equal(watch_add(&f->wm, 1, 1, WATCH_KIND_DATA, "", 0), SYN_EINVAL);
        assert_int_equal(watch_add(&f->wm, 1, 1, WATCH_KIND_DATA, "/a\0b", 4), SYN_EINVAL);
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.watch_count, 0);
        assert_int_equal(st.conn_count, 0);
}

static void test_created_fires_data_and_exist_not_child(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_EXIST, "/a");
        add(f, 2, WATCH_KIND_DATA, "/a");
        add(f, 3, WATCH_KIND_CHILD, "/a");
        add(f, 4, WATCH_KIND_EXIST, "/b");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/a"), 2);
        assert_int_equal(conn_at(f, 0), 1);
        assert_int_equal(conn_at(f, 1), 2);
        /* One-shot: fired watches are gone, the child watch and /b stay. */
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/a")), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 2, S("/a")), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 3, S("/a")), WATCH_KIND_CHILD);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/a"), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/b"), 1);
        assert_int_equal(conn_at(f, 0), 4);
}

static void test_deleted_fires_data_exist_and_child(void **state)
{
        struct fixture *f = *state;
        add(f, 5, WATCH_KIND_DATA, "/a");
        add(f, 6, WATCH_KIND_CHILD, "/a");
        add(f, 7, WATCH_KIND_EXIST, "/a");
        add(f, 8, WATCH_KIND_CHILD, "/a/b"); /* another path: not fired */
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/a"), 3);
        assert_int_equal(conn_at(f, 0), 5);
        assert_int_equal(conn_at(f, 1), 6);
        assert_int_equal(conn_at(f, 2), 7);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/a"), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 8, S("/a/b")), WATCH_KIND_CHILD);
}

static void test_data_changed_fires_data_not_child(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_DATA, "/a");
        add(f, 2, WATCH_KIND_CHILD, "/a");
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/a"), 1);
        assert_int_equal(conn_at(f, 0), 1);
        assert_int_equal(watch_kinds_of(&f->wm, 2, S("/a")), WATCH_KIND_CHILD);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/a"), 0);
}

static void test_children_changed_fires_child_not_data(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_DATA, "/p");
        add(f, 2, WATCH_KIND_CHILD, "/p");
        add(f, 3, WATCH_KIND_EXIST, "/p");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p"), 1);
        assert_int_equal(conn_at(f, 0), 2);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/p")), WATCH_KIND_DATA);
        assert_int_equal(watch_kinds_of(&f->wm, 2, S("/p")), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/p"), 0);
}

static void test_one_delivery_per_connection(void **state)
{
        struct fixture *f = *state;
        /* Data + child + persistent on the path, recursive on two ancestors. */
        add(f, 9, WATCH_KIND_DATA | WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT, "/a/b");
        add(f, 9, WATCH_KIND_RECURSIVE, "/a");
        add(f, 9, WATCH_KIND_RECURSIVE, "/");
        add(f, 3, WATCH_KIND_RECURSIVE, "/a");
        add(f, 3, WATCH_KIND_DATA, "/a/b");
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/a/b"), 2);
        assert_int_equal(conn_at(f, 0), 3);
        assert_int_equal(conn_at(f, 1), 9);
        /* Both one-shots fired and went; the persistent one stays. */
        assert_int_equal(watch_kinds_of(&f->wm, 9, S("/a/b")), WATCH_KIND_PERSISTENT);
        assert_int_equal(watch_kinds_of(&f->wm, 3, S("/a/b")), 0);
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.fired_count, 2);
}

/* Each delivery names the kinds that caused it, merged over the connection's
 * entries, so the server can check READ for persistent/recursive-only ones. */
static void test_delivery_kinds(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_RECURSIVE, "/");
        add(f, 2, WATCH_KIND_PERSISTENT, "/a/b");
        add(f, 3, WATCH_KIND_DATA, "/a/b");
        add(f, 3, WATCH_KIND_RECURSIVE, "/a");
        add(f, 4, WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT, "/a/b");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/a/b"), 4);
        assert_int_equal(f->ev.items[0].kinds, WATCH_KIND_RECURSIVE);
        assert_int_equal(f->ev.items[1].kinds, WATCH_KIND_PERSISTENT);
        assert_int_equal(f->ev.items[2].kinds, WATCH_KIND_DATA | WATCH_KIND_RECURSIVE);
        assert_int_equal(f->ev.items[3].kinds, WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT);
        /* The one-shots went: now only the lasting kinds remain in the deliveries. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/a/b"), 4);
        assert_int_equal(f->ev.items[2].kinds, WATCH_KIND_RECURSIVE);
        assert_int_equal(f->ev.items[3].kinds, WATCH_KIND_PERSISTENT);
        /* NodeChildrenChanged: a child watch is one-shot, a persistent one is not. */
        add(f, 5, WATCH_KIND_CHILD, "/a/b");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/a/b"), 3);
        assert_int_equal(f->ev.items[0].kinds, WATCH_KIND_PERSISTENT);
        assert_int_equal(f->ev.items[2].kinds, WATCH_KIND_CHILD);
}

static void test_persistent_gets_all_four_and_stays(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_PERSISTENT, "/n");
        const int32_t types[] = {ZK_EVENT_NODE_CREATED, ZK_EVENT_NODE_DATA_CHANGED,
                                 ZK_EVENT_NODE_CHILDREN_CHANGED, ZK_EVENT_NODE_DELETED,
                                 ZK_EVENT_NODE_CREATED};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
                assert_int_equal(fire(f, types[i], "/n"), 1);
                assert_int_equal(conn_at(f, 0), 1);
        }
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/n")), WATCH_KIND_PERSISTENT);
        /* Not for a child of the node. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/n/c"), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/n/c"), 0);
}

static void test_recursive_descendants_not_children_changed(void **state)
{
        struct fixture *f = *state;
        add(f, 2, WATCH_KIND_RECURSIVE, "/r");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/r"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/r/x"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/r/x/y/z"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/r/x"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/r"), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/r/x"), 0);
        /* Prefix of a name is not an ancestor; siblings and parents are not covered. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/rr"), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/rr/x"), 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/"), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 2, S("/r")), WATCH_KIND_RECURSIVE);
}

static void test_recursive_on_root(void **state)
{
        struct fixture *f = *state;
        add(f, 4, WATCH_KIND_RECURSIVE, "/");
        add(f, 1, WATCH_KIND_CHILD, "/");
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/x"), 1);
        assert_int_equal(conn_at(f, 0), 4);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/x/y/z"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CHILDREN_CHANGED, "/"), 1);
        assert_int_equal(conn_at(f, 0), 1);
}

static void test_many_connections_sorted(void **state)
{
        struct fixture *f = *state;
        const uint64_t conns[] = {50, 7, 1000, 3, 999999, 42, 8};
        for (size_t i = 0; i < sizeof conns / sizeof conns[0]; i++)
                add(f, conns[i], i % 2 ? WATCH_KIND_DATA : WATCH_KIND_RECURSIVE, "/s");
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/s"), 7);
        for (size_t i = 1; i < f->ev.count; i++)
                assert_true(conn_at(f, i - 1) < conn_at(f, i));
        /* Events accumulate in one list across triggers. */
        watch_events_reset(&f->ev);
        add(f, 5, WATCH_KIND_DATA, "/t");
        assert_int_equal(watch_trigger(&f->wm, ZK_EVENT_NODE_DATA_CHANGED, S("/s"), &f->ev), 0);
        assert_int_equal(watch_trigger(&f->wm, ZK_EVENT_NODE_DATA_CHANGED, S("/t"), &f->ev), 0);
        assert_int_equal(f->ev.count, 5);
        assert_int_equal(f->ev.items[4].conn_id, 5);
}

static void test_remove_by_type(void **state)
{
        struct fixture *f = *state;
        const unsigned all =
            WATCH_KIND_DATA | WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT | WATCH_KIND_RECURSIVE;
        add(f, 1, all, "/w");
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_CHILDREN), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/w")),
                         WATCH_KIND_DATA | WATCH_KIND_RECURSIVE);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_CHILDREN), ZNOWATCHER);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_DATA), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/w")), 0);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_ANY), ZNOWATCHER);

        add(f, 1, all | WATCH_KIND_EXIST, "/w");
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_ANY), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/w")), 0);

        /* The 3.9 types remove exactly the one persistent watch. */
        add(f, 1, WATCH_KIND_PERSISTENT | WATCH_KIND_RECURSIVE | WATCH_KIND_DATA, "/w");
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), WATCH_WATCHER_PERSISTENT), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/w")),
                         WATCH_KIND_RECURSIVE | WATCH_KIND_DATA);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), WATCH_WATCHER_PERSISTENT_RECURSIVE), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/w")), WATCH_KIND_DATA);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), WATCH_WATCHER_PERSISTENT), ZNOWATCHER);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), 0), ZBADARGUMENTS);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), 6), ZBADARGUMENTS);
        /* Only that connection, only that path. */
        add(f, 2, WATCH_KIND_DATA, "/w");
        assert_int_equal(watch_remove(&f->wm, 3, S("/w"), ZK_WATCHER_ANY), ZNOWATCHER);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w/x"), ZK_WATCHER_ANY), ZNOWATCHER);
        assert_int_equal(watch_remove(&f->wm, 1, S("/w"), ZK_WATCHER_DATA), ZOK);
        assert_int_equal(watch_kinds_of(&f->wm, 2, S("/w")), WATCH_KIND_DATA);
        /* A removed watch no longer fires. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/w"), 1);
        assert_int_equal(conn_at(f, 0), 2);
}

static void test_removed_recursive_stops_firing(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_RECURSIVE, "/a");
        assert_int_equal(watch_remove(&f->wm, 1, S("/a"), ZK_WATCHER_DATA), ZOK);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/a/b"), 0);
}

static void test_check_by_type(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_CHILD, "/c");
        add(f, 2, WATCH_KIND_EXIST, "/c");
        add(f, 3, WATCH_KIND_RECURSIVE, "/c");
        add(f, 4, WATCH_KIND_PERSISTENT, "/c");
        assert_int_equal(watch_check(&f->wm, 1, S("/c"), ZK_WATCHER_CHILDREN), ZOK);
        assert_int_equal(watch_check(&f->wm, 1, S("/c"), ZK_WATCHER_DATA), ZNOWATCHER);
        assert_int_equal(watch_check(&f->wm, 1, S("/c"), ZK_WATCHER_ANY), ZOK);
        assert_int_equal(watch_check(&f->wm, 2, S("/c"), ZK_WATCHER_DATA), ZOK);
        assert_int_equal(watch_check(&f->wm, 2, S("/c"), ZK_WATCHER_CHILDREN), ZNOWATCHER);
        assert_int_equal(watch_check(&f->wm, 3, S("/c"), ZK_WATCHER_CHILDREN), ZNOWATCHER);
        assert_int_equal(watch_check(&f->wm, 3, S("/c"), ZK_WATCHER_DATA), ZOK);
        assert_int_equal(watch_check(&f->wm, 4, S("/c"), ZK_WATCHER_CHILDREN), ZOK);
        assert_int_equal(watch_check(&f->wm, 4, S("/c"), WATCH_WATCHER_PERSISTENT), ZOK);
        assert_int_equal(watch_check(&f->wm, 4, S("/c"), WATCH_WATCHER_PERSISTENT_RECURSIVE),
                         ZNOWATCHER);
        assert_int_equal(watch_check(&f->wm, 5, S("/c"), ZK_WATCHER_ANY), ZNOWATCHER);
        assert_int_equal(watch_check(&f->wm, 1, S("/c"), 9), ZBADARGUMENTS);
        /* Checking removes nothing. */
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/c")), WATCH_KIND_CHILD);
}

static void test_drop_conn(void **state)
{
        struct fixture *f = *state;
        char path[32];
        for (int i = 0; i < 500; i++) {
                snprintf(path, sizeof path, "/d/%d", i);
                add(f, 1, WATCH_KIND_DATA | WATCH_KIND_CHILD, path);
                add(f, 2, WATCH_KIND_DATA, path);
        }
        add(f, 1, WATCH_KIND_RECURSIVE, "/d");
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.conn_count, 2);
        assert_int_equal(st.path_count, 501);
        assert_int_equal(st.entry_count, 1001);
        assert_int_equal(st.watch_count, 1501);
        /* Connection 1 is the busiest: 500 x (data, child) + the recursive one. */
        assert_int_equal(st.conn_watch_peak, 1001);
        assert_true(st.conn_bytes_peak > 0);
        watch_drop_conn(&f->wm, 1);
        watch_drop_conn(&f->wm, 77); /* unknown: no-op */
        assert_true(watch_invariants_hold(&f->wm));
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.conn_count, 1);
        assert_int_equal(st.path_count, 500);
        assert_int_equal(st.watch_count, 500);
        assert_int_equal(st.conn_watch_peak, 500);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/d/7"), 1);
        assert_int_equal(conn_at(f, 0), 2);
        watch_drop_conn(&f->wm, 2);
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.conn_count, 0);
        assert_int_equal(st.path_count, 0);
        assert_int_equal(st.watch_count, 0);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DELETED, "/d/8"), 0);
}

static void test_add_is_idempotent(void **state)
{
        struct fixture *f = *state;
        add(f, 1, WATCH_KIND_DATA, "/i");
        add(f, 1, WATCH_KIND_DATA, "/i");
        add(f, 1, WATCH_KIND_DATA | WATCH_KIND_CHILD, "/i");
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.entry_count, 1);
        assert_int_equal(st.watch_count, 2);
}

static void test_limit_per_connection(void **state)
{
        struct fixture *f = *state; /* limit 3 */
        add(f, 1, WATCH_KIND_DATA | WATCH_KIND_CHILD, "/a");
        add(f, 1, WATCH_KIND_DATA, "/b");
        assert_int_equal(watch_add(&f->wm, 1, 1, WATCH_KIND_DATA, S("/c")), SYN_ELIMIT);
        assert_int_equal(watch_add(&f->wm, 1, 1, WATCH_KIND_CHILD, S("/b")), SYN_ELIMIT);
        /* Re-adding what it holds is fine; other connections have their own budget. */
        add(f, 1, WATCH_KIND_DATA, "/b");
        add(f, 2, WATCH_KIND_DATA | WATCH_KIND_CHILD | WATCH_KIND_EXIST, "/c");
        assert_int_equal(watch_add(&f->wm, 2, 2, WATCH_KIND_ALL, S("/d")), SYN_ELIMIT);
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.rejected_count, 3);
        assert_int_equal(st.watch_count, 6);
        assert_int_equal(watch_kinds_of(&f->wm, 1, S("/c")), 0);
        /* Firing frees budget. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/b"), 1);
        add(f, 1, WATCH_KIND_DATA, "/c");
}

/* The per-connection byte budget: entries are charged overhead + path length. */
static void test_byte_limit_per_connection(void **state)
{
        (void)state;
        enum { LONG = 1000 };
        const uint64_t budget =
            2 * (WATCH_ENTRY_OVERHEAD_BYTES + LONG) + (WATCH_ENTRY_OVERHEAD_BYTES + 10);
        struct watch_manager wm;
        assert_int_equal(
            watch_init(&wm, &(struct watch_options){.watches_per_conn_max = WATCH_PER_CONN_MAX,
                                                    .watch_bytes_per_conn_max = budget}),
            SYN_OK);
        char p1[LONG + 1], p2[LONG + 1];
        memset(p1, 'a', LONG);
        memset(p2, 'b', LONG);
        p1[0] = p2[0] = '/';
        p1[LONG] = p2[LONG] = '\0';
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_DATA, p1, LONG), SYN_OK);
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_CHILD, p1, LONG), SYN_OK); /* same entry */
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_DATA, p2, LONG), SYN_OK);
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_DATA, S("/c23456789")), SYN_OK);
        /* Exactly at the budget: a new entry, however short, is refused ... */
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_DATA, S("/d")), SYN_ELIMIT);
        assert_int_equal(watch_kinds_of(&wm, 1, S("/d")), 0);
        /* ... a new kind on an entry it holds is not; other connections have their own. */
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_RECURSIVE, p2, LONG), SYN_OK);
        assert_int_equal(watch_add(&wm, 2, 2, WATCH_KIND_DATA, p1, LONG), SYN_OK);
        struct watch_stats st;
        watch_get_stats(&wm, &st);
        assert_int_equal(st.rejected_bytes_count, 1);
        assert_int_equal(st.rejected_count, 0);
        assert_true(watch_invariants_hold(&wm));
        /* A fired one-shot frees its entry's bytes. */
        struct watch_events ev;
        watch_events_init(&ev);
        assert_int_equal(watch_trigger(&wm, ZK_EVENT_NODE_DATA_CHANGED, S("/c23456789"), &ev),
                         SYN_OK);
        assert_int_equal(ev.count, 1);
        watch_events_close(&ev);
        assert_int_equal(watch_add(&wm, 1, 1, WATCH_KIND_DATA, S("/d")), SYN_OK);
        assert_true(watch_invariants_hold(&wm));
        watch_drop_conn(&wm, 1);
        assert_true(watch_invariants_hold(&wm));
        watch_close(&wm);
        assert_int_equal(watch_init(&wm, &(struct watch_options){.watches_per_conn_max = 1,
                                                                 .watch_bytes_per_conn_max =
                                                                     WATCH_PER_CONN_BYTES_MAX + 1}),
                         SYN_EINVAL);
}

/* ---- SetWatches with a fake tree ---- */

struct fake_node {
        const char *path;
        int64_t mzxid;
        int64_t pzxid;
};

struct fake_tree {
        const struct fake_node *nodes;
        size_t count;
        size_t lookups;
};

static void fake_lookup(void *arg, const char *path, size_t path_len, struct watch_node_info *info)
{
        struct fake_tree *t = arg;
        t->lookups++;
        info->exists = false;
        for (size_t i = 0; i < t->count; i++) {
                if (strlen(t->nodes[i].path) == path_len &&
                    memcmp(t->nodes[i].path, path, path_len) == 0) {
                        info->exists = true;
                        info->mzxid = t->nodes[i].mzxid;
                        info->pzxid = t->nodes[i].pzxid;
                }
        }
}

static void expect_event(struct fixture *f, size_t i, int32_t type, const char *path)
{
        assert_true(i < f->ev.count);
        assert_int_equal(f->ev.items[i].conn_id, 7);
        assert_int_equal(f->ev.items[i].type, type);
        assert_int_equal(f->ev.items[i].path_len, strlen(path));
        assert_memory_equal(f->ev.items[i].path, path, strlen(path));
}

#define PATHS(...)                                                                                 \
        {                                                                                          \
                .paths = (const char *const[]){__VA_ARGS__},                                       \
                .path_lens =                                                                       \
                    lens_of((const char *const[]){__VA_ARGS__},                                    \
                            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)),    \
                .count = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)         \
        }

static size_t lens_store[64];
static size_t lens_used;

static const size_t *lens_of(const char *const *paths, size_t n)
{
        assert_true(lens_used + n <= 64);
        size_t *l = lens_store + lens_used;
        for (size_t i = 0; i < n; i++)
                l[i] = strlen(paths[i]);
        lens_used += n;
        return l;
}

static void test_set_watches_rules(void **state)
{
        struct fixture *f = *state;
        const struct fake_node nodes[] = {
            {"/old", 5, 5},   /* unchanged since zxid 10 */
            {"/dchg", 11, 3}, /* data changed after 10 */
            {"/cchg", 2, 12}, /* children changed after 10 */
            {"/born", 15, 15},
        };
        struct fake_tree tree = {.nodes = nodes, .count = 4};
        lens_used = 0;
        struct watch_set_request req = {
            .relative_zxid = 10,
            .data = PATHS("/old", "/dchg", "/gone", "/cchg"),
            .exist = PATHS("/born", "/notyet"),
            .child = PATHS("/old", "/cchg", "/gone2", "/dchg"),
            .persistent = PATHS("/p", "/gone3"),
            .persistent_recursive = PATHS("/r"),
        };
        assert_int_equal(watch_set_watches(&f->wm, 7, 0x77, &req, &f->ev, &tree, fake_lookup),
                         SYN_OK);
        assert_int_equal(f->ev.count, 5);
        expect_event(f, 0, ZK_EVENT_NODE_DATA_CHANGED, "/dchg");
        expect_event(f, 1, ZK_EVENT_NODE_DELETED, "/gone");
        expect_event(f, 2, ZK_EVENT_NODE_CREATED, "/born");
        /* Replayed one-shot watches: no READ re-check at delivery. */
        assert_int_equal(f->ev.items[0].kinds, WATCH_KIND_DATA);
        assert_int_equal(f->ev.items[2].kinds, WATCH_KIND_EXIST);
        expect_event(f, 3, ZK_EVENT_NODE_CHILDREN_CHANGED, "/cchg");
        expect_event(f, 4, ZK_EVENT_NODE_DELETED, "/gone2");
        /* Persistent lists never consult the tree. */
        assert_int_equal(tree.lookups, 10);

        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/old")), WATCH_KIND_DATA | WATCH_KIND_CHILD);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/cchg")), WATCH_KIND_DATA);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/dchg")), WATCH_KIND_CHILD);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/notyet")), WATCH_KIND_EXIST);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/born")), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/gone")), 0);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/p")), WATCH_KIND_PERSISTENT);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/gone3")), WATCH_KIND_PERSISTENT);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/r")), WATCH_KIND_RECURSIVE);

        /* The registered watches work like any other. */
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/notyet"), 1);
        assert_int_equal(fire(f, ZK_EVENT_NODE_CREATED, "/r/kid"), 1);
        assert_int_equal(conn_at(f, 0), 7);
}

static void test_set_watches_equal_zxid_registers(void **state)
{
        struct fixture *f = *state;
        const struct fake_node nodes[] = {{"/e", 10, 10}};
        struct fake_tree tree = {.nodes = nodes, .count = 1};
        lens_used = 0;
        struct watch_set_request req = {
            .relative_zxid = 10, .data = PATHS("/e"), .child = PATHS("/e")};
        assert_int_equal(watch_set_watches(&f->wm, 7, 0x77, &req, &f->ev, &tree, fake_lookup),
                         SYN_OK);
        assert_int_equal(f->ev.count, 0);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/e")), WATCH_KIND_DATA | WATCH_KIND_CHILD);
}

static void test_set_watches_skips_hostile_paths(void **state)
{
        struct fixture *f = *state;
        struct fake_tree tree = {.count = 0};
        const char *const paths[] = {"nope", "", "/ok", "/a\0b"};
        const size_t lens[] = {4, 0, 3, 4};
        struct watch_set_request req = {
            .relative_zxid = 0,
            .exist = {.paths = paths, .path_lens = lens, .count = 4},
            .persistent = {.paths = paths, .path_lens = lens, .count = 4},
        };
        assert_int_equal(watch_set_watches(&f->wm, 7, 0x77, &req, &f->ev, &tree, fake_lookup),
                         SYN_OK);
        assert_int_equal(f->ev.count, 0);
        assert_int_equal(tree.lookups, 1);
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.entry_count, 1);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/ok")),
                         WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT);
}

static void test_set_watches_limit(void **state)
{
        struct fixture *f = *state; /* limit 3 */
        const struct fake_node nodes[] = {{"/x", 1, 1}};
        struct fake_tree tree = {.nodes = nodes, .count = 1};
        lens_used = 0;
        struct watch_set_request req = {
            .relative_zxid = 5,
            .exist = PATHS("/m1", "/m2", "/m3", "/m4", "/x"),
        };
        assert_int_equal(watch_set_watches(&f->wm, 7, 0x77, &req, &f->ev, &tree, fake_lookup),
                         SYN_ELIMIT);
        /* The event after the refusal is still produced. */
        assert_int_equal(f->ev.count, 1);
        expect_event(f, 0, ZK_EVENT_NODE_CREATED, "/x");
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.watch_count, 3);
        assert_int_equal(st.rejected_count, 1);
        assert_int_equal(watch_kinds_of(&f->wm, 7, S("/m4")), 0);
}

/* ---- listings ---- */

static void test_listings(void **state)
{
        struct fixture *f = *state;
        /* add() uses session = conn + 0x1000. */
        add(f, 2, WATCH_KIND_DATA, "/b");
        add(f, 2, WATCH_KIND_CHILD | WATCH_KIND_DATA, "/a");
        add(f, 1, WATCH_KIND_RECURSIVE, "/b");
        /* A second connection of session 0x1001 on the same path: listed once. */
        assert_int_equal(watch_add(&f->wm, 9, 0x1001, WATCH_KIND_DATA, S("/b")), SYN_OK);
        struct watch_pair *pairs;
        size_t n;
        assert_int_equal(watch_list(&f->wm, WATCH_BY_SESSION, &pairs, &n), SYN_OK);
        assert_int_equal(n, 3);
        assert_int_equal(pairs[0].session_id, 0x1001);
        assert_string_equal(pairs[0].path, "/b");
        assert_int_equal(pairs[1].session_id, 0x1002);
        assert_string_equal(pairs[1].path, "/a");
        assert_int_equal(pairs[2].session_id, 0x1002);
        assert_string_equal(pairs[2].path, "/b");
        free(pairs);
        assert_int_equal(watch_list(&f->wm, WATCH_BY_PATH, &pairs, &n), SYN_OK);
        assert_int_equal(n, 3);
        assert_string_equal(pairs[0].path, "/a");
        assert_string_equal(pairs[1].path, "/b");
        assert_int_equal(pairs[1].session_id, 0x1001);
        assert_string_equal(pairs[2].path, "/b");
        assert_int_equal(pairs[2].session_id, 0x1002);
        free(pairs);
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.conn_count, 3);
        assert_int_equal(st.path_count, 2);
        assert_int_equal(st.entry_count, 4);
        assert_int_equal(st.watch_count, 5);
}

static void test_listing_empty(void **state)
{
        struct fixture *f = *state;
        struct watch_pair *pairs = (struct watch_pair *)1;
        size_t n = 99;
        assert_int_equal(watch_list(&f->wm, WATCH_BY_PATH, &pairs, &n), SYN_OK);
        assert_null(pairs);
        assert_int_equal(n, 0);
}

/* Many paths and connections: the tables grow and shrink and stay consistent. */
static void test_scale_grow_shrink(void **state)
{
        struct fixture *f = *state;
        char path[64];
        for (uint64_t c = 1; c <= 40; c++) {
                for (int i = 0; i < 100; i++) {
                        snprintf(path, sizeof path, "/s/%d/%llu", i, (unsigned long long)(c % 4));
                        add(f, c, WATCH_KIND_DATA, path);
                }
        }
        assert_true(watch_invariants_hold(&f->wm));
        struct watch_stats st;
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.path_count, 400);
        assert_int_equal(st.entry_count, 4000);
        assert_int_equal(fire(f, ZK_EVENT_NODE_DATA_CHANGED, "/s/17/2"), 10);
        for (uint64_t c = 1; c <= 39; c++)
                watch_drop_conn(&f->wm, c);
        assert_true(watch_invariants_hold(&f->wm));
        watch_get_stats(&f->wm, &st);
        assert_int_equal(st.conn_count, 1);
        assert_int_equal(st.entry_count, 100);
        assert_true(f->wm.entries.bucket_count < 4096); /* shrank from 4096 */
}

/* ---- model check: random operations against a naive reference ---- */

#define MODEL_CONNS 6
#define MODEL_PATHS 9

static const char *const model_paths[MODEL_PATHS] = {"/",     "/a",  "/a/b", "/a/b/c",  "/b",
                                                     "/a/bc", "/ab", "/b/a", "/a/b/c/d"};

/* Is anc a proper ancestor of path? */
static bool model_ancestor(const char *anc, const char *path)
{
        size_t n = strlen(anc);
        if (strcmp(anc, path) == 0)
                return false;
        if (strcmp(anc, "/") == 0)
                return true;
        return strncmp(anc, path, n) == 0 && path[n] == '/';
}

static unsigned model_exact_mask(int32_t type)
{
        switch (type) {
        case ZK_EVENT_NODE_CREATED:
        case ZK_EVENT_NODE_DATA_CHANGED:
                return WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_PERSISTENT |
                       WATCH_KIND_RECURSIVE;
        case ZK_EVENT_NODE_DELETED:
                return WATCH_KIND_ALL;
        default:
                return WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT;
        }
}

static void model_trigger(unsigned kinds[MODEL_CONNS][MODEL_PATHS], int32_t type, size_t pi,
                          bool delivered[MODEL_CONNS])
{
        unsigned mask = model_exact_mask(type);
        for (size_t c = 0; c < MODEL_CONNS; c++) {
                unsigned fired = kinds[c][pi] & mask;
                bool recursive = false;
                for (size_t a = 0; a < MODEL_PATHS; a++) {
                        if (type != ZK_EVENT_NODE_CHILDREN_CHANGED &&
                            (kinds[c][a] & WATCH_KIND_RECURSIVE) &&
                            model_ancestor(model_paths[a], model_paths[pi]))
                                recursive = true;
                }
                delivered[c] = fired != 0 || recursive;
                kinds[c][pi] &= ~(fired & (WATCH_KIND_DATA | WATCH_KIND_EXIST | WATCH_KIND_CHILD));
        }
}

static void model_step(struct fixture *f, struct syn_rand *r,
                       unsigned kinds[MODEL_CONNS][MODEL_PATHS])
{
        static const int32_t types[] = {ZK_EVENT_NODE_CREATED, ZK_EVENT_NODE_DELETED,
                                        ZK_EVENT_NODE_DATA_CHANGED, ZK_EVENT_NODE_CHILDREN_CHANGED};
        size_t c = syn_rand_below(r, MODEL_CONNS);
        size_t pi = syn_rand_below(r, MODEL_PATHS);
        const char *path = model_paths[pi];
        uint64_t op = syn_rand_below(r, 10);
        if (op < 5) {
                unsigned k = 1u << syn_rand_below(r, 5);
                add(f, c, k, path);
                kinds[c][pi] |= k;
        } else if (op < 8) {
                int32_t type = types[syn_rand_below(r, 4)];
                bool expect[MODEL_CONNS];
                model_trigger(kinds, type, pi, expect);
                size_t n = fire(f, type, path), seen = 0;
                for (size_t i = 0; i < MODEL_CONNS; i++) {
                        if (!expect[i])
                                continue;
                        assert_true(seen < n);
                        assert_int_equal(conn_at(f, seen), i);
                        seen++;
                }
                assert_int_equal(seen, n);
        } else if (op < 9) {
                int32_t wt = (int32_t)syn_rand_range(r, 1, 5);
                unsigned mask = wt == ZK_WATCHER_CHILDREN ? WATCH_KIND_CHILD | WATCH_KIND_PERSISTENT
                                : wt == ZK_WATCHER_DATA   ? WATCH_KIND_ALL & ~WATCH_KIND_CHILD
                                : wt == ZK_WATCHER_ANY    ? WATCH_KIND_ALL
                                : wt == 4                 ? WATCH_KIND_PERSISTENT
                                                          : WATCH_KIND_RECURSIVE;
                int want = (kinds[c][pi] & mask) ? ZOK : ZNOWATCHER;
                assert_int_equal(watch_remove(&f->wm, c, path, strlen(path), wt), want);
                kinds[c][pi] &= ~mask;
        } else {
                watch_drop_conn(&f->wm, c);
                memset(kinds[c], 0, sizeof kinds[c]);
        }
}

static void test_model_random(void **state)
{
        struct fixture *f = *state;
        for (uint64_t seed = 1; seed <= 20; seed++) {
                struct syn_rand r;
                syn_rand_seed(&r, seed);
                unsigned kinds[MODEL_CONNS][MODEL_PATHS];
                memset(kinds, 0, sizeof kinds);
                for (int step = 0; step < 400; step++) {
                        model_step(f, &r, kinds);
                        if (step % 50 == 0)
                                assert_true(watch_invariants_hold(&f->wm));
                }
                for (size_t c = 0; c < MODEL_CONNS; c++) {
                        for (size_t pi = 0; pi < MODEL_PATHS; pi++) {
                                const char *p = model_paths[pi];
                                assert_int_equal(watch_kinds_of(&f->wm, c, p, strlen(p)),
                                                 kinds[c][pi]);
                        }
                        watch_drop_conn(&f->wm, c);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_init_rejects_bad_options),
            cmocka_unit_test_setup_teardown(test_add_rejects_bad_input, setup, teardown),
            cmocka_unit_test_setup_teardown(test_created_fires_data_and_exist_not_child, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_deleted_fires_data_exist_and_child, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_data_changed_fires_data_not_child, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_children_changed_fires_child_not_data, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_one_delivery_per_connection, setup, teardown),
            cmocka_unit_test_setup_teardown(test_persistent_gets_all_four_and_stays, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_recursive_descendants_not_children_changed, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_recursive_on_root, setup, teardown),
            cmocka_unit_test_setup_teardown(test_many_connections_sorted, setup, teardown),
            cmocka_unit_test_setup_teardown(test_remove_by_type, setup, teardown),
            cmocka_unit_test_setup_teardown(test_removed_recursive_stops_firing, setup, teardown),
            cmocka_unit_test_setup_teardown(test_check_by_type, setup, teardown),
            cmocka_unit_test_setup_teardown(test_drop_conn, setup, teardown),
            cmocka_unit_test_setup_teardown(test_add_is_idempotent, setup, teardown),
            cmocka_unit_test_setup_teardown(test_limit_per_connection, setup_small, teardown),
            cmocka_unit_test(test_byte_limit_per_connection),
            cmocka_unit_test_setup_teardown(test_set_watches_rules, setup, teardown),
            cmocka_unit_test_setup_teardown(test_set_watches_equal_zxid_registers, setup, teardown),
            cmocka_unit_test_setup_teardown(test_set_watches_skips_hostile_paths, setup, teardown),
            cmocka_unit_test_setup_teardown(test_set_watches_limit, setup_small, teardown),
            cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_listing_empty, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delivery_kinds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_scale_grow_shrink, setup, teardown),
            cmocka_unit_test_setup_teardown(test_model_random, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
