/*
 * Service registry: "/services/<service>/<instance>" ephemeral nodes whose
 * data is {"address":"...","port":N,"metadata":{...}}. An instance is
 * registered exactly as long as its session lives, so a dead process
 * disappears from the list within a session timeout.
 *
 * The data is JSON we wrote ourselves, but other writers exist, so reading it
 * is a bounded scan that tolerates anything: unknown keys are skipped, a
 * malformed value leaves the field empty.
 */
#include "client/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CL_SERVICES_ROOT "/services"

static bool cl_name_ok(const char *s)
{
        return s != NULL && s[0] != '\0' && strchr(s, '/') == NULL && strlen(s) < 256 &&
               strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Appends s as a JSON string to w. */
static void cl_json_string(struct syn_writer *w, const char *s)
{
        syn_write_u8(w, '"');
        for (; *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\') {
                        syn_write_u8(w, '\\');
                        syn_write_u8(w, c);
                } else if (c < 0x20) {
                        char esc[8];
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        syn_write_bytes(w, esc, 6);
                } else {
                        syn_write_u8(w, c);
                }
        }
        syn_write_u8(w, '"');
}

int synod_service_register(struct synod *h, const char *service, const char *instance_id,
                           const char *address, int port, const char *metadata_json,
                           char **path_out)
{
        char idbuf[40];
        if (instance_id == NULL) {
                cl_guid(idbuf, sizeof(idbuf));
                instance_id = idbuf;
        }
        if (!cl_name_ok(service) || !cl_name_ok(instance_id) || address == NULL || port < 0 ||
            port > 65535 || (metadata_json && metadata_json[0] != '{'))
                return SYNOD_EBADARGUMENTS;
        struct syn_writer w;
        syn_writer_init(&w, ZK_FRAME_BYTES_MAX / 2);
        char num[32];
        syn_write_bytes(&w, "{\"address\":", 11);
        cl_json_string(&w, address);
        snprintf(num, sizeof(num), ",\"port\":%d,\"metadata\":", port);
        syn_write_bytes(&w, num, strlen(num));
        const char *meta = metadata_json ? metadata_json : "{}";
        syn_write_bytes(&w, meta, strlen(meta));
        syn_write_u8(&w, '}');
        char path[600];
        snprintf(path, sizeof(path), CL_SERVICES_ROOT "/%s/%s", service, instance_id);
        /*
         * Every round ends in one of three ways: registered (break with OK), a final
         * error (break with it), or a retryable failure that leaves rc holding that
         * failure, so that running out of rounds returns the last error instead of
         * success for a node that was never created.
         */
        int rc = w.failed ? SYNOD_EBADARGUMENTS : SYNOD_ECONNECTIONLOSS;
        for (int round = 0; !w.failed && round < CLIENT_CAS_ROUNDS_MAX; round++) {
                rc = synod_create(h, path, w.data, (int32_t)w.len, SYNOD_EPHEMERAL, NULL);
                if (rc == SYNOD_ENONODE) {
                        char dir[300];
                        snprintf(dir, sizeof(dir), CL_SERVICES_ROOT "/%s", service);
                        int parents_rc = synod_create_parents(h, dir);
                        if (parents_rc == SYNOD_OK)
                                continue; /* rc stays ENONODE until a create succeeds */
                        rc = parents_rc;
                }
                if (rc == SYNOD_OK || !cl_retryable(h, rc))
                        break;
                /* The reply was lost: our create may have happened. Is it ours? */
                struct synod_stat st;
                int exists_rc = synod_exists(h, path, &st, NULL, NULL);
                if (exists_rc == SYNOD_OK) {
                        rc = st.ephemeral_owner == synod_session_id(h) ? SYNOD_OK
                                                                       : SYNOD_ENODEEXISTS;
                        break;
                }
                if (exists_rc != SYNOD_ENONODE && !cl_retryable(h, exists_rc)) {
                        rc = exists_rc;
                        break;
                }
                /* Not created (or still unknown): try again, rc keeps the create's error. */
        }
        syn_writer_close(&w);
        if (rc == SYNOD_OK && path_out)
                *path_out = strdup(path);
        return rc;
}

/* ---- reading instance JSON ---- */

/* Position after `"key":` (whitespace skipped), or NULL. */
static const char *cl_json_find(const char *s, const char *key)
{
        size_t k = strlen(key);
        for (const char *p = strchr(s, '"'); p != NULL; p = strchr(p + 1, '"')) {
                if (strncmp(p + 1, key, k) != 0 || p[k + 1] != '"')
                        continue;
                const char *q = p + k + 2;
                while (*q == ' ' || *q == '\t' || *q == '\n')
                        q++;
                if (*q != ':')
                        continue;
                q++;
                while (*q == ' ' || *q == '\t' || *q == '\n')
                        q++;
                return q;
        }
        return NULL;
}

static char *cl_json_read_string(const char *p)
{
        if (p == NULL || *p != '"')
                return strdup("");
        size_t n = strlen(p);
        char *out = malloc(n + 1);
        if (out == NULL)
                return NULL;
        size_t o = 0;
        for (p++; *p != '\0' && *p != '"'; p++) {
                if (*p == '\\' && p[1] != '\0') {
                        p++;
                        if (*p == 'u' && strlen(p) >= 5) {
                                unsigned v = (unsigned)strtoul((char[5]){p[1], p[2], p[3], p[4], 0},
                                                               NULL, 16);
                                out[o++] = v < 0x80 ? (char)v : '?';
                                p += 4;
                                continue;
                        }
                        out[o++] = *p == 'n' ? '\n' : (*p == 't' ? '\t' : *p);
                        continue;
                }
                out[o++] = *p;
        }
        out[o] = '\0';
        return out;
}

/* The balanced {...} at p (strings respected), copied; "{}" if none. */
static char *cl_json_read_object(const char *p)
{
        if (p == NULL || *p != '{')
                return strdup("{}");
        int depth = 0;
        bool in_str = false;
        for (const char *q = p; *q != '\0'; q++) {
                if (in_str) {
                        if (*q == '\\' && q[1] != '\0')
                                q++;
                        else if (*q == '"')
                                in_str = false;
                } else if (*q == '"') {
                        in_str = true;
                } else if (*q == '{') {
                        depth++;
                } else if (*q == '}' && --depth == 0) {
                        return strndup(p, (size_t)(q - p + 1));
                }
        }
        return strdup("{}");
}

static int cl_instance_parse(const char *id, const char *json, struct synod_instance *out)
{
        const char *port = cl_json_find(json, "port");
        out->id = strdup(id);
        out->address = cl_json_read_string(cl_json_find(json, "address"));
        out->port = port ? atoi(port) : 0;
        out->metadata_json = cl_json_read_object(cl_json_find(json, "metadata"));
        return out->id && out->address && out->metadata_json ? SYNOD_OK : SYNOD_ESYSTEMERROR;
}

void synod_instance_clear(struct synod_instance *it)
{
        free(it->id);
        free(it->address);
        free(it->metadata_json);
        memset(it, 0, sizeof(*it));
}

void synod_instances_free(struct synod_instance *items, int32_t count)
{
        if (items == NULL)
                return;
        for (int32_t i = 0; i < count; i++)
                synod_instance_clear(&items[i]);
        free(items);
}

static int cl_service_list_once(struct synod *h, const char *dir, struct synod_instance *items,
                                char **kids, int32_t n, int32_t *count)
{
        *count = 0;
        for (int32_t i = 0; i < n; i++) {
                char *path = cl_child_path(dir, kids[i]);
                char *data = NULL;
                int rc =
                    path ? synod_get(h, path, &data, NULL, NULL, NULL, NULL) : SYNOD_ESYSTEMERROR;
                free(path);
                if (rc == SYNOD_ENONODE)
                        continue; /* left while we listed: not live */
                if (rc != SYNOD_OK) {
                        free(data);
                        return rc;
                }
                rc = cl_instance_parse(kids[i], data ? data : "", &items[*count]);
                (*count)++;
                free(data);
                if (rc != SYNOD_OK)
                        return rc;
        }
        return SYNOD_OK;
}

int synod_service_list(struct synod *h, const char *service, struct synod_instance **out,
                       int32_t *count, synod_watch_fn watch, void *watch_arg)
{
        *out = NULL;
        *count = 0;
        if (!cl_name_ok(service))
                return SYNOD_EBADARGUMENTS;
        char dir[300];
        snprintf(dir, sizeof(dir), CL_SERVICES_ROOT "/%s", service);
        char **kids;
        int32_t n;
        int rc;
        do {
                rc = synod_children(h, dir, &kids, &n, watch, watch_arg);
        } while (rc != SYNOD_OK && cl_retryable(h, rc));
        if (rc == SYNOD_ENONODE && watch != NULL) /* no service yet: watch for its creation */
                synod_exists(h, dir, NULL, watch, watch_arg);
        if (rc != SYNOD_OK || n == 0) {
                synod_strings_free(kids, n);
                return rc == SYNOD_ENONODE ? SYNOD_OK : rc;
        }
        struct synod_instance *items = calloc((size_t)n, sizeof(*items));
        int32_t got = 0;
        rc = items ? cl_service_list_once(h, dir, items, kids, n, &got) : SYNOD_ESYSTEMERROR;
        synod_strings_free(kids, n);
        if (rc != SYNOD_OK) {
                synod_instances_free(items, got);
                return rc;
        }
        *out = items;
        *count = got;
        return SYNOD_OK;
}

int synod_service_pick(struct synod *h, const char *service, const char *avoid_id, uint64_t seed,
                       struct synod_instance *out)
{
        memset(out, 0, sizeof(*out));
        struct synod_instance *items;
        int32_t n;
        int rc = synod_service_list(h, service, &items, &n, NULL, NULL);
        if (rc != SYNOD_OK)
                return rc;
        int32_t live = 0;
        for (int32_t i = 0; i < n; i++)
                if (avoid_id == NULL || strcmp(items[i].id, avoid_id) != 0)
                        live++;
        rc = SYNOD_ENONODE;
        if (live > 0) {
                struct syn_rand r;
                syn_rand_seed(&r, seed);
                int32_t k = (int32_t)syn_rand_below(&r, (uint64_t)live);
                for (int32_t i = 0; i < n; i++) {
                        if (avoid_id != NULL && strcmp(items[i].id, avoid_id) == 0)
                                continue;
                        if (k-- == 0) {
                                *out = items[i];
                                memset(&items[i], 0, sizeof(items[i]));
                                rc = SYNOD_OK;
                                break;
                        }
                }
        }
        synod_instances_free(items, n);
        return rc;
}
