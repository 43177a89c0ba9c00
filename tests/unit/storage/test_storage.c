/* Runs the storage unit test groups; storage log lines are silenced unless SYNOD_TEST_LOG is set.
 */
#include <stdlib.h>

#include "base/log.h"
#include "helpers.h"

static void quiet_sink(void *arg, enum syn_log_level level, const char *line)
{
        (void)arg;
        (void)level;
        (void)line;
}

int main(void)
{
        if (!getenv("SYNOD_TEST_LOG"))
                syn_log_configure(SYN_LOG_DEBUG, quiet_sink, NULL);
        int failed = 0;
        failed += test_wal_group();
        failed += test_recovery_group();
        failed += test_snap_group();
        failed += test_crash_group();
        return failed ? 1 : 0;
}
