/*
 * Distributed lock and read/write lock (the ZooKeeper recipe, with Curator's
 * protected-mode naming).
 *
 * Each waiter creates an ephemeral-sequential node "<dir>/_c_<guid>-<kind>-"
 * and holds the lock when no node it must wait for precedes it (see
 * cl_lock_blocker). It watches only that one predecessor, so a release wakes
 * one waiter. Connection loss:
 *   - during the create: the node may exist without us knowing its name; the
 *     guid in the name finds it again (listing the children) before any
 *     second create, so a lost reply never leaves an orphan that blocks others
 *     for the rest of the session;
 *   - while waiting or holding: the session may live on (SUSPENDED), and every
 *     step is retried; if it expires, the ephemeral node is gone and the
 *     caller gets SYNOD_ESESSIONEXPIRED (or sees synod_lock_held() false).
 * The fencing token is the czxid of our node: zxids only grow, so a later
 * holder always has a larger token than an earlier one.
 */
#include "client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct synod_lock {
        struct synod *h;
        char *dir;
        char kind[32];
        char guid[40];
        char *data;
        int32_t data_len;
        char *node;       /* full path of our node, NULL when we have none */
        const char *name; /* basename, points into node */
        int64_t token;
        bool held;
        bool (*cancel)(void *arg); /* see cl_lock_set_cancel */
        void *cancel_arg;
};

void cl_lock_set_cancel(struct synod_lock *l, bool (*cancel)(void *arg), void *arg)
{
        l->cancel = cancel;
        l->cancel_arg = arg;
}

int synod_lock_new(struct synod *h, const char *dir, const char *kind, struct synod_lock **out)
{
        *out = NULL;
        if (h == NULL || dir == NULL || dir[0] != '/' || kind == NULL || kind[0] == '\0' ||
            strlen(kind) >= 32 || strchr(kind, '-') || strchr(kind, '/'))
                return SYNOD_EBADARGUMENTS;
        struct synod_lock *l = calloc(1, sizeof(*l));
        if (l == NULL || (l->dir = strdup(dir)) == NULL) {
                free(l);
                return SYNOD_ESYSTEMERROR;
        }
        l->h = h;
        snprintf(l->kind, sizeof(l->kind), "%s", kind);
        cl_guid(l->guid, sizeof(l->guid));
        l->data_len = -1;
        *out = l;
        return SYNOD_OK;
}

void synod_lock_free(struct synod_lock *l)
{
        if (l == NULL)
                return;
        if (l->node)
                synod_lock_release(l);
        free(l->node);
        free(l->data);
        free(l->dir);
        free(l);
}

int synod_lock_set_data(struct synod_lock *l, const void *data, int32_t len)
{
        if (len < 0 || (len > 0 && data == NULL) || len > ZK_FRAME_BYTES_MAX / 2)
                return SYNOD_EBADARGUMENTS;
        char *copy = malloc((size_t)len + 1);
        if (copy == NULL)
                return SYNOD_ESYSTEMERROR;
        if (len > 0)
                memcpy(copy, data, (size_t)len);
        free(l->data);
        l->data = copy;
        l->data_len = len;
        return SYNOD_OK;
}

static void cl_lock_forget(struct synod_lock *l)
{
        free(l->node);
        l->node = NULL;
        l->name = NULL;
        l->held = false;
        l->token = 0;
}

static void cl_lock_adopt(struct synod_lock *l, char *path, int64_t czxid)
{
        free(l->node);
        l->node = path;
        const char *slash = strrchr(path, '/');
        l->name = slash ? slash + 1 : path;
        l->token = czxid;
}

/* After a lost create reply: is there a node of ours? SYNOD_OK (adopted) or ENONODE. */
static int cl_lock_find_ours(struct synod_lock *l)
{
        char **kids;
        int32_t n;
        int rc = synod_children(l->h, l->dir, &kids, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return rc;
        rc = SYNOD_ENONODE;
        for (int32_t i = 0; i < n && rc == SYNOD_ENONODE; i++) {
                if (!cl_name_has_guid(kids[i], l->guid))
                        continue;
                char *path = cl_child_path(l->dir, kids[i]);
                struct synod_stat st;
                rc = path ? synod_exists(l->h, path, &st, NULL, NULL) : SYNOD_ESYSTEMERROR;
                if (rc == SYNOD_OK)
                        cl_lock_adopt(l, path, st.czxid);
                else
                        free(path);
        }
        synod_strings_free(kids, n);
        return rc;
}

/* Makes sure we have our node, creating it at most once per session. */
static int cl_lock_ensure_node(struct synod_lock *l, int64_t deadline)
{
        bool maybe_created = false;
        for (int round = 0; l->node == NULL; round++) { /* bounded by deadline / errors */
                if (round > 0 && cl_past(deadline))
                        return SYNOD_EOPERATIONTIMEOUT;
                if (maybe_created) {
                        int rc = cl_lock_find_ours(l);
                        if (rc == SYNOD_OK)
                                return rc;
                        if (rc != SYNOD_ENONODE) {
                                if (cl_retryable(l->h, rc))
                                        continue;
                                return rc;
                        }
                        maybe_created = false;
                }
                char prefix[128];
                snprintf(prefix, sizeof(prefix), "_c_%s-%s-", l->guid, l->kind);
                char *path = cl_child_path(l->dir, prefix);
                if (path == NULL)
                        return SYNOD_ESYSTEMERROR;
                struct synod_request q = {.op = SYNOD_OP_CREATE,
                                          .path = path,
                                          .data = l->data,
                                          .data_len = l->data_len,
                                          .mode = SYNOD_EPHEMERAL_SEQUENTIAL};
                struct synod_result *res;
                int rc = synod_call_sync(l->h, &q, &res);
                free(path);
                if (rc == SYNOD_OK) {
                        cl_lock_adopt(l, res->path, res->stat.czxid);
                        res->path = NULL;
                } else if (rc == SYNOD_ENONODE) {
                        rc = synod_create_parents(l->h, l->dir);
                } else if (cl_retryable(l->h, rc)) {
                        maybe_created = true;
                        rc = SYNOD_OK;
                }
                synod_result_free(res);
                if (rc != SYNOD_OK && !cl_retryable(l->h, rc))
                        return rc;
        }
        return SYNOD_OK;
}

/* One look at the queue: SYNOD_OK when held; SYNOD_EAGAIN-like ENOTHING when waiting
 * (a watch is set on the predecessor); ENONODE when our node is gone. */
static int cl_lock_check_queue(struct synod_lock *l)
{
        char **kids;
        int32_t n;
        int rc = synod_children(l->h, l->dir, &kids, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return rc;
        int b = cl_lock_blocker(kids, n, l->name);
        if (b == -1) {
                rc = SYNOD_OK;
        } else if (b == -2) {
                rc = SYNOD_ENONODE;
        } else {
                char *pred = cl_child_path(l->dir, kids[b]);
                rc = pred ? synod_exists(l->h, pred, NULL, cl_recipe_watch, l->h)
                          : SYNOD_ESYSTEMERROR;
                free(pred);
                /* The predecessor left between the two reads: look again at once. */
                rc = rc == SYNOD_OK ? SYNOD_ENOTHING : (rc == SYNOD_ENONODE ? SYNOD_ENOTEMPTY : rc);
        }
        synod_strings_free(kids, n);
        return rc;
}

static int cl_lock_give_up(struct synod_lock *l, int rc)
{
        if (l->node != NULL && synod_state(l->h) != SYNOD_STATE_EXPIRED)
                synod_lock_release(l);
        cl_lock_forget(l);
        return rc;
}

int synod_lock_acquire(struct synod_lock *l, int timeout_ms)
{
        if (l->held)
                return SYNOD_OK;
        int64_t deadline = cl_deadline(timeout_ms);
        for (;;) { /* bounded by deadline and the session */
                int rc = cl_lock_ensure_node(l, deadline);
                if (rc != SYNOD_OK)
                        return cl_lock_give_up(l, rc);
                uint64_t seen = cl_events_value(l->h);
                rc = cl_lock_check_queue(l);
                if (rc == SYNOD_OK) {
                        l->held = true;
                        return SYNOD_OK;
                }
                if (rc == SYNOD_ENONODE) { /* our node vanished: expired or deleted */
                        cl_lock_forget(l);
                        if (synod_state(l->h) == SYNOD_STATE_EXPIRED)
                                return SYNOD_ESESSIONEXPIRED;
                        continue;
                }
                if (rc != SYNOD_ENOTHING && rc != SYNOD_ENOTEMPTY && !cl_retryable(l->h, rc))
                        return cl_lock_give_up(l, rc);
                if (cl_past(deadline))
                        return cl_lock_give_up(l, SYNOD_EOPERATIONTIMEOUT);
                while (rc == SYNOD_ENOTHING && cl_events_value(l->h) == seen &&
                       !cl_past(deadline)) {
                        if (l->cancel != NULL && l->cancel(l->cancel_arg))
                                return cl_lock_give_up(l, SYNOD_ECLOSING);
                        cl_events_wait(l->h, seen, CLIENT_RECIPE_POLL_MS);
                }
        }
}

int synod_lock_release(struct synod_lock *l)
{
        int rc = SYNOD_OK;
        if (l->node != NULL) {
                do {
                        rc = synod_delete(l->h, l->node, -1);
                } while (cl_retryable(l->h, rc));
                if (rc == SYNOD_ENONODE || rc == SYNOD_ESESSIONEXPIRED)
                        rc = SYNOD_OK; /* gone either way */
        }
        cl_lock_forget(l);
        return rc;
}

bool synod_lock_held(struct synod_lock *l)
{
        return l->held && synod_state(l->h) != SYNOD_STATE_EXPIRED &&
               synod_state(l->h) != SYNOD_STATE_CLOSED;
}

int64_t synod_lock_token(struct synod_lock *l)
{
        return l->held ? l->token : 0;
}

const char *synod_lock_path(struct synod_lock *l)
{
        return l->node;
}

bool synod_lock_check(struct synod_lock *l)
{
        if (!synod_lock_held(l))
                return false;
        int rc = synod_exists(l->h, l->node, NULL, NULL, NULL);
        return rc == SYNOD_OK || rc == SYNOD_ECONNECTIONLOSS; /* unknown: still ours so far */
}
