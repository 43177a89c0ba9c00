/* The tree tests' fixture and txn builders (see tree_test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tree/tree_int.h"
#include "tree_test_util.h"

static const char WORLD[] = "world";
static const char ANYONE[] = "anyone";
const struct zk_acl OPEN_ACL[1] = {
    {.perms = ZK_PERM_ALL,
     .id = {.scheme = {(const uint8_t *)WORLD, 5}, .id = {(const uint8_t *)ANYONE, 6}}}};

struct zk_bytes fx_bytes(const char *s)
{
        if (s == NULL)
                return (struct zk_bytes){.data = NULL, .len = -1};
        return (struct zk_bytes){.data = (const uint8_t *)s, .len = (int32_t)strlen(s)};
}

static int fx_setup_opt(void **state, bool ext)
{
        struct fx *f = calloc(1, sizeof(*f));
        if (f == NULL)
                return -1;
        if (tree_init(&f->t, &(struct tree_options){.extended_types_enabled = ext}) != SYN_OK)
                return -1;
        tree_result_init(&f->res);
        tree_events_init(&f->ev);
        f->zxid = 0;
        f->now_ms = 1700000000000;
        *state = f;
        return 0;
}

int fx_setup(void **state)
{
        return fx_setup_opt(state, false);
}

int fx_setup_ext(void **state)
{
        return fx_setup_opt(state, true);
}

int fx_teardown(void **state)
{
        struct fx *f = *state;
        tree_result_close(&f->res);
        tree_events_close(&f->ev);
        tree_close(&f->t);
        free(f);
        return 0;
}

int fx_apply(struct fx *f, struct txn *txn)
{
        if (txn->session_id == 0)
                txn->session_id = f->session;
        if (txn->auth.id_count == 0 && !txn->auth.super)
                txn->auth = f->auth;
        txn->time_ms = f->now_ms;
        assert_int_equal(tree_apply(&f->t, txn, ++f->zxid, &f->res, &f->ev), SYN_OK);
        assert_int_equal(tree_last_zxid(&f->t), f->zxid);
        /* The incrementally kept digest equals a recomputation after every txn. */
        assert_true(tree_digest(&f->t) == tree_digest_full(&f->t));
        assert_int_equal(tree_check(&f->t), SYN_OK);
        return f->res.err;
}

struct txn_op fx_op_create(const char *path, const char *data, int32_t flags)
{
        return (struct txn_op){.zk_op = ZK_OP_CREATE,
                               .path = fx_bytes(path),
                               .data = fx_bytes(data),
                               .acl = OPEN_ACL,
                               .acl_count = 1,
                               .flags = flags,
                               .version = -1,
                               .ttl_ms = -1};
}

struct txn_op fx_op_delete(const char *path, int32_t version)
{
        return (struct txn_op){.zk_op = ZK_OP_DELETE, .path = fx_bytes(path), .version = version};
}

struct txn_op fx_op_set(const char *path, const char *data, int32_t version)
{
        return (struct txn_op){.zk_op = ZK_OP_SET_DATA,
                               .path = fx_bytes(path),
                               .data = fx_bytes(data),
                               .version = version};
}

struct txn_op fx_op_check(const char *path, int32_t version)
{
        return (struct txn_op){.zk_op = ZK_OP_CHECK, .path = fx_bytes(path), .version = version};
}

int fx_op(struct fx *f, struct txn_op op)
{
        struct txn txn = {.type = TXN_OP, .op = op};
        return fx_apply(f, &txn);
}

int fx_create(struct fx *f, const char *path, const char *data, int32_t flags)
{
        return fx_op(f, fx_op_create(path, data, flags));
}

int fx_delete(struct fx *f, const char *path, int32_t version)
{
        return fx_op(f, fx_op_delete(path, version));
}

int fx_set(struct fx *f, const char *path, const char *data, int32_t version)
{
        return fx_op(f, fx_op_set(path, data, version));
}

int fx_new_session(struct fx *f, uint64_t id)
{
        struct txn txn = {.type = TXN_CREATE_SESSION, .session = {.id = id, .timeout_ms = 30000}};
        memset(txn.session.passwd, 0x5a, sizeof(txn.session.passwd));
        return fx_apply(f, &txn);
}

int fx_close_session(struct fx *f, uint64_t id)
{
        struct txn txn = {.type = TXN_CLOSE_SESSION, .session = {.id = id}};
        return fx_apply(f, &txn);
}

struct zk_stat fx_stat(struct fx *f, const char *path)
{
        const struct tree_node *n = tree_lookup(&f->t, path, strlen(path));
        assert_non_null(n);
        struct zk_stat st;
        tree_node_stat(n, &st);
        return st;
}

int fx_exists(struct fx *f, const char *path)
{
        return tree_lookup(&f->t, path, strlen(path)) != NULL;
}
