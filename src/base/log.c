/* Leveled logging to a replaceable sink; the default writes timestamped lines to stderr. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum syn_log_level log_min_level = SYN_LOG_INFO;
static syn_log_sink_fn log_sink;
static void *log_sink_arg;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static void stderr_sink(void *arg, enum syn_log_level level, const char *line)
{
        (void)arg;
        struct timeval tv;
        struct tm tm;
        char stamp[32];
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, (long)(tv.tv_usec / 1000), level_names[level],
                line);
}

void syn_log_configure(enum syn_log_level min_level, syn_log_sink_fn sink, void *arg)
{
        log_min_level = min_level;
        log_sink = sink;
        log_sink_arg = arg;
}

enum syn_log_level syn_log_level(void)
{
        return log_min_level;
}

int syn_log_level_parse(const char *name)
{
        static const char *const lower[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
                if (strcmp(name, lower[i]) == 0)
                        return i;
        return -1;
}

void syn_log(enum syn_log_level level, const char *fmt, ...)
{
        if (level < log_min_level)
                return;
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (log_sink)
                log_sink(log_sink_arg, level, line);
        else
                stderr_sink(NULL, level, line);
}
