/*
 * ACLs: ZooKeeper's fixupACL (validation, de-duplication, `auth` expansion),
 * checkACL (tree_check_perm) with the world, digest and ip schemes, and the
 * table of interned ACL lists.
 *
 * Interning: nodes hold a counted reference to a shared, immutable list, found
 * through an open-addressing hash keyed by the list's content hash. Each list
 * gets a stable id from a counter at first interning; snapshots store lists
 * by id and restore the counter, so a tree loaded from a snapshot writes the
 * same snapshot bytes as the tree it came from.
 *
 * Scheme rules (docs/protocol-notes.md, "ACLs"): world accepts only "anyone"; auth expands
 * to every identity of the caller except ip ones, and is invalid when there is
 * none; digest ids must split into exactly two parts on ':' with Java's
 * String.split semantics (trailing empty parts dropped); ip ids are an IPv4
 * or IPv6 address with an optional /bits prefix length. Other schemes have no
 * provider in a default ZooKeeper and are invalid.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "tree/tree_int.h"

#define TREE_ACL_CAP_MIN 16

static bool bytes_is(struct zk_bytes b, const char *s)
{
        size_t n = strlen(s);
        return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.data, s, n) == 0);
}

static bool bytes_eq(struct zk_bytes a, struct zk_bytes b)
{
        return a.len == b.len && (a.len <= 0 || memcmp(a.data, b.data, (size_t)a.len) == 0);
}

static bool acl_entry_eq(const struct zk_acl *a, const struct zk_acl *b)
{
        return a->perms == b->perms && bytes_eq(a->id.scheme, b->id.scheme) &&
               bytes_eq(a->id.id, b->id.id);
}

/* Java's id.split(":").length: parts, with trailing empty parts dropped. */
static int java_split_colon_count(struct zk_bytes b)
{
        if (b.len == 0)
                return 1;
        int parts = 1;
        int last_nonempty = 0;
        int32_t start = 0;
        for (int32_t i = 0; i <= b.len; i++) {
                if (i == b.len || b.data[i] == ':') {
                        if (i > start)
                                last_nonempty = parts;
                        if (i < b.len)
                                parts++;
                        start = i + 1;
                }
        }
        return last_nonempty;
}

/* Java Integer.parseInt restricted to small values: [+-]?digits; -1 if not a number. */
static long parse_small_int(const uint8_t *p, size_t n)
{
        size_t i = 0;
        bool neg = false;
        if (n > 0 && (p[0] == '+' || p[0] == '-')) {
                neg = p[0] == '-';
                i = 1;
        }
        if (i == n || n - i > 6)
                return -1;
        long v = 0;
        for (; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                v = v * 10 + (p[i] - '0');
        }
        return neg ? (v == 0 ? 0 : -1) : v;
}

/* Parses an IPv4 dotted quad (Java's v4addr2Bytes) or an IPv6 address. Returns 4, 16 or 0. */
static int ip_parse(const uint8_t *p, size_t n, uint8_t out[16])
{
        int parts = 0;
        size_t start = 0;
        bool v4 = true;
        for (size_t i = 0; i <= n && v4; i++) {
                if (i < n && p[i] != '.')
                        continue;
                long v = parts < 4 ? parse_small_int(p + start, i - start) : -1;
                if (v < 0 || v > 255)
                        v4 = false;
                else
                        out[parts++] = (uint8_t)v;
                start = i + 1;
        }
        if (v4 && parts == 4)
                return 4;
        char buf[64];
        if (n == 0 || n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
                return 0;
        memcpy(buf, p, n);
        buf[n] = '\0';
        return inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
}

/* Splits "addr[/bits]"; returns the address length (4/16) and *bits, or 0 if invalid. */
static int ip_parse_expr(struct zk_bytes b, uint8_t addr[16], int *bits)
{
        if (b.len <= 0)
                return 0;
        const uint8_t *slash = memchr(b.data, '/', (size_t)b.len);
        size_t alen = slash ? (size_t)(slash - b.data) : (size_t)b.len;
        int n = ip_parse(b.data, alen, addr);
        if (n == 0)
                return 0;
        *bits = n * 8;
        if (slash) {
                long v = parse_small_int(slash + 1, (size_t)b.len - alen - 1);
                if (v < 0 || v > n * 8)
                        return 0;
                *bits = (int)v;
        }
        return n;
}

static void ip_mask(uint8_t *a, int len, int bits)
{
        for (int i = 0; i < len; i++) {
                int keep = bits - i * 8;
                if (keep >= 8)
                        continue;
                a[i] = keep <= 0 ? 0 : (uint8_t)(a[i] & (0xff << (8 - keep)));
        }
}

static bool ip_matches(struct zk_bytes caller, struct zk_bytes expr)
{
        uint8_t acl_addr[16], who[16];
        int bits;
        int n = ip_parse_expr(expr, acl_addr, &bits);
        if (n == 0 || caller.len <= 0)
                return false;
        int m = ip_parse(caller.data, (size_t)caller.len, who);
        if (m != n)
                return false;
        ip_mask(acl_addr, n, bits);
        ip_mask(who, n, bits);
        return memcmp(acl_addr, who, (size_t)n) == 0;
}

static bool acl_id_valid(const struct zk_id *id)
{
        if (bytes_is(id->scheme, "digest"))
                return id->id.len >= 0 && java_split_colon_count(id->id) == 2;
        if (bytes_is(id->scheme, "ip")) {
                uint8_t a[16];
                int bits;
                return ip_parse_expr(id->id, a, &bits) != 0;
        }
        return false;
}

int tree_acl_fixup(const struct zk_acl *in, int32_t count, const struct txn_auth *auth,
                   struct zk_acl **out, int32_t *out_count)
{
        *out = NULL;
        *out_count = 0;
        if (count <= 0 || count > ZK_ACL_COUNT_MAX || in == NULL)
                return ZINVALIDACL;
        size_t per = auth->id_count > 1 ? (size_t)auth->id_count : 1;
        struct zk_acl *v = malloc(sizeof(*v) * (size_t)count * per);
        if (v == NULL)
                return SYN_ENOMEM;
        int32_t n = 0;
        for (int32_t i = 0; i < count; i++) {
                const struct zk_acl *a = &in[i];
                bool dup = false;
                for (int32_t j = 0; j < i && !dup; j++)
                        dup = acl_entry_eq(&in[j], a);
                if (dup)
                        continue;
                if (a->id.scheme.len < 0 || a->id.id.len < 0)
                        goto invalid;
                if (bytes_is(a->id.scheme, "world") && bytes_is(a->id.id, "anyone")) {
                        v[n++] = *a;
                } else if (bytes_is(a->id.scheme, "auth")) {
                        bool any = false;
                        for (int32_t k = 0; k < auth->id_count; k++) {
                                const struct zk_id *cid = &auth->ids[k];
                                if (bytes_is(cid->scheme, "ip") || bytes_is(cid->scheme, "super"))
                                        continue;
                                v[n++] = (struct zk_acl){.perms = a->perms, .id = *cid};
                                any = true;
                        }
                        if (!any)
                                goto invalid;
                } else if (acl_id_valid(&a->id)) {
                        v[n++] = *a;
                } else {
                        goto invalid;
                }
        }
        *out = v;
        *out_count = n;
        return ZOK;
invalid:
        free(v);
        return ZINVALIDACL;
}

bool tree_acl_permits(const struct tree_acl_list *acl, int32_t perm, const struct txn_auth *auth)
{
        return tree_acl_check(acl->entries, acl->count, perm, auth);
}

bool tree_acl_check(const struct zk_acl *acl, int32_t count, int32_t perm,
                    const struct txn_auth *auth)
{
        if (auth->super || count == 0)
                return true;
        for (int32_t i = 0; i < count; i++) {
                const struct zk_acl *a = &acl[i];
                if ((a->perms & perm) == 0)
                        continue;
                if (bytes_is(a->id.scheme, "world") && bytes_is(a->id.id, "anyone"))
                        return true;
                bool ip = bytes_is(a->id.scheme, "ip");
                for (int32_t k = 0; k < auth->id_count; k++) {
                        const struct zk_id *cid = &auth->ids[k];
                        if (!bytes_eq(cid->scheme, a->id.scheme))
                                continue;
                        if (ip ? ip_matches(cid->id, a->id.id) : bytes_eq(cid->id, a->id.id))
                                return true;
                }
        }
        return false;
}

bool tree_check_perm(const struct tree_node *n, int32_t perm, const struct txn_auth *auth)
{
        return tree_acl_permits(n->acl, perm, auth);
}

/* ---- interning ---- */

uint64_t tree_acl_hash(const struct zk_acl *entries, int32_t count)
{
        uint64_t h = syn_mix64(0xac1ac1ac1ull + (uint64_t)count);
        for (int32_t i = 0; i < count; i++) {
                const struct zk_acl *a = &entries[i];
                h = syn_mix64(h ^ (uint64_t)(uint32_t)a->perms);
                h = syn_hash_bytes(h, a->id.scheme.data,
                                   (size_t)(a->id.scheme.len > 0 ? a->id.scheme.len : 0));
                h = syn_hash_bytes(h, a->id.id.data, (size_t)(a->id.id.len > 0 ? a->id.id.len : 0));
        }
        return h;
}

static bool acl_list_equals(const struct tree_acl_list *l, const struct zk_acl *e, int32_t count)
{
        if (l->count != count)
                return false;
        for (int32_t i = 0; i < count; i++) {
                if (!acl_entry_eq(&l->entries[i], &e[i]))
                        return false;
        }
        return true;
}

static void acl_place(struct tree *t, struct tree_acl_list *l)
{
        uint64_t mask = t->acl_cap - 1;
        uint64_t i = syn_mix64(l->hash) & mask;
        while (t->acl_slots[i] != NULL)
                i = (i + 1) & mask;
        t->acl_slots[i] = l;
}

static int acl_reserve(struct tree *t)
{
        if ((t->acl_count + 1) * 4 <= t->acl_cap * 3)
                return SYN_OK;
        uint64_t cap = t->acl_cap ? t->acl_cap * 2 : TREE_ACL_CAP_MIN;
        struct tree_acl_list **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
                return SYN_ENOMEM;
        struct tree_acl_list **old = t->acl_slots;
        uint64_t old_cap = t->acl_cap;
        t->acl_slots = slots;
        t->acl_cap = cap;
        for (uint64_t i = 0; i < old_cap; i++) {
                if (old[i])
                        acl_place(t, old[i]);
        }
        free(old);
        return SYN_OK;
}

static struct tree_acl_list *acl_find(const struct tree *t, uint64_t h, const struct zk_acl *e,
                                      int32_t count)
{
        if (t->acl_cap == 0)
                return NULL;
        uint64_t mask = t->acl_cap - 1;
        for (uint64_t i = syn_mix64(h) & mask; t->acl_slots[i] != NULL; i = (i + 1) & mask) {
                struct tree_acl_list *l = t->acl_slots[i];
                if (l->hash == h && acl_list_equals(l, e, count))
                        return l;
        }
        return NULL;
}

static struct tree_acl_list *acl_list_new(const struct zk_acl *e, int32_t count, uint64_t h)
{
        size_t strings = 0;
        for (int32_t i = 0; i < count; i++)
                strings += (size_t)e[i].id.scheme.len + (size_t)e[i].id.id.len + 2;
        struct tree_acl_list *l =
            calloc(1, sizeof(*l) + sizeof(struct zk_acl) * (size_t)count + strings);
        if (l == NULL)
                return NULL;
        l->hash = h;
        l->count = count;
        char *s = (char *)(l->entries + count);
        for (int32_t i = 0; i < count; i++) {
                struct zk_acl *d = &l->entries[i];
                d->perms = e[i].perms;
                const struct zk_bytes *src[2] = {&e[i].id.scheme, &e[i].id.id};
                struct zk_bytes *dst[2] = {&d->id.scheme, &d->id.id};
                for (int k = 0; k < 2; k++) {
                        SYN_ASSERT(src[k]->len >= 0);
                        if (src[k]->len > 0)
                                memcpy(s, src[k]->data, (size_t)src[k]->len);
                        s[src[k]->len] = '\0';
                        *dst[k] = (struct zk_bytes){.data = (const uint8_t *)s, .len = src[k]->len};
                        s += src[k]->len + 1;
                }
        }
        return l;
}

struct tree_acl_list *tree_acl_copy(const struct tree_acl_list *l)
{
        return acl_list_new(l->entries, l->count, l->hash);
}

int tree_acl_intern_id(struct tree *t, const struct zk_acl *entries, int32_t count, uint32_t id,
                       struct tree_acl_list **out)
{
        uint64_t h = tree_acl_hash(entries, count);
        struct tree_acl_list *l = acl_find(t, h, entries, count);
        if (l != NULL) {
                l->refs++;
                *out = l;
                return SYN_OK;
        }
        if (acl_reserve(t) != SYN_OK)
                return SYN_ENOMEM;
        l = acl_list_new(entries, count, h);
        if (l == NULL)
                return SYN_ENOMEM;
        l->refs = 1;
        l->id = id;
        acl_place(t, l);
        t->acl_count++;
        *out = l;
        return SYN_OK;
}

int tree_acl_intern(struct tree *t, const struct zk_acl *entries, int32_t count,
                    struct tree_acl_list **out)
{
        uint64_t h = tree_acl_hash(entries, count);
        struct tree_acl_list *l = acl_find(t, h, entries, count);
        if (l != NULL) {
                l->refs++;
                *out = l;
                return SYN_OK;
        }
        int rc = tree_acl_intern_id(t, entries, count, t->acl_next_id, out);
        if (rc == SYN_OK)
                t->acl_next_id++;
        return rc;
}

void tree_acl_ref(struct tree_acl_list *l)
{
        l->refs++;
}

void tree_acl_release(struct tree *t, struct tree_acl_list *l)
{
        SYN_ASSERT(l->refs > 0);
        if (--l->refs > 0)
                return;
        uint64_t mask = t->acl_cap - 1;
        uint64_t i = syn_mix64(l->hash) & mask;
        while (t->acl_slots[i] != l) {
                SYN_ASSERT(t->acl_slots[i] != NULL);
                i = (i + 1) & mask;
        }
        t->acl_slots[i] = NULL;
        for (uint64_t j = (i + 1) & mask; t->acl_slots[j] != NULL; j = (j + 1) & mask) {
                uint64_t home = syn_mix64(t->acl_slots[j]->hash) & mask;
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        t->acl_slots[i] = t->acl_slots[j];
                        t->acl_slots[j] = NULL;
                        i = j;
                }
        }
        t->acl_count--;
        free(l);
}

void tree_acl_table_free(struct tree *t)
{
        for (uint64_t i = 0; i < t->acl_cap; i++)
                free(t->acl_slots[i]);
        free(t->acl_slots);
        t->acl_slots = NULL;
        t->acl_cap = 0;
        t->acl_count = 0;
}

static int acl_cmp_id(const void *a, const void *b)
{
        uint32_t x = (*(struct tree_acl_list *const *)a)->id;
        uint32_t y = (*(struct tree_acl_list *const *)b)->id;
        return x < y ? -1 : x > y;
}

int tree_acl_sorted(const struct tree *t, struct tree_acl_list ***out, uint64_t *count)
{
        *out = NULL;
        *count = 0;
        if (t->acl_count == 0)
                return SYN_OK;
        struct tree_acl_list **v = malloc(sizeof(*v) * t->acl_count);
        if (v == NULL)
                return SYN_ENOMEM;
        uint64_t n = 0;
        for (uint64_t i = 0; i < t->acl_cap; i++) {
                if (t->acl_slots[i])
                        v[n++] = t->acl_slots[i];
        }
        SYN_ASSERT(n == t->acl_count);
        qsort(v, n, sizeof(*v), acl_cmp_id);
        *out = v;
        *count = n;
        return SYN_OK;
}

/* world:anyone with perms, interned. */
static struct tree_acl_list *acl_world(struct tree *t, int32_t perms)
{
        static const char world[] = "world", anyone[] = "anyone";
        const struct zk_acl open = {
            .perms = perms,
            .id = {.scheme = {(const uint8_t *)world, 5}, .id = {(const uint8_t *)anyone, 6}},
        };
        struct tree_acl_list *l;
        return tree_acl_intern(t, &open, 1, &l) == SYN_OK ? l : NULL;
}

struct tree_acl_list *tree_acl_open_unsafe(struct tree *t)
{
        return acl_world(t, ZK_PERM_ALL);
}

struct tree_acl_list *tree_acl_read_unsafe(struct tree *t)
{
        return acl_world(t, ZK_PERM_READ);
}
