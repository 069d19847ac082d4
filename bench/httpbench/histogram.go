package httpbench

import (
	"math/bits"
	"time"
)

// histogram is a fixed-bucket, log-linear latency histogram: exact below
// 128 ns, then 64 buckets per power of two, so any recorded value is known
// to within 1/64 (1.6 %). Recording is one array increment; a histogram is
// owned by one goroutine and merged at the end.
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
	max    uint64
}

const (
	histSub     = 64 // buckets per power of two
	histBuckets = histSub * 60
)

func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v>>e is in [64, 128)
	return e*histSub + int(v>>e)
}

// bucketMid returns the middle of a bucket's range.
func bucketMid(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m<<e + (uint64(1)<<e)/2
}

func (h *histogram) record(d time.Duration) { h.add(d, 1) }

// add records n values of d.
func (h *histogram) add(d time.Duration, n uint64) {
	if n == 0 {
		return
	}
	v := uint64(max(d, 0))
	i := bucketOf(v)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.counts[i] += n
	h.total += n
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q ≤ 1) of the recorded values.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketMid(i), h.max))
		}
	}
	return time.Duration(h.max)
}
