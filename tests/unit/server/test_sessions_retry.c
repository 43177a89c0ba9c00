/*
 * Unit test of session expiry when Raft refuses the CLOSE_SESSION proposal
 * (server/sessions.c): the expired id, already popped from the expiry queue,
 * must go back so a later tick retries; otherwise the session never expires
 * and its ephemerals stay forever.
 *
 * sessions.c is compiled into this test alone with fakes of what it calls
 * outside the tree and the expiry queue: the clock (net_now_ms / net_wall_ms),
 * propose_server_txn (refuses with SYN_EBUSY while `busy`, else records the txn)
 * and conns_close_silent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/limits.h"
#include "server/server.h"
#include "tree/txn.h"

static struct {
        uint64_t now_ms;
        bool busy;
        int refused;
        int proposed;
        struct txn last; /* decoded, released at the next proposal */
        bool have_last;
} fake;

uint64_t net_now_ms(struct net *net)
{
        (void)net;
        return fake.now_ms;
}

int64_t net_wall_ms(struct net *net)
{
        (void)net;
        return (int64_t)fake.now_ms + 1700000000000ll;
}

void conns_close_silent(struct srv *srv)
{
        (void)srv;
}

int propose_server_txn(struct srv *srv, const struct txn *t)
{
        if (fake.busy) {
                fake.refused++;
                return SYN_EBUSY;
        }
        if (fake.have_last)
                txn_release(&fake.last);
        syn_writer_reset(&srv->scratch);
        assert_int_equal(txn_encode(t, &srv->scratch), SYN_OK);
        assert_int_equal(txn_decode(srv->scratch.data, srv->scratch.len, &fake.last), SYN_OK);
        fake.have_last = true;
        fake.proposed++;
        return SYN_OK;
}

enum { TICK_MS = 100, SESSION_TIMEOUT_MS = 400 };

static struct srv *make_srv(uint64_t session_id)
{
        memset(&fake, 0, sizeof fake);
        struct srv *srv = calloc(1, sizeof *srv);
        assert_non_null(srv);
        srv->role = RAFT_LEADER;
        srv->config.reap_interval_ms = 1000000; /* no reaping in this test */
        assert_int_equal(tree_init(&srv->sm.tree, &(struct tree_options){0}), SYN_OK);
        assert_int_equal(
            sess_expiry_init(&srv->expiry, &(struct sess_expiry_options){.interval_ms = TICK_MS}),
            SYN_OK);
        srv->expiry_ready = true;
        syn_writer_init(&srv->scratch, 1 << 20);
        tree_result_init(&srv->sm.result);
        tree_events_init(&srv->sm.events);
        struct txn t = {.type = TXN_CREATE_SESSION};
        t.session.id = session_id;
        t.session.timeout_ms = SESSION_TIMEOUT_MS;
        assert_int_equal(tree_apply(&srv->sm.tree, &t, 1, &srv->sm.result, &srv->sm.events),
                         SYN_OK);
        assert_int_equal(srv->sm.result.err, ZOK);
        assert_non_null(tree_session(&srv->sm.tree, session_id));
        assert_int_equal(sess_expiry_touch(&srv->expiry, session_id, SESSION_TIMEOUT_MS, 0),
                         SYN_OK);
        return srv;
}

static void free_srv(struct srv *srv)
{
        if (fake.have_last)
                txn_release(&fake.last);
        tree_events_close(&srv->sm.events);
        tree_result_close(&srv->sm.result);
        syn_writer_close(&srv->scratch);
        sess_expiry_close(&srv->expiry);
        tree_close(&srv->sm.tree);
        free(srv);
}

static void refused_expiry_is_retried(void **state)
{
        (void)state;
        const uint64_t id = 0x0100000000000042ull;
        struct srv *srv = make_srv(id);
        fake.now_ms = SESSION_TIMEOUT_MS - 1;
        sessions_tick(srv);
        assert_int_equal(fake.refused + fake.proposed, 0); /* not expired yet */

        fake.now_ms = SESSION_TIMEOUT_MS + 5;
        fake.busy = true;
        sessions_tick(srv);
        assert_int_equal(fake.refused, 1);
        /* Still tracked, due again at the next tick bucket; not counted as expired. */
        int64_t deadline = sess_expiry_deadline(&srv->expiry, id);
        assert_true(deadline > (int64_t)fake.now_ms);
        assert_true(deadline <= (int64_t)fake.now_ms + TICK_MS);
        assert_int_equal(srv->stats.sessions_expired, 0);

        fake.now_ms = (uint64_t)deadline; /* refused again: still kept */
        sessions_tick(srv);
        assert_int_equal(fake.refused, 2);
        deadline = sess_expiry_deadline(&srv->expiry, id);
        assert_true(deadline > (int64_t)fake.now_ms);

        fake.busy = false; /* applies made room */
        fake.now_ms = (uint64_t)deadline;
        sessions_tick(srv);
        assert_int_equal(fake.proposed, 1);
        assert_int_equal(fake.last.type, TXN_CLOSE_SESSION);
        assert_int_equal(fake.last.session.id, id);
        assert_int_equal(sess_expiry_deadline(&srv->expiry, id), -1);
        assert_int_equal(srv->stats.sessions_expired, 1);

        fake.now_ms += 10 * TICK_MS; /* proposed once: not again */
        sessions_tick(srv);
        assert_int_equal(fake.proposed, 1);
        free_srv(srv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(refused_expiry_is_retried),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
