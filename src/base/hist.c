/* Fixed-bucket histograms (see hist.h). */
#include "base/hist.h"

#include <string.h>

#include "base/assert.h"

void syn_hist_init(struct syn_hist *h, const uint64_t *bounds, uint32_t bound_count)
{
        SYN_ASSERT(bound_count <= SYN_HIST_BOUNDS_MAX);
        for (uint32_t i = 1; i < bound_count; i++)
                SYN_ASSERT(bounds[i - 1] < bounds[i]);
        memset(h, 0, sizeof *h);
        h->bounds = bounds;
        h->bound_count = bound_count;
}

void syn_hist_observe(struct syn_hist *h, uint64_t value)
{
        uint32_t i = 0;
        while (i < h->bound_count && value > h->bounds[i])
                i++;
        h->counts[i]++;
        h->count++;
        h->sum = value > UINT64_MAX - h->sum ? UINT64_MAX : h->sum + value;
}

void syn_hist_reset(struct syn_hist *h)
{
        syn_hist_init(h, h->bounds, h->bound_count);
}

uint64_t syn_hist_quantile(const struct syn_hist *h, double q)
{
        SYN_ASSERT(q > 0 && q <= 1);
        if (h->count == 0 || h->bound_count == 0)
                return 0;
        uint64_t seen = 0;
        for (uint32_t i = 0; i < h->bound_count; i++) {
                seen += h->counts[i];
                if ((double)seen >= q * (double)h->count)
                        return h->bounds[i];
        }
        return h->bounds[h->bound_count - 1];
}
