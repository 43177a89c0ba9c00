/*
 * The WAL's loop side and its I/O thread (the "syncer").
 *
 * DESIGN (after Redis bio.c). The loop thread never touches the disk after
 * wal_open: wal_append encodes records into an in-memory buffer, the other
 * calls queue small jobs, and wal_flush moves the whole batch onto the shared
 * FIFO under a mutex and wakes the I/O thread. The I/O thread takes EVERYTHING
 * queued since its last pass (all batches flushed while it was busy in
 * fdatasync), runs it with wal_io_run (one fdatasync for all of it: group
 * commit), publishes the new status under the mutex, and calls the host's
 * notify callback. The loop reads the status with wal_poll.
 *
 * Tickets: each wal_flush that hands over work gets the next ticket number; a
 * pass that ran every job up to ticket t sets done_ticket = t. Jobs run in
 * FIFO order, so "ticket t is done" means everything queued before that flush
 * is durable: entries, truncations and term/vote alike.
 *
 * Errors on the I/O side are fatal and sticky: the status keeps the first one,
 * later passes do no I/O, and every loop-side call returns it. A full disk is
 * not an error: the pass keeps the jobs from the one that found no room
 * (io_retry), the I/O thread runs them again every WAL_NOSPACE_RETRY_MS, and
 * batches flushed meanwhile wait behind them, so FIFO order and tickets hold.
 *
 * Without an I/O thread (options.io_thread false) wal_flush runs the pass in
 * the caller and the same status is updated, so tools, tests and the simulator
 * exercise the same code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "storage/internal.h"

/* ---- loop side: building batches ---- */

static void batch_push(struct wal *wal, struct wal_job *job)
{
        job->next = NULL;
        if (wal->batch_tail)
                wal->batch_tail->next = job;
        else
                wal->batch_head = job;
        wal->batch_tail = job;
}

/* Turns the records being filled into a job at the end of the batch. */
static int batch_close_records(struct wal *wal)
{
        if (wal->records.len == 0)
                return SYN_OK;
        struct wal_job *job = calloc(1, sizeof *job);
        if (!job)
                return SYN_ENOMEM;
        job->kind = WAL_JOB_RECORDS;
        job->first_index = wal->records_first;
        job->last_index = wal->records_last;
        job->data = syn_writer_take(&wal->records, &job->len);
        wal->batch_bytes += job->len;
        wal->records_first = wal->records_last = 0;
        batch_push(wal, job);
        return SYN_OK;
}

static int batch_push_control(struct wal *wal, enum wal_job_kind kind, uint64_t index,
                              const struct wal_meta *meta)
{
        if (wal->loop_error != SYN_OK)
                return wal->loop_error;
        int err = batch_close_records(wal);
        if (err != SYN_OK)
                return err;
        struct wal_job *job = calloc(1, sizeof *job);
        if (!job)
                return SYN_ENOMEM;
        job->kind = kind;
        job->index = index;
        if (meta)
                job->meta = *meta;
        batch_push(wal, job);
        return SYN_OK;
}

int wal_append(struct wal *wal, uint8_t type, uint64_t term, uint64_t index, const void *data,
               size_t len)
{
        if (wal->loop_error != SYN_OK)
                return wal->loop_error;
        if (type == 0 || term == 0 || term > WAL_INDEX_MAX || index != wal->next_index)
                return SYN_EINVAL;
        if (index == 0 || index > WAL_INDEX_MAX || (len > 0 && !data))
                return SYN_EINVAL;
        if (len > WAL_ENTRY_BYTES_MAX)
                return SYN_ETOOBIG;
        size_t size = wal_record_size(len);
        uint64_t pending =
            wal->records.len + wal->batch_bytes + wal->handed_bytes - wal->done_bytes_seen;
        if (pending + size > wal->options.queue_bytes_max)
                return SYN_EAGAIN;
        if (!syn_writer_reserve(&wal->records, size)) {
                wal->records.failed = false; /* the writer stays usable; we report */
                return SYN_ENOMEM;
        }
        wal_record_encode(wal->records.data + wal->records.len, type, term, index, data, len);
        wal->records.len += size;
        if (wal->records_first == 0)
                wal->records_first = index;
        wal->records_last = index;
        wal->next_index = index + 1;
        return SYN_OK;
}

uint64_t wal_next_index(const struct wal *wal)
{
        return wal->next_index;
}

int wal_save_meta(struct wal *wal, const struct wal_meta *meta)
{
        return batch_push_control(wal, WAL_JOB_META, 0, meta);
}

int wal_truncate_suffix(struct wal *wal, uint64_t index)
{
        if (index == 0 || index > wal->next_index || index > WAL_INDEX_MAX)
                return SYN_EINVAL;
        int err = batch_push_control(wal, WAL_JOB_TRUNCATE_SUFFIX, index, NULL);
        if (err == SYN_OK)
                wal->next_index = index;
        return err;
}

int wal_truncate_prefix(struct wal *wal, uint64_t index)
{
        if (index == 0)
                return SYN_EINVAL;
        return batch_push_control(wal, WAL_JOB_TRUNCATE_PREFIX, index, NULL);
}

int wal_reset(struct wal *wal, uint64_t next_index)
{
        if (next_index == 0 || next_index > WAL_INDEX_MAX)
                return SYN_EINVAL;
        int err = batch_push_control(wal, WAL_JOB_RESET, next_index, NULL);
        if (err == SYN_OK)
                wal->next_index = next_index;
        return err;
}

int wal_retain(struct wal *wal, size_t keep)
{
        if (keep == 0)
                return SYN_EINVAL;
        return batch_push_control(wal, WAL_JOB_RETAIN, keep, NULL);
}

/* ---- the I/O side's pass and status ---- */

/* Last entry of the WAL per the segment list: the last non-empty segment. */
static void io_last_entry(const struct wal *wal, uint64_t *index, uint64_t *term)
{
        *index = 0;
        *term = 0;
        for (size_t i = wal->segment_count; i > 0; i--) {
                const struct wal_segment *s = &wal->segments[i - 1];
                if (s->last_index >= s->first_index) {
                        *index = s->last_index;
                        *term = s->last_term;
                        return;
                }
        }
        if (wal->segment_count > 0)
                *index = wal->segments[0].first_index - 1;
}

/* Prepends the jobs a full disk stopped to jobs; the pass then completes `ticket`,
 * or the stopped jobs' own ticket when nothing new came. */
static struct wal_job *io_take_retry(struct wal *wal, struct wal_job *jobs, uint64_t *ticket)
{
        struct wal_job *head = wal->io_retry;
        if (head == NULL)
                return jobs;
        if (jobs == NULL)
                *ticket = wal->io_retry_ticket;
        struct wal_job *tail = head;
        while (tail->next != NULL)
                tail = tail->next;
        tail->next = jobs;
        wal->io_retry = NULL;
        return head;
}

/* Publishes a pass's outcome. Called with mu held. */
static void io_publish(struct wal *wal, int err, uint64_t ticket)
{
        if (err == SYN_ENOSPC) {
                if (!wal->status.no_space) {
                        wal->status.no_space_stalls++;
                        SYN_WARN("storage: no space left for the WAL in %s; writes wait and are "
                                 "tried again every %d ms",
                                 wal->log_dir, WAL_NOSPACE_RETRY_MS);
                }
                wal->status.no_space = true;
                return;
        }
        if (err != SYN_OK && wal->status.error == SYN_OK) {
                SYN_ERROR("storage: WAL failed: %s; no further writes (fatal)", syn_strerror(err));
                wal->status.error = err;
        }
        if (wal->status.error != SYN_OK)
                return;
        if (wal->status.no_space)
                SYN_WARN("storage: the WAL has space again; writes resumed");
        wal->status.no_space = false;
        uint64_t index, term;
        io_last_entry(wal, &index, &term);
        wal->status.done_ticket = ticket;
        wal->status.durable_index = index;
        wal->status.durable_term = term;
}

/* Runs one pass over the jobs a full disk stopped, then jobs (unless already
 * failed), and publishes the status. Called with mu NOT held. Frees the jobs that
 * ran; keeps those a full disk stopped in wal->io_retry. */
static void io_pass(struct wal *wal, struct wal_job *jobs, uint64_t ticket)
{
        jobs = io_take_retry(wal, jobs, &ticket);
        pthread_mutex_lock(&wal->mu);
        int failed = wal->status.error;
        pthread_mutex_unlock(&wal->mu);
        struct wal_job *stuck = NULL;
        int err = failed != SYN_OK ? failed : wal_io_run(wal, jobs, &stuck);
        if (err != SYN_ENOSPC)
                stuck = NULL;
        uint64_t bytes = 0;
        struct wal_job *ran = stuck == jobs ? NULL : jobs;
        for (struct wal_job *j = ran; j != NULL; j = j->next) {
                bytes += j->len;
                if (j->next == stuck) {
                        j->next = NULL; /* the ones that ran end here */
                        break;
                }
        }
        wal_jobs_free(ran);
        if (stuck != NULL) {
                wal->io_retry = stuck;
                wal->io_retry_ticket = ticket;
        }

        pthread_mutex_lock(&wal->mu);
        io_publish(wal, err, ticket);
        wal->status.fsync_count = wal->io_fsync_count;
        wal->status.fsync_us = wal->io_fsync_us;
        wal->status.batch_entries = wal->io_batch_entries;
        wal->done_bytes += bytes;
        pthread_cond_broadcast(&wal->done_cond);
        pthread_mutex_unlock(&wal->mu);
        if (wal->options.notify)
                wal->options.notify(wal->options.notify_arg);
}

/* Waits WAL_NOSPACE_RETRY_MS, or until stop. Called with mu held. */
static void io_wait_retry(struct wal *wal)
{
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += (long)WAL_NOSPACE_RETRY_MS * 1000000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        /* Bounded by the deadline: spurious wake-ups and new work only wait again. */
        while (!wal->stop &&
               pthread_cond_timedwait(&wal->work_cond, &wal->mu, &deadline) != ETIMEDOUT)
                ;
}

static void *io_thread_main(void *arg)
{
        struct wal *wal = arg;
        pthread_mutex_lock(&wal->mu);
        /* The I/O thread's own loop: bounded by the queue, ends when stop is set
         * and the queue is empty (or only a full disk's jobs are left: dropped). */
        for (;;) {
                if (wal->io_retry != NULL) {
                        io_wait_retry(wal);
                        if (wal->stop)
                                break;
                } else {
                        while (!wal->queue_head && !wal->stop)
                                pthread_cond_wait(&wal->work_cond, &wal->mu);
                        if (!wal->queue_head)
                                break;
                }
                struct wal_job *jobs = wal->queue_head;
                uint64_t ticket = wal->queued_ticket;
                wal->queue_head = wal->queue_tail = NULL;
                pthread_mutex_unlock(&wal->mu);
                io_pass(wal, jobs, ticket);
                pthread_mutex_lock(&wal->mu);
        }
        pthread_mutex_unlock(&wal->mu);
        return NULL;
}

/* ---- loop side: handing over and observing ---- */

int wal_flush(struct wal *wal, uint64_t *ticket)
{
        if (wal->loop_error == SYN_OK) {
                int err = batch_close_records(wal);
                if (err != SYN_OK)
                        return err;
        }
        if (wal->loop_error == SYN_OK && !wal->batch_head && !wal->options.io_thread &&
            wal->io_retry != NULL) {
                io_pass(wal, NULL, 0); /* no thread to try a full disk again: now */
                struct wal_status st;
                wal_poll(wal, &st);
        }
        if (wal->loop_error != SYN_OK || !wal->batch_head) {
                if (ticket)
                        *ticket = wal->flush_ticket;
                return wal->loop_error;
        }
        struct wal_job *jobs = wal->batch_head;
        uint64_t t = ++wal->flush_ticket;
        wal->handed_bytes += wal->batch_bytes;
        wal->batch_head = wal->batch_tail = NULL;
        wal->batch_bytes = 0;
        if (ticket)
                *ticket = t;
        if (!wal->options.io_thread) {
                io_pass(wal, jobs, t);
                struct wal_status st;
                wal_poll(wal, &st);
                return st.error;
        }
        pthread_mutex_lock(&wal->mu);
        if (wal->queue_tail)
                wal->queue_tail->next = jobs;
        else
                wal->queue_head = jobs;
        while (jobs->next)
                jobs = jobs->next;
        wal->queue_tail = jobs;
        wal->queued_ticket = t;
        pthread_cond_signal(&wal->work_cond);
        pthread_mutex_unlock(&wal->mu);
        return SYN_OK;
}

void wal_poll(struct wal *wal, struct wal_status *status)
{
        pthread_mutex_lock(&wal->mu);
        *status = wal->status;
        wal->done_bytes_seen = wal->done_bytes;
        pthread_mutex_unlock(&wal->mu);
        if (status->error != SYN_OK)
                wal->loop_error = status->error;
}

int wal_sync(struct wal *wal)
{
        uint64_t ticket;
        int err = wal_flush(wal, &ticket);
        if (err != SYN_OK)
                return err;
        pthread_mutex_lock(&wal->mu);
        while (wal->status.done_ticket < ticket && wal->status.error == SYN_OK &&
               !wal->status.no_space)
                pthread_cond_wait(&wal->done_cond, &wal->mu);
        pthread_mutex_unlock(&wal->mu);
        struct wal_status st;
        wal_poll(wal, &st);
        if (st.error == SYN_OK && st.done_ticket < ticket)
                return SYN_ENOSPC;
        return st.error;
}

/* ---- open and close ---- */

static int open_check_options(const struct wal_options *o)
{
        if (o->segment_bytes < WAL_SEGMENT_BYTES_MIN || o->segment_bytes > WAL_SEGMENT_BYTES_MAX)
                return SYN_EINVAL;
        if ((o->snapshot_index == 0) != (o->snapshot_term == 0))
                return SYN_EINVAL;
        if (o->queue_bytes_max > WAL_QUEUE_BYTES_MAX)
                return SYN_EINVAL;
        if (o->snapshot_index >= WAL_INDEX_MAX || o->snapshot_term > WAL_INDEX_MAX)
                return SYN_EINVAL;
        return SYN_OK;
}

static int copy_dir_name(char *out, const char *dir)
{
        size_t n = strlen(dir);
        if (n + 16 >= STORAGE_PATH_BYTES_MAX)
                return SYN_ETOOBIG;
        memcpy(out, dir, n + 1);
        return SYN_OK;
}

static int open_dirs(struct wal *wal, const char *dir)
{
        const char *log_dir = wal->options.log_dir ? wal->options.log_dir : dir;
        wal->options.log_dir = NULL; /* borrowed for wal_open only: use wal->log_dir */
        int err = copy_dir_name(wal->dir, dir);
        if (err == SYN_OK)
                err = copy_dir_name(wal->log_dir, log_dir);
        char snap_dir[STORAGE_PATH_BYTES_MAX];
        if (err == SYN_OK)
                err = storage_path_join(wal->wal_dir, log_dir, "wal");
        if (err == SYN_OK)
                err = storage_path_join(snap_dir, dir, "snap");
        if (err == SYN_OK)
                err = wal->fs.mkdir(wal->fs.ctx, dir);
        if (err == SYN_OK && strcmp(log_dir, dir) != 0)
                err = wal->fs.mkdir(wal->fs.ctx, log_dir);
        if (err == SYN_OK)
                err = wal->fs.mkdir(wal->fs.ctx, wal->wal_dir);
        if (err == SYN_OK)
                err = wal->fs.mkdir(wal->fs.ctx, snap_dir);
        if (err == SYN_OK)
                err = wal->fs.sync_dir(wal->fs.ctx, dir);
        if (err == SYN_OK && strcmp(log_dir, dir) != 0)
                err = wal->fs.sync_dir(wal->fs.ctx, log_dir);
        if (err != SYN_OK)
                SYN_ERROR("storage: cannot set up data directory %s (log directory %s): %s", dir,
                          log_dir, syn_strerror(err));
        return err;
}

static int open_start(struct wal *wal)
{
        uint64_t index, term;
        io_last_entry(wal, &index, &term);
        wal->status.durable_index = index;
        wal->status.durable_term = term;
        pthread_mutex_init(&wal->mu, NULL);
        /* Monotonic: the full-disk retry waits on it, and wall time may jump. */
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&wal->work_cond, &attr);
        pthread_condattr_destroy(&attr);
        pthread_cond_init(&wal->done_cond, NULL);
        if (!wal->options.io_thread)
                return SYN_OK;
        if (pthread_create(&wal->thread, NULL, io_thread_main, wal) != 0) {
                pthread_cond_destroy(&wal->done_cond);
                pthread_cond_destroy(&wal->work_cond);
                pthread_mutex_destroy(&wal->mu);
                return SYN_ESYS;
        }
        wal->thread_started = true;
        return SYN_OK;
}

#ifdef SYNOD_PLANTS
/*
 * PLANTED BUG, test builds only (SYNOD_PLANTS, CMake option), for the fault harness's
 * checker_catches_lost_write (tests/faults/test_plants.py). A server that acknowledged
 * records before fsyncing them loses the unsynced tail when the machine loses power; a
 * kill -9 keeps the page cache, so the harness cannot cause that loss itself. With
 * SYNOD_PLANT_WAL_LOSE_TAIL=n in the environment, start-up behaves as if power had been
 * cut: the last n recovered records are truncated away (on disk too) and not replayed.
 */
#define PLANT_LOSE_TAIL_MAX 100000

static int plant_lose_tail(struct wal *wal, struct wal_recovered *rec)
{
        const char *v = getenv("SYNOD_PLANT_WAL_LOSE_TAIL");
        long n = v != NULL ? strtol(v, NULL, 10) : 0;
        if (n <= 0 || rec->count == 0)
                return SYN_OK;
        size_t drop = (size_t)(n < PLANT_LOSE_TAIL_MAX ? n : PLANT_LOSE_TAIL_MAX);
        if (drop > rec->count)
                drop = rec->count;
        uint64_t first = rec->last_index - drop + 1;
        struct wal_job job = {.kind = WAL_JOB_TRUNCATE_SUFFIX, .index = first};
        int err = wal_io_run(wal, &job, NULL);
        if (err != SYN_OK)
                return err;
        for (size_t i = rec->count - drop; i < rec->count; i++)
                free((void *)rec->entries[i].data);
        rec->count -= drop;
        rec->last_index = first - 1;
        SYN_WARN("PLANTED BUG: dropped the last %zu WAL records (from index %llu) at start-up",
                 drop, (unsigned long long)first);
        return SYN_OK;
}
#else
static int plant_lose_tail(struct wal *wal, struct wal_recovered *rec)
{
        (void)wal;
        (void)rec;
        return SYN_OK;
}
#endif

/* Buckets of the WAL's metrics: fdatasync from a fast SSD (~100 us) to a slow disk (the
 * overflow bucket counts the slow ones); group-commit batches from one entry to the
 * pipeline's largest bursts. */
static const uint64_t fsync_us_bounds[] = {100,
                                           250,
                                           500,
                                           1000,
                                           2500,
                                           5000,
                                           10000,
                                           25000,
                                           50000,
                                           100000,
                                           250000,
                                           500000,
                                           WAL_FSYNC_SLOW_US};
static const uint64_t batch_entries_bounds[] = {1,   2,   4,   8,    16,   32,   64,
                                                128, 256, 512, 1024, 4096, 16384};

int wal_open(struct wal *wal, const char *dir, const struct wal_options *options,
             struct wal_recovered *rec)
{
        memset(wal, 0, sizeof *wal);
        memset(rec, 0, sizeof *rec);
        syn_hist_init(&wal->io_fsync_us, fsync_us_bounds,
                      sizeof fsync_us_bounds / sizeof fsync_us_bounds[0]);
        syn_hist_init(&wal->io_batch_entries, batch_entries_bounds,
                      sizeof batch_entries_bounds / sizeof batch_entries_bounds[0]);
        wal->status.fsync_us = wal->io_fsync_us;
        wal->status.batch_entries = wal->io_batch_entries;
        wal->active_fd = -1;
        wal->options = *options;
        wal->fs = options->fs ? *options->fs : *storage_fs_posix();
        wal->options.fs = NULL; /* use wal->fs */
        if (wal->options.queue_bytes_max == 0)
                wal->options.queue_bytes_max = WAL_QUEUE_BYTES_MAX;
        syn_writer_init(&wal->records, 0);
        int err = open_check_options(options);
        if (err == SYN_OK)
                err = open_dirs(wal, dir);
        if (err == SYN_OK)
                err = wal_meta_load(&wal->fs, wal->log_dir, &rec->meta, &wal->meta_sequence);
        if (err == SYN_OK)
                err = wal_recover(wal, rec);
        if (err == SYN_OK)
                err = plant_lose_tail(wal, rec);
        if (err == SYN_OK) {
                err = open_start(wal);
                if (err != SYN_OK) {
                        wal_recovered_free(rec);
                        wal_io_close(wal);
                }
        }
        if (err != SYN_OK) {
                syn_writer_close(&wal->records);
                return err;
        }
        wal->next_index = rec->last_index + 1;
        return SYN_OK;
}

void wal_recovered_free(struct wal_recovered *rec)
{
        for (size_t i = 0; i < rec->count; i++)
                free((void *)rec->entries[i].data);
        free(rec->entries);
        memset(rec, 0, sizeof *rec);
}

void wal_close(struct wal *wal)
{
        if (wal->loop_error == SYN_OK)
                wal_sync(wal);
        if (wal->thread_started) {
                pthread_mutex_lock(&wal->mu);
                wal->stop = true;
                pthread_cond_signal(&wal->work_cond);
                pthread_mutex_unlock(&wal->mu);
                pthread_join(wal->thread, NULL);
                wal->thread_started = false;
        }
        wal_jobs_free(wal->batch_head);
        wal_jobs_free(wal->queue_head);
        wal_jobs_free(wal->io_retry);
        wal->io_retry = NULL;
        wal->batch_head = wal->batch_tail = wal->queue_head = wal->queue_tail = NULL;
        syn_writer_close(&wal->records);
        wal_io_close(wal);
        pthread_cond_destroy(&wal->done_cond);
        pthread_cond_destroy(&wal->work_cond);
        pthread_mutex_destroy(&wal->mu);
}
