/* The per-session FIFO of the request pipeline: see pipeline.h for the rules. */
#include "server/pipeline.h"

#include "base/assert.h"

void pl_queue_init(struct pl_queue *q)
{
        q->head = q->tail = NULL;
        q->count = q->writes = q->reads = 0;
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
        if (item->kind == PL_WRITE)
                q->writes++;
        else
                q->reads++;
}

static struct pl_item *pop(struct pl_queue *q)
{
        struct pl_item *item = q->head;
        if (item == NULL)
                return NULL;
        q->head = item->next;
        if (q->head == NULL)
                q->tail = NULL;
        SYN_ASSERT(q->count > 0);
        q->count--;
        if (item->kind == PL_WRITE) {
                SYN_ASSERT(q->writes > 0);
                q->writes--;
        } else {
                SYN_ASSERT(q->reads > 0);
                q->reads--;
        }
        item->next = NULL;
        return item;
}

enum pl_action pl_submit(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->kind == PL_READ || item->kind == PL_WRITE);
        item->proposed = false;
        if (item->kind == PL_READ) {
                if (q->head == NULL)
                        return PL_RUN_NOW;
                append(q, item);
                return PL_QUEUED;
        }
        bool read_ahead = q->reads > 0;
        append(q, item);
        return read_ahead ? PL_QUEUED : PL_PROPOSE_NOW;
}

void pl_proposed(struct pl_item *item, uint64_t index)
{
        SYN_ASSERT(item->kind == PL_WRITE);
        SYN_ASSERT(!item->proposed);
        item->proposed = true;
        item->index = index;
}

struct pl_item *pl_write_applied(struct pl_queue *q, uint64_t index)
{
        SYN_ASSERT(q->head != NULL);
        SYN_ASSERT(q->head->kind == PL_WRITE);
        SYN_ASSERT(q->head->proposed);
        SYN_ASSERT(q->head->index == index);
        return pop(q);
}

struct pl_item *pl_next(struct pl_queue *q, bool may_run_reads)
{
        struct pl_item *head = q->head;
        if (head == NULL)
                return NULL;
        if (head->kind == PL_READ)
                return may_run_reads ? pop(q) : NULL;
        if (!head->proposed)
                return head;
        /* Writes proposed back to back: the first unproposed one after them, unless a
         * read comes first (then everything waits for the applies). */
        for (struct pl_item *it = head->next; it != NULL; it = it->next) {
                if (it->kind == PL_READ)
                        return NULL;
                if (!it->proposed)
                        return it;
        }
        return NULL;
}

void pl_write_failed(struct pl_queue *q, struct pl_item *item)
{
        SYN_ASSERT(item->kind == PL_WRITE);
        SYN_ASSERT(!item->proposed);
        item->kind = PL_READ;
        SYN_ASSERT(q->writes > 0);
        q->writes--;
        q->reads++;
}

struct pl_item *pl_pop_any(struct pl_queue *q)
{
        return pop(q);
}

struct pl_item *pl_remove_unproposed(struct pl_queue *q)
{
        struct pl_item *removed = NULL, **tail = &removed;
        struct pl_queue keep;
        pl_queue_init(&keep);
        struct pl_item *item;
        /* Bounded by the queue length. */
        while ((item = pop(q)) != NULL) {
                if (item->kind == PL_WRITE && item->proposed) {
                        append(&keep, item);
                } else {
                        *tail = item;
                        tail = &item->next;
                }
        }
        *q = keep;
        return removed;
}
