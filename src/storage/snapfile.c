/*
 * Snapshot files (docs/storage-format.md, "Snapshot files").
 *
 * The writer frames a byte stream (the tree serialises into it) in CRC'd
 * chunks, into snap-<index>-<term>.tmp, then fdatasync, rename to .snap and
 * fsync of the directory, as Redis's rdbSave does: a .snap name only ever
 * names a complete file. It uses plain blocking calls through the fs table and
 * no threads, so it can run in a forked child.
 *
 * The reader verifies a whole file (header, every chunk CRC, the trailer's
 * length and stream CRC) before handing out a single byte, so a caller never
 * applies half of a bad snapshot; reading then re-checks each chunk's CRC
 * (the pair of the check done on write).
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

/* ---- names ---- */

static void snap_name(char *buf, size_t cap, uint64_t index, uint64_t term, const char *ext)
{
        snprintf(buf, cap, "snap-%020llu-%020llu.%s", (unsigned long long)index,
                 (unsigned long long)term, ext);
}

static bool parse_u64_20(const char *s, uint64_t *v)
{
        uint64_t x = 0;
        for (int i = 0; i < 20; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                uint64_t d = (uint64_t)(s[i] - '0');
                if (x > (UINT64_MAX - d) / 10)
                        return false;
                x = x * 10 + d;
        }
        *v = x;
        return true;
}

/* Parses "snap-<20 digits>-<20 digits>.<ext>". */
bool snapfile_name_parse(const char *name, const char *ext, uint64_t *index, uint64_t *term)
{
        if (strncmp(name, "snap-", 5) != 0 || !parse_u64_20(name + 5, index))
                return false;
        if (name[25] != '-' || !parse_u64_20(name + 26, term))
                return false;
        if (name[46] != '.' || strcmp(name + 47, ext) != 0)
                return false;
        return *index >= 1 && *term >= 1 && *index <= WAL_INDEX_MAX && *term <= WAL_INDEX_MAX;
}

/* ---- writer ---- */

int snapfile_writer_open(struct snapfile_writer *w, const struct storage_fs *fs, const char *dir,
                         uint64_t index, uint64_t term)
{
        memset(w, 0, sizeof *w);
        w->fd = -1;
        w->fs = fs ? fs : storage_fs_posix();
        if (index == 0 || term == 0 || index > WAL_INDEX_MAX || term > WAL_INDEX_MAX)
                return SYN_EINVAL;
        char name[64];
        size_t n = strlen(dir);
        if (n >= sizeof w->dir)
                return SYN_ETOOBIG;
        memcpy(w->dir, dir, n + 1);
        snap_name(name, sizeof name, index, term, "tmp");
        int err = storage_path_join(w->tmp_path, dir, name);
        snap_name(name, sizeof name, index, term, "snap");
        if (err == SYN_OK)
                err = storage_path_join(w->final_path, dir, name);
        if (err != SYN_OK)
                return err;
        w->chunk = malloc(SNAP_CHUNK_HEADER_BYTES + SNAP_CHUNK_BYTES);
        if (!w->chunk)
                return SYN_ENOMEM;
        err = w->fs->open(w->fs->ctx, w->tmp_path,
                          STORAGE_OPEN_WRITE | STORAGE_OPEN_CREATE | STORAGE_OPEN_TRUNC, &w->fd);
        uint8_t h[SNAP_HEADER_BYTES];
        memset(h, 0, sizeof h);
        memcpy(h, SNAP_MAGIC, 8);
        syn_put_be32(h + 8, STORAGE_FORMAT_VERSION);
        syn_put_be64(h + 16, index);
        syn_put_be64(h + 24, term);
        syn_put_be32(h + 60, syn_crc32c(0, h, 60));
        if (err == SYN_OK)
                err = storage_fs_pwrite_full(w->fs, w->fd, h, sizeof h, 0);
        if (err != SYN_OK) {
                snapfile_writer_abort(w);
                return err;
        }
        w->offset = SNAP_HEADER_BYTES;
        return SYN_OK;
}

/* Writes the buffered chunk (its 8-byte header is filled in here). */
static int writer_flush_chunk(struct snapfile_writer *w)
{
        if (w->chunk_len == 0)
                return SYN_OK;
        uint8_t *data = w->chunk + SNAP_CHUNK_HEADER_BYTES;
        syn_put_be32(w->chunk, (uint32_t)w->chunk_len);
        syn_put_be32(w->chunk + 4, syn_crc32c(0, data, w->chunk_len));
        size_t n = SNAP_CHUNK_HEADER_BYTES + w->chunk_len;
        int err = storage_fs_pwrite_full(w->fs, w->fd, w->chunk, n, w->offset);
        if (err != SYN_OK)
                return err;
        w->stream_crc = syn_crc32c(w->stream_crc, data, w->chunk_len);
        w->total_bytes += w->chunk_len;
        w->offset += n;
        w->chunk_len = 0;
        return SYN_OK;
}

int snapfile_writer_write(struct snapfile_writer *w, const void *data, size_t len)
{
        const uint8_t *p = data;
        while (w->error == SYN_OK && len > 0) {
                size_t room = SNAP_CHUNK_BYTES - w->chunk_len;
                size_t n = len < room ? len : room;
                memcpy(w->chunk + SNAP_CHUNK_HEADER_BYTES + w->chunk_len, p, n);
                w->chunk_len += n;
                p += n;
                len -= n;
                if (w->chunk_len == SNAP_CHUNK_BYTES)
                        w->error = writer_flush_chunk(w);
                if (w->error == SYN_OK && w->total_bytes + w->chunk_len > SNAP_STREAM_BYTES_MAX)
                        w->error = SYN_ETOOBIG;
        }
        return w->error;
}

static int writer_write_end(struct snapfile_writer *w)
{
        int err = writer_flush_chunk(w);
        if (err != SYN_OK)
                return err;
        uint8_t end[SNAP_CHUNK_HEADER_BYTES + SNAP_TRAILER_BYTES];
        memset(end, 0, sizeof end);
        uint8_t *t = end + SNAP_CHUNK_HEADER_BYTES;
        syn_put_be64(t, w->total_bytes);
        syn_put_be32(t + 8, w->stream_crc);
        syn_put_be32(t + 12, syn_crc32c(0, t, 12));
        err = storage_fs_pwrite_full(w->fs, w->fd, end, sizeof end, w->offset);
        if (err == SYN_OK)
                err = w->fs->ftruncate(w->fs->ctx, w->fd, w->offset + sizeof end);
        if (err == SYN_OK)
                err = w->fs->fdatasync(w->fs->ctx, w->fd);
        return err;
}

int snapfile_writer_finish(struct snapfile_writer *w)
{
        int err = w->error;
        if (err == SYN_OK)
                err = writer_write_end(w);
        if (err != SYN_OK) {
                SYN_ERROR("storage: writing snapshot %s failed: %s", w->tmp_path,
                          syn_strerror(err));
                snapfile_writer_abort(w);
                return err;
        }
        w->fs->close(w->fs->ctx, w->fd);
        w->fd = -1;
        err = w->fs->rename(w->fs->ctx, w->tmp_path, w->final_path);
        if (err == SYN_OK)
                err = w->fs->sync_dir(w->fs->ctx, w->dir);
        if (err != SYN_OK) {
                SYN_ERROR("storage: publishing snapshot %s failed: %s", w->final_path,
                          syn_strerror(err));
                w->fs->unlink(w->fs->ctx, w->tmp_path);
        }
        free(w->chunk);
        w->chunk = NULL;
        return err;
}

void snapfile_writer_abort(struct snapfile_writer *w)
{
        if (w->fd >= 0) {
                w->fs->close(w->fs->ctx, w->fd);
                w->fd = -1;
                w->fs->unlink(w->fs->ctx, w->tmp_path);
        }
        free(w->chunk);
        w->chunk = NULL;
}

/* ---- listing ---- */

static int cmp_info_desc(const void *a, const void *b)
{
        const struct snapfile_info *x = a, *y = b;
        if (x->index != y->index)
                return x->index < y->index ? 1 : -1;
        return x->term < y->term ? 1 : x->term > y->term ? -1 : 0;
}

int snapfile_list(const struct storage_fs *fs, const char *dir, struct snapfile_info **list,
                  size_t *count)
{
        fs = fs ? fs : storage_fs_posix();
        char **names;
        size_t n;
        *list = NULL;
        *count = 0;
        int err = fs->list_dir(fs->ctx, dir, STORAGE_DIR_ENTRIES_MAX, &names, &n);
        if (err != SYN_OK)
                return err;
        struct snapfile_info *v = calloc(n ? n : 1, sizeof *v);
        size_t k = 0;
        if (!v)
                err = SYN_ENOMEM;
        for (size_t i = 0; err == SYN_OK && i < n; i++) {
                if (!snapfile_name_parse(names[i], "snap", &v[k].index, &v[k].term))
                        continue;
                snprintf(v[k].name, sizeof v[k].name, "%s", names[i]);
                k++;
        }
        storage_fs_names_free(names, n);
        if (err == SYN_OK && k > SNAP_FILES_MAX)
                err = SYN_ELIMIT;
        if (err != SYN_OK || k == 0) {
                free(v);
                return err;
        }
        qsort(v, k, sizeof *v, cmp_info_desc);
        *list = v;
        *count = k;
        return SYN_OK;
}
