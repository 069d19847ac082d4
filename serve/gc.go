package serve

import (
	"context"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultGCMinHeap is the heap a server may grow to before the collector
// runs, whatever its live data.
const DefaultGCMinHeap = 64 << 20

// TuneGC keeps the collector from running more often than a heap of
// minHeap bytes calls for, until ctx ends. A server's live heap is small
// and its garbage is per-request: with the default GOGC=100 a 5 MiB live
// heap is collected every 5 MiB allocated, dozens of times a second under
// load. TuneGC raises GOGC so that the next collection starts at about
// minHeap (never below GOGC=100), re-reading the live heap every second;
// once live data passes minHeap/2 it is plain GOGC=100 again. An explicit
// GOGC in the environment wins: TuneGC then does nothing. Memory limits
// (GOMEMLIMIT) still apply.
func TuneGC(ctx context.Context, minHeap uint64) {
	if os.Getenv("GOGC") != "" || minHeap == 0 {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := -1
	apply := func() {
		metrics.Read(sample)
		live := uint64(0)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		pct := gcPercentFor(live, minHeap)
		if pct != set {
			set = pct
			debug.SetGCPercent(pct)
		}
	}
	apply()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		defer debug.SetGCPercent(100)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				apply()
			}
		}
	}()
}

// gcPercentFor returns the GOGC that puts the next collection of a live
// heap at about minHeap, rounded to tens, between 100 and 2000 (a live
// heap the runtime has not measured yet counts as 1 MiB).
func gcPercentFor(live, minHeap uint64) int {
	live = max(live, 1<<20)
	if live*2 >= minHeap {
		return 100
	}
	pct := (float64(minHeap)/float64(live) - 1) * 100
	return int(math.Min(2000, math.Round(pct/10)*10))
}
