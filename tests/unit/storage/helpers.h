/*
 * Helpers for the storage unit tests: a fault-injecting file-ops table that
 * wraps the posix one, temporary data directories, and whole-file access.
 */
#ifndef SYN_TEST_STORAGE_HELPERS_H
#define SYN_TEST_STORAGE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/*
 * Wraps storage_fs_posix(). Counters and knobs are plain fields: the I/O thread
 * writes them, the test reads them after wal_sync (whose mutex orders them).
 * A *_fail_after of N fails the (N+1)-th call from now on; -1 = never.
 */
struct fault_fs {
        struct storage_fs fs; /* hand &ff->fs to storage; fs.ctx points back here */
        int fdatasync_count;
        int pwrite_count;
        int sync_dir_count;
        int fdatasync_fail_after;
        int fdatasync_err;
        bool fdatasync_fail_once; /* fail one call, succeed afterwards */
        int pwrite_fail_after;
        int pwrite_err;
        int pwrite_fail_times; /* > 0: fail that many calls, then work again (a disk that
                                  gets space back); 0: fail from then on */
        size_t pwrite_max;     /* > 0: every pwrite writes at most this much */
        int fallocate_err;     /* returned by fallocate when non-zero */
        unsigned fdatasync_delay_us;
};

void fault_fs_init(struct fault_fs *ff);

/* A fresh directory under /tmp (static buffer of the caller, 256 bytes). */
void test_tmpdir(char *buf);
/* rm -rf path. */
void test_rmrf(const char *path);

/* Reads a whole file (malloc'ed) or aborts the test. */
uint8_t *test_read_file(const char *path, size_t *len);
void test_write_file(const char *path, const void *data, size_t len);
/* Names of *.seg files in <dir>/wal, sorted; returns count, fills up to max paths. */
size_t test_segments(const char *dir, char paths[][512], size_t max);

/* Deterministic payload for entry i: length and bytes derived from i. */
size_t test_payload(uint64_t index, uint8_t *buf, size_t cap);

/* Test groups (one per source file); return the failure count. */
int test_wal_group(void);
int test_recovery_group(void);
int test_snap_group(void);
int test_crash_group(void);

#endif
