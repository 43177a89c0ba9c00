/* The host order (replica.h). */
#include "replica/replica.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"

/* First capacity of a queue; it doubles when full, so a steady load allocates
 * nothing per update. */
#define REPLICA_FIFO_CAP_MIN 64

/* Queue items begin with their ticket (0 until the flush that carries them), so
 * one FIFO serves both kinds. */
struct ticketed_mark {
        uint64_t ticket;
        struct raft_persist_mark mark;
};

struct ticketed_held {
        uint64_t ticket;
        void *held;
};

/* ---- a FIFO of ticketed items ---- */

static void fifo_init(struct replica_fifo *f, size_t item_bytes)
{
        memset(f, 0, sizeof(*f));
        f->item_bytes = item_bytes;
}

static void *fifo_at(const struct replica_fifo *f, size_t i)
{
        return f->items + ((f->head + i) % f->cap) * f->item_bytes;
}

static int fifo_grow(struct replica_fifo *f)
{
        size_t cap = f->cap ? f->cap * 2 : REPLICA_FIFO_CAP_MIN;
        uint8_t *items = malloc(cap * f->item_bytes);
        if (items == NULL)
                return SYN_ENOMEM;
        for (size_t i = 0; i < f->count; i++)
                memcpy(items + i * f->item_bytes, fifo_at(f, i), f->item_bytes);
        free(f->items);
        f->items = items;
        f->cap = cap;
        f->head = 0;
        return SYN_OK;
}

/* Appends a copy of item, unticketed. SYN_OK or SYN_ENOMEM. */
static int fifo_push(struct replica_fifo *f, const void *item)
{
        if (f->count == f->cap && fifo_grow(f) != SYN_OK)
                return SYN_ENOMEM;
        memcpy(fifo_at(f, f->count), item, f->item_bytes);
        f->count++;
        f->unticketed++;
        return SYN_OK;
}

/* The oldest item if it is ticketed with a ticket <= done, else NULL. */
static void *fifo_front_done(const struct replica_fifo *f, uint64_t done)
{
        if (f->count == f->unticketed)
                return NULL;
        void *item = fifo_at(f, 0);
        uint64_t ticket;
        memcpy(&ticket, item, sizeof(ticket));
        return ticket <= done ? item : NULL;
}

static void fifo_pop(struct replica_fifo *f)
{
        SYN_ASSERT(f->count > f->unticketed);
        f->head = (f->head + 1) % f->cap;
        f->count--;
}

static void fifo_ticket(struct replica_fifo *f, uint64_t ticket)
{
        for (size_t i = f->count - f->unticketed; i < f->count; i++)
                memcpy(fifo_at(f, i), &ticket, sizeof(ticket));
        f->unticketed = 0;
}

static void fifo_close(struct replica_fifo *f)
{
        free(f->items);
        memset(f, 0, sizeof(*f));
}

/* ---- life cycle ---- */

void replica_init(struct replica *r, struct raft *core, struct sm *sm,
                  const struct replica_ops *ops, void *ctx)
{
        SYN_ASSERT(ops->failed != NULL);
        memset(r, 0, sizeof(*r));
        r->core = core;
        r->sm = sm;
        r->ops = ops;
        r->ctx = ctx;
        fifo_init(&r->marks, sizeof(struct ticketed_mark));
        fifo_init(&r->held, sizeof(struct ticketed_held));
}

void replica_close(struct replica *r)
{
        /* Bounded by the messages held, each released once. */
        while (r->held.count > 0) {
                struct ticketed_held *h = fifo_at(&r->held, 0);
                r->held.head = (r->held.head + 1) % r->held.cap;
                r->held.count--;
                r->ops->release(r->ctx, h->held, false);
        }
        fifo_close(&r->held);
        fifo_close(&r->marks);
}

void replica_fail(struct replica *r)
{
        r->failed = true;
}

/* ---- the order ---- */

static void persist_update(struct replica *r, const struct raft_update *u)
{
        if (r->ops->persist(r->ctx, u) != SYN_OK) {
                r->failed = true;
                return;
        }
        if (u->persist_mark.index == 0)
                return;
        struct ticketed_mark m = {.ticket = 0, .mark = u->persist_mark};
        int rc = fifo_push(&r->marks, &m);
        if (rc != SYN_OK) {
                r->failed = true;
                r->ops->failed(r->ctx, rc, "keeping a persist mark");
        }
}

static void send_messages(struct replica *r, const struct raft_update *u)
{
        for (size_t i = 0; i < u->n_msgs; i++)
                r->ops->send(r->ctx, &u->msgs[i]);
        for (size_t i = 0; i < u->n_msgs_after_persist; i++) {
                struct ticketed_held h = {.ticket = 0,
                                          .held = r->ops->hold(r->ctx, &u->msgs_after_persist[i])};
                if (h.held != NULL && fifo_push(&r->held, &h) != SYN_OK)
                        r->ops->release(r->ctx, h.held, false); /* dropped: Raft retries */
        }
}

static void apply_committed(struct replica *r, const struct raft_update *u)
{
        for (size_t i = 0; i < u->n_committed && !r->failed; i++) {
                const struct raft_entry *e = &u->committed[i];
                struct raft_entry scratch;
                const struct raft_entry *a = e;
                if (r->ops->will_apply != NULL)
                        a = r->ops->will_apply(r->ctx, e, &scratch);
                if (a == NULL || !r->ops->applied(r->ctx, e, sm_apply(r->sm, a)))
                        r->failed = true;
        }
}

int replica_step(struct replica *r, const struct raft_event *ev)
{
        SYN_ASSERT(!r->obeying); /* an update is borrowed until the next step */
        if (r->failed)
                return SYN_ECLOSED; /* nothing more reaches storage or the tree */
        struct raft_update u;
        int rc = raft_step(r->core, ev, &u);
        r->proposal_index = u.proposal_index;
        r->proposal_term = u.proposal_term;
        r->obeying = true;
        persist_update(r, &u);
        if (!r->failed) {
                send_messages(r, &u);
                apply_committed(r, &u);
        }
        if (!r->failed) {
                if (u.snapshot_chunk != NULL)
                        r->ops->snapshot_chunk(r->ctx, u.snapshot_chunk);
                r->ops->read_states(r->ctx, u.read_states, u.n_read_states);
        }
        r->ops->observe(r->ctx, &u);
        r->obeying = false;
        /* From here the core may be stepped again; u is then no longer valid. */
        struct raft_snapshot_meta install;
        bool installing = u.snapshot_install != NULL && !r->failed;
        if (installing)
                install = *u.snapshot_install;
        if (r->ops->settled != NULL)
                r->ops->settled(r->ctx, &u);
        if (installing && !r->failed)
                r->ops->snapshot_install(r->ctx, &install);
        return rc;
}

/* ---- durability ---- */

void replica_flushed(struct replica *r, uint64_t ticket)
{
        SYN_ASSERT(ticket >= r->last_ticket);
        r->last_ticket = ticket;
        fifo_ticket(&r->marks, ticket);
        fifo_ticket(&r->held, ticket);
}

void replica_durable(struct replica *r, uint64_t done_ticket)
{
        if (done_ticket > r->done_ticket)
                r->done_ticket = done_ticket;
        /* Messages first: what they promise is durable now. Bounded by the queue;
         * releasing does not step the core. */
        struct ticketed_held *h;
        while ((h = fifo_front_done(&r->held, r->done_ticket)) != NULL) {
                void *held = h->held;
                fifo_pop(&r->held);
                r->ops->release(r->ctx, held, true);
        }
        /* Each step may queue marks, but unticketed ones: bounded by the marks
         * ticketed when this began. */
        struct ticketed_mark *m;
        while (!r->failed && (m = fifo_front_done(&r->marks, r->done_ticket)) != NULL) {
                struct raft_event ev = {.type = RAFT_EV_PERSISTED, .persisted = m->mark};
                fifo_pop(&r->marks);
                replica_step(r, &ev);
        }
}

bool replica_flush_wanted(const struct replica *r)
{
        return r->marks.unticketed > 0 || r->held.unticketed > 0;
}
