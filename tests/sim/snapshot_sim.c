/*
 * A simulated node's snapshot file, and InstallSnapshot between nodes.
 *
 * The file holds the stream of replica/sm.h, the Raft configuration then the
 * tree, byte for byte what the server streams into its snapshot files (less
 * the file's own framing and CRCs: the simulated disk never corrupts fsynced
 * data). Taking one (the driver) writes it durably before the core hears
 * RAFT_EV_SNAPSHOT_TAKEN, as the server's snapshot child does before the
 * parent tells the core. Snapshots at one index must be byte-identical on
 * every node (checker.c), since a receiver may resume a transfer with the
 * chunks of another leader's copy.
 *
 * Sending: the core emits RAFT_MSG_SNAPSHOT with (meta, offset) and no data,
 * and the host fills bytes [offset, offset + snapshot_chunk_bytes) of its
 * file for meta.index. The chunk size is a swarm parameter down to
 * SIM_SNAPSHOT_CHUNK_BYTES_MIN, so a transfer takes many chunks and a lost
 * chunk or answer is resumed at the receiver's offset. A leader that no longer
 * has that snapshot drops the message; the core retries with its newest.
 *
 * Receiving: chunks are appended to a volatile buffer (the server's
 * recv.tmp). On u->snapshot_install the bytes become one more FIFO disk
 * write; once it is durable the state machine is rebuilt from them with
 * tree_snap_read, its digest is checked against the committed history, and
 * only then does the core hear RAFT_EV_SNAPSHOT_INSTALLED. The node's watches
 * go (the server closes its client connections on an install).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "sim.h"

void sim_snapshot_free(struct sim_snapshot *s)
{
        free(s->bytes);
        memset(s, 0, sizeof(*s));
}

/* ---- sending ---- */

/* Counts chunk offset sent to `to`; one at or below the last one is a resend
 * (the chunk or its answer was lost, or a new leader resumes). */
static void sim_snapshot_count_chunk(struct sim_cluster *c, struct sim_node *n, uint64_t to,
                                     uint64_t offset)
{
        const struct sim_node *target = sim_node_by_id(c, to);
        c->st.snapshot_chunks++;
        if (target == NULL)
                return;
        uint64_t *last = &n->chunk_offset_sent[target->slot];
        if (offset > 0 && offset <= *last)
                c->st.snapshot_chunks_resent++;
        *last = offset;
}

struct sim_packet *sim_snapshot_packet(struct sim_cluster *c, struct sim_node *n,
                                       const struct raft_message *m)
{
        const struct sim_snapshot *s = &n->disk_snapshot;
        uint64_t offset = m->snapshot.offset;
        if (s->meta.index != m->snapshot.meta.index || s->meta.term != m->snapshot.meta.term)
                return NULL; /* no longer have it: drop, the leader retries */
        if (offset >= s->len) {
                sim_fail(c,
                         "n%" PRIu64 ": InstallSnapshot of %" PRIu64 " at offset %" PRIu64
                         ", beyond its %zu bytes",
                         n->id, s->meta.index, offset, s->len);
                return NULL;
        }
        size_t len = s->len - offset;
        if (len > c->sw.snapshot_chunk_bytes)
                len = c->sw.snapshot_chunk_bytes;
        struct raft_message filled = *m;
        filled.snapshot.data = s->bytes + offset;
        filled.snapshot.len = len;
        filled.snapshot.done = offset + len == s->len;
        sim_snapshot_count_chunk(c, n, m->to, offset);
        return sim_packet_copy(&filled);
}

/* The state machine of every simulated node. The watch hash seed only spreads
 * paths over buckets: notification order does not depend on it. */
static const struct sm_options sim_sm_options = {
    .tree = {.extended_types_enabled = true},
    .watch = {.watches_per_conn_max = WATCH_PER_CONN_MAX, .hash_seed = 0x73796e6f64776174ull},
};

static int sim_snapshot_append(void *arg, const void *p, size_t n)
{
        struct syn_writer *w = arg;
        syn_write_bytes(w, p, n);
        return w->failed ? SYN_ENOMEM : SYN_OK;
}

/* ---- taking ---- */

void sim_snapshot_take(struct sim_cluster *c, struct sim_node *n)
{
        uint64_t index = n->sm.applied;
        if (index <= raft_snapshot(&n->core)->index || index <= n->disk_snapshot.meta.index ||
            n->snapshot_installing)
                return;
        uint64_t term = sim_log_term_at(&n->mirror, index);
        if (term == 0)
                return;
        /* A node that joined with an empty bootstrap configuration (raft.h)
         * does not know the membership of the entries before the first
         * configuration entry: a snapshot of them would carry an empty one,
         * and differ from the initial members' snapshots at the same index,
         * which a transfer resumed from another leader's copy mixes. */
        if (n->sm.applied_config.n_voters == 0)
                return;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        int rc = sm_snapshot_write(&n->sm, sim_snapshot_append, &w);
        SYN_ASSERT(rc == SYN_OK);
        size_t len = 0;
        uint8_t *bytes = syn_writer_take(&w, &len);
        SYN_ASSERT(bytes != NULL);
        if (len > SIM_SNAPSHOT_BYTES_MAX) {
                free(bytes);
                sim_fail(c, "n%" PRIu64 ": a snapshot of %zu bytes, over SIM_SNAPSHOT_BYTES_MAX",
                         n->id, len);
                return;
        }
        sim_check_snapshot_taken(c, n, index, bytes, len);
        /* Written, fsynced and renamed before the core hears of it. */
        sim_snapshot_free(&n->disk_snapshot);
        n->disk_snapshot = (struct sim_snapshot){
            .meta = {.index = index, .term = term, .config = n->sm.applied_config},
            .bytes = bytes,
            .len = len};
        c->st.snapshots++;
        sim_trace(c, n, "snapshot at %" PRIu64 ": %zu bytes", index, len);
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_TAKEN, .snapshot_taken = {.index = index}};
        rc = sim_host_step(c, n, &ev);
        if (rc != SYN_OK)
                sim_fail(c, "n%" PRIu64 ": SNAPSHOT_TAKEN at applied %" PRIu64 " refused: %s",
                         n->id, index, syn_strerror(rc));
}

/* ---- receiving ---- */

void sim_snapshot_chunk(struct sim_cluster *c, struct sim_node *n,
                        const struct raft_snapshot_chunk *ch)
{
        if (ch->offset == 0)
                n->recv_snapshot_len = 0;
        if (ch->offset != n->recv_snapshot_len || ch->len > SIM_SNAPSHOT_BYTES_MAX - ch->offset) {
                sim_fail(c,
                         "n%" PRIu64 ": snapshot chunk at %" PRIu64 "+%zu does not fit (have %zu)",
                         n->id, ch->offset, ch->len, n->recv_snapshot_len);
                return;
        }
        size_t need = (size_t)ch->offset + ch->len;
        if (need > n->recv_snapshot_cap) {
                size_t cap = need > 2 * n->recv_snapshot_cap ? need : 2 * n->recv_snapshot_cap;
                if (cap > SIM_SNAPSHOT_BYTES_MAX)
                        cap = SIM_SNAPSHOT_BYTES_MAX;
                uint8_t *p = realloc(n->recv_snapshot, cap);
                SYN_ASSERT(p != NULL);
                n->recv_snapshot = p;
                n->recv_snapshot_cap = cap;
        }
        if (ch->len > 0)
                memcpy(n->recv_snapshot + ch->offset, ch->data, ch->len);
        n->recv_snapshot_len = need;
}

void sim_snapshot_install(struct sim_cluster *c, struct sim_node *n,
                          const struct raft_snapshot_meta *meta)
{
        struct sim_write *w = calloc(1, sizeof(*w));
        SYN_ASSERT(w != NULL);
        w->snapshot_install = true;
        w->snapshot_meta = *meta;
        /* The received file becomes the write's: the next transfer starts anew. */
        w->snapshot_bytes = n->recv_snapshot;
        w->snapshot_len = n->recv_snapshot_len;
        n->recv_snapshot = NULL;
        n->recv_snapshot_len = n->recv_snapshot_cap = 0;
        n->snapshot_installing = true;
        /* The core's log is now the snapshot: so is the mirror. */
        sim_log_reset(&n->mirror, meta->index, meta->term);
        sim_write_queue(c, n, w);
}

/* Opens n's state machine from its durable snapshot file. */
static int sim_snapshot_load(struct sim_cluster *c, struct sim_node *n)
{
        const struct sim_snapshot *s = &n->disk_snapshot;
        bool has_config = false;
        int rc =
            sm_open_snapshot(&n->sm, &sim_sm_options, s->bytes, s->len, s->meta.index, &has_config);
        if (rc == SYN_OK && !has_config) {
                sm_close(&n->sm);
                rc = SYN_ECORRUPT; /* this host always writes the prefix */
        }
        if (rc != SYN_OK) {
                sim_fail(c, "n%" PRIu64 ": snapshot %" PRIu64 " (%zu bytes) does not load: %s",
                         n->id, s->meta.index, s->len, syn_strerror(rc));
                return rc;
        }
        sim_check_snapshot_loaded(c, n, &s->meta);
        return SYN_OK;
}

void sim_snapshot_installed(struct sim_cluster *c, struct sim_node *n, const struct sim_write *w)
{
        SYN_ASSERT(n->disk_snapshot.meta.index == w->snapshot_meta.index);
        n->snapshot_installing = false;
        sm_close(&n->sm);
        sim_watch_model_clear(&n->watch_model);
        if (sim_snapshot_load(c, n) != SYN_OK)
                return;
        c->st.snapshots_installed++;
        sim_trace(c, n, "installed snapshot %" PRIu64 " (%zu bytes, %u nodes)",
                  w->snapshot_meta.index, w->snapshot_len, (unsigned)tree_node_count(&n->sm.tree));
        struct raft_event ev = {.type = RAFT_EV_SNAPSHOT_INSTALLED,
                                .snapshot_installed = {.index = w->snapshot_meta.index}};
        int rc = sim_host_step(c, n, &ev);
        if (rc != SYN_OK)
                sim_fail(c, "n%" PRIu64 ": SNAPSHOT_INSTALLED refused: %s", n->id,
                         syn_strerror(rc));
}

int sim_snapshot_open_sm(struct sim_cluster *c, struct sim_node *n,
                         const struct raft_config *initial)
{
        sim_watch_model_clear(&n->watch_model);
        if (n->disk_snapshot.meta.index != 0)
                return sim_snapshot_load(c, n);
        int rc = sm_open(&n->sm, &sim_sm_options, initial);
        SYN_ASSERT(rc == SYN_OK);
        return rc;
}
