/*
 * A file-ops table that models a crash: data written but not fdatasynced, and
 * names created, renamed or unlinked but not made durable with a directory
 * fsync, may be lost.
 *
 * It wraps the posix table and keeps, per file, the content as of its last
 * fdatasync, the writes since then, and whether its name is durable. After
 * `crash_after` mutating operations the disk "dies": that operation and every
 * later one fail with SYN_EIO. crash_fs_crash() then rewrites the directory as
 * a power cut would leave it: each file gets its durable content plus, chosen by
 * the seed, a prefix of its unsynced writes with the last one possibly torn;
 * files whose names were never made durable disappear, and unlinked files whose
 * removal was not made durable come back.
 *
 * Only files created through this table are tracked (tests start from an empty
 * directory). Directories are assumed durable once created.
 */
#ifndef SYN_TEST_STORAGE_CRASH_FS_H
#define SYN_TEST_STORAGE_CRASH_FS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/fs.h"

#define CRASH_FS_FILES_MAX 256
#define CRASH_FS_FDS_MAX   64
#define CRASH_FS_OPS_MAX   4096

struct crash_op {
        uint64_t off;
        uint8_t *data; /* NULL: an extension/truncation to off bytes */
        size_t len;
        bool truncate; /* set size to off */
};

struct crash_file {
        char path[512];
        bool exists;       /* in the live directory */
        bool name_durable; /* survives a crash under this name */
        uint8_t *durable;  /* content as of the last fdatasync (malloc) */
        size_t durable_len;
        struct crash_op *ops; /* unsynced changes since, in order */
        size_t op_count;
};

struct crash_fs {
        struct storage_fs fs; /* hand &cf->fs to storage */
        pthread_mutex_t mu;
        struct crash_file files[CRASH_FS_FILES_MAX];
        size_t file_count;
        struct {
                int fd;
                size_t file; /* index in files */
        } fds[CRASH_FS_FDS_MAX];
        long ops_left; /* mutating ops before the disk dies; < 0 = never */
        long ops_done;
        bool dead;
};

void crash_fs_init(struct crash_fs *cf, long crash_after);
/* Rewrites the files as a crash leaves them (see above); the disk works again
 * afterwards and everything on it counts as durable. */
void crash_fs_crash(struct crash_fs *cf, uint64_t seed);
void crash_fs_close(struct crash_fs *cf);

#endif
