/*
 * The posix file-ops table and the small helpers every storage file uses.
 *
 * Each operation is a thin wrapper of one system call that maps errno to a
 * SYN_E* code (EINTR is retried). fallocate uses the Linux call with mode 0, so
 * the file size becomes the preallocated size and later writes into it do not
 * change the size (fdatasync then has no metadata to flush).
 */
#include "storage/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"

int storage_errno_to_err(int errnum)
{
        switch (errnum) {
        case ENOSPC:
        case EDQUOT:
                return SYN_ENOSPC;
        case EIO:
                return SYN_EIO;
        case ENOENT:
                return SYN_ENOTFOUND;
        case EEXIST:
                return SYN_EEXIST;
        case ENOMEM:
                return SYN_ENOMEM;
        default:
                return SYN_ESYS;
        }
}

static int posix_open(void *ctx, const char *path, int flags, int *fd)
{
        (void)ctx;
        int oflags = O_CLOEXEC;
        oflags |= (flags & STORAGE_OPEN_WRITE) ? O_RDWR : O_RDONLY;
        if (flags & STORAGE_OPEN_CREATE)
                oflags |= O_CREAT;
        if (flags & STORAGE_OPEN_TRUNC)
                oflags |= O_TRUNC;
        if (flags & STORAGE_OPEN_EXCL)
                oflags |= O_EXCL;
        int r;
        do
                r = open(path, oflags, 0644);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return storage_errno_to_err(errno);
        *fd = r;
        return SYN_OK;
}

static int posix_close(void *ctx, int fd)
{
        (void)ctx;
        /* close is not retried on EINTR: on Linux the descriptor is gone anyway. */
        return close(fd) == 0 ? SYN_OK : storage_errno_to_err(errno);
}

static int64_t posix_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
        (void)ctx;
        ssize_t r;
        do
                r = pread(fd, buf, n, (off_t)off);
        while (r < 0 && errno == EINTR);
        return r < 0 ? storage_errno_to_err(errno) : (int64_t)r;
}

static int64_t posix_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
        (void)ctx;
        ssize_t r;
        do
                r = pwrite(fd, buf, n, (off_t)off);
        while (r < 0 && errno == EINTR);
        return r < 0 ? storage_errno_to_err(errno) : (int64_t)r;
}

static int posix_fdatasync(void *ctx, int fd)
{
        (void)ctx;
        /* Not retried on EINTR or anything else: a failed sync is fatal (see wal). */
        return fdatasync(fd) == 0 ? SYN_OK : storage_errno_to_err(errno);
}

static int posix_ftruncate(void *ctx, int fd, uint64_t size)
{
        (void)ctx;
        int r;
        do
                r = ftruncate(fd, (off_t)size);
        while (r < 0 && errno == EINTR);
        return r == 0 ? SYN_OK : storage_errno_to_err(errno);
}

static int fs_posix_fallocate(void *ctx, int fd, uint64_t size)
{
        (void)ctx;
        int r;
        do
                r = fallocate(fd, 0, 0, (off_t)size);
        while (r < 0 && errno == EINTR);
        if (r == 0)
                return SYN_OK;
        if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
                return SYN_EINVAL;
        return storage_errno_to_err(errno);
}

static int posix_size(void *ctx, int fd, uint64_t *size)
{
        (void)ctx;
        struct stat st;
        if (fstat(fd, &st) != 0)
                return storage_errno_to_err(errno);
        *size = (uint64_t)st.st_size;
        return SYN_OK;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
        (void)ctx;
        return rename(from, to) == 0 ? SYN_OK : storage_errno_to_err(errno);
}

static int posix_unlink(void *ctx, const char *path)
{
        (void)ctx;
        return unlink(path) == 0 ? SYN_OK : storage_errno_to_err(errno);
}

static int posix_mkdir(void *ctx, const char *path)
{
        (void)ctx;
        if (mkdir(path, 0755) == 0)
                return SYN_OK;
        if (errno == EEXIST) {
                struct stat st;
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        return SYN_OK;
        }
        return storage_errno_to_err(errno);
}

static int posix_sync_dir(void *ctx, const char *path)
{
        (void)ctx;
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return storage_errno_to_err(errno);
        int r = fsync(fd) == 0 ? SYN_OK : storage_errno_to_err(errno);
        close(fd);
        return r;
}

static int posix_list_dir(void *ctx, const char *path, size_t max, char ***names, size_t *count)
{
        (void)ctx;
        DIR *d = opendir(path);
        if (!d)
                return storage_errno_to_err(errno);
        char **v = NULL;
        size_t n = 0, cap = 0;
        int err = SYN_OK;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (n == max) {
                        err = SYN_ELIMIT;
                        break;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char **nv = realloc(v, ncap * sizeof *nv);
                        if (!nv) {
                                err = SYN_ENOMEM;
                                break;
                        }
                        v = nv;
                        cap = ncap;
                }
                v[n] = strdup(e->d_name);
                if (!v[n]) {
                        err = SYN_ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (err != SYN_OK) {
                storage_fs_names_free(v, n);
                return err;
        }
        *names = v;
        *count = n;
        return SYN_OK;
}

static const struct storage_fs posix_fs = {
    .ctx = NULL,
    .open = posix_open,
    .close = posix_close,
    .pread = posix_pread,
    .pwrite = posix_pwrite,
    .fdatasync = posix_fdatasync,
    .ftruncate = posix_ftruncate,
    .fallocate = fs_posix_fallocate,
    .size = posix_size,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .mkdir = posix_mkdir,
    .sync_dir = posix_sync_dir,
    .list_dir = posix_list_dir,
};

const struct storage_fs *storage_fs_posix(void)
{
        return &posix_fs;
}

void storage_fs_names_free(char **names, size_t count)
{
        for (size_t i = 0; i < count; i++)
                free(names[i]);
        free(names);
}

int storage_fs_pread_full(const struct storage_fs *fs, int fd, void *buf, size_t n, uint64_t off)
{
        uint8_t *p = buf;
        while (n > 0) {
                int64_t r = fs->pread(fs->ctx, fd, p, n, off);
                if (r < 0)
                        return (int)r;
                if (r == 0)
                        return SYN_ETRUNC;
                p += r;
                n -= (size_t)r;
                off += (uint64_t)r;
        }
        return SYN_OK;
}

int storage_fs_pwrite_full(const struct storage_fs *fs, int fd, const void *buf, size_t n,
                           uint64_t off)
{
        const uint8_t *p = buf;
        while (n > 0) {
                int64_t r = fs->pwrite(fs->ctx, fd, p, n, off);
                if (r < 0)
                        return (int)r;
                if (r == 0)
                        return SYN_EIO;
                p += r;
                n -= (size_t)r;
                off += (uint64_t)r;
        }
        return SYN_OK;
}

int storage_fs_sync_data(const struct storage_fs *fs, int fd)
{
        int err = fs->fdatasync(fs->ctx, fd);
        return err == SYN_ENOSPC ? SYN_EIO : err;
}

int storage_fs_read_file(const struct storage_fs *fs, const char *path, uint64_t max,
                         uint8_t **data, size_t *len)
{
        int fd;
        int err = fs->open(fs->ctx, path, STORAGE_OPEN_READ, &fd);
        if (err != SYN_OK)
                return err;
        uint64_t size;
        err = fs->size(fs->ctx, fd, &size);
        if (err == SYN_OK && size > max)
                err = SYN_ETOOBIG;
        uint8_t *buf = NULL;
        if (err == SYN_OK) {
                buf = malloc(size ? (size_t)size : 1);
                if (!buf)
                        err = SYN_ENOMEM;
        }
        if (err == SYN_OK)
                err = storage_fs_pread_full(fs, fd, buf, (size_t)size, 0);
        fs->close(fs->ctx, fd);
        if (err != SYN_OK) {
                free(buf);
                return err;
        }
        *data = buf;
        *len = (size_t)size;
        return SYN_OK;
}
