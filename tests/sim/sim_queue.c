/*
 * The simulator's event queue: a binary min-heap ordered by simulated time,
 * then slot (node index; the driver comes after every node), then event kind
 * (tick before disk before delivery before driver), then insertion order.
 * The last key makes the order total, so equal times never depend on heap
 * layout and a seed replays exactly.
 */
#include <stdlib.h>

#include "base/assert.h"
#include "base/err.h"
#include "sim.h"

void sim_queue_init(struct sim_queue *q)
{
        q->heap = NULL;
        q->n = 0;
        q->cap = 0;
        q->seq_next = 0;
}

void sim_queue_close(struct sim_queue *q)
{
        for (size_t i = 0; i < q->n; i++)
                sim_packet_free(q->heap[i].packet);
        free(q->heap);
        q->heap = NULL;
        q->n = 0;
        q->cap = 0;
}

static bool sim_event_before(const struct sim_event *a, const struct sim_event *b)
{
        if (a->time_us != b->time_us)
                return a->time_us < b->time_us;
        if (a->slot != b->slot)
                return a->slot < b->slot;
        if (a->kind != b->kind)
                return a->kind < b->kind;
        SYN_ASSERT(a->seq != b->seq);
        return a->seq < b->seq;
}

int sim_queue_push(struct sim_queue *q, struct sim_event ev)
{
        if (q->n == q->cap) {
                if (q->cap >= SIM_QUEUE_EVENTS_MAX)
                        return SYN_ELIMIT;
                size_t cap = q->cap ? q->cap * 2 : 1024;
                struct sim_event *h = realloc(q->heap, cap * sizeof(*h));
                SYN_ASSERT(h != NULL);
                q->heap = h;
                q->cap = cap;
        }
        ev.seq = q->seq_next++;
        size_t i = q->n++;
        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (!sim_event_before(&ev, &q->heap[parent]))
                        break;
                q->heap[i] = q->heap[parent];
                i = parent;
        }
        q->heap[i] = ev;
        return SYN_OK;
}

bool sim_queue_pop(struct sim_queue *q, struct sim_event *ev)
{
        if (q->n == 0)
                return false;
        *ev = q->heap[0];
        struct sim_event last = q->heap[--q->n];
        size_t i = 0;
        for (;;) {
                size_t child = 2 * i + 1;
                if (child >= q->n)
                        break;
                if (child + 1 < q->n && sim_event_before(&q->heap[child + 1], &q->heap[child]))
                        child++;
                if (!sim_event_before(&q->heap[child], &last))
                        break;
                q->heap[i] = q->heap[child];
                i = child;
        }
        if (q->n > 0)
                q->heap[i] = last;
        return true;
}
