package vm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// GIL is the Scheduler of a server instance: one thread at a time runs
// the instance's Tova code, so handlers share server state without data
// races or lost updates. A thread that finds the GIL taken asks the
// running thread to yield; the running thread gives way at its next
// backward jump once it has run for Slice (at a call, callSlices of
// them), so runaway code cannot starve the others. Blocking builtins release it
// (Thread.Blocking), so I/O overlaps. Waiting uses sync.Mutex, which
// spins briefly (handlers are short) and turns FIFO for a waiter that
// has waited over a millisecond.
type GIL struct {
	Slice time.Duration

	mu      sync.Mutex
	holder  atomic.Pointer[Thread]
	since   atomic.Int64 // unix nanoseconds when the holder acquired it
	waiting atomic.Int32
	gen     atomic.Uint64 // acquisitions so far
}

// NewGIL returns a GIL with the given time slice (default 2ms).
func NewGIL(slice time.Duration) *GIL {
	if slice <= 0 {
		slice = 2 * time.Millisecond
	}
	return &GIL{Slice: slice}
}

// Acquire blocks until t may run.
func (g *GIL) Acquire(t *Thread) {
	if !g.mu.TryLock() {
		t.willBlock()
		g.waiting.Add(1)
		if h := g.holder.Load(); h != nil {
			h.RequestYield()
		}
		g.mu.Lock()
		g.waiting.Add(-1)
		if t.pastDeadline() {
			// Its deadline passed while it waited: stop at the next
			// call, backward jump or write statement rather than run
			// on, making changes its client (answered 503) never sees.
			t.signal.Or(sigCancel)
		}
	}
	g.gen.Add(1)
	g.holder.Store(t)
	g.since.Store(time.Now().UnixNano())
	if g.waiting.Load() > 0 {
		t.RequestYield() // others wait: give way after this slice
	}
}

// yield lets a waiting thread run, then takes the GIL back.
func (g *GIL) yield(t *Thread) {
	if g.waiting.Load() == 0 {
		return
	}
	gen := g.gen.Load()
	t.endRun() // it waits for the GIL again: never with a turn (see turns.go)
	g.Release(t)
	for g.gen.Load() == gen && g.waiting.Load() > 0 {
		runtime.Gosched()
	}
	g.Acquire(t)
}

// Release lets another thread run.
func (g *GIL) Release(t *Thread) {
	g.holder.Store(nil)
	g.mu.Unlock()
}

// callSlices is how many slices a holder runs before it gives way at a
// call rather than at a backward jump, and atomicSlices how many it runs
// before it gives way inside a statement that writes module state
// (ATOMIC; at a call or a backward jump there, and only once the
// statement has made atomicEdges of them). Such a statement
// (`todos = [...todos, make(t)]`) thus reads, calls and writes as one
// step, even when copying a large list and the garbage collector make it
// slow; and recursion without a loop, or a runaway loop inside such a
// statement, still cannot hold the GIL for ever.
const (
	callSlices   = 50  // 100 ms with the default slice
	atomicSlices = 500 // 1 s
)

// ranLongEnough reports whether the holder has used its slice: for a
// backward jump (edge), one; at a call, callSlices; inside a statement
// writing module state, atomicSlices.
func (g *GIL) ranLongEnough(e edge) bool {
	slice := g.Slice
	switch e {
	case callEdge:
		slice *= callSlices
	case atomicEdge:
		slice *= atomicSlices
	}
	return time.Now().UnixNano()-g.since.Load() >= int64(slice)
}
