/*
 * libFuzzer target: hostile bytes as a WAL segment and as a snapshot file.
 *
 * Each input is (1) scanned in memory with wal_segment_scan, (2) written as the
 * only segment of a data directory and recovered with wal_open (which may cut a
 * torn tail or refuse with SYN_ECORRUPT, but must never crash, leak or read out
 * of bounds), and (3) written as a snapshot file and opened with
 * snapfile_open_latest and read to the end. The file is named after the first
 * index / index and term found in the input's header, so inputs that look like
 * real files get past the name checks.
 *
 * fdatasync and directory fsync are no-ops here (through the fs table): the
 * fuzzer checks parsing, not durability, and fsyncs would make it crawl.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "storage/storage.h"

static char fuzz_dir[64];
static struct storage_fs fuzz_fs;

static int nosync(void *ctx, int fd)
{
        (void)ctx;
        (void)fd;
        return SYN_OK;
}

static int nosync_dir(void *ctx, const char *path)
{
        (void)ctx;
        (void)path;
        return SYN_OK;
}

static void quiet(void *arg, enum syn_log_level level, const char *line)
{
        (void)arg;
        (void)level;
        (void)line;
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
        FILE *f = fopen(path, "wb");
        if (!f)
                abort();
        if (size && fwrite(data, 1, size, f) != size)
                abort();
        fclose(f);
}

static void remove_all_in(const char *dir)
{
        char **names;
        size_t n;
        if (storage_fs_posix()->list_dir(NULL, dir, 100000, &names, &n) != SYN_OK)
                return;
        for (size_t i = 0; i < n; i++) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                unlink(path);
        }
        storage_fs_names_free(names, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void)
{
        char sub[128];
        snprintf(sub, sizeof sub, "%s/wal", fuzz_dir);
        remove_all_in(sub);
        rmdir(sub);
        snprintf(sub, sizeof sub, "%s/snap", fuzz_dir);
        remove_all_in(sub);
        rmdir(sub);
        remove_all_in(fuzz_dir);
        rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        (void)argc;
        (void)argv;
        syn_log_configure(SYN_LOG_ERROR, quiet, NULL);
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/synod-fuzz-wal-XXXXXX");
        if (!mkdtemp(fuzz_dir))
                abort();
        fuzz_fs = *storage_fs_posix();
        fuzz_fs.fdatasync = nosync;
        fuzz_fs.sync_dir = nosync_dir;
        atexit(cleanup);
        return 0;
}

static void fuzz_recover(const uint8_t *data, size_t size)
{
        uint64_t first = size >= 24 ? syn_get_be64(data + 16) : 1;
        if (first == 0)
                first = 1;
        char wal_dir[128], path[192];
        snprintf(wal_dir, sizeof wal_dir, "%s/wal", fuzz_dir);
        storage_fs_posix()->mkdir(NULL, wal_dir);
        remove_all_in(wal_dir);
        snprintf(path, sizeof path, "%s/%020llu.seg", wal_dir, (unsigned long long)first);
        write_file(path, data, size);
        struct wal wal;
        struct wal_recovered rec;
        struct wal_options o = {.fs = &fuzz_fs, .segment_bytes = 4096};
        /* Half the inputs also claim a snapshot, to reach the snapshot matching. */
        if (size > 0 && (data[size - 1] & 1)) {
                o.snapshot_index = first + (data[size - 1] >> 1) % 4;
                o.snapshot_term = 1;
        }
        if (wal_open(&wal, fuzz_dir, &o, &rec) != SYN_OK)
                return;
        for (size_t i = 0; i < rec.count; i++)
                if (rec.entries[i].index < rec.first_index || rec.entries[i].len > size)
                        abort();
        if (wal_append(&wal, 1, 1, wal_next_index(&wal), "x", 1) == SYN_OK)
                wal_sync(&wal);
        wal_recovered_free(&rec);
        wal_close(&wal);
}

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
        uint64_t index = size >= 32 ? syn_get_be64(data + 16) : 1;
        uint64_t term = size >= 32 ? syn_get_be64(data + 24) : 1;
        char snap_dir[128], path[256];
        snprintf(snap_dir, sizeof snap_dir, "%s/snap", fuzz_dir);
        storage_fs_posix()->mkdir(NULL, snap_dir);
        remove_all_in(snap_dir);
        snprintf(path, sizeof path, "%s/snap-%020llu-%020llu.snap", snap_dir,
                 (unsigned long long)(index ? index : 1), (unsigned long long)(term ? term : 1));
        write_file(path, data, size);
        struct snapfile_reader r;
        if (snapfile_open_latest(&r, &fuzz_fs, snap_dir) != SYN_OK)
                return;
        uint8_t buf[4096];
        size_t got, total = 0;
        do {
                if (snapfile_read(&r, buf, sizeof buf, &got) != SYN_OK)
                        break;
                total += got;
        } while (got > 0);
        if (total > size)
                abort();
        snapfile_reader_close(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct wal_scan scan;
        wal_segment_scan(data, size, &scan, NULL, NULL);
        if (scan.end_offset > size || (scan.tail != WAL_TAIL_CLEAN && scan.bad_offset > size))
                abort();
        fuzz_recover(data, size);
        fuzz_snapshot(data, size);
        return 0;
}
