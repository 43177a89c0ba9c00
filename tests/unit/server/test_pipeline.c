/*
 * Unit tests of the pipeline ordering (server/pipeline.h) and of digest auth.
 *
 * The ordering test drives several sessions with a seeded random mix of reads and
 * writes against a model log that applies proposed writes in order, in random
 * batches, and checks the two promises of the pipeline: replies leave each session
 * in request order, and every read sees exactly the writes of its session that
 * came before it (none missing, none from later), also when writes are proposed
 * past held-back reads (those run just before the next write's apply).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/rand.h"
#include "server/auth.h"
#include "server/pipeline.h"

enum { SESSIONS = 4, REQUESTS = 400, LOG_MAX = SESSIONS * REQUESTS };

struct model_session {
        struct pl_queue q;
        int32_t next_xid;      /* xid of the next request sent */
        int32_t next_reply;    /* xid the next reply must carry */
        int32_t writes_sent;   /* writes submitted so far */
        int32_t writes_done;   /* writes of this session applied to the model state */
        int32_t last_proposed; /* xid of the last write proposed: proposals keep request order */
        bool stalled;          /* reads held back (output full) */
        bool held;             /* a write was refused by the model Raft (SYN_EBUSY) */
        struct pl_item items[REQUESTS];
        int32_t writes_before[REQUESTS]; /* per xid: writes sent before it */
};

struct model {
        struct model_session s[SESSIONS];
        int log_session[LOG_MAX + 1]; /* index -> session of the proposed write */
        uint64_t proposed;            /* last index proposed */
        uint64_t applied;             /* last index applied */
        uint64_t uncommitted_max;     /* model Raft refuses beyond this many unapplied */
        int busy_percent;             /* ... and refuses this share at random */
        int refusals;
        int replies;
        int reads_before_apply; /* reads run just before a later write's entry */
        int writes_past_reads;  /* writes proposed with a read queued ahead */
        struct syn_rand rng;
};

/* Rule 2's bound where a test does not exercise it: more reads than any test queues. */
enum { OVERTAKE_ANY = 1024 };

static void reply(struct model *m, int sid, struct pl_item *item)
{
        struct model_session *s = &m->s[sid];
        assert_int_equal(item->xid, s->next_reply); /* FIFO per session */
        s->next_reply++;
        if (item->kind == PL_READ) /* read-your-writes, and nothing newer */
                assert_int_equal(s->writes_done, s->writes_before[item->xid]);
        m->replies++;
}

/* The model Raft: refuses (like SYN_EBUSY) past uncommitted_max or at random;
 * then the write stays queued unproposed and the session stops pumping. */
static bool propose(struct model *m, int sid, struct pl_item *item)
{
        struct model_session *s = &m->s[sid];
        if (m->proposed - m->applied >= m->uncommitted_max ||
            (int)syn_rand_below(&m->rng, 100) < m->busy_percent) {
                m->refusals++;
                s->held = true;
                return false;
        }
        s->held = false;
        if (s->q.reads > 0)
                m->writes_past_reads++;
        assert_true(item->xid > s->last_proposed);
        s->last_proposed = item->xid;
        pl_proposed(&s->q, item, ++m->proposed);
        m->log_session[m->proposed] = sid;
        return true;
}

/* queue.bytes is the sum over the queued items. */
static void check_bytes(const struct pl_queue *q)
{
        size_t sum = 0;
        for (const struct pl_item *it = q->head; it != NULL; it = it->next)
                sum += it->bytes;
        assert_int_equal(q->bytes, sum);
}

/* Runs what the head of a session's queue allows: reads, or proposals. */
static void pump(struct model *m, int sid)
{
        struct model_session *s = &m->s[sid];
        struct pl_item *item;
        /* Sometimes the output is full: reads are held back until a later pump. */
        s->stalled = syn_rand_below(&m->rng, 100) < 20;
        s->held = false;
        while ((item = pl_next(&s->q, !s->stalled)) != NULL) {
                if (item->kind == PL_READ)
                        reply(m, sid, item);
                else if (!propose(m, sid, item))
                        break; /* retried by a later pump, like pipeline_pump_stalled */
        }
        check_bytes(&s->q);
}

static void apply_one(struct model *m)
{
        uint64_t index = ++m->applied;
        int sid = m->log_session[index];
        struct model_session *s = &m->s[sid];
        /* The server's pipeline_before_apply: the reads ahead of the write run now,
         * against the state without it, whatever the output. */
        struct pl_item *read;
        while ((read = pl_pop_read(&s->q)) != NULL) {
                m->reads_before_apply++;
                reply(m, sid, read);
        }
        s->writes_done++;
        struct pl_item *item = s->q.head;
        assert_non_null(item);
        assert_int_equal(item->index, index);
        assert_true(pl_write_applied(&s->q, item));
        reply(m, sid, item);
        pump(m, sid); /* before the next entry is applied */
}

static void send_one(struct model *m, int sid, bool write)
{
        struct model_session *s = &m->s[sid];
        int32_t xid = s->next_xid++;
        struct pl_item *item = &s->items[xid];
        memset(item, 0, sizeof *item);
        item->xid = xid;
        item->kind = write ? PL_WRITE : PL_READ;
        item->bytes = 16 + (size_t)syn_rand_below(&m->rng, 1000);
        s->writes_before[xid] = s->writes_sent;
        if (write)
                s->writes_sent++;
        switch (pl_submit(&s->q, item)) {
        case PL_RUN_NOW:
                reply(m, sid, item);
                break;
        case PL_PROPOSE_NOW:
                propose(m, sid, item);
                break;
        case PL_QUEUED:
                break;
        }
}

static void run_model(uint64_t seed, int write_percent, uint64_t uncommitted_max, int busy_percent)
{
        struct model *m = calloc(1, sizeof *m);
        assert_non_null(m);
        syn_rand_seed(&m->rng, seed);
        m->uncommitted_max = uncommitted_max;
        m->busy_percent = busy_percent;
        for (int i = 0; i < SESSIONS; i++) {
                pl_queue_init(&m->s[i].q, OVERTAKE_ANY);
                m->s[i].last_proposed = -1;
        }
        int sent = 0;
        /* Bounded: every pass sends, applies or unstalls, and each is finite. */
        while (sent < SESSIONS * REQUESTS || m->applied < m->proposed || m->replies < sent) {
                uint64_t r = syn_rand_below(&m->rng, 100);
                int sid = (int)syn_rand_below(&m->rng, SESSIONS);
                if (sent < SESSIONS * REQUESTS && r < 50) {
                        /* A stalled connection is not read from; frames already read
                         * still arrive after a refusal paused reading. */
                        if (m->s[sid].next_xid >= REQUESTS || m->s[sid].stalled ||
                            (m->s[sid].held && syn_rand_below(&m->rng, 100) < 70))
                                continue;
                        send_one(m, sid, (int)syn_rand_below(&m->rng, 100) < write_percent);
                        sent++;
                } else if (r < 80) {
                        /* a batch of commits, like one group-committed fsync */
                        uint64_t n = syn_rand_below(&m->rng, 4);
                        for (uint64_t k = 0; k < n && m->applied < m->proposed; k++)
                                apply_one(m);
                } else if (m->s[sid].stalled || m->s[sid].held) {
                        pump(m, sid); /* output drained, or retry the refused write */
                }
        }
        assert_int_equal(m->replies, SESSIONS * REQUESTS);
        if (busy_percent > 0 || uncommitted_max < LOG_MAX)
                assert_true(m->refusals > 0); /* the refusals did happen */
        /* Writes did not wait for the reads ahead of them, and held-back reads did
         * run before a later write's apply (so the reply checks covered both). */
        assert_true(m->writes_past_reads > 0);
        if (write_percent >= 50 && uncommitted_max == LOG_MAX)
                assert_true(m->reads_before_apply > 0);
        for (int i = 0; i < SESSIONS; i++) {
                assert_int_equal(m->s[i].q.count, 0);
                assert_int_equal(m->s[i].q.bytes, 0);
                assert_int_equal(m->s[i].next_reply, REQUESTS);
        }
        free(m);
}

static void replies_in_order_and_reads_see_own_writes(void **state)
{
        (void)state;
        for (uint64_t seed = 1; seed <= 20; seed++) {
                run_model(seed, 10, LOG_MAX, 0);
                run_model(seed, 50, LOG_MAX, 0);
                run_model(seed, 90, LOG_MAX, 0);
        }
}

/* The same promises when Raft refuses proposals for a while (SYN_EBUSY): the
 * refused write keeps its place and later writes do not overtake it. */
static void busy_raft_keeps_order(void **state)
{
        (void)state;
        for (uint64_t seed = 1; seed <= 20; seed++) {
                run_model(seed, 50, 3, 0);
                run_model(seed, 90, 2, 20);
                run_model(seed, 30, 8, 40);
        }
}

static void busy_write_keeps_its_place(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1};
        struct pl_item w2 = {.kind = PL_WRITE, .xid = 2};
        struct pl_item r3 = {.kind = PL_READ, .xid = 3};
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        /* Raft said SYN_EBUSY: w1 stays queued, unproposed. */
        assert_int_equal(pl_submit(&q, &w2), PL_QUEUED); /* must not overtake w1 */
        assert_int_equal(pl_submit(&q, &r3), PL_QUEUED);
        assert_ptr_equal(pl_next(&q, true), &w1); /* the retry hands w1 back first */
        assert_ptr_equal(pl_next(&q, true), &w1); /* refused again: still w1 */
        pl_proposed(&q, &w1, 5);
        assert_ptr_equal(pl_next(&q, true), &w2);
        pl_proposed(&q, &w2, 6);
        assert_null(pl_next(&q, true)); /* r3 waits for both applies */
        assert_true(pl_write_applied(&q, &w1));
        assert_null(pl_next(&q, true));
        assert_true(pl_write_applied(&q, &w2));
        assert_ptr_equal(pl_next(&q, true), &r3);
        assert_int_equal(q.count, 0);
        assert_int_equal(q.writes, 0);
}

/* A write behind a read is proposed at once; the read still runs before the
 * write's entry is applied, even when its output was full. */
static void write_behind_read_is_proposed_at_once(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w = {.kind = PL_WRITE, .xid = 1};
        struct pl_item r = {.kind = PL_READ, .xid = 2};
        struct pl_item w2 = {.kind = PL_WRITE, .xid = 3};
        struct pl_item r0 = {.kind = PL_READ, .xid = 0};
        assert_int_equal(pl_submit(&q, &r0), PL_RUN_NOW); /* nothing ahead */
        assert_int_equal(pl_submit(&q, &w), PL_PROPOSE_NOW);
        pl_proposed(&q, &w, 7);
        assert_int_equal(pl_submit(&q, &r), PL_QUEUED);       /* behind a write: waits */
        assert_int_equal(pl_submit(&q, &w2), PL_PROPOSE_NOW); /* a read ahead does not hold it */
        pl_proposed(&q, &w2, 8);
        assert_int_equal(q.in_flight, 2);
        assert_null(pl_next(&q, true)); /* head is a proposed write */
        assert_true(pl_write_applied(&q, &w));
        assert_null(pl_next(&q, false)); /* output full: r held back */
        /* The head is a read, yet w2 is in the log: a leader change must still see it. */
        assert_int_equal(q.in_flight, 1);
        assert_ptr_equal(pl_pop_read(&q), &r); /* w2's entry is next: r runs first */
        assert_null(pl_pop_read(&q));          /* the head is w2 */
        assert_true(pl_write_applied(&q, &w2));
        assert_int_equal(q.in_flight, 0);
        assert_int_equal(q.count, 0);
        assert_int_equal(q.writes, 0);
        assert_int_equal(q.reads, 0);
        assert_int_equal(q.unproposed, 0);
}

/* Rule 2's bound: a write is proposed past at most overtake_reads_max queued reads. */
static void write_waits_behind_too_many_reads(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, 2);
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1};
        struct pl_item r[3] = {
            {.kind = PL_READ, .xid = 2}, {.kind = PL_READ, .xid = 3}, {.kind = PL_READ, .xid = 4}};
        struct pl_item w2 = {.kind = PL_WRITE, .xid = 5};
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        pl_proposed(&q, &w1, 1);
        for (int i = 0; i < 3; i++)
                assert_int_equal(pl_submit(&q, &r[i]), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &w2), PL_QUEUED); /* 3 reads ahead: too many */
        assert_null(pl_next(&q, true));
        assert_true(pl_write_applied(&q, &w1));
        assert_ptr_equal(pl_next(&q, true), &r[0]);
        /* Output full: r[1] is held, but 2 reads may be overtaken now. */
        assert_ptr_equal(pl_next(&q, false), &w2);
        pl_proposed(&q, &w2, 2);
        assert_ptr_equal(pl_pop_read(&q), &r[1]);
        assert_ptr_equal(pl_pop_read(&q), &r[2]);
        assert_true(pl_write_applied(&q, &w2));
        assert_int_equal(q.count, 0);
        /* The server's bound: a megabyte reply each fits 59 times between 4 and 64 MiB. */
        assert_int_equal(pl_overtake_reads_max(1048575), 59);
        assert_int_equal(pl_overtake_reads_max((size_t)1 << 40), 1);
}

/* An unproposed write behind a held-back read is handed out for proposal. */
static void held_back_read_does_not_hold_proposals(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1};
        struct pl_item r2 = {.kind = PL_READ, .xid = 2};
        struct pl_item w3 = {.kind = PL_WRITE, .xid = 3};
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        pl_proposed(&q, &w1, 1);
        assert_int_equal(pl_submit(&q, &r2), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &w3), PL_PROPOSE_NOW);
        /* Raft refused w3 for now: it stays unproposed. */
        assert_true(pl_write_applied(&q, &w1));
        assert_ptr_equal(pl_next(&q, false), &w3); /* r2 held back, w3 retried past it */
        pl_proposed(&q, &w3, 2);
        assert_null(pl_next(&q, false));
        assert_ptr_equal(pl_next(&q, true), &r2);
        assert_true(pl_write_applied(&q, &w3));
        assert_int_equal(q.count, 0);
}

static void failed_write_is_answered_in_order(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w = {.kind = PL_WRITE, .xid = 1};
        struct pl_item r = {.kind = PL_READ, .xid = 2};
        assert_int_equal(pl_submit(&q, &w), PL_PROPOSE_NOW);
        pl_write_failed(&q, &w); /* not proposed: becomes an answer in place */
        assert_int_equal(pl_submit(&q, &r), PL_QUEUED);
        assert_ptr_equal(pl_next(&q, true), &w);
        assert_ptr_equal(pl_next(&q, true), &r);
        assert_int_equal(q.count, 0);
}

/* A write applied while an earlier one of its session is still queued (lost with a
 * leader): refused, nothing popped, so the caller can close the connection. */
static void write_applied_out_of_order_is_refused(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1};
        struct pl_item w2 = {.kind = PL_WRITE, .xid = 2};
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        pl_proposed(&q, &w1, 0);
        assert_int_equal(pl_submit(&q, &w2), PL_PROPOSE_NOW);
        pl_proposed(&q, &w2, 0);
        assert_false(pl_write_applied(&q, &w2));
        assert_int_equal(q.count, 2);
        assert_true(pl_write_applied(&q, &w1));
        assert_true(pl_write_applied(&q, &w2));
        assert_int_equal(q.count, 0);
}

/* A sync is a barrier: its round starts when it arrives (unless an unproposed write is
 * ahead), it completes only at the head, and nothing behind it runs, nor is any write
 * behind it proposed, until it has completed. */
static void sync_is_a_barrier(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1};
        struct pl_item s2 = {.kind = PL_WRITE, .barrier = true, .xid = 2};
        struct pl_item r3 = {.kind = PL_READ, .xid = 3};
        struct pl_item w4 = {.kind = PL_WRITE, .xid = 4};
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        pl_proposed(&q, &w1, 1);
        assert_int_equal(pl_submit(&q, &s2), PL_PROPOSE_NOW); /* behind a proposed write */
        pl_proposed(&q, &s2, 0);
        assert_int_equal(q.in_flight, 1); /* a sync in progress is no write in the log */
        assert_int_equal(pl_submit(&q, &r3), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &w4), PL_QUEUED); /* behind a barrier */
        assert_null(pl_next(&q, true));
        pl_barrier_ready(&q, &s2);      /* its round ended before w1 was applied */
        assert_null(pl_next(&q, true)); /* it completes at the head only */
        assert_true(pl_write_applied(&q, &w1));
        assert_ptr_equal(pl_next(&q, false), NULL); /* completing it writes a reply */
        assert_ptr_equal(pl_next(&q, true), &s2);
        assert_true(pl_write_applied(&q, &s2));
        assert_ptr_equal(pl_next(&q, true), &r3);
        assert_ptr_equal(pl_next(&q, true), &w4);
        pl_proposed(&q, &w4, 2);
        struct pl_item s5 = {.kind = PL_WRITE, .barrier = true, .xid = 5};
        struct pl_item w6 = {.kind = PL_WRITE, .xid = 6};
        assert_int_equal(pl_submit(&q, &s5), PL_PROPOSE_NOW);
        pl_proposed(&q, &s5, 0);
        assert_int_equal(pl_submit(&q, &w6), PL_QUEUED); /* behind a barrier */
        assert_null(pl_next(&q, true));
        assert_true(pl_write_applied(&q, &w4));
        assert_null(pl_next(&q, true));         /* s5's round is not over: w6 still waits */
        assert_true(pl_write_applied(&q, &s5)); /* at the head when its round ended */
        assert_ptr_equal(pl_next(&q, true), &w6);
}

/* Barriers of one connection run their rounds side by side; a write held behind them
 * keeps the barriers after it waiting too (proposals keep queue order). */
static void barriers_share_rounds(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item s1 = {.kind = PL_WRITE, .barrier = true, .xid = 1};
        struct pl_item r2 = {.kind = PL_READ, .xid = 2};
        struct pl_item s3 = {.kind = PL_WRITE, .barrier = true, .xid = 3};
        struct pl_item w4 = {.kind = PL_WRITE, .xid = 4};
        struct pl_item s5 = {.kind = PL_WRITE, .barrier = true, .xid = 5};
        assert_int_equal(pl_submit(&q, &s1), PL_PROPOSE_NOW);
        pl_proposed(&q, &s1, 0);
        assert_int_equal(pl_submit(&q, &r2), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &s3), PL_PROPOSE_NOW); /* behind s1, started too */
        pl_proposed(&q, &s3, 0);
        assert_int_equal(pl_submit(&q, &w4), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &s5), PL_QUEUED); /* behind the held write */
        assert_int_equal(q.barriers_proposed, 2);
        pl_barrier_ready(&q, &s3); /* the later round ended first */
        assert_null(pl_next(&q, true));
        assert_true(pl_write_applied(&q, &s1));
        assert_ptr_equal(pl_next(&q, true), &r2);
        assert_ptr_equal(pl_next(&q, true), &s3); /* ready, now at the head */
        assert_true(pl_write_applied(&q, &s3));
        assert_ptr_equal(pl_next(&q, true), &w4);
        pl_proposed(&q, &w4, 7);
        assert_ptr_equal(pl_next(&q, true), &s5); /* after the write it followed */
        pl_proposed(&q, &s5, 0);
        assert_null(pl_next(&q, true));
        assert_true(pl_write_applied(&q, &w4));
        assert_true(pl_write_applied(&q, &s5));
        assert_int_equal(q.count, 0);
        assert_int_equal(q.barriers_proposed, 0);
        assert_int_equal(q.unproposed, 0);
}

/* queue.bytes: the sum of the queued items' bytes, whichever way they leave. */
static void queued_bytes_are_accounted(void **state)
{
        (void)state;
        struct pl_queue q;
        pl_queue_init(&q, OVERTAKE_ANY);
        struct pl_item r0 = {.kind = PL_READ, .xid = 0, .bytes = 1000};
        struct pl_item w1 = {.kind = PL_WRITE, .xid = 1, .bytes = 300};
        struct pl_item r2 = {.kind = PL_READ, .xid = 2, .bytes = 50};
        struct pl_item w3 = {.kind = PL_WRITE, .xid = 3, .bytes = 7};
        struct pl_item w4 = {.kind = PL_WRITE, .xid = 4, .bytes = 11};
        assert_int_equal(pl_submit(&q, &r0), PL_RUN_NOW);
        assert_int_equal(q.bytes, 0); /* run at once: never queued */
        assert_int_equal(pl_submit(&q, &w1), PL_PROPOSE_NOW);
        pl_proposed(&q, &w1, 1);
        assert_int_equal(pl_submit(&q, &r2), PL_QUEUED);
        assert_int_equal(pl_submit(&q, &w3), PL_PROPOSE_NOW); /* not held by r2 */
        assert_int_equal(pl_submit(&q, &w4), PL_QUEUED);      /* w3 not proposed yet */
        assert_int_equal(q.bytes, 300 + 50 + 7 + 11);
        assert_true(pl_write_applied(&q, &w1));
        assert_int_equal(q.bytes, 50 + 7 + 11);
        assert_ptr_equal(pl_next(&q, true), &r2);
        assert_int_equal(q.bytes, 7 + 11);
        assert_ptr_equal(pl_next(&q, true), &w3);
        pl_proposed(&q, &w3, 2);
        assert_ptr_equal(pl_next(&q, true), &w4);
        pl_write_failed(&q, &w4); /* becomes an answer in place: still queued */
        assert_int_equal(q.bytes, 7 + 11);
        assert_ptr_equal(pl_pop_any(&q), &w3); /* the connection closed */
        assert_int_equal(q.bytes, 11);
        assert_ptr_equal(pl_pop_any(&q), &w4);
        assert_int_equal(q.bytes, 0);
        assert_int_equal(q.count, 0);
}

static void digest_matches_zookeeper(void **state)
{
        (void)state;
        char id[SRV_DIGEST_ID_BYTES];
        const char *auth = "super:test";
        assert_int_equal(srv_digest_identity((const uint8_t *)auth, strlen(auth), id, sizeof id),
                         0);
        assert_string_equal(id, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        const char *bob = "bob:secret";
        assert_int_equal(srv_digest_identity((const uint8_t *)bob, strlen(bob), id, sizeof id), 0);
        assert_string_equal(id, "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");
        /* No colon: all of it is the user name, hashed whole (ZooKeeper's generateDigest). */
        assert_int_equal(srv_digest_identity((const uint8_t *)"nocolon", 7, id, sizeof id), 0);
        assert_string_equal(id, "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g=");
        assert_int_equal(srv_digest_identity((const uint8_t *)auth, strlen(auth), id, 10),
                         SYN_ETOOBIG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(replies_in_order_and_reads_see_own_writes),
            cmocka_unit_test(busy_raft_keeps_order),
            cmocka_unit_test(busy_write_keeps_its_place),
            cmocka_unit_test(queued_bytes_are_accounted),
            cmocka_unit_test(write_behind_read_is_proposed_at_once),
            cmocka_unit_test(held_back_read_does_not_hold_proposals),
            cmocka_unit_test(write_waits_behind_too_many_reads),
            cmocka_unit_test(failed_write_is_answered_in_order),
            cmocka_unit_test(write_applied_out_of_order_is_refused),
            cmocka_unit_test(sync_is_a_barrier),
            cmocka_unit_test(barriers_share_rounds),
            cmocka_unit_test(digest_matches_zookeeper),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
