/*
 * synod durable storage: the write-ahead log, term/vote metadata and snapshot
 * files. This header is the whole contract of src/storage; the on-disk format is
 * docs/storage-format.md. Storage knows that entries have a term and an index
 * and nothing else about Raft or znodes.
 *
 * Data directory: <dir>/snap/snap-<index>-<term>.snap; the log directory
 * (wal_options.log_dir, ZooKeeper's dataLogDir; the data directory by default):
 * <log_dir>/wal/<first-index>.seg, <log_dir>/meta.0, <log_dir>/meta.1.
 *
 * How the host uses it (the server's loop thread; storage never includes libuv):
 *
 *   1. At start-up, blocking: snapfile_open_latest(<dir>/snap) to load the tree,
 *      then wal_open(dir, {snapshot_index, snapshot_term, notify, ...}, &rec),
 *      which returns term/vote and every entry after the snapshot.
 *   2. Each loop iteration (the beforeSleep step): wal_save_meta / wal_truncate_*
 *      / wal_append for what Raft asked to persist, in Raft's order, then
 *      wal_flush(&ticket). None of these block on the disk: they encode into
 *      memory and hand a batch to the I/O thread.
 *   3. The I/O thread takes every batch queued since its last pass, runs the jobs
 *      in FIFO order (pwrite records, rotate segments, truncate, write meta with
 *      its own fdatasync), then ONE fdatasync of the active segment for all
 *      records of the pass (group commit), and calls notify(notify_arg) on the I/O
 *      thread. The server turns notify into uv_async_send.
 *   4. In the async callback the loop calls wal_poll: everything flushed with a
 *      ticket <= status.done_ticket is durable, including meta. The host may send
 *      a vote (or an AppendEntries reply) only when the ticket of the flush that
 *      carried the meta (entries) is done. Because one FIFO carries meta, entries
 *      and truncations, a later job never becomes durable before an earlier one.
 *   5. status.error != SYN_OK is fatal and sticky (a failed fdatasync is never
 *      retried): the host must stop serving. Every later call returns it.
 *   6. A full disk is not fatal: status.no_space says the I/O side stopped at a
 *      write that found no room; it keeps every job from there on and tries
 *      again every WAL_NOSPACE_RETRY_MS (without an I/O thread: at each
 *      wal_flush), so tickets simply stop advancing until space returns. The
 *      host should refuse new work meanwhile: wal_append still queues (up to
 *      queue_bytes_max).
 *
 * With options.io_thread = false (tools, tests, the simulator) wal_flush does the
 * work in the caller's thread; wal_sync is flush-and-wait in both modes.
 *
 * Threads: all wal_* calls come from one thread (the loop). notify is the only
 * call made from the I/O thread. Snapshot writers use plain blocking I/O and
 * work in a forked child.
 */
#ifndef SYN_STORAGE_STORAGE_H
#define SYN_STORAGE_STORAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/hist.h"
#include "base/limits.h"
#include "storage/fs.h"

/* ------------------------------------------------------------------------ */
/* Format and scanning (pure; used by recovery, synod-check-wal and fuzzing) */

#define WAL_SEGMENT_HEADER_BYTES 32
#define WAL_RECORD_HEADER_BYTES  32
#define WAL_RECORD_ALIGN         8

struct wal_entry {
        uint64_t index;      /* >= 1 */
        uint64_t term;       /* >= 1 */
        uint8_t type;        /* 1..255, opaque to storage */
        uint32_t len;        /* <= WAL_ENTRY_BYTES_MAX */
        const uint8_t *data; /* see the function that hands the entry out */
};

enum wal_tail {
        WAL_TAIL_CLEAN,   /* records end at end of file or are followed only by zeros */
        WAL_TAIL_TORN,    /* garbage after the last valid record, no valid record after it */
        WAL_TAIL_CORRUPT, /* a bad record followed by a valid one, or a wrong index */
};

/* What a scan of one segment image found. Offsets are byte offsets in the file. */
struct wal_scan {
        bool header_ok;
        uint64_t first_index; /* from the header; 0 if the header is bad */
        uint64_t count;       /* valid records */
        uint64_t last_index;  /* of the last valid record; first_index - 1 if none */
        uint64_t last_term;   /* of the last valid record; 0 if none */
        uint64_t end_offset;  /* just after the last valid record (or the header) */
        enum wal_tail tail;
        uint64_t bad_offset;   /* TORN/CORRUPT: start of the first bad record */
        uint64_t valid_offset; /* CORRUPT: offset of the valid record that proves it */
        const char *reason;    /* static text for TORN/CORRUPT, NULL when CLEAN */
};

/* Called for each valid record in order; `e->data` points into the scanned image
 * (borrowed for the call). A non-zero return stops the scan and is returned. */
typedef int (*wal_scan_fn)(void *arg, const struct wal_entry *e, uint64_t offset);

/*
 * Scans a whole segment image (hostile bytes) and classifies its tail as in
 * docs/storage-format.md. It does not know whether the segment is the last one:
 * a TORN tail in a non-last segment is the caller's corruption. Never reads out
 * of bounds, never allocates. Returns SYN_OK or the callback's non-zero value.
 */
int wal_segment_scan(const uint8_t *data, size_t len, struct wal_scan *scan, wal_scan_fn fn,
                     void *arg);

/* Parses a segment file name ("00000000000000000001.seg"); false if it is not one. */
bool wal_segment_name_parse(const char *name, uint64_t *first_index);

/* ------------------------------------------------------------------------ */
/* Metadata */

struct wal_meta {
        uint64_t term;
        uint64_t vote; /* server id voted for in term, 0 = none */
};

/* Loads <dir>/meta.0 and meta.1: the valid copy with the higher sequence wins.
 * Fresh state (both missing, or a torn first write: one file, invalid, while
 * <dir>/wal and <dir>/snap are empty or missing): meta zeroed, *sequence 0.
 * SYN_ECORRUPT if both exist and neither is valid, if the only file is invalid
 * while wal/ or snap/ holds anything (damage, not a torn first write: starting
 * fresh could vote twice in a term), or if the winner sits in the wrong file;
 * I/O errors as returned. */
int wal_meta_load(const struct storage_fs *fs, const char *dir, struct wal_meta *meta,
                  uint64_t *sequence);

/* Durably writes meta with `sequence` (previous + 1) to meta.(sequence % 2):
 * pwrite, fdatasync, and an fsync of dir if the file was created. Blocking. */
int wal_meta_store(const struct storage_fs *fs, const char *dir, uint64_t sequence,
                   const struct wal_meta *meta);

/* ------------------------------------------------------------------------ */
/* The write-ahead log */

struct wal_options {
        const struct storage_fs *fs; /* borrowed until wal_close; NULL = posix */
        /* Directory of the WAL segments and the term/vote metadata (ZooKeeper's
         * dataLogDir: put the log on its own disk); NULL = the data directory.
         * Borrowed for wal_open (copied). */
        const char *log_dir;
        uint64_t segment_bytes;   /* rotate at this size; WAL_SEGMENT_BYTES_MIN..MAX */
        bool preallocate;         /* fallocate each segment to segment_bytes */
        bool io_thread;           /* false: wal_flush writes and syncs in the caller */
        uint64_t queue_bytes_max; /* unsynced bytes before SYN_EAGAIN; 0 = WAL_QUEUE_BYTES_MAX */
        uint64_t snapshot_index;  /* of the snapshot the host loaded; 0 = none */
        uint64_t snapshot_term;
        /* Called on the I/O thread after each pass and after a fatal error (without an
         * I/O thread: from wal_flush, in the caller). Must be thread-safe and quick
         * (e.g. uv_async_send) and must not call wal_* functions. May be NULL. */
        void (*notify)(void *arg);
        void *notify_arg;
};

struct wal_recovered {
        struct wal_meta meta;
        uint64_t first_index; /* of entries[0]; snapshot_index + 1 if count == 0 */
        uint64_t last_index;  /* of entries[count-1]; snapshot_index if count == 0 */
        size_t count;
        struct wal_entry *entries; /* entry data owned here; free with wal_recovered_free */
        bool torn_tail;            /* a torn tail was truncated during recovery */
        bool reset;                /* the WAL did not continue the snapshot and was emptied */
};

struct wal_status {
        uint64_t done_ticket;          /* every flush with ticket <= this is durable */
        uint64_t durable_index;        /* last entry of the WAL as of done_ticket (empty WAL:
                                          the index before the next one; 0 if nothing) */
        uint64_t durable_term;         /* its term; 0 if the WAL holds no entry */
        uint64_t fsync_count;          /* fdatasyncs of segments so far (group-commit metric) */
        bool no_space;                 /* the last pass stopped at a full disk (not an error) */
        uint64_t no_space_stalls;      /* times a pass found the disk full after one that did not */
        int error;                     /* SYN_OK, or the sticky fatal error */
        struct syn_hist fsync_us;      /* duration of each fdatasync of a segment, us */
        struct syn_hist batch_entries; /* entries made durable by each pass's fdatasync */
};

struct wal_job;

/* I/O side view of one segment file. */
struct wal_segment {
        uint64_t first_index;
        uint64_t last_index; /* first_index - 1 when empty */
        uint64_t last_term;  /* 0 when empty */
        uint64_t end_offset; /* where the next record goes */
};

/* All fields are private; the struct is public so the caller can own it. */
struct wal {
        /* Set by wal_open, read-only afterwards. */
        struct storage_fs fs;
        struct wal_options options;
        char dir[STORAGE_PATH_BYTES_MAX];     /* data directory: snap/ */
        char log_dir[STORAGE_PATH_BYTES_MAX]; /* log directory: wal/, meta.* */
        char wal_dir[STORAGE_PATH_BYTES_MAX];

        /* Loop side. */
        struct wal_job *batch_head, *batch_tail; /* jobs not yet flushed */
        uint64_t batch_bytes;                    /* bytes of records in batch jobs */
        struct syn_writer records;               /* open records job being filled */
        uint64_t records_first, records_last;    /* indexes in `records`; 0 if empty */
        uint64_t next_index;                     /* the next append must have this index */
        uint64_t flush_ticket;                   /* last ticket handed out */
        uint64_t handed_bytes;                   /* bytes handed to the I/O side, ever */
        uint64_t done_bytes_seen;                /* of those, known done at the last poll */
        int loop_error;                          /* sticky copy of the fatal error */

        /* I/O side (the I/O thread, or the caller when io_thread is false). */
        struct wal_segment *segments; /* sorted by first_index; the last is active */
        size_t segment_count, segment_cap;
        int active_fd;            /* -1 when no segment is open */
        struct wal_job *io_retry; /* jobs a full disk stopped, first to run next pass */
        uint64_t io_retry_ticket; /* the ticket they complete */
        uint64_t meta_sequence;
        uint64_t io_fsync_count;
        struct syn_hist io_fsync_us;      /* published into status.fsync_us */
        struct syn_hist io_batch_entries; /* published into status.batch_entries */

        /* Shared, under mu. */
        pthread_mutex_t mu;
        pthread_cond_t work_cond; /* I/O thread waits for jobs */
        pthread_cond_t done_cond; /* wal_sync waits for a pass */
        struct wal_job *queue_head, *queue_tail;
        uint64_t queued_ticket;
        uint64_t done_bytes;
        struct wal_status status;
        bool stop;
        bool thread_started;
        pthread_t thread;
};

/*
 * Opens (creating if needed) the data directory `dir`, loads meta, recovers the
 * WAL (truncating a torn tail, see docs/storage-format.md), and starts the I/O
 * thread if options->io_thread. Blocking. `dir` is copied; `options->fs` is
 * borrowed until wal_close. On success *rec is filled (free it with
 * wal_recovered_free; it does not borrow from wal) and wal_close must be called.
 * Errors: SYN_ECORRUPT (logged with file and offset), SYN_EINVAL (options),
 * SYN_ETOOBIG (path), SYN_ELIMIT (more than WAL_SEGMENT_COUNT_MAX segments),
 * SYN_ENOMEM, I/O errors. On error nothing needs closing.
 */
int wal_open(struct wal *wal, const char *dir, const struct wal_options *options,
             struct wal_recovered *rec);

void wal_recovered_free(struct wal_recovered *rec);

/*
 * Queues one entry. `index` must be wal_next_index(); `data` is copied (borrowed
 * for the call only). Does not block. Errors: SYN_EINVAL (index, type 0, term 0),
 * SYN_ETOOBIG (len > WAL_ENTRY_BYTES_MAX), SYN_EAGAIN (more than
 * WAL_QUEUE_BYTES_MAX not yet durable: flush, poll, retry later), SYN_ENOMEM, or
 * the sticky fatal error.
 */
int wal_append(struct wal *wal, uint8_t type, uint64_t term, uint64_t index, const void *data,
               size_t len);

/* Index the next wal_append must use. */
uint64_t wal_next_index(const struct wal *wal);

/* Queues a durable write of term/vote, ordered with entries in the FIFO. */
int wal_save_meta(struct wal *wal, const struct wal_meta *meta);

/* Queues dropping every entry >= index (Raft replacing a conflicting suffix);
 * afterwards wal_next_index() == index. SYN_EINVAL if index > wal_next_index()
 * or index == 0. */
int wal_truncate_suffix(struct wal *wal, uint64_t index);

/* Queues deleting the segments all of whose entries are < index (compaction).
 * Entries >= index are always kept; the active segment is never deleted. */
int wal_truncate_prefix(struct wal *wal, uint64_t index);

/* Queues dropping every entry; the next append must be next_index (after
 * installing a snapshot at next_index - 1, which must already be durable). */
int wal_reset(struct wal *wal, uint64_t next_index);

/* Queues snapshot retention: keep the newest `keep` (>= 1) snapshots in
 * <dir>/snap, delete the older ones and the WAL segments below the oldest kept
 * snapshot index + 1. Runs on the I/O side. */
int wal_retain(struct wal *wal, size_t keep);

/*
 * Hands everything queued since the last flush to the I/O side and sets *ticket
 * (may be NULL). Without an I/O thread it does the work before returning. If
 * nothing was queued the ticket is the previous one. Returns the sticky error.
 */
int wal_flush(struct wal *wal, uint64_t *ticket);

/* Reads the I/O side's progress (see struct wal_status). Never blocks on disk. */
void wal_poll(struct wal *wal, struct wal_status *status);

/* Flushes and waits until everything queued is durable. Returns the sticky error, or
 * SYN_ENOSPC if the disk is full (what was queued stays queued). */
int wal_sync(struct wal *wal);

/* Flushes and waits (unless a fatal error happened), stops the I/O thread,
 * closes files and frees memory. Unflushed work after a fatal error is dropped. */
void wal_close(struct wal *wal);

/* ------------------------------------------------------------------------ */
/* Snapshot files (plain blocking I/O: usable in a forked child) */

struct snapfile_info {
        uint64_t index;
        uint64_t term;
        char name[64]; /* file name inside the snapshot directory */
};

struct snapfile_writer {
        const struct storage_fs *fs;
        int fd;
        char tmp_path[STORAGE_PATH_BYTES_MAX];
        char final_path[STORAGE_PATH_BYTES_MAX];
        char dir[STORAGE_PATH_BYTES_MAX];
        uint8_t *chunk; /* SNAP_CHUNK_BYTES buffer */
        size_t chunk_len;
        uint64_t offset;      /* file offset of the next write */
        uint64_t total_bytes; /* stream bytes so far */
        uint32_t stream_crc;
        int error; /* sticky */
};

/* Creates <dir>/snap-<index>-<term>.tmp and writes the header. `fs` and `dir`:
 * fs borrowed until finish/abort, dir copied. index, term >= 1. */
int snapfile_writer_open(struct snapfile_writer *w, const struct storage_fs *fs, const char *dir,
                         uint64_t index, uint64_t term);

/* Appends stream bytes (borrowed for the call). Errors are sticky. */
int snapfile_writer_write(struct snapfile_writer *w, const void *data, size_t len);

/* Writes the last chunk and the trailer, fdatasyncs, renames to .snap, fsyncs the
 * directory, and frees the writer. On error the temp file is removed. */
int snapfile_writer_finish(struct snapfile_writer *w);

/* Closes and removes the temp file, frees the writer. */
void snapfile_writer_abort(struct snapfile_writer *w);

/* Lists the .snap files of dir whose names parse, newest (highest index) first;
 * *list is malloc'ed (caller frees with free(); NULL when *count is 0). Does not
 * check contents. */
int snapfile_list(const struct storage_fs *fs, const char *dir, struct snapfile_info **list,
                  size_t *count);

struct snapfile_reader {
        const struct storage_fs *fs;
        int fd;
        struct snapfile_info info;
        uint64_t total_bytes; /* stream length, from the verified trailer */
        uint64_t offset;      /* file offset of the next chunk */
        uint8_t *chunk;       /* current chunk (SNAP_CHUNK_BYTES_MAX buffer) */
        size_t chunk_len, chunk_pos;
        uint64_t read_bytes;
};

/* Opens one snapshot and verifies all of it (header, every chunk CRC, trailer,
 * name) before returning, so reading afterwards can only fail on I/O.
 * SYN_ECORRUPT / SYN_ETRUNC for a bad file. fs borrowed until close. */
int snapfile_reader_open(struct snapfile_reader *r, const struct storage_fs *fs, const char *dir,
                         const struct snapfile_info *info);

/* The same for a snapshot file at any path (a backup): index and term come from its
 * header, info.name is the path's last component (truncated to fit). SYN_ENOTFOUND if
 * there is no such file. */
int snapfile_reader_open_file(struct snapfile_reader *r, const struct storage_fs *fs,
                              const char *path);

/* Opens the newest snapshot that verifies, warning about each invalid one
 * skipped. SYN_ENOTFOUND if there is none. */
int snapfile_open_latest(struct snapfile_reader *r, const struct storage_fs *fs, const char *dir);

/* Reads up to n stream bytes into buf; *got = 0 at the end of the stream. */
int snapfile_read(struct snapfile_reader *r, void *buf, size_t n, size_t *got);

void snapfile_reader_close(struct snapfile_reader *r);

/* Keeps the newest `keep` (>= 1) .snap files, deletes older ones and all .tmp
 * files, fsyncs dir. *oldest_kept_index = index of the oldest kept snapshot (0 if
 * none). */
int snapfile_retain(const struct storage_fs *fs, const char *dir, size_t keep,
                    uint64_t *oldest_kept_index);

#endif
