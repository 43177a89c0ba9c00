/* The per-session FIFO of the request pipeline: see pipeline.h for the rules. */
#include "server/pipeline.h"

#include "base/assert.h"
#include "base/limits.h"

/* A reply's bytes besides its body: the length prefix, then xid, zxid and err. */
enum { REPLY_OVERHEAD_BYTES = 4 + 16 };

uint32_t pl_overtake_reads_max(size_t reply_bytes_max)
{
        size_t room = NET_CONN_OUTPUT_BYTES_HARD_MAX - NET_CONN_OUTPUT_BYTES_SOFT_MAX;
        size_t n = room / (REPLY_OVERHEAD_BYTES + reply_bytes_max);
        return n == 0 ? 1 : n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

void pl_queue_init(struct pl_queue *q, uint32_t overtake_reads_max)
{
        q->head = q->tail = NULL;
        q->count = q->writes = q->reads = 0;
        q->unproposed = q->barriers = q->barriers_proposed = q->in_flight = 0;
        q->bytes = 0;
        q->proposed_scan = NULL;
        q->overtake_reads_max = overtake_reads_max;
}

static void append(struct pl_queue *q, struct pl_item *item)
{
        item->next = NULL;
        if (q->tail)
                q->tail->next = item;
        else
                q->head = item;
        q->tail = item;
        q->count++;
        q->bytes += item->bytes;
        if (item->kind == PL_WRITE) {
                q->writes++;
                q->unproposed++; /* appended unproposed (pl_submit) */
        } else {
                q->reads++;
        }
        if (item->barrier)
                q->barriers++;
}

static struct pl_item *pop(struct pl_queue *q)
{
        struct pl_item *item = q->head;
        if (item == NULL)
                return NULL;
        q->head = item->next;
        if (q->head == NULL)
                q->tail = NULL;
        if (q->proposed_scan == item)
                q->proposed_scan = NULL;
        SYN_ASSERT(q->count > 0);
        q->count--;
        SYN_ASSERT(q->bytes >= item->bytes);
        q->bytes -= item->bytes;
        if (item->kind == PL_WRITE) {
                SYN_ASSERT(q->writes > 0);
                q->writes--;
                if (!item->proposed) {
                        SYN_ASSERT(q->unproposed > 0);
                        q->unproposed--;
                } else if (item->barrier) {
                        SYN_ASSERT(q->barriers_proposed > 0);
                        q->barriers_proposed--;
                } else {
                        SYN_ASSERT(q->in_flight > 0);
                        q->in_flight--;
                }
        } else {
                SYN_ASSERT(q->reads > 0);
                q->reads--;
        }
        if (item->barrier) {
                SYN_ASSERT(q->barriers > 0);
                q->barriers--;
        }
        item->next = NULL;
        return item;
}

enum pl_action pl_submit(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->kind == PL_READ || item->kind == PL_WRITE);
        item->proposed = false;
        item->ready = false;
        if (item->barrier) {
                SYN_ASSERT(item->kind == PL_WRITE);
                bool held = q->unproposed > 0; /* proposals keep queue order */
                append(q, item);
                return held ? PL_QUEUED : PL_PROPOSE_NOW;
        }
        if (item->kind == PL_READ) {
                if (q->head == NULL)
                        return PL_RUN_NOW;
                append(q, item);
                return PL_QUEUED;
        }
        /* Proposals keep queue order: a write waits behind an unproposed write (one
         * Raft refused for now: pl_next hands it back first) and behind a barrier;
         * reads ahead of it run before its entry is applied (pl_pop_read). */
        bool held = q->unproposed > 0 || q->barriers > 0 || q->reads > q->overtake_reads_max;
        append(q, item);
        return held ? PL_QUEUED : PL_PROPOSE_NOW;
}

void pl_proposed(struct pl_queue *q, struct pl_item *item, uint64_t index)
{
        SYN_ASSERT(item->kind == PL_WRITE);
        SYN_ASSERT(!item->proposed);
        SYN_ASSERT(q->unproposed > 0);
        item->proposed = true;
        item->index = index;
        q->unproposed--;
        if (item->barrier)
                q->barriers_proposed++;
        else
                q->in_flight++;
}

void pl_barrier_ready(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->barrier && item->proposed && q->head != item);
        item->ready = true;
}

struct pl_item *pl_pop_read(struct pl_queue *q)
{
        return q->head != NULL && q->head->kind == PL_READ ? pop(q) : NULL;
}

bool pl_write_applied(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->kind == PL_WRITE);
        SYN_ASSERT(item->proposed);
        if (q->head != item)
                return false;
        pop(q);
        return true;
}

struct pl_item *pl_next(struct pl_queue *q, bool may_run_reads)
{
        struct pl_item *head = q->head;
        if (head == NULL)
                return NULL;
        if (head->kind == PL_READ && may_run_reads)
                return pop(q);
        if (head->kind == PL_WRITE && !head->proposed)
                return head;
        if (head->barrier && head->ready)
                return may_run_reads ? head : NULL;
        if (q->unproposed == 0)
                return NULL;
        /* The first unproposed item. Reads and proposed items stay what they are
         * until popped, so the scan resumes where the last one stopped: without
         * that, every apply of a long run of writes rescans the run. */
        struct pl_item *last = q->proposed_scan != NULL ? q->proposed_scan : head;
        struct pl_item *it = last->next;
        /* Bounded by the queue; it ends at an unproposed item (unproposed > 0). */
        while (it->kind == PL_READ || it->proposed) {
                SYN_ASSERT(it->next != NULL);
                last = it;
                it = it->next;
        }
        q->proposed_scan = last;
        if (it->barrier)
                return it;
        /* A write waits for the barriers ahead of it (all proposed, as everything
         * ahead is) and for the reads it may not overtake (rule 2). */
        return q->barriers_proposed > 0 || q->reads > q->overtake_reads_max ? NULL : it;
}

void pl_write_failed(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->kind == PL_WRITE);
        SYN_ASSERT(!item->proposed);
        item->kind = PL_READ;
        SYN_ASSERT(q->writes > 0 && q->unproposed > 0);
        q->writes--;
        q->unproposed--;
        q->reads++;
        if (item->barrier) {
                SYN_ASSERT(q->barriers > 0);
                q->barriers--;
                item->barrier = false;
        }
}

struct pl_item *pl_pop_any(struct pl_queue *q)
{
        return pop(q);
}
