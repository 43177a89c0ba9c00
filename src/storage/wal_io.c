/*
 * The I/O side of the WAL: runs one pass of queued jobs against the segment
 * files. It runs on the I/O thread (or in the caller when there is none) and is
 * the only code that touches wal->segments and wal->active_fd after open.
 *
 * A pass runs the jobs in FIFO order and ends with ONE fdatasync of the active
 * segment covering every record written in the pass: that is the group commit.
 * Records are written in spans (as many consecutive records as fit in the
 * active segment) with one pwrite each. When a record does not fit, the active
 * segment is fdatasynced before the next one is created, so a segment that is
 * not the last is always complete on disk (recovery relies on it).
 *
 * A full disk (SYN_ENOSPC from a create, a write or a term/vote store) stops the
 * pass where it is: what was written before is synced and stays, the job that hit
 * it is run again later from where it stopped (a record span is rewritten at the
 * same offset, a segment is created again with O_TRUNC), so nothing is written
 * twice or out of order. Only writes can hit it: a failed fdatasync may have
 * dropped pages it could not write, so it is an I/O error (storage_fs_sync_data).
 * Any other error is returned to the caller, which makes it fatal and sticky:
 * after a failed write or fdatasync the state of the file is unknown.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "storage/internal.h"

static struct wal_segment *io_active(struct wal *wal)
{
        SYN_ASSERT(wal->segment_count > 0);
        return &wal->segments[wal->segment_count - 1];
}

int wal_segment_push(struct wal *wal, const struct wal_segment *seg)
{
        if (wal->segment_count == wal->segment_cap) {
                size_t cap = wal->segment_cap ? wal->segment_cap * 2 : 16;
                struct wal_segment *v = realloc(wal->segments, cap * sizeof *v);
                if (!v)
                        return SYN_ENOMEM;
                wal->segments = v;
                wal->segment_cap = cap;
        }
        wal->segments[wal->segment_count++] = *seg;
        return SYN_OK;
}

static void io_close_active(struct wal *wal)
{
        if (wal->active_fd >= 0)
                wal->fs.close(wal->fs.ctx, wal->active_fd);
        wal->active_fd = -1;
}

/* Preallocates the active file up to the segment size. Unsupported is fine, and so
 * is a disk without room for a whole segment: the records may still fit, and when
 * they do not, their write reports it. */
static int io_preallocate(struct wal *wal, int fd)
{
        if (!wal->options.preallocate)
                return SYN_OK;
        int err = wal->fs.fallocate(wal->fs.ctx, fd, wal->options.segment_bytes);
        return err == SYN_EINVAL || err == SYN_ENOSPC ? SYN_OK : err;
}

int wal_io_create_segment(struct wal *wal, uint64_t first_index)
{
        SYN_ASSERT(wal->active_fd < 0);
        char path[STORAGE_PATH_BYTES_MAX];
        int err = wal_segment_path(path, wal->wal_dir, first_index);
        if (err != SYN_OK)
                return err;
        int fd;
        err = wal->fs.open(wal->fs.ctx, path,
                           STORAGE_OPEN_WRITE | STORAGE_OPEN_CREATE | STORAGE_OPEN_TRUNC, &fd);
        if (err != SYN_OK)
                return err;
        uint8_t header[WAL_SEGMENT_HEADER_BYTES];
        wal_segment_header_encode(header, first_index);
        err = io_preallocate(wal, fd);
        if (err == SYN_OK)
                err = storage_fs_pwrite_full(&wal->fs, fd, header, sizeof header, 0);
        /* The name must be durable before any record in it is reported durable. */
        if (err == SYN_OK)
                err = wal->fs.sync_dir(wal->fs.ctx, wal->wal_dir);
        if (err == SYN_OK) {
                struct wal_segment seg = {.first_index = first_index,
                                          .last_index = first_index - 1,
                                          .last_term = 0,
                                          .end_offset = WAL_SEGMENT_HEADER_BYTES};
                err = wal_segment_push(wal, &seg);
        }
        if (err != SYN_OK) {
                wal->fs.close(wal->fs.ctx, fd);
                SYN_ERROR("storage: cannot create WAL segment %s: %s", path, syn_strerror(err));
                return err;
        }
        wal->active_fd = fd;
        return SYN_OK;
}

static int io_unlink_segment(struct wal *wal, size_t i)
{
        char path[STORAGE_PATH_BYTES_MAX];
        int err = wal_segment_path(path, wal->wal_dir, wal->segments[i].first_index);
        if (err == SYN_OK)
                err = wal->fs.unlink(wal->fs.ctx, path);
        if (err == SYN_ENOTFOUND)
                err = SYN_OK;
        if (err != SYN_OK)
                SYN_ERROR("storage: cannot remove WAL segment %s: %s", path, syn_strerror(err));
        return err;
}

int wal_io_remove_all(struct wal *wal)
{
        io_close_active(wal);
        /* Oldest first: a crash part way leaves a contiguous suffix of the log. */
        size_t removed = 0;
        int err = SYN_OK;
        while (removed < wal->segment_count && err == SYN_OK) {
                err = io_unlink_segment(wal, removed);
                if (err == SYN_OK)
                        removed++;
        }
        memmove(wal->segments, wal->segments + removed,
                (wal->segment_count - removed) * sizeof *wal->segments);
        wal->segment_count -= removed;
        if (removed > 0) {
                int serr = wal->fs.sync_dir(wal->fs.ctx, wal->wal_dir);
                if (err == SYN_OK)
                        err = serr;
        }
        return err;
}

static uint64_t io_now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* fdatasyncs the active segment; counted and timed for the metrics. The clock is
 * read here only to measure: nothing in the WAL depends on it. */
static int io_sync_active(struct wal *wal)
{
        uint64_t start = io_now_us();
        int err = storage_fs_sync_data(&wal->fs, wal->active_fd);
        syn_hist_observe(&wal->io_fsync_us, io_now_us() - start);
        if (err != SYN_OK) {
                SYN_ERROR("storage: fdatasync of the WAL failed: %s (fatal, not retried)",
                          syn_strerror(err));
                return err;
        }
        wal->io_fsync_count++;
        return SYN_OK;
}

static int io_rotate(struct wal *wal, uint64_t first_index)
{
        int err = io_sync_active(wal);
        if (err != SYN_OK)
                return err;
        io_close_active(wal);
        return wal_io_create_segment(wal, first_index);
}

/* Bytes of consecutive records from data that fit in the active segment. The
 * buffer was encoded by wal_append, so its lengths are trusted (asserted). */
static size_t io_span(const struct wal *wal, const struct wal_segment *seg, const uint8_t *data,
                      size_t len, uint64_t *last_index, uint64_t *last_term)
{
        size_t span = 0;
        while (span < len) {
                SYN_ASSERT(len - span >= WAL_RECORD_HEADER_BYTES);
                size_t size = wal_record_size(syn_get_be32(data + span + 4));
                SYN_ASSERT(size <= len - span);
                bool empty = seg->end_offset + span == WAL_SEGMENT_HEADER_BYTES;
                if (!empty && seg->end_offset + span + size > wal->options.segment_bytes)
                        break;
                *last_term = syn_get_be64(data + span + 16);
                *last_index = syn_get_be64(data + span + 24);
                span += size;
        }
        return span;
}

static int io_write_records(struct wal *wal, struct wal_job *job)
{
        size_t off = job->done;
        while (off < job->len) {
                uint64_t index = syn_get_be64(job->data + off + 24);
                int err = SYN_OK;
                if (wal->active_fd < 0)
                        err = wal_io_create_segment(wal, index);
                if (err != SYN_OK)
                        return err;
                struct wal_segment *seg = io_active(wal);
                SYN_ASSERT(index == seg->last_index + 1);
                uint64_t last_index = 0, last_term = 0;
                size_t span =
                    io_span(wal, seg, job->data + off, job->len - off, &last_index, &last_term);
                if (span == 0) {
                        err = io_rotate(wal, index);
                        if (err != SYN_OK)
                                return err;
                        continue;
                }
                err = storage_fs_pwrite_full(&wal->fs, wal->active_fd, job->data + off, span,
                                             seg->end_offset);
                if (err != SYN_OK) {
                        if (err != SYN_ENOSPC)
                                SYN_ERROR("storage: WAL write failed: %s", syn_strerror(err));
                        return err;
                }
                seg->end_offset += span;
                seg->last_index = last_index;
                seg->last_term = last_term;
                off += span;
                job->done = off;
        }
        return SYN_OK;
}

struct io_find {
        uint64_t index;     /* looking for this record */
        uint64_t offset;    /* its offset, once found */
        uint64_t prev_term; /* term of the record before it */
        bool found;
};

static int io_find_cb(void *arg, const struct wal_entry *e, uint64_t offset)
{
        struct io_find *f = arg;
        if (e->index == f->index) {
                f->offset = offset;
                f->found = true;
                return 1;
        }
        f->prev_term = e->term;
        return 0;
}

/* Finds the offset of record `index` in segment k by reading it back. */
static int io_find_offset(struct wal *wal, size_t k, struct io_find *f)
{
        struct wal_segment *seg = &wal->segments[k];
        char path[STORAGE_PATH_BYTES_MAX];
        int err = wal_segment_path(path, wal->wal_dir, seg->first_index);
        if (err != SYN_OK)
                return err;
        int fd;
        err = wal->fs.open(wal->fs.ctx, path, STORAGE_OPEN_READ, &fd);
        if (err != SYN_OK)
                return err;
        uint8_t *data = malloc(seg->end_offset);
        if (!data) {
                wal->fs.close(wal->fs.ctx, fd);
                return SYN_ENOMEM;
        }
        err = storage_fs_pread_full(&wal->fs, fd, data, seg->end_offset, 0);
        wal->fs.close(wal->fs.ctx, fd);
        struct wal_scan scan;
        if (err == SYN_OK)
                wal_segment_scan(data, seg->end_offset, &scan, io_find_cb, f);
        free(data);
        if (err == SYN_OK && !f->found) {
                SYN_ERROR("storage: record %llu not found in %s while truncating",
                          (unsigned long long)f->index, path);
                err = SYN_ECORRUPT;
        }
        return err;
}

/* Cuts segment k (now the last) to hold only entries < index, and syncs it. */
static int io_cut_segment(struct wal *wal, size_t k, uint64_t index)
{
        struct wal_segment *seg = &wal->segments[k];
        struct io_find f = {.index = index, .offset = WAL_SEGMENT_HEADER_BYTES};
        int err = SYN_OK;
        if (index > seg->first_index)
                err = io_find_offset(wal, k, &f);
        if (err != SYN_OK)
                return err;
        if (wal->active_fd < 0) {
                char path[STORAGE_PATH_BYTES_MAX];
                err = wal_segment_path(path, wal->wal_dir, seg->first_index);
                if (err == SYN_OK)
                        err = wal->fs.open(wal->fs.ctx, path, STORAGE_OPEN_WRITE, &wal->active_fd);
                if (err != SYN_OK)
                        return err;
        }
        err = wal->fs.ftruncate(wal->fs.ctx, wal->active_fd, f.offset);
        if (err == SYN_OK)
                err = io_preallocate(wal, wal->active_fd);
        if (err == SYN_OK)
                err = io_sync_active(wal);
        if (err != SYN_OK)
                return err;
        seg->end_offset = f.offset;
        seg->last_index = index - 1;
        seg->last_term = index > seg->first_index ? f.prev_term : 0;
        return SYN_OK;
}

static int io_truncate_suffix(struct wal *wal, uint64_t index)
{
        if (wal->segment_count == 0)
                return SYN_OK;
        if (index < wal->segments[0].first_index)
                return wal_io_remove_all(wal);
        if (index > io_active(wal)->last_index)
                return SYN_OK; /* nothing at or after index */
        /* Last first: a crash part way leaves a prefix of the old log. */
        size_t removed = 0;
        while (wal->segment_count > 1 && io_active(wal)->first_index > index) {
                io_close_active(wal);
                int err = io_unlink_segment(wal, wal->segment_count - 1);
                if (err != SYN_OK)
                        return err;
                wal->segment_count--;
                removed++;
        }
        if (removed > 0) {
                int err = wal->fs.sync_dir(wal->fs.ctx, wal->wal_dir);
                if (err != SYN_OK)
                        return err;
        }
        return io_cut_segment(wal, wal->segment_count - 1, index);
}

/* Compaction errors are not fatal: the log is still correct, just longer. */
static void io_truncate_prefix(struct wal *wal, uint64_t index)
{
        size_t removed = 0;
        while (wal->segment_count - removed > 1 &&
               wal->segments[removed + 1].first_index <= index) {
                if (io_unlink_segment(wal, removed) != SYN_OK)
                        break;
                removed++;
        }
        if (removed == 0)
                return;
        memmove(wal->segments, wal->segments + removed,
                (wal->segment_count - removed) * sizeof *wal->segments);
        wal->segment_count -= removed;
        int err = wal->fs.sync_dir(wal->fs.ctx, wal->wal_dir);
        if (err != SYN_OK)
                SYN_WARN("storage: fsync of %s after compaction: %s", wal->wal_dir,
                         syn_strerror(err));
}

static void io_retain(struct wal *wal, size_t keep)
{
        char snap_dir[STORAGE_PATH_BYTES_MAX];
        uint64_t oldest = 0;
        int err = storage_path_join(snap_dir, wal->dir, "snap");
        if (err == SYN_OK)
                err = snapfile_retain(&wal->fs, snap_dir, keep, &oldest);
        if (err != SYN_OK) {
                SYN_WARN("storage: snapshot retention in %s: %s", wal->dir, syn_strerror(err));
                return;
        }
        if (oldest > 0)
                io_truncate_prefix(wal, oldest + 1);
}

static int io_run_job(struct wal *wal, struct wal_job *job, bool *dirty)
{
        int err = SYN_OK;
        switch (job->kind) {
        case WAL_JOB_RECORDS:
                err = io_write_records(wal, job);
                *dirty = true;
                break;
        case WAL_JOB_META:
                err = wal_meta_store(&wal->fs, wal->log_dir, wal->meta_sequence + 1, &job->meta);
                if (err == SYN_OK)
                        wal->meta_sequence++;
                else if (err != SYN_ENOSPC)
                        SYN_ERROR("storage: writing term/vote failed: %s", syn_strerror(err));
                break;
        case WAL_JOB_TRUNCATE_SUFFIX:
                err = io_truncate_suffix(wal, job->index);
                break;
        case WAL_JOB_TRUNCATE_PREFIX:
                io_truncate_prefix(wal, job->index);
                break;
        case WAL_JOB_RESET:
                err = wal_io_remove_all(wal);
                if (err == SYN_OK)
                        err = wal_io_create_segment(wal, job->index);
                break;
        case WAL_JOB_RETAIN:
                io_retain(wal, (size_t)job->index);
                break;
        }
        return err;
}

int wal_io_run(struct wal *wal, struct wal_job *jobs, struct wal_job **stuck)
{
        bool dirty = false;
        int err = SYN_OK;
        uint64_t entries = 0;
        struct wal_job *j;
        for (j = jobs; j != NULL; j = j->next) {
                err = io_run_job(wal, j, &dirty);
                if (err != SYN_OK)
                        break;
                if (j->kind == WAL_JOB_RECORDS && j->last_index >= j->first_index)
                        entries += j->last_index - j->first_index + 1;
        }
        if (dirty && wal->active_fd >= 0)
                syn_hist_observe(&wal->io_batch_entries, entries);
        if (err == SYN_ENOSPC && stuck != NULL) {
                *stuck = j;
                /* What was written before the full disk is durable like any pass. */
                int serr = dirty && wal->active_fd >= 0 ? io_sync_active(wal) : SYN_OK;
                return serr != SYN_OK ? serr : err;
        }
        if (err != SYN_OK)
                return err;
        if (dirty && wal->active_fd >= 0)
                return io_sync_active(wal);
        return SYN_OK;
}

void wal_io_close(struct wal *wal)
{
        io_close_active(wal);
        free(wal->segments);
        wal->segments = NULL;
        wal->segment_count = 0;
        wal->segment_cap = 0;
}
