/* Unit tests of src/session: the replicated session table and the leader's expiry queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/zk_types.h"
#include "session/session.h"

static const uint8_t PW[ZK_PASSWD_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void table_add_find_remove(void **state)
{
        (void)state;
        struct session_table t;
        session_table_init(&t);
        struct session *s = NULL;
        assert_int_equal(session_table_add(&t, 0x100000000000001ull, PW, 30000, &s), SYN_OK);
        assert_non_null(s);
        assert_int_equal(s->timeout_ms, 30000);
        assert_ptr_equal(session_table_find(&t, 0x100000000000001ull), s);
        assert_null(session_table_find(&t, 2));
        assert_int_equal(session_table_add(&t, 0x100000000000001ull, PW, 1, NULL), SYN_EEXIST);
        assert_int_equal(session_table_count(&t), 1);
        assert_true(session_passwd_equal(s, PW));
        uint8_t other[ZK_PASSWD_BYTES];
        memcpy(other, PW, sizeof(other));
        other[15] ^= 1;
        assert_false(session_passwd_equal(s, other));
        assert_int_equal(session_table_remove(&t, 0x100000000000001ull), SYN_OK);
        assert_int_equal(session_table_remove(&t, 0x100000000000001ull), SYN_ENOTFOUND);
        assert_int_equal(session_table_count(&t), 0);
        session_table_close(&t);
}

static void table_rejects_reserved_ids_and_timeouts(void **state)
{
        (void)state;
        struct session_table t;
        session_table_init(&t);
        assert_int_equal(session_table_add(&t, 0, PW, 1000, NULL), SYN_EINVAL);
        assert_int_equal(session_table_add(&t, ZK_OWNER_CONTAINER, PW, 1000, NULL), SYN_EINVAL);
        assert_int_equal(session_table_add(&t, 0xff00000000000005ull, PW, 1000, NULL), SYN_EINVAL);
        assert_int_equal(session_table_add(&t, 5, PW, 0, NULL), SYN_EINVAL);
        assert_int_equal(session_table_add(&t, 5, PW, -3, NULL), SYN_EINVAL);
        assert_int_equal(session_table_add(&t, 5, PW, SESSION_TIMEOUT_MS_MAX + 1, NULL),
                         SYN_EINVAL);
        assert_int_equal(session_table_count(&t), 0);
        session_table_close(&t);
}

/* Many adds and removes in a scrambled order: every survivor is still found (backward shift). */
static void table_survives_churn_and_sorts(void **state)
{
        (void)state;
        struct session_table t;
        session_table_init(&t);
        const uint64_t n = 5000;
        for (uint64_t i = 1; i <= n; i++)
                assert_int_equal(session_table_add(&t, i * 7919 % 100003 + 1, PW, 1000, NULL),
                                 SYN_OK);
        for (uint64_t i = 1; i <= n; i += 3)
                assert_int_equal(session_table_remove(&t, i * 7919 % 100003 + 1), SYN_OK);
        for (uint64_t i = 1; i <= n; i++) {
                bool removed = (i - 1) % 3 == 0;
                struct session *s = session_table_find(&t, i * 7919 % 100003 + 1);
                if (removed)
                        assert_null(s);
                else
                        assert_non_null(s);
        }
        struct session **v;
        uint32_t count;
        assert_int_equal(session_table_sorted(&t, &v, &count), SYN_OK);
        assert_int_equal(count, session_table_count(&t));
        for (uint32_t i = 1; i < count; i++)
                assert_true(v[i - 1]->id < v[i]->id);
        free(v);
        session_table_close(&t);
}

static void table_digest_ignores_insertion_order(void **state)
{
        (void)state;
        struct session_table a, b;
        session_table_init(&a);
        session_table_init(&b);
        for (uint64_t i = 1; i <= 100; i++)
                assert_int_equal(session_table_add(&a, i, PW, (int32_t)(1000 + i), NULL), SYN_OK);
        for (uint64_t i = 100; i >= 1; i--)
                assert_int_equal(session_table_add(&b, i, PW, (int32_t)(1000 + i), NULL), SYN_OK);
        assert_true(session_table_digest(&a) == session_table_digest(&b));
        session_table_remove(&b, 50);
        assert_true(session_table_digest(&a) != session_table_digest(&b));
        session_table_add(&b, 50, PW, 1001, NULL); /* different timeout */
        assert_true(session_table_digest(&a) != session_table_digest(&b));
        session_table_close(&a);
        session_table_close(&b);
}

static void expiry_rounds_to_buckets_and_pops_in_order(void **state)
{
        (void)state;
        struct sess_expiry q;
        assert_int_equal(sess_expiry_init(&q, &(struct sess_expiry_options){.interval_ms = 0}),
                         SYN_EINVAL);
        assert_int_equal(sess_expiry_init(&q, &(struct sess_expiry_options){.interval_ms = 2000}),
                         SYN_OK);
        assert_int_equal(sess_expiry_touch(&q, 3, 5000, 1000), SYN_OK); /* 6000 -> 6000 */
        assert_int_equal(sess_expiry_touch(&q, 1, 5000, 1500), SYN_OK); /* 6500 -> 8000 */
        assert_int_equal(sess_expiry_touch(&q, 2, 4000, 1000), SYN_OK); /* 5000 -> 6000 */
        assert_int_equal(sess_expiry_deadline(&q, 3), 6000);
        assert_int_equal(sess_expiry_deadline(&q, 1), 8000);
        assert_int_equal(sess_expiry_next_deadline(&q), 6000);
        uint64_t out[8];
        assert_int_equal(sess_expiry_pop_expired(&q, 5999, out, 8), 0);
        assert_int_equal(sess_expiry_pop_expired(&q, 6000, out, 8), 2);
        assert_int_equal(out[0], 2); /* same deadline: by id */
        assert_int_equal(out[1], 3);
        assert_int_equal(sess_expiry_count(&q), 1);
        assert_int_equal(sess_expiry_deadline(&q, 2), -1);
        /* touching pushes a deadline later, never earlier */
        assert_int_equal(sess_expiry_touch(&q, 1, 5000, 7000), SYN_OK);
        assert_int_equal(sess_expiry_deadline(&q, 1), 12000);
        assert_int_equal(sess_expiry_touch(&q, 1, 1000, 7000), SYN_OK);
        assert_int_equal(sess_expiry_deadline(&q, 1), 12000);
        assert_int_equal(sess_expiry_pop_expired(&q, 11999, out, 8), 0);
        assert_int_equal(sess_expiry_remove(&q, 1), SYN_OK);
        assert_int_equal(sess_expiry_remove(&q, 1), SYN_ENOTFOUND);
        assert_int_equal(sess_expiry_pop_expired(&q, 1000000, out, 8), 0);
        assert_int_equal(sess_expiry_next_deadline(&q), -1);
        assert_int_equal(sess_expiry_touch(&q, 0, 1000, 0), SYN_EINVAL);
        assert_int_equal(sess_expiry_touch(&q, 9, 0, 0), SYN_EINVAL);
        sess_expiry_close(&q);
}

static void expiry_capacity_and_bounded_pop(void **state)
{
        (void)state;
        struct sess_expiry q;
        sess_expiry_init(&q, &(struct sess_expiry_options){.interval_ms = 10, .capacity_max = 3});
        assert_int_equal(sess_expiry_touch(&q, 1, 10, 0), SYN_OK);
        assert_int_equal(sess_expiry_touch(&q, 2, 20, 0), SYN_OK);
        assert_int_equal(sess_expiry_touch(&q, 3, 30, 0), SYN_OK);
        assert_int_equal(sess_expiry_touch(&q, 4, 30, 0), SYN_ELIMIT);
        assert_int_equal(sess_expiry_touch(&q, 3, 40, 0), SYN_OK); /* known id: still fine */
        uint64_t out[1];
        assert_int_equal(sess_expiry_pop_expired(&q, 100, out, 1), 1);
        assert_int_equal(out[0], 1);
        assert_int_equal(sess_expiry_pop_expired(&q, 100, out, 1), 1);
        assert_int_equal(out[0], 2);
        assert_int_equal(sess_expiry_pop_expired(&q, 100, out, 1), 1);
        assert_int_equal(out[0], 3);
        sess_expiry_close(&q);
}

/* Against a brute-force model: random touches/removes/pops give the same expiries. */
static void expiry_matches_a_simple_model(void **state)
{
        (void)state;
        enum { N = 200 };
        int64_t model[N + 1];
        for (int i = 0; i <= N; i++)
                model[i] = -1;
        struct sess_expiry q;
        sess_expiry_init(&q, &(struct sess_expiry_options){.interval_ms = 7});
        uint64_t x = 12345;
        int64_t now = 0;
        for (int step = 0; step < 20000; step++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                uint64_t id = (x >> 33) % N + 1;
                int op = (int)((x >> 20) % 10);
                if (op < 6) {
                        int32_t timeout = (int32_t)((x >> 40) % 100 + 1);
                        assert_int_equal(sess_expiry_touch(&q, id, timeout, now), SYN_OK);
                        int64_t d = now + timeout;
                        d = (d + 6) / 7 * 7;
                        if (d > model[id])
                                model[id] = d;
                } else if (op < 7) {
                        int rc = sess_expiry_remove(&q, id);
                        assert_int_equal(rc, model[id] < 0 ? SYN_ENOTFOUND : SYN_OK);
                        model[id] = -1;
                } else {
                        now += (int64_t)((x >> 50) % 5);
                        uint64_t out[N];
                        int32_t n = sess_expiry_pop_expired(&q, now, out, N);
                        int32_t expect = 0;
                        for (int i = 1; i <= N; i++)
                                expect += model[i] >= 0 && model[i] <= now;
                        assert_int_equal(n, expect);
                        for (int32_t k = 0; k < n; k++) {
                                assert_true(model[out[k]] >= 0 && model[out[k]] <= now);
                                if (k > 0)
                                        assert_true(model[out[k - 1]] < model[out[k]] ||
                                                    (model[out[k - 1]] == model[out[k]] &&
                                                     out[k - 1] < out[k]));
                        }
                        for (int32_t k = 0; k < n; k++)
                                model[out[k]] = -1;
                }
                for (int i = 1; i <= N; i += 37)
                        assert_int_equal(sess_expiry_deadline(&q, (uint64_t)i), model[i]);
        }
        sess_expiry_close(&q);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(table_add_find_remove),
            cmocka_unit_test(table_rejects_reserved_ids_and_timeouts),
            cmocka_unit_test(table_survives_churn_and_sorts),
            cmocka_unit_test(table_digest_ignores_insertion_order),
            cmocka_unit_test(expiry_rounds_to_buckets_and_pops_in_order),
            cmocka_unit_test(expiry_capacity_and_bounded_pop),
            cmocka_unit_test(expiry_matches_a_simple_model),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
