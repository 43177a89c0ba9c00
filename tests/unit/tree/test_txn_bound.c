/*
 * The size of a txn against the frame it came from (base/limits.h: TXN_BYTES_MAX <=
 * RAFT_ENTRY_BYTES_MAX): the server turns any request that fits in a frame into a txn,
 * and that txn must fit in one Raft entry, or a multi ZooKeeper runs would fail.
 *
 * Checked here: each write op's txn encoding exceeds its wire encoding inside a multi
 * by at most TXN_OP_EXTRA_BYTES_MAX, the largest txn header is TXN_HEADER_BYTES_MAX,
 * and the multi of the most creates a frame holds, from a caller with the most
 * identities, encodes into an entry-sized buffer and decodes back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "proto/zk_records.h"
#include "tree/txn.h"

static const struct zk_acl world_all = {
    .perms = 31,
    .id = {.scheme = {(const uint8_t *)"world", 5}, .id = {(const uint8_t *)"anyone", 6}}};

/* One write op, the same on the wire and in the txn. */
static void make_op(int32_t zk_op, struct zk_request *wire, struct txn_op *op)
{
        struct zk_bytes path = {(const uint8_t *)"/a", 2}, data = {(const uint8_t *)"xy", 2};
        memset(wire, 0, sizeof *wire);
        memset(op, 0, sizeof *op);
        wire->type = zk_op;
        op->zk_op = zk_op;
        op->path = path;
        op->version = -1;
        switch (zk_op) {
        case ZK_OP_DELETE:
        case ZK_OP_CHECK:
                wire->path_ver.path = path;
                wire->path_ver.version = -1;
                break;
        case ZK_OP_SET_DATA:
                wire->set_data.path = path;
                wire->set_data.data = data;
                wire->set_data.version = -1;
                op->data = data;
                break;
        default: /* the creates */
                wire->create.path = path;
                wire->create.data = data;
                wire->create.acl.items = (struct zk_acl *)&world_all;
                wire->create.acl.count = 1;
                wire->create.flags = zk_op == ZK_OP_CREATE_TTL ? 5 : 0;
                wire->create.ttl_ms = zk_op == ZK_OP_CREATE_TTL ? 1000 : 0;
                op->data = data;
                op->acl = &world_all;
                op->acl_count = 1;
                op->flags = wire->create.flags;
                op->ttl_ms = wire->create.ttl_ms;
                break;
        }
}

static size_t wire_multi_bytes(struct zk_request *ops, int32_t count)
{
        struct zk_request m = {.xid = 1, .type = ZK_OP_MULTI};
        m.multi.ops = ops;
        m.multi.count = count;
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(zk_request_write(&w, &m), SYN_OK);
        size_t len = w.len;
        syn_writer_close(&w);
        return len;
}

static size_t txn_multi_bytes(const struct txn_op *ops, int32_t count)
{
        struct txn t = {.type = TXN_MULTI, .session_id = 1, .ops = ops, .op_count = count};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(txn_encode(&t, &w), SYN_OK);
        size_t len = w.len;
        syn_writer_close(&w);
        return len;
}

static void op_growth_in_a_txn_is_bounded(void **state)
{
        (void)state;
        const int32_t kinds[] = {ZK_OP_CREATE,     ZK_OP_CREATE2, ZK_OP_CREATE_CONTAINER,
                                 ZK_OP_CREATE_TTL, ZK_OP_DELETE,  ZK_OP_CHECK,
                                 ZK_OP_SET_DATA};
        long growth_max = -1000;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                struct zk_request wire;
                struct txn_op op;
                make_op(kinds[k], &wire, &op);
                long wire_op = (long)(wire_multi_bytes(&wire, 1) - wire_multi_bytes(NULL, 0));
                long txn_op = (long)(txn_multi_bytes(&op, 1) - txn_multi_bytes(NULL, 0));
                assert_true(txn_op - wire_op <= TXN_OP_EXTRA_BYTES_MAX);
                if (txn_op - wire_op > growth_max)
                        growth_max = txn_op - wire_op;
        }
        assert_int_equal(growth_max, TXN_OP_EXTRA_BYTES_MAX); /* the bound is tight */
}

/* A caller with TXN_AUTH_IDS_MAX identities of the largest size. */
static struct zk_id *largest_ids(uint8_t **text)
{
        *text = malloc(TXN_AUTH_ID_BYTES_MAX);
        assert_non_null(*text);
        memset(*text, 'i', TXN_AUTH_ID_BYTES_MAX);
        struct zk_id *ids = calloc(TXN_AUTH_IDS_MAX, sizeof *ids);
        assert_non_null(ids);
        for (int i = 0; i < TXN_AUTH_IDS_MAX; i++)
                ids[i] =
                    (struct zk_id){{*text, TXN_AUTH_ID_BYTES_MAX}, {*text, TXN_AUTH_ID_BYTES_MAX}};
        return ids;
}

static void largest_header_is_the_named_limit(void **state)
{
        (void)state;
        uint8_t *text;
        struct zk_id *ids = largest_ids(&text);
        struct txn t = {.type = TXN_NOOP, .auth = {.ids = ids, .id_count = TXN_AUTH_IDS_MAX}};
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(txn_encode(&t, &w), SYN_OK);
        assert_int_equal(w.len, TXN_HEADER_BYTES_MAX);
        syn_writer_close(&w);
        free(ids);
        free(text);
}

/* The most creates one frame can carry (empty paths and data, no ACL entries: 25 bytes
 * each on the wire, and the creates grow most in a txn), from the largest caller. */
static void largest_multi_txn_fits_an_entry(void **state)
{
        (void)state;
        int32_t n = (ZK_FRAME_BYTES_MAX - 8 - 9) / 25;
        struct zk_request *wire = calloc((size_t)n, sizeof *wire);
        struct txn_op *ops = calloc((size_t)n, sizeof *ops);
        assert_non_null(wire);
        assert_non_null(ops);
        for (int32_t i = 0; i < n; i++) {
                wire[i].type = ZK_OP_CREATE;
                wire[i].create.path = (struct zk_bytes){(const uint8_t *)"", 0};
                wire[i].create.data = (struct zk_bytes){(const uint8_t *)"", 0};
                ops[i] = (struct txn_op){.zk_op = ZK_OP_CREATE,
                                         .path = wire[i].create.path,
                                         .data = wire[i].create.data};
        }
        size_t frame = wire_multi_bytes(wire, n) - 4; /* without the length prefix */
        assert_true(frame <= ZK_FRAME_BYTES_MAX);     /* it fits, and one more would not */
        assert_true(frame + 25 > ZK_FRAME_BYTES_MAX);
        uint8_t *text;
        struct zk_id *ids = largest_ids(&text);
        struct txn t = {.type = TXN_MULTI,
                        .session_id = 1,
                        .auth = {.ids = ids, .id_count = TXN_AUTH_IDS_MAX},
                        .ops = ops,
                        .op_count = n};
        struct syn_writer w;
        syn_writer_init(&w, RAFT_ENTRY_BYTES_MAX); /* the server's proposal buffer */
        assert_int_equal(txn_encode(&t, &w), SYN_OK);
        assert_true(w.len <= TXN_BYTES_MAX);
        struct txn back;
        assert_int_equal(txn_decode(w.data, w.len, &back), SYN_OK);
        assert_int_equal(back.op_count, n);
        assert_int_equal(back.auth.id_count, TXN_AUTH_IDS_MAX);
        txn_release(&back);
        syn_writer_close(&w);
        free(ids);
        free(text);
        free(ops);
        free(wire);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(op_growth_in_a_txn_is_bounded),
            cmocka_unit_test(largest_header_is_the_named_limit),
            cmocka_unit_test(largest_multi_txn_fits_an_entry),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
