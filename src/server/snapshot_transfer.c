/*
 * Snapshots between servers (Raft's InstallSnapshot, thesis §5.3).
 *
 * The leader sends the bytes of its snapshot FILE as they are on disk, in
 * chunks of at most RAFT_SNAPSHOT_CHUNK_BYTES read at the offset the core asks
 * for; the follower writes them at that offset into <dataDir>/snap/recv.tmp. The
 * file carries its own CRCs, so the follower verifies the whole of it with the
 * same reader as at start-up before it replaces anything: a damaged transfer
 * is refused, never installed.
 *
 * Installing: every earlier WAL write is made durable first (the core's order),
 * the file is fsynced and renamed to its snapshot name (fsync of the directory),
 * the tree is reloaded from it, the WAL restarts after its index, and the core
 * hears RAFT_EV_SNAPSHOT_INSTALLED. The client connections of this server are
 * closed: their watches were set on a tree that no longer exists, and on
 * reconnect SetWatches with their last zxid tells them what changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

#define RECV_NAME "recv.tmp"

static void snap_path(const struct srv *srv, char *buf, size_t cap, const char *name)
{
        snprintf(buf, cap, "%s/snap/%s", srv->config.data_dir, name);
}

static void snap_file_name(char *buf, size_t cap, uint64_t index, uint64_t term)
{
        snprintf(buf, cap, "snap-%020llu-%020llu.snap", (unsigned long long)index,
                 (unsigned long long)term);
}

int snapshot_file_open(const struct srv *srv, uint64_t index, uint64_t term)
{
        char name[64], path[SRV_PATH_BYTES_MAX + 96];
        snap_file_name(name, sizeof name, index, term);
        snap_path(srv, path, sizeof path, name);
        return open(path, O_RDONLY | O_CLOEXEC);
}

int snapshot_chunk_read(struct srv *srv, const struct raft_snapshot_meta *meta, uint64_t offset,
                        uint8_t *buf, size_t cap, size_t *len, bool *done)
{
        int fd = snapshot_file_open(srv, meta->index, meta->term);
        if (fd < 0)
                return SYN_ENOTFOUND; /* retention removed it: the core retries with a newer one */
        off_t size = lseek(fd, 0, SEEK_END);
        int rc = 0;
        if (size < 0 || (uint64_t)size < offset) {
                rc = SYN_EIO;
        } else {
                size_t want =
                    (uint64_t)size - offset < cap ? (size_t)((uint64_t)size - offset) : cap;
                ssize_t got = pread(fd, buf, want, (off_t)offset);
                if (got != (ssize_t)want) {
                        rc = SYN_EIO;
                } else {
                        *len = want;
                        *done = offset + want == (uint64_t)size;
                }
        }
        close(fd);
        return rc;
}

void snapshot_recv_chunk(struct srv *srv, const struct raft_snapshot_chunk *c)
{
        char path[SRV_PATH_BYTES_MAX + 96];
        snap_path(srv, path, sizeof path, RECV_NAME);
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (c->offset == 0 ? O_TRUNC : 0);
        int fd = open(path, flags, 0644);
        ssize_t put = -1;
        if (fd >= 0) {
                put = pwrite(fd, c->data, c->len, (off_t)c->offset);
                close(fd);
        }
        if (put != (ssize_t)c->len)
                host_fatal(srv, SYN_EIO, "writing a received snapshot chunk");
}

/* recv.tmp → fsync → rename to its snapshot name → fsync dir. */
static int recv_make_durable(struct srv *srv, const struct raft_snapshot_meta *meta)
{
        char from[SRV_PATH_BYTES_MAX + 96], to[SRV_PATH_BYTES_MAX + 96], name[64];
        snap_path(srv, from, sizeof from, RECV_NAME);
        snap_file_name(name, sizeof name, meta->index, meta->term);
        snap_path(srv, to, sizeof to, name);
        int fd = open(from, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
                if (fd >= 0)
                        close(fd);
                return SYN_EIO;
        }
        close(fd);
        if (rename(from, to) != 0)
                return SYN_EIO;
        snap_path(srv, to, sizeof to, "");
        fd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
                if (fd >= 0)
                        close(fd);
                return SYN_EIO;
        }
        close(fd);
        return 0;
}

void snapshot_install(struct srv *srv, const struct raft_snapshot_meta *meta)
{
        SYN_INFO("installing the leader's snapshot at index %llu (term %llu)",
                 (unsigned long long)meta->index, (unsigned long long)meta->term);
        int rc = wal_sync(&srv->wal); /* every earlier write durable first */
        if (rc == 0)
                rc = recv_make_durable(srv, meta);
        if (rc != 0) {
                host_fatal(srv, rc, "making a received snapshot durable");
                return;
        }
        conns_close_all(srv, "installing a snapshot");
        sm_close(&srv->sm);
        uint64_t index = 0, term = 0;
        rc = snapshot_load(srv, &index, &term);
        if (rc == 0 && (index != meta->index || term != meta->term))
                rc = SYN_ECORRUPT; /* the received file did not verify: never install it */
        /* The stream carries the configuration at its index; Raft's meta says the same
         * (an older stream has none: the meta's is taken). */
        if (rc == 0 && srv->snapshot_has_config &&
            !raft_config_equal(&srv->sm.applied_config, &meta->config))
                rc = SYN_ECORRUPT;
        if (rc != 0) {
                host_fatal(srv, rc, "loading a received snapshot");
                return;
        }
        members_tree_changed(srv);
        rc = wal_reset(&srv->wal, meta->index + 1);
        if (rc != 0) {
                host_fatal(srv, rc, "restarting the WAL after a snapshot");
                return;
        }
        srv->sm.applied_config = meta->config;
        srv->snapshot_index = meta->index;
        srv->logged_bytes = 0;
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_INSTALLED};
        ev.snapshot_installed.index = meta->index;
        host_step(srv, &ev);
}
