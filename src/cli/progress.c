/*
 * The progress line (progress.h). Redrawn in place with "\r" and cleared with the
 * ANSI erase-line sequence, which every terminal emulator in use understands.
 */
#include "cli/progress.h"

#include "base/limits.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_progress_begin(struct cli_progress *p, FILE *err, bool json, const char *what, bool bytes,
                        const char *unit)
{
        memset(p, 0, sizeof *p);
        p->err = err;
        p->on = !json && isatty(fileno(err));
        p->what = what;
        p->bytes = bytes;
        p->unit = unit;
        p->start_ms = mono_ms();
}

/* "12.5 MiB" or "1234 nodes". */
static void amount(const struct cli_progress *p, double v, char *out, size_t cap)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        if (!p->bytes) {
                snprintf(out, cap, "%.0f %s", v, p->unit);
                return;
        }
        size_t u = 0;
        while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                u++;
        }
        snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

void cli_progress_update(struct cli_progress *p, uint64_t done, uint64_t total)
{
        if (!p->on || done < p->min_done)
                return;
        int64_t now = mono_ms();
        if (p->last_ms != 0 && now - p->last_ms < CLI_PROGRESS_REFRESH_MS)
                return;
        p->last_ms = now;
        double secs = (double)(now - p->start_ms) / 1000.0;
        char d[32], t[32], rate[40];
        amount(p, (double)done, d, sizeof d);
        amount(p, secs > 0 ? (double)done / secs : 0, rate, sizeof rate);
        fprintf(p->err, "\r\033[K%s  %s", p->what, d);
        if (total > 0) {
                amount(p, (double)total, t, sizeof t);
                fprintf(p->err, " of %s  %3.0f%%", t, 100.0 * (double)done / (double)total);
        }
        fprintf(p->err, "  %s/s", rate);
        fflush(p->err);
        p->drawn = true;
}

void cli_progress_count(void *arg, uint64_t done)
{
        cli_progress_update(arg, done, 0);
}

void cli_progress_end(struct cli_progress *p)
{
        if (p->drawn) {
                fputs("\r\033[K", p->err);
                fflush(p->err);
        }
        p->drawn = false;
}
