/*
 * Configuration subtree: "<root>/<key>" nodes, value = data. The root's data
 * version is the generation: every apply is one multi that first sets the
 * root's data with a version check (bumping the generation, and storing a
 * guid naming the apply), then creates, sets or deletes the keys. So:
 *   - an apply is all or nothing, and two applies never interleave;
 *   - a reader gets a consistent snapshot by reading the generation, the
 *     keys, then the generation again, and retrying if it moved (every
 *     change moves it, and one session's reads are served in order);
 *   - after a connection loss during apply, the guid in the root tells
 *     whether our multi was applied, so an apply is never done twice.
 * Watchers should add a persistent recursive watch on the root and re-read
 * on every event and on reconnection (persistent watches are re-registered
 * on reconnect without replaying what changed meanwhile; the generation
 * makes the re-read cheap to compare).
 */
#include "client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cl_entry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct synod_config_entry *)a)->key,
                      ((const struct synod_config_entry *)b)->key);
}

void synod_config_free(struct synod_config *cfg)
{
        for (int32_t i = 0; i < cfg->count; i++) {
                free(cfg->entries[i].key);
                free(cfg->entries[i].value);
        }
        free(cfg->entries);
        memset(cfg, 0, sizeof(*cfg));
}

/* Reads the keys (no consistency check). */
static int cl_config_read_keys(struct synod *h, const char *root, struct synod_config *out)
{
        char **kids;
        int32_t n;
        int rc = synod_children(h, root, &kids, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return rc;
        out->entries = n ? calloc((size_t)n, sizeof(*out->entries)) : NULL;
        if (n && out->entries == NULL)
                rc = SYNOD_ESYSTEMERROR;
        for (int32_t i = 0; i < n && rc == SYNOD_OK; i++) {
                char *path = cl_child_path(root, kids[i]);
                struct synod_config_entry *e = &out->entries[out->count];
                struct synod_stat st;
                rc = path ? synod_get(h, path, &e->value, NULL, &st, NULL, NULL)
                          : SYNOD_ESYSTEMERROR;
                free(path);
                if (rc == SYNOD_ENONODE) { /* deleted meanwhile: the generation check retries */
                        rc = SYNOD_OK;
                        continue;
                }
                if (rc != SYNOD_OK)
                        break;
                if (e->value == NULL)
                        e->value = strdup("");
                e->key = kids[i];
                kids[i] = NULL;
                e->version = st.version;
                out->count++;
        }
        synod_strings_free(kids, n);
        if (out->count > 1)
                qsort(out->entries, (size_t)out->count, sizeof(*out->entries), cl_entry_cmp);
        return rc;
}

int synod_config_get(struct synod *h, const char *root, struct synod_config *out)
{
        memset(out, 0, sizeof(*out));
        for (int round = 0; round < CLIENT_CAS_ROUNDS_MAX; round++) {
                struct synod_stat before, after;
                int rc = synod_exists(h, root, &before, NULL, NULL);
                if (rc == SYNOD_OK)
                        rc = cl_config_read_keys(h, root, out);
                if (rc == SYNOD_OK)
                        rc = synod_exists(h, root, &after, NULL, NULL);
                if (rc == SYNOD_OK && before.version == after.version) {
                        out->generation = after.version;
                        return SYNOD_OK;
                }
                synod_config_free(out);
                if (rc != SYNOD_OK && !cl_retryable(h, rc))
                        return rc;
        }
        return SYNOD_EOPERATIONTIMEOUT;
}

static bool cl_key_ok(const char *k)
{
        return k != NULL && k[0] != '\0' && strchr(k, '/') == NULL && strcmp(k, ".") != 0 &&
               strcmp(k, "..") != 0;
}

static int cl_str_ptr_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool cl_keys_repeat(const struct synod_config_entry *entries, int32_t count)
{
        if (count < 2)
                return false;
        const char **keys = malloc((size_t)count * sizeof(*keys));
        if (keys == NULL)
                return true; /* cannot check: refuse */
        for (int32_t i = 0; i < count; i++)
                keys[i] = entries[i].key;
        qsort(keys, (size_t)count, sizeof(*keys), cl_str_ptr_cmp);
        bool repeat = false;
        for (int32_t i = 1; i < count && !repeat; i++)
                repeat = strcmp(keys[i - 1], keys[i]) == 0;
        free(keys);
        return repeat;
}

static const struct synod_config_entry *cl_config_find(const struct synod_config *cur,
                                                       const char *key)
{
        for (int32_t i = 0; i < cur->count; i++)
                if (strcmp(cur->entries[i].key, key) == 0)
                        return &cur->entries[i];
        return NULL;
}

/* Builds and runs the multi against the snapshot cur. */
static int cl_config_multi(struct synod *h, const char *root, const struct synod_config *cur,
                           const struct synod_config_entry *entries, int32_t count,
                           const char *guid)
{
        struct synod_request *ops = calloc((size_t)count + 1, sizeof(*ops));
        char **paths = calloc((size_t)count + 1, sizeof(char *));
        int rc = ops && paths ? SYNOD_OK : SYNOD_ESYSTEMERROR;
        int32_t n = 0;
        if (rc == SYNOD_OK)
                ops[n++] = (struct synod_request){.op = SYNOD_OP_SET,
                                                  .path = root,
                                                  .data = guid,
                                                  .data_len = (int32_t)strlen(guid),
                                                  .version = cur->generation};
        for (int32_t i = 0; i < count && rc == SYNOD_OK; i++) {
                const struct synod_config_entry *have = cl_config_find(cur, entries[i].key);
                if (entries[i].value == NULL && have == NULL)
                        continue;
                if ((paths[i] = cl_child_path(root, entries[i].key)) == NULL) {
                        rc = SYNOD_ESYSTEMERROR;
                        break;
                }
                struct synod_request *q = &ops[n++];
                q->path = paths[i];
                q->version = have ? have->version : -1;
                q->data = entries[i].value;
                q->data_len = entries[i].value ? (int32_t)strlen(entries[i].value) : -1;
                q->op = entries[i].value == NULL ? SYNOD_OP_DELETE
                                                 : (have ? SYNOD_OP_SET : SYNOD_OP_CREATE);
        }
        if (rc == SYNOD_OK) {
                struct synod_request m = {.op = SYNOD_OP_MULTI, .ops = ops, .op_count = n};
                rc = synod_call_sync(h, &m, NULL);
        }
        for (int32_t i = 0; paths && i < count; i++)
                free(paths[i]);
        free(paths);
        free(ops);
        return rc;
}

/* After a lost reply: was our multi applied? SYNOD_OK yes, ENOTHING no, else error. */
static int cl_config_was_applied(struct synod *h, const char *root, const char *guid)
{
        char *data = NULL;
        int rc = synod_get(h, root, &data, NULL, NULL, NULL, NULL);
        if (rc == SYNOD_OK)
                rc = data && strcmp(data, guid) == 0 ? SYNOD_OK : SYNOD_ENOTHING;
        free(data);
        return rc;
}

int synod_config_apply(struct synod *h, const char *root, const struct synod_config_entry *entries,
                       int32_t count, int32_t expected_generation)
{
        if (count < 0 || count >= ZK_MULTI_OPS_MAX)
                return SYNOD_EBADARGUMENTS;
        for (int32_t i = 0; i < count; i++)
                if (!cl_key_ok(entries[i].key))
                        return SYNOD_EBADARGUMENTS;
        if (cl_keys_repeat(entries, count))
                return SYNOD_EBADARGUMENTS; /* two ops on one key: the multi could never apply */
        char guid[40];
        cl_guid(guid, sizeof(guid));
        for (int round = 0; round < CLIENT_CAS_ROUNDS_MAX; round++) {
                struct synod_config cur;
                int rc = synod_config_get(h, root, &cur);
                if (rc == SYNOD_ENONODE) {
                        rc = synod_create_parents(h, root);
                        if (rc == SYNOD_OK || cl_retryable(h, rc))
                                continue;
                        return rc;
                }
                if (rc != SYNOD_OK)
                        return rc;
                if (expected_generation >= 0 && cur.generation != expected_generation) {
                        synod_config_free(&cur);
                        return SYNOD_EBADVERSION;
                }
                rc = cl_config_multi(h, root, &cur, entries, count, guid);
                synod_config_free(&cur);
                while (rc == SYNOD_ECONNECTIONLOSS) { /* bounded by the session */
                        if (!cl_retryable(h, rc))
                                return rc;
                        rc = cl_config_was_applied(h, root, guid);
                        if (rc == SYNOD_ENOTHING)
                                rc = SYNOD_EBADVERSION; /* not applied: try again */
                }
                if (rc == SYNOD_OK)
                        return SYNOD_OK;
                bool raced =
                    rc == SYNOD_EBADVERSION || rc == SYNOD_ENODEEXISTS || rc == SYNOD_ENONODE;
                if (!raced || expected_generation >= 0)
                        return raced ? SYNOD_EBADVERSION : rc;
        }
        return SYNOD_EOPERATIONTIMEOUT;
}
