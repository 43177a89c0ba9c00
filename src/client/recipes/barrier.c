/*
 * Barriers and a counter.
 *
 * Barrier: the barrier is up while its node exists; waiters watch the node
 * and return when it is gone. Double barrier (enter/leave): each member
 * creates an ephemeral "<dir>/<member>"; enter returns once `count` members
 * are in (the last one in creates "<dir>/ready", which everyone watches, so
 * nobody polls the list); leave deletes our node and waits until no member
 * is left. Members whose session dies leave automatically.
 * Counter: decimal text in a node, updated by compare-and-set on its version.
 */
#include "client/client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int synod_barrier_set(struct synod *h, const char *path)
{
        int rc = synod_create(h, path, NULL, 0, SYNOD_PERSISTENT, NULL);
        if (rc == SYNOD_ENONODE) {
                rc = synod_create_parents(h, path);
        }
        return rc == SYNOD_ENODEEXISTS ? SYNOD_OK : rc;
}

int synod_barrier_remove(struct synod *h, const char *path)
{
        int rc = synod_delete(h, path, -1);
        return rc == SYNOD_ENONODE ? SYNOD_OK : rc;
}

int synod_barrier_wait(struct synod *h, const char *path, int timeout_ms)
{
        int64_t deadline = cl_deadline(timeout_ms);
        for (;;) { /* bounded by deadline and the session */
                uint64_t seen = cl_events_value(h);
                int rc = synod_exists(h, path, NULL, cl_recipe_watch, h);
                if (rc == SYNOD_ENONODE)
                        return SYNOD_OK;
                if (rc != SYNOD_OK && !cl_retryable(h, rc))
                        return rc;
                if (cl_past(deadline))
                        return SYNOD_EOPERATIONTIMEOUT;
                if (rc == SYNOD_OK)
                        cl_events_wait(h, seen, CLIENT_RECIPE_POLL_MS);
        }
}

static int cl_member_count(struct synod *h, const char *dir, int32_t *n, bool watch)
{
        char **kids;
        int32_t k;
        int rc = synod_children(h, dir, &kids, &k, watch ? cl_recipe_watch : NULL, h);
        if (rc != SYNOD_OK)
                return rc;
        *n = 0;
        for (int32_t i = 0; i < k; i++)
                if (strcmp(kids[i], "ready") != 0)
                        (*n)++;
        synod_strings_free(kids, k);
        return SYNOD_OK;
}

int synod_double_barrier_enter(struct synod *h, const char *dir, const char *member, int count,
                               int timeout_ms)
{
        int64_t deadline = cl_deadline(timeout_ms);
        char *me = cl_child_path(dir, member);
        char *ready = cl_child_path(dir, "ready");
        int rc = me && ready ? synod_create_parents(h, dir) : SYNOD_ESYSTEMERROR;
        if (rc == SYNOD_OK) {
                rc = synod_create(h, me, NULL, 0, SYNOD_EPHEMERAL, NULL);
                rc = rc == SYNOD_ENODEEXISTS ? SYNOD_OK : rc;
        }
        while (rc == SYNOD_OK) { /* bounded by deadline and the session */
                uint64_t seen = cl_events_value(h);
                rc = synod_exists(h, ready, NULL, cl_recipe_watch, h);
                if (rc == SYNOD_OK)
                        break;
                int32_t n = 0;
                if (rc == SYNOD_ENONODE)
                        rc = cl_member_count(h, dir, &n, false);
                if (rc == SYNOD_OK && n >= count) {
                        rc = synod_create(h, ready, NULL, 0, SYNOD_PERSISTENT, NULL);
                        rc = rc == SYNOD_ENODEEXISTS ? SYNOD_OK : rc;
                        break;
                }
                if (rc != SYNOD_OK && !cl_retryable(h, rc))
                        break;
                if (cl_past(deadline)) {
                        rc = SYNOD_EOPERATIONTIMEOUT;
                        break;
                }
                rc = SYNOD_OK;
                cl_events_wait(h, seen, CLIENT_RECIPE_POLL_MS);
        }
        free(me);
        free(ready);
        return rc;
}

int synod_double_barrier_leave(struct synod *h, const char *dir, const char *member, int timeout_ms)
{
        int64_t deadline = cl_deadline(timeout_ms);
        char *me = cl_child_path(dir, member);
        int rc = me ? synod_delete(h, me, -1) : SYNOD_ESYSTEMERROR;
        free(me);
        if (rc == SYNOD_ENONODE)
                rc = SYNOD_OK;
        while (rc == SYNOD_OK) { /* bounded by deadline and the session */
                uint64_t seen = cl_events_value(h);
                int32_t n;
                rc = cl_member_count(h, dir, &n, true);
                if (rc == SYNOD_OK && n == 0) {
                        char *ready = cl_child_path(dir, "ready");
                        if (ready)
                                synod_delete(h, ready, -1); /* reset for the next round */
                        free(ready);
                        return SYNOD_OK;
                }
                if (rc != SYNOD_OK)
                        return rc;
                if (cl_past(deadline))
                        return SYNOD_EOPERATIONTIMEOUT;
                cl_events_wait(h, seen, CLIENT_RECIPE_POLL_MS);
        }
        return rc;
}

/* One CAS attempt: SYNOD_OK, EBADVERSION (lost a race) or an error. */
static int cl_counter_try(struct synod *h, const char *path, int64_t delta, const char *guid,
                          int64_t *result)
{
        char *data = NULL;
        struct synod_stat st;
        int rc = synod_get(h, path, &data, NULL, &st, NULL, NULL);
        int64_t v = data ? strtoll(data, NULL, 10) : 0;
        free(data);
        if (rc == SYNOD_ENONODE) {
                rc = synod_create_parents(h, path);
                return rc == SYNOD_OK ? SYNOD_EBADVERSION : rc;
        }
        if (rc != SYNOD_OK)
                return rc;
        /* The writer's guid goes with the value so a lost reply can be resolved. */
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRId64 "\n%s", v + delta, guid);
        rc = synod_set(h, path, buf, (int32_t)strlen(buf), st.version, NULL);
        while (rc == SYNOD_ECONNECTIONLOSS && cl_retryable(h, rc)) {
                char *now = NULL;
                struct synod_stat st2;
                rc = synod_get(h, path, &now, NULL, &st2, NULL, NULL);
                if (rc == SYNOD_OK)
                        rc = st2.version == st.version + 1 && now && strcmp(now, buf) == 0
                                 ? SYNOD_OK
                                 : SYNOD_EBADVERSION;
                free(now);
        }
        if (rc == SYNOD_OK && result)
                *result = v + delta;
        return rc;
}

int synod_counter_add(struct synod *h, const char *path, int64_t delta, int64_t *result)
{
        char guid[40];
        cl_guid(guid, sizeof(guid));
        for (int round = 0; round < CLIENT_CAS_ROUNDS_MAX; round++) {
                int rc = cl_counter_try(h, path, delta, guid, result);
                if (rc == SYNOD_OK)
                        return rc;
                if (rc != SYNOD_EBADVERSION && !cl_retryable(h, rc))
                        return rc;
        }
        return SYNOD_EOPERATIONTIMEOUT;
}
