/*
 * Out-of-memory tests of the watch manager: the watch sources are compiled
 * with malloc/calloc/realloc renamed to the failing allocator of
 * tests/unit/tree/nomem_alloc.c (see CMakeLists.txt).
 *
 * The property: a notification is never lost silently. When watch_trigger
 * cannot queue an event, every connection it was meant for comes back from
 * watch_take_lost (the server closes those; their clients re-send their
 * watches with SetWatches and get the missed events then).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/limits.h"
#include "base/zk_types.h"
#include "nomem_alloc.h"
#include "watch/watch.h"

enum { CONNS_MAX = 16 };

static void init(struct watch_manager *wm)
{
        nomem_fail_from(-1);
        assert_int_equal(
            watch_init(wm, &(struct watch_options){.watches_per_conn_max = WATCH_PER_CONN_MAX,
                                                   .hash_seed = 7}),
            SYN_OK);
}

static void add(struct watch_manager *wm, uint64_t conn, unsigned kinds, const char *path)
{
        assert_int_equal(watch_add(wm, conn, conn + 0x100, kinds, path, strlen(path)), SYN_OK);
}

static int trigger(struct watch_manager *wm, int32_t type, const char *path,
                   struct watch_events *ev)
{
        return watch_trigger(wm, type, path, strlen(path), ev);
}

/* Takes every lost connection, a few at a time; returns them as a bit set of conn ids. */
static uint32_t take_all_lost(struct watch_manager *wm)
{
        uint32_t set = 0;
        uint64_t ids[2];
        size_t n;
        while ((n = watch_take_lost(wm, ids, 2)) > 0) {
                for (size_t i = 0; i < n; i++) {
                        assert_true(ids[i] < CONNS_MAX);
                        assert_false(set & (1u << ids[i])); /* each one once */
                        set |= 1u << ids[i];
                }
        }
        return set;
}

/* Connection 1 data, 2 and 3 recursive above, 4 a child watch (not a target of
 * NodeDataChanged), 5 a data watch elsewhere. */
static void watch_scene(struct watch_manager *wm)
{
        add(wm, 1, WATCH_KIND_DATA, "/a/b");
        add(wm, 2, WATCH_KIND_RECURSIVE, "/a");
        add(wm, 3, WATCH_KIND_RECURSIVE, "/");
        add(wm, 4, WATCH_KIND_CHILD, "/a/b");
        add(wm, 5, WATCH_KIND_DATA, "/x");
}

static void trigger_out_of_memory_marks_every_target_lost(void **state)
{
        (void)state;
        struct watch_manager wm;
        init(&wm);
        watch_scene(&wm);
        struct watch_events ev;
        watch_events_init(&ev);
        assert_int_equal(take_all_lost(&wm), 0); /* nothing marked yet */

        nomem_fail_from(0);
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_DATA_CHANGED, "/a/b", &ev), SYN_ENOMEM);
        assert_true(nomem_failed());
        nomem_fail_from(-1);
        assert_int_equal(ev.count, 0);
        /* Nothing was removed: the one-shot watch is still there. */
        assert_int_equal(watch_kinds_of(&wm, 1, "/a/b", 4), WATCH_KIND_DATA | 0u);
        assert_true(watch_invariants_hold(&wm));

        struct watch_stats st;
        watch_get_stats(&wm, &st);
        assert_int_equal(st.lost_count, 3);
        assert_int_equal(st.lost_pending_count, 3);
        assert_int_equal(take_all_lost(&wm), (1u << 1) | (1u << 2) | (1u << 3));
        assert_int_equal(take_all_lost(&wm), 0); /* taken once */
        watch_get_stats(&wm, &st);
        assert_int_equal(st.lost_pending_count, 0);
        assert_true(watch_invariants_hold(&wm));

        /* With memory back, the same event reaches the same three. */
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_DATA_CHANGED, "/a/b", &ev), SYN_OK);
        assert_int_equal(ev.count, 3);
        assert_int_equal(ev.items[0].conn_id, 1);
        assert_int_equal(ev.items[2].conn_id, 3);
        watch_events_close(&ev);
        watch_close(&wm);
}

static void lost_mark_outlives_the_last_watch(void **state)
{
        (void)state;
        struct watch_manager wm;
        init(&wm);
        add(&wm, 1, WATCH_KIND_DATA, "/n");
        add(&wm, 2, WATCH_KIND_DATA, "/n");
        struct watch_events ev;
        watch_events_init(&ev);
        nomem_fail_from(0);
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_DELETED, "/n", &ev), SYN_ENOMEM);
        nomem_fail_from(-1);
        /* The connections lose their only watch before the server takes the marks. */
        assert_int_equal(watch_remove(&wm, 1, "/n", 2, ZK_WATCHER_ANY), ZOK);
        assert_int_equal(watch_remove(&wm, 2, "/n", 2, ZK_WATCHER_ANY), ZOK);
        assert_true(watch_invariants_hold(&wm));
        /* Connection 2 closes for another reason: it is not handed out again. */
        watch_drop_conn(&wm, 2);
        assert_true(watch_invariants_hold(&wm));
        assert_int_equal(take_all_lost(&wm), 1u << 1);
        assert_true(watch_invariants_hold(&wm));
        struct watch_stats st;
        watch_get_stats(&wm, &st);
        assert_int_equal(st.conn_count, 0); /* the kept records are gone now */
        assert_int_equal(st.lost_count, 2);
        watch_events_close(&ev);
        watch_close(&wm);
}

static void dropping_a_marked_connection_with_watches_unmarks_it(void **state)
{
        (void)state;
        struct watch_manager wm;
        init(&wm);
        add(&wm, 1, WATCH_KIND_PERSISTENT, "/p");
        add(&wm, 1, WATCH_KIND_DATA, "/q");
        add(&wm, 2, WATCH_KIND_PERSISTENT, "/p");
        struct watch_events ev;
        watch_events_init(&ev);
        nomem_fail_from(0);
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_CREATED, "/p", &ev), SYN_ENOMEM);
        /* A second loss for the same connections marks them once. */
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_DATA_CHANGED, "/p", &ev), SYN_ENOMEM);
        nomem_fail_from(-1);
        watch_drop_conn(&wm, 1);
        assert_true(watch_invariants_hold(&wm));
        assert_int_equal(take_all_lost(&wm), 1u << 2);
        /* watch_close frees records that are still marked. */
        nomem_fail_from(0);
        assert_int_equal(trigger(&wm, ZK_EVENT_NODE_DATA_CHANGED, "/p", &ev), SYN_ENOMEM);
        nomem_fail_from(-1);
        watch_events_close(&ev);
        watch_close(&wm);
}

/*
 * For every allocation that can fail during a batch of triggers: each
 * connection a trigger would have notified (in a run where nothing fails) either
 * got that trigger's event or is handed out by watch_take_lost.
 */
#define BATCH 6
static const struct {
        int32_t type;
        const char *path;
} batch[BATCH] = {
    {ZK_EVENT_NODE_CREATED, "/a/b/c"},        {ZK_EVENT_NODE_DATA_CHANGED, "/a/b"},
    {ZK_EVENT_NODE_CHILDREN_CHANGED, "/a/b"}, {ZK_EVENT_NODE_DELETED, "/a/b"},
    {ZK_EVENT_NODE_DATA_CHANGED, "/x"},       {ZK_EVENT_NODE_DELETED, "/a"},
};

static void big_scene(struct watch_manager *wm)
{
        watch_scene(wm);
        add(wm, 6, WATCH_KIND_EXIST, "/a/b/c");
        add(wm, 7, WATCH_KIND_PERSISTENT, "/a/b");
        add(wm, 8, WATCH_KIND_DATA | WATCH_KIND_CHILD, "/a");
        for (uint64_t c = 9; c < CONNS_MAX; c++)
                add(wm, c, WATCH_KIND_DATA, c % 2 ? "/a/b" : "/x");
}

/* Runs the batch on a fresh scene; targets[i] = the conns trigger i reached. */
static uint32_t run_batch(long fail_from, uint32_t targets[BATCH], long *allocations)
{
        struct watch_manager wm;
        init(&wm);
        big_scene(&wm);
        struct watch_events ev;
        watch_events_init(&ev);
        nomem_fail_from(fail_from);
        for (int i = 0; i < BATCH; i++) {
                /* One list per trigger, as small as it can start, so each one allocates. */
                watch_events_close(&ev);
                int rc = trigger(&wm, batch[i].type, batch[i].path, &ev);
                assert_true(rc == SYN_OK || rc == SYN_ENOMEM);
                targets[i] = 0;
                for (size_t k = 0; rc == SYN_OK && k < ev.count; k++)
                        targets[i] |= 1u << ev.items[k].conn_id;
                if (rc != SYN_OK)
                        assert_int_equal(ev.count, 0);
        }
        *allocations = nomem_count();
        nomem_fail_from(-1);
        assert_true(watch_invariants_hold(&wm));
        uint32_t lost = take_all_lost(&wm);
        assert_true(watch_invariants_hold(&wm));
        watch_events_close(&ev);
        watch_close(&wm);
        return lost;
}

static void no_notification_is_lost_silently(void **state)
{
        (void)state;
        uint32_t want[BATCH], got[BATCH];
        long allocations;
        assert_int_equal(run_batch(-1, want, &allocations), 0);
        assert_true(allocations >= BATCH);
        for (int i = 0; i < BATCH; i++)
                assert_int_not_equal(want[i], 0); /* every trigger reaches someone */
        int runs_with_losses = 0;
        for (long n = 0; n <= allocations; n++) {
                long attempted;
                uint32_t lost = run_batch(n, got, &attempted);
                for (int i = 0; i < BATCH; i++)
                        assert_int_equal(want[i] & ~(got[i] | lost), 0);
                runs_with_losses += lost != 0;
        }
        assert_true(runs_with_losses >= BATCH); /* the first allocation of each trigger */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(trigger_out_of_memory_marks_every_target_lost),
            cmocka_unit_test(lost_mark_outlives_the_last_watch),
            cmocka_unit_test(dropping_a_marked_connection_with_watches_unmarks_it),
            cmocka_unit_test(no_notification_is_lost_silently),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
