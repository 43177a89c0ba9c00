/*
 * Reading snapshot files: verify-then-read, latest valid snapshot, retention.
 *
 * snapfile_reader_open walks the whole file once, checking the header against
 * the name, every chunk's length and CRC, and the trailer (stream length,
 * stream CRC, its own CRC, and that the file ends right after it). Only then
 * does it rewind, so snapfile_read can hand out bytes knowing the file was
 * whole. The file's bytes are hostile: every length is checked against the
 * file size and SNAP_CHUNK_BYTES_MAX before it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/limits.h"
#include "base/log.h"
#include "storage/internal.h"

/* Checks the header; index and term must be those of r->info unless `adopt`, which takes
 * them from the header (a file outside a snapshot directory: a backup has any name). */
static int reader_header(struct snapfile_reader *r, uint64_t size, bool adopt)
{
        uint8_t h[SNAP_HEADER_BYTES];
        if (size < SNAP_HEADER_BYTES)
                return SYN_ETRUNC;
        int err = storage_fs_pread_full(r->fs, r->fd, h, sizeof h, 0);
        if (err != SYN_OK)
                return err;
        if (memcmp(h, SNAP_MAGIC, 8) != 0 || syn_get_be32(h + 8) != STORAGE_FORMAT_VERSION)
                return SYN_ECORRUPT;
        if (syn_crc32c(0, h, 60) != syn_get_be32(h + 60))
                return SYN_ECORRUPT;
        uint64_t index = syn_get_be64(h + 16), term = syn_get_be64(h + 24);
        if (adopt && index >= 1 && term >= 1 && index <= WAL_INDEX_MAX && term <= WAL_INDEX_MAX) {
                r->info.index = index;
                r->info.term = term;
        }
        if (index != r->info.index || term != r->info.term)
                return SYN_ECORRUPT;
        return SYN_OK;
}

/* Reads the chunk header at r->offset: *len (0 = end chunk) and *crc. */
static int reader_chunk_header(struct snapfile_reader *r, uint64_t size, uint32_t *len,
                               uint32_t *crc)
{
        uint8_t ch[SNAP_CHUNK_HEADER_BYTES];
        if (size - r->offset < SNAP_CHUNK_HEADER_BYTES)
                return SYN_ETRUNC;
        int err = storage_fs_pread_full(r->fs, r->fd, ch, sizeof ch, r->offset);
        if (err != SYN_OK)
                return err;
        *len = syn_get_be32(ch);
        *crc = syn_get_be32(ch + 4);
        if (*len > SNAP_CHUNK_BYTES_MAX || (*len == 0 && *crc != 0))
                return SYN_ECORRUPT;
        if (size - r->offset - SNAP_CHUNK_HEADER_BYTES < *len)
                return SYN_ETRUNC;
        return SYN_OK;
}

/* Reads and checks the data of a chunk of len bytes into r->chunk. */
static int reader_chunk_data(struct snapfile_reader *r, uint32_t len, uint32_t crc)
{
        int err =
            storage_fs_pread_full(r->fs, r->fd, r->chunk, len, r->offset + SNAP_CHUNK_HEADER_BYTES);
        if (err != SYN_OK)
                return err;
        if (syn_crc32c(0, r->chunk, len) != crc)
                return SYN_ECORRUPT;
        return SYN_OK;
}

static int reader_trailer(struct snapfile_reader *r, uint64_t size, uint64_t total,
                          uint32_t stream_crc)
{
        uint64_t at = r->offset + SNAP_CHUNK_HEADER_BYTES;
        if (size - at < SNAP_TRAILER_BYTES)
                return SYN_ETRUNC;
        if (size - at > SNAP_TRAILER_BYTES)
                return SYN_ECORRUPT;
        uint8_t t[SNAP_TRAILER_BYTES];
        int err = storage_fs_pread_full(r->fs, r->fd, t, sizeof t, at);
        if (err != SYN_OK)
                return err;
        if (syn_crc32c(0, t, 12) != syn_get_be32(t + 12))
                return SYN_ECORRUPT;
        if (syn_get_be64(t) != total || syn_get_be32(t + 8) != stream_crc)
                return SYN_ECORRUPT;
        r->total_bytes = total;
        return SYN_OK;
}

/* One pass over the whole file; see the file comment. */
static int reader_verify(struct snapfile_reader *r, bool adopt)
{
        uint64_t size;
        int err = r->fs->size(r->fs->ctx, r->fd, &size);
        if (err == SYN_OK)
                err = reader_header(r, size, adopt);
        uint64_t total = 0;
        uint32_t stream_crc = 0;
        r->offset = SNAP_HEADER_BYTES;
        /* Bounded: each pass consumes at least a chunk header of a finite file. */
        while (err == SYN_OK) {
                uint32_t len, crc;
                err = reader_chunk_header(r, size, &len, &crc);
                if (err != SYN_OK)
                        break;
                if (len == 0)
                        return reader_trailer(r, size, total, stream_crc);
                err = reader_chunk_data(r, len, crc);
                if (err != SYN_OK)
                        break;
                stream_crc = syn_crc32c(stream_crc, r->chunk, len);
                total += len;
                if (total > SNAP_STREAM_BYTES_MAX)
                        err = SYN_ECORRUPT;
                r->offset += SNAP_CHUNK_HEADER_BYTES + len;
        }
        return err;
}

/* Opens path and verifies it (see reader_verify); r->info is set by the caller. */
static int reader_open_path(struct snapfile_reader *r, const char *path, bool adopt)
{
        r->chunk = malloc(SNAP_CHUNK_BYTES_MAX);
        if (!r->chunk)
                return SYN_ENOMEM;
        int err = r->fs->open(r->fs->ctx, path, STORAGE_OPEN_READ, &r->fd);
        if (err == SYN_OK)
                err = reader_verify(r, adopt);
        if (err != SYN_OK) {
                snapfile_reader_close(r);
                return err;
        }
        r->offset = SNAP_HEADER_BYTES;
        return SYN_OK;
}

static void reader_init(struct snapfile_reader *r, const struct storage_fs *fs)
{
        memset(r, 0, sizeof *r);
        r->fd = -1;
        r->fs = fs ? fs : storage_fs_posix();
}

int snapfile_reader_open(struct snapfile_reader *r, const struct storage_fs *fs, const char *dir,
                         const struct snapfile_info *info)
{
        reader_init(r, fs);
        r->info = *info;
        char path[STORAGE_PATH_BYTES_MAX];
        int err = storage_path_join(path, dir, info->name);
        if (err != SYN_OK)
                return err;
        return reader_open_path(r, path, false);
}

int snapfile_reader_open_file(struct snapfile_reader *r, const struct storage_fs *fs,
                              const char *path)
{
        reader_init(r, fs);
        if (strlen(path) >= STORAGE_PATH_BYTES_MAX)
                return SYN_ETOOBIG;
        const char *slash = strrchr(path, '/');
        const char *base = slash != NULL ? slash + 1 : path;
        size_t n = strlen(base);
        if (n >= sizeof r->info.name)
                n = sizeof r->info.name - 1; /* only for messages: a prefix will do */
        memcpy(r->info.name, base, n);
        r->info.name[n] = '\0';
        return reader_open_path(r, path, true);
}

int snapfile_read(struct snapfile_reader *r, void *buf, size_t n, size_t *got)
{
        uint8_t *out = buf;
        *got = 0;
        while (n > 0 && r->read_bytes < r->total_bytes) {
                if (r->chunk_pos == r->chunk_len) {
                        uint32_t len, crc;
                        uint64_t size = UINT64_MAX; /* verified at open; reads check again */
                        int err = reader_chunk_header(r, size, &len, &crc);
                        if (err == SYN_OK && len == 0)
                                err = SYN_ECORRUPT; /* the file changed under us */
                        if (err == SYN_OK)
                                err = reader_chunk_data(r, len, crc);
                        if (err != SYN_OK)
                                return err;
                        r->offset += SNAP_CHUNK_HEADER_BYTES + len;
                        r->chunk_len = len;
                        r->chunk_pos = 0;
                }
                size_t k = r->chunk_len - r->chunk_pos;
                if (k > n)
                        k = n;
                memcpy(out, r->chunk + r->chunk_pos, k);
                r->chunk_pos += k;
                r->read_bytes += k;
                out += k;
                n -= k;
                *got += k;
        }
        return SYN_OK;
}

void snapfile_reader_close(struct snapfile_reader *r)
{
        if (r->fd >= 0)
                r->fs->close(r->fs->ctx, r->fd);
        r->fd = -1;
        free(r->chunk);
        r->chunk = NULL;
}

int snapfile_open_latest(struct snapfile_reader *r, const struct storage_fs *fs, const char *dir)
{
        struct snapfile_info *list;
        size_t n;
        int err = snapfile_list(fs, dir, &list, &n);
        if (err != SYN_OK)
                return err == SYN_ENOTFOUND ? SYN_ENOTFOUND : err;
        for (size_t i = 0; i < n; i++) {
                err = snapfile_reader_open(r, fs, dir, &list[i]);
                if (err == SYN_OK) {
                        free(list);
                        return SYN_OK;
                }
                SYN_WARN("storage: skipping snapshot %s/%s: %s", dir, list[i].name,
                         syn_strerror(err));
                if (err != SYN_ECORRUPT && err != SYN_ETRUNC) {
                        free(list);
                        return err; /* an I/O error is not an invalid snapshot */
                }
        }
        free(list);
        return SYN_ENOTFOUND;
}

/* Deletes .tmp files left by crashed writers: only those at or below the newest
 * kept snapshot, since a higher one may be a writer still running. */
static void retain_tmp(const struct storage_fs *fs, const char *dir, uint64_t newest)
{
        char **names;
        size_t n;
        if (fs->list_dir(fs->ctx, dir, STORAGE_DIR_ENTRIES_MAX, &names, &n) != SYN_OK)
                return;
        for (size_t i = 0; i < n; i++) {
                uint64_t index, term;
                char path[STORAGE_PATH_BYTES_MAX];
                if (!snapfile_name_parse(names[i], "tmp", &index, &term) || index > newest)
                        continue;
                if (storage_path_join(path, dir, names[i]) == SYN_OK)
                        fs->unlink(fs->ctx, path);
        }
        storage_fs_names_free(names, n);
}

int snapfile_retain(const struct storage_fs *fs, const char *dir, size_t keep,
                    uint64_t *oldest_kept_index)
{
        fs = fs ? fs : storage_fs_posix();
        *oldest_kept_index = 0;
        if (keep == 0)
                return SYN_EINVAL;
        struct snapfile_info *list;
        size_t n;
        int err = snapfile_list(fs, dir, &list, &n);
        if (err != SYN_OK || n == 0)
                return err;
        for (size_t i = keep; i < n && err == SYN_OK; i++) {
                char path[STORAGE_PATH_BYTES_MAX];
                err = storage_path_join(path, dir, list[i].name);
                if (err == SYN_OK)
                        err = fs->unlink(fs->ctx, path);
        }
        retain_tmp(fs, dir, list[0].index);
        *oldest_kept_index = list[(n < keep ? n : keep) - 1].index;
        free(list);
        int serr = fs->sync_dir(fs->ctx, dir);
        return err != SYN_OK ? err : serr;
}
