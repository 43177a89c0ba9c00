/*
 * Term and vote, durable in two alternating files (docs/storage-format.md,
 * "Metadata").
 *
 * Write number s goes to meta.(s % 2), so the write in progress never touches
 * the file holding the newest durable copy: a crash mid-write, or one file
 * rotting, leaves the previous value readable in the other file. On load the
 * valid copy with the higher sequence wins. A single bad copy is a torn first
 * write only while wal/ and snap/ are still empty; otherwise it is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "storage/internal.h"

static int meta_path(char *buf, const char *dir, unsigned which)
{
        char name[16];
        snprintf(name, sizeof name, "meta.%u", which);
        return storage_path_join(buf, dir, name);
}

static void meta_encode(uint8_t out[WAL_META_BYTES], uint64_t sequence, const struct wal_meta *meta)
{
        memset(out, 0, WAL_META_BYTES);
        memcpy(out, WAL_META_MAGIC, 8);
        syn_put_be32(out + 8, STORAGE_FORMAT_VERSION);
        syn_put_be64(out + 16, sequence);
        syn_put_be64(out + 24, meta->term);
        syn_put_be64(out + 32, meta->vote);
        syn_put_be32(out + 60, syn_crc32c(0, out, 60));
}

static bool meta_decode(const uint8_t *p, size_t len, uint64_t *sequence, struct wal_meta *meta)
{
        if (len != WAL_META_BYTES || memcmp(p, WAL_META_MAGIC, 8) != 0)
                return false;
        if (syn_get_be32(p + 8) != STORAGE_FORMAT_VERSION || syn_get_be32(p + 12) != 0)
                return false;
        if (syn_crc32c(0, p, 60) != syn_get_be32(p + 60))
                return false;
        for (int i = 40; i < 60; i++)
                if (p[i] != 0)
                        return false;
        *sequence = syn_get_be64(p + 16);
        meta->term = syn_get_be64(p + 24);
        meta->vote = syn_get_be64(p + 32);
        return *sequence >= 1;
}

/* Reads one copy. *exists tells a missing file from a bad one; *valid a good one. */
static int meta_read_one(const struct storage_fs *fs, const char *dir, unsigned which, bool *exists,
                         bool *valid, uint64_t *sequence, struct wal_meta *meta)
{
        char path[STORAGE_PATH_BYTES_MAX];
        int err = meta_path(path, dir, which);
        if (err != SYN_OK)
                return err;
        uint8_t *data;
        size_t len;
        *exists = false;
        *valid = false;
        /* Read a little more than a record so an over-long file is seen as bad, not cut. */
        err = storage_fs_read_file(fs, path, WAL_META_BYTES + 1, &data, &len);
        if (err == SYN_ENOTFOUND)
                return SYN_OK;
        *exists = true;
        if (err == SYN_ETOOBIG) {
                SYN_WARN("storage: %s is not a metadata file (too long)", path);
                return SYN_OK;
        }
        if (err != SYN_OK)
                return err;
        *valid = meta_decode(data, len, sequence, meta);
        if (!*valid)
                SYN_WARN("storage: %s does not check (%zu bytes); using the other copy", path, len);
        free(data);
        return SYN_OK;
}

/* Whether <dir>/<name> holds any entry; a missing directory holds none. */
static int meta_subdir_used(const struct storage_fs *fs, const char *dir, const char *name,
                            bool *used)
{
        char path[STORAGE_PATH_BYTES_MAX];
        int err = storage_path_join(path, dir, name);
        if (err != SYN_OK)
                return err;
        char **names = NULL;
        size_t count = 0;
        /* max 1: the answer is known at the first name; a second is SYN_ELIMIT. */
        err = fs->list_dir(fs->ctx, path, 1, &names, &count);
        *used = err == SYN_ELIMIT || (err == SYN_OK && count > 0);
        if (err == SYN_OK)
                storage_fs_names_free(names, count);
        if (err == SYN_ENOTFOUND || err == SYN_ELIMIT)
                err = SYN_OK;
        return err;
}

/* No valid copy and at most one file. The first meta write is durable before
 * any WAL record or snapshot exists, so a torn first write leaves wal/ and
 * snap/ empty; with data beside it the bad copy is damage to the only record
 * of term and vote, and starting fresh could vote twice in a term. */
static int meta_no_valid_copy(const struct storage_fs *fs, const char *dir, bool any_file)
{
        if (!any_file)
                return SYN_OK;
        bool wal_used = false, snap_used = false;
        int err = meta_subdir_used(fs, dir, "wal", &wal_used);
        if (err == SYN_OK)
                err = meta_subdir_used(fs, dir, "snap", &snap_used);
        if (err != SYN_OK)
                return err;
        if (wal_used || snap_used) {
                SYN_ERROR("storage: the only metadata file in %s is corrupt but %s is not empty",
                          dir, wal_used ? "wal/" : "snap/");
                return SYN_ECORRUPT;
        }
        return SYN_OK; /* a torn first write, never acknowledged: fresh */
}

int wal_meta_load(const struct storage_fs *fs, const char *dir, struct wal_meta *meta,
                  uint64_t *sequence)
{
        bool exists[2], valid[2];
        uint64_t seq[2] = {0, 0};
        struct wal_meta m[2];
        memset(m, 0, sizeof m);
        for (unsigned i = 0; i < 2; i++) {
                int err = meta_read_one(fs, dir, i, &exists[i], &valid[i], &seq[i], &m[i]);
                if (err != SYN_OK)
                        return err;
        }
        memset(meta, 0, sizeof *meta);
        *sequence = 0;
        if (!valid[0] && !valid[1]) {
                if (exists[0] && exists[1]) {
                        SYN_ERROR("storage: both metadata files in %s are corrupt", dir);
                        return SYN_ECORRUPT;
                }
                return meta_no_valid_copy(fs, dir, exists[0] || exists[1]);
        }
        unsigned win = (valid[0] && (!valid[1] || seq[0] > seq[1])) ? 0 : 1;
        if (seq[win] % 2 != win) {
                SYN_ERROR("storage: meta.%u in %s holds sequence %llu", win, dir,
                          (unsigned long long)seq[win]);
                return SYN_ECORRUPT;
        }
        *meta = m[win];
        *sequence = seq[win];
        return SYN_OK;
}

int wal_meta_store(const struct storage_fs *fs, const char *dir, uint64_t sequence,
                   const struct wal_meta *meta)
{
        SYN_ASSERT(sequence >= 1);
        char path[STORAGE_PATH_BYTES_MAX];
        int err = meta_path(path, dir, (unsigned)(sequence % 2));
        if (err != SYN_OK)
                return err;
        uint8_t buf[WAL_META_BYTES];
        meta_encode(buf, sequence, meta);
        int fd;
        bool created = false;
        err = fs->open(fs->ctx, path, STORAGE_OPEN_WRITE, &fd);
        if (err == SYN_ENOTFOUND) {
                err = fs->open(fs->ctx, path, STORAGE_OPEN_WRITE | STORAGE_OPEN_CREATE, &fd);
                created = true;
        }
        if (err != SYN_OK)
                return err;
        err = storage_fs_pwrite_full(fs, fd, buf, sizeof buf, 0);
        if (err == SYN_OK)
                err = fs->ftruncate(fs->ctx, fd, sizeof buf);
        if (err == SYN_OK)
                err = storage_fs_sync_data(fs, fd);
        fs->close(fs->ctx, fd);
        if (err == SYN_OK && created)
                err = fs->sync_dir(fs->ctx, dir);
        return err;
}
