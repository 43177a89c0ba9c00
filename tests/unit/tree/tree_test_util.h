/*
 * Helpers shared by the tree unit tests: a fixture that owns a tree, a result
 * and an events buffer, and one-liners that build and apply txns at the next
 * zxid with a fixed clock.
 */
#ifndef SYN_TEST_TREE_UTIL_H
#define SYN_TEST_TREE_UTIL_H

#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "tree/tree.h"

struct fx {
        struct tree t;
        struct tree_result res;
        struct tree_events ev;
        uint64_t zxid;
        int64_t now_ms;
        uint64_t session;     /* session id put in txns (0 = server) */
        struct txn_auth auth; /* identities put in txns */
};

extern const struct zk_acl OPEN_ACL[1];

int fx_setup(void **state);
int fx_setup_ext(void **state); /* extended types (TTL) enabled */
int fx_teardown(void **state);

/* Applies txn at the next zxid; asserts SYN_OK. Returns res.err. */
int fx_apply(struct fx *f, struct txn *txn);
/* Builders of single-op txns (OPEN_ACL unless acl given). */
struct txn_op fx_op_create(const char *path, const char *data, int32_t flags);
struct txn_op fx_op_delete(const char *path, int32_t version);
struct txn_op fx_op_set(const char *path, const char *data, int32_t version);
struct txn_op fx_op_check(const char *path, int32_t version);
int fx_op(struct fx *f, struct txn_op op);
int fx_create(struct fx *f, const char *path, const char *data, int32_t flags);
int fx_delete(struct fx *f, const char *path, int32_t version);
int fx_set(struct fx *f, const char *path, const char *data, int32_t version);
int fx_new_session(struct fx *f, uint64_t id);
int fx_close_session(struct fx *f, uint64_t id);
/* Stat of path; fails the test if missing. */
struct zk_stat fx_stat(struct fx *f, const char *path);
int fx_exists(struct fx *f, const char *path);
struct zk_bytes fx_bytes(const char *s);

#endif
