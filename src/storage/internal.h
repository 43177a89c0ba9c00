/*
 * Internals shared by the files of src/storage; not part of the contract
 * (storage.h is). Holds the on-disk constants of docs/storage-format.md, the
 * job queue element, and the entry points the .c files call in each other.
 */
#ifndef SYN_STORAGE_INTERNAL_H
#define SYN_STORAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

#define WAL_SEGMENT_MAGIC       "SYNODWAL"
#define WAL_META_MAGIC          "SYNODMET"
#define SNAP_MAGIC              "SYNODSNP"
#define STORAGE_FORMAT_VERSION  1
#define WAL_META_BYTES          64
#define SNAP_HEADER_BYTES       64
#define SNAP_TRAILER_BYTES      16
#define SNAP_CHUNK_HEADER_BYTES 8

enum wal_job_kind {
        WAL_JOB_RECORDS,         /* data/len: encoded records first_index..last_index */
        WAL_JOB_META,            /* meta */
        WAL_JOB_TRUNCATE_SUFFIX, /* index: drop entries >= index */
        WAL_JOB_TRUNCATE_PREFIX, /* index: drop segments entirely below index */
        WAL_JOB_RESET,           /* index: drop everything, next entry is index */
        WAL_JOB_RETAIN,          /* index: number of snapshots to keep */
};

/* One unit of work on the I/O side's FIFO. Owned by whoever holds the list. */
struct wal_job {
        struct wal_job *next;
        enum wal_job_kind kind;
        uint64_t index;
        struct wal_meta meta;
        uint8_t *data; /* owned (malloc) */
        size_t len;
        size_t done; /* RECORDS: bytes of data already written (a retry starts there) */
        uint64_t first_index, last_index;
};

/* Framed size of a record with a payload of len bytes (header + payload + padding). */
static inline size_t wal_record_size(size_t len)
{
        return (WAL_RECORD_HEADER_BYTES + len + WAL_RECORD_ALIGN - 1) &
               ~(size_t)(WAL_RECORD_ALIGN - 1);
}

/* Encodes a record into out, which has wal_record_size(len) bytes. */
void wal_record_encode(uint8_t *out, uint8_t type, uint64_t term, uint64_t index, const void *data,
                       size_t len);

/* Checks one record at p (avail bytes readable). Fills *e (data points into p) and
 * *size on success. Pure. */
bool wal_record_parse(const uint8_t *p, size_t avail, struct wal_entry *e, size_t *size);

void wal_segment_header_encode(uint8_t out[WAL_SEGMENT_HEADER_BYTES], uint64_t first_index);

/* Joins dir and name into buf (STORAGE_PATH_BYTES_MAX); SYN_ETOOBIG if too long. */
int storage_path_join(char *buf, const char *dir, const char *name);

/* Path of the segment whose first index is first_index. */
int wal_segment_path(char *buf, const char *wal_dir, uint64_t first_index);

/* I/O side (wal_io.c). Runs a list of jobs in order, then one fdatasync of the
 * active segment when records were written. Returns SYN_OK, SYN_ENOSPC when a
 * write found the disk full (*stuck = the job to run again, from where it stopped;
 * the jobs before it are done and durable, none after it was started), or another,
 * fatal, error. stuck may be NULL when the caller treats a full disk as fatal. */
int wal_io_run(struct wal *wal, struct wal_job *jobs, struct wal_job **stuck);

/* Closes the active segment fd and frees the segment list. */
void wal_io_close(struct wal *wal);

/* Creates an empty segment starting at first_index, makes it active, and makes
 * its name durable (fsync of wal/). */
int wal_io_create_segment(struct wal *wal, uint64_t first_index);

/* Appends seg to wal->segments (copied), growing the array. SYN_ENOMEM if it cannot. */
int wal_segment_push(struct wal *wal, const struct wal_segment *seg);

/* Deletes every segment (oldest first) and closes the active one. */
int wal_io_remove_all(struct wal *wal);

/* Recovery at open (wal_recover.c): fills wal->segments and rec. */
int wal_recover(struct wal *wal, struct wal_recovered *rec);

void wal_jobs_free(struct wal_job *jobs);

/* Parses "snap-<20 digits>-<20 digits>.<ext>" (snapfile.c); index, term >= 1. */
bool snapfile_name_parse(const char *name, const char *ext, uint64_t *index, uint64_t *term);

#endif
