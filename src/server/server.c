/*
 * Start-up, the loop's callbacks and shutdown of the single-node server.
 *
 * Start-up order: bind the client port (so a second server on the same port
 * fails fast), load the newest valid snapshot into the tree, open the WAL (which
 * recovers every entry after the snapshot; a corrupt WAL stops start-up with the
 * file and offset in the log), and hand both to raft_init. The single voter then
 * campaigns at once; its term-start entry is persisted through the WAL like any
 * other, and committing it applies the replayed entries, so recovery goes
 * through the same ordered apply path as live traffic.
 *
 * Shutdown (SIGINT/SIGTERM): stop the loop, close the connections, let the WAL
 * finish what was handed to it, wait for a running snapshot child, free all.
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

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "net/tls.h"
#include "server/server.h"

static bool on_accept(void *arg, struct net_conn *nc, const char *ip)
{
        return conns_accept(arg, nc, ip);
}

static void on_frame(void *arg, struct net_conn *nc, const uint8_t *data, size_t len)
{
        if (nc->user != NULL)
                pipeline_frame(arg, nc->user, data, len);
}

static void on_fourlw(void *arg, struct net_conn *nc, const char *word)
{
        stats_fourlw(arg, nc, word);
}

static void on_close(void *arg, struct net_conn *nc)
{
        if (nc->user != NULL)
                conns_closed(arg, nc->user);
        nc->user = NULL;
}

/*
 * Serving: a server takes clients once it knows a leader and has applied what
 * it held in its log at start-up and everything the leader told it was
 * committed, and (clustered) once /zookeeper/config holds the membership, which
 * the first leader of a new cluster writes (a standalone server: once its
 * replayed log is applied). It stops
 * when it has known no leader for SRV_LEADERLESS_GRACE_MS, closing its clients
 * so they move to a server that can serve them: a server cut off from the
 * majority never goes on answering reads from a state it knows may be stale.
 */
static void update_serving(struct srv *srv)
{
        bool caught_up = srv->leader_id != RAFT_NONE && srv->sm.applied >= srv->ready_index &&
                         srv->sm.applied >= raft_commit_index(&srv->raft) &&
                         (!srv->clustered || members_in_tree(srv));
        if (!srv->serving && caught_up && !srv->stopping && !srv->fatal) {
                srv->serving = true;
                SYN_INFO("serving clients (applied index %llu)",
                         (unsigned long long)srv->sm.applied);
                return;
        }
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (srv->serving && srv->leader_id == RAFT_NONE &&
            now - srv->leader_lost_ms >
                SRV_LEADERLESS_GRACE_ELECTIONS * srv->config.election_timeout_ms) {
                srv->serving = false;
                srv->ready_index = srv->sm.applied;
                conns_close_all(srv, "no leader");
        }
}

static void before_sleep(void *arg)
{
        struct srv *srv = arg;
        conns_free_dead(srv);
        readindex_advance(srv, (int64_t)net_now_ms(&srv->net));
        if (srv->clustered)
                cluster_drain_backlog(srv);
        pipeline_pump_stalled(srv);
        readindex_flush(srv); /* before the peers' messages go out */
        host_before_sleep(srv);
        snapshot_maybe_start(srv);
}

/* SIGTERM on a leader: hand leadership over first, then leave (shutdown_tick). */
static void shutdown_begin(struct srv *srv)
{
        srv->shutdown_deadline_ms =
            (int64_t)net_now_ms(&srv->net) + srv->config.election_timeout_ms * 2;
        srv->shutting_down = true;
        if (srv->role == RAFT_LEADER && srv->clustered)
                host_transfer_leadership(srv, "shutting down");
}

/* Leaves once leadership is handed over (or the handover timed out), after closing
 * every client so they reconnect elsewhere at once. */
static void shutdown_tick(struct srv *srv)
{
        bool handed_over = srv->role != RAFT_LEADER || !srv->clustered;
        if (!handed_over && (int64_t)net_now_ms(&srv->net) < srv->shutdown_deadline_ms)
                return;
        srv->serving = false;
        srv->stopping = true;
        conns_close_all(srv, "shutting down");
        net_stop(&srv->net);
}

/* Gives freed heap pages back to the system once clients released a good deal of memory
 * (their buffers of a few MB come from the heap, which glibc keeps resident) or the tree
 * shrank by many nodes. */
static void trim_tick(struct srv *srv, int64_t now)
{
        uint64_t held = srv->net.client_bytes;
        uint64_t nodes = tree_node_count(&srv->sm.tree);
        if (held > srv->trim_peak_bytes)
                srv->trim_peak_bytes = held;
        if (nodes > srv->trim_peak_nodes)
                srv->trim_peak_nodes = nodes;
        if (!srv->trim_due && srv->trim_peak_bytes - held < SRV_MALLOC_TRIM_BYTES &&
            srv->trim_peak_nodes - nodes < SRV_MALLOC_TRIM_NODES)
                return;
        if (now - srv->last_trim_ms < SRV_MALLOC_TRIM_INTERVAL_MS)
                return;
        malloc_trim(0);
        srv->stats.malloc_trims++;
        srv->last_trim_ms = now;
        srv->trim_peak_bytes = held;
        srv->trim_peak_nodes = nodes;
        srv->trim_due = false;
}

static void on_tick(void *arg)
{
        struct srv *srv = arg;
        host_tick(srv);
        readindex_advance(srv, (int64_t)net_now_ms(&srv->net));
        update_serving(srv);
        if (srv->shutting_down) {
                shutdown_tick(srv);
                return;
        }
        int64_t now = (int64_t)net_now_ms(&srv->net);
        if (now - srv->last_slow_tick_ms < SRV_LOOP_TICK_MS)
                return;
        srv->last_slow_tick_ms = now;
        if (srv->clustered) {
                cluster_touch_tick(srv);
                members_tick(srv);
        }
        sessions_tick(srv);
        snapshot_purge_tick(srv);
        trim_tick(srv, now);
}

static void on_signal(void *arg, int signum)
{
        struct srv *srv = arg;
        if (signum == SIGCHLD) {
                snapshot_reap_child(srv);
                return;
        }
        if (srv->shutting_down) {
                SYN_INFO("signal %d again: stopping now", signum);
                srv->stopping = true;
                net_stop(&srv->net);
                return;
        }
        SYN_INFO("signal %d: shutting down", signum);
        shutdown_begin(srv);
}

static void wal_notify(void *arg)
{
        net_async_send(arg); /* on the I/O thread: only wake the loop */
}

/* mkdir -p, bounded by the path length. */
static int make_dirs(const char *path)
{
        char buf[SRV_PATH_BYTES_MAX];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = buf + 1; *p != '\0'; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                        return SYN_ESYS;
                *p = '/';
        }
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return SYN_ESYS;
        return 0;
}

static int start_net(struct srv *srv)
{
        srv->reads_overtaken_max = pl_overtake_reads_max((size_t)srv->config.jute_max_buffer);
        if (srv->config.secure_client_port != 0) {
                int rc = srv_tls_make(&srv->config.ssl, "ssl.", true, &srv->client_tls);
                if (rc != 0)
                        return rc;
        }
        struct net_options no = {
            .address = srv->config.client_port_address,
            .port = (int)srv->config.client_port,
            .frame_bytes_max = (uint32_t)srv->config.jute_max_buffer,
            .tick_ms = (uint32_t)srv->config.raft_tick_ms,
            .client_memory_max = (uint64_t)srv->config.client_memory_limit_mb * 1024 * 1024,
            .tls = srv->client_tls,
            .secure_address = srv->config.secure_client_port_address,
            .secure_port = (int)srv->config.secure_client_port,
            .tls_handshake_timeout_ms = (uint32_t)srv->config.ssl_handshake_timeout_ms,
            .callbacks = {.on_accept = on_accept,
                          .on_frame = on_frame,
                          .on_fourlw = on_fourlw,
                          .on_close = on_close,
                          .before_sleep = before_sleep,
                          .on_tick = on_tick,
                          .on_signal = on_signal},
            .arg = srv,
        };
        int rc = net_init(&srv->net, &no);
        if (rc != 0)
                return rc;
        srv->net_ready = true;
        rc = net_async_init(&srv->net, &srv->wal_async, host_wal_done, srv);
        if (rc != 0)
                return rc;
        srv->wal_async_ready = true;
        return 0;
}

/*
 * The configuration a new cluster starts with (Raft uses it only while the log holds no
 * configuration entry and there is no snapshot): the configured servers, participants
 * voting and observers as learners; a standalone server is its only voter. A server
 * started with --join starts with none: it is not a member until the leader adds it, and
 * its file (which lists the cluster and itself) is not the cluster's configuration of
 * the entries it will receive, so it must never vote, campaign or snapshot by it.
 */
static void bootstrap_config(const struct srv *srv, struct raft_config *c)
{
        memset(c, 0, sizeof *c);
        if (srv->config.join)
                return;
        if (srv->config.member_count == 0) {
                c->n_voters = 1;
                c->voters[0] = (uint64_t)srv->config.server_id;
                return;
        }
        for (uint32_t i = 0; i < srv->config.member_count; i++) {
                const struct srv_member *m = &srv->config.members[i];
                if (m->observer)
                        c->learners[c->n_learners++] = m->id;
                else
                        c->voters[c->n_voters++] = m->id;
        }
}

static int start_raft(struct srv *srv, const struct wal_recovered *rec, uint64_t snap_index,
                      uint64_t snap_term)
{
        struct raft_options ro;
        raft_options_default(&ro, (uint64_t)srv->config.server_id);
        ro.seed = syn_rand_next(&srv->rng);
        srv_config_raft_ticks(&srv->config, &ro.election_ticks, &ro.heartbeat_ticks);
        struct raft_initial_state is;
        memset(&is, 0, sizeof is);
        is.hard_state.term = rec->meta.term;
        is.hard_state.vote = rec->meta.vote;
        is.snapshot.index = snap_index;
        is.snapshot.term = snap_term;
        bootstrap_config(srv, &is.bootstrap);
        is.snapshot.config = srv->snapshot_has_config ? srv->sm.applied_config : is.bootstrap;
        srv->sm.applied_config = is.snapshot.config;
        struct raft_entry *entries = NULL;
        if (rec->count > 0) {
                entries = calloc(rec->count, sizeof *entries);
                if (entries == NULL)
                        return SYN_ENOMEM;
        }
        for (size_t i = 0; i < rec->count; i++) {
                entries[i].index = rec->entries[i].index;
                entries[i].term = rec->entries[i].term;
                entries[i].type = (enum raft_entry_type)rec->entries[i].type;
                entries[i].data = rec->entries[i].len ? rec->entries[i].data : NULL;
                entries[i].len = rec->entries[i].len;
        }
        is.entries = entries;
        is.n_entries = rec->count;
        int rc = raft_init(&srv->raft, &ro, &is);
        free(entries);
        if (rc == 0) {
                srv->raft_ready = true;
                host_init(srv);
        }
        return rc;
}

/*
 * The term and vote are written before any entry of that term (Raft's rule), so
 * a log holding entries of a later term than the metadata means the newest
 * metadata was lost or damaged after the fact. Its vote is gone with it, and a
 * node that votes twice in one term can elect two leaders: refuse to start,
 * naming the files, rather than guess.
 */
static int check_meta_covers_log(const struct srv *srv, const struct wal_recovered *rec,
                                 uint64_t snap_term)
{
        uint64_t log_term = rec->count ? rec->entries[rec->count - 1].term : snap_term;
        if (rec->meta.term >= log_term)
                return 0;
        SYN_ERROR("metadata (%s/meta.0, meta.1) says term %llu but the log holds entries of term "
                  "%llu: the newest term/vote record was lost or damaged; refusing to start "
                  "(restore it, or rebuild this node from its peers)",
                  srv->config.data_log_dir, (unsigned long long)rec->meta.term,
                  (unsigned long long)log_term);
        return SYN_ECORRUPT;
}

static int start_storage(struct srv *srv)
{
        uint64_t snap_index = 0, snap_term = 0;
        int rc = snapshot_load(srv, &snap_index, &snap_term);
        if (rc != 0)
                return rc;
        struct wal_options wo = {
            .fs = NULL,
            .log_dir = srv->config.data_log_dir,
            .segment_bytes = WAL_SEGMENT_BYTES_DEFAULT,
            .preallocate = false,
            .io_thread = true,
            .snapshot_index = snap_index,
            .snapshot_term = snap_term,
            .notify = wal_notify,
            .notify_arg = &srv->wal_async,
        };
        struct wal_recovered rec;
        rc = wal_open(&srv->wal, srv->config.data_dir, &wo, &rec);
        if (rc != 0) {
                SYN_ERROR("cannot recover the WAL in %s: %s", srv->config.data_log_dir,
                          syn_strerror(rc));
                return rc;
        }
        srv->wal_open = true;
        SYN_INFO("recovered: snapshot index %llu, WAL entries %llu..%llu%s",
                 (unsigned long long)snap_index, (unsigned long long)rec.first_index,
                 (unsigned long long)rec.last_index, rec.torn_tail ? " (torn tail cut)" : "");
        rc = check_meta_covers_log(srv, &rec, snap_term);
        if (rc == 0)
                rc = start_raft(srv, &rec, snap_index, snap_term);
        /* What this server held at start-up must be applied again before it serves. */
        srv->ready_index = rec.count > 0 ? rec.entries[rec.count - 1].index : snap_index;
        wal_recovered_free(&rec);
        srv->snapshot_index = snap_index;
        return rc;
}

static int start_state(struct srv *srv)
{
        struct sess_expiry_options eo = {.interval_ms = srv->config.tick_time_ms,
                                         .capacity_max = 0};
        int rc = sess_expiry_init(&srv->expiry, &eo);
        if (rc != 0)
                return rc;
        srv->expiry_ready = true;
        tree_paths_init(&srv->paths);
        syn_writer_init(&srv->scratch, RAFT_ENTRY_BYTES_MAX);
        return 0;
}

static uint64_t random_seed(void)
{
        uint64_t seed = 0;
        FILE *f = fopen("/dev/urandom", "rb");
        if (f != NULL) {
                if (fread(&seed, sizeof seed, 1, f) != 1)
                        seed = 0;
                fclose(f);
        }
        return seed ^ ((uint64_t)getpid() << 32);
}

int srv_init(struct srv *srv, const struct srv_config *config)
{
        memset(srv, 0, sizeof *srv);
        srv->config = *config;
        srv->role = RAFT_FOLLOWER;
        srv_report_init_stats(srv);
        syn_rand_seed(&srv->rng, random_seed());
        members_init(srv);
        int rc = make_dirs(config->data_dir);
        if (rc != 0) {
                SYN_ERROR("cannot create dataDir %s: %s", config->data_dir, strerror(errno));
                return rc;
        }
        rc = make_dirs(config->data_log_dir);
        if (rc != 0) {
                SYN_ERROR("cannot create dataLogDir %s: %s", config->data_log_dir, strerror(errno));
                return rc;
        }
        rc = start_net(srv);
        if (rc == 0) {
                srv->start_ms = net_wall_ms(&srv->net);
                rc = start_state(srv);
        }
        if (rc == 0)
                rc = start_storage(srv);
        srv->clustered = config->member_count > 0;
        if (rc == 0 && srv->clustered)
                rc = cluster_init(srv);
        if (rc == 0)
                members_tree_changed(srv); /* the membership a snapshot carried */
        if (rc != 0) {
                srv_close(srv);
                return rc;
        }
        SYN_INFO("synod %s listening on %s:%d, data in %s%s", SYNOD_VERSION,
                 config->client_port_address, net_port(&srv->net), config->data_dir,
                 srv->clustered ? ", clustered" : "");
        if (srv->client_tls != NULL)
                SYN_INFO("listening for TLS clients on %s:%d", config->secure_client_port_address,
                         net_secure_port(&srv->net));
        admin_host_start(srv);
        if (!srv->clustered)
                host_campaign(srv); /* the single voter wins at once */
        return 0;
}

int srv_run(struct srv *srv)
{
        net_run(&srv->net);
        return srv->fatal;
}

void srv_close(struct srv *srv)
{
        srv->stopping = true;
        /* The threads first: they may still wake the loop's async handles. */
        admin_host_stop(srv);
        if (srv->wal_open)
                wal_close(&srv->wal);
        srv->wal_open = false;
        cluster_close(srv);
        if (srv->net_ready)
                net_close(&srv->net);
        srv->net_ready = false;
        net_tls_ctx_free(srv->client_tls);
        srv->client_tls = NULL;
        conns_free_all(srv);
        replica_close(&srv->replica);
        if (srv->snapshot_pid > 0) {
                int status;
                waitpid(srv->snapshot_pid, &status, 0);
        }
        if (srv->raft_ready)
                raft_close(&srv->raft);
        sm_close(&srv->sm);
        if (srv->expiry_ready)
                sess_expiry_close(&srv->expiry);
        tree_paths_close(&srv->paths);
        syn_writer_close(&srv->scratch);
}
