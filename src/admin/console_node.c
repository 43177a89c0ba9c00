/*
 * One znode through the console (console.h): read (GET) or edit (POST) with a session of
 * this server that carries the identity the request's Authorization header names, so the
 * server decides what is allowed exactly as for any client (NOAUTH is a 403 here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/console.h"
#include "admin/json.h"
#include "base/limits.h"
#include "synod/synod.h"

/* The status a client error answers with. */
static unsigned status_of(int err)
{
        switch (err) {
        case SYNOD_ENONODE:
                return CONSOLE_NOT_FOUND;
        case SYNOD_ENOAUTH:
        case SYNOD_EAUTHFAILED:
                return CONSOLE_FORBIDDEN;
        case SYNOD_EBADARGUMENTS:
        case SYNOD_EINVALIDACL:
        case SYNOD_ENOCHILDRENFOREPHEMERALS:
                return CONSOLE_BAD_REQUEST;
        case SYNOD_ENODEEXISTS:
        case SYNOD_ENOTEMPTY:
        case SYNOD_EBADVERSION:
                return CONSOLE_CONFLICT;
        case SYNOD_ECONNECTIONLOSS:
        case SYNOD_EOPERATIONTIMEOUT:
        case SYNOD_ESESSIONEXPIRED:
        case SYNOD_ECLOSING:
                return CONSOLE_UNAVAILABLE;
        default:
                return CONSOLE_INTERNAL_ERROR;
        }
}

static void refuse_err(struct admin_server *a, struct admin_request *r, int err)
{
        console_refuse(a, r, status_of(err), synod_errname(err), synod_strerror(err));
}

static json_t *zxid(int64_t v)
{
        char hex[24];
        snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)v);
        return json_string(hex);
}

/* ZooKeeper's Stat field names; zxids and the owner's session id in hex, as zkCli prints
 * them (and because a session id does not fit a JavaScript number). */
static json_t *stat_json(const struct synod_stat *s)
{
        json_t *o = json_object();
        put(o, "czxid", zxid(s->czxid));
        put(o, "mzxid", zxid(s->mzxid));
        put(o, "pzxid", zxid(s->pzxid));
        put_int(o, "ctime", s->ctime_ms);
        put_int(o, "mtime", s->mtime_ms);
        put_int(o, "version", s->version);
        put_int(o, "cversion", s->cversion);
        put_int(o, "aversion", s->aversion);
        put(o, "ephemeralOwner", zxid(s->ephemeral_owner));
        put_int(o, "dataLength", s->data_length);
        put_int(o, "numChildren", s->num_children);
        return o;
}

static json_t *hex_json(const char *data, int32_t len)
{
        if (len < 0)
                return json_null();
        static const char digits[] = "0123456789abcdef";
        char *hex = malloc((size_t)len * 2 + 1);
        if (hex == NULL)
                return NULL;
        for (int32_t i = 0; i < len; i++) {
                hex[2 * i] = digits[(unsigned char)data[i] >> 4];
                hex[2 * i + 1] = digits[(unsigned char)data[i] & 15];
        }
        json_t *s = json_stringn(hex, (size_t)len * 2);
        free(hex);
        return s;
}

static json_t *perms_json(int32_t perms)
{
        /* zkCli's letters, in its order. */
        static const struct {
                int32_t bit;
                char letter;
        } map[] = {{SYNOD_PERM_CREATE, 'c'},
                   {SYNOD_PERM_DELETE, 'd'},
                   {SYNOD_PERM_READ, 'r'},
                   {SYNOD_PERM_WRITE, 'w'},
                   {SYNOD_PERM_ADMIN, 'a'}};
        char s[8];
        size_t n = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (perms & map[i].bit)
                        s[n++] = map[i].letter;
        return json_stringn(s, n);
}

static json_t *acl_json(const struct synod_result *res)
{
        json_t *list = json_array();
        for (int32_t i = 0; i < res->acl_count; i++) {
                json_t *e = json_object();
                put_str(e, "scheme", res->acl[i].scheme);
                put_str(e, "id", res->acl[i].id);
                put(e, "perms", perms_json(res->acl[i].perms));
                json_array_append_new(list, e);
        }
        return list;
}

static json_t *children_json(const struct synod_result *res)
{
        json_t *list = json_array();
        int32_t n = res->child_count < ADMIN_CONSOLE_CHILDREN_MAX ? res->child_count
                                                                  : ADMIN_CONSOLE_CHILDREN_MAX;
        for (int32_t i = 0; i < n; i++)
                json_array_append_new(list, json_string(res->children[i]));
        return list;
}

static int call(struct synod *h, int op, const char *path, struct synod_result **res)
{
        struct synod_request q = {.op = op, .path = path};
        return synod_call_sync(h, &q, res);
}

static void read_node(struct admin_server *a, struct admin_request *r, struct synod *h,
                      const char *znode)
{
        struct synod_result *data = NULL, *kids = NULL, *acl = NULL;
        int rc = call(h, SYNOD_OP_GET, znode, &data);
        if (rc == SYNOD_OK)
                rc = call(h, SYNOD_OP_CHILDREN, znode, &kids);
        if (rc == SYNOD_OK)
                rc = call(h, SYNOD_OP_GET_ACL, znode, &acl);
        if (rc != SYNOD_OK) {
                refuse_err(a, r, rc);
        } else {
                json_t *o = json_object();
                put_str(o, "path", znode);
                put(o, "data", hex_json(data->data, data->data_len));
                put(o, "stat", stat_json(&data->stat));
                put(o, "children", children_json(kids));
                put_int(o, "childrenTotal", kids->child_count);
                put(o, "acl", acl_json(acl));
                console_answer(a, r, CONSOLE_OK, o);
        }
        synod_result_free(data);
        synod_result_free(kids);
        synod_result_free(acl);
}

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes hex text in place; false if it is not pairs of hex digits. */
static bool unhex(char *s, size_t *len)
{
        if (*len % 2 != 0)
                return false;
        for (size_t i = 0; i < *len / 2; i++) {
                int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return false;
                s[i] = (char)(hi << 4 | lo);
        }
        *len /= 2;
        return true;
}

/* An edit as the page sends it: {"op": "create"|"set"|"delete", "data": "...",
 * "encoding": "text"|"hex", "version": N}. */
struct edit {
        int op;
        char *data; /* malloc'd; decoded */
        size_t data_len;
        int32_t version;
};

/* Parses the body into e; NULL, or what is wrong with it. */
static const char *parse_edit(const uint8_t *body, size_t len, struct edit *e)
{
        json_t *o = json_loadb((const char *)body, len, 0, NULL);
        if (!json_is_object(o)) {
                json_decref(o);
                return "the body must be a JSON object";
        }
        const char *problem = NULL;
        const char *op = json_string_value(json_object_get(o, "op"));
        const char *encoding = json_string_value(json_object_get(o, "encoding"));
        json_t *data = json_object_get(o, "data");
        json_t *version = json_object_get(o, "version");
        e->version = -1;
        if (op != NULL && strcmp(op, "create") == 0)
                e->op = SYNOD_OP_CREATE;
        else if (op != NULL && strcmp(op, "set") == 0)
                e->op = SYNOD_OP_SET;
        else if (op != NULL && strcmp(op, "delete") == 0)
                e->op = SYNOD_OP_DELETE;
        else
                problem = "\"op\" must be create, set or delete";
        if (problem == NULL && data != NULL && !json_is_string(data))
                problem = "\"data\" must be a string";
        if (problem == NULL && encoding != NULL && strcmp(encoding, "text") != 0 &&
            strcmp(encoding, "hex") != 0)
                problem = "\"encoding\" must be text or hex";
        if (problem == NULL && version != NULL &&
            (!json_is_integer(version) || json_integer_value(version) < -1 ||
             json_integer_value(version) > INT32_MAX))
                problem = "\"version\" must be a node version or -1";
        if (problem == NULL) {
                e->data_len = data != NULL ? json_string_length(data) : 0;
                e->data = malloc(e->data_len + 1);
                if (e->data == NULL)
                        problem = "out of memory";
        }
        if (problem == NULL) {
                memcpy(e->data, data != NULL ? json_string_value(data) : "", e->data_len);
                if (version != NULL)
                        e->version = (int32_t)json_integer_value(version);
                if (encoding != NULL && strcmp(encoding, "hex") == 0 &&
                    !unhex(e->data, &e->data_len))
                        problem = "\"data\" is not hex";
        }
        json_decref(o);
        return problem;
}

static void edit_node(struct admin_server *a, struct admin_request *r, struct synod *h,
                      const char *znode)
{
        size_t len;
        const uint8_t *body = admin_request_body(r, &len);
        struct edit e = {0};
        const char *problem = parse_edit(body, len, &e);
        if (problem != NULL) {
                free(e.data);
                console_refuse(a, r, CONSOLE_BAD_REQUEST, "bad edit", problem);
                return;
        }
        if (e.data_len > TREE_DATA_BYTES_MAX) {
                free(e.data);
                console_refuse(a, r, CONSOLE_BAD_REQUEST, "ZBADARGUMENTS",
                               "data larger than jute.maxbuffer");
                return;
        }
        struct synod_request q = {.op = e.op,
                                  .path = znode,
                                  .data = e.data,
                                  .data_len = (int32_t)e.data_len,
                                  .version = e.version,
                                  .mode = SYNOD_PERSISTENT};
        struct synod_result *res = NULL;
        int rc = synod_call_sync(h, &q, &res);
        free(e.data);
        if (rc != SYNOD_OK) {
                refuse_err(a, r, rc);
        } else {
                json_t *o = json_object();
                put_str(o, "path", e.op == SYNOD_OP_CREATE ? res->path : znode);
                if (e.op != SYNOD_OP_DELETE)
                        put(o, "stat", stat_json(&res->stat));
                console_answer(a, r, CONSOLE_OK, o);
        }
        synod_result_free(res);
}

/* The "user:password" of `Authorization: digest user:password`, or NULL. */
static const char *credentials(const char *header)
{
        static const char scheme[] = "digest ";
        if (header == NULL || strncasecmp(header, scheme, sizeof scheme - 1) != 0)
                return NULL;
        const char *id = header + sizeof scheme - 1;
        const char *colon = strchr(id, ':');
        return colon != NULL && colon != id ? id : NULL;
}

void console_node(struct admin_server *a, struct admin_request *r, const char *servers,
                  const char *znode)
{
        const char *method = admin_request_method(r);
        bool edit = strcmp(method, "POST") == 0;
        if (!edit && strcmp(method, "GET") != 0) {
                console_refuse(a, r, CONSOLE_METHOD_NOT_ALLOWED, "method",
                               "a node is read with GET and edited with POST");
                return;
        }
        const char *header = admin_request_authorization(r);
        const char *creds = credentials(header);
        if (header != NULL && creds == NULL) {
                console_refuse(a, r, CONSOLE_BAD_REQUEST, "bad credentials",
                               "send Authorization: digest user:password");
                return;
        }
        if (edit && creds == NULL) {
                console_refuse(a, r, CONSOLE_UNAUTHORIZED, "credentials required",
                               "editing needs digest credentials (user:password)");
                return;
        }
        struct synod *h = NULL;
        int rc = console_open(&h, servers, creds);
        if (rc == SYNOD_OK)
                rc = synod_wait_connected(h, ADMIN_CONSOLE_CONNECT_TIMEOUT_MS);
        if (rc != SYNOD_OK)
                refuse_err(a, r, rc);
        else if (edit)
                edit_node(a, r, h, znode);
        else
                read_node(a, r, h, znode);
        if (h != NULL)
                synod_close(h);
}
