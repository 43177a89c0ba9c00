package main

import "math/bits"

// The latency histogram of bench/loadgen.c, bucket for bucket, so that both generators
// report the same percentiles for the same latencies: 16 linear sub-buckets per power of
// two of microseconds; a percentile is the lower bound of its bucket.
const (
	histSubBits = 4
	histSub     = 1 << histSubBits
	histExpMax  = 40
	histBuckets = histExpMax * histSub
)

type hist struct {
	counts [histBuckets]uint64
	maxUs  uint64
}

func histBucket(us uint64) int {
	if us < histSub {
		return int(us)
	}
	exp := 63 - bits.LeadingZeros64(us) // us >= 2^exp
	sub := int((us >> (exp - histSubBits)) & (histSub - 1))
	b := (exp-histSubBits+1)*histSub + sub
	if b >= histBuckets {
		return histBuckets - 1
	}
	return b
}

// histBucketFloor is the inverse of histBucket: the lower bound in µs of bucket b.
func histBucketFloor(b int) uint64 {
	if b < histSub {
		return uint64(b)
	}
	exp := b/histSub + histSubBits - 1
	sub := uint64(b % histSub)
	return (uint64(1) << exp) + (sub << (exp - histSubBits))
}

func (h *hist) add(us uint64) {
	h.counts[histBucket(us)]++
	if us > h.maxUs {
		h.maxUs = us
	}
}

func (h *hist) merge(o *hist) {
	for b := range h.counts {
		h.counts[b] += o.counts[b]
	}
	if o.maxUs > h.maxUs {
		h.maxUs = o.maxUs
	}
}

func (h *hist) percentile(p float64) uint64 {
	var total uint64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(p / 100.0 * float64(total))
	if rank >= total {
		rank = total - 1
	}
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen > rank {
			return histBucketFloor(b)
		}
	}
	return h.maxUs
}
