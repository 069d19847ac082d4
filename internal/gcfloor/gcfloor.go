// Package gcfloor keeps Go's garbage collector from running over and over
// while the live heap is small.
//
// Go starts a collection when the heap has grown by GOGC percent (100)
// over what the last one left live, and never below 4 MiB. A Tova program
// that builds lists and objects it soon drops (`xs = [...xs, x]`, a
// handler's answer) keeps little alive, so it met a collection every few
// megabytes allocated: hundreds a second, each with its fixed costs
// (stopping the world twice, the sweep, memory handed back to the system
// and faulted in again). Past a floor, the collector's own pacing is
// better than anything this package could do, so it steps aside.
//
// After each collection, Start's watcher sets the GC percent so that the
// next one starts once the heap reaches the floor, when the live heap is
// below an eighth of it and no more than a quarter (or 1 MiB) over what
// the last collection left; otherwise it sets Go's default back. A live heap that
// grows (a program building a large list) is paced by Go as usual: its
// collections are few anyway, and a late one would only leave the process
// holding more memory at its peak. A memory limit
// (GOMEMLIMIT, or the one `tova serve` sets) still holds: the runtime
// collects earlier when the heap nears it, whatever the percent.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultFloor is the heap size below which Start keeps the collector
// from running: 32 MiB, which spread-appending scripts gained most from,
// without raising the peak memory of those whose live heap grows (they
// are paced by Go; see the package doc).
const DefaultFloor = 32 << 20

// defaultPercent is Go's GOGC default, used above the floor.
const defaultPercent = 100

// heapMinimum is Go's least heap goal at GOGC=100; the runtime scales it
// with the percent (at 1600, no collection starts below 64 MiB).
const heapMinimum = 4 << 20

// growthSlack is how much a live heap may grow from one collection to the
// next and still count as steady, however small it is.
const growthSlack = 1 << 20

// live is where the watcher reads the live heap after a collection.
const live = "/gc/heap/live:bytes"

// Start sets the floor and keeps it after every collection, until stop is
// called. It does nothing (and stop does nothing) when GOGC is set in the
// environment: the user's setting is the user's. floor is in bytes.
func Start(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || floor == 0 {
		return func() {}
	}
	return start(floor).stop
}

func start(floor uint64) *watcher {
	w := &watcher{floor: floor, sample: []metrics.Sample{{Name: live}}, percent: defaultPercent}
	w.tune()
	w.arm()
	return w
}

type watcher struct {
	mu      sync.Mutex
	floor   uint64
	sample  []metrics.Sample
	percent int
	prev    uint64 // the live heap after the collection before
	stopped bool
	tunes   int // how many collections it has tuned after (for tests)
}

// stop sets Go's default percent back, for good.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.stopped = true
		debug.SetGCPercent(defaultPercent)
	}
}

// sentinel is garbage the collector finds in each cycle: its finalizer
// runs once a collection has ended and arms the next one.
type sentinel struct{ w *watcher }

func (w *watcher) arm() {
	runtime.SetFinalizer(&sentinel{w: w}, func(s *sentinel) {
		if s.w.tune() {
			s.w.arm()
		}
	})
}

// tune sets the percent for the live heap the last collection left; it
// reports false once stopped.
func (w *watcher) tune() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return false
	}
	metrics.Read(w.sample)
	var heap uint64
	if w.sample[0].Value.Kind() == metrics.KindUint64 {
		heap = w.sample[0].Value.Uint64()
	}
	p := defaultPercent
	if w.prev > 0 && heap <= w.prev+max(w.prev/4, growthSlack) {
		p = Percent(heap, w.floor)
	}
	w.prev = heap
	w.tunes++
	if p != w.percent {
		w.percent = p
		debug.SetGCPercent(p)
	}
	return true
}

// Percent is the GC percent that starts the next collection when the heap
// reaches floor, for a live heap of live bytes (0 before the first
// collection): Go's default once live is an eighth of the floor or more. The
// heap goal is live × (1 + percent/100), and never below heapMinimum ×
// percent/100, which bounds the percent for a live heap under
// heapMinimum.
func Percent(live, floor uint64) int {
	if live >= floor/8 || floor <= 2*heapMinimum {
		return defaultPercent
	}
	p := floor * 100 / heapMinimum
	if live > 0 {
		p = min(p, (floor-live)*100/live)
	}
	return int(max(p, defaultPercent))
}
