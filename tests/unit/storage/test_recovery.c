/*
 * Recovery tests: torn tails at every byte of the last record, zeroed and
 * garbage tails, corruption in the middle of the log (SYN_ECORRUPT), torn and
 * bad segment headers, and how the WAL must continue the snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "helpers.h"
#include "storage/storage.h"

static struct wal_options opts(uint64_t segment_bytes, bool preallocate)
{
        return (struct wal_options){
            .segment_bytes = segment_bytes,
            .preallocate = preallocate,
            .io_thread = false,
        };
}

static void append_range(struct wal *wal, uint64_t from, uint64_t to, uint64_t term)
{
        uint8_t buf[256];
        for (uint64_t i = from; i <= to; i++) {
                size_t len = test_payload(i, buf, sizeof buf);
                assert_int_equal(wal_append(wal, 1, term, i, buf, len), SYN_OK);
        }
}

/* Writes entries 1..n into a fresh WAL at dir and closes it. */
static void make_wal(const char *dir, struct wal_options o, uint64_t n)
{
        struct wal wal;
        struct wal_recovered rec;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        append_range(&wal, 1, n, 1);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        wal_close(&wal);
}

/* Byte offset and framed size of record `index` in the segment image. */
struct find {
        uint64_t index, offset, size;
};

static int find_cb(void *arg, const struct wal_entry *e, uint64_t offset)
{
        struct find *f = arg;
        if (e->index == f->index) {
                f->offset = offset;
                f->size = (32 + e->len + 7) & ~7ull;
        }
        return 0;
}

static struct find locate(const uint8_t *data, size_t len, uint64_t index)
{
        struct find f = {.index = index};
        struct wal_scan scan;
        assert_int_equal(wal_segment_scan(data, len, &scan, find_cb, &f), SYN_OK);
        assert_true(f.size > 0);
        return f;
}

static int open_count(const char *dir, struct wal_options o, size_t *count, bool *torn)
{
        struct wal wal;
        struct wal_recovered rec;
        int err = wal_open(&wal, dir, &o, &rec);
        if (err != SYN_OK)
                return err;
        *count = rec.count;
        *torn = rec.torn_tail;
        for (size_t k = 0; k < rec.count; k++)
                assert_int_equal(rec.entries[k].index, k + 1);
        wal_recovered_free(&rec);
        wal_close(&wal);
        return SYN_OK;
}

/* Captures ERROR lines so a test can check what an operator would read. */
static char captured[1024];

static void capture_sink(void *arg, enum syn_log_level level, const char *line)
{
        (void)arg;
        if (level >= SYN_LOG_ERROR)
                snprintf(captured, sizeof captured, "%s", line);
}

static void quiet_sink(void *arg, enum syn_log_level level, const char *line)
{
        (void)arg;
        (void)level;
        (void)line;
}

static bool all_zero(const uint8_t *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* After recovery cut the tail, the WAL must take a new last entry cleanly. */
static void reappend_and_check(const char *dir, struct wal_options o, uint64_t n)
{
        struct wal wal;
        struct wal_recovered rec;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, n - 1);
        assert_false(rec.torn_tail); /* already repaired */
        wal_recovered_free(&rec);
        assert_int_equal(wal_append(&wal, 2, 2, n, "new", 3), SYN_OK);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, n);
        assert_int_equal(rec.entries[n - 1].term, 2);
        assert_memory_equal(rec.entries[n - 1].data, "new", 3);
        wal_recovered_free(&rec);
        wal_close(&wal);
}

/* Cut the file at every byte of the last record (no preallocation: the file ends there). */
static void torn_tail_cut_at_every_byte(void **state)
{
        (void)state;
        char dir[256], segs[4][512];
        test_tmpdir(dir);
        struct wal_options o = opts(1 << 20, false);
        const uint64_t n = 4; /* entry 4 has a 148-byte payload */
        make_wal(dir, o, n);
        assert_int_equal(test_segments(dir, segs, 4), 1);
        size_t len;
        uint8_t *orig = test_read_file(segs[0], &len);
        struct find last = locate(orig, len, n);
        assert_int_equal(last.offset + last.size, len);
        for (uint64_t cut = last.offset; cut < len; cut++) {
                test_write_file(segs[0], orig, cut);
                size_t count;
                bool torn;
                assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
                assert_int_equal(count, n - 1);
                assert_int_equal(torn, cut > last.offset);
                reappend_and_check(dir, o, n);
        }
        free(orig);
        test_rmrf(dir);
}

/* With preallocation a torn write leaves a prefix of the record, then zeros. */
static void torn_tail_partial_record_over_zeros(void **state)
{
        (void)state;
        char dir[256], segs[4][512];
        test_tmpdir(dir);
        struct wal_options o = opts(8192, true);
        const uint64_t n = 4;
        make_wal(dir, o, n);
        assert_int_equal(test_segments(dir, segs, 4), 1);
        size_t len;
        uint8_t *orig = test_read_file(segs[0], &len);
        assert_int_equal(len, 8192); /* preallocated */
        struct find last = locate(orig, len, n);
        uint8_t *img = malloc(len);
        for (uint64_t cut = last.offset; cut < last.offset + last.size; cut++) {
                memcpy(img, orig, len);
                memset(img + cut, 0, last.offset + last.size - cut);
                if (memcmp(img, orig, len) == 0)
                        continue; /* only padding (already zero) was "lost" */
                test_write_file(segs[0], img, len);
                size_t count;
                bool torn;
                assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
                assert_int_equal(count, n - 1);
                /* A prefix that happens to be all zeros is indistinguishable from no write. */
                assert_int_equal(torn, !all_zero(orig + last.offset, cut - last.offset));
                reappend_and_check(dir, o, n);
        }
        free(img);
        free(orig);
        test_rmrf(dir);
}

static void zeroed_preallocated_tail_is_clean(void **state)
{
        (void)state;
        char dir[256], segs[4][512];
        test_tmpdir(dir);
        struct wal_options o = opts(65536, true);
        make_wal(dir, o, 20);
        assert_int_equal(test_segments(dir, segs, 4), 1);
        size_t len;
        uint8_t *data = test_read_file(segs[0], &len);
        assert_int_equal(len, 65536);
        struct wal_scan scan;
        assert_int_equal(wal_segment_scan(data, len, &scan, NULL, NULL), SYN_OK);
        assert_int_equal(scan.tail, WAL_TAIL_CLEAN);
        assert_int_equal(scan.count, 20);
        assert_true(scan.end_offset < len);
        /* Garbage far after the last record (not a record): a torn tail, cut away. */
        data[len - 100] = 0xab;
        test_write_file(segs[0], data, len);
        size_t count;
        bool torn;
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
        assert_int_equal(count, 20);
        assert_true(torn);
        free(data);
        data = test_read_file(segs[0], &len);
        assert_int_equal(data[len - 100], 0); /* the cut removed it */
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
        assert_false(torn);
        free(data);
        test_rmrf(dir);
}

static void corrupt_record_in_the_middle_refuses_to_start(void **state)
{
        (void)state;
        char dir[256], segs[4][512];
        test_tmpdir(dir);
        struct wal_options o = opts(1 << 20, true);
        make_wal(dir, o, 10);
        test_segments(dir, segs, 4);
        size_t len;
        uint8_t *data = test_read_file(segs[0], &len);
        struct find f = locate(data, len, 5);
        /* Flip one bit in the payload (or the header) of record 5 of 10. */
        uint64_t at[] = {f.offset + 40, f.offset + 2, f.offset + 20};
        for (size_t i = 0; i < 3; i++) {
                data[at[i]] ^= 0x04;
                test_write_file(segs[0], data, len);
                size_t count;
                bool torn;
                captured[0] = 0;
                syn_log_configure(SYN_LOG_DEBUG, capture_sink, NULL);
                assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
                syn_log_configure(SYN_LOG_DEBUG, quiet_sink, NULL);
                /* One line naming the file and the offset of the bad record. */
                char where[64];
                snprintf(where, sizeof where, "at offset %llu", (unsigned long long)f.offset);
                assert_non_null(strstr(captured, segs[0]));
                assert_non_null(strstr(captured, where));
                data[at[i]] ^= 0x04;
        }
        /* The last record damaged is a torn tail, not corruption. */
        struct find g = locate(data, len, 10);
        data[g.offset + 33] ^= 0x01;
        test_write_file(segs[0], data, len);
        size_t count;
        bool torn;
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
        assert_int_equal(count, 9);
        assert_true(torn);
        free(data);
        test_rmrf(dir);
}

static void valid_crc_but_wrong_index_is_corrupt(void **state)
{
        (void)state;
        char dir[256], segs[4][512];
        test_tmpdir(dir);
        struct wal_options o = opts(1 << 20, false);
        make_wal(dir, o, 6);
        test_segments(dir, segs, 4);
        size_t len;
        uint8_t *data = test_read_file(segs[0], &len);
        struct find f4 = locate(data, len, 4);
        struct find f5 = locate(data, len, 5);
        /* Swap records 4 and 5: both CRCs stay valid, the order does not. */
        uint8_t *copy = malloc(len);
        memcpy(copy, data, len);
        memcpy(copy + f4.offset, data + f5.offset, f5.size);
        memcpy(copy + f4.offset + f5.size, data + f4.offset, f4.size);
        struct wal_scan scan;
        assert_int_equal(wal_segment_scan(copy, len, &scan, NULL, NULL), SYN_OK);
        assert_int_equal(scan.tail, WAL_TAIL_CORRUPT);
        assert_int_equal(scan.bad_offset, f4.offset);
        assert_int_equal(scan.count, 3);
        test_write_file(segs[0], copy, len);
        size_t count;
        bool torn;
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        free(copy);
        free(data);
        test_rmrf(dir);
}

static void damage_in_a_non_last_segment_is_corrupt(void **state)
{
        (void)state;
        char dir[256], segs[64][512];
        test_tmpdir(dir);
        struct wal_options o = opts(4096, true);
        make_wal(dir, o, 200);
        size_t n = test_segments(dir, segs, 64);
        assert_true(n >= 3);
        size_t len;
        uint8_t *data = test_read_file(segs[1], &len);
        struct wal_scan scan;
        assert_int_equal(wal_segment_scan(data, len, &scan, NULL, NULL), SYN_OK);
        struct find last = locate(data, len, scan.last_index);
        size_t count;
        bool torn;
        /* (a) the last record of segment 1 damaged: it would be a torn tail if it were last. */
        data[last.offset + 35] ^= 0x80;
        test_write_file(segs[1], data, len);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        data[last.offset + 35] ^= 0x80;
        /* (b) segment 1 cut short. */
        test_write_file(segs[1], data, last.offset + 10);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        /* (c) segment 1's header damaged. */
        data[3] ^= 1;
        test_write_file(segs[1], data, len);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        data[3] ^= 1;
        test_write_file(segs[1], data, len);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
        assert_int_equal(count, 200);
        /* (d) a missing segment in the middle: a gap in the indexes. */
        char moved[600];
        snprintf(moved, sizeof moved, "%s.bak", segs[1]);
        assert_int_equal(rename(segs[1], moved), 0);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        /* (e) a segment whose name does not match its header. */
        char wrong[600];
        snprintf(wrong, sizeof wrong, "%s/wal/%020llu.seg", dir, 999999ull);
        assert_int_equal(rename(moved, wrong), 0);
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_ECORRUPT);
        free(data);
        test_rmrf(dir);
}

static void torn_header_of_last_segment_is_removed(void **state)
{
        (void)state;
        char dir[256], segs[64][512];
        test_tmpdir(dir);
        struct wal_options o = opts(4096, true);
        make_wal(dir, o, 100);
        size_t n = test_segments(dir, segs, 64);
        size_t len;
        uint8_t *data = test_read_file(segs[n - 1], &len);
        struct wal_scan scan;
        assert_int_equal(wal_segment_scan(data, len, &scan, NULL, NULL), SYN_OK);
        uint64_t first = scan.first_index;
        /* A crash right after creating the last segment: header half written, no records. */
        memset(data + 12, 0, len - 12);
        test_write_file(segs[n - 1], data, len);
        size_t count;
        bool torn;
        assert_int_equal(open_count(dir, o, &count, &torn), SYN_OK);
        assert_int_equal(count, first - 1);
        assert_true(torn);
        assert_int_equal(test_segments(dir, segs, 64), n - 1);
        free(data);
        test_rmrf(dir);
}

static void wal_must_continue_the_snapshot(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        struct wal_options o = opts(4096, true);
        make_wal(dir, o, 100); /* all term 1 */
        struct wal wal;
        struct wal_recovered rec;
        /* Snapshot inside the WAL with the same term: entries after it are kept. */
        o.snapshot_index = 60;
        o.snapshot_term = 1;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 40);
        assert_int_equal(rec.first_index, 61);
        assert_false(rec.reset);
        wal_recovered_free(&rec);
        wal_close(&wal);
        /* Snapshot past the WAL's end: the WAL is emptied, next index follows the snapshot. */
        o.snapshot_index = 150;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 0);
        assert_true(rec.reset);
        assert_int_equal(rec.last_index, 150);
        assert_int_equal(wal_next_index(&wal), 151);
        append_range(&wal, 151, 160, 3);
        wal_recovered_free(&rec);
        wal_close(&wal);
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 10);
        assert_int_equal(rec.first_index, 151);
        wal_recovered_free(&rec);
        wal_close(&wal);
        /* Snapshot at 155 with a different term than the WAL's entry 155: emptied. */
        o.snapshot_index = 155;
        o.snapshot_term = 4;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_true(rec.reset);
        assert_int_equal(rec.count, 0);
        assert_int_equal(wal_next_index(&wal), 156);
        append_range(&wal, 156, 160, 4);
        wal_recovered_free(&rec);
        wal_close(&wal);
        /* A WAL that starts after snapshot + 1: entries are missing. */
        o.snapshot_index = 100;
        o.snapshot_term = 1;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_ECORRUPT);
        o.snapshot_index = 0;
        o.snapshot_term = 0;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_ECORRUPT);
        test_rmrf(dir);
}

static void reset_after_installing_a_snapshot(void **state)
{
        (void)state;
        char dir[256], segs[64][512];
        test_tmpdir(dir);
        struct wal_options o = opts(4096, true);
        make_wal(dir, o, 100);
        struct wal wal;
        struct wal_recovered rec;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        assert_int_equal(wal_reset(&wal, 501), SYN_OK);
        assert_int_equal(wal_next_index(&wal), 501);
        append_range(&wal, 501, 505, 7);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct wal_status st;
        wal_poll(&wal, &st);
        assert_int_equal(st.durable_index, 505);
        wal_close(&wal);
        assert_int_equal(test_segments(dir, segs, 64), 1);
        o.snapshot_index = 500;
        o.snapshot_term = 6;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 5);
        assert_int_equal(rec.first_index, 501);
        assert_int_equal(rec.entries[0].term, 7);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void scan_is_total_on_junk(void **state)
{
        (void)state;
        uint8_t buf[4096];
        struct wal_scan scan;
        for (unsigned seed = 1; seed < 200; seed++) {
                srand(seed);
                size_t len = (size_t)rand() % sizeof buf;
                for (size_t i = 0; i < len; i++)
                        buf[i] = (uint8_t)rand();
                assert_int_equal(wal_segment_scan(buf, len, &scan, NULL, NULL), SYN_OK);
                assert_false(scan.header_ok && scan.count > 0);
                assert_true(scan.tail == WAL_TAIL_TORN || scan.tail == WAL_TAIL_CORRUPT);
        }
        assert_int_equal(wal_segment_scan(buf, 0, &scan, NULL, NULL), SYN_OK);
        assert_int_equal(scan.tail, WAL_TAIL_TORN);
        uint64_t idx;
        assert_true(wal_segment_name_parse("00000000000000000042.seg", &idx));
        assert_int_equal(idx, 42);
        assert_false(wal_segment_name_parse("00000000000000000000.seg", &idx));
        assert_false(wal_segment_name_parse("99999999999999999999.seg", &idx)); /* overflow */
        assert_false(wal_segment_name_parse("0000000000000000042.seg", &idx));
        assert_false(wal_segment_name_parse("00000000000000000042.segx", &idx));
}

int test_recovery_group(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(torn_tail_cut_at_every_byte),
            cmocka_unit_test(torn_tail_partial_record_over_zeros),
            cmocka_unit_test(zeroed_preallocated_tail_is_clean),
            cmocka_unit_test(corrupt_record_in_the_middle_refuses_to_start),
            cmocka_unit_test(valid_crc_but_wrong_index_is_corrupt),
            cmocka_unit_test(damage_in_a_non_last_segment_is_corrupt),
            cmocka_unit_test(torn_header_of_last_segment_is_removed),
            cmocka_unit_test(wal_must_continue_the_snapshot),
            cmocka_unit_test(reset_after_installing_a_snapshot),
            cmocka_unit_test(scan_is_total_on_junk),
        };
        return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
