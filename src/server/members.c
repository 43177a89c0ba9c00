/*
 * Membership: who the servers of the cluster are, and bringing Raft's configuration
 * to match.
 *
 * The membership (each server's id, addresses and role) lives in the tree, as the data
 * of /zookeeper/config in ZooKeeper's dynamic-config format (`server.N=...` lines and
 * `version=<hex>`), so it is replicated, snapshotted and watchable like any node, and
 * ZooKeeper clients read it where they expect it. The first leader writes it from the
 * configuration file; `reconfig` (ZooKeeper's incremental or full form) rewrites it with
 * a version-checked setData, so two reconfigs cannot both apply to the same version.
 * Every server re-reads it when an entry changes it: its peer links follow the
 * addresses.
 *
 * Raft changes membership one server at a time (thesis §4.1), so the leader walks its
 * configuration toward the membership in the tree, one step per tick, each step waiting
 * for the previous one to commit: a new server joins as a learner, is promoted to voter
 * once its log has caught up with the commit index, and a server no longer listed is
 * removed (the leader may remove itself; it steps down once that commits). A leader
 * elected half-way through simply continues the walk.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/err.h"
#include "base/log.h"
#include "server/server.h"

static const char config_path[] = "/zookeeper/config";
#define CONFIG_PATH_LEN (sizeof config_path - 1)

/* Parses membership text (borrowed; need not be NUL-terminated) into out. */
static int parse(const uint8_t *text, size_t len, struct srv_members *out)
{
        struct srv_config *tmp = malloc(sizeof *tmp);
        char *buf = malloc(len + 1);
        int rc = SYN_ENOMEM;
        if (tmp != NULL && buf != NULL) {
                memcpy(buf, text, len);
                buf[len] = '\0';
                srv_config_defaults(tmp);
                char error[SRV_CONFIG_ERROR_BYTES];
                rc = srv_config_parse(tmp, config_path, buf, error, sizeof error);
                if (rc != 0)
                        SYN_WARN("membership in %s not usable: %s", config_path, error);
                else if (tmp->member_count == 0)
                        rc = SYN_ECONFIG;
        }
        if (rc == 0) {
                out->count = tmp->member_count;
                memcpy(out->m, tmp->members, sizeof out->m);
                out->version = tmp->config_version;
        }
        free(buf);
        free(tmp);
        return rc;
}

/* Formats m as /zookeeper/config text into out. Returns the length or SYN_ETOOBIG. */
static int format(const struct srv_members *m, char *out, size_t cap)
{
        struct srv_config *tmp = calloc(1, sizeof *tmp);
        if (tmp == NULL)
                return SYN_ENOMEM;
        tmp->member_count = m->count;
        memcpy(tmp->members, m->m, sizeof tmp->members);
        tmp->config_version = m->version;
        int n = srv_config_format_members(tmp, out, cap);
        free(tmp);
        return n;
}

static const struct srv_member *find(const struct srv_members *m, uint64_t id)
{
        for (uint32_t i = 0; i < m->count; i++)
                if (m->m[i].id == id)
                        return &m->m[i];
        return NULL;
}

/* Dials every member but self; stops dialling servers that are no longer listed nor in
 * Raft's configuration (a removed leader still needs our answers until it steps down). */
static void update_peers(struct srv *srv, const struct srv_members *old)
{
        if (!srv->peers_ready)
                return;
        uint64_t self = (uint64_t)srv->config.server_id;
        for (uint32_t i = 0; i < srv->members.count; i++) {
                const struct srv_member *m = &srv->members.m[i];
                if (m->id != self && net_peers_set(&srv->peers, m->id, m->host, m->peer_port) != 0)
                        SYN_WARN("cannot dial server %llu at %s:%d", (unsigned long long)m->id,
                                 m->host, m->peer_port);
        }
        const struct raft_config *c = raft_config(&srv->raft);
        for (uint32_t i = 0; old != NULL && i < old->count; i++) {
                uint64_t id = old->m[i].id;
                if (id != self && find(&srv->members, id) == NULL && !raft_config_is_voter(c, id) &&
                    !raft_config_is_learner(c, id))
                        net_peers_remove(&srv->peers, id);
        }
}

void members_init(struct srv *srv)
{
        srv->members.count = srv->config.member_count;
        memcpy(srv->members.m, srv->config.members, sizeof srv->members.m);
        srv->members.version = srv->config.config_version;
        srv->members.from_tree = false;
}

void members_tree_changed(struct srv *srv)
{
        const struct tree_node *n = tree_lookup(&srv->sm.tree, config_path, CONFIG_PATH_LEN);
        struct zk_bytes data = n != NULL ? tree_node_data(n) : (struct zk_bytes){NULL, 0};
        if (!srv->clustered || data.len <= 0)
                return;
        struct srv_members next;
        if (parse(data.data, (size_t)data.len, &next) != 0)
                return; /* garbage written by a super user: keep the last good membership */
        struct srv_members old = srv->members;
        srv->members = next;
        srv->members.from_tree = true;
        SYN_INFO("membership version %llx: %u servers", (unsigned long long)next.version,
                 next.count);
        update_peers(srv, &old);
}

void members_raft_changed(struct srv *srv)
{
        update_peers(srv, NULL);
}

bool members_is_config_path(struct zk_bytes path)
{
        return path.len == (int32_t)CONFIG_PATH_LEN &&
               memcmp(path.data, config_path, CONFIG_PATH_LEN) == 0;
}

/* ---- the leader's walk toward the membership in the tree ---- */

/* The first leader of a cluster writes the file's membership into the tree: a new tree's,
 * or a restored one's (`synod restore` empties the node, raising its version). */
static void bootstrap(struct srv *srv)
{
        const struct tree_node *node = tree_lookup(&srv->sm.tree, config_path, CONFIG_PATH_LEN);
        if (node == NULL)
                return;
        struct zk_stat st;
        tree_node_stat(node, &st);
        char text[SRV_CONFIG_MEMBERS_BYTES];
        int n = format(&srv->members, text, sizeof text);
        if (n < 0)
                return;
        struct txn t = {.type = TXN_OP, .session_id = 0};
        t.time_ms = net_wall_ms(&srv->net);
        t.auth.super = true; /* the node is READ_ACL_UNSAFE: only the server writes it so */
        t.op.zk_op = ZK_OP_SET_DATA;
        t.op.path = (struct zk_bytes){(const uint8_t *)config_path, (int32_t)CONFIG_PATH_LEN};
        t.op.data = (struct zk_bytes){(const uint8_t *)text, n};
        t.op.version = st.version; /* only over the empty node seen here */
        if (propose_server_txn(srv, &t) == 0) {
                srv->members_written_term = raft_term(&srv->raft);
                SYN_INFO("writing the membership from the configuration file to %s", config_path);
        }
}

static int conf_change(struct srv *srv, enum raft_conf_op op, uint64_t id, const char *what)
{
        struct raft_event ev = {.type = RAFT_EV_CONF_CHANGE};
        ev.conf_change.op = op;
        ev.conf_change.node_id = id;
        int rc = host_step(srv, &ev);
        if (rc == 0)
                SYN_INFO("membership: %s server %llu", what, (unsigned long long)id);
        else if (rc != SYN_EBUSY)
                SYN_WARN("membership: cannot %s server %llu: %s", what, (unsigned long long)id,
                         syn_strerror(rc));
        return rc;
}

/* One step toward the membership, if one is due. */
static void walk(struct srv *srv)
{
        const struct raft_config *c = raft_config(&srv->raft);
        for (uint32_t i = 0; i < srv->members.count; i++) {
                uint64_t id = srv->members.m[i].id;
                if (!raft_config_is_voter(c, id) && !raft_config_is_learner(c, id)) {
                        conf_change(srv, RAFT_CONF_ADD_LEARNER, id, "adding as a learner");
                        return;
                }
        }
        uint64_t commit = raft_commit_index(&srv->raft);
        for (uint32_t i = 0; i < srv->members.count; i++) {
                const struct srv_member *m = &srv->members.m[i];
                if (!m->observer && raft_config_is_learner(c, m->id) &&
                    raft_match_index(&srv->raft, m->id) >= commit) {
                        conf_change(srv, RAFT_CONF_PROMOTE, m->id, "promoting (caught up)");
                        return;
                }
        }
        for (uint32_t i = 0; i < c->n_voters + c->n_learners; i++) {
                uint64_t id = i < c->n_voters ? c->voters[i] : c->learners[i - c->n_voters];
                const struct srv_member *m = find(&srv->members, id);
                if (m == NULL || (m->observer && raft_config_is_voter(c, id))) {
                        conf_change(srv, RAFT_CONF_REMOVE, id, "removing");
                        return;
                }
        }
}

bool members_in_tree(const struct srv *srv)
{
        const struct tree_node *n = tree_lookup(&srv->sm.tree, config_path, CONFIG_PATH_LEN);
        return n != NULL && tree_node_data(n).len > 0;
}

void members_tick(struct srv *srv)
{
        if (!srv->clustered || srv->role != RAFT_LEADER || srv->fatal)
                return;
        if (!members_in_tree(srv)) {
                /* Before serving (no server serves until the membership is in the tree),
                 * once what the leader knows is committed is applied. Should an earlier
                 * leader's write be committed but not yet known, this one fails on its
                 * version check: harmless. */
                if (srv->sm.applied >= raft_commit_index(&srv->raft) &&
                    srv->members_written_term != raft_term(&srv->raft))
                        bootstrap(srv);
                return;
        }
        if (srv->serving && srv->members.from_tree)
                walk(srv);
}

/* ---- reconfig ---- */

/* Applies one comma-separated list of server specs ("server.N=...") to m. */
static int32_t join(struct srv_members *m, struct zk_bytes spec)
{
        if (spec.len <= 0)
                return ZOK;
        size_t len = (size_t)spec.len;
        char *text = malloc(len + 1);
        if (text == NULL)
                return ZSYSTEMERROR;
        /* ZooKeeper separates servers with commas; the config parser wants lines. */
        for (size_t i = 0; i < len; i++)
                text[i] = spec.data[i] == ',' ? '\n' : (char)spec.data[i];
        text[len] = '\0';
        struct srv_members add;
        int rc = parse((const uint8_t *)text, len, &add);
        free(text);
        if (rc != 0)
                return ZBADARGUMENTS;
        for (uint32_t i = 0; i < add.count; i++) {
                struct srv_member *have = NULL;
                for (uint32_t j = 0; j < m->count; j++)
                        if (m->m[j].id == add.m[i].id)
                                have = &m->m[j];
                if (have == NULL && m->count == RAFT_NODES_MAX)
                        return ZBADARGUMENTS;
                *(have != NULL ? have : &m->m[m->count++]) = add.m[i];
        }
        return ZOK;
}

/* Removes the ids of a comma-separated list ("4,5"). */
static int32_t leave(struct srv_members *m, struct zk_bytes ids)
{
        if (ids.len <= 0)
                return ZOK;
        const uint8_t *p = ids.data, *end = ids.data + ids.len;
        /* Bounded by the bytes of the list: each pass consumes at least one. */
        while (p < end) {
                uint64_t id = 0;
                const uint8_t *start = p;
                while (p < end && *p >= '0' && *p <= '9' && id < SRV_SERVER_ID_MAX + 1)
                        id = id * 10 + (uint64_t)(*p++ - '0');
                if (p == start || id > SRV_SERVER_ID_MAX || (p < end && *p != ','))
                        return ZBADARGUMENTS;
                p++;
                uint32_t j = 0;
                while (j < m->count && m->m[j].id != id)
                        j++;
                if (j < m->count) /* not a member: nothing to do, as in ZooKeeper 3.8 */
                        m->m[j] = m->m[--m->count];
        }
        return ZOK;
}

static bool has_participant(const struct srv_members *m)
{
        for (uint32_t i = 0; i < m->count; i++)
                if (!m->m[i].observer)
                        return true;
        return false;
}

int32_t members_reconfig(struct srv *srv, const struct zk_reconfig_request *rq, char *out,
                         size_t cap, int32_t *len, int32_t *expected_version)
{
        const struct tree_node *n = tree_lookup(&srv->sm.tree, config_path, CONFIG_PATH_LEN);
        if (!srv->clustered)
                return ZUNIMPLEMENTED; /* a standalone server has no membership to change */
        if (!srv->members.from_tree || n == NULL)
                return ZRECONFIGINPROGRESS; /* the membership is not in the tree yet */
        struct zk_stat st;
        tree_node_stat(n, &st);
        if (rq->cur_config_id != -1 && (uint64_t)rq->cur_config_id != srv->members.version)
                return ZBADVERSION;
        struct srv_members next = srv->members;
        next.count = 0;
        int32_t err = ZOK;
        if (rq->new_members.len > 0) {
                err = join(&next, rq->new_members); /* the full form replaces everything */
        } else {
                next = srv->members;
                err = join(&next, rq->joining_servers);
                if (err == ZOK)
                        err = leave(&next, rq->leaving_servers);
        }
        if (err != ZOK)
                return err;
        if (next.count == 0 || !has_participant(&next))
                return ZNEWCONFIGNOQUORUM;
        next.version = srv->members.version + 1;
        int n_out = format(&next, out, cap);
        if (n_out < 0)
                return ZBADARGUMENTS;
        *len = n_out;
        *expected_version = st.version;
        return ZOK;
}
