/*
 * watch_list: the (session, path) pairs behind the wchc and wchp words.
 *
 * Admin commands are rare, so this walks every entry, copies (session id,
 * path) pairs into one array and sorts it: O(W log W), no extra index kept on
 * the hot path. Sorting makes the output deterministic (ZooKeeper prints hash
 * order), and it lets two connections of one session on one path (possible
 * for a moment while a session moves) collapse into one line.
 */
#include "watch/watch_int.h"

#include "base/assert.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

static int path_cmp(const struct watch_pair *x, const struct watch_pair *y)
{
        size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
        int c = memcmp(x->path, y->path, n);
        if (c != 0)
                return c;
        return (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static int session_cmp(const struct watch_pair *x, const struct watch_pair *y)
{
        return (x->session_id > y->session_id) - (x->session_id < y->session_id);
}

static int pair_cmp_by_session(const void *a, const void *b)
{
        int c = session_cmp(a, b);
        return c != 0 ? c : path_cmp(a, b);
}

static int pair_cmp_by_path(const void *a, const void *b)
{
        int c = path_cmp(a, b);
        return c != 0 ? c : session_cmp(a, b);
}

int watch_list(const struct watch_manager *wm, enum watch_order order, struct watch_pair **pairs,
               size_t *count)
{
        *pairs = NULL;
        *count = 0;
        size_t n = wm->entry_count;
        if (n == 0)
                return SYN_OK;
        struct watch_pair *v = calloc(n, sizeof *v);
        if (v == NULL)
                return SYN_ENOMEM;
        size_t i = 0;
        for (size_t b = 0; b < wm->paths.bucket_count; b++) {
                for (struct watch_node *node = wm->paths.buckets[b]; node != NULL;
                     node = node->next) {
                        const struct watch_path *p = (const struct watch_path *)node;
                        for (const struct watch_entry *e = p->entries; e != NULL;
                             e = e->path_next) {
                                v[i++] = (struct watch_pair){.session_id = e->conn->session_id,
                                                             .path = p->name,
                                                             .path_len = p->len};
                        }
                }
        }
        SYN_ASSERT(i == n);
        qsort(v, n, sizeof *v, order == WATCH_BY_PATH ? pair_cmp_by_path : pair_cmp_by_session);
        size_t kept = 1;
        for (i = 1; i < n; i++) {
                if (pair_cmp_by_path(&v[i], &v[kept - 1]) != 0)
                        v[kept++] = v[i];
        }
        *pairs = v;
        *count = kept;
        return SYN_OK;
}
