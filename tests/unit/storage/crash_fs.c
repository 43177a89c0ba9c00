/* The crash-modelling file-ops table of crash_fs.h. */
#include "crash_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/rand.h"

/* Counts one mutating operation; fails when the disk is (or now goes) dead. */
static int step(struct crash_fs *cf)
{
        if (cf->dead)
                return SYN_EIO;
        if (cf->ops_left == 0) {
                cf->dead = true;
                return SYN_EIO;
        }
        if (cf->ops_left > 0)
                cf->ops_left--;
        cf->ops_done++;
        return SYN_OK;
}

static struct crash_file *file_find(struct crash_fs *cf, const char *path)
{
        for (size_t i = 0; i < cf->file_count; i++)
                if (strcmp(cf->files[i].path, path) == 0)
                        return &cf->files[i];
        return NULL;
}

static struct crash_file *file_add(struct crash_fs *cf, const char *path)
{
        SYN_ASSERT(cf->file_count < CRASH_FS_FILES_MAX);
        SYN_ASSERT(strlen(path) < sizeof cf->files[0].path);
        struct crash_file *f = &cf->files[cf->file_count++];
        memset(f, 0, sizeof *f);
        strcpy(f->path, path);
        return f;
}

static struct crash_file *file_of_fd(struct crash_fs *cf, int fd)
{
        for (size_t i = 0; i < CRASH_FS_FDS_MAX; i++)
                if (cf->fds[i].fd == fd)
                        return &cf->files[cf->fds[i].file];
        SYN_UNREACHABLE();
}

static void op_push(struct crash_file *f, uint64_t off, const void *data, size_t len, bool trunc)
{
        SYN_ASSERT(f->op_count < CRASH_FS_OPS_MAX);
        if (f->op_count % 64 == 0) {
                f->ops = realloc(f->ops, (f->op_count + 64) * sizeof *f->ops);
                SYN_ASSERT(f->ops);
        }
        struct crash_op *op = &f->ops[f->op_count++];
        op->off = off;
        op->len = len;
        op->truncate = trunc;
        op->data = NULL;
        if (data) {
                op->data = malloc(len ? len : 1);
                SYN_ASSERT(op->data);
                memcpy(op->data, data, len);
        }
}

static void ops_clear(struct crash_file *f)
{
        for (size_t i = 0; i < f->op_count; i++)
                free(f->ops[i].data);
        free(f->ops);
        f->ops = NULL;
        f->op_count = 0;
}

static int cf_open(void *ctx, const char *path, int flags, int *fd)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = (flags & (STORAGE_OPEN_CREATE | STORAGE_OPEN_TRUNC)) ? step(cf) : SYN_OK;
        if (err == SYN_OK)
                err = storage_fs_posix()->open(NULL, path, flags, fd);
        if (err == SYN_OK) {
                struct crash_file *f = file_find(cf, path);
                if (!f)
                        f = file_add(cf, path); /* new: name and content not durable */
                f->exists = true;
                if (flags & STORAGE_OPEN_TRUNC)
                        op_push(f, 0, NULL, 0, true);
                size_t slot = 0;
                while (slot < CRASH_FS_FDS_MAX && cf->fds[slot].fd >= 0)
                        slot++;
                SYN_ASSERT(slot < CRASH_FS_FDS_MAX);
                cf->fds[slot].fd = *fd;
                cf->fds[slot].file = (size_t)(f - cf->files);
        }
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_close(void *ctx, int fd)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        for (size_t i = 0; i < CRASH_FS_FDS_MAX; i++)
                if (cf->fds[i].fd == fd)
                        cf->fds[i].fd = -1;
        pthread_mutex_unlock(&cf->mu);
        return storage_fs_posix()->close(NULL, fd);
}

static int64_t cf_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int64_t r = step(cf);
        if (r == SYN_OK) {
                r = storage_fs_posix()->pwrite(NULL, fd, buf, n, off);
                if (r > 0)
                        op_push(file_of_fd(cf, fd), off, buf, (size_t)r, false);
        }
        pthread_mutex_unlock(&cf->mu);
        return r;
}

static int cf_fdatasync(void *ctx, int fd)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf); /* no real fdatasync: durability is modelled here */
        if (err == SYN_OK) {
                struct crash_file *f = file_of_fd(cf, fd);
                uint64_t size;
                SYN_ASSERT(storage_fs_posix()->size(NULL, fd, &size) == SYN_OK);
                uint8_t *data = malloc(size ? size : 1);
                SYN_ASSERT(data);
                SYN_ASSERT(storage_fs_pread_full(storage_fs_posix(), fd, data, size, 0) == 0);
                free(f->durable);
                f->durable = data;
                f->durable_len = size;
                ops_clear(f);
        }
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_ftruncate(void *ctx, int fd, uint64_t size)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf);
        if (err == SYN_OK)
                err = storage_fs_posix()->ftruncate(NULL, fd, size);
        if (err == SYN_OK)
                op_push(file_of_fd(cf, fd), size, NULL, 0, true);
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_fallocate(void *ctx, int fd, uint64_t size)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf);
        if (err == SYN_OK)
                err = storage_fs_posix()->fallocate(NULL, fd, size);
        if (err == SYN_OK)
                op_push(file_of_fd(cf, fd), size, NULL, 0, false);
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_rename(void *ctx, const char *from, const char *to)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf);
        if (err == SYN_OK)
                err = storage_fs_posix()->rename(NULL, from, to);
        if (err == SYN_OK) {
                struct crash_file *src = file_find(cf, from);
                SYN_ASSERT(src);
                struct crash_file *dst = file_find(cf, to);
                if (!dst)
                        dst = file_add(cf, to);
                src = file_find(cf, from); /* file_add does not move the array */
                free(dst->durable);
                ops_clear(dst);
                dst->durable = malloc(src->durable_len ? src->durable_len : 1);
                memcpy(dst->durable, src->durable, src->durable_len);
                dst->durable_len = src->durable_len;
                for (size_t i = 0; i < src->op_count; i++)
                        op_push(dst, src->ops[i].off, src->ops[i].data, src->ops[i].len,
                                src->ops[i].truncate);
                dst->exists = true;
                dst->name_durable = false;
                src->exists = false;
        }
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_unlink(void *ctx, const char *path)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf);
        if (err == SYN_OK)
                err = storage_fs_posix()->unlink(NULL, path);
        if (err == SYN_OK) {
                struct crash_file *f = file_find(cf, path);
                if (f)
                        f->exists = false;
        }
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_sync_dir(void *ctx, const char *path)
{
        struct crash_fs *cf = ctx;
        pthread_mutex_lock(&cf->mu);
        int err = step(cf); /* no real fsync: durability is modelled here */
        size_t n = strlen(path);
        for (size_t i = 0; err == SYN_OK && i < cf->file_count; i++) {
                struct crash_file *f = &cf->files[i];
                if (strncmp(f->path, path, n) == 0 && f->path[n] == '/' &&
                    !strchr(f->path + n + 1, '/'))
                        f->name_durable = f->exists;
        }
        pthread_mutex_unlock(&cf->mu);
        return err;
}

static int cf_mkdir(void *ctx, const char *path)
{
        struct crash_fs *cf = ctx;
        if (cf->dead)
                return SYN_EIO;
        return storage_fs_posix()->mkdir(NULL, path);
}

void crash_fs_init(struct crash_fs *cf, long crash_after)
{
        memset(cf, 0, sizeof *cf);
        cf->fs = *storage_fs_posix();
        cf->fs.ctx = cf;
        cf->fs.open = cf_open;
        cf->fs.close = cf_close;
        cf->fs.pwrite = cf_pwrite;
        cf->fs.fdatasync = cf_fdatasync;
        cf->fs.ftruncate = cf_ftruncate;
        cf->fs.fallocate = cf_fallocate;
        cf->fs.rename = cf_rename;
        cf->fs.unlink = cf_unlink;
        cf->fs.sync_dir = cf_sync_dir;
        cf->fs.mkdir = cf_mkdir;
        for (size_t i = 0; i < CRASH_FS_FDS_MAX; i++)
                cf->fds[i].fd = -1;
        cf->ops_left = crash_after;
        pthread_mutex_init(&cf->mu, NULL);
}

struct content {
        uint8_t *p;
        size_t len, cap;
};

static void content_resize(struct content *c, size_t len)
{
        if (len > c->cap) {
                c->cap = len * 2 + 64;
                c->p = realloc(c->p, c->cap);
                SYN_ASSERT(c->p);
        }
        if (len > c->len)
                memset(c->p + c->len, 0, len - c->len);
        c->len = len;
}

static void content_apply(struct content *c, const struct crash_op *op, size_t len)
{
        if (op->truncate) {
                content_resize(c, op->off);
        } else if (!op->data) {
                if (op->off > c->len)
                        content_resize(c, op->off);
        } else {
                if (op->off + len > c->len)
                        content_resize(c, op->off + len);
                memcpy(c->p + op->off, op->data, len);
        }
}

/* The content a crash leaves: durable, then a random prefix of the unsynced
 * changes, the last write possibly torn. */
static void crash_one(struct crash_file *f, struct syn_rand *rand)
{
        struct content c = {0};
        content_resize(&c, f->durable_len);
        if (f->durable_len)
                memcpy(c.p, f->durable, f->durable_len);
        size_t keep = (size_t)syn_rand_below(rand, f->op_count + 1);
        for (size_t i = 0; i < keep; i++) {
                size_t len = f->ops[i].len;
                if (i + 1 == keep && f->ops[i].data)
                        len = (size_t)syn_rand_below(rand, len + 1);
                content_apply(&c, &f->ops[i], len);
        }
        FILE *out = fopen(f->path, "wb");
        SYN_ASSERT(out);
        if (c.len)
                SYN_ASSERT(fwrite(c.p, 1, c.len, out) == c.len);
        fclose(out);
        free(f->durable);
        f->durable = c.p;
        f->durable_len = c.len;
        ops_clear(f);
        f->exists = true;
}

void crash_fs_crash(struct crash_fs *cf, uint64_t seed)
{
        struct syn_rand rand;
        syn_rand_seed(&rand, seed);
        pthread_mutex_lock(&cf->mu);
        size_t kept = 0;
        for (size_t i = 0; i < cf->file_count; i++) {
                struct crash_file *f = &cf->files[i];
                if (!f->name_durable) {
                        unlink(f->path);
                        free(f->durable);
                        ops_clear(f);
                        continue;
                }
                crash_one(f, &rand);
                cf->files[kept++] = *f;
        }
        cf->file_count = kept;
        cf->dead = false;
        cf->ops_left = -1;
        pthread_mutex_unlock(&cf->mu);
}

void crash_fs_close(struct crash_fs *cf)
{
        for (size_t i = 0; i < cf->file_count; i++) {
                free(cf->files[i].durable);
                ops_clear(&cf->files[i]);
        }
        pthread_mutex_destroy(&cf->mu);
}
