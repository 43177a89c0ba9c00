/*
 * Fixed-bucket histograms for metrics (fsync latency, group-commit batch sizes,
 * request latency per operation): an observation is a short scan of a static
 * bounds array and two additions, never an allocation, so it may sit on hot
 * paths. The layout is Prometheus's: counts[i] holds observations <= bounds[i]
 * (not cumulative here; writers accumulate), counts[bound_count] the rest (+Inf).
 *
 * A struct syn_hist is plain data: copying it copies the histogram (the I/O
 * thread publishes its histograms to the loop by copying them under its lock).
 * `bounds` points to static storage of the caller, strictly increasing.
 */
#ifndef SYN_BASE_HIST_H
#define SYN_BASE_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Most finite buckets a histogram has (every synod histogram fits). */
#define SYN_HIST_BOUNDS_MAX 20

struct syn_hist {
        const uint64_t *bounds; /* borrowed, static; bound_count entries */
        uint32_t bound_count;   /* <= SYN_HIST_BOUNDS_MAX */
        uint64_t counts[SYN_HIST_BOUNDS_MAX + 1];
        uint64_t count; /* all observations */
        uint64_t sum;   /* of the observed values (saturates at UINT64_MAX) */
};

/* Empties h and sets its bounds (borrowed for h's lifetime). */
void syn_hist_init(struct syn_hist *h, const uint64_t *bounds, uint32_t bound_count);

void syn_hist_observe(struct syn_hist *h, uint64_t value);

/* Forgets the observations, keeps the bounds. */
void syn_hist_reset(struct syn_hist *h);

/*
 * The smallest bucket bound at or below which at least q (0 < q <= 1) of the
 * observations lie: an upper estimate of the q-quantile. Observations above the
 * last bound give that bound's value (the estimate saturates). 0 when empty.
 */
uint64_t syn_hist_quantile(const struct syn_hist *h, double q);

#endif
