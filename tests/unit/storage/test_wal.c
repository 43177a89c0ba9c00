/*
 * WAL tests: round trip, rotation, group commit on the I/O thread, truncation,
 * metadata, retention, and injected disk errors (ENOSPC, EIO, failed fdatasync).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/rand.h"
#include "helpers.h"
#include "storage/storage.h"

static struct wal_options opts(const struct fault_fs *ff, uint64_t segment_bytes, bool thread)
{
        return (struct wal_options){
            .fs = ff ? &ff->fs : NULL,
            .segment_bytes = segment_bytes,
            .preallocate = true,
            .io_thread = thread,
        };
}

/* Appends entries [from, to] with the given term. */
static void append_range(struct wal *wal, uint64_t from, uint64_t to, uint64_t term)
{
        uint8_t buf[256];
        for (uint64_t i = from; i <= to; i++) {
                size_t len = test_payload(i, buf, sizeof buf);
                assert_int_equal(wal_append(wal, (uint8_t)(1 + i % 3), term, i, buf, len), SYN_OK);
        }
}

/* Checks that rec holds exactly [from, to], payloads as test_payload, term by fn. */
static void check_range(const struct wal_recovered *rec, uint64_t from, uint64_t to,
                        uint64_t (*term_of)(uint64_t))
{
        assert_int_equal(rec->count, to - from + 1);
        assert_int_equal(rec->first_index, from);
        assert_int_equal(rec->last_index, to);
        uint8_t buf[256];
        for (size_t k = 0; k < rec->count; k++) {
                const struct wal_entry *e = &rec->entries[k];
                uint64_t i = from + k;
                size_t len = test_payload(i, buf, sizeof buf);
                assert_int_equal(e->index, i);
                assert_int_equal(e->term, term_of(i));
                assert_int_equal(e->type, 1 + i % 3);
                assert_int_equal(e->len, len);
                if (len)
                        assert_memory_equal(e->data, buf, len);
        }
}

static uint64_t term_one(uint64_t i)
{
        (void)i;
        return 1;
}

static void round_trip_across_reopen(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 1 << 20, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 0);
        assert_int_equal(rec.first_index, 1);
        assert_int_equal(wal_next_index(&wal), 1);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 300, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.durable_index, 300);
        assert_int_equal(st.durable_term, 1);
        wal_close(&wal);

        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 300, term_one);
        assert_false(rec.torn_tail);
        assert_int_equal(wal_next_index(&wal), 301);
        wal_recovered_free(&rec);
        append_range(&wal, 301, 310, 1);
        wal_close(&wal); /* close flushes */
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 310, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void append_rejects_bad_arguments(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 1 << 20, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        assert_int_equal(wal_append(&wal, 1, 1, 2, "x", 1), SYN_EINVAL); /* gap */
        assert_int_equal(wal_append(&wal, 0, 1, 1, "x", 1), SYN_EINVAL); /* type 0 */
        assert_int_equal(wal_append(&wal, 1, 0, 1, "x", 1), SYN_EINVAL); /* term 0 */
        static uint8_t big[WAL_ENTRY_BYTES_MAX + 1];
        assert_int_equal(wal_append(&wal, 1, 1, 1, big, sizeof big), SYN_ETOOBIG);
        assert_int_equal(wal_append(&wal, 1, 1, 1, big, WAL_ENTRY_BYTES_MAX), SYN_OK);
        assert_int_equal(wal_truncate_suffix(&wal, 3), SYN_EINVAL);
        assert_int_equal(wal_truncate_suffix(&wal, 0), SYN_EINVAL);
        struct wal_options bad = o;
        bad.segment_bytes = 100;
        struct wal w2;
        assert_int_equal(wal_open(&w2, dir, &bad, &rec), SYN_EINVAL);
        wal_close(&wal);
        test_rmrf(dir);
}

static void rotation_makes_segments_and_reads_back(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 4096, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        /* Several flushes so spans cross segment ends at different points. */
        for (uint64_t i = 1; i <= 500; i += 50) {
                append_range(&wal, i, i + 49, 1);
                assert_int_equal(wal_flush(&wal, NULL), SYN_OK);
        }
        wal_close(&wal);
        char segs[64][512];
        size_t n = test_segments(dir, segs, 64);
        assert_true(n >= 10); /* ~ 500 * 130 bytes / 4 KiB */
        /* Each name is the first index of its segment; the first is 1. */
        assert_non_null(strstr(segs[0], "00000000000000000001.seg"));
        for (size_t i = 0; i + 1 < n; i++) {
                size_t len;
                uint8_t *data = test_read_file(segs[i], &len);
                struct wal_scan scan;
                assert_int_equal(wal_segment_scan(data, len, &scan, NULL, NULL), SYN_OK);
                assert_int_equal(scan.tail, WAL_TAIL_CLEAN);
                assert_true(scan.count >= 1);
                assert_true(scan.end_offset <= 4096);
                uint64_t next;
                const char *base = strrchr(segs[i + 1], '/') + 1;
                assert_true(wal_segment_name_parse(base, &next));
                assert_int_equal(next, scan.last_index + 1);
                free(data);
        }
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 500, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static atomic_int notify_calls;

static void count_notify(void *arg)
{
        (void)arg;
        atomic_fetch_add(&notify_calls, 1);
}

static void group_commit_shares_fsyncs(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        ff.fdatasync_delay_us = 20000; /* a slow disk: flushes pile up meanwhile */
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 1 << 20, true);
        o.notify = count_notify;
        atomic_store(&notify_calls, 0);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        int before = ff.fdatasync_count;
        uint64_t last_ticket = 0;
        for (uint64_t i = 1; i <= 200; i++) {
                append_range(&wal, i, i, 1);
                uint64_t t;
                assert_int_equal(wal_flush(&wal, &t), SYN_OK);
                assert_int_equal(t, last_ticket + 1);
                last_ticket = t;
                if (i % 20 == 0)
                        usleep(1000);
        }
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.done_ticket, 200);
        assert_int_equal(st.durable_index, 200);
        int syncs = ff.fdatasync_count - before;
        assert_true(syncs >= 1);
        assert_true(syncs < 40); /* 200 flushes, far fewer fsyncs */
        assert_int_equal(st.fsync_count, (uint64_t)ff.fdatasync_count);
        assert_true(atomic_load(&notify_calls) >= 1);
        assert_true(atomic_load(&notify_calls) <= syncs + 1);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 200, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void poll_reports_progress_by_ticket(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 1 << 20, true);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        uint64_t t0;
        assert_int_equal(wal_flush(&wal, &t0), SYN_OK); /* nothing queued */
        assert_int_equal(t0, 0);
        append_range(&wal, 1, 5, 2);
        struct wal_meta m = {.term = 2, .vote = 7};
        assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
        uint64_t t1;
        assert_int_equal(wal_flush(&wal, &t1), SYN_OK);
        assert_int_equal(t1, 1);
        struct wal_status st;
        for (int i = 0; i < 2000; i++) {
                wal_poll(&wal, &st);
                if (st.done_ticket >= t1)
                        break;
                usleep(1000);
        }
        assert_int_equal(st.done_ticket, t1);
        assert_int_equal(st.durable_index, 5);
        assert_int_equal(st.durable_term, 2);
        assert_int_equal(st.error, SYN_OK);
        struct wal_meta got;
        uint64_t seq;
        assert_int_equal(wal_meta_load(storage_fs_posix(), dir, &got, &seq), SYN_OK);
        assert_int_equal(got.term, 2);
        assert_int_equal(got.vote, 7);
        wal_close(&wal);
        test_rmrf(dir);
}

static uint64_t term_after_truncate(uint64_t i)
{
        return i < 40 ? 1 : 2;
}

static void truncate_suffix_replaces_entries(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 4096, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 120, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        char segs[64][512];
        size_t before = test_segments(dir, segs, 64);
        assert_true(before >= 3);
        /* Raft replaces entries 40.. with a new leader's entries of term 2. */
        assert_int_equal(wal_truncate_suffix(&wal, 40), SYN_OK);
        assert_int_equal(wal_next_index(&wal), 40);
        append_range(&wal, 40, 60, 2);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.durable_index, 60);
        assert_int_equal(st.durable_term, 2);
        wal_close(&wal);
        assert_true(test_segments(dir, segs, 64) < before + 1);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 60, term_after_truncate);
        wal_recovered_free(&rec);
        /* Truncating exactly at a segment's first index keeps that segment empty. */
        uint64_t first;
        size_t n = test_segments(dir, segs, 64);
        assert_true(n >= 2);
        assert_true(wal_segment_name_parse(strrchr(segs[1], '/') + 1, &first));
        assert_int_equal(wal_truncate_suffix(&wal, first), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_poll(&wal, &st);
        assert_int_equal(st.durable_index, first - 1);
        assert_int_equal(st.durable_term, term_after_truncate(first - 1));
        wal_close(&wal);
        assert_int_equal(test_segments(dir, segs, 64), 2);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, first - 1, term_after_truncate);
        wal_recovered_free(&rec);
        /* Below the first index: everything goes. */
        assert_int_equal(wal_truncate_suffix(&wal, 1), SYN_OK);
        append_range(&wal, 1, 3, 5);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 3);
        assert_int_equal(rec.entries[2].term, 5);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void truncate_prefix_deletes_whole_segments_only(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 4096, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 300, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        char segs[128][512];
        size_t before = test_segments(dir, segs, 128);
        assert_int_equal(wal_truncate_prefix(&wal, 150), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        size_t after = test_segments(dir, segs, 128);
        assert_true(after < before);
        uint64_t first;
        assert_true(wal_segment_name_parse(strrchr(segs[0], '/') + 1, &first));
        assert_true(first <= 150); /* entries >= 150 are all kept */
        assert_true(first > 100);  /* 4 KiB segments hold < 50 entries */
        wal_close(&wal);
        /* Reopen with a snapshot that covers what was compacted. */
        o.snapshot_index = 149;
        o.snapshot_term = 1;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 150, 300, term_one);
        wal_recovered_free(&rec);
        /* The active segment is never deleted, even when index is past it. */
        assert_int_equal(wal_truncate_prefix(&wal, 1000), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        assert_int_equal(test_segments(dir, segs, 128), 1);
        append_range(&wal, 301, 302, 1);
        wal_close(&wal);
        o.snapshot_index = 300;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 301, 302, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void meta_alternates_and_survives_one_bad_copy(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        const struct storage_fs *fs = storage_fs_posix();
        struct wal_meta m;
        uint64_t seq;
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK); /* fresh */
        assert_int_equal(seq, 0);
        assert_int_equal(m.term, 0);
        for (uint64_t s = 1; s <= 3; s++) {
                struct wal_meta w = {.term = 10 + s, .vote = s};
                assert_int_equal(wal_meta_store(fs, dir, s, &w), SYN_OK);
        }
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK);
        assert_int_equal(seq, 3);
        assert_int_equal(m.term, 13);
        assert_int_equal(m.vote, 3);
        /* meta.1 has write 3, meta.0 write 2. Rot one bit of the newest copy. */
        char path[512];
        snprintf(path, sizeof path, "%s/meta.1", dir);
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        assert_int_equal(len, 64);
        data[30] ^= 0x10;
        test_write_file(path, data, len);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK);
        assert_int_equal(seq, 2);
        assert_int_equal(m.term, 12);
        assert_int_equal(m.vote, 2);
        /* The next write goes to the file the old sequence does not hold. */
        struct wal_meta w = {.term = 20, .vote = 9};
        assert_int_equal(wal_meta_store(fs, dir, seq + 1, &w), SYN_OK);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK);
        assert_int_equal(m.term, 20);
        /* Both bad: refuse. */
        test_write_file(path, "junk", 4);
        snprintf(path, sizeof path, "%s/meta.0", dir);
        test_write_file(path, data, 10);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_ECORRUPT);
        /* Only one file, torn during the first write: fresh state. */
        unlink(path);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK);
        assert_int_equal(seq, 0);
        free(data);
        test_rmrf(dir);
}

static void meta_through_wal_survives_reopen(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 1 << 20, true);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        for (uint64_t t = 1; t <= 5; t++) {
                struct wal_meta m = {.term = t, .vote = t % 2 ? 3 : 0};
                assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
                assert_int_equal(wal_sync(&wal), SYN_OK);
        }
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.meta.term, 5);
        assert_int_equal(rec.meta.vote, 3);
        wal_recovered_free(&rec);
        struct wal_meta m = {.term = 6, .vote = 0};
        assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.meta.term, 6);
        assert_int_equal(rec.meta.vote, 0);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

/* A single bad meta copy is a torn first write (fresh start) only while no WAL
 * record or snapshot exists: the first meta write is durable before either.
 * Beside data it is damage, and a fresh term 0 could vote twice in a term. */
static void single_bad_meta_beside_data_is_refused(void **state)
{
        (void)state;
        char dir[256], path[512], snap[512];
        test_tmpdir(dir);
        const struct storage_fs *fs = storage_fs_posix();
        struct wal wal;
        struct wal_recovered rec;
        struct wal_meta m = {.term = 3, .vote = 2};
        uint64_t seq;
        struct wal_options o = opts(NULL, 1 << 20, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_close(&wal);
        /* Only meta.1 exists and wal/, snap/ are empty: torn first write. */
        snprintf(path, sizeof path, "%s/meta.1", dir);
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        assert_int_equal(len, 64);
        data[30] ^= 0x10;
        test_write_file(path, data, len);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.meta.term, 0);
        wal_recovered_free(&rec);
        /* Fresh again: the next write is sequence 1 (meta.1), then records. */
        assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
        append_range(&wal, 1, 3, 3);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_close(&wal);
        free(data);
        data = test_read_file(path, &len);
        assert_int_equal(len, 64);
        data[30] ^= 0x10;
        test_write_file(path, data, len);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_ECORRUPT);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_ECORRUPT);
        /* An empty file (torn at creation) is no different beside data. */
        test_write_file(path, data, 0);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_ECORRUPT);
        /* A snapshot alone is data too. */
        snprintf(snap, sizeof snap, "%s/wal", dir);
        test_rmrf(snap);
        snprintf(snap, sizeof snap, "%s/snap/snap-%020d-%020d.snap", dir, 3, 3);
        test_write_file(snap, "x", 1);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_ECORRUPT);
        unlink(snap);
        assert_int_equal(wal_meta_load(fs, dir, &m, &seq), SYN_OK);
        assert_int_equal(seq, 0);
        free(data);
        test_rmrf(dir);
}

/* A full disk stops the WAL where it is, keeps everything queued (records cut in the
 * middle of a span, a segment that could not be created, term/vote), and goes on once
 * space returns: nothing lost, nothing twice. Without an I/O thread each flush retries. */
static void enospc_waits_for_space_and_loses_nothing(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 4096, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 10, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        ff.pwrite_max = 7; /* the disk fills in the middle of a span */
        ff.pwrite_err = SYN_ENOSPC;
        ff.pwrite_fail_after = 5;
        append_range(&wal, 11, 60, 1); /* several segments of 4 KiB */
        assert_int_equal(wal_sync(&wal), SYN_ENOSPC);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.error, SYN_OK);
        assert_true(st.no_space);
        assert_int_equal(st.no_space_stalls, 1);
        assert_int_equal(st.durable_index, 10); /* never reported past the full disk */
        uint64_t stuck_ticket = st.done_ticket;
        /* Work queued meanwhile waits behind, in order. */
        append_range(&wal, 61, 80, 1);
        struct wal_meta meta = {.term = 2, .vote = 3};
        assert_int_equal(wal_save_meta(&wal, &meta), SYN_OK);
        append_range(&wal, 81, 90, 2);
        assert_int_equal(wal_sync(&wal), SYN_ENOSPC);
        wal_poll(&wal, &st);
        assert_true(st.no_space);
        assert_int_equal(st.no_space_stalls, 1);
        assert_int_equal(st.done_ticket, stuck_ticket);
        ff.pwrite_fail_after = -1; /* space again */
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_poll(&wal, &st);
        assert_false(st.no_space);
        assert_int_equal(st.durable_index, 90);
        wal_close(&wal);
        ff.pwrite_max = 0;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 90);
        assert_int_equal(rec.meta.term, 2);
        assert_int_equal(rec.meta.vote, 3);
        assert_false(rec.torn_tail);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

/* The I/O thread tries a full disk again by itself; tickets then advance. */
static void enospc_io_thread_retries_alone(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 1 << 20, true);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 10, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        ff.pwrite_err = SYN_ENOSPC;
        ff.pwrite_fail_times = 3; /* the first pass and two retries find it full */
        ff.pwrite_fail_after = 0;
        append_range(&wal, 11, 20, 1);
        uint64_t ticket = 0;
        assert_int_equal(wal_flush(&wal, &ticket), SYN_OK);
        struct wal_status st = {0};
        /* Bounded: three retries take 3 * WAL_NOSPACE_RETRY_MS; give it 20 times that. */
        for (int i = 0; i < 60 * WAL_NOSPACE_RETRY_MS / 50; i++) {
                wal_poll(&wal, &st);
                if (st.done_ticket >= ticket)
                        break;
                usleep(50 * 1000);
        }
        assert_int_equal(st.error, SYN_OK);
        assert_int_equal(st.done_ticket, ticket);
        assert_int_equal(st.durable_index, 20);
        assert_false(st.no_space);
        assert_int_equal(st.no_space_stalls, 1);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 20, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void failed_fsync_is_fatal_and_never_retried(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 1 << 20, false);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 3, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        int syncs = ff.fdatasync_count;
        ff.fdatasync_fail_after = 0;
        ff.fdatasync_err = SYN_ENOSPC; /* writeback found no room: data lost, an I/O error */
        ff.fdatasync_fail_once = true; /* the disk would work again: we must not care */
        append_range(&wal, 4, 6, 1);
        assert_int_equal(wal_sync(&wal), SYN_EIO);
        assert_int_equal(wal_append(&wal, 1, 1, 7, "x", 1), SYN_EIO);
        assert_int_equal(wal_sync(&wal), SYN_EIO);
        struct wal_meta m = {.term = 9};
        assert_int_equal(wal_save_meta(&wal, &m), SYN_EIO);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.error, SYN_EIO);
        assert_int_equal(st.durable_index, 3);
        wal_close(&wal);
        assert_int_equal(ff.fdatasync_count, syncs); /* no fsync after the failure */
        test_rmrf(dir);
}

static void failed_fsync_on_io_thread_reaches_the_loop(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 1 << 20, true);
        o.notify = count_notify;
        atomic_store(&notify_calls, 0);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        ff.fdatasync_fail_after = 0;
        append_range(&wal, 1, 2, 1);
        assert_int_equal(wal_flush(&wal, NULL), SYN_OK);
        struct wal_status st = {0};
        for (int i = 0; i < 2000 && st.error == SYN_OK; i++) {
                usleep(1000);
                wal_poll(&wal, &st);
        }
        assert_int_equal(st.error, SYN_EIO);
        assert_int_equal(st.done_ticket, 0);
        assert_true(atomic_load(&notify_calls) >= 1);
        assert_int_equal(wal_append(&wal, 1, 1, 3, "x", 1), SYN_EIO);
        wal_close(&wal);
        test_rmrf(dir);
}

static void short_writes_and_no_fallocate_still_work(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        ff.pwrite_max = 7;
        ff.fallocate_err = SYN_EINVAL; /* file system without fallocate */
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(&ff, 4096, true);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, 100, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        assert_true(ff.pwrite_count > 100);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 100, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        /* No room to preallocate a whole segment: the records themselves still fit. */
        ff.pwrite_max = 0;
        ff.fallocate_err = SYN_ENOSPC;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 101, 160, 1); /* forces a new segment */
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        check_range(&rec, 1, 160, term_one);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void queue_limit_pushes_back(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 1 << 20, false);
        o.queue_bytes_max = 64 * 1024;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        static uint8_t big[4000];
        uint64_t i = 1;
        int err;
        while ((err = wal_append(&wal, 1, 1, i, big, sizeof big)) == SYN_OK)
                i++;
        assert_int_equal(err, SYN_EAGAIN);
        assert_int_equal(i - 1, 64 * 1024 / 4032); /* 4000 + header + padding */
        /* Once the queued bytes are durable (and polled), appends go on. */
        assert_int_equal(wal_sync(&wal), SYN_OK);
        assert_int_equal(wal_append(&wal, 1, 1, i, big, sizeof big), SYN_OK);
        wal_close(&wal);
        test_rmrf(dir);
}

/* A seeded random mix of appends, truncations, term/vote writes and flushes on
 * the I/O thread, checked against a model after reopening. */
static void random_operations_match_a_model(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        enum { N = 3000 };
        static uint64_t term_of[N + 64];
        struct syn_rand rand;
        syn_rand_seed(&rand, 20261124);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = opts(NULL, 4096, true);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        uint64_t last = 0, term = 1, prefix = 1, meta_term = 0;
        uint8_t buf[256];
        while (last < N) {
                uint64_t dice = syn_rand_below(&rand, 100);
                if (dice < 5 && last > prefix + 12) {
                        uint64_t idx = last - syn_rand_below(&rand, 10);
                        assert_int_equal(wal_truncate_suffix(&wal, idx), SYN_OK);
                        last = idx - 1;
                        term++;
                } else if (dice < 8 && last > 100) {
                        prefix = last - 60;
                        assert_int_equal(wal_truncate_prefix(&wal, prefix), SYN_OK);
                } else if (dice < 12) {
                        struct wal_meta m = {.term = term, .vote = dice};
                        assert_int_equal(wal_save_meta(&wal, &m), SYN_OK);
                        meta_term = term;
                } else if (dice < 30) {
                        assert_int_equal(wal_flush(&wal, NULL), SYN_OK);
                } else {
                        uint64_t i = last + 1;
                        size_t len = test_payload(i * term, buf, sizeof buf);
                        assert_int_equal(wal_append(&wal, 1, term, i, buf, len), SYN_OK);
                        term_of[i] = term;
                        last = i;
                }
                if (dice == 99) {
                        struct wal_status st;
                        wal_poll(&wal, &st);
                        assert_int_equal(st.error, SYN_OK);
                }
        }
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.durable_index, last);
        assert_int_equal(st.durable_term, term_of[last]);
        wal_close(&wal);
        o.snapshot_index = prefix - 1;
        o.snapshot_term = term_of[prefix - 1];
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.first_index, prefix);
        assert_int_equal(rec.last_index, last);
        assert_int_equal(rec.meta.term, meta_term);
        for (size_t k = 0; k < rec.count; k++) {
                const struct wal_entry *e = &rec.entries[k];
                assert_int_equal(e->index, prefix + k);
                assert_int_equal(e->term, term_of[e->index]);
                size_t len = test_payload(e->index * e->term, buf, sizeof buf);
                assert_int_equal(e->len, len);
                if (len)
                        assert_memory_equal(e->data, buf, len);
        }
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

int test_wal_group(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(round_trip_across_reopen),
            cmocka_unit_test(append_rejects_bad_arguments),
            cmocka_unit_test(rotation_makes_segments_and_reads_back),
            cmocka_unit_test(group_commit_shares_fsyncs),
            cmocka_unit_test(poll_reports_progress_by_ticket),
            cmocka_unit_test(truncate_suffix_replaces_entries),
            cmocka_unit_test(truncate_prefix_deletes_whole_segments_only),
            cmocka_unit_test(meta_alternates_and_survives_one_bad_copy),
            cmocka_unit_test(meta_through_wal_survives_reopen),
            cmocka_unit_test(single_bad_meta_beside_data_is_refused),
            cmocka_unit_test(enospc_waits_for_space_and_loses_nothing),
            cmocka_unit_test(enospc_io_thread_retries_alone),
            cmocka_unit_test(failed_fsync_is_fatal_and_never_retried),
            cmocka_unit_test(failed_fsync_on_io_thread_reaches_the_loop),
            cmocka_unit_test(short_writes_and_no_fallocate_still_work),
            cmocka_unit_test(queue_limit_pushes_back),
            cmocka_unit_test(random_operations_match_a_model),
        };
        return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
