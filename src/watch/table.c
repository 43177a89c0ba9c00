/*
 * Intrusive chained hash tables for the watch manager, and the hashes.
 *
 * Nodes carry their own hash, so resizing never rehashes keys. The table
 * doubles when it holds more nodes than buckets and halves when it holds
 * fewer than an eighth (never below WATCH_TABLE_BUCKETS_MIN), so memory
 * follows the number of watches after a mass disconnect. A failed resize
 * allocation is harmless: the table keeps working with longer chains.
 *
 * The path hash is seeded (watch_options.hash_seed) so a client cannot
 * prepare paths that all land in one chain without knowing the seed. It is a
 * multiply-xorshift mix in 8-byte steps with a murmur3-style finaliser: fast
 * and well spread, not a cryptographic PRF.
 */
#include "watch/watch_int.h"

#include "base/assert.h"
#include "base/limits.h"

#include <stdlib.h>
#include <string.h>

_Static_assert((WATCH_TABLE_BUCKETS_MIN & (WATCH_TABLE_BUCKETS_MIN - 1)) == 0,
               "bucket counts are powers of two");

uint64_t watch_hash_u64(uint64_t seed, uint64_t v)
{
        return syn_mix64(seed ^ syn_mix64(v + 0x9e3779b97f4a7c15ull));
}

uint64_t watch_hash_entry(uint64_t seed, uint64_t conn_id, const struct watch_path *path)
{
        /* Keyed by the path record, not its bytes: an entry's path is interned. */
        return watch_hash_u64(seed ^ path->node.hash, conn_id);
}

int watch_table_init(struct watch_table *t)
{
        t->buckets = calloc(WATCH_TABLE_BUCKETS_MIN, sizeof *t->buckets);
        if (t->buckets == NULL)
                return -1;
        t->bucket_count = WATCH_TABLE_BUCKETS_MIN;
        t->count = 0;
        return 0;
}

void watch_table_close(struct watch_table *t)
{
        free(t->buckets);
        t->buckets = NULL;
        t->bucket_count = 0;
        t->count = 0;
}

struct watch_node *watch_table_chain(const struct watch_table *t, uint64_t hash)
{
        return t->buckets[hash & (t->bucket_count - 1)];
}

static void table_resize(struct watch_table *t, size_t bucket_count)
{
        SYN_ASSERT(bucket_count >= WATCH_TABLE_BUCKETS_MIN);
        SYN_ASSERT((bucket_count & (bucket_count - 1)) == 0);
        struct watch_node **buckets = calloc(bucket_count, sizeof *buckets);
        if (buckets == NULL)
                return; /* keep the old array: correct, only slower */
        for (size_t i = 0; i < t->bucket_count; i++) {
                struct watch_node *n = t->buckets[i];
                while (n != NULL) {
                        struct watch_node *next = n->next;
                        size_t b = n->hash & (bucket_count - 1);
                        n->next = buckets[b];
                        buckets[b] = n;
                        n = next;
                }
        }
        free(t->buckets);
        t->buckets = buckets;
        t->bucket_count = bucket_count;
}

void watch_table_insert(struct watch_table *t, struct watch_node *n)
{
        size_t b = n->hash & (t->bucket_count - 1);
        n->next = t->buckets[b];
        t->buckets[b] = n;
        t->count++;
        if (t->count > t->bucket_count && t->bucket_count <= SIZE_MAX / 2 / sizeof *t->buckets)
                table_resize(t, t->bucket_count * 2);
}

void watch_table_remove(struct watch_table *t, struct watch_node *n)
{
        struct watch_node **link = &t->buckets[n->hash & (t->bucket_count - 1)];
        while (*link != n) {
                SYN_ASSERT(*link != NULL); /* n must be in this table */
                link = &(*link)->next;
        }
        *link = n->next;
        n->next = NULL;
        SYN_ASSERT(t->count > 0);
        t->count--;
        if (t->bucket_count > WATCH_TABLE_BUCKETS_MIN && t->count < t->bucket_count / 8)
                table_resize(t, t->bucket_count / 2);
}
