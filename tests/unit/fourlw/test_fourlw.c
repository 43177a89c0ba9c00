/*
 * Unit tests of the four-letter words (src/proto/fourlw.c): each word's text
 * for a given input, shaped like the ZooKeeper 3.8 outputs captured from
 * Debian's 3.8.0 (docs/protocol-notes.md, "Four-letter words": same numbers, synod's
 * version string), the whitelist, the word lookup, Java Double.toString formatting,
 * the half-up latency average and the not-serving answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "proto/fourlw.h"

#define VERSION_LINE "3.8.4-synod-0.1.0, built on 2026-11-24 00:00 UTC"

static const struct fourlw_conn sample_conns[] = {
    {.remote = "127.0.0.1:35794", .interest_ops = 0, .queued = 0, .received = 1, .sent = 0},
    {.remote = "127.0.0.1:35764",
     .interest_ops = 1,
     .queued = 0,
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

/* The numbers of the reference srvr sample. */
static struct fourlw_server sample_server(void)
{
        return (struct fourlw_server){
            .serving = true,
            .synod_version = "0.1.0",
            .build_date = "2026-11-24 00:00 UTC",
            .mode = FOURLW_MODE_STANDALONE,
            .latency = {.min_ms = 1, .max_ms = 52, .sum_ms = 125, .count = 7},
            .packets_received = 10,
            .packets_sent = 9,
            .connections = 2,
            .outstanding_requests = 0,
            .last_zxid = 3,
            .node_count = 7,
            .proposal_size_last = -1,
            .proposal_size_min = -1,
            .proposal_size_max = -1,
            .conns = sample_conns,
            .conn_count = 2,
            .watch_count = 2,
            .ephemerals_count = 1,
            .approximate_data_size = 59,
            .open_file_descriptor_count = 40,
            .max_file_descriptor_count = 20000,
            .uptime_ms = 10300,
            .global_sessions = 1,
        };
}

/* Runs one word through fourlw_write and compares the whole text. */
static void expect_word(enum fourlw_cmd cmd, const struct fourlw_input *in, const char *expected)
{
        struct syn_writer w;
        syn_writer_init(&w, 1 << 20);
        assert_int_equal(fourlw_write(&w, cmd, in), SYN_OK);
        char *text = calloc(1, w.len + 1);
        assert_non_null(text);
        if (w.len > 0)
                memcpy(text, w.data, w.len);
        assert_string_equal(text, expected);
        free(text);
        syn_writer_close(&w);
}

static void test_lookup(void **state)
{
        (void)state;
        for (int c = FOURLW_UNKNOWN + 1; c < FOURLW_CMD_COUNT; c++) {
                const char *name = fourlw_name((enum fourlw_cmd)c);
                assert_int_equal(strlen(name), 4);
                assert_int_equal(fourlw_lookup((const uint8_t *)name), c);
        }
        assert_int_equal(fourlw_lookup((const uint8_t *)"ruok"), FOURLW_RUOK);
        assert_int_equal(fourlw_lookup((const uint8_t *)"mntr"), FOURLW_MNTR);
        assert_int_equal(fourlw_lookup((const uint8_t *)"RUOK"), FOURLW_UNKNOWN);
        assert_int_equal(fourlw_lookup((const uint8_t *)"kill"), FOURLW_UNKNOWN);
        /* A ConnectRequest's length prefix (45) is not a word. */
        const uint8_t frame[4] = {0, 0, 0, 45};
        assert_int_equal(fourlw_lookup(frame), FOURLW_UNKNOWN);
        assert_string_equal(fourlw_name(FOURLW_UNKNOWN), "");
}

static void test_whitelist(void **state)
{
        (void)state;
        struct fourlw_whitelist wl;
        assert_int_equal(fourlw_whitelist_parse(&wl, NULL), SYN_OK);
        for (int c = FOURLW_UNKNOWN; c < FOURLW_CMD_COUNT; c++)
                assert_int_equal(fourlw_allowed(&wl, (enum fourlw_cmd)c), c == FOURLW_SRVR);

        assert_int_equal(fourlw_whitelist_parse(&wl, "*"), SYN_OK);
        for (int c = FOURLW_UNKNOWN + 1; c < FOURLW_CMD_COUNT; c++)
                assert_true(fourlw_allowed(&wl, (enum fourlw_cmd)c));
        assert_false(fourlw_allowed(&wl, FOURLW_UNKNOWN));

        assert_int_equal(fourlw_whitelist_parse(&wl, " stat, ruok ,mntr\t"), SYN_OK);
        assert_true(fourlw_allowed(&wl, FOURLW_STAT));
        assert_true(fourlw_allowed(&wl, FOURLW_RUOK));
        assert_true(fourlw_allowed(&wl, FOURLW_MNTR));
        assert_true(fourlw_allowed(&wl, FOURLW_SRVR)); /* always */
        assert_false(fourlw_allowed(&wl, FOURLW_CONS));
        assert_false(fourlw_allowed(&wl, FOURLW_DUMP));

        assert_int_equal(fourlw_whitelist_parse(&wl, ""), SYN_OK);
        assert_int_equal(wl.allowed, 1u << FOURLW_SRVR);
        assert_int_equal(fourlw_whitelist_parse(&wl, "ruok,,bogus,ruokk,dump"), SYN_ECONFIG);
        assert_true(fourlw_allowed(&wl, FOURLW_RUOK));
        assert_true(fourlw_allowed(&wl, FOURLW_DUMP));
        assert_false(fourlw_allowed(&wl, FOURLW_STAT));
        assert_int_equal(fourlw_whitelist_parse(&wl, " * ,wchs"), SYN_OK);
        assert_true(fourlw_allowed(&wl, FOURLW_CONS));

        fourlw_whitelist_default(&wl);
        fourlw_whitelist_allow(&wl, FOURLW_ISRO);
        assert_true(fourlw_allowed(&wl, FOURLW_ISRO));
        assert_false(fourlw_allowed(&wl, FOURLW_RUOK));

        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(fourlw_write_not_allowed(&w, FOURLW_MNTR), SYN_OK);
        const char *msg = "mntr is not executed because it is not in the whitelist.\n";
        assert_int_equal(w.len, strlen(msg));
        assert_memory_equal(w.data, msg, w.len);
        syn_writer_close(&w);
}

static void expect_double(double v, const char *expected)
{
        char buf[32];
        size_t n = fourlw_format_double(buf, sizeof buf, v);
        assert_string_equal(buf, expected);
        assert_int_equal(n, strlen(expected));
}

static void test_double_like_java(void **state)
{
        (void)state;
        expect_double(17.8571, "17.8571");
        expect_double(0.0, "0.0");
        expect_double(-0.0, "-0.0");
        expect_double(1.0, "1.0");
        expect_double(0.5714, "0.5714");
        expect_double(3.6667, "3.6667");
        expect_double(74.5, "74.5");
        expect_double(100.0, "100.0");
        expect_double(0.1, "0.1");
        expect_double(0.001, "0.001");
        expect_double(-2.5, "-2.5");
        expect_double(1234567.0, "1234567.0");
        expect_double(9999999.5, "9999999.5");
        expect_double(123456.789, "123456.789");
        expect_double(1e7, "1.0E7");
        expect_double(12345678.9, "1.23456789E7");
        expect_double(0.0001, "1.0E-4");
        expect_double(0.00025, "2.5E-4");
        expect_double(1e21, "1.0E21");
        expect_double(0.1 + 0.2, "0.30000000000000004");
        expect_double(1.0 / 0.0, "Infinity");
        expect_double(-1.0 / 0.0, "-Infinity");
        expect_double(0.0 / 0.0, "NaN");
        /* Truncation keeps the NUL and reports the full length. */
        char small[4];
        assert_int_equal(fourlw_format_double(small, sizeof small, 17.8571), 7);
        assert_string_equal(small, "17.");
}

static double avg_of(uint64_t sum, uint64_t count)
{
        struct fourlw_latency l = {.sum_ms = sum, .count = count};
        return fourlw_latency_avg(&l);
}

static void test_latency_average_half_up(void **state)
{
        (void)state;
        char buf[32];
        fourlw_format_double(buf, sizeof buf, avg_of(125, 7));
        assert_string_equal(buf, "17.8571");
        fourlw_format_double(buf, sizeof buf, avg_of(4, 7));
        assert_string_equal(buf, "0.5714");
        fourlw_format_double(buf, sizeof buf, avg_of(11, 3));
        assert_string_equal(buf, "3.6667");
        fourlw_format_double(buf, sizeof buf, avg_of(69, 3));
        assert_string_equal(buf, "23.0");
        /* An exact tie rounds up: 1/20000 = 0.00005 -> 0.0001. */
        fourlw_format_double(buf, sizeof buf, avg_of(1, 20000));
        assert_string_equal(buf, "1.0E-4");
        fourlw_format_double(buf, sizeof buf, avg_of(1, 20001));
        assert_string_equal(buf, "0.0");
        fourlw_format_double(buf, sizeof buf, avg_of(0, 0));
        assert_string_equal(buf, "0.0");
        fourlw_format_double(buf, sizeof buf, avg_of(5, 0));
        assert_string_equal(buf, "0.0");
}

static void test_date_like_java(void **state)
{
        (void)state;
        char buf[64];
        fourlw_format_date(buf, sizeof buf, 1795402987000);
        assert_string_equal(buf, "Mon Nov 23 03:03:07 UTC 2026");
        fourlw_format_date(buf, sizeof buf, 0);
        assert_string_equal(buf, "Thu Jan 01 00:00:00 UTC 1970");
        fourlw_format_date(buf, sizeof buf, -1);
        assert_string_equal(buf, "Wed Dec 31 23:59:59 UTC 1969");
}

static void test_ruok_isro(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_RUOK, &in, "imok");
        expect_word(FOURLW_ISRO, &in, "rw");
        s.mode = FOURLW_MODE_READ_ONLY;
        expect_word(FOURLW_ISRO, &in, "ro");
        s.serving = false;
        expect_word(FOURLW_RUOK, &in, "");
        expect_word(FOURLW_ISRO, &in, "null");
        expect_word(FOURLW_UNKNOWN, &in, "");
}

static void test_srvr(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_SRVR, &in,
                    "Zookeeper version: " VERSION_LINE "\n"
                    "Latency min/avg/max: 1/17.8571/52\n"
                    "Received: 10\n"
                    "Sent: 9\n"
                    "Connections: 2\n"
                    "Outstanding: 0\n"
                    "Zxid: 0x3\n"
                    "Mode: standalone\n"
                    "Node count: 7\n");
}

static void test_srvr_leader_and_read_only(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        s.mode = FOURLW_MODE_LEADER;
        s.last_zxid = 0x100000002aLL;
        s.latency = (struct fourlw_latency){0};
        s.proposal_size_last = 36;
        s.proposal_size_min = 32;
        s.proposal_size_max = 90;
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_SRVR, &in,
                    "Zookeeper version: " VERSION_LINE "\n"
                    "Latency min/avg/max: 0/0.0/0\n"
                    "Received: 10\n"
                    "Sent: 9\n"
                    "Connections: 2\n"
                    "Outstanding: 0\n"
                    "Zxid: 0x100000002a\n"
                    "Mode: leader\n"
                    "Node count: 7\n"
                    "Proposal sizes last/min/max: 36/32/90\n");
        s = sample_server();
        s.mode = FOURLW_MODE_READ_ONLY;
        expect_word(FOURLW_SRVR, &in,
                    "Zookeeper version: " VERSION_LINE "\n"
                    "READ-ONLY mode; serving only read-only clients\n"
                    "Latency min/avg/max: 1/17.8571/52\n"
                    "Received: 10\n"
                    "Sent: 9\n"
                    "Connections: 2\n"
                    "Outstanding: 0\n"
                    "Zxid: 0x3\n"
                    "Mode: read-only\n"
                    "Node count: 7\n");
}

static void test_stat(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        s.packets_received = 11;
        s.packets_sent = 10;
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_STAT, &in,
                    "Zookeeper version: " VERSION_LINE "\n"
                    "Clients:\n"
                    " /127.0.0.1:35794[0](queued=0,recved=1,sent=0)\n"
                    " /127.0.0.1:35764[1](queued=0,recved=7,sent=7)\n"
                    "\n"
                    "Latency min/avg/max: 1/17.8571/52\n"
                    "Received: 11\n"
                    "Sent: 10\n"
                    "Connections: 2\n"
                    "Outstanding: 0\n"
                    "Zxid: 0x3\n"
                    "Mode: standalone\n"
                    "Node count: 7\n");
}

static void test_cons(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_CONS, &in,
                    " /127.0.0.1:35794[0](queued=0,recved=1,sent=0)\n"
                    " /127.0.0.1:35764[1](queued=0,recved=7,sent=7,sid=0x1000022ba4f0000,"
                    "lop=GETC,est=1795402977108,to=10000,lcxid=0x6,lzxid=0x3,lresp=2286137,"
                    "llat=1,minlat=0,avglat=17,maxlat=52)\n"
                    "\n");
        /* No cxid yet: lcxid is left out; interest ops print in hex. */
        struct fourlw_conn c = sample_conns[1];
        c.last_cxid = -1;
        c.interest_ops = 0x1c;
        c.latency = (struct fourlw_latency){0};
        c.last_zxid = -1;
        s.conns = &c;
        s.conn_count = 1;
        expect_word(FOURLW_CONS, &in,
                    " /127.0.0.1:35764[1c](queued=0,recved=7,sent=7,sid=0x1000022ba4f0000,"
                    "lop=GETC,est=1795402977108,to=10000,lzxid=0xffffffffffffffff,"
                    "lresp=2286137,llat=1,minlat=0,avglat=0,maxlat=0)\n"
                    "\n");
        s.conn_count = 0;
        expect_word(FOURLW_CONS, &in, "\n");
}

static void test_mntr_standalone(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        s.packets_sent = 11;
        s.packets_received = 12;
        const struct fourlw_metric extra[] = {
            {.key = "synod_watch_rejected", .kind = FOURLW_METRIC_INT, .int_value = 3},
            {.key = "synod_ratio", .kind = FOURLW_METRIC_FLOAT, .float_value = 0.25},
            {.key = "synod_role", .kind = FOURLW_METRIC_TEXT, .text_value = "voter"},
        };
        s.extra_metrics = extra;
        s.extra_metric_count = 3;
        struct fourlw_input in = {.server = &s};
        expect_word(FOURLW_MNTR, &in,
                    "zk_version\t" VERSION_LINE "\n"
                    "zk_server_state\tstandalone\n"
                    "zk_ephemerals_count\t1\n"
                    "zk_num_alive_connections\t2\n"
                    "zk_avg_latency\t17.8571\n"
                    "zk_outstanding_requests\t0\n"
                    "zk_znode_count\t7\n"
                    "zk_global_sessions\t1\n"
                    "zk_packets_sent\t11\n"
                    "zk_packets_received\t12\n"
                    "zk_watch_count\t2\n"
                    "zk_auth_failed_count\t0\n"
                    "zk_min_latency\t1\n"
                    "zk_max_file_descriptor_count\t20000\n"
                    "zk_approximate_data_size\t59\n"
                    "zk_open_file_descriptor_count\t40\n"
                    "zk_local_sessions\t0\n"
                    "zk_uptime\t10300\n"
                    "zk_max_latency\t52\n"
                    "zk_synod_watch_rejected\t3\n"
                    "zk_synod_ratio\t0.25\n"
                    "zk_synod_role\tvoter\n");
}

static void test_mntr_leader_and_follower(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        s.mode = FOURLW_MODE_LEADER;
        s.quorum_size = 3;
        s.peer_state = "leading - broadcast";
        s.learners = 2;
        s.synced_followers = 2;
        s.pending_syncs = 1;
        s.leader_uptime_ms = 5000;
        s.proposal_size_last = 36;
        s.proposal_size_min = 32;
        s.proposal_size_max = 90;
        struct fourlw_input in = {.server = &s};
        const char *tail = "zk_max_latency\t52\n"
                           "zk_quorum_size\t3\n"
                           "zk_peer_state\tleading - broadcast\n"
                           "zk_learners\t2\n"
                           "zk_synced_followers\t2\n"
                           "zk_synced_non_voting_followers\t0\n"
                           "zk_synced_observers\t0\n"
                           "zk_pending_syncs\t1\n"
                           "zk_leader_uptime\t5000\n"
                           "zk_last_proposal_size\t36\n"
                           "zk_max_proposal_size\t90\n"
                           "zk_min_proposal_size\t32\n";
        struct syn_writer w;
        syn_writer_init(&w, 0);
        assert_int_equal(fourlw_write(&w, FOURLW_MNTR, &in), SYN_OK);
        assert_true(w.len > strlen(tail));
        assert_memory_equal(w.data + w.len - strlen(tail), tail, strlen(tail));
        assert_memory_equal(w.data, "zk_version\t", 11);
        assert_non_null(memmem(w.data, w.len, "zk_server_state\tleader\n", 23));

        syn_writer_reset(&w);
        s.mode = FOURLW_MODE_FOLLOWER;
        s.peer_state = "following - broadcast";
        assert_int_equal(fourlw_write(&w, FOURLW_MNTR, &in), SYN_OK);
        const char *ftail = "zk_max_latency\t52\n"
                            "zk_quorum_size\t3\n"
                            "zk_peer_state\tfollowing - broadcast\n";
        assert_memory_equal(w.data + w.len - strlen(ftail), ftail, strlen(ftail));
        assert_null(memmem(w.data, w.len, "zk_learners", 11));
        syn_writer_close(&w);
}

static void test_conf(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        const char *const quorum[] = {"initLimit=10", "syncLimit=5"};
        struct fourlw_conf c = {
            .client_port = 2181,
            .secure_client_port = -1,
            .data_dir = "/var/lib/zookeeper/data/version-2",
            .data_dir_size = 67109337,
            .data_log_dir = "/var/lib/zookeeper/data/version-2",
            .data_log_size = 67109337,
            .tick_time_ms = 2000,
            .max_client_cnxns = 60,
            .min_session_timeout_ms = 4000,
            .max_session_timeout_ms = 40000,
            .client_port_listen_backlog = -1,
            .server_id = 0,
        };
        struct fourlw_input in = {.server = &s, .conf = &c};
        const char *base = "clientPort=2181\n"
                           "secureClientPort=-1\n"
                           "dataDir=/var/lib/zookeeper/data/version-2\n"
                           "dataDirSize=67109337\n"
                           "dataLogDir=/var/lib/zookeeper/data/version-2\n"
                           "dataLogSize=67109337\n"
                           "tickTime=2000\n"
                           "maxClientCnxns=60\n"
                           "minSessionTimeout=4000\n"
                           "maxSessionTimeout=40000\n"
                           "clientPortListenBacklog=-1\n"
                           "serverId=0\n";
        expect_word(FOURLW_CONF, &in, base);
        c.extra_lines = quorum;
        c.extra_line_count = 2;
        char expected[1024];
        snprintf(expected, sizeof expected, "%sinitLimit=10\nsyncLimit=5\n", base);
        expect_word(FOURLW_CONF, &in, expected);
}

static void test_envi(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        const char *const extra[] = {"synod.raft.id=2"};
        struct fourlw_env e = {
            .host_name = "localhost",
            .os_name = "Linux",
            .os_arch = "amd64",
            .os_version = "6.18.44",
            .user_name = "root",
            .user_home = "/root",
            .user_dir = NULL,
            .extra_lines = extra,
            .extra_line_count = 1,
        };
        struct fourlw_input in = {.server = &s, .env = &e};
        const char *expected = "Environment:\n"
                               "zookeeper.version=" VERSION_LINE "\n"
                               "synod.version=0.1.0\n"
                               "host.name=localhost\n"
                               "os.name=Linux\n"
                               "os.arch=amd64\n"
                               "os.version=6.18.44\n"
                               "user.name=root\n"
                               "user.home=/root\n"
                               "user.dir=<NA>\n"
                               "synod.raft.id=2\n";
        expect_word(FOURLW_ENVI, &in, expected);
        /* envi answers even when not serving, like ZooKeeper. */
        s.serving = false;
        expect_word(FOURLW_ENVI, &in, expected);

        /* What kazoo's server_version() extracts: digits after '=' up to '-'. */
        const char *line = strstr(expected, "zookeeper.version=") + strlen("zookeeper.version=");
        assert_memory_equal(line, "3.8.4-", 6);
}

static void test_wchs_wchc_wchp(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        const struct fourlw_watch_pair by_session[] = {
            {0x1000022ba4f0000ull, "/probe", 6},
            {0x1000022ba4f0000ull, "/probe/x", 8},
            {0x2000000000000001ull, "/probe", 6},
        };
        const struct fourlw_watch_pair by_path[] = {
            {0x1000022ba4f0000ull, "/probe", 6},
            {0x2000000000000001ull, "/probe", 6},
            {0x1000022ba4f0000ull, "/probe/x", 8},
        };
        struct fourlw_input in = {.server = &s,
                                  .watch_summary = {.connections = 1, .paths = 1, .watches = 1}};
        expect_word(FOURLW_WCHS, &in, "1 connections watching 1 paths\nTotal watches:1\n");
        in.watch_pairs = by_session;
        in.watch_pair_count = 1;
        expect_word(FOURLW_WCHC, &in, "0x1000022ba4f0000\n\t/probe\n\n");
        in.watch_pair_count = 3;
        expect_word(FOURLW_WCHC, &in,
                    "0x1000022ba4f0000\n\t/probe\n\t/probe/x\n"
                    "0x2000000000000001\n\t/probe\n\n");
        in.watch_pairs = by_path;
        expect_word(FOURLW_WCHP, &in,
                    "/probe\n\t0x1000022ba4f0000\n\t0x2000000000000001\n"
                    "/probe/x\n\t0x1000022ba4f0000\n\n");
        in.watch_pair_count = 0;
        expect_word(FOURLW_WCHP, &in, "\n");
        expect_word(FOURLW_WCHC, &in, "\n");
}

static void test_dump(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        const uint64_t sessions[] = {0x1000022ba4f0000ull};
        const struct fourlw_session_bucket sb[] = {
            {.expire_at_ms = 1795402987000, .session_ids = NULL, .count = 0},
            {.expire_at_ms = 1795402989000, .session_ids = sessions, .count = 1},
        };
        const char *const eph_paths[] = {"/probe/e"};
        const struct fourlw_ephemerals eph[] = {
            {.session_id = 0x1000022ba4f0000ull, .paths = eph_paths, .count = 1}};
        const struct fourlw_conn_ref refs[] = {
            {.remote = "127.0.0.1:35862", .session_id = 0},
            {.remote = "127.0.0.1:35764", .session_id = 0x1000022ba4f0000ull},
        };
        const struct fourlw_conn_bucket cb[] = {
            {.expire_at_ms = 1795402981000, .conns = NULL, .count = 0},
            {.expire_at_ms = 1795402991000, .conns = refs, .count = 2},
        };
        struct fourlw_dump d = {.session_buckets = sb,
                                .session_bucket_count = 2,
                                .ephemerals = eph,
                                .ephemerals_count = 1,
                                .conn_buckets = cb,
                                .conn_bucket_count = 2};
        struct fourlw_input in = {.server = &s, .dump = &d};
        expect_word(FOURLW_DUMP, &in,
                    "SessionTracker dump:\n"
                    "Session Sets (2)/(1):\n"
                    "0 expire at Mon Nov 23 03:03:07 UTC 2026:\n"
                    "1 expire at Mon Nov 23 03:03:09 UTC 2026:\n"
                    "\t0x1000022ba4f0000\n"
                    "ephemeral nodes dump:\n"
                    "Sessions with Ephemerals (1):\n"
                    "0x1000022ba4f0000:\n"
                    "\t/probe/e\n"
                    "Connections dump:\n"
                    "Connections Sets (2)/(2):\n"
                    "0 expire at Mon Nov 23 03:03:01 UTC 2026:\n"
                    "2 expire at Mon Nov 23 03:03:11 UTC 2026:\n"
                    "\tip: /127.0.0.1:35862 sessionId: 0x0\n"
                    "\tip: /127.0.0.1:35764 sessionId: 0x1000022ba4f0000\n");
}

static void test_dirs_and_resets(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        struct fourlw_input in = {.server = &s, .data_dir_size = 67109337, .log_dir_size = 42};
        expect_word(FOURLW_DIRS, &in, "datadir_size: 67109337\nlogdir_size: 42\n");
        expect_word(FOURLW_CRST, &in, "Connection stats reset.\n");
        expect_word(FOURLW_SRST, &in, "Server stats reset.\n");
}

static void test_not_serving(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        s.serving = false;
        struct fourlw_input in = {.server = &s}; /* conf and dump left NULL: not read */
        const enum fourlw_cmd cmds[] = {FOURLW_SRVR, FOURLW_STAT, FOURLW_MNTR, FOURLW_CONF,
                                        FOURLW_CONS, FOURLW_WCHS, FOURLW_WCHC, FOURLW_WCHP,
                                        FOURLW_DUMP, FOURLW_DIRS, FOURLW_CRST, FOURLW_SRST};
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
                expect_word(cmds[i], &in, FOURLW_NOT_SERVING "\n");
}

static void test_writer_cap(void **state)
{
        (void)state;
        struct fourlw_server s = sample_server();
        struct fourlw_input in = {.server = &s};
        struct syn_writer w;
        syn_writer_init(&w, 32);
        assert_int_equal(fourlw_write(&w, FOURLW_SRVR, &in), SYN_ETOOBIG);
        assert_true(w.failed);
        syn_writer_close(&w);
        /* A long path goes through the large-text branch of the formatter. */
        char *path = malloc(5000);
        assert_non_null(path);
        memset(path, 'a', 4999);
        path[0] = '/';
        path[4999] = '\0';
        const struct fourlw_ephemerals eph = {
            .session_id = 1, .paths = (const char *const[]){path}, .count = 1};
        struct fourlw_dump d = {.ephemerals = &eph, .ephemerals_count = 1};
        in.dump = &d;
        syn_writer_init(&w, 0);
        assert_int_equal(fourlw_write(&w, FOURLW_DUMP, &in), SYN_OK);
        assert_non_null(memmem(w.data, w.len, path, 4999));
        syn_writer_close(&w);
        free(path);
}

/* A listing under a cap stops at the cap (the work is bounded, not just the bytes), and
 * the busy and truncated lines are synod's one-liners. */
static void test_listing_limits(void **state)
{
        (void)state;
        assert_true(fourlw_is_listing(FOURLW_WCHP));
        assert_true(fourlw_is_listing(FOURLW_DUMP));
        assert_true(fourlw_is_listing(FOURLW_CONS));
        assert_false(fourlw_is_listing(FOURLW_MNTR));
        assert_false(fourlw_is_listing(FOURLW_RUOK));
        enum { PAIRS = 10000 };
        struct fourlw_watch_pair *pairs = calloc(PAIRS, sizeof *pairs);
        assert_non_null(pairs);
        for (size_t i = 0; i < PAIRS; i++)
                pairs[i] = (struct fourlw_watch_pair){i + 1, "/probe", 6};
        struct syn_writer w;
        syn_writer_init(&w, 1000);
        assert_int_equal(fourlw_write_wchc(&w, pairs, PAIRS), SYN_ETOOBIG);
        assert_true(w.len <= 1000);
        assert_true(w.len > 900);
        syn_writer_close(&w);
        free(pairs);
        syn_writer_init(&w, 0);
        assert_int_equal(fourlw_write_busy(&w, FOURLW_WCHP), SYN_OK);
        assert_int_equal(fourlw_write_truncated(&w, 4096), SYN_OK);
        const char *expected = "synod: wchp not run: earlier answers are still being sent; "
                               "retry later\nsynod: answer truncated at 4096 bytes\n";
        assert_int_equal(w.len, strlen(expected));
        assert_memory_equal(w.data, expected, w.len);
        syn_writer_close(&w);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lookup),
            cmocka_unit_test(test_whitelist),
            cmocka_unit_test(test_double_like_java),
            cmocka_unit_test(test_latency_average_half_up),
            cmocka_unit_test(test_date_like_java),
            cmocka_unit_test(test_ruok_isro),
            cmocka_unit_test(test_srvr),
            cmocka_unit_test(test_srvr_leader_and_read_only),
            cmocka_unit_test(test_stat),
            cmocka_unit_test(test_cons),
            cmocka_unit_test(test_mntr_standalone),
            cmocka_unit_test(test_mntr_leader_and_follower),
            cmocka_unit_test(test_conf),
            cmocka_unit_test(test_envi),
            cmocka_unit_test(test_wchs_wchc_wchp),
            cmocka_unit_test(test_dump),
            cmocka_unit_test(test_dirs_and_resets),
            cmocka_unit_test(test_not_serving),
            cmocka_unit_test(test_writer_cap),
            cmocka_unit_test(test_listing_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
