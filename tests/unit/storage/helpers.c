/* Fault-injecting fs table, temp dirs and file helpers for the storage tests. */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"

static int ff_fdatasync(void *ctx, int fd)
{
        struct fault_fs *ff = ctx;
        if (ff->fdatasync_delay_us) {
                struct timespec ts = {0, (long)ff->fdatasync_delay_us * 1000};
                nanosleep(&ts, NULL);
        }
        if (ff->fdatasync_fail_after == 0) {
                if (ff->fdatasync_fail_once)
                        ff->fdatasync_fail_after = -1;
                return ff->fdatasync_err;
        }
        if (ff->fdatasync_fail_after > 0)
                ff->fdatasync_fail_after--;
        ff->fdatasync_count++;
        return storage_fs_posix()->fdatasync(NULL, fd);
}

static int64_t ff_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
        struct fault_fs *ff = ctx;
        if (ff->pwrite_fail_after == 0) {
                if (ff->pwrite_fail_times > 0 && --ff->pwrite_fail_times == 0)
                        ff->pwrite_fail_after = -1;
                return ff->pwrite_err;
        }
        if (ff->pwrite_fail_after > 0)
                ff->pwrite_fail_after--;
        ff->pwrite_count++;
        if (ff->pwrite_max && n > ff->pwrite_max)
                n = ff->pwrite_max;
        return storage_fs_posix()->pwrite(NULL, fd, buf, n, off);
}

static int ff_fallocate(void *ctx, int fd, uint64_t size)
{
        struct fault_fs *ff = ctx;
        if (ff->fallocate_err)
                return ff->fallocate_err;
        return storage_fs_posix()->fallocate(NULL, fd, size);
}

static int ff_sync_dir(void *ctx, const char *path)
{
        struct fault_fs *ff = ctx;
        ff->sync_dir_count++;
        return storage_fs_posix()->sync_dir(NULL, path);
}

void fault_fs_init(struct fault_fs *ff)
{
        memset(ff, 0, sizeof *ff);
        ff->fs = *storage_fs_posix();
        ff->fs.ctx = ff;
        ff->fs.fdatasync = ff_fdatasync;
        ff->fs.pwrite = ff_pwrite;
        ff->fs.fallocate = ff_fallocate;
        ff->fs.sync_dir = ff_sync_dir;
        ff->fdatasync_fail_after = -1;
        ff->pwrite_fail_after = -1;
        ff->fdatasync_err = SYN_EIO;
        ff->pwrite_err = SYN_EIO;
}

void test_tmpdir(char *buf)
{
        snprintf(buf, 256, "/tmp/synod-storage-test-XXXXXX");
        assert_non_null(mkdtemp(buf));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

void test_rmrf(const char *path)
{
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

uint8_t *test_read_file(const char *path, size_t *len)
{
        uint8_t *data;
        int err = storage_fs_read_file(storage_fs_posix(), path, 1u << 30, &data, len);
        assert_int_equal(err, SYN_OK);
        return data;
}

void test_write_file(const char *path, const void *data, size_t len)
{
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len > 0)
                assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(a, b);
}

size_t test_segments(const char *dir, char paths[][512], size_t max)
{
        char wal_dir[512];
        snprintf(wal_dir, sizeof wal_dir, "%s/wal", dir);
        DIR *d = opendir(wal_dir);
        assert_non_null(d);
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                size_t l = strlen(e->d_name);
                if (l < 4 || strcmp(e->d_name + l - 4, ".seg") != 0)
                        continue;
                assert_true(n < max);
                assert_true(strlen(wal_dir) + 1 + l < 512);
                memcpy(paths[n], wal_dir, strlen(wal_dir));
                paths[n][strlen(wal_dir)] = '/';
                memcpy(paths[n] + strlen(wal_dir) + 1, e->d_name, l + 1);
                n++;
        }
        closedir(d);
        qsort(paths, n, 512, cmp_str);
        return n;
}

size_t test_payload(uint64_t index, uint8_t *buf, size_t cap)
{
        size_t len = (size_t)((index * 37) % 200);
        assert_true(len <= cap);
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(index * 131 + i * 7);
        return len;
}
