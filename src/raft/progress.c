/*
 * The leader's view of one member (etcd's tracker/progress.go, inflights.go).
 *
 * PROBE: the leader does not know where the follower's log matches; it sends
 * one append at a time and waits for its answer (or a heartbeat answer) before
 * trying again. REPLICATE: the logs match up to `match`; the leader pipelines
 * appends optimistically, bounded by the in-flight ring (count and bytes).
 * SNAPSHOT: the follower needs a snapshot; appends stop until it is installed.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

int progress_init(struct progress *p, uint64_t id, uint64_t next, size_t inflight_cap)
{
        SYN_ASSERT(next >= 1);
        SYN_ASSERT(inflight_cap >= 1);
        memset(p, 0, sizeof(*p));
        p->id = id;
        p->next = next;
        p->state = PROGRESS_PROBE;
        p->inflight.cap = inflight_cap;
        p->inflight.last = calloc(inflight_cap, sizeof(uint64_t));
        p->inflight.bytes = calloc(inflight_cap, sizeof(uint64_t));
        if (p->inflight.last == NULL || p->inflight.bytes == NULL) {
                progress_close(p);
                return SYN_ENOMEM;
        }
        return SYN_OK;
}

void progress_close(struct progress *p)
{
        free(p->inflight.last);
        free(p->inflight.bytes);
        p->inflight.last = NULL;
        p->inflight.bytes = NULL;
}

void progress_become_probe(struct progress *p)
{
        /* After a snapshot the follower holds at least the snapshot. */
        if (p->state == PROGRESS_SNAPSHOT && p->match < p->snap_index) {
                p->next = p->snap_index + 1;
        } else {
                p->next = p->match + 1;
        }
        p->state = PROGRESS_PROBE;
        p->probe_sent = false;
        p->snap_index = 0;
        p->snap_offset = 0;
        inflights_reset(&p->inflight);
}

void progress_become_replicate(struct progress *p)
{
        p->state = PROGRESS_REPLICATE;
        p->next = p->match + 1;
        p->probe_sent = false;
        p->snap_index = 0;
        p->snap_offset = 0;
        inflights_reset(&p->inflight);
}

bool inflights_full(const struct inflights *f, uint64_t max_bytes)
{
        return f->count == f->cap || f->total_bytes >= max_bytes;
}

void inflights_add(struct inflights *f, uint64_t last, uint64_t bytes)
{
        SYN_ASSERT(f->count < f->cap);
        if (f->count > 0) {
                size_t prev = (f->start + f->count - 1) % f->cap;
                SYN_ASSERT(f->last[prev] < last);
        }
        size_t slot = (f->start + f->count) % f->cap;
        f->last[slot] = last;
        f->bytes[slot] = bytes;
        f->count++;
        f->total_bytes += bytes;
}

void inflights_free_to(struct inflights *f, uint64_t index)
{
        while (f->count > 0 && f->last[f->start] <= index) {
                f->total_bytes -= f->bytes[f->start];
                f->start = (f->start + 1) % f->cap;
                f->count--;
        }
}

void inflights_reset(struct inflights *f)
{
        f->start = 0;
        f->count = 0;
        f->total_bytes = 0;
}
