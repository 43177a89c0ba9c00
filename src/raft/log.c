/*
 * The in-memory Raft log: entries (prev_index, last] in one growable array.
 *
 * The core keeps every entry since its last compaction in memory; payloads
 * are private copies so the host's buffers can be reused at once. Indexes map
 * to slots by subtraction (e[index - prev_index - 1]). Compaction moves the
 * tail down (rare: once per snapshot), truncation frees the suffix. Nothing
 * here knows Raft rules beyond "terms never decrease along the log", which
 * rlog_append asserts (log matching relies on it).
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "raft/raft_priv.h"

void rlog_init(struct rlog *l, uint64_t prev_index, uint64_t prev_term)
{
        memset(l, 0, sizeof(*l));
        l->prev_index = prev_index;
        l->prev_term = prev_term;
}

static void rlog_free_range(struct rlog *l, size_t from, size_t to)
{
        for (size_t i = from; i < to; i++) {
                free((void *)l->e[i].data);
                l->e[i].data = NULL;
        }
}

void rlog_close(struct rlog *l)
{
        rlog_free_range(l, 0, l->n);
        free(l->e);
        memset(l, 0, sizeof(*l));
}

uint64_t rlog_last_index(const struct rlog *l)
{
        return l->prev_index + l->n;
}

uint64_t rlog_last_term(const struct rlog *l)
{
        return l->n == 0 ? l->prev_term : l->e[l->n - 1].term;
}

uint64_t rlog_term_at(const struct rlog *l, uint64_t index)
{
        if (index == l->prev_index) {
                return l->prev_term;
        }
        if (index < l->prev_index || index > rlog_last_index(l)) {
                return 0;
        }
        return l->e[index - l->prev_index - 1].term;
}

const struct raft_entry *rlog_get(const struct rlog *l, uint64_t index)
{
        SYN_ASSERT(index > l->prev_index);
        SYN_ASSERT(index <= rlog_last_index(l));
        const struct raft_entry *e = &l->e[index - l->prev_index - 1];
        SYN_ASSERT(e->index == index);
        return e;
}

int rlog_append(struct rlog *l, uint64_t term, enum raft_entry_type type, const uint8_t *data,
                size_t len)
{
        SYN_ASSERT(term >= rlog_last_term(l));
        SYN_ASSERT(len <= RAFT_ENTRY_BYTES_MAX);
        if (l->n == l->cap) {
                size_t cap = l->cap == 0 ? 64 : l->cap * 2;
                struct raft_entry *e = realloc(l->e, cap * sizeof(*e));
                if (e == NULL) {
                        return SYN_ENOMEM;
                }
                l->e = e;
                l->cap = cap;
        }
        uint8_t *copy = NULL;
        if (len > 0) {
                copy = malloc(len);
                if (copy == NULL) {
                        return SYN_ENOMEM;
                }
                memcpy(copy, data, len);
        }
        l->e[l->n] = (struct raft_entry){
            .term = term,
            .index = rlog_last_index(l) + 1,
            .type = type,
            .data = copy,
            .len = len,
        };
        l->n++;
        return SYN_OK;
}

void rlog_truncate(struct rlog *l, uint64_t from)
{
        SYN_ASSERT(from > l->prev_index);
        if (from > rlog_last_index(l)) {
                return;
        }
        size_t keep = (size_t)(from - l->prev_index - 1);
        rlog_free_range(l, keep, l->n);
        l->n = keep;
}

void rlog_compact(struct rlog *l, uint64_t upto)
{
        SYN_ASSERT(upto > l->prev_index);
        SYN_ASSERT(upto <= rlog_last_index(l));
        size_t drop = (size_t)(upto - l->prev_index);
        uint64_t term = l->e[drop - 1].term;
        rlog_free_range(l, 0, drop);
        memmove(l->e, l->e + drop, (l->n - drop) * sizeof(*l->e));
        l->n -= drop;
        l->prev_index = upto;
        l->prev_term = term;
}

void rlog_reset(struct rlog *l, uint64_t index, uint64_t term)
{
        rlog_free_range(l, 0, l->n);
        l->n = 0;
        l->prev_index = index;
        l->prev_term = term;
}
