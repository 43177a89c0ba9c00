/*
 * Unit tests of src/admin's formatting: the command table (names, aliases, the
 * four-letter twins the whitelist governs, which commands need auth), the JSON answers
 * read back with jansson, and the Prometheus text: gauges from mntr's rows, the per-peer
 * family, escaped labels, cumulative histogram buckets and summaries, and the console's
 * built-in files. The HTTP side is exercised by tests/admin and tests/console against a
 * running server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "admin/admin.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/hist.h"
#include "proto/fourlw.h"

static const struct fourlw_conn conns[] = {
    {.remote = "127.0.0.1:35764",
     .interest_ops = 1,
     .received = 7,
     .sent = 7,
     .session_id = 0x1000022ba4f0000ull,
     .last_op = "GETC",
     .established_ms = 1795402977108,
     .timeout_ms = 10000,
     .last_cxid = 6,
     .last_zxid = 3,
     .last_response_ms = 2286137,
     .last_latency_ms = 1,
     .latency = {.min_ms = 0, .max_ms = 52, .sum_ms = 125, .count = 7}},
};

static const struct fourlw_metric extras[] = {
    {.key = "synod_raft_term", .kind = FOURLW_METRIC_INT, .int_value = 4},
    {.key = "synod_peer_2_connected", .kind = FOURLW_METRIC_INT, .int_value = 1},
    {.key = "synod_peer_2_lag", .kind = FOURLW_METRIC_INT, .int_value = 0},
    {.key = "synod_peer_3_connected", .kind = FOURLW_METRIC_INT, .int_value = 0},
    {.key = "synod_peer_3_lag", .kind = FOURLW_METRIC_INT, .int_value = 12},
};

static struct fourlw_server server(enum fourlw_mode mode)
{
        return (struct fourlw_server){
            .serving = true,
            .synod_version = "0.1.0",
            .build_date = "2026-11-24 \"00:00\" UTC",
            .mode = mode,
            .latency = {.min_ms = 1, .max_ms = 52, .sum_ms = 125, .count = 7},
            .packets_received = 10,
            .packets_sent = 9,
            .connections = 1,
            .last_zxid = 3,
            .node_count = 7,
            .proposal_size_last = 36,
            .proposal_size_min = 36,
            .proposal_size_max = 90,
            .conns = conns,
            .conn_count = 1,
            .quorum_size = 3,
            .peer_state = "leading - broadcast",
            .extra_metrics = extras,
            .extra_metric_count = sizeof extras / sizeof extras[0],
        };
}

static json_t *run(enum admin_cmd cmd, const struct admin_view *v)
{
        struct syn_writer w;
        syn_writer_init(&w, 1 << 20);
        assert_int_equal(admin_write_command(&w, cmd, v), SYN_OK);
        json_error_t err;
        json_t *o = json_loadb((const char *)w.data, w.len, 0, &err);
        syn_writer_close(&w);
        assert_non_null(o);
        return o;
}

static void command_table(void **state)
{
        (void)state;
        assert_int_equal(admin_cmd_lookup("stats"), ADMIN_CMD_STATS);
        assert_int_equal(admin_cmd_lookup("stat"), ADMIN_CMD_STATS);
        assert_int_equal(admin_cmd_lookup("config"), ADMIN_CMD_CONFIGURATION);
        assert_int_equal(admin_cmd_lookup("lead"), ADMIN_CMD_LEADER);
        assert_int_equal(admin_cmd_lookup("nope"), ADMIN_CMD_UNKNOWN);
        assert_int_equal(admin_cmd_lookup(""), ADMIN_CMD_UNKNOWN);
        assert_string_equal(admin_cmd_name(ADMIN_CMD_WATCHES), "watches");
        assert_int_equal(admin_cmd_fourlw(ADMIN_CMD_WATCHES), FOURLW_WCHC);
        assert_int_equal(admin_cmd_fourlw(ADMIN_CMD_VOTING_VIEW), FOURLW_UNKNOWN);
        assert_true(admin_cmd_needs_auth(ADMIN_CMD_DUMP));
        assert_true(admin_cmd_needs_auth(ADMIN_CMD_STAT_RESET));
        assert_false(admin_cmd_needs_auth(ADMIN_CMD_MONITOR));
        assert_false(admin_cmd_needs_serving(ADMIN_CMD_ENVIRONMENT));
        /* Every command is reachable by its primary name. */
        for (int c = ADMIN_CMD_UNKNOWN + 1; c < ADMIN_CMD_COUNT; c++)
                assert_int_equal(admin_cmd_lookup(admin_cmd_name((enum admin_cmd)c)), c);
}

static void stats_and_connections_json(void **state)
{
        (void)state;
        struct fourlw_server s = server(FOURLW_MODE_LEADER);
        struct fourlw_input in = {.server = &s, .data_dir_size = 457, .log_dir_size = 458};
        struct admin_view v = {.in = &in};
        json_t *o = run(ADMIN_CMD_STATS, &v);
        assert_string_equal(json_string_value(json_object_get(o, "command")), "stats");
        assert_true(json_is_null(json_object_get(o, "error")));
        json_t *st = json_object_get(o, "server_stats");
        assert_int_equal(json_integer_value(json_object_get(st, "packets_received")), 10);
        assert_int_equal(json_integer_value(json_object_get(st, "data_dir_size")), 457);
        assert_int_equal(json_integer_value(json_object_get(st, "log_dir_size")), 458);
        assert_string_equal(json_string_value(json_object_get(st, "server_state")), "leader");
        /* 125 / 7 = 17.857142... rounded half-up to 4 places, as mntr prints it. */
        assert_true(json_real_value(json_object_get(st, "avg_latency")) == 17.8571);
        json_t *prop = json_object_get(o, "proposal_stats");
        assert_int_equal(json_integer_value(json_object_get(prop, "max_buffer_size")), 90);
        json_t *c = json_array_get(json_object_get(o, "connections"), 0);
        assert_string_equal(json_string_value(json_object_get(c, "remote_socket_address")),
                            "127.0.0.1:35764");
        assert_null(json_object_get(c, "session_id")); /* stats lists connections briefly */
        json_decref(o);
        o = run(ADMIN_CMD_CONNECTIONS, &v);
        c = json_array_get(json_object_get(o, "connections"), 0);
        assert_int_equal(json_integer_value(json_object_get(c, "session_id")),
                         (json_int_t)0x1000022ba4f0000ull);
        assert_int_equal(json_integer_value(json_object_get(c, "avg_latency")), 17);
        assert_string_equal(json_string_value(json_object_get(c, "last_operation")), "GETC");
        assert_int_equal(json_array_size(json_object_get(o, "secure_connections")), 0);
        json_decref(o);
}

static void watches_dump_and_quorum_json(void **state)
{
        (void)state;
        struct fourlw_server s = server(FOURLW_MODE_FOLLOWER);
        /* Session ids are Java longs: one with the top bit set prints negative. */
        const struct fourlw_watch_pair pairs[] = {
            {0x8100000000000001ull, "/a", 2}, {0x8100000000000001ull, "/b/c", 4}, {5, "/a", 2}};
        const uint64_t ids[] = {5};
        const struct fourlw_session_bucket buckets[] = {{1796326613844, ids, 1}};
        const char *const paths[] = {"/e1", "/e2"};
        const struct fourlw_ephemerals eph[] = {{5, paths, 2}};
        const struct fourlw_dump dump = {buckets, 1, eph, 1, NULL, 0};
        struct fourlw_input in = {
            .server = &s, .watch_pairs = pairs, .watch_pair_count = 3, .dump = &dump};
        const struct admin_member members[] = {
            {1, "127.0.0.1", 2888, 3888, "0.0.0.0", 2181, false},
            {2, "::1", 2889, 0, NULL, 0, false},
        };
        struct admin_view v = {.in = &in,
                               .quorum = true,
                               .leader_id = 2,
                               .leader_ip = "127.0.0.1",
                               .voters = members,
                               .voter_count = 2,
                               .self = &members[0],
                               .term = 3,
                               .last_zxid = 0x1f,
                               .last_snapshot_zxid = 0x1e,
                               .last_snapshot_ms = 1796326603123};
        json_t *o = run(ADMIN_CMD_WATCHES, &v);
        json_t *by = json_object_get(o, "session_id_to_watched_paths");
        json_t *paths_of = json_object_get(by, "-9151314442816847871");
        assert_int_equal(json_array_size(paths_of), 2);
        assert_string_equal(json_string_value(json_array_get(paths_of, 1)), "/b/c");
        json_decref(o);
        o = run(ADMIN_CMD_WATCHES_BY_PATH, &v);
        json_t *a = json_object_get(json_object_get(o, "path_to_session_ids"), "/a");
        assert_int_equal(json_array_size(a), 2);
        assert_int_equal(json_integer_value(json_array_get(a, 1)), 5);
        json_decref(o);
        o = run(ADMIN_CMD_DUMP, &v);
        json_t *exp =
            json_object_get(json_object_get(o, "expiry_time_to_session_ids"), "1796326613844");
        assert_int_equal(json_integer_value(json_array_get(exp, 0)), 5);
        json_t *e = json_object_get(json_object_get(o, "session_id_to_ephemeral_paths"), "5");
        assert_string_equal(json_string_value(json_array_get(e, 1)), "/e2");
        json_decref(o);
        o = run(ADMIN_CMD_LEADER, &v);
        assert_false(json_boolean_value(json_object_get(o, "is_leader")));
        assert_int_equal(json_integer_value(json_object_get(o, "leader_id")), 2);
        json_decref(o);
        o = run(ADMIN_CMD_VOTING_VIEW, &v);
        json_t *one = json_object_get(json_object_get(o, "current_config"), "1");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(one, "server_addresses"), 0)),
            "127.0.0.1:2888");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(one, "election_addresses"), 0)),
            "127.0.0.1:3888");
        assert_string_equal(json_string_value(json_object_get(one, "client_address")),
                            "0.0.0.0:2181");
        assert_string_equal(json_string_value(json_object_get(one, "learner_type")), "participant");
        json_t *two = json_object_get(json_object_get(o, "current_config"), "2");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(two, "server_addresses"), 0)),
            "[::1]:2889");
        assert_int_equal(json_array_size(json_object_get(two, "election_addresses")), 0);
        assert_null(json_object_get(two, "client_address"));
        json_decref(o);
        o = run(ADMIN_CMD_ZABSTATE, &v);
        assert_int_equal(json_integer_value(json_object_get(o, "myid")), 1);
        assert_string_equal(json_string_value(json_object_get(o, "last_zxid")), "0x1f");
        assert_int_equal(json_integer_value(json_object_get(o, "zab_epoch")), 3);
        assert_string_equal(json_string_value(json_object_get(o, "zabstate")), "broadcast");
        json_t *qa = json_object_get(o, "quorum_address");
        assert_string_equal(json_string_value(json_object_get(qa, "one")), "127.0.0.1:2888");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(qa, "wildcard_addresses"), 0)),
            "0.0.0.0:2888");
        json_decref(o);
        o = run(ADMIN_CMD_LAST_SNAPSHOT, &v);
        assert_string_equal(json_string_value(json_object_get(o, "zxid")), "1e");
        assert_int_equal(json_integer_value(json_object_get(o, "timestamp")), 1796326603);
        json_decref(o);
        v.quorum = false; /* standalone: ZooKeeper's error for leader */
        o = run(ADMIN_CMD_LEADER, &v);
        assert_string_equal(json_string_value(json_object_get(o, "error")),
                            "server is not initialized");
        json_decref(o);
}

static void error_and_index(void **state)
{
        (void)state;
        struct syn_writer w;
        syn_writer_init(&w, 1 << 16);
        assert_int_equal(admin_write_error(&w, "x\"y", "Unknown command: x\"y"), SYN_OK);
        json_t *o = json_loadb((const char *)w.data, w.len, 0, NULL);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "command")), "x\"y");
        json_decref(o);
        syn_writer_reset(&w);
        assert_int_equal(admin_write_index(&w, "/c"), SYN_OK);
        syn_write_bytes(&w, "", 1);
        assert_non_null(strstr((const char *)w.data, "<a href=\"/c/voting_view\">voting_view</a>"));
        syn_writer_close(&w);
        /* A writer cap too small for the answer is an error, not a truncated document. */
        struct fourlw_server s = server(FOURLW_MODE_STANDALONE);
        struct fourlw_input in = {.server = &s};
        struct admin_view v = {.in = &in};
        syn_writer_init(&w, 64);
        assert_int_equal(admin_write_command(&w, ADMIN_CMD_MONITOR, &v), SYN_ETOOBIG);
        syn_writer_close(&w);
}

static const uint64_t bounds[] = {1, 5, 10};

static void prometheus_text(void **state)
{
        (void)state;
        struct fourlw_server s = server(FOURLW_MODE_LEADER);
        struct syn_hist h, r;
        syn_hist_init(&h, bounds, 3);
        syn_hist_init(&r, bounds, 3);
        const uint64_t obs[] = {0, 3, 3, 7, 100};
        for (size_t i = 0; i < 5; i++)
                syn_hist_observe(&h, obs[i]);
        for (int i = 0; i < 10; i++)
                syn_hist_observe(&r, 4);
        const struct admin_hist hists[] = {
            {"t_seconds", "help", "op=\"get\"", &h, 1e-3},
            {"t_seconds", "help", "op=\"set\"", &h, 1e-3},
        };
        const struct admin_hist sums[] = {{"readlatency", "help", NULL, &r, 1}};
        struct admin_metrics m = {&s, hists, 2, sums, 1};
        struct syn_writer w;
        syn_writer_init(&w, 1 << 20);
        assert_int_equal(admin_write_metrics(&w, &m), SYN_OK);
        syn_write_bytes(&w, "", 1);
        const char *t = (const char *)w.data;
        assert_non_null(strstr(t, "# TYPE znode_count gauge\nznode_count 7\n"));
        assert_non_null(strstr(t, "\navg_latency 17.8571\n"));
        assert_non_null(strstr(t, "\nquorum_size 3\n"));
        assert_non_null(strstr(t, "\nsynod_raft_term 4\n"));
        /* The text rows are labels of synod_info, escaped. */
        assert_non_null(strstr(t, "built on 2026-11-24 \\\"00:00\\\" UTC\",server_state=\"leader\","
                                  "peer_state=\"leading - broadcast\"} 1\n"));
        /* One family per per-peer row name, with every peer under it. */
        assert_non_null(strstr(t, "# TYPE synod_peer_lag gauge\nsynod_peer_lag{peer=\"2\"} 0\n"
                                  "synod_peer_lag{peer=\"3\"} 12\n"));
        assert_null(strstr(t, "synod_peer_2_lag"));
        /* Cumulative buckets in exported units; one header for both labels. */
        assert_non_null(strstr(t, "t_seconds_bucket{op=\"get\",le=\"0.001\"} 1\n"
                                  "t_seconds_bucket{op=\"get\",le=\"0.005\"} 3\n"
                                  "t_seconds_bucket{op=\"get\",le=\"0.01\"} 4\n"
                                  "t_seconds_bucket{op=\"get\",le=\"+Inf\"} 5\n"
                                  "t_seconds_sum{op=\"get\"} 0.113\n"
                                  "t_seconds_count{op=\"get\"} 5\n"
                                  "t_seconds_bucket{op=\"set\",le=\"0.001\"} 1\n"));
        assert_null(strstr(strstr(t, "# TYPE t_seconds histogram") + 1, "# TYPE t_seconds"));
        assert_non_null(strstr(t, "# TYPE readlatency summary\nreadlatency{quantile=\"0.5\"} 5\n"
                                  "readlatency{quantile=\"0.9\"} 5\n"
                                  "readlatency{quantile=\"0.99\"} 5\nreadlatency_sum 40\n"
                                  "readlatency_count 10\n"));
        syn_writer_close(&w);
}

/* The console's files are built in: the page at "/" and "/console/", its script and style. */
static void console_assets(void **state)
{
        (void)state;
        const struct admin_asset *page = admin_asset_find("/");
        assert_non_null(page);
        assert_ptr_equal(admin_asset_find("/console/")->data, page->data);
        assert_string_equal(page->content_type, "text/html; charset=utf-8");
        assert_non_null(strstr((const char *)page->data, "/console/console.js"));
        assert_int_equal(strlen((const char *)page->data), *page->len);
        const struct admin_asset *js = admin_asset_find("/console/console.js");
        assert_non_null(js);
        assert_true(*js->len > 0 && js->data[*js->len] == '\0');
        assert_non_null(admin_asset_find("/console/console.css"));
        assert_null(admin_asset_find("/console/missing.js"));
        assert_null(admin_asset_find("/console/console.js/"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(command_table),
            cmocka_unit_test(stats_and_connections_json),
            cmocka_unit_test(watches_dump_and_quorum_json),
            cmocka_unit_test(error_and_index),
            cmocka_unit_test(prometheus_text),
            cmocka_unit_test(console_assets),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
