/* Unit tests of server/config.c: defaults, a good zoo.cfg, unknown keys, malformed lines,
 * server lines, dynamicConfigFile, myid and the cluster's outputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "server/config.h"

struct captured {
        int warnings;
        char last[512];
};

static void capture_sink(void *arg, enum syn_log_level level, const char *line)
{
        struct captured *c = arg;
        if (level == SYN_LOG_WARN) {
                c->warnings++;
                snprintf(c->last, sizeof c->last, "%s", line);
        }
}

static void defaults_match_zookeeper(void **state)
{
        (void)state;
        struct srv_config c;
        srv_config_defaults(&c);
        assert_int_equal(c.tick_time_ms, 2000);
        assert_int_equal(c.client_port, 2181);
        assert_string_equal(c.client_port_address, "127.0.0.1");
        assert_string_equal(c.data_dir, "./synod-data");
        assert_string_equal(c.data_log_dir, "./synod-data");
        assert_int_equal(c.min_session_timeout_ms, 4000);
        assert_int_equal(c.max_session_timeout_ms, 40000);
        assert_int_equal(c.max_client_cnxns, 60);
        assert_int_equal(c.jute_max_buffer, 0xfffff);
        assert_true(srv_config_fourlw_allowed(&c, "srvr"));
        assert_false(srv_config_fourlw_allowed(&c, "ruok"));
        assert_int_equal(c.server_id, 1);
        assert_int_equal(c.election_timeout_ms, 200);
        assert_int_equal(c.heartbeat_interval_ms, 30);
        assert_int_equal(c.raft_tick_ms, 10);
        assert_false(c.linearizable_reads);
        assert_int_equal(c.member_count, 0);
        assert_int_equal(c.config_version, 0);
        assert_true(c.cluster_id != 0); /* derived from the (empty) server list */
        uint32_t election = 0, heartbeat = 0;
        srv_config_raft_ticks(&c, &election, &heartbeat);
        assert_int_equal(election, RAFT_ELECTION_TICKS_DEFAULT);
        assert_int_equal(heartbeat, RAFT_HEARTBEAT_TICKS_DEFAULT);
}

static void good_file_sets_every_key(void **state)
{
        (void)state;
        const char *text = "# a comment\n"
                           "tickTime=1000\n"
                           "  dataDir = /tmp/synod-x  \n"
                           "\n"
                           "clientPort=12345\r\n"
                           "clientPortAddress=0.0.0.0\n"
                           "maxClientCnxns=7\n"
                           "jute.maxbuffer=4096\n"
                           "autopurge.snapRetainCount=5\n"
                           "autopurge.purgeInterval=2\n"
                           "4lw.commands.whitelist=ruok, mntr,conf\n"
                           "snapCount=1000\n"
                           "snapSizeLimitInKb=2048\n"
                           "superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
                           "extendedTypesEnabled=false\n"
                           "znode.container.checkIntervalMs=500\n";
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        srv_config_defaults(&c);
        assert_int_equal(srv_config_parse(&c, "zoo.cfg", text, err, sizeof err), 0);
        assert_int_equal(c.tick_time_ms, 1000);
        assert_string_equal(c.data_dir, "/tmp/synod-x");
        assert_string_equal(c.data_log_dir, "/tmp/synod-x"); /* derived from dataDir */
        assert_int_equal(c.client_port, 12345);
        assert_string_equal(c.client_port_address, "0.0.0.0");
        assert_int_equal(c.min_session_timeout_ms, 2000); /* derived from the new tickTime */
        assert_int_equal(c.max_session_timeout_ms, 20000);
        assert_int_equal(c.max_client_cnxns, 7);
        assert_int_equal(c.jute_max_buffer, 4096);
        assert_int_equal(c.snap_retain_count, 5);
        assert_int_equal(c.purge_interval_hours, 2);
        assert_int_equal(c.snap_count, 1000);
        assert_int_equal(c.snap_size_limit_kb, 2048);
        assert_int_equal(c.reap_interval_ms, 500);
        assert_false(c.extended_types_enabled);
        assert_string_equal(c.super_digest, "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert_true(srv_config_fourlw_allowed(&c, "ruok"));
        assert_true(srv_config_fourlw_allowed(&c, "mntr"));
        assert_true(srv_config_fourlw_allowed(&c, "conf"));
        assert_false(srv_config_fourlw_allowed(&c, "srvr"));
        assert_false(srv_config_fourlw_allowed(&c, "ruo"));
}

static void explicit_timeouts_are_kept(void **state)
{
        (void)state;
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES];
        srv_config_defaults(&c);
        assert_int_equal(srv_config_parse(&c, "z",
                                          "minSessionTimeout=1000\nmaxSessionTimeout=30000\n"
                                          "tickTime=500\n4lw.commands.whitelist=*\n",
                                          err, sizeof err),
                         0);
        assert_int_equal(c.min_session_timeout_ms, 1000);
        assert_int_equal(c.max_session_timeout_ms, 30000);
        assert_true(srv_config_fourlw_allowed(&c, "dump"));
}

static void unknown_key_is_a_warning_not_an_error(void **state)
{
        (void)state;
        struct captured cap = {0};
        syn_log_configure(SYN_LOG_INFO, capture_sink, &cap);
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES];
        srv_config_defaults(&c);
        int rc = srv_config_parse(&c, "zoo.cfg", "tickTime=3000\nssl.hostnameVerification=false\n",
                                  err, sizeof err);
        syn_log_configure(SYN_LOG_INFO, NULL, NULL);
        assert_int_equal(rc, 0);
        assert_int_equal(cap.warnings, 1);
        assert_non_null(strstr(cap.last, "zoo.cfg:2"));
        assert_non_null(strstr(cap.last, "ssl.hostnameVerification"));
        assert_int_equal(c.tick_time_ms, 3000);
}

/* ZooKeeper's TLS keys: off by default, listening on loopback, clientAuth need. */
static void tls_keys(void **state)
{
        (void)state;
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES];
        srv_config_defaults(&c);
        assert_int_equal(c.secure_client_port, 0);
        assert_string_equal(c.secure_client_port_address, "127.0.0.1");
        assert_string_equal(c.ssl.client_auth, "need");
        assert_int_equal(c.ssl_handshake_timeout_ms, NET_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT);
        int rc = srv_config_parse(&c, "zoo.cfg",
                                  "secureClientPort=2281\nssl.keyStore.location=/k.pem\n"
                                  "ssl.clientAuth=want\nssl.handshakeDetectionTimeoutMillis=700\n",
                                  err, sizeof err);
        assert_int_equal(rc, 0);
        assert_int_equal(c.secure_client_port, 2281);
        assert_string_equal(c.ssl.key_store, "/k.pem");
        assert_string_equal(c.ssl.client_auth, "want");
        assert_int_equal(c.ssl_handshake_timeout_ms, 700);
        assert_false(c.ssl_quorum);
        rc = srv_config_parse(&c, "zoo.cfg",
                              "sslQuorum=true\nssl.quorum.trustStore.location=/ca.pem\n", err,
                              sizeof err);
        assert_int_equal(rc, 0);
        assert_true(c.ssl_quorum);
        assert_string_equal(c.ssl_quorum_settings.trust_store, "/ca.pem");
}

static void expect_error(const char *text, const char *needle1, const char *needle2)
{
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        srv_config_defaults(&c);
        assert_int_equal(srv_config_parse(&c, "my.cfg", text, err, sizeof err), SYN_ECONFIG);
        if (strstr(err, needle1) == NULL || strstr(err, needle2) == NULL)
                fail_msg("error '%s' lacks '%s' or '%s'", err, needle1, needle2);
}

static void malformed_lines_are_errors_naming_file_and_line(void **state)
{
        (void)state;
        expect_error("tickTime=2000\nclientPort=abc\n", "my.cfg:2:", "clientPort");
        expect_error("tickTime=20x00\n", "my.cfg:1:", "tickTime");
        expect_error("\n\nclientPort=70000\n", "my.cfg:3:", "out of range");
        expect_error("tickTime\n", "my.cfg:1:", "key=value");
        expect_error("=5\n", "my.cfg:1:", "empty key");
        expect_error("extendedTypesEnabled=maybe\n", "my.cfg:1:", "true or false");
        expect_error("clientPort=\n", "my.cfg:1:", "integer");
        expect_error("tickTime=2000\nlogLevel=loud\n", "my.cfg:2:", "debug, info, warn or error");
        expect_error("minSessionTimeout=9000\nmaxSessionTimeout=5000\n", "my.cfg", "larger");
}

static void too_long_string_is_an_error(void **state)
{
        (void)state;
        size_t n = SRV_PATH_BYTES_MAX + 20;
        char *text = malloc(n + 16);
        assert_non_null(text);
        strcpy(text, "dataDir=");
        memset(text + 8, 'a', n);
        text[8 + n] = '\0';
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES];
        srv_config_defaults(&c);
        assert_int_equal(srv_config_parse(&c, "f", text, err, sizeof err), SYN_ECONFIG);
        assert_non_null(strstr(err, "dataDir"));
        free(text);
}

static void load_reports_missing_file(void **state)
{
        (void)state;
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES];
        srv_config_defaults(&c);
        assert_int_equal(srv_config_load(&c, "/nonexistent/zoo.cfg", err, sizeof err), SYN_ESYS);
        assert_non_null(strstr(err, "/nonexistent/zoo.cfg"));
}

struct emitted {
        int count;
        bool saw_tick;
};

static void emit_cb(void *arg, const char *key, const char *value)
{
        struct emitted *e = arg;
        e->count++;
        if (strcmp(key, "tickTime") == 0 && strcmp(value, "2000") == 0)
                e->saw_tick = true;
}

static void each_lists_the_table(void **state)
{
        (void)state;
        struct srv_config c;
        srv_config_defaults(&c);
        struct emitted e = {0};
        srv_config_each(&c, emit_cb, &e);
        assert_true(e.count >= 15);
        assert_true(e.saw_tick);
}

/* ---- the cluster ---- */

/* A private directory for files the parser reads (myid, dynamic files). */
struct tmp_dir {
        char path[64];
};

static void tmp_dir_make(struct tmp_dir *d)
{
        snprintf(d->path, sizeof d->path, "/tmp/synod-test-config-XXXXXX");
        assert_non_null(mkdtemp(d->path));
}

static void tmp_file_write(const struct tmp_dir *d, const char *name, const char *text)
{
        char path[256];
        snprintf(path, sizeof path, "%s/%s", d->path, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void tmp_dir_remove(const struct tmp_dir *d, const char *const *names, size_t count)
{
        char path[256];
        for (size_t i = 0; i < count; i++) {
                snprintf(path, sizeof path, "%s/%s", d->path, names[i]);
                unlink(path);
        }
        rmdir(d->path);
}

static void parse_ok(struct srv_config *c, const char *text)
{
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        srv_config_defaults(c);
        int rc = srv_config_parse(c, "zoo.cfg", text, err, sizeof err);
        if (rc != 0)
                fail_msg("parse failed: %s", err);
}

/* A ZooKeeper 3.8 ensemble config as the ZooKeeper docs write it: no warning at all. */
static void zookeeper_ensemble_config_parses_without_warnings(void **state)
{
        (void)state;
        const char *text = "tickTime=2000\n"
                           "dataDir=/var/lib/zookeeper\n"
                           "clientPort=2181\n"
                           "initLimit=5\n"
                           "syncLimit=2\n"
                           "electionAlg=3\n"
                           "peerType=participant\n"
                           "standaloneEnabled=false\n"
                           "reconfigEnabled=false\n"
                           "quorumListenOnAllIPs=true\n"
                           "electionPortBindRetry=3\n"
                           "cnxTimeout=5000\n"
                           "4lw.commands.whitelist=srvr, mntr\n"
                           "admin.enableServer=false\n"
                           "admin.serverPort=8080\n"
                           "admin.serverAddress=0.0.0.0\n"
                           "metricsProvider.className=org.apache.zookeeper.metrics.prometheus."
                           "PrometheusMetricsProvider\n"
                           "localSessionsEnabled=true\n"
                           "localSessionsUpgradingEnabled=true\n"
                           "server.1=zoo1:2888:3888\n"
                           "server.2=zoo2:2888:3888\n"
                           "server.3=zoo3:2888:3888\n";
        struct captured cap = {0};
        syn_log_configure(SYN_LOG_INFO, capture_sink, &cap);
        struct srv_config c;
        parse_ok(&c, text);
        syn_log_configure(SYN_LOG_INFO, NULL, NULL);
        if (cap.warnings != 0)
                fail_msg("unexpected warning: %s", cap.last);
        assert_int_equal(c.member_count, 3);
        assert_int_equal(c.init_limit_ticks, 5);
        assert_int_equal(c.sync_limit_ticks, 2);
        /* The admin keys are real now: read, not ignored. */
        assert_false(c.admin_enabled);
        assert_int_equal(c.admin_port, 8080);
        assert_string_equal(c.admin_address, "0.0.0.0");
        for (uint32_t i = 0; i < 3; i++) {
                char host[8];
                snprintf(host, sizeof host, "zoo%u", i + 1);
                assert_int_equal(c.members[i].id, i + 1);
                assert_string_equal(c.members[i].host, host);
                assert_int_equal(c.members[i].peer_port, 2888);
                assert_int_equal(c.members[i].election_port, 3888);
                assert_false(c.members[i].observer);
                assert_string_equal(c.members[i].client_address, "");
                assert_int_equal(c.members[i].client_port, 0);
                assert_int_equal(c.members[i].line, 20 + i);
        }
}

static void admin_keys(void **state)
{
        (void)state;
        struct srv_config c;
        srv_config_defaults(&c);
        /* On, on loopback (ZooKeeper binds 0.0.0.0), on ZooKeeper's port and URL. */
        assert_true(c.admin_enabled);
        assert_string_equal(c.admin_address, "127.0.0.1");
        assert_int_equal(c.admin_port, ADMIN_PORT_DEFAULT);
        assert_string_equal(c.admin_command_url, "/commands");
        assert_int_equal(c.admin_idle_timeout_ms, ADMIN_IDLE_TIMEOUT_MS_DEFAULT);
        assert_false(c.admin_auth_enabled);
        parse_ok(&c, "admin.serverPort=0\nadmin.commandURL=/zk\nadmin.idleTimeout=5000\n"
                     "admin.authEnabled=true\nadmin.serverAddress=::1\n");
        assert_int_equal(c.admin_port, 0);
        assert_string_equal(c.admin_command_url, "/zk");
        assert_int_equal(c.admin_idle_timeout_ms, 5000);
        assert_true(c.admin_auth_enabled);
        assert_string_equal(c.admin_address, "::1");
        expect_error("admin.serverPort=65536\n", "my.cfg:1", "admin.serverPort");
        expect_error("admin.idleTimeout=10\n", "my.cfg:1", "admin.idleTimeout");
        expect_error("admin.commandURL=commands\n", "admin.commandURL", "must start with /");
        expect_error("admin.commandURL=/metrics\n", "admin.commandURL", "/metrics");
}

static void server_lines_in_every_form(void **state)
{
        (void)state;
        struct srv_config c;
        parse_ok(&c, "server.7=[::1]:2897:3897:observer;[::1]:2187\n"
                     "server.2=10.0.0.2:2888\n"
                     "server.3=10.0.0.3:2888:participant\n"
                     "server.1=10.0.0.1:2888:3888:Participant;2181\n"
                     "server.4 = host-4.example:2888:3888;10.0.0.4:2184\n");
        assert_int_equal(c.member_count, 5);
        /* kept in id order whatever the file's order */
        assert_int_equal(c.members[0].id, 1);
        assert_int_equal(c.members[1].id, 2);
        assert_int_equal(c.members[2].id, 3);
        assert_int_equal(c.members[3].id, 4);
        assert_int_equal(c.members[4].id, 7);
        assert_int_equal(c.members[0].election_port, 3888);
        assert_int_equal(c.members[0].client_port, 2181);
        assert_string_equal(c.members[0].client_address, "");
        assert_int_equal(c.members[1].election_port, 0);
        assert_false(c.members[1].observer);
        assert_int_equal(c.members[2].election_port, 0);
        assert_string_equal(c.members[3].host, "host-4.example");
        assert_string_equal(c.members[3].client_address, "10.0.0.4");
        assert_int_equal(c.members[3].client_port, 2184);
        const struct srv_member *v6 = srv_config_member(&c, 7);
        assert_non_null(v6);
        assert_ptr_equal(v6, &c.members[4]);
        assert_string_equal(v6->host, "::1");
        assert_int_equal(v6->peer_port, 2897);
        assert_int_equal(v6->election_port, 3897);
        assert_true(v6->observer);
        assert_string_equal(v6->client_address, "::1");
        assert_int_equal(v6->client_port, 2187);
        assert_null(srv_config_member(&c, 5));
        assert_int_equal(v6->line, 1);
}

static void server_line_errors_name_the_line(void **state)
{
        (void)state;
        const char *base = "tickTime=2000\nserver.1=a:2888:3888\n";
        char text[4096];
        struct {
                const char *line;
                const char *needle;
        } cases[] = {
            {"server.0=b:2888:3888", "[1, 254]"},
            {"server.255=b:2888:3888", "top 8 bits"},
            {"server.256=b:2888:3888", "server id"},
            {"server.x=b:2888:3888", "server.x"},
            {"server.=b:2888:3888", "server id"},
            {"server.-1=b:2888:3888", "server id"},
            {"server.1=b:2889:3889", "defined twice"},
            {"server.2=a:2888:3999", "same host:peerPort"},
            {"server.2=b", "peer port"},
            {"server.2=b:", "peer port '' is not a port"},
            {"server.2=b:0:3888", "peer port '0'"},
            {"server.2=b:70000", "peer port '70000'"},
            {"server.2=b:28x8", "peer port '28x8'"},
            {"server.2=b:2888:99999", "election port '99999'"},
            {"server.2=b:2888:3888:leader", "'leader' is neither"},
            {"server.2=b:2888:3888:observer:x", "too many"},
            {"server.2=b:2888:observer:3888", "neither a port"},
            {"server.2=:2888:3888", "host"},
            {"server.2=::1:2888:3888", "brackets"},
            {"server.2=[::1:2888:3888", "closing ']'"},
            {"server.2=b:2888:3888;", "client port '' is not"},
            {"server.2=b:2888:3888;0", "client port '0'"},
            {"server.2=b:2888:3888;::1:2181", "brackets"},
            {"server.2=b:2888:3888;1.2.3.4:x", "client port 'x'"},
            {"server.2=b:2888:3888|c:2888:3888", "(a|b) are not supported"},
            {"group.1=1:2:3", "hierarchical quorums"},
            {"weight.1=1", "hierarchical quorums"},
            {"version=xyz", "hex"},
            {"clusterId=0x12g", "clusterId"},
            {"clusterId=-5", "clusterId"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                snprintf(text, sizeof text, "%s%s\n", base, cases[i].line);
                expect_error(text, "my.cfg:3:", cases[i].needle);
        }
}

static void more_servers_than_raft_nodes_max_is_an_error(void **state)
{
        (void)state;
        char text[4096] = "";
        size_t used = 0;
        for (int id = 1; id <= RAFT_NODES_MAX + 1; id++)
                used += (size_t)snprintf(text + used, sizeof text - used,
                                         "server.%d=10.0.0.%d:2888:3888\n", id, id);
        char line[16];
        snprintf(line, sizeof line, "my.cfg:%d:", RAFT_NODES_MAX + 1);
        expect_error(text, line, "at most");
        /* exactly RAFT_NODES_MAX is fine */
        text[strlen(text) - strlen(strrchr(text, 's'))] = '\0';
        struct srv_config c;
        parse_ok(&c, text);
        assert_int_equal(c.member_count, RAFT_NODES_MAX);
}

static void relations_between_cluster_keys(void **state)
{
        (void)state;
        expect_error("electionTimeoutMs=100\nheartbeatIntervalMs=50\n",
                     "my.cfg:", "less than half of electionTimeoutMs");
        expect_error("heartbeatIntervalMs=20\nraftTickMs=25\n",
                     "my.cfg:", "must not exceed heartbeatIntervalMs");
        expect_error("server.1=a:1:observer\nserver.2=b:1:2:observer\n",
                     "my.cfg:", "needs a participant");
        expect_error("electionTimeoutMs=10\n", "my.cfg:1:", "out of range");
        expect_error("raftTickMs=0\n", "my.cfg:1:", "out of range");
        expect_error("linearizableReads=sometimes\n", "my.cfg:1:", "true or false");
        struct srv_config c;
        parse_ok(&c, "electionTimeoutMs=1000\nheartbeatIntervalMs=100\nraftTickMs=30\n"
                     "linearizableReads=true\n");
        assert_int_equal(c.election_timeout_ms, 1000);
        assert_int_equal(c.heartbeat_interval_ms, 100);
        assert_int_equal(c.raft_tick_ms, 30);
        assert_true(c.linearizable_reads);
        uint32_t election = 0, heartbeat = 0;
        srv_config_raft_ticks(&c, &election, &heartbeat);
        assert_int_equal(election, 33); /* 1000 / 30, rounded down */
        assert_int_equal(heartbeat, 3);
}

static void cluster_id_is_derived_from_the_server_list(void **state)
{
        (void)state;
        struct srv_config a, b, other, explicit_hex, explicit_dec, standalone;
        parse_ok(&a, "server.1=h1:2888:3888\nserver.2=h2:2888:3888\nserver.3=h3:2888:3888\n");
        /* same servers in another order, other election ports, extra keys: same id */
        parse_ok(&b, "tickTime=1000\nserver.3=h3:2888:3999;2183\nserver.1=h1:2888\n"
                     "server.2=h2:2888:3888:participant\n");
        parse_ok(&other, "server.1=h1:2888:3888\nserver.2=h2:2888:3888\nserver.3=h3:2889:3888\n");
        parse_ok(&explicit_hex, "clusterId=0xDEADbeef00000001\nserver.1=h1:2888:3888\n");
        parse_ok(&explicit_dec, "clusterId=42\n");
        parse_ok(&standalone, "tickTime=1000\n");
        assert_true(a.cluster_id != 0);
        assert_true(a.cluster_id == b.cluster_id);
        assert_true(a.cluster_id != other.cluster_id);
        assert_true(explicit_hex.cluster_id == 0xdeadbeef00000001ull);
        assert_true(explicit_dec.cluster_id == 42);
        struct srv_config defaults;
        srv_config_defaults(&defaults);
        assert_true(standalone.cluster_id == defaults.cluster_id);
        assert_true(standalone.cluster_id != a.cluster_id);
}

static void dynamic_config_file_holds_the_server_lines(void **state)
{
        (void)state;
        struct tmp_dir d;
        tmp_dir_make(&d);
        tmp_file_write(&d, "zoo.cfg.dynamic.100000000",
                       "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n"
                       "server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n");
        tmp_file_write(&d, "plain.dynamic",
                       "# written by hand\n"
                       "server.1=a:2888:3888\n"
                       "version=2a\n");
        tmp_file_write(&d, "bad.dynamic",
                       "server.1=a:2888:3888\n"
                       "server.1=b:2888:3888\n");
        char text[512];
        struct srv_config c;
        snprintf(text, sizeof text,
                 "tickTime=2000\ndynamicConfigFile=%s/zoo.cfg.dynamic.100000000\n", d.path);
        parse_ok(&c, text);
        assert_int_equal(c.member_count, 2);
        assert_int_equal(c.members[1].client_port, 2182);
        assert_true(c.config_version == 0x100000000ull); /* from the file name, as ZooKeeper */
        assert_non_null(strstr(c.dynamic_config_file, "zoo.cfg.dynamic.100000000"));

        snprintf(text, sizeof text, "dynamicConfigFile=%s/plain.dynamic\n", d.path);
        parse_ok(&c, text);
        assert_int_equal(c.member_count, 1);
        assert_true(c.config_version == 0x2a);

        /* an error inside names both files and both lines */
        snprintf(text, sizeof text, "tickTime=2000\ndynamicConfigFile=%s/bad.dynamic\n", d.path);
        expect_error(text, "my.cfg:2: ", "bad.dynamic:2: server.1 is defined twice");
        /* server lines in both files: ZooKeeper refuses that too, in either order */
        snprintf(text, sizeof text, "dynamicConfigFile=%s/plain.dynamic\nserver.2=b:2888:3888\n",
                 d.path);
        expect_error(text, "my.cfg:2:", "belong in");
        snprintf(text, sizeof text, "server.2=b:2888:3888\ndynamicConfigFile=%s/plain.dynamic\n",
                 d.path);
        expect_error(text, "my.cfg:2:", "after server lines");
        snprintf(text, sizeof text, "dynamicConfigFile=%s/none.dynamic\n", d.path);
        expect_error(text, "my.cfg:1:", "cannot open");
        const char *names[] = {"zoo.cfg.dynamic.100000000", "plain.dynamic", "bad.dynamic"};
        tmp_dir_remove(&d, names, 3);
}

/* Parses "dataDir=<d>" (line 1) and `cfg` after it, with myid = `myid` (NULL: no file),
 * then resolves `cli_id`. */
static int resolve(struct srv_config *c, const struct tmp_dir *d, const char *cfg, const char *myid,
                   uint64_t cli_id, char *err, size_t err_size)
{
        char text[2048];
        snprintf(text, sizeof text, "dataDir=%s\n%s", d->path, cfg);
        char path[256];
        snprintf(path, sizeof path, "%s/myid", d->path);
        unlink(path);
        if (myid != NULL)
                tmp_file_write(d, "myid", myid);
        srv_config_defaults(c);
        int rc = srv_config_parse(c, "zoo.cfg", text, err, err_size);
        if (rc != 0)
                fail_msg("parse failed: %s", err);
        return srv_config_resolve_id(c, cli_id, err, err_size);
}

static void expect_resolve_error(const struct tmp_dir *d, const char *cfg, const char *myid,
                                 uint64_t cli_id, const char *needle1, const char *needle2)
{
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        assert_int_equal(resolve(&c, d, cfg, myid, cli_id, err, sizeof err), SYN_ECONFIG);
        if (strstr(err, needle1) == NULL || strstr(err, needle2) == NULL)
                fail_msg("error '%s' lacks '%s' or '%s'", err, needle1, needle2);
}

static const char three_servers[] = "server.1=127.0.0.1:2888:3888;127.0.0.1:2181\n"
                                    "server.2=127.0.0.1:2889:3889;127.0.0.1:2182\n"
                                    "server.3=127.0.0.1:2890:3890;2183\n";

static void myid_decides_which_server_this_is(void **state)
{
        (void)state;
        struct tmp_dir d;
        tmp_dir_make(&d);
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        assert_int_equal(resolve(&c, &d, three_servers, "2\n", 0, err, sizeof err), 0);
        assert_int_equal(c.server_id, 2);
        /* the server line's client address is where this server listens */
        assert_int_equal(c.client_port, 2182);
        assert_string_equal(c.client_port_address, "127.0.0.1");
        assert_int_equal(resolve(&c, &d, three_servers, " \t3 \r\nignored\n", 0, err, sizeof err),
                         0);
        assert_int_equal(c.server_id, 3);
        assert_int_equal(c.client_port, 2183);
        assert_string_equal(c.client_port_address, "0.0.0.0"); /* ";2183" alone: any address */
        /* --id without a myid file, and --id agreeing with it */
        assert_int_equal(resolve(&c, &d, three_servers, NULL, 1, err, sizeof err), 0);
        assert_int_equal(c.server_id, 1);
        assert_int_equal(resolve(&c, &d, three_servers, "1", 1, err, sizeof err), 0);
        assert_int_equal(c.server_id, 1);
        /* a server line without a client part leaves clientPort alone */
        assert_int_equal(
            resolve(&c, &d, "clientPort=3000\nserver.1=h:2888:3888\n", "1", 0, err, sizeof err), 0);
        assert_int_equal(c.client_port, 3000);
        assert_string_equal(c.client_port_address, "127.0.0.1");
        /* clientPort that agrees with the server line, and a wildcard clientPortAddress */
        assert_int_equal(resolve(&c, &d,
                                 "clientPort=2182\nclientPortAddress=0.0.0.0\n"
                                 "server.2=h:2888:3888;127.0.0.1:2182\n",
                                 "2", 0, err, sizeof err),
                         0);
        assert_string_equal(c.client_port_address, "127.0.0.1");
        const char *names[] = {"myid"};
        tmp_dir_remove(&d, names, 1);
}

static void myid_errors_name_the_file(void **state)
{
        (void)state;
        struct tmp_dir d;
        tmp_dir_make(&d);
        char myid_path[128];
        snprintf(myid_path, sizeof myid_path, "%s/myid", d.path);
        expect_resolve_error(&d, three_servers, NULL, 0, myid_path, "missing");
        expect_resolve_error(&d, three_servers, "two\n", 0, myid_path, "'two'");
        expect_resolve_error(&d, three_servers, "", 0, myid_path, "found ''");
        expect_resolve_error(&d, three_servers, "0\n", 0, myid_path, "[1, 254]");
        expect_resolve_error(&d, three_servers, "255\n", 0, myid_path, "[1, 254]");
        expect_resolve_error(&d, three_servers, "4\n", 0, myid_path, "not one of the server lines");
        expect_resolve_error(&d, three_servers, "1 2\n", 0, myid_path, "'1 2'");
        char big[SRV_MYID_BYTES_MAX + 8];
        memset(big, ' ', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        expect_resolve_error(&d, three_servers, big, 0, myid_path, "larger");
        expect_resolve_error(&d, three_servers, NULL, 4, "--id 4", "not one of the server lines");
        expect_resolve_error(&d, three_servers, "2\n", 3, myid_path, "belongs to another server");
        expect_resolve_error(&d, three_servers, NULL, 300, "--id 300", "out of range");
        /* clientPort / clientPortAddress that disagree with this server's line */
        expect_resolve_error(&d, "\nclientPort=2181\nserver.2=h:2888:3888;127.0.0.1:2182\n", "2", 0,
                             "zoo.cfg:4: server.2 has client port 2182",
                             "zoo.cfg:3 sets clientPort = 2181");
        expect_resolve_error(&d, "clientPortAddress=10.0.0.1\nserver.2=h:2888:3888;2182\n", "2", 0,
                             "zoo.cfg:3: server.2 has client address 0.0.0.0",
                             "clientPortAddress = 10.0.0.1");
        const char *names[] = {"myid"};
        tmp_dir_remove(&d, names, 1);
}

static void standalone_keeps_server_id(void **state)
{
        (void)state;
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        parse_ok(&c, "serverId=7\nclientPort=2999\n");
        assert_int_equal(srv_config_resolve_id(&c, 0, err, sizeof err), 0);
        assert_int_equal(c.server_id, 7);
        assert_int_equal(c.client_port, 2999);
        assert_int_equal(srv_config_resolve_id(&c, 3, err, sizeof err), SYN_ECONFIG);
        assert_non_null(strstr(err, "no server.N lines"));
        assert_non_null(strstr(err, "zoo.cfg"));
}

static void members_are_written_as_zookeeper_does(void **state)
{
        (void)state;
        struct srv_config c;
        parse_ok(&c, "server.2=10.0.0.2:2889:3889;10.0.0.2:2182\n"
                     "server.1=127.0.0.1:2888:3888;2181\n"
                     "server.3=[fe80::1]:2890:observer;[::1]:2183\n"
                     "server.4=h4:2891\n"
                     "version=1a0000000f\n");
        char out[SRV_CONFIG_MEMBERS_BYTES];
        int n = srv_config_format_members(&c, out, sizeof out);
        const char *want = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n"
                           "server.2=10.0.0.2:2889:3889:participant;10.0.0.2:2182\n"
                           "server.3=[fe80::1]:2890:observer;[::1]:2183\n"
                           "server.4=h4:2891:participant\n"
                           "version=1a0000000f";
        assert_string_equal(out, want);
        assert_int_equal(n, (int)strlen(want));
        assert_int_equal(srv_config_format_members(&c, out, strlen(want)), SYN_ETOOBIG);
        assert_string_equal(out, "");
        assert_int_equal(srv_config_format_members(&c, out, strlen(want) + 1), n);
        /* standalone: only the version */
        parse_ok(&c, "tickTime=2000\n");
        assert_int_equal(srv_config_format_members(&c, out, sizeof out), 9);
        assert_string_equal(out, "version=0");
}

/* The largest possible member list fits the documented buffer. */
static void members_buffer_holds_the_largest_list(void **state)
{
        (void)state;
        struct srv_config c;
        srv_config_defaults(&c);
        for (uint32_t i = 0; i < RAFT_NODES_MAX; i++) {
                struct srv_member *m = &c.members[i];
                m->id = SRV_SERVER_ID_MAX - i;
                memset(m->host, 'a', sizeof m->host - 1);
                memset(m->client_address, ':', sizeof m->client_address - 1);
                m->peer_port = m->election_port = m->client_port = 65535;
                m->observer = true;
        }
        c.member_count = RAFT_NODES_MAX;
        c.config_version = UINT64_MAX;
        char out[SRV_CONFIG_MEMBERS_BYTES];
        assert_true(srv_config_format_members(&c, out, sizeof out) > 0);
}

struct conf_capture {
        char keys[64][32];
        char values[64][SRV_MEMBER_LINE_BYTES_MAX];
        int count;
};

static void conf_capture_cb(void *arg, const char *key, const char *value)
{
        struct conf_capture *cc = arg;
        assert_true(cc->count < 64);
        snprintf(cc->keys[cc->count], sizeof cc->keys[0], "%s", key);
        snprintf(cc->values[cc->count], sizeof cc->values[0], "%s", value);
        cc->count++;
}

static int conf_find(const struct conf_capture *cc, const char *key)
{
        for (int i = 0; i < cc->count; i++)
                if (strcmp(cc->keys[i], key) == 0)
                        return i;
        return -1;
}

static void conf_shows_the_quorum_part_like_zookeeper(void **state)
{
        (void)state;
        struct tmp_dir d;
        tmp_dir_make(&d);
        struct srv_config c;
        char err[SRV_CONFIG_ERROR_BYTES] = "";
        assert_int_equal(resolve(&c, &d,
                                 "initLimit=5\nsyncLimit=2\n"
                                 "server.1=127.0.0.1:2888:3888;2181\n"
                                 "server.2=127.0.0.1:2889:3889:observer;2182\n",
                                 "2\n", 0, err, sizeof err),
                         0);
        static struct conf_capture cc;
        memset(&cc, 0, sizeof cc);
        srv_config_each(&c, conf_capture_cb, &cc);
        /* the quorum part comes last, in ZooKeeper's order */
        const char *tail[] = {"initLimit", "syncLimit", "electionPort", "quorumPort",
                              "peerType",  "server.1",  "server.2",     "version"};
        const char *want[] = {"5",
                              "2",
                              "3889",
                              "2889",
                              "1",
                              "127.0.0.1:2888:3888:participant;0.0.0.0:2181",
                              "127.0.0.1:2889:3889:observer;0.0.0.0:2182",
                              "0"};
        int first = cc.count - 8;
        for (int i = 0; i < 8; i++) {
                assert_string_equal(cc.keys[first + i], tail[i]);
                assert_string_equal(cc.values[first + i], want[i]);
        }
        int at = conf_find(&cc, "electionTimeoutMs");
        assert_true(at >= 0 && at < first);
        assert_string_equal(cc.values[at], "200");
        at = conf_find(&cc, "clusterId");
        assert_true(at >= 0);
        assert_int_equal(strlen(cc.values[at]), 18); /* 0x + 16 hex digits */
        assert_string_equal(cc.values[conf_find(&cc, "serverId")], "2");
        /* standalone: no quorum part at all */
        memset(&cc, 0, sizeof cc);
        srv_config_defaults(&c);
        srv_config_each(&c, conf_capture_cb, &cc);
        assert_int_equal(conf_find(&cc, "initLimit"), -1);
        assert_int_equal(conf_find(&cc, "version"), -1);
        assert_true(conf_find(&cc, "linearizableReads") >= 0);
        const char *names[] = {"myid"};
        tmp_dir_remove(&d, names, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(defaults_match_zookeeper),
            cmocka_unit_test(good_file_sets_every_key),
            cmocka_unit_test(explicit_timeouts_are_kept),
            cmocka_unit_test(unknown_key_is_a_warning_not_an_error),
            cmocka_unit_test(tls_keys),
            cmocka_unit_test(malformed_lines_are_errors_naming_file_and_line),
            cmocka_unit_test(too_long_string_is_an_error),
            cmocka_unit_test(load_reports_missing_file),
            cmocka_unit_test(each_lists_the_table),
            cmocka_unit_test(zookeeper_ensemble_config_parses_without_warnings),
            cmocka_unit_test(admin_keys),
            cmocka_unit_test(server_lines_in_every_form),
            cmocka_unit_test(server_line_errors_name_the_line),
            cmocka_unit_test(more_servers_than_raft_nodes_max_is_an_error),
            cmocka_unit_test(relations_between_cluster_keys),
            cmocka_unit_test(cluster_id_is_derived_from_the_server_list),
            cmocka_unit_test(dynamic_config_file_holds_the_server_lines),
            cmocka_unit_test(myid_decides_which_server_this_is),
            cmocka_unit_test(myid_errors_name_the_file),
            cmocka_unit_test(standalone_keeps_server_id),
            cmocka_unit_test(members_are_written_as_zookeeper_does),
            cmocka_unit_test(members_buffer_holds_the_largest_list),
            cmocka_unit_test(conf_shows_the_quorum_part_like_zookeeper),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
