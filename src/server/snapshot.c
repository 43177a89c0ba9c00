/*
 * Snapshots: loading the newest valid one at start-up, and taking new ones in
 * the background (Redis's rdbSaveBackground).
 *
 * Every snapCount applied entries, or snapSizeLimitInKb logged (snapshot_due), the
 * loop fork()s. The child sees the tree and the applied Raft configuration as they
 * were at that instant (copy-on-write pages) and streams both (snapstream.h) into
 * a snapfile (temp file → fdatasync → rename → fsync dir), then _exit()s; the
 * parent keeps serving. SIGCHLD brings the loop to snapshot_reap_child, which
 * collects the child with waitpid and, on success, tells raft SNAPSHOT_TAKEN
 * (the core compacts its log) and queues WAL retention: keep
 * autopurge.snapRetainCount snapshots and drop the WAL segments they make
 * obsolete. At most one child runs at a time.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

static void snap_dir(const struct srv *srv, char *buf, size_t cap)
{
        snprintf(buf, cap, "%s/snap", srv->config.data_dir);
}

static int read_stream(struct snapfile_reader *r, uint8_t **out, size_t *len)
{
        if (r->total_bytes > SNAP_STREAM_BYTES_MAX || r->total_bytes > SIZE_MAX - 1)
                return SYN_ETOOBIG;
        size_t total = (size_t)r->total_bytes;
        uint8_t *buf = malloc(total + 1);
        if (buf == NULL)
                return SYN_ENOMEM;
        size_t have = 0;
        /* Bounded: each pass reads at least one byte of a stream of known length. */
        while (have < total) {
                size_t got = 0;
                int rc = snapfile_read(r, buf + have, total - have, &got);
                if (rc != 0 || got == 0) {
                        free(buf);
                        return rc != 0 ? rc : SYN_ETRUNC;
                }
                have += got;
        }
        *out = buf;
        *len = total;
        return 0;
}

int snapshot_load(struct srv *srv, uint64_t *index, uint64_t *term)
{
        char dir[SRV_PATH_BYTES_MAX + 16];
        snap_dir(srv, dir, sizeof dir);
        mkdir(dir, 0755);
        /* A fresh hash seed for the watch tables, so a client cannot pick colliding
         * paths offline. */
        struct sm_options opt = {
            .tree = {.extended_types_enabled = srv->config.extended_types_enabled},
            .watch = {.watches_per_conn_max = WATCH_PER_CONN_MAX,
                      .hash_seed = syn_rand_next(&srv->rng)},
        };
        struct raft_config none = {0};
        struct snapfile_reader r;
        int rc = snapfile_open_latest(&r, storage_fs_posix(), dir);
        if (rc == SYN_ENOTFOUND) {
                *index = *term = 0;
                srv->snapshot_has_config = false;
                return sm_open(&srv->sm, &opt, &none);
        }
        if (rc != 0) {
                SYN_ERROR("cannot open a snapshot in %s: %s", dir, syn_strerror(rc));
                return rc;
        }
        uint8_t *bytes = NULL;
        size_t len = 0;
        rc = read_stream(&r, &bytes, &len);
        *index = r.info.index;
        *term = r.info.term;
        char name[sizeof r.info.name];
        memcpy(name, r.info.name, sizeof name);
        snapfile_reader_close(&r);
        if (rc == 0) {
                rc =
                    sm_open_snapshot(&srv->sm, &opt, bytes, len, *index, &srv->snapshot_has_config);
                free(bytes);
        }
        if (rc != 0) {
                SYN_ERROR("snapshot %s/%s does not load: %s", dir, name, syn_strerror(rc));
                return rc;
        }
        SYN_INFO("loaded snapshot %s (index %llu, %llu nodes)", name, (unsigned long long)*index,
                 (unsigned long long)tree_node_count(&srv->sm.tree));
        return 0;
}

static int child_write(void *arg, const void *p, size_t n)
{
        return snapfile_writer_write(arg, p, n);
}

/* In the forked child: plain blocking writes, then _exit (no atexit, no loop teardown). */
static void child_main(struct srv *srv, uint64_t index, uint64_t term)
{
        /* The child inherits every client socket and the listener. Closing them at once lets
         * a connection the parent closes during the snapshot see its FIN now rather than when
         * the child exits (Redis closes its listeners in the child for the same reason). The
         * child needs only stderr and the snapshot file it opens below. */
        close_range(3, ~0U, 0);
        char dir[SRV_PATH_BYTES_MAX + 16];
        snap_dir(srv, dir, sizeof dir);
        struct snapfile_writer w;
        int rc = snapfile_writer_open(&w, storage_fs_posix(), dir, index, term);
        if (rc == 0) {
                rc = sm_snapshot_write(&srv->sm, child_write, &w);
                if (rc == 0)
                        rc = snapfile_writer_finish(&w);
                else
                        snapfile_writer_abort(&w);
        }
        _exit(rc == 0 ? 0 : 1);
}

/*
 * Due after snapCount entries, or once the entries logged since the last snapshot
 * (which the Raft core keeps in memory until one is taken) exceed snapSizeLimitInKb
 * and a quarter of the tree's size (SRV_SNAP_TREE_SHARE_DIVISOR), so a big tree is
 * not rewritten for every few MiB logged.
 */
bool snapshot_due(const struct srv *srv)
{
        if (srv->sm.applied <= srv->snapshot_index)
                return false;
        if (srv->sm.applied - srv->snapshot_index >= (uint64_t)srv->config.snap_count)
                return true;
        uint64_t limit = (uint64_t)srv->config.snap_size_limit_kb * 1024;
        uint64_t share = tree_data_bytes(&srv->sm.tree) / SRV_SNAP_TREE_SHARE_DIVISOR;
        return srv->logged_bytes >= (limit > share ? limit : share);
}

void snapshot_maybe_start(struct srv *srv)
{
        /* A backup (backup.c) wants one now, whenever anything was applied since the last. */
        bool due = srv->snapshot_forced ? srv->sm.applied > srv->snapshot_index : snapshot_due(srv);
        /* A joining server applies entries from before the configuration entry that added
         * it without knowing the configuration they were made under: it must not write
         * one (another member's snapshot at that index would differ). */
        if (srv->snapshot_pid != 0 || srv->stopping || srv->sm.applied == 0 ||
            srv->sm.applied_config.n_voters == 0 || !due)
                return;
        /* A full disk (host.c) would fail it; after a failure, wait before the next one
         * (unless a backup asks: its client hears the failure). */
        if (srv->wal_no_space ||
            (!srv->snapshot_forced && srv->snapshot_failed_ms != 0 &&
             (int64_t)net_now_ms(&srv->net) - srv->snapshot_failed_ms < SRV_SNAPSHOT_RETRY_MS))
                return;
        uint64_t index = srv->sm.applied;
        uint64_t term = raft_term_at(&srv->raft, index);
        if (term == 0)
                return; /* not in the log any more: a newer snapshot covers it */
        pid_t pid = fork();
        if (pid < 0) {
                SYN_WARN("snapshot: fork failed: %s", strerror(errno));
                srv->stats.snapshots_failed++;
                return;
        }
        if (pid == 0)
                child_main(srv, index, term);
        srv->snapshot_forced = false;
        srv->snapshot_pid = pid;
        srv->logged_bytes = 0; /* what is logged from now on waits for the next one */
        srv->snapshot_child_index = index;
        srv->snapshot_child_term = term;
        srv->snapshot_started_ms = (int64_t)net_now_ms(&srv->net);
        SYN_INFO("snapshot at index %llu started (pid %d)", (unsigned long long)index, (int)pid);
}

void snapshot_reap_child(struct srv *srv)
{
        if (srv->snapshot_pid == 0)
                return;
        int status = 0;
        pid_t pid = waitpid(srv->snapshot_pid, &status, WNOHANG);
        if (pid == 0)
                return; /* another child, or not finished yet */
        srv->snapshot_pid = 0;
        if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                SYN_WARN("snapshot at index %llu failed (status %d)",
                         (unsigned long long)srv->snapshot_child_index, status);
                srv->stats.snapshots_failed++;
                srv->snapshot_failed_ms = (int64_t)net_now_ms(&srv->net);
                backup_snapshot_done(srv, false, 0, 0);
                return;
        }
        srv->stats.snapshots_taken++;
        int64_t took = (int64_t)net_now_ms(&srv->net) - srv->snapshot_started_ms;
        syn_hist_observe(&srv->stats.snapshot_ms, took > 0 ? (uint64_t)took : 0);
        srv->snapshot_index = srv->snapshot_child_index;
        srv->snapshot_wall_ms = net_wall_ms(&srv->net);
        SYN_INFO("snapshot at index %llu written", (unsigned long long)srv->snapshot_index);
        /* Waiting backups open the new file now, before anything else may remove it. */
        backup_snapshot_done(srv, true, srv->snapshot_index, srv->snapshot_child_term);
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_TAKEN};
        ev.snapshot_taken.index = srv->snapshot_index;
        int rc = host_step(srv, &ev);
        if (rc != 0)
                SYN_WARN("raft refused the snapshot: %s", syn_strerror(rc));
#ifdef __GLIBC__
        /* The core just freed the entries the snapshot covers: thousands of small
         * payloads between tree nodes, in pages malloc keeps. Give whole free pages
         * back to the kernel (MADV_DONTNEED inside the heap), once per snapshot. */
        malloc_trim(0);
#endif
        rc = wal_retain(&srv->wal, (size_t)srv->config.snap_retain_count);
        if (rc != 0)
                SYN_WARN("snapshot retention: %s", syn_strerror(rc));
        net_wake(&srv->net);
}

void snapshot_purge_tick(struct srv *srv)
{
        int64_t interval_ms = srv->config.purge_interval_hours * 3600 * 1000;
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (interval_ms <= 0 || now - srv->last_purge_ms < interval_ms)
                return;
        srv->last_purge_ms = now;
        /* autopurge: the same retention that follows each snapshot, on a timer. */
        int rc = wal_retain(&srv->wal, (size_t)srv->config.snap_retain_count);
        if (rc != 0)
                SYN_WARN("autopurge: %s", syn_strerror(rc));
        net_wake(&srv->net);
}
