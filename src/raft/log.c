/*
 * The in-memory Raft log: entries (prev_index, last] in one growable array.
 *
 * The core keeps every entry since its last compaction in memory; payloads
 * are private copies so the host's buffers can be reused at once. Indexes map
 * to slots by subtraction (e[index - prev_index - 1]). Compaction moves the
 * tail down (rare: once per snapshot), truncation drops the suffix.
 *
 * Payloads are copied one after the other into chunks (RAFT_LOG_CHUNK_BYTES):
 * the log only ever grows at its end and shrinks at either end, so a
 * compaction frees the chunks wholly before its point and a truncation cuts
 * the chunks back to where its first dropped payload began. One allocation
 * per chunk instead of one per entry: a compaction of tens of thousands of
 * entries was a visible share of a leader's CPU. Nothing
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

static void free_chunks(struct rlog_chunk *c)
{
        while (c != NULL) {
                struct rlog_chunk *next = c->next;
                free(c);
                c = next;
        }
}

void rlog_close(struct rlog *l)
{
        free_chunks(l->chunks);
        free(l->e);
        memset(l, 0, sizeof(*l));
}

/* Room for len payload bytes of entry `index` at the end of the last chunk. */
static uint8_t *payload_room(struct rlog *l, uint64_t index, size_t len)
{
        struct rlog_chunk *c = l->last_chunk;
        if (c == NULL || c->cap - c->used < len) {
                size_t cap = len > RAFT_LOG_CHUNK_BYTES ? len : RAFT_LOG_CHUNK_BYTES;
                c = malloc(sizeof(*c) + cap);
                if (c == NULL) {
                        return NULL;
                }
                *c = (struct rlog_chunk){.first_index = index, .cap = cap};
                if (l->last_chunk != NULL) {
                        l->last_chunk->next = c;
                } else {
                        l->chunks = c;
                }
                l->last_chunk = c;
        }
        uint8_t *at = c->bytes + c->used;
        c->used += len;
        c->last_index = index;
        return at;
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
                copy = payload_room(l, rlog_last_index(l) + 1, len);
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
        /* The first dropped payload marks where the kept bytes end. */
        const uint8_t *cut = NULL;
        for (size_t i = keep; i < l->n && cut == NULL; i++) {
                cut = l->e[i].len > 0 ? l->e[i].data : NULL;
        }
        l->n = keep;
        if (cut == NULL) {
                return;
        }
        struct rlog_chunk **link = &l->chunks;
        struct rlog_chunk *prev = NULL;
        /* Bounded by the chunks: the one holding `cut` is kept up to it, the later
         * ones (holding only dropped payloads) are freed. */
        while (*link != NULL) {
                struct rlog_chunk *c = *link;
                if (cut >= c->bytes && cut < c->bytes + c->used) {
                        c->used = (size_t)(cut - c->bytes);
                        c->last_index = from - 1;
                        free_chunks(c->next);
                        c->next = NULL;
                        if (c->used == 0) {
                                *link = NULL;
                                free(c);
                                c = prev;
                        }
                        l->last_chunk = c;
                        return;
                }
                prev = c;
                link = &c->next;
        }
        SYN_ASSERT(false); /* every payload lies in a chunk */
}

void rlog_compact(struct rlog *l, uint64_t upto)
{
        SYN_ASSERT(upto > l->prev_index);
        SYN_ASSERT(upto <= rlog_last_index(l));
        size_t drop = (size_t)(upto - l->prev_index);
        uint64_t term = l->e[drop - 1].term;
        /* Bounded by the chunks; a chunk with any payload after upto stays. */
        while (l->chunks != NULL && l->chunks->last_index <= upto) {
                struct rlog_chunk *c = l->chunks;
                l->chunks = c->next;
                if (l->last_chunk == c) {
                        l->last_chunk = NULL;
                }
                free(c);
        }
        memmove(l->e, l->e + drop, (l->n - drop) * sizeof(*l->e));
        l->n -= drop;
        l->prev_index = upto;
        l->prev_term = term;
}

void rlog_reset(struct rlog *l, uint64_t index, uint64_t term)
{
        free_chunks(l->chunks);
        l->chunks = l->last_chunk = NULL;
        l->n = 0;
        l->prev_index = index;
        l->prev_term = term;
}
