/*
 * The file operations storage uses, as a table of function pointers.
 *
 * Every file access of src/storage goes through a `struct storage_fs`, so a test
 * or the simulator can swap in a disk that fails (short writes, ENOSPC, EIO,
 * fdatasync errors) or that forgets unsynced data on a simulated crash. The
 * posix table (fs_posix.c) is the real one.
 *
 * Conventions shared by every operation:
 * - Return SYN_OK (0) or a negative SYN_E* code: ENOSPC -> SYN_ENOSPC,
 *   EIO -> SYN_EIO, ENOENT -> SYN_ENOTFOUND, EEXIST -> SYN_EEXIST, anything
 *   else -> SYN_ESYS. pread/pwrite return a byte count >= 0 instead, which may
 *   be short; use storage_fs_pread_full / storage_fs_pwrite_full to loop.
 * - `ctx` is the table's own context (NULL for posix), passed back to each call.
 * - Paths are borrowed for the call. Descriptors are small ints owned by the
 *   caller until `close`.
 */
#ifndef SYN_STORAGE_FS_H
#define SYN_STORAGE_FS_H

#include <stddef.h>
#include <stdint.h>

enum storage_open_flags {
        STORAGE_OPEN_READ = 1,   /* read only */
        STORAGE_OPEN_WRITE = 2,  /* read and write */
        STORAGE_OPEN_CREATE = 4, /* create if missing (mode 0644) */
        STORAGE_OPEN_TRUNC = 8,  /* truncate to 0 bytes */
        STORAGE_OPEN_EXCL = 16,  /* with CREATE: fail with SYN_EEXIST if it exists */
};

struct storage_fs {
        void *ctx;
        /* Opens a regular file; *fd is set on success. */
        int (*open)(void *ctx, const char *path, int flags, int *fd);
        int (*close)(void *ctx, int fd);
        /* Bytes read (0 at end of file, may be short) or a negative error. */
        int64_t (*pread)(void *ctx, int fd, void *buf, size_t n, uint64_t off);
        /* Bytes written (may be short) or a negative error. */
        int64_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, uint64_t off);
        int (*fdatasync)(void *ctx, int fd);
        int (*ftruncate)(void *ctx, int fd, uint64_t size);
        /* Reserves blocks so the file is at least `size` bytes (zero filled). Returns
         * SYN_EINVAL if the file system cannot (the caller then simply does not
         * preallocate), SYN_ENOSPC if the disk is full. */
        int (*fallocate)(void *ctx, int fd, uint64_t size);
        int (*size)(void *ctx, int fd, uint64_t *size);
        int (*rename)(void *ctx, const char *from, const char *to);
        int (*unlink)(void *ctx, const char *path);
        /* Creates a directory; an existing directory is not an error. */
        int (*mkdir)(void *ctx, const char *path);
        /* Makes the directory's entries (creates, renames, unlinks) durable. */
        int (*sync_dir)(void *ctx, const char *path);
        /* Lists the names in a directory (not "." or ".."), at most `max` of them
         * (SYN_ELIMIT beyond). On success *names is an array of *count strings;
         * the caller frees it with storage_fs_names_free. */
        int (*list_dir)(void *ctx, const char *path, size_t max, char ***names, size_t *count);
};

/* The real file system. Static storage; copy it to override single operations. */
const struct storage_fs *storage_fs_posix(void);

/* Frees a list from list_dir. */
void storage_fs_names_free(char **names, size_t count);

/* Maps an errno value to a SYN_E* code (see the conventions above). */
int storage_errno_to_err(int errnum);

/* Reads exactly n bytes at off. SYN_ETRUNC if the file ends first, or the
 * error of pread. */
int storage_fs_pread_full(const struct storage_fs *fs, int fd, void *buf, size_t n, uint64_t off);

/* Writes exactly n bytes at off, looping over short writes. A write that makes
 * no progress gives SYN_EIO. */
int storage_fs_pwrite_full(const struct storage_fs *fs, int fd, const void *buf, size_t n,
                           uint64_t off);

/* fdatasync for data that was reported written. A failed fdatasync may have dropped
 * the dirty pages it could not write, so even "no space" there is an I/O error
 * (SYN_EIO), never the retryable SYN_ENOSPC of a write that did not happen. */
int storage_fs_sync_data(const struct storage_fs *fs, int fd);

/* Reads a whole file of at most max bytes into a malloc'ed buffer (caller frees
 * with free()). SYN_ETOOBIG if it is larger; SYN_ENOTFOUND if it does not exist. */
int storage_fs_read_file(const struct storage_fs *fs, const char *path, uint64_t max,
                         uint8_t **data, size_t *len);

#endif
