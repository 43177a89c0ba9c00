/*
 * Group membership and the partitioner.
 *
 * Members are ephemeral nodes "<dir>/<member>", so a member that dies leaves
 * the group within a session timeout. The partitioner is a pure function of
 * (sorted members, sorted items): item i goes to member i mod n. Every member
 * that sees the same member list computes the same assignment, so each item
 * has exactly one owner; when the list changes (child watch), everyone
 * recomputes and a dead member's items move to the survivors.
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

int synod_group_join(struct synod *h, const char *dir, const char *member)
{
        if (member == NULL || member[0] == '\0' || strchr(member, '/'))
                return SYNOD_EBADARGUMENTS;
        char *path = cl_child_path(dir, member);
        if (path == NULL)
                return SYNOD_ESYSTEMERROR;
        int rc;
        for (int round = 0; round < CLIENT_CAS_ROUNDS_MAX; round++) {
                rc = synod_create(h, path, NULL, 0, SYNOD_EPHEMERAL, NULL);
                if (rc == SYNOD_ENONODE && synod_create_parents(h, dir) == SYNOD_OK)
                        continue;
                if (rc == SYNOD_ENODEEXISTS) { /* ours after a lost reply, or a namesake */
                        struct synod_stat st;
                        rc = synod_exists(h, path, &st, NULL, NULL);
                        if (rc == SYNOD_OK && st.ephemeral_owner != synod_session_id(h))
                                rc = SYNOD_ENODEEXISTS;
                }
                if (rc == SYNOD_OK || !cl_retryable(h, rc))
                        break;
        }
        free(path);
        return rc;
}

int synod_group_leave(struct synod *h, const char *dir, const char *member)
{
        char *path = cl_child_path(dir, member);
        if (path == NULL)
                return SYNOD_ESYSTEMERROR;
        int rc;
        do {
                rc = synod_delete(h, path, -1);
        } while (rc != SYNOD_OK && cl_retryable(h, rc));
        free(path);
        return rc == SYNOD_ENONODE ? SYNOD_OK : rc;
}

int synod_group_members(struct synod *h, const char *dir, char ***members, int32_t *count,
                        synod_watch_fn watch, void *watch_arg)
{
        int rc;
        do {
                rc = synod_children(h, dir, members, count, watch, watch_arg);
        } while (rc != SYNOD_OK && cl_retryable(h, rc));
        return rc;
}

static int cl_str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int32_t synod_partition(const char *const *members, int32_t n_members, const char *member,
                        const char *const *items, int32_t n_items, int32_t *owned)
{
        if (n_members <= 0 || n_items <= 0)
                return 0;
        const char **m = malloc((size_t)n_members * sizeof(*m));
        const char **it = malloc((size_t)n_items * sizeof(*it));
        int32_t got = 0;
        if (m == NULL || it == NULL)
                goto out;
        memcpy(m, members, (size_t)n_members * sizeof(*m));
        memcpy(it, items, (size_t)n_items * sizeof(*it));
        qsort(m, (size_t)n_members, sizeof(*m), cl_str_cmp);
        qsort(it, (size_t)n_items, sizeof(*it), cl_str_cmp);
        int32_t me = -1;
        for (int32_t i = 0; i < n_members; i++)
                if (strcmp(m[i], member) == 0)
                        me = i;
        for (int32_t i = 0; me >= 0 && i < n_items; i++) {
                if (i % n_members != me)
                        continue;
                for (int32_t k = 0; k < n_items; k++) /* report the caller's index */
                        if (items[k] == it[i]) {
                                owned[got++] = k;
                                break;
                        }
        }
out:
        free(m);
        free(it);
        return got;
}
