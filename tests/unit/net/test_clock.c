/*
 * The clock's test hook (src/net/clock.c): off without SYNOD_TEST_CLOCK_FILE; with it,
 * offsets jump both clocks (the monotonic one never back: it stands still until real
 * time catches up), a rate drifts them from where they were and sets the tick period,
 * the file is read at most every NET_TEST_CLOCK_POLL_MS, and a bad file is ignored.
 * Real times are passed in, so nothing here sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net.h"

static char clock_path[64];

static void write_clock(const char *text)
{
        FILE *f = fopen(clock_path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int setup(void **state)
{
        (void)state;
        snprintf(clock_path, sizeof clock_path, "/tmp/synod-test-clock-XXXXXX");
        int fd = mkstemp(clock_path);
        assert_true(fd >= 0);
        close(fd);
        unlink(clock_path); /* absent at first: the real clock */
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        unlink(clock_path);
        unsetenv("SYNOD_TEST_CLOCK_FILE");
        return 0;
}

static void off_without_the_variable(void **state)
{
        (void)state;
        unsetenv("SYNOD_TEST_CLOCK_FILE");
        struct net_clock c;
        net_clock_init(&c, 1000);
        write_clock("5000 2");
        assert_false(net_clock_poll(&c, 2000));
        assert_int_equal(net_clock_mono(&c, 2000), 2000);
        assert_int_equal(net_clock_wall(&c, 77, 2000), 77);
        assert_int_equal(net_clock_tick_period(&c, 10), 10);
}

static void jumps_and_drift(void **state)
{
        (void)state;
        setenv("SYNOD_TEST_CLOCK_FILE", clock_path, 1);
        struct net_clock c;
        uint64_t t = 100000;
        net_clock_init(&c, t);
        assert_false(net_clock_poll(&c, t)); /* no file yet */
        assert_int_equal(net_clock_mono(&c, t), t);

        write_clock("5000 1\n"); /* 5 s forward */
        t += NET_TEST_CLOCK_POLL_MS;
        assert_false(net_clock_poll(&c, t)); /* a jump, the rate is unchanged */
        assert_int_equal(net_clock_mono(&c, t), t + 5000);
        assert_int_equal(net_clock_wall(&c, 1000000, t), 1005000);

        write_clock("-2000 1\n");                /* 7 s back */
        assert_false(net_clock_poll(&c, t + 1)); /* not yet: read every poll interval */
        assert_int_equal(net_clock_mono(&c, t + 1), t + 5001);
        t += NET_TEST_CLOCK_POLL_MS;
        net_clock_poll(&c, t);
        assert_int_equal(net_clock_wall(&c, 1000000, t), 998000); /* the wall clock goes back */
        uint64_t held = net_clock_mono(&c, t);
        assert_int_equal(held, t - NET_TEST_CLOCK_POLL_MS + 5001); /* stands still */
        assert_int_equal(net_clock_mono(&c, t + 6000), held);
        assert_int_equal(net_clock_mono(&c, t + 8000), t + 6000); /* moves again */

        write_clock("-2000 2\n"); /* twice as fast from here */
        t += 8000;
        assert_true(net_clock_poll(&c, t));
        assert_int_equal(net_clock_tick_period(&c, 10), 5);
        assert_int_equal(net_clock_mono(&c, t + 1000), t + 1000 - 2000 + 1000);
        write_clock("-2000 0.5\n"); /* half speed, from where the drift left it */
        t += 1000;
        assert_true(net_clock_poll(&c, t));
        assert_int_equal(net_clock_tick_period(&c, 10), 20);
        assert_int_equal(net_clock_mono(&c, t + 2000), t + 2000 - 2000 + 1000 - 1000);
        assert_int_equal(net_clock_wall(&c, 0, t + 2000), -2000);
}

static void a_bad_file_is_ignored(void **state)
{
        (void)state;
        setenv("SYNOD_TEST_CLOCK_FILE", clock_path, 1);
        struct net_clock c;
        uint64_t t = 5000;
        net_clock_init(&c, t);
        write_clock("300 1");
        net_clock_poll(&c, t);
        const char *bad[] = {"", "fast", "100", "100 0", "100 -1", "100 nan", "100 1000"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                write_clock(bad[i]);
                t += NET_TEST_CLOCK_POLL_MS;
                assert_false(net_clock_poll(&c, t));
                assert_int_equal(net_clock_mono(&c, t), t + 300);
                assert_int_equal(net_clock_tick_period(&c, 10), 10);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(off_without_the_variable, setup, teardown),
            cmocka_unit_test_setup_teardown(jumps_and_drift, setup, teardown),
            cmocka_unit_test_setup_teardown(a_bad_file_is_ignored, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
