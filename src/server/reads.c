/*
 * The requests answered from the local tree, in pipeline order (pipeline.h says
 * when they run): exists, getData, getACL, getChildren(2), getAllChildrenNumber,
 * getEphemerals, sync, multiRead, ping, whoAmI, and watch management (addWatch,
 * removeWatches, checkWatches, setWatches/setWatches2).
 *
 * Checks follow ZooKeeper's FinalRequestProcessor: path syntax (ZBADARGUMENTS),
 * existence (ZNONODE), then the ACL (ZNOAUTH; exists checks none, as in 3.8).
 * Watches are registered only where ZooKeeper registers them: exists on a
 * missing node leaves an exist watch; getData/getChildren only on success. A
 * watch the per-connection caps refuse fails the request with ZSYSTEMERROR (see
 * add_watch); a SetWatches they refuse in part closes the connection (see
 * do_set_watches). Replies carry the last applied zxid.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "base/zk_path.h"
#include "proto/jute.h"
#include "server/server.h"

static void reply(struct srv *srv, struct srv_conn *conn, int32_t xid, int32_t err,
                  const struct zk_response *body)
{
        struct zk_reply_header h = {xid, (int64_t)srv->sm.applied, err};
        conns_send_reply(conn, &h, err == ZOK ? body : NULL);
}

/* Validates and looks up path; on failure sets *err (ZBADARGUMENTS / ZNONODE). */
static const struct tree_node *find(struct srv *srv, struct zk_bytes path, int32_t *err)
{
        if (zk_path_validate(path.data, (size_t)path.len, false) != ZOK) {
                *err = ZBADARGUMENTS;
                return NULL;
        }
        const struct tree_node *n =
            tree_lookup(&srv->sm.tree, (const char *)path.data, (size_t)path.len);
        *err = n ? ZOK : ZNONODE;
        return n;
}

static bool allowed(const struct srv_conn *conn, const struct tree_node *n, int32_t perm)
{
        struct txn_auth auth = conns_auth(conn);
        return tree_check_perm(n, perm, &auth);
}

/*
 * Registers a watch for conn. Returns ZOK, or ZSYSTEMERROR when the watch
 * manager refuses it (SYN_ELIMIT: the connection's watch count or watch bytes
 * cap, base/limits.h; or SYN_ENOMEM); the caller then answers the whole
 * request with that error instead of its result. ZooKeeper has no such caps;
 * ZSYSTEMERROR (-1) is a code every 3.x client maps to a known exception
 * (ZTHROTTLEDOP -127 is unknown to older ones), and failing the request is
 * safer than answering it without the watch the client believes it set.
 */
static int32_t add_watch(struct srv *srv, struct srv_conn *conn, unsigned kind,
                         struct zk_bytes path)
{
        int rc = watch_add(&srv->sm.watches, conn->id, conn->session_id, kind,
                           (const char *)path.data, (size_t)path.len);
        if (rc == 0)
                return ZOK;
        SYN_INFO("watch on %.*s for %s:%d refused: %s", (int)path.len, (const char *)path.data,
                 conn->ip, conn->port, syn_strerror(rc));
        return ZSYSTEMERROR;
}

/*
 * exists checks no ACL: ZooKeeper 3.8's FinalRequestProcessor answers the Stat
 * (and sets the watch) whatever the node's ACL, unlike getData. Only the
 * node's existence and metadata are revealed, never its data or children.
 */
static void do_exists(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        int32_t err;
        const struct tree_node *n = find(srv, req->path_watch.path, &err);
        struct zk_response body = {.type = ZK_OP_EXISTS};
        if (req->path_watch.watch && (err == ZOK || err == ZNONODE)) {
                int32_t werr = add_watch(srv, conn, n ? WATCH_KIND_DATA : WATCH_KIND_EXIST,
                                         req->path_watch.path);
                if (werr != ZOK)
                        err = werr;
        }
        if (err == ZOK)
                tree_node_stat(n, &body.stat);
        reply(srv, conn, req->xid, err, &body);
}

static void do_get_data(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        int32_t err;
        const struct tree_node *n = find(srv, req->path_watch.path, &err);
        struct zk_response body = {.type = ZK_OP_GET_DATA};
        if (n != NULL && !allowed(conn, n, ZK_PERM_READ))
                err = ZNOAUTH;
        if (err == ZOK && req->path_watch.watch)
                err = add_watch(srv, conn, WATCH_KIND_DATA, req->path_watch.path);
        if (err == ZOK) {
                body.data = tree_node_data(n);
                tree_node_stat(n, &body.stat);
        }
        reply(srv, conn, req->xid, err, &body);
}

static bool is_digest(struct zk_bytes scheme)
{
        return scheme.len == 6 && memcmp(scheme.data, "digest", 6) == 0;
}

static void do_get_acl(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        int32_t err;
        const struct tree_node *n = find(srv, req->path_only.path, &err);
        struct zk_response body = {.type = ZK_OP_GET_ACL};
        struct zk_acl *copy = NULL;
        char *names = NULL;
        if (n != NULL && !allowed(conn, n, ZK_PERM_READ) && !allowed(conn, n, ZK_PERM_ADMIN))
                err = ZNOAUTH;
        if (err == ZOK) {
                const struct zk_acl *acl;
                int32_t count;
                tree_node_acl(n, &acl, &count);
                body.acl.items = (struct zk_acl *)acl;
                body.acl.count = count;
                tree_node_stat(n, &body.stat);
                /* Without ADMIN, digest ids are shown as user:x (ZooKeeper 3.8). */
                if (!allowed(conn, n, ZK_PERM_ADMIN) && count > 0) {
                        copy = calloc((size_t)count, sizeof *copy);
                        names = calloc((size_t)count, ZK_ACL_ID_BYTES_MAX + 3);
                        if (copy == NULL || names == NULL) {
                                err = ZSYSTEMERROR;
                        } else {
                                for (int32_t i = 0; i < count; i++) {
                                        copy[i] = acl[i];
                                        if (!is_digest(acl[i].id.scheme))
                                                continue;
                                        char *nm = names + (size_t)i * (ZK_ACL_ID_BYTES_MAX + 3);
                                        const uint8_t *colon =
                                            acl[i].id.id.len > 0 ? memchr(acl[i].id.id.data, ':',
                                                                          (size_t)acl[i].id.id.len)
                                                                 : NULL;
                                        size_t ul =
                                            colon ? (size_t)(colon - acl[i].id.id.data)
                                                  : (size_t)(acl[i].id.id.len > 0 ? acl[i].id.id.len
                                                                                  : 0);
                                        if (ul > ZK_ACL_ID_BYTES_MAX)
                                                ul = ZK_ACL_ID_BYTES_MAX;
                                        memcpy(nm, acl[i].id.id.data, ul);
                                        memcpy(nm + ul, ":x", 3);
                                        copy[i].id.id = zk_bytes_of(nm);
                                }
                                body.acl.items = copy;
                        }
                }
        }
        reply(srv, conn, req->xid, err, &body);
        free(copy);
        free(names);
}

static void do_get_children(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        int32_t err;
        const struct tree_node *n = find(srv, req->path_watch.path, &err);
        struct zk_response body = {.type = req->type};
        struct zk_bytes *names = NULL;
        if (n != NULL && !allowed(conn, n, ZK_PERM_READ))
                err = ZNOAUTH;
        if (err == ZOK) {
                int32_t count = tree_node_num_children(n);
                if (count > 0) {
                        names = calloc((size_t)count, sizeof *names);
                        if (names == NULL)
                                err = ZSYSTEMERROR;
                }
                if (err == ZOK) {
                        body.names.items = names;
                        body.names.count = count > 0 ? tree_children(n, names, count) : 0;
                        tree_node_stat(n, &body.stat);
                        if (req->path_watch.watch)
                                err = add_watch(srv, conn, WATCH_KIND_CHILD, req->path_watch.path);
                }
        }
        reply(srv, conn, req->xid, err, &body);
        free(names);
}

static void do_all_children_number(struct srv *srv, struct srv_conn *conn,
                                   const struct zk_request *req)
{
        int32_t err;
        const struct tree_node *n = find(srv, req->path_only.path, &err);
        struct zk_response body = {.type = ZK_OP_GET_ALL_CHILDREN_NUMBER};
        if (n != NULL && !allowed(conn, n, ZK_PERM_READ))
                err = ZNOAUTH;
        if (err == ZOK) {
                int64_t count = tree_count_descendants(n);
                body.number = count > INT32_MAX ? INT32_MAX : (int32_t)count;
        }
        reply(srv, conn, req->xid, err, &body);
}

static void do_get_ephemerals(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct zk_bytes prefix = req->path_only.path;
        size_t plen = prefix.len > 0 ? (size_t)prefix.len : 0;
        struct zk_response body = {.type = ZK_OP_GET_EPHEMERALS};
        const struct session *s = tree_session(&srv->sm.tree, conn->session_id);
        if (s == NULL || s->ephemeral_count == 0) {
                reply(srv, conn, req->xid, ZOK, &body); /* nothing to list */
                return;
        }
        int32_t count =
            tree_session_ephemerals(&srv->sm.tree, conn->session_id, (const char *)prefix.data,
                                    plen, &srv->paths, INT32_MAX);
        if (count < 0) {
                reply(srv, conn, req->xid, ZSYSTEMERROR, NULL);
                return;
        }
        struct zk_bytes *names = count > 0 ? calloc((size_t)count, sizeof *names) : NULL;
        if (count > 0 && names == NULL) {
                reply(srv, conn, req->xid, ZSYSTEMERROR, NULL);
                return;
        }
        for (int32_t i = 0; i < count; i++)
                names[i] = srv->paths.items[i].path;
        body.names.items = names;
        body.names.count = count;
        reply(srv, conn, req->xid, ZOK, &body);
        free(names);
}

/* One multiRead sub-op into *out (names owned by *names_out, caller frees). */
static void multi_read_op(struct srv *srv, struct srv_conn *conn, const struct zk_request *op,
                          struct zk_response *out, struct zk_bytes **names_out)
{
        memset(out, 0, sizeof *out);
        int32_t err;
        const struct tree_node *n = find(srv, op->path_watch.path, &err);
        if (n != NULL && !allowed(conn, n, ZK_PERM_READ))
                err = ZNOAUTH;
        if (err == ZOK && op->type == ZK_OP_GET_CHILDREN) {
                int32_t count = tree_node_num_children(n);
                struct zk_bytes *names = count > 0 ? calloc((size_t)count, sizeof *names) : NULL;
                if (count > 0 && names == NULL) {
                        err = ZSYSTEMERROR;
                } else {
                        out->names.items = names;
                        out->names.count = count > 0 ? tree_children(n, names, count) : 0;
                        *names_out = names;
                }
        } else if (err == ZOK) {
                out->data = tree_node_data(n);
                tree_node_stat(n, &out->stat);
        }
        out->type = err == ZOK ? op->type : ZK_OP_ERROR;
        out->err = err;
}

static void do_multi_read(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        int32_t count = req->multi.count;
        struct zk_response *results = count > 0 ? calloc((size_t)count, sizeof *results) : NULL;
        struct zk_bytes **names = count > 0 ? calloc((size_t)count, sizeof *names) : NULL;
        if (count > 0 && (results == NULL || names == NULL)) {
                free(results);
                free(names);
                reply(srv, conn, req->xid, ZSYSTEMERROR, NULL);
                return;
        }
        for (int32_t i = 0; i < count; i++)
                multi_read_op(srv, conn, &req->multi.ops[i], &results[i], &names[i]);
        struct zk_response body = {.type = ZK_OP_MULTI_READ};
        body.multi.results = results;
        body.multi.count = count;
        reply(srv, conn, req->xid, ZOK, &body);
        for (int32_t i = 0; i < count; i++)
                free(names[i]);
        free(names);
        free(results);
}

static void do_who_am_i(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct zk_client_info infos[SRV_CONN_AUTH_IDS_MAX];
        char users[SRV_CONN_AUTH_IDS_MAX][ZK_AUTH_BYTES_MAX + 1];
        int32_t n = 0;
        for (int32_t i = 0; i < conn->id_count; i++) {
                infos[n].scheme = conn->ids[i].scheme;
                infos[n].user = conn->ids[i].id;
                if (is_digest(conn->ids[i].scheme)) {
                        /* whoAmI shows the digest user name only. */
                        const char *id = conn->id_strings[i];
                        size_t ul = strcspn(id, ":");
                        if (ul > ZK_AUTH_BYTES_MAX)
                                ul = ZK_AUTH_BYTES_MAX;
                        memcpy(users[n], id, ul);
                        users[n][ul] = '\0';
                        infos[n].user = zk_bytes_of(users[n]);
                }
                n++;
        }
        struct zk_response body = {.type = ZK_OP_WHO_AM_I};
        body.infos.items = infos;
        body.infos.count = n;
        reply(srv, conn, req->xid, ZOK, &body);
}

static void do_add_watch(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct zk_bytes path = req->add_watch.path;
        int32_t mode = req->add_watch.mode;
        if (zk_path_validate(path.data, (size_t)path.len, false) != ZOK ||
            (mode != ZK_ADD_WATCH_PERSISTENT && mode != ZK_ADD_WATCH_PERSISTENT_RECURSIVE)) {
                reply(srv, conn, req->xid, ZBADARGUMENTS, NULL);
                return;
        }
        int32_t err = add_watch(
            srv, conn,
            mode == ZK_ADD_WATCH_PERSISTENT ? WATCH_KIND_PERSISTENT : WATCH_KIND_RECURSIVE, path);
        struct zk_response body = {.type = ZK_OP_ADD_WATCH, .err = ZOK};
        reply(srv, conn, req->xid, err, &body);
}

static void do_watches(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct zk_bytes path = req->watches.path;
        int32_t err;
        if (zk_path_validate(path.data, (size_t)path.len, false) != ZOK)
                err = ZBADARGUMENTS;
        else if (req->type == ZK_OP_REMOVE_WATCHES)
                err = watch_remove(&srv->sm.watches, conn->id, (const char *)path.data,
                                   (size_t)path.len, req->watches.type);
        else
                err = watch_check(&srv->sm.watches, conn->id, (const char *)path.data,
                                  (size_t)path.len, req->watches.type);
        reply(srv, conn, req->xid, err, NULL);
}

static void node_info(void *arg, const char *path, size_t len, struct watch_node_info *info)
{
        struct srv *srv = arg;
        const struct tree_node *n = tree_lookup(&srv->sm.tree, path, len);
        memset(info, 0, sizeof *info);
        if (n != NULL) {
                struct zk_stat st;
                tree_node_stat(n, &st);
                info->exists = true;
                info->mzxid = st.mzxid;
                info->pzxid = st.pzxid;
        }
}

/* Points a watch_paths view at a decoded list; storage comes from the caller's arrays. */
static void view_paths(struct watch_paths *out, const struct zk_bytes_list *list,
                       const char **paths, size_t *lens)
{
        int32_t count = list->count > 0 ? list->count : 0;
        for (int32_t i = 0; i < count; i++) {
                paths[i] = (const char *)list->items[i].data;
                lens[i] = list->items[i].len > 0 ? (size_t)list->items[i].len : 0;
        }
        out->paths = paths;
        out->path_lens = lens;
        out->count = (size_t)count;
}

static void do_set_watches(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        const struct zk_set_watches_request *sw = &req->set_watches;
        const struct zk_bytes_list *lists[5] = {&sw->data, &sw->exist, &sw->child, &sw->persistent,
                                                &sw->persistent_recursive};
        size_t total = 0;
        for (int i = 0; i < 5; i++)
                total += lists[i]->count > 0 ? (size_t)lists[i]->count : 0;
        const char **paths = calloc(total + 1, sizeof *paths);
        size_t *lens = calloc(total + 1, sizeof *lens);
        struct watch_events events;
        watch_events_init(&events);
        if (paths == NULL || lens == NULL) {
                free(paths);
                free(lens);
                conns_close(srv, conn, false);
                return;
        }
        struct watch_set_request wr = {.relative_zxid = sw->relative_zxid};
        struct watch_paths *views[5] = {&wr.data, &wr.exist, &wr.child, &wr.persistent,
                                        &wr.persistent_recursive};
        size_t off = 0;
        for (int i = 0; i < 5; i++) {
                view_paths(views[i], lists[i], paths + off, lens + off);
                off += views[i]->count;
        }
        int rc = watch_set_watches(&srv->sm.watches, conn->id, conn->session_id, &wr, &events, srv,
                                   node_info);
        /*
         * Some watches refused by the per-connection caps (SYN_ELIMIT): the client
         * must not believe they are set. ZooKeeper has no error code for this, and
         * an error in the -8 reply would not help: the Java client's ClientCnxn
         * never looks at the err of its SetWatches reply (it finishes the packet
         * as if it succeeded), so the watches would be lost silently. Closing the
         * connection is the one signal every client acts on: it reconnects and
         * re-sends the watches (with its last zxid, so nothing is missed). See
         * docs/protocol-notes.md, "Watch limits".
         */
        if (rc == SYN_ELIMIT)
                SYN_WARN("closing %s:%d: SetWatches over the per-connection watch limits", conn->ip,
                         conn->port);
        if (rc == SYN_ENOMEM || rc == SYN_ELIMIT) {
                conns_close(srv, conn, false);
        } else {
                struct watch_events saved = srv->sm.deliveries;
                srv->sm.deliveries = events;
                apply_deliver_events(srv); /* events before the reply */
                events = srv->sm.deliveries;
                srv->sm.deliveries = saved;
                struct zk_reply_header h = {ZK_XID_SET_WATCHES, (int64_t)srv->sm.applied, ZOK};
                conns_send_reply(conn, &h, NULL);
        }
        watch_events_close(&events);
        free(paths);
        free(lens);
}

void reads_run(struct srv *srv, struct srv_conn *conn, const struct zk_request *req)
{
        struct zk_response body = {.type = req->type};
        switch (req->type) {
        case ZK_OP_PING:
                reply(srv, conn, ZK_XID_PING, ZOK, NULL);
                break;
        case ZK_OP_SYNC:
                /* Runs after its ReadIndex round (propose.c): everything committed
                 * before the sync began is applied here. */
                body.path = req->path_only.path;
                reply(srv, conn, req->xid,
                      zk_path_validate(body.path.data, (size_t)body.path.len, false) == ZOK
                          ? ZOK
                          : ZBADARGUMENTS,
                      &body);
                break;
        case ZK_OP_EXISTS:
                do_exists(srv, conn, req);
                break;
        case ZK_OP_GET_DATA:
                do_get_data(srv, conn, req);
                break;
        case ZK_OP_GET_ACL:
                do_get_acl(srv, conn, req);
                break;
        case ZK_OP_GET_CHILDREN:
        case ZK_OP_GET_CHILDREN2:
                do_get_children(srv, conn, req);
                break;
        case ZK_OP_GET_ALL_CHILDREN_NUMBER:
                do_all_children_number(srv, conn, req);
                break;
        case ZK_OP_GET_EPHEMERALS:
                do_get_ephemerals(srv, conn, req);
                break;
        case ZK_OP_MULTI_READ:
                do_multi_read(srv, conn, req);
                break;
        case ZK_OP_WHO_AM_I:
                do_who_am_i(srv, conn, req);
                break;
        case ZK_OP_ADD_WATCH:
                do_add_watch(srv, conn, req);
                break;
        case ZK_OP_REMOVE_WATCHES:
        case ZK_OP_CHECK_WATCHES:
                do_watches(srv, conn, req);
                break;
        case ZK_OP_SET_WATCHES:
        case ZK_OP_SET_WATCHES2:
                do_set_watches(srv, conn, req);
                break;
        default: /* reconfig (standalone), sasl, anything unknown */
                reply(srv, conn, req->xid, ZUNIMPLEMENTED, NULL);
                break;
        }
}
