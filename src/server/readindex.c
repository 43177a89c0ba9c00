/*
 * Linearizable reads through Raft's ReadIndex (thesis §6.4): `sync`, and the
 * handshake of a session this server does not know yet.
 *
 * A wait asks the core for a read index (the leader's commit index, confirmed
 * by a heartbeat round with a majority; a follower forwards the request to the
 * leader); once this server has applied up to that index, everything committed
 * before the wait began is visible here, and the wait's callback runs. The waits
 * started in one loop iteration are asked together, in one request, just before
 * the loop sleeps. Waits are kept in a list, oldest first; they complete in any
 * order. A wait whose answer does not
 * come within SRV_READ_INDEX_TIMEOUT_MS (the request or its answer was lost with
 * a leader) fails, and its callback decides: the connections close and their
 * clients try again, elsewhere if need be.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

#ifdef SYNOD_PLANTS
/*
 * PLANTED BUG, test builds only (SYNOD_PLANTS, CMake option), for the fault harness's
 * checker_catches_stale_read (tests/faults/test_plants.py): with
 * SYNOD_PLANT_SYNC_WITHOUT_READ_INDEX=1 in the environment a wait asks Raft nothing
 * and is ready at what this server has applied, so sync answers from the server's own
 * state and the read after it may miss writes the leader had already committed.
 */
static bool plant_sync_without_read_index(void)
{
        static int planted = -1; /* read once: the environment does not change */
        if (planted < 0) {
                const char *v = getenv("SYNOD_PLANT_SYNC_WITHOUT_READ_INDEX");
                planted = v != NULL && strcmp(v, "1") == 0;
                if (planted)
                        SYN_WARN("PLANTED BUG: sync is answered without a ReadIndex round");
        }
        return planted == 1;
}
#else
static bool plant_sync_without_read_index(void)
{
        return false;
}
#endif

static void append(struct srv *srv, struct srv_read_wait *w)
{
        w->next = NULL;
        w->prev = srv->read_waits_tail;
        if (srv->read_waits_tail != NULL)
                srv->read_waits_tail->next = w;
        else
                srv->read_waits = w;
        srv->read_waits_tail = w;
        srv->read_waits_count++;
        w->active = true;
}

int readindex_start(struct srv *srv, struct srv_read_wait *w,
                    void (*done)(struct srv *srv, struct srv_read_wait *w, bool ok))
{
        SYN_ASSERT(!w->active);
        if (srv->leader_id == RAFT_NONE)
                return SYN_EBUSY;
        w->ctx = 0;
        w->index = 0;
        w->have_index = false;
        w->asked = false;
        w->started_ms = (int64_t)net_now_ms(&srv->net);
        w->done = done;
        append(srv, w);
        if (plant_sync_without_read_index()) {
                w->index = srv->sm.applied;
                w->have_index = true;
                w->asked = true;
                return SYN_OK;
        }
        srv->read_waits_unasked++;
        return SYN_OK;
}

/*
 * One ReadIndex request for every wait not yet asked: a loop iteration's syncs share
 * one heartbeat round of the leader (and one message from a follower to it), as etcd
 * batches its linearizable reads. A read asked later than it arrived still sees all
 * that was committed when it arrived.
 */
void readindex_flush(struct srv *srv)
{
        if (srv->read_waits_unasked == 0 || srv->leader_id == RAFT_NONE || srv->replica.obeying)
                return; /* no leader: they expire unless one is found first */
        uint64_t ctx = ++srv->next_read_ctx;
        for (struct srv_read_wait *w = srv->read_waits; w != NULL; w = w->next)
                if (!w->asked) {
                        w->ctx = ctx;
                        w->asked = true;
                }
        uint32_t asked = srv->read_waits_unasked;
        srv->read_waits_unasked = 0;
        struct raft_event ev = {.type = RAFT_EV_READ_INDEX};
        ev.read_index.ctx = ctx;
        int rc = host_step(srv, &ev);
        if (rc == 0)
                return;
        /* Not asked after all (the core knows no leader, or too many reads are pending
         * at the leader): the next flush tries again, until they expire. */
        SYN_DEBUG("%u read index waits not asked: %s", asked, syn_strerror(rc));
        for (struct srv_read_wait *w = srv->read_waits; w != NULL; w = w->next)
                if (w->asked && w->ctx == ctx && !w->have_index) {
                        w->asked = false;
                        srv->read_waits_unasked++;
                }
}

void readindex_resend(struct srv *srv)
{
        /* Asked of a leader that will never answer (nor does Raft pass them on). */
        for (struct srv_read_wait *w = srv->read_waits; w != NULL; w = w->next)
                if (w->asked && !w->have_index) {
                        w->asked = false;
                        srv->read_waits_unasked++;
                }
        readindex_flush(srv);
}

void readindex_cancel(struct srv *srv, struct srv_read_wait *w)
{
        if (!w->active)
                return;
        if (w->prev != NULL)
                w->prev->next = w->next;
        else
                srv->read_waits = w->next;
        if (w->next != NULL)
                w->next->prev = w->prev;
        else
                srv->read_waits_tail = w->prev;
        w->next = w->prev = NULL;
        w->active = false;
        if (!w->asked) {
                SYN_ASSERT(srv->read_waits_unasked > 0);
                srv->read_waits_unasked--;
        }
        SYN_ASSERT(srv->read_waits_count > 0);
        srv->read_waits_count--;
}

void readindex_states(struct srv *srv, const struct raft_read_state *states, size_t n)
{
        for (size_t i = 0; i < n; i++)
                /* Bounded by the waits in flight. Several share a ctx when they were
                 * asked again together (readindex_resend). */
                for (struct srv_read_wait *w = srv->read_waits; w != NULL; w = w->next)
                        if (w->ctx == states[i].ctx) {
                                w->index = states[i].index;
                                w->have_index = true;
                        }
}

void readindex_advance(struct srv *srv, int64_t now_ms)
{
        struct srv_read_wait *w = srv->read_waits;
        /* Bounded by the waits in flight; a callback may cancel or start others, so
         * the walk restarts from the head after each one. Oldest first: those are the
         * ones ready first, so a restart seldom walks past waits that are not. */
        while (w != NULL) {
                bool ready = w->have_index && srv->sm.applied >= w->index;
                bool expired = now_ms - w->started_ms >
                               SRV_READ_INDEX_TIMEOUT_ELECTIONS * srv->config.election_timeout_ms;
                if (!ready && !expired) {
                        w = w->next;
                        continue;
                }
                readindex_cancel(srv, w);
                if (expired && !ready)
                        SYN_INFO("read index %llu timed out", (unsigned long long)w->ctx);
                w->done(srv, w, ready);
                w = srv->read_waits;
        }
}
