/* Unit tests of server/config.c: defaults, a good zoo.cfg, unknown keys, malformed lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        int rc = srv_config_parse(&c, "zoo.cfg", "tickTime=3000\nadmin.enableServer=false\n", err,
                                  sizeof err);
        syn_log_configure(SYN_LOG_INFO, NULL, NULL);
        assert_int_equal(rc, 0);
        assert_int_equal(cap.warnings, 1);
        assert_non_null(strstr(cap.last, "zoo.cfg:2"));
        assert_non_null(strstr(cap.last, "admin.enableServer"));
        assert_int_equal(c.tick_time_ms, 3000);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(defaults_match_zookeeper),
            cmocka_unit_test(good_file_sets_every_key),
            cmocka_unit_test(explicit_timeouts_are_kept),
            cmocka_unit_test(unknown_key_is_a_warning_not_an_error),
            cmocka_unit_test(malformed_lines_are_errors_naming_file_and_line),
            cmocka_unit_test(too_long_string_is_an_error),
            cmocka_unit_test(load_reports_missing_file),
            cmocka_unit_test(each_lists_the_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
