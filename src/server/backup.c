/*
 * Backups over the admin port: ZooKeeper 3.9's admin command `snapshot`
 * (GET <commandURL>/snapshot), which `synod backup FILE` calls.
 *
 * A backup is a snapshot file, byte for byte as the server writes them
 * (docs/storage-format.md), so every check the file carries travels with it. The
 * snapshot is consistent because the forked writer sees the tree at one applied
 * index (snapshot.c). If the newest snapshot on disk is at the applied index
 * already, it is sent as it is; otherwise the request waits for the next snapshot,
 * which it forces (snapshot_forced), and every request waiting then gets that one.
 * The loop only opens the file: the admin server's HTTP thread streams it from the
 * open descriptor, so retention deleting the file meanwhile does not cut a backup
 * short, and the loop keeps serving clients throughout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

enum {
        HTTP_INTERNAL_ERROR = 500,
        HTTP_UNAVAILABLE = 503,
};

static const char command_name[] = "snapshot";
static const char content_type[] = "application/octet-stream";

/* Answers r with the snapshot file of index/term, or an error if it cannot be opened. */
static void send_file(struct srv *srv, struct admin_request *r, uint64_t index, uint64_t term)
{
        int fd = snapshot_file_open(srv, index, term);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
                char error[160];
                snprintf(error, sizeof error, "cannot open the snapshot at index %llu: %s",
                         (unsigned long long)index, strerror(errno));
                if (fd >= 0)
                        close(fd);
                admin_host_error(srv, r, HTTP_INTERNAL_ERROR, command_name, error);
                return;
        }
        SYN_INFO("backup: sending the snapshot at index %llu (%lld bytes)",
                 (unsigned long long)index, (long long)st.st_size);
        srv->stats.backups_sent++;
        admin_respond_file(srv->admin, r, content_type, fd, (uint64_t)st.st_size);
}

/* The newest snapshot file if it holds exactly the applied state: *term set, true. */
static bool current_snapshot(struct srv *srv, uint64_t *term)
{
        if (srv->snapshot_pid != 0 || srv->snapshot_index == 0 ||
            srv->snapshot_index != srv->sm.applied)
                return false;
        char dir[SRV_PATH_BYTES_MAX + 16];
        snprintf(dir, sizeof dir, "%s/snap", srv->config.data_dir);
        struct snapfile_info *list = NULL;
        size_t n = 0;
        bool found = snapfile_list(storage_fs_posix(), dir, &list, &n) == SYN_OK && n > 0 &&
                     list[0].index == srv->snapshot_index;
        if (found)
                *term = list[0].term;
        free(list);
        return found;
}

void backup_request(struct srv *srv, struct admin_request *r)
{
        uint64_t term = 0;
        if (current_snapshot(srv, &term)) {
                send_file(srv, r, srv->snapshot_index, term);
                return;
        }
        if (srv->backup_waiting_count == SRV_BACKUPS_MAX) {
                srv->stats.admin_refused++;
                admin_host_error(srv, r, HTTP_UNAVAILABLE, command_name,
                                 "too many backups in progress; try again when one is done");
                return;
        }
        if (srv->wal_no_space || srv->sm.applied_config.n_voters == 0) {
                admin_host_error(srv, r, HTTP_UNAVAILABLE, command_name,
                                 srv->wal_no_space ? "the disk is full: no snapshot can be written"
                                                   : "this server is not a member of the "
                                                     "cluster yet: back up another one");
                return;
        }
        if (srv->snapshot_pid == 0) {
                srv->snapshot_forced = true;
                snapshot_maybe_start(srv);
                if (srv->snapshot_pid == 0) {
                        srv->snapshot_forced = false;
                        admin_host_error(srv, r, HTTP_UNAVAILABLE, command_name,
                                         "cannot start a snapshot now (see the server log); "
                                         "try again");
                        return;
                }
        }
        /* A snapshot already running is as consistent as a new one: wait for it. */
        srv->backup_waiting[srv->backup_waiting_count++] = r;
}

void backup_snapshot_done(struct srv *srv, bool ok, uint64_t index, uint64_t term)
{
        uint32_t n = srv->backup_waiting_count;
        srv->backup_waiting_count = 0;
        for (uint32_t i = 0; i < n; i++) {
                struct admin_request *r = srv->backup_waiting[i];
                if (ok)
                        send_file(srv, r, index, term);
                else
                        admin_host_error(srv, r, HTTP_INTERNAL_ERROR, command_name,
                                         "writing the snapshot failed (see the server log)");
        }
}

void backup_stop(struct srv *srv)
{
        uint32_t n = srv->backup_waiting_count;
        srv->backup_waiting_count = 0;
        for (uint32_t i = 0; i < n; i++)
                admin_host_error(srv, srv->backup_waiting[i], HTTP_UNAVAILABLE, command_name,
                                 "server stopping");
}
