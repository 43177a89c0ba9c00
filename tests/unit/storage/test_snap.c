/*
 * Snapshot file tests: round trip over many chunks, latest valid snapshot
 * (skipping corrupt and truncated ones), retention with WAL compaction,
 * injected write errors, and writing from a forked child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "helpers.h"
#include "storage/storage.h"

static uint8_t stream_byte(uint64_t seed, size_t i)
{
        return (uint8_t)((i * 2654435761u + seed * 40503u) >> 7);
}

/* Writes a snapshot of `size` bytes in odd-sized pieces. */
static int write_snap(const struct storage_fs *fs, const char *dir, uint64_t index, uint64_t term,
                      size_t size)
{
        struct snapfile_writer w;
        int err = snapfile_writer_open(&w, fs, dir, index, term);
        if (err != SYN_OK)
                return err;
        uint8_t buf[7001];
        size_t done = 0;
        while (done < size) {
                size_t n = size - done < sizeof buf ? size - done : sizeof buf;
                for (size_t i = 0; i < n; i++)
                        buf[i] = stream_byte(index, done + i);
                err = snapfile_writer_write(&w, buf, n);
                if (err != SYN_OK) {
                        snapfile_writer_abort(&w);
                        return err;
                }
                done += n;
        }
        return snapfile_writer_finish(&w);
}

static void read_and_check(struct snapfile_reader *r, uint64_t seed, size_t size)
{
        assert_int_equal(r->total_bytes, size);
        uint8_t buf[5003];
        size_t done = 0, got;
        do {
                assert_int_equal(snapfile_read(r, buf, sizeof buf, &got), SYN_OK);
                for (size_t i = 0; i < got; i++)
                        assert_int_equal(buf[i], stream_byte(seed, done + i));
                done += got;
        } while (got > 0);
        assert_int_equal(done, size);
}

static void snap_path(char *buf, const char *dir, uint64_t index, uint64_t term, const char *ext)
{
        snprintf(buf, 600, "%s/snap-%020llu-%020llu.%s", dir, (unsigned long long)index,
                 (unsigned long long)term, ext);
}

static void round_trip_many_chunks(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        const size_t size = 3 * SNAP_CHUNK_BYTES + 12345;
        assert_int_equal(write_snap(NULL, dir, 77, 3, size), SYN_OK);
        assert_int_equal(write_snap(NULL, dir, 78, 3, 0), SYN_OK); /* empty stream is fine */
        struct snapfile_info *list;
        size_t n;
        assert_int_equal(snapfile_list(NULL, dir, &list, &n), SYN_OK);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].index, 78); /* newest first */
        assert_int_equal(list[1].index, 77);
        assert_int_equal(list[1].term, 3);
        struct snapfile_reader r;
        assert_int_equal(snapfile_reader_open(&r, NULL, dir, &list[1]), SYN_OK);
        read_and_check(&r, 77, size);
        snapfile_reader_close(&r);
        assert_int_equal(snapfile_reader_open(&r, NULL, dir, &list[0]), SYN_OK);
        read_and_check(&r, 78, 0);
        snapfile_reader_close(&r);
        free(list);
        /* No temp file is left behind. */
        char path[600];
        snap_path(path, dir, 77, 3, "tmp");
        assert_int_not_equal(access(path, F_OK), 0);
        test_rmrf(dir);
}

/* A backup: the same file under any name, index and term from its header. */
static void any_path_takes_index_and_term_from_the_header(void **state)
{
        (void)state;
        char dir[256], path[600], other[700];
        test_tmpdir(dir);
        const size_t size = SNAP_CHUNK_BYTES + 77;
        assert_int_equal(write_snap(NULL, dir, 55, 4, size), SYN_OK);
        snap_path(path, dir, 55, 4, "snap");
        snprintf(other, sizeof other, "%s/backup.bin", dir);
        assert_int_equal(rename(path, other), 0);
        struct snapfile_reader r;
        assert_int_equal(snapfile_reader_open_file(&r, NULL, other), SYN_OK);
        assert_int_equal(r.info.index, 55);
        assert_int_equal(r.info.term, 4);
        assert_string_equal(r.info.name, "backup.bin");
        read_and_check(&r, 55, size);
        snapfile_reader_close(&r);
        size_t len;
        uint8_t *data = test_read_file(other, &len);
        test_write_file(other, data, len - 1);
        assert_int_equal(snapfile_reader_open_file(&r, NULL, other), SYN_ETRUNC);
        data[20] ^= 0x01; /* the header's index: its CRC no longer matches */
        test_write_file(other, data, len);
        assert_int_equal(snapfile_reader_open_file(&r, NULL, other), SYN_ECORRUPT);
        free(data);
        snprintf(other, sizeof other, "%s/missing", dir);
        assert_int_equal(snapfile_reader_open_file(&r, NULL, other), SYN_ENOTFOUND);
        test_rmrf(dir);
}

static void latest_valid_skips_bad_snapshots(void **state)
{
        (void)state;
        char dir[256], path[600];
        test_tmpdir(dir);
        const size_t size = 2 * SNAP_CHUNK_BYTES + 99;
        assert_int_equal(write_snap(NULL, dir, 10, 1, size), SYN_OK);
        assert_int_equal(write_snap(NULL, dir, 20, 2, size), SYN_OK);
        assert_int_equal(write_snap(NULL, dir, 30, 2, size), SYN_OK);
        assert_int_equal(write_snap(NULL, dir, 40, 3, size), SYN_OK);
        /* 40: one bit flipped deep inside the second chunk. */
        snap_path(path, dir, 40, 3, "snap");
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        data[64 + 8 + SNAP_CHUNK_BYTES + 8 + 1000] ^= 0x20;
        test_write_file(path, data, len);
        free(data);
        /* 30: truncated (lost its trailer). */
        snap_path(path, dir, 30, 2, "snap");
        data = test_read_file(path, &len);
        test_write_file(path, data, len - 5);
        free(data);
        struct snapfile_reader r;
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_OK);
        assert_int_equal(r.info.index, 20);
        assert_int_equal(r.info.term, 2);
        read_and_check(&r, 20, size);
        snapfile_reader_close(&r);
        /* A header that does not match the name is invalid too. */
        char other[600];
        snap_path(path, dir, 20, 2, "snap");
        snap_path(other, dir, 25, 2, "snap");
        data = test_read_file(path, &len);
        test_write_file(other, data, len);
        free(data);
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_OK);
        assert_int_equal(r.info.index, 20);
        snapfile_reader_close(&r);
        /* Trailing garbage after the trailer. */
        data = test_read_file(path, &len);
        uint8_t *longer = calloc(1, len + 1);
        memcpy(longer, data, len);
        test_write_file(path, longer, len + 1);
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_OK);
        assert_int_equal(r.info.index, 10);
        snapfile_reader_close(&r);
        free(longer);
        free(data);
        /* None valid. */
        snap_path(path, dir, 10, 1, "snap");
        test_write_file(path, "SYNODSNP", 8);
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_ENOTFOUND);
        test_rmrf(dir);
}

static void retention_keeps_newest_and_compacts_the_wal(void **state)
{
        (void)state;
        char dir[256], snap_dir[300], path[600];
        test_tmpdir(dir);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = {.segment_bytes = 4096, .preallocate = true, .io_thread = true};
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        wal_recovered_free(&rec);
        for (uint64_t i = 1; i <= 400; i++)
                assert_int_equal(wal_append(&wal, 1, 1, i, "0123456789abcdef0123456789", 26),
                                 SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        snprintf(snap_dir, sizeof snap_dir, "%s/snap", dir);
        uint64_t idx[] = {100, 200, 300, 350};
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(write_snap(NULL, snap_dir, idx[i], 1, 1000), SYN_OK);
        /* Leftovers of crashed writers: 250 is old, 900 may be a writer still running. */
        snap_path(path, snap_dir, 250, 1, "tmp");
        test_write_file(path, "x", 1);
        snap_path(path, snap_dir, 900, 1, "tmp");
        test_write_file(path, "x", 1);
        assert_int_equal(wal_retain(&wal, 2), SYN_OK);
        assert_int_equal(wal_sync(&wal), SYN_OK);
        struct snapfile_info *list;
        size_t n;
        assert_int_equal(snapfile_list(NULL, snap_dir, &list, &n), SYN_OK);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].index, 350);
        assert_int_equal(list[1].index, 300);
        free(list);
        snap_path(path, snap_dir, 250, 1, "tmp");
        assert_int_not_equal(access(path, F_OK), 0);
        snap_path(path, snap_dir, 900, 1, "tmp");
        assert_int_equal(access(path, F_OK), 0);
        wal_close(&wal);
        /* The WAL now starts after 200 but no later than 301: replay works from 300. */
        char segs[128][512];
        test_segments(dir, segs, 128);
        uint64_t first;
        assert_true(wal_segment_name_parse(strrchr(segs[0], '/') + 1, &first));
        assert_true(first > 200);
        assert_true(first <= 301);
        o.snapshot_index = 300;
        o.snapshot_term = 1;
        assert_int_equal(wal_open(&wal, dir, &o, &rec), SYN_OK);
        assert_int_equal(rec.count, 100);
        wal_recovered_free(&rec);
        wal_close(&wal);
        test_rmrf(dir);
}

static void write_errors_leave_no_snapshot(void **state)
{
        (void)state;
        char dir[256], path[600];
        test_tmpdir(dir);
        struct fault_fs ff;
        fault_fs_init(&ff);
        ff.pwrite_fail_after = 2;
        ff.pwrite_err = SYN_ENOSPC;
        assert_int_equal(write_snap(&ff.fs, dir, 5, 1, 4 * SNAP_CHUNK_BYTES), SYN_ENOSPC);
        snap_path(path, dir, 5, 1, "tmp");
        assert_int_not_equal(access(path, F_OK), 0);
        snap_path(path, dir, 5, 1, "snap");
        assert_int_not_equal(access(path, F_OK), 0);
        /* A failed fdatasync before the rename: no snapshot either. */
        fault_fs_init(&ff);
        ff.fdatasync_fail_after = 0;
        assert_int_equal(write_snap(&ff.fs, dir, 6, 1, 100), SYN_EIO);
        snap_path(path, dir, 6, 1, "snap");
        assert_int_not_equal(access(path, F_OK), 0);
        struct snapfile_reader r;
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_ENOTFOUND);
        assert_int_equal(write_snap(NULL, dir, 0, 1, 10), SYN_EINVAL);
        test_rmrf(dir);
}

static void writer_works_in_a_forked_child(void **state)
{
        (void)state;
        char dir[256];
        test_tmpdir(dir);
        const size_t size = SNAP_CHUNK_BYTES + 777;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(write_snap(NULL, dir, 123, 9, size) == SYN_OK ? 0 : 1);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        struct snapfile_reader r;
        assert_int_equal(snapfile_open_latest(&r, NULL, dir), SYN_OK);
        assert_int_equal(r.info.index, 123);
        read_and_check(&r, 123, size);
        snapfile_reader_close(&r);
        test_rmrf(dir);
}

int test_snap_group(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(round_trip_many_chunks),
            cmocka_unit_test(any_path_takes_index_and_term_from_the_header),
            cmocka_unit_test(latest_valid_skips_bad_snapshots),
            cmocka_unit_test(retention_keeps_newest_and_compacts_the_wal),
            cmocka_unit_test(write_errors_leave_no_snapshot),
            cmocka_unit_test(writer_works_in_a_forked_child),
        };
        return cmocka_run_group_tests_name("snapfile", tests, NULL, NULL);
}
