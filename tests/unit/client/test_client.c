/*
 * Unit tests of libsynod's pure pieces: connect strings, chroot paths, the
 * state machine, backoff, lock naming and ordering, and the partitioner.
 * No server is needed; the wire-level pieces are in test_client_wire.c.
 */
/* cmocka.h needs these before it, in this order. */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "client/client.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

void test_wire_register(const struct CMUnitTest **tests, size_t *n);

static void connstr_parses_hosts_ports_and_chroot(void **state)
{
        (void)state;
        struct cl_connstr cs;
        assert_int_equal(cl_connstr_parse("a:1,b,[::1]:3/app/x", &cs), SYN_OK);
        assert_int_equal(cs.count, 3);
        assert_string_equal(cs.servers[0].host, "a");
        assert_int_equal(cs.servers[0].port, 1);
        assert_string_equal(cs.servers[1].host, "b");
        assert_int_equal(cs.servers[1].port, 2181);
        assert_string_equal(cs.servers[2].host, "::1");
        assert_int_equal(cs.servers[2].port, 3);
        assert_string_equal(cs.chroot, "/app/x");

        assert_int_equal(cl_connstr_parse("h:2181/", &cs), SYN_OK);
        assert_string_equal(cs.chroot, "");
        assert_int_equal(cl_connstr_parse("h/app/", &cs), SYN_OK);
        assert_string_equal(cs.chroot, "/app");
}

static void connstr_rejects_garbage(void **state)
{
        (void)state;
        struct cl_connstr cs;
        const char *bad[] = {"",      ",",    "a,",   ":2181",  "a:0",   "a:65536",
                             "a:12x", "a:-1", "[::1", "a/b//c", "a/./b", NULL};
        for (int i = 0; bad[i]; i++)
                assert_int_equal(cl_connstr_parse(bad[i], &cs), SYN_EINVAL);
        assert_int_equal(cl_connstr_parse(NULL, &cs), SYN_EINVAL);
        char many[CLIENT_SERVERS_MAX * 4 + 16] = "";
        for (int i = 0; i <= CLIENT_SERVERS_MAX; i++)
                strcat(many, i ? ",h" : "h");
        assert_int_equal(cl_connstr_parse(many, &cs), SYN_EINVAL);
        char longhost[CLIENT_HOST_BYTES_MAX + 3];
        memset(longhost, 'x', sizeof(longhost) - 1);
        longhost[sizeof(longhost) - 1] = '\0';
        assert_int_equal(cl_connstr_parse(longhost, &cs), SYN_EINVAL);
}

/* The reason given for each kind of malformed connect string names the culprit. */
static void connstr_explains_why(void **state)
{
        (void)state;
        struct cl_connstr cs;
        const struct {
                const char *s, *why;
        } cases[] = {
            {"127.0.0.1:70000", "port 70000 of '127.0.0.1:70000' is out of range (1..65535)"},
            {"a:0", "port 0 of 'a:0' is out of range (1..65535)"},
            {"a:12x", "port '12x' of 'a:12x' is not a number"},
            {"a,,b", "a server is empty (',,' or a ',' first)"},
            {"a,", "it ends with a ','"},
            {"", "it is empty"},
            {"[::1", "'[::1' lacks the ']' of its IPv6 address"},
            {"a/b//c", "chroot '/b//c' is not a valid path"},
            {":2181", "':2181' has no host"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char why[256] = "";
                assert_int_equal(cl_connstr_parse_why(cases[i].s, &cs, why, sizeof(why)),
                                 SYN_EINVAL);
                assert_string_equal(why, cases[i].why);
        }
}

static void chroot_join_and_strip(void **state)
{
        (void)state;
        char *p = cl_path_join("/app", "/");
        assert_string_equal(p, "/app");
        free(p);
        p = cl_path_join("/app", "/x/y");
        assert_string_equal(p, "/app/x/y");
        free(p);
        p = cl_path_join("", "/x");
        assert_string_equal(p, "/x");
        free(p);
        assert_string_equal(cl_path_strip("/app", "/app"), "/");
        assert_string_equal(cl_path_strip("/app", "/app/x"), "/x");
        assert_string_equal(cl_path_strip("/app", "/apple"), "/apple");
        assert_string_equal(cl_path_strip("", "/x"), "/x");
}

static void state_machine_transitions(void **state)
{
        (void)state;
        enum synod_state C = SYNOD_STATE_CONNECTING, K = SYNOD_STATE_CONNECTED,
                         S = SYNOD_STATE_SUSPENDED, E = SYNOD_STATE_EXPIRED, X = SYNOD_STATE_CLOSED;
        assert_int_equal(cl_state_next(C, CL_EV_SESSION_UP), K);
        assert_int_equal(cl_state_next(C, CL_EV_CONN_LOST), C);
        assert_int_equal(cl_state_next(C, CL_EV_SESSION_EXPIRED), C);
        assert_int_equal(cl_state_next(C, CL_EV_SUSPEND_TIMEOUT), C);
        assert_int_equal(cl_state_next(K, CL_EV_CONN_LOST), S);
        assert_int_equal(cl_state_next(K, CL_EV_SUSPEND_TIMEOUT), K);
        assert_int_equal(cl_state_next(S, CL_EV_SESSION_UP), K);
        assert_int_equal(cl_state_next(S, CL_EV_CONN_LOST), S);
        assert_int_equal(cl_state_next(S, CL_EV_SESSION_EXPIRED), E);
        assert_int_equal(cl_state_next(S, CL_EV_SUSPEND_TIMEOUT), E);
        /* Final states stay final; close wins from anywhere but CLOSED. */
        assert_int_equal(cl_state_next(E, CL_EV_SESSION_UP), E);
        assert_int_equal(cl_state_next(E, CL_EV_CLOSE), X);
        assert_int_equal(cl_state_next(X, CL_EV_SESSION_UP), X);
        assert_int_equal(cl_state_next(K, CL_EV_CLOSE), X);
        assert_string_equal(synod_state_name(S), "SUSPENDED");
}

static void backoff_grows_with_jitter_and_caps(void **state)
{
        (void)state;
        struct syn_rand r;
        syn_rand_seed(&r, 42);
        assert_int_equal(cl_backoff_ms(0, &r), 0);
        for (int round = 1; round < 20; round++) {
                long d = CLIENT_BACKOFF_MS_MIN;
                for (int i = 1; i < round && d < CLIENT_BACKOFF_MS_MAX; i++)
                        d *= 2;
                d = d > CLIENT_BACKOFF_MS_MAX ? CLIENT_BACKOFF_MS_MAX : d;
                int hi = 0, lo = 1 << 30;
                for (int i = 0; i < 200; i++) {
                        int x = cl_backoff_ms(round, &r);
                        hi = x > hi ? x : hi;
                        lo = x < lo ? x : lo;
                }
                assert_true(hi <= d);     /* doubles per round, capped */
                assert_true(lo >= d / 2); /* jitter stays in [d/2, d] */
                assert_true(lo < hi);     /* and is jitter */
                assert_true(hi > d * 9 / 10);
        }
        assert_int_equal(cl_connect_timeout_ms(10000, 4), 2500);
        assert_int_equal(cl_connect_timeout_ms(1000, 10), CLIENT_CONNECT_TIMEOUT_MS_MIN);
}

static void lock_names(void **state)
{
        (void)state;
        assert_int_equal(cl_seq_of("_c_ab-lock-0000000042"), 42);
        assert_int_equal(cl_seq_of("x"), -1);
        assert_int_equal(cl_seq_of("_c_ab-lock-00000000x2"), -1);
        assert_true(cl_name_has_guid("_c_abc-lock-0000000001", "abc"));
        assert_false(cl_name_has_guid("_c_abcd-lock-0000000001", "abc"));
        assert_false(cl_name_has_guid("abc-lock-0000000001", "abc"));
        char kind[16];
        assert_true(cl_name_kind("_c_g1-read-0000000003", kind, sizeof(kind)));
        assert_string_equal(kind, "read");
        assert_false(cl_name_kind("_c_g1-read0000000003", kind, sizeof(kind)));
        assert_false(cl_name_kind("plain", kind, sizeof(kind)));
}

static char **names_of(const char *const *src, int n)
{
        char **v = calloc((size_t)n, sizeof(char *));
        for (int i = 0; i < n; i++)
                v[i] = strdup(src[i]);
        return v;
}

static void lock_blocker_watches_only_predecessor(void **state)
{
        (void)state;
        /* Sequence decides, not the guid: "zz" (seq 1) precedes "aa" (seq 2). */
        const char *src[] = {"_c_aa-lock-0000000002", "_c_zz-lock-0000000001",
                             "_c_mm-lock-0000000010", "junk"};
        char **v = names_of(src, 4);
        assert_int_equal(cl_lock_blocker(v, 4, "_c_zz-lock-0000000001"), -1);
        int b = cl_lock_blocker(v, 4, "_c_aa-lock-0000000002");
        assert_string_equal(v[b], "_c_zz-lock-0000000001");
        b = cl_lock_blocker(v, 4, "_c_mm-lock-0000000010");
        assert_string_equal(v[b], "_c_aa-lock-0000000002");
        assert_int_equal(cl_lock_blocker(v, 4, "_c_gone-lock-0000000005"), -2);
        assert_string_equal(v[3], "junk"); /* names without a sequence sort last */
        synod_strings_free(v, 4);
}

static void rwlock_reads_share_writes_exclude(void **state)
{
        (void)state;
        const char *src[] = {"_c_a-read-0000000001", "_c_b-read-0000000002",
                             "_c_c-write-0000000003", "_c_d-read-0000000004",
                             "_c_e-write-0000000005"};
        char **v = names_of(src, 5);
        assert_int_equal(cl_lock_blocker(v, 5, "_c_a-read-0000000001"), -1);
        assert_int_equal(cl_lock_blocker(v, 5, "_c_b-read-0000000002"), -1); /* reads share */
        int b = cl_lock_blocker(v, 5, "_c_c-write-0000000003");
        assert_string_equal(v[b], "_c_b-read-0000000002");
        b = cl_lock_blocker(v, 5, "_c_d-read-0000000004");
        assert_string_equal(v[b], "_c_c-write-0000000003"); /* nearest earlier writer */
        b = cl_lock_blocker(v, 5, "_c_e-write-0000000005");
        assert_string_equal(v[b], "_c_d-read-0000000004");
        synod_strings_free(v, 5);
}

static void partition_covers_every_item_once(void **state)
{
        (void)state;
        const char *items[] = {"i5", "i1", "i3", "i2", "i4", "i0", "i6"};
        const char *members3[] = {"m2", "m0", "m1"};
        int32_t owned[7];
        int owners[7] = {0};
        for (int m = 0; m < 3; m++) {
                int32_t k = synod_partition(members3, 3, members3[m], items, 7, owned);
                for (int32_t i = 0; i < k; i++)
                        owners[owned[i]]++;
                assert_true(k == 2 || k == 3);
        }
        for (int i = 0; i < 7; i++)
                assert_int_equal(owners[i], 1);
        /* m1 dies: the two survivors take everything, and agree. */
        const char *members2[] = {"m2", "m0"};
        int32_t a = synod_partition(members2, 2, "m0", items, 7, owned);
        int32_t b = synod_partition(members2, 2, "m2", items, 7, owned);
        assert_int_equal(a + b, 7);
        assert_int_equal(synod_partition(members2, 2, "m1", items, 7, owned), 0);
        /* Independent of the order members are listed in. */
        const char *members2r[] = {"m0", "m2"};
        assert_int_equal(synod_partition(members2r, 2, "m0", items, 7, owned), a);
}

int main(void)
{
        const struct CMUnitTest own[] = {
            cmocka_unit_test(connstr_parses_hosts_ports_and_chroot),
            cmocka_unit_test(connstr_rejects_garbage),
            cmocka_unit_test(connstr_explains_why),
            cmocka_unit_test(chroot_join_and_strip),
            cmocka_unit_test(state_machine_transitions),
            cmocka_unit_test(backoff_grows_with_jitter_and_caps),
            cmocka_unit_test(lock_names),
            cmocka_unit_test(lock_blocker_watches_only_predecessor),
            cmocka_unit_test(rwlock_reads_share_writes_exclude),
            cmocka_unit_test(partition_covers_every_item_once),
        };
        const struct CMUnitTest *wire;
        size_t n_wire;
        test_wire_register(&wire, &n_wire);
        int failed = cmocka_run_group_tests_name("client", own, NULL, NULL);
        failed += _cmocka_run_group_tests("client_wire", wire, n_wire, NULL, NULL);
        return failed;
}
