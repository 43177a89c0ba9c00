/*
 * The replicated session table: id -> struct session.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), capacity a power of two kept at most 3/4 full. Ids are mixed
 * with the splitmix64 finaliser before indexing; the slot order is never
 * exposed: everything that leaves the table (snapshots, listings) goes through
 * session_table_sorted(), ordered by id.
 */
#include "session/session.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/zk_types.h"

#define SESSION_TABLE_CAP_MIN 16

bool session_id_valid(uint64_t id)
{
        if (id == 0 || id == ZK_OWNER_CONTAINER)
                return false;
        return (id >> 56) != 0xff;
}

int session_table_init(struct session_table *t)
{
        memset(t, 0, sizeof(*t));
        return SYN_OK;
}

void session_table_close(struct session_table *t)
{
        for (uint32_t i = 0; i < t->cap; i++)
                free(t->slots[i]);
        free(t->slots);
        memset(t, 0, sizeof(*t));
}

static uint32_t session_slot(const struct session_table *t, uint64_t id)
{
        return (uint32_t)(syn_mix64(id) & (t->cap - 1));
}

struct session *session_table_find(const struct session_table *t, uint64_t id)
{
        if (t->cap == 0)
                return NULL;
        for (uint32_t i = session_slot(t, id);; i = (i + 1) & (t->cap - 1)) {
                struct session *s = t->slots[i];
                if (s == NULL)
                        return NULL;
                if (s->id == id)
                        return s;
        }
}

static void session_table_place(struct session_table *t, struct session *s)
{
        uint32_t i = session_slot(t, s->id);
        while (t->slots[i] != NULL)
                i = (i + 1) & (t->cap - 1);
        t->slots[i] = s;
}

static int session_table_grow(struct session_table *t)
{
        uint32_t cap = t->cap ? t->cap * 2 : SESSION_TABLE_CAP_MIN;
        struct session **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
                return SYN_ENOMEM;
        struct session **old = t->slots;
        uint32_t old_cap = t->cap;
        t->slots = slots;
        t->cap = cap;
        for (uint32_t i = 0; i < old_cap; i++) {
                if (old[i] != NULL)
                        session_table_place(t, old[i]);
        }
        free(old);
        return SYN_OK;
}

int session_table_add(struct session_table *t, uint64_t id, const uint8_t passwd[ZK_PASSWD_BYTES],
                      int32_t timeout_ms, struct session **out)
{
        if (!session_id_valid(id) || timeout_ms <= 0 || timeout_ms > SESSION_TIMEOUT_MS_MAX)
                return SYN_EINVAL;
        if (session_table_find(t, id) != NULL)
                return SYN_EEXIST;
        if (t->count >= SESSION_COUNT_MAX)
                return SYN_ELIMIT;
        if ((uint64_t)(t->count + 1) * 4 > (uint64_t)t->cap * 3) {
                int rc = session_table_grow(t);
                if (rc != SYN_OK)
                        return rc;
        }
        struct session *s = calloc(1, sizeof(*s));
        if (s == NULL)
                return SYN_ENOMEM;
        s->id = id;
        s->timeout_ms = timeout_ms;
        memcpy(s->passwd, passwd, ZK_PASSWD_BYTES);
        session_table_place(t, s);
        t->count++;
        if (out != NULL)
                *out = s;
        return SYN_OK;
}

int session_table_remove(struct session_table *t, uint64_t id)
{
        if (t->cap == 0)
                return SYN_ENOTFOUND;
        uint32_t mask = t->cap - 1;
        uint32_t i = session_slot(t, id);
        while (t->slots[i] != NULL && t->slots[i]->id != id)
                i = (i + 1) & mask;
        struct session *s = t->slots[i];
        if (s == NULL)
                return SYN_ENOTFOUND;
        SYN_ASSERT(s->ephemeral_count == 0);
        SYN_ASSERT(s->ephemerals == NULL);
        free(s);
        t->slots[i] = NULL;
        t->count--;
        /* Backward shift: move later members of the cluster into the hole when
         * their home slot does not lie strictly between the hole and them. */
        for (uint32_t j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
                uint32_t home = session_slot(t, t->slots[j]->id);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        t->slots[i] = t->slots[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
        return SYN_OK;
}

static int session_cmp(const void *a, const void *b)
{
        uint64_t x = (*(struct session *const *)a)->id;
        uint64_t y = (*(struct session *const *)b)->id;
        return x < y ? -1 : x > y;
}

int session_table_sorted(const struct session_table *t, struct session ***out, uint32_t *count)
{
        *out = NULL;
        *count = 0;
        if (t->count == 0)
                return SYN_OK;
        struct session **v = malloc(sizeof(*v) * t->count);
        if (v == NULL)
                return SYN_ENOMEM;
        uint32_t n = 0;
        for (uint32_t i = 0; i < t->cap; i++) {
                if (t->slots[i] != NULL)
                        v[n++] = t->slots[i];
        }
        SYN_ASSERT(n == t->count);
        qsort(v, n, sizeof(*v), session_cmp);
        *out = v;
        *count = n;
        return SYN_OK;
}

bool session_passwd_equal(const struct session *s, const uint8_t passwd[ZK_PASSWD_BYTES])
{
        uint8_t diff = 0;
        for (int i = 0; i < ZK_PASSWD_BYTES; i++)
                diff |= (uint8_t)(s->passwd[i] ^ passwd[i]);
        return diff == 0;
}

uint64_t session_digest(const struct session *s)
{
        uint64_t h = syn_mix64(s->id ^ 0x5e55105e55105e55ull);
        h = syn_mix64(h ^ (uint64_t)(uint32_t)s->timeout_ms);
        for (int k = 0; k < ZK_PASSWD_BYTES; k += 8) {
                uint64_t w = 0;
                for (int b = 0; b < 8; b++)
                        w = w << 8 | s->passwd[k + b];
                h = syn_mix64(h ^ w);
        }
        return h;
}

uint64_t session_table_digest(const struct session_table *t)
{
        uint64_t sum = 0;
        for (uint32_t i = 0; i < t->cap; i++) {
                if (t->slots[i] != NULL)
                        sum += session_digest(t->slots[i]);
        }
        return sum;
}
