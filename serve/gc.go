package serve

import (
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultGCMinHeap is the heap a server may grow to before the collector
// runs, whatever its live data.
const DefaultGCMinHeap = 64 << 20

// TuneGC keeps the collector from running more often than a heap of
// minHeap bytes calls for, until ctx ends. A server's live heap is small
// and its garbage is per-request: with the default GOGC=100 a 5 MiB live
// heap is collected every 5 MiB allocated, dozens of times a second under
// load. TuneGC raises GOGC so that the next collection starts at about
// minHeap (never below GOGC=100), re-reading the live heap after every
// collection, so that the goal follows the live heap as it changes; once
// live data passes minHeap/2 it is plain GOGC=100 again. An explicit GOGC
// in the environment wins: TuneGC then does nothing. Memory limits
// (GOMEMLIMIT) still apply.
func TuneGC(ctx context.Context, minHeap uint64) {
	if os.Getenv("GOGC") != "" || minHeap == 0 {
		return
	}
	g := &gcTuner{minHeap: minHeap, set: -1, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	g.mu.Lock()
	g.apply()
	g.mu.Unlock()
	runtime.SetFinalizer(new(gcSentinel), g.collected)
	go func() {
		<-ctx.Done()
		g.mu.Lock()
		g.stopped = true
		debug.SetGCPercent(100)
		g.mu.Unlock()
	}()
}

// gcTuner sets GOGC from the live heap after each collection.
type gcTuner struct {
	mu      sync.Mutex
	minHeap uint64
	set     int // the GOGC last set
	stopped bool
	sample  []metrics.Sample
}

// A gcSentinel is garbage from its start: its finalizer runs after each
// collection, and sets itself again. (It holds a pointer and is over 16
// bytes, so that it is not one of the tiny objects the allocator packs
// together, whose finalizers may never run.)
type gcSentinel struct {
	_ *byte
	_ [16]byte
}

func (g *gcTuner) collected(s *gcSentinel) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	g.apply()
	runtime.SetFinalizer(s, g.collected)
}

// apply sets GOGC for the live heap the last collection measured.
func (g *gcTuner) apply() {
	metrics.Read(g.sample)
	live := uint64(0)
	if g.sample[0].Value.Kind() == metrics.KindUint64 {
		live = g.sample[0].Value.Uint64()
	}
	if pct := gcPercentFor(live, g.minHeap); pct != g.set {
		g.set = pct
		debug.SetGCPercent(pct)
	}
}

// gcPercentFor returns the GOGC that puts the next collection of a live
// heap at about minHeap, rounded to tens, between 100 and 10000 (a live
// heap under 1 MiB, or one the runtime has not measured yet, counts as
// 1 MiB).
func gcPercentFor(live, minHeap uint64) int {
	live = max(live, 1<<20)
	if live*2 >= minHeap {
		return 100
	}
	pct := (float64(minHeap)/float64(live) - 1) * 100
	return int(math.Min(10000, math.Round(pct/10)*10))
}
