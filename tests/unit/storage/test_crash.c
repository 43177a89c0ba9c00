/*
 * Crash tests: a fixed workload (appends across segment rotations, suffix
 * truncations, term/vote writes) is cut by a crash after every possible number
 * of disk operations, with several seeds choosing which unsynced writes reach
 * the platter (crash_fs.h). After each crash the WAL must open without
 * corruption, keep every entry and the term that a flush acknowledged as
 * durable (minus what the host itself truncated afterwards), hold no entry
 * that was never written, and accept new entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "crash_fs.h"
#include "helpers.h"
#include "storage/storage.h"

#define MODEL_ENTRIES_MAX 512

struct model {
        uint64_t last;
        uint64_t term[MODEL_ENTRIES_MAX];
        uint64_t meta_term;
};

static size_t payload_of(uint64_t index, uint64_t term, uint8_t *buf)
{
        size_t len = (size_t)((index * 13 + term * 7) % 300);
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(index ^ (term * 31) ^ i);
        return len;
}

/* Runs the workload until the disk dies. *acked = the state as of the last
 * successful flush; *floor = lowest suffix truncation queued since (or max). */
static void run_workload(struct wal *wal, struct model *acked, uint64_t *floor)
{
        static struct model cur;
        memset(&cur, 0, sizeof cur);
        uint64_t term = 1;
        uint8_t buf[300];
        for (uint64_t round = 0; round < 24; round++) {
                if (round % 6 == 5 && cur.last > 4) {
                        uint64_t idx = cur.last - 2;
                        if (wal_truncate_suffix(wal, idx) != SYN_OK)
                                return;
                        cur.last = idx - 1;
                        term++;
                        if (idx < *floor)
                                *floor = idx;
                }
                if (round % 4 == 3) {
                        struct wal_meta m = {.term = term, .vote = round};
                        if (wal_save_meta(wal, &m) != SYN_OK)
                                return;
                        cur.meta_term = term;
                }
                for (uint64_t k = 0; k < 1 + round % 5; k++) {
                        uint64_t i = cur.last + 1;
                        size_t len = payload_of(i, term, buf);
                        if (wal_append(wal, 1, term, i, buf, len) != SYN_OK)
                                return;
                        cur.term[i] = term;
                        cur.last = i;
                }
                if (wal_flush(wal, NULL) != SYN_OK)
                        return;
                *acked = cur;
                *floor = UINT64_MAX;
        }
}

/* Real fsyncs add nothing after the crash model: skip them to keep the test fast. */
static int no_sync(void *ctx, int fd)
{
        (void)ctx;
        (void)fd;
        return SYN_OK;
}

static int no_sync_dir(void *ctx, const char *path)
{
        (void)ctx;
        (void)path;
        return SYN_OK;
}

static void check_recovered(const char *dir, const struct model *acked, uint64_t floor,
                            long crash_at, uint64_t seed)
{
        struct wal wal;
        struct wal_recovered rec;
        struct storage_fs fast = *storage_fs_posix();
        fast.fdatasync = no_sync;
        fast.sync_dir = no_sync_dir;
        struct wal_options o = {.fs = &fast, .segment_bytes = 4096, .preallocate = true};
        int err = wal_open(&wal, dir, &o, &rec);
        if (err != SYN_OK)
                fail_msg("crash after %ld ops (seed %llu): open failed: %s", crash_at,
                         (unsigned long long)seed, syn_strerror(err));
        uint8_t buf[300];
        for (size_t k = 0; k < rec.count; k++) {
                const struct wal_entry *e = &rec.entries[k];
                assert_int_equal(e->index, k + 1);
                size_t len = payload_of(e->index, e->term, buf);
                assert_int_equal(e->len, len);
                if (len)
                        assert_memory_equal(e->data, buf, len);
        }
        uint64_t must = acked->last < floor ? acked->last : floor - 1;
        if (rec.count < must)
                fail_msg("crash after %ld ops (seed %llu): lost acknowledged entries: have %zu, "
                         "acknowledged %llu",
                         crash_at, (unsigned long long)seed, rec.count, (unsigned long long)must);
        for (uint64_t i = 1; i <= must; i++)
                assert_int_equal(rec.entries[i - 1].term, acked->term[i]);
        assert_true(rec.meta.term >= acked->meta_term);
        /* The repaired WAL takes new entries. */
        uint64_t next = rec.count + 1;
        assert_int_equal(wal_next_index(&wal), next);
        size_t len = payload_of(next, 99, buf);
        assert_int_equal(wal_append(&wal, 1, 99, next, buf, len), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_recovered_free(&rec);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, next);
        assert_int_equal(rec.entries[next - 1].term, 99);
        wal_recovered_free(&rec);
        wal_close(&wal);
}

/* One run: crash after crash_at ops (-1 = never); returns the ops performed. */
static long crash_run(long crash_at, uint64_t seed)
{
        char dir[256];
        test_tmpdir(dir);
        static struct crash_fs cf;
        crash_fs_init(&cf, crash_at);
        static struct model acked;
        memset(&acked, 0, sizeof acked);
        uint64_t floor = UINT64_MAX;
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = {.fs = &cf.fs, .segment_bytes = 4096, .preallocate = true};
        if (wal_open(&wal, dir, &o, &rec) == SYN_OK) {
                wal_recovered_free(&rec);
                run_workload(&wal, &acked, &floor);
                wal_close(&wal);
        }
        long ops = cf.ops_done;
        crash_fs_crash(&cf, seed);
        crash_fs_close(&cf);
        check_recovered(dir, &acked, floor, crash_at, seed);
        test_rmrf(dir);
        return ops;
}

static void acknowledged_entries_survive_a_crash_at_every_op(void **state)
{
        (void)state;
        long total = crash_run(-1, 0);
        assert_true(total > 50);
        for (long at = 0; at <= total; at++)
                for (uint64_t seed = 1; seed <= 3; seed++)
                        crash_run(at, (uint64_t)at * 7919 + seed);
}

int test_crash_group(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(acknowledged_entries_survive_a_crash_at_every_op),
        };
        return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
