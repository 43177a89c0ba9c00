/*
 * WAL recovery at open: read every segment in index order, check it with
 * wal_segment_scan, and rebuild the I/O side's segment list and the entries
 * after the snapshot (docs/storage-format.md, "Recovery").
 *
 * Policy, in one place:
 * - A torn tail is only allowed in the last segment; the file is cut at the
 *   first bad record (a torn header in the last segment: the file is removed).
 * - Anything else that does not check is SYN_ECORRUPT with one error line that
 *   names the file and the offset. Nothing is ever skipped.
 * - The WAL must continue the snapshot: a gap is corruption; a WAL that ends
 *   before the snapshot or disagrees with its term at the snapshot index is
 *   emptied (Raft §7: the snapshot replaces such a log).
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "storage/internal.h"

struct recover_ctx {
        struct wal_recovered *rec;
        size_t cap;
        uint64_t snapshot_index;
        uint64_t term_at_snapshot; /* term of the WAL entry at snapshot_index, 0 if none */
};

static int recover_entry_cb(void *arg, const struct wal_entry *e, uint64_t offset)
{
        (void)offset;
        struct recover_ctx *c = arg;
        if (e->index == c->snapshot_index)
                c->term_at_snapshot = e->term;
        if (e->index <= c->snapshot_index)
                return 0;
        struct wal_recovered *rec = c->rec;
        if (rec->count == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 256;
                struct wal_entry *v = realloc(rec->entries, cap * sizeof *v);
                if (!v)
                        return SYN_ENOMEM;
                rec->entries = v;
                c->cap = cap;
        }
        uint8_t *copy = NULL;
        if (e->len > 0) {
                copy = malloc(e->len);
                if (!copy)
                        return SYN_ENOMEM;
                memcpy(copy, e->data, e->len);
        }
        struct wal_entry *out = &rec->entries[rec->count++];
        *out = *e;
        out->data = copy;
        return 0;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

/* Sorted first indexes of the segment files in wal_dir (*firsts malloc'ed). */
static int recover_list(struct wal *wal, uint64_t **firsts, size_t *count)
{
        char **names;
        size_t n;
        int err = wal->fs.list_dir(wal->fs.ctx, wal->wal_dir, STORAGE_DIR_ENTRIES_MAX, &names, &n);
        if (err != SYN_OK)
                return err;
        uint64_t *v = malloc((n ? n : 1) * sizeof *v);
        size_t k = 0;
        if (!v)
                err = SYN_ENOMEM;
        for (size_t i = 0; err == SYN_OK && i < n; i++) {
                if (wal_segment_name_parse(names[i], &v[k]))
                        k++;
                else
                        SYN_WARN("storage: ignoring %s/%s (not a WAL segment name)", wal->wal_dir,
                                 names[i]);
        }
        storage_fs_names_free(names, n);
        if (err == SYN_OK && k > WAL_SEGMENT_COUNT_MAX) {
                SYN_ERROR("storage: %zu segments in %s (max %d)", k, wal->wal_dir,
                          WAL_SEGMENT_COUNT_MAX);
                err = SYN_ELIMIT;
        }
        if (err != SYN_OK) {
                free(v);
                return err;
        }
        qsort(v, k, sizeof *v, cmp_u64);
        *firsts = v;
        *count = k;
        return SYN_OK;
}

/* Cuts the last segment at its torn tail and preallocates it again. */
static int recover_cut(struct wal *wal, const char *path, uint64_t offset)
{
        int fd;
        int err = wal->fs.open(wal->fs.ctx, path, STORAGE_OPEN_WRITE, &fd);
        if (err != SYN_OK)
                return err;
        err = wal->fs.ftruncate(wal->fs.ctx, fd, offset);
        if (err == SYN_OK && wal->options.preallocate) {
                err = wal->fs.fallocate(wal->fs.ctx, fd, wal->options.segment_bytes);
                if (err == SYN_EINVAL)
                        err = SYN_OK;
        }
        if (err == SYN_OK)
                err = wal->fs.fdatasync(wal->fs.ctx, fd);
        wal->fs.close(wal->fs.ctx, fd);
        return err;
}

static int recover_corrupt(const char *path, const struct wal_scan *scan, const char *why)
{
        if (scan && scan->tail == WAL_TAIL_CORRUPT)
                SYN_ERROR("storage: corrupt WAL segment %s at offset %llu: %s (a valid record "
                          "follows at offset %llu); refusing to start",
                          path, (unsigned long long)scan->bad_offset, scan->reason,
                          (unsigned long long)scan->valid_offset);
        else
                SYN_ERROR("storage: corrupt WAL segment %s at offset %llu: %s; refusing to start",
                          path, scan ? (unsigned long long)scan->bad_offset : 0ull, why);
        return SYN_ECORRUPT;
}

/* Handles the scan result of segment `first` (is_last: no segment after it).
 * *keep is false when the segment is a torn, removed file. */
static int recover_judge(struct wal *wal, const char *path, uint64_t first, bool is_last,
                         const struct wal_scan *scan, struct wal_recovered *rec, bool *keep)
{
        *keep = true;
        if (scan->tail == WAL_TAIL_CORRUPT)
                return recover_corrupt(path, scan, NULL);
        if (!scan->header_ok) {
                if (!is_last)
                        return recover_corrupt(path, scan, "bad segment header");
                SYN_WARN("storage: removing %s: torn segment header, no records", path);
                *keep = false;
                rec->torn_tail = true;
                int err = wal->fs.unlink(wal->fs.ctx, path);
                return err == SYN_OK ? wal->fs.sync_dir(wal->fs.ctx, wal->wal_dir) : err;
        }
        if (scan->first_index != first)
                return recover_corrupt(path, scan, "header first index does not match the name");
        if (wal->segment_count > 0) {
                const struct wal_segment *prev = &wal->segments[wal->segment_count - 1];
                if (first != prev->last_index + 1)
                        return recover_corrupt(path, scan,
                                               "indexes not contiguous with the "
                                               "previous segment");
        }
        if (scan->tail == WAL_TAIL_TORN) {
                if (!is_last)
                        return recover_corrupt(path, scan, scan->reason);
                SYN_WARN("storage: torn tail in %s at offset %llu (%s): truncating; the log "
                         "ends at index %llu",
                         path, (unsigned long long)scan->bad_offset, scan->reason,
                         (unsigned long long)scan->last_index);
                rec->torn_tail = true;
                return recover_cut(wal, path, scan->end_offset);
        }
        return SYN_OK;
}

static int recover_segment(struct wal *wal, uint64_t first, bool is_last, struct recover_ctx *c)
{
        char path[STORAGE_PATH_BYTES_MAX];
        int err = wal_segment_path(path, wal->wal_dir, first);
        if (err != SYN_OK)
                return err;
        uint8_t *data;
        size_t len;
        uint64_t max = (uint64_t)WAL_SEGMENT_BYTES_MAX + wal_record_size(WAL_ENTRY_BYTES_MAX);
        err = storage_fs_read_file(&wal->fs, path, max, &data, &len);
        if (err != SYN_OK) {
                SYN_ERROR("storage: cannot read %s: %s", path, syn_strerror(err));
                return err;
        }
        struct wal_scan scan;
        err = wal_segment_scan(data, len, &scan, recover_entry_cb, c);
        free(data);
        if (err != SYN_OK)
                return err;
        bool keep;
        err = recover_judge(wal, path, first, is_last, &scan, c->rec, &keep);
        if (err != SYN_OK || !keep)
                return err;
        struct wal_segment seg = {.first_index = first,
                                  .last_index = scan.last_index,
                                  .last_term = scan.last_term,
                                  .end_offset = scan.end_offset};
        return wal_segment_push(wal, &seg);
}

static void recover_drop_entries(struct wal_recovered *rec)
{
        for (size_t i = 0; i < rec->count; i++)
                free((void *)rec->entries[i].data);
        free(rec->entries);
        rec->entries = NULL;
        rec->count = 0;
}

/* Checks that the WAL continues the snapshot (see the file comment). */
static int recover_match_snapshot(struct wal *wal, struct recover_ctx *c)
{
        if (wal->segment_count == 0)
                return SYN_OK;
        uint64_t s = wal->options.snapshot_index;
        uint64_t first = wal->segments[0].first_index;
        uint64_t last = wal->segments[wal->segment_count - 1].last_index;
        if (first > s + 1) {
                SYN_ERROR("storage: WAL in %s starts at index %llu but the snapshot ends at "
                          "%llu: entries are missing",
                          wal->wal_dir, (unsigned long long)first, (unsigned long long)s);
                return SYN_ECORRUPT;
        }
        bool behind = last < s;
        bool conflict =
            s >= first && s <= last && c->term_at_snapshot != wal->options.snapshot_term;
        if (!behind && !conflict)
                return SYN_OK;
        SYN_WARN("storage: WAL in %s (indexes %llu..%llu) does not continue the snapshot at "
                 "%llu term %llu: emptying it",
                 wal->wal_dir, (unsigned long long)first, (unsigned long long)last,
                 (unsigned long long)s, (unsigned long long)wal->options.snapshot_term);
        recover_drop_entries(c->rec);
        c->rec->reset = true;
        return wal_io_remove_all(wal);
}

/* Opens the last segment for appending. */
static int recover_open_active(struct wal *wal)
{
        if (wal->segment_count == 0)
                return SYN_OK;
        char path[STORAGE_PATH_BYTES_MAX];
        int err =
            wal_segment_path(path, wal->wal_dir, wal->segments[wal->segment_count - 1].first_index);
        if (err == SYN_OK)
                err = wal->fs.open(wal->fs.ctx, path, STORAGE_OPEN_WRITE, &wal->active_fd);
        return err;
}

int wal_recover(struct wal *wal, struct wal_recovered *rec)
{
        uint64_t *firsts;
        size_t n;
        int err = recover_list(wal, &firsts, &n);
        if (err != SYN_OK)
                return err;
        struct recover_ctx c = {.rec = rec, .snapshot_index = wal->options.snapshot_index};
        for (size_t i = 0; i < n && err == SYN_OK; i++)
                err = recover_segment(wal, firsts[i], i + 1 == n, &c);
        free(firsts);
        if (err == SYN_OK)
                err = recover_match_snapshot(wal, &c);
        if (err == SYN_OK)
                err = recover_open_active(wal);
        if (err != SYN_OK) {
                recover_drop_entries(rec);
                wal_io_close(wal);
                return err;
        }
        uint64_t s = wal->options.snapshot_index;
        rec->first_index = rec->count ? rec->entries[0].index : s + 1;
        rec->last_index = rec->count ? rec->entries[rec->count - 1].index : s;
        if (wal->segment_count > 0 && !rec->count) {
                /* Entries all <= snapshot: the next index still follows the WAL. */
                uint64_t last = wal->segments[wal->segment_count - 1].last_index;
                rec->last_index = last > s ? last : s;
        }
        return SYN_OK;
}
