/*
 * The server's clock: the loop's monotonic time and the wall clock, as every other
 * file of synod sees them (net_now_ms, net_wall_ms).
 *
 * TEST HOOK. With SYNOD_TEST_CLOCK_FILE=<path> in the environment, the clock is a
 * skewed one that the fault harness steers while the server runs: the file holds
 * "<offset ms> <rate>" (e.g. "5000 1", "0 2"), re-read every NET_TEST_CLOCK_POLL_MS.
 * The skew (how far the server's clocks are ahead of the real ones) is
 *
 *     skew = drift + offset,   drift grows by (rate - 1) ms per real ms,
 *
 * so changing the offset is a jump and the rate is a drift that starts where the
 * previous one left off. The wall clock takes the skew as it is, backwards too (an
 * NTP step); the monotonic clock never goes back: after a backward jump it stands
 * still until real time catches up (no real monotonic clock goes back). The loop
 * runs its tick timer every tick_ms / rate real ms (net_clock_tick_period), as libuv
 * would on a clock running at that rate. Without the variable none of this runs:
 * one branch per reading. The file is the test's input: a bad one is ignored with a
 * warning, never fatal. Not for production: it exists so that one server's clock can
 * misbehave in the fault harness, which has no libfaketime.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/net.h"

/* Rates outside this range would make the tick period 0 or starve the loop. */
#define CLOCK_RATE_MIN   0.05
#define CLOCK_RATE_MAX   20.0
#define CLOCK_FILE_BYTES 128

void net_clock_init(struct net_clock *c, uint64_t real_mono_ms)
{
        memset(c, 0, sizeof *c);
        c->rate = 1.0;
        const char *path = getenv("SYNOD_TEST_CLOCK_FILE");
        if (path == NULL || path[0] == '\0')
                return;
        if (strlen(path) >= sizeof c->path) {
                SYN_WARN("test clock: SYNOD_TEST_CLOCK_FILE is too long; ignored");
                return;
        }
        strcpy(c->path, path);
        c->enabled = true;
        c->base_real_ms = real_mono_ms;
        c->last_poll_ms = real_mono_ms - NET_TEST_CLOCK_POLL_MS;
        SYN_WARN("test clock: steered by %s (SYNOD_TEST_CLOCK_FILE; for tests only)", c->path);
}

static int64_t round_ms(double v)
{
        return (int64_t)(v >= 0 ? v + 0.5 : v - 0.5);
}

/* Drift accumulated at real_mono_ms (without the offset), ms. */
static double clock_drift(const struct net_clock *c, uint64_t real_mono_ms)
{
        return c->base_drift_ms +
               ((double)real_mono_ms - (double)c->base_real_ms) * (c->rate - 1.0);
}

bool net_clock_poll(struct net_clock *c, uint64_t real_mono_ms)
{
        if (!c->enabled || real_mono_ms - c->last_poll_ms < NET_TEST_CLOCK_POLL_MS)
                return false;
        c->last_poll_ms = real_mono_ms;
        FILE *f = fopen(c->path, "r");
        if (f == NULL)
                return false; /* not written yet: the real clock */
        char text[CLOCK_FILE_BYTES] = {0};
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        long long offset;
        double rate;
        if (sscanf(text, "%lld %lf", &offset, &rate) != 2 || !isfinite(rate) ||
            rate < CLOCK_RATE_MIN || rate > CLOCK_RATE_MAX) {
                if (!c->warned_bad)
                        SYN_WARN("test clock: %s does not hold \"<offset ms> <rate %.2f..%.0f>\"; "
                                 "ignored",
                                 c->path, CLOCK_RATE_MIN, CLOCK_RATE_MAX);
                c->warned_bad = true;
                return false;
        }
        c->warned_bad = false;
        if (offset == c->offset_ms && rate == c->rate)
                return false;
        c->base_drift_ms = clock_drift(c, real_mono_ms);
        c->base_real_ms = real_mono_ms;
        bool rate_changed = rate != c->rate;
        SYN_WARN("test clock: offset %lld ms (was %lld), rate %.3f (was %.3f)", offset,
                 (long long)c->offset_ms, rate, c->rate);
        c->offset_ms = offset;
        c->rate = rate;
        return rate_changed;
}

uint64_t net_clock_mono(struct net_clock *c, uint64_t real_mono_ms)
{
        if (!c->enabled)
                return real_mono_ms;
        double t = (double)real_mono_ms + clock_drift(c, real_mono_ms) + (double)c->offset_ms;
        uint64_t v = t <= 0 ? 0 : (uint64_t)t;
        if (v < c->last_mono_ms)
                v = c->last_mono_ms; /* monotonic: stands still after a backward jump */
        c->last_mono_ms = v;
        return v;
}

int64_t net_clock_wall(const struct net_clock *c, int64_t real_wall_ms, uint64_t real_mono_ms)
{
        if (!c->enabled)
                return real_wall_ms;
        return real_wall_ms + round_ms(clock_drift(c, real_mono_ms)) + c->offset_ms;
}

uint64_t net_clock_tick_period(const struct net_clock *c, uint64_t tick_ms)
{
        double period = (double)tick_ms / c->rate;
        return period < 1.0 ? 1 : (uint64_t)round_ms(period);
}
