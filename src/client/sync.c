/*
 * Blocking convenience wrappers over synod_call_sync: one request each, with
 * results copied into caller-owned memory. Recursive create and delete are
 * sequences of requests, not atomic. The membership node is read outside the
 * chroot, as the Java client's getConfig does.
 */
#include "client/client.h"

#include "base/zk_types.h"

#include <stdlib.h>
#include <string.h>

int synod_create(struct synod *h, const char *path, const void *data, int32_t data_len, int mode,
                 char **created_path)
{
        struct synod_request q = {
            .op = SYNOD_OP_CREATE, .path = path, .data = data, .data_len = data_len, .mode = mode};
        struct synod_result *res;
        if (created_path)
                *created_path = NULL;
        int rc = synod_call_sync(h, &q, &res);
        if (rc == SYNOD_OK && created_path) {
                *created_path = res->path;
                res->path = NULL;
        }
        synod_result_free(res);
        return rc;
}

int synod_create_parents(struct synod *h, const char *path)
{
        size_t n = strlen(path);
        if (n == 0 || path[0] != '/' || n > ZK_PATH_BYTES_MAX)
                return SYNOD_EBADARGUMENTS;
        char *p = strdup(path);
        if (p == NULL)
                return SYNOD_ESYSTEMERROR;
        int rc = SYNOD_OK;
        for (size_t i = 1; i <= n && rc == SYNOD_OK; i++) {
                if (p[i] != '/' && p[i] != '\0')
                        continue;
                char saved = p[i];
                p[i] = '\0';
                rc = synod_create(h, p, NULL, 0, SYNOD_PERSISTENT, NULL);
                if (rc == SYNOD_ENODEEXISTS)
                        rc = SYNOD_OK;
                p[i] = saved;
        }
        free(p);
        return rc;
}

int synod_delete(struct synod *h, const char *path, int32_t version)
{
        struct synod_request q = {.op = SYNOD_OP_DELETE, .path = path, .version = version};
        return synod_call_sync(h, &q, NULL);
}

/* Depth first, children before their parent; *deleted counts the nodes deleted. */
static int delete_subtree(struct synod *h, const char *path, synod_progress_fn progress, void *arg,
                          uint64_t *deleted)
{
        char **kids;
        int32_t n;
        int rc = synod_children(h, path, &kids, &n, NULL, NULL);
        if (rc == SYNOD_ENONODE)
                return SYNOD_OK;
        if (rc != SYNOD_OK)
                return rc;
        for (int32_t i = 0; i < n && rc == SYNOD_OK; i++) {
                char *child = cl_child_path(path, kids[i]);
                rc = child ? delete_subtree(h, child, progress, arg, deleted) : SYNOD_ESYSTEMERROR;
                free(child);
        }
        synod_strings_free(kids, n);
        if (rc == SYNOD_OK)
                rc = synod_delete(h, path, -1);
        if (rc == SYNOD_OK) {
                (*deleted)++;
                if (progress != NULL)
                        progress(arg, *deleted);
        }
        return rc == SYNOD_ENONODE ? SYNOD_OK : rc;
}

int synod_delete_recursive_progress(struct synod *h, const char *path, synod_progress_fn progress,
                                    void *arg)
{
        uint64_t deleted = 0;
        return delete_subtree(h, path, progress, arg, &deleted);
}

int synod_delete_recursive(struct synod *h, const char *path)
{
        return synod_delete_recursive_progress(h, path, NULL, NULL);
}

int synod_exists(struct synod *h, const char *path, struct synod_stat *stat, synod_watch_fn watch,
                 void *watch_arg)
{
        struct synod_request q = {
            .op = SYNOD_OP_EXISTS, .path = path, .watch = watch, .watch_arg = watch_arg};
        struct synod_result *res;
        int rc = synod_call_sync(h, &q, &res);
        if (rc == SYNOD_OK && stat)
                *stat = res->stat;
        synod_result_free(res);
        return rc;
}

/* Hands a GET or RECONFIG result's data and stat over to the caller's pointers (each
 * may be NULL): cleared first, filled on SYNOD_OK. Frees res. */
static int cl_take_data(int rc, struct synod_result *res, char **data, int32_t *data_len,
                        struct synod_stat *stat)
{
        if (data)
                *data = NULL;
        if (data_len)
                *data_len = -1;
        if (rc == SYNOD_OK) {
                if (data) {
                        *data = res->data;
                        res->data = NULL;
                }
                if (data_len)
                        *data_len = res->data_len;
                if (stat)
                        *stat = res->stat;
        }
        synod_result_free(res);
        return rc;
}

/* getData of path under `chroot`. */
static int cl_get_under(struct synod *h, const char *chroot, const char *path, char **data,
                        int32_t *data_len, struct synod_stat *stat, synod_watch_fn watch,
                        void *watch_arg)
{
        struct synod_request q = {
            .op = SYNOD_OP_GET, .path = path, .watch = watch, .watch_arg = watch_arg};
        struct synod_result *res;
        int rc = cl_call_sync(h, chroot, &q, &res);
        return cl_take_data(rc, res, data, data_len, stat);
}

int synod_get(struct synod *h, const char *path, char **data, int32_t *data_len,
              struct synod_stat *stat, synod_watch_fn watch, void *watch_arg)
{
        return cl_get_under(h, h != NULL ? h->cs.chroot : "", path, data, data_len, stat, watch,
                            watch_arg);
}

int synod_set(struct synod *h, const char *path, const void *data, int32_t data_len,
              int32_t version, struct synod_stat *stat)
{
        struct synod_request q = {.op = SYNOD_OP_SET,
                                  .path = path,
                                  .data = data,
                                  .data_len = data_len,
                                  .version = version};
        struct synod_result *res;
        int rc = synod_call_sync(h, &q, &res);
        if (rc == SYNOD_OK && stat)
                *stat = res->stat;
        synod_result_free(res);
        return rc;
}

int synod_children(struct synod *h, const char *path, char ***children, int32_t *count,
                   synod_watch_fn watch, void *watch_arg)
{
        struct synod_request q = {
            .op = SYNOD_OP_CHILDREN, .path = path, .watch = watch, .watch_arg = watch_arg};
        struct synod_result *res;
        *children = NULL;
        *count = 0;
        int rc = synod_call_sync(h, &q, &res);
        if (rc == SYNOD_OK) {
                *children = res->children;
                *count = res->child_count;
                res->children = NULL;
                res->child_count = 0;
        }
        synod_result_free(res);
        return rc;
}

int synod_sync(struct synod *h, const char *path)
{
        struct synod_request q = {.op = SYNOD_OP_SYNC, .path = path};
        return synod_call_sync(h, &q, NULL);
}

int synod_add_watch(struct synod *h, const char *path, bool recursive, synod_watch_fn watch,
                    void *watch_arg)
{
        struct synod_request q = {.op = SYNOD_OP_ADD_WATCH,
                                  .path = path,
                                  .recursive = recursive,
                                  .watch = watch,
                                  .watch_arg = watch_arg};
        return synod_call_sync(h, &q, NULL);
}

int synod_get_config(struct synod *h, char **config, int32_t *config_len, struct synod_stat *stat,
                     synod_watch_fn watch, void *watch_arg)
{
        return cl_get_under(h, "", ZK_CONFIG_NODE, config, config_len, stat, watch, watch_arg);
}

int synod_reconfig(struct synod *h, const char *joining, const char *leaving,
                   const char *new_members, int64_t from_config, char **config, int32_t *config_len,
                   struct synod_stat *stat)
{
        struct synod_request q = {.op = SYNOD_OP_RECONFIG,
                                  .joining = joining,
                                  .leaving = leaving,
                                  .new_members = new_members,
                                  .from_config = from_config};
        struct synod_result *res;
        int rc = synod_call_sync(h, &q, &res);
        return cl_take_data(rc, res, config, config_len, stat);
}
