/*
 * The leader's session expiry queue (ZooKeeper's ExpiryQueue, ClickHouse
 * Keeper's SessionExpiryQueue), as a min-heap instead of a map of buckets.
 *
 * Deadlines are rounded up to a multiple of interval_ms, like ZooKeeper's tick
 * buckets: a session touched many times within one interval keeps the same
 * deadline and the touch returns early without moving anything. The heap is
 * ordered by (deadline, id), so sessions expire in a deterministic order. An
 * id -> heap index hash (open addressing, backward-shift delete, key 0 =
 * empty) lets touch/remove find a session's heap entry in O(1).
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/hash.h"
#include "session/session.h"

#define SESS_EXPIRY_CAP_MIN 16

int sess_expiry_init(struct sess_expiry *q, const struct sess_expiry_options *opt)
{
        memset(q, 0, sizeof(*q));
        if (opt->interval_ms <= 0)
                return SYN_EINVAL;
        q->interval_ms = opt->interval_ms;
        q->capacity_max = opt->capacity_max ? opt->capacity_max : SESSION_COUNT_MAX;
        return SYN_OK;
}

void sess_expiry_close(struct sess_expiry *q)
{
        free(q->heap);
        free(q->pos_keys);
        free(q->pos_vals);
        memset(q, 0, sizeof(*q));
}

/* Slot of id in the position hash, or the empty slot where it would go. */
static uint32_t pos_find(const struct sess_expiry *q, uint64_t id)
{
        uint32_t mask = q->pos_cap - 1;
        uint32_t i = (uint32_t)(syn_mix64(id) & mask);
        while (q->pos_keys[i] != 0 && q->pos_keys[i] != id)
                i = (i + 1) & mask;
        return i;
}

static int pos_grow(struct sess_expiry *q)
{
        uint32_t cap = q->pos_cap ? q->pos_cap * 2 : SESS_EXPIRY_CAP_MIN;
        uint64_t *keys = calloc(cap, sizeof(*keys));
        uint32_t *vals = calloc(cap, sizeof(*vals));
        if (keys == NULL || vals == NULL) {
                free(keys);
                free(vals);
                return SYN_ENOMEM;
        }
        uint64_t *old_keys = q->pos_keys;
        uint32_t *old_vals = q->pos_vals;
        uint32_t old_cap = q->pos_cap;
        q->pos_keys = keys;
        q->pos_vals = vals;
        q->pos_cap = cap;
        for (uint32_t i = 0; i < old_cap; i++) {
                if (old_keys[i] == 0)
                        continue;
                uint32_t s = pos_find(q, old_keys[i]);
                q->pos_keys[s] = old_keys[i];
                q->pos_vals[s] = old_vals[i];
        }
        free(old_keys);
        free(old_vals);
        return SYN_OK;
}

static void pos_delete(struct sess_expiry *q, uint32_t i)
{
        uint32_t mask = q->pos_cap - 1;
        q->pos_keys[i] = 0;
        q->pos_count--;
        for (uint32_t j = (i + 1) & mask; q->pos_keys[j] != 0; j = (j + 1) & mask) {
                uint32_t home = (uint32_t)(syn_mix64(q->pos_keys[j]) & mask);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        q->pos_keys[i] = q->pos_keys[j];
                        q->pos_vals[i] = q->pos_vals[j];
                        q->pos_keys[j] = 0;
                        i = j;
                }
        }
}

static bool entry_less(const struct sess_expiry_entry *a, const struct sess_expiry_entry *b)
{
        if (a->deadline_ms != b->deadline_ms)
                return a->deadline_ms < b->deadline_ms;
        return a->id < b->id;
}

static void heap_set(struct sess_expiry *q, uint32_t at, struct sess_expiry_entry e)
{
        q->heap[at] = e;
        uint32_t s = pos_find(q, e.id);
        SYN_ASSERT(q->pos_keys[s] == e.id);
        q->pos_vals[s] = at;
}

static void heap_up(struct sess_expiry *q, uint32_t at)
{
        struct sess_expiry_entry e = q->heap[at];
        while (at > 0) {
                uint32_t parent = (at - 1) / 2;
                if (!entry_less(&e, &q->heap[parent]))
                        break;
                heap_set(q, at, q->heap[parent]);
                at = parent;
        }
        heap_set(q, at, e);
}

static void heap_down(struct sess_expiry *q, uint32_t at)
{
        struct sess_expiry_entry e = q->heap[at];
        for (;;) {
                uint32_t child = 2 * at + 1;
                if (child >= q->count)
                        break;
                if (child + 1 < q->count && entry_less(&q->heap[child + 1], &q->heap[child]))
                        child++;
                if (!entry_less(&q->heap[child], &e))
                        break;
                heap_set(q, at, q->heap[child]);
                at = child;
        }
        heap_set(q, at, e);
}

/* Removes the heap entry at `at` (its id must already be gone from the hash). */
static void heap_remove_at(struct sess_expiry *q, uint32_t at)
{
        q->count--;
        if (at == q->count)
                return;
        struct sess_expiry_entry last = q->heap[q->count];
        q->heap[at] = last;
        uint32_t s = pos_find(q, last.id);
        q->pos_vals[s] = at;
        heap_up(q, at);
        s = pos_find(q, last.id);
        heap_down(q, q->pos_vals[s]);
}

static int64_t expiry_round_up(int64_t t, int64_t interval)
{
        int64_t r = t % interval;
        if (r < 0)
                r += interval;
        return r == 0 ? t : t + (interval - r);
}

static int expiry_insert(struct sess_expiry *q, uint64_t id, int64_t deadline)
{
        if (q->count >= q->capacity_max)
                return SYN_ELIMIT;
        if ((uint64_t)(q->pos_count + 1) * 2 > q->pos_cap) {
                int rc = pos_grow(q);
                if (rc != SYN_OK)
                        return rc;
        }
        if (q->count == q->heap_cap) {
                uint32_t cap = q->heap_cap ? q->heap_cap * 2 : SESS_EXPIRY_CAP_MIN;
                struct sess_expiry_entry *h = realloc(q->heap, sizeof(*h) * cap);
                if (h == NULL)
                        return SYN_ENOMEM;
                q->heap = h;
                q->heap_cap = cap;
        }
        uint32_t s = pos_find(q, id);
        q->pos_keys[s] = id;
        q->pos_count++;
        uint32_t at = q->count++;
        heap_set(q, at, (struct sess_expiry_entry){.id = id, .deadline_ms = deadline});
        heap_up(q, at);
        return SYN_OK;
}

int sess_expiry_touch(struct sess_expiry *q, uint64_t id, int32_t timeout_ms, int64_t now_ms)
{
        if (id == 0 || timeout_ms <= 0)
                return SYN_EINVAL;
        int64_t deadline = expiry_round_up(now_ms + timeout_ms, q->interval_ms);
        if (q->pos_cap != 0) {
                uint32_t s = pos_find(q, id);
                if (q->pos_keys[s] == id) {
                        uint32_t at = q->pos_vals[s];
                        if (deadline <= q->heap[at].deadline_ms)
                                return SYN_OK; /* same bucket (or later already) */
                        q->heap[at].deadline_ms = deadline;
                        heap_down(q, at);
                        return SYN_OK;
                }
        }
        return expiry_insert(q, id, deadline);
}

int sess_expiry_remove(struct sess_expiry *q, uint64_t id)
{
        if (q->pos_cap == 0 || id == 0)
                return SYN_ENOTFOUND;
        uint32_t s = pos_find(q, id);
        if (q->pos_keys[s] != id)
                return SYN_ENOTFOUND;
        uint32_t at = q->pos_vals[s];
        pos_delete(q, s);
        heap_remove_at(q, at);
        return SYN_OK;
}

int64_t sess_expiry_deadline(const struct sess_expiry *q, uint64_t id)
{
        if (q->pos_cap == 0 || id == 0)
                return -1;
        uint32_t s = pos_find(q, id);
        if (q->pos_keys[s] != id)
                return -1;
        return q->heap[q->pos_vals[s]].deadline_ms;
}

int32_t sess_expiry_pop_expired(struct sess_expiry *q, int64_t now_ms, uint64_t *out, int32_t max)
{
        int32_t n = 0;
        while (n < max && q->count > 0 && q->heap[0].deadline_ms <= now_ms) {
                uint64_t id = q->heap[0].id;
                out[n++] = id;
                pos_delete(q, pos_find(q, id));
                heap_remove_at(q, 0);
        }
        return n;
}

int64_t sess_expiry_next_deadline(const struct sess_expiry *q)
{
        return q->count ? q->heap[0].deadline_ms : -1;
}
